//! The web form for referrers without an integrated system: server-rendered HTML that works
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

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use linkway_events::referral::SourceChannel;
use linkway_platform::auth::{self, Principal};
use linkway_platform::idempotency::IdempotencyKey;
use linkway_platform::{ApiError, FieldError};
use uuid::Uuid;

use crate::AppState;
use crate::api::{CommandResponse, REFERRAL_ROLES, today};
use crate::command;
use crate::read_model::Status;
use crate::validation::{
    self, AddressInput, CodingInput, ConsentInput, NeedsInput, PersonInput, PractitionerInput,
    ReferralRequest, VERIFICATION_STATUSES,
};

const OPERATION: &str = "submitForm";

/// Needs offered as tick boxes (SNOMED CT concepts); others can be typed as a code.
pub const COMMON_NEEDS: [(&str, &str); 5] = [
    ("422650009", "Social isolation"),
    ("73595000", "Stress"),
    ("48694002", "Anxiety"),
    ("366979004", "Depressed mood"),
    ("160932005", "Financial problem"),
];

/// The posted fields, as name/value pairs (tick boxes repeat a name).
pub struct Posted(Vec<(String, String)>);

impl Posted {
    fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.trim().is_empty())
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn yes_no(&self, name: &str) -> Option<bool> {
        match self.get(name).as_deref() {
            Some("yes") => Some(true),
            Some("no") => Some(false),
            _ => None,
        }
    }

    /// The value to show again in a field (never the token).
    fn value(&self, name: &str) -> String {
        if name == "access_token" {
            return String::new();
        }
        self.get(name).unwrap_or_default()
    }

    fn empty() -> Posted {
        Posted(Vec::new())
    }
}

/// The form's fields as the referral request the JSON API takes.
pub fn to_request(p: &Posted) -> ReferralRequest {
    let mut codes: Vec<CodingInput> = p
        .all("need")
        .into_iter()
        .map(|code| CodingInput {
            display: COMMON_NEEDS
                .iter()
                .find(|(c, _)| *c == code)
                .map(|(_, d)| (*d).to_owned()),
            system: None,
            code: Some(code),
        })
        .collect();
    if let Some(other) = p.get("other_need_code") {
        codes.push(CodingInput {
            system: None,
            code: Some(other.trim().to_owned()),
            display: None,
        });
    }
    let lines: Vec<String> = ["address_line1", "address_line2", "address_line3"]
        .iter()
        .filter_map(|n| p.get(n))
        .collect();
    ReferralRequest {
        referrer_organisation_id: p.get("referrer_organisation_id"),
        person: Some(PersonInput {
            nhs_number: p.get("nhs_number"),
            nhs_number_verification: p.get("nhs_number_verification"),
            given_name: p.get("given_name"),
            family_name: p.get("family_name"),
            birth_date: p.get("birth_date"),
            address: Some(AddressInput {
                lines: Some(lines),
                postcode: p.get("postcode"),
            }),
            phone: p.get("phone"),
            email: p.get("email"),
            preferred_contact_method: p.get("preferred_contact_method"),
            language: p.get("language"),
            interpreter_needed: Some(p.get("interpreter_needed").is_some()),
            accessibility_needs: p.get("accessibility_needs"),
            gender: p.get("gender"),
            ethnicity: p.get("ethnicity"),
        }),
        needs_and_concerns: Some(NeedsInput {
            codes,
            text: p.get("needs_text"),
        }),
        urgency: p.get("urgency"),
        safeguarding_concern: p.yes_no("safeguarding_concern"),
        legal_basis: p.get("legal_basis"),
        consent: Some(ConsentInput {
            referral_agreed: p.yes_no("referral_agreed"),
            share_details_with_referrer: p.yes_no("share_details"),
        }),
        practitioner: Some(PractitionerInput {
            name: p.get("practitioner_name"),
            role: p.get("practitioner_role"),
            phone: p.get("practitioner_phone"),
            email: p.get("practitioner_email"),
        }),
        notes: p.get("notes"),
    }
}

