//! `referral.received` v2 (no `reply_to`) reads as v3, and a v3 written down to v2:
//!
//! - the v2 example reads as v3 as it is (no copy, and no `Value` on the way from the
//!   stored text), without a reply endpoint; the v3 example downcasts to a valid v2 that
//!   reads back as it, bar `reply_to`;
//! - any valid v3 (proptest) downcasts to a valid v2 and reads back as itself without
//!   `reply_to` (the only thing v2 cannot say), directly and through an envelope;
//! - v3's schema takes `reply_to` only for a FHIR referral, and v2's closed schema refuses
//!   it (which is why it is a version and not an optional field of v2).

use std::borrow::Cow;

use super::*;
use crate::referral::ReferralEvent;
use crate::upcast::{reads_as, rewrites, upcast};
use crate::write_versions::downcast;

const TYPE: &str = "referral.received";

/// `referral.received` v2 data as an older Linkway wrote it: the v3 payload without
/// `reply_to`.
pub(super) fn v2_referral_received(received: &ReferralReceived) -> Value {
    let mut data = Event::from(received.clone()).to_data();
    data.as_object_mut().expect("object").remove("reply_to");
    data
}

/// v2 samples, with every field set in at least one (a FHIR referral among them).
pub(super) fn v2_samples() -> Vec<(&'static str, u32, Value)> {
    [sample_referral_received(), minimal_referral_received()]
        .iter()
        .map(|r| (TYPE, 2, v2_referral_received(r)))
        .collect()
}

fn received_of(event: Event) -> ReferralReceived {
    match event {
        Event::Referral(ReferralEvent::Received(r)) => r,
        other => panic!("not a referral received: {other:?}"),
    }
}

#[test]
fn v2_is_superseded_by_v3_read_as_it_is_and_v3_is_written_down_to_v2() {
    assert_eq!(current_version(TYPE), 3);
    assert!(Event::superseded().contains(&(TYPE, 2)));
    assert!(write_versions::downcasters().contains(&(TYPE, 3)));
    assert!(write_versions::writable(TYPE, 2) && write_versions::writable(TYPE, 3));
    assert!(
        !write_versions::writable(TYPE, 1),
        "v2 -> v1 has no downcaster"
    );
    assert!(!rewrites(TYPE, 2), "v2 is read as it is");
    assert!(rewrites(TYPE, 1), "v1 still drops its list");
    assert_eq!(
        (reads_as(TYPE, 1), reads_as(TYPE, 2), reads_as(TYPE, 3)),
        (3, 3, 3)
    );
}

#[test]
fn the_v2_example_reads_as_v3_without_a_reply_endpoint() {
    let v2 = read_json(&example_path(TYPE, 2));
    assert!(v2["data"].get("reply_to").is_none());
    let (version, data) = upcast(TYPE, 2, &v2["data"]);
    assert_eq!(version, 3);
    assert!(matches!(data, Cow::Borrowed(_)), "read as it is");
    assert_valid(event_validator(TYPE, 3), &data, "v2 example as v3");

    let read = Envelope::from_slice(v2.to_string().as_bytes())
        .expect("v2 envelope")
        .event()
        .expect("v2 decodes");
    assert_eq!(read.version(), 3, "consumers only see the newest shape");
    assert_eq!(received_of(read).reply_to, None);
}

#[test]
fn the_v3_example_downcasts_to_a_valid_v2() {
    let v3 = read_json(&example_path(TYPE, 3));
    assert_eq!(v3["data"]["source_channel"], "fhir");
    assert_eq!(
        v3["data"]["reply_to"], "https://meadowbank.example/fhir/replies",
        "the example shows v3's field"
    );
    let v2 = downcast(TYPE, 3, 2, v3["data"].clone());
    assert_valid(event_validator(TYPE, 2), &v2, "downcast v3 example");
    let mut expected = v3["data"].clone();
    expected.as_object_mut().expect("object").remove("reply_to");
    assert_eq!(v2, expected);
    assert_eq!(upcast(TYPE, 2, &v2).1.as_ref(), &expected);
}

#[test]
fn a_reply_endpoint_is_for_fhir_referrals_and_v2_has_no_place_for_one() {
    let data = example_data(TYPE);
    for channel in ["api", "web"] {
        let mut other = data.clone();
        other["source_channel"] = json!(channel);
        assert_refused(
            TYPE,
            &other,
            &format!("a reply endpoint on a {channel} referral"),
        );
        other.as_object_mut().expect("object").remove("reply_to");
        assert_valid(event_validator(TYPE, 3), &other, channel);
    }
    // Optional even for FHIR: a v2 FHIR referral read as v3 has none.
    assert_valid(
        event_validator(TYPE, 3),
        &without_member(&data, "/reply_to"),
        "a FHIR referral without a reply endpoint",
    );
    let mut blank = data.clone();
    blank["reply_to"] = json!("");
    assert_refused(TYPE, &blank, "an empty reply endpoint");
    blank["reply_to"] = json!("x".repeat(2001));
    assert_refused(TYPE, &blank, "a reply endpoint over 2000 characters");
    assert!(
        !event_validator(TYPE, 2).is_valid(&data),
        "v2 is closed: an old reader validating it refuses `reply_to`"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Any valid v3 written down to v2 is a valid v2 that reads back as the same referral
    /// without its reply endpoint, directly and through an envelope from the log.
    #[test]
    fn any_v3_round_trips_through_v2_but_for_the_reply_endpoint(
        received in arb_referral_received(),
    ) {
        let v3 = Event::from(received.clone()).to_data();
        let v2 = downcast(TYPE, 3, 2, v3);
        prop_assert_eq!(&v2, &v2_referral_received(&received));
        assert_valid(event_validator(TYPE, 2), &v2, "downcast v3");

        let expected = ReferralReceived { reply_to: None, ..received };
        let (version, upcast_data) = upcast(TYPE, 2, &v2);
        prop_assert_eq!(version, 3);
        assert_valid(event_validator(TYPE, 3), &upcast_data, "v2 as v3");
        let read = received_of(Event::decode(TYPE, 2, v2.clone()).expect("decodes"));
        prop_assert_eq!(&read, &expected);

        let read = super::upcasting::stored_as_written(TYPE, 2, &v2);
        prop_assert_eq!(read.version, 2, "the log keeps what was written");
        prop_assert_eq!(received_of(read.event().expect("decodes")), expected);
    }
}
