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
            batch_size: 5000,
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

/// A projection behind the log whose checkpoint has not moved for this long is stalled
/// (and `/readyz` says so), however small its lag.
pub const STALLED_AFTER: Duration = Duration::from_secs(2);

/// Longest wait for the log's answers when working out a projection's status.
const STATUS_TIMEOUT: Duration = Duration::from_secs(1);

/// The checkpoint, and when it last moved.
#[derive(Debug, Clone, Copy)]
struct Advance {
    sequence: u64,
    at: Instant,
}

/// Where a projection stands, shared with request handlers for read-your-writes and with
/// `/readyz`.
#[derive(Clone)]
pub struct Checkpoint {
    name: &'static str,
    rx: watch::Receiver<Advance>,
    store: EventStore,
    limits: ReadinessLimits,
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

/// Runs one projection: catch up, then follow the log.
pub struct ProjectionRunner<P: Projection> {
    projection: Arc<P>,
    db: Database,
    store: EventStore,
    settings: RunnerSettings,
    tx: watch::Sender<Advance>,
}

impl<P: Projection> ProjectionRunner<P> {
    /// Prepares the projection's schema (rebuilding it if its version changed).
    pub async fn new(
        projection: P,
        db: Database,
        store: EventStore,
        settings: RunnerSettings,
    ) -> anyhow::Result<ProjectionRunner<P>> {
        let projection = Arc::new(projection);
        let checkpoint = prepare(&*projection, &db, &store, settings).await?;
        let (tx, _) = watch::channel(Advance {
            sequence: checkpoint,
            at: Instant::now(),
        });
        Ok(ProjectionRunner {
            projection,
            db,
            store,
            settings,
            tx,
        })
    }

    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            name: P::NAME,
            rx: self.tx.subscribe(),
            store: self.store.clone(),
            limits: self.settings.ready,
        }
    }

    /// Follows the log until `shutdown` resolves. Database failures are retried with
    /// backoff; nothing is skipped.
    #[instrument(skip_all, fields(projection = P::NAME))]
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        tokio::pin!(shutdown);
        let start = self.tx.borrow().sequence + 1;
        let reader = loop {
            match self.store.read_from(start).await {
                Ok(r) => break r,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot open the event log yet");
                    tokio::select! {
                        _ = &mut shutdown => return,
                        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    }
                }
            }
        };
        let target = Target {
            schema: P::NAME.to_owned(),
            checkpoint_row: P::NAME.to_owned(),
        };
        let mut batches = prefetch(reader, self.settings);
        loop {
            let batch = tokio::select! {
                _ = &mut shutdown => return,
                b = batches.recv() => match b {
                    Some(b) => b,
                    None => return,
                },
            };
            let mut backoff = Duration::from_millis(100);
            loop {
                match apply_batch(&*self.projection, &self.db, &target, &batch).await {
                    Ok(checkpoint) => {
                        self.tx.send_if_modified(|seen| {
                            let moved = checkpoint > seen.sequence;
                            if moved {
                                *seen = Advance {
                                    sequence: checkpoint,
                                    at: Instant::now(),
                                };
                            }
                            moved
                        });
                        metrics::projection_checkpoint(
                            P::NAME,
                            checkpoint,
                            batch.raw.last().map_or(0, |e| e.pending),
                        );
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(
                            error = format!("{e:#}"),
                            "applying a batch failed; retrying"
                        );
                        tokio::select! {
                            _ = &mut shutdown => return,
                            _ = tokio::time::sleep(backoff) => {}
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(5));
                    }
                }
            }
        }
    }
}

/// A batch read from the log and decoded ahead of its transaction.
struct Batch {
    /// Every event as read, in order.
    raw: Vec<RecordedEvent>,
    /// The events that decoded, in order.
    decoded: Vec<Projected>,
    /// Sequences of the events that did not decode, and why (they will be dead-lettered).
    undecodable: Vec<(u64, String)>,
}

impl Batch {
    fn decode(raw: Vec<RecordedEvent>) -> Batch {
        let mut decoded = Vec::with_capacity(raw.len());
        let mut undecodable = Vec::new();
        for event in &raw {
            match event.decode() {
                Ok((envelope, typed)) => decoded.push(Projected {
                    sequence: event.sequence,
                    envelope,
                    event: typed,
                }),
                Err(err) => undecodable.push((event.sequence, err.to_string())),
            }
        }
        Batch {
            raw,
            decoded,
            undecodable,
        }
    }

