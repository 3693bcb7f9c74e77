//! The backup file's lines and their verification: pure, no I/O (the module doc of
//! [`crate::backup`] describes the format).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What the first line says the file is.
pub const FORMAT: &str = "linkway-backup";
/// The one version this code writes and reads.
pub const VERSION: u32 = 1;
/// Headers the server checks on a publish and that mean nothing once stored: not kept.
const EXPECTED_PREFIX: &str = "Nats-Expected-";
/// How a trailer line begins (a message line begins with `{"seq":`).
const TRAILER_START: &[u8] = b"{\"trailer\":";

/// The first line: what the backup holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub format: String,
    pub version: u32,
    pub stream: String,
    pub subject_prefix: String,
    /// The first sequence asked for (the first message's, unless the backup is empty).
    pub first_sequence: u64,
    /// The log's last sequence when the backup started; `first_sequence - 1` when empty.
    pub last_sequence: u64,
    /// When the backup started (RFC 3339, UTC).
    pub created_at: String,
}

impl Header {
    /// How many messages the header promises.
    pub fn events(&self) -> u64 {
        (self.last_sequence + 1).saturating_sub(self.first_sequence)
    }
}

/// One message of the log, as the file keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    pub seq: u64,
    pub subject: String,
    /// Every header but `Nats-Expected-*`, sorted by name (a name's values in their order).
    pub headers: Vec<(String, String)>,
    /// The payload when it is UTF-8 (every Linkway event: its JSON text, as a string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// The payload in lower-case hex when it is not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_hex: Option<String>,
}

impl Message {
    /// A message from what the log holds; `headers` in any order, `Nats-Expected-*` dropped.
    pub fn new(seq: u64, subject: String, headers: Vec<(String, String)>, payload: &[u8]) -> Self {
        let mut headers: Vec<(String, String)> = headers
            .into_iter()
            .filter(|(name, _)| !is_expected_header(name))
            .collect();
        // Stable: a name's values keep their order.
        headers.sort_by(|a, b| a.0.cmp(&b.0));
        let (payload, payload_hex) = match std::str::from_utf8(payload) {
            Ok(text) => (Some(text.to_owned()), None),
            Err(_) => (None, Some(to_hex(payload))),
        };
        Message {
            seq,
            subject,
            headers,
            payload,
            payload_hex,
        }
    }

    /// The payload's exact bytes.
    pub fn payload_bytes(&self) -> Result<Vec<u8>, &'static str> {
        match (&self.payload, &self.payload_hex) {
            (Some(text), None) => Ok(text.as_bytes().to_vec()),
            (None, Some(hex)) => from_hex(hex).ok_or("payload_hex is not hex"),
            _ => Err("a message has exactly one of payload and payload_hex"),
        }
    }
}

/// The last line: how many messages, and the SHA-256 of every byte before this line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trailer {
    pub events: u64,
    pub sha256: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrailerLine {
    trailer: Trailer,
}

/// Why a file is not a whole, undamaged backup.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Damage {
    #[error("line 1 is not a Linkway backup header: {0}")]
    NotABackup(String),
    #[error("backup format version {0} is not known (this Linkway reads version {VERSION})")]
    UnknownVersion(u32),
    #[error("line {line}: {reason}")]
    BadLine { line: u64, reason: String },
    #[error("line {line}: sequence {found} where {expected} was due (sequences are contiguous)")]
    OutOfOrder {
        line: u64,
        expected: u64,
        found: u64,
    },
    #[error("line {line}: subject outside the backup's prefix {prefix}.>")]
    ForeignSubject { line: u64, prefix: String },
    #[error("line {line}: a message beyond the header's last sequence {last}")]
    BeyondLast { line: u64, last: u64 },
    #[error("the file ends without its trailer (cut short?)")]
    NoTrailer,
    #[error(
        "the trailer counts {trailer} events; the file holds {counted}, the header promises {promised}"
    )]
    CountMismatch {
        trailer: u64,
        counted: u64,
        promised: u64,
    },
    #[error("checksum mismatch: the trailer says sha256 {expected}, the bytes give {actual}")]
    Checksum { expected: String, actual: String },
    #[error("bytes after the trailer")]
    AfterTrailer,
}

/// A whole backup, verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub header: Header,
    pub events: u64,
    /// Hex SHA-256 over every byte before the trailer (the trailer's own).
    pub sha256: String,
}

/// Reads a backup line by line (each with its `\n`, the last one perhaps without),
/// checking everything that can be checked without the log. Feed it every line, then
/// [`Verifier::finish`].
#[derive(Default)]
pub struct Verifier {
    hasher: Sha256,
    header: Option<Header>,
    line: u64,
    counted: u64,
    trailer: Option<Trailer>,
    /// The hash of the bytes before the trailer, taken when the trailer arrives.
    digest: Option<String>,
}

impl Verifier {
    pub fn new() -> Verifier {
        Verifier::default()
    }

    /// The header, once the first line has been read.
    pub fn header(&self) -> Option<&Header> {
        self.header.as_ref()
    }

