//! Taking a referral back: `withdrawReferral` and `markReferralEnteredInError`, one
//! decision ([`crate::command::Correct`]) for both.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use linkway_platform::ApiError;
use linkway_platform::auth::Principal;
use linkway_platform::http::Path;
use linkway_platform::idempotency::IdempotencyKey;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{CommandResponse, REFERRAL_ROLES, parse_body, referral_id, require_json};
use crate::AppState;
use crate::command::{self, Correction};

/// Why a referral is withdrawn or marked entered-in-error.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    /// Required, at most 500 characters. Say why without describing the person.
    #[schema(required = true)]
    pub reason: Option<String>,
}

/// The referrer takes the referral back.
#[utoipa::path(
    post,
    path = "/referrals/{referral_id}/withdraw",
    operation_id = "withdrawReferral",
    tag = "referrals",
    request_body(content = ReasonRequest, content_type = "application/json"),
    params(
        ("referral_id" = Uuid, Path, description = "The referral's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe"),
    ),
    responses(
        (status = 200, description = "Withdrawn", body = CommandResponse),
        (status = 403, description = "Role may not withdraw referrals", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such referral, or another organisation's", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already closed, declined, withdrawn or entered in error; or changed concurrently", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Reason missing or too long; or Idempotency-Key reused", body = linkway_platform::Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn withdraw_referral(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    correct_referral(
        &state,
        &principal,
        &id,
        &headers,
        &body,
        Correction::Withdraw,
    )
    .await
}

/// The referral should never have existed (wrong person, duplicate entry, test data).
#[utoipa::path(
    post,
    path = "/referrals/{referral_id}/entered-in-error",
    operation_id = "markReferralEnteredInError",
    tag = "referrals",
    request_body(content = ReasonRequest, content_type = "application/json"),
    params(
        ("referral_id" = Uuid, Path, description = "The referral's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe"),
    ),
    responses(
        (status = 200, description = "Marked entered in error", body = CommandResponse),
        (status = 403, description = "Role may not correct referrals", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such referral, or another organisation's", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already entered in error, or changed concurrently", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Reason missing or too long; or Idempotency-Key reused", body = linkway_platform::Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn mark_entered_in_error(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    correct_referral(
        &state,
        &principal,
        &id,
        &headers,
        &body,
        Correction::EnteredInError,
    )
    .await
}

/// Withdraws a referral or marks it entered in error: one decision, [`command::Correct`].
async fn correct_referral(
    state: &AppState,
    principal: &Principal,
    id: &str,
    headers: &HeaderMap,
    body: &Bytes,
    correction: Correction,
) -> Result<Response, ApiError> {
    principal.require(REFERRAL_ROLES)?;
    let referral_id = referral_id(id)?;
    require_json(headers)?;
    let key = IdempotencyKey::from_headers(headers, &principal.organisation_id)?;
    let operation = match correction {
        Correction::Withdraw => "withdrawReferral",
        Correction::EnteredInError => "markReferralEnteredInError",
    };
    let request: ReasonRequest = parse_body(body)?;
    let reason = command::reason(request.reason.as_deref())?;
    let decision = command::Correct { correction, reason };
    let done = command::run(
        state,
        principal,
        operation,
        referral_id,
        key,
        headers,
        body,
        StatusCode::OK,
        &decision,
    )
    .await?;
    Ok((done.status, Json(done.answer)).into_response())
}
