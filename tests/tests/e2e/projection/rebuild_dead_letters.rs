//! A rebuild's dead letters: after `rebuild`, a projection's dead letters are exactly those
//! the rebuild found. An event a fixed release now applies is no longer listed, one it
//! still cannot apply is listed with its new reason, and what an earlier rebuild that
//! never swapped in had parked is gone (and never on the admin page).

use super::*;

/// The ledger under another name, parking every event of one aggregate: a release with a
/// bug (`refuses` an aggregate), and a release without (`None`).
struct Picky {
    refuses: Option<String>,
}

impl Projection for Picky {
    const NAME: &'static str = "picky";
    const VERSION: i32 = 1;
    const TABLES: &'static str = Ledger::TABLES;

    async fn apply(
        &self,
        tx: &Transaction<'_>,
        batch: &[Projected],
    ) -> Result<(), ProjectionError> {
        if let Some(refused) = &self.refuses
            && batch.iter().any(|e| &e.envelope.aggregate_id == refused)
        {
            return Err(ProjectionError::Park(format!(
                "this release refuses {refused}"
            )));
        }
        Ledger { delay_ms: 0 }.apply(tx, batch).await
    }
}

/// Every dead letter of every projection of `db`: (projection, sequence, reason).
async fn all_dead_letters(db: &Database) -> Vec<(String, i64, String)> {
    db.client()
        .await
        .unwrap()
        .query(
            "SELECT projection, sequence, reason FROM dead_letters ORDER BY projection, sequence",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

async fn rebuild(release: Picky, db: &Database, store: &EventStore) -> u64 {
    linkway_platform::projection::rebuild(
        &release,
        db,
        store,
        RunnerSettings::default(),
        &|_, _| {},
    )
    .await
    .unwrap()
}

/// One event of a fresh aggregate; its id and sequence.
async fn one_event(store: &EventStore) -> (String, u64) {
    let case = Uuid::now_v7();
    let sequence = store
        .append(
            "case",
            &case.to_string(),
            Expected::Any,
            vec![accepted(case)],
        )
        .await
        .expect("append")
        .last_sequence();
    (case.to_string(), sequence)
}

#[tokio::test]
async fn after_a_rebuild_the_dead_letters_are_those_the_rebuild_found() {
    let env = TestEnv::shared();
    let store = env.store().await;
    let db = env.database("picky").await;
    append_events(&store, 5).await;
    let (first, first_seq) = one_event(&store).await;
    let (second, second_seq) = one_event(&store).await;
    let garbage = store
        .jetstream()
        .publish(
            format!("{}.case.garbage", env.scope.subject_prefix),
            "not json at all".into(),
        )
        .await
        .unwrap()
        .await
        .unwrap()
        .sequence;
    let last = append_events(&store, 5).await;
    let refusing_first = || Picky {
        refuses: Some(first.clone()),
    };
    let (checkpoint, _handle) = start_projection(refusing_first(), &db, &store, &env).await;
    assert!(checkpoint.wait_for(last, Duration::from_secs(20)).await);
    let parked = all_dead_letters(&db).await;
    let sequences: Vec<(&str, i64)> = parked.iter().map(|(p, s, _)| (p.as_str(), *s)).collect();
    assert_eq!(
        sequences,
        vec![("picky", first_seq as i64), ("picky", garbage as i64)]
    );
    // What a rebuild that stopped before its swap had parked under its own name.
    db.client()
        .await
        .unwrap()
        .execute(
            "INSERT INTO dead_letters (projection, sequence, subject, reason, payload)
             VALUES ('picky__rebuild', 3, 'stale', 'a rebuild that never swapped', '\\x00')",
            &[],
        )
        .await
        .unwrap();
    // The admin page lists a projection's own, not a rebuild's.
    let listed = linkway_platform::web::admin::dead_letters::dead_letters(&db)
        .await
        .unwrap();
    assert!(listed.iter().all(|d| d.projection == "picky"), "{listed:?}");
    assert_eq!(listed.len(), 2);

    // A release that applies the first aggregate but refuses the second.
    let reached = rebuild(
        Picky {
            refuses: Some(second.clone()),
        },
        &db,
        &store,
    )
    .await;
    assert_eq!(reached, last);
    let parked = all_dead_letters(&db).await;
    let sequences: Vec<(&str, i64)> = parked.iter().map(|(p, s, _)| (p.as_str(), *s)).collect();
    assert_eq!(
        sequences,
        vec![("picky", second_seq as i64), ("picky", garbage as i64)],
        "{parked:?}"
    );
    assert_eq!(parked[0].2, format!("this release refuses {second}"));
    assert!(parked[1].2.contains("envelope"), "{}", parked[1].2);
    let applied: Vec<i64> = db
        .client()
        .await
        .unwrap()
        .query("SELECT sequence FROM picky.applied ORDER BY sequence", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(applied.contains(&(first_seq as i64)) && !applied.contains(&(second_seq as i64)));

    // The release that applies both: only the unreadable event stays parked.
    rebuild(Picky { refuses: None }, &db, &store).await;
    let parked = all_dead_letters(&db).await;
    let sequences: Vec<(&str, i64)> = parked.iter().map(|(p, s, _)| (p.as_str(), *s)).collect();
    assert_eq!(sequences, vec![("picky", garbage as i64)]);
}
