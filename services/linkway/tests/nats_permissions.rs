//! NATS least privilege with the deployment's own server configuration
//! (`deploy/nats/linkway.conf` and its `accounts.conf`, run by a real nats-server): each
//! service connects as its own NATS user and does its job (a referral submitted to intake
//! becomes a case link-worker accepts and reporting counts; a person signs in on
//! reporting's pages, through the registry's user), while every user is refused, by the
//! server, what lies outside its subjects: intake publishing a case event, link-worker a
//! referral, reporting anything, a service a registry event, anyone deleting or purging the
//! stream. Only the operator may create or change the stream.

use std::time::{Duration, Instant};

use async_nats::jetstream;
use futures::StreamExt;
use linkway::{ServiceName, Settings};
use linkway_events::registry::{
    OrganisationKind, OrganisationRegistered, RegistryEvent, TokenIssued, UserRegistered,
};
use linkway_events::{Event, Role};
use linkway_platform::secret::Secret;
use linkway_platform::web::DemoUser;
use linkway_platform::web::settings::DEMO_ISSUER;
use linkway_testkit::{Nats, Scope, shared_postgres};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::mpsc;
use uuid::Uuid;

/// The users of `deploy/nats/accounts.conf` with the passwords this test gives them.
const USERS: [(&str, &str, &str); 6] = [
    ("intake", "NATS_INTAKE_PASSWORD", "pw-intake-0123456789"),
    (
        "link-worker",
        "NATS_LINK_WORKER_PASSWORD",
        "pw-lw-0123456789",
    ),
    (
        "reporting",
        "NATS_REPORTING_PASSWORD",
        "pw-reporting-0123456789",
    ),
    (
        "registry",
        "NATS_REGISTRY_PASSWORD",
        "pw-registry-0123456789",
    ),
    (
        "operator",
        "NATS_OPERATOR_PASSWORD",
        "pw-operator-0123456789",
    ),
    ("system", "NATS_SYSTEM_PASSWORD", "pw-system-0123456789"),
];

const GP: &str = "gp-perm";
const LW: &str = "lw-perm";
const ICB: &str = "icb-perm";

fn password(user: &str) -> &'static str {
    USERS.iter().find(|(u, _, _)| *u == user).unwrap().2
}

/// nats-server with the shipped one-machine configuration.
fn deployed_nats() -> Nats {
    let config =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/nats/linkway.conf");
    let env: Vec<(&str, &str)> = USERS.iter().map(|(_, var, pw)| (*var, *pw)).collect();
    Nats::start_with_config(&config, &env).expect("nats-server with deploy/nats/linkway.conf")
}

/// Prints the server's log when the test fails (what it refused, and why).
struct LogOnFailure<'a>(&'a Nats);

impl Drop for LogOnFailure<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("nats-server's log:\n{}", self.0.log());
        }
    }
}

/// `nats://user:password@127.0.0.1:<port>`.
fn url_as(nats: &Nats, user: &str) -> String {
    nats.url()
        .replace("nats://", &format!("nats://{user}:{}@", password(user)))
}

/// A plain client logged in as `user`, and what the server refuses it.
async fn client_as(
    nats: &Nats,
    user: &str,
) -> (async_nats::Client, mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let client = async_nats::ConnectOptions::new()
        .user_and_password(user.into(), password(user).into())
        .event_callback(move |event| {
            let tx = tx.clone();
            async move {
                if let async_nats::Event::ServerError(async_nats::ServerError::Other(e)) = event {
                    let _ = tx.send(e);
                }
            }
        })
        .connect(nats.url())
        .await
        .unwrap_or_else(|e| panic!("{user} connects: {e}"));
    (client, rx)
}

