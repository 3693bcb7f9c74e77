//! The OpenAPI document: every operation with its request, responses and errors, and
//! nothing documented that is not served.

use linkway_events::Role;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

/// operationId -> (method, path, the statuses it must document).
const OPERATIONS: &[(&str, &str, &str, &[u16])] = &[
    (
        "submitReferral",
        "post",
        "/referrals",
        &[201, 401, 403, 409, 415, 422, 503],
    ),
    (
        "listReferrals",
        "get",
        "/referrals",
        &[200, 401, 403, 422, 503],
    ),
    (
        "getReferral",
        "get",
        "/referrals/{referral_id}",
        &[200, 401, 403, 404, 503],
    ),
    (
        "withdrawReferral",
        "post",
        "/referrals/{referral_id}/withdraw",
        &[200, 401, 403, 404, 409, 415, 422, 503],
    ),
    (
        "correctPerson",
        "post",
        "/referrals/{referral_id}/person/correction",
        &[200, 401, 403, 404, 409, 415, 422, 503],
    ),
    (
        "markReferralEnteredInError",
        "post",
        "/referrals/{referral_id}/entered-in-error",
        &[200, 401, 403, 404, 409, 415, 422, 503],
    ),
    (
        "listUnroutable",
        "get",
        "/admin/unroutable",
        &[200, 401, 403, 503],
    ),
    (
        "routeReferral",
        "post",
        "/referrals/{referral_id}/route",
        &[200, 401, 403, 404, 409, 415, 422, 503],
    ),
    (
        "listOutboundMessages",
        "get",
        "/admin/outbound",
        &[200, 401, 403, 422, 503],
    ),
    (
        "retryOutboundMessage",
        "post",
        "/admin/outbound/{id}/retry",
        &[200, 401, 403, 404, 409, 503],
    ),
    (
        "processMessage",
        "post",
        "/fhir/$process-message",
        &[201, 400, 401, 403, 409, 415, 422, 503],
    ),
    ("getReferralForm", "get", "/form", &[200, 401]),
    (
        "getLegalBasisCodeSystem",
        "get",
        "/fhir/CodeSystem/legal-basis",
        &[200],
    ),
    // The platform's operational routes.
    ("getHealth", "get", "/healthz", &[200]),
    ("getReadiness", "get", "/readyz", &[200]),
    ("getMetrics", "get", "/metrics", &[200]),
    ("getOpenApi", "get", "/openapi.json", &[200]),
    (
        "submitReferralForm",
        "post",
        "/form",
        &[201, 401, 403, 409, 415, 422, 503],
    ),
    // Self-referral: public, no token.
    (
        "getSelfReferralToken",
        "get",
        "/self-referrals/token",
        &[200],
    ),
    (
        "submitSelfReferral",
        "post",
        "/self-referrals",
        &[201, 409, 415, 422, 429, 503],
    ),
    ("getSelfReferralPage", "get", "/self-referral", &[200]),
    (
        "submitSelfReferralPage",
        "post",
        "/self-referral",
        &[201, 409, 415, 422, 429, 503],
    ),
    // The platform's sign-in pages.
    ("getSignIn", "get", "/sign-in", &[200]),
    ("startSignIn", "get", "/auth/login", &[404, 503]),
    ("finishSignIn", "get", "/auth/callback", &[403, 503]),
    ("signInAsDemoUser", "post", "/auth/demo", &[403, 404, 503]),
    ("signOut", "post", "/sign-out", &[403, 503]),
    ("getSignedOut", "get", "/signed-out", &[200]),
    // The referrer's pages.
    ("getReferrerHome", "get", "/", &[200, 403]),
    ("getMakeReferralPage", "get", "/referrals/new", &[200, 403]),
    (
        "submitReferralPage",
        "post",
        "/referrals/new",
        &[403, 409, 422, 503],
    ),
    (
        "getReferralsPage",
        "get",
        "/referrals/view",
        &[200, 403, 503],
    ),
    (
        "getReferralPage",
        "get",
        "/referrals/{referral_id}/view",
        &[200, 403, 404, 409, 503],
    ),
    (
        "withdrawReferralPage",
        "post",
        "/referrals/{referral_id}/view/withdraw",
        &[403, 404, 409, 422, 503],
    ),
    // The person as a data subject, and the IG lead's person page with its erase form.
    (
        "exportPerson",
        "get",
        "/referrals/{referral_id}/person",
        &[200, 401, 403, 404, 503],
    ),
    (
        "erasePerson",
        "post",
        "/referrals/{referral_id}/person/erasure",
        &[200, 401, 403, 404, 409, 415, 422, 503],
    ),
    (
        "getPersonPage",
        "get",
        "/referrals/{referral_id}/person/view",
        &[200, 403, 404, 503],
    ),
    (
        "erasePersonPage",
        "post",
        "/referrals/{referral_id}/person/view/erase",
        &[403, 404, 409, 422, 503],
    ),
    // The platform's audit trail (IG leads and administrators).
    (
        "listAudit",
        "get",
        "/audit",
        &[200, 401, 403, 409, 422, 503],
    ),
    (
        "getAuditPage",
        "get",
        "/audit/view",
        &[200, 403, 409, 422, 503],
    ),
    // The administrator's unroutable referrals.
    (
        "getUnroutablePage",
        "get",
        "/admin/unroutable/view",
        &[200, 403, 409, 503],
    ),
    (
        "routeReferralPage",
        "post",
        "/admin/unroutable/{referral_id}/route",
        &[403, 404, 422, 503],
    ),
    (
        "getOutboundPage",
        "get",
        "/admin/outbound/view",
        &[200, 403, 422, 503],
    ),
    (
        "retryOutboundMessagePage",
        "post",
        "/admin/outbound/{id}/retry/view",
        &[403, 404, 409, 503],
    ),
    // The platform's administrator pages.
    ("getAdminPage", "get", "/admin", &[200, 403, 503]),
    (
        "getOrganisationsPage",
        "get",
        "/admin/organisations",
        &[200, 403, 409, 503],
    ),
    (
        "registerOrganisationPage",
        "post",
        "/admin/organisations",
        &[403, 422, 503],
    ),
    (
        "getOrganisationPage",
        "get",
        "/admin/organisations/{id}",
        &[200, 403, 404, 503],
    ),
    ("getUsersPage", "get", "/admin/users", &[200, 403, 409, 503]),
    ("addUserPage", "post", "/admin/users", &[403, 422, 503]),
    (
        "getUserPage",
        "get",
        "/admin/users/{id}",
        &[200, 403, 404, 409, 503],
    ),
    (
        "changeUserRolesPage",
        "post",
        "/admin/users/{id}/roles",
        &[403, 404, 422, 503],
    ),
    (
        "deactivateUserPage",
        "post",
        "/admin/users/{id}/deactivate",
        &[403, 404, 422, 503],
    ),
    (
        "getTokensPage",
        "get",
        "/admin/tokens",
        &[200, 403, 409, 503],
    ),
    (
        "issueTokenPage",
        "post",
        "/admin/tokens",
        &[200, 403, 422, 503],
    ),
    (
        "revokeTokenPage",
        "post",
        "/admin/tokens/{id}/revoke",
        &[403, 404, 422, 503],
    ),
    (
        "getRoutingRulesPage",
        "get",
        "/admin/routing-rules",
        &[200, 403, 409, 503],
    ),
    (
        "addRoutingRulePage",
        "post",
        "/admin/routing-rules",
        &[403, 422, 503],
    ),
    (
        "previewRoutingPage",
        "post",
        "/admin/routing-rules/preview",
        &[200, 403, 422, 503],
    ),
    (
        "removeRoutingRulePage",
        "post",
        "/admin/routing-rules/{id}/remove",
        &[403, 404, 422, 503],
    ),
    (
        "getDeadLettersPage",
        "get",
        "/admin/dead-letters",
        &[200, 403, 503],
    ),
];

