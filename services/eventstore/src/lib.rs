//! The event log on NATS JetStream.
//!
//! This crate is the only code that knows subject names and message headers. It offers:
//! - [`EventStore::connect`]: creates or updates the stream idempotently;
//! - [`EventStore::append`]: optimistic appends (`Nats-Expected-Last-Subject-Sequence`,
//!   0 for a new aggregate) with idempotency (`Nats-Msg-Id`);
//! - [`EventStore::load`]: one aggregate's events, in order;
//! - [`EventStore::read_from`]: the whole log from a sequence, for projections and replays.
//!
//! Subjects are `<prefix>.<aggregate kind>.<aggregate id>`, e.g.
//! `linkway.referral.0192f7c4-...`. Ids are opaque (UUIDs or organisation ids), never
//! personal data. Headers carry only the message id, the expected sequence, the event
//! type and version, and the W3C trace context of the request that appended it.

mod aggregate;
pub mod backup;
mod config;
mod error;
mod reader;
mod trace;
pub mod vault;

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, message::PublishMessage, stream};
use bytes::Bytes;
use linkway_events::Envelope;
use tracing::instrument;

pub use aggregate::StoredEvent;
pub use config::StoreConfig;
pub use error::{AppendError, StoreError};
pub use reader::{LogReader, RecordedEvent};
pub use trace::{TRACEPARENT_HEADER, TRACESTATE_HEADER, TraceContext};
pub use vault::Vault;

/// Header naming the event type; lets consumers route without parsing the payload.
pub const TYPE_HEADER: &str = "Linkway-Type";
/// Header naming the payload's schema version.
pub const VERSION_HEADER: &str = "Linkway-Version";

/// What the writer believes about the aggregate's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// The aggregate must not exist yet: a second create fails with a conflict.
    NoEvents,
    /// The aggregate's last event must be at this stream sequence.
    LastSequence(u64),
    /// Append whatever is there (only for events with no invariant to protect).
    Any,
    /// No event on any subject of the aggregate's id (`<prefix>.*.<id>`: the referral and
    /// its case alike) may be later than this sequence; 0 means none may exist yet. A
    /// decision that read every subject of the id is guarded on all of them at once
    /// (`Nats-Expected-Last-Subject-Sequence-Subject`, nats-server 2.11 and later).
    WholeAggregate(u64),
}

/// Header that widens the expected subject sequence to a subject filter.
const EXPECTED_FILTER_HEADER: &str = "Nats-Expected-Last-Subject-Sequence-Subject";

/// One event to append and the id that makes its append idempotent.
#[derive(Debug, Clone)]
pub struct PendingEvent {
    pub envelope: Envelope,
    /// Becomes `Nats-Msg-Id`. Derive it from the caller's idempotency key (plus the event's
    /// position within the command) so a retried command dedupes instead of appending twice.
    pub message_id: String,
    /// The trace the event is appended in (W3C `traceparent`/`tracestate` headers).
    pub trace: Option<TraceContext>,
}

impl PendingEvent {
    /// An event whose message id is its own event id (retries must reuse the same value).
    pub fn new(envelope: Envelope) -> PendingEvent {
        let message_id = envelope.event_id.to_string();
        PendingEvent {
            envelope,
            message_id,
            trace: None,
        }
    }

    pub fn with_message_id(envelope: Envelope, message_id: impl Into<String>) -> PendingEvent {
        PendingEvent {
            envelope,
            message_id: message_id.into(),
            trace: None,
        }
    }

    /// Carries `trace` in the event's headers.
    pub fn with_trace(mut self, trace: Option<TraceContext>) -> PendingEvent {
        self.trace = trace;
        self
    }
}

/// Where appended events landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// Stream sequence of each event, in order.
    pub sequences: Vec<u64>,
    /// True when the log had already seen these message ids: a retry, nothing new written.
    pub duplicate: bool,
    /// True when the log had already seen at least one of them.
    pub any_duplicate: bool,
}

impl Appended {
    /// The sequence of the last event appended: what read-your-writes waits for.
    pub fn last_sequence(&self) -> u64 {
        self.sequences.last().copied().unwrap_or(0)
    }
}

/// A handle on the event log. Cheap to clone.
#[derive(Clone)]
pub struct EventStore {
    js: jetstream::Context,
    config: StoreConfig,
    /// Seals personal parts on append and opens them on every read ([`vault`]).
    vault: Option<Vault>,
}

