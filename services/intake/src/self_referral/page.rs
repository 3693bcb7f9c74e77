//! `GET`/`POST /self-referral`: the public page where a person refers themselves. No
//! sign-in, no cookie, works without JavaScript: the NHS design system's components as the
//! platform draws them ([`linkway_platform::web::page`]), labels on every control, the
//! purpose of each personal field stated (`autocomplete`), and a refusal showing the form
//! again with what was typed, each problem beside its field and in the error summary.
//! The post goes through [`super::submit`], the API's own path. The form carries a fresh
//! form token and idempotency key each time it is drawn, and the honeypot `website` in a
//! `hidden` block (not shown, not in the accessibility tree: a person never meets it).

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use linkway_platform::ApiError;
use linkway_platform::FieldError as Refusal;
use linkway_platform::web::admin::field;
use linkway_platform::web::page::{FieldError, Page, error_for, error_summary, radios};
use maud::{Markup, html};
use uuid::Uuid;

use linkway_platform::rate_limit::retry_after;

use super::SelfReferralRequest;
use crate::AppState;
use crate::pages::html;

/// The page's command name (and the scope of its idempotency keys).
pub const OPERATION: &str = "submitSelfReferralPage";

/// The service's name in the header and title.
const SERVICE: &str = "Refer yourself";

/// Every field the page posts.
const FIELDS: [&str; 15] = [
    "idempotency_key",
    "form_token",
    "website",
    "given_name",
    "family_name",
    "birth_date",
    "nhs_number",
    "address_line1",
    "address_line2",
    "postcode",
    "phone",
    "email",
    "preferred_contact_method",
    "what_matters",
    "agreed",
];

/// What was posted, by name.
struct Posted(Vec<(String, String)>);

