//! Issue 9, intake's part: one test per defect found at the edge, named after the behaviour
//! that is now right. Each sends through the real service and checks that nothing reached
//! the log when the input was refused.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::channels::*;
use crate::support::*;

/// Asserts a refusal (422) appended nothing and never echoed `sent` (the form shows what was
/// typed back in its fields, so form refusals are not checked for that).
async fn refused_quietly(intake: &Intake, before: u64, outcome: &Outcome, sent: Option<&str>) {
    assert_eq!(
        outcome.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        outcome.body
    );
    assert_eq!(intake.log_end().await, before, "nothing appended");
    if let Some(sent) = sent {
        assert!(
            !outcome.body.contains(sent),
            "the answer echoes what was sent: {}",
            outcome.body
        );
    }
}

#[tokio::test]
async fn a_fhir_consent_that_denies_the_referral_is_refused_not_recorded_as_agreed() {
    let (intake, gp) = start().await;
    let before = intake.log_end().await;
    let mut bundle = message();
    resource(&mut bundle, "Consent")["provision"] = json!({"type": "deny"});
    let outcome = send_fhir(&intake, &gp, &bundle).await;
    refused_quietly(&intake, before, &outcome, Some("\"deny\"")).await;
    assert!(
        outcome.refuses(
            "Bundle.entry[7].resource.provision.type",
            "consent_required"
        ),
        "{:?}",
        outcome.refused
    );
}

#[tokio::test]
async fn a_fhir_lawful_basis_in_an_unknown_coding_system_or_empty_is_refused_not_defaulted() {
    let (intake, gp) = start().await;
    let before = intake.log_end().await;
    let cases = [
        (
            json!({"coding": [{"system": "http://example.org/elsewhere", "code": "explicit_consent"}]}),
            "one_of",
        ),
        (
            json!({"coding": [{"system": "https://linkway.example/fhir/CodeSystem/legal-basis", "code": "legitimate_interests"}]}),
            "one_of",
        ),
        (json!({}), "required"),
        (json!({"coding": []}), "required"),
        (Value::Null, "required"),
    ];
    for (policy_rule, rule) in cases {
        let mut bundle = message();
        let consent = resource(&mut bundle, "Consent");
        match policy_rule {
            Value::Null => {
                consent.as_object_mut().unwrap().remove("policyRule");
            }
            p => consent["policyRule"] = p,
        }
        let outcome = send_fhir(&intake, &gp, &bundle).await;
        refused_quietly(&intake, before, &outcome, Some("legitimate_interests")).await;
        assert!(
            outcome.refuses("Bundle.entry[7].resource.policyRule", rule),
            "{rule}: {:?}",
            outcome.refused
        );
    }
}

#[tokio::test]
async fn a_nul_or_control_character_in_a_name_the_needs_or_the_notes_is_refused_on_every_channel() {
    let (intake, gp) = start().await;
    let before = intake.log_end().await;
    for bad in ["Ro\0bin", "Robin\u{1b}[2J", "Rob\u{202E}in", "Ro\u{7}bin"] {
        // JSON
        for (path, field) in [
            (&["person", "given_name"][..], "person.given_name"),
            (&["person", "family_name"][..], "person.family_name"),
            (
                &["needs_and_concerns", "text"][..],
                "needs_and_concerns.text",
            ),
            (&["practitioner", "name"][..], "practitioner.name"),
            (&["notes"][..], "notes"),
        ] {
            let mut body = referral();
            let mut at = &mut body;
            for p in &path[..path.len() - 1] {
                at = &mut at[*p];
            }
            at[path[path.len() - 1]] = json!(bad);
            let outcome = send_json(&intake, &gp, &body).await;
            refused_quietly(&intake, before, &outcome, Some(bad)).await;
            assert!(
                outcome.refuses(field, "control_character"),
                "JSON {field}: {:?}",
                outcome.refused
            );
        }
        // FHIR
        let mut bundle = message();
        resource(&mut bundle, "Patient")["name"][0]["given"][0] = json!(bad);
        resource(&mut bundle, "ServiceRequest")["note"][0]["text"] = json!(bad);
        resource(&mut bundle, "ServiceRequest")["patientInstruction"] = json!(bad);
        let outcome = send_fhir(&intake, &gp, &bundle).await;
        refused_quietly(&intake, before, &outcome, Some(bad)).await;
        for at in [
            "Patient.name.given",
            "ServiceRequest.note",
            "ServiceRequest.patientInstruction",
        ] {
            assert!(
                outcome.refuses(at, "control_character"),
                "FHIR {at}: {:?}",
                outcome.refused
            );
        }
        // Form
        for (control, field) in [
            ("given_name", "person.given_name"),
            ("needs_text", "needs_and_concerns.text"),
            ("notes", "notes"),
            ("address_line1", "person.address.lines[0]"),
        ] {
            let mut posted = form(&gp);
            set(&mut posted, control, bad);
            let outcome = send_form(&intake, &posted).await;
            refused_quietly(&intake, before, &outcome, None).await;
            assert!(
                outcome.refuses(field, "control_character"),
                "form {control}: {:?}",
                outcome.refused
            );
        }
    }
}

