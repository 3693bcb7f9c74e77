//! The administrator's pages, under `/admin` on every service: organisations, users,
//! tokens, routing rules (with a preview of where a referral would go) and this service's
//! dead letters. Only a signed-in person holding the admin role sees them
//! (`who.principal(&[Role::Admin])`, others get the 403 page).
//!
//! Every change is the registry's own admin command ([`crate::registry::admin::Admin`],
//! the one `linkway admin` runs), acting as the signed-in administrator, so the event
//! names their user id; a refusal is the command's own rule, in the pages' words
//! ([`Wording::PAGES`]), shown in the error summary beside what was typed (422). Lists
//! read the registry as folded from the log, what the commands decide on, so a change
//! shows at once; a form that worked answers 303 to its list with `?min_sequence=`.
//! Forms are read with [`PageForm`] (the CSRF check first). A list given `?min_sequence=`
//! waits, by the pages' one rule ([`crate::read_your_writes`]), until this service's
//! registry has applied that change, so what it shows is what this service acts on (a
//! deactivated person is refused here from then on).
//!
//! Every route is in each service's OpenAPI document under the tag `pages`
//! ([`document`]), with what it answers: 200 HTML, 303 to sign in or after a change, 403
//! and 404 pages, 409 for a `min_sequence` beyond the log, 422 the form again.
//!
//! - [`organisations`]: `GET /admin/organisations`, `GET /admin/organisations/{id}`,
//!   `POST /admin/organisations` (register or update).
//! - [`users`]: `GET`/`POST /admin/users`, `GET /admin/users/{id}`,
//!   `POST /admin/users/{id}/roles`, `POST /admin/users/{id}/deactivate`.
//! - [`tokens`]: `GET`/`POST /admin/tokens` (the secret shown once on the answer),
//!   `POST /admin/tokens/{id}/revoke`.
//! - [`rules`]: `GET`/`POST /admin/routing-rules`, `POST /admin/routing-rules/{id}/remove`,
//!   `POST /admin/routing-rules/preview`.
//! - [`dead_letters`]: `GET /admin/dead-letters`.

pub mod dead_letters;
pub mod organisations;
pub mod rules;
pub mod tokens;
pub mod users;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use linkway_events::Role;
use maud::{Markup, html};
use serde::Deserialize;
use uuid::Uuid;

use super::page::{Field, FieldError, error_for, error_summary, success_banner};
use super::signed_in::problem_page;
use super::{NavItem, Page, PageRejection, SignedIn, Web};
use crate::auth::Principal;
use crate::http::request::CorrelationId;
use crate::problem::ApiError;
use crate::registry::admin::input::Invalid;
use crate::registry::admin::{Admin, AdminError, Refusal, Registry, Wording};

/// The service label of every admin page's header and title.
pub const SERVICE: &str = "Administration";

/// The admin pages in a service's OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    home,
    organisations::list,
    organisations::edit,
    organisations::register,
    users::list,
    users::add,
    users::user,
    users::change_roles,
    users::deactivate,
    tokens::list,
    tokens::issue,
    tokens::revoke,
    rules::list,
    rules::add,
    rules::preview,
    rules::remove,
    dead_letters::list,
))]
struct AdminDoc;

/// Adds the admin pages to a service's served document (tag `pages`).
pub fn document(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::OpenApi;
    doc.merge(AdminDoc::openapi());
}

/// What every admin page's GET answers besides the page: not signed in (303 to sign in),
/// not an administrator (403), the registry or the log unavailable (503).
pub(crate) struct PageAnswers;

/// What every admin form answers besides its own outcome: without the session's CSRF
/// token or the admin role (403, nothing changed), the log unavailable (503).
pub(crate) struct FormAnswers;

fn html_response(description: &str) -> utoipa::openapi::ResponseBuilder {
    use utoipa::openapi::schema::{Object, Type};
    use utoipa::openapi::{ContentBuilder, ResponseBuilder};
    ResponseBuilder::new().description(description).content(
        "text/html",
        ContentBuilder::new()
            .schema(Some(Object::with_type(Type::String)))
            .build(),
    )
}

fn unavailable() -> utoipa::openapi::ResponseBuilder {
    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::schema::{Object, Type};
    html_response("The registry or the log is unavailable; try again (HTML)").header(
        "Retry-After",
        HeaderBuilder::new()
            .schema(Some(Object::with_type(Type::Integer)))
            .description(Some("Seconds to wait"))
            .build(),
    )
}

