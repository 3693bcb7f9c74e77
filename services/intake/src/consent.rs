//! Consent and lawful basis: one decision for every channel. Pure: no I/O; "today" is a
//! parameter.
//!
//! Each channel reads what it was sent into a [`ConsentRead`] (the JSON API and the web form
//! from their fields, FHIR from the `Consent` resource) and [`decide`] says whether the
//! referral may be recorded, with which [`Consent`] and [`LegalBasis`], or which [`Part`]
//! refuses it by which rule. The table:
//!
//! | lawful basis | consent status | provision | outcome |
//! |---|---|---|---|
//! | missing | any | any | refused: `legal_basis` `required` |
//! | not one of Linkway's | any | any | refused: `legal_basis` `one_of` |
//! | known | `draft`, `proposed`, `inactive`, `entered-in-error` | any | refused: status `consent_not_active` |
//! | known | `active` | `permit` | accepted, the person agreed |
//! | `vital_interests` | `active` + `deny`, or `rejected` | any | accepted, the person did not agree |
//! | other known | `active` + `deny`, or `rejected` | any | refused: `consent_required` |
//!
//! A status, provision or share-details flag that is absent is `required`; one that is not
//! a known code is `one_of`; a consent period that does not cover today is `consent_period`.
//! A missing lawful basis never defaults to one: the basis is what the referrer asserts.

use linkway_events::referral::{Consent, LegalBasis};
use time::Date;

/// What a channel found for one element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading<T> {
    /// Not sent (or blank).
    Absent,
    Known(T),
    /// Sent, but not a value Linkway knows (another coding system, an unknown code).
    Unknown,
}

/// FHIR R4 `Consent.status` (the JSON API and the form use the same codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentStatus {
    Draft,
    Proposed,
    Active,
    Rejected,
    Inactive,
    EnteredInError,
}

impl ConsentStatus {
    pub const CODES: [&'static str; 6] = [
        "draft",
        "proposed",
        "active",
        "rejected",
        "inactive",
        "entered-in-error",
    ];

    pub fn parse(code: &str) -> Option<ConsentStatus> {
        Some(match code {
            "draft" => ConsentStatus::Draft,
            "proposed" => ConsentStatus::Proposed,
            "active" => ConsentStatus::Active,
            "rejected" => ConsentStatus::Rejected,
            "inactive" => ConsentStatus::Inactive,
            "entered-in-error" => ConsentStatus::EnteredInError,
            _ => return None,
        })
    }
}

/// FHIR R4 `Consent.provision.type`: whether the person permits or denies the referral.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provision {
    Permit,
    Deny,
}

/// `Consent.provision.period`: when the consent is in force (either end may be open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Period {
    pub start: Option<Date>,
    pub end: Option<Date>,
}

/// The consent record a channel read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    pub status: Reading<ConsentStatus>,
    pub provision: Reading<Provision>,
    /// `Unknown` when a date in it could not be read.
    pub period: Reading<Period>,
    /// Whether details (not only codes) may go back to the referrer.
    pub share_details: Reading<bool>,
}

/// What a channel read of consent and lawful basis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsentRead {
    pub basis: Reading<LegalBasis>,
    /// `None` when no consent was sent at all.
    pub record: Option<Record>,
}

/// The part of [`ConsentRead`] a refusal is about; each channel names it its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Part {
    LegalBasis,
    Record,
    Status,
    Provision,
    Period,
    ShareDetails,
}

/// Why the referral may not be recorded, for one part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub part: Part,
    pub rule: &'static str,
    pub message: String,
}

/// The rule names [`decide`] can give.
pub mod rule {
    pub const REQUIRED: &str = "required";
    pub const ONE_OF: &str = "one_of";
    pub const CONSENT_NOT_ACTIVE: &str = "consent_not_active";
    pub const CONSENT_REQUIRED: &str = "consent_required";
    pub const CONSENT_PERIOD: &str = "consent_period";
    pub const DATE_FORMAT: &str = "date_format";
}

/// Linkway's lawful bases by code (the FHIR CodeSystem `legal-basis` and the JSON API's
/// `legal_basis` use the same codes).
pub const LEGAL_BASES: [(&str, LegalBasis); 3] = [
    ("public_task_health_care", LegalBasis::PublicTaskHealthCare),
    ("explicit_consent", LegalBasis::ExplicitConsent),
    ("vital_interests", LegalBasis::VitalInterests),
];

