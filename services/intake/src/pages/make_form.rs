//! The "Make a referral" form as the platform's components draw it: what was typed shown
//! again, each refusal beside its control and in the error summary. Pure: a view in,
//! markup out. Controls are named as the token form's ([`crate::form::FIELDS`]), so one
//! reader ([`crate::form::read`]) takes both, and each validation field is shown next to
//! the control [`control_for`] names.

use linkway_platform::FieldError as Refusal;
use linkway_platform::web::page::{self, Field, FieldError, error_for, error_summary, radios};
use maud::{Markup, html};

use super::capitalised;
use crate::form::render::label_of;
use crate::form::{COMMON_NEEDS, Posted, control_for};
use crate::validation::VERIFICATION_STATUSES;

/// The id the summary links to for a problem not tied to one control.
pub const FORM_TOP: &str = "maincontent";

/// The validation's refusals as the page shows them: beside the control each names, and
/// worded as a sentence ("Postcode is required").
pub fn field_errors(refusals: &[Refusal]) -> Vec<FieldError> {
    refusals
        .iter()
        .map(|r| {
            let control = control_for(&r.field);
            if control.is_empty() {
                FieldError {
                    field: FORM_TOP.into(),
                    message: capitalised(&r.message),
                }
            } else {
                FieldError {
                    field: control.into(),
                    message: format!("{} {}", label_of(control), r.message),
                }
            }
        })
        .collect()
}

/// What the form shows.
pub struct View<'a> {
    pub posted: &'a Posted,
    pub errors: &'a [FieldError],
    pub csrf: &'a str,
    /// The hidden idempotency key: the one posted again, so a resend is the same referral.
    pub idempotency_key: &'a str,
}

impl View<'_> {
    fn field<'f>(&'f self, id: &'f str, label: &'f str, hint: Option<&'f str>) -> Field<'f> {
        Field {
            id,
            label,
            hint,
            error: error_for(self.errors, id),
        }
    }

    fn text(&self, id: &str, label: &str, hint: Option<&str>, kind: &str) -> Markup {
        self.field(id, label, hint)
            .input(kind, &self.posted.value(id), Some("off"))
    }

    fn radios(&self, name: &str, legend: &str, choices: &[(&str, &str)]) -> Markup {
        radios(
            name,
            legend,
            choices,
            &self.posted.value(name),
            error_for(self.errors, name),
        )
    }

    /// The needs as tick boxes (nhsuk-frontend's checkboxes; the platform has no helper
    /// for them yet), the first box's id being the control's.
    fn needs(&self) -> Markup {
        let ticked = self.posted.all("need");
        let error = error_for(self.errors, "need");
        html! {
            div class={ "nhsuk-form-group" @if error.is_some() { " nhsuk-form-group--error" } } {
                fieldset class="nhsuk-fieldset" aria-describedby={ "need-hint" @if error.is_some() { " need-error" } } {
                    legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--s" { "Needs and concerns" }
                    div class="nhsuk-hint" id="need-hint" {
                        "Tick any that apply, give another SNOMED CT code, or describe them below."
                    }
                    @if let Some(error) = error {
                        span class="nhsuk-error-message" id="need-error" {
                            span class="nhsuk-u-visually-hidden" { "Error: " } (error)
                        }
                    }
                    div class="nhsuk-checkboxes" data-module="nhsuk-checkboxes" {
                        @for (i, (code, label)) in COMMON_NEEDS.iter().enumerate() {
                            @let id = if i == 0 { "need".to_owned() } else { format!("need-{}", i + 1) };
                            div class="nhsuk-checkboxes__item" {
                                input class="nhsuk-checkboxes__input" id=(id) name="need" type="checkbox"
                                  value=(code) checked[ticked.iter().any(|t| t == code)];
                                label class="nhsuk-label nhsuk-checkboxes__label" for=(id) { (label) }
                            }
                        }
                    }
                }
            }
        }
    }

    fn interpreter(&self) -> Markup {
        let error = error_for(self.errors, "interpreter_needed");
        html! {
            div class={ "nhsuk-form-group" @if error.is_some() { " nhsuk-form-group--error" } } {
                @if let Some(error) = error {
                    span class="nhsuk-error-message" id="interpreter_needed-error" {
                        span class="nhsuk-u-visually-hidden" { "Error: " } (error)
                    }
                }
                div class="nhsuk-checkboxes" {
                    div class="nhsuk-checkboxes__item" {
                        input class="nhsuk-checkboxes__input" id="interpreter_needed" name="interpreter_needed"
                          type="checkbox" value="yes" checked[self.posted.get("interpreter_needed").is_some()];
                        label class="nhsuk-label nhsuk-checkboxes__label" for="interpreter_needed" {
                            "The person needs an interpreter"
                        }
                    }
                }
            }
        }
    }

    fn verification(&self) -> Markup {
        let mut options: Vec<(&str, String)> = vec![("", "Not known".into())];
        options.extend(
            VERIFICATION_STATUSES
                .iter()
                .map(|v| (*v, v.replace('-', " "))),
        );
        let options: Vec<(&str, &str)> = options.iter().map(|(v, t)| (*v, t.as_str())).collect();
        self.field(
            "nhs_number_verification",
            "NHS number verification status",
            None,
        )
        .select(&options, &self.posted.value("nhs_number_verification"))
    }
}

