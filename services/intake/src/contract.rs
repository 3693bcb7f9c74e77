//! The OpenAPI document says what validation enforces, from the same constants: each text
//! field's `maxLength` and `pattern` from its [`Text`] rule, each choice's `enum`, list
//! bounds, the query parameters' bounds and the `Idempotency-Key` format. A required field
//! is not nullable (null is refused as `required`); a required text needs a visible
//! character (blank is refused). Applied to the generated document as a utoipa modifier,
//! so the Rust types stay the one description of the shapes.
//!
//! What a schema cannot say stays in the descriptions and is refused with a 422 naming the
//! field and rule: check digits (NHS number Modulus 11, SNOMED CT Verhoeff), dates in the
//! future, a name without a letter, a FHIR message's references and sender, the consent
//! decision (see [`crate::consent`]).

use linkway_platform::text::Text;
use serde_json::{Value, json};
use utoipa::openapi::OpenApi;

use crate::command::REASON;
use crate::consent::{ConsentStatus, LEGAL_BASES};
use crate::form::FIELDS;
use crate::read_model::Status;
use crate::self_referral::request::CONTACT_METHODS;
use crate::validation::{ADDRESS_LINE, CODE, FREE_TEXT, NAME, SHORT_TEXT, VERIFICATION_STATUSES};

/// `(schema, property, rule)` of every text field a person types in the JSON API.
const TEXTS: &[(&str, &str, Text)] = &[
    ("ReferralRequest", "referrer_organisation_id", SHORT_TEXT),
    ("ReferralRequest", "notes", FREE_TEXT),
    ("PersonCorrectionRequest", "needs_text", FREE_TEXT),
    ("PersonCorrectionRequest", "notes", FREE_TEXT),
    ("PersonInput", "nhs_number", CODE),
    ("PersonInput", "given_name", NAME),
    ("PersonInput", "family_name", NAME),
    ("PersonInput", "birth_date", CODE),
    ("PersonInput", "phone", CODE),
    ("PersonInput", "email", CODE),
    ("PersonInput", "language", CODE),
    ("PersonInput", "accessibility_needs", FREE_TEXT),
    ("PersonInput", "gender", SHORT_TEXT),
    ("PersonInput", "ethnicity", SHORT_TEXT),
    ("AddressInput", "postcode", CODE),
    ("NeedsInput", "text", FREE_TEXT),
    ("CodingInput", "system", CODE),
    ("CodingInput", "code", CODE),
    ("CodingInput", "display", SHORT_TEXT),
    ("PractitionerInput", "name", NAME),
    ("PractitionerInput", "role", SHORT_TEXT),
    ("PractitionerInput", "phone", CODE),
    ("PractitionerInput", "email", CODE),
    ("ReasonRequest", "reason", REASON),
    ("RouteRequest", "link_worker_organisation_id", CODE),
    ("SelfReferralRequest", "given_name", NAME),
    ("SelfReferralRequest", "family_name", NAME),
    ("SelfReferralRequest", "birth_date", CODE),
    ("SelfReferralRequest", "postcode", CODE),
    ("SelfReferralRequest", "phone", CODE),
    ("SelfReferralRequest", "email", CODE),
    ("SelfReferralRequest", "nhs_number", CODE),
    ("SelfReferralRequest", "what_matters", FREE_TEXT),
];

/// White space the text rule trims (Unicode `White_Space`), as a regex class: what Python
/// and ECMA call `\s`, but for the four separators U+001C-U+001F, which are not trimmed.
const WS: &str = "[^\\S\\u001C-\\u001F]*";

/// The format of a value checked after the text rule, as a pattern (trimmed white space
/// around it allowed); what a pattern cannot say (check digits, real dates, how many
/// digits a phone number has) is refused with its own rule.
fn format(kind: &str) -> Option<String> {
    let body = match kind {
        "nhs_number" => "(?:[0-9]{10}|[0-9]{3} [0-9]{3} [0-9]{4})",
        "birth_date" => "[0-9]{4}-[0-9]{2}-[0-9]{2}",
        "postcode" => "[A-Za-z]{1,2}[0-9][A-Za-z0-9]? ?[0-9][A-Za-z]{2}",
        "phone" => "\\+?[0-9][0-9 ()-]{5,24}",
        "email" => {
            "[A-Za-z0-9._%+'!#$&*=?^`{|}~-]{1,64}@[A-Za-z0-9-]{1,63}(?:\\.[A-Za-z0-9-]{1,63})+"
        }
        "language" => "[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*",
        "code" => "[1-9][0-9]{5,17}",
        "idempotency_key" => "[!-~]{1,255}",
        _ => return None,
    };
    Some(format!("^{WS}{body}{WS}$"))
}

