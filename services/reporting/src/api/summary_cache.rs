//! The summaries people are reading, kept current in the background, so a dashboard is
//! answered from memory instead of reading every journey of the area on each request.
//!
//! A summary is a pure function of the read model, the query and the settings, and the
//! projection moves its stored checkpoint in the same transaction as the rows it changes.
//! So a kept summary is exactly right for the checkpoint it carries, and its `sequence`
//! tells the reader how far it goes. While someone has asked for a query in the last
//! [`ACTIVE_FOR`], [`keep_fresh`] checks the stored checkpoint every [`REFRESH_EVERY`] and
//! computes the summary again when it has moved: a kept summary is at most that much (and
//! one computation) behind the read model. A request that needs more (`min_sequence`
//! beyond the kept one) computes it on the spot.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{AppState, Summary};
use crate::queries;

/// What identifies a summary: the area and the query's months as given.
pub type Key = (String, Option<String>, Option<String>);

/// How often the kept summaries are brought up to date.
pub const REFRESH_EVERY: Duration = Duration::from_secs(2);

/// A summary nobody asked for in this long is dropped (and no longer refreshed).
pub const ACTIVE_FOR: Duration = Duration::from_secs(600);

/// Most summaries kept (one per area and period asked for); past it the cache starts over.
const CAPACITY: usize = 256;

#[derive(Debug)]
struct Kept {
    /// The stored checkpoint it was computed at.
    sequence: u64,
    summary: Arc<Summary>,
    asked: Instant,
}

/// Summaries by query. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct SummaryCache {
    entries: Arc<Mutex<HashMap<Key, Kept>>>,
}

impl SummaryCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Kept>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The kept summary of `key` if it includes every event up to `min_sequence`; notes
    /// that it was asked for.
    pub fn get(&self, key: &Key, min_sequence: u64) -> Option<Arc<Summary>> {
        let mut entries = self.lock();
        let kept = entries
            .get_mut(key)
            .filter(|k| k.sequence >= min_sequence)?;
        kept.asked = Instant::now();
        Some(kept.summary.clone())
    }

    /// The checkpoint the summary of `key` was computed at, if one is kept.
    pub fn sequence(&self, key: &Key) -> Option<u64> {
        self.lock().get(key).map(|k| k.sequence)
    }

    /// The kept summary of `key`, whatever its checkpoint.
    pub fn summary(&self, key: &Key) -> Option<Arc<Summary>> {
        self.lock().get(key).map(|k| k.summary.clone())
    }

    /// Keeps `summary`, computed at `sequence`, for `key` (unless a newer one is kept).
    pub fn put(&self, key: Key, sequence: u64, summary: Arc<Summary>, asked: bool) {
        let mut entries = self.lock();
        if entries.len() >= CAPACITY && !entries.contains_key(&key) {
            entries.clear();
        }
        let now = Instant::now();
        match entries.get_mut(&key) {
            Some(kept) if kept.sequence > sequence => {}
            Some(kept) => {
                kept.sequence = sequence;
                kept.summary = summary;
                if asked {
                    kept.asked = now;
                }
            }
            None => {
                entries.insert(
                    key,
                    Kept {
                        sequence,
                        summary,
                        asked: now,
                    },
                );
            }
        }
    }

    /// The queries asked for within [`ACTIVE_FOR`] and their checkpoints; drops the rest.
    fn active(&self) -> Vec<(Key, u64)> {
        let mut entries = self.lock();
        entries.retain(|_, k| k.asked.elapsed() < ACTIVE_FOR);
        entries
            .iter()
            .map(|(key, k)| (key.clone(), k.sequence))
            .collect()
    }
}

/// Brings every active summary up to date, every [`REFRESH_EVERY`], for as long as the
/// service runs. A failure (the database restarting) is logged and tried again next time.
pub async fn keep_fresh(state: AppState) {
    loop {
        tokio::time::sleep(REFRESH_EVERY).await;
        for (key, sequence) in state.summaries.active() {
            if let Err(error) = refresh(&state, &key, sequence).await {
                tracing::debug!(%error, "summary not refreshed; next try in 2 s");
            }
        }
    }
}

/// Computes the summary of `key` again if the stored checkpoint moved past `sequence`.
async fn refresh(state: &AppState, key: &Key, sequence: u64) -> anyhow::Result<()> {
    let (area, from, to) = key;
    // Kept queries were valid when first answered.
    let month = |m: &Option<String>| super::params::parse_month("", m.as_deref()).ok().flatten();
    let mut client = state.db.client().await?;
    let read =
        queries::summary_facts(&mut client, area, month(from), month(to), Some(sequence)).await?;
    if let queries::SummaryRead::Facts(read) = read {
        let summary = super::summarise(
            &state.settings,
            area.clone(),
            from.clone(),
            to.clone(),
            read.sequence,
            &read.facts,
        );
        state
            .summaries
            .put(key.clone(), read.sequence, Arc::new(summary), false);
    }
    Ok(())
}
