//! The inbox over HTTP (tag `inbox`, role `community_service`): the caller's
//! organisation's connections and its answers. The directory services it answers for come
//! from this service's copy of the registry (configuration); a connection sent elsewhere
//! is 404 exactly like a missing one, for reads and answers alike. Every read of the
//! shared details is recorded by the platform's `Auditor` before it is sent.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use linkway_events::Role;
use linkway_events::case::ConnectionDeclineReason;
use linkway_eventstore::EventStore;
use linkway_platform::audit::Auditor;
use linkway_platform::auth::Principal;
use linkway_platform::command::{self, Call};
use linkway_platform::http::{CorrelationId, Paging, Path, Query};
use linkway_platform::idempotency::IdempotencyKey;
use linkway_platform::{ApiError, Checkpoint, Database, Problem, read_your_writes};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::decision::{Answer, AnswerRecorded, InboxDecision};
use super::item::InboxItem;
use super::queries;
use crate::case::ConnectionStatus;

type Result<T> = std::result::Result<T, ApiError>;

/// Who answers onward referrals.
pub const INBOX_ROLES: &[Role] = &[Role::CommunityService];

/// What the inbox's handlers share.
#[derive(Clone)]
pub struct InboxState {
    pub db: Database,
    pub store: EventStore,
    /// Where the inbox projection stands, for `?min_sequence=`.
    pub inbox: Checkpoint,
    /// Records each read of shared details before it is sent.
    pub audit: Auditor,
}

impl axum::extract::FromRef<InboxState> for Database {
    fn from_ref(state: &InboxState) -> Database {
        state.db.clone()
    }
}

/// The inbox's API routes.
pub fn routes(state: InboxState) -> Router {
    Router::new()
        .route("/inbox", get(list_inbox))
        .route("/inbox/{referral_id}/{connection_id}", get(get_inbox_item))
        .route(
            "/inbox/{referral_id}/{connection_id}/acceptance",
            post(accept_connection),
        )
        .route(
            "/inbox/{referral_id}/{connection_id}/decline",
            post(decline_connection),
        )
        .route(
            "/inbox/{referral_id}/{connection_id}/attendance",
            post(record_attendance),
        )
        .with_state(state)
}

/// The directory services the caller's organisation answers for (none: an empty inbox).
pub async fn services_of(db: &Database, principal: &Principal) -> Result<Vec<String>> {
    let client = db.client().await?;
    let organisation =
        linkway_platform::registry::organisation(&client, &principal.organisation_id).await?;
    Ok(organisation
        .map(|o| o.directory_services)
        .unwrap_or_default())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// Only connections in this status.
    #[param(value_type = Option<ConnectionStatus>)]
    pub status: Option<ConnectionStatus>,
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<i64>,
    /// Rows to skip (default 0).
    #[param(minimum = 0, default = 0)]
    pub offset: Option<i64>,
    /// Wait (at most 5 s) until the inbox includes this stream sequence.
    pub min_sequence: Option<u64>,
}

/// A page of the inbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct InboxPage {
    /// Connections matching the filter (all pages).
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
    /// Awaiting an answer first, then the oldest first.
    pub items: Vec<InboxItem>,
}

/// The onward referrals sent to the caller's organisation's directory services.
#[utoipa::path(
    get, path = "/inbox", operation_id = "listInbox", tag = "inbox",
    params(InboxQuery),
    responses(
        (status = 200, description = "A page of the inbox", body = InboxPage),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter or paging", body = Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn list_inbox(
    State(state): State<InboxState>,
    principal: Principal,
    Query(q): Query<InboxQuery>,
) -> Result<Json<InboxPage>> {
    principal.require(INBOX_ROLES)?;
    inbox(&state, &principal, &q, "listInbox").await.map(Json)
}

