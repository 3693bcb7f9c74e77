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
        let env = TestEnv::shared();
        env.register_organisation(NORTH, OrganisationKind::Pcn, Some("ZZ1"), true)
            .await;
        env.register_organisation(SOUTH, OrganisationKind::Vcse, Some("ZZ1"), true)
            .await;
        env.register_organisation(GP, OrganisationKind::GpPractice, Some("ZZ1"), false)
            .await;
        let ctx = env.context("link-worker").await;
        let router = linkway_link_worker::start(ctx.clone())
            .await
            .expect("start");
        let base = linkway_testkit::serve(router, env.shutdown()).await;
        Service {
            store: env.store().await,
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
        let received: Event = ReferralEvent::Received(received(id, given_name)).into();
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
        personal: ReferralPersonal {
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
        },
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

#[path = "api/command_path.rs"]
mod command_path;
#[path = "api/every_accepted_projects.rs"]
mod every_accepted_projects;
#[path = "api/exact_contract.rs"]
mod exact_contract;
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

mod journey {
    use super::*;

    #[tokio::test]
    async fn a_case_goes_from_routed_to_closed_through_every_step() {
        let s = Service::start().await;
        let lw = s.token(NORTH, Role::LinkWorker).await;
        let manager = s.token(NORTH, Role::ServiceManager).await;
        s.ok(&manager, "/directory/import", fixture("service_full.json"))
            .await;
        let (id, _) = s.refer(NORTH, "Cy").await;
        let path = |p: &str| format!("/cases/{id}{p}");

        let a = s.ok(&lw, &path("/accept"), json!({})).await;
        assert_eq!(
            (a["state"].as_str(), a["event_type"].as_str()),
            (Some("accepted"), Some("case.accepted"))
        );
        let a = s
            .ok(
                &manager,
                &path("/assignment"),
                json!({"link_worker_id": "link_worker-user"}),
            )
            .await;
        assert_eq!(a["state"], "assigned");
        let a = s
            .ok(
                &lw,
                &path("/contacts"),
                json!({"kind": "attempt", "channel": "phone"}),
            )
            .await;
        assert_eq!(a["event_type"], "case.contact_attempted");
        let a = s
            .ok(&lw, &path("/contacts"), json!({"kind": "made", "channel": "home_visit", "minutes": 45, "notes": "Met at home"}))
            .await;
        assert_eq!(a["state"], "engaged");
        let a = s
            .ok(&lw, &path("/outcomes"), json!({"instrument": "swemwbs", "timepoint": "baseline", "item_answers": [3, 3, 3, 3, 3, 3, 3]}))
            .await;
        assert_eq!(a["event_type"], "case.outcome_recorded");
        let a = s.ok(&lw, &path("/plan"), plan_body(42)).await;
        assert_eq!(a["state"], "plan_agreed");
        let a = s
            .ok(
                &lw,
                &path("/connections"),
                json!({"service_id": "ac148810-d857-441c-9679-408f346de14b", "legal_basis": "explicit_consent", "share": ["name", "phone"]}),
            )
            .await;
        let connection = a["connection_id"]
            .as_str()
            .expect("connection id")
            .to_owned();
        s.ok(
            &lw,
            &path(&format!("/connections/{connection}/responses")),
            json!({"response": "accepted"}),
        )
        .await;
        s.ok(
            &lw,
            &path(&format!("/connections/{connection}/responses")),
            json!({"response": "attended"}),
        )
        .await;
        s.ok(&lw, &path("/plan/reviews"), plan_body(84)).await;
        s.ok(
            &lw,
            &path("/safeguarding"),
            json!({"concern": "Mentioned money going missing"}),
        )
        .await;
        let a = s
            .ok(
                &lw,
                &path("/outcomes"),
                json!({"instrument": "ons4", "timepoint": "exit", "item_answers": [8, 8, 7, 2]}),
            )
            .await;
        let before_close = s.case(&lw, id, seq(&a)).await.1;
        let a = s
            .ok(&lw, &path("/closure"), json!({"reason": "goals_met"}))
            .await;
        assert_eq!(a["state"], "closed");

        assert_eq!(before_close["state"], "plan_agreed");
        assert_eq!(before_close["link_worker_id"], "link_worker-user");
        assert_eq!(before_close["contact_attempts"], 1);
        assert_eq!(before_close["contacts_made"], 1);
        assert_eq!(before_close["contact_minutes"], 45);
        assert_eq!(before_close["contacts"][0]["kind"], "attempt");
        assert_eq!(before_close["contacts"][1]["notes"], "Met at home");
        assert_eq!(before_close["contacts"][1]["channel"], "home_visit");
        assert_eq!(
            before_close["safeguarding_concerns"][0]["concern"],
            "Mentioned money going missing"
        );
        assert_eq!(before_close["days_since_last_contact"], 0);
        assert_eq!(before_close["safeguarding"], true);
        assert_eq!(before_close["plan"]["reviews"], 1);
        let review = (OffsetDateTime::now_utc().date() + time::Duration::days(84)).to_string();
        assert_eq!(before_close["next_review_date"], review);
        assert_eq!(before_close["connections"][0]["status"], "attended");
        assert_eq!(
            before_close["connections"][0]["service_name"],
            "Community Counselling"
        );
        assert_eq!(
            before_close["connections"][0]["legal_basis"],
            "explicit_consent"
        );
        assert_eq!(
            before_close["connections"][0]["shared"],
            json!(["name", "phone"])
        );
        let swemwbs = &before_close["outcomes"][0];
        assert_eq!(
            (
                swemwbs["raw_score"].as_u64(),
                swemwbs["derived_score"].as_f64()
            ),
            (Some(21), Some(19.25))
        );
        assert_eq!(swemwbs["instrument_version"], "swemwbs-7-v1");
        assert_eq!(swemwbs["algorithm_version"], 1);
        assert_eq!(
            before_close["outcomes"][1]["item_answers"],
            json!([8, 8, 7, 2])
        );

        // What the service answers is what its OpenAPI document says.
        assert_eq!(
            before_close["swemwbs_change"],
            Value::Null,
            "no later SWEMWBS yet"
        );
        assert_eq!(before_close["review_overdue"], false);
        let doc: Value = s.get(&lw, "/openapi.json").await.1;
        assert_documented(&doc, "CaseDetail", &before_close);
        assert_documented(&doc, "CommandAccepted", &a);
        let mut wrong = before_close.clone();
        wrong["contacts"][0]["channel"] = json!("pigeon");
        wrong["personal"]["person"]["birth_date"] = json!("1 March");
        assert_eq!(
            schema_errors(&doc, "CaseDetail", &wrong).len(),
            2,
            "the check can fail"
        );
        let (_, closed) = s.case(&lw, id, seq(&a)).await;
        assert_eq!(closed["state"], "closed");
        assert_eq!(closed["closure_reason"], "goals_met");
        let types = s.case_events(id).await;
        assert_eq!(
            types,
            [
                "case.accepted",
                "case.assigned",
                "case.contact_attempted",
                "case.contact_made",
                "case.outcome_recorded",
                "case.plan_agreed",
                "case.connection_made",
                "case.connection_accepted",
                "case.connection_attended",
                "case.plan_reviewed",
                "case.safeguarding_raised",
                "case.outcome_recorded",
                "case.closed",
            ]
        );
        // Closed cases leave the open caseload.
        let page = s.caseload(&lw, "", seq(&a)).await;
        assert_eq!(page["total"], 0);
        let page = s.caseload(&lw, "include_closed=true", seq(&a)).await;
        assert_eq!(page["counts_by_state"]["closed"], 1);
        assert_documented(&doc, "CaseloadPage", &page);
        assert_documented(&doc, "CaseDetail", &closed);
        let (_, directory) = s.get(&lw, "/directory").await;
        assert_documented(&doc, "DirectoryPage", &directory);
        let (_, problem) = s
            .post(&lw, &path("/closure"), json!({"reason": "goals_met"}))
            .await;
        assert_documented(&doc, "Problem", &problem);
    }

    #[tokio::test]
    async fn swemwbs_change_from_baseline_to_exit_is_shown_on_the_case() {
        let s = Service::start().await;
        let lw = s.token(NORTH, Role::LinkWorker).await;
        let (id, _) = s.refer(NORTH, "Quin").await;
        engage(&s, &lw, id).await;
        let outcome = |timepoint: &str, answer: u8| json!({"instrument": "swemwbs", "timepoint": timepoint, "item_answers": vec![answer; 7]});
        s.ok(
            &lw,
            &format!("/cases/{id}/outcomes"),
            outcome("baseline", 3),
        )
        .await;
        let a = s
            .ok(&lw, &format!("/cases/{id}/outcomes"), outcome("review", 3))
            .await;
        assert_eq!(
            s.case(&lw, id, seq(&a)).await.1["swemwbs_change"],
            "no_meaningful_change"
        );
        let a = s
            .ok(&lw, &format!("/cases/{id}/outcomes"), outcome("exit", 4))
            .await;
        let (_, case) = s.case(&lw, id, seq(&a)).await;
        // Raw 21 (19.25) at baseline, raw 28 (25.03) at exit.
        assert_eq!(case["outcomes"][2]["derived_score"], 25.03);
        assert_eq!(case["swemwbs_change"], "improved");
    }

    #[tokio::test]
    async fn illegal_steps_are_refused_with_the_rule_and_append_nothing() {
        let s = Service::start().await;
        let lw = s.token(NORTH, Role::LinkWorker).await;
        let (id, _) = s.refer(NORTH, "Di").await;

        // A plan before acceptance.
        let (status, problem) = s
            .post(&lw, &format!("/cases/{id}/plan"), plan_body(30))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{problem}");
        assert_eq!(
            problem["type"],
            "https://linkway.example/problems/illegal-transition"
        );
        assert_eq!(problem["errors"][0]["rule"], "plan_requires_contact_made");
        assert!(s.case_events(id).await.is_empty());

        // An outcome on a declined case.
        s.ok(
            &lw,
            &format!("/cases/{id}/decline"),
            json!({"reason": "person_declined"}),
        )
        .await;
        let (status, problem) = s
            .post(
                &lw,
                &format!("/cases/{id}/outcomes"),
                json!({"instrument": "ucla3", "timepoint": "baseline", "item_answers": [1, 2, 3]}),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(
            problem["errors"][0]["rule"],
            "outcome_requires_engaged_case"
        );
        let decline = s.store.load("case", &id.to_string()).await.unwrap();
        assert_eq!(decline.len(), 1);
        let data = &decline[0].decode().unwrap().0.data;
        assert_eq!(data["reason_code"]["code"], "871711000000103");

        // Closing twice.
        let (other, _) = s.refer(NORTH, "Ed").await;
        s.ok(&lw, &format!("/cases/{other}/accept"), json!({}))
            .await;
        s.ok(
            &lw,
            &format!("/cases/{other}/closure"),
            json!({"reason": "moved_away"}),
        )
        .await;
        let (status, problem) = s
            .post(
                &lw,
                &format!("/cases/{other}/closure"),
                json!({"reason": "moved_away"}),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(problem["errors"][0]["rule"], "close_requires_active_case");
        assert_eq!(s.case_events(other).await.len(), 2);
    }

    #[tokio::test]
    async fn invalid_requests_get_422_naming_the_field_and_append_nothing() {
        let s = Service::start().await;
        let lw = s.token(NORTH, Role::LinkWorker).await;
        let (id, _) = s.refer(NORTH, "Flo").await;
        engage(&s, &lw, id).await;
        let before = s.case_events(id).await.len();
        let cases = [
            (
                "/outcomes",
                json!({"instrument": "swemwbs", "timepoint": "baseline", "item_answers": [3, 3, 3]}),
                "item_answers",
                "item_count",
            ),
            (
                "/outcomes",
                json!({"instrument": "ons4", "timepoint": "review", "item_answers": [3, 11, 3, 3]}),
                "item_answers.1",
                "item_range",
            ),
            (
                "/outcomes",
                json!({"instrument": "ons4", "timepoint": "later", "item_answers": [3, 1, 3, 3]}),
                "timepoint",
                "schema",
            ),
            (
                "/contacts",
                json!({"kind": "made", "channel": "phone", "minutes": 0}),
                "minutes",
                "range",
            ),
            (
                "/contacts",
                json!({"kind": "made", "channel": "pigeon", "minutes": 5}),
                "channel",
                "schema",
            ),
            (
                "/outcomes",
                json!({"instrument": "ucla3", "timepoint": "exit", "item_answers": [1, 300, 2]}),
                "item_answers.1",
                "item_range",
            ),
            (
                "/plan",
                json!({"what_matters": "x", "goals": ["a", 5], "actions": [], "review_date": "2099-01-01"}),
                "goals.1",
                "schema",
            ),
            (
                "/contacts",
                json!({"kind": "made", "channel": "phone", "minutes": 5, "mood": "good"}),
                "mood",
                "schema",
            ),
            (
                "/plan",
                json!({"what_matters": "x", "goals": [], "actions": [], "review_date": "2099-01-01"}),
                "goals",
                "count",
            ),
            (
                "/plan",
                json!({"what_matters": "x", "goals": ["g"], "actions": [], "review_date": "2001-01-01"}),
                "review_date",
                "not_in_past",
            ),
            ("/decline", json!({}), "reason", "schema"),
            (
                "/connections",
                json!({"service_id": "no-such-service", "legal_basis": "explicit_consent", "share": ["name", "phone"]}),
                "service_id",
                "known_service",
            ),
            (
                "/connections",
                json!({"service_id": "no-such-service"}),
                "legal_basis",
                "schema",
            ),
            (
                "/connections",
                json!({"service_id": "x", "legal_basis": "public_task_health_care", "share": ["name", "phone", "name"]}),
                "share.2",
                "unique",
            ),
            (
                "/safeguarding",
                json!({"concern": "  "}),
                "concern",
                "non_empty",
            ),
        ];
        for (path, body, field, rule) in cases {
            let (status, problem) = s
                .post(&lw, &format!("/cases/{id}{path}"), body.clone())
                .await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{path} {body}: {problem}"
            );
            assert_eq!(
                problem["errors"][0]["field"], field,
                "{path} {body}: {problem}"
            );
            assert_eq!(
                problem["errors"][0]["rule"], rule,
                "{path} {body}: {problem}"
            );
        }
        assert_eq!(s.case_events(id).await.len(), before);
    }

    #[tokio::test]
    async fn could_not_contact_after_the_configured_attempts() {
        let env = TestEnv::shared();
        env.register_organisation(NORTH, OrganisationKind::Pcn, None, true)
            .await;
        let ctx = env.context("link-worker").await;
        let policy = linkway_link_worker::case::Policy {
            max_contact_attempts: 2,
            ..Default::default()
        };
        let router = linkway_link_worker::start_with(ctx.clone(), policy)
            .await
            .unwrap();
        let base = linkway_testkit::serve(router, env.shutdown()).await;
        let s = Service {
            store: env.store().await,
            env,
            ctx,
            base,
            http: reqwest::Client::new(),
        };
        let lw = s.token(NORTH, Role::LinkWorker).await;
        let (id, _) = s.refer(NORTH, "Gil").await;
        s.ok(&lw, &format!("/cases/{id}/accept"), json!({})).await;
        s.ok(&lw, &format!("/cases/{id}/assignment"), json!({}))
            .await;
        let attempt = json!({"kind": "attempt", "channel": "phone"});
        let first = s
            .ok(&lw, &format!("/cases/{id}/contacts"), attempt.clone())
            .await;
        assert_eq!(first["state"], "assigned");
        let second = s.ok(&lw, &format!("/cases/{id}/contacts"), attempt).await;
        assert_eq!(second["state"], "could_not_contact");
        let page = s
            .caseload(&lw, "state=could_not_contact", seq(&second))
            .await;
        assert_eq!(page["total"], 1);
        assert_eq!(page["items"][0]["contact_attempts"], 2);
        s.ok(
            &lw,
            &format!("/cases/{id}/closure"),
            json!({"reason": "could_not_contact"}),
        )
        .await;
    }

    #[tokio::test]
    async fn a_retried_command_with_the_same_idempotency_key_appends_once() {
        let s = Service::start().await;
        let lw = s.token(NORTH, Role::LinkWorker).await;
        let (id, _) = s.refer(NORTH, "Hal").await;
        let path = format!("/cases/{id}/accept");
        let (s1, a1) = s.post_with(&lw, &path, json!({}), Some("accept-1")).await;
        let (s2, a2) = s.post_with(&lw, &path, json!({}), Some("accept-1")).await;
        assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK));
        assert_eq!(a1, a2);
        assert_eq!(s.case_events(id).await, ["case.accepted"]);
        // A key is scoped to the organisation, the operation and the case (as AWS scopes
        // a client token to one API call): the same key sent with another request for the
        // same operation and case is refused, and nothing is appended.
        let close = format!("/cases/{id}/closure");
        let (first, _) = s
            .post_with(&lw, &close, json!({"reason": "goals_met"}), Some("close-1"))
            .await;
        assert_eq!(first, StatusCode::OK);
        let before = s.case_events(id).await;
        let (status, problem) = s
            .post_with(
                &lw,
                &close,
                json!({"reason": "moved_away"}),
                Some("close-1"),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(
            problem["type"], "https://linkway.example/problems/idempotency-key-reused",
            "{problem}"
        );
        assert_eq!(s.case_events(id).await, before);
        // On another case the same key is another command.
        let (other, _) = s.refer(NORTH, "Hew").await;
        let (status, _) = s
            .post_with(
                &lw,
                &format!("/cases/{other}/accept"),
                json!({}),
                Some("accept-1"),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(s.case_events(other).await, ["case.accepted"]);
    }

    #[tokio::test]
    async fn a_retry_whose_first_answer_was_lost_gets_the_original_answer() {
        let s = Service::start().await;
        let lw = s.token(NORTH, Role::LinkWorker).await;
        let (id, _) = s.refer(NORTH, "Ike").await;
        engage(&s, &lw, id).await;
        let path = format!("/cases/{id}/plan");
        let (status, first) = s.post_with(&lw, &path, plan_body(9), Some("plan-1")).await;
        assert_eq!(status, StatusCode::OK);
        // Answers are not stored anywhere: the retry is answered from the log alone.
        // Deciding again would refuse (the plan exists); the retry is recognised instead.
        let (status, again) = s.post_with(&lw, &path, plan_body(9), Some("plan-1")).await;
        assert_eq!(status, StatusCode::OK, "{again}");
        assert_eq!(again, first);
        let plans = s
            .case_events(id)
            .await
            .iter()
            .filter(|t| *t == "case.plan_agreed")
            .count();
        assert_eq!(plans, 1);
        // Without the key, the same request is a new (here illegal) command.
        let (status, _) = s.post(&lw, &path, plan_body(9)).await;
        assert_eq!(status, StatusCode::CONFLICT);
    }
}

mod concurrency {
    use super::*;
    use linkway_events::case::ContactChannel;
    use linkway_link_worker::api::load_case;
    use linkway_link_worker::case::{self, Command, ContactKind, Policy};

    fn contact(minutes: u32) -> Command {
        Command::RecordContact {
            kind: ContactKind::Made,
            channel: ContactChannel::Phone,
            minutes,
            notes: None,
        }
    }

    async fn append(
        s: &Service,
        id: Uuid,
        command: &Command,
    ) -> Result<u64, linkway_eventstore::AppendError> {
        let case = load_case(&s.store, id).await.expect("load");
        let events = case::decide(&case, command, &Policy::default()).expect("legal");
        let event: Event = events[0].clone().into();
        let envelope = Envelope::new(
            id.to_string(),
            &event,
            Actor::system(),
            Uuid::now_v7(),
            OffsetDateTime::now_utc(),
        );
        s.store
            .append(
                "case",
                &id.to_string(),
                Expected::LastSequence(case.last_case_sequence),
                vec![PendingEvent::new(envelope)],
            )
            .await
            .map(|a| a.last_sequence())
    }

    #[tokio::test]
    async fn two_writers_who_read_the_same_version_exactly_one_wins_and_the_loser_retries() {
        let s = Service::start().await;
        let lw = s.token(NORTH, Role::LinkWorker).await;
        let (id, _) = s.refer(NORTH, "Ivy").await;
        engage(&s, &lw, id).await;

        // Both read version N and decide; both append expecting N.
        let case = load_case(&s.store, id).await.unwrap();
        let mut results = Vec::new();
        for minutes in [10, 20] {
            let events = case::decide(&case, &contact(minutes), &Policy::default()).unwrap();
            let event: Event = events[0].clone().into();
            let env = Envelope::new(
                id.to_string(),
                &event,
                Actor::system(),
                Uuid::now_v7(),
                OffsetDateTime::now_utc(),
            );
            results.push(
                s.store
                    .append(
                        "case",
                        &id.to_string(),
                        Expected::LastSequence(case.last_case_sequence),
                        vec![PendingEvent::new(env)],
                    )
                    .await,
            );
        }
        let wins = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "{results:?}");
        assert!(matches!(
            results[1],
            Err(linkway_eventstore::AppendError::Conflict { .. })
        ));
        // The loser reloads and retries: nothing is lost.
        append(&s, id, &contact(20)).await.expect("retry succeeds");
        let case = load_case(&s.store, id).await.unwrap();
        assert_eq!(case.contacts_made, 3);
        assert_eq!(case.contact_minutes, 40 + 10 + 20);
    }

    #[tokio::test]
    async fn two_link_workers_acting_on_the_version_they_read_one_wins_the_other_reloads_and_retries()
     {
        let s = Service::start().await;
        let ann = s.token(NORTH, Role::LinkWorker).await;
        let bob = s.token(NORTH, Role::LinkWorker).await;
        let (id, _) = s.refer(NORTH, "Nia").await;
        engage(&s, &ann, id).await;
        let agreed = s
            .ok(&ann, &format!("/cases/{id}/plan"), plan_body(14))
            .await;

        // Both open the case at the same version.
        let url = format!("{}/cases/{id}?min_sequence={}", s.base, seq(&agreed));
        let response = s.http.get(&url).bearer_auth(&ann).send().await.unwrap();
        let etag = response.headers()["etag"].to_str().unwrap().to_owned();
        let version: Value = response.json().await.unwrap();
        assert_eq!(etag, format!("\"{}\"", version["version"]));
        assert_eq!(version["version"], seq(&agreed));

        let review = |token: &str, days: i64, etag: String| {
            let request = s
                .http
                .post(format!("{}/cases/{id}/plan/reviews", s.base))
                .bearer_auth(token)
                .header("If-Match", etag)
                .json(&plan_body(days));
            async move {
                let response = request.send().await.unwrap();
                (response.status(), response.json::<Value>().await.unwrap())
            }
        };
        let (ann_status, _) = review(&ann, 20, etag.clone()).await;
        let (bob_status, problem) = review(&bob, 30, etag.clone()).await;
        assert_eq!(ann_status, StatusCode::OK);
        assert_eq!(bob_status, StatusCode::CONFLICT);
        assert_eq!(problem["type"], "https://linkway.example/problems/conflict");
        assert_eq!(
            s.case_events(id)
                .await
                .iter()
                .filter(|t| *t == "case.plan_reviewed")
                .count(),
            1
        );

        // Bob reloads, sees Ann's review, and retries on the new version.
        let case = load_case(&s.store, id).await.unwrap();
        let (bob_status, answer) =
            review(&bob, 30, format!("\"{}\"", case.last_case_sequence)).await;
        assert_eq!(bob_status, StatusCode::OK, "{answer}");
        let (_, after) = s.case(&ann, id, seq(&answer)).await;
        assert_eq!(after["plan"]["reviews"], 2);
        let bad = s
            .http
            .post(format!("{}/cases/{id}/plan/reviews", s.base))
            .bearer_auth(&bob)
            .header("If-Match", "yesterday")
            .json(&plan_body(30))
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[tokio::test]
    async fn concurrent_http_writers_get_retryable_conflicts_and_no_update_is_lost() {
        let s = Service::start().await;
        let lw = s.token(NORTH, Role::LinkWorker).await;
        let (id, _) = s.refer(NORTH, "Jo").await;
        engage(&s, &lw, id).await;
        let writers = 12;
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(writers as usize));
        let mut tasks = Vec::new();
        for n in 0..writers {
            let start = start.clone();
            let http = s.http.clone();
            let url = format!("{}/cases/{id}/contacts", s.base);
            let token = lw.clone();
            tasks.push(tokio::spawn(async move {
                start.wait().await;
                let mut conflicts = 0;
                loop {
                    let response = http
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&json!({"kind": "made", "channel": "video", "minutes": n + 1}))
                        .send()
                        .await
                        .unwrap();
                    match response.status() {
                        StatusCode::OK => return conflicts,
                        StatusCode::CONFLICT => {
                            let problem: Value = response.json().await.unwrap();
                            assert_eq!(
                                problem["type"],
                                "https://linkway.example/problems/conflict"
                            );
                            conflicts += 1;
                        }
                        other => panic!("unexpected {other}"),
                    }
                }
            }));
        }
        let mut conflicts = 0;
        for t in tasks {
            conflicts += t.await.unwrap();
        }
        let case = load_case(&s.store, id).await.unwrap();
        assert_eq!(case.contacts_made, 1 + writers);
        assert_eq!(case.contact_minutes, 40 + (1..=writers).sum::<u32>());
        eprintln!("{conflicts} conflicts retried");
    }
}

