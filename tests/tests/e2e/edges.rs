//! Every accepted input projects everywhere (issue 9): arbitrary values in every field a
//! referrer types, through all three channels (JSON, FHIR message, web form), against the
//! three services running in one process. Whatever intake answers is never a 5xx, and every
//! referral it accepts reaches intake's referrals, the link worker's caseload (with its
//! name, urgency and date) and reporting, with no dead letter anywhere.
//!
//! Seeded, so a run is repeatable: `PROPTEST_CASES` (default 40) and `PROPTEST_RNG_SEED`
//! (default fixed) choose how many inputs and which, e.g.
//! `PROPTEST_CASES=500 cargo test -p linkway-testkit --test e2e edges`.

use std::time::{Duration, Instant};

use linkway::{ServiceName as Service, Settings};
use linkway_events::Role;
use linkway_events::registry::OrganisationKind;
use linkway_platform::secret::Secret;
use linkway_testkit::TestEnv;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use reqwest::StatusCode;
use serde_json::{Value, json};

const GP: &str = "gp-edges";
const LW: &str = "lw-edges";
const ICB: &str = "icb-edges";

/// The fields each channel sends that a person types or picks (JSON pointers in the body
/// or in a bundle entry, form control names).
const JSON_FIELDS: [&str; 20] = [
    "/person/given_name",
    "/person/family_name",
    "/person/nhs_number",
    "/person/birth_date",
    "/person/address/lines/0",
    "/person/address/postcode",
    "/person/phone",
    "/person/email",
    "/person/language",
    "/person/accessibility_needs",
    "/person/gender",
    "/person/ethnicity",
    "/needs_and_concerns/text",
    "/needs_and_concerns/codes/0/display",
    "/urgency",
    "/legal_basis",
    "/consent/status",
    "/practitioner/name",
    "/practitioner/role",
    "/notes",
];
/// `(entry index, pointer in its resource)` of the fixture bundle.
const FHIR_FIELDS: [(usize, &str); 18] = [
    (0, "/source/endpoint"),
    (0, "/source/software"),
    (5, "/identifier/0/value"),
    (6, "/identifier/0/value"),
    (1, "/note/0/text"),
    (1, "/patientInstruction"),
    (1, "/priority"),
    (2, "/name/0/given/0"),
    (2, "/name/0/family"),
    (2, "/birthDate"),
    (2, "/address/0/line/0"),
    (2, "/address/0/postalCode"),
    (2, "/telecom/0/value"),
    (2, "/gender"),
    (4, "/name/0/family"),
    (7, "/status"),
    (7, "/policyRule/coding/0/code"),
    (7, "/extension/0/valueBoolean"),
];
const FORM_FIELDS: [&str; 16] = [
    "given_name",
    "family_name",
    "nhs_number",
    "birth_date",
    "address_line1",
    "postcode",
    "phone",
    "needs_text",
    "accessibility_needs",
    "urgency",
    "legal_basis",
    "consent_status",
    "referral_agreed",
    "practitioner_name",
    "notes",
    "other_need_code",
];

fn settings(env: &TestEnv) -> Settings {
    Settings {
        nats_url: vec![env.nats_url.clone()],
        database_url: Secret::new(env.postgres_url.clone()),
        database_prefix: env.scope.database_prefix.clone(),
        stream: env.scope.stream.clone(),
        subject_prefix: env.scope.subject_prefix.clone(),
        intake_port: 0,
        link_worker_port: 0,
        reporting_port: 0,
        pseudonym_key: Some(Secret::new("edges-test-pseudonym-key")),
        ..Settings::defaults()
    }
}

/// One input: which channel, which field, and what is put in it.
#[derive(Debug, Clone)]
enum Input {
    Json(usize, Value),
    Fhir(usize, Value),
    Form(usize, String),
}

