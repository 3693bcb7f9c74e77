//! `linkway admin keys`: the key-encryption keys that wrap each person's data key.
//!
//! - `new-kek <id>` prints a fresh KEK in `LINKWAY_KEKS`'s form (`id:base64`), to put in
//!   front of the configured ones.
//! - `rotate` re-wraps every data key under the first of `LINKWAY_KEKS` (run it with the
//!   new KEK first and the old ones after it). Once it reports nothing left under an old
//!   KEK, that KEK can be taken out of the configuration. Runs as the process's NATS user
//!   (deploy/nats's `operator`), which may list the bucket's keys.

use anyhow::Context as _;
use clap::Subcommand;
use linkway_eventstore::vault::{Kek, KeyStore};

use crate::config::Settings;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Prints a new random key-encryption key, `<id>:<base64>`, for LINKWAY_KEKS.
    NewKek {
        /// Its id: letters, digits, '-' and '_' (e.g. the year and month).
        id: String,
    },
    /// Re-wraps every person's data key under the first of LINKWAY_KEKS.
    Rotate,
}

pub async fn run(settings: &Settings, command: KeysCommand) -> anyhow::Result<String> {
    match command {
        KeysCommand::NewKek { id } => {
            let kek = Kek::random(id).map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok(kek.expose_setting())
        }
        KeysCommand::Rotate => {
            let keks = settings
                .keks()?
                .context("LINKWAY_KEKS is not set: there is nothing to rotate to")?;
            let current = keks.current().id().to_owned();
            let (_, store) = crate::serve::connect_store(settings).await?;
            let keys = KeyStore::open(&store, keks)
                .await
                .context("opening the data keys' bucket")?;
            let done = keys.rotate().await.context("re-wrapping the data keys")?;
            Ok(format!(
                "{} data keys re-wrapped under KEK {current}; {} were under it already",
                done.rewrapped, done.unchanged
            ))
        }
    }
}
