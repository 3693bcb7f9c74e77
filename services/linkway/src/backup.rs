//! `linkway backup` and `linkway restore`: the event log to a file and back, through the
//! event store's streamed export and verified import (`linkway_eventstore::backup`, which
//! documents the file format and what is checked).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use linkway_eventstore::backup::{Exported, Restored};

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
    tokio::fs::rename(&partial, out)
        .await
        .with_context(|| format!("renaming {} to {}", partial.display(), out.display()))?;
    Ok(backup_summary(&exported, out, started))
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
    Ok(restore_summary(&restored, started))
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
