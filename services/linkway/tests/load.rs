//! The load generator's numbers are checked against what the services hold: a tiny seeded
//! `linkway load` (in process) over the harness's real nats-server and PostgreSQL, then
//! intake's referrals and each link-worker service's caseload are counted through their
//! own APIs and compared with the report, and the report's mix with the seeded plan.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use linkway::ServiceName;
use linkway::load::plan::{self, Channel, Shape};
use linkway::load::{Mode, Options, Stop, Urls};
use linkway_events::Role;
use linkway_platform::secret::Secret;
use linkway_testkit::TestEnv;
use reqwest::StatusCode;
use serde_json::Value;

const REFERRALS: u64 = 24;

fn shape() -> Shape {
    Shape {
        referrers: 6,
        areas: 1,
        services_per_area: 2,
        directory: 6,
        fhir_percent: 30,
    }
}

async fn get(http: &reqwest::Client, url: &str, token: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let response = http.get(url).bearer_auth(token).send().await.unwrap();
        if response.status() != StatusCode::UNAUTHORIZED {
            assert_eq!(response.status(), StatusCode::OK, "{url}");
            return response.json().await.unwrap();
        }
        assert!(Instant::now() < deadline, "token not accepted within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seeded_load_reports_exactly_the_referrals_and_cases_the_services_hold() {
    let env = TestEnv::shared();
    let mut settings = linkway::Settings::defaults();
    settings.nats_url = vec![env.nats_url.clone()];
    settings.database_url = Secret::new(env.postgres_url.clone());
    settings.stream = env.scope.stream.clone();
    settings.subject_prefix = env.scope.subject_prefix.clone();
    settings.database_prefix = env.scope.database_prefix.clone();
    (
        settings.intake_port,
        settings.link_worker_port,
        settings.reporting_port,
    ) = (0, 0, 0);
    let key = Secret::new("load-test-only-pseudonym-key");
    let server = linkway::serve::start(&settings, &ServiceName::ALL, Some(&key))
        .await
        .expect("services start");
    let url = |name: ServiceName| {
        let r = server.running.iter().find(|r| r.service == name).unwrap();
        format!("http://{}", r.addr)
    };
    let urls = Urls {
        intake: url(ServiceName::Intake),
        link_worker: url(ServiceName::LinkWorker),
        reporting: url(ServiceName::Reporting),
    };
    let options = Options {
        seed: 42,
        run: "t1".into(),
        mode: Mode::Closed { clients: 3 },
        stop: Stop::Referrals(REFERRALS),
        shape: shape(),
        reporting_every: 6,
        submit_only: false,
        progress: false,
    };
    let report = linkway::load::run(&settings, &options, urls.clone())
        .await
        .expect("the load runs");
    assert!(report.problems().is_empty(), "{}", report.render());
    assert_eq!(report.referrals_started, REFERRALS);
    assert_eq!(report.accepted(), REFERRALS, "{}", report.render());

    // The mix is the seeded plan's: channels and journey outcomes.
    let orgs = plan::organisations(42, "t1", &shape());
    let planned: Vec<_> = (0..REFERRALS)
        .map(|i| plan::referral(42, &orgs, &shape(), i))
        .collect();
    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    for p in &planned {
        *kinds.entry(p.journey.kind().to_owned()).or_default() += 1;
    }
    assert_eq!(report.journeys, kinds);
    let fhir = planned
        .iter()
        .filter(|p| p.channel == Channel::Fhir)
        .count() as u64;
    assert_eq!(
        report.referrals_accepted.get("fhir").copied().unwrap_or(0),
        fhir
    );
    let op = |name: &str| {
        report
            .operations
            .iter()
            .find(|r| r.operation == name)
            .map_or(0, |r| r.count)
    };
    assert_eq!(op("submitReferral") + op("processMessage"), REFERRALS);
    assert_eq!(op("getCase"), REFERRALS);
    let caseload_seen = report
        .visibility
        .iter()
        .find(|v| v.read_model == "caseload");
    assert_eq!(caseload_seen.map(|v| v.count), Some(REFERRALS));

    // Intake holds exactly the referrals the report counts (read once every event of the
    // run is in the read models: min_sequence at the log's end).
    let store = env.store().await;
    let end = store.last_sequence().await.unwrap();
    let http = reqwest::Client::new();
    let (admin, _) = env.issue_token("linkway", Role::Admin).await;
    let url = format!("{}/referrals?limit=1&min_sequence={end}", urls.intake);
    let list = get(&http, &url, &admin).await;
    assert_eq!(list["total"], REFERRALS);

    // Each service's caseload holds the cases the report routed to it, ended as planned.
    let mut declined = 0;
    let mut closed = 0;
    for (service, routed) in &report.routed_to {
        let (token, _) = env.issue_token(service, Role::LinkWorker).await;
        let url = format!(
            "{}/caseload?include_closed=true&limit=1&min_sequence={end}",
            urls.link_worker
        );
        let page = get(&http, &url, &token).await;
        assert_eq!(page["total"], *routed, "{service}: {page}");
        declined += page["counts_by_state"]["declined"].as_u64().unwrap_or(0);
        closed += page["counts_by_state"]["closed"].as_u64().unwrap_or(0);
    }
    assert_eq!(report.routed_to.values().sum::<u64>(), REFERRALS);
    assert_eq!(declined, kinds.get("declined").copied().unwrap_or(0));
    assert_eq!(
        closed,
        kinds.get("engaged").copied().unwrap_or(0)
            + kinds.get("not_contactable").copied().unwrap_or(0)
    );

    // Submit only: referrals and nothing else, counted the same way.
    let submit_only = Options {
        run: "t2".into(),
        stop: Stop::Referrals(10),
        submit_only: true,
        ..options
    };
    let report = linkway::load::run(&settings, &submit_only, urls.clone())
        .await
        .expect("the submit-only load runs");
    assert!(report.problems().is_empty(), "{}", report.render());
    assert_eq!(
        report.journeys,
        BTreeMap::from([("submitted".to_owned(), 10)])
    );
    assert!(
        report
            .operations
            .iter()
            .all(|r| r.operation == "submitReferral" || r.operation == "processMessage"),
        "{}",
        report.render()
    );
    let end = store.last_sequence().await.unwrap();
    let url = format!("{}/referrals?limit=1&min_sequence={end}", urls.intake);
    let list = get(&http, &url, &admin).await;
    assert_eq!(list["total"], REFERRALS + 10);
    server.stop().await.expect("a clean stop");
}
