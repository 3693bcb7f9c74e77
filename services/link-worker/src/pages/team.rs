//! `/team`, for service managers: the cases waiting to be allocated (each with the
//! `assignCase` form), each link worker's workload and waiting times, and the onward
//! connections still waiting for a service's answer.

use std::collections::HashMap;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use linkway_events::Role;
use linkway_platform::ApiError;
use linkway_platform::web::page::{Field, form, success_banner, table, tag};
use linkway_platform::web::{Page, PageForm, SignedIn};
use maud::{Markup, html};
use time::OffsetDateTime;

use super::{PageError, fresh_key, html, navigation, principal};
use crate::api::{self, AppState, CaseloadQuery};
use crate::case::{Case, ConnectionStatus};
use crate::queries;

/// The team page.
#[utoipa::path(
    get, path = "/team", operation_id = "getTeamPage", tag = "pages",
    params(("min_sequence" = Option<u64>, Query, description = "Wait until the caseload has this event")),
    responses(
        (status = 200, description = "Allocation, workload and waiting connections (HTML)", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to /sign-in"),
        (status = 403, description = "Not a service manager (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "Try again shortly (HTML)", content_type = "text/html", body = String),
    ),
    security(("session" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn page(
    who: SignedIn,
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let principal = principal(&who, &[Role::ServiceManager])?;
    let query = PageForm::parse(raw.unwrap_or_default().as_bytes());
    let to_allocate = CaseloadQuery {
        state: Some("accepted".into()),
        link_worker: None,
        safeguarding: None,
        connection_overdue: None,
        include_closed: false,
        sort: None,
        descending: false,
        limit: Some(100),
        offset: Some(0),
        min_sequence: query.get("min_sequence").parse().ok(),
    };
    let unallocated = api::read_caseload(&state, &principal, &to_allocate).await?;
    let client = state.db.client().await.map_err(ApiError::from)?;
    let workers = queries::link_workers(&client, &principal.organisation_id)
        .await
        .map_err(ApiError::from)?;
    let now = OffsetDateTime::now_utc();
    let overdue_before = now - time::Duration::days(state.policy.connection_answer_days);
    let workload = queries::workload(&client, &principal.organisation_id, overdue_before)
        .await
        .map_err(ApiError::from)?;
    let waiting: Vec<Case> = queries::waiting_connections(&client, &principal.organisation_id, 100)
        .await
        .map_err(ApiError::from)?
        .into_iter()
        .filter_map(|r| serde_json::from_value(r).ok())
        .collect();
    // Everyone the page names, recorded once, before it is sent.
    let shown: Vec<_> = (unallocated.items.iter().map(|c| c.referral_id))
        .chain(waiting.iter().map(|c| c.referral_id))
        .collect();
    state.audit.shown(&principal, "getTeamPage", &shown).await?;
    let names: HashMap<&str, &str> = workers
        .iter()
        .map(|w| (w.user_id.as_str(), w.display_name.as_str()))
        .collect();
    let options: Vec<(&str, &str)> = workers
        .iter()
        .map(|w| (w.user_id.as_str(), w.display_name.as_str()))
        .collect();
    let title = "Team";
    let content = html! {
        @if query.get("done") == "assign" { (success_banner("Case allocated", html! {})) }
        h1 { (title) }
        h2 { "Cases to allocate" }
        @if unallocated.items.is_empty() {
            p { "Every accepted case is allocated." }
        } @else if options.is_empty() {
            p { "No link workers are registered in your organisation yet." }
        } @else {
            (table("Accepted cases no link worker holds", &["Person", "Waiting", "Flags", "Allocate to"], &unallocated.items.iter().enumerate().map(|(i, c)| vec![
                html! { a class=(super::TABLE_LINK) href=(format!("/cases/{}/view", c.referral_id)) { (c.person_name.as_deref().unwrap_or("Unnamed")) } },
                html! { @if let Some(d) = c.days_waiting { (d) " days" } },
                super::caseload::flags(c),
                allocate(&who, c.referral_id, i, &options),
            ]).collect::<Vec<_>>()))
        }
        h2 { "Workload" }
        @if workload.is_empty() {
            p { "No open cases." }
        } @else {
            (table("Open cases by link worker", &["Link worker", "Open cases", "Longest waiting", "Mean waiting", "Connections overdue", "Safeguarding"], &workload.iter().map(|w| vec![
                html! { (if w.link_worker_id.is_empty() { "Not allocated" } else { names.get(w.link_worker_id.as_str()).copied().unwrap_or(&w.link_worker_id) }) },
                html! { (w.open) },
                html! { (w.longest_wait_days) " days" },
                html! { (format!("{:.0}", w.mean_wait_days)) " days" },
                html! { (w.overdue_connections) },
                html! { (w.safeguarding) },
            ]).collect::<Vec<_>>()))
        }
        h2 { "Connections waiting for an answer" }
        (waiting_table(&waiting, overdue_before, now))
    };
    let page = Page {
        title,
        service: super::SERVICE,
        signed_in: Some(&who),
        navigation: navigation(&who, "/team"),
        has_errors: false,
        back: None,
    };
    Ok(html(StatusCode::OK, &page, content))
}

fn allocate(who: &SignedIn, id: uuid::Uuid, row: usize, options: &[(&str, &str)]) -> Markup {
    let field = format!("link_worker_id-{}", row + 1);
    form(
        &format!("/cases/{id}/view"),
        &who.csrf,
        "Allocate",
        html! {
            input type="hidden" name="action" value="assign";
            input type="hidden" name="return_to" value="team";
            input type="hidden" name="idempotency_key" value=(fresh_key());
            (Field { id: &field, label: "Link worker", hint: None, error: None }.select(options, ""))
        },
    )
}

fn waiting_table(cases: &[Case], overdue_before: OffsetDateTime, now: OffsetDateTime) -> Markup {
    let rows: Vec<Vec<Markup>> = cases
        .iter()
        .flat_map(|case| {
            let name = case.personal.as_ref().map_or_else(|| "Unnamed".to_owned(), |p| format!("{} {}", p.person.given_name, p.person.family_name));
            case.connections.iter().filter(|c| c.status == ConnectionStatus::Pending).map(move |c| vec![
                html! { a class=(super::TABLE_LINK) href=(format!("/cases/{}/view#connections", case.referral_id)) { (name) } },
                html! { (c.service_name) },
                html! { ((now - c.made_at).whole_days()) " days" },
                html! { @if c.made_at < overdue_before { (tag("Overdue", "orange")) } @else { "Within the answer window" } },
            ])
        })
        .collect();
    html! {
        @if rows.is_empty() { p { "No connection is waiting for an answer." } }
        @else { (table("Onward connections without an answer, longest waiting first", &["Person", "Service", "Waiting", "Status"], &rows)) }
    }
}
