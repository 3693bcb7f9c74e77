//! Updates back to FHIR referrers on the real binary: `linkway serve` (every service) over
//! the harness's nats-server and PostgreSQL, and a real HTTP receiver started here that
//! can fail (500), time out (answers after the sender gave up) and answer slowly.
//!
//! - A FHIR referral's journey (accept, plan, outcome, close, driven through
//!   link-worker's API) reaches the referrer's endpoint as those four messages, in that
//!   order, each exactly once after deduplication by message id, though the receiver
//!   failed and timed out for part of it; the person did not agree to share details, so no
//!   body holds their name, contact details, date of birth or words.
//! - A message the receiver never takes is dead after the last attempt, listed with its
//!   delivery log for administrators, and delivered once retried; a dead message whose
//!   person is then erased is `erased`, never sent, and no body of theirs stays.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use linkway_events::registry::{OrganisationKind, OrganisationRegistered, RegistryEvent};
use linkway_events::{Actor, Envelope, Event, Role};
use linkway_eventstore::{Expected, PendingEvent};
use linkway_testkit::{Linkway, TestEnv};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

const BINARY: &str = env!("CARGO_BIN_EXE_linkway");
/// The fixture's sender: its ODS code is the organisation id here.
const GP: &str = "Y99001";
const LW: &str = "lw-outbox";
const AREA: &str = "QOB";

/// What identifies or describes the person: strings that appear nowhere else.
const SECRETS: [&str; 7] = [
    "Ottoline",
    "Quennell-Brackenbury",
    "07700 900987",
    "ottoline@example.org",
    "17 Wistful Lane",
    "1958-02-11",
    "Singing again with Perpetua",
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Fail,
    /// Answers 200 after this long: longer than the sender's timeout, it gave up first.
    Sleep(Duration),
}

#[derive(Default)]
struct Seen {
    /// Every body received, in arrival order (also the ones the sender gave up on).
    bodies: Vec<String>,
    /// Bodies answered 2xx.
    answered: usize,
}

#[derive(Clone)]
struct Receiver {
    mode: Arc<Mutex<Mode>>,
    seen: Arc<Mutex<Seen>>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: String) -> AxumStatus {
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/fhir+json")
    );
    let mode = *r.mode.lock().unwrap();
    r.seen.lock().unwrap().bodies.push(body);
    match mode {
        Mode::Fail => AxumStatus::INTERNAL_SERVER_ERROR,
        Mode::Sleep(d) => {
            tokio::time::sleep(d).await;
            r.seen.lock().unwrap().answered += 1;
            AxumStatus::OK
        }
    }
}

