//! The caseload read model meets a record it cannot read: the event is parked in
//! `dead_letters`, the row stays as it was, and the rest of the caseload goes on.

use std::time::Duration;

use linkway_events::case::{CaseAccepted, CaseAssigned, CaseEvent};
use linkway_events::{Actor, Envelope, Event};
use linkway_eventstore::{EventStore, Expected, PendingEvent};
use linkway_link_worker::caseload::Caseload;
use linkway_testkit::TestEnv;
use time::OffsetDateTime;
use uuid::Uuid;

async fn append(store: &EventStore, case: Uuid, event: CaseEvent) -> u64 {
    let event: Event = event.into();
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
        .expect("append")
        .last_sequence()
}

fn accepted(case: Uuid) -> CaseEvent {
    CaseEvent::Accepted(CaseAccepted {
        referral_id: case,
        link_worker_organisation_id: "lw-test".into(),
    })
}

fn assigned(case: Uuid) -> CaseEvent {
    CaseEvent::Assigned(CaseAssigned {
        referral_id: case,
        link_worker_id: "worker-1".into(),
    })
}

/// The whole row, as text, to compare before and after.
async fn row(client: &tokio_postgres::Client, case: Uuid) -> String {
    client
        .query_one(
            "SELECT row_to_json(c)::text FROM caseload.cases c WHERE referral_id = $1",
            &[&case],
        )
        .await
        .expect("the case has a row")
        .get(0)
}

#[tokio::test]
async fn an_unreadable_caseload_row_parks_the_event_and_stays_as_it_was() {
    let env = TestEnv::shared();
    let ctx = env.context("link-worker").await;
    let store = ctx.store.clone();
    let broken = Uuid::now_v7();
    let healthy = Uuid::now_v7();
    append(&store, broken, accepted(broken)).await;
    let first = append(&store, healthy, accepted(healthy)).await;
    let checkpoint = ctx.spawn_projection(Caseload).await.expect("caseload");
    assert!(checkpoint.wait_for(first, Duration::from_secs(20)).await);

    let client = ctx.db.client().await.expect("client");
    client
        .execute(
            "UPDATE caseload.cases SET record = '{\"not\": \"zebra\"}' WHERE referral_id = $1",
            &[&broken],
        )
        .await
        .expect("corrupt the record");
    let before = row(&client, broken).await;

    // One batch: an event for the broken case between two for a healthy one.
    let parked = append(&store, broken, assigned(broken)).await;
    let last = append(&store, healthy, assigned(healthy)).await;
    assert!(
        checkpoint.wait_for(last, Duration::from_secs(20)).await,
        "the caseload goes on past the unreadable row"
    );

    let dead: Vec<(i64, String)> = client
        .query(
            "SELECT sequence, reason FROM dead_letters WHERE projection = 'caseload' ORDER BY sequence",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].0 as u64, parked);
    assert!(
        dead[0].1.contains("unreadable caseload record"),
        "{}",
        dead[0].1
    );
    assert!(
        !dead[0].1.contains("zebra"),
        "the reason quotes no record content"
    );
    assert_eq!(
        row(&client, broken).await,
        before,
        "the row is left as it was"
    );
    let worker: Option<String> = client
        .query_one(
            "SELECT link_worker_id FROM caseload.cases WHERE referral_id = $1",
            &[&healthy],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        worker.as_deref(),
        Some("worker-1"),
        "the healthy case applied"
    );
    env.stop();
}
