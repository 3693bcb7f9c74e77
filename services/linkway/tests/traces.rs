//! One referral's trace across three services: the real `linkway serve` exports its spans
//! over OTLP/HTTP (JSON) to a receiver this test runs, and the trace the caller started goes
//! from `submitReferral` through the command that appended `referral.received` into the
//! intake, caseload and reporting projections, parent to child, with no personal data in
//! any span.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::post;
use linkway_events::Role;
use linkway_testkit::{Linkway, TestEnv};
use reqwest::StatusCode;
use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_linkway");
const GP: &str = "gp-traces";
const LW: &str = "lw-traces";

/// The caller's own trace: its id and the span the request is sent from.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// A span as the receiver got it.
#[derive(Debug, Clone)]
struct Span {
    trace_id: String,
    span_id: String,
    parent: String,
    name: String,
    attributes: HashMap<String, String>,
}

type Received = Arc<Mutex<Vec<Value>>>;

/// An OTLP/HTTP receiver: keeps every JSON body posted to `/v1/traces`.
async fn receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let app = axum::Router::new()
        .route(
            "/v1/traces",
            post(
                |State(r): State<Received>, body: axum::body::Bytes| async move {
                    let body: Value = serde_json::from_slice(&body).expect("OTLP JSON");
                    r.lock().unwrap().push(body);
                    "{}"
                },
            ),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

/// Every span of every body, flattened.
fn spans(bodies: &[Value]) -> Vec<Span> {
    let text = |v: &Value| match v {
        Value::Object(o) => o
            .values()
            .next()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .unwrap_or_default(),
        _ => String::new(),
    };
    let mut out = Vec::new();
    for body in bodies {
        for resource in body["resourceSpans"].as_array().into_iter().flatten() {
            for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
                for span in scope["spans"].as_array().into_iter().flatten() {
                    let attributes = span["attributes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|a| (a["key"].as_str().unwrap().to_owned(), text(&a["value"])))
                        .collect();
                    let field = |k: &str| span[k].as_str().unwrap_or_default().to_lowercase();
                    out.push(Span {
                        trace_id: field("traceId"),
                        span_id: field("spanId"),
                        parent: field("parentSpanId"),
                        name: span["name"].as_str().unwrap_or_default().to_owned(),
                        attributes,
                    });
                }
            }
        }
    }
    out
}

fn person() -> Value {
    json!({
        "nhs_number": "9434765870",
        "nhs_number_verification": "number-present-and-verified",
        "given_name": "Philomena",
        "family_name": "Tracewhistle",
        "birth_date": "1951-02-17",
        "address": {"lines": ["12 Lanternfold Row", "Leeds"], "postcode": "LS7 2QT"},
        "phone": "07700 934567",
        "preferred_contact_method": "phone",
        "language": "en"
    })
}

/// Waits until a read model of `service` includes `sequence` (its `/readyz` checkpoints).
async fn until_projected(lw: &Linkway, service: &str, projection: &str, sequence: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, body) = lw.get(service, "/readyz").await.expect("readyz answers");
        let body: Value = serde_json::from_str(&body).expect("json");
        if body["projections"][projection]["checkpoint"].as_u64() >= Some(sequence) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{projection} did not reach {sequence}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_referrals_trace_runs_from_the_request_through_its_event_into_every_projection() {
    let (otlp, received) = receiver().await;
    let env = TestEnv::shared();
    let lw = Linkway::new(
        BINARY,
        std::slice::from_ref(&env.nats_url),
        &env.postgres_url,
        &env.scope,
    )
    .expect("linkway process")
    .env("LINKWAY_OTLP_ENDPOINT", otlp)
    .env("LINKWAY_LOG", "info");
    lw.start_ready(Duration::from_secs(90))
        .await
        .expect("ready");
    env.referrer_and_link_worker(GP, LW, "QTR").await;
    let (gp, _) = env.issue_token(GP, Role::Referrer).await;
    let http = reqwest::Client::new();
    let intake = lw.url("intake");

    let mut body = linkway::demo::referral_body(5);
    body["person"] = person();
    body["needs_and_concerns"]["text"] = json!("Wants to sing with the Gorsebrook choir");
    let deadline = Instant::now() + Duration::from_secs(30);
    let sent = loop {
        let sent = http
            .post(format!("{intake}/referrals"))
            .bearer_auth(&gp)
            .header("Idempotency-Key", "traces-1")
            .header("traceparent", format!("00-{TRACE_ID}-{CALLER_SPAN}-01"))
            .json(&body)
            .send()
            .await
            .unwrap();
        // The token reaches intake's registry a moment after it is issued.
        if sent.status() != StatusCode::UNAUTHORIZED || Instant::now() > deadline {
            break sent;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(sent.status(), StatusCode::CREATED);
    let sent: Value = sent.json().await.unwrap();
    let seq = sent["sequence"].as_u64().unwrap();
    until_projected(&lw, "intake", "referrals", seq).await;
    until_projected(&lw, "link-worker", "caseload", seq).await;
    until_projected(&lw, "reporting", "reporting", seq).await;
    // The events carry the caller's trace in their headers.
    let id = sent["referral_id"].as_str().unwrap();
    let log = env.store().await.load("referral", id).await.unwrap();
    let trace = log[0]
        .trace
        .as_ref()
        .expect("referral.received carries a trace");
    assert!(
        trace.traceparent.contains(TRACE_ID),
        "{}",
        trace.traceparent
    );
    // A stop exports the spans still batched.
    assert!(lw.sigterm(Duration::from_secs(30)).is_some(), "stopped");

    let bodies = received.lock().unwrap().clone();
    let all = spans(&bodies);
    let ours: Vec<&Span> = all.iter().filter(|s| s.trace_id == TRACE_ID).collect();
    let by_id: HashMap<&str, &Span> = ours.iter().map(|s| (s.span_id.as_str(), *s)).collect();
    let command = ours
        .iter()
        .find(|s| s.name == "command" && s.attributes["operation"] == "submitReferral")
        .unwrap_or_else(|| panic!("no span of the command in {ours:#?}"));
    // The command runs inside the request (under the handler's own span).
    let mut request = by_id[command.parent.as_str()];
    while request.name != "submitReferral" {
        request = by_id
            .get(request.parent.as_str())
            .unwrap_or_else(|| panic!("the command's span is not under a submitReferral span"));
    }
    assert_eq!(
        request.parent, CALLER_SPAN,
        "the request continues the caller's span"
    );
    assert_eq!(request.attributes["organisation"], GP);
    assert_eq!(request.attributes["status"], "201");
    for projection in ["referrals", "caseload", "reporting"] {
        let applied = ours
            .iter()
            .find(|s| {
                s.name == format!("project {projection}")
                    && s.attributes["event_type"] == "referral.received"
            })
            .unwrap_or_else(|| panic!("{projection} applied referral.received in no span"));
        assert_eq!(
            applied.parent, command.span_id,
            "{projection}'s span is a child of the command that appended the event"
        );
        assert_eq!(applied.attributes["sequence"], log[0].sequence.to_string());
    }
    // The request's log lines carry the trace id.
    assert!(
        lw.log()
            .lines()
            .any(|l| l.contains("operation_id=\"submitReferral\"")
                && l.contains(&format!("trace_id={TRACE_ID}"))),
        "no request line with the trace id"
    );
    let exported = serde_json::to_string(&bodies).unwrap();
    for secret in [
        "9434765870",
        "Philomena",
        "Tracewhistle",
        "1951-02-17",
        "Lanternfold",
        "LS7 2QT",
        "07700 934567",
        "Gorsebrook",
    ] {
        assert!(!exported.contains(secret), "{secret:?} in an exported span");
    }
}
