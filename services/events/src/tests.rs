//! Contract tests: the Rust types here and the JSON Schemas, examples and AsyncAPI document
//! in `schemas/` describe the same events.
//!
//! - every catalogue entry has a schema and an example, and nothing else is in `schemas/`;
//! - the schemas are valid 2020-12 schemas, self-contained, closed (`additionalProperties:
//!   false`) and declare no field the Rust types never write;
//! - examples validate, decode and re-encode to the same JSON;
//! - Rust-built events (hand-written samples and proptest-generated ones) validate;
//! - a field is required by a schema exactly when serde requires it;
//! - the decoder refuses unknown types, unknown versions and bad data;
//! - the AsyncAPI document names every event and all its references resolve;
//! - superseded versions keep their schemas and examples, and upcast to valid current ones
//!   (`upcasting`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use jsonschema::Validator;
use proptest::prelude::*;
use serde_json::{Value, json};
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::case::{
    CaseAccepted, CaseAssigned, CaseClosed, CaseDeclined, ClosureReason, ContactAttempted,
    ContactChannel, ContactMade, ContactOutcome, ContactPersonal, DeclineReason, OutcomeRecorded,
    PlanAgreed, PlanPersonal, Timepoint,
};
use crate::common::{Coding, SNOMED, SNOMED_REFERRAL_TO_SOCIAL_PRESCRIBING};
use crate::referral::{
    Address, Consent, ContactMethod, LegalBasis, Person, Practitioner, ReferralEnteredInError,
    ReferralPersonal, ReferralReceived, ReferralRouted, ReferralUnroutable, ReferralWithdrawn,
    SourceChannel, Urgency,
};
use crate::registry::{
    OrganisationKind, OrganisationRegistered, RoutingCriterion, RoutingRuleAdded,
    RoutingRuleRemoved, TokenIssued, TokenRevoked,
};
use crate::{Actor, DecodeError, Envelope, Event, Role, aggregate_kind_of, write_versions};

#[cfg(feature = "openapi")]
mod openapi;
mod subjects;
mod upcasting;
mod upcasting_connection_declined;
mod upcasting_contact_attempted;
mod upcasting_organisation_services;
mod upcasting_outcome_personal;
mod upcasting_reply_to;
mod upcasting_service_kind;
mod upcasting_token_expiry;
mod users;
mod write_versions_pinned;

const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";
const SCHEMA_BASE: &str = "https://schemas.linkway.example/";

// ------------------------------------------------------------------------------------------
// Loading the schemas

fn schemas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

fn read_json(path: &Path) -> Value {
    let text =
        fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn file_name(event_type: &str, version: u32) -> String {
    format!("{event_type}.v{version}.json")
}

fn event_schema_path(event_type: &str, version: u32) -> PathBuf {
    schemas_dir()
        .join("events")
        .join(file_name(event_type, version))
}

fn example_path(event_type: &str, version: u32) -> PathBuf {
    schemas_dir()
        .join("examples")
        .join(file_name(event_type, version))
}

/// A draft 2020-12 validator that also checks `format` (uuid, date, date-time, email ...).
fn compile(schema: &Value) -> Validator {
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(schema)
        .unwrap_or_else(|e| panic!("schema does not compile: {e}"))
}

struct Contract {
    envelope: Validator,
    events: BTreeMap<(String, u32), Validator>,
}

/// The compiled schemas, once per test binary.
fn contract() -> &'static Contract {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    CONTRACT.get_or_init(|| Contract {
        envelope: compile(&read_json(&schemas_dir().join("envelope.v1.json"))),
        events: all_versions()
            .into_iter()
            .map(|(t, v)| {
                (
                    (t.to_owned(), v),
                    compile(&read_json(&event_schema_path(t, v))),
                )
            })
            .collect(),
    })
}

fn event_validator(event_type: &str, version: u32) -> &'static Validator {
    contract()
        .events
        .get(&(event_type.to_owned(), version))
        .unwrap_or_else(|| panic!("no schema for {event_type} v{version}"))
}

fn errors(validator: &Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at `{}`", e, e.instance_path()))
        .collect()
}

#[track_caller]
fn assert_valid(validator: &Validator, instance: &Value, what: &str) {
    let errors = errors(validator, instance);
    assert!(
        errors.is_empty(),
        "{what} does not validate:\n  {}\n{instance:#}",
        errors.join("\n  ")
    );
}

/// Validates an event's data against its schema and checks it decodes back to the same event.
#[track_caller]
fn assert_contract(event: &Event) {
    let (t, v) = (event.type_name(), event.version());
    let data = event.to_data();
    assert_valid(event_validator(t, v), &data, &format!("{t} v{v} data"));
    let decoded = Event::decode(t, v, data.clone())
        .unwrap_or_else(|e| panic!("{t} v{v} does not decode: {e}"));
    assert_eq!(&decoded, event, "{t} v{v} does not round-trip");
    assert_eq!(decoded.to_data(), data);

    let envelope = Envelope::new(
        aggregate_id_of(t, &data),
        event,
        Actor::system(),
        Uuid::now_v7(),
        OffsetDateTime::now_utc(),
    )
    .with_causation(Uuid::now_v7());
    let json: Value = serde_json::from_slice(&envelope.to_vec()).expect("envelope JSON");
    assert_valid(&contract().envelope, &json, &format!("{t} v{v} envelope"));
}

/// The envelope's `aggregate_id` an event's data implies.
fn aggregate_id_of(event_type: &str, data: &Value) -> String {
    let field = match aggregate_kind_of(event_type) {
        "referral" | "case" => "referral_id",
        "organisation" => "organisation_id",
        "routing_rule" => "rule_id",
        "token" => "token_id",
        "user" => "user_id",
        "person" => "referral_id",
        "audit" => return subjects::READING_ORG.to_owned(),
        other => panic!("unknown aggregate kind {other}"),
    };
    data[field]
        .as_str()
        .unwrap_or_else(|| panic!("{event_type} has no {field}"))
        .to_owned()
}

/// Every `(type, version)` with a schema: what this code writes, and the superseded versions
/// it still reads from old logs.
fn all_versions() -> Vec<(&'static str, u32)> {
    let mut all = Event::catalogue();
    all.extend(Event::superseded());
    all
}

/// The version this code writes for `event_type`.
fn current_version(event_type: &str) -> u32 {
    Event::catalogue()
        .into_iter()
        .find(|(t, _)| *t == event_type)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("{event_type} is not in the catalogue"))
}

fn is_superseded(event_type: &str, version: u32) -> bool {
    Event::superseded().contains(&(event_type, version))
}

fn catalogue_files() -> BTreeSet<String> {
    all_versions()
        .into_iter()
        .map(|(t, v)| file_name(t, v))
        .collect()
}

fn json_files_in(dir: &str) -> BTreeSet<String> {
    fs::read_dir(schemas_dir().join(dir))
        .unwrap_or_else(|e| panic!("cannot list schemas/{dir}: {e}"))
        .map(|entry| entry.expect("directory entry").file_name())
        .map(|name| name.into_string().expect("UTF-8 file name"))
        .collect()
}

// ------------------------------------------------------------------------------------------
// Walking JSON

/// Calls `f` on every sub-value of `value` with its JSON pointer, `value` itself first.
fn walk<'v>(value: &'v Value, pointer: &str, f: &mut impl FnMut(&str, &'v Value)) {
    f(pointer, value);
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let escaped = key.replace('~', "~0").replace('/', "~1");
                walk(child, &format!("{pointer}/{escaped}"), f);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk(child, &format!("{pointer}/{i}"), f);
            }
        }
        _ => {}
    }
}

/// Pointers to every object member in `value` (at any depth).
fn member_pointers(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(value, "", &mut |pointer, v| {
        if let Value::Object(map) = v {
            out.extend(map.keys().map(|k| format!("{pointer}/{k}")));
        }
    });
    out
}

fn without_member(value: &Value, pointer: &str) -> Value {
    let (parent, key) = pointer.rsplit_once('/').expect("a member pointer");
    let mut copy = value.clone();
    copy.pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .expect("parent object")
        .remove(key)
        .expect("member present");
    copy
}

/// Field paths in an instance, with array indices as `*`: `/needs/*/code`.
fn instance_paths(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let path = format!("{prefix}/{key}");
                out.insert(path.clone());
                instance_paths(child, &path, out);
            }
        }
        Value::Array(items) => {
            for child in items {
                instance_paths(child, &format!("{prefix}/*"), out);
            }
        }
        _ => {}
    }
}

/// Field paths a schema declares, following local `$ref`s, `items` and `oneOf`/`anyOf`/`allOf`.
fn schema_paths(root: &Value, node: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
        let target = reference
            .strip_prefix('#')
            .and_then(|p| root.pointer(p))
            .unwrap_or_else(|| panic!("unresolvable $ref {reference}"));
        schema_paths(root, target, prefix, out);
    }
    if let Some(properties) = node.get("properties").and_then(Value::as_object) {
        for (key, child) in properties {
            let path = format!("{prefix}/{key}");
            out.insert(path.clone());
            schema_paths(root, child, &path, out);
        }
    }
    if let Some(items) = node.get("items") {
        schema_paths(root, items, &format!("{prefix}/*"), out);
    }
    for keyword in ["oneOf", "anyOf", "allOf"] {
        for branch in node
            .get(keyword)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            schema_paths(root, branch, prefix, out);
        }
    }
}

// ------------------------------------------------------------------------------------------
// NHS numbers

/// The Modulus 11 check digit of an NHS number's first nine digits; `None` when there is
/// none (such numbers are never issued).
fn nhs_check_digit(first_nine: &[u8]) -> Option<u8> {
    let sum: u32 = first_nine
        .iter()
        .zip((2..=10u32).rev())
        .map(|(&d, weight)| u32::from(d) * weight)
        .sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        check => Some(check as u8),
    }
}

fn nhs_number_is_valid(number: &str) -> bool {
    let digits: Vec<u8> = number.bytes().map(|b| b.wrapping_sub(b'0')).collect();
    digits.len() == 10
        && digits.iter().all(|&d| d < 10)
        && nhs_check_digit(&digits[..9]) == Some(digits[9])
}