mod privacy {
    use super::*;

    #[tokio::test]
    async fn another_service_sees_nothing_of_a_case_and_cannot_act_on_it() {
        let s = Service::start().await;
        let north = s.token(NORTH, Role::LinkWorker).await;
        let south = s.token(SOUTH, Role::ServiceManager).await;
        let referrer = s.token(GP, Role::Referrer).await;
        let (id, seq) = s.refer(NORTH, "Kit").await;
        assert_eq!(s.case(&north, id, seq).await.0, StatusCode::OK);

        let (status, body) = s.case(&south, id, seq).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(!body.to_string().contains("Kit"));
        let (status, _) = s
            .post(&south, &format!("/cases/{id}/accept"), json!({}))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(s.case_events(id).await.is_empty());
        assert_eq!(s.caseload(&south, "", seq).await["total"], 0);

        // The referrer learns the status from intake, not from the caseload.
        assert_eq!(s.case(&referrer, id, seq).await.0, StatusCode::FORBIDDEN);
        assert_eq!(s.get(&referrer, "/caseload").await.0, StatusCode::FORBIDDEN);
        assert_eq!(
            s.get("lw_not-a-token", "/caseload").await.0,
            StatusCode::UNAUTHORIZED
        );
        // An unknown case is the same 404.
        assert_eq!(
            s.case(&north, Uuid::now_v7(), seq).await.0,
            StatusCode::NOT_FOUND
        );
    }

