//! The FHIR R4 message that tells a referrer what became of a referral: a pure function of
//! the events (and of what the outbox kept of the referral from earlier ones).
//!
//! A BaRS-style `Bundle` of type `message`: a `MessageHeader` (`eventCoding`
//! `servicerequest-response` from BaRS's message events, `reason` `update`, `focus` the
//! `Task` that tracks the referral, `source` Linkway's intake, `destination` the sender's
//! endpoint `referral.received` kept as `reply_to`), then the `Task` (its `status` and a
//! coded `businessStatus`), the `ServiceRequest` it is about (Linkway's referral id as its
//! identifier), the `Patient`, and for an outcome measure an `Observation` per score.
//!
//! Codes: SNOMED CT where a national code exists (871731000000106 referral to social
//! prescribing service, when accepted; 871711000000103 social prescribing declined, when
//! the person declined; 718466001 SWEMWBS and 718426000 WEMWBS scores); everything else
//! from Linkway's own code systems under [`LINKWAY_SYSTEMS`] (`referral-update`,
//! `decline-reason`, `closure-reason`, `outcome-instrument`, `outcome-timepoint`), which a
//! receiver can file but which are not national codes.
//!
//! **Codes only** unless the person agreed to share details with the referrer
//! (`consent.share_details_with_referrer`) and is not erased: then the `Patient` carries
//! only the NHS number (which the referrer already holds, and which files the codes in the
//! right record), no name, no date of birth, no free text (what matters, goals), no
//! service names. Where they agreed, the Patient also carries name and date of birth (so a
//! receiving system can check the match) and a plan's "what matters" and goals go in the
//! Task's `note`. Community services' names are never sent: the referrer was not told
//! whom the person was connected to.
//!
//! The message id is a name-based UUID of the referral and the event (UUID version 8 over
//! SHA-256, RFC 9562's example of a name-based v8), used as the `Bundle.id` and the
//! `MessageHeader.id`, so the same event always gives the same id and a receiver can drop
//! a message it already has.

use linkway_events::Event;
use linkway_events::case::{CaseEvent, ClosureReason, DeclineReason, Timepoint};
use linkway_events::common::{
    SNOMED, SNOMED_REFERRAL_TO_SOCIAL_PRESCRIBING, SNOMED_SOCIAL_PRESCRIBING_DECLINED,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

/// The root of Linkway's own FHIR code systems.
pub const LINKWAY_SYSTEMS: &str = "https://linkway.example/fhir/CodeSystem";
/// SNOMED CT: Short Warwick-Edinburgh Mental Well-being Scale score.
pub const SNOMED_SWEMWBS: &str = "718466001";
/// SNOMED CT: Warwick-Edinburgh Mental Well-being Scale score.
pub const SNOMED_WEMWBS: &str = "718426000";
const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";
const MESSAGE_EVENTS: &str = "https://fhir.nhs.uk/CodeSystem/message-events-bars";
const MESSAGE_REASONS: &str = "https://fhir.nhs.uk/CodeSystem/message-reason-bars";

/// What the outbox keeps of one referral sent by FHIR, from `referral.received` on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Referral {
    pub referral_id: Uuid,
    pub referrer_organisation_id: String,
    /// The sender's endpoint (`MessageHeader.source.endpoint` of the referral).
    pub reply_to: String,
    /// The person agreed that details, not only codes, go back to the referrer.
    pub share_details: bool,
    pub link_worker_organisation_id: Option<String>,
    /// `None` once erased, or when this process could not open the details.
    pub person: Option<Person>,
    /// The person was erased: nothing of theirs is sent, or kept here, again.
    #[serde(default)]
    pub erased: bool,
}

/// Who the person is, as far as a message back may say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Person {
    pub nhs_number: Option<String>,
    pub given_name: String,
    pub family_name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
}

/// What happened that the referrer is told of.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    Accepted,
    Declined {
        reason: DeclineReason,
    },
    CouldNotContact {
        attempts: u32,
    },
    PlanAgreed {
        review_date: String,
        goal_count: u32,
        /// The person's words: sent only where they agreed to share details.
        what_matters: Option<String>,
        goals: Vec<String>,
    },
    OutcomeRecorded(Outcome),
    Closed {
        reason: ClosureReason,
    },
}

