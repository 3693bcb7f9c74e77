//! Reading messages: the real BaRS fixtures are refused, the social prescribing message is
//! read, and each broken rule gets its own issue.

use serde_json::{Value, json};

use super::*;
use crate::validation::validate_with_consent;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/fhir/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("JSON")
}

fn message() -> Value {
    fixture("social-prescribing-referral.json")
}

/// The entry holding a resource type.
fn entry<'a>(bundle: &'a mut Value, t: &str) -> &'a mut Value {
    bundle["entry"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|e| e["resource"]["resourceType"] == t)
        .map(|e| &mut e["resource"])
        .unwrap()
}

fn refusal(bundle: &Value) -> Refusal {
    read_message(bundle).expect_err("should be refused")
}

#[test]
fn the_999_to_cas_fixture_is_refused_as_not_a_social_prescribing_referral() {
    let r = refusal(&fixture("bars-process-message-999-to-cas.json"));
    assert_eq!(r.status, 422);
    assert!(r.issues.iter().all(|i| i.code == "not-supported"));
    assert!(
        r.issues
            .iter()
            .any(|i| i.expression.as_deref() == Some("ServiceRequest.code")
                && i.diagnostics.contains("871731000000106")),
        "{r:?}"
    );
}

#[test]
fn the_booking_request_fixture_is_refused_as_not_a_referral() {
    let r = refusal(&fixture("bars-process-message-POST-body.json"));
    assert_eq!(r.status, 422);
    assert!(
        r.issues.iter().any(|i| i.code == "not-supported"
            && i.expression.as_deref() == Some("MessageHeader.eventCoding")
            && !i.diagnostics.contains("booking-request")),
        "the event is named by its element, not by the code sent: {r:?}"
    );
    assert!(
        r.issues
            .iter()
            .any(|i| i.diagnostics.contains("Appointment"))
    );
}

#[test]
fn an_operation_outcome_is_not_a_message() {
    let r = refusal(&fixture("bars-operationoutcome-422-not-supported.json"));
    assert_eq!((r.status, r.issues[0].code), (400, "structure"));
}

#[test]
fn the_social_prescribing_message_reads_into_a_valid_referral() {
    let m = read_message(&message()).unwrap();
    assert_eq!(
        m.sender,
        SenderIdentifier {
            system: Some(ODS_SYSTEM.into()),
            value: "Y99001".into()
        }
    );
    assert_eq!(m.source_endpoint, "https://meadowbank.example/fhir/replies");
    assert_eq!(
        m.bundle_id.as_deref(),
        Some("5b0c1a2e-3f4d-4e5f-8a6b-7c8d9e0f1a2b")
    );
    let p = m.request.person.as_ref().unwrap();
    assert_eq!(p.nhs_number.as_deref(), Some("9434765919"));
    assert_eq!(
        p.nhs_number_verification.as_deref(),
        Some("number-present-and-verified")
    );
    assert_eq!(p.given_name.as_deref(), Some("Alex"));
    assert_eq!(p.preferred_contact_method.as_deref(), Some("phone"));
    assert_eq!(
        p.address.as_ref().unwrap().lines.as_deref(),
        Some(&["3 Nowhere Lane".to_owned(), "Leeds".to_owned()][..])
    );
    let needs = m.request.needs_and_concerns.as_ref().unwrap();
    assert_eq!(needs.codes.len(), 1, "only SNOMED reason codes are needs");
    assert_eq!(
        m.request.practitioner.as_ref().unwrap().name.as_deref(),
        Some("Dr Priya Placeholder")
    );
    assert_eq!(
        m.request.practitioner.as_ref().unwrap().role.as_deref(),
        Some("General Medical Practitioner")
    );
    let v =
        validate_with_consent(&m.request, &m.consent, time::macros::date!(2026 - 11 - 22)).unwrap();
    assert_eq!(v.postcode_district, "LS6");
    assert!(v.consent.referral_agreed && v.consent.share_details_with_referrer);
    assert_eq!(v.personal.notes.as_deref(), Some("Prefers morning calls."));
}

#[test]
fn no_message_header_first_is_a_structure_error() {
    let mut b = message();
    b["entry"].as_array_mut().unwrap().swap(0, 1);
    let r = refusal(&b);
    assert_eq!((r.status, r.issues[0].code), (400, "structure"));
    let mut b = message();
    b["type"] = json!("transaction");
    assert_eq!(refusal(&b).status, 400);
    let mut b = message();
    b["entry"] = json!([]);
    assert_eq!(refusal(&b).status, 400);
}

#[test]
fn a_dangling_reference_is_named() {
    let mut b = message();
    entry(&mut b, "ServiceRequest")["requester"] =
        json!({"reference": "urn:uuid:00000000-0000-4000-8000-000000000000"});
    let r = refusal(&b);
    assert_eq!(r.status, 422);
    assert_eq!(r.issues.len(), 1);
    assert_eq!(r.issues[0].rule.as_deref(), Some("dangling_reference"));
    assert!(
        r.issues[0]
            .expression
            .as_deref()
            .unwrap()
            .ends_with("ofType(ServiceRequest).requester"),
        "{r:?}"
    );
}

#[test]
fn a_focus_that_does_not_resolve_is_refused() {
    let mut b = message();
    b["entry"][0]["resource"]["focus"] = json!([{"reference": "urn:uuid:nowhere"}]);
    assert_eq!(refusal(&b).status, 422);
}

#[test]
fn another_service_request_code_is_not_supported() {
    let mut b = message();
    entry(&mut b, "ServiceRequest")["code"] =
        json!({"coding": [{"system": "http://snomed.info/sct", "code": "306206005"}]});
    let r = refusal(&b);
    assert_eq!((r.status, r.issues[0].code), (422, "not-supported"));
}

