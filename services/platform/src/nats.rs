//! Connecting to NATS: any of a cluster's seed URLs, in the background until one answers,
//! and only to a nats-server Linkway can use.
//!
//! Every seed is a server address for the client, so Linkway starts while any one of them
//! is up and, once connected, learns the rest of the cluster from the server and rides
//! through the loss of any node. A server older than [`MIN_SERVER_VERSION`] is refused at
//! start: Linkway's appends guard a decision on every subject of an aggregate with
//! `Nats-Expected-Last-Subject-Sequence-Subject`, which older servers ignore silently.
//!
//! A connection logs in as the [`Credentials`] say (a user and password, a `.creds` file,
//! or the user in a seed URL) over TLS when asked ([`credentials`]). What the server
//! refuses a connection (a publish or subscribe outside its user's permissions, a wrong
//! password) is logged as a warning naming the refusal, whose subjects hold only ids.

mod credentials;

use std::time::Duration;

use anyhow::Context;
use async_nats::connection::State;
use async_nats::{Event, ServerAddr};

pub use credentials::{Credentials, Login, TlsFiles, install_crypto_provider};

/// The oldest nats-server Linkway runs on (2.11.0: subject-filtered expected sequences).
pub const MIN_SERVER_VERSION: (u64, u64, u64) = (2, 11, 0);

/// How long one connection attempt to one seed may take before the next is tried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How often the wait for a first connection says it is still waiting.
const WAITING_NOTICE: Duration = Duration::from_secs(5);

/// Connects to NATS through any of `seeds` (each a URL such as `nats://10.0.0.1:4222`),
/// waiting as long as it takes for one to answer, and checks the server's version.
/// `name` is the client name the servers show (e.g. `linkway`). The first seed naming a
/// user logs in as it.
pub async fn connect(seeds: &[String], name: &str) -> anyhow::Result<async_nats::Client> {
    connect_as(seeds, name, &Credentials::default()).await
}

