//! The rolling upgrade of `case.contact_attempted` v1 -> v2, on the real binary: two
//! `linkway serve` processes sharing one nats-server and one PostgreSQL, the first pinned
//! to write v1 (`LINKWAY_WRITE_EVENT_VERSIONS=case.contact_attempted=1`, the release's
//! first step, the previous release on the wire), the second writing v2. A load of
//! referral journeys (submit, accept, assign, two contact attempts, a read of the case) runs
//! through both, each request retried on the other process with the same Idempotency-Key
//! when refused, as a load balancer would; mid-load the pinned process is stopped (SIGTERM)
//! and started again without the pin (the rolling step). Then:
//!
//! - every request ended 2xx; the log holds v1 and v2 contact attempts (v1 exactly from the
//!   pinned process, v2 from the others), and each 2xx request has exactly one event in the
//!   log (its answer's sequence, its type, one message id), no event without a request;
//! - the pinned process, and both unpinned ones, served reads of cases holding both
//!   versions, and nothing was parked as a dead letter;
//! - every read model equals its `linkway rebuild`.

#[allow(
    dead_code,
    reason = "the fault suite's world and checks, of which this uses a few"
)]
#[path = "faults/checks.rs"]
mod checks;
#[allow(
    dead_code,
    unused_imports,
    reason = "the fault suite's world and checks, of which this uses a few"
)]
#[path = "faults/support.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use linkway_events::Role;
use linkway_testkit::{Linkway, TestEnv};
use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_linkway");
const PIN: (&str, &str) = ("LINKWAY_WRITE_EVENT_VERSIONS", "case.contact_attempted=1");
const LW: &str = "lw-faults";
const WORKERS: u64 = 4;
/// Contact attempts each side of the rolling step must have answered before it moves on.
const ATTEMPTS_PER_PHASE: u64 = 16;
/// A request refused (503, no connection, no answer) is retried for at most this long.
const GIVE_UP: Duration = Duration::from_secs(60);

/// One `linkway serve` process and the release it stands for.
struct Node {
    name: &'static str,
    lw: Arc<Linkway>,
}

/// The two processes; slot 0 is replaced by the rolling step.
struct Fleet {
    slots: [RwLock<Arc<Node>>; 2],
    http: reqwest::Client,
    referrer: String,
    link_worker: String,
    stop: AtomicBool,
    next: AtomicU64,
    answered: Mutex<Vec<Answered>>,
}

/// A request that ended 2xx: what it was, who answered, who it was ever sent to.
#[derive(Debug, Clone)]
struct Answered {
    operation: &'static str,
    referral_id: String,
    by: &'static str,
    sent_to: BTreeSet<&'static str>,
    body: Value,
}

impl Fleet {
    fn node(&self, slot: usize) -> Arc<Node> {
        self.slots[slot % 2].read().unwrap().clone()
    }