    #[tokio::test]
    async fn every_read_of_a_persons_record_is_logged_against_the_token() {
        let s = Service::start().await;
        let north = s.token(NORTH, Role::LinkWorker).await;
        let south = s.token(SOUTH, Role::LinkWorker).await;
        let (id, seq) = s.refer(NORTH, "Ola").await;
        s.case(&north, id, seq).await;
        s.caseload(&north, "", seq).await;
        s.case(&south, id, seq).await;
        let client = s.ctx.db.client().await.unwrap();
        let rows = client
            .query(
                "SELECT organisation_id, user_id, role, operation FROM case_access WHERE referral_id = $1 ORDER BY accessed_at",
                &[&id],
            )
            .await
            .unwrap();
        let seen: Vec<(String, Option<String>, String, String)> = rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect();
        let who = (
            NORTH.to_owned(),
            Some("link_worker-user".to_owned()),
            "link_worker".to_owned(),
        );
        assert_eq!(
            seen,
            [
                (
                    who.0.clone(),
                    who.1.clone(),
                    who.2.clone(),
                    "getCase".to_owned()
                ),
                (who.0, who.1, who.2, "getCaseload".to_owned()),
            ],
            "a refused read shows nothing and logs nothing"
        );
    }

    #[tokio::test]
    async fn a_rerouted_referral_moves_to_the_new_service() {
        let s = Service::start().await;
        let north = s.token(NORTH, Role::LinkWorker).await;
        let south = s.token(SOUTH, Role::LinkWorker).await;
        let (id, _) = s.refer(NORTH, "Lou").await;
        let routed: Event = ReferralEvent::Routed(ReferralRouted {
            referral_id: id,
            link_worker_organisation_id: SOUTH.into(),
            rule_id: None,
        })
        .into();
        let env = Envelope::new(
            id.to_string(),
            &routed,
            Actor::system(),
            Uuid::now_v7(),
            OffsetDateTime::now_utc(),
        );
        let seq = s
            .store
            .append(
                "referral",
                &id.to_string(),
                Expected::Any,
                vec![PendingEvent::new(env)],
            )
            .await
            .unwrap()
            .last_sequence();
        assert_eq!(s.case(&north, id, seq).await.0, StatusCode::NOT_FOUND);
        assert_eq!(
            s.case(&south, id, seq).await.1["person_name"],
            "Lou Testperson"
        );
    }
}

