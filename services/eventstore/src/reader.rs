//! Reading the log: one aggregate (direct gets), or everything from a sequence on (an
//! ordered consumer that is recreated after any failure, resuming where it stopped).

use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream::DirectGetErrorKind};
use bytes::Bytes;
use futures::StreamExt;
use linkway_events::{DecodeError, Envelope, Event};

use crate::StoreError;

/// An event as read from the log, not yet decoded.
#[derive(Debug, Clone)]
pub struct RecordedEvent {
    /// Position in the stream: the event's global order.
    pub sequence: u64,
    pub subject: String,
    pub payload: Bytes,
    /// Events after this one that the log held when it was delivered (0 = caught up).
    pub pending: u64,
}

impl RecordedEvent {
    /// Envelope and typed payload; an error here means the event must be dead-lettered.
    pub fn decode(&self) -> Result<(Envelope, Event), DecodeError> {
        let envelope = Envelope::from_slice(&self.payload)?;
        let event = envelope.event()?;
        Ok((envelope, event))
    }
}

pub(crate) async fn load_subject(
    js: &jetstream::Context,
    stream: &str,
    subject: &str,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let stream = js
        .get_stream_no_info(stream)
        .await
        .map_err(StoreError::nats("get stream"))?;
    let mut events = Vec::new();
    let mut next: Option<u64> = None;
    loop {
        match stream.direct_get_next_for_subject(subject, next).await {
            Ok(message) => {
                next = Some(message.sequence + 1);
                events.push(RecordedEvent {
                    sequence: message.sequence,
                    subject: message.subject.to_string(),
                    payload: message.payload,
                    pending: 0,
                });
            }
            Err(err) if err.kind() == DirectGetErrorKind::NotFound => return Ok(events),
            Err(err) => return Err(StoreError::nats("load aggregate")(err)),
        }
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
}

impl LogReader {
    pub(crate) async fn start(
        js: jetstream::Context,
        stream: String,
        filter: String,
        from_sequence: u64,
    ) -> Result<LogReader, StoreError> {
        let mut reader = LogReader {
            js,
            stream,
            filter,
            next_sequence: from_sequence,
            messages: None,
        };
        reader.open().await?;
        Ok(reader)
    }

    async fn open(&mut self) -> Result<(), StoreError> {
        let stream = self
            .js
            .get_stream_no_info(&self.stream)
            .await
            .map_err(StoreError::nats("get stream"))?;
        let consumer = stream
            .create_consumer(consumer::pull::OrderedConfig {
                filter_subject: self.filter.clone(),
                deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: self.next_sequence,
                },
                ..Default::default()
            })
            .await
            .map_err(StoreError::nats("create ordered consumer"))?;
        let messages = consumer
            .messages()
            .await
            .map_err(StoreError::nats("consume"))?;
        self.messages = Some(messages);
        Ok(())
    }

    /// The next event, waiting for one if the reader is caught up. Failures of the server
    /// or connection are retried here with backoff; the caller only ever sees events, in
    /// order, each once.
    pub async fn next(&mut self) -> RecordedEvent {
        let mut backoff = Duration::from_millis(50);
        loop {
            if self.messages.is_none()
                && let Err(err) = self.open().await
            {
                tracing::warn!(error = %err, "event log reader cannot resume yet");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
                continue;
            }
            let messages = self.messages.as_mut().expect("opened above");
            match messages.next().await {
                Some(Ok(message)) => {
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