/// The format kind of a JSON property or form control, if it has one.
fn format_of(name: &str) -> Option<String> {
    let kind = match name {
        "practitioner_phone" => "phone",
        "practitioner_email" => "email",
        "need" | "other_need_code" => "code",
        n => n,
    };
    format(kind)
}

/// The one-line exclusions of the text rule, for a first visible character.
const NOT_VISIBLE: &str =
    "\\s\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069\\uFDD0-\\uFDEF\\uFFFE\\uFFFF";

/// The choices of the request, by `(schema, property)`.
fn choices() -> Vec<(&'static str, &'static str, Vec<&'static str>)> {
    vec![
        ("ReferralRequest", "urgency", vec!["routine", "urgent"]),
        (
            "ReferralRequest",
            "legal_basis",
            LEGAL_BASES.iter().map(|(c, _)| *c).collect(),
        ),
        (
            "PersonInput",
            "preferred_contact_method",
            vec!["phone", "email", "letter", "text"],
        ),
        (
            "PersonInput",
            "nhs_number_verification",
            VERIFICATION_STATUSES.to_vec(),
        ),
        ("ConsentInput", "status", ConsentStatus::CODES.to_vec()),
        (
            "SelfReferralRequest",
            "preferred_contact_method",
            CONTACT_METHODS.to_vec(),
        ),
    ]
}

/// The form's required controls (the token may come as a bearer header instead).
const FORM_REQUIRED: [&str; 12] = [
    "given_name",
    "family_name",
    "birth_date",
    "address_line1",
    "postcode",
    "preferred_contact_method",
    "urgency",
    "safeguarding_concern",
    "legal_basis",
    "referral_agreed",
    "share_details",
    "practitioner_name",
];

/// The form post as an object: its fields, their rules and choices; no other field.
fn form_schema() -> Value {
    let mut properties = serde_json::Map::new();
    for name in FIELDS {
        let rule = match name {
            "given_name" | "family_name" | "practitioner_name" => NAME,
            "address_line1" | "address_line2" | "address_line3" => ADDRESS_LINE,
            "accessibility_needs" | "needs_text" | "notes" => FREE_TEXT,
            "referrer_organisation_id" | "gender" | "ethnicity" | "practitioner_role" => SHORT_TEXT,
            _ => CODE,
        };
        let mut p = json!({"type": "string"});
        text(&mut p, rule, FORM_REQUIRED.contains(&name));
        if let Some(f) = format_of(name) {
            // Blank is absent in a form: the format or nothing.
            p["pattern"] = json!(if FORM_REQUIRED.contains(&name) {
                f
            } else {
                format!("(?:{f})|^{WS}$")
            });
        }
        let choices: Option<Vec<&str>> = match name {
            "safeguarding_concern" | "referral_agreed" | "share_details" => Some(vec!["yes", "no"]),
            "interpreter_needed" => Some(vec!["yes"]),
            "urgency" => Some(vec!["routine", "urgent"]),
            "legal_basis" => Some(LEGAL_BASES.iter().map(|(c, _)| *c).collect()),
            "preferred_contact_method" => Some(vec!["phone", "email", "letter", "text"]),
            "consent_status" => Some(ConsentStatus::CODES.to_vec()),
            _ => None,
        };
        if let Some(mut c) = choices {
            if !FORM_REQUIRED.contains(&name) {
                c.push("");
            }
            p = json!({"type": "string", "enum": c});
        }
        properties.insert(name.to_owned(), p);
    }
    json!({
        "type": "object",
        "properties": properties,
        "required": FORM_REQUIRED,
        "additionalProperties": false,
    })
}

/// A FHIR message bundle's outer shape (what is inside is checked by the reader).
fn bundle_schema() -> Value {
    json!({
        "type": "object",
        "required": ["resourceType", "type", "entry"],
        "properties": {
            "resourceType": {"type": "string", "enum": ["Bundle"]},
            "type": {"type": "string", "enum": ["message"]},
            "id": {"type": "string"},
            "entry": {
                "type": "array",
                "minItems": 1,
                "prefixItems": [{
                    "type": "object",
                    "required": ["resource"],
                    "properties": {"resource": {
                        "type": "object",
                        "required": ["resourceType", "eventCoding"],
                        "properties": {"resourceType": {"type": "string", "enum": ["MessageHeader"]}},
                    }},
                }],
                "description": "The MessageHeader first (eventCoding servicerequest-request), then the resources it references: ServiceRequest, Patient, Practitioner(Role), Organization, Consent.",
                "items": {
                    "type": "object",
                    "required": ["resource"],
                    "properties": {
                        "fullUrl": {"type": "string"},
                        "resource": {
                            "type": "object",
                            "required": ["resourceType"],
                            "properties": {"resourceType": {"type": "string", "minLength": 1}},
                        },
                    },
                },
            },
        },
    })
}

/// The modifier that makes the document say what the code enforces.
pub struct Contract;

