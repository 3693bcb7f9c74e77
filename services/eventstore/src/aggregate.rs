//! Loading an aggregate by direct gets: one subject, or every subject of one id (a
//! subject filter), for a decision; or every aggregate of one kind (the registry's
//! organisations, rules or tokens, for an admin decision).

use async_nats::jetstream::{self, stream::DirectGetErrorKind};

use crate::{EventStore, RecordedEvent, StoreError, check_subject_token};

/// An event of an aggregate as a command reads it: the event and the message id it was
/// appended under (`Nats-Msg-Id`), by which a retried command finds its own events.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub event: RecordedEvent,
    pub message_id: Option<String>,
}

/// Every message on `filter` (a subject, or one with a wildcard kind token), in log order.
pub(crate) async fn load_with_ids(
    js: &jetstream::Context,
    stream: &str,
    filter: &str,
) -> Result<Vec<StoredEvent>, StoreError> {
    let stream = js
        .get_stream_no_info(stream)
        .await
        .map_err(StoreError::nats("get stream"))?;
    let mut events = Vec::new();
    let mut next: Option<u64> = None;
    loop {
        match stream.direct_get_next_for_subject(filter, next).await {
            Ok(message) => {
                next = Some(message.sequence + 1);
                let message_id = message
                    .headers
                    .get(async_nats::header::NATS_MESSAGE_ID)
                    .map(|v| v.as_str().to_owned());
                events.push(StoredEvent {
                    event: RecordedEvent {
                        sequence: message.sequence,
                        subject: message.subject.to_string(),
                        payload: message.payload,
                        pending: 0,
                    },
                    message_id,
                });
            }
            Err(err) if err.kind() == DirectGetErrorKind::NotFound => return Ok(events),
            Err(err) => return Err(StoreError::nats("load aggregate")(err)),
        }
    }
}

impl EventStore {
    /// Every event of every aggregate of one kind (`<prefix>.<kind>.*`), in log order.
    pub async fn load_kind(&self, aggregate_kind: &str) -> Result<Vec<RecordedEvent>, StoreError> {
        check_subject_token(aggregate_kind)
            .map_err(|e| StoreError::Misconfigured(e.to_string()))?;
        let filter = format!("{}.{aggregate_kind}.*", self.config.subject_prefix);
        let stored = load_with_ids(&self.js, &self.config.stream, &filter).await?;
        Ok(stored.into_iter().map(|s| s.event).collect())
    }
}
