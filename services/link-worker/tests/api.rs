//! The link-worker service over HTTP, against a real nats-server and PostgreSQL.
//!
//! Referrals enter as `referral.received` + `referral.routed` events appended straight to
//! the log (as intake would); everything else goes through the service's API.

use std::time::{Duration, Instant};

use linkway_events::common::Coding;
use linkway_events::referral::{
    Address, Consent, ContactMethod, LegalBasis, Person, Practitioner, ReferralEvent,
    ReferralPersonal, ReferralReceived, ReferralRouted, ReferralWithdrawn, SourceChannel, Urgency,
};
use linkway_events::registry::OrganisationKind;
use linkway_events::{Actor, Envelope, Event, Role};
use linkway_eventstore::{EventStore, Expected, PendingEvent};
use linkway_platform::ServiceContext;
use linkway_platform::service::Service as _;
use linkway_testkit::TestEnv;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::date;
use uuid::Uuid;

const NORTH: &str = "north-connect";
const SOUTH: &str = "south-connect";
const GP: &str = "meadowbank-gp";

/// One running link-worker service in a private scope.
struct Service {
    env: TestEnv,
    ctx: ServiceContext,
    store: EventStore,
    base: String,
    http: reqwest::Client,
}

impl Service {
    async fn start() -> Service {
        Service::start_in(TestEnv::shared()).await
    }

    /// [`Service::start`] on given servers (a private nats-server a test stops).
    async fn start_in(env: TestEnv) -> Service {
        let notify = linkway_link_worker::notifications::NotifySettings::default();
        Service::start_notifying(env, notify).await
    }

    /// [`Service::start_in`] with appointment notifications' settings.
    async fn start_notifying(
        env: TestEnv,
        notify: linkway_link_worker::notifications::NotifySettings,
    ) -> Service {
        env.register_organisation(NORTH, OrganisationKind::Pcn, Some("ZZ1"), true)
            .await;
        env.register_organisation(SOUTH, OrganisationKind::Vcse, Some("ZZ1"), true)
            .await;
        env.register_organisation(GP, OrganisationKind::GpPractice, Some("ZZ1"), false)
            .await;
        let ctx = env.context("link-worker").await;
        let policy = linkway_link_worker::case::Policy::default();
        let router = linkway_link_worker::start_with_notify(ctx.clone(), policy, notify)
            .await
            .expect("start");
        let base = linkway_testkit::serve(router, env.shutdown()).await;
        Service {
            store: env.opened_store().await,
            env,
            ctx,
            base,
            http: reqwest::Client::new(),
        }
    }

    /// A bearer token, usable once the registry projection has it.
    async fn token(&self, org: &str, role: Role) -> String {
        let (secret, _) = self.env.issue_token(org, role).await;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let status = self
                .http
                .get(format!("{}/directory", self.base))
                .bearer_auth(&secret)
                .send()
                .await
                .expect("request")
                .status();
            if status != StatusCode::UNAUTHORIZED {
                return secret;
            }
            assert!(Instant::now() < deadline, "token never became usable");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Appends a referral received from the GP and routed to `org`, as intake would.
    async fn refer(&self, org: &str, given_name: &str) -> (Uuid, u64) {
        self.refer_at(org, given_name, OffsetDateTime::now_utc())
            .await
    }

    async fn refer_at(&self, org: &str, given_name: &str, at: OffsetDateTime) -> (Uuid, u64) {
        let id = Uuid::now_v7();
        self.refer_received(org, received(id, given_name), at).await
    }

    /// Appends `received` and its routing to `org`, as intake would.
    async fn refer_received(
        &self,
        org: &str,
        received: ReferralReceived,
        at: OffsetDateTime,
    ) -> (Uuid, u64) {
        let id = received.referral_id;
        let received: Event = ReferralEvent::Received(received).into();
        let routed: Event = ReferralEvent::Routed(ReferralRouted {
            referral_id: id,
            link_worker_organisation_id: org.into(),
            rule_id: None,
        })
        .into();
        let actor = Actor {
            organisation_id: GP.into(),
            user_id: None,
            role: Role::Referrer,
        };
        let correlation = Uuid::now_v7();
        let events = [received, routed]
            .iter()
            .map(|e| {
                PendingEvent::new(Envelope::new(
                    id.to_string(),
                    e,
                    actor.clone(),
                    correlation,
                    at,
                ))
            })
            .collect();
        let appended = self
            .store
            .append("referral", &id.to_string(), Expected::NoEvents, events)
            .await
            .expect("append referral");
        (id, appended.last_sequence())
    }

    async fn withdraw(&self, id: Uuid) -> u64 {
        let e: Event = ReferralEvent::Withdrawn(ReferralWithdrawn {
            referral_id: id,
            reason: "sorted elsewhere".into(),
        })
        .into();
        let env = Envelope::new(
            id.to_string(),
            &e,
            Actor::system(),
            Uuid::now_v7(),
            OffsetDateTime::now_utc(),
        );
        self.store
            .append(
                "referral",
                &id.to_string(),
                Expected::Any,
                vec![PendingEvent::new(env)],
            )
            .await
            .expect("append")
            .last_sequence()
    }

    async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.post_with(token, path, body, None).await
    }

