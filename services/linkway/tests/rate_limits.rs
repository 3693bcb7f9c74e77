//! Rate limits on the real `linkway serve` over the harness's real nats-server and
//! PostgreSQL, configured tiny (3 requests an hour per token and per address: one comes
//! back every 20 minutes, so nothing here depends on timing):
//!
//! - a token over its limit gets `429` with `Retry-After` and a problem naming the rule,
//!   while another token at the same moment is served;
//! - on intake's FHIR route the same refusal is an OperationOutcome (`throttled`);
//! - requests without a valid token (none, or an unknown one) are limited per address,
//!   which does not touch requests with a valid token; `/healthz`, `/readyz`, `/metrics`
//!   and the sign-in page never are;
//! - the refusals are counted by service and reason, never by token or address;
//! - every operation the limits apply to documents its 429 with `Retry-After`.

mod token_cli;

use std::time::Duration;

use linkway_testkit::{Linkway, TestEnv};
use reqwest::StatusCode;
use serde_json::Value;
use token_cli::{admin, id_and_secret};

const BINARY: &str = env!("CARGO_BIN_EXE_linkway");
const GP: &str = "gp-limits";
/// One request comes back every 20 minutes: the test is long over by then.
const TINY: &str = "3/hour";

/// A referrer token's id and secret.
fn token(lw: &Linkway) -> (String, String) {
    id_and_secret(&admin(
        lw,
        &["token", "create", "--org", GP, "--role", "referrer"],
    ))
}

async fn call(
    request: reqwest::RequestBuilder,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let res = request.send().await.expect("answered");
    let (status, headers) = (res.status(), res.headers().clone());
    (status, headers, res.text().await.unwrap())
}

/// The `Retry-After` seconds of a 429: whole, and within the 20 minutes a token takes to
/// earn one request back.
fn retry_after(headers: &reqwest::header::HeaderMap) -> u64 {
    let secs: u64 = headers
        .get(reqwest::header::RETRY_AFTER)
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .expect("whole seconds");
    assert!((1..=1200).contains(&secs), "{secs}");
    secs
}

