//! Backup and restore of the event log with the real binary: `linkway serve` on a private
//! nats-server and PostgreSQL under `linkway load`; `linkway backup` taken while the load
//! runs, an incremental one after it; `linkway restore` into a second, fresh nats-server
//! (refusing a damaged file and streams that do not fit, resuming one that ends inside the
//! backup); then `linkway serve` there on fresh databases, every read model rebuilt from
//! the restored log, answers every read exactly as the original does.

#[path = "backup/answers.rs"]
mod answers;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::time::{Duration, Instant};

use linkway::admin;
use linkway::load::plan::{self, Shape};
use linkway_events::Role;
use linkway_eventstore::backup::Header;
use linkway_eventstore::{EventStore, StoreConfig};
use linkway_testkit::{Linkway, Nats, Scope, shared_postgres};

use answers::Readers;

const BINARY: &str = env!("CARGO_BIN_EXE_linkway");
const SEED: u64 = 13;
const RUN: &str = "bk";
const REFERRALS: u64 = 60;
/// The first backup is taken once the log holds this many events, the second (the full
/// one) at [`FULL_AT`]: both well before the load's last event.
const EARLY_AT: u64 = 150;
const FULL_AT: u64 = 450;

/// `linkway load`'s organisations for these flags (see `load::Options::from_args`).
fn shape() -> Shape {
    Shape {
        referrers: 4,
        areas: 2,
        services_per_area: 1,
        directory: 12,
        fhir_percent: 30,
    }
}

const LOAD: [&str; 16] = [
    "load",
    "--referrals",
    "60",
    "--clients",
    "4",
    "--seed",
    "13",
    "--run",
    RUN,
    "--referrers",
    "4",
    "--areas",
    "2",
    "--services-per-area",
    "1",
    "--quiet",
];

/// What a backup file says of itself: its header, and its message lines.
struct BackupFile {
    path: PathBuf,
    header: Header,
    messages: Vec<String>,
}

impl BackupFile {
    fn read(path: &Path) -> BackupFile {
        let text = std::fs::read_to_string(path).expect("the backup file");
        let lines: Vec<&str> = text.lines().collect();
        let header: Header = serde_json::from_str(lines[0]).expect("a header line");
        assert!(lines.last().unwrap().starts_with("{\"trailer\":"));
        BackupFile {
            path: path.to_owned(),
            header,
            messages: lines[1..lines.len() - 1]
                .iter()
                .map(|l| (*l).to_owned())
                .collect(),
        }
    }

    fn arg(&self) -> &str {
        self.path.to_str().unwrap()
    }
}

/// Runs a `linkway` sub-command to success; its one-line summary.
fn succeeds(lw: &Linkway, args: &[&str]) -> String {
    let output = lw.run(args).expect("linkway runs");
    assert!(output.status.success(), "{args:?}: {}", describe(&output));
    String::from_utf8(output.stdout).unwrap()
}

/// Runs a `linkway` sub-command that must be refused; what it said.
fn refused(lw: &Linkway, args: &[&str]) -> String {
    let output = lw.run(args).expect("linkway runs");
    assert!(
        !output.status.success(),
        "{args:?} succeeded: {}",
        describe(&output)
    );
    String::from_utf8(output.stderr).unwrap()
}

