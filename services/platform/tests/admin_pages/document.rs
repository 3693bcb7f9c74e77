//! The admin pages in the served OpenAPI document: every route exactly once, under the tag
//! `pages`, with exactly what it answers (HTML pages, 303s, problems only for a query, path
//! or body the edge refuses); every one served, and named by its operationId in the
//! metrics. A list given `?min_sequence=` waits for it, and refuses one beyond the log.

use serde_json::Value;

use super::*;

/// Answered with a page (`text/html`).
const HTML: &str = "text/html";
/// Answered by the edge (a query, path or body it refuses) as a problem.
const PROBLEM: &str = "application/problem+json";
/// A redirect: no body.
const NONE: &str = "";

type Answers = &'static [(u16, &'static str)];

/// What every GET answers besides its own.
const GET: Answers = &[(303, NONE), (403, HTML), (503, HTML)];
/// What every form answers besides its own: the edge's 413 and 415 of a body.
const POST: Answers = &[(403, HTML), (413, PROBLEM), (415, PROBLEM), (503, HTML)];

/// operationId, method, path, its own answers (besides [`GET`] or [`POST`]).
const OPERATIONS: &[(&str, &str, &str, Answers)] = &[
    ("getAdminPage", "get", "/admin", &[(200, HTML)]),
    (
        "getOrganisationsPage",
        "get",
        "/admin/organisations",
        &[(200, HTML), (409, HTML), (422, PROBLEM)],
    ),
    (
        "registerOrganisationPage",
        "post",
        "/admin/organisations",
        &[(303, NONE), (422, HTML)],
    ),
    (
        "getOrganisationPage",
        "get",
        "/admin/organisations/{id}",
        &[(200, HTML), (404, HTML), (422, PROBLEM)],
    ),
    (
        "getUsersPage",
        "get",
        "/admin/users",
        &[(200, HTML), (409, HTML), (422, PROBLEM)],
    ),
    (
        "addUserPage",
        "post",
        "/admin/users",
        &[(303, NONE), (422, HTML)],
    ),
    (
        "getUserPage",
        "get",
        "/admin/users/{id}",
        &[(200, HTML), (404, HTML), (409, HTML), (422, PROBLEM)],
    ),
    (
        "changeUserRolesPage",
        "post",
        "/admin/users/{id}/roles",
        &[(303, NONE), (404, HTML), (422, HTML)],
    ),
    (
        "deactivateUserPage",
        "post",
        "/admin/users/{id}/deactivate",
        &[(303, NONE), (404, HTML), (422, HTML)],
    ),
    (
        "getTokensPage",
        "get",
        "/admin/tokens",
        &[(200, HTML), (409, HTML), (422, PROBLEM)],
    ),
    (
        "issueTokenPage",
        "post",
        "/admin/tokens",
        &[(200, HTML), (303, NONE), (422, HTML)],
    ),
    (
        "revokeTokenPage",
        "post",
        "/admin/tokens/{id}/revoke",
        &[(303, NONE), (404, HTML), (422, HTML)],
    ),
    (
        "getRoutingRulesPage",
        "get",
        "/admin/routing-rules",
        &[(200, HTML), (409, HTML), (422, PROBLEM)],
    ),
    (
        "addRoutingRulePage",
        "post",
        "/admin/routing-rules",
        &[(303, NONE), (422, HTML)],
    ),
    (
        "previewRoutingPage",
        "post",
        "/admin/routing-rules/preview",
        &[(200, HTML), (303, NONE), (422, HTML)],
    ),
    (
        "removeRoutingRulePage",
        "post",
        "/admin/routing-rules/{id}/remove",
        &[(303, NONE), (404, HTML), (422, HTML)],
    ),
    (
        "getDeadLettersPage",
        "get",
        "/admin/dead-letters",
        &[(200, HTML)],
    ),
];

/// The media types a response is documented in.
fn media(response: &Value) -> Vec<&str> {
    response["content"]
        .as_object()
        .map(|c| c.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn every_admin_page_is_documented_exactly_and_served() {
    let pages = start().await;
    let doc: Value = pages
        .http
        .get(format!("{}/openapi.json", pages.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let documented: Vec<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(path, _)| path.starts_with("/admin"))
        .flat_map(|(path, item)| {
            let methods = item.as_object().unwrap().keys();
            methods
                .map(|m| (m.clone(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(documented.len(), OPERATIONS.len(), "{documented:?}");
    let no_session = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (id, method, path, own) in OPERATIONS {
        let op = &doc["paths"][*path][*method];
        assert_eq!(op["operationId"], *id, "{method} {path}");
        assert_eq!(op["tags"], serde_json::json!(["pages"]), "{id}");
        let shared = if *method == "get" { GET } else { POST };
        let mut wanted: Vec<(u16, &str)> = own.iter().chain(shared).copied().collect();
        wanted.sort();
        let responses = op["responses"].as_object().unwrap();
        // The rate limit's 429 is the platform's, on every operation alike.
        let answered: Vec<(u16, Vec<&str>)> = responses
            .iter()
            .map(|(status, r)| (status.parse().unwrap(), media(r)))
            .filter(|(status, _)| *status != 429)
            .collect();
        let wanted_media: Vec<(u16, Vec<&str>)> = wanted
            .iter()
            .map(|(s, m)| (*s, if m.is_empty() { vec![] } else { vec![*m] }))
            .collect();
        assert_eq!(answered, wanted_media, "{id}");
        for r in responses.values() {
            assert!(!r["description"].as_str().unwrap().is_empty(), "{id}");
        }
        assert!(
            responses["503"]["headers"]["Retry-After"].is_object(),
            "{id}"
        );
        if *method == "post" {
            assert!(
                op["requestBody"]["content"]["application/x-www-form-urlencoded"].is_object(),
                "{id}"
            );
        }
        // Served: without a session, every one sends the browser to sign in.
        let url = format!(
            "{}{}",
            pages.url,
            path.replace("{id}", &Uuid::nil().to_string())
        );
        let request = no_session.request(method.to_uppercase().parse().unwrap(), &url);
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{id} is served");
        let to = response.headers()["location"].to_str().unwrap();
        assert!(to.starts_with("/sign-in?return_to="), "{id}: {to}");
    }
    // The request layer names each page by its operationId.
    pages.get(&pages.admin, "/admin/dead-letters").await;
    let metrics = pages
        .http
        .get(format!("{}/metrics", pages.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"operation="getDeadLettersPage""#),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_list_waits_for_the_change_it_names_and_refuses_one_beyond_the_log() {
    let pages = start().await;
    let (status, location, _) = pages
        .post(
            &pages.admin,
            "/admin/organisations",
            &org_form("gp-waited", "Waited Surgery", "gp_practice", "no"),
            true,
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, body) = pages.get(&pages.admin, &location).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("Organisation saved") && body.contains("Waited Surgery"));
    for list in ["/admin/organisations", "/admin/users", "/admin/tokens"] {
        let (status, body) = pages
            .get(&pages.admin, &format!("{list}?min_sequence=999999999"))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{list}: {body}");
        assert!(body.contains("This page is not available yet"), "{list}");
        let (status, _) = pages
            .get(&pages.admin, &format!("{list}?min_sequence=soon"))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{list}");
    }
}
