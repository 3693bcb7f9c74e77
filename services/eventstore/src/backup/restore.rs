//! Restoring a backup: read the whole file and verify it, check the target stream, then
//! read it again and publish, each run of lines only once its hash matches the first
//! reading's.

use std::collections::VecDeque;
use std::path::Path;

use async_nats::HeaderMap;
use async_nats::header::{HeaderName, HeaderValue, NATS_EXPECTED_LAST_SEQUENCE};
use async_nats::jetstream::context::{PublishAckFuture, PublishError, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage;
use bytes::Bytes;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, BufReader};
use tracing::instrument;

use super::format::{self, Damage, Header, Message, Verified, Verifier};
use super::{BackupError, Messages, PROGRESS_EVERY};
use crate::EventStore;

/// Lines per run: the second reading holds one run in memory, checks its hash, then
/// publishes it.
const RUN: usize = 4096;
/// Publishes awaiting their acknowledgement at once.
const WINDOW: usize = 1024;

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    pub header: Header,
    /// The backup's checksum (its trailer's).
    pub sha256: String,
    /// Messages in the backup.
    pub events: u64,
    /// Messages the target already held (a resumed restore), compared and skipped.
    pub already_there: u64,
    /// Messages published.
    pub appended: u64,
}

impl EventStore {
    /// Restores the backup at `path` into this store's stream (see the module doc of
    /// [`crate::backup`] for what is checked and when).
    #[instrument(skip_all, fields(stream = %self.config.stream, file = %path.display()))]
    pub async fn import(&self, path: &Path) -> Result<Restored, BackupError> {
        let first = read_through(path).await?;
        let header = first.verified.header.clone();
        if header.stream != self.config.stream {
            return Err(BackupError::StreamMismatch {
                backup: header.stream,
                target: self.config.stream.clone(),
            });
        }
        if header.subject_prefix != self.config.subject_prefix {
            return Err(BackupError::PrefixMismatch {
                backup: header.subject_prefix,
                target: self.config.subject_prefix.clone(),
            });
        }
        let stream_last = self.last_sequence().await?;
        if stream_last + 1 < header.first_sequence || stream_last > header.last_sequence {
            return Err(BackupError::SequenceMismatch {
                stream_last,
                first: header.first_sequence,
                last: header.last_sequence,
            });
        }
        tracing::info!(
            first_sequence = header.first_sequence,
            last_sequence = header.last_sequence,
            stream_last,
            "backup verified; restoring"
        );
        let mut restore = Restore {
            store: self,
            stream_last,
            existing: None,
            pending: VecDeque::with_capacity(WINDOW),
            already_there: 0,
            appended: 0,
        };
        if stream_last >= header.first_sequence {
            restore.existing = Some(self.messages_from(header.first_sequence).await?);
        }
        let mut lines = Lines::open(path).await?;
        let mut line_number = 0u64;
        for expected in &first.runs {
            let run = lines.run().await?;
            if digest(&run) != *expected {
                return Err(BackupError::ChangedDuringRestore {
                    from_line: line_number + 1,
                });
            }
            for line in &run {
                line_number += 1;
                if line_number == 1 || format::is_trailer(line) {
                    continue;
                }
                let message: Message =
                    serde_json::from_slice(line).map_err(|e| Damage::BadLine {
                        line: line_number,
                        reason: e.to_string(),
                    })?;
                restore.message(&message).await?;
            }
        }
        if !lines.run().await?.is_empty() {
            return Err(BackupError::ChangedDuringRestore {
                from_line: line_number + 1,
            });
        }
        restore.settle_all().await?;
        tracing::info!(
            already_there = restore.already_there,
            appended = restore.appended,
            "backup restored"
        );
        Ok(Restored {
            sha256: first.verified.sha256,
            events: first.verified.events,
            already_there: restore.already_there,
            appended: restore.appended,
            header,
        })
    }
}

/// The first reading: the backup verified, and the hash of each run of [`RUN`] lines.
struct FirstReading {
    verified: Verified,
    runs: Vec<Vec<u8>>,
}

async fn read_through(path: &Path) -> Result<FirstReading, BackupError> {
    let mut lines = Lines::open(path).await?;
    let mut verifier = Verifier::new();
    let mut runs = Vec::new();
    loop {
        let run = lines.run().await?;
        if run.is_empty() {
            break;
        }
        for line in &run {
            verifier.line(line)?;
        }
        runs.push(digest(&run));
    }
    Ok(FirstReading {
        verified: verifier.finish()?,
        runs,
    })
}

fn digest(run: &[Vec<u8>]) -> Vec<u8> {
    let mut hasher = Sha256::new();
    for line in run {
        hasher.update(line);
    }
    hasher.finalize().to_vec()
}

/// The file's lines (each with its `\n`), a run at a time.
struct Lines {
    reader: BufReader<tokio::fs::File>,
}

impl Lines {
    async fn open(path: &Path) -> Result<Lines, BackupError> {
        let file = tokio::fs::File::open(path).await?;
        Ok(Lines {
            reader: BufReader::with_capacity(1 << 20, file),
        })
    }

    /// The next [`RUN`] lines (fewer at the end; none after it).
    async fn run(&mut self) -> Result<Vec<Vec<u8>>, BackupError> {
        let mut run = Vec::with_capacity(RUN);
        while run.len() < RUN {
            let mut line = Vec::new();
            if self.reader.read_until(b'\n', &mut line).await? == 0 {
                break;
            }
            run.push(line);
        }
        Ok(run)
    }
}

