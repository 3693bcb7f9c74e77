//! Backup and restore of the event log: a streamed export of the stream to a file, and an
//! import that puts every message back at its original sequence.
//!
//! # The file (JSON Lines, version 1)
//!
//! One JSON object a line, each line ending in `\n`:
//!
//! 1. the header: `{"format":"linkway-backup","version":1,"stream":"LINKWAY",
//!    "subject_prefix":"linkway","first_sequence":1,"last_sequence":1234,
//!    "created_at":"2026-01-01T12:00:00Z"}`. `last_sequence` is the log's last sequence
//!    when the export started: the backup is the log's prefix up to it, however many
//!    events are appended while it runs. An empty backup has `last_sequence` =
//!    `first_sequence - 1`.
//! 2. one line per message, in sequence order, with no gap:
//!    `{"seq":1,"subject":"linkway.referral.<id>","headers":[["Linkway-Type",
//!    "referral.received"],["Linkway-Version","2"],["Nats-Msg-Id","..."],["traceparent",
//!    "00-..."]],"payload":"{\"event_id\":...}"}`. `headers` holds every header the
//!    message was stored with except the `Nats-Expected-*` ones (checks of one publish,
//!    not data), sorted by name. `payload` is the payload's exact bytes as a JSON string
//!    when they are UTF-8 (every Linkway event); otherwise `payload_hex` holds them in
//!    lower-case hex.
//! 3. the trailer: `{"trailer":{"events":1234,"sha256":"<hex>"}}`: the number of message
//!    lines and the SHA-256 of every byte before the trailer line.
//!
//! # Guarantees
//!
//! - [`EventStore::export`] streams (memory does not grow with the log) and fails, rather
//!   than writing a backup with a hole, if the log has a gap in the range.
//! - [`EventStore::import`] reads the whole file first and checks it (header, contiguous
//!   sequences, subjects under the prefix, count, checksum) and the target (same stream
//!   name and subject prefix) before it publishes anything: a damaged file appends
//!   nothing. While publishing it reads the file again and publishes a run of lines only
//!   after checking its hash against the first reading's, so a file changed in between
//!   is refused too.
//! - Each message is published with `Nats-Expected-Last-Sequence` = its sequence - 1 and
//!   its original headers (its `Nats-Msg-Id` too), so restored sequences equal the
//!   original's; publishes are pipelined (a window of acknowledgements in flight).
//! - The target may be empty (for a backup from sequence 1), or end exactly where the
//!   backup begins (an incremental backup, `--from-sequence`), or end inside the backup
//!   (an interrupted restore run again: the messages already there are compared with the
//!   file's, then the rest appended). Anything else is a typed refusal naming both ends.

mod format;
mod restore;

use std::time::Duration;

use async_nats::jetstream::consumer;
use futures::StreamExt;
use time::format_description::well_known::Rfc3339;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tracing::instrument;

pub use format::{Damage, Header, Message, Trailer, Verified, Verifier, Writer};
pub use restore::Restored;

use crate::{EventStore, StoreError};

/// Longest wait for the next message of the range before the log counts as out of reach.
const WAIT: Duration = Duration::from_secs(30);
/// Progress is logged every this many messages.
const PROGRESS_EVERY: u64 = 100_000;

/// Why a backup or a restore did not happen (or stopped).
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("backup file: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the backup is damaged, nothing was restored: {0}")]
    Damaged(#[from] Damage),
    #[error("--from-sequence {from} is beyond the log's end (last sequence {last})")]
    FromBeyondEnd { from: u64, last: u64 },
    #[error("the log has a gap: sequence {expected} is missing (next is {found})")]
    Gap { expected: u64, found: u64 },
    #[error("the backup is of stream {backup}, the target is stream {target}")]
    StreamMismatch { backup: String, target: String },
    #[error("the backup's subject prefix is {backup}, the target's is {target}")]
    PrefixMismatch { backup: String, target: String },
    #[error(
        "the target stream ends at sequence {stream_last}; the backup holds {first}..{last}, \
         so it can go only into a stream ending at {} (or, to resume, inside the backup)",
        first - 1
    )]
    SequenceMismatch {
        stream_last: u64,
        first: u64,
        last: u64,
    },
    #[error("sequence {sequence} in the target differs from the backup's ({what})")]
    Diverged { sequence: u64, what: &'static str },
    #[error(
        "the backup file changed while it was being restored (lines {from_line}..): \
         restore again from an unchanged copy"
    )]
    ChangedDuringRestore { from_line: u64 },
    #[error(
        "publishing sequence {sequence}: {message}; restore again to resume where the \
         stream ends"
    )]
    Publish { sequence: u64, message: String },
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    pub header: Header,
    pub trailer: Trailer,
}

