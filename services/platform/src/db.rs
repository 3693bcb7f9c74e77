//! One PostgreSQL database per service on a shared server, created on first use.
//!
//! A database is opened one of two ways. [`Database::open`] connects as the role of the
//! server URL, creates the database when missing and runs the migrations: `linkway
//! migrate`, and every process of a deployment with one role for everything. Or
//! [`Database::open_as`] connects as the service's own role ([`roles`]: created by
//! `linkway migrate`, able to reach only its own database, DML on the migrated tables and
//! DDL only in the schemas of its read models), runs no migration and refuses to start
//! while one is missing. Either way over TLS when the [`Server`] has a CA ([`tls`]), and as
//! a service's role with its password, its client certificate or both.

pub mod roles;
pub mod tls;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

use tls::Connector;
pub use tls::{ClientCertificate, Server};

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
    #[error(
        "database {database} lacks migrations {missing} ({table}): run `linkway migrate` \
         (its role creates the tables; this service's role may not)"
    )]
    NotMigrated {
        database: String,
        table: &'static str,
        missing: String,
    },
    #[error("cannot set up the role {role}: {source}")]
    Role {
        role: String,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("{0}")]
    Refused(String),
    #[error("database TLS: {0}")]
    Tls(String),
}

/// A service's own role on the server: its name, and how it logs in: its password, its
/// client certificate (whose common name is the role's), or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleLogin {
    pub role: String,
    pub password: Option<Secret>,
    pub certificate: Option<ClientCertificate>,
}

/// A service's own database.
#[derive(Clone)]
pub struct Database {
    pool: Pool,
    name: String,
    /// False when connected as the service's own role: migrations are checked, not run.
    migrates: bool,
}

/// Migration history tables (refinery's): the platform's and the service's own.
const PLATFORM_HISTORY: &str = "platform_schema_history";
const SERVICE_HISTORY: &str = "service_schema_history";

impl Database {
    /// Connects to database `name` on the server of `server_url` (any database path in the
    /// URL is only used to reach the server), creating it when missing, and runs the
    /// platform's migrations. A service runs its own with [`Database::migrate`].
    pub async fn open(server_url: &Secret, name: &str) -> Result<Database, DbError> {
        Database::open_on(&Server::plain(server_url.clone()), name).await
    }

    /// [`Database::open`] on `server`, over TLS when it has a CA.
    pub async fn open_on(server: &Server, name: &str) -> Result<Database, DbError> {
        let base = server.config()?;
        let tls = server.connector(None)?;
        create_if_missing(&base, &tls, name).await?;
        let db = Database::with_pool(base, tls, name, true)?;
        let mut platform = embedded::migrations::runner();
        platform.set_migration_table_name(PLATFORM_HISTORY);
        db.run_migrations(platform).await?;
        Ok(db)
    }

    /// Connects to database `name` on `server` as the service's own role `login` (the
    /// URL's user and password are not used; its client certificate, if any, is presented),
    /// creating nothing and migrating nothing: it fails while the platform's migrations are
    /// not all there (`linkway migrate` runs them). [`Database::migrate`] then checks a
    /// service's own.
    pub async fn open_as(
        server: &Server,
        name: &str,
        login: &RoleLogin,
    ) -> Result<Database, DbError> {
        let mut base = server.config()?;
        base.user(&login.role);
        match &login.password {
            Some(password) => base.password(password.expose()),
            // No password of the URL's user sent for the service's role.
            None => base.password(""),
        };
        let tls = server.connector(login.certificate.as_ref())?;
        let db = Database::with_pool(base, tls, name, false)?;
        db.check_migrated(&embedded::migrations::runner(), PLATFORM_HISTORY)
            .await?;
        Ok(db)
    }