type Responses = BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::response::Response>>;

fn responses(list: Vec<(&str, utoipa::openapi::ResponseBuilder)>) -> Responses {
    list.into_iter()
        .map(|(status, response)| (status.to_owned(), response.build().into()))
        .collect()
}

impl utoipa::IntoResponses for PageAnswers {
    fn responses() -> Responses {
        use utoipa::openapi::ResponseBuilder;
        responses(vec![
            (
                "303",
                ResponseBuilder::new()
                    .description("Not signed in: to /sign-in, coming back here after"),
            ),
            (
                "403",
                html_response("Signed in without the admin role (HTML)"),
            ),
            ("503", unavailable()),
        ])
    }
}

impl utoipa::IntoResponses for FormAnswers {
    fn responses() -> Responses {
        responses(vec![
            (
                "403",
                html_response(
                    "Without the session's CSRF token, or without the admin role: nothing changed (HTML)",
                ),
            ),
            ("503", unavailable()),
        ])
    }
}

/// The routes; the request layer's extensions carry [`Web`].
pub fn routes() -> axum::Router {
    axum::Router::new()
        .route("/admin", get(home))
        .route(
            "/admin/organisations",
            get(organisations::list).post(organisations::register),
        )
        .route("/admin/organisations/{id}", get(organisations::edit))
        .route("/admin/users", get(users::list).post(users::add))
        .route("/admin/users/{id}", get(users::user))
        .route("/admin/users/{id}/roles", post(users::change_roles))
        .route("/admin/users/{id}/deactivate", post(users::deactivate))
        .route("/admin/tokens", get(tokens::list).post(tokens::issue))
        .route("/admin/tokens/{id}/revoke", post(tokens::revoke))
        .route("/admin/routing-rules", get(rules::list).post(rules::add))
        .route("/admin/routing-rules/preview", post(rules::preview))
        .route("/admin/routing-rules/{id}/remove", post(rules::remove))
        .route("/admin/dead-letters", get(dead_letters::list))
}

/// The admin pages' sections, for the header's navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Home,
    Organisations,
    Users,
    Tokens,
    Rules,
    DeadLetters,
}

const SECTIONS: [(Section, &str, &str); 5] = [
    (
        Section::Organisations,
        "Organisations",
        "/admin/organisations",
    ),
    (Section::Users, "Users", "/admin/users"),
    (Section::Tokens, "Tokens", "/admin/tokens"),
    (Section::Rules, "Routing rules", "/admin/routing-rules"),
    (Section::DeadLetters, "Dead letters", "/admin/dead-letters"),
];

/// An admin page: its heading, section, the person, and whether it shows errors.
pub struct AdminPage<'a> {
    pub title: &'a str,
    pub section: Section,
    pub who: &'a SignedIn,
    pub errors: &'a [FieldError],
    pub back: Option<(&'a str, String)>,
}

impl AdminPage<'_> {
    /// The page with `content` after its `<h1>` (and the error summary, if any); 422 when
    /// it shows errors, never cached.
    pub fn render(&self, content: Markup) -> Response {
        let navigation = SECTIONS
            .iter()
            .map(|(section, text, href)| NavItem {
                text,
                href: (*href).to_owned(),
                current: *section == self.section,
            })
            .collect();
        let page = Page {
            title: self.title,
            service: SERVICE,
            signed_in: Some(self.who),
            navigation,
            has_errors: !self.errors.is_empty(),
            back: self.back.clone(),
        };
        let status = if self.errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        no_store(
            status,
            page.render(html! {
                (error_summary(self.errors))
                h1 class="nhsuk-heading-l" { (self.title) }
                (content)
            }),
        )
    }
}

/// A rendered page that is never cached (a token's secret, people's names).
pub fn no_store(status: StatusCode, page: Markup) -> Response {
    let mut response = (status, page).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An administrator's request: who they are, the pages' context, and the principal their
/// commands act as. Anyone else is refused (403 page; not signed in: to sign in).
pub struct AsAdmin {
    pub who: SignedIn,
    pub web: Arc<Web>,
    principal: Principal,
    correlation: Uuid,
}

impl<S: Send + Sync> FromRequestParts<S> for AsAdmin {
    type Rejection = AdminPageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let who = SignedIn::from_request_parts(parts, state).await?;
        let principal = who.principal(&[Role::Admin])?;
        let web = parts
            .extensions
            .get::<Arc<Web>>()
            .cloned()
            .ok_or(AdminPageError::Rejected(PageRejection::Unavailable))?;
        let Ok(CorrelationId(correlation)) = CorrelationId::from_request_parts(parts, state).await;
        Ok(AsAdmin {
            who,
            web,
            principal,
            correlation,
        })
    }
}

