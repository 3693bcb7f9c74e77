//! Shared helpers for the e2e tests.

use linkway_eventstore::{EventStore, StoreConfig};
use linkway_testkit::Scope;

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
