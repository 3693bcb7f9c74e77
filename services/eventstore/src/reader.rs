//! Reading the log from a sequence on: an ordered consumer that is recreated after any
//! failure, resuming where it stopped. (One aggregate's events load in `aggregate.rs`.)
//!
//! How fast a reader notices a lost consumer (a nats-server restart, a stream leader
//! change) is set here. async-nats's ordered consumer pulls with a 30 s expiry and a 15 s
//! idle heartbeat and recreates itself after two missed heartbeats, which left projections
//! standing still for 16 s and more after NATS came back. Capping the pull expiry at
//! [`PULL_EXPIRES`] brings the heartbeat down to 1 s; and a reader that has had nothing for
//! [`IDLE_CHECK`] asks the stream for its last sequence and recreates the consumer itself
//! when the log holds events it was not given.
//!
//! While a reader has no consumer, it creates one in the background and meanwhile reads
//! on by direct gets, which any replica of the stream serves: creating a consumer needs
//! the cluster's JetStream meta leader, and losing the node that held it stops every
//! creation for the seconds an election takes.

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer, stream::DirectGetErrorKind};
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use linkway_events::{DecodeError, Envelope, Event};

use crate::{EventStore, StoreError, TraceContext};

/// Longest pull request of a reader's consumer. async-nats sets the idle heartbeat to half
/// of it (1 s), so a dead consumer is noticed within about two seconds.
const PULL_EXPIRES: Duration = Duration::from_secs(2);

/// After this long without a message, a reader checks the stream's last sequence and
/// recreates its consumer if the log holds events beyond its position.
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// Longest wait for a new consumer before the reader backs off and tries again.
/// JetStream's own request timeout is 10 s; in a cluster that has just lost a node a
/// creation can hang that long while another attempt succeeds at once.
const OPEN_TIMEOUT: Duration = Duration::from_secs(2);

/// A consumer creation unanswered this long gets a second one beside it (see `open`).
const HEDGE_AFTER: Duration = Duration::from_millis(300);

/// Longest wait for one direct get while the reader has no consumer.
const DIRECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Longest wait for the stream's last sequence during an idle check.
const IDLE_CHECK_TIMEOUT: Duration = Duration::from_secs(1);

/// An event as read from the log, not yet decoded.
#[derive(Debug, Clone)]
pub struct RecordedEvent {
    /// Position in the stream: the event's global order.
    pub sequence: u64,
    pub subject: String,
    pub payload: Bytes,
    /// Events after this one that the log held when it was delivered (0 = caught up).
    pub pending: u64,
    /// The trace it was appended in, if its writer sent one.
    pub trace: Option<TraceContext>,
}

impl RecordedEvent {
    /// The aggregate kind its subject names (`<prefix>.<kind>.<id>`), read without
    /// decoding the payload.
    pub fn aggregate_kind(&self) -> Option<&str> {
        let mut tokens = self.subject.rsplitn(3, '.');
        tokens.next()?;
        tokens.next()
    }

    /// Envelope and typed payload; an error here means the event must be dead-lettered.
    pub fn decode(&self) -> Result<(Envelope, Event), DecodeError> {
        let envelope = Envelope::from_slice(&self.payload)?;
        let event = envelope.event()?;
        Ok((envelope, event))
    }
}

/// Follows the log from a sequence on. Call [`LogReader::next`] in a loop.
pub struct LogReader {
    js: jetstream::Context,
    stream: String,
    filter: String,
    /// The next sequence we want; everything before it has been handed out.
    next_sequence: u64,
    messages: Option<consumer::pull::Ordered>,
    /// A consumer being created in the background while `messages` is `None`.
    opening: Option<tokio::task::JoinHandle<consumer::pull::Ordered>>,
    /// When the reader last received a message or checked the log end: the idle check
    /// runs [`IDLE_CHECK`] after it. A field, not a local, because callers cancel
    /// [`LogReader::next`] (see [`LogReader::next_within`]).
    last_activity: Instant,
    /// Opens each event's sealed personal part before it is handed out (intake,
    /// link-worker); `None` hands events out sealed (reporting).
    vault: Option<crate::Vault>,
    /// An event read but not yet opened: a field, so a cancelled `next` loses nothing.
    unopened: Option<RecordedEvent>,
}

impl LogReader {
    pub(crate) async fn start(
        js: jetstream::Context,
        stream: String,
        filter: String,
        from_sequence: u64,
        vault: Option<crate::Vault>,
    ) -> Result<LogReader, StoreError> {
        let mut reader = LogReader {
            js,
            stream,
            filter,
            next_sequence: from_sequence,
            messages: None,
            opening: None,
            last_activity: Instant::now(),
            vault,
            unopened: None,
        };
        // A creation that hangs (in a cluster, the consumer placed on a node that is down)
        // is left to `next`, which retries it; an error (no such stream) is the caller's.
        if let Ok(opened) = tokio::time::timeout(OPEN_TIMEOUT, reader.open()).await {
            opened?;
        }
        Ok(reader)
    }

