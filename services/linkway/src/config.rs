//! Settings: every `LINKWAY_*` variable, in one typed struct.
//!
//! Each setting is a `--flag`, an environment variable and (optionally) a key of a TOML
//! settings file named by `--config` / `LINKWAY_CONFIG`; a flag beats the environment,
//! which beats the file, which beats the built-in default ([`file`]). Nothing else in
//! Linkway reads `LINKWAY_*` variables: the binary builds each service's own settings
//! from these and passes them down. Secrets (the database URL, the pseudonym key) are
//! [`Secret`]s, which print as `[redacted]`, and their values never appear in `--help`.
//! The README's "Configuration" table is checked against these definitions by a test.

mod clock;
mod database;
mod debug;
mod directory;
pub mod file;
mod nats;
mod notify;
mod outbox;
mod parse;
mod tokens;
mod web;

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use linkway_events::WriteVersions;
use linkway_eventstore::StoreConfig;
use linkway_platform::RunnerSettings;
use linkway_platform::projection::ReadinessLimits;
use linkway_platform::secret::Secret;

use crate::catalogue::ServiceName;
pub use clock::ClockFile;
pub use database::DatabaseTls;
pub use directory::DirectoryFeed;
pub use nats::{Connection, NatsAccess, NatsLogin};
pub use notify::Notify;
pub use outbox::Outbox;
pub use tokens::Limit;

pub use parse::MIN_PSEUDONYM_KEY_CHARS;
use parse::{keks, pseudonym_key, secret, session_key, write_versions};

/// Every setting of a Linkway process. Flags may come before or after the sub-command.
/// `Debug` shows no secret (`debug.rs`).
#[derive(Clone, Args)]
pub struct Settings {
    /// TOML file of settings (keys are the flag names with `_`, e.g. `nats_url`); the
    /// environment and flags override it.
    #[arg(long, global = true, env = "LINKWAY_CONFIG", help_heading = "Settings")]
    pub config: Option<PathBuf>,

