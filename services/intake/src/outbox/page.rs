//! The administrator's outbox page: `GET /admin/outbound/view` lists the messages back to
//! referrers (by state, dead ones first by default), each with its delivery log (when,
//! what came back, how long), and a "Retry" form on each dead one; `POST
//! /admin/outbound/{id}/retry/view` is `retryOutboundMessage`'s retry as the
//! signed-in administrator, answered 303 to the dead list. Ids, codes and delivery state
//! only, never a message's body. Works without JavaScript; administrators only.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use linkway_events::Role;
use linkway_platform::ApiError;
use linkway_platform::web::admin::{AdminPage, Section};
use linkway_platform::web::page::{form, success_banner, table};
use linkway_platform::web::{PageForm, SignedIn};
use maud::{Markup, html};
use time::OffsetDateTime;
use uuid::Uuid;

use super::api::{self, OutboundQuery, STATES};
use super::store;
use crate::AppState;
use crate::pages::PageError;

/// The page's address.
pub const LIST: &str = "/admin/outbound/view";

/// Messages back to referrers in one state, each with its delivery log.
#[utoipa::path(get, path = "/admin/outbound/view", operation_id = "getOutboundPage", tag = "pages",
    params(
        ("state" = Option<String>, Query, description = "`dead` (the default), `pending`, `delivered` or `erased`"),
        ("retried" = Option<String>, Query, description = "Set after a retry: say so"),
    ),
    responses(
        (status = 200, description = "The messages in that state, dead ones with a Retry form (HTML)", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to /sign-in, coming back here after"),
        (status = 403, description = "Signed in without the admin role (HTML)", content_type = "text/html", body = String),
        (status = 422, description = "An unknown state (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "The database is unavailable; try again (HTML)", content_type = "text/html", body = String),
    ))]
pub async fn outbound(
    who: SignedIn,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    who.principal(&[Role::Admin])?;
    let query = OutboundQuery {
        state: Some(q.get("state").cloned().unwrap_or_else(|| "dead".into())),
        limit: Some(200),
        offset: None,
    };
    let (filter, paging) = api::read_query(&query)?;
    let client = state.db.client().await?;
    let (items, total) = store::list(&**client, filter, paging.limit, paging.offset).await?;
    let retried = q.contains_key("retried");
    Ok(render(
        &who,
        filter.unwrap_or("dead"),
        &items,
        total,
        retried,
    ))
}

/// A dead message is tried again from its first attempt.
#[utoipa::path(post, path = "/admin/outbound/{id}/retry/view", operation_id = "retryOutboundMessagePage", tag = "pages",
    params(("id" = Uuid, Path, description = "The message's id (`message_id`)")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "`csrf` from the page"),
    responses(
        (status = 303, description = "Pending again: to the dead list saying so (or, not signed in, to /sign-in)"),
        (status = 403, description = "Without the session's CSRF token, or without the admin role: nothing changed (HTML)", content_type = "text/html", body = String),
        (status = 404, description = "No such message (HTML)", content_type = "text/html", body = String),
        (status = 409, description = "The message is not dead (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "The database is unavailable; try again (HTML)", content_type = "text/html", body = String),
    ))]
pub async fn retry(
    who: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<String>,
    _posted: PageForm,
) -> Result<Response, PageError> {
    who.principal(&[Role::Admin])?;
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    api::retry(&state, id).await?;
    Ok(Redirect::to(&format!("{LIST}?state=dead&retried=1")).into_response())
}

fn when(at: OffsetDateTime) -> String {
    format!(
        "{} {} {} {:02}:{:02}:{:02}",
        at.day(),
        at.month(),
        at.year(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

fn render(
    who: &SignedIn,
    shown: &str,
    items: &[store::Listed],
    total: i64,
    retried: bool,
) -> Response {
    let rows: Vec<Vec<Markup>> = items
        .iter()
        .map(|m| {
            vec![
                html! { (when(m.created_at)) },
                html! { (m.kind.replace('_', " ")) },
                html! { code { (m.referral_id) } br; small { "Message " code { (m.message_id) } } },
                html! { code { (m.endpoint) } },
                html! {
                    (m.attempts) " attempts"
                    @if let Some(e) = &m.last_error { br; "Last: " code { (e) } }
                    @if !m.log.is_empty() {
                        details class="nhsuk-details" {
                            summary class="nhsuk-details__summary" {
                                span class="nhsuk-details__summary-text" { "Delivery log" }
                            }
                            div class="nhsuk-details__text" {
                                ul class="nhsuk-list" {
                                    @for a in &m.log {
                                        li {
                                            (when(a.attempted_at)) ": "
                                            @if let Some(s) = a.status_code { "HTTP " (s) }
                                            @if let Some(e) = &a.error_kind { (e) }
                                            " (" (a.duration_ms) " ms)"
                                        }
                                    }
                                }
                            }
                        }
                    }
                },
                html! {
                    @if m.state == "dead" {
                        (form(&format!("/admin/outbound/{}/retry/view", m.message_id), &who.csrf, "Retry", html! {}))
                    } @else {
                        (m.state)
                    }
                },
            ]
        })
        .collect();
    let page = AdminPage {
        title: "Messages back to referrers",
        section: Section::Home,
        who,
        errors: &[],
        back: Some(("Back to administration", "/admin".into())),
    };
    page.render(html! {
        @if retried {
            (success_banner("Message will be sent again", html! { p { "It is tried again now, from its first attempt." } }))
        }
        p { "Updates on referrals that came as FHIR messages go back to the referrer's endpoint. A message the endpoint did not take after every attempt is dead: check the endpoint with the referrer, then retry it." }
        nav aria-label="Message states" {
            ul class="nhsuk-list nhsuk-u-margin-bottom-4" {
                @for s in STATES {
                    // A list down the page: the CSP (`style-src 'self'`) allows no inline style.
                    li {
                        @if *s == shown { strong aria-current="page" { (s) } } @else { a href=(format!("{LIST}?state={s}")) { (s) } }
                    }
                }
            }
        }
        @if rows.is_empty() {
            p { "There are no " (shown) " messages." }
        } @else {
            (table(
                &format!("{total} {shown} messages, newest first"),
                &["Created", "Update", "Referral", "Endpoint", "Delivery", "Action"],
                &rows,
            ))
        }
    })
}
