//! The routes of signing in and out, the same on every service, and the decision that
//! records a session beginning and ending (`user.signed_in`, `user.signed_out`) through
//! the platform's one command path.

use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::Query;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use linkway_events::registry::{RegistryEvent, UserSignedIn, UserSignedOut};
use linkway_events::{Event, Role};
use maud::html;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::page::Page;
use super::session::{
    ABSOLUTE_LIFETIME, LOGIN_COOKIE, LOGIN_LIFETIME, Login, SESSION_COOKIE, Session,
};
use super::settings::DEMO_ISSUER;
use super::signed_in::{PageRejection, cookie_headers, problem_page};
use super::{PageForm, SignedIn, Web};
use crate::auth::Principal;
use crate::command::{self, Call, Decision, Recorded};
use crate::http::request::CorrelationId;
use crate::problem::ApiError;

/// The sign-in routes in a service's OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(sign_in_page, login, callback, demo_sign_in, sign_out, signed_out))]
struct SignInDoc;

/// Adds the sign-in routes to a service's served document.
pub fn document(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::OpenApi;
    doc.merge(SignInDoc::openapi());
}

/// The routes; the request layer's extensions carry [`Web`].
pub fn routes() -> axum::Router {
    axum::Router::new()
        .route("/sign-in", get(sign_in_page))
        .route("/auth/login", get(login))
        .route("/auth/callback", get(callback))
        .route("/auth/demo", post(demo_sign_in))
        .route("/sign-out", post(sign_out))
        .route("/signed-out", get(signed_out))
}

#[derive(Debug, Deserialize)]
struct ReturnTo {
    #[serde(default)]
    return_to: Option<String>,
}

/// A path on this service to go back to; anything else (another site, `//host`) is `/`.
fn local_path(raw: Option<&str>) -> String {
    match raw {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.to_owned(),
        _ => "/".to_owned(),
    }
}

fn page<'a>(title: &'a str) -> Page<'a> {
    Page {
        title,
        service: "",
        signed_in: None,
        navigation: Vec::new(),
        has_errors: false,
        back: None,
    }
}

/// The sign-in page: the identity providers (and, in the demo, its people).
#[utoipa::path(get, path = "/sign-in", operation_id = "getSignIn", tag = "pages",
    params(("return_to" = Option<String>, Query, description = "A path on this service to go back to after signing in")),
    responses((status = 200, description = "The sign-in page (HTML)", content_type = "text/html", body = String)))]
async fn sign_in_page(Extension(web): Extension<Arc<Web>>, Query(q): Query<ReturnTo>) -> Response {
    let return_to = local_path(q.return_to.as_deref());
    let encoded: String = form_urlencoded::byte_serialize(return_to.as_bytes()).collect();
    page("Sign in")
        .render(html! {
            h1 { "Sign in" }
            @if web.providers.is_empty() && web.settings.demo_users.is_empty() {
                p { "No identity provider is set up for Linkway here. Ask your administrator." }
            }
            @for (i, p) in web.providers.iter().enumerate() {
                p {
                    a class="nhsuk-button" href=(format!("/auth/login?provider={i}&return_to={encoded}")) {
                        "Sign in with " (p.provider.name)
                    }
                }
            }
            @if !web.settings.demo_users.is_empty() {
                div class="nhsuk-warning-callout" {
                    h2 class="nhsuk-warning-callout__label" { "Demo only" }
                    p { "This is Linkway's demo: sign in as one of its made-up users in one click. Outside the demo, people sign in at their organisation's identity provider." }
                }
                @for user in &web.settings.demo_users {
                    form method="post" action="/auth/demo" novalidate {
                        input type="hidden" name="subject" value=(user.subject);
                        input type="hidden" name="return_to" value=(return_to);
                        button class="nhsuk-button nhsuk-button--secondary" type="submit" { "Sign in as " (user.label) }
                    }
                }
            }
        })
        .into_response()
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    provider: usize,
    #[serde(default)]
    return_to: Option<String>,
}

fn redirect_uri(web: &Web) -> String {
    format!("{}/auth/callback", web.public_url())
}