/// [`connect`] as `credentials` say: a user, a `.creds` file, TLS files.
pub async fn connect_as(
    seeds: &[String],
    name: &str,
    credentials: &Credentials,
) -> anyhow::Result<async_nats::Client> {
    // Before any TLS: with two rustls providers compiled in, rustls picks neither itself.
    install_crypto_provider();
    let addrs = seeds
        .iter()
        .map(|seed| {
            seed.trim().parse::<ServerAddr>().with_context(|| {
                format!("NATS seed {:?} is not a NATS URL", without_userinfo(seed))
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    anyhow::ensure!(!addrs.is_empty(), "no NATS seed URL given");
    // async-nats sends no credentials it finds in a URL: the first seed naming a user
    // (`nats://user:password@host:4222`) authenticates every connection that has no
    // login of its own.
    let seed_login = addrs.iter().find(|a| a.has_user_pass()).map(|addr| {
        (
            addr.username().unwrap_or_default().to_owned(),
            addr.password().unwrap_or_default().to_owned(),
        )
    });
    let options = credentials
        .apply(async_nats::ConnectOptions::new(), seed_login)
        .await?;
    let connection = name.to_owned();
    let client = options
        .event_callback(move |event| {
            let connection = connection.clone();
            async move { log_event(&connection, event) }
        })
        .name(name)
        .retry_on_initial_connect()
        .connection_timeout(CONNECT_TIMEOUT)
        .max_reconnects(None)
        .connect(addrs)
        .await
        .context("connecting to NATS")?;
    let started = tokio::time::Instant::now();
    let mut next_notice = started + WAITING_NOTICE;
    while client.connection_state() != State::Connected {
        if tokio::time::Instant::now() >= next_notice {
            tracing::warn!(
                seeds = seeds.len(),
                waited_secs = started.elapsed().as_secs(),
                "no NATS seed answers yet; still trying"
            );
            next_notice += WAITING_NOTICE;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let info = client.server_info();
    check_version(&info.version).with_context(|| {
        format!(
            "nats-server {} ({}) cannot run Linkway",
            info.version, info.server_name
        )
    })?;
    tracing::info!(
        server = %info.server_name,
        version = %info.version,
        "connected to NATS"
    );
    Ok(client)
}

/// Logs what the server refused this connection; the other events are async-nats's own
/// (it logs reconnects itself).
fn log_event(connection: &str, event: Event) {
    match event {
        Event::ServerError(async_nats::ServerError::AuthorizationViolation) => tracing::warn!(
            connection,
            "NATS refused this connection's credentials (authorization violation)"
        ),
        // `Permissions Violation for Publish to "<subject>"`: subjects hold only ids.
        Event::ServerError(async_nats::ServerError::Other(refusal)) => {
            tracing::warn!(connection, %refusal, "NATS refused an operation")
        }
        _ => {}
    }
}

/// `(major, minor, patch)`.
type Version = (u64, u64, u64);

/// Server versions known to lose acknowledged JetStream data, with what they lose: a
/// referral acknowledged to a GP practice must survive a crash.
const KNOWN_DATA_LOSS: &[(Version, Version, &str)] = &[(
    (2, 10, 20),
    (2, 10, 22),
    "can lose whole streams when the process crashes (Jepsen, December 2025; fixed in 2.10.23)",
)];

/// Refuses a server version with a known data-loss bug ([`KNOWN_DATA_LOSS`]), one older
/// than [`MIN_SERVER_VERSION`], or one that does not parse.
pub fn check_version(version: &str) -> anyhow::Result<()> {
    let parsed = parse_version(version)
        .with_context(|| format!("cannot read the server version {version:?}"))?;
    if let Some((_, _, loss)) = KNOWN_DATA_LOSS
        .iter()
        .find(|(from, to, _)| (*from..=*to).contains(&parsed))
    {
        anyhow::bail!("nats-server {version} {loss}: upgrade NATS");
    }
    let (major, minor, patch) = MIN_SERVER_VERSION;
    anyhow::ensure!(
        parsed >= MIN_SERVER_VERSION,
        "Linkway needs nats-server {major}.{minor}.{patch} or later (its appends use \
         Nats-Expected-Last-Subject-Sequence-Subject); this one is {version}: upgrade NATS"
    );
    Ok(())
}

/// `2.11.0`, `v2.15.1`, `2.12.0-beta.3` -> (major, minor, patch).
fn parse_version(version: &str) -> Option<(u64, u64, u64)> {
    let core = version.trim().trim_start_matches('v');
    let core = core.split(['-', '+']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    let major = parts.next()??;
    let minor = parts.next().flatten().unwrap_or(0);
    let patch = parts.next().flatten().unwrap_or(0);
    Some((major, minor, patch))
}

/// A seed as it may be shown (logs, errors, `linkway settings`): without any `user:password@`.
pub fn without_userinfo(seed: &str) -> String {
    match (seed.find("://"), seed.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://{}", &seed[..scheme], &seed[at + 1..])
        }
        (None, Some(at)) => seed[at + 1..].to_owned(),
        _ => seed.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_2_11_0_on_are_accepted() {
        for ok in [
            "2.11.0",
            "v2.11.0",
            "2.15.1",
            "2.12.0-beta.3",
            "3.0.0",
            "2.11",
        ] {
            assert!(check_version(ok).is_ok(), "{ok} refused");
        }
        for lossy in ["2.10.20", "v2.10.21", "2.10.22"] {
            let err = check_version(lossy).expect_err(lossy).to_string();
            assert!(err.contains("lose whole streams"), "{err}");
            assert!(err.contains(lossy), "{err}");
        }
        for old in ["2.10.23", "2.9.10", "v2.10.0-RC.1", "1.99.99"] {
            let err = check_version(old).expect_err(old).to_string();
            assert!(err.contains("2.11.0 or later"), "{err}");
            assert!(err.contains(old), "{err}");
        }
        assert!(check_version("").is_err());
        assert!(check_version("banana").is_err());
    }

    #[test]
    fn a_seed_is_never_shown_with_its_credentials() {
        assert_eq!(
            without_userinfo("nats://user:secret@10.0.0.1:4222"),
            "nats://10.0.0.1:4222"
        );
        assert_eq!(without_userinfo("user:secret@host"), "host");
        assert_eq!(without_userinfo("nats://host:4222"), "nats://host:4222");
    }
}
