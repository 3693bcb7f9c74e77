//! The referral request and its validation: every rule yields a [`FieldError`] naming the
//! field and the rule, all errors are reported at once, and a valid request becomes the
//! typed parts of a `referral.received` event. Pure: no I/O; "today" is a parameter.

use linkway_events::common::{Coding, SNOMED};
use linkway_events::referral::{
    Address, Consent, ContactMethod, LegalBasis, Person, Practitioner, ReferralPersonal, Urgency,
};
use linkway_platform::FieldError;
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;

use crate::nhs_number;

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

/// Collects errors while walking the request.
#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn add(&mut self, field: impl Into<String>, rule: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, rule, message));
    }

    /// A required, non-blank text of bounded length.
    fn required_text(&mut self, field: &str, value: &Option<String>, max: usize) -> Option<String> {
        match clean(value) {
            None => {
                self.add(field, rule::REQUIRED, "is required");
                None
            }
            Some(v) => self.bounded(field, v, max),
        }
    }

    /// An optional text (blank counts as absent) of bounded length.
    fn optional_text(&mut self, field: &str, value: &Option<String>, max: usize) -> Option<String> {
        clean(value).and_then(|v| self.bounded(field, v, max))
    }

    /// An optional text that must pass `valid` (blank counts as absent).
    fn optional_checked(
        &mut self,
        field: &str,
        value: &Option<String>,
        valid: fn(&str) -> bool,
        rule: &str,
        message: &str,
    ) -> Option<String> {
        let v = clean(value)?;
        if valid(&v) {
            Some(v)
        } else {
            self.add(field, rule, message);
            None
        }
    }

    fn optional_phone(&mut self, field: &str, value: &Option<String>) -> Option<String> {
        self.optional_checked(
            field,
            value,
            is_phone,
            rule::PHONE_FORMAT,
            "must be a phone number of 10 to 15 digits",
        )
    }

    fn optional_email(&mut self, field: &str, value: &Option<String>) -> Option<String> {
        self.optional_checked(
            field,
            value,
            is_email,
            rule::EMAIL_FORMAT,
            "must be an email address",
        )
    }

    fn bounded(&mut self, field: &str, v: String, max: usize) -> Option<String> {
        if v.chars().count() > max {
            self.add(
                field,
                rule::MAX_LENGTH,
                format!("must be at most {max} characters"),
            );
            None
        } else {
            Some(v)
        }
    }

    fn required<'a, T>(&mut self, field: &str, value: &'a Option<T>) -> Option<&'a T> {
        if value.is_none() {
            self.add(field, rule::REQUIRED, "is required");
        }
        value.as_ref()
    }

    fn one_of<T: Copy>(
        &mut self,
        field: &str,
        value: &Option<String>,
        options: &[(&str, T)],
    ) -> Option<T> {
        let v = match clean(value) {
            None => {
                self.add(field, rule::REQUIRED, "is required");
                return None;
            }
            Some(v) => v,
        };
        let found = options.iter().find(|(name, _)| *name == v).map(|(_, t)| *t);
        if found.is_none() {
            let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
            self.add(
                field,
                rule::ONE_OF,
                format!("must be one of: {}", names.join(", ")),
            );
        }
        found
    }
}