    fn raw(&self, sequence: u64) -> &RecordedEvent {
        let i = self
            .raw
            .binary_search_by_key(&sequence, |e| e.sequence)
            .expect("the sequence is from this batch");
        &self.raw[i]
    }
}

/// Reads and decodes batches in a task of its own, so reading the log and writing
/// PostgreSQL overlap. While the batch before it is still being applied, a batch keeps
/// taking the events that arrive (up to `batch_size`): batches grow with the load instead
/// of staying at the few events pending when each was started.
fn prefetch(mut reader: LogReader, settings: RunnerSettings) -> mpsc::Receiver<Batch> {
    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(async move {
        loop {
            let first = tokio::select! {
                _ = tx.closed() => return,
                e = reader.next() => e,
            };
            let mut raw = fill_batch(&mut reader, first, settings).await;
            let permit = loop {
                tokio::select! {
                    biased;
                    permit = tx.reserve() => match permit {
                        Ok(permit) => break permit,
                        Err(_) => return,
                    },
                    e = reader.next(), if raw.len() < settings.batch_size => raw.push(e),
                }
            };
            permit.send(Batch::decode(raw));
        }
    });
    rx
}

/// Collects up to `batch_size` events. While the log has more pending it keeps reading;
/// once caught up (`pending == 0`) it applies at once, so live latency stays low.
async fn fill_batch(
    reader: &mut LogReader,
    first: RecordedEvent,
    settings: RunnerSettings,
) -> Vec<RecordedEvent> {
    let mut batch = Vec::with_capacity(settings.batch_size.min(8192));
    let mut more = first.pending > 0;
    batch.push(first);
    while more && batch.len() < settings.batch_size {
        match reader.next_within(settings.max_delay).await {
            Some(e) => {
                more = e.pending > 0;
                batch.push(e);
            }
            None => break,
        }
    }
    batch
}

/// Where a batch goes: the live schema, or a rebuild's fresh one.
struct Target {
    schema: String,
    checkpoint_row: String,
}

/// Applies one batch in one transaction; returns the new checkpoint.
async fn apply_batch<P: Projection>(
    projection: &P,
    db: &Database,
    target: &Target,
    batch: &Batch,
) -> anyhow::Result<u64> {
    let started = std::time::Instant::now();
    let mut client = db.client().await?;
    let mut tx = client.transaction().await?;
    let checkpoint = apply_in(projection, &mut tx, target, batch).await?;
    tx.commit().await?;
    tracing::debug!(
        projection = P::NAME,
        events = batch.raw.len(),
        checkpoint,
        micros = started.elapsed().as_micros() as u64,
        "batch applied"
    );
    Ok(checkpoint)
}

/// Applies a batch inside `tx`. Every error it returns is to be retried: events that
/// cannot be applied are parked here, not returned.
async fn apply_in<P: Projection>(
    projection: &P,
    tx: &mut Transaction<'_>,
    target: &Target,
    batch: &Batch,
) -> anyhow::Result<u64> {
    // A read model need not wait for its commit to reach disk: if PostgreSQL crashes and
    // loses the last batches, their checkpoint is lost with them (same transaction) and
    // they are applied again from the log, which is the durable copy.
    tx.batch_execute(&format!(
        "SET LOCAL search_path TO {}, public; SET LOCAL synchronous_commit TO off",
        target.schema
    ))
    .await?;
    let checkpoint: i64 = tx
        .query_one(
            "SELECT last_sequence FROM projection_checkpoints WHERE projection = $1 FOR UPDATE",
            &[&target.checkpoint_row],
        )
        .await?
        .get(0);
    let checkpoint = checkpoint as u64;
    let Some(last) = batch
        .raw
        .last()
        .map(|e| e.sequence)
        .filter(|l| *l > checkpoint)
    else {
        return Ok(checkpoint);
    };
    for (sequence, reason) in batch.undecodable.iter().filter(|(s, _)| *s > checkpoint) {
        park(tx, P::NAME, batch.raw(*sequence), reason).await?;
    }
    // Events at or below the checkpoint were applied by an earlier transaction.
    let decoded = &batch.decoded[batch.decoded.partition_point(|e| e.sequence <= checkpoint)..];
    match apply_savepoint(projection, tx, decoded).await {
        Ok(()) => {}
        Err(ProjectionError::Retry(err)) => return Err(err),
        Err(ProjectionError::Park(reason)) => {
            // Something in the batch cannot be applied: find it, one event per savepoint,
            // and park it; the rest of the batch still projects.
            tracing::warn!(%reason, "batch refused; applying event by event to isolate it");
            for event in decoded {
                match apply_savepoint(projection, tx, std::slice::from_ref(event)).await {
                    Ok(()) => {}
                    Err(ProjectionError::Retry(err)) => return Err(err),
                    Err(ProjectionError::Park(reason)) => {
                        park(tx, P::NAME, batch.raw(event.sequence), &reason).await?;
                    }
                }
            }
        }
    }
    metrics::projection_applied(P::NAME, decoded.len() as u64);
    tx.execute(
        "UPDATE projection_checkpoints SET last_sequence = $2, updated_at = now() WHERE projection = $1",
        &[&target.checkpoint_row, &(last as i64)],
    )
    .await?;
    Ok(last)
}

