//! The platform's edge on link-worker (written by the platform's helper), over HTTP
//! against a real nats-server and PostgreSQL: a path id that is not a UUID, a query string
//! that does not parse, an unknown route, a wrong method and a body over the limit are
//! problems naming field and rule and never the value sent; a `min_sequence` beyond the
//! log is a 422; the served document names these answers and the operational routes.

use std::time::{Duration, Instant};

use linkway_events::Role;
use linkway_events::registry::OrganisationKind;
use linkway_testkit::TestEnv;
use reqwest::StatusCode;
use serde_json::Value;

const NORTH: &str = "edges-north";
/// What no answer may repeat.
const SENT: &str = "9434765919";
const CASE: &str = "0190c0de-0000-7000-8000-000000000000";

struct LinkWorker {
    env: TestEnv,
    base: String,
    http: reqwest::Client,
    token: String,
}

impl LinkWorker {
    async fn start() -> LinkWorker {
        let env = TestEnv::shared();
        env.register_organisation(NORTH, OrganisationKind::Pcn, Some("ZZ1"), true)
            .await;
        let router = linkway_link_worker::start(env.context("link-worker").await)
            .await
            .expect("start");
        let base = linkway_testkit::serve(router, env.shutdown()).await;
        let (token, _) = env.issue_token(NORTH, Role::LinkWorker).await;
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        while http
            .get(format!("{base}/caseload"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("request")
            .status()
            == StatusCode::UNAUTHORIZED
        {
            assert!(Instant::now() < deadline, "token never became usable");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        LinkWorker {
            env,
            base,
            http,
            token,
        }
    }

    /// Status, media type and body of a request as the link worker.
    async fn send(&self, request: reqwest::RequestBuilder) -> (StatusCode, String, Value) {
        let res = request
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("answer");
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

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

fn named(p: &Value) -> (&str, &str) {
    (
        p["errors"][0]["field"].as_str().unwrap_or_default(),
        p["errors"][0]["rule"].as_str().unwrap_or_default(),
    )
}

#[tokio::test]
async fn a_case_id_that_is_not_a_uuid_is_a_problem_naming_the_parameter() {
    let lw = LinkWorker::start().await;
    let requests = [
        (lw.http.get(lw.url(&format!("/cases/{SENT}"))), "id"),
        (lw.http.post(lw.url(&format!("/cases/{SENT}/accept"))), "id"),
        (
            lw.http
                .post(lw.url(&format!("/cases/{CASE}/connections/{SENT}/responses")))
                .header("content-type", "application/json")
                .body(r#"{"response": "accepted"}"#),
            "connection_id",
        ),
    ];
    for (request, field) in requests {
        let (status, media, p) = lw.send(request).await;
        // 422 through the platform's `Path`; 400 where axum's own is still rewritten.
        assert!(matches!(status.as_u16(), 400 | 422), "{status}: {p}");
        assert_eq!(media, "application/problem+json");
        assert_eq!(named(&p), (field, "format"), "{p}");
    }
}

#[tokio::test]
async fn link_worker_refuses_a_bad_query_a_wrong_route_method_and_size_as_problems() {
    let lw = LinkWorker::start().await;
    let (status, media, p) = lw
        .send(
            lw.http
                .get(lw.url(&format!("/cases/{CASE}?min_sequence=x{SENT}"))),
        )
        .await;
    assert!(status.is_client_error(), "{status}");
    assert_eq!(media, "application/problem+json");
    assert_eq!(named(&p).0, "min_sequence", "{p}");

    let (status, media, p) = lw.send(lw.http.get(lw.url(&format!("/{SENT}")))).await;
    assert_eq!(
        (status, media.as_str()),
        (StatusCode::NOT_FOUND, "application/problem+json")
    );
    assert_eq!(named(&p), ("path", "route"));

    let (status, media, p) = lw.send(lw.http.delete(lw.url("/caseload"))).await;
    assert_eq!(
        (status, media.as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, "application/problem+json")
    );
    assert_eq!(named(&p), ("method", "allowed_methods"));

    let big = SENT.repeat(3 * 1024 * 1024 / SENT.len());
    let (status, media, p) = lw
        .send(
            lw.http
                .post(lw.url(&format!("/cases/{CASE}/contacts")))
                .header("content-type", "application/json")
                .body(big),
        )
        .await;
    assert_eq!(
        (status, media.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "application/problem+json")
    );
    assert_eq!(named(&p), ("body", "max_size"));
}

#[tokio::test]
async fn a_caseload_min_sequence_beyond_the_log_is_refused_at_once_not_retried() {
    let lw = LinkWorker::start().await;
    let end = lw.env.store().await.last_sequence().await.expect("log end");
    let started = Instant::now();
    for path in [
        format!("/caseload?min_sequence={}", end + 1_000_000),
        format!("/cases/{CASE}?min_sequence={}", end + 1_000_000),
    ] {
        let (status, _, p) = lw.send(lw.http.get(lw.url(&path))).await;
        assert_eq!(status, StatusCode::CONFLICT, "{path}: {p}");
        assert_eq!(named(&p), ("min_sequence", "beyond_log_end"), "{path}");
    }
    assert!(started.elapsed() < linkway_platform::read_your_writes::WAIT);
    let (status, _, p) = lw
        .send(
            lw.http
                .get(lw.url(&format!("/caseload?min_sequence={end}"))),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{p}");
}

#[tokio::test]
async fn link_workers_served_document_names_the_edge_answers_and_the_operational_routes() {
    let lw = LinkWorker::start().await;
    let (_, _, doc) = lw.send(lw.http.get(lw.url("/openapi.json"))).await;
    for path in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
        assert!(
            doc["paths"][path]["get"]["responses"]["200"].is_object(),
            "{path}"
        );
    }
    let contact = &doc["paths"]["/cases/{id}/contacts"]["post"]["responses"];
    for status in ["404", "413", "415", "422"] {
        assert!(contact[status].is_object(), "{status}: {contact}");
    }
}
