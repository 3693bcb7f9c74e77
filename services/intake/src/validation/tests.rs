//! One test per rule (each checks the field and rule named), plus property tests.

use super::needs::verhoeff_valid;
use super::*;
use crate::nhs_number;
use linkway_events::common::SNOMED;
use proptest::prelude::*;
use time::macros::date;

const TODAY: Date = date!(2026 - 11 - 22);

/// A request that passes every rule; tests break one thing at a time.
pub(crate) fn valid_request() -> ReferralRequest {
    ReferralRequest {
        referrer_organisation_id: None,
        person: Some(PersonInput {
            nhs_number: Some("943 476 5919".into()),
            nhs_number_verification: Some("number-present-and-verified".into()),
            given_name: Some(" Robin ".into()),
            family_name: Some("Example".into()),
            birth_date: Some("1961-05-17".into()),
            address: Some(AddressInput {
                lines: Some(vec!["14 Imaginary Row".into(), "Leeds".into()]),
                postcode: Some("ls6 9zz".into()),
            }),
            phone: Some("07700 900123".into()),
            email: Some("robin@example.org".into()),
            preferred_contact_method: Some("phone".into()),
            language: Some("en".into()),
            interpreter_needed: Some(false),
            accessibility_needs: None,
            gender: Some("female".into()),
            ethnicity: None,
        }),
        needs_and_concerns: Some(NeedsInput {
            codes: vec![CodingInput {
                system: None,
                code: Some("422650009".into()),
                display: Some("Social isolation".into()),
            }],
            text: Some("Lives alone".into()),
        }),
        urgency: Some("routine".into()),
        safeguarding_concern: Some(false),
        legal_basis: Some("public_task_health_care".into()),
        consent: Some(ConsentInput {
            status: None,
            referral_agreed: Some(true),
            share_details_with_referrer: Some(true),
        }),
        practitioner: Some(PractitionerInput {
            name: Some("Dr Placeholder".into()),
            role: Some("GP".into()),
            phone: None,
            email: None,
        }),
        notes: None,
    }
}

fn person(r: &mut ReferralRequest) -> &mut PersonInput {
    r.person.as_mut().unwrap()
}

/// Validates `r` and asserts exactly one error, on `field` for `rule`.
fn assert_only(r: &ReferralRequest, field: &str, rule: &str) {
    let errors = validate(r, TODAY).expect_err("should be refused");
    assert_eq!(
        errors
            .iter()
            .map(|e| (e.field.as_str(), e.rule.as_str()))
            .collect::<Vec<_>>(),
        vec![(field, rule)],
        "{errors:?}"
    );
}

#[test]
fn a_valid_request_becomes_the_event_parts() {
    let v = validate(&valid_request(), TODAY).unwrap();
    assert_eq!(v.postcode_district, "LS6");
    assert_eq!(v.age_band, "65-74");
    assert_eq!(v.personal.person.nhs_number.as_deref(), Some("9434765919"));
    assert_eq!(v.personal.person.address.postcode, "LS6 9ZZ");
    assert_eq!(v.personal.person.given_name, "Robin");
    assert_eq!(v.needs[0].system, SNOMED);
    assert_eq!(v.urgency, Urgency::Routine);
    assert!(v.consent.share_details_with_referrer);
}

#[test]
fn missing_top_level_parts_are_each_required() {
    let errors = validate(&ReferralRequest::default(), TODAY).unwrap_err();
    let mut fields: Vec<_> = errors
        .iter()
        .filter(|e| e.rule == rule::REQUIRED)
        .map(|e| e.field.as_str())
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "consent",
            "legal_basis",
            "needs_and_concerns",
            "person",
            "practitioner",
            "safeguarding_concern",
            "urgency"
        ]
    );
    assert_eq!(errors.len(), 7);
}

