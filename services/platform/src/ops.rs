//! `/healthz`, `/readyz` and `/metrics`, the same on every service.
//!
//! `/readyz` tells the truth: 503, naming every reason, while NATS or the database is
//! unreachable, or a projection is stalled (behind the log and its checkpoint not moving
//! for [`STALLED_AFTER`]) or behind by more than its [`ReadinessLimits`] (events, or the
//! age of the oldest event it has not applied). A load balancer may take the instance out;
//! a person reads the reasons.
//!
//! [`STALLED_AFTER`]: crate::projection::STALLED_AFTER
//! [`ReadinessLimits`]: crate::projection::ReadinessLimits

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::Database;
use crate::metrics;
use crate::projection::{Checkpoint, ProjectionStatus};

/// Longest wait for the database to answer `SELECT 1`.
const DB_CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// What readiness depends on.
#[derive(Clone)]
pub struct Readiness {
    /// The service's name, the `service` label of its gauges.
    pub service: &'static str,
    pub db: Database,
    pub nats: async_nats::Client,
    pub projections: Vec<(&'static str, Checkpoint)>,
    /// The service's own gauges, read from its read models at each scrape.
    pub on_scrape: Option<ScrapeHook>,
}

/// Sets a service's own gauges (e.g. intake's unroutable referrals) when `/metrics` is
/// scraped; a failure leaves the gauge as it was.
pub type ScrapeHook =
    std::sync::Arc<dyn Fn() -> futures::future::BoxFuture<'static, ()> + Send + Sync>;

/// The operational routes, for merging into a service's router.
pub fn routes(readiness: Readiness) -> axum::Router {
    axum::Router::new()
        .route("/healthz", get(|| async { Json(Health { status: "ok" }) }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(readiness)
}

/// Every projection's status, asked of the log concurrently.
async fn statuses(r: &Readiness) -> Vec<ProjectionStatus> {
    futures::future::join_all(r.projections.iter().map(|(_, cp)| cp.status())).await
}

/// `GET /healthz`: the process is alive.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: &'static str,
}

/// `GET /readyz`: whether this instance should take traffic, and why not.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadinessReport {
    /// `ready` (200) or `not_ready` (503).
    #[schema(pattern = "^(ready|not_ready)$")]
    pub status: &'static str,
    /// Every reason it is not ready (empty when ready).
    pub reasons: Vec<String>,
    /// `ok` or `unreachable`.
    #[schema(pattern = "^(ok|unreachable)$")]
    pub nats: &'static str,
    /// `ok` or `unreachable`.
    #[schema(pattern = "^(ok|unreachable)$")]
    pub database: &'static str,
    /// Each projection's standing against the log, by name.
    pub projections: BTreeMap<String, ProjectionReadiness>,
}

/// Where one projection stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectionReadiness {
    /// Last sequence the read model includes.
    #[schema(minimum = 0)]
    pub checkpoint: u64,
    /// Last sequence in the log (`null` when the log did not answer).
    #[schema(minimum = 0)]
    pub log_end: Option<u64>,
    /// Events in the log not yet applied.
    #[schema(minimum = 0)]
    pub lag_events: Option<u64>,
    /// Age in seconds of the oldest event not yet applied.
    #[schema(minimum = 0)]
    pub lag_seconds: Option<f64>,
    /// Seconds behind the log without the checkpoint moving.
    #[schema(minimum = 0)]
    pub stalled_seconds: Option<f64>,
}

async fn readyz(State(r): State<Readiness>) -> impl IntoResponse {
    let report = assess(&r).await;
    let status = if report.reasons.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(report))
}