/// The form control a validation field is shown next to.
pub fn control_for(field: &str) -> &'static str {
    let f = field.split('[').next().unwrap_or(field);
    match f {
        "access_token" => "access_token",
        "referrer_organisation_id" => "referrer_organisation_id",
        "person" | "person.given_name" => "given_name",
        "person.nhs_number" => "nhs_number",
        "person.nhs_number_verification" => "nhs_number_verification",
        "person.family_name" => "family_name",
        "person.birth_date" => "birth_date",
        "person.address" | "person.address.lines" => "address_line1",
        "person.address.postcode" => "postcode",
        "person.phone" => "phone",
        "person.email" => "email",
        "person.preferred_contact_method" => "preferred_contact_method",
        "person.language" => "language",
        "person.accessibility_needs" => "accessibility_needs",
        "person.gender" => "gender",
        "person.ethnicity" => "ethnicity",
        "needs_and_concerns.text" => "needs_text",
        "needs_and_concerns" | "needs_and_concerns.codes" => "need",
        "urgency" => "urgency",
        "safeguarding_concern" => "safeguarding_concern",
        "legal_basis" => "legal_basis",
        "consent" | "consent.referral_agreed" => "referral_agreed",
        "consent.share_details_with_referrer" => "share_details",
        "practitioner" | "practitioner.name" => "practitioner_name",
        "practitioner.role" => "practitioner_role",
        "practitioner.phone" => "practitioner_phone",
        "practitioner.email" => "practitioner_email",
        "notes" => "notes",
        _ => "",
    }
}

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What the page shows beside the form.
struct View<'a> {
    posted: &'a Posted,
    errors: &'a [FieldError],
    /// A problem not tied to one field (authorisation, a dependency down).
    page_error: Option<String>,
    /// The token field is shown unless a header authenticated the request.
    ask_token: bool,
}

