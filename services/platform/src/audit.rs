//! The one audit trail: who saw or changed which person's record, and when.
//!
//! Commands need nothing of their own: each is an event naming its actor. A read of
//! person-identifiable data is recorded by [`Auditor`] as `audit.recorded` (the actor
//! from the caller's [`crate::auth::Principal`], the operation, the referrals shown)
//! before the data is sent; when it cannot be appended the read answers 503 and shows
//! nothing. No setting turns it off.
//!
//! - [`writer`]: [`Auditor`], the append (no expected sequence, on
//!   `<prefix>.audit.<organisation_id>`: there is no aggregate to decide on, so not the
//!   command path).
//! - [`trail`]: [`AuditTrail`], the read model (schema `audit`) of reads and commands,
//!   installed by every service that holds personal data (intake, link-worker).
//! - [`queries`]: the filters and who sees which entries.
//! - [`api`]: `listAudit` (`GET /audit`); [`page`]: `GET /audit/view`. Both for IG leads
//!   (their organisation's entries, and those about referrals it sent or received) and
//!   administrators (all); anyone else 403. Nothing changes the trail: no route, no
//!   command.

pub mod api;
pub mod page;
pub mod queries;
pub mod trail;
pub mod writer;

use axum::extract::FromRef;
use axum::routing::get;

use crate::{Checkpoint, Database};

pub use trail::AuditTrail;
pub use writer::Auditor;

/// What the trail's routes read: the service's database and where its trail stands.
#[derive(Clone)]
pub struct AuditState {
    pub db: Database,
    /// The [`AuditTrail`] projection's checkpoint, for `?min_sequence=`.
    pub trail: Checkpoint,
}

impl FromRef<AuditState> for Database {
    fn from_ref(state: &AuditState) -> Database {
        state.db.clone()
    }
}

/// `GET /audit` and `GET /audit/view`, state applied.
pub fn routes(state: AuditState) -> axum::Router {
    axum::Router::new()
        .route("/audit", get(api::list_audit))
        .route("/audit/view", get(page::page))
        .with_state(state)
}

/// The trail's operations in a service's OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(api::list_audit, page::page),
    components(schemas(queries::AuditPage, queries::AuditEntry)),
    tags((name = "audit", description = "Who saw or changed which person's record (IG leads and administrators)"))
)]
struct AuditDoc;

/// Adds `listAudit` and the audit page to a service's document.
pub fn document(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    doc.merge(AuditDoc::openapi());
    doc
}
