//! Data keys: one per person (aggregate id), wrapped by a key-encryption key, kept in the
//! NATS KV bucket `<stream>_KEYS` ([`BUCKET_SUFFIX`]) (one revision per key, file storage, the stream's replicas).
//!
//! A wrapped key is JSON `{"kek": <KEK id>, "wrapped": <base64url(nonce ‖ AES-256-GCM of
//! the data key, aad = the aggregate id)>}`. Unwrapping tries the KEK it names, so after a
//! rotation old and new wraps both open while the old KEK is still configured.
//!
//! Opened keys are kept in memory (at most [`CACHE_LIMIT`], for [`CACHE_TTL`]), so a
//! replay does not ask the bucket for every event; an erasure in this process drops its
//! entry at once, another process drops it when its log reader meets the `person.*` event,
//! and a process that reads no log keeps it at most [`CACHE_TTL`] longer (its read models
//! purge the person when they meet `person.erased`, whatever they hold).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
use async_nats::jetstream::{self, kv};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use super::{SealError, random};
use crate::StoreError;

/// The KV bucket holding the wrapped data keys: the stream's name and this
/// (`LINKWAY_KEYS` for the default stream).
pub const BUCKET_SUFFIX: &str = "_KEYS";
const CACHE_LIMIT: usize = 100_000;
const CACHE_TTL: Duration = Duration::from_secs(30);

pub(super) fn bucket(store: &crate::EventStore) -> String {
    format!("{}{BUCKET_SUFFIX}", store.config().stream)
}

/// Creates the data keys' bucket (one revision per key, file storage, the stream's
/// replicas), or finds it; what `linkway migrate --with-stream` does as the operator.
pub async fn create_bucket(store: &crate::EventStore) -> Result<kv::Store, StoreError> {
    let js = store.jetstream();
    if let Ok(kv) = js.get_key_value(bucket(store)).await {
        return Ok(kv);
    }
    js.create_key_value(kv::Config {
        bucket: bucket(store),
        description: "Linkway: each person's data key, wrapped by a KEK".into(),
        history: 1,
        storage: jetstream::stream::StorageType::File,
        num_replicas: store.config().replicas,
        ..Default::default()
    })
    .await
    .map_err(StoreError::nats("create the key bucket"))
}

/// A key-encryption key: an id (named in every wrap it makes) and 32 bytes.
#[derive(Clone)]
pub struct Kek {
    id: String,
    key: [u8; 32],
}

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Kek({}, [redacted])", self.id)
    }
}

/// Why a KEK setting was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KekError {
    #[error("a KEK is `<id>:<base64 of 32 bytes>`; one has no `:`")]
    NoId,
    #[error("KEK `{0}`: the id is empty or not [A-Za-z0-9_-]")]
    BadId(String),
    #[error("KEK `{0}` is not base64 of exactly 32 bytes")]
    BadKey(String),
    #[error("KEK id `{0}` is given twice")]
    Duplicate(String),
    #[error("no KEK is given")]
    Empty,
}

impl Kek {
    pub fn new(id: impl Into<String>, key: [u8; 32]) -> Result<Kek, KekError> {
        let id = id.into();
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(KekError::BadId(id));
        }
        Ok(Kek { id, key })
    }

    /// A fresh random KEK (`linkway admin keys new-kek`).
    pub fn random(id: impl Into<String>) -> Result<Kek, KekError> {
        Kek::new(id, random())
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// `<id>:<base64>`, the setting's form. The only way its bytes leave the type.
    pub fn expose_setting(&self) -> String {
        format!("{}:{}", self.id, STANDARD.encode(self.key))
    }
}

/// The configured KEKs: the first wraps new keys and rotations, every one unwraps.
#[derive(Debug, Clone)]
pub struct Keks {
    all: Vec<Kek>,
}

impl Keks {
    pub fn new(all: Vec<Kek>) -> Result<Keks, KekError> {
        if all.is_empty() {
            return Err(KekError::Empty);
        }
        for (i, k) in all.iter().enumerate() {
            if all[..i].iter().any(|o| o.id == k.id) {
                return Err(KekError::Duplicate(k.id.clone()));
            }
        }
        Ok(Keks { all })
    }