    /// Sends one request to `slot`, and on a refusal to the other one and back, until 2xx.
    async fn send(
        &self,
        slot: usize,
        operation: &'static str,
        referral_id: &str,
        request: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> Answered {
        let started = Instant::now();
        let mut sent_to = BTreeSet::new();
        let mut attempt = 0;
        loop {
            let node = self.node(slot + attempt);
            attempt += 1;
            sent_to.insert(node.name);
            let answer = request(&self.http, &node.lw.url(service_of(operation)))
                .send()
                .await;
            match answer {
                Ok(r) if r.status().is_success() => {
                    let body: Value = r.json().await.expect("a JSON answer");
                    let referral_id = body["referral_id"]
                        .as_str()
                        .unwrap_or(referral_id)
                        .to_owned();
                    let answered = Answered {
                        operation,
                        referral_id,
                        by: node.name,
                        sent_to,
                        body,
                    };
                    self.answered.lock().unwrap().push(answered.clone());
                    return answered;
                }
                Ok(r) if r.status() != 503 => {
                    let status = r.status();
                    panic!(
                        "{operation} on {}: {status} {}",
                        node.name,
                        r.text().await.unwrap()
                    );
                }
                _ => {
                    assert!(
                        started.elapsed() < GIVE_UP,
                        "{operation} refused for {GIVE_UP:?}"
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    /// One referral's journey, its steps spread over both processes.
    async fn journey(&self, i: u64) {
        let slot = i as usize;
        let key = |step: &str| format!("upgrade-{i}-{step}");
        let submitted = self
            .send(slot, "submitReferral", "", |http, url| {
                http.post(format!("{url}/referrals"))
                    .bearer_auth(&self.referrer)
                    .header("Idempotency-Key", key("submit"))
                    .json(&linkway::demo::referral_body(i))
            })
            .await;
        let id = submitted.referral_id.clone();
        let case = |step: &'static str, path: &'static str, body: Value, slot: usize| {
            let (id, key) = (id.clone(), key(step));
            async move {
                self.send(slot, operation_of(path), &id, |http, url| {
                    http.post(format!("{url}/cases/{id}/{path}"))
                        .bearer_auth(&self.link_worker)
                        .header("Idempotency-Key", &key)
                        .json(&body)
                })
                .await
            }
        };
        case("accept", "accept", json!({}), slot + 1).await;
        case(
            "assign",
            "assignment",
            json!({"link_worker_id": "lw-upgrade"}),
            slot,
        )
        .await;
        let first = json!({"kind": "attempt", "channel": "phone", "outcome": "no_answer"});
        case("attempt-1", "contacts", first, slot + 1).await;
        let second = json!({"kind": "attempt", "channel": "text"});
        let last = case("attempt-2", "contacts", second, slot).await;
        let read = read_case(self, slot + 1, &id, seq(&last.body)).await;
        assert_eq!(
            read.body["contacts"].as_array().map(Vec::len),
            Some(2),
            "{}",
            read.body
        );
    }

    fn answered_by(&self, name: &str, operation: &str) -> u64 {
        let answered = self.answered.lock().unwrap();
        let by = answered.iter().filter(|a| a.by == name);
        by.filter(|a| a.operation == operation).count() as u64
    }
}

fn service_of(operation: &str) -> &'static str {
    if operation == "submitReferral" {
        "intake"
    } else {
        "link-worker"
    }
}

fn operation_of(path: &str) -> &'static str {
    match path {
        "accept" => "acceptReferral",
        "assignment" => "assignCase",
        _ => "recordContact",
    }
}

fn seq(answer: &Value) -> u64 {
    answer["sequence"].as_u64().expect("sequence")
}

/// `GET /cases/{id}?min_sequence=` on `slot` (the other on a refusal): the case once its
/// read model includes `sequence`.
async fn read_case(fleet: &Fleet, slot: usize, id: &str, sequence: u64) -> Answered {
    fleet
        .send(slot, "getCase", id, |http, url| {
            http.get(format!("{url}/cases/{id}?min_sequence={sequence}"))
                .bearer_auth(&fleet.link_worker)
        })
        .await
}

/// Another `linkway serve` on the world's NATS, PostgreSQL and private names.
async fn start(
    env: &TestEnv,
    world: &support::World,
    settings: &[(&str, &str)],
    name: &'static str,
) -> Arc<Node> {
    let seeds = std::slice::from_ref(&env.nats_url);
    let mut lw = Linkway::new(BINARY, seeds, &env.postgres_url, &world.scope).expect("linkway");
    for (var, value) in settings {
        lw = lw.env(var, *value);
    }
    lw.start_ready(Duration::from_secs(120))
        .await
        .expect("ready");
    Arc::new(Node {
        name,
        lw: Arc::new(lw),
    })
}

/// Waits until `token` is accepted by every process (each projects the registry itself).
async fn authorised(fleet: &Fleet) {
    for slot in 0..2 {
        let node = fleet.node(slot);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let status = fleet
                .http
                .get(format!("{}/caseload", node.lw.url("link-worker")))
                .bearer_auth(&fleet.link_worker)
                .send()
                .await
                .map(|r| r.status().as_u16());
            if matches!(status, Ok(200)) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{}: token not accepted: {status:?}",
                node.name
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Waits (polling what was answered) until `name` has answered `n` requests of `operation`.
async fn until_answered(fleet: &Fleet, name: &str, operation: &str, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(180);
    while fleet.answered_by(name, operation) < n {
        assert!(
            Instant::now() < deadline,
            "{name} answered too few {operation}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_upgrade_under_load_loses_and_duplicates_no_event_and_both_versions_read() {
    let env = TestEnv::shared();
    // The second process ("new": v2), which also registers the organisations.
    let world =
        support::World::start(std::slice::from_ref(&env.nats_url), &env.postgres_url, &[]).await;
    let new = Arc::new(Node {
        name: "new",
        lw: world.lw.clone(),
    });
    let pinned = start(&env, &world, &[PIN], "pinned").await;
    let (link_worker, _) =
        linkway::admin::issue_token(&world.store, LW, Role::LinkWorker, None, None)
            .await
            .expect("token");
    let fleet = Arc::new(Fleet {
        slots: [RwLock::new(pinned.clone()), RwLock::new(new.clone())],
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap(),
        referrer: world.token.clone(),
        link_worker,
        stop: AtomicBool::new(false),
        next: AtomicU64::new(0),
        answered: Mutex::new(Vec::new()),
    });
    authorised(&fleet).await;

    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let fleet = fleet.clone();
            tokio::spawn(async move {
                while !fleet.stop.load(Ordering::SeqCst) {
                    let i = fleet.next.fetch_add(1, Ordering::SeqCst);
                    fleet.journey(i).await;
                }
            })
        })
        .collect();
    // Odd journeys write their first attempt on the pinned process (v1), their second on
    // the new one (v2), and read the case on the pinned one.
    until_answered(&fleet, "pinned", "recordContact", ATTEMPTS_PER_PHASE).await;
    until_answered(&fleet, "new", "recordContact", ATTEMPTS_PER_PHASE).await;
    until_answered(&fleet, "pinned", "getCase", 2).await;

    // The rolling step: the pinned process stops cleanly and comes back without the pin.
    let status = pinned.lw.sigterm(Duration::from_secs(15));
    assert!(
        status.is_some_and(|s| s.success()),
        "pinned stop: {status:?}\n{}",
        pinned.lw.log()
    );
    let upgraded = start(&env, &world, &[], "upgraded").await;
    *fleet.slots[0].write().unwrap() = upgraded.clone();
    until_answered(&fleet, "upgraded", "recordContact", ATTEMPTS_PER_PHASE).await;
    fleet.stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.await.expect("a journey failed");
    }
    let answered = fleet.answered.lock().unwrap().clone();
    let count = |f: &dyn Fn(&Answered) -> bool| answered.iter().filter(|a| f(a)).count();
    eprintln!(
        "{} journeys, {} requests answered 2xx ({} by the pinned process, {} by the upgraded \
         one, {} only after a refusal elsewhere)",
        fleet.next.load(Ordering::SeqCst),
        answered.len(),
        count(&|a| a.by == "pinned"),
        count(&|a| a.by == "upgraded"),
        count(&|a| a.sent_to.len() > 1),
    );

    let logged = each_request_has_exactly_one_event(&world, &answered).await;
    the_pinned_process_read_cases_holding_both_versions(&answered, &logged);
    nothing_parked(&world).await;
    let before = mixed_cases_as_both_processes_read_them(&fleet, &logged).await;
    checks::read_models_equal_a_rebuild(&world).await;
    let after = mixed_cases_as_both_processes_read_them(&fleet, &logged).await;
    assert_eq!(before, after, "the cases read the same after a rebuild");
}

/// Every case whose log holds v1 and v2 attempts, as the upgraded and the new process
/// serve it (they must agree).
async fn mixed_cases_as_both_processes_read_them(
    fleet: &Fleet,
    logged: &BTreeMap<String, Logged>,
) -> BTreeMap<String, Value> {
    let mut cases = BTreeMap::new();
    for (id, l) in logged.iter().filter(|(_, l)| l.is_mixed()) {
        let a = read_case(fleet, 0, id, l.last).await;
        let b = read_case(fleet, 1, id, l.last).await;
        assert_eq!((a.by, b.by), ("upgraded", "new"), "{id}: read where sent");
        assert_eq!(a.body, b.body, "{id}: both processes read the same case");
        cases.insert(id.clone(), a.body);
    }
    eprintln!(
        "{} cases hold both versions; both processes read each the same",
        cases.len()
    );
    assert!(!cases.is_empty(), "no case holds both versions");
    cases
}

/// What the log holds for one referral of the load.
#[derive(Debug, Default)]
struct Logged {
    /// Version of each contact attempt, in log order.
    attempts: Vec<u32>,
    /// The sequence of its last event.
    last: u64,
}

impl Logged {
    fn is_mixed(&self) -> bool {
        self.attempts.contains(&1) && self.attempts.contains(&2)
    }
}

/// Every 2xx request has exactly one event in the log and every event of the load one
/// request: per referral, one event of each step at the answer's sequence, one message id
/// each; contact attempts at v1 exactly when the pinned process wrote them.
async fn each_request_has_exactly_one_event(
    world: &support::World,
    answered: &[Answered],
) -> BTreeMap<String, Logged> {
    let mut by_referral: BTreeMap<&str, Vec<&Answered>> = BTreeMap::new();
    for a in answered.iter().filter(|a| a.operation != "getCase") {
        by_referral.entry(&a.referral_id).or_default().push(a);
    }
    let mut logged = BTreeMap::new();
    for (id, requests) in &by_referral {
        let stored = world.store.load_aggregate(id).await.expect("load");
        let ids: BTreeSet<_> = stored.iter().map(|s| s.message_id.clone()).collect();
        assert_eq!(
            ids.len(),
            stored.len(),
            "{id}: two events under one message id"
        );
        let events: BTreeMap<u64, (String, u32, Value)> = stored
            .iter()
            .map(|s| {
                let (envelope, _) = s.event.decode().expect("every event decodes");
                let data = envelope.data_value();
                (
                    s.event.sequence,
                    (envelope.event_type, envelope.version, data),
                )
            })
            .collect();
        let types: Vec<&str> = events.values().map(|(t, _, _)| t.as_str()).collect();
        assert_eq!(
            types,
            [
                "referral.received",
                "referral.routed",
                "case.accepted",
                "case.assigned",
                "case.contact_attempted",
                "case.contact_attempted"
            ],
            "{id}: one event per request, none lost, none twice"
        );
        let steps: Vec<_> = requests
            .iter()
            .filter(|r| r.operation != "submitReferral")
            .collect();
        let sequences: BTreeSet<u64> = steps.iter().map(|r| seq(&r.body)).collect();
        assert_eq!(
            (requests.len(), sequences.len()),
            (5, 4),
            "{id}: five requests answered, each case step its own event"
        );
        for request in steps {
            let (event_type, version, data) = &events[&seq(&request.body)];
            assert_eq!(
                event_type,
                request.body["event_type"].as_str().unwrap(),
                "{id}"
            );
            if event_type != "case.contact_attempted" {
                continue;
            }
            let expected = match (request.by, request.sent_to.contains("pinned")) {
                ("pinned", _) => Some(1),
                (_, false) => Some(2),
                // Sent to the pinned process, answered by another: written by either.
                _ => None,
            };
            assert!(
                expected.is_none_or(|v| v == *version),
                "{id}: {request:?} v{version}"
            );
            let outcome = data.get("outcome").and_then(Value::as_str);
            let was_first = data["attempt_number"] == 1;
            match (version, was_first) {
                (1, _) => assert_eq!(outcome, None),
                (_, true) => assert_eq!(outcome, Some("no_answer")),
                (_, false) => assert_eq!(outcome, Some("not_recorded")),
            }
        }
        let attempts = events
            .values()
            .filter(|(t, _, _)| t == "case.contact_attempted")
            .map(|(_, v, _)| *v)
            .collect();
        let last = *events.keys().last().unwrap();
        logged.insert(id.to_string(), Logged { attempts, last });
    }
    let all: Vec<u32> = logged.values().flat_map(|l| l.attempts.clone()).collect();
    assert!(
        all.contains(&1) && all.contains(&2),
        "both versions in the log: {all:?}"
    );
    logged
}

/// The pinned process, before its upgrade, served reads of cases whose log holds both
/// versions (v1 it wrote, v2 the new process wrote).
fn the_pinned_process_read_cases_holding_both_versions(
    answered: &[Answered],
    logged: &BTreeMap<String, Logged>,
) {
    let mixed = answered
        .iter()
        .filter(|a| a.operation == "getCase" && a.by == "pinned")
        .filter(|a| logged[&a.referral_id].is_mixed())
        .count();
    eprintln!("the pinned process read {mixed} cases holding v1 and v2 attempts");
    assert!(
        mixed > 0,
        "the pinned process read no case holding both versions"
    );
}

async fn nothing_parked(world: &support::World) {
    for service in support::SERVICES {
        let db = world.database(service).await;
        let client = db.client().await.expect("client");
        let parked: i64 = client
            .query_one("SELECT count(*) FROM dead_letters", &[])
            .await
            .expect("dead letters")
            .get(0);
        assert_eq!(parked, 0, "{service}: events parked");
    }
}

/// A pin this release cannot write is refused before anything starts, naming what is wrong.
#[test]
fn a_version_this_release_cannot_write_is_refused_at_start() {
    let linkway = |value: &str| {
        let mut cmd = std::process::Command::new(BINARY);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("LINKWAY_") {
                cmd.env_remove(name);
            }
        }
        cmd.arg("serve")
            .env(PIN.0, value)
            .output()
            .expect("run linkway")
    };
    for (value, says) in [
        (
            "referral.received=1",
            "`referral.received` v1 cannot be written",
        ),
        (
            "case.contact_attempted=3",
            "has no version 3 (this release knows v1, v2)",
        ),
        (
            "case.contact_atempted=1",
            "unknown event type `case.contact_atempted`",
        ),
        ("case.contact_attempted", "is not `<event type>=<version>`"),
    ] {
        let out = linkway(value);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{value}: {stderr}");
        assert!(stderr.contains(says), "{value}: {stderr}");
        assert!(stderr.contains("write-event-versions"), "{value}: {stderr}");
    }
}
