//! The vault: every event's `personal` part sealed for its person, in the log.
//!
//! Envelope encryption. Each referral's person has a data key (AES-256, random), used
//! with AES-256-GCM to seal the `personal` of every event of that referral, its case and
//! anything else on the aggregate id. The data key is wrapped (AES-256-GCM again) by a
//! key-encryption key (KEK) from configuration and kept outside the log, in the NATS KV
//! bucket `<stream>_KEYS`, under the aggregate id. Erasing the person overwrites and
//! purges that entry: every sealed part of theirs is then noise, while the log itself
//! never changes. Rotating the KEK re-wraps every data key ([`Vault::rotate`]).
//!
//! In the log, `personal` is replaced by `personal_sealed`: base64url (no padding) of a
//! 12-byte random nonce and the ciphertext and tag of `personal`'s JSON, with the
//! envelope's event id and type as associated data, so a sealed part cannot be moved to
//! another event. Only processes given the KEKs (intake, link-worker) hold a vault;
//! reporting never does, and its decoder ignores `personal_sealed`, so it sees `None`.
//!
//! Sealing happens in [`crate::EventStore::publish`], opening wherever the store hands
//! out events ([`crate::EventStore::load`], `load_aggregate`, the [`crate::LogReader`]):
//! no caller sees the sealed form or a key.

mod copy;
mod keys;

use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use linkway_events::Envelope;
use serde_json::{Map, Value};

pub use copy::{KeysRestored, WrappedKey, backup_keys, restore_keys};
pub use keys::{BUCKET_SUFFIX, Kek, KekError, Keks, KeyStore, Rotated, create_bucket};

use crate::{RecordedEvent, StoreError};

/// The field a sealed `personal` is stored under.
pub const SEALED_FIELD: &str = "personal_sealed";
const PERSONAL_FIELD: &str = "personal";

/// Seals and opens `personal` parts. Cheap to clone.
#[derive(Clone)]
pub struct Vault {
    keys: Arc<KeyStore>,
}

/// Why a `personal` part could not be sealed.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the person of {0} was erased: nothing personal may be written for them")]
    Erased(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Vault {
    pub fn new(keys: KeyStore) -> Vault {
        Vault {
            keys: Arc::new(keys),
        }
    }

    pub fn keys(&self) -> &KeyStore {
        &self.keys
    }

    /// Replaces the envelope's `personal` by `personal_sealed`, under its person's data key
    /// (made on first use). An envelope with no `personal` is left as it is.
    pub async fn seal(&self, envelope: &mut Envelope) -> Result<(), SealError> {
        if !envelope.data.get().contains("\"personal\"") || !has_personal(envelope) {
            return Ok(());
        }
        let key = self.keys.key_for_writing(&envelope.aggregate_id).await?;
        seal_with(&key, envelope);
        Ok(())
    }

    /// Opens an event read from the log in place: its `personal_sealed` becomes `personal`
    /// again when the person's key is there. When it is not (the person was erased), the
    /// sealed part stays, and the decoder reads the event with `personal` `None`.
    pub async fn open(&self, event: &mut RecordedEvent) -> Result<(), StoreError> {
        if !contains(&event.payload, b"\"personal_sealed\"") {
            return Ok(());
        }
        let Ok(mut envelope) = Envelope::from_slice(&event.payload) else {
            return Ok(()); // the decoder says what is wrong with it
        };
        let Some(key) = self.keys.key_for_reading(&envelope.aggregate_id).await? else {
            return Ok(());
        };
        if let Some(data) = open_data(&envelope, &key) {
            envelope.set_data(&data);
            event.payload = Bytes::from(envelope.to_vec());
        }
        Ok(())
    }

    /// Opens every event of a batch (see [`Vault::open`]).
    pub async fn open_all(&self, events: &mut [RecordedEvent]) -> Result<(), StoreError> {
        for event in events {
            self.open(event).await?;
        }
        Ok(())
    }
}

/// Seals the envelope's `personal` under `key` (pure, but for the random nonce).
fn seal_with(key: &[u8; 32], envelope: &mut Envelope) {
    let Ok(mut data) = serde_json::from_str::<Map<String, Value>>(envelope.data.get()) else {
        return;
    };
    let Some(personal) = data.remove(PERSONAL_FIELD) else {
        return;
    };
    let clear = serde_json::to_vec(&personal).expect("JSON always serialises");
    let nonce_bytes: [u8; 12] = random();
    let sealed = cipher(key)
        .encrypt(
            Nonce::from_slice(&nonce_bytes),
            Payload {
                msg: &clear,
                aad: &aad(envelope),
            },
        )
        .expect("AES-GCM seals any message");
    let mut out = nonce_bytes.to_vec();
    out.extend_from_slice(&sealed);
    data.insert(
        SEALED_FIELD.into(),
        Value::String(URL_SAFE_NO_PAD.encode(out)),
    );
    envelope.set_data(&Value::Object(data));
}

/// The envelope's data with `personal` opened, or `None` when it does not open (a part
/// sealed under another key, or damaged: left sealed, so read as withheld).
fn open_data(envelope: &Envelope, key: &[u8; 32]) -> Option<Value> {
    let mut data: Map<String, Value> = serde_json::from_str(envelope.data.get()).ok()?;
    let sealed = URL_SAFE_NO_PAD
        .decode(data.get(SEALED_FIELD)?.as_str()?)
        .ok()?;
    if sealed.len() < 12 {
        return None;
    }
    let (nonce, ciphertext) = sealed.split_at(12);
    let clear = cipher(key)
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: &aad(envelope),
            },
        )
        .ok()?;
    let personal: Value = serde_json::from_slice(&clear).ok()?;
    data.remove(SEALED_FIELD);
    data.insert(PERSONAL_FIELD.into(), personal);
    Some(Value::Object(data))
}

fn has_personal(envelope: &Envelope) -> bool {
    serde_json::from_str::<Map<String, Value>>(envelope.data.get())
        .is_ok_and(|data| data.contains_key(PERSONAL_FIELD))
}

fn aad(envelope: &Envelope) -> Vec<u8> {
    let mut aad = envelope.event_id.as_bytes().to_vec();
    aad.extend_from_slice(envelope.event_type.as_bytes());
    aad
}

fn cipher(key: &[u8; 32]) -> Aes256Gcm {
    Aes256Gcm::new_from_slice(key).expect("a 32-byte key")
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    bytes
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests;