mod caseload_views {
    use super::*;
    use linkway_events::case::{CaseEvent, ConnectionMade};

    #[tokio::test]
    async fn filters_sorting_paging_counts_and_flags() {
        let s = Service::start().await;
        let lw = s.token(NORTH, Role::LinkWorker).await;
        let now = OffsetDateTime::now_utc();
        let day = time::Duration::days(1);
        let (old, _) = s.refer_at(NORTH, "Old", now - day * 20).await;
        let (mid, _) = s.refer_at(NORTH, "Mid", now - day * 10).await;
        let (new, _) = s.refer_at(NORTH, "New", now - day * 2).await;
        let (gone, _) = s.refer_at(NORTH, "Gone", now - day * 30).await;
        engage(&s, &lw, old).await;
        s.ok(&lw, &format!("/cases/{mid}/accept"), json!({})).await;
        let a = s
            .ok(
                &lw,
                &format!("/cases/{mid}/assignment"),
                json!({"link_worker_id": "someone-else"}),
            )
            .await;
        let last = s.withdraw(gone).await.max(seq(&a));

        // An onward connection nobody answered for 15 days.
        s.ok(&lw, &format!("/cases/{old}/plan"), plan_body(7)).await;
        let case = linkway_link_worker::api::load_case(&s.store, old)
            .await
            .unwrap();
        let made: Event = CaseEvent::ConnectionMade(ConnectionMade {
            referral_id: old,
            connection_id: Uuid::now_v7(),
            service_id: "choir".into(),
            service_name: "Choir".into(),
            legal_basis: None,
            shared: vec![],
        })
        .into();
        let env = Envelope::new(
            old.to_string(),
            &made,
            Actor::system(),
            Uuid::now_v7(),
            now - day * 15,
        );
        let last = s
            .store
            .append(
                "case",
                &old.to_string(),
                Expected::LastSequence(case.last_case_sequence),
                vec![PendingEvent::new(env)],
            )
            .await
            .unwrap()
            .last_sequence()
            .max(last);

        let page = s.caseload(&lw, "", last).await;
        assert_eq!(
            page["total"], 3,
            "the withdrawn referral is not open: {page}"
        );
        let names: Vec<&str> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["person_name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["Old Testperson", "Mid Testperson", "New Testperson"],
            "longest waiting first"
        );
        let waits: Vec<i64> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["days_waiting"].as_i64().unwrap())
            .collect();
        assert_eq!(waits, [20, 10, 2]);
        assert_eq!(
            page["counts_by_state"],
            json!({"plan_agreed": 1, "assigned": 1, "routed": 1})
        );
        let first = &page["items"][0];
        assert_eq!(first["connection_overdue"], true);
        assert_eq!(first["days_since_last_contact"], 0);
        assert_eq!(
            first["next_review_date"],
            (now.date() + time::Duration::days(7)).to_string()
        );
        assert_eq!(page["items"][1]["connection_overdue"], false);
        assert_eq!(page["items"][1]["days_since_last_contact"], Value::Null);