impl Posted {
    fn value(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    fn get(&self, name: &str) -> Option<String> {
        Some(self.value(name)).filter(|v| !v.trim().is_empty())
    }

    /// The API's request from the page's fields (`agreed` is a tick box: ticked is `yes`).
    fn to_request(&self) -> SelfReferralRequest {
        let lines: Vec<String> = ["address_line1", "address_line2"]
            .iter()
            .filter_map(|n| self.get(n))
            .collect();
        SelfReferralRequest {
            given_name: self.get("given_name"),
            family_name: self.get("family_name"),
            birth_date: self.get("birth_date"),
            postcode: self.get("postcode"),
            address_lines: (!lines.is_empty()).then_some(lines),
            phone: self.get("phone"),
            email: self.get("email"),
            preferred_contact_method: self.get("preferred_contact_method"),
            nhs_number: self.get("nhs_number"),
            what_matters: self.get("what_matters"),
            agreed: self.get("agreed").map(|v| v == "yes"),
            form_token: self.get("form_token"),
            website: Some(self.value("website")).filter(|w| !w.is_empty()),
        }
    }
}

/// The control a refusal's field is shown next to, and its label.
fn control(field: &str) -> Option<(&'static str, &'static str)> {
    let head = field.split('[').next().unwrap_or(field);
    Some(match head {
        "given_name" => ("given_name", "First name"),
        "family_name" => ("family_name", "Last name"),
        "birth_date" => ("birth_date", "Date of birth"),
        "nhs_number" => ("nhs_number", "NHS number"),
        "address_lines" => ("address_line1", "Address"),
        "postcode" => ("postcode", "Postcode"),
        "phone" => ("phone", "Phone number"),
        "email" => ("email", "Email address"),
        "preferred_contact_method" => ("preferred_contact_method", "How we contact you"),
        "what_matters" => ("what_matters", "What matters to you"),
        "agreed" => ("agreed", "Your agreement"),
        _ => return None,
    })
}

/// Refusals as the page shows them. The bot checks' (`form_token`, `website`) become one
/// message at the top: a person cannot mend them but by sending the form again.
fn field_errors(refusals: &[Refusal]) -> Vec<FieldError> {
    refusals
        .iter()
        .map(|r| match control(&r.field) {
            Some((id, label)) => FieldError {
                field: id.into(),
                message: format!("{label} {}", r.message),
            },
            None => FieldError {
                field: "maincontent".into(),
                message: "We could not accept the form as it was sent. Check your details and send it again.".into(),
            },
        })
        .fold(Vec::new(), |mut kept, e| {
            if !kept.contains(&e) {
                kept.push(e);
            }
            kept
        })
}

fn form(state: &AppState, posted: &Posted, errors: &[FieldError]) -> Markup {
    let text = |id: &'static str,
                label: &'static str,
                hint: Option<&'static str>,
                kind: &str,
                auto: &'static str| {
        field(errors, id, label, hint).input(kind, &posted.value(id), Some(auto))
    };
    let agreed_error = error_for(errors, "agreed");
    let key = posted
        .get("idempotency_key")
        .unwrap_or_else(|| Uuid::now_v7().to_string());
    html! {
        (error_summary(errors))
        h1 { "Refer yourself to social prescribing" }
        p { "A social prescribing link worker can help you find activities, groups and support near you. Tell us about yourself and what matters to you, and the link-worker service for where you live will contact you." }
        form method="post" action="/self-referral" novalidate {
            input type="hidden" name="idempotency_key" value=(key);
            input type="hidden" name="form_token" value=(state.self_referral.issue());
            div hidden {
                label for="website" { "Leave this empty" }
                input id="website" name="website" type="text" value="" tabindex="-1" autocomplete="off";
            }
            h2 class="nhsuk-heading-m" { "About you" }
            (text("given_name", "First name", None, "text", "given-name"))
            (text("family_name", "Last name", None, "text", "family-name"))
            (text("birth_date", "Date of birth", Some("For example 1961-05-17"), "text", "bday"))
            (text("nhs_number", "NHS number (optional)", Some("10 digits, for example 943 476 5919"), "text", "off"))
            (text("postcode", "Postcode", Some("We use it to find the link-worker service for where you live"), "text", "postal-code"))
            (text("address_line1", "Address line 1 (optional)", None, "text", "address-line1"))
            (text("address_line2", "Address line 2 (optional)", None, "text", "address-line2"))
            h2 class="nhsuk-heading-m" { "How we contact you" }
            (text("phone", "Phone number (optional)", Some("Needed if you choose a phone call or text message"), "tel", "tel"))
            (text("email", "Email address (optional)", Some("Needed if you choose email"), "email", "email"))
            (radios("preferred_contact_method", "How would you like us to contact you?", &[
                ("phone", "Phone call"), ("text", "Text message"), ("email", "Email"),
            ], &posted.value("preferred_contact_method"), error_for(errors, "preferred_contact_method")))
            h2 class="nhsuk-heading-m" { "What matters to you" }
            (field(errors, "what_matters", "What matters to you, and why would you like support?", Some("In your own words, for example feeling lonely, money worries or wanting to be more active"))
                .textarea(&posted.value("what_matters"), 5))
            div class={ "nhsuk-form-group" @if agreed_error.is_some() { " nhsuk-form-group--error" } } {
                fieldset class="nhsuk-fieldset" aria-describedby={ "agreed-hint" @if agreed_error.is_some() { " agreed-error" } } {
                    legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--s" { "Your agreement" }
                    div class="nhsuk-hint" id="agreed-hint" {
                        "Your details are sent only with your agreement. You can ask the link-worker service to delete them at any time."
                    }
                    @if let Some(error) = agreed_error {
                        span class="nhsuk-error-message" id="agreed-error" {
                            span class="nhsuk-u-visually-hidden" { "Error: " } (error)
                        }
                    }
                    div class="nhsuk-checkboxes" data-module="nhsuk-checkboxes" {
                        div class="nhsuk-checkboxes__item" {
                            input class="nhsuk-checkboxes__input" id="agreed" name="agreed" type="checkbox"
                              value="yes" checked[posted.value("agreed") == "yes"];
                            label class="nhsuk-label nhsuk-checkboxes__label" for="agreed" {
                                "I agree that these details are sent to the social prescribing link-worker service for where I live"
                            }
                        }
                    }
                }
            }
            button class="nhsuk-button" data-module="nhsuk-button" type="submit" { "Send" }
        }
    }
}

fn page(title: &str, has_errors: bool, content: Markup) -> Markup {
    Page {
        title,
        service: SERVICE,
        signed_in: None,
        navigation: Vec::new(),
        has_errors,
        back: None,
    }
    .render(content)
}

