//! `/`: the caseload. A link worker starts on their own cases, a service manager on the
//! team's; filters (state, safeguarding, overdue connections, link worker), sorting and
//! pages are the `getCaseload` query's own, in the address (no person's details in it).

use std::collections::HashMap;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use linkway_events::Role;
use linkway_platform::web::page::{Field, pagination, table, tag};
use linkway_platform::web::{Page, PageForm, SignedIn};
use maud::{Markup, html};

use super::{CASE_ROLES, PageError, html, labels, navigation, principal};
use crate::api::{self, AppState, CaseSummary, CaseloadQuery, CaseloadSort};
use crate::case::CaseState;
use crate::queries;

/// Cases per page.
const PER_PAGE: i64 = 25;

/// The filters as the page's form has them.
struct Filters {
    state: String,
    safeguarding: String,
    overdue: String,
    link_worker: String,
    sort: String,
    order: String,
    page: i64,
}

impl Filters {
    fn read(query: &PageForm, who: &SignedIn) -> Filters {
        let default_worker = if who.holds(&[Role::LinkWorker]) {
            "me"
        } else {
            ""
        };
        let link_worker = match query.get("link_worker") {
            "" if query.get("filtered").is_empty() => default_worker,
            other => other,
        };
        Filters {
            state: query.get("state").to_owned(),
            safeguarding: query.get("safeguarding").to_owned(),
            overdue: query.get("overdue").to_owned(),
            link_worker: link_worker.to_owned(),
            sort: query.get("sort").to_owned(),
            order: query.get("order").to_owned(),
            page: query.get("page").parse().unwrap_or(1).clamp(1, 10_000),
        }
    }

    /// The query `getCaseload` runs for them.
    fn query(&self, min_sequence: Option<u64>) -> CaseloadQuery {
        let yes_no = |v: &str| match v {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        };
        let state = match self.state.as_str() {
            "" | "all" => None,
            s => CaseState::parse(s).map(|st| st.as_str().to_owned()),
        };
        CaseloadQuery {
            include_closed: self.state == "all"
                || state
                    .as_deref()
                    .is_some_and(|s| !CaseState::parse(s).is_some_and(CaseState::is_open)),
            state,
            link_worker: (!self.link_worker.is_empty()).then(|| self.link_worker.clone()),
            safeguarding: yes_no(&self.safeguarding),
            connection_overdue: yes_no(&self.overdue),
            sort: Some(match self.sort.as_str() {
                "last_contact" => CaseloadSort::LastContact,
                "next_review" => CaseloadSort::NextReview,
                "state" => CaseloadSort::State,
                _ => CaseloadSort::DaysWaiting,
            }),
            descending: self.order == "desc",
            limit: Some(PER_PAGE),
            offset: Some((self.page - 1) * PER_PAGE),
            min_sequence,
        }
    }

    /// This page's address with another page number.
    fn href(&self, page: i64) -> String {
        let pairs = [
            ("filtered", "1"),
            ("state", self.state.as_str()),
            ("safeguarding", self.safeguarding.as_str()),
            ("overdue", self.overdue.as_str()),
            ("link_worker", self.link_worker.as_str()),
            ("sort", self.sort.as_str()),
            ("order", self.order.as_str()),
        ];
        let mut query = form_query(&pairs);
        query.push_str(&format!("&page={page}"));
        format!("/?{query}")
    }
}