        let page = s.caseload(&lw, "descending=true", last).await;
        assert_eq!(page["items"][0]["person_name"], "New Testperson");
        let page = s.caseload(&lw, "limit=1&offset=1", last).await;
        assert_eq!(
            (
                page["total"].as_i64(),
                page["items"].as_array().unwrap().len()
            ),
            (Some(3), 1)
        );
        assert_eq!(page["items"][0]["person_name"], "Mid Testperson");
        let page = s.caseload(&lw, "connection_overdue=true", last).await;
        assert_eq!(page["total"], 1);
        assert_eq!(page["items"][0]["referral_id"], old.to_string());
        let page = s.caseload(&lw, "connection_overdue=false", last).await;
        assert_eq!(page["total"], 2);
        let page = s.caseload(&lw, "", last).await;
        assert_eq!(
            page["counts_by_link_worker"],
            json!({"": 1, "someone-else": 1, "link_worker-user": 1})
        );
        let page = s.caseload(&lw, "state=routed,assigned", last).await;
        assert_eq!(page["total"], 2);
        let page = s.caseload(&lw, "link_worker=someone-else", last).await;
        assert_eq!(page["total"], 1);
        assert_eq!(page["counts_by_state"], json!({"assigned": 1}));
        let page = s.caseload(&lw, "link_worker=me", last).await;
        assert_eq!(page["items"][0]["referral_id"], old.to_string());
        let page = s.caseload(&lw, "sort=last_contact", last).await;
        assert_eq!(
            page["items"][2]["referral_id"],
            old.to_string(),
            "never contacted first"
        );
        let page = s.caseload(&lw, "include_closed=true", last).await;
        assert_eq!(page["counts_by_state"]["withdrawn"], 1);
        // A withdrawn referral takes no more steps (a safeguarding concern still goes through).
        let (status, problem) = s
            .post(&lw, &format!("/cases/{gone}/accept"), json!({}))
            .await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(problem["errors"][0]["rule"], "accept_requires_routed");
        assert!(
            problem["detail"].as_str().unwrap().contains("withdrawn"),
            "{problem}"
        );
        s.ok(
            &lw,
            &format!("/cases/{gone}/safeguarding"),
            json!({"concern": "Seen at A&E"}),
        )
        .await;
        assert_eq!(
            s.get(&lw, "/caseload?state=lost").await.0,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            s.get(&lw, "/caseload?limit=0").await.0,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        let _ = new;
    }