    async fn post_with(
        &self,
        token: &str,
        path: &str,
        body: Value,
        key: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Runs a command that must succeed; returns its sequence.
    async fn ok(&self, token: &str, path: &str, body: Value) -> Value {
        let (status, answer) = self.post(token, path, body).await;
        assert_eq!(status, StatusCode::OK, "{path}: {answer}");
        answer
    }

    /// The caseload, after the read model has reached `seq`.
    async fn caseload(&self, token: &str, query: &str, seq: u64) -> Value {
        let sep = if query.is_empty() { "" } else { "&" };
        let (status, body) = self
            .get(token, &format!("/caseload?min_sequence={seq}{sep}{query}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    async fn case(&self, token: &str, id: Uuid, seq: u64) -> (StatusCode, Value) {
        self.get(token, &format!("/cases/{id}?min_sequence={seq}"))
            .await
    }

    /// Events of the case aggregate in the log.
    async fn case_events(&self, id: Uuid) -> Vec<String> {
        self.store
            .load("case", &id.to_string())
            .await
            .expect("load")
            .iter()
            .map(|e| e.decode().expect("decode").0.event_type)
            .collect()
    }
}

fn received(id: Uuid, given_name: &str) -> ReferralReceived {
    ReferralReceived {
        referral_id: id,
        referrer_organisation_id: GP.into(),
        practitioner: Practitioner {
            name: "Dr A Example".into(),
            role: None,
            phone: None,
            email: None,
        },
        source_channel: SourceChannel::Api,
        needs: vec![Coding::snomed("1060011000000103", "Social isolation")],
        urgency: Urgency::Routine,
        safeguarding_concern: false,
        legal_basis: LegalBasis::PublicTaskHealthCare,
        consent: Consent {
            referral_agreed: true,
            share_details_with_referrer: true,
        },
        postcode_district: "LS6".into(),
        age_band: "65-74".into(),
        personal: Some(ReferralPersonal {
            person: Person {
                nhs_number: Some("9434765919".into()),
                nhs_number_verification: None,
                given_name: given_name.into(),
                family_name: "Testperson".into(),
                birth_date: date!(1955 - 03 - 01),
                address: Address {
                    lines: vec!["1 Example Street".into()],
                    postcode: "LS6 1AA".into(),
                },
                phone: Some("07700900123".into()),
                email: None,
                preferred_contact_method: ContactMethod::Phone,
                language: None,
                interpreter_needed: false,
                accessibility_needs: None,
                gender: None,
                ethnicity: None,
            },
            needs_text: Some("Lonely since moving".into()),
            notes: None,
        }),
        reply_to: None,
    }
}

/// Checks a response body against its schema in the service's own OpenAPI document.
fn assert_documented(doc: &Value, schema: &str, instance: &Value) {
    let errors = schema_errors(doc, schema, instance);
    assert!(errors.is_empty(), "{schema}: {errors:#?}\n{instance:#}");
}

fn schema_errors(doc: &Value, schema: &str, instance: &Value) -> Vec<String> {
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("#/components/schemas/{schema}"),
        "components": doc["components"],
    });
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("{schema} does not compile: {e}"));
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[path = "api/audit.rs"]
mod audit;
#[path = "api/command_path.rs"]
mod command_path;
#[path = "api/every_accepted_projects.rs"]
mod every_accepted_projects;
#[path = "api/exact_contract.rs"]
mod exact_contract;
#[path = "api/inbox.rs"]
mod inbox;
#[path = "api/text_rule.rs"]
mod text_rule;

/// A runtime for a property test that talks to a running service, and a runner seeded the
/// same every run (no test depends on chance).
fn seeded(cases: u32) -> (tokio::runtime::Runtime, proptest::test_runner::TestRunner) {
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    (runtime, TestRunner::new_with_rng(config, rng))
}

fn seq(answer: &Value) -> u64 {
    answer["sequence"].as_u64().expect("sequence")
}

mod caseload {
    use super::*;

