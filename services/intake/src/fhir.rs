//! FHIR R4 messaging (BaRS-style): a message `Bundle` becomes the same referral request the
//! JSON API takes, or an `OperationOutcome` saying why not. Pure: no I/O. The handler
//! resolves the sender against the registry and runs the same validation and command.
//!
//! What is read, and where from:
//! - `MessageHeader` (first entry): `eventCoding` must be BaRS `servicerequest-request`,
//!   `reason` `new`; `focus` -> the `ServiceRequest`; `sender` -> an `Organization` whose
//!   identifier (ODS code, or Linkway id) names a registered organisation; `source.endpoint`
//!   is kept for replies and audit.
//! - `ServiceRequest`: `code` must hold SNOMED CT 871731000000106 (referral to social
//!   prescribing service); `reasonCode` SNOMED codings -> needs; `note` -> needs text;
//!   `priority` -> urgency; `patientInstruction` -> notes; `requester` -> practitioner;
//!   `subject` -> the `Patient`; a `safeguarding-concern` extension (boolean).
//! - `Patient`: NHS number (and verification status extension), name, birth date, address,
//!   telecom (lowest `rank` is the preferred method), gender, language, interpreter need.
//! - `Consent`: `status` active = the person agreed to the referral; `policyRule` code gives
//!   the legal basis (default: public task, health and care); a `share-details-with-referrer`
//!   extension (boolean, default false: only codes go back).
//!
//! Statuses: 400 when the bundle is not a message bundle with a `MessageHeader` first;
//! 422 `not-supported` when it is not a referral to social prescribing; 422 for a dangling
//! reference, an invalid NHS number or any other rule (issues name the FHIRPath and rule).

use std::collections::HashMap;

use linkway_events::common::{SNOMED, SNOMED_REFERRAL_TO_SOCIAL_PRESCRIBING};
use linkway_platform::FieldError;
use serde_json::{Value, json};

use crate::validation::{
    AddressInput, CodingInput, ConsentInput, NeedsInput, PersonInput, PractitionerInput,
    ReferralRequest,
};

pub const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";
pub const ODS_SYSTEM: &str = "https://fhir.nhs.uk/Id/ods-organization-code";
/// The BaRS message event for a referral.
pub const EVENT_SERVICE_REQUEST: &str = "servicerequest-request";
/// Linkway's extensions where FHIR has no element.
pub const EXT_SAFEGUARDING: &str =
    "https://linkway.example/fhir/StructureDefinition/safeguarding-concern";
pub const EXT_SHARE_DETAILS: &str =
    "https://linkway.example/fhir/StructureDefinition/share-details-with-referrer";
const EXT_INTERPRETER: &str = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired";
const HTTP_ERROR_CODES: &str = "https://fhir.nhs.uk/CodeSystem/http-error-codes";
/// Code system of Linkway's validation rule names, in `issue.details`.
pub const RULE_SYSTEM: &str = "https://linkway.example/fhir/CodeSystem/validation-rule";

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

    fn at(mut self, expression: impl Into<String>) -> Issue {
        self.expression = Some(expression.into());
        self
    }

    fn rule(mut self, rule: impl Into<String>) -> Issue {
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

/// The sender's identifier from its `Organization`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderIdentifier {
    pub system: Option<String>,
    pub value: String,
}

/// A message Linkway supports, read into a referral request.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// `Bundle.id`: the message's identity; a resend carries the same one.
    pub bundle_id: Option<String>,
    pub header_id: Option<String>,
    pub sender: SenderIdentifier,
    /// `MessageHeader.source.endpoint`: where replies go.
    pub source_endpoint: String,
    pub source_software: Option<String>,
    pub request: ReferralRequest,
}

/// What could be read of the header even when the message is refused (for the audit log).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderFacts {
    pub bundle_id: Option<String>,
    pub header_id: Option<String>,
    pub event_code: Option<String>,
    pub source_endpoint: Option<String>,
    pub source_software: Option<String>,
}