async fn document(intake: &Intake) -> Value {
    let res = intake
        .http
        .get(intake.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

#[tokio::test]
async fn every_operation_is_documented_with_its_request_responses_and_errors() {
    let intake = Intake::start().await;
    let doc = document(&intake).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    assert!(doc["components"]["schemas"]["FieldError"].is_object());
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let mut documented = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        documented += item.as_object().unwrap().len();
        let _ = path;
    }
    assert_eq!(
        documented,
        OPERATIONS.len(),
        "an operation is documented that the test does not know"
    );
    for (id, method, path, statuses) in OPERATIONS {
        let op = &doc["paths"][*path][*method];
        assert_eq!(op["operationId"], *id, "{method} {path}");
        let responses = op["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{id} has no responses"));
        for status in *statuses {
            let r = responses
                .get(&status.to_string())
                .unwrap_or_else(|| panic!("{id} does not document {status}"));
            assert!(!r["description"].as_str().unwrap().is_empty());
            let content = r["content"]
                .as_object()
                .unwrap_or_else(|| panic!("{id} {status} has no content"));
            if *status == 503 && content.contains_key("application/problem+json") {
                assert!(
                    r["headers"]["Retry-After"].is_object(),
                    "{id} 503 documents no Retry-After"
                );
            }
            if *status >= 400 {
                if let Some(problem) = content.get("application/problem+json") {
                    assert_eq!(
                        problem["schema"]["$ref"], "#/components/schemas/Problem",
                        "{id} {status}"
                    );
                } else {
                    assert!(
                        content.contains_key("application/fhir+json")
                            || content.contains_key("text/html"),
                        "{id} {status} has neither a problem nor a FHIR/HTML body"
                    );
                }
            }
        }
        if *method == "post" {
            assert!(
                op["requestBody"]["content"]
                    .as_object()
                    .is_some_and(|c| !c.is_empty()),
                "{id} documents no request"
            );
        }
        // The platform's operational routes are open and say so by declaring none; pages
        // take the session cookie, not a bearer token.
        if op["tags"][0] != "operations" && op["tags"][0] != "pages" {
            assert!(op["security"].is_array(), "{id} declares its security");
        }
    }
    let submit = &doc["paths"]["/referrals"]["post"];
    assert_eq!(
        submit["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ReferralRequest"
    );
    let params: Vec<&str> = submit["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(params.contains(&"Idempotency-Key"));
    let request = &doc["components"]["schemas"]["ReferralRequest"];
    for required in [
        "person",
        "needs_and_concerns",
        "urgency",
        "consent",
        "practitioner",
    ] {
        assert!(
            request["required"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r == required),
            "{required} not marked required"
        );
    }
}

#[tokio::test]
async fn self_referral_is_documented_as_public_with_its_request() {
    let intake = Intake::start().await;
    let doc = document(&intake).await;
    for (path, method) in [
        ("/self-referrals", "post"),
        ("/self-referrals/token", "get"),
        ("/self-referral", "get"),
        ("/self-referral", "post"),
    ] {
        let op = &doc["paths"][path][method];
        assert_eq!(
            op["security"],
            serde_json::json!([{}]),
            "{method} {path}: no token"
        );
    }
    let submit = &doc["paths"]["/self-referrals"]["post"];
    assert_eq!(
        submit["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/SelfReferralRequest"
    );
    assert!(
        submit["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "Idempotency-Key")
    );
    assert!(submit["responses"]["429"]["headers"]["Retry-After"].is_object());
    let request = &doc["components"]["schemas"]["SelfReferralRequest"];
    let required: Vec<&str> = request["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    for field in [
        "given_name",
        "family_name",
        "birth_date",
        "postcode",
        "preferred_contact_method",
        "what_matters",
        "agreed",
        "form_token",
    ] {
        assert!(required.contains(&field), "{field} not marked required");
    }
    assert_eq!(
        request["properties"]["agreed"]["enum"],
        serde_json::json!([true])
    );
    assert_eq!(request["properties"]["website"]["maxLength"], 0);
    assert_eq!(request["properties"]["what_matters"]["maxLength"], 4000);
    assert_eq!(
        request["properties"]["preferred_contact_method"]["enum"],
        serde_json::json!(["phone", "text", "email"])
    );
}

#[tokio::test]
async fn every_documented_route_is_served() {
    let intake = Intake::start().await;
    let doc = document(&intake).await;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let url = intake.url(
            &path
                .replace("{referral_id}", "0195606d-9db4-7445-b4c4-ba2ea74ad4bf")
                .replace("{id}", "0195606d-9db4-7445-b4c4-ba2ea74ad4bf"),
        );
        for method in item.as_object().unwrap().keys() {
            let res = intake
                .http
                .request(method.to_uppercase().parse().unwrap(), &url)
                .send()
                .await
                .unwrap();
            assert!(
                res.status() != StatusCode::NOT_FOUND
                    && res.status() != StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is documented but not served ({})",
                res.status()
            );
        }
    }
}

#[tokio::test]
async fn health_readiness_and_metrics_are_served_without_personal_labels() {
    let intake = Intake::start().await;
    intake.add_rule(SERVICE, district("LS6"), 1).await;
    let gp = intake.token(GP, Role::Referrer).await;
    let (_, sent) = intake.submit(&gp, &referral()).await;
    let id = sent["referral_id"].as_str().unwrap();
    intake.get(&gp, &format!("/referrals/{id}")).await;

    let health = intake
        .http
        .get(intake.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready: Value = intake
        .http
        .get(intake.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready");
    assert!(
        ready["projections"]["referrals"].is_object()
            && ready["projections"]["registry"].is_object()
    );
    let metrics = intake
        .http
        .get(intake.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains(r#"operation="getReferral""#), "{metrics}");
    assert!(!metrics.contains(id), "no ids in metric labels");
    assert!(!metrics.contains("9434765919"));
}

fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|c| refs(c, out));
        }
        Value::Array(a) => a.iter().for_each(|c| refs(c, out)),
        _ => {}
    }
}

#[tokio::test]
async fn every_schema_reference_resolves() {
    let intake = Intake::start().await;
    let doc = document(&intake).await;
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 20);
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {r}"));
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{r} does not resolve"
        );
    }
}
