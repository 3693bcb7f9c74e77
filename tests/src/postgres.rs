use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process::{Server, Slot, Watched, wait_for_port};

/// A private PostgreSQL cluster: user `postgres` trusted on 127.0.0.1, every other role
/// by its password (SCRAM), so a service's own role is checked as in production.
pub struct Postgres {
    port: u16,
    dir: tempfile::TempDir,
    /// Set when running as root: the server runs as this user.
    user: Option<&'static str>,
    process: Slot,
}

/// Who may log in how: the harness's `postgres` without a password (over the socket or
/// 127.0.0.1), anyone else with theirs.
const HBA: &str = "\
local all all trust
host all postgres 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
";

/// Where Debian keeps the server binaries (not on PATH); the newest version wins.
fn bin_dir() -> std::io::Result<PathBuf> {
    if let Ok(dir) = std::env::var("LINKWAY_PG_BIN") {
        return Ok(dir.into());
    }
    let mut versions: Vec<u32> = std::fs::read_dir("/usr/lib/postgresql")?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    versions.sort();
    let v = versions
        .last()
        .ok_or_else(|| std::io::Error::other("no PostgreSQL under /usr/lib/postgresql"))?;
    Ok(PathBuf::from(format!("/usr/lib/postgresql/{v}/bin")))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl Postgres {
    pub fn start() -> std::io::Result<Postgres> {
        let dir = tempfile::Builder::new().prefix("linkway-pg-").tempdir()?;
        let user = if is_root() { Some("postgres") } else { None };
        let data = dir.path().join("data");
        if let Some(user) = user {
            let status = Command::new("chown")
                .args([user, &dir.path().display().to_string()])
                .status()?;
            if !status.success() {
                return Err(std::io::Error::other("chown of the temporary dir failed"));
            }
        }
        let initdb = format!(
            "{}/initdb -D {} -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8 >{}/initdb.log 2>&1",
            bin_dir()?.display(),
            data.display(),
            dir.path().display()
        );
        let status = match user {
            Some(user) => Command::new("runuser")
                .args(["-u", user, "--", "sh", "-c", &initdb])
                .status()?,
            None => Command::new("sh").args(["-c", &initdb]).status()?,
        };
        if !status.success() {
            let log = std::fs::read_to_string(dir.path().join("initdb.log")).unwrap_or_default();
            return Err(std::io::Error::other(format!("initdb failed: {log}")));
        }
        std::fs::write(data.join("pg_hba.conf"), HBA)?;
        let pg = Postgres {
            port: crate::free_port(),
            dir,
            user,
            process: Slot::default(),
        };
        pg.run()?;
        Ok(pg)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A server URL (database `postgres`); services pick their own databases on it.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The URL of one database on this server.
    pub fn database_url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Replaces `pg_hba.conf` with `hba` (the server reads it at its next reload:
    /// `SELECT pg_reload_conf()`).
    pub fn set_hba(&self, hba: &str) -> std::io::Result<()> {
        std::fs::write(self.data().join("pg_hba.conf"), hba)
    }

    /// Makes `path` the server's own file, readable by it alone: PostgreSQL refuses a TLS
    /// key anyone else may read.
    pub fn hand_over(&self, path: &Path) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        if let Some(user) = self.user {
            let status = Command::new("chown")
                .args([user, &path.display().to_string()])
                .status()?;
            if !status.success() {
                return Err(std::io::Error::other("chown of a server file failed"));
            }
        }
        Ok(())
    }
}

impl Server for Postgres {
    fn slot(&self) -> &Slot {
        &self.process
    }

    fn run(&self) -> std::io::Result<()> {
        // Durability settings are off: these databases live for one test run.
        let command = format!(
            "{}/postgres -D {} -p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 \
             -c shared_buffers=64MB >>{}/server.log 2>&1",
            bin_dir()?.display(),
            self.data().display(),
            self.port,
            self.dir.path().display(),
            self.dir.path().display(),
        );
        let watched = Watched::spawn(&command, self.user, "INT")?;
        wait_for_port(self.port, "PostgreSQL")?;
        // The port opens before the server accepts queries; wait until it does.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let ok = Command::new(bin_dir()?.join("pg_isready"))
                .args([
                    "-q",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &self.port.to_string(),
                    "-U",
                    "postgres",
                ])
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ok {
                break;
            }
            if std::time::Instant::now() > deadline {
                return Err(std::io::Error::other("PostgreSQL did not become ready"));
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        self.process.put(watched);
        Ok(())
    }
}
