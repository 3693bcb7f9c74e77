//! The fault suite's world: a `linkway serve` child process on real servers, a load of
//! concurrent submits that retries 503s with the same key, and a sampler of `/readyz`.
//! The checks every fault ends with are in [`crate::checks`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use linkway::admin::{self, AdminCommand, RuleCommand};
use linkway_events::Role;
use linkway_events::registry::OrganisationKind;
use linkway_eventstore::{EventStore, StoreConfig};
use linkway_platform::Database;
use linkway_platform::secret::Secret;
use linkway_testkit::{Linkway, Scope};
use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_linkway");
const GP: &str = "gp-faults";
const LW: &str = "lw-faults";
/// The spec's bound: no 503 later than this after a fault, projections moving within it.
pub const RECOVERY: Duration = Duration::from_secs(5);
/// Concurrent submitters. Each waits [`PACE`] between keys, so a scenario sends a few
/// hundred submits however fast the machine is.
pub const WORKERS: usize = 8;
const PACE: Duration = Duration::from_millis(60);
/// A key is retried (503, no connection, no answer) for at most this long.
const GIVE_UP: Duration = Duration::from_secs(60);
/// `/readyz` is sampled this often on every service.
const SAMPLE_EVERY: Duration = Duration::from_millis(200);
/// A stall the test sees (checkpoint still, log ahead) for this long must be reported by
/// `/readyz`: the runner's 2 s threshold plus a second for sampling and clocks.
pub const STALL_SEEN: Duration = Duration::from_secs(3);
pub const SERVICES: [&str; 3] = ["intake", "link-worker", "reporting"];
pub const PROJECTIONS: [&str; 4] = ["registry", "referrals", "caseload", "reporting"];

/// One scenario at a time: the bounds are about recovery, not about sharing two cores
/// with four other Linkways.
pub async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    SERIAL.lock().await
}

/// A running Linkway with a referrer and a link-worker service registered.
pub struct World {
    pub lw: Arc<Linkway>,
    pub store: EventStore,
    pub token: String,
    pub http: reqwest::Client,
    pub scope: Scope,
    postgres_url: String,
}

impl World {
    /// Starts `linkway serve` on `seeds` and `postgres_url` (extra settings in `env`),
    /// waits for `/readyz`, registers the organisations, a routing rule and a token.
    pub async fn start(seeds: &[String], postgres_url: &str, env: &[(&str, &str)]) -> World {
        let scope = Scope::new();
        let mut lw = Linkway::new(BINARY, seeds, postgres_url, &scope).expect("linkway");
        for (name, value) in env {
            lw = lw.env(name, *value);
        }
        lw.start_ready(Duration::from_secs(120))
            .await
            .expect("linkway ready");
        let replicas = env
            .iter()
            .find(|(n, _)| *n == "LINKWAY_REPLICAS")
            .map_or(1, |(_, v)| v.parse().unwrap());
        let client = linkway_platform::nats::connect(seeds, "linkway-faults")
            .await
            .expect("NATS");
        let store = EventStore::connect(
            client,
            StoreConfig {
                stream: scope.stream.clone(),
                subject_prefix: scope.subject_prefix.clone(),
                replicas,
                ..StoreConfig::default()
            },
        )
        .await
        .expect("event store");
        register(&store).await;
        let (token, _) = admin::issue_token(&store, GP, Role::Referrer, None, None)
            .await
            .expect("token");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        let world = World {
            lw: Arc::new(lw),
            store,
            token,
            http,
            scope,
            postgres_url: postgres_url.to_owned(),
        };
        world.wait_until_authorised().await;
        world
    }

