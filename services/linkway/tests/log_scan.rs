//! Nothing personal and nothing secret in a whole journey's log at `trace`: the real
//! `linkway serve`, every secret it can be given set to a value that appears nowhere else
//! (the database URL's password and each service's role password, the NATS seed's
//! password and each connection's own NATS user, the session key, the pseudonym key, the
//! OpenID client secret, the key-encryption key, every API token), takes a referral by
//! JSON and one by FHIR through every step of a case (accept, assign, a contact with
//! notes, a plan, a connection and its answer, a MYCaW with the person's concerns,
//! safeguarding, a review, closure), shows them to their organisations, answers the
//! commissioner's summary and feed and the sign-in pages; then no line of its log (nor of
//! the `migrate` and `admin` commands run beside it) holds any of the two people's
//! details, any text typed about them, or any 12 characters in a row of any secret. And
//! `Debug` of the settings, with every secret setting given, shows none of them.

use std::time::{Duration, Instant};

use linkway_testkit::{Linkway, TestEnv, shared_postgres};
use reqwest::StatusCode;
use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_linkway");
const GP: &str = "gp-log-scan";
const GP_ODS: &str = "Y99001";
const LW: &str = "lw-log-scan";
const ICB: &str = "icb-log-scan";
const AREA: &str = "QLS";

/// Every secret the process is given (besides the tokens, which `linkway admin` makes).
const SESSION_KEY: &str = "session-key-scan-7f3e9a1c5b2d4e6f8091a2b3";
const PSEUDONYM_KEY: &str = "pseudonym-key-scan-c4d8e2f6a0b1";
const DATABASE_URL_PASSWORD: &str = "dburl-pw-scan-5e1a9c";
const NATS_URL_PASSWORD: &str = "natsurl-pw-scan-8b2f4d";
const OIDC_CLIENT_SECRET: &str = "oidc-client-secret-scan-3a7c";
/// A key-encryption key (`id:base64 of 32 bytes`): the base64 is the secret.
const KEK: &str = "a2VrLW9mLXRoZS1sb2ctc2Nhbi10ZXN0LTAxMjM0NTY=";
fn role_password(service: &str) -> String {
    format!("role-pw-scan-{service}-91d7")
}
fn nats_password(connection: &str) -> String {
    format!("nats-pw-scan-{connection}-2c6e")
}

/// The two people and everything typed about them: strings found nowhere else.
const JSON_PERSON: &[&str] = &[
    "9483171008",
    "948 317 1008",
    "Hepzibahna",
    "Thistlewaite",
    "1939-04-17",
    "Quernstone Close",
    "LS6 7QJ",
    "07700 913579",
    "hepz.scan@example.org",
];
const FHIR_PERSON: &[&str] = &[
    "9612471002",
    "961 247 1002",
    "Oswaldine",
    "Brackenholt",
    "1952-09-03",
    "Wyvernmoor Walk",
    "LS6 3TU",
    "07700 924680",
    "oswaldine.scan@example.org",
];
const TYPED: &[&str] = &[
    "allotment-scan-misses",
    "bereaved-scan-widower",
    "mornings-scan-only",
    "notes-scan-budgerigar",
    "matters-scan-choir",
    "goal-scan-tandem",
    "action-scan-library",
    "concern-scan-stairlift",
    "concern-scan-pension",
    "safeguard-scan-landlord",
    "withdrawn-scan-emigrated",
];

fn json_person() -> Value {
    json!({
        "nhs_number": JSON_PERSON[0],
        "nhs_number_verification": "number-present-and-verified",
        "given_name": JSON_PERSON[2],
        "family_name": JSON_PERSON[3],
        "birth_date": JSON_PERSON[4],
        "address": {"lines": [format!("12 {}", JSON_PERSON[5]), "Leeds"], "postcode": JSON_PERSON[6]},
        "phone": JSON_PERSON[7],
        "email": JSON_PERSON[8],
        "preferred_contact_method": "phone",
        "language": "en"
    })
}

