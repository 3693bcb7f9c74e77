//! The consent decision table, row by row: permit/deny x every status x every lawful basis
//! (known, unknown, missing). `table` is the one statement of the expected outcome; the
//! HTTP test (`tests/api/consent_table.rs`) holds all three channels to it.

use linkway_events::referral::LegalBasis;
use time::macros::date;

use super::*;

const TODAY: Date = date!(2026 - 03 - 10);

/// One row's expected outcome: accepted with `referral_agreed`, or the rules refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    Accepted { agreed: bool },
    Refused(Vec<&'static str>),
}

/// The table: what a consent of `status` and `provision` under `basis` decides.
pub fn table(status: ConsentStatus, provision: Provision, basis: Reading<LegalBasis>) -> Expected {
    let mut rules = Vec::new();
    match basis {
        Reading::Absent => rules.push(rule::REQUIRED),
        Reading::Unknown => rules.push(rule::ONE_OF),
        Reading::Known(_) => {}
    }
    let in_force = matches!(status, ConsentStatus::Active | ConsentStatus::Rejected);
    if !in_force {
        rules.push(rule::CONSENT_NOT_ACTIVE);
    }
    let agreed = status == ConsentStatus::Active && provision == Provision::Permit;
    if in_force && !agreed && matches!(basis, Reading::Known(b) if b != LegalBasis::VitalInterests)
    {
        rules.push(rule::CONSENT_REQUIRED);
    }
    if rules.is_empty() {
        Expected::Accepted { agreed }
    } else {
        rules.sort();
        Expected::Refused(rules)
    }
}

pub const STATUSES: [ConsentStatus; 6] = [
    ConsentStatus::Active,
    ConsentStatus::Rejected,
    ConsentStatus::Inactive,
    ConsentStatus::Draft,
    ConsentStatus::Proposed,
    ConsentStatus::EnteredInError,
];

pub const BASES: [Reading<LegalBasis>; 5] = [
    Reading::Known(LegalBasis::PublicTaskHealthCare),
    Reading::Known(LegalBasis::ExplicitConsent),
    Reading::Known(LegalBasis::VitalInterests),
    Reading::Unknown,
    Reading::Absent,
];

fn read(status: ConsentStatus, provision: Provision, basis: Reading<LegalBasis>) -> ConsentRead {
    ConsentRead {
        basis,
        record: Some(Record {
            status: Reading::Known(status),
            provision: Reading::Known(provision),
            period: Reading::Absent,
            share_details: Reading::Known(true),
        }),
    }
}

fn outcome(r: &ConsentRead) -> Expected {
    match decide(r, TODAY) {
        Ok((consent, _)) => Expected::Accepted {
            agreed: consent.referral_agreed,
        },
        Err(refused) => {
            let mut rules: Vec<&str> = refused.iter().map(|r| r.rule).collect();
            rules.sort();
            Expected::Refused(rules)
        }
    }
}

#[test]
fn every_row_of_the_consent_table_decides_as_the_table_says() {
    let mut rows = 0;
    for status in STATUSES {
        for provision in [Provision::Permit, Provision::Deny] {
            for basis in BASES {
                let r = read(status, provision, basis);
                assert_eq!(
                    outcome(&r),
                    table(status, provision, basis),
                    "{status:?} {provision:?} {basis:?}"
                );
                rows += 1;
            }
        }
    }
    assert_eq!(rows, 60);
}

#[test]
fn a_denied_or_rejected_consent_is_never_recorded_as_agreed() {
    for basis in BASES {
        for (status, provision) in [
            (ConsentStatus::Active, Provision::Deny),
            (ConsentStatus::Rejected, Provision::Permit),
            (ConsentStatus::Rejected, Provision::Deny),
        ] {
            if let Ok((consent, basis)) = decide(&read(status, provision, basis), TODAY) {
                assert!(!consent.referral_agreed);
                assert_eq!(basis, LegalBasis::VitalInterests);
            }
        }
    }
}

#[test]
fn the_basis_and_the_refusing_part_are_named() {
    let (consent, basis) = decide(
        &read(
            ConsentStatus::Active,
            Provision::Permit,
            Reading::Known(LegalBasis::ExplicitConsent),
        ),
        TODAY,
    )
    .unwrap();
    assert!(consent.referral_agreed && consent.share_details_with_referrer);
    assert_eq!(basis, LegalBasis::ExplicitConsent);
    let refused = decide(
        &read(
            ConsentStatus::Active,
            Provision::Deny,
            Reading::Known(LegalBasis::PublicTaskHealthCare),
        ),
        TODAY,
    )
    .unwrap_err();
    assert_eq!(
        (refused[0].part, refused[0].rule),
        (Part::Provision, "consent_required")
    );
    let refused = decide(
        &read(
            ConsentStatus::Rejected,
            Provision::Permit,
            Reading::Known(LegalBasis::PublicTaskHealthCare),
        ),
        TODAY,
    )
    .unwrap_err();
    assert_eq!(
        (refused[0].part, refused[0].rule),
        (Part::Status, "consent_required")
    );
}

#[test]
fn a_consent_period_that_does_not_cover_today_refuses() {
    let period = |start, end| {
        let mut r = read(
            ConsentStatus::Active,
            Provision::Permit,
            Reading::Known(LegalBasis::PublicTaskHealthCare),
        );
        r.record.as_mut().unwrap().period = Reading::Known(Period { start, end });
        r
    };
    assert!(decide(&period(Some(date!(2026 - 01 - 01)), Some(TODAY)), TODAY).is_ok());
    assert!(decide(&period(None, None), TODAY).is_ok());
    for (start, end) in [
        (Some(date!(2026 - 03 - 11)), None),
        (None, Some(date!(2026 - 03 - 09))),
    ] {
        let refused = decide(&period(start, end), TODAY).unwrap_err();
        assert_eq!(
            (refused[0].part, refused[0].rule),
            (Part::Period, "consent_period")
        );
    }
    let mut unreadable = period(None, None);
    unreadable.record.as_mut().unwrap().period = Reading::Unknown;
    assert_eq!(
        decide(&unreadable, TODAY).unwrap_err()[0].rule,
        "date_format"
    );
}

#[test]
fn absent_or_unknown_parts_are_required_or_one_of() {
    let none = ConsentRead {
        basis: Reading::Known(LegalBasis::PublicTaskHealthCare),
        record: None,
    };
    let refused = decide(&none, TODAY).unwrap_err();
    assert_eq!(
        (refused[0].part, refused[0].rule),
        (Part::Record, "required")
    );
    let blank = ConsentRead {
        basis: Reading::Known(LegalBasis::PublicTaskHealthCare),
        record: Some(Record {
            status: Reading::Absent,
            provision: Reading::Unknown,
            period: Reading::Absent,
            share_details: Reading::Absent,
        }),
    };
    let mut refused: Vec<(Part, &str)> = decide(&blank, TODAY)
        .unwrap_err()
        .iter()
        .map(|r| (r.part, r.rule))
        .collect();
    refused.sort();
    assert_eq!(
        refused,
        vec![
            (Part::Status, "required"),
            (Part::Provision, "one_of"),
            (Part::ShareDetails, "required"),
        ]
    );
}
