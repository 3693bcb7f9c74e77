//! Sign-in on a service with no public URL (`LINKWAY_PUBLIC_URLS` unset) listening on
//! port 0: its way back from the identity provider is the address it was given, so the
//! sign-in starts and the provider is asked to send the browser back there (before, there
//! was no URL to come back to and sign-in could not start). A real OpenID provider
//! (`oidc-provider`), the service in process on real NATS and PostgreSQL.

use linkway::{ServiceName, Settings};
use linkway_platform::secret::Secret;
use linkway_testkit::TestEnv;
use linkway_testkit::oidc::{OidcClient, OidcConfig, OidcProvider};
use reqwest::StatusCode;

/// The `redirect_uri` a redirect to the provider's authorization endpoint asks for.
fn redirect_uri(location: &str) -> String {
    reqwest::Url::parse(location)
        .expect("an absolute URL")
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .map(|(_, v)| v.into_owned())
        .expect("redirect_uri")
}

#[tokio::test]
async fn sign_in_starts_on_port_0_without_a_public_url() {
    let provider = OidcProvider::start(OidcConfig {
        clients: vec![OidcClient::new(
            "linkway-intake",
            "a-client-secret-for-the-test",
            ["http://127.0.0.1:1/auth/callback"],
        )],
        accounts: Vec::new(),
    })
    .expect("the OpenID provider (deploy/browser.sh installs it)");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // Bound to loopback, and to every address (said as loopback: a browser here reaches it).
    for bind in ["127.0.0.1", "0.0.0.0"] {
        let env = TestEnv::shared();
        let settings = Settings {
            nats_url: vec![env.nats_url.clone()],
            database_url: Secret::new(env.postgres_url.clone()),
            database_prefix: env.scope.database_prefix.clone(),
            stream: env.scope.stream.clone(),
            subject_prefix: env.scope.subject_prefix.clone(),
            bind: bind.parse().unwrap(),
            intake_port: 0,
            public_urls: Vec::new(),
            oidc_providers: vec![format!(
                "Test provider|{}|linkway-intake",
                provider.issuer()
            )],
            oidc_client_secrets: vec![Secret::new("a-client-secret-for-the-test")],
            ..Settings::defaults()
        };
        let server = linkway::serve::start(&settings, &[ServiceName::Intake], None)
            .await
            .expect("intake starts");
        let port = server.running[0].addr.port();
        assert_ne!(port, 0);
        let response = http
            .get(format!("http://127.0.0.1:{port}/auth/login?provider=0"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{bind}");
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        assert!(
            location.starts_with(&provider.issuer()),
            "{bind}: to the provider, not {location}"
        );
        assert_eq!(
            redirect_uri(&location),
            format!("http://127.0.0.1:{port}/auth/callback"),
            "{bind}"
        );
        assert!(
            response.headers()["set-cookie"]
                .to_str()
                .unwrap()
                .contains("HttpOnly"),
            "the sign-in's cookie is set"
        );
        server.stop().await.expect("stops");
    }
}