/// Whether the service is ready, and why not; sets `linkway_ready`.
async fn assess(r: &Readiness) -> ReadinessReport {
    let nats_ok = r.nats.connection_state() == async_nats::connection::State::Connected;
    let db = tokio::time::timeout(DB_CHECK_TIMEOUT, r.db.is_reachable());
    let (db_ok, statuses) = tokio::join!(db, statuses(r));
    let db_ok = db_ok.unwrap_or(false);
    let mut reasons = Vec::new();
    if !nats_ok {
        reasons.push("NATS unreachable".to_owned());
    }
    if !db_ok {
        reasons.push("database unreachable".to_owned());
    }
    let mut projections = BTreeMap::new();
    for ((name, cp), status) in r.projections.iter().zip(&statuses) {
        // With NATS down every projection would say the same; the one reason is enough.
        if nats_ok {
            reasons.extend(status.problems(name, cp.limits()));
        }
        projections.insert(
            (*name).to_owned(),
            ProjectionReadiness {
                checkpoint: status.checkpoint,
                log_end: status.log_end,
                lag_events: status.lag_events,
                lag_seconds: status.lag.map(|l| l.as_secs_f64()),
                stalled_seconds: status.stalled_for.map(|s| s.as_secs_f64()),
            },
        );
    }
    let ready = reasons.is_empty();
    metrics::ready(r.service, ready);
    let ok = |up: bool| if up { "ok" } else { "unreachable" };
    ReadinessReport {
        status: if ready { "ready" } else { "not_ready" },
        reasons,
        nats: ok(nats_ok),
        database: ok(db_ok),
        projections,
    }
}

async fn metrics_text(State(r): State<Readiness>) -> impl IntoResponse {
    // Readiness and lag are measured when asked (lag against the log), so a scrape sees
    // them now; so are the pool and the service's own gauges.
    let status = r.db.pool().status();
    metrics::pool(
        r.service,
        status.size.saturating_sub(status.available),
        status.available,
        status.max_size,
    );
    let own = async {
        if let Some(hook) = &r.on_scrape {
            hook().await;
        }
    };
    tokio::join!(assess(&r), own);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics::render(),
    )
}

/// The media type of `/metrics`.
pub const METRICS_MEDIA_TYPE: &str = "application/openmetrics-text";

/// Adds the operational routes to a service's OpenAPI document, with their real shapes:
/// `/healthz`, `/readyz` (200 ready, 503 not ready, same body), `/metrics` (OpenMetrics
/// text) and `/openapi.json` (this document). What a document said of them before is
/// replaced, so every service describes them alike.
pub fn document(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{HttpMethod, OperationBuilder};
    use utoipa::openapi::schema::{Object, Type};
    use utoipa::openapi::{Content, Ref, ResponseBuilder};
    use utoipa::{PartialSchema, ToSchema};

    let components = doc.components.get_or_insert_with(Default::default);
    let mut schemas = Vec::new();
    Health::schemas(&mut schemas);
    ReadinessReport::schemas(&mut schemas);
    schemas.push((Health::name().into_owned(), Health::schema()));
    schemas.push((
        ReadinessReport::name().into_owned(),
        ReadinessReport::schema(),
    ));
    schemas.push((
        ProjectionReadiness::name().into_owned(),
        ProjectionReadiness::schema(),
    ));
    components.schemas.extend(schemas);

    let json = |name: &str| Content::new(Some(Ref::from_schema_name(name)));
    let ok = |description: &str, media: &str, content: Content| {
        ResponseBuilder::new()
            .description(description)
            .content(media, content)
            .build()
    };
    let routes = [
        (
            "/healthz",
            "getHealth",
            "The process is alive.",
            ok("Alive", "application/json", json("Health")),
            None,
        ),
        (
            "/readyz",
            "getReadiness",
            "NATS and PostgreSQL reachable, and each projection's checkpoint and lag.",
            ok("Ready", "application/json", json("ReadinessReport")),
            Some(ok(
                "Not ready: the reasons (NATS or PostgreSQL unreachable, a projection stalled or behind)",
                "application/json",
                json("ReadinessReport"),
            )),
        ),
        (
            "/metrics",
            "getMetrics",
            "Prometheus metrics (OpenMetrics text).",
            ok(
                "The metrics",
                METRICS_MEDIA_TYPE,
                Content::new(Some(Object::with_type(Type::String))),
            ),
            None,
        ),
        (
            "/openapi.json",
            "getOpenApi",
            "This document.",
            ok(
                "The OpenAPI document",
                "application/json",
                Content::new(Some(Object::with_type(Type::Object))),
            ),
            None,
        ),
    ];
    for (path, id, description, answer, not_ready) in routes {
        let mut operation = OperationBuilder::new()
            .operation_id(Some(id))
            .tag("operations")
            .description(Some(description))
            .response("200", answer);
        if let Some(not_ready) = not_ready {
            operation = operation.response("503", not_ready);
        }
        doc.paths
            .add_path_operation(path, vec![HttpMethod::Get], operation.build());
    }
}
