use std::path::PathBuf;
use std::sync::Mutex;

use crate::process::{Watched, wait_for_port};

/// A private nats-server with JetStream.
pub struct Nats {
    port: u16,
    store: tempfile::TempDir,
    process: Mutex<Option<Watched>>,
}

fn binary() -> PathBuf {
    for candidate in ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"] {
        if std::path::Path::new(candidate).exists() {
            return candidate.into();
        }
    }
    "nats-server".into()
}

impl Nats {
    pub fn start() -> std::io::Result<Nats> {
        let nats = Nats {
            port: crate::free_port(),
            store: tempfile::Builder::new().prefix("linkway-nats-").tempdir()?,
            process: Mutex::new(None),
        };
        nats.run()?;
        Ok(nats)
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
        *self.process.lock().unwrap() = Some(watched);
        Ok(())
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server cleanly (its store stays).
    pub fn stop(&self) {
        if let Some(mut p) = self.process.lock().unwrap().take() {
            p.stop();
        }
    }

    /// Kills the server (SIGKILL): a crash.
    pub fn kill(&self) {
        if let Some(mut p) = self.process.lock().unwrap().take() {
            p.kill();
        }
    }

    /// Starts it again on the same port with the same store.
    pub fn restart(&self) -> std::io::Result<()> {
        self.stop();
        self.run()
    }

    /// Starts it again after a stop or kill.
    pub fn start_again(&self) -> std::io::Result<()> {
        self.run()
    }
}