impl AsAdmin {
    /// The registry's admin commands, acting as this administrator.
    pub fn commands(&self) -> Admin<'_> {
        Admin::person(&self.web.store, &self.principal, self.correlation)
    }

    /// The registry as the log holds it (what the commands decide on).
    pub async fn registry(&self) -> Result<Registry, AdminPageError> {
        Ok(crate::registry::admin::fold::load(&self.web.store).await?)
    }

    /// Waits until this service's registry has applied the change `saved` names (the
    /// pages' read-your-writes rule); a sequence beyond the log is the 409 page.
    pub async fn reached(&self, saved: &Saved) -> Result<(), AdminPageError> {
        let Some(registry) = &self.web.registry else {
            return Ok(());
        };
        crate::read_your_writes::reach(registry, saved.min_sequence)
            .await
            .map_err(|err| match err {
                ApiError::Conflict(_) => AdminPageError::BeyondLogEnd,
                other => AdminPageError::Unavailable(other.to_string()),
            })
    }

    /// A page of `section` titled `title`, showing `errors`.
    pub fn page<'a>(
        &'a self,
        title: &'a str,
        section: Section,
        errors: &'a [FieldError],
    ) -> AdminPage<'a> {
        AdminPage {
            title,
            section,
            who: &self.who,
            errors,
            back: None,
        }
    }

    /// What a one-button action (remove, revoke, deactivate) answers: 303 to `list` once
    /// done; the 404 page for a record that is not there; else `again` with the refusal.
    pub async fn after_action(
        &self,
        result: Result<u64, AdminError>,
        list: &str,
        exists: impl Fn(&Registry) -> bool,
        again: impl FnOnce(&Registry, FieldError) -> Response,
    ) -> Result<Response, AdminPageError> {
        match result {
            Ok(sequence) => Ok(saved(list, sequence)),
            Err(err) => {
                let error = refused(err, "maincontent")?;
                let registry = self.registry().await?;
                if !exists(&registry) {
                    return Err(AdminPageError::NotFound);
                }
                Ok(again(&registry, error))
            }
        }
    }
}

/// A form field of a page showing `errors`.
pub fn field<'a>(
    errors: &'a [FieldError],
    id: &'a str,
    label: &'a str,
    hint: Option<&'a str>,
) -> Field<'a> {
    Field {
        id,
        label,
        hint,
        error: error_for(errors, id),
    }
}

/// Why an admin page was not shown.
#[derive(Debug)]
pub enum AdminPageError {
    /// Not signed in, not an administrator, a form without its CSRF token.
    Rejected(PageRejection),
    /// No such record (a bad id in the path too).
    NotFound,
    /// `?min_sequence=` beyond the end of the log: no change was recorded as that.
    BeyondLogEnd,
    /// The log could not be read or written.
    Unavailable(String),
}

impl From<PageRejection> for AdminPageError {
    fn from(r: PageRejection) -> AdminPageError {
        AdminPageError::Rejected(r)
    }
}

impl From<anyhow::Error> for AdminPageError {
    fn from(e: anyhow::Error) -> AdminPageError {
        AdminPageError::Unavailable(format!("{e:#}"))
    }
}

impl IntoResponse for AdminPageError {
    fn into_response(self) -> Response {
        match self {
            AdminPageError::Rejected(r) => r.into_response(),
            AdminPageError::NotFound => problem_page(
                StatusCode::NOT_FOUND,
                "Page not found",
                "If you typed the web address, check it is correct. If you pasted the web address, check you copied the entire address.",
            ),
            AdminPageError::BeyondLogEnd => problem_page(
                StatusCode::CONFLICT,
                "This page is not available yet",
                "The link asks for a change Linkway has not recorded. Go back to the administration pages.",
            ),
            AdminPageError::Unavailable(why) => {
                tracing::warn!(error = %why, "admin page: the registry could not be read or written");
                PageRejection::Unavailable.into_response()
            }
        }
    }
}