#[test]
fn nhs_check_digit_follows_modulus_11() {
    assert!(nhs_number_is_valid("9990000018"));
    assert!(nhs_number_is_valid("9990012342"));
    assert!(!nhs_number_is_valid("9990012343"));
    assert!(!nhs_number_is_valid("999001234"));
    // 999000000: check digit 10, so no valid number starts so.
    assert_eq!(nhs_check_digit(&[9, 9, 9, 0, 0, 0, 0, 0, 0]), None);
}

// ------------------------------------------------------------------------------------------
// Hand-written samples

fn uuid(s: &str) -> Uuid {
    Uuid::parse_str(s).expect("a literal UUID")
}

const REFERRAL_ID: &str = "0195606d-9db4-7c1e-a3f0-5b7e21c4d901";
const GP: &str = "meadowbank-surgery";
const LINK_WORKER_ORG: &str = "northfield-connect";

fn sample_person() -> Person {
    Person {
        nhs_number: Some("9990024685".into()),
        nhs_number_verification: Some("number-present-and-verified".into()),
        given_name: "Sam".into(),
        family_name: "Madeup-Person".into(),
        birth_date: date!(1948 - 11 - 02),
        address: Address {
            lines: vec!["3 Pretend Gardens".into(), "Leeds".into()],
            postcode: "LS6 9ZY".into(),
        },
        phone: Some("07700 900456".into()),
        email: Some("sam.madeup@example.org".into()),
        preferred_contact_method: ContactMethod::Letter,
        language: Some("pl".into()),
        interpreter_needed: true,
        accessibility_needs: Some("Large print letters".into()),
        gender: Some("male".into()),
        ethnicity: Some("White - any other White background".into()),
    }
}

fn sample_referral_received() -> ReferralReceived {
    ReferralReceived {
        referral_id: uuid(REFERRAL_ID),
        referrer_organisation_id: GP.into(),
        practitioner: Practitioner {
            name: "Nurse Alex Standin".into(),
            role: Some("Practice nurse".into()),
            phone: Some("+44 113 496 0456".into()),
            email: Some("alex.standin@meadowbank-surgery.example".into()),
        },
        source_channel: SourceChannel::Fhir,
        needs: vec![
            Coding::snomed("422650009", "Social isolation"),
            Coding {
                system: SNOMED.into(),
                code: SNOMED_REFERRAL_TO_SOCIAL_PRESCRIBING.into(),
                display: None,
            },
        ],
        urgency: Urgency::Urgent,
        safeguarding_concern: true,
        legal_basis: LegalBasis::ExplicitConsent,
        consent: Consent {
            referral_agreed: true,
            share_details_with_referrer: false,
        },
        postcode_district: "LS6".into(),
        age_band: "75-84".into(),
        personal: Some(ReferralPersonal {
            person: sample_person(),
            needs_text: Some("Recently bereaved, not eating well.".into()),
            notes: Some("Daughter helps with letters.".into()),
        }),
        reply_to: Some("https://meadowbank.example/fhir/replies".into()),
    }
}

/// The least a referral can carry: every optional field absent.
fn minimal_referral_received() -> ReferralReceived {
    ReferralReceived {
        referral_id: uuid("0195606e-0000-7000-8000-000000000001"),
        referrer_organisation_id: "harbour_housing".into(),
        practitioner: Practitioner {
            name: "Housing officer Lee Notreal".into(),
            role: None,
            phone: None,
            email: None,
        },
        source_channel: SourceChannel::Web,
        needs: vec![],
        urgency: Urgency::Routine,
        safeguarding_concern: false,
        legal_basis: LegalBasis::VitalInterests,
        consent: Consent {
            referral_agreed: false,
            share_details_with_referrer: false,
        },
        postcode_district: "BD23".into(),
        age_band: "85+".into(),
        personal: Some(ReferralPersonal {
            person: Person {
                nhs_number: None,
                nhs_number_verification: None,
                given_name: "Pat".into(),
                family_name: "Invented".into(),
                birth_date: date!(1931 - 02 - 28),
                address: Address {
                    lines: vec![],
                    postcode: "BD23 9ZZ".into(),
                },
                phone: None,
                email: None,
                preferred_contact_method: ContactMethod::Phone,
                language: None,
                interpreter_needed: false,
                accessibility_needs: None,
                gender: None,
                ethnicity: None,
            },
            needs_text: None,
            notes: None,
        }),
        reply_to: None,
    }
}

/// At least one realistic value of every event, with every optional field set in at least
/// one of them.
fn sample_events() -> Vec<Event> {
    let referral = uuid(REFERRAL_ID);
    let rule = uuid("01948c1a-4f00-7a11-9c22-0d3e4f5a6b7c");
    let token = uuid("01948c1d-0b30-7b44-8d55-1e2f3a4b5c6d");
    vec![
        sample_referral_received().into(),
        minimal_referral_received().into(),
        ReferralRouted {
            referral_id: referral,
            link_worker_organisation_id: LINK_WORKER_ORG.into(),
            rule_id: Some(rule),
        }
        .into(),
        ReferralRouted {
            referral_id: referral,
            link_worker_organisation_id: LINK_WORKER_ORG.into(),
            rule_id: None,
        }
        .into(),
        ReferralUnroutable {
            referral_id: referral,
            reason: "no rule for postcode district BD23".into(),
        }
        .into(),
        ReferralWithdrawn {
            referral_id: referral,
            reason: "Referred to the practice's own health coach instead".into(),
        }
        .into(),
        ReferralEnteredInError {
            referral_id: referral,
            reason: "Test referral sent to live".into(),
        }
        .into(),
        CaseAccepted {
            referral_id: referral,
            link_worker_organisation_id: LINK_WORKER_ORG.into(),
        }
        .into(),
        CaseDeclined {
            referral_id: referral,
            link_worker_organisation_id: LINK_WORKER_ORG.into(),
            reason: DeclineReason::PersonDeclined,
            reason_code: Some(Coding::snomed(
                crate::common::SNOMED_SOCIAL_PRESCRIBING_DECLINED,
                "Social prescribing declined",
            )),
        }
        .into(),
        CaseDeclined {
            referral_id: referral,
            link_worker_organisation_id: LINK_WORKER_ORG.into(),
            reason: DeclineReason::OutOfArea,
            reason_code: None,
        }
        .into(),
        CaseAssigned {
            referral_id: referral,
            link_worker_id: "lw-sam-demo".into(),
        }
        .into(),
        ContactAttempted {
            referral_id: referral,
            channel: ContactChannel::Text,
            outcome: ContactOutcome::MessageSent,
            attempt_number: 2,
            could_not_contact: false,
        }
        .into(),
        ContactAttempted {
            referral_id: referral,
            channel: ContactChannel::Phone,
            outcome: ContactOutcome::NotRecorded,
            attempt_number: 3,
            could_not_contact: true,
        }
        .into(),
        ContactMade {
            referral_id: referral,
            channel: ContactChannel::Video,
            minutes: 40,
            personal: Some(ContactPersonal {
                notes: "Talked about the walking group; wants to try it with a friend.".into(),
            }),
        }
        .into(),
        ContactMade {
            referral_id: referral,
            channel: ContactChannel::FaceToFace,
            minutes: 15,
            personal: None,
        }
        .into(),
        PlanAgreed {
            referral_id: referral,
            review_date: date!(2025 - 06 - 30),
            goal_count: 1,
            personal: Some(PlanPersonal {
                what_matters: "Feeling useful again.".into(),
                goals: vec!["Volunteer one morning a week".into()],
                actions: vec!["Visit the volunteer centre together".into()],
            }),
        }
        .into(),
        OutcomeRecorded {
            referral_id: referral,
            instrument: "ons4".into(),
            instrument_version: "2011".into(),
            algorithm_version: 1,
            timepoint: Timepoint::Review,
            item_answers: vec![6, 7, 5, 4],
            raw_score: None,
            derived_score: None,
            personal: None,
        }
        .into(),
        OutcomeRecorded {
            referral_id: referral,
            instrument: "mycaw".into(),
            instrument_version: "mycaw-v1".into(),
            algorithm_version: 1,
            timepoint: Timepoint::Baseline,
            item_answers: vec![5, 4, 3],
            raw_score: None,
            derived_score: Some(4.0),
            personal: Some(crate::case::OutcomePersonal {
                concerns: vec!["Getting out on my own".into(), "Money worries".into()],
            }),
        }
        .into(),
        OutcomeRecorded {
            referral_id: referral,
            instrument: "swemwbs".into(),
            instrument_version: "1".into(),
            algorithm_version: 2,
            timepoint: Timepoint::Exit,
            item_answers: vec![4, 4, 3, 4, 3, 4, 4],
            raw_score: Some(26),
            derived_score: Some(23.21),
            personal: None,
        }
        .into(),
        CaseClosed {
            referral_id: referral,
            reason: ClosureReason::CouldNotContact,
        }
        .into(),
        crate::case::PlanReviewed {
            referral_id: referral,
            next_review_date: date!(2025 - 08 - 01),
            goal_count: 2,
            personal: Some(PlanPersonal {
                what_matters: "Feeling useful again.".into(),
                goals: vec![
                    "Volunteer two mornings a week".into(),
                    "Walk to the shops".into(),
                ],
                actions: vec![],
            }),
        }
        .into(),
        crate::case::ConnectionMade {
            referral_id: referral,
            connection_id: uuid("0195a1c2-7e10-7d3a-9f4b-2c1d0e9f8a7b"),
            service_id: "ac148810-d857-441c-9679-408f346de14b".into(),
            service_name: "Community Counselling".into(),
            service_kind: Some("mental health and wellbeing".into()),
            legal_basis: Some(crate::referral::LegalBasis::ExplicitConsent),
            shared: vec![
                crate::case::SharedDetail::Name,
                crate::case::SharedDetail::Phone,
            ],
        }
        .into(),
        crate::case::ConnectionMade {
            referral_id: referral,
            connection_id: uuid("0195a1c2-7e10-7d3a-9f4b-2c1d0e9f8a7c"),
            service_id: "walk-1".into(),
            service_name: "Walking group".into(),
            service_kind: None,
            legal_basis: None,
            shared: vec![],
        }
        .into(),
        crate::case::ConnectionAccepted {
            referral_id: referral,
            connection_id: uuid("0195a1c2-7e10-7d3a-9f4b-2c1d0e9f8a7b"),
        }
        .into(),
        crate::case::ConnectionDeclined {
            referral_id: referral,
            connection_id: uuid("0195a1c2-7e10-7d3a-9f4b-2c1d0e9f8a7b"),
            reason: crate::case::ConnectionDeclineReason::NoCapacity,
        }
        .into(),
        crate::case::ConnectionReminded {
            referral_id: referral,
            connection_id: uuid("0195a1c2-7e10-7d3a-9f4b-2c1d0e9f8a7b"),
        }
        .into(),
        crate::case::ConnectionAttended {
            referral_id: referral,
            connection_id: uuid("0195a1c2-7e10-7d3a-9f4b-2c1d0e9f8a7b"),
        }
        .into(),
        crate::case::SafeguardingRaised {
            referral_id: referral,
            personal: Some(crate::case::SafeguardingPersonal {
                concern: "Says a relative takes their pension.".into(),
            }),
        }
        .into(),
        crate::case::AppointmentBooked {
            referral_id: referral,
            appointment_id: uuid("0195a1c2-7e10-7d3a-9f4b-2c1d0e9f8a90"),
            starts_at: datetime!(2025-03-13 10:30 UTC),
            minutes: 45,
            channel: crate::case::ContactChannel::FaceToFace,
            personal: Some(crate::case::AppointmentPersonal {
                place: "Northfield Community Centre".into(),
            }),
        }
        .into(),
        crate::case::AppointmentMoved {
            referral_id: referral,
            appointment_id: uuid("0195a1c2-7e10-7d3a-9f4b-2c1d0e9f8a90"),
            starts_at: datetime!(2025-03-14 14:00 UTC),
            minutes: 30,
            channel: crate::case::ContactChannel::Phone,
            personal: Some(crate::case::AppointmentPersonal {
                place: "Northfield Library".into(),
            }),
        }
        .into(),
        crate::case::AppointmentCancelled {
            referral_id: referral,
            appointment_id: uuid("0195a1c2-7e10-7d3a-9f4b-2c1d0e9f8a90"),
            reason: crate::case::AppointmentCancelReason::PersonCancelled,
        }
        .into(),
        OrganisationRegistered {
            organisation_id: GP.into(),
            name: "Meadowbank Surgery (demo)".into(),
            kind: OrganisationKind::GpPractice,
            code: Some("Y99901".into()),
            commissioner_area: Some("ZZ1".into()),
            link_worker_service: false,
            directory_services: Vec::new(),
        }
        .into(),
        OrganisationRegistered {
            organisation_id: "harbour_housing".into(),
            name: "Harbour Housing (demo)".into(),
            kind: OrganisationKind::HousingAssociation,
            code: None,
            commissioner_area: None,
            link_worker_service: true,
            directory_services: Vec::new(),
        }
        .into(),
        OrganisationRegistered {
            organisation_id: "northfield-walking".into(),
            name: "Northfield Walking for Health (demo)".into(),
            kind: OrganisationKind::CommunityService,
            code: None,
            commissioner_area: None,
            link_worker_service: false,
            directory_services: vec!["svc-walking-group".into(), "svc-tai-chi".into()],
        }
        .into(),
        RoutingRuleAdded {
            rule_id: rule,
            link_worker_organisation_id: LINK_WORKER_ORG.into(),
            criterion: RoutingCriterion::ReferringOrganisation {
                organisation_id: GP.into(),
            },
            priority: -5,
        }
        .into(),
        RoutingRuleAdded {
            rule_id: rule,
            link_worker_organisation_id: LINK_WORKER_ORG.into(),
            criterion: RoutingCriterion::PostcodeDistrict {
                district: "LS16".into(),
            },
            priority: 10,
        }
        .into(),
        RoutingRuleRemoved { rule_id: rule }.into(),
        TokenIssued {
            token_id: token,
            organisation_id: LINK_WORKER_ORG.into(),
            role: Role::LinkWorker,
            user_id: Some("lw-sam-demo".into()),
            secret_sha256: "3f".repeat(32),
            label: Some("Caseload web UI".into()),
            expires_at: Some(datetime!(2025-08-06 09:00:00 UTC)),
            replaces: Some(crate::registry::Replaced {
                token_id: Uuid::from_u128(0x0194_8408_8b20_73c4_a9e9_d6c5_875d_37a4),
                stops_at: datetime!(2025-05-09 09:00:00.5 +01:00),
            }),
        }
        .into(),
        TokenIssued {
            token_id: token,
            organisation_id: "icb-demo".into(),
            role: Role::Commissioner,
            user_id: None,
            secret_sha256: "0a".repeat(32),
            label: None,
            expires_at: None,
            replaces: None,
        }
        .into(),
        TokenRevoked { token_id: token }.into(),
    ]
    .into_iter()
    .chain(users::samples())
    .chain(subjects::samples())
    .collect()
}