impl EventStore {
    /// Writes the log from `from_sequence` (1 for all of it) to the last sequence at the
    /// start of the call into `out`, in the format of this module. Events appended
    /// meanwhile are not included: take the next backup from `last_sequence + 1`.
    #[instrument(skip_all, fields(stream = %self.config.stream, from_sequence = from_sequence))]
    pub async fn export<W: AsyncWrite + Unpin>(
        &self,
        from_sequence: u64,
        out: &mut W,
    ) -> Result<Exported, BackupError> {
        let from = from_sequence.max(1);
        let last = self.last_sequence().await?;
        if from > last + 1 {
            return Err(BackupError::FromBeyondEnd { from, last });
        }
        let header = Header {
            format: format::FORMAT.into(),
            version: format::VERSION,
            stream: self.config.stream.clone(),
            subject_prefix: self.config.subject_prefix.clone(),
            first_sequence: from,
            last_sequence: last,
            created_at: time::OffsetDateTime::now_utc()
                .format(&Rfc3339)
                .expect("the clock formats as RFC 3339"),
        };
        tracing::info!(last_sequence = last, "backup started");
        let mut writer = Writer::new();
        out.write_all(&writer.header(&header)).await?;
        if from <= last {
            let mut messages = self.messages_from(from).await?;
            for expected in from..=last {
                let message = messages.next().await?;
                if message.seq != expected {
                    return Err(BackupError::Gap {
                        expected,
                        found: message.seq,
                    });
                }
                out.write_all(&writer.message(&message)).await?;
                if (expected - from + 1).is_multiple_of(PROGRESS_EVERY) {
                    tracing::info!(sequence = expected, "backup in progress");
                }
            }
        }
        let (line, trailer) = writer.trailer();
        out.write_all(&line).await?;
        out.flush().await?;
        tracing::info!(events = trailer.events, "backup written");
        Ok(Exported { header, trailer })
    }

    /// The log's messages from `from` on, as backup lines.
    pub(crate) async fn messages_from(&self, from: u64) -> Result<Messages, BackupError> {
        let stream = self
            .js
            .get_stream_no_info(&self.config.stream)
            .await
            .map_err(StoreError::nats("get stream"))?;
        let consumer = stream
            .create_consumer(consumer::pull::OrderedConfig {
                deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: from,
                },
                ..Default::default()
            })
            .await
            .map_err(StoreError::nats("create a consumer for the backup"))?;
        let messages = consumer
            .messages()
            .await
            .map_err(StoreError::nats("consume for the backup"))?;
        Ok(Messages { messages })
    }
}

/// The log's messages in order (an ordered consumer, which recreates itself after a
/// lost connection at the sequence it stopped at).
pub(crate) struct Messages {
    messages: consumer::pull::Ordered,
}

impl Messages {
    pub(crate) async fn next(&mut self) -> Result<Message, BackupError> {
        let delivered = tokio::time::timeout(WAIT, self.messages.next())
            .await
            .map_err(|_| StoreError::nats("reading the log")("no message within 30 s"))?
            .ok_or_else(|| StoreError::nats("reading the log")("the consumer ended"))?
            .map_err(StoreError::nats("reading the log"))?;
        let sequence = delivered
            .info()
            .map_err(StoreError::nats("reading the log"))?
            .stream_sequence;
        let message = delivered.split().0;
        let headers = message
            .headers
            .iter()
            .flat_map(|h| h.iter())
            .flat_map(|(name, values)| {
                values
                    .iter()
                    .map(move |v| (name.to_string(), v.as_str().to_owned()))
            })
            .collect();
        Ok(Message::new(
            sequence,
            message.subject.to_string(),
            headers,
            &message.payload,
        ))
    }
}
