//! The connection timers on the real binary: two `linkway serve` processes over the
//! harness's nats-server and PostgreSQL, one clock file (`LINKWAY_CLOCK_FILE`) that alone
//! moves their time, a look every second (`LINKWAY_TIMER_INTERVAL_SECS=1`).
//!
//! An onward referral left unanswered is reminded once at 7 days (both processes looking)
//! and nothing before; with every process stopped while its decline falls due, the
//! processes started again decline it once, as `no_answer_in_time` by the system; a
//! connection answered in time is neither reminded nor declined; a process pinned to write
//! `case.connection_declined` v1 declines nothing. "Nothing happened" is
//! asserted only after every process has finished two looks since the clock moved
//! (`linkway_timer_looks_total`), so the second began after the move.

use std::path::Path;
use std::time::{Duration, Instant};

use linkway_events::{Envelope, Event, Role};
use linkway_platform::clock::Clock;
use linkway_testkit::{ApiClient, Linkway, TestEnv};
use serde_json::{Value, json};
use time::OffsetDateTime;

const BINARY: &str = env!("CARGO_BIN_EXE_linkway");
const GP: &str = "gp-timers";
const LW: &str = "lw-timers";
const AREA: &str = "QTM";
/// The service of `link-worker/tests/fixtures/openreferral/service_full.json`.
const SERVICE: &str = "ac148810-d857-441c-9679-408f346de14b";

/// A `linkway serve` of the scope on the shared servers, timed by `clock`.
fn process(env: &TestEnv, clock: &Path) -> Linkway {
    Linkway::new(
        BINARY,
        std::slice::from_ref(&env.nats_url),
        &env.postgres_url,
        &env.scope,
    )
    .expect("linkway process")
    .env("LINKWAY_CLOCK_FILE", clock.display().to_string())
    .env("LINKWAY_TIMER_INTERVAL_SECS", "1")
}

/// Looks the process's connection timers have finished since it started.
async fn looks(lw: &Linkway) -> u64 {
    let (status, text) = lw.get("link-worker", "/metrics").await.expect("metrics");
    assert_eq!(status, 200, "{text}");
    text.lines()
        .find_map(|l| l.strip_prefix("linkway_timer_looks_total{timer=\"connections\"} "))
        .map_or(0, |n| n.trim().parse().expect("a count"))
}

