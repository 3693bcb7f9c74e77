//! `linkway serve`: one process, any subset of the services.

use std::net::SocketAddr;

use anyhow::Context;
use linkway_eventstore::EventStore;
use linkway_platform::{Database, ServiceContext, Shutdown};

use crate::config::{Listen, Service, Settings};

/// Connects to NATS (retrying until it answers) and opens the event store.
pub async fn connect_store(
    settings: &Settings,
) -> anyhow::Result<(async_nats::Client, EventStore)> {
    let client = async_nats::ConnectOptions::new()
        .name("linkway")
        .retry_on_initial_connect()
        .connect(&settings.nats_url)
        .await
        .with_context(|| "connecting to NATS (LINKWAY_NATS_URL)")?;
    let store = EventStore::connect(client.clone(), settings.store_config()).await?;
    Ok((client, store))
}

/// Builds one service's context: its own database, the shared log.
pub async fn context(
    settings: &Settings,
    service: Service,
    nats: &async_nats::Client,
    store: &EventStore,
    shutdown: &Shutdown,
) -> anyhow::Result<ServiceContext> {
    let db = Database::open(&settings.database_url(), &settings.database_name(service))
        .await
        .with_context(|| {
            format!(
                "opening the {} database (LINKWAY_DATABASE_URL)",
                service.name()
            )
        })?;
    Ok(ServiceContext {
        nats: nats.clone(),
        store: store.clone(),
        db,
        runner: settings.runner(),
        shutdown: shutdown.clone(),
    })
}

/// Starts one service and returns its router.
pub async fn start(service: Service, ctx: ServiceContext) -> anyhow::Result<axum::Router> {
    match service {
        Service::Intake => linkway_intake::start(ctx).await,
        Service::LinkWorker => linkway_link_worker::start(ctx).await,
        Service::Reporting => linkway_reporting::start(ctx).await,
    }
}

/// A running service: where it listens.
#[derive(Debug, Clone)]
pub struct Running {
    pub service: Service,
    pub addr: SocketAddr,
}

/// Starts `services` and serves them until `shutdown` fires. Returns once all listen.
pub async fn serve(
    settings: &Settings,
    listen: &Listen,
    services: &[Service],
    shutdown: Shutdown,
) -> anyhow::Result<Vec<Running>> {
    let (nats, store) = connect_store(settings).await?;
    let mut running = Vec::new();
    for &service in services {
        let ctx = context(settings, service, &nats, &store, &shutdown).await?;
        let router = start(service, ctx).await?;
        let addr = format!("{}:{}", listen.bind, listen.port(service));
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .with_context(|| format!("binding {} to {addr}", service.name()))?;
        let addr = listener.local_addr()?;
        tracing::info!(service = service.name(), %addr, "listening");
        let stop = shutdown.clone();
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router)
                .with_graceful_shutdown(stop.wait())
                .await
            {
                tracing::error!(error = %e, "server stopped");
            }
        });
        running.push(Running { service, addr });
    }
    Ok(running)
}