    /// Parses `id:base64,id:base64,...` (the current KEK first).
    pub fn parse(setting: &str) -> Result<Keks, KekError> {
        let mut all = Vec::new();
        for part in setting.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (id, key) = part.split_once(':').ok_or(KekError::NoId)?;
            let bytes = STANDARD
                .decode(key.trim())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| KekError::BadKey(id.to_owned()))?;
            all.push(Kek::new(id.trim(), bytes)?);
        }
        Keks::new(all)
    }

    pub fn current(&self) -> &Kek {
        &self.all[0]
    }

    fn by_id(&self, id: &str) -> Option<&Kek> {
        self.all.iter().find(|k| k.id == id)
    }
}

#[derive(Serialize, Deserialize)]
struct Wrapped {
    kek: String,
    wrapped: String,
}

/// What [`KeyStore::rotate`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rotated {
    /// Keys re-wrapped under the current KEK.
    pub rewrapped: u64,
    /// Keys already under it.
    pub unchanged: u64,
}

/// The data keys of every person, in the bucket, and those opened lately.
pub struct KeyStore {
    kv: kv::Store,
    keks: Keks,
    cache: Mutex<HashMap<String, (Instant, [u8; 32])>>,
}

impl KeyStore {
    /// Opens the bucket, creating it if it is missing.
    pub async fn open(store: &crate::EventStore, keks: Keks) -> Result<KeyStore, StoreError> {
        let kv = match store.jetstream().get_key_value(bucket(store)).await {
            Ok(kv) => kv,
            Err(_) => create_bucket(store).await?,
        };
        Ok(KeyStore {
            kv,
            keks,
            cache: Mutex::new(HashMap::new()),
        })
    }

    fn cached(&self, id: &str) -> Option<[u8; 32]> {
        let cache = self.cache.lock().expect("the key cache is never poisoned");
        cache
            .get(id)
            .filter(|(at, _)| at.elapsed() < CACHE_TTL)
            .map(|(_, k)| *k)
    }

    fn remember(&self, id: &str, key: [u8; 32]) {
        let mut cache = self.cache.lock().expect("the key cache is never poisoned");
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(id.to_owned(), (Instant::now(), key));
    }

    /// Drops a key from this process's memory (it stays in the bucket).
    pub fn forget(&self, id: &str) {
        self.cache
            .lock()
            .expect("the key cache is never poisoned")
            .remove(id);
    }

    /// The person's data key, made now if they have none; refused once they were erased.
    pub(super) async fn key_for_writing(&self, id: &str) -> Result<[u8; 32], SealError> {
        if let Some(key) = self.cached(id) {
            return Ok(key);
        }
        match self
            .kv
            .entry(id)
            .await
            .map_err(StoreError::nats("read a data key"))?
        {
            Some(entry) if entry.operation == kv::Operation::Put => {
                let key = self.unwrap_key(id, &entry.value)?;
                self.remember(id, key);
                return Ok(key);
            }
            Some(_) => return Err(SealError::Erased(id.to_owned())),
            None => {}
        }
        let key: [u8; 32] = random();
        match self.kv.create(id, self.wrap(id, &key).into()).await {
            Ok(_) => {
                self.remember(id, key);
                Ok(key)
            }
            // Another writer made it first: use theirs.
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {
                Box::pin(self.key_for_writing(id)).await
            }
            Err(e) => Err(StoreError::nats("store a data key")(e).into()),
        }
    }

    /// The person's data key, `None` when there is none (erased, or never made).
    pub(super) async fn key_for_reading(&self, id: &str) -> Result<Option<[u8; 32]>, StoreError> {
        if let Some(key) = self.cached(id) {
            return Ok(Some(key));
        }
        let Some(value) = self
            .kv
            .get(id)
            .await
            .map_err(StoreError::nats("read a data key"))?
        else {
            return Ok(None);
        };
        let key = self.unwrap_key(id, &value)?;
        self.remember(id, key);
        Ok(Some(key))
    }

