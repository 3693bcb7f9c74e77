//! The shape every service has, what it is given at start, and how a process stops.
//!
//! A [`Service`] names itself and its projections, runs its migrations, starts (spawning
//! its projections on the context's [`Shutdown`] task set and handing back its routes) and
//! rebuilds a projection by name. [`router`] wraps what a service started in the parts every
//! service shares: `/healthz`, `/readyz`, `/metrics`, `/openapi.json` and the request layer
//! ([`crate::http`]). The `linkway` binary runs any set of services through this trait
//! alone.
//!
//! Shutdown is two signals and two joins: servers stop accepting and drain in-flight
//! requests first (they still need the projections and the log), then background tasks
//! (projection runners) finish the batch they are on; every task is joined within the
//! grace period ([`ShutdownTrigger::stop`]).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::routing::get;
pub use futures::future::BoxFuture;
use linkway_eventstore::EventStore;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::Database;
use crate::ops;
use crate::projection::{Checkpoint, Projection, ProjectionRunner, RunnerSettings};
use crate::web::{Web, WebSettings};

/// Reports rebuild progress: events applied so far, events in the log.
pub type Progress<'a> = dyn Fn(u64, u64) + Sync + 'a;

/// One Linkway service (intake, link-worker, reporting), as the binary runs it.
pub trait Service: Send + Sync {
    /// Its name, e.g. `link-worker`; also the suffix of its database.
    fn name(&self) -> &'static str;

    /// The projections it keeps, by name, for `linkway rebuild <name>`.
    fn projections(&self) -> &'static [&'static str];

    /// Its OpenAPI document: served at `/openapi.json` (with the operational routes and
    /// the edge's answers added, [`router`]), and the source of the `operationId` that
    /// labels each request's span and metrics.
    fn openapi(&self) -> utoipa::openapi::OpenApi;

    /// Path prefixes whose errors are not problem+json (intake's FHIR: OperationOutcome).
    fn dialects(&self) -> Vec<crate::http::Dialect> {
        Vec::new()
    }

    /// Brings its own tables (not its projections) up to date. Starts nothing.
    fn migrate<'a>(&'a self, db: &'a Database) -> BoxFuture<'a, anyhow::Result<()>>;

    /// Runs its migrations, spawns its projections (on `ctx.shutdown`'s task set) and
    /// returns its API routes and what its readiness depends on.
    fn start<'a>(&'a self, ctx: &'a ServiceContext) -> BoxFuture<'a, anyhow::Result<Started>>;

    /// Rebuilds one of its projections from the start of the log and swaps it in; the
    /// checkpoint reached, or `None` when `projection` is not one of its own.
    fn rebuild<'a>(
        &'a self,
        ctx: &'a ServiceContext,
        projection: &'a str,
        progress: &'a Progress<'a>,
    ) -> BoxFuture<'a, anyhow::Result<Option<u64>>>;
}

