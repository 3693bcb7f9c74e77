//! What intake answers a FHIR sender: [`Issue`]s and [`Refusal`]s rendered as an
//! `OperationOutcome`, and validation errors located by FHIRPath.

use linkway_platform::FieldError;
use serde_json::{Value, json};

use super::{HTTP_ERROR_CODES, RULE_SYSTEM};

/// One problem, as an `OperationOutcome.issue`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// `error` or `information`.
    pub severity: &'static str,
    /// FHIR `IssueType`: `structure`, `required`, `value`, `invalid`, `not-supported`, ...
    pub code: &'static str,
    pub diagnostics: String,
    /// FHIRPath of the offending element, where known.
    pub expression: Option<String>,
    /// The Linkway validation rule, where one applies.
    pub rule: Option<String>,
}

impl Issue {
    pub fn error(code: &'static str, diagnostics: impl Into<String>) -> Issue {
        Issue {
            severity: "error",
            code,
            diagnostics: diagnostics.into(),
            expression: None,
            rule: None,
        }
    }

    pub fn at(mut self, expression: impl Into<String>) -> Issue {
        self.expression = Some(expression.into());
        self
    }

    pub fn rule(mut self, rule: impl Into<String>) -> Issue {
        self.rule = Some(rule.into());
        self
    }
}

/// A refusal: the HTTP status and the issues, rendered as an `OperationOutcome`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub issues: Vec<Issue>,
}

impl Refusal {
    pub fn new(status: u16, issues: Vec<Issue>) -> Refusal {
        Refusal { status, issues }
    }

    /// The `OperationOutcome` resource.
    pub fn to_operation_outcome(&self) -> Value {
        let http_code = match self.status {
            400 => "REC_BAD_REQUEST",
            401 => "REC_UNAUTHORIZED",
            403 => "REC_FORBIDDEN",
            409 => "REC_CONFLICT",
            415 => "REC_UNSUPPORTED_MEDIA_TYPE",
            422 => "REC_UNPROCESSABLE_ENTITY",
            503 => "REC_SERVICE_UNAVAILABLE",
            _ => "REC_SERVER_ERROR",
        };
        let issues: Vec<Value> = self
            .issues
            .iter()
            .map(|i| {
                let mut coding = vec![json!({"system": HTTP_ERROR_CODES, "code": http_code})];
                if let Some(rule) = &i.rule {
                    coding.push(json!({"system": RULE_SYSTEM, "code": rule}));
                }
                let mut issue = json!({
                    "severity": i.severity,
                    "code": i.code,
                    "details": {"coding": coding},
                    "diagnostics": i.diagnostics,
                });
                if let Some(e) = &i.expression {
                    issue["expression"] = json!([e]);
                }
                issue
            })
            .collect();
        json!({"resourceType": "OperationOutcome", "issue": issues})
    }
}

/// Where in the message a validation field lives.
pub fn expression_for(field: &str) -> &'static str {
    let f = field.split('[').next().unwrap_or(field);
    match f {
        "person.nhs_number" => {
            "Patient.identifier.where(system='https://fhir.nhs.uk/Id/nhs-number').value"
        }
        "person.nhs_number_verification" => {
            "Patient.identifier.where(system='https://fhir.nhs.uk/Id/nhs-number').extension"
        }
        "person" => "ServiceRequest.subject",
        "person.given_name" => "Patient.name.given",
        "person.family_name" => "Patient.name.family",
        "person.birth_date" => "Patient.birthDate",
        "person.address" | "person.address.lines" => "Patient.address.line",
        "person.address.postcode" => "Patient.address.postalCode",
        "person.phone" | "person.email" | "person.preferred_contact_method" => "Patient.telecom",
        "person.language" => "Patient.communication.language",
        "person.gender" => "Patient.gender",
        "person.ethnicity" => "Patient.extension",
        "needs_and_concerns.text" => "ServiceRequest.note",
        "needs_and_concerns" | "needs_and_concerns.codes" => "ServiceRequest.reasonCode",
        "urgency" => "ServiceRequest.priority",
        "safeguarding_concern" => "ServiceRequest.extension",
        "practitioner" | "practitioner.name" | "practitioner.role" | "practitioner.phone"
        | "practitioner.email" => "ServiceRequest.requester",
        "notes" => "ServiceRequest.patientInstruction",
        "legal_basis" => "Consent.policyRule",
        "consent.status" => "Consent.status",
        "consent.referral_agreed" => "Consent.provision.type",
        "consent.period" => "Consent.provision.period",
        "consent" | "consent.share_details_with_referrer" => "Consent",
        "person.accessibility_needs" => "Patient.extension",
        "referrer_organisation_id" => "MessageHeader.sender",
        _ => "Bundle",
    }
}

/// Where in the `Consent` entry (`Bundle.entry[i].resource`) a consent field lives.
fn consent_element(field: &str) -> Option<String> {
    Some(
        match field {
            "consent.status" => "status",
            "consent.referral_agreed" => "provision.type",
            "consent.period" => "provision.period",
            "legal_basis" => "policyRule",
            "consent.share_details_with_referrer" => "extension",
            _ => return None,
        }
        .to_owned(),
    )
}

/// Validation errors as a 422 refusal whose issues name FHIRPath and rule; consent's
/// elements are named in the `Consent` entry (`Bundle.entry[7].resource.provision.type`)
/// when it is known.
pub fn validation_refusal(errors: &[FieldError], consent_entry: Option<usize>) -> Refusal {
    Refusal::new(
        422,
        errors
            .iter()
            .map(|e| {
                let code = if e.rule == "required" {
                    "required"
                } else {
                    "value"
                };
                let mut issue =
                    Issue::error(code, format!("{}: {}", e.field, e.message)).rule(e.rule.clone());
                // `consent` missing entirely means no Consent resource was sent.
                let at = match (consent_entry, consent_element(&e.field)) {
                    (Some(i), Some(element)) => format!("Bundle.entry[{i}].resource.{element}"),
                    _ if e.field == "consent" => "Bundle.entry.resource.ofType(Consent)".into(),
                    _ => expression_for(&e.field).to_owned(),
                };
                issue.expression = Some(at);
                issue
            })
            .collect(),
    )
}