/// A page of the caller's inbox, recorded as shown through `operation` before it is sent.
pub async fn inbox(
    state: &InboxState,
    principal: &Principal,
    q: &InboxQuery,
    operation: &str,
) -> Result<InboxPage> {
    let Paging { limit, offset } = Paging::parse(q.limit, q.offset)?;
    read_your_writes::reach(&state.inbox, q.min_sequence).await?;
    let services = services_of(&state.db, principal).await?;
    let client = state.db.client().await?;
    let status = q.status.map(super::projection::status);
    let rows = queries::page(&client, &services, status, limit, offset).await?;
    drop(client);
    let shown: Vec<Uuid> = rows
        .items
        .iter()
        .filter(|i| !i.details.is_empty())
        .map(|i| i.referral_id)
        .collect();
    state.audit.shown(principal, operation, &shown).await?;
    Ok(InboxPage {
        total: rows.total,
        limit,
        offset,
        items: rows.items,
    })
}

/// One connection in the caller's inbox, recorded as shown through `operation`.
pub async fn item(
    state: &InboxState,
    principal: &Principal,
    (referral_id, connection_id): (Uuid, Uuid),
    min_sequence: Option<u64>,
    operation: &str,
) -> Result<InboxItem> {
    read_your_writes::reach(&state.inbox, min_sequence).await?;
    let services = services_of(&state.db, principal).await?;
    let client = state.db.client().await?;
    let item = queries::item(&client, &services, referral_id, connection_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    drop(client);
    if !item.details.is_empty() {
        state
            .audit
            .shown(principal, operation, &[referral_id])
            .await?;
    }
    Ok(item)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ItemQuery {
    /// Wait (at most 5 s) until the inbox includes this stream sequence.
    pub min_sequence: Option<u64>,
}

/// One onward referral in the caller's inbox: the shared details and the lawful basis.
#[utoipa::path(
    get, path = "/inbox/{referral_id}/{connection_id}", operation_id = "getInboxItem", tag = "inbox",
    params(
        ("referral_id" = Uuid, Path, description = "The referral id"),
        ("connection_id" = Uuid, Path, description = "The connection id"),
        ItemQuery,
    ),
    responses(
        (status = 200, description = "The connection", body = InboxItem),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such connection for this organisation", body = Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn get_inbox_item(
    State(state): State<InboxState>,
    principal: Principal,
    Path(ids): Path<(Uuid, Uuid)>,
    Query(q): Query<ItemQuery>,
) -> Result<Json<InboxItem>> {
    principal.require(INBOX_ROLES)?;
    item(&state, &principal, ids, q.min_sequence, "getInboxItem")
        .await
        .map(Json)
}

/// Why a service declines: `case.connection_declined`'s reasons but Linkway's own
/// (`no_answer_in_time`, `not_recorded`), which a service never gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceDeclineReason {
    NoCapacity,
    NotEligible,
    PersonDeclined,
    Other,
}

impl From<ServiceDeclineReason> for ConnectionDeclineReason {
    fn from(r: ServiceDeclineReason) -> ConnectionDeclineReason {
        match r {
            ServiceDeclineReason::NoCapacity => ConnectionDeclineReason::NoCapacity,
            ServiceDeclineReason::NotEligible => ConnectionDeclineReason::NotEligible,
            ServiceDeclineReason::PersonDeclined => ConnectionDeclineReason::PersonDeclined,
            ServiceDeclineReason::Other => ConnectionDeclineReason::Other,
        }
    }
}

/// Why a service declines.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionDeclineRequest {
    /// no_capacity | not_eligible | person_declined | other
    #[schema(example = "no_capacity")]
    pub reason: ServiceDeclineReason,
}

/// Runs one answer through the command path as `principal` (whose role the caller
/// checked), authorised on the registry's directory services of its organisation.
pub async fn answer(
    state: &InboxState,
    principal: &Principal,
    headers: &HeaderMap,
    (referral_id, connection_id): (Uuid, Uuid),
    answer: Answer,
    body: &[u8],
) -> Result<(StatusCode, Json<AnswerRecorded>)> {
    let services = services_of(&state.db, principal).await?;
    let call = Call {
        operation: answer.operation(),
        principal,
        aggregate_id: referral_id.to_string(),
        key: IdempotencyKey::from_headers(headers, &principal.organisation_id)?,
        body,
        if_match: crate::api::if_match(headers)?,
        correlation_id: CorrelationId::from_headers(headers).0,
        success: StatusCode::OK,
    };
    let decision = InboxDecision {
        referral_id,
        connection_id,
        answer,
        services: &services,
    };
    let done = command::execute(&state.store, &call, &decision).await?;
    Ok((done.status, Json(done.answer)))
}