    #[tokio::test]
    async fn a_routed_referral_appears_on_its_services_caseload_with_the_persons_name() {
        let s = Service::start().await;
        let north = s.token(NORTH, Role::LinkWorker).await;
        let south = s.token(SOUTH, Role::ServiceManager).await;
        let (id, seq) = s.refer(NORTH, "Ada").await;
        let (_, south_seq) = s.refer(SOUTH, "Bea").await;

        let page = s.caseload(&north, "", seq.max(south_seq)).await;
        assert_eq!(page["total"], 1, "{page}");
        let item = &page["items"][0];
        assert_eq!(item["referral_id"], id.to_string());
        assert_eq!(item["state"], "routed");
        assert_eq!(item["person_name"], "Ada Testperson");
        assert_eq!(item["days_waiting"], 0);
        assert_eq!(page["counts_by_state"]["routed"], 1);

        let (status, case) = s.case(&north, id, seq).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(case["personal"]["person"]["given_name"], "Ada");
        assert_eq!(case["organisation_id"], NORTH);
        assert_eq!(case["needs"][0]["code"], "1060011000000103");

        let page = s.caseload(&south, "", south_seq).await;
        assert_eq!(page["total"], 1);
        assert_eq!(page["items"][0]["person_name"], "Bea Testperson");
    }
}

/// Walks a case from routed to engaged (accept, assign to the caller, contact made).
async fn engage(s: &Service, token: &str, id: Uuid) -> u64 {
    s.ok(token, &format!("/cases/{id}/accept"), json!({})).await;
    s.ok(token, &format!("/cases/{id}/assignment"), json!({}))
        .await;
    let made = s
        .ok(
            token,
            &format!("/cases/{id}/contacts"),
            json!({"kind": "made", "channel": "phone", "minutes": 40}),
        )
        .await;
    seq(&made)
}

fn plan_body(days_ahead: i64) -> Value {
    let review = OffsetDateTime::now_utc().date() + time::Duration::days(days_ahead);
    json!({
        "what_matters": "Getting out and meeting people",
        "goals": ["Join the walking group", "Sort out the energy bill"],
        "actions": ["Ring the walking group together"],
        "review_date": review.to_string(),
    })
}

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/openreferral/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("json")
}

#[path = "api/journey.rs"]
mod journey;

#[path = "api/concurrency.rs"]
mod concurrency;

#[path = "api/privacy.rs"]
mod privacy;

#[path = "api/caseload_views.rs"]
mod caseload_views;

#[path = "api/directory.rs"]
mod directory;
#[path = "api/directory_sync.rs"]
mod directory_sync;

#[path = "api/contract.rs"]
mod contract;

#[path = "api/contact_outcomes.rs"]
mod contact_outcomes;

#[path = "api/connection_timers.rs"]
mod connection_timers;

#[path = "api/mycaw.rs"]
mod mycaw;

#[path = "api/appointments.rs"]
mod appointments;

#[path = "api/notifications.rs"]
mod notifications;