#[test]
fn updates_are_not_supported_yet() {
    let mut b = message();
    b["entry"][0]["resource"]["reason"]["coding"][0]["code"] = json!("update");
    assert_eq!(refusal(&b).issues[0].code, "not-supported");
}

#[test]
fn a_sender_without_identifier_and_a_missing_endpoint_are_required() {
    let mut b = message();
    entry(&mut b, "Organization")["identifier"] = json!([]);
    b["entry"][0]["resource"]["source"]["endpoint"] = Value::Null;
    let r = refusal(&b);
    let at: Vec<_> = r
        .issues
        .iter()
        .map(|i| i.expression.clone().unwrap())
        .collect();
    assert_eq!(
        at,
        ["MessageHeader.sender", "MessageHeader.source.endpoint"]
    );
}

#[test]
fn an_invalid_nhs_number_fails_validation_with_its_fhirpath() {
    let mut b = message();
    entry(&mut b, "Patient")["identifier"][0]["value"] = json!("9434765918");
    let m = read_message(&b).unwrap();
    let errors = validate_with_consent(&m.request, &m.consent, time::macros::date!(2026 - 11 - 22))
        .unwrap_err();
    let r = validation_refusal(&errors, None);
    assert_eq!(r.status, 422);
    assert_eq!(r.issues[0].rule.as_deref(), Some("nhs_number_check_digit"));
    assert!(
        r.issues[0]
            .expression
            .as_deref()
            .unwrap()
            .contains("nhs-number")
    );
    let oo = r.to_operation_outcome();
    assert_eq!(oo["resourceType"], "OperationOutcome");
    assert_eq!(
        oo["issue"][0]["details"]["coding"][0]["code"],
        "REC_UNPROCESSABLE_ENTITY"
    );
    assert_eq!(
        oo["issue"][0]["details"]["coding"][1]["code"],
        "nhs_number_check_digit"
    );
}

#[test]
fn without_a_consent_resource_the_referral_lacks_consent() {
    let mut b = message();
    b["entry"]
        .as_array_mut()
        .unwrap()
        .retain(|e| e["resource"]["resourceType"] != "Consent");
    let m = read_message(&b).unwrap();
    let errors = validate_with_consent(&m.request, &m.consent, time::macros::date!(2026 - 11 - 22))
        .unwrap_err();
    let r = validation_refusal(&errors, None);
    assert!(
        r.issues
            .iter()
            .any(|i| i.expression.as_deref() == Some("Bundle.entry.resource.ofType(Consent)")),
        "{r:?}"
    );
}

#[test]
fn consent_without_the_sharing_extension_sends_only_codes_back() {
    let mut b = message();
    entry(&mut b, "Consent")["extension"] = json!([]);
    let m = read_message(&b).unwrap();
    assert_eq!(
        m.consent.record.unwrap().share_details,
        crate::consent::Reading::Known(false)
    );
}

#[test]
fn a_consent_with_nested_provisions_is_not_read_as_its_top_level_alone() {
    let mut b = message();
    entry(&mut b, "Consent")["provision"] = json!({
        "type": "permit",
        "provision": [{"type": "deny", "purpose": [{"code": "referral"}]}]
    });
    let m = read_message(&b).unwrap();
    assert_eq!(
        m.consent.record.unwrap().provision,
        crate::consent::Reading::Unknown
    );
}

#[test]
fn priority_maps_to_urgency() {
    for (priority, urgency) in [
        ("routine", "routine"),
        ("urgent", "urgent"),
        ("asap", "urgent"),
        ("stat", "urgent"),
    ] {
        let mut b = message();
        entry(&mut b, "ServiceRequest")["priority"] = json!(priority);
        assert_eq!(
            read_message(&b).unwrap().request.urgency.as_deref(),
            Some(urgency)
        );
    }
}

#[test]
fn header_facts_survive_a_refusal() {
    let f = header_facts(&fixture("bars-process-message-999-to-cas.json"));
    assert_eq!(f.event_code.as_deref(), Some("admin-notify"));
    assert_eq!(f.source_endpoint.as_deref(), Some("13p:54.77.23.13:0494"));
}

mod robustness {
    use super::*;
    use proptest::prelude::*;

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "[ -~]{0,12}".prop_map(Value::String),
            Just(json!("urn:uuid:d5e6f7a8-b9c0-4d1e-8f2a-4b5c6d7e8f9a")),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::vec(
                    ("[a-z]{1,8}|reference|coding|code|system|value", inner),
                    0..4
                )
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    const FIELDS: [&str; 14] = [
        "resourceType",
        "id",
        "identifier",
        "name",
        "telecom",
        "address",
        "birthDate",
        "code",
        "subject",
        "requester",
        "reasonCode",
        "focus",
        "sender",
        "extension",
    ];

    proptest! {
        /// Untrusted input: whatever is put wherever in a message, reading it answers (a
        /// message or a refusal with a reason), never panics, and a refusal is never 2xx.
        #[test]
        fn reading_any_mangled_message_never_panics(
            entry in 0usize..8, field in 0usize..FIELDS.len(), value in any_json(),
        ) {
            let mut b = message();
            b["entry"][entry]["resource"][FIELDS[field]] = value;
            match read_message(&b) {
                Ok(m) => {
                    let _ = validate_with_consent(&m.request, &m.consent, time::macros::date!(2026 - 11 - 22));
                }
                Err(r) => {
                    prop_assert!(r.status == 400 || r.status == 422);
                    prop_assert!(!r.issues.is_empty());
                    prop_assert!(r.issues.iter().all(|i| !i.diagnostics.is_empty()));
                }
            }
        }
    }
}
