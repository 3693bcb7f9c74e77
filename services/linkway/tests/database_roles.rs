//! PostgreSQL least privilege on a real server (the harness's, which checks every role's
//! password but its own superuser's): `linkway migrate`, run as a migration role that is
//! no superuser (`CREATEDB`, `CREATEROLE`), gives each service its own role; the services
//! then run as those roles, each reaching only its own database, reading and writing the
//! migrated tables but unable to create, alter or drop one or to touch the migration
//! history. A deployment that ran with one role moves over keeping its read models, a
//! rebuild runs as the service's role, and a service's role refuses to start on a database
//! whose migrations are missing.

use std::time::{Duration, Instant};

use linkway::{ServiceName, Settings};
use linkway_events::Role;
use linkway_events::registry::OrganisationKind;
use linkway_platform::Database;
use linkway_platform::db::{DbError, RoleLogin};
use linkway_platform::secret::Secret;
use linkway_testkit::{TestEnv, shared_postgres};
use reqwest::StatusCode;
use serde_json::Value;
use tokio_postgres::error::SqlState;

const GP: &str = "gp-roles";
const LW: &str = "lw-roles";

/// The services' passwords in this test.
fn password(service: ServiceName) -> String {
    format!("{}-role-password-0123", service.name())
}

/// A client on `database` as `role` with `password`, or the server's refusal.
async fn connect_as(
    database: &str,
    role: &str,
    password: &str,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let port = shared_postgres().port();
    let (client, connection) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} dbname={database} user={role} password={password}"),
        tokio_postgres::NoTls,
    )
    .await?;
    tokio::spawn(connection);
    Ok(client)
}

async fn superuser(database: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(
        &shared_postgres().database_url(database),
        tokio_postgres::NoTls,
    )
    .await
    .expect("the harness's superuser");
    tokio::spawn(connection);
    client
}

/// A migration role of `env`'s scope as docs/OPERATIONS.md sets one up: no superuser,
/// `CREATEDB` and `CREATEROLE`. Its name.
async fn migration_role(env: &TestEnv) -> String {
    let migrator = format!("{}_migrator", env.scope.database_prefix);
    superuser("postgres")
        .await
        .batch_execute(&format!(
            "CREATE ROLE {migrator} LOGIN CREATEDB CREATEROLE PASSWORD 'migrator-password-0123'"
        ))
        .await
        .unwrap();
    migrator
}

/// The settings of a process on `env`'s servers, its migration role `migrator`.
fn settings(env: &TestEnv, migrator: &str, roles: bool) -> Settings {
    let port = shared_postgres().port();
    Settings {
        nats_url: vec![env.nats_url.clone()],
        database_url: Secret::new(format!(
            "postgres://{migrator}:migrator-password-0123@127.0.0.1:{port}/postgres"
        )),
        database_prefix: env.scope.database_prefix.clone(),
        database_passwords: if roles {
            ServiceName::ALL
                .iter()
                .map(|s| Secret::new(format!("{}={}", s.name(), password(*s))))
                .collect()
        } else {
            Vec::new()
        },
        stream: env.scope.stream.clone(),
        subject_prefix: env.scope.subject_prefix.clone(),
        batch_delay_ms: 5,
        intake_port: 0,
        link_worker_port: 0,
        reporting_port: 0,
        pseudonym_key: Some(Secret::new("database-roles-test-pseudonym-key")),
        ..Settings::defaults()
    }
}

fn expect_refused(result: Result<impl Sized, tokio_postgres::Error>, what: &str) {
    match result {
        Ok(_) => panic!("{what}: allowed"),
        Err(e) => assert_eq!(
            e.code(),
            Some(&SqlState::INSUFFICIENT_PRIVILEGE),
            "{what}: {e:?}"
        ),
    }
}

