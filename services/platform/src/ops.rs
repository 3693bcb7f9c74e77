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
use serde_json::json;

use crate::Database;
use crate::metrics;
use crate::projection::{Checkpoint, ProjectionStatus};

/// Longest wait for the database to answer `SELECT 1`.
const DB_CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

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

/// Every projection's status, asked of the log concurrently.
async fn statuses(r: &Readiness) -> Vec<ProjectionStatus> {
    futures::future::join_all(r.projections.iter().map(|(_, cp)| cp.status())).await
}

async fn readyz(State(r): State<Readiness>) -> impl IntoResponse {
    let nats_ok = r.nats.connection_state() == async_nats::connection::State::Connected;
    let db = tokio::time::timeout(DB_CHECK_TIMEOUT, r.db.is_reachable());
    let (db_ok, statuses) = tokio::join!(db, statuses(&r));
    let db_ok = db_ok.unwrap_or(false);
    let mut reasons = Vec::new();
    if !nats_ok {
        reasons.push("NATS unreachable".to_owned());
    }
    if !db_ok {
        reasons.push("database unreachable".to_owned());
    }
    let mut projections = serde_json::Map::new();
    for ((name, cp), status) in r.projections.iter().zip(&statuses) {
        // With NATS down every projection would say the same; the one reason is enough.
        if nats_ok {
            reasons.extend(status.problems(name, cp.limits()));
        }
        projections.insert(
            (*name).to_owned(),
            json!({
                "checkpoint": status.checkpoint,
                "log_end": status.log_end,
                "lag_events": status.lag_events,
                "lag_seconds": status.lag.map(|l| l.as_secs_f64()),
                "stalled_seconds": status.stalled_for.map(|s| s.as_secs_f64()),
            }),
        );
    }
    let ready = reasons.is_empty();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({
            "status": if ready { "ready" } else { "not_ready" },
            "reasons": reasons,
            "nats": if nats_ok { "ok" } else { "unreachable" },
            "database": if db_ok { "ok" } else { "unreachable" },
            "projections": projections,
        })),
    )
}

async fn metrics_text(State(r): State<Readiness>) -> impl IntoResponse {
    // Lag is measured against the log when asked, so a scrape sees it now.
    statuses(&r).await;
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics::render(),
    )
}