#[tokio::test]
async fn a_given_name_of_only_zero_width_spaces_is_refused_on_every_channel() {
    let (intake, gp) = start().await;
    let before = intake.log_end().await;
    let invisible = "\u{200B}\u{200B}\u{200B}";
    let mut body = referral();
    body["person"]["given_name"] = json!(invisible);
    let outcome = send_json(&intake, &gp, &body).await;
    refused_quietly(&intake, before, &outcome, Some(invisible)).await;
    assert!(
        outcome.refuses("person.given_name", "visible_letter"),
        "{:?}",
        outcome.refused
    );

    let mut bundle = message();
    resource(&mut bundle, "Patient")["name"][0]["given"] = json!([invisible]);
    let outcome = send_fhir(&intake, &gp, &bundle).await;
    refused_quietly(&intake, before, &outcome, Some(invisible)).await;
    assert!(
        outcome.refuses("Patient.name.given", "visible_letter"),
        "{:?}",
        outcome.refused
    );

    let mut posted = form(&gp);
    set(&mut posted, "given_name", invisible);
    let outcome = send_form(&intake, &posted).await;
    refused_quietly(&intake, before, &outcome, None).await;
    assert!(
        outcome.refuses("person.given_name", "visible_letter"),
        "{:?}",
        outcome.refused
    );
}

#[tokio::test]
async fn a_json_type_error_or_unknown_field_names_the_field_and_never_echoes_the_value() {
    let (intake, gp) = start().await;
    let before = intake.log_end().await;
    let mut number_for_text = referral();
    number_for_text["person"]["nhs_number"] = json!(9434765919u64);
    let mut number_for_choice = referral();
    number_for_choice["urgency"] = json!(5);
    let mut unknown = referral();
    unknown["person"]["shoe_size"] = json!("9434765919");
    for (body, field) in [
        (number_for_text, "person.nhs_number"),
        (number_for_choice, "urgency"),
        (unknown, "person.shoe_size"),
    ] {
        let outcome = send_json(&intake, &gp, &body).await;
        refused_quietly(&intake, before, &outcome, Some("9434765919")).await;
        assert_eq!(
            outcome.refused,
            vec![(field.to_owned(), "schema".to_owned())],
            "{}",
            outcome.body
        );
    }
}

#[tokio::test]
async fn a_fhir_element_of_the_wrong_type_is_named_and_never_echoed() {
    let (intake, gp) = start().await;
    let before = intake.log_end().await;
    let mut birth_number = message();
    resource(&mut birth_number, "Patient")["birthDate"] = json!(19580211);
    let mut given_string = message();
    resource(&mut given_string, "Patient")["name"][0]["given"] = json!("Alex");
    let mut nhs_number = message();
    resource(&mut nhs_number, "Patient")["identifier"][0]["value"] = json!(9434765919u64);
    for (bundle, at, sent) in [
        (
            birth_number,
            "Bundle.entry[2].resource.birthDate",
            "19580211",
        ),
        (
            given_string,
            "Bundle.entry[2].resource.name[0].given",
            "Alex",
        ),
        (
            nhs_number,
            "Bundle.entry[2].resource.identifier[0].value",
            "9434765919",
        ),
    ] {
        let outcome = send_fhir(&intake, &gp, &bundle).await;
        refused_quietly(&intake, before, &outcome, Some(sent)).await;
        assert!(outcome.refuses(at, "schema"), "{at}: {:?}", outcome.refused);
    }
    // Not JSON at all: a structure error that names the body, not the bytes sent.
    let outcome = send_raw_fhir(
        &intake,
        &gp,
        "{\"resourceType\": \"Bundle\", 9434765919".into(),
    )
    .await;
    assert_eq!(outcome.status, StatusCode::BAD_REQUEST, "{}", outcome.body);
    assert!(!outcome.body.contains("9434765919"), "{}", outcome.body);
}