    fn with_pool(
        base: tokio_postgres::Config,
        tls: Connector,
        name: &str,
        migrates: bool,
    ) -> Result<Database, DbError> {
        let mut config = base;
        config.dbname(name);
        config.application_name("linkway");
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match tls {
            Connector::Plain => Manager::from_config(config, NoTls, manager_config),
            Connector::Tls(tls) => Manager::from_config(config, tls, manager_config),
        };
        let pool = Pool::builder(manager)
            .max_size(16)
            .build()
            .map_err(|e| DbError::Pool(e.to_string()))?;
        Ok(Database {
            pool,
            name: name.to_owned(),
            migrates,
        })
    }

    /// Runs a service's own embedded migrations (history kept in `service_schema_history`);
    /// as the service's own role, checks that they have been run.
    pub async fn migrate(&self, mut runner: refinery::Runner) -> Result<(), DbError> {
        if !self.migrates {
            return self.check_migrated(&runner, SERVICE_HISTORY).await;
        }
        runner.set_migration_table_name(SERVICE_HISTORY);
        self.run_migrations(runner).await
    }

    /// Fails naming the migrations of `runner` that `table` does not record as applied.
    async fn check_migrated(
        &self,
        runner: &refinery::Runner,
        table: &'static str,
    ) -> Result<(), DbError> {
        let wanted: Vec<i64> = runner
            .get_migrations()
            .iter()
            .map(|m| i64::from(m.version()))
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let client = self.client().await?;
        let exists = client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
            .await
            .map_err(DbError::Connect)?
            .get::<_, bool>(0);
        let applied: Vec<i64> = if exists {
            client
                .query(&format!("SELECT version::bigint FROM {table}"), &[])
                .await
                .map_err(DbError::Connect)?
                .iter()
                .map(|r| r.get(0))
                .collect()
        } else {
            Vec::new()
        };
        let missing: Vec<String> = wanted
            .iter()
            .filter(|v| !applied.contains(v))
            .map(|v| format!("V{v}"))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(DbError::NotMigrated {
            database: self.name.clone(),
            table,
            missing: missing.join(", "),
        })
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
            .map_err(|e| DbError::Pool(with_causes(&e)))
    }

    /// True when a query round trip works.
    pub async fn is_reachable(&self) -> bool {
        match self.pool.get().await {
            Ok(c) => c.simple_query("SELECT 1").await.is_ok(),
            Err(_) => false,
        }
    }
}

/// An error with every cause under it (a pool's error says only "db error" or "error
/// performing TLS handshake"; the server's or rustls's reason is its source).
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut said = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !said.contains(&text) {
            said.push_str(": ");
            said.push_str(&text);
        }
        cause = c.source();
    }
    said
}

/// Refuses a database or role name that is not lower-case letters, digits and `_` (they
/// are written into SQL as identifiers).
fn check_name(name: &str, what: &str) -> Result<(), DbError> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(DbError::Migrate(format!(
            "{what} name {name:?} must be lower-case letters, digits and _"
        )));
    }
    Ok(())
}

/// A client on database `name` of `base`'s server, its connection driven in the background.
async fn connect_to(
    base: &tokio_postgres::Config,
    tls: &Connector,
    name: &str,
) -> Result<(tokio_postgres::Client, tokio::task::JoinHandle<()>), DbError> {
    let mut config = base.clone();
    config.dbname(name);
    let (client, task) = match tls {
        Connector::Plain => {
            let (client, connection) = config.connect(NoTls).await.map_err(DbError::Connect)?;
            (client, tokio::spawn(async move { drop(connection.await) }))
        }
        Connector::Tls(tls) => {
            let (client, connection) = config
                .connect(tls.clone())
                .await
                .map_err(DbError::Connect)?;
            (client, tokio::spawn(async move { drop(connection.await) }))
        }
    };
    Ok((client, task))
}

async fn create_if_missing(
    base: &tokio_postgres::Config,
    tls: &Connector,
    name: &str,
) -> Result<(), DbError> {
    check_name(name, "database")?;
    let (client, task) = connect_to(base, tls, "postgres").await?;
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
