//! Case commands over HTTP: each handler checks the role and the request's shape, then
//! hands the command to [`crate::commands`] through [`execute`].

use super::*;

/// What a command answers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CommandAccepted {
    pub referral_id: Uuid,
    /// The event appended, e.g. `case.accepted`.
    pub event_type: String,
    /// Its stream sequence: pass as `?min_sequence=` to read your write.
    pub sequence: u64,
    /// The case's state afterwards.
    pub state: CaseState,
    /// The connection the command created (connectService only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<Uuid>,
    /// The appointment the command booked (bookAppointment only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment_id: Option<Uuid>,
}

/// Loads a case from the log: the referral's events and the case's own, in log order.
pub async fn load_case(store: &EventStore, id: Uuid) -> Result<Case> {
    let mut case = Case::new(id);
    for stored in store.load_aggregate(&id.to_string()).await? {
        let (envelope, event) = stored.event.decode().map_err(|e| {
            ApiError::Internal(anyhow::anyhow!(
                "unreadable event {}: {e}",
                stored.event.sequence
            ))
        })?;
        case.apply(stored.event.sequence, envelope.occurred_at, &event);
    }
    Ok(case)
}

/// Accept a referral routed to the caller's service.
#[utoipa::path(
    post, path = "/cases/{id}/accept", operation_id = "acceptReferral", tag = "cases",
    params(("id" = Uuid, Path, description = "The referral id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe"), ("If-Match" = Option<String>, Header, description = "The case `version` the caller decided on; 409 if it changed since")),
    responses(
        (status = 200, description = "Accepted", body = CommandAccepted),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Illegal in the case's state, or changed concurrently (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn accept_referral(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<CommandAccepted>)> {
    principal.require(CASE_ROLES)?;
    run(&state, &principal, &headers, id, Operation::Accept, b"").await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclineRequest {
    /// out_of_area | not_appropriate | person_declined (SNOMED CT 871711000000103) | referred_elsewhere
    #[schema(example = "person_declined")]
    pub reason: DeclineReason,
}

/// Decline a referral routed to the caller's service.
#[utoipa::path(
    post, path = "/cases/{id}/decline", operation_id = "declineReferral", tag = "cases",
    params(("id" = Uuid, Path, description = "The referral id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe"), ("If-Match" = Option<String>, Header, description = "The case `version` the caller decided on; 409 if it changed since")),
    request_body = DeclineRequest,
    responses(
        (status = 200, description = "Declined", body = CommandAccepted),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Illegal in the case's state, or changed concurrently (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn decline_referral(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<CommandAccepted>)> {
    principal.require(CASE_ROLES)?;
    run(&state, &principal, &headers, id, Operation::Decline, &body).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// The link worker's user id; omit (or leave blank) to assign the caller.
    pub link_worker_id: Option<String>,
}

/// Assign (or reassign) the case to a link worker.
#[utoipa::path(
    post, path = "/cases/{id}/assignment", operation_id = "assignCase", tag = "cases",
    params(("id" = Uuid, Path, description = "The referral id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe"), ("If-Match" = Option<String>, Header, description = "The case `version` the caller decided on; 409 if it changed since")),
    request_body = AssignRequest,
    responses(
        (status = 200, description = "Assigned", body = CommandAccepted),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Illegal in the case's state, or changed concurrently (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn assign_case(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<CommandAccepted>)> {
    principal.require(CASE_ROLES)?;
    run(&state, &principal, &headers, id, Operation::Assign, &body).await
}

/// A contact: an attempt names the channel and may say how it ended; a contact made names
/// its minutes (1-600) and may have notes. The document states it as one schema per kind
/// ([`super::contract`]).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactRequest {
    /// attempt (did not reach the person) or made
    pub kind: ContactKind,
    /// phone | face_to_face | video | home_visit | text | email
    #[schema(example = "phone")]
    pub channel: ContactChannel,
    /// How an attempt ended (attempts only): no_answer | voicemail_left | message_sent |
    /// wrong_number | appointment_missed | not_recorded (the default).
    pub outcome: Option<ContactOutcome>,
    /// Minutes spent (contacts made only), 1-600.
    #[schema(value_type = Option<u32>)]
    pub minutes: Option<fields::Whole>,
    /// What was said (personal; contacts made only).
    pub notes: Option<String>,
}

/// Record a contact attempt or a contact made. After the configured number of failed
/// attempts (default 3) the case becomes `could_not_contact`.
#[utoipa::path(
    post, path = "/cases/{id}/contacts", operation_id = "recordContact", tag = "cases",
    params(("id" = Uuid, Path, description = "The referral id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe"), ("If-Match" = Option<String>, Header, description = "The case `version` the caller decided on; 409 if it changed since")),
    request_body = ContactRequest,
    responses(
        (status = 200, description = "Recorded", body = CommandAccepted),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Illegal in the case's state, or changed concurrently (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn record_contact(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<CommandAccepted>)> {
    principal.require(CASE_ROLES)?;
    run(
        &state,
        &principal,
        &headers,
        id,
        Operation::RecordContact,
        &body,
    )
    .await
}
