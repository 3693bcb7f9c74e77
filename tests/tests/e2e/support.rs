//! Shared helpers for the e2e tests.

use linkway::Settings;
use linkway_eventstore::{EventStore, StoreConfig};
use linkway_platform::secret::Secret;
use linkway_testkit::{Scope, TestEnv};

/// `linkway serve`'s settings on `env`'s servers and private names: any free ports, small
/// batch delays, a pseudonym key for test data.
pub fn settings(env: &TestEnv) -> Settings {
    Settings {
        nats_url: vec![env.nats_url.clone()],
        database_url: Secret::new(env.postgres_url.clone()),
        database_prefix: env.scope.database_prefix.clone(),
        stream: env.scope.stream.clone(),
        subject_prefix: env.scope.subject_prefix.clone(),
        duplicate_window_secs: 3600,
        batch_size: 500,
        batch_delay_ms: 5,
        // Any free ports.
        intake_port: 0,
        link_worker_port: 0,
        reporting_port: 0,
        pseudonym_key: Some(Secret::new("skeleton-test-pseudonym-key")),
        ..Settings::defaults()
    }
}

/// Connects an event store on `nats_url` with the scope's private stream.
pub async fn store(nats_url: &str, scope: &Scope) -> EventStore {
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connect(nats_url)
        .await
        .expect("connect to NATS");
    EventStore::connect(
        client,
        StoreConfig {
            stream: scope.stream.clone(),
            subject_prefix: scope.subject_prefix.clone(),
            ..StoreConfig::default()
        },
    )
    .await
    .expect("event store")
}
