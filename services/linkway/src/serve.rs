//! `linkway serve`: one process, any subset of the services, and a clean stop.
//!
//! Stopping (SIGTERM, Ctrl-C, or [`Server::stop`]) is two phases within one grace period:
//! the servers refuse requests that have not started (503 with `Retry-After`), finish the
//! ones in flight (which may still need the log, the databases and the projections) and
//! stop accepting, then the projection runners finish the batch they are applying; every
//! task is joined. What is still running at the end of the grace period is aborted and
//! named, and the stop is an error.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use linkway_eventstore::EventStore;
use linkway_platform::http::drain::Gate;
use linkway_platform::secret::Secret;
use linkway_platform::service::{self, Unfinished};
use linkway_platform::{Database, Service, ServiceContext, Shutdown, ShutdownTrigger};

use crate::catalogue::{self, ServiceName};
use crate::config::{Connection, NatsLogin, Settings};

/// Connects to NATS as the process (any of the seeds; retrying until one answers) and
/// opens the event store: for commands that are no service (`backup`, `demo`, `load`).
pub async fn connect_store(
    settings: &Settings,
) -> anyhow::Result<(async_nats::Client, EventStore)> {
    connect_store_as(settings, None).await
}

/// [`connect_store`] as `connection`'s own NATS user, when the settings give it one.
pub async fn connect_store_as(
    settings: &Settings,
    connection: Option<Connection>,
) -> anyhow::Result<(async_nats::Client, EventStore)> {
    open(settings, &settings.nats_login(connection)?).await
}

async fn open(
    settings: &Settings,
    login: &NatsLogin,
) -> anyhow::Result<(async_nats::Client, EventStore)> {
    let client = linkway_platform::nats::connect_as(
        &settings.nats_url,
        &login.client_name,
        &login.credentials,
    )
    .await
    .context("LINKWAY_NATS_URL")?;
    let store = EventStore::connect(client.clone(), settings.store_config())
        .await
        .with_context(|| match login.client_name.as_str() {
            "linkway" => "opening the event log".to_owned(),
            // deploy/nats: a connection's own user may read the stream's settings only.
            own => format!(
                "opening the event log as {own}, whose NATS user may not create the stream \
                 or change its settings: `linkway migrate --with-stream` does, as the operator"
            ),
        })?;
    Ok((client, store))
}

/// A service's view of the log: its own connection and store, and the registry's writer
/// its pages append through.
#[derive(Clone)]
pub struct Log {
    pub nats: async_nats::Client,
    pub store: EventStore,
    pub registry: EventStore,
}

/// A process's NATS connections: one per login (a service's own NATS user, the
/// registry's, the process's), so each service publishes only as its own user; services
/// and the registry without a user of their own share the process's one connection.
#[derive(Default)]
pub struct Connections {
    open: Vec<(NatsLogin, async_nats::Client, EventStore)>,
    /// The process's vault (`LINKWAY_KEKS`), opened for the first service that holds
    /// personal data.
    vault: Option<linkway_eventstore::Vault>,
}

impl Connections {
    /// `connection`'s client and store, connecting on first use of its login.
    pub async fn get(
        &mut self,
        settings: &Settings,
        connection: Option<Connection>,
    ) -> anyhow::Result<(async_nats::Client, EventStore)> {
        let login = settings.nats_login(connection)?;
        if let Some((_, client, store)) = self
            .open
            .iter()
            .find(|(open, _, _)| open.credentials == login.credentials)
        {
            return Ok((client.clone(), store.clone()));
        }
        let (client, store) = open(settings, &login).await?;
        self.open.push((login, client.clone(), store.clone()));
        Ok((client, store))
    }

    /// What `service` runs on: its own connection and the registry's.
    pub async fn log(&mut self, settings: &Settings, service: ServiceName) -> anyhow::Result<Log> {
        let (nats, mut store) = self
            .get(settings, Some(Connection::Service(service)))
            .await?;
        if matches!(service, ServiceName::Intake | ServiceName::LinkWorker) {
            match self.vault(settings, &store).await? {
                Some(vault) => store = store.with_vault(vault),
                None => tracing::warn!(
                    service = service.name(),
                    "LINKWAY_KEKS is not set: personal data is written to the log in clear"
                ),
            }
        }
        let (_, registry) = self.get(settings, Some(Connection::Registry)).await?;
        Ok(Log {
            nats,
            store,
            registry,
        })
    }