#[test]
fn person_fields_are_required() {
    for (field, clear) in [
        (
            "person.given_name",
            (|p: &mut PersonInput| p.given_name = Some("  ".into())) as fn(&mut PersonInput),
        ),
        ("person.family_name", |p| p.family_name = None),
        ("person.birth_date", |p| p.birth_date = None),
        ("person.address", |p| p.address = None),
        ("person.address.postcode", |p| {
            p.address.as_mut().unwrap().postcode = None
        }),
        ("person.address.lines", |p| {
            p.address.as_mut().unwrap().lines = Some(vec![" ".into()])
        }),
        ("person.preferred_contact_method", |p| {
            p.preferred_contact_method = None
        }),
    ] {
        let mut r = valid_request();
        clear(person(&mut r));
        assert_only(&r, field, rule::REQUIRED);
    }
}

#[test]
fn nhs_number_format_and_check_digit() {
    let mut r = valid_request();
    person(&mut r).nhs_number = Some("94347659".into());
    assert_only(&r, "person.nhs_number", rule::NHS_NUMBER_FORMAT);
    person(&mut r).nhs_number = Some("9434765918".into());
    assert_only(&r, "person.nhs_number", rule::NHS_NUMBER_CHECK_DIGIT);
}

#[test]
fn nhs_number_is_optional_for_self_referrals() {
    let mut r = valid_request();
    person(&mut r).nhs_number = None;
    person(&mut r).nhs_number_verification = None;
    assert!(validate(&r, TODAY).is_ok());
}

#[test]
fn verification_status_must_be_known_and_needs_a_number() {
    let mut r = valid_request();
    person(&mut r).nhs_number_verification = Some("verified".into());
    assert_only(&r, "person.nhs_number_verification", rule::ONE_OF);
    let mut r = valid_request();
    person(&mut r).nhs_number = None;
    assert_only(
        &r,
        "person.nhs_number_verification",
        rule::VERIFICATION_WITHOUT_NHS_NUMBER,
    );
}

#[test]
fn birth_date_format_future_and_plausibility() {
    let mut r = valid_request();
    for bad in ["17/05/1961", "1961-5-17", "1961-02-30"] {
        person(&mut r).birth_date = Some(bad.into());
        assert_only(&r, "person.birth_date", rule::DATE_FORMAT);
    }
    person(&mut r).birth_date = Some("2026-11-23".into());
    assert_only(&r, "person.birth_date", rule::NOT_IN_FUTURE);
    person(&mut r).birth_date = Some("1890-01-01".into());
    assert_only(&r, "person.birth_date", rule::PLAUSIBLE_AGE);
    person(&mut r).birth_date = Some("2026-11-22".into());
    assert_eq!(validate(&r, TODAY).unwrap().age_band, "0-15");
}

#[test]
fn postcode_must_be_a_uk_postcode() {
    let mut r = valid_request();
    for bad in ["LS6", "12345", "LS6 9Z9", "LSX 9ZZ", "L 9ZZ", "ABC1 1AA"] {
        person(&mut r).address.as_mut().unwrap().postcode = Some(bad.into());
        assert_only(&r, "person.address.postcode", rule::POSTCODE_FORMAT);
    }
}

#[test]
fn address_lines_are_bounded() {
    let mut r = valid_request();
    person(&mut r).address.as_mut().unwrap().lines = Some(vec!["x".into(); 7]);
    assert_only(&r, "person.address.lines", rule::MAX_ITEMS);
    person(&mut r).address.as_mut().unwrap().lines = Some(vec!["ok".into(), "y".repeat(101)]);
    assert_only(&r, "person.address.lines[1]", rule::MAX_LENGTH);
}

#[test]
fn names_are_bounded() {
    let mut r = valid_request();
    person(&mut r).family_name = Some("z".repeat(101));
    assert_only(&r, "person.family_name", rule::MAX_LENGTH);
}

