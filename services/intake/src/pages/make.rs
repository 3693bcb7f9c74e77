//! `GET`/`POST /referrals/new`: make a referral, signed in. The post goes through the same
//! reading, validation and command as the token form and `submitReferral`
//! ([`crate::form::submit`]); a refusal shows the form again with what was typed, each
//! problem beside its field and in the error summary (422, nothing appended); a referral
//! made is a 303 to its page, which waits for the read model to include it.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use linkway_platform::ApiError;
use linkway_platform::web::{FieldError, Page, PageForm, SignedIn};
use uuid::Uuid;

use super::make_form::{self, FORM_TOP, View, field_errors};
use super::{PageError, SERVICE, Section, html, navigation, principal};
use crate::AppState;
use crate::form::{self, Posted};

/// The command's name (and the scope of the page's idempotency keys).
pub const OPERATION: &str = "submitReferralPage";

/// The empty form.
#[utoipa::path(get, path = "/referrals/new", operation_id = "getMakeReferralPage", tag = "pages",
    responses(
        (status = 200, description = "The referral form (HTML)", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to /sign-in, coming back here after"),
        (status = 403, description = "Signed in without the referrer role (HTML)", content_type = "text/html", body = String),
    ))]
pub async fn new_referral(who: SignedIn) -> Result<Response, PageError> {
    principal(&who)?;
    let posted = Posted::new(Vec::new());
    Ok(page(&who, &posted, &[], StatusCode::OK))
}

/// Sends the form.
#[utoipa::path(post, path = "/referrals/new", operation_id = "submitReferralPage", tag = "pages",
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "The form's fields (see GET /referrals/new), `csrf` and `idempotency_key` from the rendered form"),
    responses(
        (status = 303, description = "Sent: to the referral's page with `?min_sequence=` (or, not signed in, to /sign-in)"),
        (status = 403, description = "Without the session's CSRF token, or without the referrer role: nothing changed (HTML)", content_type = "text/html", body = String),
        (status = 409, description = "Changed concurrently: the form again, to send again (HTML)", content_type = "text/html", body = String),
        (status = 422, description = "The form again with what was typed, each problem beside its field and in the error summary; nothing recorded (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "The read model or the log is unavailable; try again (HTML)", content_type = "text/html", body = String),
    ))]
pub async fn send_referral(
    who: SignedIn,
    State(state): State<AppState>,
    headers: HeaderMap,
    posted: PageForm,
) -> Result<Response, PageError> {
    let principal = principal(&who)?;
    let posted = Posted::new(
        posted
            .fields()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    );
    match form::submit(&state, &principal, &headers, &posted, OPERATION).await {
        Ok((_, answer)) => Ok(Redirect::to(&format!(
            "/referrals/{}/view?min_sequence={}&done=sent",
            answer.referral_id, answer.sequence
        ))
        .into_response()),
        Err(ApiError::Validation(refusals)) => Ok(page(
            &who,
            &posted,
            &field_errors(&refusals),
            StatusCode::UNPROCESSABLE_ENTITY,
        )),
        Err(e @ (ApiError::Forbidden | ApiError::Unavailable(_) | ApiError::Internal(_))) => {
            Err(e.into())
        }
        Err(e) => {
            // Nothing the person typed is wrong: say what to do, keeping the form.
            let message = match &e {
                ApiError::IdempotencyMismatch(_) => {
                    "This form was already sent with other details. Start a new referral."
                }
                _ => "The referral could not be saved just now. Send the form again.",
            };
            let errors = [FieldError {
                field: FORM_TOP.into(),
                message: message.into(),
            }];
            Ok(page(&who, &posted, &errors, e.status()))
        }
    }
}

fn page(who: &SignedIn, posted: &Posted, errors: &[FieldError], status: StatusCode) -> Response {
    // The same key again after a refusal, so a resend is the same referral.
    let key = posted
        .get("idempotency_key")
        .filter(|k| crate::form::fields::is_key(k))
        .unwrap_or_else(|| Uuid::new_v4().to_string());
    let page = Page {
        title: "Make a referral",
        service: SERVICE,
        signed_in: Some(who),
        navigation: navigation(Section::Make),
        has_errors: !errors.is_empty(),
        back: Some(("Back", "/".into())),
    };
    html(
        status,
        page.render(make_form::render(&View {
            posted,
            errors,
            csrf: &who.csrf,
            idempotency_key: &key,
        })),
    )
}
