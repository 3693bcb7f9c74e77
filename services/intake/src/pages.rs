//! The referrer's pages: a signed-in person of a referring organisation makes a referral,
//! follows their organisation's referrals and withdraws one. Server-rendered with the
//! platform's layout and components ([`linkway_platform::web`]), every flow without
//! JavaScript.
//!
//! Each page takes [`SignedIn`] and acts as `who.principal(&[Role::Referrer])`, so what it
//! appends carries the person's user id in the event's actor. Pages call what the JSON API
//! calls: [`crate::form::submit`] (the form's fields read into the API's request, its
//! validation, [`crate::command::submit`]), [`crate::command::Correct`] through
//! [`crate::command::run`], and the read model through [`crate::queries`] and
//! [`crate::api::visible_row`]. No SQL and no second validation here.
//!
//! - [`home`]: `GET /`, where to go.
//! - [`make`]: `GET`/`POST /referrals/new`, make a referral ([`make_form`] renders it).
//! - [`list`]: `GET /referrals/view`, the organisation's referrals by status, paged.
//! - [`referral`]: `GET /referrals/{id}/view`, status and timeline, and
//!   `POST /referrals/{id}/view/withdraw`.
//!
//! The JSON routes `/referrals` and `/referrals/{id}` stay JSON; pages live beside them.
//! Each is in the OpenAPI document under the tag `pages`, as the platform's sign-in routes
//! are (HTML answers, form bodies, no bearer token: the session cookie). A record of another organisation is the same 404 page as a missing one.

pub mod home;
pub mod list;
pub mod make;
pub mod make_form;
pub mod referral;
pub mod unroutable;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use linkway_events::Role;
use linkway_platform::ApiError;
use linkway_platform::auth::Principal;
use linkway_platform::web::signed_in::problem_page;
use linkway_platform::web::{NavItem, PageRejection, SignedIn};
use maud::Markup;

pub use home::home;
pub use list::referrals;
pub use make::{new_referral, send_referral};
pub use referral::{referral, withdraw};

/// The service's name in every page's header and title.
pub const SERVICE: &str = "Referrals";

/// The roles the referrer's pages are for.
pub const ROLES: &[Role] = &[Role::Referrer];

/// The page the person is on, for the header's navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Home,
    Make,
    Referrals,
}

/// The header's links.
pub fn navigation(current: Section) -> Vec<NavItem> {
    vec![
        NavItem {
            text: "Make a referral",
            href: "/referrals/new".into(),
            current: current == Section::Make,
        },
        NavItem {
            text: "Your organisation's referrals",
            href: "/referrals/view".into(),
            current: current == Section::Referrals,
        },
    ]
}

/// The principal a referrer's page acts as.
pub fn principal(who: &SignedIn) -> Result<Principal, PageError> {
    Ok(who.principal(ROLES)?)
}

/// Why a page was not shown.
#[derive(Debug)]
pub enum PageError {
    /// Not signed in, not a referrer, or a form without its CSRF token.
    Rejected(PageRejection),
    /// What the read model or the command path answered (not found, unavailable, ...).
    Api(ApiError),
}

impl From<PageRejection> for PageError {
    fn from(r: PageRejection) -> PageError {
        PageError::Rejected(r)
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> PageError {
        PageError::Api(e)
    }
}

impl From<crate::queries::QueryError> for PageError {
    fn from(e: crate::queries::QueryError) -> PageError {
        PageError::Api(e.into())
    }
}

impl From<tokio_postgres::Error> for PageError {
    fn from(e: tokio_postgres::Error) -> PageError {
        PageError::Api(e.into())
    }
}

impl From<linkway_platform::db::DbError> for PageError {
    fn from(e: linkway_platform::db::DbError) -> PageError {
        PageError::Api(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::Rejected(r) => r.into_response(),
            PageError::Api(ApiError::NotFound) => not_found(),
            PageError::Api(ApiError::Forbidden) => PageRejection::Forbidden.into_response(),
            PageError::Api(ApiError::Unavailable(_)) => PageRejection::Unavailable.into_response(),
            PageError::Api(ApiError::Conflict(e)) if e.field == "min_sequence" => problem_page(
                StatusCode::CONFLICT,
                "This page is not available yet",
                "The link asks for a change Linkway has not recorded. Go to your organisation's referrals.",
            ),
            PageError::Api(e) => {
                if let ApiError::Internal(err) = &e {
                    tracing::error!(error = format!("{err:#}"), "internal error");
                }
                problem_page(
                    e.status(),
                    "Sorry, there is a problem with the service",
                    "Try again in a few seconds.",
                )
            }
        }
    }
}

/// The one "not found" page: a missing referral and another organisation's look the same.
/// The person's name as the referrer's pages show it; "Erased" once the person was.
pub fn person_name(person: Option<&crate::read_model::PersonSummary>) -> String {
    person.map_or_else(
        || "Erased".to_owned(),
        |p| format!("{} {}", p.given_name, p.family_name),
    )
}

pub fn not_found() -> Response {
    problem_page(
        StatusCode::NOT_FOUND,
        "Page not found",
        "If you typed the web address, check it is correct. If you pasted the web address, check you copied the entire address.",
    )
}

/// A message from the validation or a decision ("is required") as a sentence.
pub(crate) fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_uppercase().chain(chars).collect::<String>()
    })
}

/// A rendered page: never cached, since pages may show personal data.
pub fn html(status: StatusCode, page: Markup) -> Response {
    let mut response = (status, page).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests;
