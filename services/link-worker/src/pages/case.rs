//! `/cases/{id}/view`: one case, with what is known, the forms for what can be done now
//! ([`super::actions`] takes them), outcome measures and the timeline. A case of another
//! organisation is the same 404 page as a missing one; each read is in the audit trail
//! ([`linkway_platform::audit`]) as the API's `getCase` is.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use linkway_platform::auth::Principal;
use linkway_platform::http::Path;
use linkway_platform::web::page::{error_summary, success_banner, summary_list, tag};
use linkway_platform::web::{FieldError, Page, PageForm, SignedIn};
use maud::{Markup, html};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{CASE_ROLES, PageError, forms, html, labels, navigation, principal, timeline};
use crate::api::{self, AppState, CaseDetail};
use crate::case::Case;
use crate::queries;

/// A form that was refused: which, what was typed, and why.
pub struct Failed<'a> {
    pub action: &'a str,
    pub posted: &'a PageForm,
    pub errors: Vec<FieldError>,
    pub status: StatusCode,
}

/// The case page.
#[utoipa::path(
    get, path = "/cases/{id}/view", operation_id = "getCasePage", tag = "pages",
    params(
        ("id" = Uuid, Path, description = "The referral id"),
        ("min_sequence" = Option<u64>, Query, description = "Wait until the caseload has this event"),
        ("done" = Option<String>, Query, description = "What was just done, for the confirmation"),
    ),
    responses(
        (status = 200, description = "The case (HTML)", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to /sign-in"),
        (status = 403, description = "Not a link worker or service manager (HTML)", content_type = "text/html", body = String),
        (status = 404, description = "No such case for this organisation (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "Try again shortly (HTML)", content_type = "text/html", body = String),
    ),
    security(("session" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn page(
    who: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let principal = principal(&who, CASE_ROLES)?;
    let query = PageForm::parse(raw.unwrap_or_default().as_bytes());
    let min_sequence = query.get("min_sequence").parse().ok();
    show(
        &state,
        &who,
        &principal,
        id,
        min_sequence,
        None,
        query.get("done"),
    )
    .await
}

/// Reads the case and renders its page, with a refused form's errors when there are some.
pub async fn show(
    state: &AppState,
    who: &SignedIn,
    principal: &Principal,
    id: Uuid,
    min_sequence: Option<u64>,
    failed: Option<Failed<'_>>,
    done: &str,
) -> Result<Response, PageError> {
    let case = api::read_case(state, principal, id, min_sequence, "getCasePage").await?;
    let client = state
        .db
        .client()
        .await
        .map_err(linkway_platform::ApiError::from)?;
    let workers = queries::link_workers(&client, &principal.organisation_id)
        .await
        .map_err(linkway_platform::ApiError::from)?;
    let detail = api::detail(&case, &state.policy, OffsetDateTime::now_utc());
    let name_of = |id: &str| {
        workers
            .iter()
            .find(|w| w.user_id == id)
            .map_or_else(|| id.to_owned(), |w| w.display_name.clone())
    };
    let status = failed.as_ref().map_or(StatusCode::OK, |f| f.status);
    let errors = failed.as_ref().map_or(&[][..], |f| &f.errors[..]);
    let view = forms::View {
        case: &case,
        who,
        policy: &state.policy,
        workers: &workers,
        failed: failed.as_ref(),
    };
    let content = html! {
        (error_summary(errors))
        @if let Some(text) = confirmation(done) { (success_banner(text, html! {})) }
        span class="nhsuk-caption-l" { (person_name(&case)) }
        h1 { "Case" }
        (summary(&case, &detail, &name_of))
        (super::appointments::on_case_page(&case))
        (forms::render(&view))
        (outcomes(&case, &detail))
        (timeline::render(&case, name_of))
    };
    let page = Page {
        title: "Case",
        service: super::SERVICE,
        signed_in: Some(who),
        navigation: navigation(who, ""),
        has_errors: !errors.is_empty(),
        back: Some(("Back to the caseload", "/".to_owned())),
    };
    Ok(html(status, &page, content))
}

fn person_name(case: &Case) -> String {
    case.personal.as_ref().map_or_else(
        || "Unnamed".to_owned(),
        |p| format!("{} {}", p.person.given_name, p.person.family_name),
    )
}

/// What the confirmation says after an action (`done` is the operation's short name).
fn confirmation(done: &str) -> Option<&'static str> {
    Some(match done {
        "accept" => "Referral accepted",
        "decline" => "Referral declined",
        "assign" => "Case allocated",
        "attempt" => "Contact attempt recorded",
        "made" => "Contact recorded",
        "plan" => "Plan agreed",
        "review" => "Plan review recorded",
        "connect" => "Connection made",
        "response" => "The service's answer recorded",
        "outcome" => "Outcome measure recorded",
        "safeguarding" => "Safeguarding concern raised",
        "close" => "Case closed",
        _ => return None,
    })
}

fn summary(case: &Case, d: &CaseDetail, name_of: &impl Fn(&str) -> String) -> Markup {
    let s = &d.summary;
    let person = case.personal.as_ref().map(|p| &p.person);
    summary_list(&[
        (
            "State",
            tag(labels::state(s.state), labels::state_colour(s.state)),
        ),
        (
            "Flags",
            html! { (super::caseload::flags(s)) @if !(s.safeguarding || s.connection_overdue || s.review_overdue || s.connection_reminded || s.connection_declined_automatically) { "None" } },
        ),
        (
            "Link worker",
            html! { (s.link_worker_id.as_deref().map_or_else(|| "Not allocated".to_owned(), name_of)) },
        ),
        (
            "Waiting",
            html! { @if let Some(days) = s.days_waiting { (days) " days since referral" } },
        ),
        (
            "Date of birth",
            html! { @if let Some(p) = person { (p.birth_date.to_string()) } },
        ),
        (
            "NHS number",
            html! { @if let Some(n) = person.and_then(|p| p.nhs_number.as_deref()) { (n) } @else { "Not given" } },
        ),
        (
            "Phone",
            html! { @if let Some(n) = person.and_then(|p| p.phone.as_deref()) { (n) } @else { "Not given" } },
        ),
        (
            "Referred by",
            html! { (d.referrer_organisation_id.as_deref().unwrap_or("")) },
        ),
        (
            "Needs",
            html! {
                @for n in &d.needs { (n.display.as_deref().unwrap_or(&n.code)) br; }
                @if let Some(t) = case.personal.as_ref().and_then(|p| p.needs_text.as_deref()) { (t) }
            },
        ),
        (
            "Contacts",
            html! { (d.contacts_made) " made (" (d.contact_minutes) " minutes), " (s.contact_attempts) " attempts before the first" },
        ),
    ])
}

fn outcomes(case: &Case, d: &CaseDetail) -> Markup {
    let id = case.referral_id;
    html! {
        h2 id="outcomes" { "Outcome measures" }
        @if case.outcomes.is_empty() {
            p { "None recorded yet." }
        } @else {
            (linkway_platform::web::page::table("Outcome measures recorded", &["Measure", "When", "Score", "Change from baseline"],
                &case.outcomes.iter().map(|o| vec![
                    html! { (super::outcome::name(&o.instrument)) },
                    html! { (labels::text(labels::TIMEPOINTS, &labels::code(&o.timepoint))) br; span class="nhsuk-body-s" { (o.recorded_at.date().to_string()) } },
                    super::outcome::score(o),
                    super::outcome::change(&case.outcomes, o),
                ]).collect::<Vec<_>>()))
            @if let Some(change) = d.swemwbs_change {
                p { "SWEMWBS since baseline: " strong { (super::outcome::change_words(change)) } " (a meaningful change is 3 metric points)." }
            }
        }
        @if case.state.is_open() {
            p { "Record a measure by answering its questions:" }
            ul {
                @for i in crate::outcomes::Instrument::ALL {
                    li { a href=(format!("/cases/{id}/view/outcome?instrument={}", i.as_str())) { (super::outcome::name(i.as_str())) } }
                }
            }
        }
    }
}