fn form_page(
    state: &AppState,
    posted: &Posted,
    errors: &[FieldError],
    status: StatusCode,
) -> Response {
    html(
        status,
        page(
            "Refer yourself to social prescribing",
            !errors.is_empty(),
            form(state, posted, errors),
        ),
    )
}

fn message_page(status: StatusCode, title: &str, body: &str) -> Response {
    html(
        status,
        page(title, false, html! { h1 { (title) } p { (body) } }),
    )
}

/// The empty form.
#[utoipa::path(get, path = "/self-referral", operation_id = "getSelfReferralPage", tag = "self-referral",
    responses(
        (status = 200, description = "The self-referral form (HTML, no sign-in)", content_type = "text/html", body = String),
    ),
    security(()))]
pub async fn self_referral_page(State(state): State<AppState>) -> Response {
    form_page(&state, &Posted(Vec::new()), &[], StatusCode::OK)
}

/// Sends the form.
#[utoipa::path(post, path = "/self-referral", operation_id = "submitSelfReferralPage", tag = "self-referral",
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "The form's fields (see GET /self-referral), with `form_token` and `idempotency_key` from the rendered form and `website` left empty"),
    responses(
        (status = 201, description = "Sent: a confirmation page (HTML)", content_type = "text/html", body = String),
        (status = 409, description = "Changed concurrently: the form again, to send again (HTML)", content_type = "text/html", body = String),
        (status = 415, description = "Not a form post (HTML)", content_type = "text/html", body = String),
        (status = 422, description = "The form again with what was typed, each problem beside its field and in the error summary; nothing recorded (HTML)", content_type = "text/html", body = String),
        (status = 429, description = "Too many self-referrals from this address: a page saying when to try again (HTML); over the platform's limit, its problem. With `Retry-After`",
            content((String = "text/html"), (linkway_platform::Problem = "application/problem+json")),
            headers(("Retry-After" = String, description = "Seconds to wait before trying again"))),
        (status = 503, description = "The service is unavailable: try again (HTML)", content_type = "text/html", body = String),
    ),
    security(()))]
#[tracing::instrument(skip_all)]
pub async fn send_self_referral(
    State(state): State<AppState>,
    extensions: Extensions,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let Ok(Form(pairs)) = form else {
        return message_page(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Send this page's form",
            "Go back to the self-referral page and send the form there.",
        );
    };
    let posted = Posted(pairs);
    if posted.0.iter().any(|(k, _)| !FIELDS.contains(&k.as_str())) {
        return form_page(
            &state,
            &posted,
            &field_errors(&[Refusal::new(
                "body",
                "schema",
                "is not a field of this form",
            )]),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let key = posted
        .get("idempotency_key")
        .filter(|k| crate::form::fields::is_key(k))
        .map(|k| format!("page:{}", k.trim()));
    let request = posted.to_request();
    match super::submit(&state, &extensions, &headers, &request, key, OPERATION).await {
        Ok((status, answer)) => html(
            status,
            page(
                "Your referral has been sent",
                false,
                html! {
                    div class="nhsuk-panel" {
                        h1 class="nhsuk-panel__title" { "Your referral has been sent" }
                        div class="nhsuk-panel__body" {
                            "Your reference: " strong { (answer.referral_id) }
                        }
                    }
                    p { "The link-worker service for where you live will contact you the way you chose. If you do not hear from them within two weeks, contact your GP practice." }
                },
            ),
        ),
        Err(super::Refusal::Limited(wait)) => {
            let secs = retry_after(wait);
            let mut r = message_page(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many referrals from this connection",
                &format!("Try again in {} minutes.", secs.div_ceil(60)),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            r
        }
        Err(super::Refusal::Api(ApiError::Validation(refusals))) => form_page(
            &state,
            &posted,
            &field_errors(&refusals),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(super::Refusal::Api(e)) => {
            if let ApiError::Internal(err) = &e {
                tracing::error!(error = format!("{err:#}"), "internal error");
            }
            let message = match &e {
                ApiError::IdempotencyMismatch(_) => {
                    "This form was already sent with other details. Start again from the self-referral page."
                }
                _ => "Your referral could not be sent just now. Send the form again.",
            };
            let errors = [FieldError {
                field: "maincontent".into(),
                message: message.into(),
            }];
            form_page(&state, &posted, &errors, e.status())
        }
    }
}