/// Starts a sign-in at a provider: a redirect to its authorization endpoint (code flow, PKCE).
#[utoipa::path(get, path = "/auth/login", operation_id = "startSignIn", tag = "pages",
    params(
        ("provider" = usize, Query, description = "The provider's place on the sign-in page, from 0"),
        ("return_to" = Option<String>, Query, description = "A path on this service to go back to"),
    ),
    responses(
        (status = 303, description = "To the identity provider"),
        (status = 404, description = "No such provider (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "The provider cannot be reached; try again (HTML)", content_type = "text/html", body = String),
    ))]
async fn login(Extension(web): Extension<Arc<Web>>, Query(q): Query<LoginQuery>) -> Response {
    let Some(provider) = web.providers.get(q.provider) else {
        return problem_page(
            StatusCode::NOT_FOUND,
            "Page not found",
            "There is no such way to sign in.",
        );
    };
    let started = match provider.start(&redirect_uri(&web)).await {
        Ok(s) => s,
        Err(err) => {
            tracing::warn!(error = %err, provider = q.provider, "sign-in could not start");
            return PageRejection::Unavailable.into_response();
        }
    };
    let login = Login {
        provider: q.provider,
        state: started.state,
        nonce: started.nonce,
        pkce_verifier: started.pkce_verifier,
        return_to: local_path(q.return_to.as_deref()),
        started_at: OffsetDateTime::now_utc(),
    };
    let cookie = web.sealer.seal(LOGIN_COOKIE, &login, LOGIN_LIFETIME);
    with_cookies(Redirect::to(&started.url).into_response(), &[cookie])
}

#[derive(Debug, Deserialize)]
struct CallbackQuery {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
}

/// Where the provider sends the browser back: the code exchanged, the ID token checked, the
/// session begun.
#[utoipa::path(get, path = "/auth/callback", operation_id = "finishSignIn", tag = "pages",
    params(
        ("code" = Option<String>, Query, description = "The authorization code"),
        ("state" = Option<String>, Query, description = "The state this service sent"),
    ),
    responses(
        (status = 303, description = "Signed in: to the page asked for"),
        (status = 403, description = "Not signed in, and why (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "The registry or the log is unavailable; try again (HTML)", content_type = "text/html", body = String),
    ))]
async fn callback(
    Extension(web): Extension<Arc<Web>>,
    correlation: CorrelationId,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let login: Option<Login> = web.sealer.open(LOGIN_COOKIE, cookie_headers(&headers));
    let fresh = |l: &Login| OffsetDateTime::now_utc() < l.started_at + LOGIN_LIFETIME;
    let (Some(login), Some(code), Some(state)) = (login.filter(fresh), q.code, q.state) else {
        return not_signed_in("The sign-in did not finish or took too long. Try again.");
    };
    if !super::session::same_token(&login.state, &state) {
        return not_signed_in("The sign-in did not match the one this browser started. Try again.");
    }
    let Some(provider) = web.providers.get(login.provider) else {
        return not_signed_in("That way to sign in is no longer set up.");
    };
    let identity = match provider
        .finish(
            &redirect_uri(&web),
            &code,
            &login.nonce,
            &login.pkce_verifier,
        )
        .await
    {
        Ok(identity) => identity,
        Err(err) => {
            tracing::warn!(error = %err, "sign-in refused");
            return not_signed_in(
                "Your identity provider's answer could not be checked. Try again.",
            );
        }
    };
    let user = match find_user(&web, &provider.provider.issuer, &identity).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            return not_signed_in(
                "You signed in, but you are not registered to use Linkway. Ask your organisation's Linkway administrator to add you.",
            );
        }
        Err(rejection) => return rejection.into_response(),
    };
    begin_session(&web, correlation, user, &login.return_to).await
}

/// A registered, active user: id, organisation and first role.
struct Registered {
    user_id: Uuid,
    organisation_id: String,
    role: Role,
}

