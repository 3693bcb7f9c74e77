//! The platform's edge on intake (written by the platform's helper): what axum refuses by
//! itself is problem+json naming field and rule, `/fhir/` answers it as an
//! OperationOutcome, a `min_sequence` beyond the log is a 422, and the served document
//! names these answers and the operational routes.

use linkway_events::Role;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{GP, Intake, OPS};

/// What no answer may repeat.
const SENT: &str = "9434765919";

async fn answer(res: reqwest::Response) -> (StatusCode, String, Value) {
    let status = res.status();
    let media = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = res.text().await.unwrap();
    assert!(!body.contains(SENT), "echoes the value: {body}");
    (
        status,
        media,
        serde_json::from_str(&body).unwrap_or(Value::Null),
    )
}

fn named(p: &Value) -> (&str, &str) {
    (
        p["errors"][0]["field"].as_str().unwrap_or_default(),
        p["errors"][0]["rule"].as_str().unwrap_or_default(),
    )
}

#[tokio::test]
async fn intake_refuses_an_unparsable_query_a_wrong_route_method_and_size_as_problems() {
    let intake = Intake::start().await;
    let gp = intake.token(GP, Role::Referrer).await;
    let http = &intake.http;

    let res = http
        .get(intake.url(&format!("/referrals?limit=x{SENT}")))
        .bearer_auth(&gp);
    let (status, media, p) = answer(res.send().await.unwrap()).await;
    assert_eq!(
        (status, media.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "application/problem+json")
    );
    assert_eq!(named(&p), ("limit", "schema"), "{p}");

    let res = http
        .get(intake.url(&format!("/no-such/{SENT}")))
        .bearer_auth(&gp);
    let (status, media, p) = answer(res.send().await.unwrap()).await;
    assert_eq!(
        (status, media.as_str()),
        (StatusCode::NOT_FOUND, "application/problem+json")
    );
    assert_eq!(named(&p), ("path", "route"));

    let res = http
        .delete(intake.url("/referrals"))
        .bearer_auth(&gp)
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("allow").is_some());
    let (status, media, p) = answer(res).await;
    assert_eq!(
        (status, media.as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, "application/problem+json")
    );
    assert_eq!(named(&p), ("method", "allowed_methods"));

    let big = SENT.repeat(3 * 1024 * 1024 / SENT.len());
    let res = http
        .post(intake.url("/referrals"))
        .bearer_auth(&gp)
        .header("content-type", "application/json")
        .body(big);
    let (status, media, p) = answer(res.send().await.unwrap()).await;
    assert_eq!(
        (status, media.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "application/problem+json")
    );
    assert_eq!(named(&p), ("body", "max_size"));
}

#[tokio::test]
async fn intake_fhir_routes_answer_edge_refusals_as_operation_outcomes() {
    let intake = Intake::start().await;
    let gp = intake.token(GP, Role::Referrer).await;
    let http = &intake.http;
    let big = SENT.repeat(3 * 1024 * 1024 / SENT.len());
    let requests = [
        http.get(intake.url(&format!("/fhir/Nothing/{SENT}"))),
        http.get(intake.url("/fhir/$process-message")),
        http.post(intake.url("/fhir/$process-message"))
            .header("content-type", "application/fhir+json")
            .body(big),
    ];
    let mut statuses = Vec::new();
    for request in requests {
        let (status, media, outcome) = answer(request.bearer_auth(&gp).send().await.unwrap()).await;
        assert_eq!(media, "application/fhir+json", "{outcome}");
        assert_eq!(outcome["resourceType"], "OperationOutcome", "{outcome}");
        let codings = outcome["issue"][0]["details"]["coding"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(codings.len() >= 2, "the rule is named: {outcome}");
        statuses.push(status.as_u16());
    }
    assert_eq!(statuses, [404, 405, 413]);
}

#[tokio::test]
async fn a_min_sequence_beyond_the_log_is_refused_at_once_not_retried() {
    let intake = Intake::start().await;
    let gp = intake.token(GP, Role::Referrer).await;
    let beyond = intake.log_end().await + 1_000_000;
    let started = std::time::Instant::now();
    for path in [
        format!("/referrals?min_sequence={beyond}"),
        format!("/referrals/0190c0de-0000-7000-8000-000000000000?min_sequence={beyond}"),
        format!("/admin/unroutable?min_sequence={beyond}"),
    ] {
        let token = if path.starts_with("/admin") {
            intake.token(OPS, Role::Admin).await
        } else {
            gp.clone()
        };
        let (status, p) = intake.get(&token, &path).await;
        assert_eq!(status, StatusCode::CONFLICT, "{path}: {p}");
        assert_eq!(named(&p), ("min_sequence", "beyond_log_end"), "{path}");
    }
    assert!(started.elapsed() < linkway_platform::read_your_writes::WAIT);
    // The log's own end is reached: answered.
    let end = intake.log_end().await;
    let (status, _) = intake
        .get(&gp, &format!("/referrals?min_sequence={end}"))
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn intakes_served_document_names_the_edge_answers_and_the_operational_routes() {
    let intake = Intake::start().await;
    let doc: Value = intake
        .http
        .get(intake.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
        assert!(
            doc["paths"][path]["get"]["responses"]["200"].is_object(),
            "{path}"
        );
    }
    assert!(doc["paths"]["/readyz"]["get"]["responses"]["503"].is_object());
    assert!(doc["components"]["schemas"]["ReadinessReport"].is_object());
    let submit = &doc["paths"]["/referrals"]["post"]["responses"];
    for status in ["413", "415", "422"] {
        assert!(
            submit[status]["content"]["application/problem+json"].is_object(),
            "{status}"
        );
    }
    let fhir = &doc["paths"]["/fhir/$process-message"]["post"]["responses"];
    assert!(
        fhir["413"]["content"]["application/fhir+json"].is_object(),
        "{fhir}"
    );
}
