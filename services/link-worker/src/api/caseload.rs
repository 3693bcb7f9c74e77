//! Queries of the caseload read model: a service's caseload and one case's details (SQL in
//! [`crate::queries`] and [`crate::caseload::case_for`]).

use super::*;
use crate::queries;

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
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<i64>,
    /// Rows to skip (default 0).
    #[param(minimum = 0, default = 0)]
    pub offset: Option<i64>,
    pub min_sequence: Option<u64>,
}

/// The `state` filter: case states separated by commas, spaces around them and empty
/// parts ignored ([`super::contract`] states the same as a pattern).
fn states(filter: &str, errors: &mut Vec<FieldError>) -> Vec<String> {
    let mut states = Vec::new();
    for part in filter.split(',').map(|p| p.trim_matches(' ')) {
        match CaseState::parse(part) {
            Some(st) => states.push(st.as_str().to_owned()),
            None if part.is_empty() => {}
            None => {
                errors.push(FieldError::new("state", "state_enum", "unknown case state"));
                break;
            }
        }
    }
    states
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
    /// A community service was reminded of a connection it still has not answered.
    pub connection_reminded: bool,
    /// A connection was declined automatically: its service did not answer in time.
    pub connection_declined_automatically: bool,
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
        connection_reminded: case
            .connections
            .iter()
            .any(|c| c.status == ConnectionStatus::Pending && c.reminded_at.is_some()),
        connection_declined_automatically: case
            .connections
            .iter()
            .any(crate::case::timers::declined_automatically),
    }
}

/// The caller's caseload: cases routed to its organisation, filtered, sorted and paged.
#[utoipa::path(
    get, path = "/caseload", operation_id = "getCaseload", tag = "caseload",
    params(CaseloadQuery),
    responses(
        (status = 200, description = "A page of the caseload", body = CaseloadPage),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter", body = Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
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
    caseload(&state, &principal, &q, "getCaseload")
        .await
        .map(Json)
}

/// A page of the caller's caseload, as `getCaseload` and the caseload page read it; the
/// cases shown are recorded as seen through `operation` (in the audit trail, before they
/// are sent).
pub async fn caseload(
    state: &AppState,
    principal: &Principal,
    q: &CaseloadQuery,
    operation: &str,
) -> Result<CaseloadPage> {
    let page = read_caseload(state, principal, q).await?;
    let shown: Vec<Uuid> = page.items.iter().map(|i| i.referral_id).collect();
    state.audit.shown(principal, operation, &shown).await?;
    Ok(page)
}

/// A page of the caller's caseload, not yet recorded as seen: a page that shows it with
/// more records (the team page) records them all at once.
pub async fn read_caseload(
    state: &AppState,
    principal: &Principal,
    q: &CaseloadQuery,
) -> Result<CaseloadPage> {
    let mut errors = Vec::new();
    let linkway_platform::http::Paging { limit, offset } =
        linkway_platform::http::Paging::read(q.limit, q.offset, &mut errors);
    let states = q.state.as_deref().map(|s| states(s, &mut errors));
    let link_worker = match q.link_worker.as_deref() {
        Some("me") => Some(principal.user_id.clone().unwrap_or_default()),
        other => fields::optional(&mut errors, "link_worker", other, fields::LINK_WORKER_ID),
    };
    check(errors)?;
    read_your_writes::reach(&state.caseload, q.min_sequence).await?;
    let client = state.db.client().await?;
    let overdue_before =
        OffsetDateTime::now_utc() - time::Duration::days(state.policy.connection_answer_days);
    let filter = queries::CaseloadFilter {
        organisation_id: &principal.organisation_id,
        link_worker: link_worker.as_deref(),
        safeguarding: q.safeguarding,
        include_closed: q.include_closed,
        connection_overdue: q.connection_overdue,
        overdue_before,
        states,
    };
    let sort = q.sort.unwrap_or_default();
    let page = queries::caseload_page(&client, &filter, sort, q.descending, limit, offset).await?;
    let now = OffsetDateTime::now_utc();
    let mut items: Vec<CaseSummary> = Vec::with_capacity(page.records.len());
    for record in page.records {
        let case: Case =
            serde_json::from_value(record).map_err(|e| ApiError::Internal(e.into()))?;
        items.push(summary(&case, &state.policy, now));
    }
    Ok(CaseloadPage {
        total: page.total,
        limit,
        offset,
        counts_by_state: page.counts_by_state,
        counts_by_link_worker: page.counts_by_link_worker,
        items,
    })
}

/// An onward connection as a case shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionView {
    pub connection_id: Uuid,
    pub service_id: String,
    pub service_name: String,
    pub status: ConnectionStatus,
    /// The lawful basis the person's details were shared on.
    pub legal_basis: Option<LegalBasis>,
    /// What was shared with the service.
    pub shared: Vec<SharedDetail>,
    #[serde(with = "time::serde::rfc3339")]
    pub made_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub answered_at: Option<OffsetDateTime>,
    /// Still unanswered after the answer window.
    pub overdue: bool,
    /// When the service was reminded, once, that it had not answered.
    #[serde(with = "time::serde::rfc3339::option")]
    pub reminded_at: Option<OffsetDateTime>,
    /// Why it was declined; `no_answer_in_time`: declined automatically.
    pub decline_reason: Option<linkway_events::case::ConnectionDeclineReason>,
}

/// A case in full, for the organisation it was routed to.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDetail {
    #[serde(flatten)]
    pub summary: CaseSummary,
    pub organisation_id: Option<String>,
    pub referrer_organisation_id: Option<String>,
    /// Needs and concerns as SNOMED CT codings.
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
    /// Appointments with the person, in the order booked.
    pub appointments: Vec<case::Appointment>,
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
    pub personal: Option<ReferralPersonal>,
    /// Stream sequence of the case's last event.
    pub version: u64,
}

pub fn detail(case: &Case, policy: &Policy, now: OffsetDateTime) -> CaseDetail {
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
                reminded_at: c.reminded_at,
                decline_reason: c.decline_reason,
            })
            .collect(),
        appointments: case.appointments.clone(),
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
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case for this organisation", body = Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
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
    let case = read_case(&state, &principal, id, c.min_sequence, "getCase").await?;
    let etag = header::HeaderValue::from_str(&format!("\"{}\"", case.last_case_sequence))
        .map_err(|e| ApiError::Internal(e.into()))?;
    let body = Json(detail(&case, &state.policy, OffsetDateTime::now_utc()));
    Ok(([(header::ETAG, etag)], body).into_response())
}

/// One case from the read model (once it reaches `min_sequence`), if it was routed to the
/// caller's organisation (404 otherwise, as if it did not exist); the read is recorded as
/// seen through `operation` in the audit trail (a read that cannot be recorded is 503).
pub async fn read_case(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    min_sequence: Option<u64>,
    operation: &str,
) -> Result<Case> {
    read_your_writes::reach(&state.caseload, min_sequence).await?;
    let client = state.db.client().await?;
    let case = crate::caseload::case_for(&client, id, &principal.organisation_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    state.audit.shown(principal, operation, &[id]).await?;
    Ok(case)
}