impl Receiver {
    /// A receiver on `addr` (`127.0.0.1:0`: any free port).
    async fn start_on(addr: &str) -> (Receiver, String) {
        let r = Receiver {
            mode: Arc::new(Mutex::new(Mode::Fail)),
            seen: Arc::new(Mutex::new(Seen::default())),
        };
        let app = axum::Router::new()
            .route("/fhir/replies", axum::routing::post(receive))
            .with_state(r.clone());
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let url = format!("http://{}/fhir/replies", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (r, url)
    }

    async fn start() -> (Receiver, String) {
        Receiver::start_on("127.0.0.1:0").await
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn received(&self) -> usize {
        self.seen.lock().unwrap().bodies.len()
    }

    /// The messages received, first arrival of each message id only, in arrival order:
    /// `(message id, update kind)`.
    fn deduplicated(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for body in &self.seen.lock().unwrap().bodies {
            let b: Value = serde_json::from_str(body).expect("a JSON body");
            let id = b["id"].as_str().unwrap().to_owned();
            assert_eq!(
                b["entry"][0]["resource"]["id"], b["id"],
                "header id = bundle id"
            );
            let task = b["entry"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["resource"]["resourceType"] == "Task")
                .expect("a Task");
            let kind = task["resource"]["code"]["coding"][0]["code"]
                .as_str()
                .unwrap()
                .to_owned();
            if !out.iter().any(|(i, _)| *i == id) {
                out.push((id, kind));
            }
        }
        out
    }
}

async fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "not within {secs} s: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

struct Client(reqwest::Client);

impl Client {
    async fn call(
        &self,
        method: &str,
        url: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let request = match method {
            "GET" => self.0.get(url),
            _ => self.0.post(url).json(&body.unwrap_or(json!({}))),
        };
        let answer = request.bearer_auth(token).send().await.expect("request");
        let status = answer.status();
        let text = answer.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn ok(&self, method: &str, url: &str, token: &str, body: Option<Value>) -> Value {
        let (status, answer) = self.call(method, url, token, body).await;
        assert!(status.is_success(), "{method} {url}: {status} {answer}");
        answer
    }
}

/// `linkway serve` with the outbox's settings, a GP practice known by the fixture's ODS
/// code routed to a link-worker service, and tokens.
async fn start(max_attempts: u32) -> (TestEnv, Linkway, [String; 3]) {
    let env = TestEnv::shared();
    let lw = Linkway::new(
        BINARY,
        std::slice::from_ref(&env.nats_url),
        &env.postgres_url,
        &env.scope,
    )
    .expect("linkway process")
    .env("LINKWAY_OUTBOX_TIMEOUT_SECS", "1")
    .env("LINKWAY_OUTBOX_BACKOFF_MS", "100")
    .env("LINKWAY_OUTBOX_MAX_ATTEMPTS", max_attempts.to_string());
    lw.start_ready(Duration::from_secs(90))
        .await
        .expect("ready");
    env.referrer_and_link_worker(GP, LW, AREA).await;
    // The same organisation again, now with its ODS code (a later registration wins).
    let event: Event = RegistryEvent::OrganisationRegistered(OrganisationRegistered {
        organisation_id: GP.into(),
        name: "Meadowbank Surgery".into(),
        kind: OrganisationKind::GpPractice,
        code: Some(GP.into()),
        commissioner_area: Some(AREA.into()),
        link_worker_service: false,
        directory_services: Vec::new(),
    })
    .into();
    let envelope = Envelope::new(
        GP,
        &event,
        Actor::system(),
        Uuid::now_v7(),
        time::OffsetDateTime::now_utc(),
    );
    let _ = env
        .store()
        .await
        .append(
            "organisation",
            GP,
            Expected::Any,
            vec![PendingEvent::new(envelope)],
        )
        .await;
    let (gp, _) = env.issue_token(GP, Role::Referrer).await;
    let (worker, _) = env.issue_token(LW, Role::LinkWorker).await;
    let (admin, _) = env.issue_token(GP, Role::Admin).await;
    let c = Client(reqwest::Client::new());
    for (service, path, token) in [
        ("intake", "/referrals", &gp),
        ("link-worker", "/caseload", &worker),
        ("intake", "/admin/outbound", &admin),
    ] {
        let url = format!("{}{path}", lw.url(service));
        let deadline = Instant::now() + Duration::from_secs(30);
        while c.call("GET", &url, token, None).await.0 == StatusCode::UNAUTHORIZED {
            assert!(Instant::now() < deadline, "token not accepted within 30 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    (env, lw, [gp, worker, admin])
}

/// Sends the FHIR fixture as our person, replies to `endpoint`, with or without consent
/// to share details; returns the referral id.
async fn send_fhir(lw: &Linkway, gp: &str, endpoint: &str, share: bool) -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../intake/tests/fixtures/fhir/social-prescribing-referral.json"
    );
    let mut bundle: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    bundle["id"] = json!(Uuid::new_v4().to_string());
    for e in bundle["entry"].as_array_mut().unwrap() {
        let r = &mut e["resource"];
        match r["resourceType"].as_str().unwrap() {
            "MessageHeader" => r["source"]["endpoint"] = json!(endpoint),
            "Patient" => {
                r["name"][0]["given"] = json!([SECRETS[0]]);
                r["name"][0]["family"] = json!(SECRETS[1]);
                r["telecom"][0]["value"] = json!(SECRETS[2]);
                r["telecom"][1]["value"] = json!(SECRETS[3]);
                r["address"][0]["line"] = json!([SECRETS[4]]);
                r["birthDate"] = json!(SECRETS[5]);
            }
            "Consent" => r["extension"][0]["valueBoolean"] = json!(share),
            _ => {}
        }
    }
    let answer = reqwest::Client::new()
        .post(format!("{}/fhir/$process-message", lw.url("intake")))
        .bearer_auth(gp)
        .header("content-type", "application/fhir+json")
        .body(bundle.to_string())
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
    let oo: Value = answer.json().await.unwrap();
    oo["issue"][0]["details"]["coding"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["system"].as_str().unwrap().ends_with("referral-id"))
        .expect("the referral id")["code"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fhir_referrals_journey_goes_back_in_order_once_each_in_codes_only_despite_a_failing_receiver()
 {
    let (_env, lw, [gp, worker, admin]) = start(50).await;
    // At first nothing listens at the endpoint (connections refused).
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let endpoint = format!("http://{addr}/fhir/replies");
    let c = Client(reqwest::Client::new());
    let link_worker = lw.url("link-worker");
    let id = send_fhir(&lw, &gp, &endpoint, false).await;
    let case = format!("{link_worker}/cases/{id}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while c.call("GET", &case, &worker, None).await.0 != StatusCode::OK {
        assert!(Instant::now() < deadline, "the case did not arrive");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The receiver is down (500s) while the referral is accepted and the plan agreed.
    for (path, body) in [
        ("accept", json!({})),
        ("assignment", json!({"link_worker_id": "lw-1"})),
        (
            "contacts",
            json!({"kind": "made", "channel": "phone", "minutes": 20, "notes": SECRETS[6]}),
        ),
        (
            "plan",
            json!({"what_matters": SECRETS[6], "goals": ["Join a choir"], "actions": [], "review_date": "2099-01-01"}),
        ),
    ] {
        c.ok("POST", &format!("{case}/{path}"), &worker, Some(body))
            .await;
    }
    // Refused until the receiver starts: then it answers 500 for a while.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (receiver, _) = Receiver::start_on(&addr.to_string()).await;
    wait_until("three failed attempts", 20, || receiver.received() >= 3).await;
    // Then it answers only after the sender gave up (1 s): the sender tries again, and the
    // receiver has the message twice.
    receiver.set(Mode::Sleep(Duration::from_millis(1500)));
    let before = receiver.received();
    wait_until("an attempt that times out", 20, || {
        receiver.received() >= before + 2
    })
    .await;
    // Then slowly, but in time.
    receiver.set(Mode::Sleep(Duration::from_millis(300)));
    for (path, body) in [
        (
            "outcomes",
            json!({"instrument": "swemwbs", "timepoint": "baseline", "item_answers": [3, 3, 3, 3, 3, 3, 3]}),
        ),
        ("closure", json!({"reason": "goals_met"})),
    ] {
        c.ok("POST", &format!("{case}/{path}"), &worker, Some(body))
            .await;
    }
    wait_until("four messages", 60, || receiver.deduplicated().len() >= 4).await;
    let outbound = format!("{}/admin/outbound", lw.url("intake"));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let delivered = c
            .ok("GET", &format!("{outbound}?state=delivered"), &admin, None)
            .await;
        if delivered["total"] == 4 {
            let log = &delivered["items"][3]["delivery_log"];
            assert!(
                log.as_array().unwrap().len() >= 3,
                "the first one failed first: {log}"
            );
            assert!(
                log.as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a["error_kind"] == "timeout"),
                "{log}"
            );
            assert!(
                log.as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a["status_code"] == 500),
                "{log}"
            );
            assert!(
                log.as_array()
                    .unwrap()
                    .iter()
                    .any(|a| a["error_kind"] == "connect"),
                "{log}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "not all delivered: {delivered}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await; // nothing more arrives
    let kinds: Vec<String> = receiver
        .deduplicated()
        .into_iter()
        .map(|(_, k)| k)
        .collect();
    assert_eq!(
        kinds,
        ["accepted", "plan_agreed", "outcome_recorded", "closed"]
    );
    let seen = receiver.seen.lock().unwrap();
    assert!(
        seen.bodies.len() > 4,
        "the receiver failed some: {}",
        seen.bodies.len()
    );
    for body in &seen.bodies {
        for s in SECRETS {
            assert!(!body.contains(s), "codes only, yet a body holds {s:?}");
        }
        assert!(
            body.contains("9434765919"),
            "the NHS number files the codes"
        );
    }
    let outcome = seen
        .bodies
        .iter()
        .find(|b| b.contains("\"Observation\""))
        .expect("the outcome measure");
    assert!(outcome.contains("718466001"), "SWEMWBS's SNOMED CT code");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_never_taken_is_dead_listed_for_administrators_and_delivered_once_retried() {
    let (env, lw, [gp, worker, admin]) = start(2).await;
    let (receiver, endpoint) = Receiver::start().await;
    let c = Client(reqwest::Client::new());
    let id = send_fhir(&lw, &gp, &endpoint, true).await;
    let case = format!("{}/cases/{id}", lw.url("link-worker"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while c.call("GET", &case, &worker, None).await.0 != StatusCode::OK {
        assert!(Instant::now() < deadline, "the case did not arrive");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c.ok(
        "POST",
        &format!("{case}/decline"),
        &worker,
        Some(json!({"reason": "person_declined"})),
    )
    .await;
    let outbound = format!("{}/admin/outbound", lw.url("intake"));
    let deadline = Instant::now() + Duration::from_secs(30);
    let dead = loop {
        let dead = c
            .ok("GET", &format!("{outbound}?state=dead"), &admin, None)
            .await;
        if dead["total"] == 1 {
            break dead["items"][0].clone();
        }
        assert!(Instant::now() < deadline, "not dead: {dead}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(dead["kind"], "declined");
    assert_eq!(dead["referral_id"], id.as_str());
    assert_eq!(dead["attempts"], 2);
    assert_eq!(dead["last_error"], "http_500");
    let log = dead["delivery_log"].as_array().unwrap();
    assert_eq!(log.len(), 2);
    assert!(
        log.iter()
            .all(|a| a["status_code"] == 500 && a["duration_ms"].is_number())
    );
    assert!(
        !dead.to_string().contains(SECRETS[1]),
        "no body in the list"
    );
    assert_eq!(receiver.received(), 2);

    // Only administrators; a state that is not one is 422 naming it.
    let (status, _) = c.call("GET", &outbound, &gp, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, problem) = c
        .call("GET", &format!("{outbound}?state=lost"), &admin, None)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "state", "{problem}");

    receiver.set(Mode::Sleep(Duration::ZERO));
    let message = dead["message_id"].as_str().unwrap();
    let retry = format!("{outbound}/{message}/retry");
    let (status, _) = c.call("POST", &retry, &gp, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    c.ok("POST", &retry, &admin, None).await;
    wait_until("delivered after the retry", 20, || {
        receiver.seen.lock().unwrap().answered == 1
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let delivered = c
            .ok("GET", &format!("{outbound}?state=delivered"), &admin, None)
            .await;
        if delivered["total"] == 1 {
            assert_eq!(delivered["items"][0]["message_id"], message);
            break;
        }
        assert!(Instant::now() < deadline, "not delivered: {delivered}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, problem) = c.call("POST", &retry, &admin, None).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "only a dead message: {problem}"
    );
    let (status, _) = c
        .call(
            "POST",
            &format!("{outbound}/{}/retry", Uuid::new_v4()),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The person agreed to share details: their name goes back, and the decline's code.
    let body = receiver
        .seen
        .lock()
        .unwrap()
        .bodies
        .last()
        .cloned()
        .unwrap();
    assert!(
        body.contains(SECRETS[1]) && body.contains("871711000000103"),
        "{body}"
    );

    // A dead message of a person who is then erased is never sent, and no body is kept.
    receiver.set(Mode::Fail);
    let second = send_fhir(&lw, &gp, &endpoint, true).await;
    let case = format!("{}/cases/{second}", lw.url("link-worker"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while c.call("GET", &case, &worker, None).await.0 != StatusCode::OK {
        assert!(Instant::now() < deadline, "the case did not arrive");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c.ok("POST", &format!("{case}/accept"), &worker, Some(json!({})))
        .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while c
        .ok("GET", &format!("{outbound}?state=dead"), &admin, None)
        .await["total"]
        != 1
    {
        assert!(Instant::now() < deadline, "the second message is not dead");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let erase = format!("{}/referrals/{second}/person/erasure", lw.url("intake"));
    c.ok(
        "POST",
        &erase,
        &admin,
        Some(json!({"reason": "person_asked"})),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let erased = loop {
        let erased = c
            .ok("GET", &format!("{outbound}?state=erased"), &admin, None)
            .await;
        if erased["total"] == 1 {
            break erased["items"][0].clone();
        }
        assert!(Instant::now() < deadline, "not erased: {erased}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(erased["referral_id"], second.as_str());
    let retry = format!(
        "{outbound}/{}/retry",
        erased["message_id"].as_str().unwrap()
    );
    let (status, _) = c.call("POST", &retry, &admin, None).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "an erased message is never sent"
    );
    let db = env.database("intake").await;
    let client = db.client().await.unwrap();
    let kept: i64 = client
        .query_one(
            "SELECT count(*) FROM outbound_messages WHERE referral_id = $1 AND body IS NOT NULL",
            &[&Uuid::parse_str(&second).unwrap()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        kept, 0,
        "no body of the erased person's stays in the outbox"
    );
}
