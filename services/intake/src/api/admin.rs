//! Administrators' work: `listUnroutable` (referrals no routing rule matched, oldest
//! first) and `routeReferral` (routing one by hand).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use linkway_events::Role;
use linkway_platform::ApiError;
use linkway_platform::auth::Principal;
use linkway_platform::http::{Path, Query};
use linkway_platform::idempotency::IdempotencyKey;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{CommandResponse, ReadQuery, parse_body, referral_id, require_json, wait_for};
use crate::AppState;
use crate::command;
use crate::queries;

/// Which link-worker service an administrator routes a referral to.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteRequest {
    /// A registered organisation that runs a link-worker service.
    #[schema(required = true)]
    pub link_worker_organisation_id: Option<String>,
}

/// A referral waiting for an administrator to route it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UnroutableItem {
    pub referral_id: Uuid,
    pub referrer_organisation_id: String,
    pub postcode_district: String,
    pub urgency: String,
    pub safeguarding_concern: bool,
    pub reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub received_at: OffsetDateTime,
    pub sequence: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UnroutableList {
    /// Oldest first: the longest waiting are routed first.
    pub items: Vec<UnroutableItem>,
}

/// Referrals no rule matched, oldest first, for an administrator to route by hand.
#[utoipa::path(
    get,
    path = "/admin/unroutable",
    operation_id = "listUnroutable",
    tag = "admin",
    params(ReadQuery),
    responses(
        (status = 200, description = "Unroutable referrals, oldest first", body = UnroutableList),
        (status = 403, description = "Administrators only", body = linkway_platform::Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn list_unroutable(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<ReadQuery>,
) -> Result<Json<UnroutableList>, ApiError> {
    principal.require(&[Role::Admin])?;
    wait_for(&state, q.min_sequence).await?;
    let client = state.db.client().await?;
    let items = queries::unroutable_referrals(&client)
        .await?
        .into_iter()
        .map(|row| UnroutableItem {
            referral_id: row.referral_id,
            referrer_organisation_id: row.referrer_organisation_id,
            postcode_district: row.postcode_district,
            urgency: row.urgency,
            safeguarding_concern: row.safeguarding_concern,
            reason: row.unroutable_reason,
            received_at: row.received_at,
            sequence: row.last_sequence,
        })
        .collect();
    Ok(Json(UnroutableList { items }))
}

/// An administrator routes an unroutable referral by hand.
#[utoipa::path(
    post,
    path = "/referrals/{referral_id}/route",
    operation_id = "routeReferral",
    tag = "admin",
    request_body(content = RouteRequest, content_type = "application/json"),
    params(
        ("referral_id" = Uuid, Path, description = "The referral's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe"),
    ),
    responses(
        (status = 200, description = "Routed", body = CommandResponse),
        (status = 403, description = "Administrators only", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such referral", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The referral is not waiting to be routed", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a registered link-worker service; or Idempotency-Key reused", body = linkway_platform::Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn route_referral(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    principal.require(&[Role::Admin])?;
    let referral_id = referral_id(&id)?;
    require_json(&headers)?;
    let key = IdempotencyKey::from_headers(&headers, &principal.organisation_id)?;
    let request: RouteRequest = parse_body(&body)?;
    let service = match crate::validation::CODE.clean(
        request
            .link_worker_organisation_id
            .as_deref()
            .unwrap_or_default(),
    ) {
        Ok(Some(s)) => s,
        Ok(None) => {
            return Err(ApiError::field(
                "link_worker_organisation_id",
                "required",
                "is required",
            ));
        }
        Err(e) => {
            return Err(ApiError::field(
                "link_worker_organisation_id",
                e.rule(),
                &e.to_string(),
            ));
        }
    };
    let client = state.db.client().await?;
    match linkway_platform::registry::organisation(&client, &service).await? {
        Some(o) if o.link_worker_service => {}
        _ => {
            return Err(ApiError::field(
                "link_worker_organisation_id",
                "link_worker_service",
                "is not a registered organisation running a link-worker service",
            ));
        }
    }
    drop(client);
    let decision = command::RouteByHand {
        link_worker_organisation_id: service,
    };
    let done = command::run(
        &state,
        &principal,
        "routeReferral",
        referral_id,
        key,
        &headers,
        &body,
        StatusCode::OK,
        &decision,
    )
    .await?;
    Ok((done.status, Json(done.answer)).into_response())
}
