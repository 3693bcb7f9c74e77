//! Case commands about the plan and what follows from it: plans and reviews, onward
//! connections to community services and their answers, outcome measures, safeguarding
//! and closure.

use super::*;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    /// "What matters to me", in the person's words.
    pub what_matters: String,
    /// 1-20 goals.
    pub goals: Vec<String>,
    pub actions: Vec<String>,
    /// When the plan is (next) reviewed, `YYYY-MM-DD`; today or later.
    #[serde(with = "linkway_events::common::calendar_date")]
    #[schema(value_type = String, format = Date)]
    pub review_date: Date,
}

/// The plan, and what is refused once the case is authorised (a review date in the past).
pub(super) fn plan_input(req: PlanRequest) -> Result<(case::PlanInput, Vec<FieldError>)> {
    let mut errors = Vec::new();
    let what_matters = fields::required(
        &mut errors,
        "what_matters",
        &req.what_matters,
        fields::WHAT_MATTERS,
    );
    if !fields::GOALS.contains(&req.goals.len()) {
        errors.push(FieldError::new("goals", "count", "a plan has 1-20 goals"));
    }
    let goals = req
        .goals
        .iter()
        .enumerate()
        .map(|(i, g)| fields::required(&mut errors, &format!("goals.{i}"), g, fields::GOAL))
        .collect();
    if req.actions.len() > fields::MAX_ACTIONS {
        errors.push(FieldError::new(
            "actions",
            "count",
            "a plan has at most 50 actions",
        ));
    }
    let actions = req
        .actions
        .iter()
        .enumerate()
        .map(|(i, a)| fields::required(&mut errors, &format!("actions.{i}"), a, fields::ACTION))
        .collect();
    check(errors)?;
    let mut refused = Vec::new();
    if req.review_date < OffsetDateTime::now_utc().date() {
        refused.push(FieldError::new(
            "review_date",
            "not_in_past",
            "the review date cannot be in the past",
        ));
    }
    let plan = case::PlanInput {
        review_date: req.review_date,
        what_matters,
        goals,
        actions,
    };
    Ok((plan, refused))
}

/// Agree the personalised care and support plan (after contact is made).
#[utoipa::path(
    post, path = "/cases/{id}/plan", operation_id = "agreePlan", tag = "cases",
    params(("id" = Uuid, Path, description = "The referral id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe"), ("If-Match" = Option<String>, Header, description = "The case `version` the caller decided on; 409 if it changed since")),
    request_body = PlanRequest,
    responses(
        (status = 200, description = "Plan agreed", body = CommandAccepted),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Illegal in the case's state, or changed concurrently (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn agree_plan(
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
        Operation::AgreePlan,
        &body,
    )
    .await
}

