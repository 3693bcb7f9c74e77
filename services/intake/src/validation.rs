//! The referral request and its validation: every rule yields a [`FieldError`] naming the
//! field and the rule, all errors are reported at once, and a valid request becomes the
//! typed parts of a `referral.received` event. Pure: no I/O; "today" is a parameter.
//!
//! Here: the request types and [`validate`]. The rules by part: [`person`] (the person
//! and the practitioner), [`needs`] (SNOMED CT codes), [`formats`] (dates, postcodes,
//! phones, emails, language tags); [`errors`] collects what they find.

use linkway_events::common::Coding;
use linkway_events::referral::{Consent, LegalBasis, Practitioner, ReferralPersonal, Urgency};
use linkway_platform::FieldError;
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;

pub mod errors;
pub mod formats;
pub mod needs;
pub mod person;

use errors::Errors;
pub use formats::*;
pub use needs::check_sctid;
use needs::validate_needs;
use person::{validate_person, validate_practitioner};

/// The rule names a [`FieldError`] can carry, stable for machines.
pub mod rule {
    pub const REQUIRED: &str = "required";
    pub const MAX_LENGTH: &str = "max_length";
    pub const MAX_ITEMS: &str = "max_items";
    pub const ONE_OF: &str = "one_of";
    pub const NHS_NUMBER_FORMAT: &str = "nhs_number_format";
    pub const NHS_NUMBER_CHECK_DIGIT: &str = "nhs_number_check_digit";
    pub const VERIFICATION_WITHOUT_NHS_NUMBER: &str = "verification_without_nhs_number";
    pub const DATE_FORMAT: &str = "date_format";
    pub const NOT_IN_FUTURE: &str = "not_in_future";
    pub const PLAUSIBLE_AGE: &str = "plausible_age";
    pub const POSTCODE_FORMAT: &str = "postcode_format";
    pub const PHONE_FORMAT: &str = "phone_format";
    pub const EMAIL_FORMAT: &str = "email_format";
    pub const CONTACT_DETAIL_FOR_METHOD: &str = "contact_detail_for_method";
    pub const LANGUAGE_TAG: &str = "language_tag";
    pub const LANGUAGE_FOR_INTERPRETER: &str = "language_for_interpreter";
    pub const NEEDS_REQUIRED: &str = "needs_required";
    pub const CODE_SYSTEM: &str = "code_system";
    pub const SNOMED_FORMAT: &str = "snomed_format";
    pub const SNOMED_CHECK_DIGIT: &str = "snomed_check_digit";
    pub const SNOMED_CONCEPT_ID: &str = "snomed_concept_id";
    pub const DUPLICATE_CODE: &str = "duplicate_code";
    pub const CONSENT_REQUIRED: &str = "consent_required";
}

const NAME_MAX: usize = 100;
const LINE_MAX: usize = 100;
const ADDRESS_LINES_MAX: usize = 6;
const SHORT_TEXT_MAX: usize = 200;
const LONG_TEXT_MAX: usize = 4000;
const NEEDS_MAX: usize = 20;
/// Nobody referred is older than this; an earlier date of birth is a typo.
const MAX_AGE_YEARS: i32 = 130;

/// The NHS number verification statuses of the UK Core `NHSNumberVerificationStatus` code system.
pub const VERIFICATION_STATUSES: [&str; 8] = [
    "number-present-and-verified",
    "number-present-but-not-traced",
    "trace-required",
    "trace-attempted-no-match-or-multiple-match-found",
    "trace-needs-to-be-resolved",
    "trace-in-progress",
    "number-not-present-and-trace-not-required",
    "trace-postponed",
];

