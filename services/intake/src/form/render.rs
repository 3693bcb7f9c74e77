//! The form's HTML: the page around it, each control with its label, hint and error
//! message, the error summary, and the confirmation page. Pure: a view in, a page out.

use linkway_platform::FieldError;
use uuid::Uuid;

use super::fields::{COMMON_NEEDS, Posted, control_for, is_key};
use crate::command::CommandResponse;
use crate::read_model::Status;
use crate::validation::VERIFICATION_STATUSES;

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
pub(super) struct View<'a> {
    pub(super) posted: &'a Posted,
    pub(super) errors: &'a [FieldError],
    /// A problem not tied to one field (authorisation, a dependency down).
    pub(super) page_error: Option<String>,
    /// The token field is shown unless a header authenticated the request.
    pub(super) ask_token: bool,
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

pub(super) fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{title} - Linkway</title><style>{STYLE}</style></head><body><main id="main">{body}</main></body></html>"#,
        title = esc(title),
    )
}

pub(super) fn render_form(view: &View<'_>) -> String {
    let mut b = String::new();
    let has_errors = !view.errors.is_empty() || view.page_error.is_some();
    b.push_str("<h1>Refer someone to social prescribing</h1>");
    b.push_str(r#"<p>This form is for organisations whose staff do not sign in to Linkway: it asks for your organisation's token. If you have a Linkway account, <a href="/referrals/new">sign in and make the referral there</a> instead.</p>"#);
    if has_errors {
        b.push_str(r#"<div class="error-summary" role="alert" aria-labelledby="error-summary-title" tabindex="-1"><h2 id="error-summary-title">There is a problem</h2><ul>"#);
        if let Some(e) = &view.page_error {
            b.push_str(&format!("<li>{}</li>", esc(e)));
        }
        for e in view.errors {
            let control = control_for(&e.field);
            // The field and rule, for machines (the same names as the JSON API's problems).
            let data = format!(
                r#" data-field="{}" data-rule="{}""#,
                esc(&e.field),
                esc(&e.rule)
            );
            if control.is_empty() {
                b.push_str(&format!("<li{data}>{}</li>", esc(&e.message)));
            } else {
                b.push_str(&format!(
                    r##"<li{data}><a href="#{control}">{}</a></li>"##,
                    esc(&format!("{}: {}", label_of(control), e.message))
                ));
            }
        }
        b.push_str("</ul></div>");
    }
    // The same key again, so a resend lands on the same referral; a fresh one if it was not one.
    let key = view
        .posted
        .get("idempotency_key")
        .filter(|k| is_key(k))
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
        "consent_status",
        "Is the person's recorded consent current? (leave empty if it is)",
        &[
            ("active", "Current"),
            ("rejected", "The person refused"),
            ("inactive", "Withdrawn or expired"),
            ("draft", "Not yet confirmed"),
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

pub(crate) fn label_of(control: &str) -> &'static str {
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
        "consent_status" => "Recorded consent",
        "interpreter_needed" => "Interpreter",
        "share_details" => "Details back to you",
        "practitioner_name" => "Your name",
        "practitioner_role" => "Your role",
        "practitioner_phone" => "Your work phone",
        "practitioner_email" => "Your work email",
        "notes" => "Notes",
        _ => "Field",
    }
}

pub(super) fn confirmation(answer: &CommandResponse) -> String {
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
