//! Configuration: environment variables with the `LINKWAY_` prefix (or flags).

use std::time::Duration;

use clap::Args;
use linkway_eventstore::StoreConfig;
use linkway_platform::RunnerSettings;
use linkway_platform::secret::Secret;

/// Where Linkway finds NATS and PostgreSQL, and how it names things there.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// NATS server URL.
    #[arg(
        long,
        env = "LINKWAY_NATS_URL",
        default_value = "nats://127.0.0.1:4222"
    )]
    pub nats_url: String,
    /// PostgreSQL server URL; each service uses its own database there (created if missing).
    #[arg(
        long,
        env = "LINKWAY_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres",
        hide_env_values = true
    )]
    pub database_url: String,
    /// Prefix of the service databases: `<prefix>_intake`, `<prefix>_link_worker`, `<prefix>_reporting`.
    #[arg(long, env = "LINKWAY_DATABASE_PREFIX", default_value = "linkway")]
    pub database_prefix: String,
    /// JetStream stream holding the event log.
    #[arg(long, env = "LINKWAY_STREAM", default_value = "LINKWAY")]
    pub stream: String,
    /// First token of every subject.
    #[arg(long, env = "LINKWAY_SUBJECT_PREFIX", default_value = "linkway")]
    pub subject_prefix: String,
    /// How long JetStream remembers message ids (seconds): retries within it are deduplicated.
    #[arg(long, env = "LINKWAY_DUPLICATE_WINDOW_SECS", default_value_t = 86_400)]
    pub duplicate_window_secs: u64,
    /// Stream replicas: 1 on one machine, 3 in a cluster.
    #[arg(long, env = "LINKWAY_REPLICAS", default_value_t = 1)]
    pub replicas: usize,
    /// Most events a projection applies per transaction.
    #[arg(long, env = "LINKWAY_BATCH_SIZE", default_value_t = 5000)]
    pub batch_size: usize,
    /// Longest wait (ms) for more events before a projection applies a partial batch.
    #[arg(long, env = "LINKWAY_BATCH_DELAY_MS", default_value_t = 20)]
    pub batch_delay_ms: u64,
}

impl Settings {
    pub fn store_config(&self) -> StoreConfig {
        StoreConfig {
            stream: self.stream.clone(),
            subject_prefix: self.subject_prefix.clone(),
            duplicate_window: Duration::from_secs(self.duplicate_window_secs),
            replicas: self.replicas,
            ..StoreConfig::default()
        }
    }

    pub fn runner(&self) -> RunnerSettings {
        RunnerSettings {
            batch_size: self.batch_size.max(1),
            max_delay: Duration::from_millis(self.batch_delay_ms),
        }
    }

    pub fn database_url(&self) -> Secret {
        Secret::new(self.database_url.clone())
    }

    /// The database of one service, e.g. `linkway_link_worker`.
    pub fn database_name(&self, service: Service) -> String {
        format!(
            "{}_{}",
            self.database_prefix,
            service.name().replace('-', "_")
        )
    }
}

/// The services one `linkway` process can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Service {
    Intake,
    LinkWorker,
    Reporting,
}

impl Service {
    pub const ALL: [Service; 3] = [Service::Intake, Service::LinkWorker, Service::Reporting];

    pub fn name(self) -> &'static str {
        match self {
            Service::Intake => "intake",
            Service::LinkWorker => "link-worker",
            Service::Reporting => "reporting",
        }
    }
}

/// Where each service listens.
#[derive(Debug, Clone, Args)]
pub struct Listen {
    /// Address to bind.
    #[arg(long, env = "LINKWAY_BIND", default_value = "127.0.0.1")]
    pub bind: String,
    #[arg(long, env = "LINKWAY_INTAKE_PORT", default_value_t = 8081)]
    pub intake_port: u16,
    #[arg(long, env = "LINKWAY_LINK_WORKER_PORT", default_value_t = 8082)]
    pub link_worker_port: u16,
    #[arg(long, env = "LINKWAY_REPORTING_PORT", default_value_t = 8083)]
    pub reporting_port: u16,
}

impl Listen {
    pub fn port(&self, service: Service) -> u16 {
        match service {
            Service::Intake => self.intake_port,
            Service::LinkWorker => self.link_worker_port,
            Service::Reporting => self.reporting_port,
        }
    }
}
