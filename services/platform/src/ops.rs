//! `/healthz`, `/readyz` and `/metrics`, the same on every service.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

use crate::Database;
use crate::metrics;
use crate::projection::Checkpoint;

/// What readiness depends on.
#[derive(Clone)]
pub struct Readiness {
    pub db: Database,
    pub nats: async_nats::Client,
    pub projections: Vec<(&'static str, Checkpoint)>,
}

/// The operational routes, for merging into a service's router.
pub fn routes(readiness: Readiness) -> axum::Router {
    axum::Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(readiness)
}

async fn readyz(State(r): State<Readiness>) -> impl IntoResponse {
    let nats_ok = r.nats.connection_state() == async_nats::connection::State::Connected;
    let db_ok = r.db.is_reachable().await;
    let projections: serde_json::Map<String, serde_json::Value> = r
        .projections
        .iter()
        .map(|(name, cp)| {
            (
                (*name).to_owned(),
                json!({"checkpoint": cp.current(), "lag": metrics::projection_lag(name)}),
            )
        })
        .collect();
    let ready = nats_ok && db_ok;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({
            "status": if ready { "ready" } else { "not_ready" },
            "nats": if nats_ok { "ok" } else { "unreachable" },
            "database": if db_ok { "ok" } else { "unreachable" },
            "projections": projections,
        })),
    )
}

async fn metrics_text() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics::render(),
    )
}
