//! Several events of one command as one atomic batch (ADR-50, nats-server 2.12 and later,
//! a stream with `allow_atomic`): every event is stored or none is, in one round trip.
//!
//! The first message carries the command's expectation (the guard applies to the state
//! before the whole batch); every message keeps its own `Nats-Msg-Id`. The server refuses
//! a batch holding a message id it has already stored (`10201`): that is a retry of a
//! command that happened, so it is a [`AppendError::Conflict`], on which the command path
//! reloads and finds its events.

use async_nats::HeaderMap;
use async_nats::header::{NATS_BATCH_COMMIT, NATS_BATCH_ID, NATS_BATCH_SEQUENCE};
use async_nats::jetstream::{self, context::PublishErrorKind};
use uuid::Uuid;

use crate::{AppendError, Appended, Expected, PendingEvent, classify_publish_error, message};

/// The server's code for "atomic publish batch contains duplicate message id".
const DUPLICATE_MESSAGE_ID: u64 = 10201;
/// The most messages nats-server takes in one atomic batch.
pub(crate) const MAX_EVENTS: usize = 1000;

pub(crate) async fn append(
    js: &jetstream::Context,
    subject: &str,
    events: &[PendingEvent],
    expected: Expected,
) -> Result<Appended, AppendError> {
    let count = events.len();
    if count > MAX_EVENTS {
        return Err(AppendError::TooManyEvents {
            count,
            max: MAX_EVENTS,
        });
    }
    let batch = Uuid::new_v4().simple().to_string();
    let client = js.client();
    for (i, event) in events[..count - 1].iter().enumerate() {
        let mut headers = crate::headers(event);
        batch_headers(&mut headers, &batch, i + 1);
        if i == 0 {
            crate::expect(&mut headers, subject, expected);
        }
        headers.insert(
            async_nats::header::NATS_MESSAGE_ID,
            event.message_id.as_str(),
        );
        client
            .publish_with_headers(subject.to_owned(), headers, event.envelope.to_vec().into())
            .await
            .map_err(|e| AppendError::Unavailable(e.to_string()))?;
    }
    let commit = message(&events[count - 1])
        .header(NATS_BATCH_ID, batch.as_str())
        .header(NATS_BATCH_SEQUENCE, count.to_string().as_str())
        .header(NATS_BATCH_COMMIT, "1");
    let ack = js
        .send_publish(subject.to_owned(), commit)
        .await
        .map_err(|e| classify_publish_error(e, expected))?
        .await
        .map_err(|e| {
            if e.kind() == PublishErrorKind::Other && is_duplicate_message_id(&e) {
                AppendError::Conflict { expected }
            } else {
                classify_publish_error(e, expected)
            }
        })?;
    // The commit's sequence is the batch's last; the batch is contiguous in the stream.
    let last = ack.sequence;
    let first = last + 1 - count as u64;
    Ok(Appended {
        sequences: (first..=last).collect(),
        duplicate: false,
    })
}

fn batch_headers(headers: &mut HeaderMap, batch: &str, position: usize) {
    headers.insert(NATS_BATCH_ID, batch);
    headers.insert(NATS_BATCH_SEQUENCE, position.to_string().as_str());
}

fn is_duplicate_message_id(e: &jetstream::context::PublishError) -> bool {
    std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<jetstream::Error>())
        .is_some_and(|j| j.error_code().0 == DUPLICATE_MESSAGE_ID)
}
