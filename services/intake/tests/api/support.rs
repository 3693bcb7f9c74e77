//! Shared set-up: a running intake, organisations, routing rules, tokens, a valid referral.

use std::time::{Duration, Instant};

use linkway_events::registry::{
    OrganisationKind, OrganisationRegistered, RegistryEvent, RoutingCriterion, RoutingRuleAdded,
};
use linkway_events::{Actor, Envelope, Event, Role};
use linkway_eventstore::{Expected, PendingEvent};
use linkway_testkit::{TestEnv, serve};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

pub const GP: &str = "gp-meadowbank";
pub const OTHER_GP: &str = "gp-riverside";
pub const SERVICE: &str = "lw-leeds-north";
pub const OTHER_SERVICE: &str = "lw-leeds-south";
pub const ICB: &str = "icb-west-yorkshire";
pub const OPS: &str = "linkway-ops";

/// A running intake on a private stream and database.
#[allow(dead_code)] // helpers used by some test modules only
pub struct Intake {
    pub env: TestEnv,
    pub base: String,
    pub http: reqwest::Client,
}

#[allow(dead_code)]
impl Intake {
    /// Starts intake with the usual organisations registered and no routing rules.
    pub async fn start() -> Intake {
        Intake::start_with(linkway_platform::web::WebSettings::for_tests()).await
    }

    /// [`Intake::start`] with these page settings (demo users, for a one-click sign-in).
    pub async fn start_with(web: linkway_platform::web::WebSettings) -> Intake {
        let env = Intake::registered().await;
        let mut ctx = env.context("intake").await;
        ctx.web = std::sync::Arc::new(web);
        let router = linkway_intake::start(ctx).await.expect("intake starts");
        let base = serve(router, env.shutdown()).await;
        Intake {
            env,
            base,
            http: reqwest::Client::new(),
        }
    }

    /// [`Intake::start`] with these self-referral settings, served as `linkway serve`
    /// serves it: each request knows its client address, so limits per address count.
    pub async fn start_self_referral(
        settings: linkway_intake::self_referral::SelfReferralSettings,
    ) -> Intake {
        let env = Intake::registered().await;
        let ctx = env.context("intake").await;
        let router = linkway_intake::start_with(ctx, settings)
            .await
            .expect("intake starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shutdown = env.shutdown();
        tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown.wait())
            .await
            .expect("serve");
        });
        Intake {
            env,
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
        }
    }

    /// A test environment with the usual organisations registered.
    async fn registered() -> TestEnv {
        let env = TestEnv::shared();
        for (org, kind, lw) in [
            (GP, OrganisationKind::GpPractice, false),
            (OTHER_GP, OrganisationKind::GpPractice, false),
            (SERVICE, OrganisationKind::Pcn, true),
            (OTHER_SERVICE, OrganisationKind::Vcse, true),
            (ICB, OrganisationKind::Commissioner, false),
            (OPS, OrganisationKind::Other, false),
        ] {
            env.register_organisation(org, kind, Some("QWO"), lw).await;
        }
        env
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Registers an organisation with an ODS code (for FHIR senders).
    pub async fn register_with_code(&self, org: &str, code: &str) {
        let event: Event = RegistryEvent::OrganisationRegistered(OrganisationRegistered {
            organisation_id: org.into(),
            name: format!("{org} (test)"),
            kind: OrganisationKind::GpPractice,
            code: Some(code.into()),
            commissioner_area: Some("QWO".into()),
            link_worker_service: false,
            directory_services: Vec::new(),
        })
        .into();
        self.append(org, event).await;
    }

    /// Adds a routing rule; it is visible once a token issued after it is.
    pub async fn add_rule(&self, to: &str, criterion: RoutingCriterion, priority: i32) -> Uuid {
        let rule_id = Uuid::now_v7();
        let event: Event = RegistryEvent::RoutingRuleAdded(RoutingRuleAdded {
            rule_id,
            link_worker_organisation_id: to.into(),
            criterion,
            priority,
        })
        .into();
        self.append(&rule_id.to_string(), event).await;
        rule_id
    }

    pub async fn append(&self, aggregate_id: &str, event: Event) -> u64 {
        let envelope = Envelope::new(
            aggregate_id,
            &event,
            Actor::system(),
            Uuid::now_v7(),
            OffsetDateTime::now_utc(),
        );
        self.env
            .store()
            .await
            .append(
                event.aggregate_kind(),
                aggregate_id,
                Expected::Any,
                vec![PendingEvent::new(envelope)],
            )
            .await
            .expect("append")
            .last_sequence()
    }

    /// Issues a token and waits until intake accepts it (the registry projection caught up).
    pub async fn token(&self, org: &str, role: Role) -> String {
        let (secret, _) = self.env.issue_token(org, role).await;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let status = self
                .http
                .get(self.url("/referrals"))
                .bearer_auth(&secret)
                .send()
                .await
                .expect("request")
                .status();
            if status != StatusCode::UNAUTHORIZED {
                return secret;
            }
            assert!(
                Instant::now() < deadline,
                "token for {org} never became usable"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub async fn submit(&self, token: &str, body: &Value) -> (StatusCode, Value) {
        self.submit_with_key(token, body, None).await
    }

    pub async fn submit_with_key(
        &self,
        token: &str,
        body: &Value,
        key: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .post(self.url("/referrals"))
            .bearer_auth(token)
            .json(body);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let res = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, token: &str, path: &str, body: &Value) -> (StatusCode, Value) {
        let res = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request");
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// The referral's events, decoded, in order.
    pub async fn events(&self, referral_id: &str) -> Vec<(Envelope, Event)> {
        self.env
            .opened_store()
            .await
            .load("referral", referral_id)
            .await
            .expect("load")
            .iter()
            .map(|r| r.decode().expect("decodes"))
            .collect()
    }

    /// The last sequence in the log: unchanged means nothing was appended.
    pub async fn log_end(&self) -> u64 {
        self.env
            .store()
            .await
            .last_sequence()
            .await
            .expect("log end")
    }
}

/// A referral that passes every rule.
pub fn referral() -> Value {
    json!({
        "person": {
            "nhs_number": "9434765919",
            "nhs_number_verification": "number-present-and-verified",
            "given_name": "Robin",
            "family_name": "Example",
            "birth_date": "1961-05-17",
            "address": {"lines": ["14 Imaginary Row", "Leeds"], "postcode": "LS6 9ZZ"},
            "phone": "07700 900123",
            "preferred_contact_method": "phone",
            "language": "en"
        },
        "needs_and_concerns": {
            "codes": [{"code": "422650009", "display": "Social isolation"}],
            "text": "Lives alone since her partner died"
        },
        "urgency": "routine",
        "safeguarding_concern": false,
        "legal_basis": "public_task_health_care",
        "consent": {"referral_agreed": true, "share_details_with_referrer": true},
        "practitioner": {"name": "Dr Placeholder", "role": "GP"}
    })
}

pub fn district(d: &str) -> RoutingCriterion {
    RoutingCriterion::PostcodeDistrict { district: d.into() }
}

pub fn from_org(org: &str) -> RoutingCriterion {
    RoutingCriterion::ReferringOrganisation {
        organisation_id: org.into(),
    }
}
