//! Where a projection stands: its checkpoint, for read-your-writes, and its status
//! against the log, for `/readyz` and the lag metrics.

use super::*;

/// Longest wait for the log's answers when working out a projection's status.
pub(super) const STATUS_TIMEOUT: Duration = Duration::from_secs(1);

/// The checkpoint, and when it last moved.
#[derive(Debug, Clone, Copy)]
pub(super) struct Advance {
    pub(super) sequence: u64,
    pub(super) at: Instant,
}

/// Where a projection stands, shared with request handlers for read-your-writes and with
/// `/readyz`.
#[derive(Clone)]
pub struct Checkpoint {
    pub(super) name: &'static str,
    pub(super) rx: watch::Receiver<Advance>,
    pub(super) store: EventStore,
    pub(super) limits: ReadinessLimits,
}

/// A projection against the log, as [`Checkpoint::status`] found it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectionStatus {
    /// Last sequence the read model includes.
    pub checkpoint: u64,
    /// Last sequence in the log; `None` when the log did not answer.
    pub log_end: Option<u64>,
    /// Events in the log the read model has not applied.
    pub lag_events: Option<u64>,
    /// Age of the oldest event the read model has not applied (zero when caught up), by
    /// the NATS server's clock against ours.
    pub lag: Option<Duration>,
    /// How long the projection has been behind without its checkpoint moving.
    pub stalled_for: Option<Duration>,
}

impl ProjectionStatus {
    /// Why this projection makes the service not ready, if it does.
    pub fn problems(&self, name: &str, limits: ReadinessLimits) -> Vec<String> {
        let mut problems = Vec::new();
        if self.log_end.is_none() {
            problems.push(format!(
                "projection {name}: the event log does not answer (checkpoint {})",
                self.checkpoint
            ));
            return problems;
        }
        if let Some(stalled) = self.stalled_for.filter(|s| *s >= STALLED_AFTER) {
            problems.push(format!(
                "projection {name} stalled for {} s (checkpoint {}, log end {})",
                stalled.as_secs(),
                self.checkpoint,
                self.log_end.unwrap_or_default()
            ));
        }
        if let Some(events) = self.lag_events.filter(|n| *n > limits.max_lag_events) {
            problems.push(format!("projection {name} behind by {events} events"));
        }
        if let Some(lag) = self.lag.filter(|l| *l > limits.max_lag) {
            problems.push(format!("projection {name} behind by {} s", lag.as_secs()));
        }
        problems
    }
}

impl Checkpoint {
    pub fn current(&self) -> u64 {
        self.rx.borrow().sequence
    }

    /// The projection's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The limits `/readyz` holds this projection to.
    pub fn limits(&self) -> ReadinessLimits {
        self.limits
    }

    /// Waits until the read model includes `sequence`, at most `timeout`. True if it does.
    pub async fn wait_for(&self, sequence: u64, timeout: Duration) -> bool {
        let mut rx = self.rx.clone();
        tokio::time::timeout(timeout, rx.wait_for(|seen| seen.sequence >= sequence))
            .await
            .map(|r| r.is_ok())
            .unwrap_or(false)
    }

    /// Asks the log how far ahead of this projection it is (at most two requests to NATS,
    /// each given [`STATUS_TIMEOUT`]) and updates the lag metrics.
    pub async fn status(&self) -> ProjectionStatus {
        let advance = *self.rx.borrow();
        let log_end = tokio::time::timeout(STATUS_TIMEOUT, self.store.last_sequence())
            .await
            .ok()
            .and_then(Result::ok);
        let mut status = ProjectionStatus {
            checkpoint: advance.sequence,
            log_end,
            lag_events: log_end.map(|end| end.saturating_sub(advance.sequence)),
            lag: None,
            stalled_for: None,
        };
        match log_end {
            Some(end) if end > advance.sequence => {
                let oldest = tokio::time::timeout(
                    STATUS_TIMEOUT,
                    self.store.appended_at(advance.sequence + 1),
                )
                .await
                .ok()
                .and_then(Result::ok)
                .flatten();
                let age = oldest.map(|t| {
                    Duration::try_from(time::OffsetDateTime::now_utc() - t).unwrap_or_default()
                });
                status.lag = age;
                // Behind no longer than the oldest unapplied event is old, and not moving
                // since the checkpoint last moved.
                let still = advance.at.elapsed();
                status.stalled_for = Some(age.map_or(still, |a| a.min(still)));
            }
            Some(_) => status.lag = Some(Duration::ZERO),
            None => {}
        }
        if let (Some(events), Some(lag)) = (status.lag_events, status.lag) {
            metrics::projection_behind(self.name, events, lag);
        }
        status
    }
}