/// Submits a referral to intake until the token works; waits until link-worker has its
/// case. Returns the referral's id.
async fn a_referral_reaches_the_caseload(
    server: &linkway::serve::Server,
    referrer: &str,
    link_worker: &str,
    key: &str,
) -> String {
    let url = |name: ServiceName| {
        let r = server.running.iter().find(|r| r.service == name).unwrap();
        format!("http://{}", r.addr)
    };
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let (id, sequence) = loop {
        let response = http
            .post(format!("{}/referrals", url(ServiceName::Intake)))
            .bearer_auth(referrer)
            .header("Idempotency-Key", key)
            .json(&linkway::demo::referral_body(1))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        if status == StatusCode::CREATED {
            break (
                body["referral_id"].as_str().unwrap().to_owned(),
                body["sequence"].as_u64().unwrap(),
            );
        }
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert!(Instant::now() < deadline, "intake did not take the token");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let response = http
            .get(format!(
                "{}/cases/{id}?min_sequence={sequence}",
                url(ServiceName::LinkWorker)
            ))
            .bearer_auth(link_worker)
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::OK {
            return id;
        }
        assert!(Instant::now() < deadline, "no case: {}", response.status());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_service_runs_as_its_own_role_and_reaches_only_its_own_database() {
    let env = TestEnv::shared();
    let migrator = migration_role(&env).await;
    env.register_organisation(GP, OrganisationKind::GpPractice, Some("QRO"), false)
        .await;
    env.register_organisation(LW, OrganisationKind::Pcn, Some("QRO"), true)
        .await;
    let store = env.store().await;
    linkway::admin::run(
        &store,
        linkway::admin::AdminCommand::Rule(linkway::admin::RuleCommand::Add {
            to: LW.into(),
            from_org: Some(GP.into()),
            postcode_district: None,
            priority: 1,
        }),
    )
    .await
    .unwrap();
    let (referrer, _) = env.issue_token(GP, Role::Referrer).await;
    let (link_worker, _) = env.issue_token(LW, Role::LinkWorker).await;

    // First as a deployment with one role for everything: read models made by it.
    let shared = settings(&env, &migrator, false);
    linkway::migrate::migrate(&shared).await.expect("migrate");
    let server = linkway::serve::start(&shared, &ServiceName::ALL, shared.pseudonym_key.as_ref())
        .await
        .expect("serve as one role");
    a_referral_reaches_the_caseload(&server, &referrer, &link_worker, "roles-1").await;
    server.stop().await.unwrap();

    // Then a role per service: `linkway migrate` sets them up and hands them their read
    // models; the services run as them and go on where they were.
    let own = settings(&env, &migrator, true);
    let migrated = linkway::migrate::migrate(&own)
        .await
        .expect("migrate with roles");
    for done in &migrated {
        assert_eq!(done.role.as_deref(), Some(done.database.as_str()));
    }
    let server = linkway::serve::start(&own, &ServiceName::ALL, own.pseudonym_key.as_ref())
        .await
        .expect("serve as the services' roles");
    let (new_token, _) = env.issue_token(GP, Role::Referrer).await;
    a_referral_reaches_the_caseload(&server, &new_token, &link_worker, "roles-2").await;

    // Each service is connected to its database as its own role (pg_stat_activity).
    let admin = superuser("postgres").await;
    for service in ServiceName::ALL {
        let database = env.database_name(service.name());
        let users: Vec<String> = admin
            .query(
                "SELECT DISTINCT usename::text FROM pg_stat_activity WHERE datname = $1",
                &[&database],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(users.contains(&database), "{}: {users:?}", service.name());
    }

    // A service's role reaches no other service's database.
    for service in ServiceName::ALL {
        let role = env.database_name(service.name());
        for other in ServiceName::ALL.into_iter().filter(|o| *o != service) {
            let database = env.database_name(other.name());
            expect_refused(
                connect_as(&database, &role, &password(service)).await,
                &format!("{role} connecting to {database}"),
            );
        }
        // Nor does a wrong password reach its own.
        let err = connect_as(&role, &role, "wrong-password")
            .await
            .expect_err("a wrong password");
        assert_eq!(err.code(), Some(&SqlState::INVALID_PASSWORD), "{err:?}");
    }

    // In its own database it reads and writes, but changes no table and no history.
    let intake = env.database_name("intake");
    let client = connect_as(&intake, &intake, &password(ServiceName::Intake))
        .await
        .expect("intake's role on intake's database");
    client
        .query("SELECT count(*) FROM projection_checkpoints", &[])
        .await
        .expect("reads the migrated tables");
    client
        .execute(
            "UPDATE projection_checkpoints SET updated_at = updated_at WHERE projection = 'registry'",
            &[],
        )
        .await
        .expect("writes them");
    client
        .query("SELECT count(*) FROM referrals.referrals", &[])
        .await
        .expect("reads its read model");
    for (sql, what) in [
        ("CREATE TABLE public.smuggled (id int)", "create a table"),
        (
            "ALTER TABLE projection_checkpoints ADD COLUMN smuggled int",
            "alter a table",
        ),
        ("DROP TABLE dead_letters", "drop a table"),
        ("TRUNCATE token_usage", "truncate a table"),
        (
            "DELETE FROM service_schema_history",
            "rewrite the migration history",
        ),
        (
            "INSERT INTO platform_schema_history (version, name, applied_on, checksum) VALUES (99, 'x', 'x', 'x')",
            "add to the migration history",
        ),
        ("CREATE ROLE smuggler", "create a role"),
        ("CREATE DATABASE smuggled", "create a database"),
    ] {
        expect_refused(client.batch_execute(sql).await, what);
    }

    // A rebuild runs as the service's role (a fresh schema of its read model, swapped in).
    server.stop().await.unwrap();
    let rebuilt = linkway::rebuild::rebuild(&own, "caseload", false)
        .await
        .expect("caseload rebuilt as link-worker's role");
    assert!(rebuilt[0].1 > 0);
}

#[tokio::test]
async fn a_service_role_refuses_a_database_whose_migrations_are_missing() {
    let env = TestEnv::shared();
    let migrator = migration_role(&env).await;
    let own = settings(&env, &migrator, true);
    linkway::migrate::migrate(&own).await.expect("migrate");
    let intake = env.database_name("intake");
    let login = RoleLogin {
        role: intake.clone(),
        password: Some(Secret::new(password(ServiceName::Intake))),
        certificate: None,
    };
    let db = Database::open_as(&own.database_server(), &intake, &login)
        .await
        .expect("opens a migrated database as the service's role");
    drop(db);
    // A role that exists with more than a service needs is not taken over.
    let reporting = env.database_name("reporting");
    let set = |attribute: &'static str| {
        let sql = format!("ALTER ROLE {reporting} {attribute}");
        async move {
            superuser("postgres")
                .await
                .batch_execute(&sql)
                .await
                .unwrap()
        }
    };
    set("CREATEDB").await;
    let err = linkway::migrate::migrate(&own)
        .await
        .expect_err("a role with CREATEDB is refused");
    assert!(
        format!("{err:#}").contains("rights a service must not have"),
        "{err:#}"
    );
    set("NOCREATEDB").await;
    // A release with a migration `linkway migrate` has not run yet.
    superuser(&intake)
        .await
        .batch_execute("DELETE FROM platform_schema_history WHERE version = 2")
        .await
        .unwrap();
    let err = Database::open_as(&own.database_server(), &intake, &login)
        .await
        .err()
        .expect("refused");
    assert!(matches!(err, DbError::NotMigrated { .. }), "{err}");
    let said = err.to_string();
    assert!(
        said.contains("V2") && said.contains("linkway migrate"),
        "{said}"
    );
}