#[tokio::test]
async fn a_form_field_that_is_unknown_or_not_a_choice_is_named_and_never_echoed() {
    let (intake, gp) = start().await;
    let before = intake.log_end().await;
    let mut unknown = form(&gp);
    set(&mut unknown, "shoe_size", "9434765919");
    let outcome = send_form(&intake, &unknown).await;
    refused_quietly(&intake, before, &outcome, Some("9434765919")).await;
    assert!(
        outcome.refuses("shoe_size", "schema"),
        "{:?}",
        outcome.refused
    );

    let mut not_a_choice = form(&gp);
    set(&mut not_a_choice, "safeguarding_concern", "perhaps");
    let outcome = send_form(&intake, &not_a_choice).await;
    assert_eq!(
        outcome.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        outcome.body
    );
    assert!(
        outcome.refuses("safeguarding_concern", "one_of"),
        "{:?}",
        outcome.refused
    );
}

#[tokio::test]
async fn a_json_referral_answer_names_the_new_referral_in_location() {
    let (intake, gp) = start().await;
    let outcome = send_json(&intake, &gp, &referral()).await;
    assert_eq!(outcome.status, StatusCode::CREATED, "{}", outcome.body);
    let answer: Value = serde_json::from_str(&outcome.body).unwrap();
    let id = answer["referral_id"].as_str().unwrap();
    assert_eq!(
        outcome.location.as_deref(),
        Some(format!("/referrals/{id}").as_str())
    );
    let sequence = answer["sequence"].as_u64().unwrap();
    let (status, _) = intake
        .get(&gp, &format!("/referrals/{id}?min_sequence={sequence}"))
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_control_character_in_a_fhir_message_header_string_is_refused_not_a_server_error() {
    let (intake, gp) = start().await;
    let before = intake.log_end().await;
    for (pointer, value, at) in [
        (
            "/entry/5/resource/identifier/0/value",
            "Y99\u{0}001",
            "MessageHeader.sender",
        ),
        (
            "/entry/0/resource/source/endpoint",
            "https://a.example/\u{0}",
            "MessageHeader.source.endpoint",
        ),
        (
            "/entry/0/resource/source/software",
            "GP\u{1b}[2J",
            "MessageHeader.source.software",
        ),
    ] {
        let mut bundle = message();
        *bundle.pointer_mut(pointer).unwrap() = json!(value);
        let outcome = send_fhir(&intake, &gp, &bundle).await;
        refused_quietly(&intake, before, &outcome, None).await;
        assert!(
            outcome.refuses(at, "control_character"),
            "{at}: {:?}",
            outcome.refused
        );
    }
    // The message's own id is a header string too.
    let mut bundle = message();
    bundle["id"] = json!("id\u{0}");
    let outcome = send_raw_fhir(&intake, &gp, bundle.to_string()).await;
    refused_quietly(&intake, before, &outcome, None).await;
    assert!(
        outcome.refuses("Bundle.id", "control_character"),
        "{:?}",
        outcome.refused
    );
}

#[tokio::test]
async fn a_form_idempotency_key_that_is_not_visible_ascii_is_refused_not_a_server_error() {
    let (intake, gp) = start().await;
    let before = intake.log_end().await;
    for key in ["a\u{0}b", "key with spaces", "ключ", &"k".repeat(300)] {
        let body: Vec<String> = form(&gp)
            .iter()
            .map(|(k, v)| {
                let v = if k == "idempotency_key" { key } else { v };
                format!("{}={}", pct(k), pct(v))
            })
            .collect();
        let outcome = send_raw_form(&intake, body.join("&")).await;
        refused_quietly(&intake, before, &outcome, None).await;
        assert!(
            outcome.refuses("idempotency_key", "idempotency_key_format"),
            "{key:?}: {:?}",
            outcome.refused
        );
    }
}
