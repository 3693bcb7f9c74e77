//! One PostgreSQL database per service on a shared server, created on first use.

use std::str::FromStr;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

use crate::secret::Secret;

mod embedded {
    refinery::embed_migrations!("migrations");
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("LINKWAY_DATABASE_URL is not a PostgreSQL URL: {0}")]
    BadUrl(#[source] tokio_postgres::Error),
    #[error("cannot reach PostgreSQL: {0}")]
    Connect(#[source] tokio_postgres::Error),
    #[error("cannot create database {name}: {source}")]
    Create {
        name: String,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("migrations failed: {0}")]
    Migrate(String),
    #[error("pool: {0}")]
    Pool(String),
}

/// A service's own database.
#[derive(Clone)]
pub struct Database {
    pool: Pool,
    name: String,
}

impl Database {
    /// Connects to database `name` on the server of `server_url` (any database path in the
    /// URL is only used to reach the server), creating it when missing, and runs the
    /// platform's migrations. A service runs its own with [`Database::migrate`].
    pub async fn open(server_url: &Secret, name: &str) -> Result<Database, DbError> {
        let base =
            tokio_postgres::Config::from_str(server_url.expose()).map_err(DbError::BadUrl)?;
        create_if_missing(&base, name).await?;
        let mut config = base.clone();
        config.dbname(name);
        config.application_name("linkway");
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .build()
            .map_err(|e| DbError::Pool(e.to_string()))?;
        let db = Database {
            pool,
            name: name.to_owned(),
        };
        let mut platform = embedded::migrations::runner();
        platform.set_migration_table_name("platform_schema_history");
        db.run_migrations(platform).await?;
        Ok(db)
    }

    /// Runs a service's own embedded migrations (history kept in `service_schema_history`).
    pub async fn migrate(&self, mut runner: refinery::Runner) -> Result<(), DbError> {
        runner.set_migration_table_name("service_schema_history");
        self.run_migrations(runner).await
    }

    async fn run_migrations(&self, runner: refinery::Runner) -> Result<(), DbError> {
        let mut client = self.client().await?;
        let client: &mut tokio_postgres::Client = &mut client;
        runner
            .run_async(client)
            .await
            .map_err(|e| DbError::Migrate(e.to_string()))?;
        Ok(())
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub async fn client(&self) -> Result<deadpool_postgres::Object, DbError> {
        self.pool
            .get()
            .await
            .map_err(|e| DbError::Pool(e.to_string()))
    }

    /// True when a query round trip works.
    pub async fn is_reachable(&self) -> bool {
        match self.pool.get().await {
            Ok(c) => c.simple_query("SELECT 1").await.is_ok(),
            Err(_) => false,
        }
    }
}

async fn create_if_missing(base: &tokio_postgres::Config, name: &str) -> Result<(), DbError> {
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(DbError::Migrate(format!(
            "database name {name:?} must be lower-case letters, digits and _"
        )));
    }
    let mut admin = base.clone();
    admin.dbname("postgres");
    let (client, connection) = admin.connect(NoTls).await.map_err(DbError::Connect)?;
    let task = tokio::spawn(connection);
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await
        .map_err(DbError::Connect)?
        .is_some();
    if !exists {
        // Concurrent CREATE DATABASEs can collide on the template ("being accessed by
        // other users"); a short retry clears it.
        let mut attempt = 0;
        loop {
            match client
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await
            {
                Ok(()) => {
                    tracing::info!(database = name, "database created");
                    break;
                }
                // Another process created it at the same moment: PostgreSQL says so as a
                // duplicate database, or, when the two inserts race, as a unique violation
                // of `pg_database`'s name index.
                Err(e)
                    if e.code() == Some(&SqlState::DUPLICATE_DATABASE)
                        || e.code() == Some(&SqlState::UNIQUE_VIOLATION) =>
                {
                    break;
                }
                Err(e) if e.code() == Some(&SqlState::OBJECT_IN_USE) && attempt < 20 => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(50 * attempt)).await;
                }
                Err(source) => {
                    return Err(DbError::Create {
                        name: name.to_owned(),
                        source,
                    });
                }
            }
        }
    }
    drop(client);
    let _ = task.await;
    Ok(())
}
