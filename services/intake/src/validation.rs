//! The referral request and its validation: every rule yields a [`FieldError`] naming the
//! field and the rule, all errors are reported at once, and a valid request becomes the
//! typed parts of a `referral.received` event. Pure: no I/O; "today" is a parameter.
//!
//! Here: the request types and [`validate`]. The rules by part: [`person`] (the person
//! and the practitioner), [`needs`] (SNOMED CT codes), [`formats`] (dates, postcodes,
//! phones, emails, language tags); [`errors`] collects what they find. [`correction`]:
//! `correctPerson`'s request, its person under the same rules.

use linkway_events::common::Coding;
use linkway_events::referral::{Consent, LegalBasis, Practitioner, ReferralPersonal, Urgency};
use linkway_platform::FieldError;
use linkway_platform::text::Text;
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;

pub mod correction;
pub mod errors;
pub mod formats;
pub mod needs;
pub mod person;

pub use correction::{PersonCorrectionRequest, ValidCorrection, validate_correction};
use errors::Errors;
pub use formats::*;
pub use needs::check_sctid;
use needs::validate_needs;
use person::{validate_person, validate_practitioner};

use crate::consent::{self, ConsentRead, ConsentStatus, Part, Provision, Reading, Record};

/// The rule names a [`FieldError`] can carry, stable for machines.
pub mod rule {
    pub const REQUIRED: &str = "required";
    pub use linkway_platform::text::rule::MAX_LENGTH;
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
    pub use linkway_platform::text::rule::{CONTROL_CHARACTER, VISIBLE_LETTER};
}

/// A person's or the practitioner's name.
pub const NAME: Text = Text::name(100);
/// One line of an address.
pub const ADDRESS_LINE: Text = Text::line(100);
/// A short one-line text: a role, gender, ethnicity, a code's display, an organisation id.
pub const SHORT_TEXT: Text = Text::line(200);
/// Free text in the referrer's words: needs, notes, accessibility needs.
pub const FREE_TEXT: Text = Text::multi_line(4000);
/// What a format or code is checked in after the text rule (NHS numbers, dates, postcodes,
/// phones, emails, language tags, codes): one line, so no control character reaches the
/// format check.
pub const CODE: Text = Text::line(200);
const ADDRESS_LINES_MAX: usize = 6;
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
    /// The recorded consent's status (FHIR `Consent.status` codes): `active` (the default),
    /// `rejected`, `inactive`, `draft`, `proposed`, `entered-in-error`. Only an active or
    /// rejected consent is in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The person agreed to be referred (FHIR `provision.type` permit) or refused it (deny).
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
    validate_with_consent(request, &consent_read(request), today)
}

/// Consent and lawful basis as the JSON API and the web form send them.
pub fn consent_read(request: &ReferralRequest) -> ConsentRead {
    let basis = match request.legal_basis.as_deref().map(str::trim) {
        None | Some("") => Reading::Absent,
        Some(code) => consent::legal_basis(code).map_or(Reading::Unknown, Reading::Known),
    };
    let record = request.consent.as_ref().map(|c| Record {
        status: match c.status.as_deref().map(str::trim) {
            None | Some("") => Reading::Known(ConsentStatus::Active),
            Some(code) => ConsentStatus::parse(code).map_or(Reading::Unknown, Reading::Known),
        },
        provision: match c.referral_agreed {
            None => Reading::Absent,
            Some(true) => Reading::Known(Provision::Permit),
            Some(false) => Reading::Known(Provision::Deny),
        },
        period: Reading::Absent,
        share_details: c
            .share_details_with_referrer
            .map_or(Reading::Absent, Reading::Known),
    });
    ConsentRead { basis, record }
}

/// The JSON field of a part of consent (the form shows each next to its control, FHIR
/// names its element).
pub fn consent_field(part: Part) -> &'static str {
    match part {
        Part::LegalBasis => "legal_basis",
        Part::Record => "consent",
        Part::Status => "consent.status",
        Part::Provision => "consent.referral_agreed",
        Part::Period => "consent.period",
        Part::ShareDetails => "consent.share_details_with_referrer",
    }
}

/// Validates a referral whose consent and lawful basis the channel read itself (FHIR reads
/// them from the `Consent` resource); the request's own `consent` and `legal_basis` are
/// not looked at.
pub fn validate_with_consent(
    request: &ReferralRequest,
    consent_read: &ConsentRead,
    today: Date,
) -> Result<ValidReferral, Vec<FieldError>> {
    let mut e = Errors::default();

    let referrer_organisation_id = e.text(
        "referrer_organisation_id",
        &request.referrer_organisation_id,
        SHORT_TEXT,
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
    let decided = match consent::decide(consent_read, today) {
        Ok(d) => Some(d),
        Err(refused) => {
            for r in refused {
                e.add(consent_field(r.part), r.rule, r.message);
            }
            None
        }
    };
    let (consent, legal_basis) = decided.unzip();
    let practitioner = e
        .required("practitioner", &request.practitioner)
        .and_then(|p| validate_practitioner(&mut e, p));
    let notes = e.text("notes", &request.notes, FREE_TEXT);

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