/// Reads the facts of the header that the audit log keeps, whatever else is wrong.
pub fn header_facts(bundle: &Value) -> HeaderFacts {
    let header = bundle["entry"][0]["resource"].clone();
    let is_header = header["resourceType"] == "MessageHeader";
    let s = |v: &Value| v.as_str().map(str::to_owned);
    HeaderFacts {
        bundle_id: s(&bundle["id"]),
        header_id: if is_header { s(&header["id"]) } else { None },
        event_code: if is_header {
            s(&header["eventCoding"]["code"])
        } else {
            None
        },
        source_endpoint: if is_header {
            s(&header["source"]["endpoint"])
        } else {
            None
        },
        source_software: if is_header {
            s(&header["source"]["software"])
        } else {
            None
        },
    }
}

/// The entries of a bundle, found by `fullUrl` and by `Type/id`.
struct Entries<'a> {
    by_reference: HashMap<String, &'a Value>,
    all: Vec<&'a Value>,
}

impl<'a> Entries<'a> {
    fn new(entries: &'a [Value]) -> Entries<'a> {
        let mut by_reference = HashMap::new();
        let mut all = Vec::new();
        for e in entries {
            let resource = &e["resource"];
            all.push(resource);
            if let Some(full) = e["fullUrl"].as_str() {
                by_reference.insert(full.to_owned(), resource);
            }
            if let (Some(t), Some(id)) =
                (resource["resourceType"].as_str(), resource["id"].as_str())
            {
                by_reference.insert(format!("{t}/{id}"), resource);
            }
        }
        Entries { by_reference, all }
    }

    fn resolve(&self, reference: &Value) -> Option<&'a Value> {
        reference["reference"]
            .as_str()
            .and_then(|r| self.by_reference.get(r).copied())
    }

    fn of_type(&self, t: &str) -> impl Iterator<Item = &'a Value> + '_ {
        let t = t.to_owned();
        self.all
            .iter()
            .copied()
            .filter(move |r| r["resourceType"] == t.as_str())
    }
}

