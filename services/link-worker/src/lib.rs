//! The link-worker service: where link workers spend their day.
//!
//! - [`case`]: the case's journey as a pure state machine (fold + decide), no I/O.
//! - [`outcomes`]: outcome measures (ONS4, SWEMWBS, WEMWBS, UCLA-3) scored as pure,
//!   versioned functions.
//! - [`caseload`]: the caseload projection (schema `caseload`), folded from `referral.*`
//!   and `case.*` events with the same fold the commands use.
//! - [`directory`]: the directory of community services (Open Referral UK), reference
//!   data imported into a table of its own.
//! - [`audit`]: the access log of who saw which person's record.
//! - [`api`]: the HTTP operations: caseload queries and case commands. Each command loads
//!   the aggregate from the log, decides with [`case::decide`], and appends with the
//!   expected sequence, so two link workers changing one case never lose an update.
//!
//! The service appends only `case.*` events and reads only the log and its own database.

pub mod api;
pub mod audit;
pub mod case;
pub mod caseload;
pub mod directory;
pub mod outcomes;

use linkway_platform::ServiceContext;
use linkway_platform::ops::{self, Readiness};
use linkway_platform::registry::Registry;

pub use api::openapi;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// Names of this service's projections, for `linkway rebuild <name>`.
pub const PROJECTIONS: &[&str] = &["caseload", "registry"];

/// Runs migrations, spawns this service's projections (caseload and registry) and returns
/// its router: API routes, `/healthz`, `/readyz`, `/metrics` and `/openapi.json`.
/// Settings come from `LINKWAY_MAX_CONTACT_ATTEMPTS` and `LINKWAY_CONNECTION_ANSWER_DAYS`.
pub async fn start(ctx: ServiceContext) -> anyhow::Result<axum::Router> {
    start_with(ctx, case::Policy::from_env()?).await
}

/// [`start`] with explicit settings (contact attempts, connection answer window).
pub async fn start_with(ctx: ServiceContext, policy: case::Policy) -> anyhow::Result<axum::Router> {
    ctx.db.migrate(embedded::migrations::runner()).await?;
    let registry = ctx.spawn_projection(Registry).await?;
    let caseload = ctx.spawn_projection(caseload::Caseload).await?;
    let state = api::AppState {
        db: ctx.db.clone(),
        store: ctx.store.clone(),
        caseload: caseload.clone(),
        policy,
    };
    let readiness = Readiness {
        db: ctx.db.clone(),
        nats: ctx.nats.clone(),
        projections: vec![("caseload", caseload), ("registry", registry)],
    };
    Ok(api::routes(state).merge(ops::routes(readiness)))
}

/// Rebuilds one projection by name; `Ok(None)` if the name is not this service's.
pub async fn rebuild(
    ctx: &ServiceContext,
    projection: &str,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> anyhow::Result<Option<u64>> {
    match projection {
        "caseload" => Ok(Some(ctx.rebuild(caseload::Caseload, progress).await?)),
        "registry" => Ok(Some(ctx.rebuild(Registry, progress).await?)),
        _ => Ok(None),
    }
}
