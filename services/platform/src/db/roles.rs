//! Each service's own PostgreSQL role, set up by the migration role (`linkway migrate`).
//!
//! A service's role logs in with its password and reaches its own database only: every
//! service database is closed to `PUBLIC`, and the role is granted `CONNECT` on its own.
//! There it may read and write the migrated tables (`public`: checkpoints, dead letters,
//! token use, the service's own bookkeeping), but neither create, alter nor drop them, nor
//! change the migration history. It may create schemas, and owns those of its read models:
//! a projection creates its tables at start, and a rebuild fills a fresh schema and swaps
//! it in, all without the migration role. Read models are disposable (rebuilt from the
//! log), so DDL on them is no privilege over anything that cannot be rebuilt.
//!
//! The password is sent as a SCRAM-SHA-256 verifier computed here, so the clear password
//! never reaches the server (nor its statement log). A role that logs in by its client
//! certificate alone has no password (`PASSWORD NULL`): only `pg_hba.conf`'s `cert` lets it
//! in, its certificate's common name being the role's name.

use super::{DbError, RoleLogin, Server, check_name, connect_to};

/// Role attributes a service's role must not have (a role that exists with one is
/// refused, not changed: only a superuser could take them away).
const TOO_MUCH: &str = "rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls";

/// Closes database `database` to `PUBLIC` (by default every role may connect to every
/// database): afterwards only its owner, superusers and roles granted `CONNECT` reach it.
pub async fn close_to_public(server: &Server, database: &str) -> Result<(), DbError> {
    check_name(database, "database")?;
    let (base, tls) = (server.config()?, server.connector(None)?);
    let (client, task) = connect_to(&base, &tls, "postgres").await?;
    client
        .batch_execute(&format!("REVOKE ALL ON DATABASE {database} FROM PUBLIC"))
        .await
        .map_err(|source| DbError::Create {
            name: database.to_owned(),
            source,
        })?;
    drop(client);
    let _ = task.await;
    Ok(())
}

/// Creates `login`'s role (or sets its password) and gives it database `database` as
/// described above; run after the database's migrations, as their role (the owner of the
/// database, with `CREATEROLE`, or a superuser). Closes the database to `PUBLIC`. Safe to
/// run at every migration: it grants what the newest tables need.
pub async fn provision(server: &Server, database: &str, login: &RoleLogin) -> Result<(), DbError> {
    check_name(database, "database")?;
    check_name(&login.role, "role")?;
    let role = login.role.as_str();
    let failed = |source| DbError::Role {
        role: role.to_owned(),
        source,
    };
    let (base, tls) = (server.config()?, server.connector(None)?);
    let (server, task) = connect_to(&base, &tls, "postgres").await?;
    let existing = server
        .query_opt(
            &format!("SELECT {TOO_MUCH} FROM pg_roles WHERE rolname = $1"),
            &[&role],
        )
        .await
        .map_err(failed)?;
    let password = match &login.password {
        Some(p) => format!(
            "'{}'",
            postgres_protocol::password::scram_sha_256(p.expose().as_bytes())
        ),
        None => "NULL".to_owned(),
    };
    match existing {
        None => {
            server
                .batch_execute(&format!("CREATE ROLE {role} LOGIN PASSWORD {password}"))
                .await
                .map_err(failed)?;
            tracing::info!(role, "database role created");
        }
        Some(row) if row.get::<_, bool>(0) => {
            return Err(DbError::Refused(format!(
                "the role {role} exists with rights a service must not have (superuser, \
                 CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS): drop it or take them away"
            )));
        }
        Some(_) => {
            server
                .batch_execute(&format!("ALTER ROLE {role} WITH LOGIN PASSWORD {password}"))
                .await
                .map_err(failed)?;
        }
    }
    server
        .batch_execute(&format!(
            "REVOKE ALL ON DATABASE {database} FROM PUBLIC;
             GRANT CONNECT, CREATE ON DATABASE {database} TO {role};"
        ))
        .await
        .map_err(failed)?;
    drop(server);
    let _ = task.await;

    let (db, task) = connect_to(&base, &tls, database).await?;
    db.batch_execute(&format!(
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC;
         GRANT USAGE ON SCHEMA public TO {role};
         GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
         GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};"
    ))
    .await
    .map_err(failed)?;
    // The migration history is the migration role's alone.
    let histories: Vec<String> = db
        .query(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' \
             AND tablename LIKE '%\\_schema\\_history'",
            &[],
        )
        .await
        .map_err(failed)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    for table in histories {
        check_name(&table, "table")?;
        db.batch_execute(&format!(
            "REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {table} FROM {role}"
        ))
        .await
        .map_err(failed)?;
    }
    hand_over_read_models(&db, role).await.map_err(failed)?;
    drop(db);
    let _ = task.await;
    Ok(())
}

/// Gives `role` the read models' schemas (every schema but `public` and the system's) and
/// their tables, where another role made them: a deployment that ran with one role for
/// everything keeps its read models when it moves to a role per service.
async fn hand_over_read_models(
    db: &tokio_postgres::Client,
    role: &str,
) -> Result<(), tokio_postgres::Error> {
    let schemas: Vec<String> = db
        .query(
            "SELECT nspname FROM pg_namespace \
             WHERE nspname <> 'public' AND nspname <> 'information_schema' \
             AND nspname NOT LIKE 'pg\\_%' \
             AND nspowner <> (SELECT oid FROM pg_roles WHERE rolname = $1)",
            &[&role],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if schemas.is_empty() {
        return Ok(());
    }
    // Giving an object away needs membership of the role it goes to (a superuser has it).
    let member: bool = db
        .query_one(
            "SELECT rolsuper OR pg_has_role(current_user, $1::name, 'MEMBER') \
             FROM pg_roles WHERE rolname = current_user",
            &[&role],
        )
        .await?
        .get(0);
    if !member {
        db.batch_execute(&format!("GRANT {role} TO CURRENT_USER"))
            .await?;
    }
    for schema in schemas {
        let tables: Vec<String> = db
            .query(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') \
                 AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = $2)",
                &[&schema, &role],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut sql = format!("ALTER SCHEMA {} OWNER TO {role};", ident(&schema));
        for table in tables {
            sql.push_str(&format!(
                "ALTER TABLE {}.{} OWNER TO {role};",
                ident(&schema),
                ident(&table)
            ));
        }
        db.batch_execute(&sql).await?;
        tracing::info!(schema, role, "read model handed to the service's role");
    }
    Ok(())
}

/// A name from the catalogue as a quoted SQL identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
