//! Reporting: what commissioners may know about social prescribing in their area, and
//! nothing about any person.
//!
//! - [`pseudonym`]: keyed-hash (HMAC-SHA256) pseudonyms that key the read model.
//! - [`journey`]: one referral's facts as reporting keeps them, folded from events without
//!   ever reading a `personal` part (pure).
//! - [`projection`]: the `reporting` projection, written set-wise.
//! - [`aggregate`]: counts and samples per month x referring organisation kind x link-worker
//!   service x need (pure).
//! - [`disclosure`]: disclosure control, primary and secondary suppression (pure).
//! - [`api`]: `getSummary` and `getOutcomeFeed` (JSON or CSV), commissioner area scoped.
//!
//! **Invariant**: no reporting table or answer holds a name, NHS number, contact detail,
//! free text or date of birth; answers hold only disclosure-controlled aggregates.

pub mod aggregate;
pub mod api;
pub mod disclosure;
pub mod journey;
pub mod projection;
pub mod pseudonym;

use linkway_platform::auth::BearerAuth;
use std::sync::Arc;

use axum::Json;
use axum::routing::get;
use linkway_platform::ServiceContext;
use linkway_platform::ops::{self, Readiness};
use linkway_platform::registry::Registry;
use linkway_platform::secret::Secret;
use utoipa::OpenApi;

use crate::disclosure::Rules;
use crate::projection::Reporting;
use crate::pseudonym::Pseudonymiser;

/// Names of this service's projections, for `linkway rebuild <name>`.
pub const PROJECTIONS: &[&str] = &["reporting", "registry"];

/// Least number of events per transaction when rebuilding the reporting projection.
const REBUILD_BATCH: usize = 10_000;

/// The development key used when `LINKWAY_PSEUDONYM_KEY` is not set. Public, so insecure.
const DEV_PSEUDONYM_KEY: &str = "linkway-insecure-development-pseudonym-key";

/// How reporting is configured (environment: `LINKWAY_PSEUDONYM_KEY`,
/// `LINKWAY_DISCLOSURE_THRESHOLD`, `LINKWAY_DISCLOSURE_ROUNDING`,
/// `LINKWAY_DISCLOSURE_MIN_CANDIDATES`, `LINKWAY_SWEMWBS_MEANINGFUL_CHANGE`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Key of the pseudonyms; changing it changes every pseudonym (rebuild after).
    pub pseudonym_key: Secret,
    pub disclosure: Rules,
    /// SWEMWBS metric score rise that counts as a meaningful improvement.
    pub meaningful_swemwbs_change: f64,
    /// First contact within this many days of referral counts as timely.
    pub first_contact_days: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            pseudonym_key: Secret::new(DEV_PSEUDONYM_KEY),
            disclosure: Rules::default(),
            meaningful_swemwbs_change: 3.0,
            first_contact_days: 14,
        }
    }
}

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .map_err(|_| anyhow::anyhow!("{name} must be a number, not {v:?}")),
        Err(_) => Ok(default),
    }
}

impl Settings {
    /// Reads the environment; warns loudly when the pseudonym key is the development one.
    pub fn from_env() -> anyhow::Result<Settings> {
        let defaults = Settings::default();
        let pseudonym_key = match std::env::var("LINKWAY_PSEUDONYM_KEY") {
            Ok(k) if !k.is_empty() => Secret::new(k),
            _ => {
                tracing::warn!(
                    "LINKWAY_PSEUDONYM_KEY is not set: using the built-in development key. \
                     INSECURE: anyone with the source can recompute pseudonyms. Set a secret key in production."
                );
                defaults.pseudonym_key
            }
        };
        let d = defaults.disclosure;
        let disclosure = Rules::new(
            env_number("LINKWAY_DISCLOSURE_THRESHOLD", d.threshold)?,
            env_number("LINKWAY_DISCLOSURE_ROUNDING", d.rounding)?,
            env_number("LINKWAY_DISCLOSURE_MIN_CANDIDATES", d.min_candidates)?,
        )?;
        Ok(Settings {
            pseudonym_key,
            disclosure,
            meaningful_swemwbs_change: env_number(
                "LINKWAY_SWEMWBS_MEANINGFUL_CHANGE",
                defaults.meaningful_swemwbs_change,
            )?,
            first_contact_days: defaults.first_contact_days,
        })
    }

    fn projection(&self) -> Reporting {
        Reporting {
            pseudonyms: Pseudonymiser::new(self.pseudonym_key.clone()),
        }
    }
}

/// Spawns this service's projections (registry, reporting) and returns its router:
/// API routes, `/healthz`, `/readyz`, `/metrics` and `/openapi.json`. Settings from the
/// environment.
pub async fn start(ctx: ServiceContext) -> anyhow::Result<axum::Router> {
    start_with(ctx, Settings::from_env()?).await
}

