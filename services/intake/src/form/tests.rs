//! The form's fields, validation messages and HTML: every validation field has a
//! labelled control, errors sit next to their fields, the token is never echoed.

use super::render::label_of;
use super::*;
use crate::validation::ReferralRequest;

fn posted(pairs: &[(&str, &str)]) -> Posted {
    Posted(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

#[test]
fn the_common_needs_are_valid_snomed_concept_ids() {
    for (code, _) in COMMON_NEEDS {
        assert_eq!(validation::check_sctid(code), Ok(()), "{code}");
    }
}

#[test]
fn every_validation_field_has_a_control_on_the_form() {
    let errors = validation::validate(&ReferralRequest::default(), today()).unwrap_err();
    for e in errors {
        assert!(!control_for(&e.field).is_empty(), "{}", e.field);
    }
    for field in [
        "person.nhs_number",
        "person.address.lines[3]",
        "needs_and_concerns.codes[1].code",
        "consent.share_details_with_referrer",
        "practitioner.email",
        "person.language",
    ] {
        let control = control_for(field);
        assert_ne!(label_of(control), "Field", "{field}");
    }
}

#[test]
fn a_filled_form_becomes_a_valid_request() {
    let p = posted(&[
        ("nhs_number", "943 476 5919"),
        ("given_name", "Robin"),
        ("family_name", "Example"),
        ("birth_date", "1961-05-17"),
        ("address_line1", "14 Imaginary Row"),
        ("address_line2", ""),
        ("postcode", "ls6 9zz"),
        ("phone", "07700 900123"),
        ("preferred_contact_method", "phone"),
        ("need", "422650009"),
        ("need", "73595000"),
        ("other_need_code", "48694002"),
        ("urgency", "routine"),
        ("safeguarding_concern", "no"),
        ("legal_basis", "public_task_health_care"),
        ("referral_agreed", "yes"),
        ("share_details", "no"),
        ("practitioner_name", "Dr P"),
    ]);
    let v = validation::validate(&to_request(&p), today()).unwrap();
    assert_eq!(v.needs.len(), 3);
    assert_eq!(v.needs[0].display.as_deref(), Some("Social isolation"));
    assert_eq!(v.personal.person.address.lines, ["14 Imaginary Row"]);
    assert!(!v.consent.share_details_with_referrer);
    assert!(!v.safeguarding_concern);
}

#[test]
fn errors_are_rendered_next_to_their_fields_and_the_token_is_never_echoed() {
    let p = posted(&[
        ("access_token", "lw_secret"),
        ("given_name", "<script>x</script>"),
        ("nhs_number", "123"),
    ]);
    let errors = validation::validate(&to_request(&p), today()).unwrap_err();
    let html = render_form(&View {
        posted: &p,
        errors: &errors,
        page_error: None,
        ask_token: true,
    });
    assert!(!html.contains("lw_secret"));
    assert!(!html.contains("<script>x"));
    assert!(html.contains("&lt;script&gt;x&lt;/script&gt;"));
    assert!(html.contains(r#"<p class="error-message" id="nhs_number-error">"#));
    assert!(html.contains(r#"id="nhs_number" name="nhs_number" value="123" autocomplete="off" aria-invalid="true" aria-describedby="nhs_number-hint nhs_number-error""#));
    assert!(html.contains(r##"<a href="#family_name">"##));
    assert!(html.contains("There is a problem"));
    assert!(!html.contains("<script"), "no JavaScript at all");
}

#[test]
fn every_control_has_a_label() {
    let p = Posted::empty();
    let html = render_form(&View {
        posted: &p,
        errors: &[],
        page_error: None,
        ask_token: true,
    });
    let mut rest = html.as_str();
    while let Some(i) = rest.find(" id=\"") {
        let after = &rest[i + 5..];
        let id = &after[..after.find('"').unwrap()];
        let before = &rest[..i];
        let is_control = before.rfind('<').map(|t| &before[t..]).is_some_and(|t| {
            t.starts_with("<input") && !t.contains("type=\"hidden\"")
                || t.starts_with("<select")
                || t.starts_with("<textarea")
        });
        if is_control {
            assert!(
                html.contains(&format!("<label for=\"{id}\">")),
                "control {id} has no label"
            );
        }
        rest = after;
    }
}

#[test]
fn every_control_the_form_renders_is_a_field_the_post_reader_knows() {
    let html = render_form(&View {
        posted: &Posted::empty(),
        errors: &[],
        page_error: None,
        ask_token: true,
    });
    let names: Vec<&str> = html
        .split(" name=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|n| *n != "viewport")
        .collect();
    assert!(names.len() > 20, "{names:?}");
    for name in names {
        assert!(
            FIELDS.contains(&name),
            "{name} is rendered but refused when posted"
        );
    }
}

#[test]
fn a_post_with_an_unknown_field_or_a_yes_no_that_is_neither_is_refused_naming_it() {
    let errors = read(&posted(&[
        ("shoe_size", "9"),
        ("referral_agreed", "perhaps"),
    ]))
    .unwrap_err();
    let named: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.field.as_str(), e.rule.as_str()))
        .collect();
    assert_eq!(
        named,
        [
            ("shoe_size", "schema"),
            ("consent.referral_agreed", "one_of")
        ]
    );
    let errors = read(&posted(&[("\u{0}<script>", "x")])).unwrap_err();
    assert_eq!(
        errors[0].field, "body",
        "an implausible name is not repeated back"
    );
}
