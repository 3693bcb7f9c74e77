//! Sending and following referrals: `submitReferral`, `getReferral`, `listReferrals`, and
//! the views they answer with (the referrer's timeline, codes and details only where the
//! person agreed to share them).

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use linkway_events::Role;
use linkway_events::common::Coding;
use linkway_platform::auth::Principal;
use linkway_platform::http::{Path, Query};
use linkway_platform::idempotency::IdempotencyKey;
use linkway_platform::{ApiError, FieldError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{
    CommandResponse, REFERRAL_ROLES, ReadQuery, parse_body, require_json, today, wait_for,
};
use crate::AppState;
use crate::command;
use crate::queries;
use crate::read_model::{OutcomeSummary, PersonSummary, ReferralRow, Status};
use crate::validation::{self, ReferralRequest};

/// Filters and paging for `listReferrals`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub min_sequence: Option<u64>,
    /// Only referrals in this status (`routed`, `accepted`, `closed`, ...).
    pub status: Option<String>,
    /// At most this many (1-200, default 50).
    pub limit: Option<i64>,
    /// Skip this many (newest first).
    pub offset: Option<i64>,
}

/// One entry of a referral's timeline: what happened, in codes (and details only where the
/// person agreed to share them with the referrer).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TimelineItem {
    pub sequence: u64,
    /// `received`, `routed`, `unroutable`, `accepted`, `declined`, `first_contact`,
    /// `could_not_contact`, `plan_agreed`, `plan_reviewed`, `connection_made`, `closed`,
    /// `withdrawn`, `entered_in_error`.
    pub kind: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: OffsetDateTime,
    #[schema(value_type = Object)]
    pub detail: Value,
}

/// A referral as its referrer sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReferralView {
    pub referral_id: Uuid,
    pub status: Status,
    pub referrer_organisation_id: String,
    /// The link-worker service it was routed to.
    pub link_worker_organisation_id: Option<String>,
    pub unroutable_reason: Option<String>,
    /// `api`, `fhir` or `web`.
    pub source_channel: String,
    pub urgency: String,
    pub safeguarding_concern: bool,
    pub needs: Vec<CodingView>,
    pub postcode_district: String,
    pub age_band: String,
    /// Absent once the person was erased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonSummary>,
    /// The person was erased: nothing that identifies them is kept.
    pub erased: bool,
    /// Other open referrals of the same person at the same service (administrators only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub possible_duplicate_of: Option<Vec<Uuid>>,
    /// The FHIR sender's endpoint for replies, when it came as a message (administrators only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    pub outcomes: Vec<OutcomeSummary>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub received_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
    /// Stream sequence of the last event reflected here.
    pub sequence: u64,
    pub timeline: Vec<TimelineItem>,
}

/// A code as shown back.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CodingView {
    pub system: String,
    pub code: String,
    pub display: Option<String>,
}

impl From<&Coding> for CodingView {
    fn from(c: &Coding) -> Self {
        CodingView {
            system: c.system.clone(),
            code: c.code.clone(),
            display: c.display.clone(),
        }
    }
}

/// A line of `listReferrals`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReferralSummary {
    pub referral_id: Uuid,
    pub status: Status,
    pub referrer_organisation_id: String,
    pub link_worker_organisation_id: Option<String>,
    pub urgency: String,
    /// Absent once the person was erased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonSummary>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub received_at: OffsetDateTime,
    pub sequence: u64,
}

