//! PostgreSQL over TLS with client certificates, on a real server of the test's own
//! (`ssl=on`, a server certificate, and `pg_hba.conf` logging each service's role in by
//! `hostssl ... cert`), with certificates made by `openssl` at test time. `linkway migrate`
//! runs as the migration role over TLS (its password), and the services run as their roles
//! with `LINKWAY_DATABASE_CA_FILE`, `LINKWAY_DATABASE_CERT_FILES` and
//! `LINKWAY_DATABASE_KEY_FILES`, each connection TLS and logged in by its certificate.
//! Refused: a role without a certificate, with another role's certificate (its common name
//! is not the role), with one of a CA the server does not trust, without TLS at all; a
//! client that does not trust the server's CA; and a server whose certificate names
//! another host (verify-full).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use linkway::{ServiceName, Settings};
use linkway_platform::Database;
use linkway_platform::db::{ClientCertificate, DbError, RoleLogin, Server};
use linkway_platform::secret::Secret;
use linkway_testkit::certs::{self, Usage};
use linkway_testkit::{Postgres, TestEnv, shared_nats};

const MIGRATOR_PASSWORD: &str = "tls-migrator-password-0123";

async fn superuser(pg: &Postgres, database: &str) -> tokio_postgres::Client {
    let (client, connection) =
        tokio_postgres::connect(&pg.database_url(database), tokio_postgres::NoTls)
            .await
            .expect("the harness's superuser");
    tokio::spawn(connection);
    client
}

/// The server's certificates (`server` for 127.0.0.1, `elsewhere` for another host) and a
/// client certificate for each service's role, signed by the CA of `dir`; a second CA in
/// `dir/other` with its own certificate for intake's role.
fn certificates(dir: &Path, prefix: &str) {
    certs::ca(dir, "Linkway database test CA");
    certs::issue(
        dir,
        "server",
        "db",
        Usage::Server,
        "IP:127.0.0.1,DNS:localhost",
    );
    certs::issue(
        dir,
        "elsewhere",
        "db.elsewhere.example",
        Usage::Server,
        "DNS:db.elsewhere.example",
    );
    for service in ServiceName::ALL {
        let role = format!("{prefix}_{}", service.name().replace('-', "_"));
        certs::issue(dir, service.name(), &role, Usage::Client, "DNS:linkway");
    }
    let other = dir.join("other");
    std::fs::create_dir(&other).unwrap();
    certs::ca(&other, "Another CA");
    certs::issue(
        &other,
        "intake",
        &format!("{prefix}_intake"),
        Usage::Client,
        "DNS:linkway",
    );
}

