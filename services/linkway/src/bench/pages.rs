//! `linkway bench --pages`: the server time of each page with many open cases in one
//! link-worker service. In a private scope it starts all three services, submits
//! `cases` referrals through intake's JSON API (the load generator's submit-only run, all
//! routed to one service and left open), registers one person of each role, signs each in
//! with a session cookie sealed under the run's own session key (as a sign-in would), and
//! asks for each page in turn, one request at a time, recording every answer's time in an
//! HDR histogram: p50 and p99 per page, beside the time of `/healthz` on the same
//! connection (the floor: the HTTP round trip and the request layer alone).

use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use linkway_events::registry::{RegistryEvent, UserRegistered};
use linkway_events::{Actor, Envelope, Event, Role};
use linkway_eventstore::{Expected, PendingEvent};
use linkway_platform::secret::Secret;
use linkway_platform::web::WebSettings;
use linkway_platform::web::session::{ABSOLUTE_LIFETIME, SESSION_COOKIE, Sealer, Session};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::catalogue::ServiceName;
use crate::config::Settings;
use crate::load::{self, plan};
use crate::serve::connect_store;

/// One page's figures.
#[derive(Debug, Clone)]
pub struct PageTime {
    pub page: String,
    pub requests: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// What `--pages` measured.
#[derive(Debug, Clone)]
pub struct PagesReport {
    pub open_cases: u64,
    pub pages: Vec<PageTime>,
}

impl PagesReport {
    pub fn render(&self) -> String {
        let mut out = format!(
            "server time per page, {} open cases in one link-worker service, one request at a time\n",
            self.open_cases
        );
        for p in &self.pages {
            out.push_str(&format!(
                "{:<52} {:>6} requests  p50 {:>7.2} ms  p99 {:>7.2} ms\n",
                p.page, p.requests, p.p50_ms, p.p99_ms
            ));
        }
        out
    }
}

/// Runs the page benchmark: `cases` open cases, `requests` requests per page.
pub async fn run(settings: &Settings, cases: u64, requests: u64) -> anyhow::Result<PagesReport> {
    let tag = format!("pages{}", std::process::id());
    let private = Settings {
        stream: tag.to_uppercase(),
        subject_prefix: tag.clone(),
        database_prefix: format!("{}_{tag}", settings.database_prefix),
        intake_port: 0,
        link_worker_port: 0,
        reporting_port: 0,
        // It measures how fast pages answer, one client asking thousands of times a
        // minute: the rate limits (tested on their own) would answer 429 instead.
        rate_limit_per_token: crate::config::Limit(None),
        rate_limit_per_address: crate::config::Limit(None),
        self_referral_limit_per_address: crate::config::Limit(None),
        ..settings.clone()
    };
    let session_key = Secret::new(linkway_platform::auth::mint_token().secret);
    let mut web = (*private.web()?).clone();
    web.session_key = session_key.clone();
    let web: Arc<WebSettings> = Arc::new(web);
    let key = Secret::new(linkway_platform::auth::mint_token().secret);
    let server = crate::serve::start_with(&private, &ServiceName::ALL, Some(&key), web).await?;
    let result = measure(&private, &server, &session_key, cases, requests).await;
    let stopped = server.stop().await;
    let (_, store) = connect_store(&private).await?;
    store.jetstream().delete_stream(&private.stream).await?;
    for service in ServiceName::ALL {
        super::drop_database(&private, &private.database_name(service.name())).await?;
    }
    stopped?;
    result
}

async fn measure(
    settings: &Settings,
    server: &crate::serve::Server,
    session_key: &Secret,
    cases: u64,
    requests: u64,
) -> anyhow::Result<PagesReport> {
    let url = |name: ServiceName| {
        server
            .running
            .iter()
            .find(|r| r.service == name)
            .map(|r| format!("http://{}", r.addr))
            .unwrap_or_default()
    };
    let (intake, link_worker, reporting) = (
        url(ServiceName::Intake),
        url(ServiceName::LinkWorker),
        url(ServiceName::Reporting),
    );
    // The open cases: submit-only referrals, all to one service.
    let args = seeding_args(cases)?;
    let options = load::Options::from_args(&args);
    let orgs = plan::organisations(options.seed, &options.run, &options.shape);
    let report = load::run(
        settings,
        &options,
        load::Urls {
            intake: intake.clone(),
            link_worker: link_worker.clone(),
            reporting: reporting.clone(),
        },
    )
    .await?;
    anyhow::ensure!(
        report.problems().is_empty(),
        "seeding the cases: {}",
        report.problems().join("; ")
    );
    let service = orgs.services[0].id.clone();
    let referrer = orgs.referrers[0].id.clone();
    let commissioner = orgs.commissioners[0].0.clone();
    // One person of each role, signed in.
    let (_, store) = connect_store(settings).await?;
    let sealer = Sealer::new(session_key, false);
    let mut cookies = Vec::new();
    let mut last = 0;
    for (org, roles) in [
        (&service, vec![Role::LinkWorker, Role::ServiceManager]),
        (&referrer, vec![Role::Referrer]),
        (&commissioner, vec![Role::Commissioner]),
    ] {
        let user_id = Uuid::now_v7();
        let event: Event = RegistryEvent::UserRegistered(UserRegistered {
            user_id,
            organisation_id: org.clone(),
            roles,
            display_name: "Bench user".into(),
            issuer: "urn:linkway:bench".into(),
            subject: user_id.to_string(),
        })
        .into();
        let envelope = Envelope::new(
            user_id.to_string(),
            &event,
            Actor::system(),
            Uuid::now_v7(),
            OffsetDateTime::now_utc(),
        );
        last = store
            .append(
                "user",
                &user_id.to_string(),
                Expected::NoEvents,
                vec![PendingEvent::new(envelope)],
            )
            .await?
            .last_sequence();
        let session = Session::begin(user_id, OffsetDateTime::now_utc());
        let sealed = sealer.seal(SESSION_COOKIE, &session, ABSOLUTE_LIFETIME);
        cookies.push(sealed.split(';').next().unwrap_or_default().to_owned());
    }
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    // Every service has projected the people and the cases.
    for base in [&intake, &link_worker, &reporting] {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let ready = http.get(format!("{base}/readyz")).send().await?;
            let body: serde_json::Value = ready.json().await.unwrap_or_default();
            let behind = body["projections"]
                .as_object()
                .is_none_or(|p| p.values().any(|v| v["checkpoint"].as_u64() < Some(last)));
            if !behind {
                break;
            }
            anyhow::ensure!(Instant::now() < deadline, "{base} did not catch up");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let case = first_case(&http, &link_worker, &cookies[0]).await?;
    let pages: Vec<(String, String, usize)> = vec![
        (
            format!("{link_worker}/healthz"),
            "floor: link-worker /healthz".into(),
            0,
        ),
        (
            format!("{link_worker}/"),
            "link-worker caseload: my cases".into(),
            0,
        ),
        (
            format!("{link_worker}/?filtered=1&link_worker="),
            "link-worker caseload: the team's, first page".into(),
            0,
        ),
        (
            format!("{link_worker}/?filtered=1&link_worker=&page=20"),
            "link-worker caseload: the team's, page 20".into(),
            0,
        ),
        (
            format!("{link_worker}/team"),
            "link-worker team workload".into(),
            0,
        ),
        (
            format!("{link_worker}/cases/{case}/view"),
            "link-worker case page".into(),
            0,
        ),
        (
            format!("{intake}/referrals/view"),
            "intake my referrals".into(),
            1,
        ),
        (
            format!("{intake}/referrals/new"),
            "intake make a referral".into(),
            1,
        ),
        (format!("{reporting}/"), "reporting dashboard".into(), 2),
        // Each request a period never asked for before (every one of them covers all the
        // referrals): the summary computed afresh, as after any change to the read model.
        (
            format!("{reporting}/?to="),
            "reporting dashboard, computed afresh".into(),
            2,
        ),
    ];
    let mut out = Vec::new();
    for (url, name, who) in pages {
        let fresh = url.ends_with("?to=");
        // `?to=` a month of its own per request: 2030-01, 2030-02, ...
        let url_of = |n: u64| {
            if fresh {
                format!("{url}{:04}-{:02}", 2030 + n / 12, n % 12 + 1)
            } else {
                url.clone()
            }
        };
        let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
        // A few requests first: connections, prepared statements, caches.
        for n in 0..5 {
            get(&http, &url_of(n), &cookies[who]).await?;
        }
        for n in 5..5 + requests {
            let url = url_of(n);
            let started = Instant::now();
            get(&http, &url, &cookies[who]).await?;
            h.record(started.elapsed().as_micros().max(1) as u64)?;
        }
        out.push(PageTime {
            page: name,
            requests,
            p50_ms: h.value_at_quantile(0.5) as f64 / 1000.0,
            p99_ms: h.value_at_quantile(0.99) as f64 / 1000.0,
        });
    }
    Ok(PagesReport {
        open_cases: cases,
        pages: out,
    })
}

/// The load generator's flags for seeding: submit-only JSON referrals from a few referrers,
/// all in one area with one link-worker service.
fn seeding_args(cases: u64) -> anyhow::Result<load::LoadArgs> {
    #[derive(clap::Parser)]
    struct Flags {
        #[command(flatten)]
        load: load::LoadArgs,
    }
    let cases = cases.to_string();
    let flags = <Flags as clap::Parser>::try_parse_from([
        "seed",
        "--submit-only",
        "--quiet",
        "--referrals",
        cases.as_str(),
        "--areas",
        "1",
        "--services-per-area",
        "1",
        "--referrers",
        "4",
        "--fhir-percent",
        "0",
    ])?;
    Ok(flags.load)
}

async fn get(http: &reqwest::Client, url: &str, cookie: &str) -> anyhow::Result<()> {
    let answer = http.get(url).header("Cookie", cookie).send().await?;
    let status = answer.status();
    let _ = answer.bytes().await?;
    anyhow::ensure!(status.is_success(), "{url}: {status}");
    Ok(())
}

/// A case of the service (from the JSON caseload, read as the link worker).
async fn first_case(
    http: &reqwest::Client,
    link_worker: &str,
    cookie: &str,
) -> anyhow::Result<String> {
    let page = http
        .get(format!("{link_worker}/?filtered=1&link_worker="))
        .header("Cookie", cookie)
        .send()
        .await?
        .text()
        .await?;
    let start = page.find("/cases/").ok_or_else(|| {
        let end = page.char_indices().nth(3000).map_or(page.len(), |(i, _)| i);
        anyhow::anyhow!("the caseload page links to no case: {}", &page[..end])
    })?;
    let rest = &page[start + "/cases/".len()..];
    Ok(rest.chars().take_while(|c| *c != '/').collect())
}
