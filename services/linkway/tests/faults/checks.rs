//! What every fault ends with: the checks of issue 8 on one run's attempts and samples.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use futures::StreamExt;
use linkway_eventstore::EventStore;
use serde_json::Value;

use crate::support::{
    Attempt, Fault, PROJECTIONS, RECOVERY, SERVICES, STALL_SEEN, Sample, WORKERS, World,
    submit_once,
};

/// Everything the issue asks of every fault, checked on one run.
pub async fn verify(
    world: &World,
    keys: u64,
    attempts: &[Attempt],
    samples: &[Sample],
    faults: &[Fault],
) {
    let started = attempts
        .iter()
        .map(|a| a.sent)
        .min()
        .expect("some attempts");
    let secs = |t: Instant| t.saturating_duration_since(started).as_secs_f64();
    // No answer but 2xx and 503, ever (a 500 in particular).
    let wrong: Vec<_> = attempts
        .iter()
        .filter(|a| matches!(a.result, Ok((s, _)) if !(200..300).contains(&s) && s != 503))
        .collect();
    assert!(wrong.is_empty(), "answers neither 2xx nor 503: {wrong:?}");
    // No 503 (nor a refused connection) later than RECOVERY after each fault.
    for (i, fault) in faults.iter().enumerate() {
        // Until the next fault begins.
        let until = faults.get(i + 1).map(|f| f.began);
        let failed: Vec<&Attempt> = attempts
            .iter()
            .filter(|a| a.sent >= fault.began && until.is_none_or(|u| a.sent < u))
            .filter(|a| !matches!(a.result, Ok((s, _)) if (200..300).contains(&s)))
            .collect();
        let last = failed.iter().map(|a| a.sent).max();
        eprintln!(
            "{}: {} attempts answered 503 or not at all, the last {} after it was back",
            fault.name,
            failed.len(),
            last.map_or("-".into(), |l| format!(
                "{:.2} s",
                l.saturating_duration_since(fault.back).as_secs_f64()
            ))
        );
        let late: Vec<String> = failed
            .iter()
            .filter(|a| a.sent >= fault.back + RECOVERY)
            .map(|a| format!("key {} at {:.1}s: {:?}", a.key, secs(a.sent), a.result))
            .take(10)
            .collect();
        assert!(
            late.is_empty(),
            "{}: failures later than {RECOVERY:?} after it (back at {:.1}s): {late:?}",
            fault.name,
            secs(fault.back)
        );
    }
    let refused = attempts
        .iter()
        .filter(|a| !matches!(a.result, Ok((s, _)) if (200..300).contains(&s)))
        .count();
    eprintln!(
        "{keys} keys, {} attempts, {refused} answered 503 or not at all (retried)",
        attempts.len()
    );

    // Every key answered 2xx once more, with the same referral id; exactly one
    // `referral.received` for each in the log, and none twice for any referral.
    let mut first: HashMap<u64, String> = HashMap::new();
    for a in attempts {
        if let Ok((s, Some(id))) = &a.result
            && (200..300).contains(s)
        {
            let original = first.entry(a.key).or_insert_with(|| id.clone());
            assert_eq!(original, id, "key {} answered two referral ids", a.key);
        }
    }
    let replayed: Vec<Attempt> = futures::stream::iter(0..keys)
        .map(|key| submit_once(world, key))
        .buffer_unordered(WORKERS * 2)
        .collect()
        .await;
    let mut ids: HashMap<u64, String> = HashMap::new();
    for a in replayed {
        match &a.result {
            Ok((s, Some(id))) if (200..300).contains(s) => {
                if let Some(original) = first.get(&a.key) {
                    assert_eq!(original, id, "key {}: the retry got another answer", a.key);
                }
                ids.insert(a.key, id.clone());
            }
            other => panic!("key {} sent again after the faults: {other:?}", a.key),
        }
    }
    assert_eq!(ids.len() as u64, keys, "every key answered 2xx in the end");
    let received = received_per_referral(&world.store).await;
    let twice: Vec<_> = received.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "referrals received twice: {twice:?}");
    for (key, id) in &ids {
        assert_eq!(
            received.get(id).copied().unwrap_or(0),
            1,
            "key {key} (referral {id}): referral.received in the log"
        );
    }

    for fault in faults {
        projections_moved(fault, samples, &secs);
    }
    stalls_reported(samples, &secs);
    read_models_equal_a_rebuild(world).await;
}

/// Within RECOVERY of the fault, every projection includes every event the log held when
/// the faulty part came back.
fn projections_moved(fault: &Fault, samples: &[Sample], secs: &dyn Fn(Instant) -> f64) {
    let Some(end) = samples
        .iter()
        .find(|s| s.at >= fault.back && s.log_end.is_some())
        .and_then(|s| s.log_end)
    else {
        panic!("{}: the log never answered after the fault", fault.name);
    };
    for service in SERVICES {
        let caught_up = samples.iter().find(|s| {
            s.service == service
                && s.at >= fault.back
                && !s.checkpoints.is_empty()
                && s.checkpoints.values().all(|c| *c >= end)
        });
        let took = caught_up.map(|s| s.at.saturating_duration_since(fault.back));
        eprintln!(
            "{}: {service} projections past log end {end} {:.2} s after the fault ended",
            fault.name,
            took.map_or(f64::NAN, |t| t.as_secs_f64())
        );
        assert!(
            took.is_some_and(|t| t <= RECOVERY),
            "{}: {service} projections not past {end} within {RECOVERY:?} of {:.1}s; samples \
             since: {:?}",
            fault.name,
            secs(fault.back),
            samples
                .iter()
                .filter(|s| s.service == service && s.at >= fault.back)
                .map(|s| format!(
                    "{:.1}s {} {:?} {}",
                    secs(s.at),
                    s.status,
                    s.checkpoints,
                    s.reasons
                ))
                .take(40)
                .collect::<Vec<_>>()
        );
    }
}