/// [`start`] with explicit settings (tests).
pub async fn start_with(ctx: ServiceContext, settings: Settings) -> anyhow::Result<axum::Router> {
    let registry = ctx.spawn_projection(Registry).await?;
    let reporting = ctx.spawn_projection(settings.projection()).await?;
    let state = api::AppState {
        db: ctx.db.clone(),
        checkpoint: reporting.clone(),
        settings: Arc::new(settings),
    };
    let api = axum::Router::new()
        .route("/summary", get(api::get_summary))
        .route("/feed", get(api::get_outcome_feed))
        .route("/openapi.json", get(|| async { Json(openapi()) }))
        .with_state(state);
    Ok(api.merge(ops::routes(Readiness {
        db: ctx.db.clone(),
        nats: ctx.nats.clone(),
        projections: vec![("registry", registry), ("reporting", reporting)],
    })))
}

/// Rebuilds one projection by name; `Ok(None)` if the name is not this service's.
pub async fn rebuild(
    ctx: &ServiceContext,
    projection: &str,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> anyhow::Result<Option<u64>> {
    rebuild_with(ctx, &Settings::from_env()?, projection, progress).await
}

/// [`rebuild`] with explicit settings (tests).
pub async fn rebuild_with(
    ctx: &ServiceContext,
    settings: &Settings,
    projection: &str,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> anyhow::Result<Option<u64>> {
    match projection {
        "reporting" => {
            // A rebuild has no reader waiting on each event: bigger transactions amortise
            // the per-batch cost (read, commit, checkpoint), which dominates replay.
            let mut ctx = ctx.clone();
            ctx.runner.batch_size = ctx.runner.batch_size.max(REBUILD_BATCH);
            Ok(Some(ctx.rebuild(settings.projection(), progress).await?))
        }
        "registry" => Ok(Some(ctx.rebuild(Registry, progress).await?)),
        _ => Ok(None),
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Linkway reporting",
        description = "Disclosure-controlled outcome figures for commissioners: no person-identifiable data."
    ),
    paths(api::get_summary, api::get_outcome_feed),
    components(schemas(
        api::Summary,
        api::Measure,
        api::FirstContact,
        api::Outcomes,
        api::SwemwbsOutcome,
        api::Ons4Outcome,
        api::Ons4Items,
        api::Ucla3Outcome,
        api::Feed,
        api::FeedMonth,
        api::FeedCell,
        disclosure::Figure,
        disclosure::Statistic,
        disclosure::Star,
        disclosure::Rules,
        linkway_platform::Problem,
        linkway_platform::FieldError,
    )),
    modifiers(&BearerAuth, &OperationalRoutes),
    tags(
        (name = "reporting", description = "Commissioner outcome feed and summary"),
        (name = "operations", description = "Health, readiness, metrics and this document")
    )
)]
struct ApiDoc;

/// The platform's routes every service serves, so the document covers every route.
struct OperationalRoutes;

impl utoipa::Modify for OperationalRoutes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{HttpMethod, OperationBuilder};
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        use utoipa::openapi::{Content, ResponseBuilder};
        let object = || Content::new(Some(ObjectBuilder::new().schema_type(Type::Object).build()));
        let text = || Content::new(Some(ObjectBuilder::new().schema_type(Type::String).build()));
        let routes = [
            (
                "/healthz",
                "getHealth",
                "The process is alive.",
                "application/json",
                object(),
            ),
            (
                "/readyz",
                "getReadiness",
                "NATS and PostgreSQL are reachable; each projection's checkpoint and lag.",
                "application/json",
                object(),
            ),
            (
                "/metrics",
                "getMetrics",
                "Prometheus metrics (OpenMetrics text).",
                "application/openmetrics-text",
                text(),
            ),
            (
                "/openapi.json",
                "getOpenApi",
                "This document.",
                "application/json",
                object(),
            ),
        ];
        for (path, id, description, content_type, content) in routes {
            let mut operation = OperationBuilder::new()
                .operation_id(Some(id))
                .tag("operations")
                .description(Some(description))
                .response(
                    "200",
                    ResponseBuilder::new()
                        .description(description)
                        .content(content_type, content)
                        .build(),
                );
            if path == "/readyz" {
                operation = operation.response(
                    "503",
                    ResponseBuilder::new()
                        .description("Not ready: NATS or PostgreSQL unreachable.")
                        .content("application/json", object())
                        .build(),
                );
            }
            openapi
                .paths
                .add_path_operation(path, vec![HttpMethod::Get], operation.build());
        }
    }
}

/// The OpenAPI document of this service.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
