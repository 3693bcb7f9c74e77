use std::path::PathBuf;

use crate::process::{Server, Slot, Watched, wait_for_port};

/// A private nats-server with JetStream.
pub struct Nats {
    port: u16,
    store: tempfile::TempDir,
    process: Slot,
}

/// The nats-server to run: `LINKWAY_NATS_SERVER`, else the project-local one that
/// `deploy/infra.sh` installs (Linkway needs >= 2.11; Debian's is 2.9), else `PATH`.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("LINKWAY_NATS_SERVER") {
        return path.into();
    }
    let local =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.linkway/venv/bin/nats-server");
    if local.exists() {
        return local;
    }
    "nats-server".into()
}

impl Nats {
    pub fn start() -> std::io::Result<Nats> {
        let nats = Nats {
            port: crate::free_port(),
            store: tempfile::Builder::new().prefix("linkway-nats-").tempdir()?,
            process: Slot::default(),
        };
        nats.run()?;
        Ok(nats)
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Server for Nats {
    fn slot(&self) -> &Slot {
        &self.process
    }

    fn run(&self) -> std::io::Result<()> {
        let command = format!(
            "exec {} -a 127.0.0.1 -p {} -js -sd {} >{}/server.log 2>&1",
            binary().display(),
            self.port,
            self.store.path().display(),
            self.store.path().display(),
        );
        // `exec` would replace the watchdog; run the server as a plain child instead.
        let command = command.trim_start_matches("exec ").to_owned();
        let watched = Watched::spawn(&command, None, "TERM")?;
        wait_for_port(self.port, "nats-server")?;
        self.process.put(watched);
        Ok(())
    }
}
