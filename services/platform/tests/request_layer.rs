//! The request layer on a real axum router: operationIds from the OpenAPI document, the
//! correlation id (taken from the caller when it is a UUID, else new), the caller on the
//! span, one log line per request without the path, query or body, and the metrics.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::Path;
use axum::http::{Request, StatusCode};
use axum::routing::{get, post};
use linkway_events::Role;
use linkway_platform::auth::Principal;
use linkway_platform::http::{self, CorrelationId, OperationIds};
use tower::ServiceExt;
use uuid::Uuid;

#[utoipa::path(get, path = "/things/{thing_id}", operation_id = "getThing", responses((status = 200)))]
#[allow(dead_code)]
fn get_thing_doc() {}

#[utoipa::path(post, path = "/fhir/$process-message", operation_id = "processMessage", responses((status = 200)))]
#[allow(dead_code)]
fn process_doc() {}

#[derive(utoipa::OpenApi)]
#[openapi(paths(get_thing_doc, process_doc))]
struct Doc;

/// Answers with the correlation id it was given, as a handler putting it in an envelope
/// would; records a caller as authentication does.
async fn get_thing(Path(_id): Path<String>, correlation: CorrelationId) -> String {
    http::record_caller(&Principal {
        token_id: Uuid::nil(),
        organisation_id: "gp-layer".into(),
        role: Role::Referrer,
        user_id: None,
    });
    correlation.0.to_string()
}

fn router() -> axum::Router {
    use utoipa::OpenApi;
    let routes = axum::Router::new()
        .route("/things/{thing_id}", get(get_thing))
        .route("/fhir/%24process-message", post(|| async { "ok" }))
        .route("/undocumented", get(|| async { "ok" }));
    http::layer(
        routes,
        "layer-test",
        OperationIds::from_openapi(&Doc::openapi()),
    )
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn send(request: Request<Body>) -> (StatusCode, Option<String>, String) {
    let response = router().oneshot(request).await.unwrap();
    let status = response.status();
    let header = response
        .headers()
        .get("x-correlation-id")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    (status, header, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn every_request_is_named_by_its_operation_id_and_carries_a_correlation_id() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    // A caller's correlation id is kept, handed to the handler and sent back.
    let sent = Uuid::now_v7();
    let (status, header, body) = send(
        Request::get("/things/9434765919?nhs=9434765919")
            .header("x-correlation-id", sent.to_string())
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header.as_deref(), Some(sent.to_string().as_str()));
    assert_eq!(body, sent.to_string());

    // Something that is not a UUID is replaced by a new v7.
    let (_, header, body) = send(
        Request::get("/things/x")
            .header("x-correlation-id", "Jane Smith")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let made = Uuid::parse_str(&header.unwrap()).unwrap();
    assert_eq!(made.get_version_num(), 7);
    assert_eq!(body, made.to_string());

    // The percent-encoded FHIR route, a route the document omits, and no route at all.
    let (status, _, _) = send(
        Request::post("/fhir/%24process-message")
            .body(Body::from("{\"name\":\"Jane Smith\"}"))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    send(Request::get("/undocumented").body(Body::empty()).unwrap()).await;
    let (status, _, _) = send(
        Request::get("/nowhere/9434765919")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("answered")).collect();
    assert_eq!(lines.len(), 5, "one line per request:\n{log}");
    let first = lines[0];
    assert!(first.contains("operation_id=\"getThing\""), "{first}");
    assert!(first.contains(&format!("correlation_id={sent}")), "{first}");
    assert!(first.contains("organisation=\"gp-layer\""), "{first}");
    assert!(first.contains("role=\"referrer\""), "{first}");
    assert!(
        first.contains("method=GET") && first.contains("status=200"),
        "{first}"
    );
    assert!(
        lines[2].contains("operation_id=\"processMessage\""),
        "{}",
        lines[2]
    );
    assert!(
        !lines[2].contains("organisation="),
        "no caller before authentication: {}",
        lines[2]
    );
    assert!(
        lines[4].contains("operation_id=\"unmatched\"") && lines[4].contains("status=404"),
        "{}",
        lines[4]
    );
    assert!(
        !log.contains("9434765919") && !log.contains("Jane") && !log.contains("nhs="),
        "no path, query or body in the log:\n{log}"
    );

    let metrics = linkway_platform::metrics::render();
    let ours: Vec<&str> = metrics
        .lines()
        .filter(|l| l.contains("service=\"layer-test\""))
        .collect();
    let count = |operation: &str, status: u16| {
        ours.iter()
            .find(|l| {
                l.starts_with("linkway_http_requests_total")
                    && l.contains(&format!("operation=\"{operation}\""))
                    && l.contains(&format!("status=\"{status}\""))
            })
            .and_then(|l| l.rsplit(' ').next())
            .map(|n| n.parse::<f64>().unwrap())
    };
    assert_eq!(count("getThing", 200), Some(2.0), "{ours:#?}");
    assert_eq!(count("processMessage", 200), Some(1.0), "{ours:#?}");
    assert_eq!(count("GET /undocumented", 200), Some(1.0), "{ours:#?}");
    assert_eq!(count("unmatched", 404), Some(1.0), "{ours:#?}");
    assert!(
        ours.iter().any(
            |l| l.starts_with("linkway_http_request_duration_seconds_count")
                && l.contains("operation=\"getThing\"")
                && l.ends_with(" 2")
        ),
        "{ours:#?}"
    );
    assert!(!metrics.contains("9434765919"));
}
