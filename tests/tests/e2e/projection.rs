//! The projection runner's guarantees: every event applied exactly once in effect, through
//! crashes, database restarts, NATS restarts and malformed events; rebuilds equal live.

use std::time::Duration;

use linkway_events::case::{CaseAccepted, CaseEvent};
use linkway_events::{Actor, Envelope, Event};
use linkway_eventstore::{EventStore, Expected, PendingEvent};
use linkway_platform::projection::{
    Projected, Projection, ProjectionError, ProjectionRunner, RunnerSettings,
};
use linkway_platform::{Checkpoint, Database};
use linkway_testkit::{Nats, Postgres, Server, TestEnv};
use time::OffsetDateTime;
use tokio_postgres::Transaction;
use uuid::Uuid;

mod rebuild_dead_letters;

/// A read model that makes double application loud: `applied` has the sequence as its
/// primary key, and `per_aggregate` counts events per aggregate.
struct Ledger {
    /// Slows each batch down so a crash lands mid-batch.
    delay_ms: u32,
}

impl Projection for Ledger {
    const NAME: &'static str = "ledger";
    const VERSION: i32 = 1;
    const TABLES: &'static str = "
        CREATE TABLE IF NOT EXISTS applied (sequence bigint PRIMARY KEY, aggregate_id text NOT NULL);
        CREATE TABLE IF NOT EXISTS per_aggregate (aggregate_id text PRIMARY KEY, n integer NOT NULL);";

    async fn apply(
        &self,
        tx: &Transaction<'_>,
        batch: &[Projected],
    ) -> Result<(), ProjectionError> {
        if self.delay_ms > 0 {
            tx.execute(
                "SELECT pg_sleep($1::float8 / 1000)",
                &[&(self.delay_ms as f64)],
            )
            .await?;
        }
        let sequences: Vec<i64> = batch.iter().map(|e| e.sequence as i64).collect();
        let ids: Vec<&str> = batch
            .iter()
            .map(|e| e.envelope.aggregate_id.as_str())
            .collect();
        tx.execute(
            "INSERT INTO applied SELECT * FROM UNNEST($1::bigint[], $2::text[])",
            &[&sequences, &ids],
        )
        .await?;
        tx.execute(
            "INSERT INTO per_aggregate SELECT id, count(*) FROM UNNEST($1::text[]) AS t(id) GROUP BY id
             ON CONFLICT (aggregate_id) DO UPDATE SET n = per_aggregate.n + EXCLUDED.n",
            &[&ids],
        )
        .await?;
        Ok(())
    }
}

fn accepted(case: Uuid) -> PendingEvent {
    let event: Event = CaseEvent::Accepted(CaseAccepted {
        referral_id: case,
        link_worker_organisation_id: "lw".into(),
    })
    .into();
    PendingEvent::new(Envelope::new(
        case.to_string(),
        &event,
        Actor::system(),
        Uuid::now_v7(),
        OffsetDateTime::now_utc(),
    ))
}

/// Appends `n` events spread over a few aggregates; returns the last sequence.
async fn append_events(store: &EventStore, n: usize) -> u64 {
    let cases: Vec<Uuid> = (0..7).map(|_| Uuid::now_v7()).collect();
    let mut last = 0;
    for i in 0..n {
        let case = cases[i % cases.len()];
        last = store
            .append(
                "case",
                &case.to_string(),
                Expected::Any,
                vec![accepted(case)],
            )
            .await
            .expect("append")
            .last_sequence();
    }
    last
}

async fn start_runner(
    db: &Database,
    store: &EventStore,
    env: &TestEnv,
    delay_ms: u32,
) -> (Checkpoint, tokio::task::JoinHandle<()>) {
    start_projection(Ledger { delay_ms }, db, store, env).await
}

/// Runs `projection` live in small batches until the test environment shuts down.
async fn start_projection<P: Projection>(
    projection: P,
    db: &Database,
    store: &EventStore,
    env: &TestEnv,
) -> (Checkpoint, tokio::task::JoinHandle<()>) {
    let runner = ProjectionRunner::new(
        projection,
        db.clone(),
        store.clone(),
        RunnerSettings {
            batch_size: 50,
            max_delay: Duration::from_millis(5),
            ..RunnerSettings::default()
        },
    )
    .await
    .expect("runner");
    let checkpoint = runner.checkpoint();
    let handle = tokio::spawn(runner.run(env.shutdown().wait()));
    (checkpoint, handle)
}

