//! The pure parts of the referrer's pages: how refusals are worded and placed, and that the
//! form keeps what was typed.

use linkway_platform::FieldError as Refusal;
use linkway_platform::web::FieldError;

use super::make_form::{FORM_TOP, View, field_errors, render};
use crate::form::Posted;

#[test]
fn each_refusal_is_a_sentence_beside_the_control_it_names() {
    let errors = field_errors(&[
        Refusal::new("person.address.postcode", "required", "is required"),
        Refusal::new("consent.referral_agreed", "consent_required", "must be yes"),
        Refusal::new(
            "idempotency_key",
            "idempotency_key_format",
            "must be visible ASCII",
        ),
    ]);
    assert_eq!(
        errors,
        vec![
            FieldError {
                field: "postcode".into(),
                message: "Postcode is required".into()
            },
            FieldError {
                field: "referral_agreed".into(),
                message: "Agreement to the referral must be yes".into()
            },
            FieldError {
                field: FORM_TOP.into(),
                message: "Must be visible ASCII".into()
            },
        ]
    );
}

#[test]
fn a_refused_form_keeps_what_was_typed_and_links_the_summary_to_each_field() {
    let posted = Posted::new(vec![
        ("given_name".into(), "Robin <b>".into()),
        ("need".into(), "73595000".into()),
        ("urgency".into(), "urgent".into()),
        ("interpreter_needed".into(), "yes".into()),
    ]);
    let errors = field_errors(&[Refusal::new(
        "person.address.postcode",
        "required",
        "is required",
    )]);
    let html = render(&View {
        posted: &posted,
        errors: &errors,
        csrf: "the-csrf",
        idempotency_key: "k-1",
    })
    .into_string();
    assert!(
        html.contains(r##"<a href="#postcode">Postcode is required</a>"##),
        "{html}"
    );
    assert!(html.contains(r#"id="postcode-error""#));
    assert!(html.contains(r#"aria-describedby="postcode-error""#));
    assert!(
        html.contains(r#"value="Robin &lt;b&gt;""#),
        "typed text kept, escaped"
    );
    assert!(
        html.contains(r#"value="73595000" checked"#),
        "ticked need kept"
    );
    assert!(
        html.contains(r#"value="urgent" checked"#),
        "chosen radio kept"
    );
    assert!(html.contains(r#"name="csrf" value="the-csrf""#));
    assert!(html.contains(r#"name="idempotency_key" value="k-1""#));
    assert!(!html.contains("access_token"), "signed in: no token field");
}

#[test]
fn every_control_a_refusal_can_name_is_on_the_form() {
    let html = render(&View {
        posted: &Posted::new(Vec::new()),
        errors: &[],
        csrf: "c",
        idempotency_key: "k",
    })
    .into_string();
    for field in crate::form::FIELDS {
        if matches!(
            field,
            "access_token" | "idempotency_key" | "referrer_organisation_id"
        ) {
            continue;
        }
        assert!(
            html.contains(&format!(r#"name="{field}""#)),
            "{field} has no control"
        );
        assert!(
            html.contains(&format!(r#"id="{field}""#)),
            "{field}: the summary's link #{field} goes nowhere"
        );
    }
}