#[test]
fn phone_and_email_formats() {
    let mut r = valid_request();
    person(&mut r).phone = Some("call me".into());
    assert_only(&r, "person.phone", rule::PHONE_FORMAT);
    let mut r = valid_request();
    person(&mut r).email = Some("robin at example".into());
    assert_only(&r, "person.email", rule::EMAIL_FORMAT);
    let mut r = valid_request();
    r.practitioner.as_mut().unwrap().email = Some("@example.org".into());
    assert_only(&r, "practitioner.email", rule::EMAIL_FORMAT);
    let mut r = valid_request();
    r.practitioner.as_mut().unwrap().phone = Some("123".into());
    assert_only(&r, "practitioner.phone", rule::PHONE_FORMAT);
}

#[test]
fn preferred_contact_method_needs_its_contact_detail() {
    let mut r = valid_request();
    person(&mut r).preferred_contact_method = Some("pigeon".into());
    assert_only(&r, "person.preferred_contact_method", rule::ONE_OF);
    let mut r = valid_request();
    person(&mut r).phone = None;
    assert_only(&r, "person.phone", rule::CONTACT_DETAIL_FOR_METHOD);
    person(&mut r).preferred_contact_method = Some("email".into());
    person(&mut r).email = Some(String::new());
    assert_only(&r, "person.email", rule::CONTACT_DETAIL_FOR_METHOD);
    person(&mut r).preferred_contact_method = Some("letter".into());
    assert!(validate(&r, TODAY).is_ok());
}

#[test]
fn language_tag_and_interpreter() {
    let mut r = valid_request();
    person(&mut r).language = Some("english!".into());
    assert_only(&r, "person.language", rule::LANGUAGE_TAG);
    person(&mut r).language = None;
    person(&mut r).interpreter_needed = Some(true);
    assert_only(&r, "person.language", rule::LANGUAGE_FOR_INTERPRETER);
    person(&mut r).language = Some("pt-BR".into());
    assert!(validate(&r, TODAY).is_ok());
}

#[test]
fn optional_texts_are_bounded() {
    let mut r = valid_request();
    person(&mut r).accessibility_needs = Some("a".repeat(4001));
    assert_only(&r, "person.accessibility_needs", rule::MAX_LENGTH);
    let mut r = valid_request();
    person(&mut r).gender = Some("g".repeat(201));
    assert_only(&r, "person.gender", rule::MAX_LENGTH);
    let mut r = valid_request();
    person(&mut r).ethnicity = Some("e".repeat(201));
    assert_only(&r, "person.ethnicity", rule::MAX_LENGTH);
    let mut r = valid_request();
    r.notes = Some("n".repeat(4001));
    assert_only(&r, "notes", rule::MAX_LENGTH);
    let mut r = valid_request();
    r.needs_and_concerns.as_mut().unwrap().text = Some("t".repeat(4001));
    assert_only(&r, "needs_and_concerns.text", rule::MAX_LENGTH);
    let mut r = valid_request();
    r.practitioner.as_mut().unwrap().role = Some("r".repeat(201));
    assert_only(&r, "practitioner.role", rule::MAX_LENGTH);
    let mut r = valid_request();
    r.referrer_organisation_id = Some("o".repeat(201));
    assert_only(&r, "referrer_organisation_id", rule::MAX_LENGTH);
}

#[test]
fn needs_need_a_code_or_a_description() {
    let mut r = valid_request();
    r.needs_and_concerns = Some(NeedsInput {
        codes: vec![],
        text: Some(" ".into()),
    });
    assert_only(&r, "needs_and_concerns", rule::NEEDS_REQUIRED);
    r.needs_and_concerns = Some(NeedsInput {
        codes: vec![],
        text: Some("Lonely".into()),
    });
    assert!(validate(&r, TODAY).is_ok());
}

fn with_code(code: &str) -> ReferralRequest {
    let mut r = valid_request();
    r.needs_and_concerns.as_mut().unwrap().codes[0].code = Some(code.into());
    r
}

