//! The platform's edge on reporting (written by the platform's helper), over HTTP against
//! a real nats-server and PostgreSQL: an unknown route and a wrong method are problems
//! naming field and rule, a `min_sequence` beyond the log is a 422 at once (not a 503
//! after the wait), and the served document names the operational routes.

use std::time::{Duration, Instant};

use linkway_events::Role;
use linkway_events::registry::OrganisationKind;
use linkway_platform::secret::Secret;
use linkway_reporting::Settings;
use linkway_testkit::TestEnv;
use reqwest::StatusCode;
use serde_json::Value;

const ICB: &str = "edges-icb";

/// A running reporting service and a commissioner's token it knows.
async fn reporting() -> (TestEnv, String, String) {
    let env = TestEnv::shared();
    env.register_organisation(ICB, OrganisationKind::Commissioner, Some("QE1"), false)
        .await;
    let (token, _) = env.issue_token(ICB, Role::Commissioner).await;
    let settings = Settings::new(Secret::new("edges-platform-test-pseudonym-key"));
    let router = linkway_reporting::start_with(env.context("reporting").await, settings)
        .await
        .expect("reporting starts");
    let base = linkway_testkit::serve(router, env.shutdown()).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while get(&base, &token, "/summary").await.0 == StatusCode::UNAUTHORIZED {
        assert!(Instant::now() < deadline, "token never became usable");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (env, base, token)
}

async fn send(request: reqwest::RequestBuilder, token: &str) -> (StatusCode, String, Value) {
    let res = request.bearer_auth(token).send().await.expect("answer");
    let status = res.status();
    let media = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = res.text().await.unwrap();
    (
        status,
        media,
        serde_json::from_str(&body).unwrap_or(Value::Null),
    )
}

async fn get(base: &str, token: &str, path: &str) -> (StatusCode, String, Value) {
    send(reqwest::Client::new().get(format!("{base}{path}")), token).await
}

fn named(p: &Value) -> (&str, &str) {
    (
        p["errors"][0]["field"].as_str().unwrap_or_default(),
        p["errors"][0]["rule"].as_str().unwrap_or_default(),
    )
}

#[tokio::test]
async fn reporting_answers_an_unknown_route_and_a_wrong_method_as_problems() {
    let (_env, base, token) = reporting().await;
    let (status, media, p) = get(&base, &token, "/summaries").await;
    assert_eq!(
        (status, media.as_str()),
        (StatusCode::NOT_FOUND, "application/problem+json")
    );
    assert_eq!(named(&p), ("path", "route"));
    let delete = reqwest::Client::new().delete(format!("{base}/feed"));
    let (status, media, p) = send(delete, &token).await;
    assert_eq!(
        (status, media.as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, "application/problem+json")
    );
    assert_eq!(named(&p), ("method", "allowed_methods"));
}

#[tokio::test]
async fn a_reporting_min_sequence_beyond_the_log_is_refused_at_once_not_retried() {
    let (env, base, token) = reporting().await;
    let end = env.store().await.last_sequence().await.expect("log end");
    let started = Instant::now();
    for path in ["/summary", "/feed"] {
        let path = format!("{path}?min_sequence={}", end + 1_000_000);
        let (status, _, p) = get(&base, &token, &path).await;
        assert_eq!(status, StatusCode::CONFLICT, "{path}: {p}");
        assert_eq!(named(&p), ("min_sequence", "beyond_log_end"), "{path}");
    }
    assert!(started.elapsed() < linkway_platform::read_your_writes::WAIT);
    let (status, _, p) = get(&base, &token, &format!("/summary?min_sequence={end}")).await;
    assert_eq!(status, StatusCode::OK, "{p}");
}

#[tokio::test]
async fn reportings_served_document_names_the_operational_routes_with_their_shapes() {
    let (_env, base, token) = reporting().await;
    let (_, _, doc) = get(&base, &token, "/openapi.json").await;
    let ready = &doc["paths"]["/readyz"]["get"]["responses"];
    for status in ["200", "503"] {
        let schema = &ready[status]["content"]["application/json"]["schema"]["$ref"];
        assert_eq!(schema, "#/components/schemas/ReadinessReport", "{ready}");
    }
    assert!(doc["components"]["schemas"]["ProjectionReadiness"].is_object());
    let health = &doc["paths"]["/healthz"]["get"]["responses"]["200"]["content"];
    assert_eq!(
        health["application/json"]["schema"]["$ref"],
        "#/components/schemas/Health"
    );
    let metrics = &doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"];
    assert!(
        metrics["application/openmetrics-text"].is_object(),
        "{metrics}"
    );
}