impl EventStore {
    /// Connects to an existing NATS client and makes sure the stream exists with our settings.
    #[instrument(skip_all, fields(stream = %config.stream))]
    pub async fn connect(
        client: async_nats::Client,
        config: StoreConfig,
    ) -> Result<EventStore, StoreError> {
        let js = jetstream::ContextBuilder::new()
            .timeout(Duration::from_secs(10))
            .max_ack_inflight(config.max_in_flight)
            .backpressure_on_inflight(true)
            .build(client);
        let store = EventStore {
            js,
            config,
            vault: None,
        };
        store.ensure_stream().await?;
        Ok(store)
    }

    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// This store with a vault: personal parts are sealed as they are appended and
    /// opened as they are read.
    pub fn with_vault(mut self, vault: Vault) -> EventStore {
        self.vault = Some(vault);
        self
    }

    pub fn vault(&self) -> Option<&Vault> {
        self.vault.as_ref()
    }

    pub fn jetstream(&self) -> &jetstream::Context {
        &self.js
    }

    fn stream_config(&self) -> stream::Config {
        stream::Config {
            name: self.config.stream.clone(),
            description: Some("Linkway event log: the source of truth".into()),
            subjects: vec![format!("{}.>", self.config.subject_prefix)],
            storage: stream::StorageType::File,
            retention: stream::RetentionPolicy::Limits,
            max_age: Duration::ZERO,
            max_messages: -1,
            max_bytes: -1,
            max_messages_per_subject: -1,
            discard: stream::DiscardPolicy::Old,
            duplicate_window: self.config.duplicate_window,
            num_replicas: self.config.replicas,
            allow_direct: true,
            deny_delete: true,
            deny_purge: false,
            ..Default::default()
        }
    }

    /// Creates the stream, or brings an existing one to our settings. Safe to call from
    /// every process at every start.
    async fn ensure_stream(&self) -> Result<(), StoreError> {
        let wanted = self.stream_config();
        match self.js.get_stream(&wanted.name).await {
            Ok(mut existing) => {
                let info = existing
                    .info()
                    .await
                    .map_err(StoreError::nats("stream info"))?;
                let current = &info.config;
                let differs = current.subjects != wanted.subjects
                    || current.duplicate_window != wanted.duplicate_window
                    || current.num_replicas != wanted.num_replicas
                    || current.max_age != wanted.max_age
                    || current.deny_delete != wanted.deny_delete
                    || current.allow_direct != wanted.allow_direct;
                if differs {
                    if current.storage != wanted.storage {
                        return Err(StoreError::Misconfigured(format!(
                            "stream {} exists with storage {:?}; Linkway needs file storage",
                            wanted.name, current.storage
                        )));
                    }
                    self.js
                        .update_stream(&wanted)
                        .await
                        .map_err(StoreError::nats("update stream"))?;
                    tracing::info!("stream settings updated");
                }
            }
            Err(_) => match self.js.create_stream(wanted.clone()).await {
                Ok(_) => tracing::info!("stream created"),
                // Another process created it between our get and create: fine.
                Err(err) => {
                    if self.js.get_stream(&wanted.name).await.is_err() {
                        return Err(StoreError::nats("create stream")(err));
                    }
                }
            },
        }
        Ok(())
    }

    /// The subject of one aggregate.
    pub fn subject(&self, aggregate_kind: &str, aggregate_id: &str) -> String {
        format!(
            "{}.{}.{}",
            self.config.subject_prefix, aggregate_kind, aggregate_id
        )
    }

    /// Appends events to one aggregate, in order, each expecting the previous one's sequence.
    ///
    /// A retry with the same message ids never appends twice: JetStream recognises them
    /// within the duplicate window and answers with the original sequences, except that an
    /// expected sequence is checked first, so a retry on a stale expectation is a
    /// `Conflict` (the command path then finds its events by message id and appends only
    /// the rest). Not one atomic batch: nats-server 2.15.1 took 2.2 ms to commit a batch of
    /// two where two acknowledged publishes took 0.3 ms (see the README's benchmarks).
    #[instrument(skip_all, fields(kind = aggregate_kind, n = events.len()))]
    pub async fn append(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
        expected: Expected,
        events: Vec<PendingEvent>,
    ) -> Result<Appended, AppendError> {
        check_subject_token(aggregate_kind)?;
        check_subject_token(aggregate_id)?;
        let subject = self.subject(aggregate_kind, aggregate_id);
        if let Some(event) = events
            .iter()
            .find(|e| linkway_events::aggregate_kind_of(&e.envelope.event_type) != aggregate_kind)
        {
            return Err(AppendError::WrongAggregate {
                event_type: event.envelope.event_type.clone(),
                aggregate_kind: aggregate_kind.to_owned(),
            });
        }
        let mut expected = expected;
        let mut sequences = Vec::with_capacity(events.len());
        let mut duplicate = !events.is_empty();
        let mut any_duplicate = false;
        for event in &events {
            let ack = self
                .publish(&subject, event, expected)
                .await?
                .await
                .map_err(|e| classify_publish_error(e, expected))?;
            duplicate &= ack.duplicate;
            any_duplicate |= ack.duplicate;
            sequences.push(ack.sequence);
            expected = match expected {
                Expected::Any => Expected::Any,
                Expected::WholeAggregate(_) => Expected::WholeAggregate(ack.sequence),
                _ => Expected::LastSequence(ack.sequence),
            };
        }
        Ok(Appended {
            sequences,
            duplicate,
            any_duplicate,
        })
    }

