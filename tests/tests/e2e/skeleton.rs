//! The walking skeleton: `linkway serve` runs the three services in one process; a
//! referral posted to intake reaches the link-worker caseload and the reporting count.

use std::time::{Duration, Instant};

use linkway::ServiceName as Service;
use linkway_events::Role;
use linkway_events::registry::OrganisationKind;
use linkway_testkit::{Nats, Server, TestEnv};
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::settings;

const GP: &str = "gp-skeleton";
const LW: &str = "lw-skeleton";
const ICB: &str = "icb-skeleton";

struct Running {
    urls: Vec<(Service, String)>,
    referrer: String,
    link_worker: String,
    commissioner: String,
}

impl Running {
    fn url(&self, service: Service) -> &str {
        &self
            .urls
            .iter()
            .find(|(s, _)| *s == service)
            .expect("service running")
            .1
    }
}

/// Serves `services`, registers a GP, a link-worker service and a commissioner in one
/// area, routes the GP's referrals to the service, and waits until the tokens work.
async fn start(env: &TestEnv, services: &[Service]) -> Running {
    let running = linkway::serve::serve(&settings(env), services, env.shutdown())
        .await
        .expect("serve");
    let urls: Vec<(Service, String)> = running
        .iter()
        .map(|r| (r.service, format!("http://{}", r.addr)))
        .collect();
    env.register_organisation(GP, OrganisationKind::GpPractice, Some("QSK"), false)
        .await;
    env.register_organisation(LW, OrganisationKind::Pcn, Some("QSK"), true)
        .await;
    env.register_organisation(ICB, OrganisationKind::Commissioner, Some("QSK"), false)
        .await;
    let store = env.store().await;
    linkway::admin::run(
        &store,
        linkway::admin::AdminCommand::Rule(linkway::admin::RuleCommand::Add {
            to: LW.into(),
            from_org: Some(GP.into()),
            postcode_district: None,
            priority: 1,
        }),
    )
    .await
    .expect("routing rule");
    let r = Running {
        urls,
        referrer: env.issue_token(GP, Role::Referrer).await.0,
        link_worker: env.issue_token(LW, Role::LinkWorker).await.0,
        commissioner: env.issue_token(ICB, Role::Commissioner).await.0,
    };
    for (service, path, token) in [
        (Service::Intake, "/referrals", &r.referrer),
        (Service::LinkWorker, "/caseload", &r.link_worker),
        (Service::Reporting, "/summary", &r.commissioner),
    ] {
        if services.contains(&service) {
            wait_until(|| async {
                let status = get(&format!("{}{path}", r.url(service)), token).await.0;
                status != StatusCode::UNAUTHORIZED
            })
            .await;
        }
    }
    r
}

