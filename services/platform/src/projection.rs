//! The projection runner: turns the event log into a read model, exactly once in effect.
//!
//! Delivery from the log is at-least-once (a reader may see an event again after a crash
//! or reconnect). Exactly-once *effect* comes from the checkpoint: each batch of events is
//! applied in one PostgreSQL transaction that first locks the projection's checkpoint row,
//! skips events at or below it, applies the rest, and moves the checkpoint, all committed
//! together. Several processes may run the same projection; the row lock serialises them.
//!
//! Each projection's tables live in a PostgreSQL schema named after it. A rebuild fills a
//! fresh schema from sequence 1 and swaps it in, so readers never see a half-built model.
//!
//! A projection fails an event in one of two ways ([`ProjectionError`]): `Retry` (the
//! database went away, a serialization failure) is retried with backoff for as long as it
//! takes, nothing skipped; `Park` (this event cannot be applied: bad data, an unreadable
//! read-model row) puts the event in `dead_letters` with the reason and the projection
//! goes on. [`Checkpoint::status`] says how far behind the log a projection is, for
//! `/readyz` and the lag metrics.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use linkway_events::{Envelope, Event};
use linkway_eventstore::{EventStore, LogReader, RecordedEvent};
use tokio::sync::{mpsc, watch};
use tokio_postgres::Transaction;
use tracing::instrument;

use crate::Database;
use crate::metrics;
use crate::problem::pg_is_transient;

/// An event the runner decoded, handed to a projection.
#[derive(Debug, Clone)]
pub struct Projected {
    pub sequence: u64,
    pub envelope: Envelope,
    pub event: Event,
}

/// A read model built from the event log.
pub trait Projection: Send + Sync + 'static {
    /// Its name, and the name of the PostgreSQL schema holding its tables.
    const NAME: &'static str;
    /// Bump when the tables or the apply logic change: the next start rebuilds.
    const VERSION: i32;
    /// DDL creating its tables, with unqualified names (run with `search_path` set to the
    /// projection's schema).
    const TABLES: &'static str;

    /// Whether it reads events of this aggregate kind (`referral`, `case`, `organisation`,
    /// `routing_rule`, `token`). Events of other kinds are neither decoded nor handed to
    /// [`Projection::apply`], and a batch holding none it reads costs no transaction (its
    /// checkpoint is written with the next one, or within [`CHECKPOINT_EVERY`]).
    fn reads(_aggregate_kind: &str) -> bool {
        true
    }

    /// Applies a batch of events, in order, inside the runner's transaction. `search_path`
    /// is set to the projection's schema first. Write set-wise where you can: many events
    /// per statement is what makes replay fast.
    ///
    /// A PostgreSQL error converts with `?` (transient ones retry, the rest park); an
    /// unreadable row of the projection's own tables is [`ProjectionError::Park`], never a
    /// reason to reset the row.
    fn apply(
        &self,
        tx: &Transaction<'_>,
        batch: &[Projected],
    ) -> impl Future<Output = Result<(), ProjectionError>> + Send;
}

/// Why a projection could not apply a batch, and so what the runner does about it.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// Worth trying again as it is (the database went away, a serialization failure): the
    /// runner retries the batch with backoff, forever; nothing is skipped.
    #[error("transient failure, retried: {0:#}")]
    Retry(anyhow::Error),
    /// This event cannot be applied, now or later (bad data, an unreadable read-model
    /// row): the runner parks it in `dead_letters` with this reason and goes on.
    #[error("cannot apply: {0}")]
    Park(String),
}

impl From<tokio_postgres::Error> for ProjectionError {
    fn from(e: tokio_postgres::Error) -> Self {
        if pg_is_transient(&e) {
            ProjectionError::Retry(e.into())
        } else {
            ProjectionError::Park(format!("apply failed: {e}"))
        }
    }
}

/// Batching knobs, and when `/readyz` calls a projection too far behind.
#[derive(Debug, Clone, Copy)]
pub struct RunnerSettings {
    /// Most events per transaction.
    pub batch_size: usize,
    /// Longest wait for more events before applying a partial batch while replaying.
    pub max_delay: Duration,
    /// How far behind the log a projection may be and still count as ready.
    pub ready: ReadinessLimits,
}

impl Default for RunnerSettings {
    fn default() -> Self {
        RunnerSettings {
            batch_size: 20_000,
            max_delay: Duration::from_millis(20),
            ready: ReadinessLimits::default(),
        }
    }
}

/// How far behind the log a projection may fall before `/readyz` answers 503
/// (`LINKWAY_READY_MAX_LAG_EVENTS`, `LINKWAY_READY_MAX_LAG_SECS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadinessLimits {
    /// Most events in the log the projection has not applied.
    pub max_lag_events: u64,
    /// Oldest age of an event the projection has not applied.
    pub max_lag: Duration,
}

impl Default for ReadinessLimits {
    fn default() -> Self {
        ReadinessLimits {
            max_lag_events: 1000,
            max_lag: Duration::from_secs(10),
        }
    }
}

/// Longest a live runner leaves its stored checkpoint behind while the batches it skips
/// (none of their events for it) move it on in memory: bounds what a restart re-reads.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// A projection behind the log whose checkpoint has not moved for this long is stalled
/// (and `/readyz` says so), however small its lag.
pub const STALLED_AFTER: Duration = Duration::from_secs(2);

mod checkpoint;
mod rebuild;
mod runner;

pub use checkpoint::*;
pub use rebuild::*;
pub use runner::*;

#[cfg(test)]
mod tests {
    use super::*;

    fn status(lag_events: u64, lag_secs: u64, stalled_secs: Option<u64>) -> ProjectionStatus {
        ProjectionStatus {
            checkpoint: 100,
            log_end: Some(100 + lag_events),
            lag_events: Some(lag_events),
            lag: Some(Duration::from_secs(lag_secs)),
            stalled_for: stalled_secs.map(Duration::from_secs),
        }
    }

    #[test]
    fn readiness_problems_name_each_limit_broken() {
        let limits = ReadinessLimits::default();
        assert!(status(0, 0, None).problems("caseload", limits).is_empty());
        assert!(
            status(1000, 10, Some(1))
                .problems("caseload", limits)
                .is_empty()
        );
        assert_eq!(
            status(1001, 11, Some(1)).problems("caseload", limits),
            vec![
                "projection caseload behind by 1001 events".to_owned(),
                "projection caseload behind by 11 s".to_owned(),
            ]
        );
        assert_eq!(
            status(3, 1, Some(2)).problems("caseload", limits),
            vec!["projection caseload stalled for 2 s (checkpoint 100, log end 103)".to_owned()]
        );
        let unanswered = ProjectionStatus {
            log_end: None,
            lag_events: None,
            lag: None,
            ..status(0, 0, None)
        };
        assert_eq!(
            unanswered.problems("caseload", limits),
            vec!["projection caseload: the event log does not answer (checkpoint 100)".to_owned()]
        );
    }

    #[test]
    fn only_transient_database_errors_retry() {
        // The classification itself is `pg_is_transient`'s (tested there); what matters
        // here is that parking carries the database's reason.
        let park = ProjectionError::Park("apply failed: bad".into());
        assert_eq!(park.to_string(), "cannot apply: apply failed: bad");
    }
}