    /// Destroys the person's data key: its message is overwritten in the bucket's stream
    /// (a secure erase, not only a delete) and the key purged, so no revision remains.
    /// Erasing a key that is gone already succeeds.
    pub async fn destroy(&self, id: &str) -> Result<(), StoreError> {
        self.forget(id);
        if let Some(entry) = self
            .kv
            .entry(id)
            .await
            .map_err(StoreError::nats("read a data key"))?
            && entry.operation == kv::Operation::Put
        {
            // JetStream's message delete without `no_erase` overwrites the message's bytes
            // with random data before removing it (a secure erase).
            if let Err(e) = self.kv.stream.delete_message(entry.revision).await {
                tracing::warn!(error = %e, "a data key's message could not be overwritten; purging it");
            }
        }
        self.kv
            .purge(id)
            .await
            .map_err(StoreError::nats("purge a data key"))?;
        self.forget(id);
        Ok(())
    }

    /// Re-wraps every data key under the current KEK.
    pub async fn rotate(&self) -> Result<Rotated, StoreError> {
        let mut done = Rotated::default();
        let mut keys = self
            .kv
            .keys()
            .await
            .map_err(StoreError::nats("list the data keys"))?;
        let mut ids = Vec::new();
        while let Some(id) = keys.next().await {
            ids.push(id.map_err(StoreError::nats("list the data keys"))?);
        }
        for id in ids {
            let Some(entry) = self
                .kv
                .entry(&id)
                .await
                .map_err(StoreError::nats("read a data key"))?
            else {
                continue;
            };
            if entry.operation != kv::Operation::Put {
                continue;
            }
            let wrapped: Wrapped = serde_json::from_slice(&entry.value).map_err(|_| {
                StoreError::Misconfigured(format!("data key {id} is not a wrapped key"))
            })?;
            if wrapped.kek == self.keks.current().id {
                done.unchanged += 1;
                continue;
            }
            let key = self.unwrap_key(&id, &entry.value)?;
            self.kv
                .update(&id, self.wrap(&id, &key).into(), entry.revision)
                .await
                .map_err(StoreError::nats("re-wrap a data key"))?;
            done.rewrapped += 1;
        }
        Ok(done)
    }

    fn wrap(&self, id: &str, key: &[u8; 32]) -> Vec<u8> {
        let kek = self.keks.current();
        let nonce: [u8; 12] = random();
        let sealed = Aes256Gcm::new_from_slice(&kek.key)
            .expect("a 32-byte key")
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: key,
                    aad: id.as_bytes(),
                },
            )
            .expect("AES-GCM seals any message");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        serde_json::to_vec(&Wrapped {
            kek: kek.id.clone(),
            wrapped: URL_SAFE_NO_PAD.encode(out),
        })
        .expect("JSON always serialises")
    }

    fn unwrap_key(&self, id: &str, value: &[u8]) -> Result<[u8; 32], StoreError> {
        let refused = |why: &str| StoreError::Misconfigured(format!("data key {id}: {why}"));
        let wrapped: Wrapped =
            serde_json::from_slice(value).map_err(|_| refused("not a wrapped key"))?;
        let kek = self.keks.by_id(&wrapped.kek).ok_or_else(|| {
            refused(&format!(
                "wrapped by KEK `{}`, which LINKWAY_KEKS does not hold",
                wrapped.kek
            ))
        })?;
        let bytes = URL_SAFE_NO_PAD
            .decode(&wrapped.wrapped)
            .map_err(|_| refused("not base64url"))?;
        if bytes.len() < 12 {
            return Err(refused("too short"));
        }
        let (nonce, sealed) = bytes.split_at(12);
        let key = Aes256Gcm::new_from_slice(&kek.key)
            .expect("a 32-byte key")
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: id.as_bytes(),
                },
            )
            .map_err(|_| refused("does not open under its KEK"))?;
        <[u8; 32]>::try_from(key).map_err(|_| refused("not 32 bytes"))
    }
}