    /// Sends one event without waiting for its acknowledgement; await the returned future
    /// (in windows, see the bench) to pipeline many appends across aggregates.
    pub async fn publish(
        &self,
        subject: &str,
        event: &PendingEvent,
        expected: Expected,
    ) -> Result<jetstream::context::PublishAckFuture, AppendError> {
        let mut headers = headers(event);
        expect(&mut headers, subject, expected);
        let payload = match &self.vault {
            Some(vault) => {
                let mut envelope = event.envelope.clone();
                vault.seal(&mut envelope).await.map_err(|e| match e {
                    vault::SealError::Erased(_) => AppendError::Erased,
                    vault::SealError::Store(e) => AppendError::Unavailable(e.to_string()),
                })?;
                envelope.to_vec()
            }
            None => event.envelope.to_vec(),
        };
        let publish = PublishMessage::build()
            .payload(Bytes::from(payload))
            .headers(headers)
            .message_id(&event.message_id);
        self.js
            .send_publish(subject.to_owned(), publish)
            .await
            .map_err(|e| classify_publish_error(e, expected))
    }

    /// Every event of one aggregate, in order, with its stream sequence. Empty when the
    /// aggregate does not exist.
    #[instrument(skip_all, fields(kind = aggregate_kind))]
    pub async fn load(
        &self,
        aggregate_kind: &str,
        aggregate_id: &str,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        check_subject_token(aggregate_kind)
            .map_err(|e| StoreError::Misconfigured(e.to_string()))?;
        check_subject_token(aggregate_id).map_err(|e| StoreError::Misconfigured(e.to_string()))?;
        let stored = aggregate::load_with_ids(
            &self.js,
            &self.config.stream,
            &self.subject(aggregate_kind, aggregate_id),
        )
        .await?;
        let mut events: Vec<RecordedEvent> = stored.into_iter().map(|s| s.event).collect();
        if let Some(vault) = &self.vault {
            vault.open_all(&mut events).await?;
        }
        Ok(events)
    }

    /// Every event of every subject of one aggregate id (`<prefix>.*.<id>`), in log order,
    /// with the message id each was appended under: what a decision reads, and how a
    /// command recognises its own events after a lost answer.
    #[instrument(skip_all)]
    pub async fn load_aggregate(&self, aggregate_id: &str) -> Result<Vec<StoredEvent>, StoreError> {
        check_subject_token(aggregate_id).map_err(|e| StoreError::Misconfigured(e.to_string()))?;
        let mut stored = aggregate::load_with_ids(
            &self.js,
            &self.config.stream,
            &format!("{}.*.{aggregate_id}", self.config.subject_prefix),
        )
        .await?;
        if let Some(vault) = &self.vault {
            for s in &mut stored {
                vault.open(&mut s.event).await?;
            }
        }
        Ok(stored)
    }

    /// The sequence of the last event in the log (0 when empty).
    pub async fn last_sequence(&self) -> Result<u64, StoreError> {
        let mut stream = self
            .js
            .get_stream(&self.config.stream)
            .await
            .map_err(StoreError::nats("get stream"))?;
        let info = stream
            .info()
            .await
            .map_err(StoreError::nats("stream info"))?;
        Ok(info.state.last_sequence)
    }

    /// Reads the whole log from `from_sequence` (inclusive) on, following new events as
    /// they come. Survives server restarts: the reader recreates its consumer.
    pub async fn read_from(&self, from_sequence: u64) -> Result<LogReader, StoreError> {
        LogReader::start(
            self.js.clone(),
            self.config.stream.clone(),
            format!("{}.>", self.config.subject_prefix),
            from_sequence.max(1),
            self.vault.clone(),
        )
        .await
    }
}

