//! `GET /referrals/view`: the signed-in person's organisation's referrals, newest first,
//! with their status; filtered by status and paged with query parameters that say nothing
//! about anyone (`?status=routed&page=2`). A value that is not a status or a page shows
//! every referral from the first page.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use linkway_platform::web::page::{Field, table, tag};
use linkway_platform::web::{Page, SignedIn};
use maud::{Markup, html};

use super::{PageError, SERVICE, Section, html, navigation, principal};
use crate::AppState;
use crate::queries;
use crate::read_model::{ReferralRow, Status};

/// Referrals on one page.
pub const PER_PAGE: i64 = 25;

/// The list, filtered and paged.
#[utoipa::path(get, path = "/referrals/view", operation_id = "getReferralsPage", tag = "pages",
    params(
        ("status" = Option<String>, Query, description = "Only referrals in this status (any other value: every status)"),
        ("page" = Option<i64>, Query, description = "Which page of 25, from 1"),
    ),
    responses(
        (status = 200, description = "The organisation's referrals (HTML)", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to /sign-in, coming back here after"),
        (status = 403, description = "Signed in without the referrer role (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "The read model or the log is unavailable; try again (HTML)", content_type = "text/html", body = String),
    ))]
pub async fn referrals(
    who: SignedIn,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let principal = principal(&who)?;
    let status = q.get("status").and_then(|s| Status::parse(s));
    let page_number = q
        .get("page")
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| (1..=100_000).contains(p))
        .unwrap_or(1);
    let client = state.db.client().await?;
    let found = queries::referral_page(
        &client,
        Some(&principal.organisation_id),
        status.map(Status::as_str),
        PER_PAGE,
        (page_number - 1) * PER_PAGE,
    )
    .await?;
    let shown: Vec<uuid::Uuid> = found.rows.iter().map(|r| r.referral_id).collect();
    state
        .audit
        .shown(&principal, "getReferralsPage", &shown)
        .await?;
    let page = Page {
        title: "Your organisation's referrals",
        service: SERVICE,
        signed_in: Some(&who),
        navigation: navigation(Section::Referrals),
        has_errors: false,
        back: None,
    };
    Ok(html(
        StatusCode::OK,
        page.render(html! {
            h1 { "Your organisation's referrals" }
            (filter(status))
            @if found.rows.is_empty() {
                p { "No referrals" @if status.is_some() { " with this status" } "." }
            } @else {
                p { (found.total) " referral" @if found.total != 1 { "s" } "." }
                (table(
                    "Referrals, newest first",
                    &["Person", "Date of birth", "Received", "Urgency", "Status"],
                    &found.rows.iter().map(row).collect::<Vec<_>>(),
                ))
            }
            (pagination(status, page_number, found.total))
        }),
    ))
}

/// The filter: a GET form, so it works without JavaScript and the address can be kept.
fn filter(status: Option<Status>) -> Markup {
    let mut options = vec![("", "Any status")];
    options.extend(Status::ALL.iter().map(|s| (s.as_str(), label(*s))));
    let field = Field {
        id: "status",
        label: "Status",
        hint: None,
        error: None,
    };
    html! {
        form method="get" action="/referrals/view" novalidate {
            (field.select(&options, status.map_or("", Status::as_str)))
            button class="nhsuk-button nhsuk-button--secondary" data-module="nhsuk-button" type="submit" { "Show referrals" }
        }
    }
}

fn row(r: &ReferralRow) -> Vec<Markup> {
    vec![
        html! {
            a href=(format!("/referrals/{}/view", r.referral_id)) {
                (super::person_name(r.person.as_ref()))
            }
        },
        html! { (r.person.as_ref().map_or("", |p| p.birth_date.as_str())) },
        html! { (date(r.received_at)) },
        html! { (r.urgency) },
        status_tag(r.status),
    ]
}

/// A day as people read it, e.g. "1 December 2026".
pub fn date(at: time::OffsetDateTime) -> String {
    format!("{} {} {}", at.day(), at.month(), at.year())
}

fn pagination(status: Option<Status>, page: i64, total: i64) -> Markup {
    let href = |n: i64| match status {
        Some(s) => format!("/referrals/view?status={}&page={n}", s.as_str()),
        None => format!("/referrals/view?page={n}"),
    };
    let last = (total + PER_PAGE - 1) / PER_PAGE;
    html! {
        @if page > 1 || page < last {
            nav class="nhsuk-pagination" role="navigation" aria-label="Pagination" {
                ul class="nhsuk-list nhsuk-pagination__list" {
                    @if page > 1 {
                        li class="nhsuk-pagination-item--previous" {
                            a class="nhsuk-pagination__link nhsuk-pagination__link--prev" href=(href(page - 1)) rel="prev" {
                                span class="nhsuk-pagination__title" { "Previous" span class="nhsuk-u-visually-hidden" { " page" } }
                                span class="nhsuk-u-visually-hidden" { ":" }
                                span class="nhsuk-pagination__page" { "Page " (page - 1) " of " (last.max(1)) }
                            }
                        }
                    }
                    @if page < last {
                        li class="nhsuk-pagination-item--next" {
                            a class="nhsuk-pagination__link nhsuk-pagination__link--next" href=(href(page + 1)) rel="next" {
                                span class="nhsuk-pagination__title" { "Next" span class="nhsuk-u-visually-hidden" { " page" } }
                                span class="nhsuk-u-visually-hidden" { ":" }
                                span class="nhsuk-pagination__page" { "Page " (page + 1) " of " (last) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A status as the referrer reads it.
pub fn label(s: Status) -> &'static str {
    match s {
        Status::Received => "Received",
        Status::Routed => "Sent to a link worker service",
        Status::Unroutable => "Waiting to be routed",
        Status::Accepted => "Accepted",
        Status::Declined => "Declined",
        Status::InProgress => "In progress",
        Status::Closed => "Closed",
        Status::Withdrawn => "Withdrawn",
        Status::EnteredInError => "Entered in error",
    }
}

/// A status as a tag: the words say it, the colour only helps.
pub fn status_tag(s: Status) -> Markup {
    let colour = match s {
        Status::Received | Status::Routed => "blue",
        Status::Unroutable => "orange",
        Status::Accepted | Status::InProgress => "green",
        Status::Declined => "red",
        Status::Closed | Status::Withdrawn | Status::EnteredInError => "grey",
    };
    tag(label(s), colour)
}