    /// NATS seed URLs, comma-separated; Linkway starts while any one of them is up. A seed
    /// may carry the NATS user and password (`nats://user:password@host:4222`); they are
    /// never shown (default `nats://127.0.0.1:4222`).
    #[arg(
        long,
        global = true,
        env = "LINKWAY_NATS_URL",
        default_value = "nats://127.0.0.1:4222",
        value_delimiter = ',',
        hide_env_values = true,
        hide_default_value = true,
        help_heading = "Event log"
    )]
    pub nats_url: Vec<String>,
    /// JetStream stream holding the event log.
    #[arg(
        long,
        global = true,
        env = "LINKWAY_STREAM",
        default_value = "LINKWAY",
        help_heading = "Event log"
    )]
    pub stream: String,
    /// First token of every subject.
    #[arg(
        long,
        global = true,
        env = "LINKWAY_SUBJECT_PREFIX",
        default_value = "linkway",
        help_heading = "Event log"
    )]
    pub subject_prefix: String,
    /// How long JetStream remembers message ids (seconds): retries within it are deduplicated.
    #[arg(
        long,
        global = true,
        env = "LINKWAY_DUPLICATE_WINDOW_SECS",
        default_value_t = 86_400,
        help_heading = "Event log"
    )]
    pub duplicate_window_secs: u64,
    /// Stream replicas: 1 on one machine, 3 in a cluster.
    #[arg(
        long,
        global = true,
        env = "LINKWAY_REPLICAS",
        default_value_t = 1,
        help_heading = "Event log"
    )]
    pub replicas: usize,
    /// Event versions to write older than the newest, `type=version` comma-separated, e.g.
    /// `case.contact_attempted=1`: the first step of a rolling upgrade (unset: the newest).
    #[arg(
        long,
        global = true,
        env = "LINKWAY_WRITE_EVENT_VERSIONS",
        value_parser = write_versions,
        help_heading = "Event log"
    )]
    pub write_event_versions: Option<WriteVersions>,
    /// NATS logins and TLS: each connection's own user, credentials files, CA and client
    /// certificate ([`nats`]).
    #[command(flatten)]
    pub nats_access: NatsAccess,

    /// PostgreSQL server URL; each service uses its own database there (created if missing).
    #[arg(
        long,
        global = true,
        env = "LINKWAY_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres",
        value_parser = secret,
        hide_env_values = true,
        hide_default_value = true,
        help_heading = "Databases"
    )]
    pub database_url: Secret,
    /// Prefix of the service databases: `<prefix>_intake`, `<prefix>_link_worker`, `<prefix>_reporting`.
    #[arg(
        long,
        global = true,
        env = "LINKWAY_DATABASE_PREFIX",
        default_value = "linkway",
        help_heading = "Databases"
    )]
    pub database_prefix: String,
    /// Each service's own PostgreSQL role, `service=password` comma-separated: the service
    /// connects as `<prefix>_<service>` (e.g. `linkway_link_worker`) with this password,
    /// and `linkway migrate` creates or updates that role, able to reach only its own
    /// database, with no DDL beyond its read models. Unset for a service: the
    /// `LINKWAY_DATABASE_URL` role.
    #[arg(
        long,
        global = true,
        env = "LINKWAY_DATABASE_PASSWORDS",
        value_parser = secret,
        value_delimiter = ',',
        hide_env_values = true,
        hide_default_value = true,
        help_heading = "Databases"
    )]
    pub database_passwords: Vec<Secret>,
    /// TLS to PostgreSQL: the server's CA and each service's client certificate
    /// ([`database`]).
    #[command(flatten)]
    pub database_tls: DatabaseTls,

    /// Most events a projection applies per transaction.
    #[arg(
        long,
        global = true,
        env = "LINKWAY_BATCH_SIZE",
        default_value_t = 20_000,
        value_parser = clap::value_parser!(u64).range(1..),
        help_heading = "Projections"
    )]
    pub batch_size: u64,
    /// Longest wait (ms) for more events before a projection applies a partial batch.
    #[arg(
        long,
        global = true,
        env = "LINKWAY_BATCH_DELAY_MS",
        default_value_t = 20,
        help_heading = "Projections"
    )]
    pub batch_delay_ms: u64,
    /// `/readyz` is not ready while a projection is more than this many events behind the log.
    #[arg(
        long,
        global = true,
        env = "LINKWAY_READY_MAX_LAG_EVENTS",
        default_value_t = 1000,
        help_heading = "Projections"
    )]
    pub ready_max_lag_events: u64,
    /// `/readyz` is not ready while a projection is more than this many seconds behind the log.
    #[arg(
        long,
        global = true,
        env = "LINKWAY_READY_MAX_LAG_SECS",
        default_value_t = 10,
        help_heading = "Projections"
    )]
    pub ready_max_lag_secs: u64,

    /// Address the services listen on.
    #[arg(
        long,
        global = true,
        env = "LINKWAY_BIND",
        default_value = "127.0.0.1",
        help_heading = "HTTP"
    )]
    pub bind: IpAddr,
    /// Port of intake (0: any free port).
    #[arg(
        long,
        global = true,
        env = "LINKWAY_INTAKE_PORT",
        default_value_t = 8081,
        help_heading = "HTTP"
    )]
    pub intake_port: u16,
    /// Port of link-worker (0: any free port).
    #[arg(
        long,
        global = true,
        env = "LINKWAY_LINK_WORKER_PORT",
        default_value_t = 8082,
        help_heading = "HTTP"
    )]
    pub link_worker_port: u16,
    /// Port of reporting (0: any free port).
    #[arg(
        long,
        global = true,
        env = "LINKWAY_REPORTING_PORT",
        default_value_t = 8083,
        help_heading = "HTTP"
    )]
    pub reporting_port: u16,
    /// On SIGTERM or Ctrl-C: seconds to drain requests and finish projection batches
    /// before what is left is aborted (and the exit code is 1).
    #[arg(
        long,
        global = true,
        env = "LINKWAY_SHUTDOWN_GRACE_SECS",
        default_value_t = 10,
        help_heading = "HTTP"
    )]
    pub shutdown_grace_secs: u64,

    /// The key that seals the pages' session cookie (at least 32 characters of a random
    /// secret), the same for every process so one sign-in is valid on every service.
    /// Unset: a random key per process (sign-ins end when it restarts); `linkway demo`
    /// uses a built-in key.
    #[arg(
        long,
        global = true,
        env = "LINKWAY_SESSION_KEY",
        value_parser = session_key,
        hide_env_values = true,
        hide_default_value = true,
        help_heading = "Pages"
    )]
    pub session_key: Option<Secret>,
    /// Identity providers people sign in at, `;`-separated, each `name|issuer URL|client
    /// id`, e.g. `NHS CIS2|https://am.nhsidentity.spineservices.nhs.uk/...|linkway-prod`.
    #[arg(
        long,
        global = true,
        env = "LINKWAY_OIDC_PROVIDERS",
        value_delimiter = ';',
        help_heading = "Pages"
    )]
    pub oidc_providers: Vec<String>,
    /// The providers' client secrets, `;`-separated, in the order of
    /// `LINKWAY_OIDC_PROVIDERS`.
    #[arg(
        long,
        global = true,
        env = "LINKWAY_OIDC_CLIENT_SECRETS",
        value_parser = secret,
        value_delimiter = ';',
        hide_env_values = true,
        hide_default_value = true,
        help_heading = "Pages"
    )]
    pub oidc_client_secrets: Vec<Secret>,
    /// Each service's public base URL, `service=URL` comma-separated (e.g.
    /// `intake=https://refer.example.nhs.uk`): the sign-in's return address and the links
    /// between services. Unset: `http://<bind>:<port>` of each.
    #[arg(
        long,
        global = true,
        env = "LINKWAY_PUBLIC_URLS",
        value_delimiter = ',',
        help_heading = "Pages"
    )]
    pub public_urls: Vec<String>,
    /// nhsuk-frontend's `dist/nhsuk` folder, served at `/assets/` (`deploy/assets.sh`
    /// installs it under `web/`). Unset: `web/node_modules/nhsuk-frontend/dist/nhsuk` if
    /// it exists.
    #[arg(
        long,
        global = true,
        env = "LINKWAY_ASSETS_DIR",
        help_heading = "Pages"
    )]
    pub assets_dir: Option<PathBuf>,

    /// The key-encryption keys that wrap each person's data key, `id:base64 of 32 bytes`
    /// comma-separated, the current one first (`linkway admin keys new-kek` makes one).
    /// Intake and link-worker seal every event's personal part with it; reporting's
    /// process needs none and should be given none. Unset: personal parts are written in
    /// clear, with a warning at start (`linkway demo` uses a built-in key).
    #[arg(
        long,
        global = true,
        env = "LINKWAY_KEKS",
        value_parser = keks,
        hide_env_values = true,
        hide_default_value = true,
        help_heading = "Privacy"
    )]
    pub keks: Option<Secret>,
    /// Reporting's secret key for pseudonyms (keyed hashes). Required by `serve` and
    /// `rebuild reporting`; `linkway demo` alone runs on a built-in key.
    #[arg(
        long,
        global = true,
        env = "LINKWAY_PSEUDONYM_KEY",
        value_parser = pseudonym_key,
        hide_env_values = true,
        hide_default_value = true,
        help_heading = "Reporting"
    )]
    pub pseudonym_key: Option<Secret>,
    /// Counts from 1 to this are shown as `*`.
    #[arg(
        long,
        global = true,
        env = "LINKWAY_DISCLOSURE_THRESHOLD",
        default_value_t = 7,
        help_heading = "Reporting"
    )]
    pub disclosure_threshold: u64,
    /// Other counts are rounded to a multiple of this.
    #[arg(
        long,
        global = true,
        env = "LINKWAY_DISCLOSURE_ROUNDING",
        default_value_t = 5,
        help_heading = "Reporting"
    )]
    pub disclosure_rounding: u64,
    /// A hidden cell must stay among at least this many possible values (secondary suppression).
    #[arg(
        long,
        global = true,
        env = "LINKWAY_DISCLOSURE_MIN_CANDIDATES",
        default_value_t = 3,
        help_heading = "Reporting"
    )]
    pub disclosure_min_candidates: u64,
    /// SWEMWBS metric points that count as a meaningful improvement.
    #[arg(
        long,
        global = true,
        env = "LINKWAY_SWEMWBS_MEANINGFUL_CHANGE",
        default_value_t = 3.0,
        help_heading = "Reporting"
    )]
    pub swemwbs_meaningful_change: f64,

    /// Failed contact attempts before a case becomes could-not-contact (1-20).
    #[arg(
        long,
        global = true,
        env = "LINKWAY_MAX_CONTACT_ATTEMPTS",
        default_value_t = 3,
        value_parser = clap::value_parser!(u32).range(1..=20),
        help_heading = "Link-worker"
    )]
    pub max_contact_attempts: u32,
    /// Days an onward connection may wait for an answer before it is flagged (1-365).
    #[arg(
        long,
        global = true,
        env = "LINKWAY_CONNECTION_ANSWER_DAYS",
        default_value_t = 14,
        value_parser = clap::value_parser!(i64).range(1..=365),
        help_heading = "Link-worker"
    )]
    pub connection_answer_days: i64,
    /// Days after which a community service that has not answered an onward connection
    /// is reminded, once (1-365; a reminder at or after the answer window is never sent).
    #[arg(
        long,
        global = true,
        env = "LINKWAY_CONNECTION_REMINDER_DAYS",
        default_value_t = 7,
        value_parser = clap::value_parser!(i64).range(1..=365),
        help_heading = "Link-worker"
    )]
    pub connection_reminder_days: i64,
    /// Link-worker's directory feed: an Open Referral UK API synced into the directory
    /// ([`directory`]).
    #[command(flatten)]
    pub directory_feed: DirectoryFeed,
    /// Intake's outbox: updates back to FHIR referrers ([`outbox`]).
    #[command(flatten)]
    pub outbox: Outbox,
    /// Link-worker's appointment notifications ([`notify`]).
    #[command(flatten)]
    pub notify: Notify,
    /// The clock the timers decide by ([`clock`]).
    #[command(flatten)]
    pub clock: ClockFile,

    /// Days a token works from when it is issued, unless `token create` or `token rotate`
    /// says otherwise (1-3650).
    #[arg(
        long,
        global = true,
        env = "LINKWAY_TOKEN_LIFETIME_DAYS",
        default_value_t = 90,
        value_parser = clap::value_parser!(u32).range(1..=3650),
        help_heading = "Tokens"
    )]
    pub token_lifetime_days: u32,
    /// Seconds a rotated token keeps working beside its successor, unless `token rotate
    /// --grace` says otherwise (0: it stops at once; at most 30 days).
    #[arg(
        long,
        global = true,
        env = "LINKWAY_TOKEN_ROTATION_GRACE_SECS",
        default_value_t = 86_400,
        value_parser = clap::value_parser!(u64).range(0..=2_592_000),
        help_heading = "Tokens"
    )]
    pub token_rotation_grace_secs: u64,
    /// Requests each token may send, `<count>/<second|minute|hour>` (a burst of `count`,
    /// refilled evenly over the period), or `off`.
    #[arg(
        long,
        global = true,
        env = "LINKWAY_RATE_LIMIT_PER_TOKEN",
        default_value = "60000/minute",
        value_parser = tokens::limit,
        help_heading = "Tokens"
    )]
    pub rate_limit_per_token: Limit,
    /// Requests without a valid token each client address may send (an IPv6 address
    /// counts by its /64), `<count>/<second|minute|hour>`, or `off`.
    #[arg(
        long,
        global = true,
        env = "LINKWAY_RATE_LIMIT_PER_ADDRESS",
        default_value = "1200/minute",
        value_parser = tokens::limit,
        help_heading = "Tokens"
    )]
    pub rate_limit_per_address: Limit,
    /// Self-referrals (intake's public `POST /self-referrals` and `/self-referral` page)
    /// each client address may send, on top of the limits above,
    /// `<count>/<second|minute|hour>`, or `off`.
    #[arg(
        long,
        global = true,
        env = "LINKWAY_SELF_REFERRAL_LIMIT_PER_ADDRESS",
        default_value = "5/hour",
        value_parser = tokens::limit,
        help_heading = "Tokens"
    )]
    pub self_referral_limit_per_address: Limit,

    /// Log filter (tracing `EnvFilter` syntax).
    #[arg(
        long,
        global = true,
        env = "LINKWAY_LOG",
        default_value = "info,async_nats=warn",
        help_heading = "Logging"
    )]
    pub log: String,
    /// OpenTelemetry collector (OTLP over HTTP, JSON), e.g. `http://127.0.0.1:4318`:
    /// traces are exported to `<endpoint>/v1/traces`. Unset: no export (trace ids still
    /// go into log lines and events' headers).
    #[arg(
        long,
        global = true,
        env = "LINKWAY_OTLP_ENDPOINT",
        help_heading = "Logging"
    )]
    pub otlp_endpoint: Option<String>,
}