/// What a started service hands back: its routes and what readiness watches.
pub struct Started {
    /// The service's own routes, state applied (no operational routes, no layer).
    pub routes: axum::Router,
    /// Its projections by name, for `/readyz`.
    pub projections: Vec<(&'static str, Checkpoint)>,
    /// Its own gauges, set at each scrape of `/metrics`.
    pub on_scrape: Option<ops::ScrapeHook>,
}

/// Starts `service` and returns its whole router: its routes, the operational routes,
/// `/openapi.json`, all under the request layer.
pub async fn router(service: &dyn Service, ctx: &ServiceContext) -> anyhow::Result<axum::Router> {
    let started = service.start(ctx).await?;
    let dialects = service.dialects();
    let mut openapi = service.openapi();
    ops::document(&mut openapi);
    crate::web::sign_in::document(&mut openapi);
    crate::web::admin::document(&mut openapi);
    crate::http::edges::document(&mut openapi, &dialects);
    crate::rate_limit::document(&mut openapi, &dialects);
    let operations = crate::http::OperationIds::from_openapi(&openapi);
    let registry = started
        .projections
        .iter()
        .find(|(name, _)| *name == "registry")
        .map(|(_, cp)| cp.clone());
    let web = Arc::new(Web::new(
        service.name(),
        ctx.web.clone(),
        ctx.db.clone(),
        ctx.registry_store.clone(),
        registry,
    ));
    let readiness = ops::Readiness {
        service: service.name(),
        db: ctx.db.clone(),
        nats: ctx.nats.clone(),
        projections: started.projections,
        on_scrape: started.on_scrape,
    };
    let served = Arc::new(openapi);
    let routes = started.routes.merge(ops::routes(readiness)).route(
        "/openapi.json",
        get(move || {
            let served = served.clone();
            async move { Json((*served).clone()) }
        }),
    );
    let routes = routes
        .merge(crate::web::sign_in::routes())
        .merge(crate::web::admin::routes())
        .merge(crate::web::assets::routes(ctx.web.assets.as_deref()))
        .layer(axum::middleware::from_fn(crate::web::signed_in::layer))
        .layer(axum::Extension(web));
    let routes =
        crate::rate_limit::layer(routes, service.name(), ctx.db.clone(), ctx.limits.clone());
    let routes = crate::http::edges::layer(routes, dialects);
    Ok(crate::http::layer(routes, service.name(), operations))
}

/// Everything a service needs to run: the log, its own database, batching settings and
/// the shutdown signal (and task set) for its background tasks.
#[derive(Clone)]
pub struct ServiceContext {
    pub nats: async_nats::Client,
    /// The log as the service writes it (its own NATS user, when it has one).
    pub store: EventStore,
    /// The log as the registry's writer: the pages append registry events through it
    /// (signing in and out, the admin pages), as the process's registry NATS user when it
    /// has one; else the same connection as `store`.
    pub registry_store: EventStore,
    /// The service's own database; no other service reads or writes it.
    pub db: Database,
    pub runner: RunnerSettings,
    /// Background tasks watch it and are spawned on its task set, so they are joined.
    pub shutdown: Shutdown,
    /// The pages' settings (the same for every service of the process).
    pub web: Arc<WebSettings>,
    /// The rate limits' buckets, shared by every service of the process.
    pub limits: Arc<crate::rate_limit::RateLimiter>,
    /// The clock the service's timers decide by (the system's, unless a test sets one)
    /// and how often they look.
    pub timers: crate::clock::Timers,
}

impl ServiceContext {
    /// Prepares a projection and runs it in the background until shutdown; the task is
    /// joined by [`ShutdownTrigger::stop`] after it finishes the batch it is applying.
    pub async fn spawn_projection<P: Projection>(
        &self,
        projection: P,
    ) -> anyhow::Result<Checkpoint> {
        let runner =
            ProjectionRunner::new(projection, self.db.clone(), self.store.clone(), self.runner)
                .await?;
        let checkpoint = runner.checkpoint();
        let stop = self.shutdown.clone().wait();
        self.shutdown
            .spawn(format!("projection {}", P::NAME), runner.run(stop));
        Ok(checkpoint)
    }

    /// Rebuilds a projection from the start of the log and swaps it in.
    pub async fn rebuild<P: Projection>(
        &self,
        projection: P,
        progress: &Progress<'_>,
    ) -> anyhow::Result<u64> {
        crate::projection::rebuild(&projection, &self.db, &self.store, self.runner, progress).await
    }
}

/// The tasks started under one [`Shutdown`], by name, so a stop can join them and say
/// which did not finish.
#[derive(Default)]
struct Tasks {
    set: JoinSet<()>,
    names: HashMap<tokio::task::Id, String>,
}

/// Tells every task of a process (or of one phase of it) to stop, and joins them.
/// Dropping the trigger also tells them to stop (without joining).
pub struct ShutdownTrigger {
    signal: watch::Sender<bool>,
    tasks: Arc<Mutex<Tasks>>,
}

/// Tasks still running when the grace period ran out (they were aborted).
#[derive(Debug, thiserror::Error)]
#[error("still running after the grace period, aborted: {}", .0.join(", "))]
pub struct Unfinished(pub Vec<String>);

impl ShutdownTrigger {
    /// Tells the tasks to stop; does not wait.
    pub fn fire(&self) {
        self.signal.send_replace(true);
    }