/// The whole read model, for comparing a live one with a rebuilt one.
async fn snapshot(db: &Database) -> (Vec<(i64, String)>, Vec<(String, i32)>) {
    let c = db.client().await.unwrap();
    let applied = c
        .query(
            "SELECT sequence, aggregate_id FROM ledger.applied ORDER BY sequence",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let counts = c
        .query(
            "SELECT aggregate_id, n FROM ledger.per_aggregate ORDER BY aggregate_id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    (applied, counts)
}

async fn dead_letters(db: &Database) -> Vec<(i64, String)> {
    db.client()
        .await
        .unwrap()
        .query("SELECT sequence, reason FROM dead_letters WHERE projection = 'ledger' ORDER BY sequence", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// Asserts the live read model holds exactly the events 1..=last once each, and equals a
/// rebuild from sequence 1.
async fn assert_exactly_once_and_rebuildable(db: &Database, store: &EventStore, last: u64) {
    let live = snapshot(db).await;
    let sequences: Vec<i64> = live.0.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        sequences,
        (1..=last as i64).collect::<Vec<_>>(),
        "every event once, none skipped"
    );
    let total: i32 = live.1.iter().map(|(_, n)| *n).sum();
    assert_eq!(
        total as u64, last,
        "per-aggregate counts add up to the events applied"
    );
    let checkpoint = linkway_platform::projection::rebuild(
        &Ledger { delay_ms: 0 },
        db,
        store,
        RunnerSettings::default(),
        &|_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(checkpoint, last);
    assert_eq!(
        snapshot(db).await,
        live,
        "a rebuild from sequence 1 equals the live read model"
    );
}

#[tokio::test]
async fn events_are_applied_in_batches_exactly_once_and_resume_after_restart() {
    let env = TestEnv::shared();
    let store = env.store().await;
    let db = env.database("ledger").await;
    let last = append_events(&store, 300).await;
    let (checkpoint, handle) = start_runner(&db, &store, &env, 0).await;
    assert!(checkpoint.wait_for(last, Duration::from_secs(20)).await);
    handle.abort();
    // A new runner resumes from the stored checkpoint, not from the start.
    let more = append_events(&store, 40).await;
    let (checkpoint, _handle) = start_runner(&db, &store, &env, 0).await;
    assert!(checkpoint.current() >= last);
    assert!(checkpoint.wait_for(more, Duration::from_secs(20)).await);
    assert_exactly_once_and_rebuildable(&db, &store, more).await;
}

#[tokio::test]
async fn a_projector_killed_mid_batch_again_and_again_loses_and_duplicates_nothing() {
    let env = TestEnv::shared();
    let store = env.store().await;
    let db = env.database("ledger").await;
    let last = append_events(&store, 400).await;
    // Each run is killed while a batch is in flight (every batch sleeps 30 ms).
    for kill_after_ms in [45u64, 70, 20, 95, 60, 35] {
        let (_, handle) = start_runner(&db, &store, &env, 30).await;
        tokio::time::sleep(Duration::from_millis(kill_after_ms)).await;
        handle.abort();
        let _ = handle.await;
    }
    let (checkpoint, _handle) = start_runner(&db, &store, &env, 0).await;
    assert!(checkpoint.wait_for(last, Duration::from_secs(20)).await);
    assert!(
        dead_letters(&db).await.is_empty(),
        "no event was refused as a duplicate"
    );
    assert_exactly_once_and_rebuildable(&db, &store, last).await;
}

#[tokio::test]
async fn postgres_restarted_under_the_projector_loses_and_duplicates_nothing() {
    let pg = Postgres::start().expect("private PostgreSQL");
    let env = TestEnv::on(linkway_testkit::shared_nats().url(), pg.url());
    let store = env.store().await;
    let db = env.database("ledger").await;
    let first = append_events(&store, 200).await;
    let (checkpoint, _handle) = start_runner(&db, &store, &env, 10).await;
    // Restart while batches are being applied.
    tokio::time::sleep(Duration::from_millis(60)).await;
    let restart = tokio::task::spawn_blocking(move || {
        pg.restart().expect("restart PostgreSQL");
        pg
    });
    let last = append_events(&store, 200).await;
    let pg = restart.await.unwrap();
    assert!(last > first);
    assert!(
        checkpoint.wait_for(last, Duration::from_secs(30)).await,
        "projector caught up after the restart"
    );
    assert_exactly_once_and_rebuildable(&db, &store, last).await;
    drop(pg);
}

#[tokio::test]
async fn nats_restarted_mid_stream_the_projector_reconnects_and_catches_up() {
    let nats = Nats::start().expect("private nats-server");
    let env = TestEnv::on(nats.url(), linkway_testkit::shared_postgres().url());
    let store = env.store().await;
    let db = env.database("ledger").await;
    let before = append_events(&store, 100).await;
    let (checkpoint, _handle) = start_runner(&db, &store, &env, 0).await;
    assert!(checkpoint.wait_for(before, Duration::from_secs(20)).await);
    let nats = tokio::task::spawn_blocking(move || {
        nats.restart().expect("restart nats-server");
        nats
    })
    .await
    .unwrap();
    // The client reconnects by itself; appends after the restart go through.
    let mut last = 0;
    for _ in 0..100 {
        match tokio::time::timeout(Duration::from_secs(10), append_events(&store, 1)).await {
            Ok(seq) => last = seq,
            Err(_) => panic!("append did not succeed after the NATS restart"),
        }
    }
    assert!(last > before);
    assert!(
        checkpoint.wait_for(last, Duration::from_secs(30)).await,
        "projector caught up after the NATS restart"
    );
    assert_exactly_once_and_rebuildable(&db, &store, last).await;
    drop(nats);
}

#[tokio::test]
async fn a_malformed_event_is_dead_lettered_and_later_events_still_project() {
    let env = TestEnv::shared();
    let store = env.store().await;
    let db = env.database("ledger").await;
    let good_before = append_events(&store, 5).await;
    let js = store.jetstream();
    let subject = format!("{}.case.garbage", env.scope.subject_prefix);
    let garbage = js
        .publish(subject.clone(), "not json at all".into())
        .await
        .unwrap()
        .await
        .unwrap()
        .sequence;
    let mut unknown = serde_json::to_value(Envelope::new(
        "x",
        &Event::from(CaseEvent::Accepted(CaseAccepted {
            referral_id: Uuid::nil(),
            link_worker_organisation_id: "lw".into(),
        })),
        Actor::system(),
        Uuid::now_v7(),
        OffsetDateTime::now_utc(),
    ))
    .unwrap();
    unknown["type"] = "case.teleported".into();
    let unknown_seq = js
        .publish(
            subject.clone(),
            serde_json::to_vec(&unknown).unwrap().into(),
        )
        .await
        .unwrap()
        .await
        .unwrap()
        .sequence;
    unknown["type"] = "case.accepted".into();
    unknown["version"] = 9.into();
    let future_seq = js
        .publish(subject, serde_json::to_vec(&unknown).unwrap().into())
        .await
        .unwrap()
        .await
        .unwrap()
        .sequence;
    let last = append_events(&store, 5).await;
    let (checkpoint, _handle) = start_runner(&db, &store, &env, 0).await;
    assert!(
        checkpoint.wait_for(last, Duration::from_secs(20)).await,
        "later events still project"
    );
    let parked = dead_letters(&db).await;
    assert_eq!(
        parked.iter().map(|(s, _)| *s as u64).collect::<Vec<_>>(),
        vec![garbage, unknown_seq, future_seq]
    );
    assert!(parked[0].1.contains("envelope"), "{}", parked[0].1);
    assert!(
        parked[1].1.contains("unknown event type `case.teleported`"),
        "{}",
        parked[1].1
    );
    assert!(parked[2].1.contains("no version 9"), "{}", parked[2].1);
    let applied = snapshot(&db).await.0;
    assert_eq!(applied.len(), 10);
    assert!(
        applied
            .iter()
            .all(|(s, _)| *s as u64 <= good_before || *s as u64 > future_seq)
    );
    let metrics = linkway_platform::metrics::render();
    assert!(
        metrics.contains("linkway_projection_dead_letters_total{projection=\"ledger\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_rebuild_while_the_live_projector_runs_swaps_in_a_complete_model() {
    let env = TestEnv::shared();
    let store = env.store().await;
    let db = env.database("ledger").await;
    let first = append_events(&store, 300).await;
    let (checkpoint, _handle) = start_runner(&db, &store, &env, 0).await;
    assert!(checkpoint.wait_for(first, Duration::from_secs(20)).await);
    let writer = {
        let store = store.clone();
        tokio::spawn(async move { append_events(&store, 200).await })
    };
    let progress = std::sync::Mutex::new(Vec::new());
    linkway_platform::projection::rebuild(
        &Ledger { delay_ms: 0 },
        &db,
        &store,
        RunnerSettings::default(),
        &|done, total| progress.lock().unwrap().push((done, total)),
    )
    .await
    .unwrap();
    let last = writer.await.unwrap();
    assert!(checkpoint.wait_for(last, Duration::from_secs(20)).await);
    let progress = progress.into_inner().unwrap();
    assert!(
        progress.len() >= 2 && progress.last().unwrap().0 == progress.last().unwrap().1,
        "{progress:?}"
    );
    // Give the live runner a moment past the checkpoint, then compare with a fresh rebuild.
    assert_exactly_once_and_rebuildable(&db, &store, last).await;
}

/// The ledger, reading only `referral` events.
struct ReferralLedger(Ledger);

impl Projection for ReferralLedger {
    const NAME: &'static str = "ledger";
    const VERSION: i32 = 1;
    const TABLES: &'static str = Ledger::TABLES;

    fn reads(aggregate_kind: &str) -> bool {
        aggregate_kind == "referral"
    }

    async fn apply(
        &self,
        tx: &Transaction<'_>,
        batch: &[Projected],
    ) -> Result<(), ProjectionError> {
        self.0.apply(tx, batch).await
    }
}

async fn stored_checkpoint(db: &Database) -> i64 {
    db.client()
        .await
        .unwrap()
        .query_one(
            "SELECT last_sequence FROM projection_checkpoints WHERE projection = 'ledger'",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn events_of_kinds_a_projection_does_not_read_move_it_on_without_a_transaction_and_are_stored_within_a_second()
 {
    let env = TestEnv::shared();
    let store = env.store().await;
    let db = env.database("ledger").await;
    // Case events only, in the log before the runner starts (one batch, read at once).
    let cases = append_events(&store, 30).await;
    let (checkpoint, _handle) =
        start_projection(ReferralLedger(Ledger { delay_ms: 0 }), &db, &store, &env).await;

    // The read model reaches them at once (read-your-writes holds) but applies nothing and,
    // within the second, writes nothing.
    assert!(checkpoint.wait_for(cases, Duration::from_secs(5)).await);
    assert_eq!(snapshot(&db).await.0, vec![]);
    assert!(stored_checkpoint(&db).await < cases as i64);

    // After the second, the next batch stores where it stands: a restart re-reads little.
    tokio::time::sleep(linkway_platform::projection::CHECKPOINT_EVERY + Duration::from_millis(200))
        .await;
    let later = append_events(&store, 1).await;
    assert!(checkpoint.wait_for(later, Duration::from_secs(5)).await);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while stored_checkpoint(&db).await < later as i64 {
        assert!(
            std::time::Instant::now() < deadline,
            "checkpoint never stored"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // An event it reads is applied, once.
    let referral = Uuid::now_v7();
    let event: Event = linkway_events::referral::ReferralEvent::Withdrawn(
        linkway_events::referral::ReferralWithdrawn {
            referral_id: referral,
            reason: "sent by mistake".into(),
        },
    )
    .into();
    let sequence = store
        .append(
            "referral",
            &referral.to_string(),
            Expected::Any,
            vec![PendingEvent::new(Envelope::new(
                referral.to_string(),
                &event,
                Actor::system(),
                Uuid::now_v7(),
                OffsetDateTime::now_utc(),
            ))],
        )
        .await
        .unwrap()
        .last_sequence();
    assert!(checkpoint.wait_for(sequence, Duration::from_secs(5)).await);
    assert_eq!(
        snapshot(&db).await.0,
        vec![(sequence as i64, referral.to_string())]
    );
    assert_eq!(stored_checkpoint(&db).await, sequence as i64);
}