/// Settings parsed on their own, for [`Settings::defaults`].
#[derive(Debug, clap::Parser)]
struct Only {
    #[command(flatten)]
    settings: Settings,
}

impl Settings {
    /// The built-in defaults, ignoring the environment and any file (for tests and tools
    /// that set what they need on top).
    pub fn defaults() -> Settings {
        use clap::{CommandFactory, FromArgMatches};
        let command = Only::command().mut_args(|a| a.env(None));
        let matches = command
            .try_get_matches_from(["linkway"])
            .expect("the defaults parse");
        Only::from_arg_matches(&matches)
            .expect("the defaults parse")
            .settings
    }

    /// The key-encryption keys, when configured.
    pub fn keks(&self) -> anyhow::Result<Option<linkway_eventstore::vault::Keks>> {
        self.keks
            .as_ref()
            .map(|k| linkway_eventstore::vault::Keks::parse(k.expose()))
            .transpose()
            .map_err(|e| anyhow::anyhow!("LINKWAY_KEKS: {e}"))
    }

    pub fn store_config(&self) -> StoreConfig {
        StoreConfig {
            stream: self.stream.clone(),
            subject_prefix: self.subject_prefix.clone(),
            duplicate_window: Duration::from_secs(self.duplicate_window_secs),
            replicas: self.replicas,
            ..StoreConfig::default()
        }
    }

