//! `linkway backup` and `linkway restore`: the event log to a file and back, through the
//! event store's streamed export and verified import (`linkway_eventstore::backup`, which
//! documents the file format and what is checked); and beside it, `<file>.keys`, every
//! person's data key as the key bucket holds it (wrapped by a KEK: the file opens nothing
//! without one), so that a restored log can be read. A restore puts the keys back but
//! those of people the restored log says were erased.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use linkway_eventstore::backup::{Exported, Restored};
use linkway_eventstore::vault;

use crate::config::Settings;
use crate::serve::connect_store;

/// Writes the log from `from_sequence` to its last sequence at the start into `out`.
/// The file appears under its name only once whole: it is written beside it first
/// (`<out>.partial`) and renamed at the end.
pub async fn backup(settings: &Settings, out: &Path, from_sequence: u64) -> anyhow::Result<String> {
    let started = Instant::now();
    let (_nats, store) = connect_store(settings).await?;
    let partial = partial_path(out);
    let file = tokio::fs::File::create(&partial)
        .await
        .with_context(|| format!("creating {}", partial.display()))?;
    let mut writer = tokio::io::BufWriter::with_capacity(1 << 20, file);
    let exported = match store.export(from_sequence, &mut writer).await {
        Ok(exported) => exported,
        Err(err) => {
            drop(writer);
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(err).context("linkway backup");
        }
    };
    writer.into_inner().sync_all().await?;
    // The keys after the log: every event in the backup has its key by then.
    let keys = vault::backup_keys(&store)
        .await
        .context("reading the data keys")?;
    write_keys(&keys_path(out), &keys).await?;
    tokio::fs::rename(&partial, out)
        .await
        .with_context(|| format!("renaming {} to {}", partial.display(), out.display()))?;
    Ok(format!(
        "{}, and {} data keys to {}",
        backup_summary(&exported, out, started),
        keys.len(),
        keys_path(out).display()
    ))
}

/// Where the data keys of the backup at `out` are.
pub fn keys_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".keys");
    PathBuf::from(name)
}

/// One line per key: `{"id": <aggregate id>, "key": <the wrapped key's JSON>}`.
async fn write_keys(path: &Path, keys: &[vault::WrappedKey]) -> anyhow::Result<()> {
    let mut text = String::new();
    for key in keys {
        let wrapped: serde_json::Value = serde_json::from_slice(&key.wrapped)
            .with_context(|| format!("data key {} is not a wrapped key", key.id))?;
        text.push_str(&serde_json::json!({"id": key.id, "key": wrapped}).to_string());
        text.push('\n');
    }
    let partial = partial_path(path);
    tokio::fs::write(&partial, text)
        .await
        .with_context(|| format!("writing {}", partial.display()))?;
    tokio::fs::rename(&partial, path)
        .await
        .with_context(|| format!("renaming {} to {}", partial.display(), path.display()))
}

async fn read_keys(path: &Path) -> anyhow::Result<Vec<vault::WrappedKey>> {
    let text = tokio::fs::read_to_string(path)
        .await
        .with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            let v: serde_json::Value = serde_json::from_str(line)
                .with_context(|| format!("{} line {}: not JSON", path.display(), i + 1))?;
            let id = v["id"]
                .as_str()
                .with_context(|| format!("{} line {}: no id", path.display(), i + 1))?;
            Ok(vault::WrappedKey {
                id: id.to_owned(),
                wrapped: v["key"].to_string().into_bytes(),
            })
        })
        .collect()
}

/// Restores the backup at `from` into the configured stream (created as `serve` creates
/// it when missing).
pub async fn restore(settings: &Settings, from: &Path) -> anyhow::Result<String> {
    let started = Instant::now();
    let (_nats, store) = connect_store(settings).await?;
    let restored = store
        .import(from)
        .await
        .with_context(|| format!("linkway restore from {}", from.display()))?;
    let summary = restore_summary(&restored, started);
    let keys = keys_path(from);
    if !tokio::fs::try_exists(&keys).await.unwrap_or(false) {
        return Ok(format!(
            "{summary}; no {} beside it: personal parts sealed under keys not in this bucket stay unreadable",
            keys.display()
        ));
    }
    let done = vault::restore_keys(&store, &read_keys(&keys).await?)
        .await
        .context("restoring the data keys")?;
    Ok(format!(
        "{summary}; data keys: {} restored, {} there already, {} of erased people left out, {} of erased people destroyed",
        done.restored, done.present, done.erased, done.destroyed
    ))
}

fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

fn backup_summary(exported: &Exported, out: &Path, started: Instant) -> String {
    let header = &exported.header;
    format!(
        "linkway backup: {} events, sequences {}..{} of stream {}, sha256 {}, to {} in {:.1} s",
        exported.trailer.events,
        header.first_sequence,
        header.last_sequence,
        header.stream,
        exported.trailer.sha256,
        out.display(),
        started.elapsed().as_secs_f64()
    )
}

fn restore_summary(restored: &Restored, started: Instant) -> String {
    let header = &restored.header;
    format!(
        "linkway restore: {} events, sequences {}..{} into stream {} ({} appended, {} already there), sha256 {}, in {:.1} s",
        restored.events,
        header.first_sequence,
        header.last_sequence,
        header.stream,
        restored.appended,
        restored.already_there,
        restored.sha256,
        started.elapsed().as_secs_f64()
    )
}
