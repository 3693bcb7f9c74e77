//! HTTP operations of the link-worker service.
//!
//! Queries read the caseload read model (and can wait for a command's `sequence` with
//! `?min_sequence=`). Commands load the case from the event log (the referral's events and
//! the case's own), decide with [`case::decide`], and append with the case's last sequence
//! as the expected one: a concurrent writer gets 409 `conflict` and can retry; an illegal
//! step gets 409 `illegal-transition` naming the rule; neither appends anything.
//!
//! A case's details (the person's name, the plan ...) are served only to the link-worker
//! organisation the referral was routed to; anyone else gets 404, as if it did not exist.

use linkway_platform::auth::BearerAuth;
use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::{FromRef, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use linkway_events::case::{
    CaseEvent, ClosureReason, ContactChannel, DeclineReason, SharedDetail, Timepoint,
};
use linkway_events::common::Coding;
use linkway_events::referral::{LegalBasis, ReferralPersonal};
use linkway_events::{Envelope, Event, Role};
use linkway_eventstore::{EventStore, Expected, PendingEvent};
use linkway_platform::auth::Principal;
use linkway_platform::idempotency::{self, IdempotencyKey, Previous};
use linkway_platform::{ApiError, Checkpoint, Database, FieldError, Problem};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::{Date, OffsetDateTime};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::case::{
    self, Case, CaseState, Command, ConnectionResponse, ConnectionStatus, ContactKind, Policy,
    Refusal,
};
use crate::directory::{self, DirectoryEntry};
use crate::outcomes::{self, Instrument};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub db: Database,
    pub store: EventStore,
    /// Where the caseload projection stands, for `?min_sequence=`.
    pub caseload: Checkpoint,
    pub policy: Policy,
}

impl FromRef<AppState> for Database {
    fn from_ref(state: &AppState) -> Database {
        state.db.clone()
    }
}

/// Longest a query waits for the read model to reach `min_sequence`.
const READ_YOUR_WRITES_WAIT: Duration = Duration::from_secs(5);

const CASE_ROLES: &[Role] = &[Role::LinkWorker, Role::ServiceManager];

/// Largest directory import body, in bytes.
pub const DIRECTORY_IMPORT_LIMIT: usize = 32 * 1024 * 1024;

/// The service's routes (without the operational ones).
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/caseload", get(get_caseload))
        .route("/cases/{id}", get(get_case))
        .route("/cases/{id}/accept", post(accept_referral))
        .route("/cases/{id}/decline", post(decline_referral))
        .route("/cases/{id}/assignment", post(assign_case))
        .route("/cases/{id}/contacts", post(record_contact))
        .route("/cases/{id}/plan", post(agree_plan))
        .route("/cases/{id}/plan/reviews", post(review_plan))
        .route("/cases/{id}/connections", post(connect_service))
        .route(
            "/cases/{id}/connections/{connection_id}/responses",
            post(record_connection_response),
        )
        .route("/cases/{id}/outcomes", post(record_outcome))
        .route("/cases/{id}/safeguarding", post(raise_safeguarding))
        .route("/cases/{id}/closure", post(close_case))
        .route("/directory", get(list_directory))
        .route(
            "/directory/import",
            // A whole region's directory in one page is several megabytes.
            post(import_directory)
                .layer(axum::extract::DefaultBodyLimit::max(DIRECTORY_IMPORT_LIMIT)),
        )
        .route("/openapi.json", get(|| async { Json(openapi()) }))
        .route_layer(axum::middleware::from_fn(count_requests))
        .with_state(state)
}

/// Counts requests by method, route template (never ids: nothing personal in labels) and
/// status.
async fn count_requests(
    matched: Option<axum::extract::MatchedPath>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let route = format!(
        "{} {}",
        request.method(),
        matched.as_ref().map_or("unmatched", |m| m.as_str())
    );
    let response = next.run(request).await;
    linkway_platform::metrics::request("link-worker", &route, response.status().as_u16());
    response
}

// ------------------------------------------------------------------------------------------
// Errors

/// A handler's failure: a platform error, or a step the case's state does not allow.
#[derive(Debug)]
pub enum Failure {
    Api(ApiError),
    Refused(Refusal),
}

impl<E: Into<ApiError>> From<E> for Failure {
    fn from(e: E) -> Failure {
        Failure::Api(e.into())
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        match self {
            Failure::Api(e) => e.into_response(),
            Failure::Refused(r) => {
                let problem = Problem {
                    kind: "https://linkway.example/problems/illegal-transition".into(),
                    title: "the case's state does not allow this step".into(),
                    status: 409,
                    detail: Some(r.message.clone()),
                    errors: vec![FieldError::new("state", r.rule, r.message)],
                };
                let mut response = (StatusCode::CONFLICT, Json(problem)).into_response();
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    header::HeaderValue::from_static("application/problem+json"),
                );
                response
            }
        }
    }
}

type Result<T> = std::result::Result<T, Failure>;

fn invalid(field: &str, rule: &str, message: &str) -> Failure {
    Failure::Api(ApiError::field(field, rule, message))
}

// ------------------------------------------------------------------------------------------
// Queries

/// `?min_sequence=`: wait (at most 5 s) until the read model includes this stream sequence.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Consistency {
    /// A `sequence` from a command's answer.
    pub min_sequence: Option<u64>,
}

