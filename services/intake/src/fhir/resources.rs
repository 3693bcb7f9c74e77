//! The resources of a message read into the parts of a referral request: the `Patient`
//! (person), the `ServiceRequest`'s needs, the requesting practitioner, the `Consent`
//! (read for [`crate::consent::decide`]).

use linkway_events::common::SNOMED;
use serde_json::Value;

use linkway_events::referral::LegalBasis;

use super::message::{Entries, extension};
use super::{EXT_INTERPRETER, EXT_SHARE_DETAILS, LEGAL_BASIS_SYSTEM, NHS_NUMBER_SYSTEM};
use crate::consent::{ConsentRead, ConsentStatus, Period, Provision, Reading, Record, legal_basis};
use crate::validation::{
    AddressInput, CodingInput, NeedsInput, PersonInput, PractitionerInput, parse_date,
};

pub(super) fn person(p: &Value) -> PersonInput {
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

pub(super) fn needs(sr: &Value) -> NeedsInput {
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

pub(super) fn practitioner(index: &Entries<'_>, requester: &Value) -> Option<PractitionerInput> {
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

/// Consent and lawful basis as a FHIR `Consent` reads (see [`crate::consent`] for the
/// decision):
/// - `status` is the person's answer: `active` agreed, `rejected` refused; other statuses
///   are not in force;
/// - `provision.type` `deny` refuses; an active Consent without `provision.type` permits;
///   nested provisions (exceptions) are not read, so a Consent with any is refused;
/// - `provision.period` must cover today (`YYYY-MM-DD`, or a dateTime whose date is read);
/// - `policyRule` must hold a coding of Linkway's lawful-basis CodeSystem
///   ([`LEGAL_BASIS_SYSTEM`], published as `schemas/fhir/CodeSystem-linkway-lawful-basis.json`);
///   anything else is unknown, and no coding at all is missing, never a default;
/// - the `share-details-with-referrer` extension (boolean) defaults to false: only codes go
///   back to the referrer.
pub(super) fn consent_read(consent: Option<&Value>) -> ConsentRead {
    let Some(c) = consent else {
        return ConsentRead {
            basis: Reading::Absent,
            record: None,
        };
    };
    let code = |v: &Value| match v {
        Value::Null => Reading::Absent,
        Value::String(s) if s.trim().is_empty() => Reading::Absent,
        Value::String(s) => Reading::Known(s.trim().to_owned()),
        _ => Reading::Unknown,
    };
    let status = match code(&c["status"]) {
        Reading::Known(s) => ConsentStatus::parse(&s).map_or(Reading::Unknown, Reading::Known),
        Reading::Absent => Reading::Absent,
        Reading::Unknown => Reading::Unknown,
    };
    // Nested provisions (exceptions to the rule) are not read, so a Consent that has them
    // is not in a form Linkway can decide on: refused, never read as its top level alone.
    let nested = !c["provision"]["provision"].is_null();
    let provision = match code(&c["provision"]["type"]) {
        _ if nested => Reading::Unknown,
        Reading::Known(t) => match t.as_str() {
            "permit" => Reading::Known(Provision::Permit),
            "deny" => Reading::Known(Provision::Deny),
            _ => Reading::Unknown,
        },
        Reading::Absent => Reading::Known(Provision::Permit),
        Reading::Unknown => Reading::Unknown,
    };
    let period = match &c["provision"]["period"] {
        Value::Null => Reading::Absent,
        p => {
            let date = |v: &Value| match v {
                Value::Null => Ok(None),
                Value::String(s) => s
                    .get(..10)
                    .filter(|_| s.len() == 10 || s.as_bytes()[10] == b'T')
                    .and_then(parse_date)
                    .map(Some)
                    .ok_or(()),
                _ => Err(()),
            };
            match (date(&p["start"]), date(&p["end"])) {
                (Ok(start), Ok(end)) => Reading::Known(Period { start, end }),
                _ => Reading::Unknown,
            }
        }
    };
    let basis = {
        let all: Vec<(Option<&str>, Option<&str>)> = c["policyRule"]["coding"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|k| (k["system"].as_str(), k["code"].as_str()))
            .collect();
        let ours: Vec<Option<LegalBasis>> = all
            .iter()
            .filter(|(system, _)| *system == Some(LEGAL_BASIS_SYSTEM))
            .map(|(_, code)| code.and_then(legal_basis))
            .collect();
        match ours.as_slice() {
            [] if all.is_empty() => Reading::Absent,
            [Some(b)] => Reading::Known(*b),
            _ => Reading::Unknown,
        }
    };
    let share_details = match extension(c, EXT_SHARE_DETAILS) {
        None => Reading::Known(false),
        Some(e) => e["valueBoolean"]
            .as_bool()
            .map_or(Reading::Unknown, Reading::Known),
    };
    ConsentRead {
        basis,
        record: Some(Record {
            status,
            provision,
            period,
            share_details,
        }),
    }
}
