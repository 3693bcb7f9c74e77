//! `case.contact_attempted` v1 (no `outcome`) reads as v2, and a v2 written down to v1:
//!
//! - the v1 example upcasts to a valid v2 with `outcome` `not_recorded`, and the v2 example
//!   downcasts to a valid v1 that reads back as it, bar the outcome;
//! - any valid v2 (proptest) downcasts to a valid v1 and upcasts back to itself with
//!   `not_recorded` (the only thing v1 cannot say), directly and through an envelope;
//! - a v1 already carrying an outcome is not rewritten; unknown versions are refused.

use std::borrow::Cow;

use super::*;
use crate::case::CaseEvent;
use crate::upcast::upcast;
use crate::write_versions::downcast;

const TYPE: &str = "case.contact_attempted";

/// `case.contact_attempted` v1 data as an older Linkway wrote it: the v2 payload without
/// `outcome`.
pub(super) fn v1_contact_attempted(attempt: &ContactAttempted) -> Value {
    let mut data = Event::from(attempt.clone()).to_data();
    data.as_object_mut().expect("object").remove("outcome");
    data
}

/// v1 samples, with every field set in at least one.
pub(super) fn v1_samples() -> Vec<(&'static str, u32, Value)> {
    let referral_id = uuid(REFERRAL_ID);
    [(1, false), (3, true)]
        .into_iter()
        .map(|(attempt_number, could_not_contact)| {
            let attempt = ContactAttempted {
                referral_id,
                channel: ContactChannel::Phone,
                outcome: ContactOutcome::NoAnswer,
                attempt_number,
                could_not_contact,
            };
            (TYPE, 1, v1_contact_attempted(&attempt))
        })
        .collect()
}

fn attempt_of(event: Event) -> ContactAttempted {
    match event {
        Event::Case(CaseEvent::ContactAttempted(a)) => a,
        other => panic!("not a contact attempt: {other:?}"),
    }
}

#[test]
fn v1_is_superseded_by_v2_and_v2_is_written_down_to_v1() {
    assert_eq!(current_version(TYPE), 2);
    assert!(Event::superseded().contains(&(TYPE, 1)));
    assert!(write_versions::downcasters().contains(&(TYPE, 2)));
    assert!(write_versions::writable(TYPE, 1) && write_versions::writable(TYPE, 2));
    assert!(!write_versions::writable(TYPE, 0) && !write_versions::writable(TYPE, 3));
}

#[test]
fn the_v1_example_reads_as_v2_not_recorded() {
    let v1 = read_json(&example_path(TYPE, 1));
    assert!(v1["data"].get("outcome").is_none());
    let (version, data) = upcast(TYPE, 1, &v1["data"]);
    assert_eq!(version, 2);
    assert!(matches!(data, Cow::Owned(_)), "the field was added");
    assert_eq!(data["outcome"], "not_recorded");
    assert_valid(event_validator(TYPE, 2), &data, "upcast v1 example");

    let read = Envelope::from_slice(v1.to_string().as_bytes())
        .expect("v1 envelope")
        .event()
        .expect("v1 decodes");
    assert_eq!(read.version(), 2, "consumers only see the newest shape");
    assert_eq!(attempt_of(read).outcome, ContactOutcome::NotRecorded);
}

#[test]
fn the_v2_example_downcasts_to_a_valid_v1() {
    let v2 = read_json(&example_path(TYPE, 2));
    assert_eq!(
        v2["data"]["outcome"], "voicemail_left",
        "the example shows v2's field"
    );
    let v1 = downcast(TYPE, 2, 1, v2["data"].clone());
    assert_valid(event_validator(TYPE, 1), &v1, "downcast v2 example");
    let mut expected = v2["data"].clone();
    expected["outcome"] = json!("not_recorded");
    assert_eq!(upcast(TYPE, 1, &v1).1.as_ref(), &expected);
}

#[test]
fn a_v1_carrying_an_outcome_is_left_as_it_is() {
    // No Linkway wrote one (v1's schema is closed); the decoder reads the outcome it has.
    let mut data = example_data(TYPE);
    data["outcome"] = json!("wrong_number");
    assert!(matches!(upcast(TYPE, 1, &data), (2, Cow::Borrowed(_))));
    assert!(!event_validator(TYPE, 1).is_valid(&data), "v1 is closed");
    let read = attempt_of(Event::decode(TYPE, 1, data).expect("decodes"));
    assert_eq!(read.outcome, ContactOutcome::WrongNumber);
}

#[test]
fn v2_requires_an_outcome_from_the_list_and_other_versions_are_refused() {
    let data = example_data(TYPE);
    assert_refused(TYPE, &without_member(&data, "/outcome"), "no outcome");
    let mut unknown = data.clone();
    unknown["outcome"] = json!("answered");
    assert_refused(TYPE, &unknown, "an outcome not in the list");
    assert!(Event::decode(TYPE, 2, unknown).is_err());
    for outcome in ContactOutcome::ALL {
        let mut one = data.clone();
        one["outcome"] = json!(outcome.as_str());
        assert_valid(event_validator(TYPE, 2), &one, outcome.as_str());
        assert_eq!(serde_json::to_value(outcome).unwrap(), outcome.as_str());
    }
    for version in [0, 3] {
        assert!(matches!(
            Event::decode(TYPE, version, data.clone()),
            Err(DecodeError::UnsupportedVersion { .. })
        ));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Any valid v2 written down to v1 is a valid v1 that reads back as the same attempt
    /// with its outcome `not_recorded`, directly and through an envelope from the log.
    #[test]
    fn any_v2_round_trips_through_v1_but_for_the_outcome(
        referral_id in arb_uuid(),
        channel in arb_contact_channel(),
        outcome in proptest::sample::select(ContactOutcome::ALL.to_vec()),
        attempt_number in 1u32..,
        could_not_contact in any::<bool>(),
    ) {
        let attempt = ContactAttempted { referral_id, channel, outcome, attempt_number, could_not_contact };
        let v2 = Event::from(attempt.clone()).to_data();
        let v1 = downcast(TYPE, 2, 1, v2);
        prop_assert_eq!(&v1, &v1_contact_attempted(&attempt));
        assert_valid(event_validator(TYPE, 1), &v1, "downcast v2");

        let expected = ContactAttempted { outcome: ContactOutcome::NotRecorded, ..attempt };
        let (version, upcast_data) = upcast(TYPE, 1, &v1);
        prop_assert_eq!(version, 2);
        assert_valid(event_validator(TYPE, 2), &upcast_data, "upcast v1");
        let read = attempt_of(Event::decode(TYPE, 1, v1.clone()).expect("decodes"));
        prop_assert_eq!(&read, &expected);

        let read = super::upcasting::stored_as_written(TYPE, 1, &v1);
        prop_assert_eq!(read.version, 1, "the log keeps what was written");
        prop_assert_eq!(attempt_of(read.event().expect("decodes")), expected);
    }
}