fn sample_types() -> BTreeSet<(&'static str, u32)> {
    sample_events()
        .iter()
        .map(|e| (e.type_name(), e.version()))
        .collect()
}

// ------------------------------------------------------------------------------------------
// Files: one schema and one example per catalogue entry, nothing else

#[test]
fn catalogue_entries_are_unique_and_well_named() {
    let catalogue = Event::catalogue();
    let unique: BTreeSet<_> = catalogue.iter().collect();
    assert_eq!(unique.len(), catalogue.len(), "duplicate catalogue entry");
    for (t, v) in catalogue {
        assert!(v >= 1, "{t}: versions start at 1");
        let (kind, name) = t.split_once('.').expect("`<kind>.<name>`");
        assert_eq!(aggregate_kind_of(t), kind);
        assert!(
            [kind, name]
                .iter()
                .all(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')),
            "{t}: lower case and `_` only"
        );
    }
}

#[test]
fn every_catalogue_entry_has_a_schema_and_an_example() {
    for (t, v) in all_versions() {
        assert!(event_schema_path(t, v).is_file(), "no schema for {t} v{v}");
        assert!(example_path(t, v).is_file(), "no example for {t} v{v}");
    }
}

#[test]
fn no_schema_or_example_without_a_catalogue_entry() {
    let expected = catalogue_files();
    for dir in ["events", "examples"] {
        let found = json_files_in(dir);
        let extra: Vec<_> = found.difference(&expected).collect();
        assert!(
            extra.is_empty(),
            "schemas/{dir} has files for no catalogue entry: {extra:?}"
        );
        let missing: Vec<_> = expected.difference(&found).collect();
        assert!(missing.is_empty(), "schemas/{dir} lacks {missing:?}");
    }
}

// ------------------------------------------------------------------------------------------
// The schemas themselves

fn all_schema_files() -> Vec<(PathBuf, String)> {
    let mut files = vec![(
        schemas_dir().join("envelope.v1.json"),
        "envelope.v1.json".to_owned(),
    )];
    for name in catalogue_files() {
        files.push((
            schemas_dir().join("events").join(&name),
            format!("events/{name}"),
        ));
    }
    files
}

#[test]
fn schemas_are_valid_2020_12_with_id_title_and_description() {
    for (path, relative) in all_schema_files() {
        let schema = read_json(&path);
        if let Err(e) = jsonschema::draft202012::meta::validate(&schema) {
            panic!("{relative} is not a valid 2020-12 schema: {e}");
        }
        assert_eq!(schema["$schema"], DRAFT_2020_12, "{relative}: $schema");
        assert_eq!(
            schema["$id"],
            format!("{SCHEMA_BASE}{relative}"),
            "{relative}: $id"
        );
        for keyword in ["title", "description"] {
            assert!(
                schema[keyword]
                    .as_str()
                    .is_some_and(|s| !s.trim().is_empty()),
                "{relative}: no {keyword}"
            );
        }
        assert_eq!(
            schema["type"], "object",
            "{relative}: top level is an object"
        );
    }
}

#[test]
fn schemas_are_self_contained_and_closed() {
    for (path, relative) in all_schema_files() {
        let schema = read_json(&path);
        walk(&schema, "", &mut |pointer, node| {
            let Value::Object(map) = node else { return };
            if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
                let target = reference.strip_prefix('#').and_then(|p| schema.pointer(p));
                assert!(
                    target.is_some(),
                    "{relative}{pointer}: $ref {reference} is not a local reference that resolves"
                );
            }
            // Objects are closed so that a misspelt field is an error, except the envelope's
            // `data`, which each event's own schema describes.
            let is_object_schema = map.get("type") == Some(&json!("object"));
            let is_envelope_data = relative == "envelope.v1.json" && pointer == "/properties/data";
            if is_object_schema && !is_envelope_data {
                assert_eq!(
                    map.get("additionalProperties"),
                    Some(&json!(false)),
                    "{relative}{pointer}: object without additionalProperties: false"
                );
                assert!(
                    map.contains_key("properties"),
                    "{relative}{pointer}: object without properties"
                );
            }
        });
    }
}

/// The schema of a property after following one local `$ref`.
fn resolved<'s>(root: &'s Value, node: &'s Value) -> &'s Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference
            .strip_prefix('#')
            .and_then(|p| root.pointer(p))
            .expect("local $ref"),
        None => node,
    }
}

