//! The vault against a real nats-server: a process that erased nobody itself forgets a
//! person's data key as soon as its log reader meets the `person.*` event another process
//! appended, not when its key cache would have let the key go (30 s later).

use linkway_events::person::{ErasureReason, PersonErased};
use linkway_events::{Actor, Envelope, Event};
use linkway_eventstore::{EventStore, Expected, PendingEvent, RecordedEvent};
use linkway_testkit::{TestEnv, shared_nats};
use time::OffsetDateTime;
use uuid::Uuid;

/// The synthetic referral of the schema's example, as a new referral `id`.
fn referral(id: Uuid) -> Event {
    let example: serde_json::Value = serde_json::from_str(include_str!(
        "../../../schemas/examples/referral.received.v3.json"
    ))
    .expect("the example is JSON");
    let mut data = example["data"].clone();
    data["referral_id"] = serde_json::json!(id);
    Event::decode("referral.received", 3, data).expect("the example decodes")
}

/// Appends the first event of the aggregate `kind`/`id`.
async fn append(store: &EventStore, kind: &str, id: Uuid, event: Event) {
    let at = OffsetDateTime::now_utc();
    let envelope = Envelope::new(id.to_string(), &event, Actor::system(), Uuid::now_v7(), at);
    let events = vec![PendingEvent::new(envelope)];
    let id = id.to_string();
    let appended = store.append(kind, &id, Expected::NoEvents, events);
    appended.await.expect("append");
}

/// The given name of the referral's opened personal part, `None` when it stays sealed.
fn given_name(event: &RecordedEvent) -> Option<String> {
    let (_, event) = event.decode().expect("decodes");
    let Event::Referral(linkway_events::ReferralEvent::Received(r)) = event else {
        panic!("not the referral: {event:?}")
    };
    r.personal.map(|p| p.person.given_name)
}

async fn referral_as_loaded(store: &EventStore, id: Uuid) -> Option<String> {
    let events = store.load("referral", &id.to_string()).await.expect("load");
    given_name(&events[0])
}

#[tokio::test]
async fn a_reader_meeting_another_process_erasure_forgets_the_key_at_once() {
    let env = TestEnv::on(shared_nats().url(), "postgres://unused".into());
    // Two processes, each with its own vault and so its own cache of data keys.
    let here = env.opened_store().await;
    let there = env.opened_store().await;
    let id = Uuid::now_v7();
    append(&here, "referral", id, referral(id)).await;
    let mut reader = here.read_from(1).await.expect("reader");
    let first = reader.next().await;
    assert_eq!(given_name(&first).as_deref(), Some("Robin"), "opened here");

    // The other process erases the person: the event, then the key destroyed.
    let erasure = PersonErased {
        referral_id: id,
        reason: ErasureReason::PersonAsked,
    };
    append(&there, "person", id, erasure.into()).await;
    there
        .vault()
        .expect("a vault")
        .keys()
        .destroy(&id.to_string())
        .await
        .expect("destroy");
    assert_eq!(referral_as_loaded(&there, id).await, None, "gone there");
    // Here the key is still in memory (what the reader's forgetting is for) ...
    assert_eq!(
        referral_as_loaded(&here, id).await.as_deref(),
        Some("Robin"),
        "the cache still holds the key until the reader meets the erasure"
    );
    // ... until the reader meets the erasure: from then on nothing opens here either.
    let next = reader.next().await;
    assert_eq!(next.aggregate_kind(), Some("person"));
    assert_eq!(referral_as_loaded(&here, id).await, None, "forgotten here");
    // And a reader from the start, in this process, sees the referral sealed.
    let mut again = here.read_from(1).await.expect("reader");
    assert_eq!(given_name(&again.next().await), None);
}
