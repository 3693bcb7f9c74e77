use std::time::Duration;

/// Where and how the log is kept.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// JetStream stream name.
    pub stream: String,
    /// First subject token; the stream holds `<prefix>.>`.
    pub subject_prefix: String,
    /// How long JetStream remembers message ids to drop duplicates. Retries of a command
    /// must arrive within it to be recognised.
    pub duplicate_window: Duration,
    /// 1 on one machine, 3 in a cluster.
    pub replicas: usize,
    /// Publishes awaiting an acknowledgement before `publish` waits (async-nats's limit).
    pub max_in_flight: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            stream: "LINKWAY".into(),
            subject_prefix: "linkway".into(),
            duplicate_window: Duration::from_secs(24 * 60 * 60),
            replicas: 1,
            max_in_flight: 4096,
        }
    }
}