/// One outcome measure: numbers and codes, never the person's words (MYCaW's concerns).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub instrument: String,
    pub instrument_version: String,
    pub timepoint: Timepoint,
    pub item_answers: Vec<u8>,
    pub raw_score: Option<u32>,
    pub derived_score: Option<f64>,
}

impl Update {
    /// The update an event makes, if the referrer is told of it.
    pub fn of(event: &Event) -> Option<Update> {
        let Event::Case(c) = event else {
            return None;
        };
        Some(match c {
            CaseEvent::Accepted(_) => Update::Accepted,
            CaseEvent::Declined(d) => Update::Declined { reason: d.reason },
            CaseEvent::ContactAttempted(a) if a.could_not_contact => Update::CouldNotContact {
                attempts: a.attempt_number,
            },
            CaseEvent::PlanAgreed(p) => Update::PlanAgreed {
                review_date: date(p.review_date),
                goal_count: p.goal_count,
                what_matters: p.personal.as_ref().map(|p| p.what_matters.clone()),
                goals: p
                    .personal
                    .as_ref()
                    .map(|p| p.goals.clone())
                    .unwrap_or_default(),
            },
            CaseEvent::OutcomeRecorded(o) => Update::OutcomeRecorded(Outcome {
                instrument: o.instrument.clone(),
                instrument_version: o.instrument_version.clone(),
                timepoint: o.timepoint,
                item_answers: o.item_answers.clone(),
                raw_score: o.raw_score,
                derived_score: o.derived_score,
            }),
            CaseEvent::Closed(c) => Update::Closed { reason: c.reason },
            _ => return None,
        })
    }

    /// Its name in the outbox and in Linkway's `referral-update` code system.
    pub fn kind(&self) -> &'static str {
        match self {
            Update::Accepted => "accepted",
            Update::Declined { .. } => "declined",
            Update::CouldNotContact { .. } => "could_not_contact",
            Update::PlanAgreed { .. } => "plan_agreed",
            Update::OutcomeRecorded(_) => "outcome_recorded",
            Update::Closed { .. } => "closed",
        }
    }
}

/// The message id of the update event `event_id` makes on referral `referral_id`.
pub fn message_id(referral_id: Uuid, event_id: Uuid) -> Uuid {
    name_based(&[
        b"outbound-message",
        referral_id.as_bytes(),
        event_id.as_bytes(),
    ])
}

/// A UUID version 8 from the SHA-256 of the parts.
fn name_based(parts: &[&[u8]]) -> Uuid {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u32).to_be_bytes());
        hash.update(part);
    }
    let digest = hash.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

fn date(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}

fn coding(system: &str, code: &str, display: &str) -> Value {
    json!({"system": system, "code": code, "display": display})
}

fn linkway(system: &str, code: &str) -> Value {
    json!({"system": format!("{LINKWAY_SYSTEMS}/{system}"), "code": code})
}

/// The wire name of a unit-like enum value.
fn wire<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        other => format!("{other:?}"),
    }
}

