//! When a token was last used, without an event per request: a request that
//! authenticates notes its token in memory; at most once a minute per token and
//! database, a background task (never the request) writes the time to the service's
//! `token_usage` table. `linkway admin token list` reads the latest over every service.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::Database;

/// A token's use is written at most this often per database.
pub const INTERVAL: Duration = Duration::from_secs(60);

/// Per database name: when each token's use was last sent to be written.
static NOTED: LazyLock<Mutex<HashMap<String, HashMap<Uuid, Instant>>>> =
    LazyLock::new(Default::default);

/// Whether a use at `now` is to be written, given when the last was noted.
fn due(last: Option<Instant>, now: Instant) -> bool {
    last.is_none_or(|t| now.saturating_duration_since(t) >= INTERVAL)
}

/// Notes that `token_id` was used against `db`; spawns the write when one is due. Never
/// waits and never fails the request: a lost write only makes "last used" older.
pub fn note(db: &Database, token_id: Uuid) {
    let now = Instant::now();
    {
        let mut noted = NOTED.lock().unwrap_or_else(|e| e.into_inner());
        let by_token = match noted.get_mut(db.name()) {
            Some(m) => m,
            None => noted.entry(db.name().to_owned()).or_default(),
        };
        if !due(by_token.get(&token_id).copied(), now) {
            return;
        }
        by_token.insert(token_id, now);
    }
    let db = db.clone();
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            if let Err(e) = record(&db, token_id).await {
                tracing::debug!(error = %e, "token use not recorded");
            }
        });
    }
}

async fn record(
    db: &Database,
    token_id: Uuid,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let client = db.client().await?;
    client
        .execute(
            "INSERT INTO token_usage (token_id, last_used_at) VALUES ($1, now())
             ON CONFLICT (token_id) DO UPDATE
             SET last_used_at = GREATEST(token_usage.last_used_at, EXCLUDED.last_used_at)",
            &[&token_id],
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_use_is_written_once_a_minute_at_most() {
        let start = Instant::now();
        assert!(due(None, start));
        assert!(!due(Some(start), start + Duration::from_secs(59)));
        assert!(due(Some(start), start + INTERVAL));
    }
}