/// Whenever the test saw a projection stalled (log ahead, checkpoint still) for
/// [`STALL_SEEN`], that service's `/readyz` was not 200; and no stall it saw lasted
/// longer than [`RECOVERY`].
fn stalls_reported(samples: &[Sample], secs: &dyn Fn(Instant) -> f64) {
    // (service, projection) -> (checkpoint, since when it was seen behind at it)
    let mut behind: HashMap<(&str, String), (u64, Instant)> = HashMap::new();
    for s in samples {
        for (name, &cp) in &s.checkpoints {
            let slot = (s.service, name.clone());
            // While the log does not answer the test either, a stall cannot be told.
            let Some(end) = s.log_end else {
                behind.remove(&slot);
                continue;
            };
            if end <= cp {
                behind.remove(&slot);
                continue;
            }
            let since = match behind.get(&slot) {
                Some((seen, since)) if *seen == cp => *since,
                _ => {
                    behind.insert(slot, (cp, s.at));
                    continue;
                }
            };
            assert!(
                s.status != 200 || s.at.duration_since(since) < STALL_SEEN,
                "{} {name}: stalled at {cp} (log end {end}) since {:.1}s, yet /readyz 200 at {:.1}s \
                 (reasons {})",
                s.service,
                secs(since),
                secs(s.at),
                s.reasons
            );
            // And no stall outlasts the recovery bound, whatever /readyz said.
            assert!(
                s.at.duration_since(since) <= RECOVERY,
                "{} {name}: stalled at {cp} (log end {end}) from {:.1}s to {:.1}s",
                s.service,
                secs(since),
                secs(s.at)
            );
        }
    }
    let not_ready = samples.iter().filter(|s| s.status != 200).count();
    eprintln!("/readyz: {} samples, {not_ready} not ready", samples.len());
}

/// `referral.received` events per referral id, from the whole log.
async fn received_per_referral(store: &EventStore) -> HashMap<String, u32> {
    let end = store.last_sequence().await.expect("log end");
    let mut reader = store.read_from(1).await.expect("reader");
    let mut received = HashMap::new();
    while reader.position() <= end {
        let event = tokio::time::timeout(Duration::from_secs(30), reader.next())
            .await
            .expect("the whole log reads");
        let (envelope, _) = event.decode().expect("every event decodes");
        if envelope.event_type == "referral.received" {
            *received.entry(envelope.aggregate_id).or_insert(0) += 1;
        }
    }
    received
}

/// Waits for every projection to reach the log end, then rebuilds each with
/// `linkway rebuild` and compares every table before and after.
pub async fn read_models_equal_a_rebuild(world: &World) {
    let end = world.store.last_sequence().await.expect("log end");
    for service in SERVICES {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (status, body) = world.lw.get(service, "/readyz").await.expect("readyz");
            let body: Value = serde_json::from_str(&body).expect("json");
            let caught_up = body["projections"]
                .as_object()
                .is_some_and(|p| p.values().all(|v| v["checkpoint"].as_u64() >= Some(end)));
            if status == 200 && caught_up {
                break;
            }
            assert!(Instant::now() < deadline, "{service} not caught up: {body}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let before = snapshot(world).await;
    for projection in PROJECTIONS {
        let out = world
            .lw
            .run(&["rebuild", projection, "--quiet"])
            .expect("linkway rebuild");
        assert!(
            out.status.success(),
            "rebuild {projection}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let after = snapshot(world).await;
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    for (table, rows) in &before {
        if after[table] == *rows {
            continue;
        }
        let live: Vec<&str> = rows.lines().filter(|l| !after[table].contains(l)).collect();
        let rebuilt: Vec<&str> = after[table].lines().filter(|l| !rows.contains(l)).collect();
        let diff = format!(
            "{table} differs from its rebuild ({} rows live, {} rebuilt); only live: {:?}; \
             only rebuilt: {:?}",
            rows.lines().count(),
            after[table].lines().count(),
            &live[..live.len().min(5)],
            &rebuilt[..rebuilt.len().min(5)]
        );
        panic!("{diff}");
    }
}

/// Every row of every projection table of every service, as sorted text.
async fn snapshot(world: &World) -> BTreeMap<String, String> {
    let mut tables = BTreeMap::new();
    for service in SERVICES {
        let db = world.database(service).await;
        let client = db.client().await.expect("client");
        let names = client
            .query(
                "SELECT table_schema, table_name FROM information_schema.tables \
                 WHERE table_schema = ANY($1) AND table_type = 'BASE TABLE'",
                &[&PROJECTIONS.to_vec()],
            )
            .await
            .expect("tables");
        for row in names {
            let (schema, table): (String, String) = (row.get(0), row.get(1));
            let rows: Option<String> = client
                .query_one(
                    &format!(
                        "SELECT string_agg(t::text, E'\\n' ORDER BY t::text) FROM {schema}.{table} t"
                    ),
                    &[],
                )
                .await
                .expect("rows")
                .get(0);
            tables.insert(
                format!("{service}:{schema}.{table}"),
                rows.unwrap_or_default(),
            );
        }
    }
    tables
}