/// Returns once every process has finished two looks after this call: the second of them
/// began after it, so it saw the clock as it now stands.
async fn two_looks(processes: &[&Linkway]) {
    let mut before = Vec::new();
    for lw in processes {
        before.push(looks(lw).await);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    for (lw, before) in processes.iter().zip(before) {
        while looks(lw).await < before + 2 {
            assert!(
                Instant::now() < deadline,
                "the timers did not look twice within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The case's timer events as the log holds them: `(type, reason, actor role and
/// organisation, sequence)`.
async fn timer_events(
    env: &TestEnv,
    referral_id: &str,
) -> Vec<(String, Option<String>, Role, String, u64)> {
    let store = env.store().await;
    let mut found = Vec::new();
    for recorded in store.load("case", referral_id).await.expect("case events") {
        let envelope = Envelope::from_slice(&recorded.payload).expect("an envelope");
        let reason = match envelope.event().expect("decodes") {
            Event::Case(linkway_events::case::CaseEvent::ConnectionDeclined(d)) => {
                Some(d.reason.as_str().to_owned())
            }
            Event::Case(linkway_events::case::CaseEvent::ConnectionReminded(_)) => None,
            _ => continue,
        };
        found.push((
            envelope.event_type.clone(),
            reason,
            envelope.actor.role,
            envelope.actor.organisation_id.clone(),
            recorded.sequence,
        ));
    }
    found
}

/// Waits until the case's log holds `n` timer events.
async fn until_timer_events(env: &TestEnv, referral_id: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while timer_events(env, referral_id).await.len() < n {
        assert!(Instant::now() < deadline, "no timer event {n} within 60 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Refers person `n`, works the case to an agreed plan and connects it to the directory's
/// service: `(referral id, connection id)`.
async fn connected(
    c: &ApiClient,
    intake: &str,
    link_worker: &str,
    gp: &str,
    worker: &str,
    n: u64,
) -> (String, String) {
    let sent = c
        .ok(
            "POST",
            &format!("{intake}/referrals"),
            gp,
            Some(linkway::demo::referral_body(n)),
        )
        .await;
    let id = sent["referral_id"]
        .as_str()
        .expect("referral id")
        .to_owned();
    let seq = sent["sequence"].as_u64().expect("sequence");
    c.ok(
        "GET",
        &format!("{link_worker}/cases/{id}?min_sequence={seq}"),
        worker,
        None,
    )
    .await;
    for (path, body) in [
        ("accept", json!({})),
        ("assignment", json!({"link_worker_id": "lw-1"})),
        (
            "contacts",
            json!({"kind": "made", "channel": "phone", "minutes": 20}),
        ),
        (
            "plan",
            json!({"what_matters": "Company", "goals": ["Join a choir"], "actions": [],
                   "review_date": "2099-01-01"}),
        ),
    ] {
        c.ok(
            "POST",
            &format!("{link_worker}/cases/{id}/{path}"),
            worker,
            Some(body),
        )
        .await;
    }
    let made = c
        .ok(
            "POST",
            &format!("{link_worker}/cases/{id}/connections"),
            worker,
            Some(json!({"service_id": SERVICE, "legal_basis": "explicit_consent", "share": ["name"]})),
        )
        .await;
    (
        id,
        made["connection_id"]
            .as_str()
            .expect("connection id")
            .to_owned(),
    )
}

/// The connection as getCase shows it, once the caseload includes `sequence`.
async fn connection_view(
    c: &ApiClient,
    link_worker: &str,
    worker: &str,
    id: &str,
    sequence: u64,
) -> Value {
    let case = c
        .ok(
            "GET",
            &format!("{link_worker}/cases/{id}?min_sequence={sequence}"),
            worker,
            None,
        )
        .await;
    case["connections"][0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_connection_is_reminded_once_then_declined_once_by_two_processes_across_a_restart()
 {
    let env = TestEnv::shared();
    let dir = tempfile::tempdir().expect("a directory");
    let clock = dir.path().join("now");
    let start = OffsetDateTime::now_utc();
    Clock::write_file(&clock, start).expect("clock file");
    let (a, b) = (process(&env, &clock), process(&env, &clock));
    a.start_ready(Duration::from_secs(120))
        .await
        .expect("a ready");
    b.start_ready(Duration::from_secs(120))
        .await
        .expect("b ready");
    env.referrer_and_link_worker(GP, LW, AREA).await;
    let (gp, _) = env.issue_token(GP, Role::Referrer).await;
    let (worker, _) = env.issue_token(LW, Role::LinkWorker).await;
    let (manager, _) = env.issue_token(LW, Role::ServiceManager).await;
    let c = ApiClient::new();
    let (intake, link_worker) = (a.url("intake"), a.url("link-worker"));
    c.until_authorised(&format!("{intake}/referrals"), &gp)
        .await;
    c.until_authorised(&format!("{link_worker}/caseload"), &worker)
        .await;
    let directory = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../link-worker/tests/fixtures/openreferral/service_full.json"
    ))
    .expect("directory fixture");
    c.ok(
        "POST",
        &format!("{link_worker}/directory/import"),
        &manager,
        Some(serde_json::from_str(&directory).expect("JSON")),
    )
    .await;

    // One connection left unanswered; one the service answers before anything is due.
    let (unanswered, unanswered_connection) =
        connected(&c, &intake, &link_worker, &gp, &worker, 1).await;
    let (answered, answered_connection) =
        connected(&c, &intake, &link_worker, &gp, &worker, 2).await;
    c.ok(
        "POST",
        &format!("{link_worker}/cases/{answered}/connections/{answered_connection}/responses"),
        &worker,
        Some(json!({"response": "accepted"})),
    )
    .await;

    // Just before 7 days: nothing, from either process.
    Clock::write_file(
        &clock,
        start + time::Duration::days(7) - time::Duration::hours(1),
    )
    .expect("clock");
    two_looks(&[&a, &b]).await;
    assert_eq!(
        timer_events(&env, &unanswered).await,
        vec![],
        "nothing before 7 days"
    );

    // 7 days: reminded once, though both processes look every second.
    Clock::write_file(
        &clock,
        start + time::Duration::days(7) + time::Duration::hours(1),
    )
    .expect("clock");
    until_timer_events(&env, &unanswered, 1).await;
    two_looks(&[&a, &b]).await;
    let events = timer_events(&env, &unanswered).await;
    assert_eq!(events.len(), 1, "one reminder: {events:?}");
    let (kind, reason, role, organisation, reminded_seq) = events[0].clone();
    assert_eq!(
        (kind.as_str(), reason, role, organisation.as_str()),
        ("case.connection_reminded", None, Role::System, LW)
    );
    let view = connection_view(&c, &link_worker, &worker, &unanswered, reminded_seq).await;
    assert_eq!(view["status"], "pending", "{view}");
    assert!(view["reminded_at"].is_string(), "{view}");

    // Every process stops; the decline falls due while none runs (14 days and an hour).
    a.kill();
    b.kill();
    Clock::write_file(
        &clock,
        start + time::Duration::days(14) + time::Duration::hours(1),
    )
    .expect("clock");
    // A process pinned to write case.connection_declined v1 (a rolling upgrade) declines
    // nothing, since v1 has no place for no_answer_in_time, and takes no reason by hand.
    let pinned =
        process(&env, &clock).env("LINKWAY_WRITE_EVENT_VERSIONS", "case.connection_declined=1");
    pinned
        .start_ready(Duration::from_secs(120))
        .await
        .expect("pinned ready");
    two_looks(&[&pinned]).await;
    assert_eq!(
        timer_events(&env, &unanswered).await.len(),
        1,
        "no decline while pinned"
    );
    let (status, problem) = c
        .call(
            "POST",
            &format!(
                "{}/cases/{unanswered}/connections/{unanswered_connection}/responses",
                pinned.url("link-worker")
            ),
            &worker,
            Some(json!({"response": "declined", "reason": "no_capacity"})),
        )
        .await;
    assert_eq!(
        status,
        reqwest::StatusCode::UNPROCESSABLE_ENTITY,
        "{problem}"
    );
    assert_eq!(problem["errors"][0]["rule"], "version_pinned", "{problem}");
    pinned.kill();
    a.start().expect("a again");
    b.start().expect("b again");
    a.wait_ready(Duration::from_secs(120))
        .await
        .expect("a ready again");
    b.wait_ready(Duration::from_secs(120))
        .await
        .expect("b ready again");

    // Declined once, as no answer in time, by the system; no second reminder.
    until_timer_events(&env, &unanswered, 2).await;
    two_looks(&[&a, &b]).await;
    let events = timer_events(&env, &unanswered).await;
    assert_eq!(events.len(), 2, "a reminder and one decline: {events:?}");
    let (kind, reason, role, organisation, declined_seq) = events[1].clone();
    assert_eq!(
        (
            kind.as_str(),
            reason.as_deref(),
            role,
            organisation.as_str()
        ),
        (
            "case.connection_declined",
            Some("no_answer_in_time"),
            Role::System,
            LW
        )
    );
    let view = connection_view(
        &c,
        &b.url("link-worker"),
        &worker,
        &unanswered,
        declined_seq,
    )
    .await;
    assert_eq!(view["status"], "declined", "{view}");
    assert_eq!(view["decline_reason"], "no_answer_in_time", "{view}");

    // The connection answered in time was never reminded nor declined.
    assert_eq!(
        timer_events(&env, &answered).await,
        vec![],
        "answered in time"
    );
    let log = format!("{}{}", a.log(), b.log());
    assert!(!log.contains("connection timer step failed"), "{log}");
}