async fn get(url: &str, token: &str) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("GET");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn wait_until<F, Fut>(mut ok: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ok().await {
        assert!(Instant::now() < deadline, "condition not met within 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Posts referral `i`; retries while the log is unavailable. Returns its id and the
/// sequence of its event.
async fn submit(r: &Running, i: u64) -> (String, u64) {
    let url = format!("{}/referrals", r.url(Service::Intake));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let sent = reqwest::Client::new()
            .post(&url)
            .bearer_auth(&r.referrer)
            .header("Idempotency-Key", format!("skeleton-{i}"))
            .json(&linkway::demo::referral_body(i))
            .send()
            .await;
        if let Ok(response) = sent {
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            if status == StatusCode::CREATED || status == StatusCode::OK {
                let sequence = body["sequence"]
                    .as_u64()
                    .expect("the answer carries the event's sequence");
                return (
                    body["referral_id"]
                        .as_str()
                        .expect("referral_id")
                        .to_owned(),
                    sequence,
                );
            }
            assert_eq!(
                status,
                StatusCode::SERVICE_UNAVAILABLE,
                "only an outage may refuse it: {body}"
            );
        }
        assert!(
            Instant::now() < deadline,
            "intake did not accept referral {i} within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn caseload_ids(r: &Running) -> Vec<String> {
    let (status, page) = get(
        &format!("{}/caseload?limit=200", r.url(Service::LinkWorker)),
        &r.link_worker,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["referral_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn reported_referrals(r: &Running) -> Value {
    let (status, summary) = get(
        &format!("{}/summary", r.url(Service::Reporting)),
        &r.commissioner,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    summary["measures"]["referrals"]["total"].clone()
}

#[tokio::test]
async fn a_referral_posted_to_intake_reaches_the_caseload_and_the_reporting_count() {
    let env = TestEnv::shared();
    let r = start(&env, &Service::ALL).await;
    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(submit(&r, i).await.0);
    }
    wait_until(|| async {
        let caseload = caseload_ids(&r).await;
        ids.iter().all(|id| caseload.contains(id))
    })
    .await;
    // Ten referrals: above the disclosure threshold, shown rounded to the nearest 5.
    wait_until(|| async { reported_referrals(&r).await == 10 }).await;
    // The referrer sees its referral.
    let (status, referral) = get(
        &format!("{}/referrals/{}", r.url(Service::Intake), ids[0]),
        &r.referrer,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{referral}");
}

#[tokio::test]
async fn every_service_serves_health_readiness_metrics_and_openapi() {
    let env = TestEnv::shared();
    let r = start(&env, &Service::ALL).await;
    let http = reqwest::Client::new();
    for (service, url) in &r.urls {
        let healthz = http.get(format!("{url}/healthz")).send().await.unwrap();
        assert_eq!(healthz.status(), StatusCode::OK, "{service:?} /healthz");
        let readyz = http.get(format!("{url}/readyz")).send().await.unwrap();
        assert_eq!(readyz.status(), StatusCode::OK, "{service:?} /readyz");
        let ready: Value = readyz.json().await.unwrap();
        assert_eq!(ready["nats"], "ok");
        assert_eq!(ready["database"], "ok");
        assert!(
            ready["projections"]["registry"]["checkpoint"]
                .as_u64()
                .is_some(),
            "{ready}"
        );
        let metrics = http
            .get(format!("{url}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            metrics.contains("# TYPE linkway_projection_events_applied counter"),
            "{metrics}"
        );
        let openapi: Value = http
            .get(format!("{url}/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            openapi["openapi"].as_str().unwrap().starts_with("3.1"),
            "{service:?}"
        );
        assert!(!openapi["paths"].as_object().unwrap().is_empty());
        // Everything else but the pages (people sign in to those) needs a token.
        let first_path = openapi["paths"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(p, item)| {
                !p.contains('{')
                    && !item.as_object().unwrap().values().any(|op| {
                        op["tags"]
                            .as_array()
                            .is_some_and(|t| t.iter().any(|t| t == "pages"))
                    })
            })
            .map(|(p, _)| p.clone())
            .unwrap();
        let unauthenticated = http
            .get(format!("{url}{first_path}"))
            .send()
            .await
            .unwrap()
            .status();
        assert!(
            unauthenticated == StatusCode::UNAUTHORIZED
                || unauthenticated == StatusCode::METHOD_NOT_ALLOWED,
            "{service:?} {first_path}: {unauthenticated}"
        );
    }
}

#[tokio::test]
async fn serve_runs_only_the_services_it_is_asked_for() {
    let env = TestEnv::shared();
    let r = start(&env, &[Service::Intake, Service::Reporting]).await;
    assert_eq!(
        r.urls.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        vec![Service::Intake, Service::Reporting]
    );
    let (id, sequence) = submit(&r, 1).await;
    // Read-your-writes: the query waits for the read model to reach the command's event.
    let url = format!(
        "{}/referrals/{id}?min_sequence={sequence}",
        r.url(Service::Intake)
    );
    let (status, referral) = get(&url, &r.referrer).await;
    assert_eq!(status, StatusCode::OK, "{referral}");
}

#[tokio::test]
async fn nats_restarted_mid_stream_the_services_reconnect_and_catch_up_with_no_loss() {
    let nats = Nats::start().expect("private nats-server");
    let env = TestEnv::on(nats.url(), linkway_testkit::shared_postgres().url());
    let r = start(&env, &Service::ALL).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(submit(&r, i).await.0);
    }
    let nats = tokio::task::spawn_blocking(move || {
        nats.restart().expect("restart nats-server");
        nats
    })
    .await
    .unwrap();
    for i in 5..10 {
        ids.push(submit(&r, i).await.0);
    }
    wait_until(|| async {
        let caseload = caseload_ids(&r).await;
        ids.iter().all(|id| caseload.contains(id))
    })
    .await;
    assert_eq!(
        caseload_ids(&r).await.len(),
        10,
        "nothing lost, nothing doubled"
    );
    wait_until(|| async { reported_referrals(&r).await == 10 }).await;
    drop(nats);
}

#[tokio::test]
async fn the_demo_sends_its_referrals_through_intake_and_works_every_case() {
    let env = TestEnv::shared();
    let running = linkway::serve::serve(&settings(&env), &Service::ALL, env.shutdown())
        .await
        .expect("serve");
    let seeded = linkway::demo::seed(&settings(&env), &running, 12)
        .await
        .expect("demo seed");
    assert_eq!(seeded.sent, 12, "every demo referral accepted by intake");
    assert_eq!(
        seeded.worked, 12,
        "every demo journey is legal for the link-worker service"
    );
    assert!(seeded.guide.contains("/caseload") && seeded.guide.contains("lw_"));
}