/// The JSON body of a decline, read by the one body reader.
pub fn decline_reason(body: &[u8]) -> Result<ConnectionDeclineReason> {
    let req: ConnectionDeclineRequest = linkway_platform::http::parse_json(body)?;
    Ok(req.reason.into())
}

/// The service takes the person on.
#[utoipa::path(
    post, path = "/inbox/{referral_id}/{connection_id}/acceptance", operation_id = "acceptConnection", tag = "inbox",
    params(("referral_id" = Uuid, Path, description = "The referral id"), ("connection_id" = Uuid, Path, description = "The connection id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe"), ("If-Match" = Option<String>, Header, description = "The item's `version` the caller decided on; 409 if it changed since")),
    responses(
        (status = 200, description = "Accepted", body = AnswerRecorded),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such connection for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already answered, the referral withdrawn or the person erased, or changed concurrently (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn accept_connection(
    State(state): State<InboxState>,
    principal: Principal,
    Path(ids): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<AnswerRecorded>)> {
    principal.require(INBOX_ROLES)?;
    answer(&state, &principal, &headers, ids, Answer::Accept, b"").await
}

/// The service turns the connection down, saying why.
#[utoipa::path(
    post, path = "/inbox/{referral_id}/{connection_id}/decline", operation_id = "declineConnection", tag = "inbox",
    params(("referral_id" = Uuid, Path, description = "The referral id"), ("connection_id" = Uuid, Path, description = "The connection id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe"), ("If-Match" = Option<String>, Header, description = "The item's `version` the caller decided on; 409 if it changed since")),
    request_body = ConnectionDeclineRequest,
    responses(
        (status = 200, description = "Declined", body = AnswerRecorded),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such connection for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already answered, the referral withdrawn or the person erased, or changed concurrently (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request (a reason not one of the service's own)", body = Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn decline_connection(
    State(state): State<InboxState>,
    principal: Principal,
    Path(ids): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<AnswerRecorded>)> {
    principal.require(INBOX_ROLES)?;
    let reason = decline_reason(&body)?;
    let decline = Answer::Decline(reason);
    answer(&state, &principal, &headers, ids, decline, &body).await
}

/// The person took part in the service.
#[utoipa::path(
    post, path = "/inbox/{referral_id}/{connection_id}/attendance", operation_id = "recordAttendance", tag = "inbox",
    params(("referral_id" = Uuid, Path, description = "The referral id"), ("connection_id" = Uuid, Path, description = "The connection id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe"), ("If-Match" = Option<String>, Header, description = "The item's `version` the caller decided on; 409 if it changed since")),
    responses(
        (status = 200, description = "Attendance recorded", body = AnswerRecorded),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such connection for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Declined or already attended, the referral withdrawn or the person erased, or changed concurrently (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn record_attendance(
    State(state): State<InboxState>,
    principal: Principal,
    Path(ids): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<AnswerRecorded>)> {
    principal.require(INBOX_ROLES)?;
    answer(&state, &principal, &headers, ids, Answer::Attended, b"").await
}

/// The inbox's part of the service's OpenAPI document (merged into it by
/// [`crate::api::openapi`]).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        list_inbox, get_inbox_item, accept_connection, decline_connection, record_attendance,
        super::pages::list, super::pages::page, super::pages::post
    ),
    components(schemas(
        InboxPage, InboxItem, super::item::SharedDetails, AnswerRecorded,
        ConnectionDeclineRequest, ServiceDeclineReason, ConnectionStatus, ConnectionDeclineReason
    )),
    tags((name = "inbox", description = "A community service's onward referrals and its answers"))
)]
pub struct InboxDoc;