#[test]
fn needs_codes_must_be_snomed_concept_ids() {
    assert_only(
        &with_code("12ab56"),
        "needs_and_concerns.codes[0].code",
        rule::SNOMED_FORMAT,
    );
    assert_only(
        &with_code("012345"),
        "needs_and_concerns.codes[0].code",
        rule::SNOMED_FORMAT,
    );
    assert_only(
        &with_code("422650008"),
        "needs_and_concerns.codes[0].code",
        rule::SNOMED_CHECK_DIGIT,
    );
    // 12 digits, Verhoeff-valid, but partition 01 (a description id).
    let description_id = (0..10)
        .map(|d| format!("1234567801{d}"))
        .find(|c| verhoeff_valid(c))
        .unwrap();
    assert_only(
        &with_code(&description_id),
        "needs_and_concerns.codes[0].code",
        rule::SNOMED_CONCEPT_ID,
    );
    let mut r = with_code(" ");
    assert_only(&r, "needs_and_concerns.codes[0].code", rule::REQUIRED);
    r.needs_and_concerns.as_mut().unwrap().codes[0] = CodingInput {
        system: Some("http://loinc.org".into()),
        code: Some("1234-5".into()),
        display: None,
    };
    assert_only(&r, "needs_and_concerns.codes[0].system", rule::CODE_SYSTEM);
}

#[test]
fn needs_codes_are_unique_and_bounded() {
    let mut r = valid_request();
    let c = r.needs_and_concerns.as_ref().unwrap().codes[0].clone();
    r.needs_and_concerns.as_mut().unwrap().codes.push(c.clone());
    assert_only(&r, "needs_and_concerns.codes[1].code", rule::DUPLICATE_CODE);
    r.needs_and_concerns.as_mut().unwrap().codes = vec![c; 21];
    assert_only(&r, "needs_and_concerns.codes", rule::MAX_ITEMS);
    let mut r = valid_request();
    r.needs_and_concerns.as_mut().unwrap().codes[0].display = Some("d".repeat(201));
    assert_only(&r, "needs_and_concerns.codes[0].display", rule::MAX_LENGTH);
}

#[test]
fn known_snomed_codes_pass_the_check() {
    for code in [
        "871731000000106",
        "871711000000103",
        "422650009",
        "73595000",
        "408443003",
        "108161000000109",
    ] {
        assert_eq!(check_sctid(code), Ok(()), "{code}");
    }
}

#[test]
fn urgency_and_legal_basis_are_enumerations() {
    let mut r = valid_request();
    r.urgency = Some("asap".into());
    assert_only(&r, "urgency", rule::ONE_OF);
    let mut r = valid_request();
    r.legal_basis = Some("because".into());
    assert_only(&r, "legal_basis", rule::ONE_OF);
}

#[test]
fn consent_parts_are_required_and_agreement_is_needed() {
    let mut r = valid_request();
    r.consent = Some(ConsentInput {
        status: None,
        referral_agreed: None,
        share_details_with_referrer: Some(true),
    });
    assert_only(&r, "consent.referral_agreed", rule::REQUIRED);
    r.consent = Some(ConsentInput {
        status: None,
        referral_agreed: Some(true),
        share_details_with_referrer: None,
    });
    assert_only(&r, "consent.share_details_with_referrer", rule::REQUIRED);
    r.consent = Some(ConsentInput {
        status: None,
        referral_agreed: Some(false),
        share_details_with_referrer: Some(false),
    });
    assert_only(&r, "consent.referral_agreed", rule::CONSENT_REQUIRED);
    r.legal_basis = Some("vital_interests".into());
    assert!(validate(&r, TODAY).is_ok());
}

#[test]
fn practitioner_name_is_required() {
    let mut r = valid_request();
    r.practitioner.as_mut().unwrap().name = None;
    assert_only(&r, "practitioner.name", rule::REQUIRED);
}

