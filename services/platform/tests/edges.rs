//! The edge on a real axum server over TCP: every refusal, including what axum answers by
//! itself, is problem+json naming the field and the rule and never the value sent; under
//! a dialect's prefix it is the dialect's. The OpenAPI document names these answers.

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use linkway_platform::Problem;
use linkway_platform::http::{Dialect, Path, Query, edges};
use serde::Deserialize;
use uuid::Uuid;

/// A value no answer may repeat: what a person might type where an id belongs.
const SENT: &str = "9434765919";

#[derive(Deserialize)]
#[allow(dead_code, reason = "read by serde only")]
struct ListQuery {
    limit: Option<i64>,
    sort: Option<Sort>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Sort {
    Oldest,
}

/// The dialect of `/fhir/`: a stand-in OperationOutcome naming the field and rule.
fn outcome(problem: &Problem) -> Response {
    let issues: Vec<_> = problem
        .errors
        .iter()
        .map(|e| serde_json::json!({"severity": "error", "code": "invalid", "diagnostics": format!("{}: {}", e.field, e.message), "rule": e.rule}))
        .collect();
    (
        [("content-type", "application/fhir+json")],
        axum::Json(serde_json::json!({"resourceType": "OperationOutcome", "issue": issues})),
    )
        .into_response()
}

fn router() -> axum::Router {
    let routes = axum::Router::new()
        .route(
            "/things/{thing_id}",
            get(|Path(id): Path<Uuid>| async move { id.to_string() }),
        )
        .route(
            "/things/{thing_id}/parts/{part_id}",
            get(|Path((a, b)): Path<(Uuid, Uuid)>| async move { format!("{a}{b}") }),
        )
        .route(
            "/things",
            get(|Query(q): Query<ListQuery>| async move { format!("{:?}", q.limit) })
                .post(|body: Bytes| async move { body.len().to_string() }),
        )
        .route(
            "/form",
            post(
                |axum::Form(f): axum::Form<std::collections::HashMap<String, String>>| async move {
                    f.len().to_string()
                },
            ),
        )
        .route(
            "/fhir/things/{thing_id}",
            get(|Path(id): Path<Uuid>| async move { id.to_string() }),
        )
        .route(
            "/fhir/$process-message",
            post(|body: Bytes| async move { body.len().to_string() }),
        )
        .route(
            "/readyz",
            get(|| async {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    axum::Json(serde_json::json!({"status": "not_ready"})),
                )
            }),
        );
    edges::layer(
        routes,
        vec![Dialect {
            prefix: "/fhir/",
            media_type: "application/fhir+json",
            render: outcome,
        }],
    )
}

struct Answer {
    status: StatusCode,
    media: String,
    allow: Option<String>,
    body: String,
}

impl Answer {
    fn problem(&self) -> Problem {
        assert_eq!(self.media, "application/problem+json", "{}", self.body);
        serde_json::from_str(&self.body).expect("a problem document")
    }

    /// The one error's field and rule, after checking the value sent is not repeated.
    fn named(&self) -> (String, String) {
        assert!(!self.body.contains(SENT), "echoes the value: {}", self.body);
        let p = self.problem();
        assert_eq!(p.status, self.status.as_u16());
        assert_eq!(p.errors.len(), 1, "{}", self.body);
        (p.errors[0].field.clone(), p.errors[0].rule.clone())
    }
}

async fn serve() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router()).await.unwrap() });
    format!("http://{addr}")
}

async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.expect("an answer");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (status, media, allow) = (
        response.status(),
        header("content-type").unwrap_or_default(),
        header("allow"),
    );
    Answer {
        status,
        media,
        allow,
        body: response.text().await.unwrap(),
    }
}

#[tokio::test]
async fn a_path_parameter_that_is_not_a_uuid_is_a_problem_naming_the_parameter() {
    let base = serve().await;
    let http = reqwest::Client::new();
    let a = send(http.get(format!("{base}/things/{SENT}"))).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.named(), ("thing_id".into(), "format".into()));
    assert!(a.problem().errors[0].message.contains("UUID"));

    let good = Uuid::now_v7();
    let a = send(http.get(format!("{base}/things/{good}/parts/{SENT}"))).await;
    assert_eq!(a.named(), ("part_id".into(), "format".into()));
    let a = send(http.get(format!("{base}/things/{good}"))).await;
    assert_eq!((a.status, a.body), (StatusCode::OK, good.to_string()));
}

#[tokio::test]
async fn an_unparsable_query_string_is_a_problem_naming_the_parameter() {
    let base = serve().await;
    let http = reqwest::Client::new();
    for (query, field) in [
        (format!("limit={SENT}{SENT}{SENT}"), "limit"),
        (format!("limit=x{SENT}"), "limit"),
        (format!("sort={SENT}"), "sort"),
    ] {
        let a = send(http.get(format!("{base}/things?{query}"))).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(a.named(), (field.into(), "schema".into()), "{query}");
    }
    let a = send(http.get(format!("{base}/things?limit=5&sort=oldest"))).await;
    assert_eq!((a.status, a.body.as_str()), (StatusCode::OK, "Some(5)"));
}

