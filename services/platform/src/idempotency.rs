//! `Idempotency-Key` for commands: a retry with the same key and body gets the original
//! answer; the same key with another body is refused (422).
//!
//! The event log dedupes on its own (message ids derive from the key), so even a crash
//! between the append and the recording of the answer cannot append twice; this table
//! keeps answers beyond the log's duplicate window and catches reused keys.

use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use uuid::Uuid;

use crate::Database;
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

/// What a previous call with the same key answered.
pub enum Previous {
    None,
    Same { status: StatusCode, body: Value },
}

/// Looks the key up. Errors with 422 if it was used for a different request.
pub async fn previous(
    db: &Database,
    key: &IdempotencyKey,
    operation: &str,
    request: &[u8],
) -> Result<Previous, ApiError> {
    let client = db.client().await?;
    let row = client
        .query_opt(
            "SELECT operation, request_sha256, status, response FROM idempotency_keys
             WHERE organisation_id = $1 AND key = $2",
            &[&key.organisation_id, &key.key],
        )
        .await?;
    let Some(row) = row else {
        return Ok(Previous::None);
    };
    let same = row.get::<_, &str>(0) == operation && row.get::<_, &str>(1) == sha256_hex(request);
    if !same {
        return Err(ApiError::IdempotencyMismatch(
            "this Idempotency-Key was already used for a different request".into(),
        ));
    }
    Ok(Previous::Same {
        status: StatusCode::from_u16(row.get::<_, i16>(2) as u16).unwrap_or(StatusCode::OK),
        body: row.get(3),
    })
}

/// Records the answer given for a key (first writer wins).
pub async fn record(
    db: &Database,
    key: &IdempotencyKey,
    operation: &str,
    request: &[u8],
    status: StatusCode,
    body: &Value,
) -> Result<(), ApiError> {
    let client = db.client().await?;
    client
        .execute(
            "INSERT INTO idempotency_keys (organisation_id, key, operation, request_sha256, status, response)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            &[
                &key.organisation_id,
                &key.key,
                &operation,
                &sha256_hex(request),
                &(status.as_u16() as i16),
                body,
            ],
        )
        .await?;
    Ok(())
}
