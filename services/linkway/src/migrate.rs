//! `linkway migrate`: creates the service databases and brings their tables up to date;
//! with `LINKWAY_DATABASE_PASSWORDS`, also each service's own role. Starts no projection
//! and no server, and needs no NATS, unless asked to create or update the event log's
//! stream too (`--with-stream`).
//!
//! It runs as the migration role of `LINKWAY_DATABASE_URL` (which owns the databases and
//! their tables, and creates the services' roles: `CREATEDB` and `CREATEROLE`, or a
//! superuser); the services then run as their own roles, which may not change a migrated
//! table ([`linkway_platform::db::roles`]).

use anyhow::Context as _;
use linkway_platform::Database;
use linkway_platform::db::roles;

use crate::catalogue::{self, ServiceName};
use crate::config::Settings;

/// One service's database after a migration.
#[derive(Debug, Clone)]
pub struct Migrated {
    pub service: ServiceName,
    pub database: String,
    /// The service's own role, when it has one (set up afresh).
    pub role: Option<String>,
}

/// Migrates every service's database and sets up each service's own role; returns what
/// was done, by service.
pub async fn migrate(settings: &Settings) -> anyhow::Result<Vec<Migrated>> {
    // Every setting checked before anything changes.
    let roles = ServiceName::ALL
        .into_iter()
        .map(|name| Ok((name, settings.database_role(name)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let any_role = roles.iter().any(|(_, role)| role.is_some());
    let mut done = Vec::new();
    for (name, role) in roles {
        let service = catalogue::build(name, settings, None)?;
        let database = settings.database_name(service.name());
        let db = Database::open_on(&settings.database_server(), &database).await?;
        service.migrate(&db).await?;
        // Once any service has a role of its own, no service database is left open to
        // every role on the server (the one of a service without its own role included).
        if any_role {
            roles::close_to_public(&settings.database_server(), &database).await?;
        }
        if let Some(role) = &role {
            roles::provision(&settings.database_server(), &database, role).await?;
        }
        done.push(Migrated {
            service: name,
            database,
            role: role.map(|r| r.role),
        });
    }
    Ok(done)
}

/// Creates the event log's stream, or brings it to the settings (`LINKWAY_REPLICAS`, the
/// duplicate window), as the process's NATS user: one allowed to (deploy/nats's
/// `operator`), since the services' own users may only read its settings. Returns the
/// stream's name.
pub async fn stream(settings: &Settings) -> anyhow::Result<String> {
    let (_, store) = crate::serve::connect_store(settings).await?;
    // The data keys' bucket beside it (the services' own users may only use it).
    linkway_eventstore::vault::create_bucket(&store)
        .await
        .context("creating the data keys' bucket")?;
    Ok(store.config().stream.clone())
}