/// Sort keys of the caseload.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum CaseloadSort {
    /// Longest waiting since referral first (default).
    #[default]
    DaysWaiting,
    /// Longest since the last contact first (never contacted first).
    LastContact,
    /// Earliest next review first.
    NextReview,
    State,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseloadQuery {
    /// Only cases in these states (comma-separated, e.g. `assigned,engaged`).
    pub state: Option<String>,
    /// Only cases held by this link worker; `me` for the caller's own.
    pub link_worker: Option<String>,
    /// Only cases with (true) or without (false) a safeguarding flag.
    pub safeguarding: Option<bool>,
    /// Only cases with (true) or without (false) an onward connection unanswered past the
    /// answer window (default 14 days).
    pub connection_overdue: Option<bool>,
    /// Include ended cases (declined, closed, withdrawn). Default: open cases only.
    #[serde(default)]
    pub include_closed: bool,
    #[param(value_type = Option<CaseloadSort>)]
    pub sort: Option<CaseloadSort>,
    /// Reverse the sort.
    #[serde(default)]
    pub descending: bool,
    /// Page size, 1-200 (default 50).
    pub limit: Option<i64>,
    /// Rows to skip (default 0).
    pub offset: Option<i64>,
    pub min_sequence: Option<u64>,
}

/// One line of the caseload.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseSummary {
    pub referral_id: Uuid,
    pub state: CaseState,
    pub link_worker_id: Option<String>,
    /// routine | urgent
    pub urgency: Option<String>,
    /// The person's name (shown to the routed service only).
    pub person_name: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub received_at: Option<OffsetDateTime>,
    /// Whole days since the referral was received.
    pub days_waiting: Option<i64>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_contact_at: Option<OffsetDateTime>,
    /// Whole days since the last contact made; absent when never contacted.
    pub days_since_last_contact: Option<i64>,
    /// `YYYY-MM-DD`, once a plan is agreed.
    #[serde(with = "linkway_events::common::calendar_date::option")]
    #[schema(value_type = Option<String>, format = Date)]
    pub next_review_date: Option<Date>,
    pub safeguarding: bool,
    /// An onward connection has waited longer than the answer window (default 14 days).
    pub connection_overdue: bool,
    /// The plan's review date has passed.
    pub review_overdue: bool,
    pub contact_attempts: u32,
}

/// A page of the caseload with counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseloadPage {
    /// Cases matching the filters (all pages).
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
    /// Cases per state, with every filter but `state` applied.
    pub counts_by_state: BTreeMap<String, i64>,
    /// Cases per link worker (`""` for unassigned), with every filter applied.
    pub counts_by_link_worker: BTreeMap<String, i64>,
    pub items: Vec<CaseSummary>,
}

fn whole_days(since: Option<OffsetDateTime>, now: OffsetDateTime) -> Option<i64> {
    since.map(|t| (now - t).whole_days())
}

fn person_name(case: &Case) -> Option<String> {
    case.personal
        .as_ref()
        .map(|p| format!("{} {}", p.person.given_name, p.person.family_name))
}

fn summary(case: &Case, policy: &Policy, now: OffsetDateTime) -> CaseSummary {
    let overdue_before = now - time::Duration::days(policy.connection_answer_days);
    CaseSummary {
        referral_id: case.referral_id,
        state: case.state,
        link_worker_id: case.link_worker_id.clone(),
        urgency: case.urgency.map(|u| format!("{u:?}").to_lowercase()),
        person_name: person_name(case),
        received_at: case.received_at,
        days_waiting: whole_days(case.received_at, now),
        last_contact_at: case.last_contact_at,
        days_since_last_contact: whole_days(case.last_contact_at, now),
        next_review_date: case.plan.as_ref().map(|p| p.review_date),
        safeguarding: case.safeguarding(),
        review_overdue: case
            .plan
            .as_ref()
            .is_some_and(|p| p.review_date < now.date()),
        connection_overdue: case
            .oldest_pending_connection()
            .is_some_and(|t| t < overdue_before),
        contact_attempts: case.contact_attempts,
    }
}

/// The caller's caseload: cases routed to its organisation, filtered, sorted and paged.
#[utoipa::path(
    get, path = "/caseload", operation_id = "getCaseload", tag = "caseload",
    params(CaseloadQuery),
    responses(
        (status = 200, description = "A page of the caseload", body = CaseloadPage),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn get_caseload(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<CaseloadQuery>,
) -> Result<Json<CaseloadPage>> {
    principal.require(CASE_ROLES)?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(invalid("limit", "range", "limit must be 1-200"));
    }
    let offset = q.offset.unwrap_or(0);
    if offset < 0 {
        return Err(invalid("offset", "range", "offset must be 0 or more"));
    }
    let states: Option<Vec<String>> = match &q.state {
        None => None,
        Some(s) => {
            let mut states = Vec::new();
            for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let st = CaseState::parse(part)
                    .ok_or_else(|| invalid("state", "state_enum", "unknown case state"))?;
                states.push(st.as_str().to_owned());
            }
            Some(states)
        }
    };
    let link_worker = match q.link_worker.as_deref() {
        Some("me") => Some(principal.user_id.clone().unwrap_or_default()),
        other => other.map(str::to_owned),
    };
    if let Some(n) = q.min_sequence {
        state.caseload.wait_for(n, READ_YOUR_WRITES_WAIT).await;
    }
    let order = match q.sort.unwrap_or_default() {
        CaseloadSort::DaysWaiting => "received_at ASC NULLS LAST",
        CaseloadSort::LastContact => "last_contact_at ASC NULLS FIRST",
        CaseloadSort::NextReview => "next_review_date ASC NULLS LAST",
        CaseloadSort::State => "state ASC",
    };
    let order = if q.descending {
        order
            .replace("ASC", "DESC")
            .replace("NULLS LAST", "NULLS X")
            .replace("NULLS FIRST", "NULLS LAST")
            .replace("NULLS X", "NULLS FIRST")
    } else {
        order.to_owned()
    };
    let common = "organisation_id = $1 AND ($2::text IS NULL OR link_worker_id = $2)
        AND ($3::bool IS NULL OR safeguarding = $3) AND (open OR $4)
        AND ($5::bool IS NULL OR COALESCE(oldest_pending_connection_at < $6, false) = $5)";
    let client = state.db.client().await?;
    let overdue_before =
        OffsetDateTime::now_utc() - time::Duration::days(state.policy.connection_answer_days);
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 7] = [
        &principal.organisation_id,
        &link_worker,
        &q.safeguarding,
        &q.include_closed,
        &q.connection_overdue,
        &overdue_before,
        &states,
    ];
    let filtered = format!("{common} AND ($7::text[] IS NULL OR state = ANY($7))");
    let total: i64 = client
        .query_one(
            &format!("SELECT count(*) FROM caseload.cases WHERE {filtered}"),
            &params,
        )
        .await?
        .get(0);
    let mut page_params = params.to_vec();
    page_params.push(&limit);
    page_params.push(&offset);
    let rows = client
        .query(
            &format!(
                "SELECT record FROM caseload.cases WHERE {filtered} ORDER BY {order}, referral_id LIMIT $8 OFFSET $9"
            ),
            &page_params,
        )
        .await?;
    let counts = client
        .query(
            &format!("SELECT state, count(*) FROM caseload.cases WHERE {common} GROUP BY state"),
            &params[..6],
        )
        .await?;
    let per_worker = client
        .query(
            &format!(
                "SELECT COALESCE(link_worker_id, ''), count(*) FROM caseload.cases WHERE {filtered}
                 GROUP BY link_worker_id"
            ),
            &params,
        )
        .await?;
    let now = OffsetDateTime::now_utc();
    let mut items: Vec<CaseSummary> = Vec::with_capacity(rows.len());
    for row in rows {
        let case: Case =
            serde_json::from_value(row.get(0)).map_err(|e| ApiError::Internal(e.into()))?;
        items.push(summary(&case, &state.policy, now));
    }
    let shown: Vec<Uuid> = items.iter().map(|i| i.referral_id).collect();
    crate::audit::record_access(&client, &principal, "getCaseload", &shown).await?;
    Ok(Json(CaseloadPage {
        total,
        limit,
        offset,
        counts_by_state: counts.iter().map(|r| (r.get(0), r.get(1))).collect(),
        counts_by_link_worker: per_worker.iter().map(|r| (r.get(0), r.get(1))).collect(),
        items,
    }))
}