/// Trimmed text, or `None` when absent or blank (web forms send blanks for empty fields).
fn clean(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
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

struct ValidPerson {
    person: Person,
    district: String,
    age_band: String,
}

fn validate_person(e: &mut Errors, p: &PersonInput, today: Date) -> Option<ValidPerson> {
    let nhs_number = clean(&p.nhs_number).and_then(|n| match nhs_number::parse(&n) {
        Ok(n) => Some(n),
        Err(err) => {
            e.add("person.nhs_number", err.rule(), err.to_string());
            None
        }
    });
    let verification = clean(&p.nhs_number_verification);
    if let Some(v) = &verification {
        if !VERIFICATION_STATUSES.contains(&v.as_str()) {
            e.add(
                "person.nhs_number_verification",
                rule::ONE_OF,
                format!("must be one of: {}", VERIFICATION_STATUSES.join(", ")),
            );
        } else if clean(&p.nhs_number).is_none() && v != "number-not-present-and-trace-not-required"
        {
            e.add(
                "person.nhs_number_verification",
                rule::VERIFICATION_WITHOUT_NHS_NUMBER,
                "a verification status needs an NHS number",
            );
        }
    }
    let given_name = e.required_text("person.given_name", &p.given_name, NAME_MAX);
    let family_name = e.required_text("person.family_name", &p.family_name, NAME_MAX);
    let birth = clean(&p.birth_date);
    let birth_date = match birth {
        None => {
            e.add("person.birth_date", rule::REQUIRED, "is required");
            None
        }
        Some(b) => match parse_date(&b) {
            None => {
                e.add(
                    "person.birth_date",
                    rule::DATE_FORMAT,
                    "must be a date as YYYY-MM-DD",
                );
                None
            }
            Some(d) if d > today => {
                e.add(
                    "person.birth_date",
                    rule::NOT_IN_FUTURE,
                    "cannot be in the future",
                );
                None
            }
            Some(d) if age_on(d, today) > MAX_AGE_YEARS => {
                e.add(
                    "person.birth_date",
                    rule::PLAUSIBLE_AGE,
                    format!("gives an age over {MAX_AGE_YEARS} years"),
                );
                None
            }
            Some(d) => Some(d),
        },
    };
    let address = e.required("person.address", &p.address).and_then(|a| {
        let lines = match &a.lines {
            None => {
                e.add("person.address.lines", rule::REQUIRED, "is required");
                None
            }
            Some(lines) => {
                let cleaned: Vec<String> = lines
                    .iter()
                    .map(|l| l.trim().to_owned())
                    .filter(|l| !l.is_empty())
                    .collect();
                if cleaned.is_empty() {
                    e.add(
                        "person.address.lines",
                        rule::REQUIRED,
                        "needs at least one line",
                    );
                    None
                } else if cleaned.len() > ADDRESS_LINES_MAX {
                    e.add(
                        "person.address.lines",
                        rule::MAX_ITEMS,
                        format!("at most {ADDRESS_LINES_MAX} lines"),
                    );
                    None
                } else if let Some(i) = cleaned.iter().position(|l| l.chars().count() > LINE_MAX) {
                    e.add(
                        format!("person.address.lines[{i}]"),
                        rule::MAX_LENGTH,
                        format!("must be at most {LINE_MAX} characters"),
                    );
                    None
                } else {
                    Some(cleaned)
                }
            }
        };
        let postcode = match clean(&a.postcode) {
            None => {
                e.add("person.address.postcode", rule::REQUIRED, "is required");
                None
            }
            Some(pc) => match normalise_postcode(&pc) {
                Some(pc) => Some(pc),
                None => {
                    e.add(
                        "person.address.postcode",
                        rule::POSTCODE_FORMAT,
                        "must be a UK postcode, e.g. LS6 9ZZ",
                    );
                    None
                }
            },
        };
        Some(Address {
            lines: lines?,
            postcode: postcode?,
        })
    });
    let phone = e.optional_phone("person.phone", &p.phone);
    let email = e.optional_email("person.email", &p.email);
    let method = e.one_of(
        "person.preferred_contact_method",
        &p.preferred_contact_method,
        &[
            ("phone", ContactMethod::Phone),
            ("email", ContactMethod::Email),
            ("letter", ContactMethod::Letter),
            ("text", ContactMethod::Text),
        ],
    );
    match method {
        Some(ContactMethod::Phone | ContactMethod::Text) if clean(&p.phone).is_none() => e.add(
            "person.phone",
            rule::CONTACT_DETAIL_FOR_METHOD,
            "is needed when the preferred contact method is phone or text",
        ),
        Some(ContactMethod::Email) if clean(&p.email).is_none() => e.add(
            "person.email",
            rule::CONTACT_DETAIL_FOR_METHOD,
            "is needed when the preferred contact method is email",
        ),
        _ => {}
    }
    let language = clean(&p.language).and_then(|v| {
        if is_language_tag(&v) {
            Some(v)
        } else {
            e.add(
                "person.language",
                rule::LANGUAGE_TAG,
                "must be a BCP 47 language tag, e.g. en, pl, pt-BR",
            );
            None
        }
    });
    let interpreter_needed = p.interpreter_needed.unwrap_or(false);
    if interpreter_needed && clean(&p.language).is_none() {
        e.add(
            "person.language",
            rule::LANGUAGE_FOR_INTERPRETER,
            "is needed when an interpreter is needed",
        );
    }
    let accessibility_needs = e.optional_text(
        "person.accessibility_needs",
        &p.accessibility_needs,
        LONG_TEXT_MAX,
    );
    let gender = e.optional_text("person.gender", &p.gender, SHORT_TEXT_MAX);
    let ethnicity = e.optional_text("person.ethnicity", &p.ethnicity, SHORT_TEXT_MAX);

    let birth_date = birth_date?;
    let address = address?;
    Some(ValidPerson {
        district: postcode_district(&address.postcode).to_owned(),
        age_band: age_band(age_on(birth_date, today)).to_owned(),
        person: Person {
            nhs_number,
            nhs_number_verification: verification,
            given_name: given_name?,
            family_name: family_name?,
            birth_date,
            address,
            phone,
            email,
            preferred_contact_method: method?,
            language,
            interpreter_needed,
            accessibility_needs,
            gender,
            ethnicity,
        },
    })
}

fn validate_needs(e: &mut Errors, n: &NeedsInput) -> Option<(Vec<Coding>, Option<String>)> {
    let text = e.optional_text("needs_and_concerns.text", &n.text, LONG_TEXT_MAX);
    if n.codes.is_empty() && clean(&n.text).is_none() {
        e.add(
            "needs_and_concerns",
            rule::NEEDS_REQUIRED,
            "give at least one SNOMED CT code or a description",
        );
        return None;
    }
    if n.codes.len() > NEEDS_MAX {
        e.add(
            "needs_and_concerns.codes",
            rule::MAX_ITEMS,
            format!("at most {NEEDS_MAX} codes"),
        );
        return None;
    }
    let before = e.0.len();
    let mut codes: Vec<Coding> = Vec::with_capacity(n.codes.len());
    for (i, c) in n.codes.iter().enumerate() {
        let field = format!("needs_and_concerns.codes[{i}]");
        let system = clean(&c.system).unwrap_or_else(|| SNOMED.to_owned());
        if system != SNOMED {
            e.add(
                format!("{field}.system"),
                rule::CODE_SYSTEM,
                format!("must be SNOMED CT ({SNOMED})"),
            );
            continue;
        }
        let Some(code) = clean(&c.code) else {
            e.add(format!("{field}.code"), rule::REQUIRED, "is required");
            continue;
        };
        if let Err(rule) = check_sctid(&code) {
            let message = match rule {
                rule::SNOMED_FORMAT => "must be a SNOMED CT id: 6 to 18 digits",
                rule::SNOMED_CHECK_DIGIT => {
                    "is not a SNOMED CT id: its check digit (Verhoeff) does not match"
                }
                _ => "must be a SNOMED CT concept id, not a description or relationship id",
            };
            e.add(format!("{field}.code"), rule, message);
            continue;
        }
        if codes.iter().any(|k| k.code == code) {
            e.add(
                format!("{field}.code"),
                rule::DUPLICATE_CODE,
                "is given twice",
            );
            continue;
        }
        let display = e.optional_text(&format!("{field}.display"), &c.display, SHORT_TEXT_MAX);
        codes.push(Coding {
            system,
            code,
            display,
        });
    }
    (e.0.len() == before).then_some((codes, text))
}

fn validate_practitioner(e: &mut Errors, p: &PractitionerInput) -> Option<Practitioner> {
    let name = e.required_text("practitioner.name", &p.name, NAME_MAX);
    let role = e.optional_text("practitioner.role", &p.role, SHORT_TEXT_MAX);
    let phone = e.optional_phone("practitioner.phone", &p.phone);
    let email = e.optional_email("practitioner.email", &p.email);
    Some(Practitioner {
        name: name?,
        role,
        phone,
        email,
    })
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    Date::parse(s, &format).ok()
}

/// Whole years between a birth date and `today`.
pub fn age_on(birth: Date, today: Date) -> i32 {
    let mut years = today.year() - birth.year();
    if (today.month() as u8, today.day()) < (birth.month() as u8, birth.day()) {
        years -= 1;
    }
    years.max(0)
}

/// The age band reported instead of the date of birth.
pub fn age_band(age: i32) -> &'static str {
    match age {
        i32::MIN..=15 => "0-15",
        16..=17 => "16-17",
        18..=24 => "18-24",
        25..=34 => "25-34",
        35..=44 => "35-44",
        45..=54 => "45-54",
        55..=64 => "55-64",
        65..=74 => "65-74",
        75..=84 => "75-84",
        _ => "85+",
    }
}

