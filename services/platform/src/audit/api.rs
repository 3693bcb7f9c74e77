//! `listAudit`: `GET /audit`, the trail as JSON, for IG leads (their organisation's) and
//! administrators (all).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use super::AuditState;
use super::queries::{self, Asked, AuditPage, Filter};
use crate::auth::Principal;
use crate::http::{Paging, Query};
use crate::problem::ApiError;
use crate::read_your_writes;

/// Filters and paging of `listAudit`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only entries about this referral (the person's record).
    #[param(value_type = Option<String>, format = Uuid)]
    pub referral_id: Option<String>,
    /// Only entries of this user.
    #[param(max_length = 128)]
    pub user_id: Option<String>,
    /// Only entries recorded at or after: an RFC 3339 date-time, or a date (its midnight, UTC).
    pub from: Option<String>,
    /// Only entries recorded before: an RFC 3339 date-time, or a date (that whole day included).
    pub to: Option<String>,
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<i64>,
    /// Entries to skip (newest first; default 0).
    #[param(minimum = 0, default = 0)]
    pub offset: Option<i64>,
    /// Wait (at most 5 s) until the trail includes this stream sequence.
    pub min_sequence: Option<u64>,
}

impl AuditQuery {
    fn asked(&self) -> Asked<'_> {
        Asked {
            referral_id: self.referral_id.as_deref(),
            user_id: self.user_id.as_deref(),
            from: self.from.as_deref(),
            to: self.to.as_deref(),
        }
    }
}

/// The audit trail: every read of a person's record and every command on it, newest first.
#[utoipa::path(
    get, path = "/audit", operation_id = "listAudit", tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of the trail: an IG lead's organisation's entries and those about referrals it sent or received; an administrator's, all", body = AuditPage),
        (status = 403, description = "Neither an IG lead nor an administrator", body = crate::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A filter or paging parameter is wrong (each error names it and the rule)", body = crate::Problem, content_type = "application/problem+json"),
        crate::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn list_audit(
    State(state): State<AuditState>,
    principal: Principal,
    Query(q): Query<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    principal.require(queries::ROLES)?;
    let mut errors = Vec::new();
    // The page's form sends empty fields for the filters left blank, and reads them as
    // none; the API takes exactly what its document says, a UUID.
    if let Some(v) = q.referral_id.as_deref()
        && (v.trim().is_empty() || v.trim() != v)
    {
        errors.push(crate::problem::FieldError::new(
            "referral_id",
            "uuid",
            "must be a referral id (a UUID)",
        ));
    }
    let filter = Filter::read(&q.asked(), &mut errors);
    let Paging { limit, offset } = Paging::read(q.limit, q.offset, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    read_your_writes::reach(&state.trail, q.min_sequence).await?;
    let mut client = state.db.client().await?;
    let page = queries::page(
        &mut client,
        queries::scope(&principal),
        &filter,
        limit,
        offset,
    )
    .await?;
    Ok(Json(page))
}