async fn find_user(
    web: &Web,
    issuer: &str,
    identity: &super::oidc::Identity,
) -> Result<Option<Registered>, PageRejection> {
    let same_issuer = issuer.trim_end_matches('/') == identity.issuer.trim_end_matches('/');
    if !same_issuer {
        return Ok(None);
    }
    let client = web
        .db
        .client()
        .await
        .map_err(|_| PageRejection::Unavailable)?;
    let row = client
        .query_opt(
            "SELECT user_id, organisation_id, roles FROM registry.users
             WHERE rtrim(issuer, '/') = $1 AND subject = $2 AND active",
            &[&issuer.trim_end_matches('/'), &identity.subject],
        )
        .await
        .map_err(|_| PageRejection::Unavailable)?;
    Ok(row.and_then(|r| registered(r.get(0), r.get(1), r.get(2))))
}

fn registered(user_id: Uuid, organisation_id: String, roles: Vec<String>) -> Option<Registered> {
    let role = roles.iter().find_map(|r| Role::parse(r))?;
    Some(Registered {
        user_id,
        organisation_id,
        role,
    })
}

/// Records the session's start, then sets its cookie and goes to `return_to`.
async fn begin_session(
    web: &Web,
    correlation: CorrelationId,
    user: Registered,
    return_to: &str,
) -> Response {
    let now = OffsetDateTime::now_utc();
    let session = Session::begin(user.user_id, now);
    let principal = Principal {
        token_id: session.session_id,
        organisation_id: user.organisation_id,
        role: user.role,
        user_id: Some(user.user_id.to_string()),
    };
    if let Err(err) = record(web, &principal, correlation, session.session_id, true).await {
        return refusal(err);
    }
    let cookie = web.sealer.seal(SESSION_COOKIE, &session, ABSOLUTE_LIFETIME);
    let remove_login = web.sealer.remove(LOGIN_COOKIE);
    with_cookies(
        Redirect::to(return_to).into_response(),
        &[cookie, remove_login],
    )
}

#[derive(Debug, Deserialize)]
struct DemoForm {
    subject: String,
    #[serde(default)]
    return_to: Option<String>,
}

/// Demo mode only: sign in as a demo user without an identity provider.
/// Demo only: sign in as one of the demo's people.
#[utoipa::path(post, path = "/auth/demo", operation_id = "signInAsDemoUser", tag = "pages",
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "`subject` of a demo person, `return_to`"),
    responses(
        (status = 303, description = "Signed in"),
        (status = 403, description = "Not signed in, and why (HTML)", content_type = "text/html", body = String),
        (status = 404, description = "Not a demo person, or not the demo (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "The registry or the log is unavailable; try again (HTML)", content_type = "text/html", body = String),
    ))]
async fn demo_sign_in(
    Extension(web): Extension<Arc<Web>>,
    correlation: CorrelationId,
    axum::Form(form): axum::Form<DemoForm>,
) -> Response {
    if !web
        .settings
        .demo_users
        .iter()
        .any(|u| u.subject == form.subject)
    {
        return problem_page(
            StatusCode::NOT_FOUND,
            "Page not found",
            "Demo sign-in is only for the demo's users.",
        );
    }
    let identity = super::oidc::Identity {
        issuer: DEMO_ISSUER.to_owned(),
        subject: form.subject.clone(),
    };
    let user = match find_user(&web, DEMO_ISSUER, &identity).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            return not_signed_in("That demo user is not registered yet: try again in a moment.");
        }
        Err(rejection) => return rejection.into_response(),
    };
    begin_session(
        &web,
        correlation,
        user,
        &local_path(form.return_to.as_deref()),
    )
    .await
}

/// Ends the session on every service.
#[utoipa::path(post, path = "/sign-out", operation_id = "signOut", tag = "pages",
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "`csrf`: the session's token"),
    responses(
        (status = 303, description = "Signed out: to /signed-out"),
        (status = 403, description = "The form's CSRF token is missing or wrong: nothing changed (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "The log is unavailable; try again (HTML)", content_type = "text/html", body = String),
    ))]