#[test]
fn personal_parts_are_described_as_encryptable_and_erasable() {
    let mut with_personal = BTreeSet::new();
    for (t, v) in all_versions() {
        let schema = read_json(&event_schema_path(t, v));
        let Some(personal) = schema["properties"].get("personal") else {
            continue;
        };
        with_personal.insert(t);
        let description = personal
            .get("description")
            .or_else(|| resolved(&schema, personal).get("description"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_lowercase();
        assert!(
            description.contains("encryptable") && description.contains("erasable"),
            "{t}: `personal` must be described as the encryptable, erasable part: {description:?}"
        );
        assert_eq!(
            resolved(&schema, personal)["type"],
            "object",
            "{t}: personal is an object"
        );
    }
    // The events whose payload says something about the person.
    for t in [
        "referral.received",
        "case.contact_made",
        "case.plan_agreed",
        "case.outcome_recorded",
    ] {
        assert!(with_personal.contains(t), "{t} has no `personal`");
    }
}

#[test]
fn schemas_declare_no_field_the_rust_types_never_write() {
    let mut written: BTreeMap<(&str, u32), BTreeSet<String>> = BTreeMap::new();
    for event in sample_events() {
        instance_paths(
            &event.to_data(),
            "",
            written
                .entry((event.type_name(), event.version()))
                .or_default(),
        );
    }
    // Superseded versions: what older Linkway wrote, as the upcasting tests rebuild it.
    for (t, v, data) in upcasting::superseded_samples() {
        instance_paths(&data, "", written.entry((t, v)).or_default());
    }
    for (t, v) in all_versions() {
        let schema = read_json(&event_schema_path(t, v));
        let mut declared = BTreeSet::new();
        schema_paths(&schema, &schema, "", &mut declared);
        // Written by the event store's vault, not by these types: its tests cover it.
        declared.remove("/personal_sealed");
        let written = written.get(&(t, v)).cloned().unwrap_or_default();
        let unknown: Vec<_> = declared.difference(&written).collect();
        assert!(
            unknown.is_empty(),
            "{t} v{v}: the schema declares fields no Rust-built sample writes: {unknown:?}"
        );
        // The other direction (Rust writes a field the schema lacks) fails validation,
        // because every object is closed: see `rust_built_samples_validate_and_round_trip`.
    }
}

// ------------------------------------------------------------------------------------------
// Examples

/// Every example: current versions and superseded ones.
fn examples() -> Vec<(&'static str, u32, Value)> {
    all_versions()
        .into_iter()
        .map(|(t, v)| (t, v, read_json(&example_path(t, v))))
        .collect()
}

#[test]
fn examples_validate_decode_and_round_trip() {
    for (t, v, example) in examples() {
        let what = format!("examples/{}", file_name(t, v));
        assert_valid(&contract().envelope, &example, &what);
        assert_eq!(example["type"], t, "{what}: type");
        assert_eq!(example["version"], v, "{what}: version");
        assert_valid(
            event_validator(t, v),
            &example["data"],
            &format!("{what} data"),
        );

        let bytes = serde_json::to_vec(&example).expect("JSON");
        let envelope =
            Envelope::from_slice(&bytes).unwrap_or_else(|e| panic!("{what}: not an envelope: {e}"));
        let event = envelope
            .event()
            .unwrap_or_else(|e| panic!("{what}: does not decode: {e}"));
        // A superseded version decodes as the current one, its data upcast; a current
        // version's data round-trips unchanged.
        let current = current_version(t);
        assert!(v == current || is_superseded(t, v), "{what}: version");
        assert_eq!((event.type_name(), event.version()), (t, current), "{what}");
        let (_, upcast) = crate::upcast::upcast(t, v, &example["data"]);
        assert_eq!(
            &event.to_data(),
            upcast.as_ref(),
            "{what}: data does not round-trip"
        );

        let reencoded: Value = serde_json::from_slice(&envelope.to_vec()).expect("JSON");
        assert_eq!(reencoded, example, "{what}: envelope does not round-trip");

        assert_eq!(
            example["aggregate_id"].as_str(),
            Some(aggregate_id_of(t, &example["data"]).as_str()),
            "{what}: aggregate_id is the aggregate's id in data"
        );
        assert!(
            envelope.occurred_at <= envelope.recorded_at,
            "{what}: occurred after it was recorded"
        );
        assert_eq!(
            envelope.event_id.get_version_num(),
            7,
            "{what}: event_id is a UUID v7"
        );
    }
}

/// Values in `personal` that identify someone must not appear anywhere else in the event.
#[test]
fn examples_keep_identifying_data_inside_personal() {
    let identifying = [
        "nhs_number",
        "given_name",
        "family_name",
        "birth_date",
        "postcode",
        "phone",
        "email",
        "lines",
    ];
    let mut checked = 0;
    for (t, v, example) in examples() {
        let Some(personal) = example["data"].get("personal") else {
            continue;
        };
        let mut secrets = Vec::new();
        walk(personal, "", &mut |pointer, value| {
            let field = pointer.rsplit('/').find(|s| s.parse::<usize>().is_err());
            if field.is_some_and(|f| identifying.contains(&f))
                && let Some(s) = value.as_str()
            {
                secrets.push(s.to_owned());
            }
        });
        let rest = without_member(&example, "/data/personal").to_string();
        for secret in &secrets {
            assert!(
                !rest.contains(secret.as_str()),
                "{t} v{v}: {secret:?} appears outside `personal`"
            );
        }
        if let Some(nhs) = personal["person"]["nhs_number"].as_str() {
            assert!(
                nhs.starts_with("999"),
                "{t}: example NHS numbers are from the 999 test range"
            );
            assert!(
                nhs_number_is_valid(nhs),
                "{t}: example NHS number {nhs} fails Modulus 11"
            );
        }
        checked += secrets.len();
    }
    assert!(checked > 0, "no identifying data found to check");

    // No 10-digit number (an NHS number) anywhere outside `personal`.
    for (t, v, example) in examples() {
        let rest = match example["data"].get("personal") {
            Some(_) => without_member(&example, "/data/personal"),
            None => example.clone(),
        };
        walk(&rest, "", &mut |pointer, value| {
            if let Some(s) = value.as_str() {
                let digits = s.chars().filter(char::is_ascii_digit).count();
                assert!(
                    !(s.len() == 10 && digits == 10),
                    "{t} v{v}{pointer}: looks like an NHS number outside `personal`"
                );
            }
        });
    }
}

// ------------------------------------------------------------------------------------------
// Rust-built events

#[test]
fn samples_cover_the_catalogue() {
    let catalogue: BTreeSet<_> = Event::catalogue().into_iter().collect();
    assert_eq!(
        sample_types(),
        catalogue,
        "sample_events() must cover the catalogue exactly"
    );
}

#[test]
fn rust_built_samples_validate_and_round_trip() {
    for event in sample_events() {
        assert_contract(&event);
    }
}

#[test]
fn dates_are_iso_calendar_dates_on_the_wire() {
    let plan = Event::from(PlanAgreed {
        referral_id: uuid(REFERRAL_ID),
        review_date: date!(2025 - 01 - 09),
        goal_count: 0,
        personal: Some(PlanPersonal {
            what_matters: "x".into(),
            goals: vec![],
            actions: vec![],
        }),
    });
    assert_eq!(plan.to_data()["review_date"], "2025-01-09");
    let referral = Event::from(sample_referral_received());
    assert_eq!(
        referral.to_data()["personal"]["person"]["birth_date"],
        "1948-11-02"
    );
}

#[test]
fn envelope_times_are_rfc3339() {
    let event = Event::from(CaseClosed {
        referral_id: uuid(REFERRAL_ID),
        reason: ClosureReason::GoalsMet,
    });
    let mut envelope = Envelope::new(
        REFERRAL_ID,
        &event,
        Actor {
            organisation_id: LINK_WORKER_ORG.into(),
            user_id: Some("lw-sam-demo".into()),
            role: Role::LinkWorker,
        },
        Uuid::now_v7(),
        datetime!(2025-05-08 14:00:00.25 +01:00),
    );
    envelope.recorded_at = datetime!(2025-05-08 13:01:02 UTC);
    let json: Value = serde_json::from_slice(&envelope.to_vec()).expect("JSON");
    assert_eq!(json["occurred_at"], "2025-05-08T14:00:00.25+01:00");
    assert_eq!(json["recorded_at"], "2025-05-08T13:01:02Z");
    assert!(json.get("causation_id").is_none(), "absent, not null");
    assert_valid(&contract().envelope, &json, "envelope");
}

/// A schema requires a field exactly when serde does: removing any one field from a valid
/// payload is refused by the schema if and only if it is refused by the Rust decoder.
#[test]
fn schemas_require_exactly_what_serde_requires() {
    let mut payloads: Vec<(&str, u32, Value)> = examples()
        .into_iter()
        .map(|(t, v, example)| (t, v, example["data"].clone()))
        .collect();
    payloads.extend(
        sample_events()
            .iter()
            .map(|e| (e.type_name(), e.version(), e.to_data())),
    );
    let mut disagreements = Vec::new();
    let mut checked = 0;
    for (t, v, data) in payloads {
        let validator = event_validator(t, v);
        for pointer in member_pointers(&data) {
            let reduced = without_member(&data, &pointer);
            let schema_accepts = validator.is_valid(&reduced);
            let rust_accepts = Event::decode(t, v, reduced).is_ok();
            if schema_accepts != rust_accepts {
                disagreements.push(format!(
                    "{t} v{v} without {pointer}: schema {}, Rust {}",
                    if schema_accepts { "accepts" } else { "refuses" },
                    if rust_accepts { "accepts" } else { "refuses" },
                ));
            }
            checked += 1;
        }
    }
    assert!(checked > 100);
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

// ------------------------------------------------------------------------------------------
// Negative cases

/// The example data of the version this code writes.
fn example_data(event_type: &str) -> Value {
    read_json(&example_path(event_type, current_version(event_type)))["data"].clone()
}

#[track_caller]
fn assert_refused(event_type: &str, data: &Value, why: &str) {
    assert!(
        !event_validator(event_type, current_version(event_type)).is_valid(data),
        "{event_type}: the schema should refuse {why}:\n{data:#}"
    );
}

#[test]
fn every_schema_refuses_a_missing_required_field_and_an_unknown_field() {
    for (t, v) in all_versions() {
        let schema = read_json(&event_schema_path(t, v));
        let data = read_json(&example_path(t, v))["data"].clone();
        let required = schema["required"].as_array().expect("required fields");
        assert!(!required.is_empty(), "{t}: requires nothing");
        for field in required {
            let field = field.as_str().expect("field name");
            let reduced = without_member(&data, &format!("/{field}"));
            assert!(
                !event_validator(t, v).is_valid(&reduced),
                "{t}: {field} is optional"
            );
            assert!(
                matches!(
                    Event::decode(t, v, reduced),
                    Err(DecodeError::InvalidData { .. })
                ),
                "{t}: Rust decodes without {field}"
            );
        }
        let mut extended = data.clone();
        extended["unexpected_field"] = json!("surprise");
        assert!(
            !event_validator(t, v).is_valid(&extended),
            "{t}: accepts an unknown field"
        );
    }
}

#[test]
fn schemas_refuse_misspelt_nested_fields() {
    let mut data = example_data("referral.received");
    data["personal"]["person"]["nhs_numbr"] = json!("9990012342");
    assert_refused(
        "referral.received",
        &data,
        "a misspelt field in personal.person",
    );

    let mut data = example_data("referral.received");
    data["needs"][0]["dispaly"] = json!("Social isolation");
    assert_refused("referral.received", &data, "a misspelt field in a coding");

    let mut data = example_data("routing_rule.added");
    data["criterion"]["postcode"] = json!("LS6");
    assert_refused("routing_rule.added", &data, "a misspelt criterion field");
}

#[test]
fn schemas_refuse_values_out_of_contract() {
    let cases: Vec<(&str, &str, Value, &str)> = vec![
        (
            "referral.received",
            "/personal/person/nhs_number",
            json!("999001234"),
            "a 9-digit NHS number",
        ),
        (
            "referral.received",
            "/personal/person/nhs_number",
            json!("999 001 2342"),
            "a spaced NHS number",
        ),
        (
            "referral.received",
            "/personal/person/birth_date",
            json!("17/05/1961"),
            "a non-ISO date",
        ),
        (
            "referral.received",
            "/personal/person/birth_date",
            json!("1961-02-30"),
            "an impossible date",
        ),
        (
            "referral.received",
            "/personal/person/email",
            json!("not an email"),
            "a bad email",
        ),
        (
            "referral.received",
            "/personal/person/preferred_contact_method",
            json!("pigeon"),
            "an unknown contact method",
        ),
        (
            "referral.received",
            "/personal/person/interpreter_needed",
            Value::Null,
            "null for a boolean",
        ),
        (
            "referral.received",
            "/source_channel",
            json!("API"),
            "an enum value in the wrong case",
        ),
        (
            "referral.received",
            "/urgency",
            json!("asap"),
            "an unknown urgency",
        ),
        (
            "referral.received",
            "/legal_basis",
            json!("consent"),
            "an unknown legal basis",
        ),
        (
            "referral.received",
            "/postcode_district",
            json!("LS6 9ZZ"),
            "a full postcode as the district",
        ),
        (
            "referral.received",
            "/age_band",
            json!("sixties"),
            "a free-text age band",
        ),
        (
            "referral.received",
            "/referral_id",
            json!("not-a-uuid"),
            "a referral id that is no UUID",
        ),
        (
            "referral.received",
            "/referrer_organisation_id",
            json!("meadowbank.surgery"),
            "a dot in an organisation id",
        ),
        (
            "referral.received",
            "/needs/0/code",
            json!("social-isolation"),
            "a non-numeric SNOMED code",
        ),
        (
            "referral.received",
            "/needs/0/code",
            json!("12345"),
            "a too short SNOMED code",
        ),
        (
            "case.outcome_recorded",
            "/item_answers/0",
            json!(11),
            "an answer above 10",
        ),
        (
            "case.outcome_recorded",
            "/item_answers/0",
            json!(-1),
            "a negative answer",
        ),
        (
            "case.outcome_recorded",
            "/item_answers/0",
            json!(2.5),
            "a fractional answer",
        ),
        (
            "case.outcome_recorded",
            "/item_answers",
            json!([]),
            "no answers",
        ),
        (
            "case.outcome_recorded",
            "/timepoint",
            json!("midpoint"),
            "an unknown timepoint",
        ),
        (
            "case.outcome_recorded",
            "/raw_score",
            json!(-3),
            "a negative raw score",
        ),
        (
            "case.outcome_recorded",
            "/raw_score",
            Value::Null,
            "null for an absent score",
        ),
        (
            "case.contact_attempted",
            "/attempt_number",
            json!(0),
            "attempt number 0",
        ),
        (
            "case.contact_made",
            "/channel",
            json!("carrier_pigeon"),
            "an unknown channel",
        ),
        (
            "case.contact_made",
            "/minutes",
            json!(4_294_967_296_u64),
            "minutes beyond u32",
        ),
        (
            "case.plan_agreed",
            "/review_date",
            json!("2025-05-08T00:00:00Z"),
            "a date-time for a date",
        ),
        (
            "case.declined",
            "/reason",
            json!("busy"),
            "an unknown decline reason",
        ),
        (
            "case.closed",
            "/reason",
            json!("finished"),
            "an unknown closure reason",
        ),
        (
            "routing_rule.added",
            "/criterion/kind",
            json!("gp_practice"),
            "an unknown criterion kind",
        ),
        (
            "routing_rule.added",
            "/priority",
            json!(2_147_483_648_i64),
            "a priority beyond i32",
        ),
        (
            "token.issued",
            "/secret_sha256",
            json!("ABCDEF"),
            "a short, upper-case digest",
        ),
        (
            "token.issued",
            "/role",
            json!("superuser"),
            "an unknown role",
        ),
        (
            "organisation.registered",
            "/kind",
            json!("hospital"),
            "an unknown organisation kind",
        ),
    ];
    for (t, pointer, value, why) in cases {
        let mut data = example_data(t);
        let (parent, key) = pointer.rsplit_once('/').expect("a pointer");
        match data.pointer_mut(parent) {
            Some(Value::Object(map)) => {
                map.insert(key.to_owned(), value);
            }
            Some(Value::Array(items)) => items[key.parse::<usize>().expect("an index")] = value,
            _ => panic!("{t} example has no {parent}"),
        }
        assert_refused(t, &data, why);
    }

    // A criterion must be exactly one of the two shapes.
    let mut data = example_data("routing_rule.added");
    data["criterion"] = json!({"kind": "postcode_district", "organisation_id": GP});
    assert_refused(
        "routing_rule.added",
        &data,
        "a criterion mixing both shapes",
    );
}

#[test]
fn codings_of_other_systems_need_not_be_snomed() {
    let mut data = example_data("case.declined");
    data["reason_code"] = json!({"system": "https://codes.example.org/decline", "code": "PD"});
    assert!(event_validator("case.declined", 1).is_valid(&data));
    data["reason_code"] = json!({"code": "PD"});
    assert_refused(
        "case.declined",
        &data,
        "a non-SNOMED code with the system left to default",
    );
}

#[test]
fn envelope_schema_refuses_what_is_not_an_envelope() {
    let example = read_json(&example_path("referral.routed", 1));
    assert_valid(&contract().envelope, &example, "the routed example");
    let refused = |mutate: &dyn Fn(&mut Value), why: &str| {
        let mut envelope = example.clone();
        mutate(&mut envelope);
        assert!(
            !contract().envelope.is_valid(&envelope),
            "the envelope schema should refuse {why}"
        );
    };
    for field in [
        "event_id",
        "type",
        "version",
        "aggregate_id",
        "occurred_at",
        "recorded_at",
        "actor",
        "correlation_id",
        "data",
    ] {
        refused(
            &|e| {
                e.as_object_mut().expect("object").remove(field);
            },
            &format!("a missing {field}"),
        );
    }
    refused(&|e| e["sequence"] = json!(42), "an unknown field");
    refused(&|e| e["version"] = json!(0), "version 0");
    refused(&|e| e["version"] = json!("1"), "a version as a string");
    refused(
        &|e| e["occurred_at"] = json!("2025-03-04 09:12"),
        "a non-RFC 3339 time",
    );
    refused(
        &|e| e["event_id"] = json!(Uuid::new_v4().to_string()),
        "a v4 event id",
    );
    refused(
        &|e| e["correlation_id"] = json!("abc"),
        "a correlation id that is no UUID",
    );
    refused(
        &|e| e["aggregate_id"] = json!("a.b"),
        "an aggregate id unsafe in a subject",
    );
    refused(&|e| e["actor"]["role"] = json!("root"), "an unknown role");
    refused(
        &|e| e["actor"]["name"] = json!("x"),
        "an unknown actor field",
    );
    refused(
        &|e| {
            e["actor"]
                .as_object_mut()
                .expect("actor")
                .remove("organisation_id");
        },
        "an actor without organisation",
    );
    refused(&|e| e["data"] = json!([]), "data that is not an object");
}

#[test]
fn decoding_refuses_unknown_types_versions_and_bad_data() {
    let data = example_data("referral.routed");
    match Event::decode("referral.teleported", 1, data.clone()) {
        Err(DecodeError::UnknownType(t)) => assert_eq!(t, "referral.teleported"),
        other => panic!("expected UnknownType, got {other:?}"),
    }
    match Event::decode("referral.routed", 2, data.clone()) {
        Err(DecodeError::UnsupportedVersion {
            event_type,
            version,
        }) => assert_eq!((event_type.as_str(), version), ("referral.routed", 2)),
        other => panic!("expected UnsupportedVersion, got {other:?}"),
    }
    match Event::decode("referral.routed", 0, data.clone()) {
        Err(DecodeError::UnsupportedVersion { version: 0, .. }) => {}
        other => panic!("expected UnsupportedVersion, got {other:?}"),
    }
    for bad in [
        json!({"referral_id": "not-a-uuid", "link_worker_organisation_id": LINK_WORKER_ORG}),
        json!({"link_worker_organisation_id": LINK_WORKER_ORG}),
        json!("referral.routed"),
        Value::Null,
    ] {
        match Event::decode("referral.routed", 1, bad) {
            Err(DecodeError::InvalidData {
                event_type,
                version,
                ..
            }) => assert_eq!((event_type.as_str(), version), ("referral.routed", 1)),
            other => panic!("expected InvalidData, got {other:?}"),
        }
    }
    let mut bad_enum = example_data("case.closed");
    bad_enum["reason"] = json!("finished");
    assert!(matches!(
        Event::decode("case.closed", 1, bad_enum),
        Err(DecodeError::InvalidData { .. })
    ));

    // Through the envelope, as consumers meet them.
    let mut example = read_json(&example_path("referral.routed", 1));
    example["type"] = json!("referral.rerouted");
    let envelope = Envelope::from_slice(example.to_string().as_bytes()).expect("envelope");
    assert!(matches!(envelope.event(), Err(DecodeError::UnknownType(_))));
    example["type"] = json!("referral.routed");
    example["version"] = json!(7);
    let envelope = Envelope::from_slice(example.to_string().as_bytes()).expect("envelope");
    assert!(matches!(
        envelope.event(),
        Err(DecodeError::UnsupportedVersion { version: 7, .. })
    ));
}

#[test]
fn garbage_is_not_an_envelope() {
    for garbage in [
        &b"\x00\x9f not json"[..],
        b"",
        b"{}",
        b"[1,2,3]",
        br#"{"event_id":"nope","type":"referral.routed"}"#,
    ] {
        assert!(
            matches!(Envelope::from_slice(garbage), Err(DecodeError::Envelope(_))),
            "{:?} parsed as an envelope",
            String::from_utf8_lossy(garbage)
        );
    }
    let mut example = read_json(&example_path("case.closed", 1));
    example["occurred_at"] = json!("yesterday");
    assert!(matches!(
        Envelope::from_slice(example.to_string().as_bytes()),
        Err(DecodeError::Envelope(_))
    ));
}

// ------------------------------------------------------------------------------------------
// Generated events

/// A time to the second (as tokens' expiries are written), in UTC.
fn arb_instant() -> impl Strategy<Value = OffsetDateTime> {
    (1_500_000_000i64..4_000_000_000)
        .prop_map(|unix| OffsetDateTime::from_unix_timestamp(unix).expect("time"))
}

fn arb_uuid() -> impl Strategy<Value = Uuid> {
    any::<u128>().prop_map(Uuid::from_u128)
}

fn arb_org_id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{1,40}"
}

fn arb_text() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9 ,.'()-]{0,60}"
}

fn arb_phone() -> impl Strategy<Value = String> {
    "\\+?[0-9][0-9 ()-]{5,20}"
}

fn arb_email() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,10}(\\.[a-z0-9]{1,6})?@[a-z]{2,10}\\.example"
}

