//! The token form, for referrers whose organisation has no Linkway sign-in (people with
//! an account use the signed-in pages of [`crate::pages`], which share [`submit`] with
//! it; the page says so): server-rendered HTML that works
//! without JavaScript, labels on every control, radio groups in fieldsets, and validation
//! messages next to their fields (plus a summary linking to them, GOV.UK style).
//!
//! **Authentication.** A browser cannot add an `Authorization` header to a plain form post,
//! so the form has a password field for the organisation's token. The token travels in the
//! POST body (never in a URL), is never echoed back into the page (after a validation error
//! the user types it again), and no cookie is set, so there is no session to hijack and no
//! cross-site request forgery: a forged post would need the token. A deployment that puts
//! the form behind a proxy that adds `Authorization: Bearer` works too: a header, when
//! present, is used and the field is not shown. `GET /form` without a token shows the empty
//! form only; it reveals nothing.
//!
//! A hidden idempotency key, fresh on every rendered form, makes a double click or a
//! refresh-and-resend land on the same referral.
//!
//! Here: the two handlers (`getReferralForm`, `submitReferralForm`). [`fields`] reads a
//! post into the referral request; [`render`] writes the HTML.

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use linkway_platform::auth::{self, Principal};
use linkway_platform::idempotency::IdempotencyKey;
use linkway_platform::{ApiError, FieldError};

use crate::AppState;
use crate::api::{CommandResponse, REFERRAL_ROLES, today};
use crate::command;
use crate::validation;

pub mod fields;
pub mod render;

pub use fields::{COMMON_NEEDS, FIELDS, Posted, control_for, read, to_request};
pub use render::esc;
use render::{View, confirmation, page, render_form};

const OPERATION: &str = "submitForm";

fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, Html(body)).into_response();
    // Personal data may be on the page: never cache it.
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    r
}

/// The bearer token from the header, if one was sent.
fn header_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// The empty form.
#[utoipa::path(
    get,
    path = "/form",
    operation_id = "getReferralForm",
    tag = "form",
    responses(
        (status = 200, description = "The referral form (HTML). Without a bearer header it asks for the organisation's token.", content_type = "text/html", body = String),
        (status = 401, description = "A bearer header was sent but is not a live token (HTML)", content_type = "text/html", body = String),
    ),
    security((), ("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn get_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let ask_token = match header_token(&headers) {
        None => true,
        Some(t) => match auth::authenticate(&state.db, &t).await {
            Ok(Some(_)) => false,
            Ok(None) => {
                return html(
                    StatusCode::UNAUTHORIZED,
                    page(
                        "Not signed in",
                        "<h1>Your token is not valid</h1><p>Ask your Linkway administrator for a new one.</p>",
                    ),
                );
            }
            Err(_) => {
                return html(
                    StatusCode::SERVICE_UNAVAILABLE,
                    page(
                        "Unavailable",
                        "<h1>Sorry, the service is unavailable</h1><p>Try again shortly.</p>",
                    ),
                );
            }
        },
    };
    let posted = Posted::empty();
    html(
        StatusCode::OK,
        render_form(&View {
            posted: &posted,
            errors: &[],
            page_error: None,
            ask_token,
        }),
    )
}