async fn sign_out(
    Extension(web): Extension<Arc<Web>>,
    correlation: CorrelationId,
    who: SignedIn,
    _form: PageForm,
) -> Response {
    let Ok(principal) = who.principal(&Role::ALL) else {
        return PageRejection::Forbidden.into_response();
    };
    match record(&web, &principal, correlation, who.session_id, false).await {
        Ok(sequence) => {
            // This service refuses the cookie from the moment the answer is sent.
            if let Some(registry) = &web.registry {
                registry.wait_for(sequence, Duration::from_secs(5)).await;
            }
            let remove = web.sealer.remove(SESSION_COOKIE);
            with_cookies(Redirect::to("/signed-out").into_response(), &[remove])
        }
        Err(err) => refusal(err),
    }
}

/// Says the session ended.
#[utoipa::path(get, path = "/signed-out", operation_id = "getSignedOut", tag = "pages",
    responses((status = 200, description = "Signed out (HTML)", content_type = "text/html", body = String)))]
async fn signed_out() -> Response {
    page("You have signed out")
        .render(html! {
            h1 { "You have signed out" }
            p { a href="/sign-in" { "Sign in again" } }
        })
        .into_response()
}

fn not_signed_in(why: &str) -> Response {
    problem_page(StatusCode::FORBIDDEN, "You could not be signed in", why)
}

fn refusal(err: ApiError) -> Response {
    match err {
        ApiError::Unavailable(_) | ApiError::Internal(_) => {
            PageRejection::Unavailable.into_response()
        }
        _ => not_signed_in(
            "Your account cannot sign in. Ask your organisation's Linkway administrator.",
        ),
    }
}

fn with_cookies(mut response: Response, cookies: &[String]) -> Response {
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

/// A session beginning or ending for one user, decided on the user's events.
struct SessionChange {
    user_id: Uuid,
    session_id: Uuid,
    begins: bool,
}

/// What the user's events say: registered, and still active.
#[derive(Default)]
struct UserState {
    registered: bool,
    active: bool,
    events: u64,
}

impl Decision for SessionChange {
    type State = UserState;
    /// The sequence of the event appended.
    type Answer = u64;

    fn fold(&self, history: &[Recorded]) -> UserState {
        let mut state = UserState::default();
        for r in history {
            state.events += 1;
            match &r.event {
                Event::Registry(RegistryEvent::UserRegistered(_)) => {
                    state.registered = true;
                    state.active = true;
                }
                Event::Registry(RegistryEvent::UserDeactivated(_)) => state.active = false,
                _ => {}
            }
        }
        state
    }

    fn authorise(&self, principal: &Principal, state: &UserState) -> Result<(), ApiError> {
        let own = principal.user_id.as_deref() == Some(self.user_id.to_string().as_str());
        if state.registered && own {
            Ok(())
        } else {
            Err(ApiError::NotFound)
        }
    }

    fn version(&self, state: &UserState) -> u64 {
        state.events
    }

    fn decide(&self, state: &UserState) -> Result<Vec<Event>, ApiError> {
        let (user_id, session_id) = (self.user_id, self.session_id);
        if !self.begins {
            return Ok(vec![Event::Registry(RegistryEvent::UserSignedOut(
                UserSignedOut {
                    user_id,
                    session_id,
                },
            ))]);
        }
        if !state.active {
            return Err(ApiError::Forbidden);
        }
        Ok(vec![Event::Registry(RegistryEvent::UserSignedIn(
            UserSignedIn {
                user_id,
                session_id,
            },
        ))])
    }

    fn answer(&self, _: &UserState, events: &[Recorded]) -> u64 {
        events.last().map_or(0, |e| e.sequence)
    }
}

/// Records a session beginning or ending for the principal's user; the event's sequence.
async fn record(
    web: &Web,
    principal: &Principal,
    correlation: CorrelationId,
    session_id: Uuid,
    begins: bool,
) -> Result<u64, ApiError> {
    let user_id = principal.user_id.clone().ok_or(ApiError::Forbidden)?;
    let decision = SessionChange {
        user_id: Uuid::parse_str(&user_id).map_err(|_| ApiError::Forbidden)?,
        session_id,
        begins,
    };
    let call = Call {
        operation: if begins { "signIn" } else { "signOut" },
        principal,
        aggregate_id: user_id,
        key: None,
        body: &[],
        if_match: None,
        correlation_id: correlation.0,
        success: StatusCode::OK,
    };
    Ok(command::execute(&web.store, &call, &decision).await?.answer)
}
