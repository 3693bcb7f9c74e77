//! Samples and generators of the data-subject events: `person.erased` and
//! `audit.recorded`.

use proptest::prelude::*;
use uuid::Uuid;

use super::arb_uuid;
use crate::Event;
use crate::audit::{AuditReason, AuditRecorded};
use crate::person::{ErasureReason, PersonErased};

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
