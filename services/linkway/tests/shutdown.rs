//! SIGTERM during a load of submits, on the real `linkway serve` binary over the harness's
//! real nats-server and PostgreSQL: every request completes (2xx) or is refused before it
//! starts, the process exits 0 within the grace period, nothing is half-written, and after
//! a restart the read models reach the end of the log. Also checks, on the same run, the
//! request log line of one submit (operationId, caller, correlation id) and that no
//! person's details reach the log.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use linkway_events::Role;
use linkway_testkit::{Linkway, TestEnv};
use reqwest::StatusCode;
use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_linkway");
const GP: &str = "gp-shutdown";
const LW: &str = "lw-shutdown";
const GRACE: Duration = Duration::from_secs(10);
const WORKERS: usize = 24;

/// What one submit came to (the details are shown in failure messages).
#[derive(Debug)]
#[allow(dead_code)]
enum Outcome {
    /// 2xx: the referral id.
    Done(String),
    /// 503, or no connection: refused before it started.
    Refused,
    /// The connection broke after it was made, with no answer: a connection still in the
    /// kernel's accept queue when the listener closed is reset, unread. The log check
    /// below proves such a request never started (no event of it is in the log).
    NoAnswer(String),
    /// Anything else: a failure of the test.
    Wrong(u16, String),
}

async fn submit(http: &reqwest::Client, lw: &Linkway, token: &str, i: u64) -> Outcome {
    let sent = http
        .post(format!("{}/referrals", lw.url("intake")))
        .bearer_auth(token)
        .header("Idempotency-Key", format!("shutdown-{i}"))
        .json(&linkway::demo::referral_body(i))
        .send()
        .await;
    match sent {
        Ok(response) => {
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            if status.is_success() {
                Outcome::Done(
                    body["referral_id"]
                        .as_str()
                        .expect("referral_id")
                        .to_owned(),
                )
            } else if status == StatusCode::SERVICE_UNAVAILABLE {
                Outcome::Refused
            } else {
                Outcome::Wrong(status.as_u16(), body.to_string())
            }
        }
        Err(e) if e.is_connect() => Outcome::Refused,
        Err(e) => Outcome::NoAnswer(format!("{e:?}")),
    }
}