/// An event's type and version headers, and its trace context.
fn headers(event: &PendingEvent) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(TYPE_HEADER, event.envelope.event_type.as_str());
    headers.insert(VERSION_HEADER, event.envelope.version.to_string().as_str());
    if let Some(trace) = &event.trace {
        trace.write(&mut headers);
    }
    headers
}

/// The headers that say what the writer expects of the aggregate's history.
fn expect(headers: &mut HeaderMap, subject: &str, expected: Expected) {
    let last = match expected {
        Expected::Any => return,
        Expected::NoEvents => 0,
        Expected::LastSequence(seq) | Expected::WholeAggregate(seq) => seq,
    };
    headers.insert(
        async_nats::header::NATS_EXPECTED_LAST_SUBJECT_SEQUENCE,
        last.to_string().as_str(),
    );
    if let Expected::WholeAggregate(_) = expected {
        headers.insert(EXPECTED_FILTER_HEADER, aggregate_filter(subject).as_str());
    }
}

/// `<prefix>.*.<id>` for the subject `<prefix>.<kind>.<id>`.
fn aggregate_filter(subject: &str) -> String {
    match subject
        .rsplit_once('.')
        .and_then(|(rest, id)| Some((rest.rsplit_once('.')?.0, id)))
    {
        Some((prefix, id)) => format!("{prefix}.*.{id}"),
        None => subject.to_owned(),
    }
}

/// Subject tokens may not be empty or contain separators or wildcards.
fn check_subject_token(token: &str) -> Result<(), AppendError> {
    let ok = !token.is_empty()
        && token.len() <= 128
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(AppendError::InvalidId(token.to_owned()))
    }
}

fn classify_publish_error(
    err: jetstream::context::PublishError,
    expected: Expected,
) -> AppendError {
    use jetstream::context::PublishErrorKind;
    match err.kind() {
        PublishErrorKind::WrongLastSequence => AppendError::Conflict { expected },
        // Everything else a publish can meet is the log being briefly out of reach: a
        // time-out, a broken connection, no responder while a stream leader is elected
        // ("no stream found" for a stream we made sure of at start), back-pressure, or a
        // JetStream API error such as "temporarily unavailable". The same message ids make
        // the retry safe.
        _ => AppendError::Unavailable(err.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aggregate_filter_spans_every_kind_of_one_id() {
        assert_eq!(aggregate_filter("linkway.case.abc"), "linkway.*.abc");
        assert_eq!(
            aggregate_filter("a.b.linkway.referral.x-1"),
            "a.b.linkway.*.x-1"
        );
    }

    /// Every header an append can write is described on every message of the AsyncAPI
    /// document, so the document states the wire exactly.
    #[test]
    fn every_header_an_append_writes_is_in_the_asyncapi_document() {
        let event =
            linkway_events::Event::Registry(linkway_events::registry::RegistryEvent::TokenRevoked(
                linkway_events::registry::TokenRevoked {
                    token_id: uuid::Uuid::nil(),
                },
            ));
        let envelope = Envelope::new(
            "x",
            &event,
            linkway_events::Actor::system(),
            uuid::Uuid::nil(),
            time::OffsetDateTime::UNIX_EPOCH,
        );
        let pending = PendingEvent::new(envelope).with_trace(Some(TraceContext {
            traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
            tracestate: Some("vendor=1".into()),
        }));
        let mut written = headers(&pending);
        expect(&mut written, "linkway.token.x", Expected::WholeAggregate(3));
        let mut names: Vec<String> = written.iter().map(|(k, _)| k.to_string()).collect();
        // Set by the publish itself (`PublishMessage::message_id`).
        names.push(async_nats::header::NATS_MESSAGE_ID.to_string());
        assert_eq!(names.len(), 7, "{names:?}");
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("../../../schemas/asyncapi.json"))
                .expect("asyncapi.json");
        let messages = doc["components"]["messages"].as_object().expect("messages");
        assert!(!messages.is_empty());
        for (key, message) in messages {
            let described = &message["headers"]["properties"];
            for name in &names {
                assert!(
                    described[name.as_str()].is_object(),
                    "{key}: header {name} is not described"
                );
            }
        }
    }

    #[test]
    fn subject_tokens_refuse_separators_and_wildcards() {
        for bad in ["", "a.b", "a b", "*", ">", "a>", "é", &"x".repeat(129)] {
            assert!(check_subject_token(bad).is_err(), "{bad:?} accepted");
        }
        for good in [
            "referral",
            "0192f7c4-aaaa-7bbb-8ccc-123456789abc",
            "A81001",
            "org_1",
        ] {
            assert!(check_subject_token(good).is_ok(), "{good:?} refused");
        }
    }
}
