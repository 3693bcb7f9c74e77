//! The world the authorisation matrix runs in: the three services served by
//! `linkway::serve` over the harness's real nats-server and PostgreSQL, two organisations
//! of each kind (one the records belong to, one with no tie to them), a token for every
//! role in each, and referrals taken as far along their journey as an operation needs.

use std::time::{Duration, Instant};

use linkway::ServiceName;
use linkway::admin::{AdminCommand, OrgCommand, RuleCommand};
use linkway_events::Role;
use linkway_events::registry::OrganisationKind;
use linkway_testkit::TestEnv;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::settings;

/// The GP practice that sends the records, and one that sends none of them.
pub const GP_A: &str = "gp-authz-a";
pub const GP_B: &str = "gp-authz-b";
/// The link-worker service the records are routed to, and another one.
pub const LW_A: &str = "lw-authz-a";
pub const LW_B: &str = "lw-authz-b";
/// The commissioner of the records' area, and of another area.
pub const ICB_A: &str = "icb-authz-a";
pub const ICB_B: &str = "icb-authz-b";
/// The community service answering for the directory fixture's service (every
/// connection goes there), and one answering for another directory service.
pub const CS_A: &str = "cs-authz-a";
pub const CS_B: &str = "cs-authz-b";
/// Linkway's operator organisation, and another organisation an admin token might name.
pub const OPS_A: &str = "linkway";
pub const OPS_B: &str = "ops-authz-b";
/// The records' commissioner area and the other area.
pub const AREA_A: &str = "QAA";
pub const AREA_B: &str = "QBB";
/// GP A's ODS code, which a FHIR message names as its sender.
pub const GP_A_ODS: &str = "Y99001";
/// The postcode district routed to LW A; a referral from any other district is unroutable.
const ROUTED_POSTCODE: &str = "LS6 9ZZ";
const UNROUTED_POSTCODE: &str = "BD1 1AA";
/// The community service of the directory fixture (link-worker's Open Referral UK file).
pub const DIRECTORY_SERVICE: &str = "ac148810-d857-441c-9679-408f346de14b";

/// The organisation a role's token is in for "own" (the records are its organisation's:
/// sent by it, routed to it, in its area; for an admin, Linkway's operator) and for
/// "other" (an organisation of the same kind with no tie to the records).
pub fn organisations(role: Role) -> (&'static str, &'static str) {
    match role.as_str() {
        "referrer" | "ig_lead" => (GP_A, GP_B),
        "link_worker" | "service_manager" => (LW_A, LW_B),
        "commissioner" => (ICB_A, ICB_B),
        "admin" => (OPS_A, OPS_B),
        "community_service" => (CS_A, CS_B),
        other => panic!(
            "role {other:?} is new: say in authorisation/fixture.rs which organisations its \
             own and other tokens are in, and give it a column in authorisation/table.rs"
        ),
    }
}

/// The roles the matrix covers: every role a token can hold (not Linkway's own).
pub fn roles() -> Vec<Role> {
    Role::ALL
        .into_iter()
        .filter(|r| *r != Role::System)
        .collect()
}

/// How far along its journey a fresh record is taken before an operation is called on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Sent by GP A from a district no rule routes.
    Unroutable,
    /// Sent by GP A and routed to LW A.
    Routed,
    Accepted,
    Assigned,
    /// A contact made.
    Engaged,
    Planned,
    /// Connected to the directory's community service.
    Connected,
    /// With an appointment booked two days ahead.
    Booked,
}

/// One referral (and its case) of GP A's, routed to LW A.
#[derive(Debug, Clone)]
pub struct Record {
    pub id: String,
    pub connection_id: Option<String>,
    pub appointment_id: Option<String>,
    /// The stream sequence of its last event.
    pub sequence: u64,
}

/// An HTTP answer, as the matrix reads it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
}

pub struct World {
    pub env: TestEnv,
    urls: Vec<(ServiceName, String)>,
    http: reqwest::Client,
    /// `(role, own token, other token)`.
    tokens: Vec<(Role, String, String)>,
    /// GP A's referrer and LW A's service manager, who move the records along.
    sender: String,
    manager: String,
    /// A record at the end of its journey (plus an outcome), which every read is of.
    pub full: Record,
}