/// The message telling the referrer of `update`, recorded at `at`.
pub fn bundle(referral: &Referral, update: &Update, id: Uuid, at: OffsetDateTime) -> Value {
    let details = referral.share_details && !referral.erased;
    let rid = referral.referral_id;
    let task_id = name_based(&[b"task", rid.as_bytes()]);
    let patient_id = name_based(&[b"patient", rid.as_bytes()]);
    let at = at.format(&Rfc3339).unwrap_or_default();
    let (status, business) = task_status(update);
    let mut task = json!({
        "resourceType": "Task",
        "id": task_id.to_string(),
        "identifier": [{"system": format!("{LINKWAY_SYSTEMS}/referral-id"), "value": rid.to_string()}],
        "status": status,
        "businessStatus": {"coding": business},
        "intent": "order",
        "code": {"coding": [linkway("referral-update", update.kind())]},
        "focus": {"reference": format!("urn:uuid:{rid}")},
        "for": {"reference": format!("urn:uuid:{patient_id}")},
        "lastModified": at,
        "requester": {"identifier": {"system": format!("{LINKWAY_SYSTEMS}/organisation-id"), "value": referral.referrer_organisation_id}},
    });
    if let Some(lw) = &referral.link_worker_organisation_id {
        task["owner"] = json!({"identifier": {"system": format!("{LINKWAY_SYSTEMS}/organisation-id"), "value": lw}});
    }
    let mut entries = Vec::new();
    let mut outputs = Vec::new();
    match update {
        Update::CouldNotContact { attempts } => {
            outputs.push(json!({"type": {"coding": [linkway("task-output", "contact-attempts")]}, "valueInteger": attempts}));
        }
        Update::PlanAgreed {
            review_date,
            goal_count,
            what_matters,
            goals,
        } => {
            outputs.push(json!({"type": {"coding": [linkway("task-output", "goal-count")]}, "valueInteger": goal_count}));
            outputs.push(json!({"type": {"coding": [linkway("task-output", "review-date")]}, "valueDate": review_date}));
            if details {
                let mut notes: Vec<Value> = what_matters
                    .iter()
                    .map(|w| json!({"text": format!("What matters: {w}")}))
                    .collect();
                notes.extend(goals.iter().map(|g| json!({"text": format!("Goal: {g}")})));
                if !notes.is_empty() {
                    task["note"] = Value::Array(notes);
                }
            }
        }
        Update::OutcomeRecorded(o) => {
            let obs_id = name_based(&[b"observation", id.as_bytes()]);
            outputs.push(json!({"type": {"coding": [linkway("task-output", "outcome-measure")]}, "valueReference": {"reference": format!("urn:uuid:{obs_id}")}}));
            entries.push(entry(obs_id, observation(o, obs_id, patient_id, &at)));
        }
        _ => {}
    }
    if !outputs.is_empty() {
        task["output"] = Value::Array(outputs);
    }
    let header = json!({
        "resourceType": "MessageHeader",
        "id": id.to_string(),
        "eventCoding": {"system": MESSAGE_EVENTS, "code": "servicerequest-response"},
        "reason": {"coding": [{"system": MESSAGE_REASONS, "code": "update"}]},
        "destination": [{"endpoint": referral.reply_to}],
        "source": {"name": "Linkway intake", "software": "Linkway", "version": env!("CARGO_PKG_VERSION"), "endpoint": "urn:linkway:intake"},
        "focus": [{"reference": format!("urn:uuid:{task_id}")}],
    });
    let request = json!({
        "resourceType": "ServiceRequest",
        "id": rid.to_string(),
        "identifier": [{"system": format!("{LINKWAY_SYSTEMS}/referral-id"), "value": rid.to_string()}],
        "status": service_request_status(update),
        "intent": "order",
        "code": {"coding": [coding(SNOMED, SNOMED_REFERRAL_TO_SOCIAL_PRESCRIBING, "Referral to social prescribing service")]},
        "subject": {"reference": format!("urn:uuid:{patient_id}")},
    });
    let mut list = vec![
        entry(id, header),
        entry(task_id, task),
        entry(rid, request),
        entry(patient_id, patient(referral, patient_id, details)),
    ];
    list.extend(entries);
    json!({
        "resourceType": "Bundle",
        "id": id.to_string(),
        "type": "message",
        "timestamp": at,
        "entry": list,
    })
}

fn entry(id: Uuid, resource: Value) -> Value {
    json!({"fullUrl": format!("urn:uuid:{id}"), "resource": resource})
}