#[tokio::test]
async fn an_unknown_route_is_a_problem_not_an_empty_404() {
    let base = serve().await;
    let a = send(reqwest::Client::new().get(format!("{base}/no/such/{SENT}"))).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.named(), ("path".into(), "route".into()));
}

#[tokio::test]
async fn a_wrong_method_is_a_problem_that_keeps_the_allow_header() {
    let base = serve().await;
    let a = send(reqwest::Client::new().delete(format!("{base}/things"))).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.named(), ("method".into(), "allowed_methods".into()));
    let allow = a.allow.expect("Allow");
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_problem_naming_the_body() {
    let base = serve().await;
    // axum's default limit is 2 MiB; a 3 MiB body of the value is refused unread.
    let body = SENT.repeat(3 * 1024 * 1024 / SENT.len());
    let a = send(
        reqwest::Client::new()
            .post(format!("{base}/things"))
            .body(body),
    )
    .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(a.named(), ("body".into(), "max_size".into()));
}

#[tokio::test]
async fn a_wrong_content_type_is_a_415_problem_naming_the_header() {
    let base = serve().await;
    let a = send(
        reqwest::Client::new()
            .post(format!("{base}/form"))
            .header("content-type", "text/csv")
            .body(SENT),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(a.named(), ("Content-Type".into(), "media_type".into()));
}

#[tokio::test]
async fn fhir_routes_answer_every_edge_refusal_as_their_dialect() {
    let base = serve().await;
    let http = reqwest::Client::new();
    let answers = [
        send(http.get(format!("{base}/fhir/things/{SENT}"))).await,
        send(http.get(format!("{base}/fhir/no-such-{SENT}"))).await,
        send(http.get(format!("{base}/fhir/$process-message"))).await,
        send(
            http.post(format!("{base}/fhir/$process-message"))
                .body(SENT.repeat(300_000)),
        )
        .await,
    ];
    let statuses: Vec<u16> = answers.iter().map(|a| a.status.as_u16()).collect();
    assert_eq!(statuses, [422, 404, 405, 413]);
    for a in &answers {
        assert_eq!(a.media, "application/fhir+json", "{}", a.body);
        assert!(!a.body.contains(SENT), "{}", a.body);
        let outcome: serde_json::Value = serde_json::from_str(&a.body).unwrap();
        assert_eq!(outcome["resourceType"], "OperationOutcome");
        assert!(outcome["issue"][0]["rule"].is_string(), "{}", a.body);
    }
    assert!(answers[0].body.contains("thing_id"), "{}", answers[0].body);
}

#[tokio::test]
async fn a_handlers_own_json_error_is_left_as_it_is() {
    let base = serve().await;
    let a = send(reqwest::Client::new().get(format!("{base}/readyz"))).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.media, "application/json");
    assert_eq!(a.body, r#"{"status":"not_ready"}"#);
}

#[test]
fn the_document_names_the_edge_answers_of_each_operation() {
    #[utoipa::path(get, path = "/things/{thing_id}", params(("min_sequence" = Option<u64>, Query)), responses((status = 200)))]
    #[allow(dead_code)]
    fn get_thing() {}
    #[utoipa::path(post, path = "/things", request_body = String, responses((status = 201), (status = 422, description = "its own")))]
    #[allow(dead_code)]
    fn post_thing() {}
    #[utoipa::path(get, path = "/plain", responses((status = 200)))]
    #[allow(dead_code)]
    fn plain() {}
    #[derive(utoipa::OpenApi)]
    #[openapi(paths(get_thing, post_thing, plain))]
    struct Doc;

    let mut doc = <Doc as utoipa::OpenApi>::openapi();
    edges::document(&mut doc, &[]);
    let statuses = |path: &str| -> Vec<String> {
        let item = &doc.paths.paths[path];
        let op = item.get.as_ref().or(item.post.as_ref()).unwrap();
        op.responses.responses.keys().cloned().collect()
    };
    assert_eq!(statuses("/things/{thing_id}"), ["200", "404", "409", "422"]);
    assert_eq!(statuses("/things"), ["201", "413", "415", "422"]);
    assert_eq!(statuses("/plain"), ["200"]);
    let post = doc.paths.paths["/things"].post.as_ref().unwrap();
    let own = serde_json::to_value(&post.responses.responses["422"]).unwrap();
    assert_eq!(
        own["description"], "its own",
        "a response the operation names stays its own"
    );
    let added = serde_json::to_value(&post.responses.responses["413"]).unwrap();
    assert!(
        added["content"]["application/problem+json"].is_object(),
        "{added}"
    );
}