/// Applies events in a savepoint, rolled back if the projection fails. The savepoint's own
/// statements failing is the runner's trouble, not the events': those retry.
async fn apply_savepoint<P: Projection>(
    projection: &P,
    tx: &mut Transaction<'_>,
    events: &[Projected],
) -> Result<(), ProjectionError> {
    let retry = |e: tokio_postgres::Error| ProjectionError::Retry(e.into());
    let savepoint = tx.savepoint("apply").await.map_err(retry)?;
    match projection.apply(&savepoint, events).await {
        Ok(()) => savepoint.commit().await.map_err(retry),
        Err(err) => {
            savepoint.rollback().await.map_err(retry)?;
            Err(err)
        }
    }
}

/// Parks an event the projection cannot read or apply, with the reason; counted in metrics.
async fn park(
    tx: &Transaction<'_>,
    projection: &str,
    event: &RecordedEvent,
    reason: &str,
) -> Result<(), tokio_postgres::Error> {
    let event_type = serde_json::from_slice::<serde_json::Value>(&event.payload)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned));
    tracing::warn!(
        projection,
        sequence = event.sequence,
        reason,
        "event dead-lettered"
    );
    tx.execute(
        "INSERT INTO public.dead_letters (projection, sequence, subject, event_type, reason, payload) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        &[
            &projection,
            &(event.sequence as i64),
            &event.subject,
            &event_type,
            &reason,
            &event.payload.as_ref(),
        ],
    )
    .await?;
    metrics::dead_lettered(projection);
    Ok(())
}

/// Creates the projection's schema and checkpoint row; rebuilds when its version changed.
/// Returns the checkpoint to resume from.
async fn prepare<P: Projection>(
    projection: &P,
    db: &Database,
    store: &EventStore,
    settings: RunnerSettings,
) -> anyhow::Result<u64> {
    let client = db.client().await?;
    let row = client
        .query_opt(
            "SELECT last_sequence, version FROM projection_checkpoints WHERE projection = $1",
            &[&P::NAME],
        )
        .await?;
    match row {
        Some(row) if row.get::<_, i32>(1) == P::VERSION => {
            // Tables may be missing after a manual drop; recreating is idempotent.
            create_tables::<P>(&client, P::NAME).await?;
            Ok(row.get::<_, i64>(0) as u64)
        }
        Some(row) => {
            tracing::info!(
                projection = P::NAME,
                from = row.get::<_, i32>(1),
                to = P::VERSION,
                "projection version changed; rebuilding"
            );
            drop(client);
            rebuild(projection, db, store, settings, &|_, _| {}).await
        }
        None => {
            create_tables::<P>(&client, P::NAME).await?;
            Ok(ensure_checkpoint(&client, P::NAME, P::VERSION).await?)
        }
    }
}

