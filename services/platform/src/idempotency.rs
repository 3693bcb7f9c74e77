//! `Idempotency-Key` for commands: a retry with the same key and body gets the original
//! answer; the same key with another body is refused (422). Both are answered from the
//! log: a command's message ids derive from the key (and carry a hash of the request),
//! so the command path finds a retried command's events, however late the retry comes
//! (see [`crate::command`]).

use axum::http::HeaderMap;
use uuid::Uuid;

use crate::problem::ApiError;
use crate::secret::sha256_hex;

/// A validated idempotency key, scoped to the calling organisation.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub organisation_id: String,
    pub key: String,
}

impl IdempotencyKey {
    /// Reads the `Idempotency-Key` header (1-255 visible ASCII characters), if present.
    pub fn from_headers(
        headers: &HeaderMap,
        organisation_id: &str,
    ) -> Result<Option<IdempotencyKey>, ApiError> {
        let Some(value) = headers.get("idempotency-key") else {
            return Ok(None);
        };
        let key = value
            .to_str()
            .ok()
            .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| {
                ApiError::field(
                    "Idempotency-Key",
                    "idempotency_key_format",
                    "must be 1-255 visible ASCII characters",
                )
            })?;
        Ok(Some(IdempotencyKey {
            organisation_id: organisation_id.to_owned(),
            key: key.to_owned(),
        }))
    }

    /// A UUID derived from the key: the same key always names the same new aggregate, so a
    /// retried create lands on the same id (and the log recognises the duplicate).
    pub fn derived_id(&self, operation: &str) -> Uuid {
        let digest =
            sha256_hex(format!("{}\n{}\n{}", self.organisation_id, operation, self.key).as_bytes());
        let mut bytes = [0u8; 16];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::from_str_radix(&digest[i * 2..i * 2 + 2], 16).expect("hex");
        }
        uuid::Builder::from_custom_bytes(bytes).into_uuid()
    }

    /// What every message id of the command with this key on this aggregate starts
    /// with; the `n`th event it appends is `<prefix><n>`. One formula for every command
    /// of every service: organisation, operation, aggregate and key.
    pub fn message_id_prefix(&self, operation: &str, aggregate_id: &str) -> String {
        let digest = sha256_hex(
            format!(
                "{}\n{operation}\n{aggregate_id}\n{}",
                self.organisation_id, self.key
            )
            .as_bytes(),
        );
        format!("{}:", &digest[..32])
    }
}
