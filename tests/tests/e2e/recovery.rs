//! How soon the log reader moves again after nats-server comes back.

use std::time::{Duration, Instant};

use linkway_events::case::{CaseAccepted, CaseEvent};
use linkway_events::{Actor, Envelope, Event};
use linkway_eventstore::{EventStore, Expected, PendingEvent};
use linkway_testkit::{Nats, Scope, Server};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::support;

async fn append_one(store: &EventStore) -> Option<u64> {
    let case = Uuid::now_v7();
    let event: Event = CaseEvent::Accepted(CaseAccepted {
        referral_id: case,
        link_worker_organisation_id: "lw".into(),
    })
    .into();
    let envelope = Envelope::new(
        case.to_string(),
        &event,
        Actor::system(),
        Uuid::now_v7(),
        OffsetDateTime::now_utc(),
    );
    store
        .append(
            "case",
            &case.to_string(),
            Expected::Any,
            vec![PendingEvent::new(envelope)],
        )
        .await
        .ok()
        .map(|a| a.last_sequence())
}

/// After a restart of nats-server (its consumers gone with it), the reader hands out the
/// first event appended afterwards within 5 s of that append (issue 8: projections moving
/// again within 5 s; async-nats's defaults took 16 s).
#[tokio::test]
async fn the_reader_moves_again_within_seconds_of_a_nats_restart() {
    let nats = Nats::start().expect("private nats-server");
    let scope = Scope::new();
    let store = support::store(&nats.url(), &scope).await;
    let first = append_one(&store).await.expect("append");
    let mut reader = store.read_from(1).await.expect("reader");
    assert_eq!(reader.next().await.sequence, first);
    // Idle past the first pull's heartbeat, as a caught-up projection is.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let nats = tokio::task::spawn_blocking(move || {
        nats.restart().expect("restart nats-server");
        nats
    })
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let (appended, sequence) = loop {
        if let Some(sequence) = append_one(&store).await {
            break (Instant::now(), sequence);
        }
        assert!(
            Instant::now() < deadline,
            "no append within 20 s of the restart"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let event = tokio::time::timeout(Duration::from_secs(30), reader.next())
        .await
        .expect("the reader hands out the event at all");
    let waited = appended.elapsed();
    eprintln!("reader delivered the first event after the restart {waited:?} after its append");
    assert_eq!(event.sequence, sequence);
    assert!(
        waited < Duration::from_secs(5),
        "reader stalled {waited:?} after the NATS restart"
    );
    drop(nats);
}

/// `/readyz` answers 503 naming the database and the stalled projection while PostgreSQL
/// is down and the log grows, and 200 again once the projection has caught up.
#[tokio::test]
async fn readyz_names_a_stalled_projection_and_recovers() {
    use linkway_events::registry::OrganisationKind;
    use linkway_platform::ops::{self, Readiness};
    use linkway_platform::registry::Registry;
    use linkway_testkit::{Postgres, TestEnv, serve, shared_nats};

    let pg = Postgres::start().expect("private PostgreSQL");
    let env = TestEnv::on(shared_nats().url(), pg.url());
    let ctx = env.context("ready").await;
    let checkpoint = ctx.spawn_projection(Registry).await.expect("registry");
    let first = env
        .register_organisation("org-a", OrganisationKind::GpPractice, None, false)
        .await;
    assert!(checkpoint.wait_for(first, Duration::from_secs(20)).await);
    let router = ops::routes(Readiness {
        service: "test",
        db: ctx.db.clone(),
        nats: ctx.nats.clone(),
        projections: vec![("registry", checkpoint.clone())],
        on_scrape: None,
    });
    let url = format!("{}/readyz", serve(router, env.shutdown()).await);
    let http = reqwest::Client::new();
    let readyz = || async {
        let answer = http.get(&url).send().await.expect("readyz answers");
        let status = answer.status().as_u16();
        let body: serde_json::Value = answer.json().await.expect("json");
        (status, body)
    };
    assert_eq!(readyz().await.0, 200);

    let pg = tokio::task::spawn_blocking(move || {
        pg.stop();
        pg
    })
    .await
    .unwrap();
    let behind = env
        .register_organisation("org-b", OrganisationKind::GpPractice, None, false)
        .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let body = loop {
        let (status, body) = readyz().await;
        let reasons = body["reasons"].to_string();
        if status == 503 && reasons.contains("projection registry stalled") {
            break body;
        }
        assert!(
            Instant::now() < deadline,
            "not reported stalled within 10 s: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        body["reasons"].to_string().contains("database unreachable"),
        "{body}"
    );
    assert_eq!(body["projections"]["registry"]["lag_events"], 1, "{body}");

    let pg = tokio::task::spawn_blocking(move || {
        pg.start_again().expect("start PostgreSQL again");
        pg
    })
    .await
    .unwrap();
    assert!(
        checkpoint.wait_for(behind, Duration::from_secs(10)).await,
        "the projection moves again"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = readyz().await;
        if status == 200 {
            assert_eq!(body["projections"]["registry"]["lag_events"], 0, "{body}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not ready again: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    env.stop();
    drop(pg);
}

/// Linkway connects through whichever seed answers: the first one down, the second up.
#[tokio::test]
async fn connect_starts_while_its_first_seed_is_down() {
    let live = Nats::start().expect("private nats-server");
    let dead = format!("nats://127.0.0.1:{}", linkway_testkit::free_port());
    let client = tokio::time::timeout(
        Duration::from_secs(20),
        linkway_platform::nats::connect(&[dead, live.url()], "linkway-test"),
    )
    .await
    .expect("connects within 20 s")
    .expect("connects");
    assert_eq!(client.server_info().port, live.port());
}

/// A nats-server older than 2.11 is refused with a reason that says what to do. Needs an
/// old release: `LINKWAY_OLD_NATS_SERVER`, else Debian's 2.9 at /usr/sbin/nats-server.
#[tokio::test]
async fn connect_refuses_a_nats_server_older_than_2_11() {
    let old =
        std::env::var("LINKWAY_OLD_NATS_SERVER").unwrap_or_else(|_| "/usr/sbin/nats-server".into());
    if !std::path::Path::new(&old).exists() {
        eprintln!("SKIPPED: no old nats-server at {old} (set LINKWAY_OLD_NATS_SERVER)");
        return;
    }
    let nats = Nats::start_binary(&old).expect("old nats-server");
    let err = linkway_platform::nats::connect(&[nats.url()], "linkway-test")
        .await
        .expect_err("an old server is refused");
    let err = format!("{err:#}");
    assert!(err.contains("2.11.0 or later"), "{err}");
    assert!(err.contains("upgrade NATS"), "{err}");
}

/// The one-machine server configuration `deploy/nats/linkway.conf` ships (accounts, a
/// user per service with passwords from the environment, `sync_interval: always`) takes
/// Linkway's connection with the user and password in the seed URL (the operator's, which
/// may create the stream), and refuses one without them. What each user may do:
/// `services/linkway/tests/nats_permissions.rs`.
#[tokio::test]
async fn the_shipped_nats_configuration_takes_linkway_with_its_password_only() {
    let config =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/nats/linkway.conf");
    let nats = Nats::start_with_config(
        &config,
        &[
            ("NATS_INTAKE_PASSWORD", "intake0123456789abcdef"),
            ("NATS_LINK_WORKER_PASSWORD", "linkworker0123456789ab"),
            ("NATS_REPORTING_PASSWORD", "reporting0123456789abc"),
            ("NATS_REGISTRY_PASSWORD", "registry0123456789abcd"),
            ("NATS_OPERATOR_PASSWORD", "0123456789abcdef0123"),
            ("NATS_SYSTEM_PASSWORD", "fedcba98765432100123"),
        ],
    )
    .expect("nats-server with the shipped configuration");
    let with_password = nats
        .url()
        .replace("nats://", "nats://operator:0123456789abcdef0123@");
    let client = linkway_platform::nats::connect(&[with_password], "linkway-test")
        .await
        .expect("connects with the password");
    let store = linkway_eventstore::EventStore::connect(
        client,
        linkway_eventstore::StoreConfig {
            stream: "LINKWAY".into(),
            subject_prefix: "linkway".into(),
            ..Default::default()
        },
    )
    .await
    .expect("creates the stream in the Linkway account");
    assert!(store.last_sequence().await.is_ok());
    let wrong = nats.url().replace("nats://", "nats://operator:wrong@");
    let refused = tokio::time::timeout(
        Duration::from_secs(5),
        linkway_platform::nats::connect(&[wrong], "linkway-test"),
    )
    .await;
    assert!(
        !matches!(refused, Ok(Ok(_))),
        "a wrong password must not connect"
    );
}
