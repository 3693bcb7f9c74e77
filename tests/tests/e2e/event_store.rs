//! The event log's guarantees against a real nats-server.

use linkway_events::case::{CaseAccepted, CaseEvent};
use linkway_events::referral::{ReferralEvent, ReferralWithdrawn};
use linkway_events::{Actor, Envelope, Event};
use linkway_eventstore::{AppendError, Expected, PendingEvent};
use linkway_testkit::{Scope, shared_nats};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::support::store;

fn accepted(case: Uuid) -> Envelope {
    let event: Event = CaseEvent::Accepted(CaseAccepted {
        referral_id: case,
        link_worker_organisation_id: "lw-leeds".into(),
    })
    .into();
    Envelope::new(
        case.to_string(),
        &event,
        Actor::system(),
        Uuid::now_v7(),
        OffsetDateTime::now_utc(),
    )
}

#[tokio::test]
async fn two_concurrent_creates_of_one_aggregate_exactly_one_wins() {
    let scope = Scope::new();
    let store = store(&shared_nats().url(), &scope).await;
    for _ in 0..20 {
        let case = Uuid::now_v7();
        let id = case.to_string();
        let (a, b) = tokio::join!(
            store.append(
                "case",
                &id,
                Expected::NoEvents,
                vec![PendingEvent::new(accepted(case))]
            ),
            store.append(
                "case",
                &id,
                Expected::NoEvents,
                vec![PendingEvent::new(accepted(case))]
            ),
        );
        let wins = [&a, &b].iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "exactly one create must win: {a:?} {b:?}");
        let loser = if a.is_err() { a } else { b };
        assert!(
            matches!(loser, Err(AppendError::Conflict { .. })),
            "{loser:?}"
        );
        assert_eq!(store.load("case", &id).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn two_appends_at_the_same_expected_sequence_exactly_one_wins() {
    let scope = Scope::new();
    let store = store(&shared_nats().url(), &scope).await;
    let case = Uuid::now_v7();
    let id = case.to_string();
    let first = store
        .append(
            "case",
            &id,
            Expected::NoEvents,
            vec![PendingEvent::new(accepted(case))],
        )
        .await
        .unwrap();
    let at = Expected::LastSequence(first.last_sequence());
    let (a, b) = tokio::join!(
        store.append("case", &id, at, vec![PendingEvent::new(accepted(case))]),
        store.append("case", &id, at, vec![PendingEvent::new(accepted(case))]),
    );
    assert_eq!(
        [&a, &b].iter().filter(|r| r.is_ok()).count(),
        1,
        "{a:?} {b:?}"
    );
    assert!(matches!(
        if a.is_err() { a } else { b },
        Err(AppendError::Conflict { .. })
    ));
    assert_eq!(store.load("case", &id).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_retried_append_with_the_same_message_id_never_appends_twice() {
    let scope = Scope::new();
    let store = store(&shared_nats().url(), &scope).await;
    let case = Uuid::now_v7();
    let id = case.to_string();
    let event = PendingEvent::with_message_id(accepted(case), "cmd-42:0");
    let first = store
        .append("case", &id, Expected::NoEvents, vec![event.clone()])
        .await
        .unwrap();
    assert!(!first.duplicate);
    // A retry that still claims "no events yet" is refused by nats-server 2.11+ (the
    // sequence check comes first); the command path then finds its own event by message id.
    let stale = store
        .append("case", &id, Expected::NoEvents, vec![event.clone()])
        .await;
    assert!(
        matches!(stale, Err(AppendError::Conflict { .. })),
        "{stale:?}"
    );
    // Without an expectation the log's deduplication answers with the original sequence.
    let retry = store
        .append("case", &id, Expected::Any, vec![event])
        .await
        .unwrap();
    assert!(retry.duplicate);
    assert_eq!(first.sequences, retry.sequences);
    assert_eq!(store.load("case", &id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_multi_event_command_retried_after_a_partial_append_appends_nothing_twice() {
    let scope = Scope::new();
    let store = store(&shared_nats().url(), &scope).await;
    let case = Uuid::now_v7();
    let id = case.to_string();
    let events: Vec<PendingEvent> = (0..3)
        .map(|i| PendingEvent::with_message_id(accepted(case), format!("cmd-7:{i}")))
        .collect();
    // Only the first event got through before the "crash".
    let partial = store
        .append("case", &id, Expected::NoEvents, events[..1].to_vec())
        .await
        .unwrap();
    // Retried whole on the old expectation: refused, nothing written.
    let stale = store
        .append("case", &id, Expected::NoEvents, events.clone())
        .await;
    assert!(
        matches!(stale, Err(AppendError::Conflict { .. })),
        "{stale:?}"
    );
    // Resumed after what the log holds (as the command path does): the rest, once.
    let rest = store
        .append(
            "case",
            &id,
            Expected::LastSequence(partial.last_sequence()),
            events[1..].to_vec(),
        )
        .await
        .unwrap();
    let loaded = store.load("case", &id).await.unwrap();
    let mut sequences = partial.sequences.clone();
    sequences.extend(&rest.sequences);
    assert_eq!(
        loaded.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        sequences
    );
}

#[tokio::test]
async fn load_returns_one_aggregates_events_in_order_and_nothing_for_unknown_ids() {
    let scope = Scope::new();
    let store = store(&shared_nats().url(), &scope).await;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let mut expected = Expected::NoEvents;
    for _ in 0..5 {
        let appended = store
            .append(
                "case",
                &a.to_string(),
                expected,
                vec![PendingEvent::new(accepted(a))],
            )
            .await
            .unwrap();
        expected = Expected::LastSequence(appended.last_sequence());
        store
            .append(
                "case",
                &b.to_string(),
                Expected::Any,
                vec![PendingEvent::new(accepted(b))],
            )
            .await
            .unwrap();
    }
    let loaded = store.load("case", &a.to_string()).await.unwrap();
    assert_eq!(loaded.len(), 5);
    assert!(loaded.windows(2).all(|w| w[0].sequence < w[1].sequence));
    for e in &loaded {
        let (envelope, _) = e.decode().unwrap();
        assert_eq!(envelope.aggregate_id, a.to_string());
    }
    assert!(
        store
            .load("case", &Uuid::now_v7().to_string())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn appends_refuse_ids_that_would_break_the_subject_and_events_of_another_aggregate() {
    let scope = Scope::new();
    let store = store(&shared_nats().url(), &scope).await;
    let case = Uuid::now_v7();
    let err = store
        .append(
            "case",
            "a.b",
            Expected::Any,
            vec![PendingEvent::new(accepted(case))],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, AppendError::InvalidId(_)));
    let err = store
        .append(
            "referral",
            &case.to_string(),
            Expected::Any,
            vec![PendingEvent::new(accepted(case))],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, AppendError::WrongAggregate { .. }));
}

#[tokio::test]
async fn the_stream_is_created_once_with_file_storage_no_max_age_and_an_explicit_duplicate_window()
{
    let scope = Scope::new();
    let store1 = store(&shared_nats().url(), &scope).await;
    // A second process connecting must not fail or change anything.
    let store2 = store(&shared_nats().url(), &scope).await;
    let mut stream = store2.jetstream().get_stream(&scope.stream).await.unwrap();
    let config = stream.info().await.unwrap().config.clone();
    assert_eq!(
        config.storage,
        async_nats::jetstream::stream::StorageType::File
    );
    assert_eq!(
        config.retention,
        async_nats::jetstream::stream::RetentionPolicy::Limits
    );
    assert_eq!(config.max_age, std::time::Duration::ZERO);
    assert_eq!(config.duplicate_window, store1.config().duplicate_window);
    assert_eq!(config.subjects, vec![format!("{}.>", scope.subject_prefix)]);
}

#[tokio::test]
async fn read_from_follows_the_log_in_order_from_any_sequence() {
    let scope = Scope::new();
    let store = store(&shared_nats().url(), &scope).await;
    let mut sequences = Vec::new();
    for _ in 0..10 {
        sequences.push(accept_a_new_case(&store).await);
    }
    let mut reader = store.read_from(sequences[3]).await.unwrap();
    for expected in &sequences[3..] {
        assert_eq!(reader.next().await.sequence, *expected);
    }
    assert!(
        reader
            .next_within(std::time::Duration::from_millis(100))
            .await
            .is_none()
    );
    assert_eq!(
        store.last_sequence().await.unwrap(),
        *sequences.last().unwrap()
    );
}

#[tokio::test]
async fn the_log_reader_consumes_without_a_subject_filter() {
    // A filtered consumer makes the server count pending messages subject by subject
    // (over 2 s at a national year's 3.4 million subjects); the stream holds only the log.
    use futures::TryStreamExt;
    let scope = Scope::new();
    let store = store(&shared_nats().url(), &scope).await;
    let appended = accept_a_new_case(&store).await;
    let mut reader = store.read_from(1).await.unwrap();
    assert_eq!(reader.next().await.sequence, appended);
    let stream = store
        .jetstream()
        .get_stream(&store.config().stream)
        .await
        .unwrap();
    let consumers: Vec<_> = stream.consumers().try_collect().await.unwrap();
    assert!(!consumers.is_empty(), "the reader has a consumer");
    for info in consumers {
        assert_eq!(info.config.filter_subject, "", "{:?}", info.config);
    }
}

/// Appends `case.accepted` for a new case; returns its sequence.
async fn accept_a_new_case(store: &linkway_eventstore::EventStore) -> u64 {
    let c = Uuid::now_v7();
    store
        .append(
            "case",
            &c.to_string(),
            Expected::NoEvents,
            vec![PendingEvent::new(accepted(c))],
        )
        .await
        .unwrap()
        .last_sequence()
}

fn withdrawn(referral: Uuid) -> Envelope {
    let event: Event = ReferralEvent::Withdrawn(ReferralWithdrawn {
        referral_id: referral,
        reason: "moved away".into(),
    })
    .into();
    Envelope::new(
        referral.to_string(),
        &event,
        Actor::system(),
        Uuid::now_v7(),
        OffsetDateTime::now_utc(),
    )
}

/// A decision that read the referral and its case is guarded on both subjects: an event
/// on either one since the load fails the append.
#[tokio::test]
async fn an_append_guarded_on_the_whole_aggregate_fails_after_a_change_on_any_of_its_subjects() {
    let scope = Scope::new();
    let store = store(&shared_nats().url(), &scope).await;
    let id = Uuid::now_v7();
    let key = id.to_string();
    // Nothing on any subject yet: a guarded create succeeds once.
    let first = store
        .append(
            "case",
            &key,
            Expected::WholeAggregate(0),
            vec![PendingEvent::new(accepted(id))],
        )
        .await
        .unwrap();
    let read_at = first.last_sequence();
    // Another writer changes the *referral* subject of the same id.
    store
        .append(
            "referral",
            &key,
            Expected::Any,
            vec![PendingEvent::new(withdrawn(id))],
        )
        .await
        .unwrap();
    let stale = store
        .append(
            "case",
            &key,
            Expected::WholeAggregate(read_at),
            vec![PendingEvent::new(accepted(id))],
        )
        .await;
    assert!(
        matches!(stale, Err(AppendError::Conflict { .. })),
        "{stale:?}"
    );
    // A case guarded only on its own subject would not have noticed.
    assert!(
        store
            .append(
                "case",
                &key,
                Expected::LastSequence(read_at),
                vec![PendingEvent::new(accepted(id))],
            )
            .await
            .is_ok()
    );
    // Loading the aggregate returns both subjects in log order, with message ids.
    let loaded = store.load_aggregate(&key).await.unwrap();
    let subjects: Vec<_> = loaded.iter().map(|e| e.event.subject.clone()).collect();
    assert_eq!(subjects.len(), 3);
    assert!(subjects[1].contains(".referral."), "{subjects:?}");
    assert!(
        loaded
            .windows(2)
            .all(|w| w[0].event.sequence < w[1].event.sequence)
    );
    assert!(loaded.iter().all(|e| e.message_id.is_some()));
    // An unrelated aggregate is untouched by the filter.
    assert!(
        store
            .load_aggregate(&Uuid::now_v7().to_string())
            .await
            .unwrap()
            .is_empty()
    );
}

/// Loading reads batches of direct gets until the server says nothing more matches: an
/// aggregate longer than one batch comes back whole, in order, with its message ids, and
/// the events of other aggregates between them are not mixed in.
#[tokio::test]
async fn an_aggregate_longer_than_one_batch_loads_whole_and_in_order() {
    let scope = Scope::new();
    let store = store(&shared_nats().url(), &scope).await;
    let (long, other) = (Uuid::now_v7(), Uuid::now_v7());
    let mut last = 0;
    for i in 0..600 {
        let event = PendingEvent::with_message_id(accepted(long), format!("long:{i}"));
        let appended = store
            .append(
                "case",
                &long.to_string(),
                Expected::LastSequence(last),
                vec![event],
            )
            .await
            .unwrap();
        last = appended.last_sequence();
        if i % 100 == 0 {
            store
                .append(
                    "case",
                    &other.to_string(),
                    Expected::Any,
                    vec![PendingEvent::new(accepted(other))],
                )
                .await
                .unwrap();
        }
    }
    let loaded = store.load_aggregate(&long.to_string()).await.unwrap();
    assert_eq!(loaded.len(), 600);
    let ids: Vec<String> = loaded
        .iter()
        .map(|e| e.message_id.clone().unwrap())
        .collect();
    assert_eq!(
        ids,
        (0..600).map(|i| format!("long:{i}")).collect::<Vec<_>>()
    );
    assert!(
        loaded
            .windows(2)
            .all(|w| w[0].event.sequence < w[1].event.sequence)
    );
    assert_eq!(
        store.load("case", &other.to_string()).await.unwrap().len(),
        6
    );
    assert!(
        store
            .load_aggregate(&Uuid::now_v7().to_string())
            .await
            .unwrap()
            .is_empty()
    );
}