/// An onward connection as a case shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionView {
    pub connection_id: Uuid,
    pub service_id: String,
    pub service_name: String,
    pub status: ConnectionStatus,
    /// The lawful basis the person's details were shared on.
    #[schema(value_type = Option<LegalBasisDoc>)]
    pub legal_basis: Option<LegalBasis>,
    /// What was shared with the service.
    #[schema(value_type = Vec<SharedDetailDoc>)]
    pub shared: Vec<SharedDetail>,
    #[serde(with = "time::serde::rfc3339")]
    pub made_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub answered_at: Option<OffsetDateTime>,
    /// Still unanswered after the answer window.
    pub overdue: bool,
}

/// A case in full, for the organisation it was routed to.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDetail {
    #[serde(flatten)]
    pub summary: CaseSummary,
    pub organisation_id: Option<String>,
    pub referrer_organisation_id: Option<String>,
    /// Needs and concerns as SNOMED CT codings.
    #[schema(value_type = Vec<docs::CodingDoc>)]
    pub needs: Vec<Coding>,
    pub postcode_district: Option<String>,
    pub age_band: Option<String>,
    /// Safeguarding concerns raised on the case (besides the referrer's flag).
    pub safeguarding_concerns_raised: u32,
    pub contacts_made: u32,
    pub contact_minutes: u32,
    /// The agreed plan ("what matters to me", goals, actions, review date, reviews).
    pub plan: Option<case::Plan>,
    pub connections: Vec<ConnectionView>,
    /// Every contact and attempt, oldest first.
    pub contacts: Vec<case::ContactEntry>,
    /// Safeguarding concerns raised on the case, oldest first.
    pub safeguarding_concerns: Vec<case::Concern>,
    /// Outcome measures recorded, with item answers, scores and versions.
    pub outcomes: Vec<case::Outcome>,
    /// SWEMWBS metric score change from the baseline to the latest later measure, once
    /// both exist (a meaningful change is 3 metric points).
    pub swemwbs_change: Option<outcomes::Change>,
    pub decline_reason: Option<String>,
    pub closure_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    /// The person's identity and contact details, from the referral.
    #[schema(value_type = Option<docs::PersonalDoc>)]
    pub personal: Option<ReferralPersonal>,
    /// Stream sequence of the case's last event.
    pub version: u64,
}

fn detail(case: &Case, policy: &Policy, now: OffsetDateTime) -> CaseDetail {
    let overdue_before = now - time::Duration::days(policy.connection_answer_days);
    let snake = |v: Value| v.as_str().map(str::to_owned);
    CaseDetail {
        summary: summary(case, policy, now),
        organisation_id: case.organisation_id.clone(),
        referrer_organisation_id: case.referrer_organisation_id.clone(),
        needs: case.needs.clone(),
        postcode_district: case.postcode_district.clone(),
        age_band: case.age_band.clone(),
        safeguarding_concerns_raised: case.safeguarding_raised,
        contacts_made: case.contacts_made,
        contact_minutes: case.contact_minutes,
        plan: case.plan.clone(),
        connections: case
            .connections
            .iter()
            .map(|c| ConnectionView {
                connection_id: c.connection_id,
                service_id: c.service_id.clone(),
                service_name: c.service_name.clone(),
                status: c.status,
                legal_basis: c.legal_basis,
                shared: c.shared.clone(),
                made_at: c.made_at,
                answered_at: c.answered_at,
                overdue: c.status == ConnectionStatus::Pending && c.made_at < overdue_before,
            })
            .collect(),
        contacts: case.contacts.clone(),
        safeguarding_concerns: case.concerns.clone(),
        outcomes: case.outcomes.clone(),
        swemwbs_change: swemwbs_change(&case.outcomes),
        decline_reason: case
            .decline_reason
            .and_then(|r| snake(serde_json::to_value(r).unwrap_or_default())),
        closure_reason: case
            .closure_reason
            .and_then(|r| snake(serde_json::to_value(r).unwrap_or_default())),
        ended_at: case.ended_at,
        personal: case.personal.clone(),
        version: case.last_case_sequence,
    }
}