/// Review the agreed plan: goals and actions as they now stand, next review date.
#[utoipa::path(
    post, path = "/cases/{id}/plan/reviews", operation_id = "reviewPlan", tag = "cases",
    params(("id" = Uuid, Path, description = "The referral id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe"), ("If-Match" = Option<String>, Header, description = "The case `version` the caller decided on; 409 if it changed since")),
    request_body = PlanRequest,
    responses(
        (status = 200, description = "Plan reviewed", body = CommandAccepted),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Illegal in the case's state, or changed concurrently (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn review_plan(
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
        Operation::ReviewPlan,
        &body,
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectRequest {
    /// The Open Referral UK service id, from `listDirectory`.
    pub service_id: String,
    /// The lawful basis for sharing the person's details with the service (explicit
    /// consent for services beyond health and care).
    #[schema(example = "explicit_consent")]
    pub legal_basis: LegalBasis,
    /// The details the service gets: the minimum it needs (a debt service gets name and
    /// phone, not the medical history). Default: none.
    #[serde(default)]
    #[schema(example = json!(["name", "phone"]))]
    pub share: Vec<SharedDetail>,
}

/// Connect the person to a community service from the directory (onward referral).
/// Inactive and defunct services take no new connections.
#[utoipa::path(
    post, path = "/cases/{id}/connections", operation_id = "connectService", tag = "cases",
    params(("id" = Uuid, Path, description = "The referral id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe (and fixes the connection id)"), ("If-Match" = Option<String>, Header, description = "The case `version` the caller decided on; 409 if it changed since")),
    request_body = ConnectRequest,
    responses(
        (status = 200, description = "Connection made; `connection_id` names it", body = CommandAccepted),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Illegal in the case's state, service not taking connections, or changed concurrently (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request or unknown service", body = Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn connect_service(
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
        Operation::ConnectService,
        &body,
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionResponseRequest {
    /// What the community service answered: accepted, declined, or attended.
    pub response: ConnectionResponse,
    /// Why the service declined (declines only; absent: `not_recorded`). `no_answer_in_time`
    /// is Linkway's own automatic decline, never recorded by hand.
    #[serde(default)]
    pub reason: Option<linkway_events::case::ConnectionDeclineReason>,
}

/// Record the community service's answer to a connection (accepted, declined, attended).
#[utoipa::path(
    post, path = "/cases/{id}/connections/{connection_id}/responses", operation_id = "recordConnectionResponse", tag = "cases",
    params(
        ("id" = Uuid, Path, description = "The referral id"),
        ("connection_id" = Uuid, Path, description = "The connection, from connectService"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe"), ("If-Match" = Option<String>, Header, description = "The case `version` the caller decided on; 409 if it changed since"),
    ),
    request_body = ConnectionResponseRequest,
    responses(
        (status = 200, description = "Recorded", body = CommandAccepted),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Illegal in the case's or connection's state, or changed concurrently (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn record_connection_response(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, connection_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<CommandAccepted>)> {
    principal.require(CASE_ROLES)?;
    run(
        &state,
        &principal,
        &headers,
        id,
        Operation::RecordConnectionResponse { connection_id },
        &body,
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeRequest {
    /// ons4 | swemwbs | wemwbs | ucla3 | mycaw
    pub instrument: Instrument,
    /// baseline | review | exit
    #[schema(example = "baseline")]
    pub timepoint: Timepoint,
    /// The answers, item by item, in the questionnaire's order.
    #[schema(value_type = Vec<u8>)]
    pub item_answers: Vec<fields::Whole>,
    /// MYCaW only: the concerns the person named, one per item before wellbeing.
    #[serde(default)]
    pub concerns: Option<Vec<String>>,
}

/// Record an outcome measure; Linkway scores it (raw and derived scores, versions stored).
#[utoipa::path(
    post, path = "/cases/{id}/outcomes", operation_id = "recordOutcome", tag = "cases",
    params(("id" = Uuid, Path, description = "The referral id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe"), ("If-Match" = Option<String>, Header, description = "The case `version` the caller decided on; 409 if it changed since")),
    request_body = OutcomeRequest,
    responses(
        (status = 200, description = "Recorded", body = CommandAccepted),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Illegal in the case's state, or changed concurrently (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong item count or an answer out of range", body = Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn record_outcome(
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
        Operation::RecordOutcome,
        &body,
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SafeguardingRequest {
    /// The concern (personal).
    pub concern: String,
}

/// Raise a safeguarding concern on the case. Never refused for the case's state.
#[utoipa::path(
    post, path = "/cases/{id}/safeguarding", operation_id = "raiseSafeguarding", tag = "cases",
    params(("id" = Uuid, Path, description = "The referral id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe"), ("If-Match" = Option<String>, Header, description = "The case `version` the caller decided on; 409 if it changed since")),
    request_body = SafeguardingRequest,
    responses(
        (status = 200, description = "Raised", body = CommandAccepted),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed concurrently (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn raise_safeguarding(
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
        Operation::RaiseSafeguarding,
        &body,
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    /// goals_met | disengaged | could_not_contact | moved_away | referred_elsewhere | died | other
    #[schema(example = "goals_met")]
    pub reason: ClosureReason,
}

/// Close the case.
#[utoipa::path(
    post, path = "/cases/{id}/closure", operation_id = "closeCase", tag = "cases",
    params(("id" = Uuid, Path, description = "The referral id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe"), ("If-Match" = Option<String>, Header, description = "The case `version` the caller decided on; 409 if it changed since")),
    request_body = CloseRequest,
    responses(
        (status = 200, description = "Closed", body = CommandAccepted),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Illegal in the case's state, or changed concurrently (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn close_case(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<CommandAccepted>)> {
    principal.require(CASE_ROLES)?;
    run(&state, &principal, &headers, id, Operation::Close, &body).await
}
