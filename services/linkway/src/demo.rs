//! `linkway demo`: organisations, tokens and synthetic referrals, sent through the
//! services' own APIs, so what a person sees is what the services really did.

use std::time::{Duration, Instant};

use anyhow::Context;
use linkway_events::Role;
use linkway_events::registry::OrganisationKind;
use serde_json::{Value, json};

use crate::admin::{AdminCommand, OrgCommand, RuleCommand, issue_token};
use crate::catalogue::ServiceName as Service;
use crate::config::Connection;
use crate::config::Settings;
use crate::serve::{Running, connect_store_as};
use crate::synthetic;

const GP: &str = "gp-a81001";
const HOUSING: &str = "ha-leeds-homes";
const LINK_WORKERS: &str = "lw-leeds-north";
const ICB: &str = "icb-west-yorkshire";
/// A community service answering in its inbox for one directory service.
const COMMUNITY: &str = "cs-leeds-walking";
/// The Open Referral UK service id the demo's community service answers for.
pub const COMMUNITY_DIRECTORY_SERVICE: &str = "demo-walking-for-health-leeds";
const AREA: &str = "QWO";

/// The pseudonym key of `linkway demo` when none is configured. It is in the source, so
/// public: pseudonyms made with it protect nothing, which is why only the demo uses it.
pub const PSEUDONYM_KEY: &str = "linkway-demo-only-public-pseudonym-key";

/// The demo's key-encryption key when `LINKWAY_KEKS` is not set: public, so the demo's
/// log is sealed as a real one is, but readable by anyone with this source.
pub const KEKS: &str = "demo:bGlua3dheS1kZW1vLW9ubHktcHVibGljLWtlay0xMjM=";

/// The session key of `linkway demo` when none is configured: public, like
/// [`PSEUDONYM_KEY`], so only the demo uses it.
pub const SESSION_KEY: &str = "linkway-demo-only-public-session-key-not-a-secret";

/// The demo's people: subject (under the demo issuer), label, organisation, roles.
const USERS: [(&str, &str, &str, &[Role]); 6] = [
    (
        "demo-referrer",
        "Alex Morgan, GP referrer at Park Surgery",
        GP,
        &[Role::Referrer],
    ),
    (
        "demo-link-worker",
        "Sam Patel, link worker",
        LINK_WORKERS,
        &[Role::LinkWorker],
    ),
    (
        "demo-service-manager",
        "Jo Okafor, link-worker service manager",
        LINK_WORKERS,
        &[Role::ServiceManager, Role::LinkWorker],
    ),
    (
        "demo-commissioner",
        "Chris Lee, ICB commissioner",
        ICB,
        &[Role::Commissioner],
    ),
    (
        "demo-community-service",
        "Pat Evans, Leeds Walking for Health (community service)",
        COMMUNITY,
        &[Role::CommunityService],
    ),
    (
        "demo-admin",
        "Robin Shah, Linkway administrator",
        "linkway",
        &[Role::Admin],
    ),
];

/// The pages' settings for the demo: its one-click users, and the public demo session
/// key unless one is configured.
pub fn web_settings(
    settings: &Settings,
) -> anyhow::Result<std::sync::Arc<linkway_platform::web::WebSettings>> {
    let mut web = (*settings.web()?).clone();
    if settings.session_key.is_none() {
        web.session_key = linkway_platform::secret::Secret::new(SESSION_KEY);
    }
    web.demo_users = USERS
        .iter()
        .map(|(subject, label, _, _)| linkway_platform::web::DemoUser {
            subject: (*subject).to_owned(),
            label: (*label).to_owned(),
        })
        .collect();
    Ok(std::sync::Arc::new(web))
}

/// Registers the demo's people (once: a later demo on the same log finds them there).
async fn register_users(store: &linkway_eventstore::EventStore) -> anyhow::Result<()> {
    let registry = crate::admin::registry::load(store).await?;
    for (subject, label, org, roles) in USERS {
        let issuer = linkway_platform::web::settings::DEMO_ISSUER;
        if registry.user_by_identity(issuer, subject).is_some() {
            continue;
        }
        crate::admin::run(
            store,
            AdminCommand::User(crate::admin::users::UserCommand::Add {
                org: org.into(),
                roles: roles.to_vec(),
                name: label.split(',').next().unwrap_or(label).into(),
                issuer: issuer.into(),
                subject: subject.into(),
            }),
        )
        .await?;
    }
    Ok(())
}

/// The tokens the demo issued, by who holds them.
pub struct DemoTokens {
    pub referrer: String,
    pub housing_referrer: String,
    pub link_worker: String,
    pub service_manager: String,
    pub commissioner: String,
    pub admin: String,
}