/// SWEMWBS change from the first baseline to the latest review or exit measure.
fn swemwbs_change(outcomes: &[case::Outcome]) -> Option<outcomes::Change> {
    let swemwbs = || outcomes.iter().filter(|o| o.instrument == "swemwbs");
    let baseline = swemwbs()
        .find(|o| o.timepoint == Timepoint::Baseline)?
        .derived_score?;
    let latest = swemwbs()
        .rfind(|o| o.timepoint != Timepoint::Baseline)?
        .derived_score?;
    Some(outcomes::swemwbs::change(
        baseline,
        latest,
        outcomes::swemwbs::MEANINGFUL_CHANGE,
    ))
}

/// One case, with the person's details, if it was routed to the caller's organisation.
#[utoipa::path(
    get, path = "/cases/{id}", operation_id = "getCase", tag = "caseload",
    params(("id" = Uuid, Path, description = "The referral id"), Consistency),
    responses(
        (status = 200, description = "The case; `ETag` is its version, for `If-Match`", body = CaseDetail,
            headers(("ETag" = String, description = "The case version, e.g. \"42\""))),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn get_case(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
    Query(c): Query<Consistency>,
) -> Result<Response> {
    principal.require(CASE_ROLES)?;
    if let Some(n) = c.min_sequence {
        state.caseload.wait_for(n, READ_YOUR_WRITES_WAIT).await;
    }
    let client = state.db.client().await?;
    let case = crate::caseload::case_for(&client, id, &principal.organisation_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    crate::audit::record_access(&client, &principal, "getCase", &[id]).await?;
    let etag = header::HeaderValue::from_str(&format!("\"{}\"", case.last_case_sequence))
        .map_err(|e| ApiError::Internal(e.into()))?;
    let body = Json(detail(&case, &state.policy, OffsetDateTime::now_utc()));
    Ok(([(header::ETAG, etag)], body).into_response())
}

// ------------------------------------------------------------------------------------------
// Commands

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
}

/// Loads a case from the log: the referral's events and the case's own, in log order.
pub async fn load_case(store: &EventStore, id: Uuid) -> Result<Case> {
    Ok(fold(id, &load_history(store, id).await?, u64::MAX))
}

/// The referral's and the case's events, in log order, decoded.
async fn load_history(store: &EventStore, id: Uuid) -> Result<Vec<(u64, Envelope, Event)>> {
    let key = id.to_string();
    let mut events = store.load("referral", &key).await?;
    events.extend(store.load("case", &key).await?);
    events.sort_by_key(|e| e.sequence);
    let mut history = Vec::with_capacity(events.len());
    for recorded in events {
        let (envelope, event) = recorded.decode().map_err(|e| {
            ApiError::Internal(anyhow::anyhow!(
                "unreadable event {}: {e}",
                recorded.sequence
            ))
        })?;
        history.push((recorded.sequence, envelope, event));
    }
    Ok(history)
}

/// The case as it stood after the event at `up_to` (inclusive).
fn fold(id: Uuid, history: &[(u64, Envelope, Event)], up_to: u64) -> Case {
    let mut case = Case::new(id);
    for (sequence, envelope, event) in history.iter().filter(|(s, _, _)| *s <= up_to) {
        case.apply(*sequence, envelope.occurred_at, event);
    }
    case
}

/// Runs one command on one case: idempotency, load, authorise, decide, append, answer.
async fn execute(
    state: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
    id: Uuid,
    request: &[u8],
    command: Command,
) -> Result<(StatusCode, Json<CommandAccepted>)> {
    let operation = command.name();
    let key = IdempotencyKey::from_headers(headers, &principal.organisation_id)?;
    // The same key on another case is another request, whatever the body.
    let request = [id.as_bytes().as_slice(), request].concat();
    let request = request.as_slice();
    if let Some(key) = &key
        && let Previous::Same { status, body } =
            idempotency::previous(&state.db, key, operation, request).await?
    {
        let body: CommandAccepted =
            serde_json::from_value(body).map_err(|e| ApiError::Internal(e.into()))?;
        return Ok((status, Json(body)));
    }
    let history = load_history(&state.store, id).await?;
    let mut case = fold(id, &history, u64::MAX);
    if !case.exists() || case.organisation_id.as_deref() != Some(principal.organisation_id.as_str())
    {
        return Err(ApiError::NotFound.into());
    }
    // With a key, the command's events carry a correlation id derived from it. If they are
    // already in the log (the answer was lost between the append and its recording), the
    // retry gets the original answer instead of a decision on the case as it is now.
    let correlation = match &key {
        Some(k) => k.derived_id(&format!("{operation}:{id}")),
        None => Uuid::now_v7(),
    };
    if key.is_some()
        && let Some((sequence, envelope, _)) = history
            .iter()
            .rev()
            .find(|(_, e, _)| e.correlation_id == correlation && e.event_type.starts_with("case."))
    {
        let then = fold(id, &history, *sequence);
        let answer = CommandAccepted {
            referral_id: id,
            event_type: envelope.event_type.clone(),
            sequence: *sequence,
            state: then.state,
            connection_id: match &command {
                Command::ConnectService { connection_id, .. } => Some(*connection_id),
                _ => None,
            },
        };
        return Ok((StatusCode::OK, Json(answer)));
    }
    if let Some(version) = if_match(headers)?
        && version != case.last_case_sequence
    {
        return Err(ApiError::Conflict(format!(
            "the case changed since version {version} (now {}); reload and try again",
            case.last_case_sequence
        ))
        .into());
    }
    let events = case::decide(&case, &command, &state.policy).map_err(Failure::Refused)?;
    let expected = match case.last_case_sequence {
        0 => Expected::NoEvents,
        n => Expected::LastSequence(n),
    };
    let now = OffsetDateTime::now_utc();
    let pending: Vec<PendingEvent> = events
        .iter()
        .enumerate()
        .map(|(n, e)| {
            let event: Event = e.clone().into();
            let envelope =
                Envelope::new(id.to_string(), &event, principal.actor(), correlation, now);
            match &key {
                Some(k) => PendingEvent::with_message_id(
                    envelope,
                    k.message_id(&format!("{operation}:{id}"), n),
                ),
                None => PendingEvent::new(envelope),
            }
        })
        .collect();
    let appended = state
        .store
        .append("case", &id.to_string(), expected, pending)
        .await?;
    if !appended.duplicate {
        for event in &events {
            linkway_platform::metrics::event_appended(event.type_name());
        }
    }
    for (event, seq) in events.iter().zip(&appended.sequences) {
        case.apply(*seq, now, &Event::Case(event.clone()));
    }
    let answer = CommandAccepted {
        referral_id: id,
        event_type: events
            .last()
            .map(CaseEvent::type_name)
            .unwrap_or_default()
            .to_owned(),
        sequence: appended.last_sequence(),
        state: case.state,
        connection_id: match &command {
            Command::ConnectService { connection_id, .. } => Some(*connection_id),
            _ => None,
        },
    };
    if let Some(key) = &key {
        let body = serde_json::to_value(&answer).map_err(|e| ApiError::Internal(e.into()))?;
        idempotency::record(&state.db, key, operation, request, StatusCode::OK, &body).await?;
    }
    Ok((StatusCode::OK, Json(answer)))
}

/// The `If-Match` header: the case version (`"N"`, `W/"N"` or `N`) the caller decided on.
/// A person who read version N and acts on it must not silently overwrite what a colleague
/// did since; without the header the command is decided on the latest version.
fn if_match(headers: &HeaderMap) -> Result<Option<u64>> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse().ok())
        .map(Some)
        .ok_or_else(|| {
            invalid(
                "If-Match",
                "case_version",
                "If-Match must be a case version, e.g. \"42\"",
            )
        })
}