impl World {
    pub async fn start() -> World {
        let env = TestEnv::shared();
        // Every caller posts a self-referral from this one address: its own limit (tested
        // on its own in intake) would answer 429 after the fifth.
        let settings = linkway::Settings {
            self_referral_limit_per_address: linkway::config::Limit(None),
            ..settings(&env)
        };
        let running = linkway::serve::serve(&settings, &ServiceName::ALL, env.shutdown())
            .await
            .expect("serve");
        let urls = running
            .iter()
            .map(|r| (r.service, format!("http://{}", r.addr)))
            .collect();
        let store = env.store().await;
        let org = |id: &str, kind, code: Option<&str>, area: &str, service: bool| {
            AdminCommand::Org(OrgCommand::Add {
                id: id.into(),
                name: format!("{id} (authorisation test)"),
                kind,
                code: code.map(str::to_owned),
                area: Some(area.into()),
                link_worker_service: service,
                directory_services: Vec::new(),
            })
        };
        let community = |id: &str, service: &str| {
            AdminCommand::Org(OrgCommand::Add {
                id: id.into(),
                name: format!("{id} (authorisation test)"),
                kind: OrganisationKind::CommunityService,
                code: None,
                area: None,
                link_worker_service: false,
                directory_services: vec![service.into()],
            })
        };
        for command in [
            org(
                GP_A,
                OrganisationKind::GpPractice,
                Some(GP_A_ODS),
                AREA_A,
                false,
            ),
            org(
                GP_B,
                OrganisationKind::GpPractice,
                Some("Y99002"),
                AREA_B,
                false,
            ),
            org(LW_A, OrganisationKind::Pcn, None, AREA_A, true),
            org(LW_B, OrganisationKind::Pcn, None, AREA_B, true),
            org(ICB_A, OrganisationKind::Commissioner, None, AREA_A, false),
            org(ICB_B, OrganisationKind::Commissioner, None, AREA_B, false),
            org(OPS_B, OrganisationKind::Other, None, AREA_B, false),
            community(CS_A, DIRECTORY_SERVICE),
            community(CS_B, "authz-another-directory-service"),
            AdminCommand::Rule(RuleCommand::Add {
                to: LW_A.into(),
                from_org: None,
                postcode_district: Some("LS6".into()),
                priority: 1,
            }),
        ] {
            linkway::admin::run(&store, command)
                .await
                .expect("registry");
        }
        let mut tokens = Vec::new();
        for role in roles() {
            let (own, other) = organisations(role);
            tokens.push((
                role,
                env.issue_token(own, role).await.0,
                env.issue_token(other, role).await.0,
            ));
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        let mut world = World {
            env,
            urls,
            http,
            sender: String::new(),
            manager: String::new(),
            tokens,
            full: Record {
                id: String::new(),
                connection_id: None,
                appointment_id: None,
                sequence: 0,
            },
        };
        world.sender = world.token(Role::Referrer, true).to_owned();
        world.manager = world.token(Role::ServiceManager, true).to_owned();
        // The last token issued is the last registry event: a service that knows it knows all.
        let last = world.tokens.last().expect("tokens").2.clone();
        for (service, path) in [
            (ServiceName::Intake, "/referrals"),
            (ServiceName::LinkWorker, "/caseload"),
            (ServiceName::Reporting, "/summary"),
        ] {
            let deadline = Instant::now() + Duration::from_secs(30);
            while world.get(service, path, &last).await.status == StatusCode::UNAUTHORIZED {
                assert!(
                    Instant::now() < deadline,
                    "{service:?} never knew the tokens"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        let directory = world
            .send(
                ServiceName::LinkWorker,
                Method::POST,
                "/directory/import",
                Body::Json(directory_fixture()),
                Some(&world.manager),
            )
            .await;
        assert!(directory.status.is_success(), "{directory:?}");
        world.full = world.full_record().await;
        world
    }

    pub fn url(&self, service: ServiceName) -> &str {
        &self
            .urls
            .iter()
            .find(|(s, _)| *s == service)
            .expect("every service runs")
            .1
    }

    /// The token of `role` in its own organisation (`own`) or the other one.
    pub fn token(&self, role: Role, own: bool) -> &str {
        let (_, mine, theirs) = self
            .tokens
            .iter()
            .find(|(r, _, _)| *r == role)
            .expect("a token per role");
        if own { mine } else { theirs }
    }

    async fn get(&self, service: ServiceName, path: &str, token: &str) -> Answer {
        self.send(service, Method::GET, path, Body::None, Some(token))
            .await
    }

    /// One request: a fresh `Idempotency-Key` on every POST.
    pub async fn send(
        &self,
        service: ServiceName,
        method: Method,
        path_and_query: &str,
        body: Body,
        token: Option<&str>,
    ) -> Answer {
        let mut request = self.http.request(
            method.clone(),
            format!("{}{path_and_query}", self.url(service)),
        );
        if method == Method::POST {
            request = request.header("Idempotency-Key", Uuid::new_v4().to_string());
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request = match body {
            Body::None => request,
            Body::Json(v) => request.json(&v),
            Body::Fhir(v) => request
                .header("content-type", "application/fhir+json")
                .body(v.to_string()),
            Body::Form(fields) => {
                // The query of a URL is exactly application/x-www-form-urlencoded.
                let encoded =
                    reqwest::Url::parse_with_params("http://form/", &fields).expect("form fields");
                request
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(encoded.query().unwrap_or_default().to_owned())
            }
        };
        let response = request.send().await.expect("an answer");
        Answer {
            status: response.status(),
            location: response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: response.text().await.unwrap_or_default(),
        }
    }

    /// A fresh record of GP A's taken to `stage` by GP A's referrer and LW A's manager.
    pub async fn record(&self, stage: Stage) -> Record {
        let mut body = linkway::demo::referral_body(1);
        let postcode = if stage == Stage::Unroutable {
            UNROUTED_POSTCODE
        } else {
            ROUTED_POSTCODE
        };
        body["person"]["address"]["postcode"] = json!(postcode);
        let sent = self
            .send(
                ServiceName::Intake,
                Method::POST,
                "/referrals",
                Body::Json(body),
                Some(&self.sender),
            )
            .await;
        assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.body);
        let sent: Value = serde_json::from_str(&sent.body).expect("json");
        let mut record = Record {
            id: sent["referral_id"].as_str().expect("id").to_owned(),
            connection_id: None,
            appointment_id: None,
            sequence: sent["sequence"].as_u64().expect("sequence"),
        };
        let steps: [(Stage, &str, Value); 6] = [
            (Stage::Accepted, "accept", json!({})),
            (
                Stage::Assigned,
                "assignment",
                json!({"link_worker_id": "link_worker-user"}),
            ),
            (
                Stage::Engaged,
                "contacts",
                json!({"kind": "made", "channel": "phone", "minutes": 20}),
            ),
            (Stage::Planned, "plan", plan()),
            (
                Stage::Connected,
                "connections",
                json!({"service_id": DIRECTORY_SERVICE, "legal_basis": "explicit_consent",
                       "share": ["name"]}),
            ),
            (Stage::Booked, "appointments", appointment()),
        ];
        for (at, step, body) in steps {
            if at > stage {
                break;
            }
            self.step(&mut record, step, body).await;
        }
        record
    }

    /// One step of a record's case, as LW A's manager.
    async fn step(&self, record: &mut Record, step: &str, body: Value) {
        let path = format!("/cases/{}/{step}", record.id);
        let answer = self
            .send(
                ServiceName::LinkWorker,
                Method::POST,
                &path,
                Body::Json(body),
                Some(&self.manager),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.body);
        let answer: Value = serde_json::from_str(&answer.body).expect("json");
        record.sequence = answer["sequence"].as_u64().expect("sequence");
        if let Some(c) = answer["connection_id"].as_str() {
            record.connection_id = Some(c.to_owned());
        }
        if let Some(a) = answer["appointment_id"].as_str() {
            record.appointment_id = Some(a.to_owned());
        }
    }

    /// The record every read is of: connected, with a baseline outcome, and seen by every
    /// service's read models.
    async fn full_record(&self) -> Record {
        let mut record = self.record(Stage::Connected).await;
        let body =
            json!({"instrument": "ons4", "timepoint": "baseline", "item_answers": [5, 5, 5, 5]});
        self.step(&mut record, "outcomes", body).await;
        let seq = record.sequence;
        let commissioner = self.token(Role::Commissioner, true);
        for (service, path, token) in [
            (
                ServiceName::Intake,
                format!("/referrals/{}?min_sequence={seq}", record.id),
                &self.sender,
            ),
            (
                ServiceName::LinkWorker,
                format!("/cases/{}?min_sequence={seq}", record.id),
                &self.manager,
            ),
            (
                ServiceName::Reporting,
                format!("/summary?area={AREA_A}&min_sequence={seq}"),
                &commissioner.to_owned(),
            ),
        ] {
            let answer = self.get(service, &path, token).await;
            assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.body);
        }
        record
    }
}

/// A request body.
#[derive(Debug, Clone)]
pub enum Body {
    None,
    Json(Value),
    /// `application/fhir+json`.
    Fhir(Value),
    Form(Vec<(String, String)>),
}

/// An appointment two days ahead (by the real clock, which the served processes keep).
pub fn appointment() -> Value {
    let at = time::OffsetDateTime::now_utc() + time::Duration::days(2);
    let at = at
        .format(&time::format_description::well_known::Rfc3339)
        .expect("rfc3339");
    json!({"starts_at": at, "minutes": 30, "channel": "phone"})
}

pub fn plan() -> Value {
    let review = time::OffsetDateTime::now_utc().date() + time::Duration::days(42);
    json!({
        "what_matters": "Getting out and meeting people",
        "goals": ["Join the walking group"],
        "actions": ["Ring the walking group together"],
        "review_date": review.to_string(),
    })
}

pub fn directory_fixture() -> Value {
    fixture("../services/link-worker/tests/fixtures/openreferral/service_full.json")
}

/// The FHIR message intake's tests send: a referral from GP A's ODS code, routed to LW A.
pub fn fhir_message() -> Value {
    let mut message =
        fixture("../services/intake/tests/fixtures/fhir/social-prescribing-referral.json");
    message["id"] = json!(Uuid::new_v4().to_string());
    message
}

fn fixture(relative: &str) -> Value {
    let path = format!("{}/{relative}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).expect("json")
}