/// Turns TLS on with `cert`'s certificate and the services' roles to `cert` logins; waits
/// until the migration role logs in over TLS.
async fn serve_tls(pg: &Postgres, dir: &Path, cert: &str, prefix: &str, migrator: &str) {
    pg.hand_over(&dir.join(format!("{cert}.key"))).unwrap();
    let roles: Vec<String> = ServiceName::ALL
        .iter()
        .map(|s| format!("{prefix}_{}", s.name().replace('-', "_")))
        .collect();
    pg.set_hba(&format!(
        "local all all trust\n\
         host all postgres 127.0.0.1/32 trust\n\
         hostssl all {migrator} 127.0.0.1/32 scram-sha-256\n\
         hostssl all {} 127.0.0.1/32 cert\n\
         host all all 127.0.0.1/32 reject\n",
        roles.join(",")
    ))
    .unwrap();
    let admin = superuser(pg, "postgres").await;
    // One statement at a time: ALTER SYSTEM refuses a transaction block.
    let d = dir.display();
    for sql in [
        "ALTER SYSTEM SET ssl = on".to_owned(),
        format!("ALTER SYSTEM SET ssl_cert_file = '{d}/{cert}.pem'"),
        format!("ALTER SYSTEM SET ssl_key_file = '{d}/{cert}.key'"),
        format!("ALTER SYSTEM SET ssl_ca_file = '{d}/ca.pem'"),
        "SELECT pg_reload_conf()".to_owned(),
    ] {
        admin.batch_execute(&sql).await.unwrap();
    }
    // A new session reads the reloaded configuration.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now: String = superuser(pg, "postgres")
            .await
            .query_one("SHOW ssl_cert_file", &[])
            .await
            .unwrap()
            .get(0);
        if now.ends_with(&format!("/{cert}.pem")) {
            break;
        }
        assert!(Instant::now() < deadline, "the server did not reload");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn settings(env: &TestEnv, pg: &Postgres, migrator: &str, dir: &Path) -> Settings {
    let mut s = Settings {
        nats_url: vec![env.nats_url.clone()],
        database_url: Secret::new(format!(
            "postgres://{migrator}:{MIGRATOR_PASSWORD}@127.0.0.1:{}/postgres",
            pg.port()
        )),
        database_prefix: env.scope.database_prefix.clone(),
        stream: env.scope.stream.clone(),
        subject_prefix: env.scope.subject_prefix.clone(),
        batch_delay_ms: 5,
        intake_port: 0,
        link_worker_port: 0,
        reporting_port: 0,
        pseudonym_key: Some(Secret::new("database-tls-test-pseudonym-key")),
        ..Settings::defaults()
    };
    s.database_tls.database_ca_file = Some(dir.join("ca.pem"));
    let files = |ext: &str| -> Vec<String> {
        ServiceName::ALL
            .iter()
            .map(|svc| {
                let path = dir.join(format!("{}.{ext}", svc.name()));
                format!("{}={}", svc.name(), path.display())
            })
            .collect()
    };
    s.database_tls.database_cert_files = files("pem");
    s.database_tls.database_key_files = files("key");
    s
}

/// Opens `database` as `role` presenting `certificate` on `server`; the refusal's words.
async fn refused(
    server: &Server,
    database: &str,
    role: &str,
    certificate: Option<(PathBuf, PathBuf)>,
) -> String {
    let login = RoleLogin {
        role: role.to_owned(),
        password: None,
        certificate: certificate.map(|(cert_file, key_file)| ClientCertificate {
            cert_file,
            key_file,
        }),
    };
    match Database::open_as(server, database, &login).await {
        Ok(_) => panic!("{role} on {database} was let in"),
        Err(e) => {
            assert!(matches!(e, DbError::Pool(_) | DbError::Connect(_)), "{e:?}");
            format!("{e:#}")
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_log_in_by_their_certificates_over_verified_tls() {
    let pg = Postgres::start().expect("a private PostgreSQL");
    let env = TestEnv::on(shared_nats().url(), pg.url());
    let prefix = env.scope.database_prefix.clone();
    let dir = pg.dir().join("tls");
    std::fs::create_dir(&dir).unwrap();
    certificates(&dir, &prefix);
    let migrator = format!("{prefix}_migrator");
    superuser(&pg, "postgres")
        .await
        .batch_execute(&format!(
            "CREATE ROLE {migrator} LOGIN CREATEDB CREATEROLE PASSWORD '{MIGRATOR_PASSWORD}'"
        ))
        .await
        .unwrap();
    serve_tls(&pg, &dir, "server", &prefix, &migrator).await;

    // The migration role over TLS sets up roles without passwords; the services run as
    // them, each connection TLS and logged in by the service's certificate.
    let settings = settings(&env, &pg, &migrator, &dir);
    let migrated = linkway::migrate::migrate(&settings)
        .await
        .expect("migrate over TLS");
    assert_eq!(migrated.len(), 3);
    let admin = superuser(&pg, "postgres").await;
    for service in ServiceName::ALL {
        let role = settings.database_name(service.name());
        let password: Option<String> = admin
            .query_one(
                "SELECT rolpassword FROM pg_authid WHERE rolname = $1",
                &[&role],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(password, None, "{role} logs in by its certificate alone");
    }
    let server = linkway::serve::start(
        &settings,
        &ServiceName::ALL,
        settings.pseudonym_key.as_ref(),
    )
    .await
    .expect("serve as the services' roles by certificate");
    for service in ServiceName::ALL {
        let role = settings.database_name(service.name());
        let seen: Vec<(bool, Option<String>)> = admin
            .query(
                "SELECT s.ssl, s.client_dn FROM pg_stat_activity a \
                 JOIN pg_stat_ssl s ON s.pid = a.pid WHERE a.datname = $1 AND a.usename = $1",
                &[&role],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        assert!(!seen.is_empty(), "{role} is not connected");
        for (ssl, dn) in seen {
            assert!(ssl, "{role}: a connection without TLS");
            assert_eq!(dn.as_deref(), Some(format!("/CN={role}").as_str()));
        }
    }
    server.stop().await.unwrap();

    // Refused by the server.
    let tls = settings.database_server();
    let intake = settings.database_name("intake");
    let said = refused(&tls, &intake, &intake, None).await;
    assert!(
        said.contains("requires a valid client certificate"),
        "no certificate: {said}"
    );
    let link_worker = (dir.join("link-worker.pem"), dir.join("link-worker.key"));
    let said = refused(&tls, &intake, &intake, Some(link_worker)).await;
    assert!(
        said.contains("certificate authentication failed"),
        "another role's certificate: {said}"
    );
    let other = dir.join("other");
    let foreign = (other.join("intake.pem"), other.join("intake.key"));
    let said = refused(&tls, &intake, &intake, Some(foreign)).await;
    assert!(
        said.contains("UnknownCA"),
        "another CA's certificate: {said}"
    );
    let plain = tokio_postgres::connect(
        &format!(
            "host=127.0.0.1 port={} user={intake} dbname={intake}",
            pg.port()
        ),
        tokio_postgres::NoTls,
    )
    .await;
    assert!(plain.is_err(), "a connection without TLS was let in");
    let own = || Some((dir.join("intake.pem"), dir.join("intake.key")));

    // Refused by Linkway: a server its CA did not sign; a server certificate for another
    // host.
    let untrusting = Server {
        ca_file: Some(other.join("ca.pem")),
        ..tls.clone()
    };
    let said = refused(&untrusting, &intake, &intake, own()).await;
    assert!(said.contains("UnknownIssuer"), "another CA: {said}");
    serve_tls(&pg, &dir, "elsewhere", &prefix, &migrator).await;
    let said = refused(&tls, &intake, &intake, own()).await;
    assert!(
        said.contains("not valid for name \"127.0.0.1\""),
        "another host: {said}"
    );
    let err = linkway::migrate::migrate(&settings)
        .await
        .expect_err("the migration role does not log in to a server for another host");
    assert!(format!("{err:#}").contains("not valid for name"), "{err:#}");
}