impl utoipa::Modify for Contract {
    fn modify(&self, openapi: &mut OpenApi) {
        let mut doc = serde_json::to_value(&*openapi).expect("the document serialises");
        apply(&mut doc);
        *openapi = serde_json::from_value(doc).expect("still an OpenAPI document");
    }
}

/// The changes, on the document as JSON.
pub fn apply(doc: &mut Value) {
    let schemas = &mut doc["components"]["schemas"];
    for (schema, property, rule) in TEXTS {
        let required = is_required(&schemas[*schema], property);
        let p = &mut schemas[*schema]["properties"][*property];
        text(p, *rule, required);
        let formatted = *schema != "CodingInput" || *property == "code";
        if let Some(f) = format_of(property).filter(|_| formatted) {
            // An optional value may be blank, which is absent.
            p["pattern"] = json!(if required {
                f
            } else {
                format!("(?:{f})|^{WS}$")
            });
        }
    }
    for (schema, property, options) in choices() {
        let required = is_required(&schemas[schema], property);
        let p = &mut schemas[schema]["properties"][property];
        let mut values: Vec<Value> = options.iter().map(|o| json!(o)).collect();
        if !required {
            // Optional: absent, null or blank all mean "not given".
            values.extend([json!(""), Value::Null]);
        }
        p["enum"] = Value::Array(values);
    }
    let lines = &mut schemas["AddressInput"]["properties"]["lines"];
    lines["minItems"] = json!(1);
    lines["maxItems"] = json!(6);
    text(&mut lines["items"], ADDRESS_LINE, false);
    schemas["NeedsInput"]["properties"]["codes"]["maxItems"] = json!(20);
    let own = &mut schemas["SelfReferralRequest"]["properties"];
    own["address_lines"]["maxItems"] = json!(6);
    text(&mut own["address_lines"]["items"], ADDRESS_LINE, false);
    // Only agreement is accepted; the honeypot only empty.
    own["agreed"]["enum"] = json!([true]);
    own["website"]["maxLength"] = json!(0);
    for schema in schemas
        .as_object_mut()
        .into_iter()
        .flat_map(|s| s.values_mut())
    {
        not_null_when_required(schema);
    }
    doc["paths"]["/form"]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]
        ["schema"] = form_schema();
    doc["paths"]["/fhir/$process-message"]["post"]["requestBody"]["content"]["application/fhir+json"]
        ["schema"] = bundle_schema();
    for item in doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|p| p.values_mut())
    {
        for op in item
            .as_object_mut()
            .into_iter()
            .flat_map(|o| o.values_mut())
        {
            for param in op["parameters"].as_array_mut().into_iter().flatten() {
                parameter(param);
            }
        }
    }
}

fn is_required(schema: &Value, property: &str) -> bool {
    schema["required"]
        .as_array()
        .is_some_and(|r| r.iter().any(|p| p == property))
}

/// A text field's bounds; a required one needs a visible character.
fn text(p: &mut Value, rule: Text, required: bool) {
    p["maxLength"] = json!(rule.max_chars);
    p["pattern"] = if required {
        json!(format!("^{WS}[^{NOT_VISIBLE}]{}", &rule.pattern()[1..]))
    } else {
        json!(rule.pattern())
    };
    if required {
        p["minLength"] = json!(1);
    }
}

/// Null is refused for a required property: drop it from the property's types.
fn not_null_when_required(schema: &mut Value) {
    let required: Vec<String> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_owned))
        .collect();
    for name in required {
        let p = &mut schema["properties"][&name];
        if let Some(types) = p["type"].as_array_mut() {
            types.retain(|t| t != "null");
            if types.len() == 1 {
                p["type"] = types[0].clone();
            }
        }
        if let Some(options) = p["oneOf"].as_array_mut() {
            options.retain(|o| o["type"] != "null");
            if options.len() == 1 {
                *p = options[0].clone();
            }
        }
        if let Some(values) = p["enum"].as_array_mut() {
            values.retain(|v| !v.is_null());
        }
    }
}

/// The bounds of the query and header parameters the handlers check.
fn parameter(param: &mut Value) {
    let name = param["name"].as_str().unwrap_or_default().to_owned();
    let schema = &mut param["schema"];
    match name.as_str() {
        "Idempotency-Key" => {
            schema["minLength"] = json!(1);
            schema["maxLength"] = json!(255);
            schema["pattern"] = json!("^[!-~]+$");
        }
        "limit" => {
            schema["minimum"] = json!(1);
            schema["maximum"] = json!(200);
        }
        "offset" | "min_sequence" => schema["minimum"] = json!(0),
        "status" => {
            let values: Vec<Value> = Status::ALL.iter().map(|s| json!(s.as_str())).collect();
            schema["type"] = json!("string");
            schema["enum"] = Value::Array(values);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;