/// A UK postcode in its canonical form (`LS6 9ZZ`), or `None` when it is not one.
pub fn normalise_postcode(input: &str) -> Option<String> {
    let compact: String = input
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    if !(5..=7).contains(&compact.len()) || !compact.is_ascii() {
        return None;
    }
    let (outward, inward) = compact.split_at(compact.len() - 3);
    let i = inward.as_bytes();
    if !(i[0].is_ascii_digit() && i[1].is_ascii_uppercase() && i[2].is_ascii_uppercase()) {
        return None;
    }
    is_outward_code(outward).then(|| format!("{outward} {inward}"))
}

/// `[A-Z]{1,2}[0-9][A-Z0-9]?`
fn is_outward_code(s: &str) -> bool {
    let b = s.as_bytes();
    let letters = b.iter().take_while(|c| c.is_ascii_uppercase()).count();
    if !(1..=2).contains(&letters) || b.len() <= letters || !b[letters].is_ascii_digit() {
        return false;
    }
    let rest = &b[letters + 1..];
    rest.is_empty() || (rest.len() == 1 && rest[0].is_ascii_alphanumeric())
}

/// The outward code of a canonical postcode: `LS6 9ZZ` -> `LS6`.
pub fn postcode_district(canonical: &str) -> &str {
    canonical.split(' ').next().unwrap_or(canonical)
}