    async fn wait_until_authorised(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let status = self
                .http
                .get(format!("{}/referrals", self.lw.url("intake")))
                .bearer_auth(&self.token)
                .send()
                .await
                .map(|r| r.status().as_u16());
            if matches!(status, Ok(200)) {
                return;
            }
            assert!(Instant::now() < deadline, "token not accepted: {status:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until intake answers at all (after a restart); the instant it did.
    pub async fn wait_listening(&self) -> Instant {
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.lw.get("intake", "/healthz").await.is_err() {
            assert!(
                Instant::now() < deadline,
                "linkway did not listen again:\n{}",
                self.lw.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Instant::now()
    }

    pub async fn database(&self, service: &str) -> Database {
        let name = format!(
            "{}_{}",
            self.scope.database_prefix,
            service.replace('-', "_")
        );
        Database::open(&Secret::new(self.postgres_url.clone()), &name)
            .await
            .expect("service database")
    }
}

impl Drop for World {
    /// `LINKWAY_FAULTS_LOG_DIR`: where to keep each run's `linkway` log, for a look after.
    fn drop(&mut self) {
        if let Some(dir) = std::env::var_os("LINKWAY_FAULTS_LOG_DIR") {
            let path = std::path::Path::new(&dir).join(format!("{}.log", self.scope.stream));
            let _ = std::fs::write(path, self.lw.log());
        }
    }
}

async fn register(store: &EventStore) {
    use linkway::admin::OrgCommand;
    for (id, kind, lws) in [
        (GP, OrganisationKind::GpPractice, false),
        (LW, OrganisationKind::Pcn, true),
    ] {
        admin::run(
            store,
            AdminCommand::Org(OrgCommand::Add {
                id: id.into(),
                name: format!("{id} (fault suite)"),
                kind,
                code: None,
                area: Some("QSD".into()),
                link_worker_service: lws,
                directory_services: Vec::new(),
            }),
        )
        .await
        .expect("organisation");
    }
    admin::run(
        store,
        AdminCommand::Rule(RuleCommand::Add {
            to: LW.into(),
            from_org: Some(GP.into()),
            postcode_district: None,
            priority: 1,
        }),
    )
    .await
    .expect("routing rule");
}

/// One HTTP attempt of one key.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub key: u64,
    pub sent: Instant,
    /// Status and the referral id of a 2xx (the problem's title and detail otherwise), or
    /// why there was no answer.
    pub result: Result<(u16, Option<String>), String>,
}

pub async fn submit_once(world: &World, key: u64) -> Attempt {
    let sent = Instant::now();
    let answer = world
        .http
        .post(format!("{}/referrals", world.lw.url("intake")))
        .bearer_auth(&world.token)
        .header("Idempotency-Key", format!("fault-{key}"))
        .json(&linkway::demo::referral_body(key))
        .send()
        .await;
    let result = match answer {
        Ok(response) => {
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            let said = if (200..300).contains(&status) {
                body["referral_id"].as_str().map(str::to_owned)
            } else {
                Some(format!("{} {}", body["title"], body["detail"]))
            };
            Ok((status, said))
        }
        Err(e) => Err(format!("{e}")),
    };
    Attempt { key, sent, result }
}

/// Sends one key until it is answered with anything but 503 (or [`GIVE_UP`]).
async fn submit(world: &World, key: u64, attempts: &Mutex<Vec<Attempt>>) {
    let started = Instant::now();
    loop {
        let attempt = submit_once(world, key).await;
        let retry = match &attempt.result {
            Ok((503, _)) | Err(_) => started.elapsed() < GIVE_UP,
            Ok(_) => false,
        };
        attempts.lock().unwrap().push(attempt);
        if !retry {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A load of concurrent submits, running until stopped.
pub struct Load {
    next: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    attempts: Arc<Mutex<Vec<Attempt>>>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    pub fn start(world: &Arc<World>) -> Load {
        let next = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let attempts = Arc::new(Mutex::new(Vec::new()));
        let workers = (0..WORKERS)
            .map(|_| {
                let (world, next, stop, attempts) =
                    (world.clone(), next.clone(), stop.clone(), attempts.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::SeqCst) {
                        let key = next.fetch_add(1, Ordering::SeqCst);
                        submit(&world, key, &attempts).await;
                        tokio::time::sleep(PACE).await;
                    }
                })
            })
            .collect();
        Load {
            next,
            stop,
            attempts,
            workers,
        }
    }

    /// Waits until `n` keys have been started (the fault lands mid-load).
    pub async fn until_keys(&self, n: u64) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.next.load(Ordering::SeqCst) < n {
            assert!(Instant::now() < deadline, "the load did not get going");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops starting keys, lets every key in hand finish; every attempt made.
    pub async fn stop(self) -> (u64, Vec<Attempt>) {
        self.stop.store(true, Ordering::SeqCst);
        for w in self.workers {
            w.await.expect("worker");
        }
        let keys = self.next.load(Ordering::SeqCst);
        let attempts = self.attempts.lock().unwrap().clone();
        (keys, attempts)
    }
}

/// One look at one service's `/readyz`, with the log end the test saw at the time.
#[derive(Debug, Clone)]
pub struct Sample {
    pub at: Instant,
    pub service: &'static str,
    pub status: u16,
    pub checkpoints: BTreeMap<String, u64>,
    pub reasons: String,
    pub log_end: Option<u64>,
}

/// Samples `/readyz` of every service until stopped.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Vec<Sample>>,
}

impl Sampler {
    pub fn start(world: &Arc<World>) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let (w, s) = (world.clone(), stop.clone());
        let task = tokio::spawn(async move {
            let mut samples = Vec::new();
            while !s.load(Ordering::SeqCst) {
                let log_end = tokio::time::timeout(Duration::from_secs(1), w.store.last_sequence())
                    .await
                    .ok()
                    .and_then(Result::ok);
                // All services at once, each sample timed when its request was sent: the
                // checkpoint in the answer is read as the request arrives, while the rest
                // of the answer may take a while (it asks the log).
                let at = Instant::now();
                let lw = &w.lw;
                let answers = futures::future::join_all(
                    SERVICES
                        .map(|service| async move { (service, lw.get(service, "/readyz").await) }),
                )
                .await;
                for (service, answer) in answers {
                    let Ok((status, body)) = answer else {
                        continue;
                    };
                    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                    let checkpoints = body["projections"]
                        .as_object()
                        .map(|p| {
                            p.iter()
                                .filter_map(|(n, v)| Some((n.clone(), v["checkpoint"].as_u64()?)))
                                .collect()
                        })
                        .unwrap_or_default();
                    samples.push(Sample {
                        at,
                        service,
                        status,
                        checkpoints,
                        reasons: body["reasons"].to_string(),
                        log_end,
                    });
                }
                tokio::time::sleep(SAMPLE_EVERY).await;
            }
            samples
        });
        Sampler { stop, task }
    }

    pub async fn stop(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.expect("sampler")
    }
}

/// A fault: when it began, and when the faulty part was back (for a node lost for good,
/// when it went: the rest must carry on from then).
#[derive(Debug, Clone)]
pub struct Fault {
    pub name: &'static str,
    pub began: Instant,
    pub back: Instant,
}

pub use crate::checks::verify;
