//! The rules for people: the person referred (NHS number, name, date of birth, address,
//! contact details and preferences) and the referring practitioner.

use linkway_events::referral::{Address, ContactMethod, Person, Practitioner};
use time::Date;

use super::errors::{Errors, present};
use super::formats::{
    age_band, age_on, is_language_tag, normalise_postcode, parse_date, postcode_district,
};
use super::{
    ADDRESS_LINE, ADDRESS_LINES_MAX, CODE, FREE_TEXT, MAX_AGE_YEARS, NAME, PersonInput,
    PractitionerInput, SHORT_TEXT, VERIFICATION_STATUSES, rule,
};
use crate::nhs_number;

pub(super) struct ValidPerson {
    pub(super) person: Person,
    pub(super) district: String,
    pub(super) age_band: String,
}

pub(super) fn validate_person(e: &mut Errors, p: &PersonInput, today: Date) -> Option<ValidPerson> {
    let nhs_number = e
        .text("person.nhs_number", &p.nhs_number, CODE)
        .and_then(|n| match nhs_number::parse(&n) {
            Ok(n) => Some(n),
            Err(err) => {
                e.add("person.nhs_number", err.rule(), err.to_string());
                None
            }
        });
    let verification = e.text(
        "person.nhs_number_verification",
        &p.nhs_number_verification,
        CODE,
    );
    if let Some(v) = &verification {
        if !VERIFICATION_STATUSES.contains(&v.as_str()) {
            e.add(
                "person.nhs_number_verification",
                rule::ONE_OF,
                format!("must be one of: {}", VERIFICATION_STATUSES.join(", ")),
            );
        } else if !present(&p.nhs_number) && v != "number-not-present-and-trace-not-required" {
            e.add(
                "person.nhs_number_verification",
                rule::VERIFICATION_WITHOUT_NHS_NUMBER,
                "a verification status needs an NHS number",
            );
        }
    }
    let given_name = e.required_text("person.given_name", &p.given_name, NAME);
    let family_name = e.required_text("person.family_name", &p.family_name, NAME);
    let birth = e.required_text("person.birth_date", &p.birth_date, CODE);
    let birth_date = match birth {
        None => None,
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
                let mut kept: Vec<String> = Vec::with_capacity(lines.len());
                let mut refused = false;
                for (i, line) in lines.iter().enumerate() {
                    match ADDRESS_LINE.clean(line) {
                        Ok(Some(l)) => kept.push(l),
                        Ok(None) => {}
                        Err(err) => {
                            e.add(
                                format!("person.address.lines[{i}]"),
                                err.rule(),
                                err.to_string(),
                            );
                            refused = true;
                        }
                    }
                }
                if refused {
                    None
                } else if kept.is_empty() {
                    e.add(
                        "person.address.lines",
                        rule::REQUIRED,
                        "needs at least one line",
                    );
                    None
                } else if kept.len() > ADDRESS_LINES_MAX {
                    e.add(
                        "person.address.lines",
                        rule::MAX_ITEMS,
                        format!("at most {ADDRESS_LINES_MAX} lines"),
                    );
                    None
                } else {
                    Some(kept)
                }
            }
        };
        let postcode = match e.required_text("person.address.postcode", &a.postcode, CODE) {
            None => None,
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
        Some(ContactMethod::Phone | ContactMethod::Text) if !present(&p.phone) => e.add(
            "person.phone",
            rule::CONTACT_DETAIL_FOR_METHOD,
            "is needed when the preferred contact method is phone or text",
        ),
        Some(ContactMethod::Email) if !present(&p.email) => e.add(
            "person.email",
            rule::CONTACT_DETAIL_FOR_METHOD,
            "is needed when the preferred contact method is email",
        ),
        _ => {}
    }
    let language = e.text("person.language", &p.language, CODE).and_then(|v| {
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
    if interpreter_needed && !present(&p.language) {
        e.add(
            "person.language",
            rule::LANGUAGE_FOR_INTERPRETER,
            "is needed when an interpreter is needed",
        );
    }
    let accessibility_needs = e.text(
        "person.accessibility_needs",
        &p.accessibility_needs,
        FREE_TEXT,
    );
    let gender = e.text("person.gender", &p.gender, SHORT_TEXT);
    let ethnicity = e.text("person.ethnicity", &p.ethnicity, SHORT_TEXT);

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

pub(super) fn validate_practitioner(e: &mut Errors, p: &PractitionerInput) -> Option<Practitioner> {
    let name = e.required_text("practitioner.name", &p.name, NAME);
    let role = e.text("practitioner.role", &p.role, SHORT_TEXT);
    let phone = e.optional_phone("practitioner.phone", &p.phone);
    let email = e.optional_email("practitioner.email", &p.email);
    Some(Practitioner {
        name: name?,
        role,
        phone,
        email,
    })
}
