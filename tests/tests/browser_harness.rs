//! Tests of the browser harness itself: the test identity provider (`oidc-provider`) and
//! Playwright page scripts in Debian's headless Chromium (`tests/browser/selftest/`).

use axum::Router;
use axum::extract::Query;
use axum::response::{Html, Redirect};
use axum::routing::get;
use linkway_platform::Shutdown;
use linkway_testkit::{
    OidcAccount, OidcClient, OidcConfig, OidcProvider, Server, run_browser_script, serve,
};

/// A PKCE verifier and its S256 challenge (base64url of its SHA-256).
const VERIFIER: &str = "dBjftJeZ4CVP-mJ92IrmSYw9eEchhwY9HsKEs89wWJM";
const CHALLENGE: &str = "Bd_oqR0Wnnr0xKUgvn9vtfThem8UzngKBsSMhf4lijU";

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The provider's authorization endpoint with `query`.
fn auth_url(provider: &OidcProvider, query: &[(&str, &str)]) -> String {
    reqwest::Url::parse_with_params(&format!("{}/auth", provider.issuer()), query)
        .unwrap()
        .to_string()
}

fn provider_for(redirect_uri: &str) -> OidcProvider {
    OidcProvider::start(OidcConfig {
        clients: vec![OidcClient::new("intake", "intake-secret", [redirect_uri])],
        accounts: vec![OidcAccount::person("ada", "Ada Lovelace")],
    })
    .expect("start the OIDC provider")
}

#[tokio::test]
async fn provider_discovery_pkce_and_restart() {
    let redirect_uri = "http://127.0.0.1:9/auth/callback";
    let provider = provider_for(redirect_uri);
    let http = no_redirects();
    let discovery: serde_json::Value = http
        .get(provider.discovery_url())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], provider.issuer());
    let has = |field: &str, value: &str| {
        discovery[field]
            .as_array()
            .is_some_and(|a| a.iter().any(|v| v == value))
    };
    assert!(
        has("code_challenge_methods_supported", "S256"),
        "{discovery}"
    );
    assert!(has("id_token_signing_alg_values_supported", "RS256"));
    for scope in ["openid", "profile", "email"] {
        assert!(has("scopes_supported", scope), "{scope}: {discovery}");
    }
    assert_eq!(
        discovery["response_types_supported"],
        serde_json::json!(["code"])
    );

    // No code_challenge: refused back at the client's redirect URI.
    let authorize = |challenge: Option<&str>| {
        let mut query = vec![
            ("client_id", "intake"),
            ("redirect_uri", redirect_uri),
            ("response_type", "code"),
            ("scope", "openid profile email"),
            ("state", "s1"),
            ("nonce", "n1"),
        ];
        if let Some(c) = challenge {
            query.extend([("code_challenge", c), ("code_challenge_method", "S256")]);
        }
        http.get(auth_url(&provider, &query)).send()
    };
    let refused = authorize(None).await.unwrap();
    let location = refused.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(redirect_uri) && location.contains("error=invalid_request"),
        "{location}"
    );
    let accepted = authorize(Some(CHALLENGE)).await.unwrap();
    let location = accepted.headers()["location"].to_str().unwrap();
    assert!(location.starts_with("/interaction/"), "{location}");

    // An unknown redirect URI is never redirected to.
    let wrong = http
        .get(auth_url(
            &provider,
            &[
                ("client_id", "intake"),
                ("redirect_uri", "http://127.0.0.1:10/auth/callback"),
                ("response_type", "code"),
                ("scope", "openid"),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 400);

    provider.restart().expect("restart");
    // A new client: the old one's pooled connection went with the old process.
    let again = no_redirects()
        .get(provider.discovery_url())
        .send()
        .await
        .unwrap();
    assert!(again.status().is_success());
    assert!(provider.log().contains("oidc-provider ready"));
}

const PAGE: &str = r##"<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Harness check - Linkway</title></head>
<body>
<a id="skip" href="#maincontent">Skip to main content</a>
<main id="maincontent">
<h1>Harness check</h1>
<form method="post" action="/submitted">
  <label for="name">Your name</label>
  <input id="name" name="name" type="text" autocomplete="name">
  <button id="submit" type="submit">Continue</button>
</form>
</main>
</body>
</html>"##;

#[tokio::test]
async fn page_script_runs_axe_screenshot_and_keyboard() {
    let router = Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route(
            "/submitted",
            axum::routing::post(
                |axum::extract::Form(form): axum::extract::Form<
                    std::collections::HashMap<String, String>,
                >| async move {
                    let name = form.get("name").cloned().unwrap_or_default();
                    let name: String = name.chars().filter(|c| c.is_alphanumeric()).collect();
                    Html(format!(
                        "<!DOCTYPE html><html lang=\"en\"><head><title>Done - Linkway</title></head>\
                         <body><main><h1>Thank you, {name}</h1></main></body></html>"
                    ))
                },
            ),
        );
    let (_trigger, shutdown) = Shutdown::new();
    let url = serve(router, shutdown).await;
    let output = run_browser_script("selftest/page.mjs", &[("PAGE_URL", &url)]).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("no-js: focus"), "{stdout}");
    let shots = linkway_testkit::browser::screenshot_dir();
    for file in ["harness-js.png", "harness-no-js.png", "harness-js.axe.json"] {
        assert!(
            shots.join(file).is_file(),
            "{file} not in {}",
            shots.display()
        );
    }
}

#[derive(serde::Deserialize)]
struct Login {
    provider: String,
}

#[tokio::test]
async fn sign_in_through_the_provider_form_without_javascript() {
    // The stand-in service's port comes first: the client's redirect URI names it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let service = format!("http://{}", listener.local_addr().unwrap());
    let redirect_uri = format!("{service}/auth/callback");
    let provider = provider_for(&redirect_uri);
    let account = provider.account("ada").unwrap().clone();

    let authorize = auth_url(
        &provider,
        &[
            ("client_id", "intake"),
            ("redirect_uri", redirect_uri.as_str()),
            ("response_type", "code"),
            ("scope", "openid profile email"),
            ("state", "state-1"),
            ("nonce", "nonce-1"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    );
    let router = Router::new()
        .route(
            "/auth/login",
            get(move |Query(login): Query<Login>| async move {
                assert_eq!(login.provider, "test");
                Redirect::to(&authorize)
            }),
        )
        .route(
            "/auth/callback",
            get(|| async {
                Html("<!DOCTYPE html><html lang=\"en\"><head><title>Signed in - Linkway</title></head><body><main><h1>Signed in</h1></main></body></html>")
            }),
        );
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let issuer = provider.issuer();
    run_browser_script(
        "selftest/oidc.mjs",
        &[
            ("SERVICE_URL", &service),
            ("ISSUER", &issuer),
            ("CLIENT_ID", "intake"),
            ("CLIENT_SECRET", "intake-secret"),
            ("REDIRECT_URI", &redirect_uri),
            ("CODE_VERIFIER", VERIFIER),
            ("STATE", "state-1"),
            ("NONCE", "nonce-1"),
            ("USERNAME", &account.username),
            ("PASSWORD", &account.password),
            ("SUB", &account.sub),
            ("NAME", &account.name),
            ("EMAIL", &account.email),
        ],
    )
    .await;
}
