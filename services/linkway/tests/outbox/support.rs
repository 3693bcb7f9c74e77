//! What the outbox's tests on the real binary share: `linkway serve` with the outbox's
//! settings, a FHIR referral sent as a synthetic person, and an HTTP receiver that can
//! fail, time out and answer slowly.

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

pub const BINARY: &str = env!("CARGO_BIN_EXE_linkway");
/// The fixture's sender: its ODS code is the organisation id here.
pub const GP: &str = "Y99001";
pub const LW: &str = "lw-outbox";
pub const AREA: &str = "QOB";

/// What identifies or describes the person: strings that appear nowhere else.
pub const SECRETS: [&str; 7] = [
    "Ottoline",
    "Quennell-Brackenbury",
    "07700 900987",
    "ottoline@example.org",
    "17 Wistful Lane",
    "1958-02-11",
    "Singing again with Perpetua",
];

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    Fail,
    /// Answers 200 after this long: longer than the sender's timeout, it gave up first.
    Sleep(Duration),
}

#[derive(Default)]
pub struct Seen {
    /// Every body received, in arrival order (also the ones the sender gave up on).
    pub bodies: Vec<String>,
    /// Bodies answered 2xx.
    pub answered: usize,
}

#[derive(Clone)]
pub struct Receiver {
    pub mode: Arc<Mutex<Mode>>,
    pub seen: Arc<Mutex<Seen>>,
}

pub async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: String) -> AxumStatus {
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
    pub async fn start_on(addr: &str) -> (Receiver, String) {
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

    pub async fn start() -> (Receiver, String) {
        Receiver::start_on("127.0.0.1:0").await
    }

    pub fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    pub fn received(&self) -> usize {
        self.seen.lock().unwrap().bodies.len()
    }

    /// The update kinds of [`Receiver::deduplicated`], in arrival order.
    pub fn kinds(&self) -> Vec<String> {
        self.deduplicated().into_iter().map(|(_, k)| k).collect()
    }

    /// The messages received, first arrival of each message id only, in arrival order:
    /// `(message id, update kind)`.
    pub fn deduplicated(&self) -> Vec<(String, String)> {
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

pub async fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "not within {secs} s: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub struct Client(pub reqwest::Client);

impl Client {
    pub async fn call(
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

    /// The case of referral `id` at link-worker once it arrived there: its URL.
    pub async fn case_arrived(&self, lw: &Linkway, worker: &str, id: &str) -> String {
        let case = format!("{}/cases/{id}", lw.url("link-worker"));
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.call("GET", &case, worker, None).await.0 != StatusCode::OK {
            assert!(Instant::now() < deadline, "the case did not arrive");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        case
    }

    pub async fn ok(&self, method: &str, url: &str, token: &str, body: Option<Value>) -> Value {
        let (status, answer) = self.call(method, url, token, body).await;
        assert!(status.is_success(), "{method} {url}: {status} {answer}");
        answer
    }
}

/// `linkway serve` with the outbox's settings, a GP practice known by the fixture's ODS
/// code routed to a link-worker service, and tokens.
pub async fn start(max_attempts: u32) -> (TestEnv, Linkway, [String; 3]) {
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
pub async fn send_fhir(lw: &Linkway, gp: &str, endpoint: &str, share: bool) -> String {
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