fn arb_date(years: std::ops::Range<i32>) -> impl Strategy<Value = Date> {
    (years, 1u16..=365).prop_map(|(y, d)| Date::from_ordinal_date(y, d).expect("a valid day"))
}

fn arb_nhs_number() -> impl Strategy<Value = String> {
    proptest::array::uniform9(0u8..10).prop_filter_map("no check digit", |first_nine| {
        let check = nhs_check_digit(&first_nine)?;
        Some(
            first_nine
                .iter()
                .chain([&check])
                .map(|d| char::from(b'0' + d))
                .collect(),
        )
    })
}

fn arb_coding() -> impl Strategy<Value = Coding> {
    prop_oneof![
        ("[1-9][0-9]{5,17}", proptest::option::of(arb_text())).prop_map(|(code, display)| {
            Coding {
                system: SNOMED.into(),
                code,
                display,
            }
        }),
        (
            "https://codes\\.example\\.org/[a-z]{1,10}",
            "[A-Za-z0-9.-]{1,12}",
            proptest::option::of(arb_text())
        )
            .prop_map(|(system, code, display)| Coding {
                system,
                code,
                display
            }),
    ]
}

fn arb_person() -> impl Strategy<Value = Person> {
    (
        (
            proptest::option::of(arb_nhs_number()),
            proptest::option::of("[a-z]+(-[a-z]+){0,6}"),
            "[A-Z][a-z]{0,12}( [A-Z][a-z]{0,12})?",
            "[A-Z][a-z]{0,12}(-[A-Z][a-z]{0,12})?",
            arb_date(1900..2025),
            proptest::collection::vec(arb_text(), 0..4),
            "[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}",
        ),
        (
            proptest::option::of(arb_phone()),
            proptest::option::of(arb_email()),
            proptest::sample::select(vec![
                ContactMethod::Phone,
                ContactMethod::Email,
                ContactMethod::Letter,
                ContactMethod::Text,
            ]),
            proptest::option::of("[a-z]{2,3}(-[A-Z]{2})?"),
            any::<bool>(),
            proptest::option::of(arb_text()),
            proptest::option::of(arb_text()),
            proptest::option::of(arb_text()),
        ),
    )
        .prop_map(
            |(
                (
                    nhs_number,
                    nhs_number_verification,
                    given_name,
                    family_name,
                    birth_date,
                    lines,
                    postcode,
                ),
                (
                    phone,
                    email,
                    preferred_contact_method,
                    language,
                    interpreter_needed,
                    accessibility_needs,
                    gender,
                    ethnicity,
                ),
            )| Person {
                nhs_number,
                nhs_number_verification,
                given_name,
                family_name,
                birth_date,
                address: Address { lines, postcode },
                phone,
                email,
                preferred_contact_method,
                language,
                interpreter_needed,
                accessibility_needs,
                gender,
                ethnicity,
            },
        )
}

