//! Fuzzing the three readers, pure (no services): arbitrary bytes and arbitrary JSON into the
//! JSON referral body, the FHIR bundle reader and the form decoder, and arbitrary strings in
//! every field of an otherwise valid referral. Never a panic, and whatever is accepted can
//! be stored: no NUL or other control character (but newlines and tabs in free text)
//! anywhere in the event's parts, so no read model can refuse it.
//!
//! Random (not seeded): these touch no service. `PROPTEST_CASES=5000 cargo test -p
//! linkway-intake --test fuzz` runs longer.

use linkway_intake::fhir::{header_facts, read_message};
use linkway_intake::form::{Posted, read};
use linkway_intake::validation::{ReferralRequest, ValidReferral, validate, validate_with_consent};
use proptest::prelude::*;
use serde_json::{Value, json};
use time::macros::date;

const TODAY: time::Date = date!(2026 - 12 - 01);

/// Every string of an accepted referral is storable text.
fn assert_storable(v: &ValidReferral) {
    let parts = json!({
        "personal": v.personal,
        "practitioner": v.practitioner,
        "needs": v.needs,
        "referrer": v.referrer_organisation_id,
        "district": v.postcode_district,
    });
    walk(&parts);
}

fn walk(v: &Value) {
    match v {
        Value::String(s) => assert!(
            s.chars().all(|c| !c.is_control() || c == '\n' || c == '\t'),
            "an accepted referral holds a control character"
        ),
        Value::Array(items) => items.iter().for_each(walk),
        Value::Object(map) => map.values().for_each(walk),
        _ => {}
    }
}

fn valid_json() -> Value {
    json!({
        "person": {
            "nhs_number": "9434765919",
            "given_name": "Robin",
            "family_name": "Example",
            "birth_date": "1961-05-17",
            "address": {"lines": ["14 Imaginary Row", "Leeds"], "postcode": "LS6 9ZZ"},
            "phone": "07700 900123",
            "email": "robin@example.org",
            "preferred_contact_method": "phone",
            "language": "en",
            "accessibility_needs": "Large print",
            "gender": "female",
            "ethnicity": "A"
        },
        "needs_and_concerns": {
            "codes": [{"code": "422650009", "display": "Social isolation"}],
            "text": "Lives alone"
        },
        "urgency": "routine",
        "safeguarding_concern": false,
        "legal_basis": "public_task_health_care",
        "consent": {"status": "active", "referral_agreed": true, "share_details_with_referrer": true},
        "practitioner": {"name": "Dr Placeholder", "role": "GP", "phone": "0113 496 0000", "email": "gp@example.org"},
        "notes": "Mornings"
    })
}

/// The JSON pointer of every string under `v`.
fn string_pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::String(_) => out.push(at),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                string_pointers(item, format!("{at}/{i}"), out)
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                let k = k.replace('~', "~0").replace('/', "~1");
                string_pointers(item, format!("{at}/{k}"), out)
            }
        }
        _ => {}
    }
}

/// Every string field of the JSON body.
fn json_pointers() -> Vec<String> {
    let mut out = Vec::new();
    string_pointers(&valid_json(), String::new(), &mut out);
    out
}