    /// The event versions this process writes (installed once by `serve`).
    pub fn write_versions(&self) -> WriteVersions {
        self.write_event_versions.clone().unwrap_or_default()
    }

    pub fn runner(&self) -> RunnerSettings {
        RunnerSettings {
            batch_size: usize::try_from(self.batch_size).unwrap_or(usize::MAX),
            max_delay: Duration::from_millis(self.batch_delay_ms),
            ready: ReadinessLimits {
                max_lag_events: self.ready_max_lag_events,
                max_lag: Duration::from_secs(self.ready_max_lag_secs),
            },
        }
    }

    pub fn database_url(&self) -> Secret {
        self.database_url.clone()
    }

    /// The database of one service, e.g. `linkway_link_worker`.
    pub fn database_name(&self, service: &str) -> String {
        format!("{}_{}", self.database_prefix, service.replace('-', "_"))
    }

    /// Where a service listens.
    pub fn listen_addr(&self, service: ServiceName) -> std::net::SocketAddr {
        let port = match service {
            ServiceName::Intake => self.intake_port,
            ServiceName::LinkWorker => self.link_worker_port,
            ServiceName::Reporting => self.reporting_port,
        };
        std::net::SocketAddr::new(self.bind, port)
    }

    /// How long a stop may take before what is left is aborted.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }

    /// Link-worker's decision settings.
    pub fn link_worker_policy(&self) -> linkway_link_worker::case::Policy {
        linkway_link_worker::case::Policy {
            max_contact_attempts: self.max_contact_attempts,
            connection_answer_days: self.connection_answer_days,
            connection_reminder_days: self.connection_reminder_days,
        }
    }

    /// Reporting's settings with `key` as the pseudonym key (the configured one, or the
    /// demo's).
    pub fn reporting(&self, key: Secret) -> anyhow::Result<linkway_reporting::Settings> {
        let disclosure = linkway_reporting::disclosure::Rules::new(
            self.disclosure_threshold,
            self.disclosure_rounding,
            self.disclosure_min_candidates,
        )?;
        Ok(linkway_reporting::Settings {
            disclosure,
            meaningful_swemwbs_change: self.swemwbs_meaningful_change,
            ..linkway_reporting::Settings::new(key)
        })
    }
}

#[cfg(test)]
mod tests;