/// Reads a message bundle. `Err` carries the refusal; nothing may be appended then.
pub fn read_message(bundle: &Value) -> Result<Message, Refusal> {
    let structure =
        |msg: &str, at: &str| Refusal::new(400, vec![Issue::error("structure", msg).at(at)]);
    if bundle["resourceType"] != "Bundle" {
        return Err(structure("the body must be a FHIR Bundle", "Bundle"));
    }
    if bundle["type"] != "message" {
        return Err(structure(
            "the Bundle must be of type message",
            "Bundle.type",
        ));
    }
    let Some(entries) = bundle["entry"].as_array().filter(|e| !e.is_empty()) else {
        return Err(structure(
            "the message Bundle has no entries",
            "Bundle.entry",
        ));
    };
    let header = &entries[0]["resource"];
    if header["resourceType"] != "MessageHeader" {
        return Err(structure(
            "the first entry of a message Bundle must be its MessageHeader",
            "Bundle.entry[0].resource",
        ));
    }
    let index = Entries::new(entries);

    // Is this a message Linkway supports at all?
    let mut unsupported = Vec::new();
    let event = header["eventCoding"]["code"].as_str().unwrap_or("");
    if event != EVENT_SERVICE_REQUEST {
        unsupported.push(
            Issue::error(
                "not-supported",
                format!("message event '{event}' is not supported: Linkway receives '{EVENT_SERVICE_REQUEST}' (referrals to social prescribing)"),
            )
            .at("MessageHeader.eventCoding"),
        );
    }
    let reason = header["reason"]["coding"][0]["code"]
        .as_str()
        .unwrap_or("new");
    if reason != "new" {
        unsupported.push(
            Issue::error(
                "not-supported",
                format!("message reason '{reason}' is not supported: only new referrals"),
            )
            .at("MessageHeader.reason"),
        );
    }
    let focus = header["focus"]
        .as_array()
        .and_then(|f| f.first())
        .and_then(|f| index.resolve(f));
    let service_request = match focus {
        Some(r) if r["resourceType"] == "ServiceRequest" => Some(r),
        Some(r) => {
            unsupported.push(
                Issue::error(
                    "not-supported",
                    format!(
                        "the message's focus is a {}, not a ServiceRequest: Linkway receives referrals only",
                        r["resourceType"].as_str().unwrap_or("resource of no type")
                    ),
                )
                .at("MessageHeader.focus"),
            );
            None
        }
        None => {
            return Err(Refusal::new(
                422,
                vec![
                    Issue::error(
                        "invalid",
                        "MessageHeader.focus does not resolve to an entry of the bundle",
                    )
                    .at("MessageHeader.focus"),
                ],
            ));
        }
    };
    if let Some(sr) = service_request
        && !codings(&sr["code"])
            .any(|(system, code)| system == SNOMED && code == SNOMED_REFERRAL_TO_SOCIAL_PRESCRIBING)
    {
        unsupported.push(
            Issue::error(
                "not-supported",
                format!(
                    "the ServiceRequest is not a referral to social prescribing: its code must include SNOMED CT {SNOMED_REFERRAL_TO_SOCIAL_PRESCRIBING} (Referral to social prescribing service)"
                ),
            )
            .at("ServiceRequest.code"),
        );
    }
    if !unsupported.is_empty() {
        return Err(Refusal::new(422, unsupported));
    }
    let sr = service_request.expect("checked above");

    // Integrity: every reference points into the bundle.
    let mut issues = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let mut refs = Vec::new();
        collect_references(&e["resource"], &mut String::new(), &mut refs);
        for (path, r) in refs {
            if !index.by_reference.contains_key(&r) {
                let t = e["resource"]["resourceType"].as_str().unwrap_or("Resource");
                issues.push(
                    Issue::error(
                        "invalid",
                        format!("reference '{r}' does not resolve to an entry of the bundle"),
                    )
                    .at(format!("Bundle.entry[{i}].resource.ofType({t}){path}"))
                    .rule("dangling_reference"),
                );
            }
        }
    }

    // Who sent it, and where replies go.
    let sender = index
        .resolve(&header["sender"])
        .filter(|o| o["resourceType"] == "Organization")
        .and_then(|o| {
            let ids = o["identifier"].as_array()?;
            let best = ids
                .iter()
                .find(|i| i["system"] == ODS_SYSTEM)
                .or_else(|| ids.first())?;
            Some(SenderIdentifier {
                system: best["system"].as_str().map(str::to_owned),
                value: best["value"].as_str()?.to_owned(),
            })
        });
    if sender.is_none() {
        issues.push(
            Issue::error(
                "required",
                "MessageHeader.sender must reference an Organization with an identifier (ODS code)",
            )
            .at("MessageHeader.sender")
            .rule("required"),
        );
    }
    let source_endpoint = header["source"]["endpoint"].as_str().map(str::to_owned);
    if source_endpoint.as_deref().is_none_or(str::is_empty) {
        issues.push(
            Issue::error(
                "required",
                "MessageHeader.source.endpoint is needed for replies",
            )
            .at("MessageHeader.source.endpoint")
            .rule("required"),
        );
    }
    let patient = index
        .resolve(&sr["subject"])
        .filter(|p| p["resourceType"] == "Patient");
    if patient.is_none() {
        issues.push(
            Issue::error(
                "required",
                "ServiceRequest.subject must reference the Patient in the bundle",
            )
            .at("ServiceRequest.subject")
            .rule("required"),
        );
    }
    if !issues.is_empty() {
        return Err(Refusal::new(422, issues));
    }

    let request = ReferralRequest {
        referrer_organisation_id: None,
        person: patient.map(person),
        needs_and_concerns: Some(needs(sr)),
        urgency: Some(
            match sr["priority"].as_str().unwrap_or("routine") {
                "urgent" | "asap" | "stat" => "urgent",
                "routine" => "routine",
                other => other,
            }
            .to_owned(),
        ),
        safeguarding_concern: Some(
            extension(sr, EXT_SAFEGUARDING)
                .and_then(|e| e["valueBoolean"].as_bool())
                .unwrap_or(false),
        ),
        legal_basis: None,
        consent: None,
        practitioner: practitioner(&index, &sr["requester"]),
        notes: sr["patientInstruction"].as_str().map(str::to_owned),
    };
    let request = with_consent(request, index.of_type("Consent").next());
    Ok(Message {
        bundle_id: bundle["id"].as_str().map(str::to_owned),
        header_id: header["id"].as_str().map(str::to_owned),
        sender: sender.expect("checked above"),
        source_endpoint: source_endpoint.expect("checked above"),
        source_software: header["source"]["software"].as_str().map(str::to_owned),
        request,
    })
}