fn url(running: &[Running], service: Service) -> anyhow::Result<String> {
    running
        .iter()
        .find(|r| r.service == service)
        .map(|r| format!("http://{}", r.addr))
        .with_context(|| format!("{} is not running", service.name()))
}

/// Registers the demo organisations, rules and tokens, sends `referrals` synthetic
/// referrals and works some of them; returns a guide of where to look.
pub async fn seed(
    settings: &Settings,
    running: &[Running],
    referrals: u64,
) -> anyhow::Result<Seeded> {
    // The registry's events, as the registry's writer.
    let (_, store) = connect_store_as(settings, Some(Connection::Registry)).await?;
    let orgs = [
        (
            GP,
            "Park Surgery (demo)",
            OrganisationKind::GpPractice,
            false,
        ),
        (
            HOUSING,
            "Leeds Homes housing association (demo)",
            OrganisationKind::HousingAssociation,
            false,
        ),
        (
            LINK_WORKERS,
            "Leeds North PCN link workers (demo)",
            OrganisationKind::Pcn,
            true,
        ),
        (
            ICB,
            "West Yorkshire ICB (demo)",
            OrganisationKind::Commissioner,
            false,
        ),
    ];
    for (id, name, kind, link_worker_service) in orgs {
        crate::admin::run(
            &store,
            AdminCommand::Org(OrgCommand::Add {
                id: id.into(),
                name: name.into(),
                kind,
                code: None,
                area: Some(AREA.into()),
                link_worker_service,
                directory_services: Vec::new(),
            }),
        )
        .await?;
    }
    crate::admin::run(
        &store,
        AdminCommand::Org(OrgCommand::Add {
            id: COMMUNITY.into(),
            name: "Leeds Walking for Health (demo community service)".into(),
            kind: OrganisationKind::CommunityService,
            code: None,
            area: None,
            link_worker_service: false,
            directory_services: vec![COMMUNITY_DIRECTORY_SERVICE.into()],
        }),
    )
    .await?;
    crate::admin::run(
        &store,
        AdminCommand::Rule(RuleCommand::Add {
            to: LINK_WORKERS.into(),
            from_org: Some(GP.into()),
            postcode_district: None,
            priority: 10,
        }),
    )
    .await?;
    for district in synthetic::DISTRICTS {
        crate::admin::run(
            &store,
            AdminCommand::Rule(RuleCommand::Add {
                to: LINK_WORKERS.into(),
                from_org: None,
                postcode_district: Some(district.into()),
                priority: 50,
            }),
        )
        .await?;
    }
    register_users(&store).await?;
    let token = |org: &'static str, role: Role| {
        let store = store.clone();
        async move {
            issue_token(
                &store,
                org,
                role,
                Some(format!("demo-{}", role.as_str())),
                Some("demo".into()),
            )
            .await
            .map(|t| t.0)
        }
    };
    let tokens = DemoTokens {
        referrer: token(GP, Role::Referrer).await?,
        housing_referrer: token(HOUSING, Role::Referrer).await?,
        link_worker: token(LINK_WORKERS, Role::LinkWorker).await?,
        service_manager: token(LINK_WORKERS, Role::ServiceManager).await?,
        commissioner: token(ICB, Role::Commissioner).await?,
        admin: token("linkway", Role::Admin).await?,
    };

    let intake = url(running, Service::Intake)?;
    let link_worker = url(running, Service::LinkWorker)?;
    let reporting = url(running, Service::Reporting)?;
    let http = reqwest::Client::new();
    wait_until_authorised(&http, &format!("{intake}/referrals"), &tokens.referrer).await?;
    wait_until_authorised(
        &http,
        &format!("{link_worker}/caseload"),
        &tokens.link_worker,
    )
    .await?;
    wait_until_authorised(&http, &format!("{reporting}/summary"), &tokens.commissioner).await?;
    import_directory(&http, &link_worker, &tokens.service_manager).await?;

    let mut sent = Vec::new();
    for i in 0..referrals {
        let (token, body) = if i % 4 == 3 {
            (&tokens.housing_referrer, referral_body(i))
        } else {
            (&tokens.referrer, referral_body(i))
        };
        let response = http
            .post(format!("{intake}/referrals"))
            .bearer_auth(token)
            .header("Idempotency-Key", format!("demo-referral-{i}"))
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        anyhow::ensure!(
            status.is_success(),
            "demo referral {i} refused: {status} {answer}"
        );
        if let Some(id) = answer.get("referral_id").and_then(Value::as_str) {
            sent.push(id.to_owned());
        }
    }
    let worked =
        crate::demo_journeys::work_cases(&http, &link_worker, &tokens.link_worker, &sent).await;

    Ok(Seeded {
        sent: sent.len(),
        worked,
        guide: guide(
            &tokens,
            &intake,
            &link_worker,
            &reporting,
            sent.len(),
            worked,
        ),
    })
}

