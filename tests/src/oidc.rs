//! A real OpenID Connect provider for sign-in tests: `tests/browser/oidc.mjs`, which runs
//! the npm package `oidc-provider` (OpenID Certified) on a free port of 127.0.0.1, with
//! the clients and accounts a test gives it.
//!
//! The provider serves the authorization code flow only, requires PKCE (S256) of every
//! client, offers the scopes `openid profile email`, signs ID tokens with RS256 (a key
//! made at each start) and puts the scope claims (`name`, `email`) in the ID token as well
//! as at userinfo. Its sign-in page is a plain form (fields `username` and `password`,
//! button `#sign-in`); consent is granted without a page. Redirect URIs are compared
//! exactly, so register the client after choosing the service's port. Everything it
//! holds is in memory: [`Server::restart`] forgets sessions and codes and changes the key.
//!
//! Like nats-server, it runs under a shell watchdog that stops it when the test process
//! goes away. It needs `node` and `tests/browser/node_modules` (`deploy/browser.sh`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::process::{Server, Slot, Watched};

/// What the provider knows: its clients (the relying parties, e.g. one per Linkway
/// service) and the people who can sign in.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OidcConfig {
    pub clients: Vec<OidcClient>,
    pub accounts: Vec<OidcAccount>,
}

/// A confidential client (`client_secret_basic` at the token endpoint).
#[derive(Debug, Clone, Serialize)]
pub struct OidcClient {
    pub client_id: String,
    pub client_secret: String,
    /// Exact URIs, e.g. `http://127.0.0.1:40123/auth/callback`.
    pub redirect_uris: Vec<String>,
    /// Where the provider's end-session endpoint may send the browser back to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub post_logout_redirect_uris: Vec<String>,
}

impl OidcClient {
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        redirect_uris: impl IntoIterator<Item = impl Into<String>>,
    ) -> OidcClient {
        OidcClient {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            redirect_uris: redirect_uris.into_iter().map(Into::into).collect(),
            post_logout_redirect_uris: Vec::new(),
        }
    }
}

/// A person at the provider: `sub` is the ID token's subject (what Linkway's
/// `user.registered` names as `subject`); `username` and `password` are what the
/// provider's sign-in form takes.
#[derive(Debug, Clone, Serialize)]
pub struct OidcAccount {
    pub sub: String,
    pub name: String,
    pub email: String,
    pub username: String,
    pub password: String,
}

impl OidcAccount {
    /// An account with everything made from `username`: subject `sub-<username>`, email
    /// `<username>@example.org`, password `<username>-password`.
    pub fn person(username: &str, name: &str) -> OidcAccount {
        OidcAccount {
            sub: format!("sub-{username}"),
            name: name.into(),
            email: format!("{username}@example.org"),
            username: username.into(),
            password: format!("{username}-password"),
        }
    }
}

/// The line `oidc.mjs` prints once it listens.
const READY: &str = "oidc-provider ready ";

/// A running test identity provider; stopped when dropped.
pub struct OidcProvider {
    port: u16,
    config: OidcConfig,
    dir: tempfile::TempDir,
    process: Slot,
}

/// `node`: `LINKWAY_NODE` if set, else the one on `PATH`.
pub(crate) fn node() -> PathBuf {
    std::env::var_os("LINKWAY_NODE")
        .map(PathBuf::from)
        .unwrap_or_else(|| "node".into())
}

/// `tests/browser`, the Node project of the browser tests.
pub fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// Fails unless `npm ci` has run in `tests/browser`.
pub(crate) fn check_node_modules() -> std::io::Result<()> {
    if browser_dir().join("node_modules/oidc-provider").is_dir() {
        Ok(())
    } else {
        Err(std::io::Error::other(
            "tests/browser/node_modules is missing: run deploy/browser.sh (npm ci in tests/browser)",
        ))
    }
}

/// Single-quotes a path for `sh`.
pub(crate) fn quoted(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

impl OidcProvider {
    /// Starts the provider on a free port and returns once it has printed its ready line.
    pub fn start(config: OidcConfig) -> std::io::Result<OidcProvider> {
        check_node_modules()?;
        let provider = OidcProvider {
            port: crate::free_port(),
            config,
            dir: tempfile::Builder::new().prefix("linkway-oidc-").tempdir()?,
            process: Slot::default(),
        };
        std::fs::write(
            provider.dir.path().join("config.json"),
            serde_json::to_vec_pretty(&provider.config).map_err(std::io::Error::other)?,
        )?;
        provider.run()?;
        Ok(provider)
    }

    /// `http://127.0.0.1:<port>`, exactly as the provider's discovery document and ID
    /// tokens name it (no trailing slash).
    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `<issuer>/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    /// The account whose sign-in name is `username`.
    pub fn account(&self, username: &str) -> Option<&OidcAccount> {
        self.config.accounts.iter().find(|a| a.username == username)
    }

    /// What the provider printed so far (warnings, errors, the ready line).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("provider.log")
    }
}

impl Drop for OidcProvider {
    /// A failing test shows what the provider said (why it refused a request).
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- OIDC provider log ({}) ---\n{}",
                self.issuer(),
                self.log()
            );
        }
    }
}

impl Server for OidcProvider {
    fn slot(&self) -> &Slot {
        &self.process
    }

    fn run(&self) -> std::io::Result<()> {
        // A restart must wait for its own ready line, not the previous run's.
        let _ = std::fs::remove_file(self.log_path());
        let command = format!(
            "{} {} --port {} --config {} >>{} 2>&1",
            quoted(&node()),
            quoted(&browser_dir().join("oidc.mjs")),
            self.port,
            quoted(&self.dir.path().join("config.json")),
            quoted(&self.log_path()),
        );
        let watched = Watched::spawn(&command, None, "TERM")?;
        let pid = watched.pid;
        self.process.put(watched);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.log().lines().any(|l| l.starts_with(READY)) {
                return Ok(());
            }
            let alive = Path::new(&format!("/proc/{pid}")).exists()
                && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .unwrap_or_default()
                    .contains(") Z ");
            if !alive || Instant::now() > deadline {
                self.stop();
                return Err(std::io::Error::other(format!(
                    "the OIDC provider did not start on port {}{}:\n{}",
                    self.port,
                    if alive { " within 30 s" } else { "" },
                    self.log()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
