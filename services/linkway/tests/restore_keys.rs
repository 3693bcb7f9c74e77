//! `linkway restore` with the backup's `<file>.keys`, against real nats-servers: a key
//! whose person the restored log says was erased is never put back, and a key an earlier
//! restore put back is destroyed once a later restore brings the erasure.
//!
//! Two referrals, each sealed under its own person's data key; a full backup; one person
//! erased (the event, then the key destroyed, as an erasure does); an incremental backup
//! holding the erasure, and a full one taken after it.

use std::path::Path;

use linkway_events::Envelope;
use linkway_eventstore::{EventStore, Expected, PendingEvent};
use linkway_testkit::{Linkway, Nats, Scope, TestEnv};
use uuid::Uuid;

const BINARY: &str = env!("CARGO_BIN_EXE_linkway");

/// A store on the nats-server at `nats_url`, in `scope`, with the vault a service
/// holding personal data has.
async fn opened_store(nats_url: String, scope: &Scope) -> EventStore {
    let mut env = TestEnv::on(nats_url, "postgres://unused".into());
    env.scope = scope.clone();
    env.opened_store().await
}

/// The schema's synthetic example of `event_type` (its whole envelope), made the first
/// event of `kind`/`id`.
async fn append_example(store: &EventStore, kind: &str, event_type: &str, id: Uuid) {
    let path = format!(
        "{}/../../schemas/examples/{event_type}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut envelope = Envelope::from_slice(&std::fs::read(path).expect("example")).unwrap();
    envelope.event_id = Uuid::now_v7();
    envelope.aggregate_id = id.to_string();
    let mut data = envelope.data_value();
    data["referral_id"] = serde_json::json!(id);
    envelope.set_data(&data);
    store
        .append(
            kind,
            &id.to_string(),
            Expected::NoEvents,
            vec![PendingEvent::new(envelope)],
        )
        .await
        .expect("append");
}

/// The referral's given name as a reader with the KEKs sees it; `None` while sealed.
async fn given_name(store: &EventStore, id: Uuid) -> Option<String> {
    let events = store.load("referral", &id.to_string()).await.expect("load");
    let (_, event) = events[0].decode().expect("decodes");
    let linkway_events::Event::Referral(linkway_events::ReferralEvent::Received(r)) = event else {
        panic!("not a referral: {event:?}")
    };
    r.personal.map(|p| p.person.given_name)
}

fn linkway(lw: &Linkway, args: &[&str]) -> String {
    let output = lw.run(args).expect("linkway runs");
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{args:?}: {said} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    said
}

fn backup(lw: &Linkway, out: &Path, from_sequence: u64) -> String {
    let (out, from) = (out.to_str().unwrap(), from_sequence.to_string());
    linkway(lw, &["backup", "--out", out, "--from-sequence", &from])
}

fn restore(lw: &Linkway, from: &Path) -> String {
    linkway(lw, &["restore", "--from", from.to_str().unwrap()])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_never_gives_an_erased_person_their_key_back() {
    let (nats, first, second) = (
        Nats::start().unwrap(),
        Nats::start().unwrap(),
        Nats::start().unwrap(),
    );
    let scope = Scope::new();
    // Backup and restore touch NATS only.
    let db = "postgres://unused@127.0.0.1:1/unused";
    let original = Linkway::new(BINARY, &[nats.url()], db, &scope).unwrap();
    let store = opened_store(nats.url(), &scope).await;
    let (kept, erased) = (Uuid::now_v7(), Uuid::now_v7());
    for id in [kept, erased] {
        append_example(&store, "referral", "referral.received.v3", id).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let before = dir.path().join("before.jsonl");
    let said = backup(&original, &before, 1);
    assert!(said.contains("and 2 data keys"), "{said}");

    append_example(&store, "person", "person.erased.v1", erased).await;
    let vault = store.vault().expect("a vault");
    vault.keys().destroy(&erased.to_string()).await.unwrap();
    assert_eq!(given_name(&store, erased).await, None);
    let incremental = dir.path().join("incremental.jsonl");
    let said = backup(&original, &incremental, 3);
    assert!(said.contains("and 1 data keys"), "{said}");
    let after = dir.path().join("after.jsonl");
    backup(&original, &after, 1);

    // The full backup, then the incremental one: the first restore puts both keys back
    // (its log knows of no erasure), the second destroys the erased person's.
    let restored = Linkway::new(BINARY, &[first.url()], db, &scope).unwrap();
    let said = restore(&restored, &before);
    assert!(said.contains("data keys: 2 restored"), "{said}");
    let fresh = opened_store(first.url(), &scope).await;
    assert_eq!(given_name(&fresh, erased).await.as_deref(), Some("Robin"));
    let said = restore(&restored, &incremental);
    assert!(
        said.contains("0 of erased people left out, 1 of erased people destroyed"),
        "{said}"
    );
    // A fresh process (no key in memory) reads the kept person and not the erased one.
    let fresh = opened_store(first.url(), &scope).await;
    assert_eq!(given_name(&fresh, kept).await.as_deref(), Some("Robin"));
    assert_eq!(given_name(&fresh, erased).await, None);

    // The full backup after the erasure with a keys file older than its log (the one of
    // the backup before, copied beside it): the erased person's key is left out.
    std::fs::copy(
        dir.path().join("before.jsonl.keys"),
        dir.path().join("after.jsonl.keys"),
    )
    .unwrap();
    let restored = Linkway::new(BINARY, &[second.url()], db, &scope).unwrap();
    let said = restore(&restored, &after);
    assert!(
        said.contains("data keys: 1 restored, 0 there already, 1 of erased people left out"),
        "{said}"
    );
    let fresh = opened_store(second.url(), &scope).await;
    assert_eq!(given_name(&fresh, kept).await.as_deref(), Some("Robin"));
    assert_eq!(given_name(&fresh, erased).await, None);
}