impl From<&ReferralRow> for ReferralSummary {
    fn from(r: &ReferralRow) -> Self {
        ReferralSummary {
            referral_id: r.referral_id,
            status: r.status,
            referrer_organisation_id: r.referrer_organisation_id.clone(),
            link_worker_organisation_id: r.link_worker_organisation_id.clone(),
            urgency: r.urgency.clone(),
            person: r.person.clone(),
            received_at: r.received_at,
            sequence: r.last_sequence,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReferralList {
    pub items: Vec<ReferralSummary>,
    /// How many match in all (for paging).
    pub total: i64,
}

/// Sends a referral.
#[utoipa::path(
    post,
    path = "/referrals",
    operation_id = "submitReferral",
    tag = "referrals",
    request_body(content = ReferralRequest, content_type = "application/json"),
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and body get the original answer; the same key with another body gets 422."),
        ("X-Correlation-ID" = Option<String>, Header, description = "A UUID tying this request to later events."),
    ),
    responses(
        (status = 201, description = "Received and routed (or listed as unroutable for an administrator); Location names the referral", body = CommandResponse,
            headers(("Location" = String, description = "`/referrals/{referral_id}` of the new referral"))),
        (status = 403, description = "Role may not send referrals, or names another organisation", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Concurrent change; retry", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed (each error names field and rule), or the Idempotency-Key was used for another request", body = linkway_platform::Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn submit_referral(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    principal.require(REFERRAL_ROLES)?;
    require_json(&headers)?;
    let key = IdempotencyKey::from_headers(&headers, &principal.organisation_id)?;
    let operation = "submitReferral";
    let request: ReferralRequest = parse_body(&body)?;
    let valid = validation::validate(&request, today()).map_err(ApiError::Validation)?;
    let referrer = command::referring_organisation(
        &state,
        &principal,
        valid.referrer_organisation_id.as_deref(),
    )
    .await?;
    let done = command::submit(
        &state,
        &principal,
        referrer,
        key,
        operation,
        valid,
        command::Arrival::Api,
        &headers,
        &body,
    )
    .await?;
    let location = format!("/referrals/{}", done.answer.referral_id);
    Ok((
        done.status,
        [(axum::http::header::LOCATION, location)],
        Json(done.answer),
    )
        .into_response())
}

/// Loads a referral row the caller may see; another organisation's is "not found".
pub async fn visible_row(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
) -> Result<ReferralRow, ApiError> {
    let client = state.db.client().await?;
    let row = queries::referral(&client, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if principal.role != Role::Admin && row.referrer_organisation_id != principal.organisation_id {
        return Err(ApiError::NotFound);
    }
    Ok(row)
}

/// One referral with its timeline.
#[utoipa::path(
    get,
    path = "/referrals/{referral_id}",
    operation_id = "getReferral",
    tag = "referrals",
    params(("referral_id" = Uuid, Path, description = "The referral's id"), ReadQuery),
    responses(
        (status = 200, description = "The referral and its timeline", body = ReferralView),
        (status = 403, description = "Role may not read referrals", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such referral, or another organisation's", body = linkway_platform::Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn get_referral(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Query(q): Query<ReadQuery>,
) -> Result<Json<ReferralView>, ApiError> {
    principal.require(REFERRAL_ROLES)?;
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    wait_for(&state, q.min_sequence).await?;
    let row = visible_row(&state, &principal, id).await?;
    // In the audit trail before the person's details are sent (503 when it cannot be).
    state.audit.shown(&principal, "getReferral", &[id]).await?;
    let client = state.db.client().await?;
    let timeline = queries::timeline(&client, id).await?;
    let admin = principal.role == Role::Admin;
    Ok(Json(ReferralView {
        referral_id: row.referral_id,
        status: row.status,
        referrer_organisation_id: row.referrer_organisation_id,
        link_worker_organisation_id: row.link_worker_organisation_id,
        unroutable_reason: row.unroutable_reason,
        source_channel: row.source_channel,
        urgency: row.urgency,
        safeguarding_concern: row.safeguarding_concern,
        needs: row.needs.iter().map(CodingView::from).collect(),
        postcode_district: row.postcode_district,
        age_band: row.age_band,
        person: row.person,
        erased: row.erased,
        possible_duplicate_of: admin.then_some(row.possible_duplicate_of),
        reply_to: row.reply_to.filter(|_| admin),
        outcomes: row.outcomes,
        received_at: row.received_at,
        updated_at: row.updated_at,
        sequence: row.last_sequence,
        timeline,
    }))
}

/// The caller's organisation's referrals, newest first (administrators: all).
#[utoipa::path(
    get,
    path = "/referrals",
    operation_id = "listReferrals",
    tag = "referrals",
    params(ListQuery),
    responses(
        (status = 200, description = "Referrals sent by the caller's organisation", body = ReferralList),
        (status = 403, description = "Role may not list referrals", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad filter or paging", body = linkway_platform::Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn list_referrals(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<ListQuery>,
) -> Result<Json<ReferralList>, ApiError> {
    principal.require(REFERRAL_ROLES)?;
    let mut errors = Vec::new();
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => match Status::parse(s) {
            Some(s) => Some(s.as_str()),
            None => {
                errors.push(FieldError::new(
                    "status",
                    "one_of",
                    "is not a referral status",
                ));
                None
            }
        },
    };
    let linkway_platform::http::Paging { limit, offset } =
        linkway_platform::http::Paging::read(q.limit, q.offset, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    wait_for(&state, q.min_sequence).await?;
    // Administrators see every organisation's; anyone else only their own.
    let org: Option<&str> =
        (principal.role != Role::Admin).then_some(principal.organisation_id.as_str());
    let client = state.db.client().await?;
    let page = queries::referral_page(&client, org, status, limit, offset).await?;
    let shown: Vec<Uuid> = page.rows.iter().map(|r| r.referral_id).collect();
    state
        .audit
        .shown(&principal, "listReferrals", &shown)
        .await?;
    let total = page.total;
    let items = page.rows.iter().map(ReferralSummary::from).collect();
    Ok(Json(ReferralList { items, total }))
}