#[test]
fn all_errors_are_reported_at_once() {
    let mut r = valid_request();
    person(&mut r).nhs_number = Some("1234567890".into());
    r.urgency = Some("soon".into());
    r.practitioner.as_mut().unwrap().name = None;
    let errors = validate(&r, TODAY).unwrap_err();
    assert_eq!(errors.len(), 3, "{errors:?}");
}

#[test]
fn age_bands_cover_every_age() {
    assert_eq!(age_band(15), "0-15");
    assert_eq!(age_band(16), "16-17");
    assert_eq!(age_band(34), "25-34");
    assert_eq!(age_band(85), "85+");
    assert_eq!(age_on(date!(2000 - 11 - 23), TODAY), 25);
    assert_eq!(age_on(date!(2000 - 11 - 22), TODAY), 26);
}

proptest! {
    /// Whatever arrives, validation answers (never panics), and an accepted request yields
    /// values the event schema accepts.
    #[test]
    fn validation_is_total_and_accepted_values_are_canonical(
        nhs in proptest::option::of("[0-9 ]{0,13}"),
        postcode in proptest::option::of("[A-Za-z0-9 ]{0,9}"),
        birth in proptest::option::of("[0-9]{4}-[0-9]{2}-[0-9]{2}|[ -~]{0,12}"),
        phone in proptest::option::of("[+0-9 ()a-z-]{0,20}"),
        email in proptest::option::of("[a-z.@ -]{0,20}"),
        method in proptest::option::of("phone|email|letter|text|fax"),
        code in proptest::option::of("[0-9]{0,19}"),
        urgency in proptest::option::of("routine|urgent|[a-z]{0,6}"),
    ) {
        let mut r = valid_request();
        {
            let p = person(&mut r);
            p.nhs_number = nhs;
            p.nhs_number_verification = None;
            p.address.as_mut().unwrap().postcode = postcode;
            p.birth_date = birth;
            p.phone = phone;
            p.email = email;
            p.preferred_contact_method = method;
        }
        r.needs_and_concerns.as_mut().unwrap().codes[0].code = code;
        r.urgency = urgency;
        match validate(&r, TODAY) {
            Ok(v) => {
                let p = &v.personal.person;
                if let Some(n) = &p.nhs_number {
                    prop_assert!(n.len() == 10 && nhs_number::is_valid(n));
                }
                let renormalised = normalise_postcode(&p.address.postcode);
                prop_assert_eq!(renormalised.as_deref(), Some(p.address.postcode.as_str()));
                prop_assert!(is_outward_code(&v.postcode_district));
                prop_assert!(p.birth_date <= TODAY);
                prop_assert!(v.needs.iter().all(|c| check_sctid(&c.code).is_ok()));
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                prop_assert!(errors.iter().all(|e| !e.field.is_empty() && !e.rule.is_empty()));
            }
        }
    }

    /// Every canonical postcode the normaliser yields normalises to itself, whatever the
    /// spacing or case it came in with.
    #[test]
    fn postcode_normalisation_is_idempotent(outward in "[A-Z]{1,2}[0-9][A-Z0-9]?", inward in "[0-9][A-Z]{2}", spaces in " {0,3}") {
        let messy = format!("{}{spaces}{}", outward.to_lowercase(), inward);
        let canonical = normalise_postcode(&messy).unwrap();
        prop_assert_eq!(&canonical, &format!("{outward} {inward}"));
        prop_assert_eq!(normalise_postcode(&canonical), Some(canonical.clone()));
        prop_assert_eq!(postcode_district(&canonical), outward.as_str());
    }

    /// Changing any single digit of a valid SNOMED CT id breaks its check digit.
    #[test]
    fn verhoeff_catches_single_digit_errors(pos in 0usize..9, delta in 1u8..10) {
        let code = b"422650009".to_vec();
        let mut changed = code.clone();
        changed[pos] = b'0' + (changed[pos] - b'0' + delta) % 10;
        prop_assert!(!verhoeff_valid(std::str::from_utf8(&changed).unwrap()));
    }
}