/// The form, with the error summary above it when it was refused.
pub fn render(view: &View<'_>) -> Markup {
    let fields = html! {
        input type="hidden" name="idempotency_key" value=(view.idempotency_key);
        h2 class="nhsuk-heading-m" { "The person" }
        (view.text("nhs_number", "NHS number", Some("10 digits, for example 943 476 5919"), "text"))
        (view.verification())
        (view.text("given_name", "Given name", None, "text"))
        (view.text("family_name", "Family name", None, "text"))
        (view.text("birth_date", "Date of birth", Some("For example 1961-05-17"), "text"))
        (view.text("address_line1", "Address line 1", None, "text"))
        (view.text("address_line2", "Address line 2 (optional)", None, "text"))
        (view.text("address_line3", "Town or city (optional)", None, "text"))
        (view.text("postcode", "Postcode", None, "text"))
        (view.text("phone", "Phone (optional)", None, "tel"))
        (view.text("email", "Email (optional)", None, "email"))
        (view.radios("preferred_contact_method", "How does the person prefer to be contacted?", &[
            ("phone", "Phone call"), ("text", "Text message"), ("email", "Email"), ("letter", "Letter"),
        ]))
        (view.text("language", "Preferred language (optional)", Some("A language tag, for example en, pl, bn"), "text"))
        (view.interpreter())
        (view.field("accessibility_needs", "Communication or access needs (optional)", None)
            .textarea(&view.posted.value("accessibility_needs"), 3))
        (view.text("gender", "Gender (optional)", None, "text"))
        (view.text("ethnicity", "Ethnic category (optional)", None, "text"))

        h2 class="nhsuk-heading-m" { "Needs and concerns" }
        (view.needs())
        (view.text("other_need_code", "Another need (SNOMED CT concept id, optional)", None, "text"))
        (view.field("needs_text", "Describe the needs and concerns", Some("In your words. Needed if you tick nothing above."))
            .textarea(&view.posted.value("needs_text"), 4))

        h2 class="nhsuk-heading-m" { "The referral" }
        (view.radios("urgency", "Urgency", &[("routine", "Routine"), ("urgent", "Urgent")]))
        (view.radios("safeguarding_concern", "Do you have a safeguarding concern?", &[("yes", "Yes"), ("no", "No")]))

        h2 class="nhsuk-heading-m" { "Consent" }
        (view.radios("legal_basis", "What is the legal basis for sharing the person's details?", &[
            ("public_task_health_care", "Public task: health and social care (direct care)"),
            ("explicit_consent", "Explicit consent"),
            ("vital_interests", "Vital interests (a safeguarding emergency)"),
        ]))
        (view.radios("consent_status", "Is the person's recorded consent current?", &[
            ("active", "Yes, it is current"),
            ("rejected", "No, the person refused"),
            ("inactive", "No, it was withdrawn or has expired"),
            ("draft", "Not yet confirmed"),
        ]))
        (view.radios("referral_agreed", "Has the person agreed to the referral?", &[("yes", "Yes"), ("no", "No")]))
        (view.radios("share_details", "May details, not only codes, come back to you?", &[
            ("yes", "Yes"), ("no", "No, only codes"),
        ]))
        (view.field("notes", "What the person wants the link worker to know (optional)", None)
            .textarea(&view.posted.value("notes"), 4))

        h2 class="nhsuk-heading-m" { "You" }
        (view.field("practitioner_name", "Your name", None).input("text", &view.posted.value("practitioner_name"), Some("name")))
        (view.field("practitioner_role", "Your role (optional)", None).input("text", &view.posted.value("practitioner_role"), Some("organization-title")))
        (view.field("practitioner_phone", "Your work phone (optional)", None).input("tel", &view.posted.value("practitioner_phone"), Some("tel")))
        (view.field("practitioner_email", "Your work email (optional)", None).input("email", &view.posted.value("practitioner_email"), Some("email")))
    };
    html! {
        (error_summary(view.errors))
        h1 { "Make a referral" }
        p { "Refer someone to a social prescribing link worker. Your organisation is the referrer." }
        (page::form("/referrals/new", view.csrf, "Send referral", fields))
    }
}
