//! No personal data in the log at any level: the real `linkway serve` at `LINKWAY_LOG=trace`
//! (and `debug`) over the harness's real nats-server and PostgreSQL takes a referral (JSON
//! API), shows it, has it accepted, contacted and withdrawn, refuses requests that carry
//! the person's details in the wrong place, and none of the person's details appear in any
//! line it logged, while the request lines and the events share the correlation id.

use std::time::{Duration, Instant};

use linkway_events::Role;
use linkway_testkit::{Linkway, TestEnv};
use reqwest::StatusCode;
use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_linkway");
const GP: &str = "gp-logging";
const LW: &str = "lw-logging";

/// A person whose every detail is a string that appears nowhere else.
fn person() -> Value {
    json!({
        "nhs_number": "9434765870",
        "nhs_number_verification": "number-present-and-verified",
        "given_name": "Zebulonia",
        "family_name": "Quillfeatherby",
        "birth_date": "1947-11-23",
        "address": {"lines": ["77 Marrowglen Terrace", "Leeds"], "postcode": "LS6 4QX"},
        "phone": "07700 912345",
        "email": "zq.private@example.org",
        "preferred_contact_method": "phone",
        "language": "en"
    })
}

async fn until_authorised(http: &reqwest::Client, url: &str, token: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = http
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .map(|r| r.status());
        if matches!(status, Ok(s) if s != StatusCode::UNAUTHORIZED) {
            return;
        }
        assert!(Instant::now() < deadline, "token not accepted within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_referral_journey_at_trace_level_logs_none_of_the_persons_details() {
    journey_logs_none_of_the_persons_details("trace").await;
}

/// At `debug` tokio-postgres printed every statement's parameters, a person's whole
/// `personal` part among them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_referral_journey_at_debug_level_logs_none_of_the_persons_details() {
    journey_logs_none_of_the_persons_details("debug").await;
}

/// The journey at `level` (the whole filter, as a user who wants everything would set it).
async fn journey_logs_none_of_the_persons_details(level: &str) {
    let env = TestEnv::shared();
    let lw = Linkway::new(
        BINARY,
        std::slice::from_ref(&env.nats_url),
        &env.postgres_url,
        &env.scope,
    )
    .expect("linkway process")
    .env("LINKWAY_LOG", level);
    lw.start_ready(Duration::from_secs(90))
        .await
        .expect("ready");
    env.referrer_and_link_worker(GP, LW, "QLG").await;
    let (gp, _) = env.issue_token(GP, Role::Referrer).await;
    let (worker, _) = env.issue_token(LW, Role::LinkWorker).await;
    let http = reqwest::Client::new();
    let intake = lw.url("intake");
    let link_worker = lw.url("link-worker");
    until_authorised(&http, &format!("{intake}/referrals"), &gp).await;
    until_authorised(&http, &format!("{link_worker}/caseload"), &worker).await;

    let mut body = linkway::demo::referral_body(3);
    body["person"] = person();
    body["needs_and_concerns"]["text"] = json!("Misses her allotment neighbour Ferdinand");
    let correlation = uuid::Uuid::now_v7();
    let sent = http
        .post(format!("{intake}/referrals"))
        .bearer_auth(&gp)
        .header("Idempotency-Key", "logging-1")
        .header("X-Correlation-ID", correlation.to_string())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::CREATED);
    let sent: Value = sent.json().await.unwrap();
    let id = sent["referral_id"].as_str().unwrap().to_owned();
    let seq = sent["sequence"].as_u64().unwrap();

    let shown = http
        .get(format!("{intake}/referrals/{id}?min_sequence={seq}"))
        .bearer_auth(&gp)
        .send()
        .await
        .unwrap();
    assert_eq!(shown.status(), StatusCode::OK);
    let case = http
        .get(format!("{link_worker}/cases/{id}?min_sequence={seq}"))
        .bearer_auth(&worker)
        .send()
        .await
        .unwrap();
    assert_eq!(case.status(), StatusCode::OK);
    for (path, body) in [
        (format!("/cases/{id}/accept"), json!({})),
        (
            format!("/cases/{id}/assignment"),
            json!({"link_worker_id": "lw-1"}),
        ),
        (
            format!("/cases/{id}/contacts"),
            json!({"kind": "made", "channel": "phone", "minutes": 20,
                   "notes": "Spoke with Zebulonia about Ferdinand"}),
        ),
    ] {
        let answer = http
            .post(format!("{link_worker}{path}"))
            .bearer_auth(&worker)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = answer.status();
        assert_eq!(
            status,
            StatusCode::OK,
            "{path}: {}",
            answer.text().await.unwrap()
        );
    }
    let withdrawn = http
        .post(format!("{intake}/referrals/{id}/withdraw"))
        .bearer_auth(&gp)
        .json(&json!({"reason": "Zebulonia moved in with her daughter"}))
        .send()
        .await
        .unwrap();
    assert_eq!(withdrawn.status(), StatusCode::OK);

    // Refused requests that carry the person's details where a value is wrong: a path
    // that is not an id, a query and a body field of the wrong type. Their refusals
    // (axum's rejections too, which log their text at trace) must not quote them.
    for (path, body) in [
        ("/referrals/9434765870".to_owned(), None),
        ("/referrals?limit=Zebulonia".to_owned(), None),
        (
            "/referrals".to_owned(),
            Some(json!({"person": {"given_name": ["Quillfeatherby"]}})),
        ),
    ] {
        let request = match &body {
            Some(b) => http.post(format!("{intake}{path}")).json(b),
            None => http.get(format!("{intake}{path}")),
        };
        let status = request.bearer_auth(&gp).send().await.unwrap().status();
        assert!(status.is_client_error(), "{path}: {status}");
    }

    // The submit's event carries the request's correlation id, as its request line does.
    let events = env.store().await.load("referral", &id).await.unwrap();
    let (received, _) = events[0].decode().unwrap();
    assert_eq!(received.correlation_id, correlation);
    let log = lw.log();
    assert!(
        log.lines().any(|l| l.contains(&correlation.to_string())
            && l.contains("operation_id=\"submitReferral\"")
            && l.contains("answered")),
        "no request line with the correlation id"
    );
    // Trace and debug lines were written (other libraries' and Linkway's own), so the scan
    // below reads what a trace-level log holds.
    let detailed = log
        .lines()
        .filter(|l| l.contains(" TRACE ") || l.contains(" DEBUG "))
        .count();
    assert!(
        detailed > 10,
        "{level} level was on: {detailed} detailed lines"
    );
    for secret in [
        "9434765870",
        "943 476 5870",
        "Zebulonia",
        "Quillfeatherby",
        "1947-11-23",
        "Marrowglen",
        "LS6 4QX",
        "07700 912345",
        "zq.private",
        "Ferdinand",
        "daughter",
    ] {
        let hits: Vec<&str> = log.lines().filter(|l| l.contains(secret)).take(2).collect();
        assert!(hits.is_empty(), "{secret:?} in the log: {hits:#?}");
    }
}