/// Text as people and machines send it: anything, with control, bidirectional and
/// zero-width characters, combining marks and long runs more likely than by chance.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z \\x00-\\x1f\\x7f\\u{85}\\u{200b}\\u{202e}\\u{2066}\\u{fffe}\\u{301}é李]{0,12}",
        "[a-zA-Z]{1,3}".prop_map(|s| s.repeat(1500)),
        Just(String::new()),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => text().prop_map(Value::String),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<bool>().prop_map(Value::from),
        1 => Just(Value::Null),
        1 => prop::collection::vec(text().prop_map(Value::String), 0..3).prop_map(Value::Array),
    ]
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        (0..JSON_FIELDS.len(), json_value()).prop_map(|(f, v)| Input::Json(f, v)),
        (0..FHIR_FIELDS.len(), json_value()).prop_map(|(f, v)| Input::Fhir(f, v)),
        (0..FORM_FIELDS.len(), text()).prop_map(|(f, v)| Input::Form(f, v)),
    ]
}

fn inputs() -> Vec<Input> {
    let cases: usize = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(40);
    let seed: u64 = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x11AE_9E55);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    );
    let strategy = input();
    (0..cases)
        .map(|_| strategy.new_tree(&mut runner).expect("an input").current())
        .collect()
}

fn fixture() -> Value {
    let path = format!(
        "{}/../services/intake/tests/fixtures/fhir/social-prescribing-referral.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut bundle: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    // The sender is named by its Linkway id, routed by the rule from the GP.
    let sender = bundle["entry"][0]["resource"]["sender"]["reference"].clone();
    for entry in bundle["entry"].as_array_mut().unwrap() {
        if entry["fullUrl"] == sender {
            entry["resource"]["identifier"][0]["value"] = json!(GP);
        }
    }
    bundle
}

fn form(i: usize) -> Vec<(String, String)> {
    [
        ("nhs_number", "943 476 5919"),
        ("given_name", "Robin"),
        ("family_name", "Example"),
        ("birth_date", "1961-05-17"),
        ("address_line1", "14 Imaginary Row"),
        ("postcode", "LS6 9ZZ"),
        ("phone", "07700 900123"),
        ("preferred_contact_method", "phone"),
        ("need", "422650009"),
        ("urgency", "routine"),
        ("safeguarding_concern", "no"),
        ("legal_basis", "public_task_health_care"),
        ("referral_agreed", "yes"),
        ("share_details", "yes"),
        ("practitioner_name", "Dr Placeholder"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .chain([("idempotency_key".to_owned(), format!("edges-form-{i}"))])
    .collect()
}

fn pct(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// Sends input `i`; the status and, when accepted, the referral id.
async fn send(intake: &str, token: &str, i: usize, input: &Input) -> (StatusCode, Option<String>) {
    let http = reqwest::Client::new();
    let request = match input {
        Input::Json(f, v) => {
            let mut body = linkway::demo::referral_body(i as u64);
            if let Some(at) = body.pointer_mut(JSON_FIELDS[*f]) {
                *at = v.clone();
            }
            http.post(format!("{intake}/referrals"))
                .bearer_auth(token)
                .header("Idempotency-Key", format!("edges-json-{i}"))
                .json(&body)
        }
        Input::Fhir(f, v) => {
            let mut bundle = fixture();
            bundle["id"] = json!(format!("edges-fhir-{i}"));
            let (entry, pointer) = FHIR_FIELDS[*f];
            if let Some(at) = bundle["entry"][entry]["resource"].pointer_mut(pointer) {
                *at = v.clone();
            }
            http.post(format!("{intake}/fhir/$process-message"))
                .bearer_auth(token)
                .header("content-type", "application/fhir+json")
                .body(bundle.to_string())
        }
        Input::Form(f, v) => {
            let mut pairs = form(i);
            pairs.retain(|(k, _)| k != FORM_FIELDS[*f]);
            pairs.push((FORM_FIELDS[*f].to_owned(), v.clone()));
            let body: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{}={}", pct(k), pct(v)))
                .collect();
            http.post(format!("{intake}/form"))
                .bearer_auth(token)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.join("&"))
        }
    };
    let response = request.send().await.expect("request");
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let id = (status == StatusCode::CREATED).then(|| match input {
        Input::Json(..) => serde_json::from_str::<Value>(&body).unwrap()["referral_id"]
            .as_str()
            .unwrap()
            .to_owned(),
        Input::Fhir(..) => {
            serde_json::from_str::<Value>(&body).unwrap()["issue"][0]["details"]["coding"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["system"].as_str().unwrap().ends_with("referral-id"))
                .expect("the referral id coding")["code"]
                .as_str()
                .unwrap()
                .to_owned()
        }
        Input::Form(..) => body
            .split("id=\"referral-id\">")
            .nth(1)
            .and_then(|s| s.split('<').next())
            .expect("the referral id")
            .to_owned(),
    });
    (status, id)
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

async fn count(env: &TestEnv, service: &str, sql: &str) -> i64 {
    let db = env.database(service).await;
    let client = db.client().await.expect("database");
    client.query_one(sql, &[]).await.expect(sql).get(0)
}

#[tokio::test]
async fn every_input_is_answered_without_a_server_error_and_every_accepted_one_projects_everywhere()
{
    let env = TestEnv::shared();
    let running = linkway::serve::serve(&settings(&env), &Service::ALL, env.shutdown())
        .await
        .expect("serve");
    let url = |s: Service| {
        let r = running.iter().find(|r| r.service == s).expect("running");
        format!("http://{}", r.addr)
    };
    env.register_organisation(GP, OrganisationKind::GpPractice, Some("QED"), false)
        .await;
    env.register_organisation(LW, OrganisationKind::Pcn, Some("QED"), true)
        .await;
    env.register_organisation(ICB, OrganisationKind::Commissioner, Some("QED"), false)
        .await;
    linkway::admin::run(
        &env.store().await,
        linkway::admin::AdminCommand::Rule(linkway::admin::RuleCommand::Add {
            to: LW.into(),
            from_org: Some(GP.into()),
            postcode_district: None,
            priority: 1,
        }),
    )
    .await
    .expect("routing rule");
    let gp = env.issue_token(GP, Role::Referrer).await.0;
    let lw = env.issue_token(LW, Role::LinkWorker).await.0;
    let intake = url(Service::Intake);
    let deadline = Instant::now() + Duration::from_secs(20);
    while get(&format!("{intake}/referrals"), &gp).await.0 == StatusCode::UNAUTHORIZED {
        assert!(Instant::now() < deadline, "the GP's token never worked");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut accepted = Vec::new();
    let mut refused = 0;
    for (i, input) in inputs().iter().enumerate() {
        let (status, id) = send(&intake, &gp, i, input).await;
        assert!(
            !status.is_server_error(),
            "input {i} ({input:?}) answered {status}"
        );
        match id {
            Some(id) => accepted.push(id),
            None => refused += 1,
        }
    }
    eprintln!("{} accepted, {refused} refused", accepted.len());
    assert!(
        !accepted.is_empty() && refused > 0,
        "inputs both valid and invalid, so the checks below check something"
    );

    let caseload = url(Service::LinkWorker);
    let deadline = Instant::now() + Duration::from_secs(30);
    for id in &accepted {
        loop {
            let (referral, _) = get(&format!("{intake}/referrals/{id}"), &gp).await;
            let (case, detail) = get(&format!("{caseload}/cases/{id}"), &lw).await;
            let whole = !detail["person_name"].is_null()
                && !detail["urgency"].is_null()
                && !detail["received_at"].is_null();
            if referral == StatusCode::OK && case == StatusCode::OK && whole {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "referral {id} did not project: intake {referral}, caseload {case} {detail}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let n = accepted.len() as i64;
    while count(
        &env,
        "reporting",
        "SELECT count(*) FROM reporting.referrals",
    )
    .await
        < n
    {
        assert!(
            Instant::now() < deadline,
            "reporting did not count every referral"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for service in ["intake", "link-worker", "reporting"] {
        assert_eq!(
            count(&env, service, "SELECT count(*) FROM dead_letters").await,
            0,
            "{service} parked an event it could not store"
        );
    }
}