/// `+?[0-9][0-9 ()-]{5,24}` with 10 to 15 digits.
pub fn is_phone(s: &str) -> bool {
    let body = s.strip_prefix('+').unwrap_or(s);
    let digits = body.bytes().filter(u8::is_ascii_digit).count();
    body.bytes().next().is_some_and(|b| b.is_ascii_digit())
        && (6..=25).contains(&body.len())
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || b" ()-".contains(&b))
        && (10..=15).contains(&digits)
}

/// A plain `local@domain.tld` address without spaces.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    s.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && s.is_ascii()
        && !s.bytes().any(|b| {
            b.is_ascii_whitespace() || b.is_ascii_control() || b"<>()[]\\,;:\"".contains(&b)
        })
        && !domain.contains('@')
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && domain.split('.').count() >= 2
        && domain.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// `[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*`
pub fn is_language_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let primary = parts.next().unwrap_or("");
    (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Checks a SNOMED CT concept id: 6-18 digits, no leading zero, Verhoeff check digit, and a
/// concept partition (`00` core or `10` extension). Returns the rule broken.
pub fn check_sctid(code: &str) -> Result<(), &'static str> {
    let b = code.as_bytes();
    if !(6..=18).contains(&b.len()) || !b.iter().all(u8::is_ascii_digit) || b[0] == b'0' {
        return Err(rule::SNOMED_FORMAT);
    }
    if !verhoeff_valid(code) {
        return Err(rule::SNOMED_CHECK_DIGIT);
    }
    let partition = &code[code.len() - 3..code.len() - 1];
    if partition != "00" && partition != "10" {
        return Err(rule::SNOMED_CONCEPT_ID);
    }
    Ok(())
}

/// The Verhoeff check SNOMED CT uses for the last digit of every id.
fn verhoeff_valid(digits: &str) -> bool {
    const D: [[u8; 10]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const P: [[u8; 10]; 8] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ];
    let mut c = 0u8;
    for (i, b) in digits.bytes().rev().enumerate() {
        c = D[c as usize][P[i % 8][(b - b'0') as usize] as usize];
    }
    c == 0
}

#[cfg(test)]
mod tests;