/// What a command's failure is on a page: a refusal beside the field it is about, or the
/// page that says try again.
pub fn refused(err: AdminError, field: &str) -> Result<FieldError, AdminPageError> {
    match err {
        AdminError::Refused(refusal) => Ok(refusal_at(&refusal, field)),
        AdminError::KeptChanging => Ok(FieldError {
            field: field.to_owned(),
            message: sentence(&err.to_string()),
        }),
        AdminError::Log(e) => Err(e.into()),
    }
}

/// A rule's refusal beside field `field`, in the pages' words.
pub fn refusal_at(refusal: &Refusal, field: &str) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: sentence(&refusal.describe(&Wording::PAGES)),
    }
}

/// A field's refusal by the input rules, beside field `id`.
pub fn invalid(err: Invalid, id: &str) -> FieldError {
    FieldError {
        field: id.to_owned(),
        message: sentence(&err.message),
    }
}

/// The value, or its refusal added to `errors` beside field `id`.
pub fn checked<T>(errors: &mut Vec<FieldError>, id: &str, value: Result<T, Invalid>) -> Option<T> {
    value.map_err(|e| errors.push(invalid(e, id))).ok()
}

/// A message as a sentence: capital first letter.
pub fn sentence(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_uppercase().chain(chars).collect::<String>()
    })
}

/// 303 to `list` saying which event the change was.
pub fn saved(list: &str, sequence: u64) -> Response {
    Redirect::to(&format!("{list}?min_sequence={sequence}")).into_response()
}

/// A path id that must be a UUID: anything else is the same 404 as a missing record.
pub fn path_id(raw: &str) -> Result<Uuid, AdminPageError> {
    Uuid::parse_str(raw).map_err(|_| AdminPageError::NotFound)
}

/// A list's query: the event a change just made, to say it was saved.
#[derive(Debug, Default, Deserialize)]
pub struct Saved {
    #[serde(default)]
    pub min_sequence: Option<u64>,
}

impl Saved {
    /// The success banner, when the list follows a change.
    pub fn banner(&self, what: &str) -> Markup {
        html! {
            @if let Some(sequence) = self.min_sequence {
                (success_banner(what, html! { p { "Recorded as event " (sequence) " of the log." } }))
            }
        }
    }
}

pub use super::page::checkboxes;

/// `(value, label)` pairs as a select takes them.
pub fn options(choices: &[(String, String)]) -> Vec<(&str, &str)> {
    choices
        .iter()
        .map(|(v, l)| (v.as_str(), l.as_str()))
        .collect()
}

/// Roles an administrator may give, as `(value, label)`.
pub const ROLE_CHOICES: [(&str, &str); 5] = [
    ("referrer", "Referrer"),
    ("link_worker", "Link worker"),
    ("service_manager", "Service manager"),
    ("commissioner", "Commissioner"),
    ("admin", "Administrator"),
];

/// A small form with one button (revoke, remove, deactivate), its purpose said in full to
/// assistive technology by `hidden`.
pub fn action_button(action: &str, csrf: &str, text: &str, hidden: &str) -> Markup {
    html! {
        form method="post" action=(action) novalidate class="nhsuk-u-margin-bottom-0" {
            input type="hidden" name="csrf" value=(csrf);
            button class="nhsuk-button nhsuk-button--secondary nhsuk-u-margin-bottom-0" data-module="nhsuk-button" type="submit" {
                (text) span class="nhsuk-u-visually-hidden" { " " (hidden) }
            }
        }
    }
}

/// The administration home: a link to each section.
#[utoipa::path(get, path = "/admin", operation_id = "getAdminPage", tag = "pages",
    responses(
        (status = 200, description = "Links to each section (HTML)", content_type = "text/html", body = String),
        PageAnswers,
    ))]
async fn home(admin: AsAdmin) -> Result<Response, AdminPageError> {
    Ok(admin.page("Administration", Section::Home, &[]).render(html! {
        p class="nhsuk-body-l" {
            "Organisations, the people who sign in, API tokens for systems, and the routing rules that decide which link-worker service takes a referral. Every change is recorded in the log as yours."
        }
        ul class="nhsuk-list" {
            @for (_, text, href) in SECTIONS {
                li { a href=(href) { (text) } }
            }
            // Intake's own: the referrals no rule matched, each with its route-by-hand form.
            @if admin.web.service == "intake" {
                li { a href="/admin/unroutable/view" { "Unroutable referrals" } }
            }
        }
        p { "These pages are the same on every Linkway service; dead letters are this service's (" (admin.web.service) ")." }
    }))
}
