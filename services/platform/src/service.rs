//! What a service is given at start, and how it stops.

use linkway_eventstore::EventStore;
use tokio::sync::watch;

use crate::Database;
use crate::projection::{Checkpoint, Projection, ProjectionRunner, RunnerSettings};

/// Tells every task of a process to stop. Dropping the trigger also stops them.
pub struct ShutdownTrigger(watch::Sender<bool>);

impl ShutdownTrigger {
    pub fn fire(&self) {
        self.0.send_replace(true);
    }
}

/// Resolves when the process is shutting down. Clone it into every task.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    pub fn new() -> (ShutdownTrigger, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (ShutdownTrigger(tx), Shutdown(rx))
    }

    pub async fn wait(mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

/// Everything a service needs to run: the log, its own database, batching settings and
/// the shutdown signal for its background tasks.
#[derive(Clone)]
pub struct ServiceContext {
    pub nats: async_nats::Client,
    pub store: EventStore,
    /// The service's own database; no other service reads or writes it.
    pub db: Database,
    pub runner: RunnerSettings,
    pub shutdown: Shutdown,
}

impl ServiceContext {
    /// Prepares a projection and runs it in the background until shutdown.
    pub async fn spawn_projection<P: Projection>(
        &self,
        projection: P,
    ) -> anyhow::Result<Checkpoint> {
        let runner =
            ProjectionRunner::new(projection, self.db.clone(), self.store.clone(), self.runner)
                .await?;
        let checkpoint = runner.checkpoint();
        tokio::spawn(runner.run(self.shutdown.clone().wait()));
        Ok(checkpoint)
    }

    /// Rebuilds a projection from the start of the log and swaps it in.
    pub async fn rebuild<P: Projection>(
        &self,
        projection: P,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> anyhow::Result<u64> {
        crate::projection::rebuild(&projection, &self.db, &self.store, self.runner, progress).await
    }
}
