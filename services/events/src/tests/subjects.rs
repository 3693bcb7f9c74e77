//! Samples and generators of the data-subject events: `person.erased`, `audit.recorded`
//! and `referral.person_corrected` (rectification).

use proptest::prelude::*;
use uuid::Uuid;

use super::{arb_person, arb_text, arb_uuid, sample_person};
use crate::Event;
use crate::audit::{AuditReason, AuditRecorded};
use crate::person::{ErasureReason, PersonErased};
use crate::referral::{ReferralPersonCorrected, ReferralPersonal};

/// The organisation audit samples are read by: an audit event's aggregate id is the
/// reading organisation, which its data does not name.
pub const READING_ORG: &str = "northfield-connect";

pub fn samples() -> Vec<Event> {
    let referral = Uuid::from_u128(0x0195_606d_9db4_7445_b4c4_ba2e_a74a_d4bf);
    vec![
        PersonErased {
            referral_id: referral,
            reason: ErasureReason::PersonAsked,
        }
        .into(),
        AuditRecorded {
            operation: "getCase".into(),
            referral_ids: vec![referral],
            reason: Some(AuditReason::DirectCare),
        }
        .into(),
        AuditRecorded {
            operation: "listCaseload".into(),
            referral_ids: vec![],
            reason: None,
        }
        .into(),
        ReferralPersonCorrected {
            referral_id: referral,
            personal: Some(ReferralPersonal {
                person: sample_person(),
                needs_text: Some("Lives alone; stressed about bills.".into()),
                notes: Some("Prefers morning calls.".into()),
            }),
        }
        .into(),
        ReferralPersonCorrected {
            referral_id: referral,
            personal: None,
        }
        .into(),
    ]
}

pub fn arb_subject_event() -> impl Strategy<Value = Event> {
    prop_oneof![
        (
            arb_uuid(),
            proptest::sample::select(ErasureReason::ALL.to_vec())
        )
            .prop_map(|(referral_id, reason)| Event::from(PersonErased {
                referral_id,
                reason
            })),
        (
            "[a-zA-Z]{1,40}",
            proptest::collection::vec(arb_uuid(), 0..5),
            proptest::option::of(proptest::sample::select(AuditReason::ALL.to_vec())),
        )
            .prop_map(
                |(operation, referral_ids, reason)| Event::from(AuditRecorded {
                    operation,
                    referral_ids,
                    reason
                })
            ),
        (
            arb_uuid(),
            proptest::option::of((
                arb_person(),
                proptest::option::of(arb_text()),
                proptest::option::of(arb_text()),
            )),
        )
            .prop_map(
                |(referral_id, personal)| Event::from(ReferralPersonCorrected {
                    referral_id,
                    personal: personal.map(|(person, needs_text, notes)| ReferralPersonal {
                        person,
                        needs_text,
                        notes,
                    }),
                })
            ),
    ]
}

#[test]
fn reason_codes_round_trip_their_names() {
    for r in ErasureReason::ALL {
        assert_eq!(ErasureReason::parse(r.as_str()), Some(r));
        assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
    }
    for r in AuditReason::ALL {
        assert_eq!(AuditReason::parse(r.as_str()), Some(r));
        assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
    }
    assert_eq!(ErasureReason::parse("because"), None);
    assert_eq!(AuditReason::parse(""), None);
}