/// Intake's FHIR fixture with the second person's details and our own free text.
fn fhir_message() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../intake/tests/fixtures/fhir/social-prescribing-referral.json"
    );
    let text = std::fs::read_to_string(path).expect("the FHIR fixture");
    let replaced = [
        ("alex@example.org", FHIR_PERSON[8]),
        ("9434765919", FHIR_PERSON[0]),
        ("Fictional", FHIR_PERSON[3]),
        ("\"Alex\"", "\"Oswaldine\""),
        ("1958-02-11", FHIR_PERSON[4]),
        ("3 Nowhere Lane", "4 Wyvernmoor Walk"),
        ("LS6 2AB", FHIR_PERSON[6]),
        ("07700 900456", FHIR_PERSON[7]),
        ("Recently bereaved, rarely leaves the house.", TYPED[1]),
        ("Prefers morning calls.", TYPED[2]),
    ]
    .iter()
    .fold(text, |t, (from, to)| {
        assert!(t.contains(from), "the fixture holds {from}");
        t.replace(from, to)
    });
    let mut message: Value = serde_json::from_str(&replaced).expect("json");
    message["id"] = json!(uuid::Uuid::new_v4().to_string());
    message.to_string()
}

/// The process, every secret given; migrated first (which makes each service's role).
async fn start(env: &TestEnv) -> Linkway {
    let port = shared_postgres().port();
    let nats = env
        .nats_url
        .replace("nats://", &format!("nats://linkway:{NATS_URL_PASSWORD}@"));
    let services = ["intake", "link-worker", "reporting"];
    let role_passwords: Vec<String> = services
        .iter()
        .map(|s| format!("{s}={}", role_password(s)))
        .collect();
    let nats_users: Vec<String> = ["intake", "link-worker", "reporting", "registry"]
        .iter()
        .map(|c| format!("{c}={}:{}", c.replace('-', "_"), nats_password(c)))
        .collect();
    let lw = Linkway::new(BINARY, &[nats], &env.postgres_url, &env.scope)
        .expect("linkway process")
        // The harness's superuser is let in without a password: this one is only carried.
        .env(
            "LINKWAY_DATABASE_URL",
            format!("postgres://postgres:{DATABASE_URL_PASSWORD}@127.0.0.1:{port}/postgres"),
        )
        .env("LINKWAY_DATABASE_PASSWORDS", role_passwords.join(","))
        // The harness's nats-server asks for no login: any user and password get in.
        .env("LINKWAY_NATS_USERS", nats_users.join(","))
        .env("LINKWAY_SESSION_KEY", SESSION_KEY)
        .env("LINKWAY_PSEUDONYM_KEY", PSEUDONYM_KEY)
        .env(
            "LINKWAY_OIDC_PROVIDERS",
            "Nowhere|http://127.0.0.1:9/|linkway-log-scan",
        )
        .env("LINKWAY_OIDC_CLIENT_SECRETS", OIDC_CLIENT_SECRET)
        .env("LINKWAY_KEKS", format!("scan-kek-1:{KEK}"))
        .env("LINKWAY_LOG", "trace");
    linkway(&lw, &["migrate", "--with-stream"]);
    lw.start_ready(Duration::from_secs(90))
        .await
        .expect("ready");
    lw
}

/// What the sub-commands run beside the server (`migrate`, `admin`) logged, at `trace` too.
static COMMANDS_LOG: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

