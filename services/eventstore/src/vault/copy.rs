//! The data keys' bucket in a backup: `linkway backup` writes every wrapped key beside the
//! log's backup, and `linkway restore` puts them back, so a restored log can be read.
//!
//! The keys stay wrapped (no KEK is needed to copy them, and the file opens nothing
//! without one). A key whose person the restored log says was erased (`person.erased`) is
//! not restored; nor is one whose entry in the bucket was erased meanwhile; a key already
//! there is left as it is, but for an erased person's: restoring a backup and then an
//! incremental one that holds the erasure would otherwise keep the key the first put
//! back, so every key of a person the restored log says was erased is destroyed.

use std::collections::HashSet;

use async_nats::jetstream::kv;
use futures::StreamExt;

use crate::{EventStore, StoreError};

/// One wrapped data key, as the bucket holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    pub id: String,
    pub wrapped: Vec<u8>,
}

/// What [`restore_keys`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeysRestored {
    pub restored: u64,
    /// Already in the bucket.
    pub present: u64,
    /// Their person was erased (in the log, or in the bucket since the backup).
    pub erased: u64,
    /// Keys already in the bucket whose person the restored log says was erased (an
    /// earlier restore put them back), destroyed now.
    pub destroyed: u64,
}

/// Every data key in the bucket (none when there is no bucket).
pub async fn backup_keys(store: &EventStore) -> Result<Vec<WrappedKey>, StoreError> {
    let Ok(bucket) = store
        .jetstream()
        .get_key_value(super::keys::bucket(store))
        .await
    else {
        return Ok(Vec::new());
    };
    let mut ids = Vec::new();
    let mut listed = bucket
        .keys()
        .await
        .map_err(StoreError::nats("list the data keys"))?;
    while let Some(id) = listed.next().await {
        ids.push(id.map_err(StoreError::nats("list the data keys"))?);
    }
    let mut keys = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(value) = bucket
            .get(&id)
            .await
            .map_err(StoreError::nats("read a data key"))?
        {
            keys.push(WrappedKey {
                id,
                wrapped: value.to_vec(),
            });
        }
    }
    Ok(keys)
}

/// Puts `keys` into the bucket (created if missing), but for erased people's.
pub async fn restore_keys(
    store: &EventStore,
    keys: &[WrappedKey],
) -> Result<KeysRestored, StoreError> {
    let bucket = super::keys::create_bucket(store).await?;
    let erased: HashSet<String> = store
        .load_kind("person")
        .await?
        .iter()
        .filter_map(|e| e.subject.rsplit('.').next().map(str::to_owned))
        .collect();
    let mut done = KeysRestored::default();
    for id in &erased {
        if let Some(entry) = bucket
            .entry(id)
            .await
            .map_err(StoreError::nats("read a data key"))?
            && entry.operation == kv::Operation::Put
        {
            // As `KeyStore::destroy`: the message overwritten, then the key purged.
            if let Err(e) = bucket.stream.delete_message(entry.revision).await {
                tracing::warn!(error = %e, "a data key's message could not be overwritten; purging it");
            }
            bucket
                .purge(id)
                .await
                .map_err(StoreError::nats("purge a data key"))?;
            done.destroyed += 1;
        }
    }
    for key in keys {
        if erased.contains(&key.id) {
            done.erased += 1;
            continue;
        }
        match bucket
            .entry(&key.id)
            .await
            .map_err(StoreError::nats("read a data key"))?
        {
            Some(entry) if entry.operation == kv::Operation::Put => done.present += 1,
            Some(_) => done.erased += 1,
            None => {
                bucket
                    .create(&key.id, key.wrapped.clone().into())
                    .await
                    .map_err(StoreError::nats("restore a data key"))?;
                done.restored += 1;
            }
        }
    }
    Ok(done)
}
