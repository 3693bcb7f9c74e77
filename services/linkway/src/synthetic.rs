//! Synthetic, obviously fictional people and journeys for the demo and the benchmark.

use linkway_events::Event;
use linkway_events::case::{
    CaseAccepted, CaseClosed, CaseEvent, ClosureReason, ContactChannel, ContactMade,
    OutcomeRecorded, PlanAgreed, PlanPersonal, Timepoint,
};
use linkway_events::common::Coding;
use linkway_events::referral::{
    Address, Consent, ContactMethod, LegalBasis, Person, Practitioner, ReferralEvent,
    ReferralPersonal, ReferralReceived, ReferralRouted, SourceChannel, Urgency,
};
use time::macros::date;
use uuid::Uuid;

pub const GIVEN: [&str; 8] = [
    "Ada", "Bilal", "Ceri", "Dorota", "Eamon", "Femi", "Gwen", "Hamza",
];
pub const FAMILY: [&str; 8] = [
    "Testperson",
    "Sampleton",
    "Fictional",
    "Exampleby",
    "Madeup",
    "Notreal",
    "Demoson",
    "Placeholder",
];
/// Kinds of community service (a directory's taxonomy terms) with a service name of each.
pub const SERVICE_KINDS: [(&str, &str); 6] = [
    ("physical activity", "Walking"),
    ("arts and creativity", "Choir"),
    ("nature and gardening", "Gardening"),
    ("befriending", "Befriending"),
    ("money and debt advice", "Debt advice"),
    ("housing advice", "Housing advice"),
];
pub const DISTRICTS: [&str; 4] = ["LS6", "LS7", "LS8", "BD1"];
pub const NEEDS: [(&str, &str); 4] = [
    ("1144779008", "Loneliness"),
    ("160903007", "Lives alone"),
    ("105480006", "Refusal of treatment by patient"),
    ("713458007", "Lack of access to transportation"),
];

/// An NHS number from the 999 test range with a valid Modulus 11 check digit.
pub fn nhs_number(i: u64) -> String {
    let mut n = i;
    loop {
        let body = format!("999{:06}", n % 1_000_000);
        let sum: u32 = body
            .bytes()
            .zip((2..=10).rev())
            .map(|(d, w)| (d - b'0') as u32 * w)
            .sum();
        let check = 11 - (sum % 11);
        match check {
            11 => return format!("{body}0"),
            10 => n += 1,
            c => return format!("{body}{c}"),
        }
    }
}

/// The `referral.received` payload for synthetic person `i`.
pub fn referral_received(i: u64, referral_id: Uuid, referrer: &str) -> ReferralReceived {
    let need = NEEDS[(i % NEEDS.len() as u64) as usize];
    let district = DISTRICTS[(i % DISTRICTS.len() as u64) as usize];
    ReferralReceived {
        referral_id,
        referrer_organisation_id: referrer.to_owned(),
        practitioner: Practitioner {
            name: "Dr Demo Practitioner".into(),
            role: Some("GP".into()),
            phone: None,
            email: None,
        },
        source_channel: SourceChannel::Api,
        needs: vec![Coding::snomed(need.0, need.1)],
        urgency: Urgency::Routine,
        safeguarding_concern: i.is_multiple_of(17),
        legal_basis: LegalBasis::PublicTaskHealthCare,
        consent: Consent {
            referral_agreed: true,
            share_details_with_referrer: !i.is_multiple_of(5),
        },
        postcode_district: district.into(),
        age_band: ["18-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+"][(i % 7) as usize]
            .into(),
        personal: Some(ReferralPersonal {
            person: Person {
                nhs_number: Some(nhs_number(i)),
                nhs_number_verification: Some("number-present-and-verified".into()),
                given_name: GIVEN[(i % 8) as usize].into(),
                family_name: FAMILY[(i / 8 % 8) as usize].into(),
                birth_date: date!(1950 - 01 - 01),
                address: Address {
                    lines: vec![format!("{} Example Street", i % 200 + 1), "Leeds".into()],
                    postcode: format!("{district} 1AA"),
                },
                phone: Some("07700 900000".into()),
                email: None,
                preferred_contact_method: ContactMethod::Phone,
                language: Some("en".into()),
                interpreter_needed: false,
                accessibility_needs: None,
                gender: None,
                ethnicity: None,
            },
            needs_text: Some(
                "Feels isolated since moving; would like company and something to do.".into(),
            ),
            notes: None,
        }),
        reply_to: None,
    }
}

/// A whole journey of events for referral `i`: (aggregate kind, event), in order.
pub fn journey(
    i: u64,
    referral_id: Uuid,
    referrer: &str,
    link_worker: &str,
) -> Vec<(&'static str, Event)> {
    let mut events: Vec<(&'static str, Event)> = vec![
        (
            "referral",
            ReferralEvent::Received(referral_received(i, referral_id, referrer)).into(),
        ),
        (
            "referral",
            ReferralEvent::Routed(ReferralRouted {
                referral_id,
                link_worker_organisation_id: link_worker.into(),
                rule_id: None,
            })
            .into(),
        ),
        (
            "case",
            CaseEvent::Accepted(CaseAccepted {
                referral_id,
                link_worker_organisation_id: link_worker.into(),
            })
            .into(),
        ),
    ];
    for minutes in [30, 45, 45] {
        events.push((
            "case",
            CaseEvent::ContactMade(ContactMade {
                referral_id,
                channel: ContactChannel::Phone,
                minutes,
                personal: None,
            })
            .into(),
        ));
    }
    events.push((
        "case",
        CaseEvent::PlanAgreed(PlanAgreed {
            referral_id,
            review_date: date!(2026 - 12 - 01),
            goal_count: 2,
            personal: Some(PlanPersonal {
                what_matters: "Getting out of the house and meeting people".into(),
                goals: vec!["Join a walking group".into(), "Sort out debts".into()],
                actions: vec!["Call the walking group organiser".into()],
            }),
        })
        .into(),
    ));
    let outcomes = [
        (Timepoint::Baseline, vec![3, 3, 2, 2, 3, 2, 2], 17, 16.88),
        (Timepoint::Exit, vec![3, 3, 3, 3, 3, 3, 4], 22, 19.98),
    ];
    for (timepoint, item_answers, raw, metric) in outcomes {
        events.push((
            "case",
            CaseEvent::OutcomeRecorded(OutcomeRecorded {
                referral_id,
                instrument: "swemwbs".into(),
                instrument_version: "1".into(),
                algorithm_version: 1,
                timepoint,
                item_answers,
                raw_score: Some(raw),
                derived_score: Some(metric),
                personal: None,
            })
            .into(),
        ));
    }
    events.push((
        "case",
        CaseEvent::Closed(CaseClosed {
            referral_id,
            reason: ClosureReason::GoalsMet,
        })
        .into(),
    ));
    events
}