/// Sends the form: the same validation and command as `submitReferral`.
#[utoipa::path(
    post,
    path = "/form",
    operation_id = "submitReferralForm",
    tag = "form",
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "The form's fields (see GET /form); `access_token` unless an Authorization header is sent; `idempotency_key` from the rendered form."),
    responses(
        (status = 201, description = "Sent: a confirmation page with the referral id and where it went (HTML)", content_type = "text/html", body = String),
        (status = 401, description = "No or bad token: the form again with the problem (HTML)", content_type = "text/html", body = String),
        (status = 403, description = "This role may not send referrals, or names another organisation (HTML)", content_type = "text/html", body = String),
        (status = 409, description = "Concurrent change; send again (HTML)", content_type = "text/html", body = String),
        (status = 415, description = "Not a form post (HTML)", content_type = "text/html", body = String),
        (status = 422, description = "The form again, each message next to its field and in a summary (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "A dependency is down; send again (HTML)", content_type = "text/html", body = String),
    ),
    security((), ("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn post_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let Ok(Form(pairs)) = form else {
        return html(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            page("Not a form", "<h1>Send this page's form</h1>"),
        );
    };
    let posted = Posted(pairs);
    let header_secret = header_token(&headers);
    let ask_token = header_secret.is_none();
    let again = |status: StatusCode, errors: &[FieldError], page_error: Option<String>| {
        html(
            status,
            render_form(&View {
                posted: &posted,
                errors,
                page_error,
                ask_token,
            }),
        )
    };
    let secret = header_secret.or_else(|| posted.get("access_token"));
    let principal = match secret {
        None => None,
        Some(s) => match auth::authenticate(&state.db, s.trim()).await {
            Ok(p) => p,
            Err(e) => {
                return again(
                    e.status(),
                    &[],
                    Some("The service is unavailable; send the form again shortly.".into()),
                );
            }
        },
    };
    let Some(principal) = principal else {
        let errors = [FieldError::new(
            "access_token",
            "token",
            "Enter your organisation's valid Linkway token",
        )];
        return html(
            StatusCode::UNAUTHORIZED,
            render_form(&View {
                posted: &posted,
                errors: &errors,
                page_error: None,
                ask_token: true,
            }),
        );
    };
    if principal.require(REFERRAL_ROLES).is_err() {
        return again(
            StatusCode::FORBIDDEN,
            &[],
            Some("Your organisation's token may not send referrals.".into()),
        );
    }
    match submit(&state, &principal, &headers, &posted, OPERATION).await {
        Ok((status, answer)) => html(status, confirmation(&answer)),
        Err(ApiError::Validation(errors)) => again(StatusCode::UNPROCESSABLE_ENTITY, &errors, None),
        Err(e @ ApiError::Forbidden) => again(
            e.status(),
            &[],
            Some("You can only refer as your own organisation. Leave the referring organisation empty.".into()),
        ),
        Err(e) => {
            let message = match &e {
                ApiError::IdempotencyMismatch(_) => "This form was already sent with other details. Start a new form.".to_owned(),
                ApiError::Conflict(_) | ApiError::Unavailable(_) => "The referral could not be saved just now. Send the form again.".to_owned(),
                _ => "Something went wrong. Send the form again.".to_owned(),
            };
            if let ApiError::Internal(err) = &e {
                tracing::error!(error = format!("{err:#}"), "internal error");
            }
            again(e.status(), &[], Some(message))
        }
    }
}

/// Reads a posted referral form, validates it and submits it: the one path of this
/// token form and of the signed-in page (`crate::pages`), the same validation and
/// [`command::submit`] as `submitReferral`. `operation` names the command (and scopes the
/// form's idempotency key, so the two forms never share a referral).
pub(crate) async fn submit(
    state: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
    posted: &Posted,
    operation: &'static str,
) -> Result<(StatusCode, CommandResponse), ApiError> {
    let request = fields::read(posted).map_err(ApiError::Validation)?;
    // The request, not the raw post (which holds the token), is what the key stands for.
    let fingerprint = serde_json::to_vec(&request).expect("requests serialise");
    let scope = if operation == OPERATION {
        "form"
    } else {
        operation
    };
    let key = posted.get("idempotency_key").map(|k| IdempotencyKey {
        organisation_id: principal.organisation_id.clone(),
        key: format!("{scope}:{}", k.trim()),
    });
    let valid = validation::validate(&request, today()).map_err(ApiError::Validation)?;
    let referrer = command::referring_organisation(
        state,
        principal,
        valid.referrer_organisation_id.as_deref(),
    )
    .await?;
    let done = command::submit(
        state,
        principal,
        referrer,
        key,
        operation,
        valid,
        command::Arrival::Web,
        headers,
        &fingerprint,
    )
    .await?;
    Ok((done.status, done.answer))
}

#[cfg(test)]
mod tests;
