//! Administrators' view of the outbox: `listOutboundMessages` (`GET /admin/outbound`, by
//! state, newest first, each with its delivery log) and `retryOutboundMessage` (`POST
//! /admin/outbound/{id}/retry`: a dead message is tried again from its first
//! attempt). Ids, codes and delivery state only: never a message's body.

use axum::Json;
use axum::extract::State;
use linkway_events::Role;
use linkway_platform::auth::Principal;
use linkway_platform::http::{Paging, Path, Query};
use linkway_platform::{ApiError, FieldError};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::store;
use crate::AppState;

/// The states a message can be in.
pub const STATES: &[&str] = &["pending", "delivered", "dead", "erased"];

/// Filters and paging for `listOutboundMessages`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboundQuery {
    /// Only messages in this state: `pending`, `delivered`, `dead` or `erased` (the person
    /// was erased before it was delivered: it is never sent).
    #[param(pattern = "^(pending|delivered|dead|erased)?$")]
    pub state: Option<String>,
    /// At most this many (1-200, default 50).
    pub limit: Option<i64>,
    /// Skip this many (newest first).
    pub offset: Option<i64>,
}

/// One attempt to deliver a message.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OutboundAttempt {
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub attempted_at: OffsetDateTime,
    /// The receiver's HTTP status, where it answered.
    pub status_code: Option<i32>,
    /// Why there was no answer: `timeout`, `connect`, `request` or `unsupported_endpoint`.
    pub error_kind: Option<String>,
    pub duration_ms: i32,
}

/// One message back to a referrer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OutboundMessage {
    /// The Bundle's and MessageHeader's id: the receiver drops one it already has.
    pub message_id: Uuid,
    pub referral_id: Uuid,
    /// The stream sequence of the event it tells of: a referral's messages go in this order.
    pub sequence: i64,
    /// `accepted`, `declined`, `could_not_contact`, `plan_agreed`, `outcome_recorded`, `closed`.
    pub kind: String,
    /// The referrer's endpoint.
    pub endpoint: String,
    /// `pending`, `delivered`, `dead` or `erased`.
    pub state: String,
    pub attempts: i32,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub next_attempt_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<OffsetDateTime>,
    /// The last attempt's failure: `http_<status>` or the kind of error.
    pub last_error: Option<String>,
    /// Every attempt, oldest first.
    pub delivery_log: Vec<OutboundAttempt>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OutboundList {
    /// Newest first.
    pub items: Vec<OutboundMessage>,
    /// How many messages the filter matches in all.
    pub total: i64,
}

impl From<store::Listed> for OutboundMessage {
    fn from(l: store::Listed) -> Self {
        OutboundMessage {
            message_id: l.message_id,
            referral_id: l.referral_id,
            sequence: l.sequence,
            kind: l.kind,
            endpoint: l.endpoint,
            state: l.state,
            attempts: l.attempts,
            next_attempt_at: l.next_attempt_at,
            created_at: l.created_at,
            delivered_at: l.delivered_at,
            last_error: l.last_error,
            delivery_log: l
                .log
                .into_iter()
                .map(|a| OutboundAttempt {
                    attempted_at: a.attempted_at,
                    status_code: a.status_code,
                    error_kind: a.error_kind,
                    duration_ms: a.duration_ms,
                })
                .collect(),
        }
    }
}

/// Reads the filter: the state, if one of [`STATES`], and the page.
pub fn read_query(q: &OutboundQuery) -> Result<(Option<&'static str>, Paging), ApiError> {
    let mut errors = Vec::new();
    let state = match q.state.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match STATES.iter().find(|k| **k == s) {
            Some(k) => Some(*k),
            None => {
                errors.push(FieldError::new(
                    "state",
                    "one_of",
                    "is not pending, delivered, dead or erased",
                ));
                None
            }
        },
    };
    let paging = Paging::read(q.limit, q.offset, &mut errors);
    if errors.is_empty() {
        Ok((state, paging))
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// Messages back to referrers, newest first, with their delivery logs.
#[utoipa::path(
    get,
    path = "/admin/outbound",
    operation_id = "listOutboundMessages",
    tag = "admin",
    params(OutboundQuery),
    responses(
        (status = 200, description = "Messages back to referrers, newest first", body = OutboundList),
        (status = 403, description = "Administrators only", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown state, or a bad page", body = linkway_platform::Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn list_outbound_messages(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<OutboundQuery>,
) -> Result<Json<OutboundList>, ApiError> {
    principal.require(&[Role::Admin])?;
    let (filter, paging) = read_query(&q)?;
    let client = state.db.client().await?;
    let (items, total) = store::list(&**client, filter, paging.limit, paging.offset).await?;
    Ok(Json(OutboundList {
        items: items.into_iter().map(OutboundMessage::from).collect(),
        total,
    }))
}

/// A retry says nothing: send `{}` or no body.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct RetryRequest {}

/// What a retry did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RetryAnswer {
    pub message_id: Uuid,
    /// `pending`: it is tried again now, from its first attempt.
    pub state: String,
}

/// A dead message is tried again, now, from its first attempt.
#[utoipa::path(
    post,
    path = "/admin/outbound/{id}/retry",
    operation_id = "retryOutboundMessage",
    tag = "admin",
    params(("id" = Uuid, Path, description = "The message's id (`message_id`)")),
    request_body(content = RetryRequest, content_type = "application/json", description = "Nothing: `{}`, or no body at all"),
    responses(
        (status = 200, description = "Pending again, tried now", body = RetryAnswer),
        (status = 403, description = "Administrators only", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such message", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The message is not dead (pending, delivered or erased)", body = linkway_platform::Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn retry_outbound_message(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<RetryAnswer>, ApiError> {
    principal.require(&[Role::Admin])?;
    let message_id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    retry(&state, message_id).await?;
    Ok(Json(RetryAnswer {
        message_id,
        state: "pending".into(),
    }))
}

/// Retries a dead message: 404 when there is none, 409 when it is not dead.
pub async fn retry(state: &AppState, message_id: Uuid) -> Result<(), ApiError> {
    let client = state.db.client().await?;
    if store::retry(&**client, message_id).await? {
        return Ok(());
    }
    let found = client
        .query_opt(
            "SELECT state FROM public.outbound_messages WHERE message_id = $1",
            &[&message_id],
        )
        .await?;
    match found {
        None => Err(ApiError::NotFound),
        Some(_) => Err(ApiError::refused(
            "only_dead_messages_are_retried",
            "only a dead message is retried",
        )),
    }
}