    #[tokio::test]
    async fn caseload_figures_are_identical_after_a_rebuild() {
        let s = Service::start().await;
        let lw = s.token(NORTH, Role::LinkWorker).await;
        let south = s.token(SOUTH, Role::LinkWorker).await;
        let mut last = 0;
        for i in 0..6 {
            let (id, referred) = s
                .refer(if i % 3 == 0 { SOUTH } else { NORTH }, &format!("P{i}"))
                .await;
            last = last.max(referred);
            if i % 3 == 0 {
                continue;
            }
            let made = engage(&s, &lw, id).await;
            last = last.max(made);
            if i % 2 == 0 {
                let a = s.ok(&lw, &format!("/cases/{id}/plan"), plan_body(i)).await;
                last = last.max(seq(&a));
            }
            if i == 5 {
                let a = s
                    .ok(
                        &lw,
                        &format!("/cases/{id}/closure"),
                        json!({"reason": "disengaged"}),
                    )
                    .await;
                last = last.max(seq(&a));
            }
        }
        let query = "include_closed=true&limit=200";
        let before = (
            s.caseload(&lw, query, last).await,
            s.caseload(&south, query, last).await,
        );
        let mut details = Vec::new();
        for item in before.0["items"].as_array().unwrap() {
            details.push(
                s.get(
                    &lw,
                    &format!("/cases/{}", item["referral_id"].as_str().unwrap()),
                )
                .await
                .1,
            );
        }
        let rebuilt = linkway_link_worker::LinkWorkerService {
            policy: linkway_link_worker::case::Policy::default(),
        }
        .rebuild(&s.ctx, "caseload", &|_, _| {})
        .await
        .unwrap();
        assert!(rebuilt.unwrap() >= last);
        assert_eq!(
            linkway_link_worker::LinkWorkerService {
                policy: linkway_link_worker::case::Policy::default()
            }
            .rebuild(&s.ctx, "nonsense", &|_, _| {})
            .await
            .unwrap(),
            None
        );
        let after = (
            s.caseload(&lw, query, last).await,
            s.caseload(&south, query, last).await,
        );
        assert_eq!(before, after);
        assert_eq!(before.0["total"], 4);
        for (item, detail) in before.0["items"].as_array().unwrap().iter().zip(details) {
            let again = s
                .get(
                    &lw,
                    &format!("/cases/{}", item["referral_id"].as_str().unwrap()),
                )
                .await
                .1;
            assert_eq!(detail, again);
        }
    }
}

mod directory {
    use super::*;

