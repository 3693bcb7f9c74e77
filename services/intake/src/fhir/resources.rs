//! The resources of a message read into the parts of a referral request: the `Patient`
//! (person), the `ServiceRequest`'s needs, the requesting practitioner, the `Consent`.

use linkway_events::common::SNOMED;
use serde_json::Value;

use super::message::{Entries, codings, extension};
use super::{EXT_INTERPRETER, EXT_SHARE_DETAILS, NHS_NUMBER_SYSTEM};
use crate::validation::{
    AddressInput, CodingInput, ConsentInput, NeedsInput, PersonInput, PractitionerInput,
    ReferralRequest,
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

pub(super) fn with_consent(
    mut request: ReferralRequest,
    consent: Option<&Value>,
) -> ReferralRequest {
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