/// Settings of a process whose services each log in as their own NATS user.
fn settings(nats: &Nats, scope: &Scope) -> Settings {
    let mut s = Settings {
        nats_url: vec![nats.url()],
        database_url: Secret::new(shared_postgres().url()),
        database_prefix: scope.database_prefix.clone(),
        // The names the deployment's permissions are written for.
        stream: "LINKWAY".into(),
        subject_prefix: "linkway".into(),
        batch_delay_ms: 5,
        intake_port: 0,
        link_worker_port: 0,
        reporting_port: 0,
        pseudonym_key: Some(Secret::new("nats-permissions-test-pseudonym-key")),
        // Intake and link-worker seal personal parts: their users reach the key bucket.
        keks: Some(Secret::new(linkway_testkit::TEST_KEKS)),
        ..Settings::defaults()
    };
    s.nats_access.nats_users = ["intake", "link-worker", "reporting", "registry"]
        .iter()
        .map(|u| Secret::new(format!("{u}={u}:{}", password(u))))
        .collect();
    s
}

/// The operator's process: creates the stream (`linkway migrate --with-stream`'s step).
async fn create_stream(nats: &Nats, scope: &Scope) {
    let operator = Settings {
        nats_url: vec![url_as(nats, "operator")],
        ..settings(nats, scope)
    };
    let mut operator = operator;
    operator.nats_access.nats_users.clear();
    let name = linkway::migrate::stream(&operator)
        .await
        .expect("the operator creates the stream");
    assert_eq!(name, "LINKWAY");
}