/// Every event in the scope's stream: (aggregate id, type, correlation id).
async fn log_events(env: &TestEnv) -> Vec<(String, String, uuid::Uuid)> {
    let store = env.store().await;
    let mut reader = store.read_from(1).await.expect("read the log");
    let mut events = Vec::new();
    while let Some(event) = reader.next_within(Duration::from_secs(2)).await {
        let (envelope, _) = event.decode().expect("every event decodes");
        events.push((
            envelope.aggregate_id,
            envelope.event_type,
            envelope.correlation_id,
        ));
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_drains_requests_exits_zero_and_leaves_nothing_half_written() {
    stop_under_load("TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_under_load_stops_the_same_way() {
    stop_under_load("INT").await;
}

/// Serves, loads, sends `signal` mid-load, and checks the stop and what it left.
async fn stop_under_load(signal: &str) {
    let env = TestEnv::shared();
    let lw = Linkway::new(
        BINARY,
        std::slice::from_ref(&env.nats_url),
        &env.postgres_url,
        &env.scope,
    )
    .expect("linkway process")
    .env("LINKWAY_SHUTDOWN_GRACE_SECS", GRACE.as_secs().to_string());
    lw.start_ready(Duration::from_secs(90))
        .await
        .expect("ready");

    env.referrer_and_link_worker(GP, LW, "QSD").await;
    let (token, _) = env.issue_token(GP, Role::Referrer).await;
    // A fresh connection per request: a request either gets a connection (and then its
    // answer) or is refused; no request rides a kept-alive connection into the stop.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = http
            .get(format!("{}/referrals", lw.url("intake")))
            .bearer_auth(&token)
            .send()
            .await
            .map(|r| r.status());
        if matches!(status, Ok(s) if s != StatusCode::UNAUTHORIZED) {
            break;
        }
        assert!(Instant::now() < deadline, "token not accepted within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // One submit with the caller's correlation id, for the request log line.
    let correlation = uuid::Uuid::now_v7();
    let traced = http
        .post(format!("{}/referrals", lw.url("intake")))
        .bearer_auth(&token)
        .header("Idempotency-Key", "shutdown-traced")
        .header("X-Correlation-ID", correlation.to_string())
        .json(&linkway::demo::referral_body(100_000))
        .send()
        .await
        .expect("traced submit");
    assert!(traced.status().is_success(), "{}", traced.status());
    assert_eq!(
        traced.headers()["x-correlation-id"].to_str().unwrap(),
        correlation.to_string()
    );

    // The load: workers submit until the service refuses them.
    let next = Arc::new(AtomicUsize::new(0));
    let stopping = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    let lw = Arc::new(lw);
    for _ in 0..WORKERS {
        let (http, lw, token, next, stopping) = (
            http.clone(),
            lw.clone(),
            token.clone(),
            next.clone(),
            stopping.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst) as u64;
                let outcome = submit(&http, &lw, &token, i).await;
                let refused = matches!(outcome, Outcome::Refused);
                outcomes.push(outcome);
                // Refused once the stop began: the listener is closed for good.
                if refused && stopping.load(Ordering::SeqCst) {
                    return outcomes;
                }
            }
        }));
    }
    // Mid-load: a few hundred submits in.
    let deadline = Instant::now() + Duration::from_secs(60);
    while next.load(Ordering::SeqCst) < 300 {
        assert!(Instant::now() < deadline, "the load did not get going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stopping.store(true, Ordering::SeqCst);
    let sent_at = Instant::now();
    lw.signal(signal);
    let waiter = lw.clone();
    let status =
        tokio::task::spawn_blocking(move || waiter.wait_exit(GRACE + Duration::from_secs(5)))
            .await
            .unwrap();
    let took = sent_at.elapsed();
    let mut outcomes = Vec::new();
    for w in workers {
        outcomes.extend(w.await.unwrap());
    }
    let status =
        status.unwrap_or_else(|| panic!("still running {took:?} after SIG{signal}; killed"));
    assert!(
        status.success(),
        "exit status {status} after SIG{signal}:\n{}",
        lw.log()
    );
    assert!(
        took < GRACE,
        "stopped in {took:?}, more than the grace period"
    );

    let done: BTreeSet<String> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Done(id) => Some(id.clone()),
            _ => None,
        })
        .collect();
    let wrong: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Wrong(..)))
        .collect();
    let no_answer: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::NoAnswer(_)))
        .collect();
    assert!(
        wrong.is_empty(),
        "answers that are neither 2xx nor 503: {wrong:?}"
    );
    assert!(
        done.len() >= 250,
        "the load was a load: {} done",
        done.len()
    );
    eprintln!(
        "SIG{signal} after {} submits: {} answered 2xx, {} refused, {} broke off unanswered; \
         exited in {took:?}",
        outcomes.len(),
        done.len(),
        outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Refused))
            .count(),
        no_answer.len()
    );

    // Nothing half-written: every referral in the log was answered 2xx (so no request
    // that broke off had started), and each has its received and its routing event.
    let events = log_events(&env).await;
    let mut by_referral: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (id, kind, _) in &events {
        if kind.starts_with("referral.") {
            by_referral.entry(id).or_default().push(kind);
        }
    }
    let traced_id = events
        .iter()
        .find(|(_, kind, c)| kind == "referral.received" && *c == correlation)
        .map(|(id, _, _)| id.clone())
        .expect("the traced submit's event carries its correlation id");
    by_referral.remove(traced_id.as_str());
    let in_log: BTreeSet<String> = by_referral.keys().map(|s| (*s).to_owned()).collect();
    assert_eq!(
        in_log,
        done,
        "referrals in the log = referrals answered 2xx ({} broke off with no answer: {no_answer:?})",
        no_answer.len()
    );
    for (id, kinds) in &by_referral {
        assert_eq!(
            kinds.iter().filter(|k| **k == "referral.received").count(),
            1,
            "{id}: {kinds:?}"
        );
        assert!(
            kinds.contains(&"referral.routed") || kinds.contains(&"referral.unroutable"),
            "{id} has no routing event: {kinds:?}"
        );
    }

    // After a restart the read models reach the end of the log.
    lw.start_ready(Duration::from_secs(90))
        .await
        .expect("ready again");
    let last = env
        .store()
        .await
        .jetstream()
        .get_stream(&env.scope.stream)
        .await
        .unwrap()
        .info()
        .await
        .unwrap()
        .state
        .last_sequence;
    let deadline = Instant::now() + Duration::from_secs(60);
    for service in ["intake", "link-worker", "reporting"] {
        loop {
            let (_, body) = lw.get(service, "/readyz").await.expect("readyz");
            let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let behind: Vec<String> = body["projections"]
                .as_object()
                .expect("projections")
                .iter()
                .filter(|(_, p)| p["checkpoint"].as_u64() != Some(last))
                .map(|(name, p)| format!("{name} at {}", p["checkpoint"]))
                .collect();
            if behind.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{service}: {behind:?}, log ends at {last}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let id = done.iter().next().unwrap();
    let (status, _) = (
        http.get(format!("{}/referrals/{id}", lw.url("intake")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status(),
        (),
    );
    assert_eq!(
        status,
        StatusCode::OK,
        "a referral answered before the stop is readable"
    );

    // The request log line of the traced submit: its operation, caller and correlation id;
    // and none of the people's details anywhere in the log.
    let log = lw.log();
    let line = log
        .lines()
        .find(|l| l.contains(&correlation.to_string()) && l.contains("answered"))
        .unwrap_or_else(|| panic!("no request line with the correlation id:\n{log}"));
    assert!(line.contains("operation_id=\"submitReferral\""), "{line}");
    assert!(line.contains(&format!("organisation=\"{GP}\"")), "{line}");
    assert!(line.contains("role=\"referrer\""), "{line}");
    for i in [0, 1, 7, 100_000] {
        let body = linkway::demo::referral_body(i);
        let person = &body["person"];
        for field in ["nhs_number", "family_name", "birth_date", "phone"] {
            let value = person[field].as_str().unwrap();
            assert!(!log.contains(value), "{field} {value:?} in the log");
        }
    }
    assert!(log.contains("stopping"), "the stop is logged");
}