fn arb_referral_received() -> impl Strategy<Value = ReferralReceived> {
    (
        (
            arb_uuid(),
            arb_org_id(),
            (
                arb_text(),
                proptest::option::of(arb_text()),
                proptest::option::of(arb_phone()),
                proptest::option::of(arb_email()),
            ),
            proptest::sample::select(vec![
                SourceChannel::Api,
                SourceChannel::Fhir,
                SourceChannel::Web,
            ]),
            proptest::collection::vec(arb_coding(), 0..5),
            proptest::sample::select(vec![Urgency::Routine, Urgency::Urgent]),
            any::<bool>(),
        ),
        (
            proptest::sample::select(vec![
                LegalBasis::PublicTaskHealthCare,
                LegalBasis::ExplicitConsent,
                LegalBasis::VitalInterests,
            ]),
            (any::<bool>(), any::<bool>()),
            "[A-Z]{1,2}[0-9][A-Z0-9]?",
            "[0-9]{1,2}-[0-9]{1,3}|[0-9]{2}\\+",
            arb_person(),
            proptest::option::of(arb_text()),
            proptest::option::of(arb_text()),
            arb_text(),
        ),
    )
        .prop_map(
            |(
                (
                    referral_id,
                    referrer_organisation_id,
                    (name, role, phone, email),
                    source_channel,
                    needs,
                    urgency,
                    safeguarding_concern,
                ),
                (
                    legal_basis,
                    (referral_agreed, share_details_with_referrer),
                    postcode_district,
                    age_band,
                    person,
                    needs_text,
                    notes,
                    endpoint,
                ),
            )| ReferralReceived {
                referral_id,
                referrer_organisation_id,
                practitioner: Practitioner {
                    name,
                    role,
                    phone,
                    email,
                },
                source_channel,
                needs,
                urgency,
                safeguarding_concern,
                legal_basis,
                consent: Consent {
                    referral_agreed,
                    share_details_with_referrer,
                },
                postcode_district,
                age_band,
                personal: Some(ReferralPersonal {
                    person,
                    needs_text,
                    notes,
                }),
                // Intake writes a reply endpoint for every FHIR message, and only for them.
                reply_to: (source_channel == SourceChannel::Fhir).then_some(endpoint),
            },
        )
}

fn arb_outcome_recorded() -> impl Strategy<Value = OutcomeRecorded> {
    (
        arb_uuid(),
        "[a-z][a-z0-9_]{0,10}",
        "[0-9A-Za-z.]{1,10}",
        1u32..,
        proptest::sample::select(vec![
            Timepoint::Baseline,
            Timepoint::Review,
            Timepoint::Exit,
        ]),
        proptest::collection::vec(0u8..=10, 1..15),
        proptest::option::of(any::<u32>()),
        // Scores with two decimals, as scoring tables give them.
        proptest::option::of((0u32..=100_000).prop_map(|n| f64::from(n) / 100.0)),
        proptest::option::of(proptest::collection::vec(arb_text(), 1..=2)),
    )
        .prop_map(
            |(
                referral_id,
                instrument,
                instrument_version,
                algorithm_version,
                timepoint,
                item_answers,
                raw_score,
                derived_score,
                concerns,
            )| {
                OutcomeRecorded {
                    referral_id,
                    instrument,
                    instrument_version,
                    algorithm_version,
                    timepoint,
                    item_answers,
                    raw_score,
                    derived_score,
                    personal: concerns.map(|concerns| crate::case::OutcomePersonal { concerns }),
                }
            },
        )
}

fn arb_case_declined() -> impl Strategy<Value = CaseDeclined> {
    (
        arb_uuid(),
        arb_org_id(),
        proptest::sample::select(vec![
            DeclineReason::OutOfArea,
            DeclineReason::NotAppropriate,
            DeclineReason::PersonDeclined,
            DeclineReason::ReferredElsewhere,
        ]),
        proptest::option::of(arb_coding()),
    )
        .prop_map(
            |(referral_id, link_worker_organisation_id, reason, reason_code)| CaseDeclined {
                referral_id,
                link_worker_organisation_id,
                reason,
                reason_code,
            },
        )
}

fn arb_contact_channel() -> impl Strategy<Value = ContactChannel> {
    proptest::sample::select(vec![
        ContactChannel::Phone,
        ContactChannel::FaceToFace,
        ContactChannel::Video,
        ContactChannel::HomeVisit,
        ContactChannel::Text,
        ContactChannel::Email,
    ])
}