/// A referral to social prescribing, shaped after the PRSB Social Prescribing Information
/// Standard ("referral to social prescribing services"): the person, their needs and
/// concerns, urgency and safeguarding, legal basis and consent, the referring practitioner.
///
/// Fields are optional in the type so that a missing one is reported as a `required` rule
/// naming the field, together with every other problem, rather than as a parse error.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferralRequest {
    /// The referring organisation. A referrer may leave it out or must give its own; an
    /// administrator entering a referral on an organisation's behalf must give it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer_organisation_id: Option<String>,
    /// PRSB part 1: person demographics.
    #[schema(required = true)]
    pub person: Option<PersonInput>,
    /// PRSB part 2: needs and concerns: SNOMED CT codes and/or free text (at least one).
    #[schema(required = true)]
    pub needs_and_concerns: Option<NeedsInput>,
    /// `routine` or `urgent`.
    #[schema(required = true, example = "routine")]
    pub urgency: Option<String>,
    /// The referrer has a safeguarding concern about the person.
    #[schema(required = true)]
    pub safeguarding_concern: Option<bool>,
    /// `public_task_health_care`, `explicit_consent` or `vital_interests`.
    #[schema(required = true, example = "public_task_health_care")]
    pub legal_basis: Option<String>,
    #[schema(required = true)]
    pub consent: Option<ConsentInput>,
    /// The referring practitioner (staff).
    #[schema(required = true)]
    pub practitioner: Option<PractitionerInput>,
    /// What the person wants the link worker to know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// The person referred.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonInput {
    /// 10 digits (`9434765919` or `943 476 5919`), Modulus 11 valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "9434765919")]
    pub nhs_number: Option<String>,
    /// UK Core NHS number verification status, e.g. `number-present-and-verified`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nhs_number_verification: Option<String>,
    #[schema(required = true)]
    pub given_name: Option<String>,
    #[schema(required = true)]
    pub family_name: Option<String>,
    /// `YYYY-MM-DD`.
    #[schema(required = true, format = Date, value_type = Option<String>)]
    pub birth_date: Option<String>,
    #[schema(required = true)]
    pub address: Option<AddressInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `phone`, `email`, `letter` or `text`.
    #[schema(required = true)]
    pub preferred_contact_method: Option<String>,
    /// BCP 47 language tag, e.g. `en`, `pl`, `bn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interpreter_needed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accessibility_needs: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ethnicity: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
    /// Address lines without the postcode (1 to 6).
    #[schema(required = true)]
    pub lines: Option<Vec<String>>,
    /// A UK postcode, e.g. `LS6 9ZZ`.
    #[schema(required = true)]
    pub postcode: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NeedsInput {
    /// SNOMED CT concepts (up to 20, no repeats).
    #[serde(default)]
    pub codes: Vec<CodingInput>,
    /// The referrer's description, in their words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodingInput {
    /// Must be SNOMED CT (`http://snomed.info/sct`); absent means SNOMED CT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[schema(required = true, example = "422650009")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    /// The person agreed to be referred.
    #[schema(required = true)]
    pub referral_agreed: Option<bool>,
    /// The person agreed that details (not only codes) go back to the referrer.
    #[schema(required = true)]
    pub share_details_with_referrer: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PractitionerInput {
    #[schema(required = true)]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// A request that passed every rule: the parts of a `referral.received` event that do not
/// depend on who sent it or where it goes.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidReferral {
    /// As given in the request; authorisation decides what it may be.
    pub referrer_organisation_id: Option<String>,
    pub practitioner: Practitioner,
    pub needs: Vec<Coding>,
    pub urgency: Urgency,
    pub safeguarding_concern: bool,
    pub legal_basis: LegalBasis,
    pub consent: Consent,
    pub postcode_district: String,
    pub age_band: String,
    pub personal: ReferralPersonal,
}

/// Validates a referral. `today` is the date in England, for ages and future dates.
pub fn validate(request: &ReferralRequest, today: Date) -> Result<ValidReferral, Vec<FieldError>> {
    let mut e = Errors::default();

    let referrer_organisation_id = e.optional_text(
        "referrer_organisation_id",
        &request.referrer_organisation_id,
        SHORT_TEXT_MAX,
    );

    let person = e
        .required("person", &request.person)
        .map(|p| validate_person(&mut e, p, today));

    let needs = e
        .required("needs_and_concerns", &request.needs_and_concerns)
        .map(|n| validate_needs(&mut e, n));

    let urgency = e.one_of(
        "urgency",
        &request.urgency,
        &[("routine", Urgency::Routine), ("urgent", Urgency::Urgent)],
    );
    let safeguarding_concern = e
        .required("safeguarding_concern", &request.safeguarding_concern)
        .copied();
    let legal_basis = e.one_of(
        "legal_basis",
        &request.legal_basis,
        &[
            ("public_task_health_care", LegalBasis::PublicTaskHealthCare),
            ("explicit_consent", LegalBasis::ExplicitConsent),
            ("vital_interests", LegalBasis::VitalInterests),
        ],
    );
    let consent = e.required("consent", &request.consent).and_then(|c| {
        let agreed = e
            .required("consent.referral_agreed", &c.referral_agreed)
            .copied();
        let share = e
            .required(
                "consent.share_details_with_referrer",
                &c.share_details_with_referrer,
            )
            .copied();
        Some(Consent {
            referral_agreed: agreed?,
            share_details_with_referrer: share?,
        })
    });
    // A referral needs the person's agreement, except to protect their vital interests.
    if let (Some(c), Some(basis)) = (&consent, legal_basis)
        && !c.referral_agreed
        && basis != LegalBasis::VitalInterests
    {
        e.add(
            "consent.referral_agreed",
            rule::CONSENT_REQUIRED,
            "the person must agree to the referral unless the legal basis is vital_interests",
        );
    }
    let practitioner = e
        .required("practitioner", &request.practitioner)
        .and_then(|p| validate_practitioner(&mut e, p));
    let notes = e.optional_text("notes", &request.notes, LONG_TEXT_MAX);

    match (
        person,
        needs,
        urgency,
        safeguarding_concern,
        legal_basis,
        consent,
        practitioner,
    ) {
        (
            Some(Some(p)),
            Some(Some((codes, needs_text))),
            Some(urgency),
            Some(safeguarding_concern),
            Some(legal_basis),
            Some(consent),
            Some(practitioner),
        ) if e.0.is_empty() => Ok(ValidReferral {
            referrer_organisation_id,
            practitioner,
            needs: codes,
            urgency,
            safeguarding_concern,
            legal_basis,
            consent,
            postcode_district: p.district,
            age_band: p.age_band,
            personal: ReferralPersonal {
                person: p.person,
                needs_text,
                notes,
            },
        }),
        _ => {
            debug_assert!(!e.0.is_empty(), "every missing part reports an error");
            Err(e.0)
        }
    }
}

#[cfg(test)]
mod tests;