/// The lawful basis a code names, if it is one of Linkway's.
pub fn legal_basis(code: &str) -> Option<LegalBasis> {
    LEGAL_BASES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, b)| *b)
}

/// The decision: record the referral with this consent and basis, or refuse it.
pub fn decide(read: &ConsentRead, today: Date) -> Result<(Consent, LegalBasis), Vec<Refused>> {
    let mut refused = Vec::new();
    let mut refuse = |part, rule, message: String| {
        refused.push(Refused {
            part,
            rule,
            message,
        })
    };
    let basis = match read.basis {
        Reading::Known(b) => Some(b),
        Reading::Absent => {
            refuse(Part::LegalBasis, rule::REQUIRED, "is required".into());
            None
        }
        Reading::Unknown => {
            let codes: Vec<&str> = LEGAL_BASES.iter().map(|(c, _)| *c).collect();
            refuse(
                Part::LegalBasis,
                rule::ONE_OF,
                format!(
                    "must be one of Linkway's lawful bases: {}",
                    codes.join(", ")
                ),
            );
            None
        }
    };
    let Some(record) = read.record else {
        refuse(Part::Record, rule::REQUIRED, "is required".into());
        return Err(refused);
    };
    let share = known(
        record.share_details,
        Part::ShareDetails,
        "must be true or false",
        &mut refuse,
    );
    let status = known(
        record.status,
        Part::Status,
        "must be a FHIR consent status: active, rejected, inactive, draft, proposed or entered-in-error",
        &mut refuse,
    );
    let provision = known(
        record.provision,
        Part::Provision,
        "must be permit or deny",
        &mut refuse,
    );
    match record.period {
        Reading::Known(p)
            if p.start.is_some_and(|s| s > today) || p.end.is_some_and(|e| e < today) =>
        {
            refuse(
                Part::Period,
                rule::CONSENT_PERIOD,
                "the consent is not in force today".into(),
            )
        }
        Reading::Unknown => refuse(
            Part::Period,
            rule::DATE_FORMAT,
            "must hold dates as YYYY-MM-DD".into(),
        ),
        _ => {}
    }
    let in_force = match status {
        Some(ConsentStatus::Active | ConsentStatus::Rejected) => true,
        Some(_) => {
            refuse(
                Part::Status,
                rule::CONSENT_NOT_ACTIVE,
                "the consent is not in force: it must be active (or rejected, where the lawful basis is vital_interests)".into(),
            );
            false
        }
        None => false,
    };
    let agreed = status == Some(ConsentStatus::Active) && provision == Some(Provision::Permit);
    // A referral needs the person's agreement, except to protect their vital interests.
    if in_force
        && provision.is_some()
        && !agreed
        && basis.is_some_and(|b| b != LegalBasis::VitalInterests)
    {
        let part = if status == Some(ConsentStatus::Rejected) {
            Part::Status
        } else {
            Part::Provision
        };
        refuse(
            part,
            rule::CONSENT_REQUIRED,
            "the person must agree to the referral unless the legal basis is vital_interests"
                .into(),
        );
    }
    match (basis, share, provision) {
        (Some(basis), Some(share), Some(_)) if refused.is_empty() => Ok((
            Consent {
                referral_agreed: agreed,
                share_details_with_referrer: share,
            },
            basis,
        )),
        _ => {
            debug_assert!(!refused.is_empty(), "every refusal names its part");
            Err(refused)
        }
    }
}

/// The value of a reading, refusing an absent (`required`) or unknown (`one_of`) one.
fn known<T: Copy>(
    reading: Reading<T>,
    part: Part,
    one_of: &str,
    refuse: &mut impl FnMut(Part, &'static str, String),
) -> Option<T> {
    match reading {
        Reading::Known(v) => Some(v),
        Reading::Absent => {
            refuse(part, rule::REQUIRED, "is required".into());
            None
        }
        Reading::Unknown => {
            refuse(part, rule::ONE_OF, one_of.into());
            None
        }
    }
}

#[cfg(test)]
mod tests;