fn form_query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes a query value (ids and codes only ever).
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The caseload page.
#[utoipa::path(
    get, path = "/", operation_id = "getCaseloadPage", tag = "pages",
    params(
        ("state" = Option<String>, Query, description = "A case state, `all`, or empty for open cases"),
        ("safeguarding" = Option<String>, Query, description = "yes | no"),
        ("overdue" = Option<String>, Query, description = "yes | no: an onward connection unanswered past the answer window"),
        ("link_worker" = Option<String>, Query, description = "`me`, a link worker's user id, or empty for the team"),
        ("sort" = Option<String>, Query, description = "days_waiting | last_contact | next_review | state"),
        ("order" = Option<String>, Query, description = "asc | desc"),
        ("page" = Option<String>, Query, description = "Page number, from 1"),
        ("min_sequence" = Option<u64>, Query, description = "Wait until the caseload has this event"),
    ),
    responses(
        (status = 200, description = "The caseload (HTML)", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to /sign-in"),
        (status = 403, description = "Not a link worker or service manager (HTML)", content_type = "text/html", body = String),
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
    // A community service's people work in its inbox, not a caseload.
    if !who.holds(CASE_ROLES) && who.holds(crate::inbox::api::INBOX_ROLES) {
        return Ok(axum::response::IntoResponse::into_response(
            axum::response::Redirect::to(crate::inbox::pages::PATH),
        ));
    }
    let principal = principal(&who, CASE_ROLES)?;
    let query = PageForm::parse(raw.unwrap_or_default().as_bytes());
    let filters = Filters::read(&query, &who);
    let min_sequence = query.get("min_sequence").parse().ok();
    let caseload = api::caseload(
        &state,
        &principal,
        &filters.query(min_sequence),
        "getCaseloadPage",
    )
    .await?;
    let client = state
        .db
        .client()
        .await
        .map_err(linkway_platform::ApiError::from)?;
    let workers = queries::link_workers(&client, &principal.organisation_id)
        .await
        .map_err(linkway_platform::ApiError::from)?;
    let names: HashMap<&str, &str> = workers
        .iter()
        .map(|w| (w.user_id.as_str(), w.display_name.as_str()))
        .collect();
    let title = if filters.link_worker == "me" {
        "My cases"
    } else {
        "Team caseload"
    };
    let rows: Vec<Vec<Markup>> = caseload.items.iter().map(|c| row(c, &names)).collect();
    let pages = (caseload.total + PER_PAGE - 1) / PER_PAGE;
    let content = html! {
        h1 { (title) }
        p { (caseload.total) " " (if caseload.total == 1 { "case" } else { "cases" }) " match." }
        (filter_form(&filters, &workers))
        @if rows.is_empty() {
            p { "No cases match these filters." }
        } @else {
            (table(&format!("{title}, page {} of {}", filters.page, pages.max(1)), &["Person", "State", "Waiting", "Link worker", "Last contact", "Next review", "Flags"], &rows))
        }
        (pagination(filters.page, pages, |n| filters.href(n)))
    };
    let page = Page {
        title,
        service: super::SERVICE,
        signed_in: Some(&who),
        navigation: navigation(&who, "/"),
        has_errors: false,
        back: None,
    };
    Ok(html(StatusCode::OK, &page, content))
}

fn row(c: &CaseSummary, names: &HashMap<&str, &str>) -> Vec<Markup> {
    let worker = c.link_worker_id.as_deref();
    vec![
        html! { a class=(super::TABLE_LINK) href=(format!("/cases/{}/view", c.referral_id)) { (c.person_name.as_deref().unwrap_or("Unnamed")) } },
        tag(labels::state(c.state), labels::state_colour(c.state)),
        html! { @if let Some(d) = c.days_waiting { (d) " " (if d == 1 { "day" } else { "days" }) } },
        html! { (worker.map_or("Not allocated", |w| names.get(w).copied().unwrap_or(w))) },
        html! { @match c.days_since_last_contact { Some(d) => { (d) " days ago" }, None => "Never" } },
        html! { @if let Some(d) = c.next_review_date { (d.to_string()) } },
        flags(c),
    ]
}

/// The case's highlights, each a tag with its words (never colour alone).
pub fn flags(c: &CaseSummary) -> Markup {
    html! {
        @if c.safeguarding { (tag("Safeguarding", "red")) " " }
        @if c.connection_overdue { (tag("Connection overdue", "orange")) " " }
        @if c.connection_reminded { (tag("Service reminded", "yellow")) " " }
        @if c.connection_declined_automatically { (tag("Declined automatically", "grey")) " " }
        @if c.review_overdue { (tag("Review overdue", "yellow")) " " }
        @if c.urgency.as_deref() == Some("urgent") { (tag("Urgent", "pink")) }
    }
}

fn filter_form(f: &Filters, workers: &[queries::LinkWorker]) -> Markup {
    let mut states: Vec<(&str, &str)> = vec![("", "Open cases"), ("all", "All cases, closed too")];
    states.extend(
        CaseState::ALL
            .iter()
            .filter(|s| **s != CaseState::Received)
            .map(|s| (s.as_str(), labels::state(*s))),
    );
    let mut people: Vec<(&str, &str)> = vec![("me", "My cases"), ("", "Everyone in the team")];
    people.extend(
        workers
            .iter()
            .map(|w| (w.user_id.as_str(), w.display_name.as_str())),
    );
    let field = |id, label| Field {
        id,
        label,
        hint: None,
        error: None,
    };
    html! {
        form method="get" action="/" class="nhsuk-u-margin-bottom-5" {
            input type="hidden" name="filtered" value="1";
            fieldset class="nhsuk-fieldset" {
                legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--m" { "Filter and sort" }
                (field("link_worker", "Link worker").select(&people, &f.link_worker))
                (field("state", "State").select(&states, &f.state))
                (field("safeguarding", "Safeguarding").select(&[("", "Any"), ("yes", "Safeguarding concern"), ("no", "No safeguarding concern")], &f.safeguarding))
                (field("overdue", "Onward connections").select(&[("", "Any"), ("yes", "Answer overdue"), ("no", "None overdue")], &f.overdue))
                (field("sort", "Sort by").select(&[("days_waiting", "Waiting time"), ("last_contact", "Last contact"), ("next_review", "Next review"), ("state", "State")], &f.sort))
                (field("order", "Order").select(&[("", "Longest waiting or earliest first"), ("desc", "Reversed")], &f.order))
            }
            button class="nhsuk-button nhsuk-button--secondary" type="submit" { "Apply filters" }
        }
    }
}