/// Every case event, with the optional parts varied.
fn arb_case_event() -> impl Strategy<Value = Event> {
    prop_oneof![
        arb_case_declined().prop_map(Event::from),
        arb_outcome_recorded().prop_map(Event::from),
        (arb_uuid(), arb_org_id()).prop_map(|(referral_id, link_worker_organisation_id)| {
            Event::from(CaseAccepted {
                referral_id,
                link_worker_organisation_id,
            })
        }),
        (arb_uuid(), "[a-z0-9-]{1,40}").prop_map(|(referral_id, link_worker_id)| {
            Event::from(CaseAssigned {
                referral_id,
                link_worker_id,
            })
        }),
        (
            arb_uuid(),
            arb_contact_channel(),
            proptest::sample::select(ContactOutcome::ALL.to_vec()),
            1u32..
        )
            .prop_map(|(referral_id, channel, outcome, attempt_number)| {
                Event::from(ContactAttempted {
                    referral_id,
                    channel,
                    outcome,
                    attempt_number,
                    could_not_contact: attempt_number % 2 == 0,
                })
            }),
        (
            arb_uuid(),
            arb_contact_channel(),
            any::<u32>(),
            proptest::option::of(arb_text())
        )
            .prop_map(
                |(referral_id, channel, minutes, notes)| Event::from(ContactMade {
                    referral_id,
                    channel,
                    minutes,
                    personal: notes.map(|notes| ContactPersonal { notes }),
                })
            ),
        (
            arb_uuid(),
            arb_date(2020..2100),
            any::<u32>(),
            arb_text(),
            proptest::collection::vec(arb_text(), 0..5),
            proptest::collection::vec(arb_text(), 0..5),
        )
            .prop_map(
                |(referral_id, review_date, goal_count, what_matters, goals, actions)| {
                    Event::from(PlanAgreed {
                        referral_id,
                        review_date,
                        goal_count,
                        personal: Some(PlanPersonal {
                            what_matters,
                            goals,
                            actions,
                        }),
                    })
                }
            ),
        (
            arb_uuid(),
            proptest::sample::select(vec![
                ClosureReason::GoalsMet,
                ClosureReason::Disengaged,
                ClosureReason::CouldNotContact,
                ClosureReason::MovedAway,
                ClosureReason::ReferredElsewhere,
                ClosureReason::Died,
                ClosureReason::Other,
            ])
        )
            .prop_map(|(referral_id, reason)| Event::from(CaseClosed {
                referral_id,
                reason
            })),
        arb_case_follow_up(),
    ]
}

/// The later steps of a case: plan reviews, onward connections and their answers,
/// safeguarding concerns.
fn arb_case_follow_up() -> impl Strategy<Value = Event> {
    use crate::case::{
        ConnectionAccepted, ConnectionAttended, ConnectionDeclined, ConnectionMade, PlanReviewed,
        SafeguardingPersonal, SafeguardingRaised,
    };
    prop_oneof![
        (
            arb_uuid(),
            arb_date(2020..2100),
            any::<u32>(),
            arb_text(),
            proptest::collection::vec(arb_text(), 0..5),
            proptest::collection::vec(arb_text(), 0..5),
        )
            .prop_map(
                |(referral_id, next_review_date, goal_count, what_matters, goals, actions)| {
                    Event::from(PlanReviewed {
                        referral_id,
                        next_review_date,
                        goal_count,
                        personal: Some(PlanPersonal {
                            what_matters,
                            goals,
                            actions,
                        }),
                    })
                }
            ),
        (
            arb_uuid(),
            arb_uuid(),
            "[A-Za-z0-9-]{1,64}",
            arb_text(),
            proptest::option::of("[a-z ]{1,40}")
        )
            .prop_map(
                |(referral_id, connection_id, service_id, service_name, service_kind)| Event::from(
                    ConnectionMade {
                        referral_id,
                        connection_id,
                        service_id,
                        service_name,
                        service_kind,
                        legal_basis: None,
                        shared: vec![],
                    }
                )
            ),
        (
            arb_uuid(),
            arb_uuid(),
            0u8..4,
            proptest::sample::select(crate::case::ConnectionDeclineReason::ALL.to_vec())
        )
            .prop_map(|(referral_id, connection_id, which, reason)| match which {
                0 => Event::from(ConnectionAccepted {
                    referral_id,
                    connection_id
                }),
                1 => Event::from(ConnectionDeclined {
                    referral_id,
                    connection_id,
                    reason
                }),
                2 => Event::from(crate::case::ConnectionReminded {
                    referral_id,
                    connection_id
                }),
                _ => Event::from(ConnectionAttended {
                    referral_id,
                    connection_id
                }),
            }),
        (arb_uuid(), arb_text()).prop_map(|(referral_id, concern)| Event::from(
            SafeguardingRaised {
                referral_id,
                personal: Some(SafeguardingPersonal { concern }),
            }
        )),
        (
            arb_uuid(),
            arb_uuid(),
            arb_instant(),
            any::<u32>(),
            proptest::option::of(arb_text())
        )
            .prop_map(|(referral_id, appointment_id, starts_at, minutes, place)| {
                Event::from(crate::case::AppointmentBooked {
                    referral_id,
                    appointment_id,
                    starts_at,
                    minutes,
                    channel: crate::case::ContactChannel::Video,
                    personal: place.map(|place| crate::case::AppointmentPersonal { place }),
                })
            }),
        (arb_uuid(), arb_uuid(), arb_instant(), any::<u32>()).prop_map(
            |(referral_id, appointment_id, starts_at, minutes)| Event::from(
                crate::case::AppointmentMoved {
                    referral_id,
                    appointment_id,
                    starts_at,
                    minutes,
                    channel: crate::case::ContactChannel::Phone,
                    personal: None,
                }
            )
        ),
        (arb_uuid(), arb_uuid()).prop_map(|(referral_id, appointment_id)| Event::from(
            crate::case::AppointmentCancelled {
                referral_id,
                appointment_id,
                reason: crate::case::AppointmentCancelReason::Other,
            }
        )),
    ]
}

/// Every referral event other than `received`.
fn arb_referral_follow_up() -> impl Strategy<Value = Event> {
    prop_oneof![
        (arb_uuid(), arb_org_id(), proptest::option::of(arb_uuid())).prop_map(
            |(referral_id, link_worker_organisation_id, rule_id)| Event::from(ReferralRouted {
                referral_id,
                link_worker_organisation_id,
                rule_id,
            })
        ),
        (arb_uuid(), arb_text()).prop_map(|(referral_id, reason)| Event::from(
            ReferralUnroutable {
                referral_id,
                reason
            }
        )),
        (arb_uuid(), arb_text()).prop_map(|(referral_id, reason)| Event::from(ReferralWithdrawn {
            referral_id,
            reason
        })),
        (arb_uuid(), arb_text()).prop_map(|(referral_id, reason)| Event::from(
            ReferralEnteredInError {
                referral_id,
                reason
            }
        )),
    ]
}

fn arb_registry_event() -> impl Strategy<Value = Event> {
    prop_oneof![
        (
            arb_org_id(),
            arb_text(),
            proptest::sample::select(OrganisationKind::ALL.to_vec()),
            proptest::option::of("[A-Z0-9]{3,10}"),
            proptest::option::of("[A-Z0-9]{2,5}"),
            any::<bool>(),
            proptest::collection::btree_set("[a-z0-9-]{1,20}", 0..3),
        )
            .prop_map(
                |(
                    organisation_id,
                    name,
                    kind,
                    code,
                    commissioner_area,
                    link_worker_service,
                    services,
                )| {
                    Event::from(OrganisationRegistered {
                        organisation_id,
                        name,
                        kind,
                        code,
                        commissioner_area,
                        link_worker_service,
                        directory_services: services.into_iter().collect(),
                    })
                }
            ),
        (
            arb_uuid(),
            arb_org_id(),
            prop_oneof![
                arb_org_id().prop_map(|organisation_id| RoutingCriterion::ReferringOrganisation {
                    organisation_id
                }),
                "[A-Z]{1,2}[0-9][A-Z0-9]?"
                    .prop_map(|district| RoutingCriterion::PostcodeDistrict { district }),
            ],
            any::<i32>(),
        )
            .prop_map(
                |(rule_id, link_worker_organisation_id, criterion, priority)| {
                    Event::from(RoutingRuleAdded {
                        rule_id,
                        link_worker_organisation_id,
                        criterion,
                        priority,
                    })
                }
            ),
        arb_uuid().prop_map(|rule_id| Event::from(RoutingRuleRemoved { rule_id })),
        (
            arb_uuid(),
            arb_org_id(),
            proptest::sample::select(Role::ALL.to_vec()),
            proptest::option::of("[a-z0-9-]{1,40}"),
            "[0-9a-f]{64}",
            proptest::option::of(arb_text()),
            proptest::option::of(arb_instant()),
            proptest::option::of((arb_uuid(), arb_instant())),
        )
            .prop_map(
                |(
                    token_id,
                    organisation_id,
                    role,
                    user_id,
                    secret_sha256,
                    label,
                    expires_at,
                    replaces,
                )| {
                    Event::from(TokenIssued {
                        token_id,
                        organisation_id,
                        role,
                        user_id,
                        secret_sha256,
                        label,
                        expires_at,
                        replaces: replaces.map(|(token_id, stops_at)| crate::registry::Replaced {
                            token_id,
                            stops_at,
                        }),
                    })
                }
            ),
        arb_uuid().prop_map(|token_id| Event::from(TokenRevoked { token_id })),
    ]
}

fn arb_actor() -> impl Strategy<Value = Actor> {
    (
        arb_org_id(),
        proptest::option::of("[a-z0-9-]{1,40}"),
        proptest::sample::select(Role::ALL.to_vec()),
    )
        .prop_map(|(organisation_id, user_id, role)| Actor {
            organisation_id,
            user_id,
            role,
        })
}