fn content_type(headers: &reqwest::header::HeaderMap) -> &str {
    headers
        .get(reqwest::header::CONTENT_TYPE)
        .map_or("", |v| v.to_str().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_its_limit_a_token_or_an_address_gets_429_with_retry_after_and_nothing_else_does() {
    let env = TestEnv::shared();
    let lw = Linkway::new(
        BINARY,
        std::slice::from_ref(&env.nats_url),
        &env.postgres_url,
        &env.scope,
    )
    .expect("linkway process")
    .env("LINKWAY_RATE_LIMIT_PER_TOKEN", TINY)
    .env("LINKWAY_RATE_LIMIT_PER_ADDRESS", TINY)
    // Ready only once every registry event is projected: the tokens below authenticate
    // from the first request (an unknown token would count against the address).
    .env("LINKWAY_READY_MAX_LAG_EVENTS", "0");
    admin(
        &lw,
        &[
            "org",
            "add",
            "--id",
            GP,
            "--name",
            "Limits Surgery",
            "--kind",
            "gp_practice",
        ],
    );
    let (a_id, a) = token(&lw);
    let (_, b) = token(&lw);
    let (_, fhir) = token(&lw);
    let (_, documents) = token(&lw);
    lw.start_ready(Duration::from_secs(90))
        .await
        .expect("ready");
    let http = reqwest::Client::new();
    let referrals = format!("{}/referrals", lw.url("intake"));

    // Token a: three requests, then 429 with Retry-After and a problem naming the rule.
    for i in 0..3 {
        let (status, _, body) = call(http.get(&referrals).bearer_auth(&a)).await;
        assert_eq!(status, StatusCode::OK, "request {i}: {body}");
    }
    let (status, headers, body) = call(http.get(&referrals).bearer_auth(&a)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    retry_after(&headers);
    assert_eq!(content_type(&headers), "application/problem+json");
    let problem: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(problem["status"], 429);
    assert_eq!(
        problem["type"],
        "https://linkway.example/problems/rate-limited"
    );
    assert_eq!(problem["errors"][0]["field"], "Authorization");
    assert_eq!(problem["errors"][0]["rule"], "rate_limit_per_token");
    assert!(!body.contains(&a_id) && !body.contains(&a[3..]), "{body}");
    // The limit is the process's: the token's other services refuse it too.
    let (status, _, _) = call(
        http.get(format!("{}/caseload", lw.url("link-worker")))
            .bearer_auth(&a),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);

    // Token b, at the same moment: served.
    let (status, _, body) = call(http.get(&referrals).bearer_auth(&b)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "another token is unaffected: {body}"
    );

    // FHIR: the same limit, said as an OperationOutcome.
    let process = format!("{}/fhir/$process-message", lw.url("intake"));
    let message = || {
        http.post(&process)
            .bearer_auth(&fhir)
            .header(reqwest::header::CONTENT_TYPE, "application/fhir+json")
            .body("{}")
    };
    for i in 0..3 {
        let (status, _, body) = call(message()).await;
        assert_ne!(status, StatusCode::TOO_MANY_REQUESTS, "request {i}: {body}");
    }
    let (status, headers, body) = call(message()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    retry_after(&headers);
    assert_eq!(content_type(&headers), "application/fhir+json");
    let outcome: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert_eq!(outcome["issue"][0]["code"], "throttled", "{body}");

    // Every served operation the limits apply to documents its 429 (three requests:
    // the documents token's whole allowance).
    for service in ["intake", "link-worker", "reporting"] {
        let (status, _, body) = call(
            http.get(format!("{}/openapi.json", lw.url(service)))
                .bearer_auth(&documents),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{service}");
        documents_429(service, &serde_json::from_str(&body).unwrap());
    }

    // Without a valid token: per address. Three 401s, then 429, for no token and for an
    // unknown one alike.
    for i in 0..3 {
        let (status, _, _) = call(http.get(&referrals)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "request {i}");
    }
    let unknown = linkway_platform::auth::mint_token().secret;
    for request in [
        http.get(&referrals),
        http.get(&referrals).bearer_auth(&unknown),
    ] {
        let (status, headers, body) = call(request).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        retry_after(&headers);
        let problem: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(problem["errors"][0]["rule"], "rate_limit_per_address");
        assert!(!body.contains("127.0.0.1"), "{body}");
    }
    // A valid token from the same address is not counted against it.
    let (status, _, _) = call(http.get(&referrals).bearer_auth(&b)).await;
    assert_eq!(status, StatusCode::OK);
    // Probes, scrapes and signing in are never limited.
    for path in ["/healthz", "/readyz", "/metrics", "/sign-in"] {
        for _ in 0..5 {
            let (status, _, body) = call(http.get(format!("{}{path}", lw.url("intake")))).await;
            assert_eq!(status, StatusCode::OK, "{path}: {body}");
        }
    }

    // Counted by service and reason, never by token or address.
    let (_, _, metrics) = call(http.get(format!("{}/metrics", lw.url("intake")))).await;
    let limited: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("linkway_http_requests_limited_total{"))
        .collect();
    let count = |reason: &str| -> f64 {
        limited
            .iter()
            .find(|l| {
                l.contains(&format!("reason=\"{reason}\"")) && l.contains("service=\"intake\"")
            })
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {reason} count:\n{}", limited.join("\n")))
    };
    assert_eq!(
        (count("token"), count("address")),
        (2.0, 2.0),
        "{limited:?}"
    );
    assert!(!metrics.contains(&a_id) && !metrics.contains("127.0.0.1"));
}

/// Every operation of `doc` but the probes and the sign-in pages documents a 429 with
/// `Retry-After`, in the media type of its other errors.
fn documents_429(service: &str, doc: &Value) {
    let mut limited = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let answer = &op["responses"]["429"];
            if linkway_platform::rate_limit::exempt(path) {
                assert!(
                    answer.is_null(),
                    "{service} {method} {path} is never limited"
                );
                continue;
            }
            assert!(
                answer["headers"]["Retry-After"].is_object(),
                "{service} {method} {path}: {answer}"
            );
            let content = answer["content"].as_object().expect("content");
            let media = if path.starts_with("/fhir/") {
                "application/fhir+json"
            } else {
                "application/problem+json"
            };
            assert!(
                content.contains_key(media),
                "{service} {method} {path}: {answer}"
            );
            limited += 1;
        }
    }
    assert!(limited > 5, "{service}: {limited} operations");
}
