//! `linkway migrate`: creates the service databases and brings their tables up to date.
//! Starts no projection and no server, and needs no NATS.

use linkway_platform::Database;

use crate::catalogue::{self, ServiceName};
use crate::config::Settings;

/// Migrates every service's database; returns the databases, by service.
pub async fn migrate(settings: &Settings) -> anyhow::Result<Vec<(ServiceName, String)>> {
    let mut done = Vec::new();
    for name in ServiceName::ALL {
        let service = catalogue::build(name, settings, None)?;
        let database = settings.database_name(service.name());
        let db = Database::open(&settings.database_url(), &database).await?;
        service.migrate(&db).await?;
        done.push((name, database));
    }
    Ok(done)
}
