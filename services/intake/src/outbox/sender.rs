//! The outbox's sender: delivers due messages to referrers' endpoints.
//!
//! A few workers (several intake processes may each run them) each claim one due message
//! in a transaction (`FOR UPDATE SKIP LOCKED`; a referral's later message waits while an
//! earlier one is pending, so each referral's messages go strictly in order), POST it as
//! `application/fhir+json` with `X-Request-ID` (fresh per attempt) and `X-Correlation-ID`
//! (the message id), record the attempt (time, status code or kind of error, duration;
//! never the body) and where the message stands, and commit. A 2xx is delivered, and so is
//! a 409 (BaRS's answer to a message it already has); anything else is tried again after
//! `backoff * 2^(attempt - 1)` (capped at an hour) with up to half of it added or taken
//! away at random, and after `max_attempts` attempts the message is dead, for an
//! administrator to retry. An endpoint that is not an http(s) URL is dead at once
//! (`unsupported_endpoint`). On shutdown a delivery in flight is abandoned: its
//! transaction rolls back and the message is sent again later (the receiver drops a
//! message id it already has).

use std::time::{Duration, Instant};

use linkway_platform::Database;
use linkway_platform::service::Shutdown;
use time::OffsetDateTime;

use super::store::{self, AfterAttempt, Attempt};

/// How messages back to referrers are delivered (`LINKWAY_OUTBOX_*`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutboxSettings {
    /// Longest wait for a receiver's answer.
    pub timeout: Duration,
    /// Attempts before a message is dead.
    pub max_attempts: u32,
    /// The first retry's delay; each later one doubles it.
    pub backoff: Duration,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        OutboxSettings {
            timeout: Duration::from_secs(10),
            max_attempts: 10,
            backoff: Duration::from_secs(5),
        }
    }
}

/// Messages delivered at once by one process (each to a different referral).
const WORKERS: usize = 4;
/// Longest delay between two attempts.
const MAX_DELAY: Duration = Duration::from_secs(3600);

impl OutboxSettings {
    /// The delay before attempt `attempts + 1`, after `attempts` failed ones; `jitter` in
    /// [0, 1) picks where in [delay/2, 3*delay/2) it falls.
    pub fn delay(&self, attempts: u32, jitter: f64) -> Duration {
        let doubled = self
            .backoff
            .saturating_mul(2u32.saturating_pow(attempts.saturating_sub(1).min(30)));
        let base = doubled.min(MAX_DELAY);
        base.mul_f64(0.5 + jitter.clamp(0.0, 1.0))
    }

    /// How long an idle worker waits before looking for due messages again.
    fn poll(&self) -> Duration {
        self.backoff
            .min(Duration::from_millis(500))
            .max(Duration::from_millis(20))
    }
}

/// Spawns the sender's workers on the service's task set.
pub fn spawn(db: Database, settings: OutboxSettings, shutdown: &Shutdown) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    for i in 0..WORKERS {
        let (db, http, stop) = (db.clone(), http.clone(), shutdown.clone());
        shutdown.spawn(format!("outbox sender {i}"), async move {
            let mut stop = std::pin::pin!(stop.wait());
            loop {
                let delivered = tokio::select! {
                    _ = &mut stop => return,
                    d = deliver_one(&db, &http, &settings) => d,
                };
                match delivered {
                    Ok(true) => continue,
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "outbox: delivery round failed"),
                }
                tokio::select! {
                    _ = &mut stop => return,
                    _ = tokio::time::sleep(settings.poll()) => {}
                }
            }
        });
    }
    Ok(())
}

/// Claims and delivers one due message; `false` when none is due.
async fn deliver_one(
    db: &Database,
    http: &reqwest::Client,
    settings: &OutboxSettings,
) -> anyhow::Result<bool> {
    let mut client = db.client().await?;
    let tx = client.transaction().await?;
    let Some(due) = store::claim_due(&tx).await? else {
        return Ok(false);
    };
    let attempt = post(http, &due).await;
    let attempts = due.attempts.max(0) as u32 + 1;
    let delivered = matches!(attempt.status_code, Some(s) if (200..300).contains(&s) || s == 409);
    let outcome = if delivered {
        AfterAttempt::Delivered
    } else if attempt.error_kind == Some("unsupported_endpoint")
        || attempts >= settings.max_attempts
    {
        AfterAttempt::Dead
    } else {
        let delay = settings.delay(attempts, jitter());
        AfterAttempt::RetryAt(OffsetDateTime::now_utc() + delay)
    };
    store::record_attempt(&tx, due.message_id, &attempt, outcome).await?;
    tx.commit().await?;
    tracing::info!(
        message_id = %due.message_id,
        attempt = attempts,
        status = attempt.status_code,
        error = attempt.error_kind,
        outcome = ?outcome_name(outcome),
        "outbox: delivery attempt"
    );
    Ok(true)
}

fn outcome_name(o: AfterAttempt) -> &'static str {
    match o {
        AfterAttempt::Delivered => "delivered",
        AfterAttempt::Dead => "dead",
        AfterAttempt::RetryAt(_) => "retry",
    }
}

/// One POST of a message; what came back, never what was sent.
async fn post(http: &reqwest::Client, due: &store::Due) -> Attempt {
    let started = Instant::now();
    let ms = |s: Instant| s.elapsed().as_millis().min(i32::MAX as u128) as u32;
    let url = match reqwest::Url::parse(&due.endpoint) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => u,
        _ => {
            return Attempt {
                status_code: None,
                error_kind: Some("unsupported_endpoint"),
                duration_ms: 0,
            };
        }
    };
    let sent = http
        .post(url)
        .header("content-type", "application/fhir+json")
        .header("accept", "application/fhir+json")
        .header("x-request-id", uuid::Uuid::new_v4().to_string())
        .header("x-correlation-id", due.message_id.to_string())
        .body(due.body.clone())
        .send()
        .await;
    match sent {
        Ok(answer) => Attempt {
            status_code: Some(answer.status().as_u16()),
            error_kind: None,
            duration_ms: ms(started),
        },
        Err(e) => Attempt {
            status_code: None,
            error_kind: Some(if e.is_timeout() {
                "timeout"
            } else if e.is_connect() {
                "connect"
            } else {
                "request"
            }),
            duration_ms: ms(started),
        },
    }
}

/// A number in [0, 1) from the operating system's randomness.
fn jitter() -> f64 {
    let mut b = [0u8; 4];
    if getrandom::fill(&mut b).is_err() {
        return 0.5;
    }
    f64::from(u32::from_be_bytes(b)) / (f64::from(u32::MAX) + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_with_jitter_around_it_and_is_capped() {
        let s = OutboxSettings {
            backoff: Duration::from_millis(100),
            ..OutboxSettings::default()
        };
        assert_eq!(s.delay(1, 0.5), Duration::from_millis(100));
        assert_eq!(s.delay(2, 0.5), Duration::from_millis(200));
        assert_eq!(s.delay(3, 0.0), Duration::from_millis(200));
        assert_eq!(s.delay(3, 1.0), Duration::from_millis(600));
        assert_eq!(s.delay(40, 0.5), MAX_DELAY);
        let j = jitter();
        assert!((0.0..1.0).contains(&j));
    }
}