/// The generators between them reach every catalogue entry.
#[test]
fn generators_cover_the_catalogue() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let all = prop_oneof![
        arb_referral_received().prop_map(Event::from),
        arb_referral_follow_up(),
        arb_case_event(),
        arb_registry_event(),
        users::arb_user_event(),
        subjects::arb_subject_event(),
    ];
    let mut runner = TestRunner::deterministic();
    let mut seen = BTreeSet::new();
    for _ in 0..6_000 {
        let event = all.new_tree(&mut runner).expect("a value").current();
        seen.insert((event.type_name(), event.version()));
    }
    let catalogue: BTreeSet<_> = Event::catalogue().into_iter().collect();
    assert_eq!(seen, catalogue);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn generated_referrals_validate_and_round_trip(received in arb_referral_received()) {
        assert_contract(&Event::from(received));
    }

    #[test]
    fn generated_outcomes_validate_and_round_trip(outcome in arb_outcome_recorded()) {
        assert_contract(&Event::from(outcome));
    }

    #[test]
    fn generated_declines_validate_and_round_trip(declined in arb_case_declined()) {
        assert_contract(&Event::from(declined));
    }

    #[test]
    fn generated_case_events_validate_and_round_trip(event in arb_case_event()) {
        assert_contract(&event);
    }

    #[test]
    fn generated_referral_follow_ups_validate_and_round_trip(event in arb_referral_follow_up()) {
        assert_contract(&event);
    }

    #[test]
    fn generated_registry_events_validate_and_round_trip(event in arb_registry_event()) {
        assert_contract(&event);
    }

    #[test]
    fn generated_user_events_validate_and_round_trip(event in users::arb_user_event()) {
        assert_contract(&event);
    }

    #[test]
    fn generated_subject_events_validate_and_round_trip(event in subjects::arb_subject_event()) {
        assert_contract(&event);
    }

    #[test]
    fn generated_envelopes_validate_and_round_trip(
        event in arb_case_event(),
        actor in arb_actor(),
        correlation in arb_uuid(),
        causation in proptest::option::of(arb_uuid()),
        occurred_unix in 1_500_000_000i64..4_000_000_000,
        nanos in 0u32..1_000_000_000,
        offset_minutes in -720i32..=840,
    ) {
        let offset = time::UtcOffset::from_whole_seconds(offset_minutes * 60).expect("offset");
        let occurred_at = OffsetDateTime::from_unix_timestamp(occurred_unix)
            .expect("time")
            .replace_nanosecond(nanos)
            .expect("nanoseconds")
            .to_offset(offset);
        let data = event.to_data();
        let mut envelope = Envelope::new(
            aggregate_id_of(event.type_name(), &data),
            &event,
            actor,
            correlation,
            occurred_at,
        );
        envelope.causation_id = causation;
        let bytes = envelope.to_vec();
        let json: Value = serde_json::from_slice(&bytes).expect("JSON");
        assert_valid(&contract().envelope, &json, "generated envelope");
        let parsed = Envelope::from_slice(&bytes).expect("parses");
        prop_assert_eq!(&parsed, &envelope);
        prop_assert_eq!(parsed.event().expect("decodes"), event);
    }
}

// ------------------------------------------------------------------------------------------
// AsyncAPI

fn asyncapi() -> Value {
    read_json(&schemas_dir().join("asyncapi.json"))
}

#[test]
fn asyncapi_is_version_3_with_the_jetstream_server() {
    let doc = asyncapi();
    assert_eq!(doc["asyncapi"], "3.0.0");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let servers = doc["servers"].as_object().expect("servers");
    assert!(!servers.is_empty());
    for (name, server) in servers {
        assert_eq!(server["protocol"], "nats", "server {name}");
    }
    let text = doc.to_string();
    assert!(
        text.contains("LINKWAY") && text.contains("linkway.>"),
        "stream and subjects"
    );
}

#[test]
fn asyncapi_has_a_channel_per_aggregate_kind() {
    let doc = asyncapi();
    let kinds: BTreeSet<&str> = Event::catalogue()
        .into_iter()
        .map(|(t, _)| aggregate_kind_of(t))
        .collect();
    let channels = doc["channels"].as_object().expect("channels");
    let addresses: BTreeSet<&str> = channels
        .values()
        .map(|c| c["address"].as_str().expect("address"))
        .collect();
    for kind in &kinds {
        let address = format!("linkway.{kind}.{{aggregateId}}");
        assert!(addresses.contains(address.as_str()), "no channel {address}");
    }
    for (name, channel) in channels {
        assert!(
            channel["parameters"]["aggregateId"].is_object(),
            "channel {name}: aggregateId parameter"
        );
    }
    assert_eq!(
        channels.len(),
        kinds.len(),
        "one channel per aggregate kind"
    );
}

/// The AsyncAPI message of a version: `<type>` for the version Linkway writes,
/// `<type>.v<version>` for a superseded one.
fn message_key(event_type: &str, version: u32) -> String {
    if is_superseded(event_type, version) {
        format!("{event_type}.v{version}")
    } else {
        event_type.to_owned()
    }
}

#[test]
fn asyncapi_names_a_message_for_every_catalogue_entry() {
    let doc = asyncapi();
    let messages = doc["components"]["messages"].as_object().expect("messages");
    let versions = all_versions();
    assert_eq!(
        messages.len(),
        versions.len(),
        "one message per catalogue entry and superseded version"
    );
    for (t, v) in versions {
        let key = message_key(t, v);
        let message = messages
            .get(&key)
            .unwrap_or_else(|| panic!("no message {key}"));
        assert_eq!(message["name"], t);
        let payload = message["payload"].to_string();
        let schema_ref = format!("\"./events/{}\"", file_name(t, v));
        assert!(
            payload.contains(&schema_ref),
            "{t}: payload does not use {schema_ref}"
        );
        let headers = &message["headers"]["properties"];
        assert_eq!(headers["Linkway-Type"]["const"], t);
        assert_eq!(headers["Linkway-Version"]["const"], v.to_string());
        for header in ["Nats-Msg-Id", "Nats-Expected-Last-Subject-Sequence"] {
            assert!(
                headers[header].is_object(),
                "{t}: header {header} not described"
            );
        }

        // On the channel of its aggregate kind, sent by one operation, received by another.
        let kind = aggregate_kind_of(t);
        let channel = doc["channels"]
            .as_object()
            .expect("channels")
            .iter()
            .find(|(_, c)| c["address"] == format!("linkway.{kind}.{{aggregateId}}"))
            .map(|(name, _)| name.clone())
            .expect("channel of the kind");
        let in_channel = format!("#/channels/{channel}/messages/{key}");
        for action in ["send", "receive"] {
            let found = doc["operations"]
                .as_object()
                .expect("operations")
                .values()
                .filter(|op| op["action"] == action)
                .filter(|op| op["channel"]["$ref"] == format!("#/channels/{channel}"))
                .any(|op| {
                    op["messages"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|m| m["$ref"] == in_channel)
                });
            // Consumers still receive a superseded version from old logs; only a process
            // pinned to it for a rolling upgrade sends it, when a downcaster reaches it.
            let expected =
                action == "receive" || !is_superseded(t, v) || write_versions::writable(t, v);
            assert_eq!(
                found, expected,
                "{key}: `{action}` operation on {channel}: {found}"
            );
        }
    }
}

#[test]
fn asyncapi_references_all_resolve() {
    let doc = asyncapi();
    let mut refs = Vec::new();
    walk(&doc, "", &mut |pointer, value| {
        if let Some(r) = value.get("$ref").and_then(Value::as_str) {
            refs.push((pointer.to_owned(), r.to_owned()));
        }
    });
    assert!(refs.len() > Event::catalogue().len());
    for (at, reference) in refs {
        if let Some(pointer) = reference.strip_prefix('#') {
            assert!(
                doc.pointer(pointer).is_some(),
                "{at}: {reference} does not resolve"
            );
        } else {
            let (file, fragment) = reference.split_once('#').unwrap_or((&reference, ""));
            let path = schemas_dir().join(file);
            assert!(path.is_file(), "{at}: {reference} names no file");
            let target = read_json(&path);
            assert!(
                fragment.is_empty() || target.pointer(fragment).is_some(),
                "{at}: {reference} does not resolve"
            );
        }
    }
}

#[test]
fn asyncapi_operations_are_sent_by_the_owning_service() {
    let doc = asyncapi();
    let owner = |kind: &str| match kind {
        "referral" | "person" => "intake",
        "case" => "link-worker",
        "audit" => "intake and link-worker",
        _ => "admin",
    };
    for (name, op) in doc["operations"].as_object().expect("operations") {
        if op["action"] != "send" {
            assert_eq!(op["action"], "receive", "operation {name}");
            continue;
        }
        let channel = op["channel"]["$ref"]
            .as_str()
            .and_then(|r| r.strip_prefix("#/channels/"))
            .expect("channel ref");
        let address = doc["channels"][channel]["address"]
            .as_str()
            .expect("address");
        let kind = address.split('.').nth(1).expect("kind");
        let title = op["title"].as_str().unwrap_or_default();
        assert!(
            title.starts_with(owner(kind)),
            "operation {name}: {kind} events are sent by {}",
            owner(kind)
        );
    }
}

/// Each message's payload schema, resolved against the schema files, accepts its example
/// envelope and refuses the same envelope with another type or broken data.
#[test]
fn asyncapi_payloads_validate_the_examples() {
    let mut registry = jsonschema::Registry::new();
    for (path, relative) in all_schema_files() {
        registry = registry
            .add(format!("{SCHEMA_BASE}{relative}"), read_json(&path))
            .expect("schema resource");
    }
    let registry = registry.prepare().expect("registry");
    let doc = asyncapi();
    for (t, v, example) in examples() {
        let payload = &doc["components"]["messages"][message_key(t, v)]["payload"];
        assert_eq!(
            payload["schemaFormat"],
            "application/schema+json;version=draft-2020-12"
        );
        let validator = jsonschema::draft202012::options()
            .with_registry(&registry)
            .with_base_uri(format!("{SCHEMA_BASE}asyncapi.json"))
            .should_validate_formats(true)
            .build(&payload["schema"])
            .unwrap_or_else(|e| panic!("{t}: payload schema does not compile: {e}"));
        assert_valid(
            &validator,
            &example,
            &format!("{t} v{v} example as a message"),
        );

        let mut retyped = example.clone();
        retyped["type"] = json!("case.teleported");
        assert!(
            !validator.is_valid(&retyped),
            "{t}: payload accepts another type"
        );
        let mut broken = example.clone();
        broken["data"]["unexpected_field"] = json!(true);
        assert!(
            !validator.is_valid(&broken),
            "{t}: payload accepts broken data"
        );
    }
}