    #[tokio::test]
    async fn the_open_referral_fixtures_import_and_can_be_searched() {
        let s = Service::start().await;
        let manager = s.token(NORTH, Role::ServiceManager).await;
        let lw = s.token(NORTH, Role::LinkWorker).await;
        let a = s
            .ok(&manager, "/directory/import", fixture("service_list.json"))
            .await;
        assert_eq!(a["ids"], json!(["ac148810-d857-441c-9679-408f346de14b"]));
        // The full service is the same one, published in more detail: an upsert, not a duplicate.
        let a = s
            .ok(&manager, "/directory/import", fixture("service_full.json"))
            .await;
        assert_eq!(a["upserted"], 1);
        let walking = json!({"id": "walk-1", "name": "Headingley walking group", "status": "active",
            "url": "https://walk.example", "description": "Gentle walks",
            "service_areas": [{"id": "a", "name": "Leeds"}],
            "attributes": [{"id": "x", "taxonomy_term": {"id": "t1", "name": "Physical activity", "term": "physical activity"}}]});
        s.ok(
            &manager,
            "/directory/import",
            json!({"contents": [walking]}),
        )
        .await;

        let (status, page) = s.get(&lw, "/directory").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["total"], 2);
        let (_, page) = s.get(&lw, "/directory?q=counselling").await;
        assert_eq!(page["items"][0]["name"], "Community Counselling");
        assert_eq!(page["total"], 1);
        let (_, page) = s.get(&lw, "/directory?category=Physical%20activity").await;
        assert_eq!(page["items"][0]["id"], "walk-1");
        let (_, page) = s.get(&lw, "/directory?area=mycity").await;
        assert_eq!(
            page["items"][0]["id"],
            "ac148810-d857-441c-9679-408f346de14b"
        );
        let (_, page) = s.get(&lw, "/directory?area=leeds&q=walk").await;
        assert_eq!(page["total"], 1);
        let (_, page) = s.get(&lw, "/directory?q=100%25").await;
        assert_eq!(page["total"], 0, "% is matched literally");
        // Link workers read the directory; they do not import it.
        assert_eq!(
            s.post(&lw, "/directory/import", fixture("service_full.json"))
                .await
                .0,
            StatusCode::FORBIDDEN
        );
    }

    #[tokio::test]
    async fn a_large_directory_imports_in_one_request() {
        let s = Service::start().await;
        let manager = s.token(NORTH, Role::ServiceManager).await;
        let description = "A friendly group that meets weekly. ".repeat(10);
        let services: Vec<Value> = (0..8000)
            .map(|i| {
                json!({"id": format!("svc-{i}"), "name": format!("Service {i}"), "status": "active",
                "url": "https://s.example", "description": description})
            })
            .collect();
        let body = json!({"contents": services});
        assert!(
            body.to_string().len() > 3_000_000,
            "bigger than axum's default limit"
        );
        let a = s.ok(&manager, "/directory/import", body).await;
        assert_eq!(a["upserted"], 8000);
        assert_eq!(
            s.get(&manager, "/directory?q=Service%207999").await.1["total"],
            1
        );
    }

    #[tokio::test]
    async fn an_invalid_service_is_refused_with_each_problem_and_nothing_is_imported() {
        let s = Service::start().await;
        let manager = s.token(NORTH, Role::ServiceManager).await;
        let good = fixture("service_full.json");
        let bad = json!({"id": "bad-1", "name": "No status or url"});
        let (status, problem) = s
            .post(
                &manager,
                "/directory/import",
                json!({"contents": [good, bad]}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let errors: Vec<(String, String)> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["field"].as_str().unwrap().to_owned(),
                    e["rule"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            errors,
            [
                ("contents.1.status".to_owned(), "required".to_owned()),
                ("contents.1.url".to_owned(), "required".to_owned())
            ]
        );
        let (status, problem) = s
            .post(
                &manager,
                "/directory/import",
                json!({"id": "x", "name": "y", "status": "closed", "url": "https://x.example"}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem["errors"][0]["rule"], "status_enum");
        assert_eq!(s.get(&manager, "/directory").await.1["total"], 0);
    }

    #[tokio::test]
    async fn inactive_and_defunct_services_take_no_new_connections() {
        let s = Service::start().await;
        let manager = s.token(NORTH, Role::ServiceManager).await;
        let lw = s.token(NORTH, Role::LinkWorker).await;
        let services: Vec<Value> = ["active", "inactive", "defunct", "temporarily closed"]
            .iter()
            .map(|st| json!({"id": st.replace(' ', "-"), "name": format!("A {st} service"), "status": st, "url": "https://s.example"}))
            .collect();
        s.ok(&manager, "/directory/import", json!({"contents": services}))
            .await;
        let (_, page) = s.get(&lw, "/directory?q=inactive").await;
        assert_eq!(page["items"][0]["accepts_connections"], false);
        let (_, page) = s.get(&lw, "/directory?accepting=true").await;
        assert_eq!(page["total"], 2, "active and temporarily closed");
        let (_, page) = s.get(&lw, "/directory?accepting=false").await;
        let ids: Vec<&str> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["defunct", "inactive"]);
        let (id, _) = s.refer(NORTH, "Max").await;
        engage(&s, &lw, id).await;
        s.ok(&lw, &format!("/cases/{id}/plan"), plan_body(10)).await;
        for (service, ok) in [
            ("inactive", false),
            ("defunct", false),
            ("active", true),
            ("temporarily-closed", true),
        ] {
            let (status, problem) = s
                .post(
                    &lw,
                    &format!("/cases/{id}/connections"),
                    json!({"service_id": service, "legal_basis": "explicit_consent", "share": ["name", "phone"]}),
                )
                .await;
            if ok {
                assert_eq!(status, StatusCode::OK, "{service}: {problem}");
            } else {
                assert_eq!(status, StatusCode::CONFLICT, "{service}");
                assert_eq!(
                    problem["errors"][0]["rule"],
                    "service_not_accepting_connections"
                );
            }
        }
    }
}

mod contract {
    use super::*;

    const QUERIES: [&str; 3] = ["getCaseload", "getCase", "listDirectory"];
    const COMMANDS: [&str; 12] = [
        "acceptReferral",
        "declineReferral",
        "assignCase",
        "recordContact",
        "agreePlan",
        "reviewPlan",
        "connectService",
        "recordConnectionResponse",
        "recordOutcome",
        "raiseSafeguarding",
        "closeCase",
        "importDirectory",
    ];

    #[tokio::test]
    async fn openapi_lists_every_operation_with_its_request_responses_and_errors() {
        let s = Service::start().await;
        let response = reqwest::get(format!("{}/openapi.json", s.base))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let doc: Value = response.json().await.unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let mut found = std::collections::BTreeMap::new();
        // The platform's operational routes are the platform's to document.
        let operational = ["getHealth", "getReadiness", "getMetrics", "getOpenApi"];
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if let Some(id) = op["operationId"]
                    .as_str()
                    .filter(|id| !operational.contains(id))
                {
                    found.insert(id.to_owned(), (path.clone(), method.clone(), op.clone()));
                }
            }
        }
        for id in QUERIES.iter().chain(COMMANDS.iter()) {
            let (path, method, op) = found.get(*id).unwrap_or_else(|| panic!("{id} missing"));
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.contains_key("200"), "{id}");
            let mut errors = vec!["401", "403", "503"];
            if *id != "listDirectory" && *id != "importDirectory" && *id != "getCaseload" {
                errors.push("404");
            }
            if COMMANDS.contains(id) {
                errors.push("422");
                assert_eq!(method, "post", "{id}");
                if *id != "importDirectory" {
                    errors.push("409");
                }
                if *id != "acceptReferral" {
                    assert!(
                        op["requestBody"]["content"]["application/json"].is_object(),
                        "{id} request body"
                    );
                }
            }
            for status in errors {
                let problem = &responses
                    .get(status)
                    .unwrap_or_else(|| panic!("{id} ({method} {path}) lacks {status}"))["content"]
                    ["application/problem+json"]["schema"]["$ref"];
                assert_eq!(problem, "#/components/schemas/Problem", "{id} {status}");
            }
        }
        assert_eq!(
            found.len(),
            QUERIES.len() + COMMANDS.len(),
            "{:?}",
            found.keys()
        );
        // The event enums a request takes are listed in full.
        use linkway_events::case::{
            ClosureReason as C, ContactChannel as Ch, DeclineReason as D, Timepoint as T,
        };
        let listed = |name: &str, values: Vec<Value>| {
            let schema = &doc["components"]["schemas"][name]["enum"];
            assert_eq!(
                schema.as_array().map(Vec::len),
                Some(values.len()),
                "{name}: {schema}"
            );
            for v in values {
                assert!(schema.as_array().unwrap().contains(&v), "{name} lacks {v}");
            }
        };
        // Exhaustive matches: a new variant in the events crate fails to compile here.
        let declines = |d: D| match d {
            D::OutOfArea | D::NotAppropriate | D::PersonDeclined | D::ReferredElsewhere => json!(d),
        };
        listed(
            "DeclineReason",
            [
                D::OutOfArea,
                D::NotAppropriate,
                D::PersonDeclined,
                D::ReferredElsewhere,
            ]
            .map(declines)
            .to_vec(),
        );
        let channels = |c: Ch| match c {
            Ch::Phone | Ch::FaceToFace | Ch::Video | Ch::HomeVisit | Ch::Text | Ch::Email => {
                json!(c)
            }
        };
        listed(
            "ContactChannel",
            [
                Ch::Phone,
                Ch::FaceToFace,
                Ch::Video,
                Ch::HomeVisit,
                Ch::Text,
                Ch::Email,
            ]
            .map(channels)
            .to_vec(),
        );
        let timepoints = |t: T| match t {
            T::Baseline | T::Review | T::Exit => json!(t),
        };
        listed(
            "Timepoint",
            [T::Baseline, T::Review, T::Exit].map(timepoints).to_vec(),
        );
        let closures = |c: C| match c {
            C::GoalsMet
            | C::Disengaged
            | C::CouldNotContact
            | C::MovedAway
            | C::ReferredElsewhere
            | C::Died
            | C::Other => json!(c),
        };
        listed(
            "ClosureReason",
            [
                C::GoalsMet,
                C::Disengaged,
                C::CouldNotContact,
                C::MovedAway,
                C::ReferredElsewhere,
                C::Died,
                C::Other,
            ]
            .map(closures)
            .to_vec(),
        );
        use linkway_events::case::SharedDetail as Sd;
        use linkway_events::referral::LegalBasis as Lb;
        let bases = |b: Lb| match b {
            Lb::PublicTaskHealthCare | Lb::ExplicitConsent | Lb::VitalInterests => json!(b),
        };
        listed(
            "LegalBasis",
            [
                Lb::PublicTaskHealthCare,
                Lb::ExplicitConsent,
                Lb::VitalInterests,
            ]
            .map(bases)
            .to_vec(),
        );
        let details = |d: Sd| match d {
            Sd::Name | Sd::Phone | Sd::Email | Sd::Address | Sd::Needs | Sd::Plan => json!(d),
        };
        listed(
            "SharedDetail",
            [
                Sd::Name,
                Sd::Phone,
                Sd::Email,
                Sd::Address,
                Sd::Needs,
                Sd::Plan,
            ]
            .map(details)
            .to_vec(),
        );
        assert_eq!(
            doc["components"]["schemas"]["DeclineRequest"]["properties"]["reason"]["$ref"],
            "#/components/schemas/DeclineReason"
        );
        for schema in [
            "Problem",
            "FieldError",
            "CaseloadPage",
            "CaseDetail",
            "CommandAccepted",
        ] {
            assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
        }
        for path in linkway_link_worker::openapi().paths.paths.keys() {
            assert!(doc["paths"][path].is_object(), "{path} is served");
        }
    }

    #[tokio::test]
    async fn operational_endpoints_answer() {
        let s = Service::start().await;
        assert_eq!(
            reqwest::get(format!("{}/healthz", s.base))
                .await
                .unwrap()
                .status(),
            StatusCode::OK
        );
        let ready: Value = reqwest::get(format!("{}/readyz", s.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(ready["status"], "ready");
        assert!(ready["projections"]["caseload"].is_object());
        assert_eq!(linkway_link_worker::PROJECTIONS, ["caseload", "registry"]);
        let lw = s.token(NORTH, Role::LinkWorker).await;
        let (id, _) = s.refer(NORTH, "Pip").await;
        s.ok(&lw, &format!("/cases/{id}/accept"), json!({})).await;
        let metrics = reqwest::get(format!("{}/metrics", s.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            metrics.contains(r#"service="link-worker",operation="acceptReferral",status="200""#),
            "{metrics}"
        );
        assert!(metrics.contains(r#"event_type="case.accepted""#));
        assert!(!metrics.contains(&id.to_string()), "no ids in labels");
    }
}
