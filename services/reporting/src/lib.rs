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
//! - [`pages`]: the commissioner's dashboard (`/`, `/dashboard.csv`): the summary's
//!   figures as accessible SVG charts beside tables, and as CSV.
//! - [`queries`]: the SQL of those answers, as typed functions (one snapshot per answer).
//!
//! **Invariant**: no reporting table or answer holds a name, NHS number, contact detail,
//! free text or date of birth; answers hold only disclosure-controlled aggregates.

pub mod aggregate;
pub mod api;
pub mod disclosure;
pub mod journey;
pub mod pages;
pub mod projection;
pub mod pseudonym;
pub mod queries;

use linkway_platform::auth::BearerAuth;
use std::sync::Arc;

use api::params::ExactParameters;
use axum::routing::get;
use linkway_platform::registry::Registry;
use linkway_platform::secret::Secret;
use linkway_platform::service::{self, BoxFuture, Progress, Service, Started};
use linkway_platform::{Database, ServiceContext};
use utoipa::OpenApi;

use crate::disclosure::Rules;
use crate::projection::Reporting;
use crate::pseudonym::Pseudonymiser;

/// Names of this service's projections, for `linkway rebuild <name>`.
pub const PROJECTIONS: &[&str] = &["reporting", "registry"];

/// Least number of events per transaction when rebuilding the reporting projection.
const REBUILD_BATCH: usize = 10_000;

/// How reporting is configured. The binary fills it from `LINKWAY_PSEUDONYM_KEY`,
/// `LINKWAY_DISCLOSURE_THRESHOLD`, `LINKWAY_DISCLOSURE_ROUNDING`,
/// `LINKWAY_DISCLOSURE_MIN_CANDIDATES` and `LINKWAY_SWEMWBS_MEANINGFUL_CHANGE`; this crate
/// reads no environment. There is no default key: a key in the source is public, and
/// anyone holding it could recompute pseudonyms.
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

impl Settings {
    /// The default rules with the given pseudonym key.
    pub fn new(pseudonym_key: Secret) -> Settings {
        Settings {
            pseudonym_key,
            disclosure: Rules::default(),
            meaningful_swemwbs_change: 3.0,
            first_contact_days: 14,
        }
    }

    pub fn projection(&self) -> Reporting {
        Reporting {
            pseudonyms: Pseudonymiser::new(self.pseudonym_key.clone()),
        }
    }
}

/// Reporting as the `linkway` binary runs it. Without settings (no pseudonym key) it can
/// migrate and rebuild its registry, and refuses to start or rebuild `reporting`.
pub struct ReportingService {
    pub settings: Option<Settings>,
}

impl ReportingService {
    fn settings(&self) -> anyhow::Result<&Settings> {
        self.settings
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!(NO_PSEUDONYM_KEY))
    }
}

/// Why reporting will not run without a pseudonym key.
pub const NO_PSEUDONYM_KEY: &str = "reporting refuses to run without LINKWAY_PSEUDONYM_KEY \
     (--pseudonym-key): its pseudonyms are keyed hashes, and with a key anyone knows, anyone \
     can recompute them. Set a secret key, the same one every time (changing it needs \
     `linkway rebuild reporting`); only `linkway demo` runs on a built-in key";

impl Service for ReportingService {
    fn name(&self) -> &'static str {
        "reporting"
    }

    fn projections(&self) -> &'static [&'static str] {
        PROJECTIONS
    }

    fn openapi(&self) -> utoipa::openapi::OpenApi {
        openapi()
    }

    /// Reporting's database holds projections only.
    fn migrate<'a>(&'a self, _db: &'a Database) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async { Ok(()) })
    }

    /// Spawns the registry and reporting projections; the API over the latter.
    fn start<'a>(&'a self, ctx: &'a ServiceContext) -> BoxFuture<'a, anyhow::Result<Started>> {
        Box::pin(async move {
            let settings = self.settings()?.clone();
            let registry = ctx.spawn_projection(Registry).await?;
            let reporting = ctx.spawn_projection(settings.projection()).await?;
            let state = api::AppState {
                summaries: api::summary_cache::SummaryCache::default(),
                db: ctx.db.clone(),
                checkpoint: reporting.clone(),
                settings: Arc::new(settings),
            };
            tokio::spawn(api::summary_cache::keep_fresh(state.clone()));
            let routes = axum::Router::new()
                .route("/summary", get(api::get_summary))
                .route("/feed", get(api::get_outcome_feed))
                .merge(pages::routes())
                .with_state(state);
            Ok(Started {
                routes,
                projections: vec![("registry", registry), ("reporting", reporting)],
                on_scrape: None,
            })
        })
    }

    fn rebuild<'a>(
        &'a self,
        ctx: &'a ServiceContext,
        projection: &'a str,
        progress: &'a Progress<'a>,
    ) -> BoxFuture<'a, anyhow::Result<Option<u64>>> {
        Box::pin(async move {
            match projection {
                "reporting" => {
                    let projection = self.settings()?.projection();
                    // A rebuild has no reader waiting on each event: bigger transactions
                    // amortise the per-batch cost (read, commit, checkpoint), which
                    // dominates replay.
                    let mut ctx = ctx.clone();
                    ctx.runner.batch_size = ctx.runner.batch_size.max(REBUILD_BATCH);
                    Ok(Some(ctx.rebuild(projection, progress).await?))
                }
                "registry" => Ok(Some(ctx.rebuild(Registry, progress).await?)),
                _ => Ok(None),
            }
        })
    }
}

/// Starts reporting with explicit settings and returns its whole router: API routes,
/// `/healthz`, `/readyz`, `/metrics` and `/openapi.json`, under the request layer.
pub async fn start_with(ctx: ServiceContext, settings: Settings) -> anyhow::Result<axum::Router> {
    let service = ReportingService {
        settings: Some(settings),
    };
    service::router(&service, &ctx).await
}

/// Rebuilds one projection by name with explicit settings; `Ok(None)` if the name is not
/// this service's.
pub async fn rebuild_with(
    ctx: &ServiceContext,
    settings: &Settings,
    projection: &str,
    progress: &Progress<'_>,
) -> anyhow::Result<Option<u64>> {
    let service = ReportingService {
        settings: Some(settings.clone()),
    };
    service.rebuild(ctx, projection, progress).await
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Linkway reporting",
        description = "Disclosure-controlled outcome figures for commissioners: no person-identifiable data."
    ),
    paths(
        api::get_summary,
        api::get_outcome_feed,
        pages::get_dashboard,
        pages::get_dashboard_csv
    ),
    components(schemas(
        api::Summary,
        api::Measure,
        api::FirstContact,
        api::Outcomes,
        api::SwemwbsOutcome,
        api::Ons4Outcome,
        api::Ons4Items,
        api::Ucla3Outcome,
        api::MycawOutcome,
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
    modifiers(&BearerAuth, &OperationalRoutes, &ExactParameters),
    tags(
        (name = "reporting", description = "Commissioner outcome feed and summary"),
        (name = "pages", description = "The commissioner's dashboard (HTML, signed in with a session cookie) and its figures as CSV"),
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