    async fn open(&mut self) -> Result<(), StoreError> {
        let messages =
            hedged_create(self.js.clone(), self.stream.clone(), self.next_sequence).await?;
        self.messages = Some(messages);
        self.last_activity = Instant::now();
        Ok(())
    }

    /// Starts creating a consumer at the reader's position in the background, retried
    /// with backoff until one exists.
    fn start_opening(&mut self) {
        let (js, stream) = (self.js.clone(), self.stream.clone());
        let start = self.next_sequence;
        self.opening = Some(tokio::spawn(async move {
            let mut backoff = Duration::from_millis(50);
            loop {
                let created = hedged_create(js.clone(), stream.clone(), start);
                let error = match tokio::time::timeout(OPEN_TIMEOUT, created).await {
                    Ok(Ok(messages)) => return messages,
                    Ok(Err(err)) => err.to_string(),
                    Err(_) => format!("no consumer within {OPEN_TIMEOUT:?}"),
                };
                tracing::warn!(%error, "event log reader has no consumer yet; reading on by direct gets");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }));
    }

    /// Whether the log holds events beyond the reader's position (its consumer has not
    /// delivered them). Asked of the stream's info, which its leader answers; when that
    /// does not answer (a cluster settling after a node came back), of a direct get, which
    /// any replica answers. Neither answering counts as no: the consumer's own heartbeat
    /// handles a server that does not answer at all.
    /// (Borrows no `self`: the consumer held there is not `Sync`.)
    async fn log_is_ahead(
        js: &jetstream::Context,
        stream: &str,
        filter: &str,
        next_sequence: u64,
    ) -> bool {
        let end = async {
            let stream = js.get_stream_no_info(stream).await.ok()?;
            stream.get_info().await.ok().map(|i| i.state.last_sequence)
        };
        match tokio::time::timeout(IDLE_CHECK_TIMEOUT, end).await {
            Ok(Some(last)) => last >= next_sequence,
            _ => matches!(
                tokio::time::timeout(
                    DIRECT_TIMEOUT,
                    direct_next(js, stream, filter, next_sequence)
                )
                .await,
                Ok(Ok(Some(_)))
            ),
        }
    }

    /// The next event, waiting for one if the reader is caught up. Failures of the server
    /// or connection are retried here with backoff; the caller only ever sees events, in
    /// order, each once.
    pub async fn next(&mut self) -> RecordedEvent {
        if self.unopened.is_none() {
            self.unopened = Some(self.next_sealed().await);
        }
        if let Some(vault) = &self.vault {
            let event = self.unopened.as_mut().expect("just read");
            // Another process erased this person: forget the key now, not in 30 s.
            if event.aggregate_kind() == Some("person")
                && let Some(id) = event.subject.rsplit('.').next()
            {
                vault.keys().forget(id);
            }
            let mut backoff = Duration::from_millis(50);
            // A key that cannot be fetched now is fetched again: an event handed out
            // unopened would be projected without the person's details, for good.
            while let Err(e) = vault.open(event).await {
                tracing::warn!(error = %e, sequence = event.sequence, "a data key could not be read; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
        self.unopened.take().expect("just read")
    }

    /// The next event as the log holds it.
    async fn next_sealed(&mut self) -> RecordedEvent {
        loop {
            if self.messages.is_none() {
                match &self.opening {
                    None => self.start_opening(),
                    Some(opening) if opening.is_finished() => {
                        if let Ok(messages) = self.opening.take().expect("just seen").await {
                            self.messages = Some(messages);
                            self.last_activity = Instant::now();
                        }
                        continue;
                    }
                    Some(_) => {}
                }
                // Meanwhile, the next event by a direct get (redeliveries of it by the new
                // consumer are skipped below).
                let direct = direct_next(&self.js, &self.stream, &self.filter, self.next_sequence);
                if let Ok(Ok(Some(event))) = tokio::time::timeout(DIRECT_TIMEOUT, direct).await {
                    self.next_sequence = event.sequence + 1;
                    return event;
                }
                // Caught up, or the log does not answer either: wait for the consumer.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            let messages = self.messages.as_mut().expect("opened above");
            let idle_check = tokio::time::Instant::from_std(self.last_activity + IDLE_CHECK);
            let Ok(delivered) = tokio::time::timeout_at(idle_check, messages.next()).await else {
                self.last_activity = Instant::now();
                if Self::log_is_ahead(&self.js, &self.stream, &self.filter, self.next_sequence)
                    .await
                {
                    tracing::info!(
                        position = self.next_sequence,
                        "event log reader got nothing while the log is ahead; recreating its consumer"
                    );
                    self.messages = None;
                }
                continue;
            };
            match delivered {
                Some(Ok(message)) => {
                    self.last_activity = Instant::now();
                    let Ok(info) = message.info() else {
                        continue;
                    };
                    let sequence = info.stream_sequence;
                    let pending = info.pending;
                    if sequence < self.next_sequence {
                        continue; // a redelivery after a consumer reset: already handed out
                    }
                    self.next_sequence = sequence + 1;
                    let message = message.split().0;
                    return RecordedEvent {
                        sequence,
                        trace: TraceContext::read(message.headers.as_ref()),
                        subject: message.subject.to_string(),
                        payload: message.payload,
                        pending,
                    };
                }
                Some(Err(err)) => {
                    tracing::warn!(error = %err, "event log reader lost its consumer; resuming");
                    self.messages = None;
                }
                None => {
                    self.messages = None;
                }
            }
        }
    }

    /// Like [`LogReader::next`] but gives up after `wait` with `None` (for batching).
    pub async fn next_within(&mut self, wait: Duration) -> Option<RecordedEvent> {
        tokio::time::timeout(wait, self.next()).await.ok()
    }

    /// The sequence the reader will hand out next.
    pub fn position(&self) -> u64 {
        self.next_sequence
    }
}

/// Creates a consumer, hedged: while no creation has answered, another starts every
/// [`HEDGE_AFTER`] (in a cluster that has just lost a node, one may hang while the next
/// succeeds); the first consumer wins, the others are dropped (the server forgets unused
/// ones).
async fn hedged_create(
    js: jetstream::Context,
    stream: String,
    start_sequence: u64,
) -> Result<consumer::pull::Ordered, StoreError> {
    let mut creations = FuturesUnordered::new();
    loop {
        creations.push(create_consumer(js.clone(), stream.clone(), start_sequence));
        tokio::select! {
            created = creations.next() => if let Some(result) = created {
                return result;
            },
            _ = tokio::time::sleep(HEDGE_AFTER) => {}
        }
    }
}

/// The first event at or after `from` by a direct get; `None` when there is none yet.
async fn direct_next(
    js: &jetstream::Context,
    stream: &str,
    filter: &str,
    from: u64,
) -> Result<Option<RecordedEvent>, StoreError> {
    let stream = js
        .get_stream_no_info(stream)
        .await
        .map_err(StoreError::nats("get stream"))?;
    match stream.direct_get_next_for_subject(filter, Some(from)).await {
        Ok(message) => Ok(Some(RecordedEvent {
            sequence: message.sequence,
            trace: TraceContext::read(Some(&message.headers)),
            subject: message.subject.to_string(),
            payload: message.payload,
            pending: 0,
        })),
        Err(err) if err.kind() == DirectGetErrorKind::NotFound => Ok(None),
        Err(err) => Err(StoreError::nats("direct get")(err)),
    }
}

/// Creates an ordered consumer from `start_sequence` and starts consuming.
async fn create_consumer(
    js: jetstream::Context,
    stream: String,
    start_sequence: u64,
) -> Result<consumer::pull::Ordered, StoreError> {
    let stream = js
        .get_stream_no_info(&stream)
        .await
        .map_err(StoreError::nats("get stream"))?;
    // The reader reads the whole log, and the stream holds nothing else (its one subject
    // is `<prefix>.>`), so the consumer takes no filter: the server counts a filtered
    // consumer's pending messages subject by subject (with a national year's 3.4 million
    // subjects that took over 2 s, and the reader never got its consumer); unfiltered,
    // the count is a subtraction.
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            deliver_policy: consumer::DeliverPolicy::ByStartSequence { start_sequence },
            max_expires: PULL_EXPIRES,
            ..Default::default()
        })
        .await
        .map_err(StoreError::nats("create ordered consumer"))?;
    consumer
        .messages()
        .await
        .map_err(StoreError::nats("consume"))
}

impl Drop for LogReader {
    fn drop(&mut self) {
        if let Some(opening) = self.opening.take() {
            opening.abort();
        }
    }
}

impl EventStore {
    /// When the event at `sequence` was appended (the server's clock), or `None` if the
    /// log holds no such event. Readiness uses it for the age of the oldest event a
    /// projection has not applied.
    pub async fn appended_at(
        &self,
        sequence: u64,
    ) -> Result<Option<time::OffsetDateTime>, StoreError> {
        let stream = self
            .js
            .get_stream_no_info(&self.config.stream)
            .await
            .map_err(StoreError::nats("get stream"))?;
        match stream.direct_get(sequence).await {
            Ok(message) => Ok(Some(message.time)),
            Err(err) if err.kind() == DirectGetErrorKind::NotFound => Ok(None),
            Err(err) => Err(StoreError::nats("get event by sequence")(err)),
        }
    }
}