/// Parses a JSON body into `T`, turning serde's complaint into a 422 naming the field.
fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T> {
    let body = if body.is_empty() {
        b"{}".as_slice()
    } else {
        body
    };
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let message = e.inner().to_string();
        // A missing or unknown field is named by serde itself, inside the object it is in.
        let named = message.split('`').nth(1).filter(|_| {
            message.starts_with("missing field") || message.starts_with("unknown field")
        });
        let path = e.path().to_string().replace('[', ".").replace(']', "");
        let field = match (path.as_str(), named) {
            (".", Some(name)) => name.to_owned(),
            (".", None) => "body".to_owned(),
            (path, Some(name)) if message.starts_with("missing field") => format!("{path}.{name}"),
            (path, _) => path.to_owned(),
        };
        invalid(&field, "schema", &message)
    })
}

fn text_field(errors: &mut Vec<FieldError>, field: &str, value: &str, max: usize) {
    if value.trim().is_empty() {
        errors.push(FieldError::new(
            field,
            "non_empty",
            format!("{field} must not be empty"),
        ));
    } else if value.chars().count() > max {
        errors.push(FieldError::new(
            field,
            "max_length",
            format!("{field} is at most {max} characters"),
        ));
    }
}

fn check(errors: Vec<FieldError>) -> Result<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Failure::Api(ApiError::Validation(errors)))
    }
}