/// Creates a projection's checkpoint row at 0 unless it exists; returns where it stands.
async fn ensure_checkpoint(
    client: &tokio_postgres::Client,
    name: &str,
    version: i32,
) -> Result<u64, tokio_postgres::Error> {
    client
        .execute(
            "INSERT INTO projection_checkpoints (projection, last_sequence, version) \
             VALUES ($1, 0, $2) ON CONFLICT DO NOTHING",
            &[&name, &version],
        )
        .await?;
    let row = client
        .query_one(
            "SELECT last_sequence FROM projection_checkpoints WHERE projection = $1",
            &[&name],
        )
        .await?;
    Ok(row.get::<_, i64>(0) as u64)
}

async fn create_tables<P: Projection>(
    client: &tokio_postgres::Client,
    schema: &str,
) -> Result<(), tokio_postgres::Error> {
    client
        .batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {schema}; SET search_path TO {schema}, public; {} ; RESET search_path;",
            P::TABLES
        ))
        .await
}

/// Rebuilds a projection from sequence 1 into a fresh schema, then swaps it in. `progress`
/// is called with (applied up to, log end). Returns the checkpoint of the swapped-in model.
///
/// Safe while the live runner keeps going: the swap locks the live checkpoint row, catches
/// the fresh schema up to it, and only then replaces the live schema.
pub async fn rebuild<P: Projection>(
    projection: &P,
    db: &Database,
    store: &EventStore,
    settings: RunnerSettings,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> anyhow::Result<u64> {
    let fresh = format!("{}__rebuild", P::NAME);
    let target = Target {
        schema: fresh.clone(),
        checkpoint_row: fresh.clone(),
    };
    {
        let client = db.client().await?;
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {fresh} CASCADE"))
            .await?;
        create_tables::<P>(&client, &fresh).await?;
        client
            .execute(
                "INSERT INTO projection_checkpoints (projection, last_sequence, version) VALUES ($1, 0, $2) \
                 ON CONFLICT (projection) DO UPDATE SET last_sequence = 0, version = $2",
                &[&fresh, &P::VERSION],
            )
            .await?;
        // The live row must exist for the swap to lock it.
        ensure_checkpoint(&client, P::NAME, P::VERSION).await?;
    }
    let end = store.last_sequence().await?;
    let mut done = 0;
    progress(0, end);
    if end > 0 {
        let mut batches = prefetch(store.read_from(1).await?, settings);
        while done < end {
            let batch = batches
                .recv()
                .await
                .ok_or_else(|| anyhow::anyhow!("the event log reader stopped"))?;
            done = apply_batch(projection, db, &target, &batch).await?;
            progress(done.min(end), end);
        }
        // Swap: lock the live checkpoint so the live runner waits, catch up to it, replace.
        let mut client = db.client().await?;
        let mut tx = client.transaction().await?;
        let live: i64 = tx
            .query_one(
                "SELECT last_sequence FROM projection_checkpoints WHERE projection = $1 FOR UPDATE",
                &[&P::NAME],
            )
            .await?
            .get(0);
        while done < live as u64 {
            let batch = batches
                .recv()
                .await
                .ok_or_else(|| anyhow::anyhow!("the event log reader stopped"))?;
            done = apply_in(projection, &mut tx, &target, &batch).await?;
        }
        swap::<P>(&tx, &fresh, done).await?;
        tx.commit().await?;
    } else {
        let mut client = db.client().await?;
        let tx = client.transaction().await?;
        tx.query_one(
            "SELECT last_sequence FROM projection_checkpoints WHERE projection = $1 FOR UPDATE",
            &[&P::NAME],
        )
        .await?;
        swap::<P>(&tx, &fresh, 0).await?;
        tx.commit().await?;
    }
    tracing::info!(
        projection = P::NAME,
        checkpoint = done,
        "projection rebuilt"
    );
    Ok(done)
}

async fn swap<P: Projection>(
    tx: &Transaction<'_>,
    fresh: &str,
    checkpoint: u64,
) -> Result<(), tokio_postgres::Error> {
    tx.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {live} CASCADE; ALTER SCHEMA {fresh} RENAME TO {live};",
        live = P::NAME
    ))
    .await?;
    tx.execute(
        "UPDATE projection_checkpoints SET last_sequence = $2, version = $3, updated_at = now() WHERE projection = $1",
        &[&P::NAME, &(checkpoint as i64), &P::VERSION],
    )
    .await?;
    tx.execute(
        "DELETE FROM projection_checkpoints WHERE projection = $1",
        &[&fresh],
    )
    .await?;
    Ok(())
}

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
