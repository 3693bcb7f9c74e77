//! `correctPerson`'s request and its rules: the person again, whole, under the very rules
//! of a referral's person ([`super::person`]), and, if given, the referrer's words under
//! theirs. Pure: no I/O; "today" is a parameter.

use linkway_events::referral::{Person, ReferralPersonal};
use linkway_platform::FieldError;
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;

use super::errors::Errors;
use super::person::validate_person;
use super::{FREE_TEXT, PersonInput};

/// The person's details, corrected (rectification).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonCorrectionRequest {
    /// The person, whole, as they should have been recorded: the same fields and rules as
    /// a referral's `person`.
    #[schema(required = true)]
    pub person: Option<PersonInput>,
    /// The referrer's description of needs and concerns, corrected. Absent (or null) keeps
    /// the one before; blank removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needs_text: Option<String>,
    /// What the person wants the link worker to know, corrected. Absent (or null) keeps the
    /// one before; blank removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// What a request says of one of the referrer's texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Words {
    /// Not given: the one before stays.
    Keep,
    /// Given: this (`None`, blank: removed).
    Set(Option<String>),
}

impl Words {
    fn over(self, before: Option<&String>) -> Option<String> {
        match self {
            Words::Keep => before.cloned(),
            Words::Set(words) => words,
        }
    }
}

/// A correction that passed every rule.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidCorrection {
    pub person: Person,
    pub needs_text: Words,
    pub notes: Words,
}

impl ValidCorrection {
    /// The whole corrected personal part, over the one it replaces.
    pub fn personal(&self, before: Option<&ReferralPersonal>) -> ReferralPersonal {
        ReferralPersonal {
            person: self.person.clone(),
            needs_text: self
                .needs_text
                .clone()
                .over(before.and_then(|b| b.needs_text.as_ref())),
            notes: self
                .notes
                .clone()
                .over(before.and_then(|b| b.notes.as_ref())),
        }
    }
}

/// Validates a correction. `today` is the date in England, for ages and future dates.
pub fn validate_correction(
    request: &PersonCorrectionRequest,
    today: Date,
) -> Result<ValidCorrection, Vec<FieldError>> {
    let mut e = Errors::default();
    let person = e
        .required("person", &request.person)
        .map(|p| validate_person(&mut e, p, today));
    let mut words = |field: &str, value: &Option<String>| match value {
        None => Words::Keep,
        Some(_) => Words::Set(e.text(field, value, FREE_TEXT)),
    };
    let needs_text = words("needs_text", &request.needs_text);
    let notes = words("notes", &request.notes);
    match person {
        Some(Some(p)) if e.0.is_empty() => Ok(ValidCorrection {
            person: p.person,
            needs_text,
            notes,
        }),
        _ => {
            debug_assert!(!e.0.is_empty(), "every missing part reports an error");
            Err(e.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;
    use crate::validation::AddressInput;

    fn request() -> PersonCorrectionRequest {
        PersonCorrectionRequest {
            person: Some(PersonInput {
                given_name: Some("Robyn".into()),
                family_name: Some("Example".into()),
                birth_date: Some("1961-05-17".into()),
                address: Some(AddressInput {
                    lines: Some(vec!["14 Imaginary Row".into()]),
                    postcode: Some("ls6 9zz".into()),
                }),
                preferred_contact_method: Some("letter".into()),
                ..PersonInput::default()
            }),
            needs_text: None,
            notes: Some("  ".into()),
        }
    }

    #[test]
    fn the_person_is_held_to_a_referrals_rules_and_absent_words_stay() {
        let valid = validate_correction(&request(), date!(2026 - 11 - 01)).unwrap();
        assert_eq!(valid.person.given_name, "Robyn");
        assert_eq!(valid.person.address.postcode, "LS6 9ZZ");
        let before = ReferralPersonal {
            person: valid.person.clone(),
            needs_text: Some("lonely".into()),
            notes: Some("wrong note".into()),
        };
        let after = valid.personal(Some(&before));
        assert_eq!(after.needs_text.as_deref(), Some("lonely"), "absent keeps");
        assert_eq!(after.notes, None, "blank removes");
    }

    #[test]
    fn every_error_names_its_field_and_rule() {
        let mut r = request();
        let p = r.person.as_mut().unwrap();
        p.nhs_number = Some("9434765918".into());
        p.birth_date = Some("2099-01-01".into());
        r.notes = Some("x".repeat(4001));
        let errors = validate_correction(&r, date!(2026 - 11 - 01)).unwrap_err();
        let named: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.rule.as_str()))
            .collect();
        assert!(named.contains(&("person.nhs_number", "nhs_number_check_digit")));
        assert!(named.contains(&("person.birth_date", "not_in_future")));
        assert!(named.contains(&("notes", "max_length")));
        let none = PersonCorrectionRequest::default();
        let errors = validate_correction(&none, date!(2026 - 11 - 01)).unwrap_err();
        assert_eq!(errors[0].field, "person");
        assert_eq!(errors[0].rule, "required");
    }
}