/// `linkway <args>` with the process's settings; its output. What it logs is kept.
fn linkway(lw: &Linkway, args: &[&str]) -> String {
    let out = lw.run(args).expect("linkway");
    let logged = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {logged}");
    COMMANDS_LOG.lock().unwrap().push_str(&logged);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn admin(lw: &Linkway, args: &[&str]) -> String {
    let mut all = vec!["admin"];
    all.extend_from_slice(args);
    linkway(lw, &all)
}

/// A token made by `linkway admin token create`: the one `lw_` word it prints.
fn token(lw: &Linkway, org: &str, role: &str) -> String {
    let printed = admin(
        lw,
        &[
            "token", "create", "--org", org, "--role", role, "--label", "scan",
        ],
    );
    printed
        .split_whitespace()
        .find(|w| w.starts_with("lw_") && w.len() > 60)
        .unwrap_or_else(|| panic!("no token in {printed:?}"))
        .to_owned()
}

struct Client {
    http: reqwest::Client,
}

impl Client {
    async fn send(&self, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let answer = request.send().await.expect("an answer");
        let status = answer.status();
        let text = answer.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn post(&self, url: String, token: &str, body: Value) -> Value {
        let (status, answer) = self
            .send(
                self.http
                    .post(&url)
                    .bearer_auth(token)
                    .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                    .json(&body),
            )
            .await;
        assert!(status.is_success(), "{url}: {status} {answer}");
        answer
    }

    async fn get(&self, url: String, token: &str) -> Value {
        let (status, answer) = self.send(self.http.get(&url).bearer_auth(token)).await;
        assert_eq!(status, StatusCode::OK, "{url}: {answer}");
        answer
    }

    async fn until_authorised(&self, url: String, token: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.send(self.http.get(&url).bearer_auth(token)).await.0 == StatusCode::UNAUTHORIZED
        {
            assert!(Instant::now() < deadline, "{url}: token not accepted");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A case's whole journey on link-worker, as LW's link worker; the last answer.
async fn work_case(c: &Client, base: &str, worker: &str, id: &str) -> Value {
    let review = (time::OffsetDateTime::now_utc().date() + time::Duration::days(30)).to_string();
    let plan = json!({"what_matters": TYPED[4], "goals": [TYPED[5]], "actions": [TYPED[6]],
                      "review_date": review});
    let path = |p: &str| format!("{base}/cases/{id}/{p}");
    c.post(path("accept"), worker, json!({})).await;
    c.post(
        path("assignment"),
        worker,
        json!({"link_worker_id": "lw-scan-1"}),
    )
    .await;
    c.post(
        path("contacts"),
        worker,
        json!({"kind": "made", "channel": "phone", "minutes": 25, "notes": TYPED[3]}),
    )
    .await;
    c.post(
        path("outcomes"),
        worker,
        json!({"instrument": "mycaw", "timepoint": "baseline", "item_answers": [5, 4, 3],
               "concerns": [TYPED[7], TYPED[8]]}),
    )
    .await;
    c.post(path("plan"), worker, plan.clone()).await;
    let connected = c
        .post(
            path("connections"),
            worker,
            json!({"service_id": "ac148810-d857-441c-9679-408f346de14b",
                   "legal_basis": "explicit_consent", "share": ["name", "phone"]}),
        )
        .await;
    let connection = connected["connection_id"].as_str().expect("connection id");
    c.post(
        path(&format!("connections/{connection}/responses")),
        worker,
        json!({"response": "accepted"}),
    )
    .await;
    c.post(path("safeguarding"), worker, json!({"concern": TYPED[9]}))
        .await;
    c.post(path("plan/reviews"), worker, plan).await;
    c.post(
        path("outcomes"),
        worker,
        json!({"instrument": "ons4", "timepoint": "exit", "item_answers": [8, 8, 7, 2]}),
    )
    .await;
    c.post(path("closure"), worker, json!({"reason": "goals_met"}))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_journey_at_trace_logs_no_personal_data_and_no_secret() {
    let env = TestEnv::shared();
    let lw = start(&env).await;
    for (id, kind, more) in [
        (GP, "gp_practice", vec!["--code", GP_ODS]),
        (LW, "pcn", vec!["--link-worker-service"]),
        (ICB, "commissioner", vec![]),
    ] {
        let mut args = vec!["org", "add", "--id", id, "--name", id, "--kind", kind];
        args.extend(["--area", AREA]);
        args.extend(more);
        admin(&lw, &args);
    }
    admin(&lw, &["rule", "add", "--to", LW, "--from-org", GP]);
    let gp = token(&lw, GP, "referrer");
    let worker = token(&lw, LW, "link_worker");
    let manager = token(&lw, LW, "service_manager");
    let icb = token(&lw, ICB, "commissioner");
    let c = Client {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    };
    let (intake, link_worker, reporting) =
        (lw.url("intake"), lw.url("link-worker"), lw.url("reporting"));
    c.until_authorised(format!("{intake}/referrals"), &gp).await;
    c.until_authorised(format!("{link_worker}/caseload"), &worker)
        .await;
    c.until_authorised(format!("{reporting}/summary"), &icb)
        .await;
    let directory = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../link-worker/tests/fixtures/openreferral/service_full.json"
    ))
    .expect("directory fixture");
    c.post(
        format!("{link_worker}/directory/import"),
        &manager,
        serde_json::from_str(&directory).unwrap(),
    )
    .await;

    // By JSON, worked to the end.
    let mut body = linkway::demo::referral_body(4);
    body["person"] = json_person();
    body["needs_and_concerns"]["text"] = json!(TYPED[0]);
    let sent = c.post(format!("{intake}/referrals"), &gp, body).await;
    let json_id = sent["referral_id"].as_str().unwrap().to_owned();
    let last = work_case(&c, &link_worker, &worker, &json_id).await;
    let seq = last["sequence"].as_u64().unwrap();

    // By FHIR, accepted and then withdrawn by its sender with a reason.
    let (status, outcome) = c
        .send(
            c.http
                .post(format!("{intake}/fhir/$process-message"))
                .bearer_auth(&gp)
                .header("content-type", "application/fhir+json")
                .body(fhir_message()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{outcome}");
    let fhir_id = outcome["issue"][0]["details"]["coding"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["system"].as_str().unwrap().ends_with("referral-id"))
        .unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    c.post(
        format!("{link_worker}/cases/{fhir_id}/accept"),
        &worker,
        json!({}),
    )
    .await;
    let withdrawn = c
        .post(
            format!("{intake}/referrals/{fhir_id}/withdraw"),
            &gp,
            json!({"reason": TYPED[10]}),
        )
        .await;
    let seq = seq.max(withdrawn["sequence"].as_u64().unwrap());

    // Everyone reads what they may.
    for (url, token) in [
        (
            format!("{intake}/referrals/{json_id}?min_sequence={seq}"),
            &gp,
        ),
        (
            format!("{intake}/referrals/{fhir_id}?min_sequence={seq}"),
            &gp,
        ),
        (format!("{intake}/referrals?min_sequence={seq}"), &gp),
        (
            format!("{link_worker}/cases/{json_id}?min_sequence={seq}"),
            &worker,
        ),
        (
            format!("{link_worker}/caseload?include_closed=true&min_sequence={seq}"),
            &manager,
        ),
        (format!("{reporting}/summary?min_sequence={seq}"), &icb),
        (format!("{reporting}/feed"), &icb),
    ] {
        c.get(url, token).await;
    }
    let case = c
        .get(format!("{link_worker}/cases/{json_id}"), &worker)
        .await
        .to_string();
    assert!(
        case.contains(JSON_PERSON[2]) && case.contains(TYPED[3]) && case.contains(TYPED[7]),
        "the case shows the person and what was typed, so they went through the process"
    );
    // The sign-in pages, and a page asked without a session (sent to sign in).
    for (url, want) in [
        (format!("{intake}/sign-in"), Some(StatusCode::OK)),
        (format!("{link_worker}/auth/login?provider=0"), None),
        (
            format!("{intake}/referrals/{json_id}/view"),
            Some(StatusCode::SEE_OTHER),
        ),
    ] {
        let status = c
            .http
            .get(&url)
            .bearer_auth(&gp)
            .send()
            .await
            .unwrap()
            .status();
        assert!(want.is_none_or(|w| w == status), "{url}: {status}");
    }

    let served = lw.log();
    let traced = served.lines().filter(|l| l.contains(" TRACE ")).count();
    let detailed = served.lines().filter(|l| l.contains(" DEBUG ")).count();
    assert!(
        traced > 5 && detailed > 30,
        "trace was on: {traced} trace and {detailed} debug lines"
    );
    let log = format!("{served}{}", COMMANDS_LOG.lock().unwrap());
    for operation in [
        "submitReferral",
        "processMessage",
        "acceptReferral",
        "recordContact",
        "agreePlan",
        "connectService",
        "recordOutcome",
        "closeCase",
        "withdrawReferral",
        "getSummary",
        "getSignIn",
    ] {
        assert!(
            log.contains(&format!("operation_id=\"{operation}\"")),
            "{operation} was logged"
        );
    }
    let mut secrets: Vec<String> = [
        SESSION_KEY,
        PSEUDONYM_KEY,
        DATABASE_URL_PASSWORD,
        NATS_URL_PASSWORD,
        KEK,
        OIDC_CLIENT_SECRET,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    secrets.extend(["intake", "link-worker", "reporting"].map(role_password));
    secrets.extend(["intake", "link-worker", "reporting", "registry"].map(nats_password));
    secrets.extend([&gp, &worker, &manager, &icb].map(|t| t.to_string()));
    // Nor is a secret shown in part: no 12 characters of one in a row.
    let parts = secrets.iter().flat_map(|secret| {
        let chars: Vec<char> = secret.chars().collect();
        let windows: Vec<String> = chars.windows(12).map(|w| w.iter().collect()).collect();
        windows
    });
    let personal = JSON_PERSON.iter().chain(FHIR_PERSON).chain(TYPED);
    for needle in personal.map(|s| s.to_string()).chain(parts) {
        let hits: Vec<&str> = log
            .lines()
            .filter(|l| l.contains(&needle))
            .take(2)
            .collect();
        assert!(hits.is_empty(), "{needle:?} in the log: {hits:#?}");
    }
}

/// The settings parsed on their own, as `linkway` parses them.
#[derive(clap::Parser)]
struct Only {
    #[command(flatten)]
    settings: linkway::Settings,
}

/// Every setting whose value is hidden (`hide_env_values`: the secrets) given a value of
/// its own; the settings' `Debug` shows none of them.
#[test]
fn debug_of_the_settings_shows_no_secret() {
    use clap::{CommandFactory, FromArgMatches};
    let mut args = vec!["linkway".to_owned()];
    let mut secrets = Vec::new();
    for arg in Only::command().get_arguments() {
        if !arg.is_hide_env_values_set() {
            continue;
        }
        let env = arg.get_env().expect("a secret setting has a variable");
        let env = env.to_string_lossy().into_owned();
        let secret = format!("{}-secret-0123456789abcdef0123", env.to_lowercase());
        // A value of each setting's own format, carrying the secret where a secret goes.
        let value = match env.as_str() {
            "LINKWAY_NATS_URL" => format!("nats://linkway:{secret}@127.0.0.1:4222"),
            "LINKWAY_DATABASE_URL" => format!("postgres://linkway:{secret}@127.0.0.1/postgres"),
            "LINKWAY_DATABASE_PASSWORDS" => format!("intake={secret}"),
            "LINKWAY_NATS_USERS" => format!("intake=intake:{secret}"),
            // `id:base64 of 32 bytes`: the key itself is the secret.
            "LINKWAY_KEKS" => {
                let key = "a2VrLW9mLXRoZS1zZXR0aW5ncy1kZWJ1Zy10ZXN0LTA=";
                args.push(format!("--{}", arg.get_long().expect("a flag")));
                args.push(format!("kek-1:{key}"));
                secrets.push((env, key.to_owned()));
                continue;
            }
            _ => secret.clone(),
        };
        args.push(format!("--{}", arg.get_long().expect("a flag")));
        args.push(value);
        secrets.push((env, secret));
    }
    assert!(
        secrets.len() >= 7,
        "the secret settings were found: {secrets:?}"
    );
    let command = Only::command().mut_args(|a| a.env(None));
    let matches = command.try_get_matches_from(&args).unwrap_or_else(|e| {
        panic!("give each secret setting a value of its format in log_scan.rs: {e}")
    });
    let settings = Only::from_arg_matches(&matches).expect("settings").settings;
    let shown = format!("{settings:?}");
    for (env, secret) in &secrets {
        assert!(!shown.contains(secret), "{env}'s value in Debug: {shown}");
    }
}