/// The Task's `status` and coded `businessStatus`.
fn task_status(update: &Update) -> (&'static str, Vec<Value>) {
    match update {
        Update::Accepted => (
            "accepted",
            vec![coding(
                SNOMED,
                SNOMED_REFERRAL_TO_SOCIAL_PRESCRIBING,
                "Referral to social prescribing service",
            )],
        ),
        Update::Declined { reason } => {
            let mut codes = Vec::new();
            if *reason == DeclineReason::PersonDeclined {
                codes.push(coding(
                    SNOMED,
                    SNOMED_SOCIAL_PRESCRIBING_DECLINED,
                    "Social prescribing declined",
                ));
            }
            codes.push(linkway("decline-reason", &wire(reason)));
            ("rejected", codes)
        }
        Update::CouldNotContact { .. } => (
            "failed",
            vec![linkway("referral-update", "could_not_contact")],
        ),
        Update::PlanAgreed { .. } => (
            "in-progress",
            vec![linkway("referral-update", "plan_agreed")],
        ),
        Update::OutcomeRecorded(_) => (
            "in-progress",
            vec![linkway("referral-update", "outcome_recorded")],
        ),
        Update::Closed { reason } => ("completed", vec![linkway("closure-reason", &wire(reason))]),
    }
}

fn service_request_status(update: &Update) -> &'static str {
    match update {
        Update::Declined { .. } | Update::CouldNotContact { .. } => "revoked",
        Update::Closed { .. } => "completed",
        _ => "active",
    }
}

/// The Patient: the NHS number only, unless the person agreed to share details.
fn patient(referral: &Referral, id: Uuid, details: bool) -> Value {
    let mut patient = json!({"resourceType": "Patient", "id": id.to_string()});
    let Some(person) = referral.person.as_ref().filter(|_| !referral.erased) else {
        return patient;
    };
    if let Some(nhs) = &person.nhs_number {
        patient["identifier"] = json!([{"system": NHS_NUMBER_SYSTEM, "value": nhs}]);
    }
    if details {
        patient["name"] = json!([{"use": "official", "family": person.family_name, "given": [person.given_name]}]);
        patient["birthDate"] = json!(person.birth_date);
    }
    patient
}

/// An outcome measure as an Observation: the instrument's SNOMED CT score code where there
/// is one (else Linkway's `outcome-instrument` code), the derived score (else the raw one)
/// as the value, and the raw score, the timepoint and each item's answer as components.
fn observation(o: &Outcome, id: Uuid, patient: Uuid, at: &str) -> Value {
    let instrument = o.instrument.to_ascii_lowercase();
    let code = match instrument.as_str() {
        "swemwbs" => coding(
            SNOMED,
            SNOMED_SWEMWBS,
            "Short Warwick-Edinburgh Mental Well-being Scale score",
        ),
        "wemwbs" => coding(
            SNOMED,
            SNOMED_WEMWBS,
            "Warwick-Edinburgh Mental Well-being Scale score",
        ),
        other => linkway("outcome-instrument", other),
    };
    let mut components = vec![json!({
        "code": {"coding": [linkway("outcome-component", "timepoint")]},
        "valueCodeableConcept": {"coding": [linkway("outcome-timepoint", &wire(&o.timepoint))]},
    })];
    if let (Some(raw), Some(_)) = (o.raw_score, o.derived_score) {
        components.push(json!({"code": {"coding": [linkway("outcome-component", "raw-score")]}, "valueInteger": raw}));
    }
    components.extend(o.item_answers.iter().enumerate().map(|(i, a)| {
        json!({"code": {"coding": [linkway("outcome-component", &format!("item-{}", i + 1))]}, "valueInteger": a})
    }));
    let mut obs = json!({
        "resourceType": "Observation",
        "id": id.to_string(),
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "survey"}]}],
        "code": {"coding": [code]},
        "subject": {"reference": format!("urn:uuid:{patient}")},
        "effectiveDateTime": at,
        "method": {"coding": [linkway("outcome-instrument-version", &format!("{instrument}-{}", o.instrument_version))]},
        "component": components,
    });
    match (o.derived_score, o.raw_score) {
        (Some(d), _) => obs["valueQuantity"] = json!({"value": d}),
        (None, Some(r)) => obs["valueQuantity"] = json!({"value": r}),
        (None, None) => {}
    }
    obs
}

#[cfg(test)]
mod tests;
