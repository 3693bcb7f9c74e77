//! The one fixture page tests share: `linkway serve` of all three services with a real
//! OpenID Connect provider ([`OidcProvider`]) as its identity provider, and the people who
//! sign in registered as users of their organisations. A page test registers its
//! organisations (and whatever else it needs) on [`Pages::env`], then runs its Playwright
//! script with [`Pages::run_script`], which passes each service's URL and every person's
//! username and password.

use std::time::Duration;

use linkway_events::Role;
use linkway_events::registry::{RegistryEvent, UserRegistered};
use uuid::Uuid;

use crate::{Linkway, OidcAccount, OidcClient, OidcConfig, OidcProvider, TestEnv};

/// Someone who signs in: their provider account's username and name, and who they are in
/// Linkway.
#[derive(Debug, Clone)]
pub struct Person {
    pub username: &'static str,
    pub name: &'static str,
    pub organisation_id: &'static str,
    pub roles: Vec<Role>,
}

/// A running `linkway serve` signed in to through a real provider.
pub struct Pages {
    pub env: TestEnv,
    pub linkway: Linkway,
    pub provider: OidcProvider,
    pub people: Vec<Person>,
}

const CLIENT_ID: &str = "linkway-pages-test";
const CLIENT_SECRET: &str = "pages-test-client-secret";

impl Pages {
    /// Starts the provider (one account per person), then `linkway serve` (the `linkway`
    /// executable at `binary`) using it, and waits until every service is ready. The
    /// people are registered once their organisations are: call [`Pages::register_people`].
    pub async fn start(binary: &str, people: Vec<Person>) -> Pages {
        let env = TestEnv::shared();
        let linkway = Linkway::new(
            binary,
            std::slice::from_ref(&env.nats_url),
            &env.postgres_url,
            &env.scope,
        )
        .expect("linkway process");
        let services = ["intake", "link-worker", "reporting"];
        let provider = OidcProvider::start(OidcConfig {
            clients: vec![OidcClient::new(
                CLIENT_ID,
                CLIENT_SECRET,
                services.map(|s| format!("{}/auth/callback", linkway.url(s))),
            )],
            accounts: people
                .iter()
                .map(|p| OidcAccount::person(p.username, p.name))
                .collect(),
        })
        .expect("OpenID provider");
        let public: Vec<String> = services
            .iter()
            .map(|s| format!("{s}={}", linkway.url(s)))
            .collect();
        let linkway = linkway
            .env(
                "LINKWAY_OIDC_PROVIDERS",
                format!("Test identity provider|{}|{CLIENT_ID}", provider.issuer()),
            )
            .env("LINKWAY_OIDC_CLIENT_SECRETS", CLIENT_SECRET)
            .env("LINKWAY_PUBLIC_URLS", public.join(","))
            .env(
                "LINKWAY_SESSION_KEY",
                "pages-test-session-key-0123456789abcdef",
            )
            // The process runs elsewhere: the design system's files by their full path.
            .env(
                "LINKWAY_ASSETS_DIR",
                concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../web/node_modules/nhsuk-frontend/dist/nhsuk"
                ),
            );
        linkway
            .start_ready(Duration::from_secs(90))
            .await
            .expect("linkway ready");
        Pages {
            env,
            linkway,
            provider,
            people,
        }
    }

    /// Registers every person as a user of their organisation (register the organisations
    /// first); returns the sequence of the last registration.
    pub async fn register_people(&self) -> u64 {
        let mut last = 0;
        for person in &self.people {
            let account = self.provider.account(person.username).expect("an account");
            let user_id = Uuid::now_v7();
            let event = RegistryEvent::UserRegistered(UserRegistered {
                user_id,
                organisation_id: person.organisation_id.into(),
                roles: person.roles.clone(),
                display_name: person.name.into(),
                issuer: self.provider.issuer(),
                subject: account.sub.clone(),
            });
            last = self
                .env
                .append_registry(&user_id.to_string(), event.into())
                .await;
        }
        last
    }

    /// Runs `tests/browser/<script>` with `INTAKE_URL`, `LINK_WORKER_URL`, `REPORTING_URL`,
    /// `PEOPLE` (JSON: username -> {password, name, organisation}) and `extra`.
    pub async fn run_script(&self, script: &str, extra: &[(&str, &str)]) {
        let people: serde_json::Map<String, serde_json::Value> = self
            .people
            .iter()
            .map(|p| {
                let account = self.provider.account(p.username).expect("an account");
                (
                    p.username.to_owned(),
                    serde_json::json!({
                        "password": account.password,
                        "name": p.name,
                        "organisation": p.organisation_id,
                    }),
                )
            })
            .collect();
        let people = serde_json::Value::Object(people).to_string();
        let (intake, link_worker, reporting) = (
            self.linkway.url("intake"),
            self.linkway.url("link-worker"),
            self.linkway.url("reporting"),
        );
        let mut env: Vec<(&str, &str)> = vec![
            ("INTAKE_URL", &intake),
            ("LINK_WORKER_URL", &link_worker),
            ("REPORTING_URL", &reporting),
            ("PEOPLE", &people),
        ];
        env.extend_from_slice(extra);
        // It fails the test with the script's output when the script fails.
        crate::run_browser_script(script, &env).await;
    }
}