/// Accept a referral routed to the caller's service.
#[utoipa::path(
    post, path = "/cases/{id}/accept", operation_id = "acceptReferral", tag = "cases",
    params(("id" = Uuid, Path, description = "The referral id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe"), ("If-Match" = Option<String>, Header, description = "The case `version` the caller decided on; 409 if it changed since")),
    responses(
        (status = 200, description = "Accepted", body = CommandAccepted),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Illegal in the case's state, or changed concurrently (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event log or database unavailable", body = Problem, content_type = "application/problem+json"),
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
    execute(&state, &principal, &headers, id, b"", Command::Accept).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclineRequest {
    /// out_of_area | not_appropriate | person_declined (SNOMED CT 871711000000103) | referred_elsewhere
    #[schema(value_type = DeclineReasonDoc, example = "person_declined")]
    pub reason: DeclineReason,
}

/// Decline a referral routed to the caller's service.
#[utoipa::path(
    post, path = "/cases/{id}/decline", operation_id = "declineReferral", tag = "cases",
    params(("id" = Uuid, Path, description = "The referral id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe"), ("If-Match" = Option<String>, Header, description = "The case `version` the caller decided on; 409 if it changed since")),
    request_body = DeclineRequest,
    responses(
        (status = 200, description = "Declined", body = CommandAccepted),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Illegal in the case's state, or changed concurrently (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event log or database unavailable", body = Problem, content_type = "application/problem+json"),
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
    let req: DeclineRequest = parse_body(&body)?;
    execute(
        &state,
        &principal,
        &headers,
        id,
        &body,
        Command::Decline { reason: req.reason },
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// The link worker's user id; omit to assign the caller.
    pub link_worker_id: Option<String>,
}

/// Assign (or reassign) the case to a link worker.
#[utoipa::path(
    post, path = "/cases/{id}/assignment", operation_id = "assignCase", tag = "cases",
    params(("id" = Uuid, Path, description = "The referral id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe"), ("If-Match" = Option<String>, Header, description = "The case `version` the caller decided on; 409 if it changed since")),
    request_body = AssignRequest,
    responses(
        (status = 200, description = "Assigned", body = CommandAccepted),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Illegal in the case's state, or changed concurrently (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event log or database unavailable", body = Problem, content_type = "application/problem+json"),
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
    let req: AssignRequest = parse_body(&body)?;
    let link_worker_id = match req.link_worker_id.or_else(|| principal.user_id.clone()) {
        Some(id) => id,
        None => {
            return Err(invalid(
                "link_worker_id",
                "required",
                "name the link worker (the token names no user)",
            ));
        }
    };
    let mut errors = Vec::new();
    text_field(&mut errors, "link_worker_id", &link_worker_id, 128);
    check(errors)?;
    execute(
        &state,
        &principal,
        &headers,
        id,
        &body,
        Command::Assign { link_worker_id },
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactRequest {
    /// attempt (did not reach the person) or made
    pub kind: ContactKind,
    /// phone | face_to_face | video | home_visit | text | email
    #[schema(value_type = ContactChannelDoc, example = "phone")]
    pub channel: ContactChannel,
    /// Minutes spent (contacts made), 1-600.
    #[serde(default)]
    pub minutes: u32,
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
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Illegal in the case's state, or changed concurrently (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event log or database unavailable", body = Problem, content_type = "application/problem+json"),
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
    let req: ContactRequest = parse_body(&body)?;
    let mut errors = Vec::new();
    match req.kind {
        ContactKind::Made => {
            if !(1..=600).contains(&req.minutes) {
                errors.push(FieldError::new(
                    "minutes",
                    "range",
                    "minutes must be 1-600 for a contact made",
                ));
            }
            if let Some(notes) = &req.notes {
                text_field(&mut errors, "notes", notes, 10_000);
            }
        }
        ContactKind::Attempt => {
            if req.minutes != 0 || req.notes.is_some() {
                errors.push(FieldError::new(
                    "kind",
                    "attempt_has_no_content",
                    "an attempt records no minutes or notes",
                ));
            }
        }
    }
    check(errors)?;
    let command = Command::RecordContact {
        kind: req.kind,
        channel: req.channel,
        minutes: req.minutes,
        notes: req.notes,
    };
    execute(&state, &principal, &headers, id, &body, command).await
}

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

fn plan_input(req: PlanRequest) -> Result<case::PlanInput> {
    let mut errors = Vec::new();
    text_field(&mut errors, "what_matters", &req.what_matters, 4000);
    if req.goals.is_empty() || req.goals.len() > 20 {
        errors.push(FieldError::new("goals", "count", "a plan has 1-20 goals"));
    }
    for (i, g) in req.goals.iter().enumerate() {
        text_field(&mut errors, &format!("goals.{i}"), g, 1000);
    }
    if req.actions.len() > 50 {
        errors.push(FieldError::new(
            "actions",
            "count",
            "a plan has at most 50 actions",
        ));
    }
    for (i, a) in req.actions.iter().enumerate() {
        text_field(&mut errors, &format!("actions.{i}"), a, 1000);
    }
    if req.review_date < OffsetDateTime::now_utc().date() {
        errors.push(FieldError::new(
            "review_date",
            "not_in_past",
            "the review date cannot be in the past",
        ));
    }
    check(errors)?;
    Ok(case::PlanInput {
        review_date: req.review_date,
        what_matters: req.what_matters,
        goals: req.goals,
        actions: req.actions,
    })
}

/// Agree the personalised care and support plan (after contact is made).
#[utoipa::path(
    post, path = "/cases/{id}/plan", operation_id = "agreePlan", tag = "cases",
    params(("id" = Uuid, Path, description = "The referral id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe"), ("If-Match" = Option<String>, Header, description = "The case `version` the caller decided on; 409 if it changed since")),
    request_body = PlanRequest,
    responses(
        (status = 200, description = "Plan agreed", body = CommandAccepted),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Illegal in the case's state, or changed concurrently (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event log or database unavailable", body = Problem, content_type = "application/problem+json"),
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
    let plan = plan_input(parse_body(&body)?)?;
    execute(
        &state,
        &principal,
        &headers,
        id,
        &body,
        Command::AgreePlan(plan),
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
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Illegal in the case's state, or changed concurrently (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event log or database unavailable", body = Problem, content_type = "application/problem+json"),
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
    let plan = plan_input(parse_body(&body)?)?;
    execute(
        &state,
        &principal,
        &headers,
        id,
        &body,
        Command::ReviewPlan(plan),
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
    #[schema(value_type = LegalBasisDoc, example = "explicit_consent")]
    pub legal_basis: LegalBasis,
    /// The details the service gets: the minimum it needs (a debt service gets name and
    /// phone, not the medical history). Default: none.
    #[serde(default)]
    #[schema(value_type = Vec<SharedDetailDoc>, example = json!(["name", "phone"]))]
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
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Illegal in the case's state, service not taking connections, or changed concurrently (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request or unknown service", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event log or database unavailable", body = Problem, content_type = "application/problem+json"),
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
    let req: ConnectRequest = parse_body(&body)?;
    let mut seen = std::collections::HashSet::new();
    if let Some(i) = req.share.iter().position(|d| !seen.insert(*d)) {
        return Err(invalid(
            &format!("share.{i}"),
            "unique",
            "each detail is shared once",
        ));
    }
    let client = state.db.client().await?;
    let service = directory::get(&client, &req.service_id)
        .await?
        .ok_or_else(|| {
            invalid(
                "service_id",
                "known_service",
                "no directory service has this id",
            )
        })?;
    drop(client);
    let key = IdempotencyKey::from_headers(&headers, &principal.organisation_id)?;
    let connection_id = match &key {
        Some(k) => k.derived_id(&format!("connectService:{id}")),
        None => Uuid::now_v7(),
    };
    let command = Command::ConnectService {
        connection_id,
        service: case::ServiceRef {
            id: service.id,
            name: service.name,
            status: service.status,
        },
        legal_basis: req.legal_basis,
        shared: req.share,
    };
    execute(&state, &principal, &headers, id, &body, command).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionResponseRequest {
    /// What the community service answered: accepted, declined, or attended.
    pub response: ConnectionResponse,
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
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Illegal in the case's or connection's state, or changed concurrently (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event log or database unavailable", body = Problem, content_type = "application/problem+json"),
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
    let req: ConnectionResponseRequest = parse_body(&body)?;
    let command = Command::RecordConnectionResponse {
        connection_id,
        response: req.response,
    };
    execute(&state, &principal, &headers, id, &body, command).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeRequest {
    /// ons4 | swemwbs | wemwbs | ucla3
    pub instrument: Instrument,
    /// baseline | review | exit
    #[schema(value_type = TimepointDoc, example = "baseline")]
    pub timepoint: Timepoint,
    /// The answers, item by item, in the questionnaire's order.
    pub item_answers: Vec<u8>,
}

/// Record an outcome measure; Linkway scores it (raw and derived scores, versions stored).
#[utoipa::path(
    post, path = "/cases/{id}/outcomes", operation_id = "recordOutcome", tag = "cases",
    params(("id" = Uuid, Path, description = "The referral id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe"), ("If-Match" = Option<String>, Header, description = "The case `version` the caller decided on; 409 if it changed since")),
    request_body = OutcomeRequest,
    responses(
        (status = 200, description = "Recorded", body = CommandAccepted),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Illegal in the case's state, or changed concurrently (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong item count or an answer out of range", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event log or database unavailable", body = Problem, content_type = "application/problem+json"),
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
    let req: OutcomeRequest = parse_body(&body)?;
    let scored = outcomes::score(req.instrument, req.timepoint, &req.item_answers)
        .map_err(|e| invalid(&e.field(), e.rule(), &e.to_string()))?;
    execute(
        &state,
        &principal,
        &headers,
        id,
        &body,
        Command::RecordOutcome(scored),
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
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed concurrently (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event log or database unavailable", body = Problem, content_type = "application/problem+json"),
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
    let req: SafeguardingRequest = parse_body(&body)?;
    let mut errors = Vec::new();
    text_field(&mut errors, "concern", &req.concern, 10_000);
    check(errors)?;
    execute(
        &state,
        &principal,
        &headers,
        id,
        &body,
        Command::RaiseSafeguarding {
            concern: req.concern,
        },
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    /// goals_met | disengaged | could_not_contact | moved_away | referred_elsewhere | died | other
    #[schema(value_type = ClosureReasonDoc, example = "goals_met")]
    pub reason: ClosureReason,
}

/// Close the case.
#[utoipa::path(
    post, path = "/cases/{id}/closure", operation_id = "closeCase", tag = "cases",
    params(("id" = Uuid, Path, description = "The referral id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe"), ("If-Match" = Option<String>, Header, description = "The case `version` the caller decided on; 409 if it changed since")),
    request_body = CloseRequest,
    responses(
        (status = 200, description = "Closed", body = CommandAccepted),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Illegal in the case's state, or changed concurrently (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event log or database unavailable", body = Problem, content_type = "application/problem+json"),
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
    let req: CloseRequest = parse_body(&body)?;
    execute(
        &state,
        &principal,
        &headers,
        id,
        &body,
        Command::Close { reason: req.reason },
    )
    .await
}

// ------------------------------------------------------------------------------------------
// Directory

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    /// Services inserted or updated.
    pub upserted: u64,
    pub ids: Vec<String>,
}

/// Import Open Referral UK services: one service, a paginated list (`contents`), or an
/// organisation with its `services`. All or nothing: one invalid service refuses the whole
/// import, naming each problem.
#[utoipa::path(
    post, path = "/directory/import", operation_id = "importDirectory", tag = "directory",
    request_body(content = Object, description = "An Open Referral UK service, a page of them, or an organisation with its services", content_type = "application/json"),
    responses(
        (status = 200, description = "Imported", body = ImportResult),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A service lacks a required field or has an invalid one", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn import_directory(
    State(state): State<AppState>,
    principal: Principal,
    body: axum::body::Bytes,
) -> Result<Json<ImportResult>> {
    principal.require(&[Role::ServiceManager, Role::Admin])?;
    let value: Value =
        serde_json::from_slice(&body).map_err(|e| invalid("body", "json", &e.to_string()))?;
    let services = directory::parse_import(&value).map_err(ApiError::Validation)?;
    let client = state.db.client().await?;
    let upserted = directory::upsert(&client, &services).await?;
    Ok(Json(ImportResult {
        upserted,
        ids: services.into_iter().map(|s| s.id).collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DirectoryQuery {
    /// Words in the name, description or organisation.
    pub q: Option<String>,
    /// A taxonomy term (or its id).
    pub category: Option<String>,
    /// A place in the service area or a location's town or postcode.
    pub area: Option<String>,
    /// Only services that take new connections (true) or only those that do not (false).
    pub accepting: Option<bool>,
    /// Page size, 1-200 (default 50).
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// A page of directory services.
#[derive(Debug, Serialize, ToSchema)]
pub struct DirectoryPage {
    pub total: i64,
    pub items: Vec<DirectoryEntry>,
}

/// Search the directory of community services.
#[utoipa::path(
    get, path = "/directory", operation_id = "listDirectory", tag = "directory",
    params(DirectoryQuery),
    responses(
        (status = 200, description = "Matching services", body = DirectoryPage),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid paging", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn list_directory(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<DirectoryQuery>,
) -> Result<Json<DirectoryPage>> {
    principal.require(&[Role::LinkWorker, Role::ServiceManager, Role::Admin])?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(invalid("limit", "range", "limit must be 1-200"));
    }
    let offset = q.offset.unwrap_or(0).max(0);
    let client = state.db.client().await?;
    let (total, items) = directory::search(
        &client,
        q.q.as_deref().filter(|s| !s.is_empty()),
        q.category.as_deref().filter(|s| !s.is_empty()),
        q.area.as_deref().filter(|s| !s.is_empty()),
        q.accepting,
        limit,
        offset,
    )
    .await?;
    Ok(Json(DirectoryPage { total, items }))
}

// ------------------------------------------------------------------------------------------
// OpenAPI

/// The event catalogue's enums as the OpenAPI document shows them (the events crate knows
/// nothing of HTTP). The contract test checks every real variant is listed.
pub mod docs {
    use serde::Serialize;
    use utoipa::ToSchema;

    /// Why a service declines a referral; `person_declined` is SNOMED CT 871711000000103.
    #[derive(Serialize, ToSchema)]
    #[schema(as = DeclineReason)]
    #[serde(rename_all = "snake_case")]
    pub enum DeclineReasonDoc {
        OutOfArea,
        NotAppropriate,
        PersonDeclined,
        ReferredElsewhere,
    }

    /// How a contact was made or attempted.
    #[derive(Serialize, ToSchema)]
    #[schema(as = ContactChannel)]
    #[serde(rename_all = "snake_case")]
    pub enum ContactChannelDoc {
        Phone,
        FaceToFace,
        Video,
        HomeVisit,
        Text,
        Email,
    }

    /// When an outcome measure was taken.
    #[derive(Serialize, ToSchema)]
    #[schema(as = Timepoint)]
    #[serde(rename_all = "snake_case")]
    pub enum TimepointDoc {
        Baseline,
        Review,
        Exit,
    }

    /// The lawful basis for sharing the person's details.
    #[derive(Serialize, ToSchema)]
    #[schema(as = LegalBasis)]
    #[serde(rename_all = "snake_case")]
    pub enum LegalBasisDoc {
        PublicTaskHealthCare,
        ExplicitConsent,
        VitalInterests,
    }

    /// A part of the person's record shared with a community service.
    #[derive(Serialize, ToSchema)]
    #[schema(as = SharedDetail)]
    #[serde(rename_all = "snake_case")]
    pub enum SharedDetailDoc {
        Name,
        Phone,
        Email,
        Address,
        Needs,
        Plan,
    }

    /// A coded concept (SNOMED CT unless `system` says otherwise).
    #[derive(Serialize, ToSchema)]
    #[schema(as = Coding)]
    pub struct CodingDoc {
        /// Code system URI, e.g. `http://snomed.info/sct`.
        pub system: String,
        pub code: String,
        pub display: Option<String>,
    }

    /// The plan in the person's words (personal).
    #[derive(Serialize, ToSchema)]
    #[schema(as = PlanPersonal)]
    pub struct PlanPersonalDoc {
        /// "What matters to me".
        pub what_matters: String,
        pub goals: Vec<String>,
        pub actions: Vec<String>,
    }

    /// How the person prefers to be contacted.
    #[derive(Serialize, ToSchema)]
    #[schema(as = ContactMethod)]
    #[serde(rename_all = "snake_case")]
    pub enum ContactMethodDoc {
        Phone,
        Email,
        Letter,
        Text,
    }

    #[derive(Serialize, ToSchema)]
    #[schema(as = Address)]
    pub struct AddressDoc {
        pub lines: Vec<String>,
        pub postcode: String,
    }

    /// PRSB minimum dataset part 1: the person's demographics.
    #[derive(Serialize, ToSchema)]
    #[schema(as = Person)]
    pub struct PersonDoc {
        /// NHS number, 10 digits.
        pub nhs_number: Option<String>,
        pub nhs_number_verification: Option<String>,
        pub given_name: String,
        pub family_name: String,
        /// `YYYY-MM-DD`.
        #[schema(format = Date)]
        pub birth_date: String,
        pub address: AddressDoc,
        pub phone: Option<String>,
        pub email: Option<String>,
        pub preferred_contact_method: ContactMethodDoc,
        /// BCP 47 language tag.
        pub language: Option<String>,
        pub interpreter_needed: bool,
        pub accessibility_needs: Option<String>,
        pub gender: Option<String>,
        pub ethnicity: Option<String>,
    }

    /// The person-identifying part of the referral (the routed service only).
    #[derive(Serialize, ToSchema)]
    #[schema(as = ReferralPersonal)]
    pub struct PersonalDoc {
        pub person: PersonDoc,
        /// The referrer's description of needs, in their words.
        pub needs_text: Option<String>,
        pub notes: Option<String>,
    }

    /// Why a case ended.
    #[derive(Serialize, ToSchema)]
    #[schema(as = ClosureReason)]
    #[serde(rename_all = "snake_case")]
    pub enum ClosureReasonDoc {
        GoalsMet,
        Disengaged,
        CouldNotContact,
        MovedAway,
        ReferredElsewhere,
        Died,
        Other,
    }
}
use docs::{
    ClosureReasonDoc, ContactChannelDoc, DeclineReasonDoc, LegalBasisDoc, SharedDetailDoc,
    TimepointDoc,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "Linkway link-worker service", description = "Caseload, contacts, plans, onward connections, outcome measures and closure."),
    paths(
        get_caseload, get_case, accept_referral, decline_referral, assign_case, record_contact, agree_plan,
        review_plan, connect_service, record_connection_response, record_outcome, raise_safeguarding,
        close_case, import_directory, list_directory
    ),
    components(schemas(
        Problem, FieldError, CaseloadPage, CaseSummary, CaseDetail, ConnectionView, CaseState, CaseloadSort,
        CommandAccepted, DeclineRequest, AssignRequest, ContactRequest, ContactKind, PlanRequest, ConnectRequest,
        ConnectionResponseRequest, ConnectionResponse, ConnectionStatus, OutcomeRequest, Instrument,
        SafeguardingRequest, CloseRequest, ImportResult, DirectoryPage, DirectoryEntry,
        DeclineReasonDoc, ContactChannelDoc, TimepointDoc, ClosureReasonDoc, LegalBasisDoc,
        SharedDetailDoc, docs::CodingDoc, docs::PlanPersonalDoc, docs::ContactMethodDoc,
        docs::AddressDoc, docs::PersonDoc, docs::PersonalDoc, case::Plan, case::ContactEntry,
        case::Concern, case::Outcome, outcomes::Change
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "caseload", description = "What a link-worker service sees"),
        (name = "cases", description = "Steps of a case's journey"),
        (name = "directory", description = "Community services (Open Referral UK)"),
    )
)]
struct ApiDoc;

/// The service's OpenAPI 3.1 document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