    /// The vault, opened on first use; `None` without `LINKWAY_KEKS`.
    async fn vault(
        &mut self,
        settings: &Settings,
        store: &EventStore,
    ) -> anyhow::Result<Option<linkway_eventstore::Vault>> {
        if self.vault.is_none()
            && let Some(keks) = settings.keks()?
        {
            let keys = linkway_eventstore::vault::KeyStore::open(store, keks)
                .await
                .context("opening the data keys' bucket (LINKWAY_KEKS)")?;
            self.vault = Some(linkway_eventstore::Vault::new(keys));
        }
        Ok(self.vault.clone())
    }

    /// How many connections are open.
    pub fn len(&self) -> usize {
        self.open.len()
    }

    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }
}

/// Builds one service's context: its own database (as its own role, when it has one),
/// its view of the log, `shutdown` for its background tasks, and the pages' settings
/// every service of the process shares.
pub async fn context(
    settings: &Settings,
    service: &dyn Service,
    log: &Log,
    shutdown: &Shutdown,
    web: std::sync::Arc<linkway_platform::web::WebSettings>,
    limits: std::sync::Arc<linkway_platform::rate_limit::RateLimiter>,
) -> anyhow::Result<ServiceContext> {
    let name = ServiceName::ALL
        .into_iter()
        .find(|n| n.name() == service.name())
        .context("a service the catalogue does not name")?;
    let database = settings.database_name(service.name());
    let db = match settings.database_role(name)? {
        Some(role) => Database::open_as(&settings.database_server(), &database, &role)
            .await
            .with_context(|| {
                format!(
                    "opening the {} database as its role {} (LINKWAY_DATABASE_PASSWORDS, \
                     LINKWAY_DATABASE_CERT_FILES)",
                    service.name(),
                    role.role
                )
            })?,
        None => Database::open_on(&settings.database_server(), &database)
            .await
            .with_context(|| {
                format!(
                    "opening the {} database (LINKWAY_DATABASE_URL)",
                    service.name()
                )
            })?,
    };
    Ok(ServiceContext {
        nats: log.nats.clone(),
        store: log.store.clone(),
        registry_store: log.registry.clone(),
        db,
        runner: settings.runner(),
        shutdown: shutdown.clone(),
        web,
        limits,
        timers: settings.timers(),
    })
}

/// A running service: where it listens.
#[derive(Debug, Clone)]
pub struct Running {
    pub service: ServiceName,
    pub addr: SocketAddr,
}

/// A running `linkway serve`: where each service listens, and how to stop it.
pub struct Server {
    pub running: Vec<Running>,
    /// Stops the HTTP servers (first).
    servers: ShutdownTrigger,
    /// Stops the projection runners (after the servers have drained).
    background: ShutdownTrigger,
    grace: Duration,
}

/// Starts `services` (each migrated, its projections running, its server listening).
/// Reporting runs on `pseudonym_key`; without one, starting it fails.
pub async fn start(
    settings: &Settings,
    services: &[ServiceName],
    pseudonym_key: Option<&Secret>,
) -> anyhow::Result<Server> {
    start_with(settings, services, pseudonym_key, settings.web()?).await
}

