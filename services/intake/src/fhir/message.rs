//! Reading a message `Bundle`: its header (what the audit log keeps even of a refused
//! message), the bundle's entries by reference, and [`read_message`], which checks the
//! message is a supported, self-contained referral and reads it into a [`ReferralRequest`].

use std::collections::HashMap;

use linkway_events::common::{SNOMED, SNOMED_REFERRAL_TO_SOCIAL_PRESCRIBING};
use linkway_platform::text::Text;
use serde_json::Value;

use super::resources::{consent_read, needs, person, practitioner};
use super::{EVENT_SERVICE_REQUEST, EXT_SAFEGUARDING, Issue, ODS_SYSTEM, Refusal};
use crate::consent::ConsentRead;
use crate::validation::ReferralRequest;

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
    /// Everything but consent and lawful basis, which are in [`Message::consent`].
    pub request: ReferralRequest,
    /// The `Consent` resource, read for the decision.
    pub consent: ConsentRead,
    /// The index of the `Consent` entry, to name its elements in refusals.
    pub consent_entry: Option<usize>,
}

/// The header's strings (ids, the sender's identifier, the reply endpoint, the software):
/// kept in the audit log and used to find the sender, so one line without control
/// characters, like any text.
const HEADER_TEXT: Text = Text::line(2000);

/// A header string as kept: cleaned, or `None` when absent, blank or not storable text
/// (which [`read_message`] refuses).
fn header_text(v: &Value) -> Option<String> {
    v.as_str().and_then(|v| HEADER_TEXT.clean(v).ok().flatten())
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
    // Only what is storable text is kept: a refused message's header is logged too.
    let s = header_text;
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
pub(super) struct Entries<'a> {
    by_reference: HashMap<String, &'a Value>,
}

impl<'a> Entries<'a> {
    fn new(entries: &'a [Value]) -> Entries<'a> {
        let mut by_reference = HashMap::new();
        for e in entries {
            let resource = &e["resource"];
            if let Some(full) = e["fullUrl"].as_str() {
                by_reference.insert(full.to_owned(), resource);
            }
            if let (Some(t), Some(id)) =
                (resource["resourceType"].as_str(), resource["id"].as_str())
            {
                by_reference.insert(format!("{t}/{id}"), resource);
            }
        }
        Entries { by_reference }
    }

    pub(super) fn resolve(&self, reference: &Value) -> Option<&'a Value> {
        reference["reference"]
            .as_str()
            .and_then(|r| self.by_reference.get(r).copied())
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
                format!("the message event is not supported: Linkway receives '{EVENT_SERVICE_REQUEST}' (referrals to social prescribing)"),
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
                "the message reason is not supported: only new referrals",
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
                        "the message's focus is {}, not a ServiceRequest: Linkway receives referrals only",
                        // A FHIR type name is said back; anything else the sender put there is not.
                        r["resourceType"]
                            .as_str()
                            .filter(|t| t.len() <= 64 && t.bytes().all(|b| b.is_ascii_alphabetic()))
                            .map_or("another resource".to_owned(), |t| format!("a {t}"))
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

    // Every element intake reads has the JSON type FHIR gives it.
    issues.extend(super::types::check(entries));

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
    if source_endpoint
        .as_deref()
        .is_none_or(|e| e.trim().is_empty())
    {
        issues.push(
            Issue::error(
                "required",
                "MessageHeader.source.endpoint is needed for replies",
            )
            .at("MessageHeader.source.endpoint")
            .rule("required"),
        );
    }
    // What is kept of the header (the audit log, the reply endpoint, the message's key) is
    // text like any other.
    for (value, at) in [
        (bundle["id"].as_str(), "Bundle.id"),
        (header["id"].as_str(), "MessageHeader.id"),
        (
            sender.as_ref().map(|s| s.value.as_str()),
            "MessageHeader.sender",
        ),
        (source_endpoint.as_deref(), "MessageHeader.source.endpoint"),
        (
            header["source"]["software"].as_str(),
            "MessageHeader.source.software",
        ),
    ] {
        if let Some(Err(e)) = value.map(|v| HEADER_TEXT.clean(v)) {
            issues.push(
                Issue::error("value", format!("{at} {e}"))
                    .at(at)
                    .rule(e.rule()),
            );
        }
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
    let consent_entry = entries
        .iter()
        .position(|e| e["resource"]["resourceType"] == "Consent");
    Ok(Message {
        bundle_id: header_text(&bundle["id"]),
        header_id: header_text(&header["id"]),
        sender: sender
            .map(|s| SenderIdentifier {
                value: HEADER_TEXT
                    .clean(&s.value)
                    .ok()
                    .flatten()
                    .unwrap_or_default(),
                ..s
            })
            .expect("checked above"),
        source_endpoint: header_text(&header["source"]["endpoint"]).expect("checked above"),
        source_software: header_text(&header["source"]["software"]),
        request,
        consent: consent_read(consent_entry.map(|i| &entries[i]["resource"])),
        consent_entry,
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
pub(super) fn codings(concept: &Value) -> impl Iterator<Item = (&str, &str)> {
    concept["coding"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| Some((c["system"].as_str()?, c["code"].as_str()?)))
}

pub(super) fn extension<'a>(resource: &'a Value, url: &str) -> Option<&'a Value> {
    resource["extension"]
        .as_array()?
        .iter()
        .find(|e| e["url"] == url)
}