    /// Takes the next line; returns the message it holds, if it is a message line.
    pub fn line(&mut self, bytes: &[u8]) -> Result<Option<Message>, Damage> {
        self.line += 1;
        let line = self.line;
        if self.trailer.is_some() {
            return Err(Damage::AfterTrailer);
        }
        let Some(header) = &self.header else {
            let header: Header =
                serde_json::from_slice(bytes).map_err(|e| Damage::NotABackup(e.to_string()))?;
            if header.format != FORMAT {
                return Err(Damage::NotABackup(format!("format {:?}", header.format)));
            }
            if header.version != VERSION {
                return Err(Damage::UnknownVersion(header.version));
            }
            if header.last_sequence + 1 < header.first_sequence || header.first_sequence == 0 {
                return Err(Damage::NotABackup("an impossible sequence range".into()));
            }
            self.hasher.update(bytes);
            self.header = Some(header);
            return Ok(None);
        };
        if bytes.starts_with(TRAILER_START) {
            let parsed: TrailerLine = serde_json::from_slice(bytes).map_err(|e| bad(line, e))?;
            self.digest = Some(to_hex(&self.hasher.clone().finalize()));
            self.trailer = Some(parsed.trailer);
            return Ok(None);
        }
        let message: Message = serde_json::from_slice(bytes).map_err(|e| bad(line, e))?;
        let expected = header.first_sequence + self.counted;
        if message.seq != expected {
            return Err(Damage::OutOfOrder {
                line,
                expected,
                found: message.seq,
            });
        }
        if message.seq > header.last_sequence {
            return Err(Damage::BeyondLast {
                line,
                last: header.last_sequence,
            });
        }
        let prefix = &header.subject_prefix;
        let ours = message
            .subject
            .strip_prefix(prefix.as_str())
            .is_some_and(|rest| rest.len() > 1 && rest.starts_with('.'));
        if !ours {
            return Err(Damage::ForeignSubject {
                line,
                prefix: prefix.clone(),
            });
        }
        if message.headers.iter().any(|(n, _)| is_expected_header(n)) {
            return Err(bad(line, "a Nats-Expected-* header is never kept"));
        }
        let publishable = message.headers.iter().all(|(n, v)| {
            n.parse::<async_nats::HeaderName>().is_ok()
                && v.parse::<async_nats::HeaderValue>().is_ok()
        });
        if !publishable {
            return Err(bad(line, "a header NATS cannot carry"));
        }
        message.payload_bytes().map_err(|e| bad(line, e))?;
        self.hasher.update(bytes);
        self.counted += 1;
        Ok(Some(message))
    }

    /// Checks the end: a trailer whose count and checksum match what was read.
    pub fn finish(self) -> Result<Verified, Damage> {
        let header = self
            .header
            .ok_or_else(|| Damage::NotABackup("an empty file".into()))?;
        let (Some(trailer), Some(actual)) = (self.trailer, self.digest) else {
            return Err(Damage::NoTrailer);
        };
        if trailer.sha256 != actual {
            return Err(Damage::Checksum {
                expected: trailer.sha256,
                actual,
            });
        }
        if trailer.events != self.counted || self.counted != header.events() {
            return Err(Damage::CountMismatch {
                trailer: trailer.events,
                counted: self.counted,
                promised: header.events(),
            });
        }
        Ok(Verified {
            header,
            events: self.counted,
            sha256: actual,
        })
    }
}

fn bad(line: u64, reason: impl std::fmt::Display) -> Damage {
    Damage::BadLine {
        line,
        reason: reason.to_string(),
    }
}

/// Writes a backup's lines, hashing every byte: [`Writer::header`], then
/// [`Writer::message`] for each, then [`Writer::trailer`]. Each returns the line's bytes.
#[derive(Default)]
pub struct Writer {
    hasher: Sha256,
    events: u64,
}

impl Writer {
    pub fn new() -> Writer {
        Writer::default()
    }

    pub fn header(&mut self, header: &Header) -> Vec<u8> {
        self.hashed(header)
    }

    pub fn message(&mut self, message: &Message) -> Vec<u8> {
        self.events += 1;
        self.hashed(message)
    }

    /// The trailer line, and the checksum it carries.
    pub fn trailer(self) -> (Vec<u8>, Trailer) {
        let trailer = Trailer {
            events: self.events,
            sha256: to_hex(&self.hasher.finalize()),
        };
        let mut line = serde_json::to_vec(&TrailerLine {
            trailer: trailer.clone(),
        })
        .expect("a trailer serialises");
        line.push(b'\n');
        (line, trailer)
    }

    fn hashed(&mut self, value: &impl Serialize) -> Vec<u8> {
        let mut line = serde_json::to_vec(value).expect("backup lines serialise");
        line.push(b'\n');
        self.hasher.update(&line);
        line
    }
}

/// Whether a line is the trailer (in a file already verified).
pub(crate) fn is_trailer(line: &[u8]) -> bool {
    line.starts_with(TRAILER_START)
}

/// `Nats-Expected-Last-Sequence` and the like: checks of one publish, not data.
pub fn is_expected_header(name: &str) -> bool {
    name.len() >= EXPECTED_PREFIX.len()
        && name[..EXPECTED_PREFIX.len()].eq_ignore_ascii_case(EXPECTED_PREFIX)
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}

fn from_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
#[path = "format_tests.rs"]
mod tests;