fn describe(output: &Output) -> String {
    format!(
        "{}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `linkway backup`, timed; the file it wrote.
fn backup(lw: &Linkway, out: &Path, from_sequence: u64) -> BackupFile {
    let started = Instant::now();
    let from = from_sequence.to_string();
    let summary = succeeds(
        lw,
        &[
            "backup",
            "--out",
            out.to_str().unwrap(),
            "--from-sequence",
            &from,
        ],
    );
    eprintln!("{} ({:?})", summary.trim(), started.elapsed());
    BackupFile::read(out)
}

async fn store_on(nats_url: String, scope: &Scope) -> EventStore {
    let client = linkway_platform::nats::connect(&[nats_url], "linkway-backup-test")
        .await
        .expect("NATS");
    let config = StoreConfig {
        stream: scope.stream.clone(),
        subject_prefix: scope.subject_prefix.clone(),
        ..StoreConfig::default()
    };
    EventStore::connect(client, config)
        .await
        .expect("event store")
}

/// Waits until the log holds `events` events; fails if the load ends first.
async fn wait_for_events(store: &EventStore, events: u64, load: &tokio::task::JoinHandle<Output>) {
    let deadline = Instant::now() + Duration::from_secs(180);
    while store.last_sequence().await.unwrap() < events {
        assert!(!load.is_finished(), "the load ended before {events} events");
        assert!(Instant::now() < deadline, "no {events} events within 180 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_load_restores_into_a_fresh_nats_with_identical_answers() {
    let postgres = shared_postgres();
    let (nats, fresh_nats) = (Nats::start().unwrap(), Nats::start().unwrap());
    let scope = Scope::new();
    let original =
        Arc::new(Linkway::new(BINARY, &[nats.url()], &postgres.url(), &scope).expect("linkway"));
    original
        .start_ready(Duration::from_secs(120))
        .await
        .expect("the original is ready");
    let store = store_on(nats.url(), &scope).await;
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str| dir.path().join(name);

    // Two backups while `linkway load` runs against the original.
    let load = {
        let original = original.clone();
        tokio::task::spawn_blocking(move || original.run(&LOAD).expect("linkway load runs"))
    };
    wait_for_events(&store, EARLY_AT, &load).await;
    let early = backup(&original, &file("early.jsonl"), 1);
    wait_for_events(&store, FULL_AT, &load).await;
    let full = backup(&original, &file("full.jsonl"), 1);
    assert!(
        !load.is_finished(),
        "the backup was taken while the load ran"
    );
    assert!(full.header.last_sequence >= FULL_AT);
    let loaded = load.await.unwrap();
    assert!(
        loaded.status.success(),
        "linkway load: {}",
        describe(&loaded)
    );

    // The readers' tokens (registry events, so restored too), then the incremental backup.
    let orgs = plan::organisations(SEED, RUN, &shape());
    let issue = |org: String, role: Role| {
        let store = store.clone();
        async move {
            admin::issue_token(&store, &org, role, Some("backup-reader".into()), None)
                .await
                .expect("token")
                .0
        }
    };
    let mut link_workers = Vec::new();
    for service in &orgs.services {
        let token = issue(service.id.clone(), Role::LinkWorker).await;
        link_workers.push((service.id.clone(), token));
    }
    // A community service answering for every service of the load's directory, so its
    // inbox holds every onward connection the load made.
    let community_service = format!("cs-{RUN}");
    admin::run(
        &store,
        admin::AdminCommand::Org(admin::OrgCommand::Add {
            id: community_service.clone(),
            name: "Backup test community service".into(),
            kind: linkway_events::registry::OrganisationKind::CommunityService,
            code: None,
            area: None,
            link_worker_service: false,
            directory_services: orgs.directory.clone(),
        }),
    )
    .await
    .expect("the community service registered");
    let readers = Readers {
        admin: issue("linkway".into(), Role::Admin).await,
        community_service: issue(community_service, Role::CommunityService).await,
        link_workers,
        areas: orgs.commissioners.iter().map(|(_, a)| a.clone()).collect(),
    };
    let last = store.last_sequence().await.unwrap();
    assert!(
        last > full.header.last_sequence,
        "events appended after the backup"
    );
    let incremental = backup(
        &original,
        &file("incremental.jsonl"),
        full.header.last_sequence + 1,
    );
    assert_eq!(
        (
            incremental.header.first_sequence,
            incremental.header.last_sequence
        ),
        (full.header.last_sequence + 1, last)
    );
    assert_eq!(early.messages[..], full.messages[..early.messages.len()]);

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    answers::check_coverage(&http, &original).await;
    let before = answers::gather(&http, &original, &readers, last).await;
    assert!(
        before.len() > 2 * REFERRALS as usize,
        "{} answers",
        before.len()
    );

    // The fresh deployment: another nats-server, fresh databases, the same stream names.
    let fresh_scope = Scope {
        database_prefix: Scope::new().database_prefix,
        ..scope.clone()
    };
    let restored =
        Linkway::new(BINARY, &[fresh_nats.url()], &postgres.url(), &fresh_scope).expect("linkway");
    let fresh = store_on(fresh_nats.url(), &fresh_scope).await;
    restore_checks(&restored, &fresh, &dir, &early, &full, &incremental).await;
    assert_eq!(fresh.last_sequence().await.unwrap(), last);

    // The restored log is the original's, message for message (sequence, subject,
    // headers, payload bytes).
    let again = backup(&restored, &file("restored.jsonl"), 1);
    let original_messages: Vec<&String> =
        full.messages.iter().chain(&incremental.messages).collect();
    assert_eq!(again.messages.iter().collect::<Vec<_>>(), original_messages);

    // Every read model rebuilt from the restored log answers as the original's does.
    restored
        .start_ready(Duration::from_secs(180))
        .await
        .expect("the restored deployment is ready");
    let after = answers::gather(&http, &restored, &readers, last).await;
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    for (request, answer) in &before {
        assert_eq!(answer, &after[request], "{request}");
    }
    // FHIR referrals' `reply_to` is among what is compared: it comes from the log too.
    let reply_endpoints = before
        .iter()
        .filter(|(request, answer)| answers::carries_reply_endpoint(request, answer))
        .count();
    assert!(
        reply_endpoints > 0,
        "the load sent FHIR referrals with a reply endpoint"
    );
    eprintln!(
        "{} answers equal after restoring {last} events",
        before.len()
    );
}

/// The restores into the fresh stream, in an order that meets every rule: refusals
/// first (nothing appended), then the early backup, the full one resuming after it, the
/// incremental one.
async fn restore_checks(
    lw: &Linkway,
    fresh: &EventStore,
    dir: &tempfile::TempDir,
    early: &BackupFile,
    full: &BackupFile,
    incremental: &BackupFile,
) {
    let fresh_last = || async { fresh.last_sequence().await.unwrap() };

    // One byte of one payload changed: refused before anything is published.
    let damaged = dir.path().join("damaged.jsonl");
    let mut bytes = std::fs::read(&full.path).unwrap();
    let line = full.messages.len() / 2;
    let at = nth_payload(&bytes, line) + 20;
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    std::fs::write(&damaged, &bytes).unwrap();
    let said = refused(lw, &["restore", "--from", damaged.to_str().unwrap()]);
    assert!(
        said.contains("damaged") && said.contains("checksum"),
        "{said}"
    );
    assert_eq!(fresh_last().await, 0, "a damaged backup appended something");

    // An incremental backup needs the stream to end just before it.
    let said = refused(lw, &["restore", "--from", incremental.arg()]);
    assert!(said.contains("ends at sequence 0"), "{said}");
    assert_eq!(fresh_last().await, 0);

    let summary = succeeds(lw, &["restore", "--from", early.arg()]);
    assert!(summary.contains(&format!(
        "{} appended, 0 already there",
        early.messages.len()
    )));
    // The full backup over the early one: the stream ends inside it, so it resumes.
    let started = Instant::now();
    let summary = succeeds(lw, &["restore", "--from", full.arg()]);
    eprintln!("{} ({:?})", summary.trim(), started.elapsed());
    let appended = full.messages.len() - early.messages.len();
    assert!(
        summary.contains(&format!(
            "{appended} appended, {} already there",
            early.messages.len()
        )),
        "{summary}"
    );
    assert_eq!(fresh_last().await, full.header.last_sequence);

    // The stream now ends beyond the early backup: a non-matching, non-empty target.
    let said = refused(lw, &["restore", "--from", early.arg()]);
    assert!(
        said.contains(&format!("ends at sequence {}", full.header.last_sequence)),
        "{said}"
    );
    assert_eq!(fresh_last().await, full.header.last_sequence);

    succeeds(lw, &["restore", "--from", incremental.arg()]);
}

/// Where the payload of the `n`th message line begins.
fn nth_payload(bytes: &[u8], n: usize) -> usize {
    let text = std::str::from_utf8(bytes).unwrap();
    let line_start: usize = text.split_inclusive('\n').take(n + 1).map(str::len).sum();
    line_start + text[line_start..].find("\"payload\":\"").unwrap() + 11
}

/// A timing, not a check of answers: `LINKWAY_BACKUP_EVENTS` (default a million)
/// Linkway-shaped messages published straight to the stream, then `linkway backup` and
/// `linkway restore` into a fresh nats-server, each timed (`LINKWAY_BACKUP_BINARY` names
/// another build of the binary, e.g. a release one). Run with
/// `cargo test -p linkway --test backup -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a timing of a million events; run by hand"]
async fn a_million_events_back_up_and_restore() {
    let events: u64 = std::env::var("LINKWAY_BACKUP_EVENTS")
        .map(|n| n.parse().expect("a number of events"))
        .unwrap_or(1_000_000);
    let binary = std::env::var("LINKWAY_BACKUP_BINARY").unwrap_or_else(|_| BINARY.into());
    let (nats, fresh_nats) = (Nats::start().unwrap(), Nats::start().unwrap());
    let scope = Scope::new();
    // Backup and restore touch NATS only.
    let unused_db = "postgres://unused@127.0.0.1:1/unused";
    let original = Linkway::new(&binary, &[nats.url()], unused_db, &scope).unwrap();
    let restored = Linkway::new(&binary, &[fresh_nats.url()], unused_db, &scope).unwrap();
    let store = store_on(nats.url(), &scope).await;

    let started = Instant::now();
    let js = store.jetstream();
    // About the size of a journey's events, with the quotes a JSON payload has.
    let filler = "x".repeat(520);
    let mut pending = std::collections::VecDeque::new();
    for i in 0..events {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(linkway_eventstore::TYPE_HEADER, "case.contact_attempted");
        headers.insert(linkway_eventstore::VERSION_HEADER, "1");
        headers.insert(
            async_nats::header::NATS_MESSAGE_ID,
            format!("m-{i}").as_str(),
        );
        let payload = format!(
            "{{\"event_id\":\"e-{i}\",\"type\":\"case.contact_attempted\",\"data\":{{\"note\":\"{filler}\"}}}}"
        );
        let publish = async_nats::jetstream::message::PublishMessage::build()
            .payload(payload.into())
            .headers(headers);
        let subject = format!("{}.case.c{}", scope.subject_prefix, i % 50_000);
        pending.push_back(js.send_publish(subject, publish).await.unwrap());
        if pending.len() >= 1000 {
            pending.pop_front().unwrap().await.unwrap();
        }
    }
    for ack in pending {
        ack.await.unwrap();
    }
    eprintln!("published {events} events in {:?}", started.elapsed());

    let dir = tempfile::tempdir().unwrap();
    let file = backup(&original, &dir.path().join("all.jsonl"), 1);
    assert_eq!(file.messages.len() as u64, events);
    let size = std::fs::metadata(&file.path).unwrap().len();
    eprintln!("backup file: {} MiB", size / (1 << 20));
    let started = Instant::now();
    let summary = succeeds(&restored, &["restore", "--from", file.arg()]);
    eprintln!("{} ({:?})", summary.trim(), started.elapsed());
    let fresh = store_on(fresh_nats.url(), &scope).await;
    assert_eq!(fresh.last_sequence().await.unwrap(), events);
}