/// One restore's progress through the file.
struct Restore<'a> {
    store: &'a EventStore,
    /// The target's last sequence before the restore: messages up to it are compared.
    stream_last: u64,
    /// The target's own messages from the backup's first on, while some are compared.
    existing: Option<Messages>,
    pending: VecDeque<(u64, PublishAckFuture)>,
    already_there: u64,
    appended: u64,
}

impl Restore<'_> {
    async fn message(&mut self, message: &Message) -> Result<(), BackupError> {
        if message.seq <= self.stream_last {
            let existing = self
                .existing
                .as_mut()
                .expect("opened when the target overlaps");
            let there = existing.next().await?;
            compare(&there, message)?;
            self.already_there += 1;
            if message.seq == self.stream_last {
                self.existing = None;
            }
            return Ok(());
        }
        if self.pending.len() >= WINDOW {
            let (sequence, ack) = self.pending.pop_front().expect("a full window");
            settle(sequence, ack).await?;
        }
        let ack = self.publish(message).await?;
        self.pending.push_back((message.seq, ack));
        self.appended += 1;
        if self.appended.is_multiple_of(PROGRESS_EVERY) {
            tracing::info!(sequence = message.seq, "restore in progress");
        }
        Ok(())
    }

    /// Sends one message expecting the stream to end just before it.
    async fn publish(&self, message: &Message) -> Result<PublishAckFuture, BackupError> {
        let sequence = message.seq;
        let unreadable = |reason: &str| Damage::BadLine {
            line: 0,
            reason: format!("sequence {sequence}: {reason}"),
        };
        let mut headers = HeaderMap::new();
        for (name, value) in &message.headers {
            let name: HeaderName = name.parse().map_err(|_| unreadable("a header name"))?;
            let value: HeaderValue = value.parse().map_err(|_| unreadable("a header value"))?;
            headers.append(name, value);
        }
        headers.insert(
            NATS_EXPECTED_LAST_SEQUENCE,
            (sequence - 1).to_string().as_str(),
        );
        let payload = Bytes::from(message.payload_bytes().map_err(unreadable)?);
        let publish = PublishMessage::build().payload(payload).headers(headers);
        self.store
            .js
            .send_publish(message.subject.clone(), publish)
            .await
            .map_err(|e| publish_error(sequence, e))
    }

    async fn settle_all(&mut self) -> Result<(), BackupError> {
        while let Some((sequence, ack)) = self.pending.pop_front() {
            settle(sequence, ack).await?;
        }
        Ok(())
    }
}

/// Waits for one acknowledgement: the message must have landed at its own sequence.
async fn settle(sequence: u64, ack: PublishAckFuture) -> Result<(), BackupError> {
    let ack = ack.await.map_err(|e| publish_error(sequence, e))?;
    if ack.duplicate {
        return Err(BackupError::Diverged {
            sequence,
            what: "the target already holds its message id",
        });
    }
    if ack.sequence != sequence {
        return Err(BackupError::Diverged {
            sequence,
            what: "it landed at another sequence",
        });
    }
    Ok(())
}

fn publish_error(sequence: u64, err: PublishError) -> BackupError {
    let message = match err.kind() {
        PublishErrorKind::WrongLastSequence => format!(
            "the target no longer ends at {}: something else appended to it",
            sequence - 1
        ),
        _ => err.to_string(),
    };
    BackupError::Publish { sequence, message }
}

/// A message the target holds against the backup's line for the same position.
fn compare(there: &Message, backup: &Message) -> Result<(), BackupError> {
    let what = if there.seq != backup.seq {
        "sequence"
    } else if there.subject != backup.subject {
        "subject"
    } else if there.headers != backup.headers {
        "headers"
    } else if there.payload_bytes().ok() != backup.payload_bytes().ok() {
        "payload"
    } else {
        return Ok(());
    };
    Err(BackupError::Diverged {
        sequence: backup.seq,
        what,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(seq: u64, subject: &str, id: &str, payload: &[u8]) -> Message {
        let headers = vec![("Nats-Msg-Id".to_owned(), id.to_owned())];
        Message::new(seq, subject.into(), headers, payload)
    }

    #[test]
    fn a_resumed_restore_names_what_differs() {
        let ours = message(3, "p.case.a", "m3", b"{}");
        assert!(compare(&ours, &ours).is_ok());
        for (there, what) in [
            (message(4, "p.case.a", "m3", b"{}"), "sequence"),
            (message(3, "p.case.b", "m3", b"{}"), "subject"),
            (message(3, "p.case.a", "other", b"{}"), "headers"),
            (message(3, "p.case.a", "m3", b"[]"), "payload"),
        ] {
            match compare(&there, &ours) {
                Err(BackupError::Diverged {
                    sequence: 3,
                    what: w,
                }) => assert_eq!(w, what),
                other => panic!("{what}: {other:?}"),
            }
        }
        // What the target stored beside (its expected-sequence header) is not a difference.
        let mut stored = ours.clone();
        stored.headers = vec![
            ("Nats-Expected-Last-Sequence".into(), "2".into()),
            ("Nats-Msg-Id".into(), "m3".into()),
        ];
        let stored = Message::new(3, stored.subject, stored.headers, b"{}");
        assert!(compare(&stored, &ours).is_ok());
    }
}
