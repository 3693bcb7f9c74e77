//! `case.connection_declined` v1 (no `reason`) reads as v2, and a v2 written down to v1:
//!
//! - the v1 example upcasts to a valid v2 with `reason` `not_recorded`, and the v2 example
//!   downcasts to a valid v1 that reads back as it, bar the reason;
//! - any valid v2 (proptest) downcasts to a valid v1 and upcasts back to itself with
//!   `not_recorded` (the only thing v1 cannot say), directly and through an envelope;
//! - a v1 already carrying a reason is not rewritten; unknown versions are refused.

use std::borrow::Cow;

use super::*;
use crate::case::{CaseEvent, ConnectionDeclineReason, ConnectionDeclined};
use crate::upcast::upcast;
use crate::write_versions::downcast;

const TYPE: &str = "case.connection_declined";

/// `case.connection_declined` v1 data as an older Linkway wrote it: the v2 payload
/// without `reason`.
fn v1_connection_declined(declined: &ConnectionDeclined) -> Value {
    super::upcasting::data_without(declined.clone(), &["reason"])
}

/// v1 samples: the v2 samples without their reason.
pub(super) fn v1_samples() -> Vec<(&'static str, u32, Value)> {
    super::upcasting::older_samples(TYPE, 1, &["reason"])
}

fn declined_of(event: Event) -> ConnectionDeclined {
    match event {
        Event::Case(CaseEvent::ConnectionDeclined(d)) => d,
        other => panic!("not a connection declined: {other:?}"),
    }
}

#[test]
fn v1_is_superseded_by_v2_and_v2_is_written_down_to_v1() {
    let writable = [0, 1, 2, 3].map(|v| write_versions::writable(TYPE, v));
    assert_eq!(
        writable,
        [false, true, true, false],
        "v1 and v2 are written"
    );
    assert_eq!(current_version(TYPE), 2);
    assert!(
        Event::superseded().contains(&(TYPE, 1)),
        "v1 is read through v2"
    );
    assert!(write_versions::downcasters().contains(&(TYPE, 2)));
}

#[test]
fn the_v1_example_reads_as_v2_not_recorded() {
    let v1 = read_json(&example_path(TYPE, 1));
    let (version, data) = upcast(TYPE, 1, &v1["data"]);
    assert!(matches!(data, Cow::Owned(_)), "the field was added");
    assert_eq!((version, &data["reason"]), (2, &json!("not_recorded")));
    assert!(v1["data"].get("reason").is_none(), "v1 has none");
    assert_valid(event_validator(TYPE, 2), &data, "upcast v1 example");
    // Through an envelope, as a consumer reads it from the log.
    let envelope = Envelope::from_slice(v1.to_string().as_bytes()).expect("v1 envelope");
    let read = envelope.event().expect("v1 decodes");
    assert_eq!(read.version(), 2, "consumers only see the newest shape");
    let reason = declined_of(read).reason;
    assert_eq!(reason, ConnectionDeclineReason::NotRecorded);
}

#[test]
fn the_v2_example_downcasts_to_a_valid_v1() {
    let v2 = read_json(&example_path(TYPE, 2));
    assert_eq!(
        v2["data"]["reason"], "no_capacity",
        "the example shows v2's field"
    );
    let v1 = downcast(TYPE, 2, 1, v2["data"].clone());
    assert_valid(event_validator(TYPE, 1), &v1, "downcast v2 example");
    let mut expected = v2["data"].clone();
    expected["reason"] = json!("not_recorded");
    assert_eq!(upcast(TYPE, 1, &v1).1.as_ref(), &expected);
}

#[test]
fn a_v1_carrying_a_reason_is_left_as_it_is() {
    // No Linkway wrote one (v1's schema is closed); the decoder reads the reason it has.
    let mut data = read_json(&example_path(TYPE, 1))["data"].clone();
    data["reason"] = json!("not_eligible");
    assert!(matches!(upcast(TYPE, 1, &data), (2, Cow::Borrowed(_))));
    assert!(!event_validator(TYPE, 1).is_valid(&data), "v1 is closed");
    let read = declined_of(Event::decode(TYPE, 1, data).expect("decodes"));
    assert_eq!(read.reason, ConnectionDeclineReason::NotEligible);
}

#[test]
fn v2_requires_a_reason_from_the_list_and_other_versions_are_refused() {
    let data = example_data(TYPE);
    assert_refused(TYPE, &without_member(&data, "/reason"), "no reason");
    let refused = |reason: &str| {
        let mut data = data.clone();
        data["reason"] = json!(reason);
        (
            event_validator(TYPE, 2).is_valid(&data),
            Event::decode(TYPE, 2, data).is_err(),
        )
    };
    assert_eq!(refused("busy"), (false, true), "a reason not in the list");
    let wire: Vec<Value> = ConnectionDeclineReason::ALL
        .iter()
        .map(|r| json!(r))
        .collect();
    let names: Vec<Value> = ConnectionDeclineReason::ALL
        .iter()
        .map(|r| json!(r.as_str()))
        .collect();
    assert_eq!(wire, names, "as_str is the wire name");
    for reason in ConnectionDeclineReason::ALL {
        assert_eq!(
            refused(reason.as_str()),
            (true, false),
            "{}",
            reason.as_str()
        );
    }
    let versions_refused = [0, 3].map(|v| {
        matches!(
            Event::decode(TYPE, v, data.clone()),
            Err(DecodeError::UnsupportedVersion { .. })
        )
    });
    assert_eq!(versions_refused, [true, true]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any valid v2 written down to v1 is a valid v1 that reads back as the same decline
    /// with its reason `not_recorded`, directly and through an envelope from the log.
    #[test]
    fn any_v2_round_trips_through_v1_but_for_the_reason(
        referral_id in arb_uuid(),
        connection_id in arb_uuid(),
        reason in proptest::sample::select(ConnectionDeclineReason::ALL.to_vec()),
    ) {
        let declined = ConnectionDeclined { referral_id, connection_id, reason };
        let v1 = downcast(TYPE, 2, 1, Event::from(declined.clone()).to_data());
        prop_assert_eq!(&v1, &v1_connection_declined(&declined));
        assert_valid(event_validator(TYPE, 1), &v1, "downcast v2");
        assert_valid(event_validator(TYPE, 2), &upcast(TYPE, 1, &v1).1, "upcast v1");
        let expected = ConnectionDeclined { reason: ConnectionDeclineReason::NotRecorded, ..declined };
        let direct = declined_of(Event::decode(TYPE, 1, v1.clone()).expect("decodes"));
        let stored = super::upcasting::stored_as_written(TYPE, 1, &v1);
        prop_assert_eq!(stored.version, 1, "the log keeps what was written");
        prop_assert_eq!((direct, declined_of(stored.event().expect("decodes"))), (expected.clone(), expected));
    }
}