impl View<'_> {
    fn errors_for(&self, control: &str) -> Vec<&FieldError> {
        self.errors
            .iter()
            .filter(|e| control_for(&e.field) == control)
            .collect()
    }

    /// The error message(s) paragraph, and the attributes that tie it to its control.
    fn error_parts(&self, control: &str) -> (String, String) {
        let errors = self.errors_for(control);
        if errors.is_empty() {
            return (String::new(), String::new());
        }
        let text: Vec<String> = errors.iter().map(|e| esc(&e.message)).collect();
        (
            format!(
                r#"<p class="error-message" id="{control}-error"><span class="visually-hidden">Error:</span> {}</p>"#,
                text.join("; ")
            ),
            format!(r#" aria-invalid="true" aria-describedby="{control}-error""#),
        )
    }

    fn text(
        &self,
        name: &str,
        label: &str,
        hint: Option<&str>,
        kind: &str,
        autocomplete: &str,
    ) -> String {
        let (error, attrs) = self.error_parts(name);
        let hint_html = hint
            .map(|h| format!(r#"<p class="hint" id="{name}-hint">{}</p>"#, esc(h)))
            .unwrap_or_default();
        let describedby = match (hint.is_some(), attrs.is_empty()) {
            (true, true) => format!(r#" aria-describedby="{name}-hint""#),
            (true, false) => {
                format!(r#" aria-invalid="true" aria-describedby="{name}-hint {name}-error""#)
            }
            (false, _) => attrs,
        };
        let auto = if autocomplete.is_empty() {
            String::new()
        } else {
            format!(r#" autocomplete="{autocomplete}""#)
        };
        format!(
            r#"<div class="field{cls}"><label for="{name}">{label}</label>{hint_html}{error}<input type="{kind}" id="{name}" name="{name}" value="{value}"{auto}{describedby}></div>"#,
            cls = if error.is_empty() { "" } else { " field-error" },
            label = esc(label),
            value = esc(&self.posted.value(name)),
        )
    }

    fn textarea(&self, name: &str, label: &str, hint: Option<&str>) -> String {
        let (error, attrs) = self.error_parts(name);
        let hint_html = hint
            .map(|h| format!(r#"<p class="hint" id="{name}-hint">{}</p>"#, esc(h)))
            .unwrap_or_default();
        let describedby = if hint.is_some() && attrs.is_empty() {
            format!(r#" aria-describedby="{name}-hint""#)
        } else {
            attrs
        };
        format!(
            r#"<div class="field{cls}"><label for="{name}">{label}</label>{hint_html}{error}<textarea id="{name}" name="{name}" rows="4"{describedby}>{value}</textarea></div>"#,
            cls = if error.is_empty() { "" } else { " field-error" },
            label = esc(label),
            value = esc(&self.posted.value(name)),
        )
    }

    fn radios(&self, name: &str, legend: &str, options: &[(&str, &str)]) -> String {
        let (error, attrs) = self.error_parts(name);
        let current = self.posted.value(name);
        let items: String = options
            .iter()
            .enumerate()
            .map(|(i, (value, label))| {
                let checked = if current == *value { " checked" } else { "" };
                format!(
                    r#"<div class="choice"><input type="radio" id="{name}-{i}" name="{name}" value="{value}"{checked}><label for="{name}-{i}">{label}</label></div>"#,
                    value = esc(value),
                    label = esc(label),
                )
            })
            .collect();
        format!(
            r#"<fieldset class="field{cls}" id="{name}"{attrs}><legend>{legend}</legend>{error}{items}</fieldset>"#,
            cls = if error.is_empty() { "" } else { " field-error" },
            legend = esc(legend),
        )
    }

    fn needs(&self) -> String {
        let (error, attrs) = self.error_parts("need");
        let ticked = self.posted.all("need");
        let items: String = COMMON_NEEDS
            .iter()
            .enumerate()
            .map(|(i, (code, label))| {
                let checked = if ticked.iter().any(|t| t == code) { " checked" } else { "" };
                format!(
                    r#"<div class="choice"><input type="checkbox" id="need-{i}" name="need" value="{code}"{checked}><label for="need-{i}">{label} <span class="hint">(SNOMED CT {code})</span></label></div>"#,
                    label = esc(label),
                )
            })
            .collect();
        format!(
            r#"<fieldset class="field{cls}" id="need"{attrs}><legend>Needs and concerns</legend><p class="hint">Tick any that apply, add another SNOMED CT code, and/or describe them below.</p>{error}{items}{other}</fieldset>"#,
            cls = if error.is_empty() { "" } else { " field-error" },
            other = self.text(
                "other_need_code",
                "Another need (SNOMED CT concept id)",
                None,
                "text",
                "off"
            ),
        )
    }

    fn select_verification(&self) -> String {
        let (error, attrs) = self.error_parts("nhs_number_verification");
        let current = self.posted.value("nhs_number_verification");
        let mut options = String::from(r#"<option value="">Not known</option>"#);
        for v in VERIFICATION_STATUSES {
            let selected = if current == v { " selected" } else { "" };
            options.push_str(&format!(
                r#"<option value="{v}"{selected}>{}</option>"#,
                v.replace('-', " ")
            ));
        }
        format!(
            r#"<div class="field{cls}"><label for="nhs_number_verification">NHS number verification status</label>{error}<select id="nhs_number_verification" name="nhs_number_verification"{attrs}>{options}</select></div>"#,
            cls = if error.is_empty() { "" } else { " field-error" },
        )
    }
}

const STYLE: &str = "body{font-family:Arial,sans-serif;max-width:44rem;margin:1rem auto;padding:0 1rem;line-height:1.4}\
label,legend{font-weight:bold;display:block}.choice label{display:inline;font-weight:normal}\
.field{margin:0 0 1.2rem}.hint{color:#505a5f;margin:.2rem 0}input[type=text],input[type=email],input[type=tel],\
input[type=date],input[type=password],select,textarea{width:100%;padding:.4rem;border:2px solid #0b0c0c;box-sizing:border-box}\
fieldset{border:none;padding:0}.field-error{border-left:4px solid #d4351c;padding-left:.8rem}\
.error-message{color:#d4351c;font-weight:bold}.error-summary{border:4px solid #d4351c;padding:1rem;margin-bottom:1.5rem}\
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}\
button{background:#00703c;color:#fff;border:0;padding:.6rem 1.2rem;font-size:1rem}:focus{outline:3px solid #fd0}";

fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{title} - Linkway</title><style>{STYLE}</style></head><body><main id="main">{body}</main></body></html>"#,
        title = esc(title),
    )
}

fn render_form(view: &View<'_>) -> String {
    let mut b = String::new();
    let has_errors = !view.errors.is_empty() || view.page_error.is_some();
    b.push_str("<h1>Refer someone to social prescribing</h1>");
    if has_errors {
        b.push_str(r#"<div class="error-summary" role="alert" aria-labelledby="error-summary-title" tabindex="-1"><h2 id="error-summary-title">There is a problem</h2><ul>"#);
        if let Some(e) = &view.page_error {
            b.push_str(&format!("<li>{}</li>", esc(e)));
        }
        for e in view.errors {
            let control = control_for(&e.field);
            if control.is_empty() {
                b.push_str(&format!("<li>{}</li>", esc(&e.message)));
            } else {
                b.push_str(&format!(
                    r##"<li><a href="#{control}">{}</a></li>"##,
                    esc(&format!("{}: {}", label_of(control), e.message))
                ));
            }
        }
        b.push_str("</ul></div>");
    }
    let key = view
        .posted
        .get("idempotency_key")
        .unwrap_or_else(|| Uuid::new_v4().to_string());
    b.push_str(r#"<form method="post" action="/form" novalidate>"#);
    b.push_str(&format!(
        r#"<input type="hidden" name="idempotency_key" value="{}">"#,
        esc(&key)
    ));
    if view.ask_token {
        b.push_str(&view.text(
            "access_token",
            "Your organisation's Linkway token",
            Some("Given to your organisation by the Linkway administrator. Type it again after a correction: it is never shown back."),
            "password",
            "current-password",
        ));
    }
    b.push_str(&view.text(
        "referrer_organisation_id",
        "Referring organisation (administrators only)",
        Some("Leave empty to refer as your own organisation."),
        "text",
        "off",
    ));
    b.push_str("<h2>The person</h2>");
    b.push_str(&view.text(
        "nhs_number",
        "NHS number",
        Some("10 digits, for example 943 476 5919"),
        "text",
        "off",
    ));
    b.push_str(&view.select_verification());
    b.push_str(&view.text("given_name", "Given name", None, "text", "off"));
    b.push_str(&view.text("family_name", "Family name", None, "text", "off"));
    b.push_str(&view.text(
        "birth_date",
        "Date of birth",
        Some("For example 1961-05-17"),
        "date",
        "off",
    ));
    b.push_str(&view.text("address_line1", "Address line 1", None, "text", "off"));
    b.push_str(&view.text(
        "address_line2",
        "Address line 2 (optional)",
        None,
        "text",
        "off",
    ));
    b.push_str(&view.text(
        "address_line3",
        "Town or city (optional)",
        None,
        "text",
        "off",
    ));
    b.push_str(&view.text("postcode", "Postcode", None, "text", "off"));
    b.push_str(&view.text("phone", "Phone (optional)", None, "tel", "off"));
    b.push_str(&view.text("email", "Email (optional)", None, "email", "off"));
    b.push_str(&view.radios(
        "preferred_contact_method",
        "How does the person prefer to be contacted?",
        &[
            ("phone", "Phone call"),
            ("text", "Text message"),
            ("email", "Email"),
            ("letter", "Letter"),
        ],
    ));
    b.push_str(&view.text(
        "language",
        "Preferred language (optional)",
        Some("A language tag, for example en, pl, bn"),
        "text",
        "off",
    ));
    let interpreter = if view.posted.get("interpreter_needed").is_some() {
        " checked"
    } else {
        ""
    };
    b.push_str(&format!(
        r#"<div class="field choice"><input type="checkbox" id="interpreter_needed" name="interpreter_needed" value="yes"{interpreter}><label for="interpreter_needed">An interpreter is needed</label></div>"#
    ));
    b.push_str(&view.textarea(
        "accessibility_needs",
        "Communication or access needs (optional)",
        None,
    ));
    b.push_str(&view.text("gender", "Gender (optional)", None, "text", "off"));
    b.push_str(&view.text(
        "ethnicity",
        "Ethnic category (optional)",
        None,
        "text",
        "off",
    ));
    b.push_str("<h2>Needs and concerns</h2>");
    b.push_str(&view.needs());
    b.push_str(&view.textarea(
        "needs_text",
        "Describe the needs and concerns",
        Some("In your words. Needed if you tick nothing above."),
    ));
    b.push_str("<h2>The referral</h2>");
    b.push_str(&view.radios(
        "urgency",
        "Urgency",
        &[("routine", "Routine"), ("urgent", "Urgent")],
    ));
    b.push_str(&view.radios(
        "safeguarding_concern",
        "Do you have a safeguarding concern?",
        &[("yes", "Yes"), ("no", "No")],
    ));
    b.push_str(&view.radios(
        "legal_basis",
        "Legal basis for sharing",
        &[
            (
                "public_task_health_care",
                "Public task: health and social care (direct care)",
            ),
            ("explicit_consent", "Explicit consent"),
            (
                "vital_interests",
                "Vital interests (safeguarding emergency)",
            ),
        ],
    ));
    b.push_str(&view.radios(
        "referral_agreed",
        "Has the person agreed to the referral?",
        &[("yes", "Yes"), ("no", "No")],
    ));
    b.push_str(&view.radios(
        "share_details",
        "May details (not only codes) come back to you?",
        &[("yes", "Yes"), ("no", "No, only codes")],
    ));
    b.push_str(&view.textarea(
        "notes",
        "What the person wants the link worker to know (optional)",
        None,
    ));
    b.push_str("<h2>You</h2>");
    b.push_str(&view.text("practitioner_name", "Your name", None, "text", "name"));
    b.push_str(&view.text(
        "practitioner_role",
        "Your role (optional)",
        None,
        "text",
        "organization-title",
    ));
    b.push_str(&view.text(
        "practitioner_phone",
        "Your work phone (optional)",
        None,
        "tel",
        "tel",
    ));
    b.push_str(&view.text(
        "practitioner_email",
        "Your work email (optional)",
        None,
        "email",
        "email",
    ));
    b.push_str(r#"<button type="submit">Send referral</button></form>"#);
    page(
        if has_errors {
            "Error: Refer someone"
        } else {
            "Refer someone"
        },
        &b,
    )
}

fn label_of(control: &str) -> &'static str {
    match control {
        "access_token" => "Linkway token",
        "referrer_organisation_id" => "Referring organisation",
        "nhs_number" => "NHS number",
        "nhs_number_verification" => "NHS number verification status",
        "given_name" => "Given name",
        "family_name" => "Family name",
        "birth_date" => "Date of birth",
        "address_line1" => "Address",
        "postcode" => "Postcode",
        "phone" => "Phone",
        "email" => "Email",
        "preferred_contact_method" => "Preferred contact",
        "language" => "Preferred language",
        "accessibility_needs" => "Communication or access needs",
        "gender" => "Gender",
        "ethnicity" => "Ethnic category",
        "need" => "Needs and concerns",
        "needs_text" => "Description of needs",
        "urgency" => "Urgency",
        "safeguarding_concern" => "Safeguarding concern",
        "legal_basis" => "Legal basis",
        "referral_agreed" => "Agreement to the referral",
        "share_details" => "Details back to you",
        "practitioner_name" => "Your name",
        "practitioner_role" => "Your role",
        "practitioner_phone" => "Your work phone",
        "practitioner_email" => "Your work email",
        "notes" => "Notes",
        _ => "Field",
    }
}

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
    match submit(&state, &principal, &headers, &posted).await {
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

async fn submit(
    state: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
    posted: &Posted,
) -> Result<(StatusCode, CommandResponse), ApiError> {
    let request = to_request(posted);
    // The request, not the raw post (which holds the token), is what the key stands for.
    let fingerprint = serde_json::to_vec(&request).expect("requests serialise");
    let key = posted.get("idempotency_key").map(|k| IdempotencyKey {
        organisation_id: principal.organisation_id.clone(),
        key: format!("form:{}", k.trim()),
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
        OPERATION,
        valid,
        SourceChannel::Web,
        headers,
        &fingerprint,
    )
    .await?;
    Ok((done.status, done.answer))
}

fn confirmation(answer: &CommandResponse) -> String {
    let next = match answer.status {
        Status::Routed => {
            "It has been sent to a social prescribing link-worker service. You will see their reply in Linkway."
        }
        _ => {
            "No link-worker service covers this referral automatically yet: a Linkway administrator will route it. It is safe and will not be lost."
        }
    };
    page(
        "Referral sent",
        &format!(
            r#"<div role="status"><h1>Referral sent</h1><p>Reference: <strong id="referral-id">{id}</strong></p><p>Status: <span id="referral-status">{status}</span></p><p>{next}</p></div><p><a href="/form">Refer someone else</a></p>"#,
            id = answer.referral_id,
            status = answer.status.as_str(),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posted(pairs: &[(&str, &str)]) -> Posted {
        Posted(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn the_common_needs_are_valid_snomed_concept_ids() {
        for (code, _) in COMMON_NEEDS {
            assert_eq!(validation::check_sctid(code), Ok(()), "{code}");
        }
    }

    #[test]
    fn every_validation_field_has_a_control_on_the_form() {
        let errors = validation::validate(&ReferralRequest::default(), today()).unwrap_err();
        for e in errors {
            assert!(!control_for(&e.field).is_empty(), "{}", e.field);
        }
        for field in [
            "person.nhs_number",
            "person.address.lines[3]",
            "needs_and_concerns.codes[1].code",
            "consent.share_details_with_referrer",
            "practitioner.email",
            "person.language",
        ] {
            let control = control_for(field);
            assert_ne!(label_of(control), "Field", "{field}");
        }
    }

    #[test]
    fn a_filled_form_becomes_a_valid_request() {
        let p = posted(&[
            ("nhs_number", "943 476 5919"),
            ("given_name", "Robin"),
            ("family_name", "Example"),
            ("birth_date", "1961-05-17"),
            ("address_line1", "14 Imaginary Row"),
            ("address_line2", ""),
            ("postcode", "ls6 9zz"),
            ("phone", "07700 900123"),
            ("preferred_contact_method", "phone"),
            ("need", "422650009"),
            ("need", "73595000"),
            ("other_need_code", "48694002"),
            ("urgency", "routine"),
            ("safeguarding_concern", "no"),
            ("legal_basis", "public_task_health_care"),
            ("referral_agreed", "yes"),
            ("share_details", "no"),
            ("practitioner_name", "Dr P"),
        ]);
        let v = validation::validate(&to_request(&p), today()).unwrap();
        assert_eq!(v.needs.len(), 3);
        assert_eq!(v.needs[0].display.as_deref(), Some("Social isolation"));
        assert_eq!(v.personal.person.address.lines, ["14 Imaginary Row"]);
        assert!(!v.consent.share_details_with_referrer);
        assert!(!v.safeguarding_concern);
    }

    #[test]
    fn errors_are_rendered_next_to_their_fields_and_the_token_is_never_echoed() {
        let p = posted(&[
            ("access_token", "lw_secret"),
            ("given_name", "<script>x</script>"),
            ("nhs_number", "123"),
        ]);
        let errors = validation::validate(&to_request(&p), today()).unwrap_err();
        let html = render_form(&View {
            posted: &p,
            errors: &errors,
            page_error: None,
            ask_token: true,
        });
        assert!(!html.contains("lw_secret"));
        assert!(!html.contains("<script>x"));
        assert!(html.contains("&lt;script&gt;x&lt;/script&gt;"));
        assert!(html.contains(r#"<p class="error-message" id="nhs_number-error">"#));
        assert!(html.contains(r#"id="nhs_number" name="nhs_number" value="123" autocomplete="off" aria-invalid="true" aria-describedby="nhs_number-hint nhs_number-error""#));
        assert!(html.contains(r##"<a href="#family_name">"##));
        assert!(html.contains("There is a problem"));
        assert!(!html.contains("<script"), "no JavaScript at all");
    }

    #[test]
    fn every_control_has_a_label() {
        let p = Posted::empty();
        let html = render_form(&View {
            posted: &p,
            errors: &[],
            page_error: None,
            ask_token: true,
        });
        let mut rest = html.as_str();
        while let Some(i) = rest.find(" id=\"") {
            let after = &rest[i + 5..];
            let id = &after[..after.find('"').unwrap()];
            let before = &rest[..i];
            let is_control = before.rfind('<').map(|t| &before[t..]).is_some_and(|t| {
                t.starts_with("<input") && !t.contains("type=\"hidden\"")
                    || t.starts_with("<select")
                    || t.starts_with("<textarea")
            });
            if is_control {
                assert!(
                    html.contains(&format!("<label for=\"{id}\">")),
                    "control {id} has no label"
                );
            }
            rest = after;
        }
    }
}