    /// Tells the tasks to stop and joins every one of them (including any spawned while
    /// stopping), at most `grace`; those still running then are aborted and named.
    pub async fn stop(&self, grace: Duration) -> Result<(), Unfinished> {
        self.fire();
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            let mut tasks = std::mem::take(&mut *self.tasks.lock().expect("task set lock"));
            if tasks.set.is_empty() {
                return Ok(());
            }
            while !tasks.set.is_empty() {
                match tokio::time::timeout_at(deadline, tasks.set.join_next_with_id()).await {
                    Ok(Some(Ok((id, ())))) => {
                        if let Some(name) = tasks.names.remove(&id) {
                            tracing::debug!(task = %name, "stopped");
                        }
                    }
                    Ok(Some(Err(e))) => {
                        let name = tasks.names.remove(&e.id()).unwrap_or_default();
                        tracing::error!(task = %name, error = %e, "task failed while stopping");
                    }
                    Ok(None) => break,
                    Err(_) => {
                        tasks.set.abort_all();
                        let mut names: Vec<String> = tasks.names.into_values().collect();
                        names.sort();
                        return Err(Unfinished(names));
                    }
                }
            }
        }
    }
}

/// Resolves when the process is shutting down; spawns tasks that stopping joins. Clone it
/// into every task.
#[derive(Clone)]
pub struct Shutdown {
    signal: watch::Receiver<bool>,
    tasks: Arc<Mutex<Tasks>>,
}

impl Shutdown {
    pub fn new() -> (ShutdownTrigger, Shutdown) {
        let (tx, rx) = watch::channel(false);
        let tasks = Arc::new(Mutex::new(Tasks::default()));
        (
            ShutdownTrigger {
                signal: tx,
                tasks: tasks.clone(),
            },
            Shutdown { signal: rx, tasks },
        )
    }

    /// Resolves once the trigger fires (or is dropped).
    pub async fn wait(mut self) {
        let _ = self.signal.wait_for(|stop| *stop).await;
    }

    /// Whether the trigger has fired.
    pub fn is_fired(&self) -> bool {
        *self.signal.borrow()
    }

    /// Runs `task` in the background; [`ShutdownTrigger::stop`] joins it. The task must
    /// end by itself once [`Shutdown::wait`] resolves.
    pub fn spawn(&self, name: impl Into<String>, task: impl Future<Output = ()> + Send + 'static) {
        let mut tasks = self.tasks.lock().expect("task set lock");
        let id = tasks.set.spawn(task).id();
        tasks.names.insert(id, name.into());
    }
}

/// Resolves on the first SIGTERM or Ctrl-C (SIGINT), naming it.
pub async fn terminate_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("install a SIGTERM handler");
        tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = tokio::signal::ctrl_c() => "Ctrl-C",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stop_joins_every_task_after_it_finishes_its_work() {
        let (trigger, shutdown) = Shutdown::new();
        let finished = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for i in 0..3 {
            let stop = shutdown.clone();
            let finished = finished.clone();
            shutdown.spawn(format!("worker {i}"), async move {
                stop.wait().await;
                // The batch in hand is finished after the signal.
                tokio::time::sleep(Duration::from_millis(50)).await;
                finished.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            });
        }
        trigger
            .stop(Duration::from_secs(5))
            .await
            .expect("all stop");
        assert_eq!(finished.load(std::sync::atomic::Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn stop_names_and_aborts_what_outlives_the_grace_period() {
        let (trigger, shutdown) = Shutdown::new();
        shutdown.spawn("polite", shutdown.clone().wait());
        shutdown.spawn("stubborn", std::future::pending());
        let started = std::time::Instant::now();
        let err = trigger
            .stop(Duration::from_millis(200))
            .await
            .expect_err("one task never ends");
        assert_eq!(err.0, vec!["stubborn".to_owned()]);
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
