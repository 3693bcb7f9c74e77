//! The live runner: follows the log, batches events, applies each batch with the
//! checkpoint in one transaction, retries what is transient and parks what is not.

use super::*;

/// Runs one projection: catch up, then follow the log.
pub struct ProjectionRunner<P: Projection> {
    pub(super) projection: Arc<P>,
    pub(super) db: Database,
    pub(super) store: EventStore,
    pub(super) settings: RunnerSettings,
    pub(super) tx: watch::Sender<Advance>,
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
        let mut batches = prefetch(reader, self.settings, P::reads);
        let mut stored_at = Instant::now();
        loop {
            let batch = tokio::select! {
                _ = &mut shutdown => return,
                b = batches.recv() => match b {
                    Some(b) => b,
                    None => return,
                },
            };
            // Nothing in it for this projection: move on in memory, without a transaction.
            if batch.is_empty_for_us() && stored_at.elapsed() < CHECKPOINT_EVERY {
                let last = batch.raw.last().map_or(0, |e| e.sequence);
                self.advance(last);
                metrics::projection_checkpoint(
                    P::NAME,
                    last,
                    batch.raw.last().map_or(0, |e| e.pending),
                );
                continue;
            }
            metrics::projection_batch(P::NAME, batch.raw.len());
            // Open from the first try to the commit: each traced event's projection span.
            let spans = event_spans::<P>(&batch);
            let mut backoff = Duration::from_millis(100);
            loop {
                match apply_batch(&*self.projection, &self.db, &target, &batch).await {
                    Ok(checkpoint) => {
                        drop(spans);
                        stored_at = Instant::now();
                        self.advance(checkpoint);
                        metrics::projection_checkpoint(
                            P::NAME,
                            checkpoint,
                            batch.raw.last().map_or(0, |e| e.pending),
                        );
                        break;
                    }
                    Err(e) => {
                        metrics::projection_retry(P::NAME);
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

impl<P: Projection> ProjectionRunner<P> {
    /// Tells readers (read-your-writes, readiness) the read model has reached `checkpoint`.
    fn advance(&self, checkpoint: u64) {
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
    }
}

/// While spans are exported, one span per event of the batch that carries the trace it
/// was appended in, as a child of the span that appended it: so a referral's trace shows
/// each projection applying its events. Fields: projection, event type, sequence.
fn event_spans<P: Projection>(batch: &Batch) -> Vec<tracing::Span> {
    if !crate::telemetry::exporting() {
        return Vec::new();
    }
    batch
        .decoded
        .iter()
        .filter_map(|event| {
            let trace = batch.raw(event.sequence).trace.as_ref()?;
            let span = tracing::info_span!(
                "project",
                projection = P::NAME,
                event_type = event.envelope.event_type.as_str(),
                sequence = event.sequence,
                batch_events = batch.raw.len(),
                trace_id = tracing::field::Empty,
                otel.name = format!("project {}", P::NAME),
                otel.kind = "consumer",
            );
            crate::telemetry::continue_event(&span, trace);
            if let Some(id) = crate::telemetry::trace_id(&span) {
                span.record("trace_id", tracing::field::display(&id));
            }
            Some(span)
        })
        .collect()
}

/// A batch read from the log and decoded ahead of its transaction.
pub(super) struct Batch {
    /// Every event as read, in order.
    pub(super) raw: Vec<RecordedEvent>,
    /// The events of the kinds the projection reads that decoded, in order.
    pub(super) decoded: Vec<Projected>,
    /// Sequences of the events that did not decode, and why (they will be dead-lettered).
    pub(super) undecodable: Vec<(u64, String)>,
}

impl Batch {
    fn decode(raw: Vec<RecordedEvent>, reads: fn(&str) -> bool) -> Batch {
        let mut decoded = Vec::with_capacity(raw.len());
        let mut undecodable = Vec::new();
        for event in &raw {
            // An unreadable subject is decoded anyway: the decoder says what is wrong.
            if event.aggregate_kind().is_some_and(|kind| !reads(kind)) {
                continue;
            }
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

    /// No event in it for the projection (none it reads, none to dead-letter).
    fn is_empty_for_us(&self) -> bool {
        self.decoded.is_empty() && self.undecodable.is_empty()
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
pub(super) fn prefetch(
    mut reader: LogReader,
    settings: RunnerSettings,
    reads: fn(&str) -> bool,
) -> mpsc::Receiver<Batch> {
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
            permit.send(Batch::decode(raw, reads));
        }
    });
    rx
}

/// Collects up to `batch_size` events. While the log has more pending it keeps reading;
/// once caught up (`pending == 0`) it applies at once, so live latency stays low.
pub(super) async fn fill_batch(
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
pub(super) struct Target {
    pub(super) schema: String,
    /// The projection name its checkpoint row and dead letters are kept under.
    pub(super) checkpoint_row: String,
}

/// Applies one batch in one transaction; returns the new checkpoint.
pub(super) async fn apply_batch<P: Projection>(
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
pub(super) async fn apply_in<P: Projection>(
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
    metrics::redelivered(
        P::NAME,
        batch.raw.partition_point(|e| e.sequence <= checkpoint) as u64,
    );
    for (sequence, reason) in batch.undecodable.iter().filter(|(s, _)| *s > checkpoint) {
        park(tx, P::NAME, target, batch.raw(*sequence), reason).await?;
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
                        park(tx, P::NAME, target, batch.raw(event.sequence), &reason).await?;
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
pub(super) async fn apply_savepoint<P: Projection>(
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

/// Parks an event the projection cannot read or apply, with the reason, under the target's
/// name (a rebuild's are swapped in with its schema); counted in metrics as `projection`'s.
pub(super) async fn park(
    tx: &Transaction<'_>,
    projection: &str,
    target: &Target,
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
            &target.checkpoint_row,
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
pub(super) async fn prepare<P: Projection>(
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
pub(super) async fn ensure_checkpoint(
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

pub(super) async fn create_tables<P: Projection>(
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
