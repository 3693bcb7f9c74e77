//! Loading an aggregate by batched direct gets: one subject, or every subject of one id (a
//! subject filter), for a decision; or every aggregate of one kind (the registry's
//! organisations, rules or tokens, for an admin decision).

use std::time::Duration;

use async_nats::StatusCode;
use async_nats::jetstream;
use futures::StreamExt;

use crate::{EventStore, RecordedEvent, StoreError, TraceContext, check_subject_token};

/// An event of an aggregate as a command reads it: the event and the message id it was
/// appended under (`Nats-Msg-Id`), by which a retried command finds its own events.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub event: RecordedEvent,
    pub message_id: Option<String>,
}

/// Messages one batched direct get asks for.
const BATCH: usize = 256;
/// The status of the message that ends a batch (`204 EOB`).
const END_OF_BATCH: u16 = 204;
/// Longest wait for the next message of a batch before the log counts as out of reach.
const WAIT: Duration = Duration::from_secs(5);

/// Every message on `filter` (a subject, or one with a wildcard kind token), in log order.
///
/// Batched direct gets (nats-server 2.11+): one request asks for up to [`BATCH`] messages
/// from a sequence on; the server sends them to an inbox and ends with an end-of-batch
/// status saying how many more match. An aggregate of a journey's 30 events is one round
/// trip, not 31. Any replica of the stream may answer.
pub(crate) async fn load_with_ids(
    js: &jetstream::Context,
    stream: &str,
    filter: &str,
) -> Result<Vec<StoredEvent>, StoreError> {
    let client = js.client();
    let mut events = Vec::new();
    let mut from = 1u64;
    loop {
        let asked_from = from;
        let inbox = client.new_inbox();
        let mut replies = client
            .subscribe(inbox.clone())
            .await
            .map_err(StoreError::nats("subscribe for a direct get"))?;
        let request = serde_json::json!({"seq": from, "next_by_subj": filter, "batch": BATCH});
        client
            .publish_with_reply(
                format!("$JS.API.DIRECT.GET.{stream}"),
                inbox,
                request.to_string().into(),
            )
            .await
            .map_err(StoreError::nats("direct get"))?;
        loop {
            let message = tokio::time::timeout(WAIT, replies.next())
                .await
                .map_err(|_| StoreError::nats("direct get")("no answer in time"))?
                .ok_or_else(|| StoreError::nats("direct get")("the connection closed"))?;
            match message.status {
                None => {
                    let event = stored(message)?;
                    from = event.event.sequence + 1;
                    events.push(event);
                }
                Some(StatusCode::NOT_FOUND) => return Ok(events),
                // End of batch: more to come only if the server says so.
                Some(status) if status.as_u16() == END_OF_BATCH => {
                    if pending(&message) == 0 || from == asked_from {
                        return Ok(events);
                    }
                    break;
                }
                Some(status) => {
                    return Err(StoreError::nats("direct get")(format!(
                        "status {status}: {}",
                        message.description.unwrap_or_default()
                    )));
                }
            }
        }
    }
}

/// One message of a direct get as a stored event.
fn stored(message: async_nats::Message) -> Result<StoredEvent, StoreError> {
    let header = |name: &str| {
        message
            .headers
            .as_ref()
            .and_then(|h| h.get(name))
            .map(|v| v.as_str().to_owned())
    };
    let sequence = header("Nats-Sequence")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| StoreError::nats("direct get")("a message without its sequence"))?;
    let subject = header("Nats-Subject")
        .ok_or_else(|| StoreError::nats("direct get")("a message without its subject"))?;
    Ok(StoredEvent {
        message_id: header("Nats-Msg-Id"),
        event: RecordedEvent {
            sequence,
            subject,
            trace: TraceContext::read(message.headers.as_ref()),
            payload: message.payload,
            pending: 0,
        },
    })
}

/// How many more messages match after an end-of-batch status (unknown: ask again; a
/// batch that brought nothing ends the load).
fn pending(message: &async_nats::Message) -> u64 {
    message
        .headers
        .as_ref()
        .and_then(|h| h.get("Nats-Num-Pending"))
        .and_then(|v| v.as_str().parse().ok())
        .unwrap_or(u64::MAX)
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
