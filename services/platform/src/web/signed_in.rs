//! Who a page request is from: the session cookie opened and checked against this
//! service's registry (the user still active, the session not signed out), or a redirect
//! to sign in. Every page handler takes [`SignedIn`]; a command it runs gets the
//! [`Principal`] of [`SignedIn::principal`], so the event records the person's user id.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use linkway_events::Role;
use maud::html;
use time::OffsetDateTime;
use uuid::Uuid;

use super::Web;
use super::page::Page;
use super::session::{ABSOLUTE_LIFETIME, SESSION_COOKIE, Session};
use crate::auth::Principal;

/// A person signed in, as this service's registry knows them now.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub organisation_id: String,
    pub organisation_name: String,
    pub roles: Vec<Role>,
    pub display_name: String,
    /// The value every form's hidden `csrf` field must carry.
    pub csrf: String,
}

impl SignedIn {
    /// The principal a page acts as: the first of `roles` (in the order given) the person
    /// holds; a page for roles they hold none of is refused.
    pub fn principal(&self, roles: &[Role]) -> Result<Principal, PageRejection> {
        let role = roles
            .iter()
            .find(|r| self.roles.contains(r))
            .copied()
            .ok_or(PageRejection::Forbidden)?;
        Ok(Principal {
            token_id: self.session_id,
            organisation_id: self.organisation_id.clone(),
            role,
            user_id: Some(self.user_id.to_string()),
        })
    }

    /// Whether they hold any of `roles`.
    pub fn holds(&self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.roles.contains(r))
    }
}

/// Why a page request was not served.
#[derive(Debug)]
pub enum PageRejection {
    /// Not signed in (or the session ended): sign in, then come back to `return_to`.
    SignIn { return_to: String },
    /// Signed in, but this page is not for their roles.
    Forbidden,
    /// A form without its CSRF token, or with another session's.
    BadCsrf,
    /// The registry could not be read: try again shortly.
    Unavailable,
}

impl IntoResponse for PageRejection {
    fn into_response(self) -> Response {
        match self {
            PageRejection::SignIn { return_to } => {
                let to = form_urlencoded::byte_serialize(return_to.as_bytes()).collect::<String>();
                Redirect::to(&format!("/sign-in?return_to={to}")).into_response()
            }
            PageRejection::Forbidden => problem_page(
                StatusCode::FORBIDDEN,
                "You cannot use this page",
                "Your roles do not include this page. Ask your organisation's Linkway administrator if you need it.",
            ),
            PageRejection::BadCsrf => problem_page(
                StatusCode::FORBIDDEN,
                "This form could not be sent",
                "The form had expired or did not come from this page. Nothing was changed. Go back, reload the page and try again.",
            ),
            PageRejection::Unavailable => {
                let mut response = problem_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Sorry, there is a problem with the service",
                    "Try again in a few seconds.",
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
                response
            }
        }
    }
}

/// A page saying why a request was refused.
pub fn problem_page(status: StatusCode, heading: &str, body: &str) -> Response {
    let page = Page {
        title: heading,
        service: "",
        signed_in: None,
        navigation: Vec::new(),
        has_errors: false,
        back: None,
    };
    (
        status,
        page.render(html! {
            h1 { (heading) }
            p { (body) }
        }),
    )
        .into_response()
}

/// The session opened from the cookie, put in the request's extensions by [`layer`].
#[derive(Clone)]
pub(super) struct Opened(pub(super) Option<Session>);

/// The pages' layer: opens the session cookie once per request, and renews the cookie's
/// idle time on an answer to a live session (at most once a minute).
pub async fn layer(mut request: Request, next: Next) -> Response {
    let Some(web) = request.extensions().get::<Arc<Web>>().cloned() else {
        return next.run(request).await;
    };
    let now = OffsetDateTime::now_utc();
    let session: Option<Session> = web
        .sealer
        .open(SESSION_COOKIE, cookie_headers(request.headers()))
        .filter(|s: &Session| s.is_live(now));
    request.extensions_mut().insert(Opened(session.clone()));
    let mut response = next.run(request).await;
    protect(response.headers_mut());
    if let Some(mut session) = session
        && session.needs_renewal(now)
        && response.status().is_success()
        && !response.headers().contains_key(header::SET_COOKIE)
    {
        session.seen_at = now;
        let left = session.signed_in_at + ABSOLUTE_LIFETIME - now;
        if let Ok(value) = HeaderValue::from_str(&web.sealer.seal(SESSION_COOKIE, &session, left)) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// What a page may load and who may frame it: only this service's own scripts, styles
/// and images (nhsuk-frontend's fonts come from assets.nhs.uk), never in a frame, forms
/// posted only here; answers are never sniffed as another type, and a referrer is sent
/// only to this origin. Set on every answer (JSON ones ignore what does not apply).
fn protect(headers: &mut axum::http::HeaderMap) {
    const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
        img-src 'self' data:; font-src 'self' https://assets.nhs.uk; object-src 'none'; \
        base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        headers
            .entry(name)
            .or_insert_with(|| HeaderValue::from_static(value));
    }
}

/// The request's `Cookie` header values.
pub(super) fn cookie_headers(headers: &axum::http::HeaderMap) -> impl Iterator<Item = String> + '_ {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
}

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = PageRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let return_to = parts
            .uri
            .path_and_query()
            .map_or("/".to_owned(), |p| p.as_str().to_owned());
        let sign_in = || PageRejection::SignIn {
            return_to: return_to.clone(),
        };
        let web = parts
            .extensions
            .get::<Arc<Web>>()
            .cloned()
            .ok_or_else(sign_in)?;
        let Some(Opened(Some(session))) = parts.extensions.get::<Opened>().cloned() else {
            return Err(sign_in());
        };
        let client = web
            .db
            .client()
            .await
            .map_err(|_| PageRejection::Unavailable)?;
        // The session's sign-in may not be projected here yet (it was appended a moment
        // ago, perhaps by another service); its sign-out, once projected, always is.
        let row = client
            .query_opt(
                "SELECT u.organisation_id, COALESCE(o.name, u.organisation_id), u.roles,
                        u.display_name
                 FROM registry.users u
                 LEFT JOIN registry.organisations o ON o.organisation_id = u.organisation_id
                 WHERE u.user_id = $1 AND u.active
                   AND NOT EXISTS (SELECT 1 FROM registry.sessions s
                                   WHERE s.session_id = $2 AND s.ended)",
                &[&session.user_id, &session.session_id],
            )
            .await
            .map_err(|_| PageRejection::Unavailable)?
            .ok_or_else(sign_in)?;
        let roles: Vec<String> = row.get(2);
        Ok(SignedIn {
            session_id: session.session_id,
            user_id: session.user_id,
            organisation_id: row.get(0),
            organisation_name: row.get(1),
            roles: roles.iter().filter_map(|r| Role::parse(r)).collect(),
            display_name: row.get(3),
            csrf: session.csrf,
        })
    }
}