/// Every `reference` string under a resource, with its path (contained references `#x`
/// and absolute URLs outside the bundle are not allowed either: a message is self-contained).
fn collect_references(v: &Value, path: &mut String, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("reference") {
                out.push((path.clone(), r.clone()));
            }
            for (k, child) in map {
                if k == "reference" {
                    continue;
                }
                let len = path.len();
                path.push('.');
                path.push_str(k);
                collect_references(child, path, out);
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                collect_references(child, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// `(system, code)` of every coding of a CodeableConcept.
fn codings(concept: &Value) -> impl Iterator<Item = (&str, &str)> {
    concept["coding"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| Some((c["system"].as_str()?, c["code"].as_str()?)))
}

fn extension<'a>(resource: &'a Value, url: &str) -> Option<&'a Value> {
    resource["extension"]
        .as_array()?
        .iter()
        .find(|e| e["url"] == url)
}

fn person(p: &Value) -> PersonInput {
    let nhs = p["identifier"]
        .as_array()
        .and_then(|ids| ids.iter().find(|i| i["system"] == NHS_NUMBER_SYSTEM));
    let verification = nhs.and_then(|i| {
        i["extension"].as_array()?.iter().find_map(|e| {
            e["url"]
                .as_str()
                .filter(|u| u.ends_with("NHSNumberVerificationStatus"))
                .and_then(|_| e["valueCodeableConcept"]["coding"][0]["code"].as_str())
        })
    });
    let names = p["name"].as_array().cloned().unwrap_or_default();
    let name = names
        .iter()
        .find(|n| n["use"] == "official")
        .or_else(|| names.first())
        .cloned()
        .unwrap_or(Value::Null);
    let given: Vec<&str> = name["given"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let addresses = p["address"].as_array().cloned().unwrap_or_default();
    let address = addresses
        .iter()
        .find(|a| a["use"] == "home")
        .or_else(|| addresses.first())
        .cloned();
    let telecom: Vec<&Value> = p["telecom"].as_array().into_iter().flatten().collect();
    let find = |systems: &[&str]| {
        telecom
            .iter()
            .find(|t| systems.iter().any(|s| t["system"] == *s))
            .and_then(|t| t["value"].as_str().map(str::to_owned))
    };
    let preferred = telecom
        .iter()
        .filter(|t| t["value"].is_string())
        .min_by_key(|t| t["rank"].as_u64().unwrap_or(u64::MAX))
        .and_then(|t| match t["system"].as_str() {
            Some("phone") => Some("phone"),
            Some("sms") => Some("text"),
            Some("email") => Some("email"),
            _ => None,
        })
        .unwrap_or("letter");
    let communication = p["communication"].as_array().cloned().unwrap_or_default();
    let language = communication
        .iter()
        .find(|c| c["preferred"] == true)
        .or_else(|| communication.first())
        .and_then(|c| {
            c["language"]["coding"][0]["code"]
                .as_str()
                .map(str::to_owned)
        });
    PersonInput {
        nhs_number: nhs.and_then(|i| i["value"].as_str().map(str::to_owned)),
        nhs_number_verification: verification.map(str::to_owned),
        given_name: (!given.is_empty()).then(|| given.join(" ")),
        family_name: name["family"].as_str().map(str::to_owned),
        birth_date: p["birthDate"].as_str().map(str::to_owned),
        address: address.map(|a| {
            let mut lines: Vec<String> = a["line"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|l| l.as_str().map(str::to_owned))
                .collect();
            if let Some(city) = a["city"].as_str() {
                lines.push(city.to_owned());
            }
            AddressInput {
                lines: Some(lines),
                postcode: a["postalCode"].as_str().map(str::to_owned),
            }
        }),
        phone: find(&["phone", "sms"]),
        email: find(&["email"]),
        preferred_contact_method: Some(preferred.to_owned()),
        language,
        interpreter_needed: extension(p, EXT_INTERPRETER).and_then(|e| e["valueBoolean"].as_bool()),
        accessibility_needs: None,
        gender: p["gender"].as_str().map(str::to_owned),
        ethnicity: p["extension"].as_array().and_then(|exts| {
            exts.iter().find_map(|e| {
                e["url"]
                    .as_str()
                    .filter(|u| u.ends_with("EthnicCategory"))
                    .and_then(|_| {
                        e["valueCodeableConcept"]["coding"][0]["code"]
                            .as_str()
                            .map(str::to_owned)
                    })
            })
        }),
    }
}

fn needs(sr: &Value) -> NeedsInput {
    let codes = sr["reasonCode"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["coding"].as_array().cloned().unwrap_or_default())
        .filter(|c| c["system"] == SNOMED)
        .map(|c| CodingInput {
            system: Some(SNOMED.to_owned()),
            code: c["code"].as_str().map(str::to_owned),
            display: c["display"].as_str().map(str::to_owned),
        })
        .collect();
    let notes: Vec<&str> = sr["note"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["text"].as_str())
        .collect();
    NeedsInput {
        codes,
        text: (!notes.is_empty()).then(|| notes.join("\n")),
    }
}

fn practitioner(index: &Entries<'_>, requester: &Value) -> Option<PractitionerInput> {
    let resource = index.resolve(requester)?;
    let (person, role) = match resource["resourceType"].as_str() {
        Some("Practitioner") => (resource, None),
        Some("PractitionerRole") => (
            index.resolve(&resource["practitioner"])?,
            resource["code"][0]["coding"][0]["display"]
                .as_str()
                .or(resource["code"][0]["text"].as_str()),
        ),
        _ => return None,
    };
    let name = &person["name"][0];
    let mut parts: Vec<String> = name["prefix"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p.as_str().map(str::to_owned))
        .collect();
    parts.extend(
        name["given"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| g.as_str().map(str::to_owned)),
    );
    if let Some(f) = name["family"].as_str() {
        parts.push(f.to_owned());
    }
    let telecom: Vec<&Value> = person["telecom"].as_array().into_iter().flatten().collect();
    let find = |s: &str| {
        telecom
            .iter()
            .find(|t| t["system"] == s)
            .and_then(|t| t["value"].as_str().map(str::to_owned))
    };
    Some(PractitionerInput {
        name: (!parts.is_empty())
            .then(|| parts.join(" "))
            .or_else(|| name["text"].as_str().map(str::to_owned)),
        role: role.map(str::to_owned),
        phone: find("phone"),
        email: find("email"),
    })
}

fn with_consent(mut request: ReferralRequest, consent: Option<&Value>) -> ReferralRequest {
    let Some(c) = consent else {
        return request;
    };
    let agreed = match c["status"].as_str() {
        Some("active") => Some(true),
        Some("rejected") => Some(false),
        _ => None,
    };
    request.consent = Some(ConsentInput {
        referral_agreed: agreed,
        share_details_with_referrer: Some(
            extension(c, EXT_SHARE_DETAILS)
                .and_then(|e| e["valueBoolean"].as_bool())
                .unwrap_or(false),
        ),
    });
    request.legal_basis = Some(
        codings(&c["policyRule"])
            .map(|(_, code)| code.to_owned())
            .next()
            .unwrap_or_else(|| "public_task_health_care".to_owned()),
    );
    request
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
        "consent" | "consent.referral_agreed" | "consent.share_details_with_referrer" => "Consent",
        _ => "Bundle",
    }
}

/// Validation errors as a 422 refusal whose issues name FHIRPath and rule.
pub fn validation_refusal(errors: &[FieldError]) -> Refusal {
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
                let at = if e.field == "consent" {
                    "Bundle.entry.resource.ofType(Consent)"
                } else {
                    expression_for(&e.field)
                };
                issue.expression = Some(at.to_owned());
                issue
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests;
