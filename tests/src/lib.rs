//! Linkway's test harness: private, real infrastructure for tests.
//!
//! - [`Nats`]: a nats-server with JetStream on a free port and a temporary store dir;
//!   [`NatsCluster`]: three (or more) of them routed into one JetStream cluster.
//! - [`Postgres`]: a PostgreSQL cluster made with `initdb` in a temporary dir, on a free
//!   port (as the `postgres` user when the tests run as root).
//! - [`Linkway`]: the `linkway` binary as a child process (kill -9, SIGTERM, restart).
//! - [`OidcProvider`]: a real OpenID Connect provider (`oidc-provider` on Node) with the
//!   clients and accounts a test gives it; [`run_browser_script`]: a Playwright script of
//!   `tests/browser/` in headless Chromium; [`Pages`]: `linkway serve` signed in to
//!   through that provider, the one fixture page tests share.
//! - [`certs`]: a CA and the certificates it signs, made by `openssl` at test time.
//! - [`shared_nats`] / [`shared_postgres`]: one of each per test process, for tests that
//!   need no faults; every test still gets its own stream and databases ([`Scope`]).
//!
//! Servers never touch machine-wide instances or default ports. Each runs under a small
//! shell watchdog that stops it when the test process goes away, even after a panic or
//! a kill, so nothing is left running. Tests can stop, kill and restart either server to
//! inject faults.

pub mod api;
pub mod browser;
pub mod certs;
mod env;
pub mod linkway;
pub mod nats;
pub mod oidc;
pub mod pages;
mod postgres;
mod process;

/// The key-encryption key of every test (`LINKWAY_KEKS`'s form): it guards test data only.
pub const TEST_KEKS: &str = "test:dGVzdGtpdC1vbmx5LWtleS1lbmNyeXB0aW9uLWtleSE=";

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

pub use api::ApiClient;
pub use browser::run_browser_script;
pub use env::{TestEnv, serve};
pub use linkway::Linkway;
pub use nats::{Nats, NatsCluster};
pub use oidc::{OidcAccount, OidcClient, OidcConfig, OidcProvider};
pub use pages::{Pages, Person};
pub use postgres::Postgres;
pub use process::Server;

/// A free TCP port on 127.0.0.1 (bound, then released for the server to take).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// The NATS server shared by the tests of this process.
pub fn shared_nats() -> &'static Nats {
    static NATS: OnceLock<Nats> = OnceLock::new();
    NATS.get_or_init(|| Nats::start().expect("start nats-server"))
}

/// The PostgreSQL server shared by the tests of this process.
pub fn shared_postgres() -> &'static Postgres {
    static PG: OnceLock<Postgres> = OnceLock::new();
    PG.get_or_init(|| Postgres::start().expect("start PostgreSQL"))
}

/// Names private to one test: its stream, subject prefix and database prefix.
#[derive(Debug, Clone)]
pub struct Scope {
    /// JetStream stream name, e.g. `T4812_3`.
    pub stream: String,
    /// Subject prefix, e.g. `t4812_3` (the stream holds `<prefix>.>`).
    pub subject_prefix: String,
    /// Database name prefix; services append `_intake` etc.
    pub database_prefix: String,
}

impl Scope {
    /// A fresh scope, unique within this machine for the life of the process.
    pub fn new() -> Scope {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let tag = format!("{}_{n}", std::process::id());
        Scope {
            stream: format!("T{tag}"),
            subject_prefix: format!("t{tag}"),
            database_prefix: format!("t{tag}"),
        }
    }
}

impl Default for Scope {
    fn default() -> Self {
        Scope::new()
    }
}
