//! The administrator's notifications page: `GET /admin/notifications/view` lists the
//! latest notifications to people about their appointments (by state: all by default, or
//! pending, sent, not_sent, cancelled, erased, dead), with why one was not sent. Codes,
//! ids and times only, never an address, a name or a message. Administrators only; works
//! without JavaScript.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use linkway_events::Role;
use linkway_platform::web::SignedIn;
use linkway_platform::web::admin::{AdminPage, Section};
use linkway_platform::web::page::{table, tag};
use linkway_platform::{ApiError, Database, FieldError};
use maud::html;
use time::OffsetDateTime;
use time::macros::format_description;

use super::store;
use crate::pages::PageError;

/// The page's address.
pub const PATH: &str = "/admin/notifications/view";
/// The states a notification can be in.
pub const STATES: &[&str] = &["pending", "sent", "not_sent", "cancelled", "erased", "dead"];
/// Rows shown.
const LIMIT: i64 = 200;

pub fn routes(db: Database) -> Router {
    Router::new().route(PATH, get(page)).with_state(db)
}

/// The latest notifications, in one state or all.
#[utoipa::path(get, path = "/admin/notifications/view", operation_id = "getNotificationsPage", tag = "pages",
    params(("state" = Option<String>, Query, description = "pending, sent, not_sent, cancelled, erased or dead; absent: all")),
    responses(
        (status = 200, description = "The latest notifications, newest first (HTML)", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to /sign-in"),
        (status = 403, description = "Signed in without the admin role (HTML)", content_type = "text/html", body = String),
        (status = 422, description = "An unknown state (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "The database is unavailable; try again (HTML)", content_type = "text/html", body = String),
    ),
    security(("session" = [])))]
#[tracing::instrument(skip_all)]
pub async fn page(
    who: SignedIn,
    State(db): State<Database>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    who.principal(&[Role::Admin])?;
    let shown = q.get("state").map(String::as_str).filter(|s| !s.is_empty());
    if let Some(s) = shown
        && !STATES.contains(&s)
    {
        let e = FieldError::new("state", "known_state", "state must be one of the listed");
        return Err(ApiError::Validation(vec![e]).into());
    }
    let client = db.client().await.map_err(ApiError::from)?;
    let items = (store::list(&**client, shown, LIMIT).await).map_err(ApiError::from)?;
    let when = |at: OffsetDateTime| {
        at.format(format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
        .unwrap_or_default()
    };
    let rows: Vec<_> = items
        .iter()
        .map(|n| {
            vec![
                html! { (when(n.created_at)) },
                html! { (n.kind) },
                html! { a href=(format!("/cases/{}/view", n.referral_id)) { (n.referral_id) } },
                html! { (n.due_at.map_or_else(|| "at once".to_owned(), when)) },
                html! {
                    (tag(&n.state, match n.state.as_str() { "sent" => "green", "dead" => "red", "not_sent" => "orange", _ => "grey" }))
                    @if let Some(rule) = &n.not_sent_rule { " " (rule) }
                },
                html! { (n.channel.as_deref().unwrap_or("")) " " (n.attempts) " attempts" },
            ]
        })
        .collect();
    let page = AdminPage {
        title: "Notifications to people",
        section: Section::Home,
        who: &who,
        errors: &[],
        back: Some(("Back to administration", "/admin".into())),
    };
    Ok(page.render(html! {
        p { "Confirmations, reminders and cancellations of appointments, sent through GOV.UK Notify. One not sent says which rule held it back (the person's preferred contact method, a missing address or template)." }
        nav aria-label="Notification states" {
            ul class="nhsuk-list nhsuk-u-margin-bottom-4" {
                li style="display:inline; margin-right:1em" {
                    @if shown.is_none() { strong { "all" } } @else { a href=(PATH) { "all" } }
                }
                @for s in STATES {
                    li style="display:inline; margin-right:1em" {
                        @if Some(*s) == shown { strong { (s) } } @else { a href=(format!("{PATH}?state={s}")) { (s) } }
                    }
                }
            }
        }
        @if rows.is_empty() {
            p { "There are no notifications to show." }
        } @else {
            (table(
                "The latest notifications, newest first",
                &["Created", "Kind", "Referral", "Due", "State", "Sent by"],
                &rows,
            ))
        }
    }))
}
