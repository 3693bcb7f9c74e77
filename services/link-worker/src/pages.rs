//! The link worker's and the service manager's pages: server-rendered with the platform's
//! layout and components ([`linkway_platform::web`]), every flow without JavaScript.
//!
//! Pages read through the same functions as the JSON API ([`api::caseload`],
//! [`api::read_case`], which record each read of a person's record) and change a case only
//! through [`api::run`], the operation the JSON routes run: a form becomes the JSON body
//! its route takes, so both are parsed, checked and decided alike, and the event's actor is
//! the person signed in. After a change a page answers 303 to the case with
//! `?min_sequence=`, so it shows what was just done.
//!
//! - [`caseload`]: `/`, my cases and the team's.
//! - [`case`]: `/cases/{id}/view`, the case with its timeline and forms; [`actions`] its
//!   posts; [`outcome`] the questionnaires; [`connect`] the directory search to connect a
//!   service.
//! - [`team`]: `/team`, allocation, workload and connections waiting for an answer.
//! - [`directory_import`]: `/directory/upload`, an Open Referral UK import;
//!   [`directory_sync`]: `/directory/feed`, the directory's feed and its last sync.
//! - [`labels`]: what codes say to people.

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use linkway_events::Role;
use linkway_platform::ApiError;
use linkway_platform::web::signed_in::problem_page;
use linkway_platform::web::{FieldError, NavItem, Page, PageRejection, SignedIn};
use maud::Markup;
use uuid::Uuid;

use crate::api::AppState;

pub mod actions;
pub mod appointments;
pub mod case;
pub mod caseload;
pub mod connect;
pub mod directory_import;
pub mod directory_sync;
mod forms;
pub mod labels;
pub mod outcome;
pub mod team;
mod timeline;

/// The service's name in every page's header and title.
pub const SERVICE: &str = "Caseload";

/// A link in a table cell: at least 24 px tall, so rows' links are targets of the size
/// WCAG 2.2 asks for (2.5.8).
pub const TABLE_LINK: &str =
    "nhsuk-u-display-inline-block nhsuk-u-padding-top-1 nhsuk-u-padding-bottom-1";

/// Who works cases: the roles every case page requires, as the API's case operations do.
pub const CASE_ROLES: &[Role] = &[Role::LinkWorker, Role::ServiceManager];

/// The pages' routes (none is a JSON API route: case pages live under `/cases/{id}/view`).
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/", get(caseload::page))
        .route("/cases/{id}/view", get(case::page).post(actions::post))
        .route(
            "/cases/{id}/view/outcome",
            get(outcome::page).post(outcome::post),
        )
        .route(
            "/cases/{id}/view/connect",
            get(connect::page).post(connect::post),
        )
        .route(
            "/cases/{id}/view/appointments",
            get(appointments::page).post(appointments::post),
        )
        .route("/team", get(team::page))
        .route(
            "/directory/upload",
            get(directory_import::page).post(directory_import::post),
        )
        .with_state(state)
}

/// Why a page could not be shown.
#[derive(Debug)]
pub enum PageError {
    /// Not signed in, a role the page is not for, a form without its CSRF token.
    Rejected(PageRejection),
    /// What the API's functions answered.
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

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::Rejected(r) => r.into_response(),
            PageError::Api(ApiError::NotFound) => not_found(),
            PageError::Api(ApiError::Forbidden) => PageRejection::Forbidden.into_response(),
            PageError::Api(ApiError::Validation(_)) => problem_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "This page's address is not right",
                "Go back to your caseload and choose again.",
            ),
            PageError::Api(e @ (ApiError::Internal(_) | ApiError::Unavailable(_))) => {
                tracing::warn!(error = %e, "page could not be served");
                PageRejection::Unavailable.into_response()
            }
            PageError::Api(e) => problem_page(
                e.status(),
                "Sorry, that did not work",
                "Go back, reload the page and try again.",
            ),
        }
    }
}

/// The one "not found": a missing case and another organisation's look the same.
pub fn not_found() -> Response {
    problem_page(
        StatusCode::NOT_FOUND,
        "Page not found",
        "If you typed the web address, check it is correct. If you followed a link, the record may not be one your organisation can see.",
    )
}

/// The navigation every page shows (the team page only to service managers).
pub fn navigation(who: &SignedIn, current: &str) -> Vec<NavItem> {
    let mut items = vec![("Caseload", "/")];
    if who.holds(&[Role::ServiceManager]) {
        items.push(("Team", "/team"));
        items.push(("Directory import", "/directory/upload"));
        items.push(("Directory feed", directory_sync::PATH));
    }
    items
        .into_iter()
        .map(|(text, href)| NavItem {
            text,
            href: href.to_owned(),
            current: href == current,
        })
        .collect()
}

/// A rendered page as a response that is never cached (it may hold a person's details).
pub fn html(status: StatusCode, page: &Page<'_>, content: Markup) -> Response {
    let mut response = (status, page.render(content)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// 303 to a page, once the read model has `sequence` (the page waits for it).
pub fn see_other(path: &str, sequence: u64, done: &str) -> Response {
    let sep = if path.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{path}{sep}min_sequence={sequence}&done={done}")).into_response()
}

/// The headers a page's command goes with: the request's correlation id, the form's
/// idempotency key and the case version it was rendered from.
pub fn command_headers(correlation: Uuid, key: &str, version: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    put("x-correlation-id", correlation.to_string());
    if !key.is_empty() {
        put("idempotency-key", key.to_owned());
    }
    if !version.is_empty() {
        put("if-match", format!("\"{version}\""));
    }
    headers
}

/// What a refused command says on the page: each problem against the field it names
/// (`rename` maps the API's field to the form's), or against `fallback` (the form's
/// first field) when it names none on the form.
pub struct Refused {
    pub status: StatusCode,
    pub errors: Vec<FieldError>,
}

/// A command's refusal as the form shows it; `None` when it is not about the form (not
/// found, forbidden, unavailable), which is the error page.
pub fn refused(
    error: ApiError,
    rename: impl Fn(&str) -> Option<String>,
    fallback: &str,
) -> Result<Refused, ApiError> {
    let field = |f: &linkway_platform::FieldError| FieldError {
        field: rename(&f.field).unwrap_or_else(|| fallback.to_owned()),
        message: labels::problem(f),
    };
    match error {
        ApiError::Validation(errors) => Ok(Refused {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            errors: errors.iter().map(field).collect(),
        }),
        ApiError::Refused(f) => Ok(Refused {
            status: StatusCode::CONFLICT,
            errors: vec![FieldError {
                field: fallback.to_owned(),
                message: f.message.clone(),
            }],
        }),
        ApiError::Conflict(_) => Ok(Refused {
            status: StatusCode::CONFLICT,
            errors: vec![FieldError {
                field: fallback.to_owned(),
                message: "The case changed while you had this page open. Check what changed and try again.".into(),
            }],
        }),
        ApiError::IdempotencyMismatch(_) => Ok(Refused {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            errors: vec![FieldError {
                field: fallback.to_owned(),
                message: "This form was already sent with other answers. Reload the page and try again.".into(),
            }],
        }),
        other => Err(other),
    }
}

/// A fresh idempotency key for a rendered form.
pub fn fresh_key() -> String {
    Uuid::now_v7().to_string()
}

/// The API's principal for a page of `roles`.
pub fn principal(
    who: &SignedIn,
    roles: &[Role],
) -> Result<linkway_platform::auth::Principal, PageError> {
    Ok(who.principal(roles)?)
}