fn bundle() -> Value {
    let path = format!(
        "{}/tests/fixtures/fhir/social-prescribing-referral.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every string in the bundle.
fn fhir_pointers() -> Vec<String> {
    let mut out = Vec::new();
    string_pointers(&bundle(), String::new(), &mut out);
    out
}

fn form_pairs() -> Vec<(String, String)> {
    [
        ("nhs_number", "943 476 5919"),
        ("given_name", "Robin"),
        ("family_name", "Example"),
        ("birth_date", "1961-05-17"),
        ("address_line1", "14 Imaginary Row"),
        ("postcode", "LS6 9ZZ"),
        ("phone", "07700 900123"),
        ("preferred_contact_method", "phone"),
        ("need", "422650009"),
        ("needs_text", "Lonely"),
        ("urgency", "routine"),
        ("safeguarding_concern", "no"),
        ("legal_basis", "public_task_health_care"),
        ("consent_status", "active"),
        ("referral_agreed", "yes"),
        ("share_details", "yes"),
        ("practitioner_name", "Dr Placeholder"),
        ("notes", "Mornings"),
        ("accessibility_needs", "Large print"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

/// The JSON path: the body reader, then validation.
fn through_json(body: &[u8]) {
    if let Ok(request) = linkway_intake::api::parse_body::<ReferralRequest>(body)
        && let Ok(valid) = validate(&request, TODAY)
    {
        assert_storable(&valid);
    }
}

/// The FHIR path: JSON, the bundle reader, then validation with its consent. What the audit
/// log keeps of the header, and the header of a message read, is storable too.
fn through_fhir(body: &[u8]) {
    let Ok(bundle) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let facts = header_facts(&bundle);
    walk(&json!([
        facts.bundle_id,
        facts.header_id,
        facts.event_code,
        facts.source_endpoint,
        facts.source_software
    ]));
    if let Ok(message) = read_message(&bundle) {
        walk(&json!([
            message.bundle_id,
            message.header_id,
            message.sender.value,
            message.source_endpoint,
            message.source_software
        ]));
        if let Ok(valid) = validate_with_consent(&message.request, &message.consent, TODAY) {
            assert_storable(&valid);
        }
    }
}

/// The form path: the post reader, then validation.
fn through_form(pairs: Vec<(String, String)>) {
    if let Ok(request) = read(&Posted::new(pairs))
        && let Ok(valid) = validate(&request, TODAY)
    {
        assert_storable(&valid);
    }
}

/// Text as people and machines send it, control and invisible characters more likely.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z \\x00-\\x1f\\x7f\\u{85}\\u{200b}\\u{202e}\\u{2066}\\u{fffe}\\u{301}\\r\\n\\t]{0,16}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[test]
fn the_valid_inputs_are_accepted_so_the_fuzzing_reaches_validation() {
    assert!(validate(&serde_json::from_value(valid_json()).unwrap(), TODAY).is_ok());
    let message = read_message(&bundle()).unwrap();
    assert!(validate_with_consent(&message.request, &message.consent, TODAY).is_ok());
    assert!(validate(&read(&Posted::new(form_pairs())).unwrap(), TODAY).is_ok());
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_any_reader(body in prop::collection::vec(any::<u8>(), 0..512)) {
        through_json(&body);
        through_fhir(&body);
    }

    #[test]
    fn arbitrary_json_never_panics_any_reader(v in json_value()) {
        let body = serde_json::to_vec(&v).unwrap();
        through_json(&body);
        through_fhir(&body);
        let mut b = bundle();
        b["entry"][1]["resource"] = v;
        through_fhir(&serde_json::to_vec(&b).unwrap());
    }

    #[test]
    fn any_value_in_any_field_of_a_json_referral_is_refused_or_storable(
        field in 0..64usize, v in prop_oneof![4 => text().prop_map(Value::String), 1 => json_value()]
    ) {
        let pointers = json_pointers();
        let mut body = valid_json();
        *body.pointer_mut(&pointers[field % pointers.len()]).unwrap() = v;
        through_json(&serde_json::to_vec(&body).unwrap());
    }

    #[test]
    fn any_value_in_any_element_of_a_fhir_message_is_refused_or_storable(
        field in 0..512usize, v in prop_oneof![4 => text().prop_map(Value::String), 1 => json_value()]
    ) {
        let pointers = fhir_pointers();
        let mut b = bundle();
        *b.pointer_mut(&pointers[field % pointers.len()]).unwrap() = v;
        through_fhir(&serde_json::to_vec(&b).unwrap());
    }

    #[test]
    fn any_value_in_any_form_field_and_any_extra_field_is_refused_or_storable(
        field in 0..32usize, v in text(), extra in prop::option::of((text(), text()))
    ) {
        let mut pairs = form_pairs();
        let n = pairs.len();
        pairs[field % n].1 = v;
        pairs.extend(extra);
        through_form(pairs);
    }
}