/// [`start`] with the pages' settings given (the demo adds its one-click users).
pub async fn start_with(
    settings: &Settings,
    services: &[ServiceName],
    pseudonym_key: Option<&Secret>,
    web: std::sync::Arc<linkway_platform::web::WebSettings>,
) -> anyhow::Result<Server> {
    let (servers, servers_stop) = Shutdown::new();
    let (background, background_stop) = Shutdown::new();
    let mut server = Server {
        running: Vec::new(),
        servers,
        background,
        grace: settings.shutdown_grace(),
    };
    if services.contains(&ServiceName::Reporting) && pseudonym_key.is_none() {
        anyhow::bail!(linkway_reporting::NO_PSEUDONYM_KEY);
    }
    // The versions this process writes, set once for the process (a rolling upgrade pins
    // older ones until every process reads the newest: README "Upgrading").
    let versions = settings.write_versions();
    linkway_events::write_versions::install(versions.clone())
        .context("LINKWAY_WRITE_EVENT_VERSIONS")?;
    if !versions.is_newest() {
        tracing::info!(pinned = %versions, "writing older event versions for a rolling upgrade");
    }
    // Tokens issued here (the admin pages) live as long as the CLI's.
    settings.token_lifetimes().install()?;
    // One set of buckets for every service of the process.
    let limits = settings.rate_limiter();
    // Every listener first: a service on port 0 without a public URL is reached at the
    // address it was given, which its sign-in redirect needs (in the services' order).
    let mut listeners = Vec::new();
    for &name in services {
        let addr = settings.listen_addr(name);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {} to {addr}", name.name()))?;
        listeners.push((name.name(), listener));
    }
    let bound = listeners
        .iter()
        .map(|(name, listener)| Ok((*name, listener.local_addr()?)))
        .collect::<std::io::Result<Vec<_>>>()?;
    let web = std::sync::Arc::new(web.with_bound(&bound));
    let mut listeners = listeners.into_iter().map(|(_, listener)| listener);
    // Build them all first: a setting that is wrong fails before anything starts.
    let built = services
        .iter()
        .map(|&name| Ok((name, catalogue::build(name, settings, pseudonym_key)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut connections = Connections::default();
    for (name, service) in built {
        let log = connections.log(settings, name).await?;
        let ctx = context(
            settings,
            &*service,
            &log,
            &background_stop,
            web.clone(),
            limits.clone(),
        )
        .await?;
        let router = service::router(&*service, &ctx).await?;
        let listener = listeners.next().context("a listener per service")?;
        let addr = listener.local_addr()?;
        tracing::info!(service = name.name(), %addr, "listening");
        // On stop: refuse what has not started (503), finish what has, then close.
        let gate = Gate::default();
        let router = gate.layer(router);
        let stop = servers_stop.clone().wait();
        let drained = async move {
            stop.await;
            gate.drain().await;
        };
        servers_stop.spawn(format!("{} server", name.name()), async move {
            // The peer's address, for the rate limit per address.
            let app = router.into_make_service_with_connect_info::<SocketAddr>();
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(drained)
                .await
            {
                tracing::error!(error = %e, "server stopped");
            }
        });
        server.running.push(Running {
            service: name,
            addr,
        });
    }
    Ok(server)
}

impl Server {
    /// Stops accepting, drains in-flight requests, lets every projection finish its batch,
    /// and joins every task, all within the grace period.
    pub async fn stop(self) -> Result<(), Unfinished> {
        let deadline = tokio::time::Instant::now() + self.grace;
        let servers = self.servers.stop(self.grace).await;
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let background = self.background.stop(left).await;
        match (servers, background) {
            (Ok(()), Ok(())) => Ok(()),
            (Err(Unfinished(mut a)), Err(Unfinished(b))) => {
                a.extend(b);
                Err(Unfinished(a))
            }
            (Err(e), _) | (_, Err(e)) => Err(e),
        }
    }

    /// Serves until SIGTERM or Ctrl-C, then stops.
    pub async fn run_until_signal(self) -> Result<(), Unfinished> {
        let signal = service::terminate_signal().await;
        tracing::info!(signal, grace_secs = self.grace.as_secs(), "stopping");
        self.stop().await
    }
}

/// Starts `services` with the configured pseudonym key and serves them until `shutdown`
/// fires, then stops them (in the background). Returns once all listen.
pub async fn serve(
    settings: &Settings,
    services: &[ServiceName],
    shutdown: Shutdown,
) -> anyhow::Result<Vec<Running>> {
    let server = start(settings, services, settings.pseudonym_key.as_ref()).await?;
    let running = server.running.clone();
    tokio::spawn(async move {
        shutdown.wait().await;
        if let Err(e) = server.stop().await {
            tracing::error!(error = %e, "stopping");
        }
    });
    Ok(running)
}