/// What the demo did, and where to look.
pub struct Seeded {
    /// Referrals accepted by intake.
    pub sent: usize,
    /// Of those, cases the link-worker service worked without an error.
    pub worked: usize,
    /// The text printed for the person running the demo.
    pub guide: String,
}

/// The demo's directory: one community service (Open Referral UK), the one the demo's
/// community service organisation answers for, so its inbox has onward referrals.
async fn import_directory(http: &reqwest::Client, base: &str, token: &str) -> anyhow::Result<()> {
    let (kind, _) = synthetic::SERVICE_KINDS[0];
    let id = COMMUNITY_DIRECTORY_SERVICE;
    let body = json!({"total_items": 1, "contents": [{
        "id": id,
        "name": "Walking for Health, Leeds North (demo)",
        "status": "active",
        "url": "https://community.example/walking",
        "description": "Free, friendly group walks of an hour or less.",
        "attributes": [{"id": format!("{id}-kind"), "taxonomy_term": {"id": kind, "term": kind}}],
    }]});
    let response = http
        .post(format!("{base}/directory/import"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await?;
    let status = response.status();
    anyhow::ensure!(status.is_success(), "the demo directory refused: {status}");
    Ok(())
}

/// A referral request as a GP system would send it.
pub fn referral_body(i: u64) -> Value {
    let district = synthetic::DISTRICTS[(i % synthetic::DISTRICTS.len() as u64) as usize];
    let need = synthetic::NEEDS[(i % synthetic::NEEDS.len() as u64) as usize];
    json!({
        "person": {
            "nhs_number": synthetic::nhs_number(i + 1000),
            "nhs_number_verification": "number-present-and-verified",
            "given_name": synthetic::GIVEN[(i % 8) as usize],
            "family_name": synthetic::FAMILY[(i / 8 % 8) as usize],
            "birth_date": format!("{}-0{}-1{}", 1940 + (i * 7) % 60, 1 + i % 9, i % 10),
            "address": { "lines": [format!("{} Example Street", i + 1), "Leeds"], "postcode": format!("{district} 9ZZ") },
            "phone": "07700 900123",
            "preferred_contact_method": "phone",
            "language": "en"
        },
        "needs_and_concerns": {
            "codes": [{ "system": "http://snomed.info/sct", "code": need.0, "display": need.1 }],
            "text": "Feels isolated since a bereavement; would like company and a reason to get out."
        },
        "urgency": if i.is_multiple_of(9) { "urgent" } else { "routine" },
        "safeguarding_concern": i.is_multiple_of(13),
        "legal_basis": "public_task_health_care",
        "consent": { "referral_agreed": true, "share_details_with_referrer": !i.is_multiple_of(5) },
        "practitioner": { "name": "Dr Demo Practitioner", "role": "GP" }
    })
}

pub(crate) async fn wait_until_authorised(
    http: &reqwest::Client,
    url: &str,
    token: &str,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = http.get(url).bearer_auth(token).send().await?.status();
        if status != reqwest::StatusCode::UNAUTHORIZED {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "token for {url} not accepted within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn guide(
    t: &DemoTokens,
    intake: &str,
    link_worker: &str,
    reporting: &str,
    sent: usize,
    worked: usize,
) -> String {
    format!(
        "Linkway demo is running: {sent} synthetic referrals sent, {worked} cases worked by the link-worker service.

Pages (sign in with one click as a demo user: demo only):
  intake       {intake}/sign-in      (referrers, administrators)
  link-worker  {link_worker}/sign-in  (link workers, service managers; the community service cs-leeds-walking: its inbox)
  reporting    {reporting}/sign-in   (commissioners)
  each serves /healthz /readyz /metrics /openapi.json

Tokens (demo only):
  GP referrer (gp-a81001)          {referrer}
  housing referrer (ha-leeds-homes) {housing}
  link worker (lw-leeds-north)     {lw}
  service manager (lw-leeds-north) {sm}
  commissioner (icb-west-yorkshire) {comm}
  admin                            {admin}

Try:
  curl -s -H 'Authorization: Bearer {referrer}' {intake}/referrals
  curl -s -H 'Authorization: Bearer {lw}' {link_worker}/caseload
  curl -s -H 'Authorization: Bearer {comm}' {reporting}/summary
  curl -s -H 'Authorization: Bearer {comm}' -H 'Accept: text/csv' {reporting}/feed",
        referrer = t.referrer,
        housing = t.housing_referrer,
        lw = t.link_worker,
        sm = t.service_manager,
        comm = t.commissioner,
        admin = t.admin,
    )
}