async fn get(http: &reqwest::Client, url: &str, token: &str) -> (StatusCode, Value) {
    let response = http.get(url).bearer_auth(token).send().await.expect("GET");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn wait_until<F, Fut>(what: &str, mut ok: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ok().await {
        assert!(Instant::now() < deadline, "{what}: not within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The server's view of its clients (`$SYS.REQ.SERVER.PING.CONNZ` as the system user):
/// each connection's client name and the user it authenticated as.
async fn connections(nats: &Nats) -> Vec<(String, String)> {
    let (system, _) = client_as(nats, "system").await;
    let reply = system
        .request("$SYS.REQ.SERVER.PING.CONNZ", r#"{"auth": true}"#.into())
        .await
        .expect("connz");
    let connz: Value = serde_json::from_slice(&reply.payload).unwrap();
    connz["data"]["connections"]
        .as_array()
        .expect("connections")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_owned(),
                c["authorized_user"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_service_does_its_job_as_its_own_nats_user() {
    let nats = deployed_nats();
    let _log = LogOnFailure(&nats);
    let scope = Scope::new();
    create_stream(&nats, &scope).await;
    let settings = settings(&nats, &scope);
    let registry = Registry::connect(&nats, &settings).await;
    let mut web = (*settings.web().unwrap()).clone();
    web.demo_users = vec![DemoUser {
        subject: "commissioner-perm".into(),
        label: "A commissioner".into(),
    }];
    let server = linkway::serve::start_with(
        &settings,
        &ServiceName::ALL,
        settings.pseudonym_key.as_ref(),
        std::sync::Arc::new(web),
    )
    .await
    .expect("the services start as their own NATS users");
    let url = |name: ServiceName| {
        let r = server.running.iter().find(|r| r.service == name).unwrap();
        format!("http://{}", r.addr)
    };

    // One connection per service and one for the registry's writes, each its own user.
    let mut seen = connections(&nats).await;
    seen.retain(|(name, _)| name.starts_with("linkway"));
    seen.sort();
    assert_eq!(
        seen,
        [
            ("linkway-intake", "intake"),
            ("linkway-link-worker", "link-worker"),
            ("linkway-registry", "registry"),
            ("linkway-reporting", "reporting"),
        ]
        .map(|(n, u)| (n.to_owned(), u.to_owned()))
    );

    // The registry, as `linkway admin` writes it (the registry's user).
    registry
        .organisation(GP, OrganisationKind::GpPractice, false)
        .await;
    registry.organisation(LW, OrganisationKind::Pcn, true).await;
    registry
        .organisation(ICB, OrganisationKind::Commissioner, false)
        .await;
    let admin_settings = Settings {
        nats_url: vec![nats.url()],
        ..settings.clone()
    };
    linkway::admin::run_cli(
        &admin_settings,
        linkway::admin::AdminCommand::Rule(linkway::admin::RuleCommand::Add {
            to: LW.into(),
            from_org: Some(GP.into()),
            postcode_district: None,
            priority: 1,
        }),
    )
    .await
    .expect("`linkway admin` adds a rule as the registry's user");
    let referrer = registry.token(GP, Role::Referrer).await;
    let link_worker = registry.token(LW, Role::LinkWorker).await;
    let commissioner = registry.token(ICB, Role::Commissioner).await;

    // Intake appends referral events as `intake`.
    let http = reqwest::Client::new();
    let mut ids = Vec::new();
    for i in 0..10 {
        let deadline = Instant::now() + Duration::from_secs(30);
        let id = loop {
            let response = http
                .post(format!("{}/referrals", url(ServiceName::Intake)))
                .bearer_auth(&referrer)
                .header("Idempotency-Key", format!("perm-{i}"))
                .json(&linkway::demo::referral_body(i))
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap();
            if status == StatusCode::CREATED {
                break body["referral_id"].as_str().unwrap().to_owned();
            }
            // The token is not in intake's registry yet.
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
            assert!(Instant::now() < deadline, "intake did not accept the token");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        ids.push(id);
    }

    // Link-worker reads them and appends its case events as `link-worker`.
    wait_until("the cases are on the caseload", || async {
        let (status, page) = get(
            &http,
            &format!("{}/caseload?limit=50", url(ServiceName::LinkWorker)),
            &link_worker,
        )
        .await;
        status == StatusCode::OK && page["total"] == 10
    })
    .await;
    let accepted = http
        .post(format!(
            "{}/cases/{}/accept",
            url(ServiceName::LinkWorker),
            ids[0]
        ))
        .bearer_auth(&link_worker)
        .send()
        .await
        .unwrap();
    let status = accepted.status();
    let body: Value = accepted.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, case) = get(
        &http,
        &format!(
            "{}/cases/{}?min_sequence={}",
            url(ServiceName::LinkWorker),
            ids[0],
            body["sequence"]
        ),
        &link_worker,
    )
    .await;
    assert_eq!(case["state"], "accepted", "{case}");

    // Reporting reads the log as `reporting` and counts them.
    wait_until("reporting counts the referrals", || async {
        let (status, summary) = get(
            &http,
            &format!("{}/summary", url(ServiceName::Reporting)),
            &commissioner,
        )
        .await;
        status == StatusCode::OK && summary["measures"]["referrals"]["total"] == 10
    })
    .await;

    // Signing in on reporting's pages appends `user.signed_in`: through the registry's
    // user, since reporting's own may publish nothing.
    let user_id = Uuid::now_v7();
    let registered: Event = RegistryEvent::UserRegistered(UserRegistered {
        user_id,
        organisation_id: ICB.into(),
        roles: vec![Role::Commissioner],
        display_name: "A commissioner (test)".into(),
        issuer: DEMO_ISSUER.into(),
        subject: "commissioner-perm".into(),
    })
    .into();
    let signed_up = registry.append(&user_id.to_string(), registered).await;
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    wait_until("the commissioner signs in on reporting", || async {
        let response = browser
            .post(format!("{}/auth/demo", url(ServiceName::Reporting)))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("subject=commissioner-perm&return_to=%2F")
            .send()
            .await
            .unwrap();
        response.status() == StatusCode::SEE_OTHER && response.headers().get("set-cookie").is_some()
    })
    .await;
    let user_events: Vec<(u64, String)> = registry
        .store
        .load("user", &user_id.to_string())
        .await
        .expect("the user's events")
        .iter()
        .map(|e| {
            let envelope: linkway_events::Envelope = serde_json::from_slice(&e.payload).unwrap();
            (e.sequence, envelope.event_type)
        })
        .collect();
    assert_eq!(
        user_events.len(),
        2,
        "registered, then signed in: {user_events:?}"
    );
    assert!(user_events[1].0 > signed_up);
    assert_eq!(user_events[1].1, "user.signed_in");
    server.stop().await.expect("stops cleanly");
    // All of it within the permissions: the server refused nothing on the way.
    let log = nats.log();
    let refusals: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("Violation") || l.contains("authentication error"))
        .collect();
    assert!(refusals.is_empty(), "{refusals:#?}");
}

/// The registry's writer, as `linkway admin` is: the registry's NATS user.
struct Registry {
    store: linkway_eventstore::EventStore,
}

impl Registry {
    async fn connect(nats: &Nats, settings: &Settings) -> Registry {
        let client = linkway_platform::nats::connect(&[url_as(nats, "registry")], "test-registry")
            .await
            .expect("the registry's user connects");
        let store = linkway_eventstore::EventStore::connect(client, settings.store_config())
            .await
            .expect("the registry's user reads the stream's settings");
        Registry { store }
    }

    async fn append(&self, aggregate_id: &str, event: Event) -> u64 {
        use linkway_eventstore::{Expected, PendingEvent};
        let envelope = linkway_events::Envelope::new(
            aggregate_id,
            &event,
            linkway_events::Actor::system(),
            Uuid::now_v7(),
            time::OffsetDateTime::now_utc(),
        );
        self.store
            .append(
                event.aggregate_kind(),
                aggregate_id,
                Expected::Any,
                vec![PendingEvent::new(envelope)],
            )
            .await
            .expect("append a registry event")
            .last_sequence()
    }

    async fn organisation(&self, id: &str, kind: OrganisationKind, service: bool) {
        let event: Event = RegistryEvent::OrganisationRegistered(OrganisationRegistered {
            organisation_id: id.into(),
            name: format!("{id} (test)"),
            kind,
            code: None,
            commissioner_area: Some("QPM".into()),
            link_worker_service: service,
            directory_services: Vec::new(),
        })
        .into();
        self.append(id, event).await;
    }

    /// A bearer token for `organisation` as `role`: its secret.
    async fn token(&self, organisation: &str, role: Role) -> String {
        let token = linkway_platform::auth::mint_token();
        let event: Event = RegistryEvent::TokenIssued(TokenIssued {
            token_id: token.token_id,
            organisation_id: organisation.into(),
            role,
            user_id: None,
            secret_sha256: token.secret_sha256,
            label: Some("test".into()),
            expires_at: None,
            replaces: None,
        })
        .into();
        self.append(&token.token_id.to_string(), event).await;
        token.secret
    }
}

/// Publishes `subject` as the client, which the server must refuse: the refusal it sends
/// back (an -ERR, which async-nats hands to the event callback).
async fn refused(
    client: &async_nats::Client,
    refusals: &mut mpsc::UnboundedReceiver<String>,
    subject: &str,
) -> String {
    client
        .publish(subject.to_owned(), "{}".into())
        .await
        .expect("publish is sent");
    client.flush().await.expect("flush");
    next_refusal(refusals, subject).await
}

/// The next refusal the server sent; the server sends it at once, and it is waited for
/// well beyond that.
async fn next_refusal(refusals: &mut mpsc::UnboundedReceiver<String>, what: &str) -> String {
    tokio::time::timeout(Duration::from_secs(10), refusals.recv())
        .await
        .unwrap_or_else(|_| panic!("the server did not refuse {what}"))
        .expect("the connection is open")
}

#[tokio::test]
async fn each_user_is_refused_every_subject_but_its_own() {
    let nats = deployed_nats();
    let _log = LogOnFailure(&nats);
    let scope = Scope::new();
    create_stream(&nats, &scope).await;
    let id = Uuid::now_v7();
    let subject = |kind: &str| format!("linkway.{kind}.{id}");
    let kinds = [
        "referral",
        "case",
        "audit",
        "organisation",
        "routing_rule",
        "token",
        "user",
    ];
    for (user, own) in [
        ("intake", &["referral", "audit"][..]),
        ("link-worker", &["case", "audit"][..]),
        ("reporting", &[][..]),
        (
            "registry",
            &["organisation", "routing_rule", "token", "user"][..],
        ),
    ] {
        let (client, mut refusals) = client_as(&nats, user).await;
        let js = jetstream::new(client.clone());
        for kind in kinds {
            let subject = subject(kind);
            if own.contains(&kind) {
                // Its own: stored, as the stream's acknowledgement says.
                js.publish(subject.clone(), "{}".into())
                    .await
                    .expect("published")
                    .await
                    .unwrap_or_else(|e| panic!("{user} may publish {subject}: {e}"));
            } else {
                let refusal = refused(&client, &mut refusals, &subject).await;
                assert!(
                    refusal.contains("Permissions Violation for Publish")
                        && refusal.contains(&subject),
                    "{user}: {refusal}"
                );
            }
        }
        // Nobody but the operator may change the stream, and nobody may delete or purge
        // it or a message in it.
        for api in [
            "$JS.API.STREAM.CREATE.LINKWAY",
            "$JS.API.STREAM.UPDATE.LINKWAY",
            "$JS.API.STREAM.DELETE.LINKWAY",
            "$JS.API.STREAM.PURGE.LINKWAY",
            "$JS.API.STREAM.MSG.DELETE.LINKWAY",
            "$JS.API.STREAM.CREATE.OTHER",
        ] {
            let refusal = refused(&client, &mut refusals, api).await;
            assert!(
                refusal.contains("Permissions Violation") && refusal.contains(api),
                "{user}, {api}: {refusal}"
            );
        }
        // Nor read the log but through JetStream (no subscription to its subjects).
        let _sub = client.subscribe("linkway.>").await.unwrap();
        client.flush().await.unwrap();
        let refusal = next_refusal(&mut refusals, "a subscription to linkway.>").await;
        assert!(
            refusal.contains("Permissions Violation for Subscription"),
            "{user} subscribed to linkway.>: {refusal}"
        );
    }

    // What the refusals kept out never reached the stream: only the permitted publishes
    // (one referral, one case, two audit entries, four registry events) are in it.
    let (operator, mut refusals) = client_as(&nats, "operator").await;
    let js = jetstream::new(operator.clone());
    let mut stream = js.get_stream("LINKWAY").await.expect("the stream exists");
    let info = stream.info().await.expect("stream info");
    assert_eq!(info.state.messages, 8, "{:?}", info.state);
    // The operator may change the stream's settings, but not delete it.
    let mut config = info.config.clone();
    config.description = Some("changed by the operator".into());
    js.update_stream(&config)
        .await
        .expect("the operator updates");
    let refusal = refused(&operator, &mut refusals, "$JS.API.STREAM.DELETE.LINKWAY").await;
    assert!(
        refusal.contains("Permissions Violation"),
        "the operator may not delete the stream: {refusal}"
    );
    assert!(js.get_stream("LINKWAY").await.is_ok());
    // A service's user reads the log by the stream's own API (direct gets, consumers).
    let (reporting, _) = client_as(&nats, "reporting").await;
    let reader = jetstream::new(reporting);
    let stream = reader.get_stream("LINKWAY").await.expect("stream info");
    let first = stream.direct_get(1).await.expect("a direct get");
    assert!(first.subject.starts_with("linkway."));
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::OrderedConfig::default())
        .await
        .expect("an ordered consumer");
    let mut messages = consumer.messages().await.expect("messages");
    let mut read = 0;
    while read < 8 {
        messages.next().await.expect("a message").expect("no error");
        read += 1;
    }
}
