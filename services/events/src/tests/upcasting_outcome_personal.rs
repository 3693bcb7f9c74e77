//! `case.outcome_recorded` v1 (no `personal`) reads as v2, and a v2 written down to v1:
//!
//! - the v1 example reads as v2 as it is (no copy), with no concerns; the v2 example (a
//!   MYCaW) downcasts to a valid v1 without the person's words;
//! - any valid v2 (proptest) downcasts to a valid v1 and reads back as itself without its
//!   `personal` part, directly and through an envelope from the log;
//! - v1's closed schema refuses `personal` (why it is a version, not an optional field).

use std::borrow::Cow;

use super::*;
use crate::case::{CaseEvent, OutcomeRecorded};
use crate::upcast::{reads_as, rewrites, upcast};
use crate::write_versions::downcast;

const TYPE: &str = "case.outcome_recorded";

/// v1 data as an older Linkway wrote it: the v2 payload without `personal`.
fn v1_outcome_recorded(outcome: &OutcomeRecorded) -> Value {
    super::upcasting::data_without(outcome.clone(), &["personal"])
}

/// v1 samples: every sample outcome, as v1 wrote it.
pub(super) fn v1_samples() -> Vec<(&'static str, u32, Value)> {
    super::upcasting::older_samples(TYPE, 1, &["personal"])
}

fn outcome_of(event: Event) -> OutcomeRecorded {
    match event {
        Event::Case(CaseEvent::OutcomeRecorded(o)) => o,
        other => panic!("not an outcome: {other:?}"),
    }
}

#[test]
fn v1_is_superseded_by_v2_read_as_it_is_and_v2_is_written_down_to_v1() {
    assert_eq!(current_version(TYPE), 2);
    assert!(Event::superseded().contains(&(TYPE, 1)));
    assert!(write_versions::downcasters().contains(&(TYPE, 2)));
    assert!(write_versions::writable(TYPE, 1));
    assert!(!rewrites(TYPE, 1), "v1 is read as it is");
    assert_eq!((reads_as(TYPE, 1), reads_as(TYPE, 2)), (2, 2));
}

#[test]
fn the_v1_example_reads_as_v2_without_concerns() {
    let v1 = read_json(&example_path(TYPE, 1));
    let (version, data) = upcast(TYPE, 1, &v1["data"]);
    assert_eq!(version, 2);
    assert!(matches!(data, Cow::Borrowed(_)), "read as it is");
    assert_valid(event_validator(TYPE, 2), &data, "v1 example as v2");
    let read = Envelope::from_slice(v1.to_string().as_bytes())
        .expect("v1 envelope")
        .event()
        .expect("v1 decodes");
    assert_eq!(read.version(), 2);
    assert_eq!(outcome_of(read).personal, None);
}

#[test]
fn the_v2_example_downcasts_to_a_valid_v1_and_v1_has_no_place_for_concerns() {
    let v2 = read_json(&example_path(TYPE, 2));
    assert_eq!(v2["data"]["instrument"], "mycaw");
    assert!(v2["data"]["personal"]["concerns"].is_array());
    let v1 = downcast(TYPE, 2, 1, v2["data"].clone());
    assert_valid(event_validator(TYPE, 1), &v1, "downcast v2 example");
    assert!(v1.get("personal").is_none());
    assert!(
        !event_validator(TYPE, 1).is_valid(&v2["data"]),
        "v1 is closed: an old reader validating it refuses `personal`"
    );
    for concerns in [json!([]), json!(["a", "b", "c"]), json!([""])] {
        let mut bad = v2["data"].clone();
        bad["personal"]["concerns"] = concerns.clone();
        assert_refused(TYPE, &bad, &format!("concerns {concerns}"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Any v2 written down to v1 is a valid v1 that reads back as the same measure
    /// without the person's words, directly and through an envelope from the log.
    #[test]
    fn any_v2_round_trips_through_v1_but_for_the_personal_part(outcome in arb_outcome_recorded()) {
        let v2 = Event::from(outcome.clone()).to_data();
        assert_valid(event_validator(TYPE, 2), &v2, "v2");
        let v1 = downcast(TYPE, 2, 1, v2);
        prop_assert_eq!(&v1, &v1_outcome_recorded(&outcome));
        assert_valid(event_validator(TYPE, 1), &v1, "downcast v2");
        let expected = OutcomeRecorded { personal: None, ..outcome };
        let read = outcome_of(Event::decode(TYPE, 1, v1.clone()).expect("decodes"));
        prop_assert_eq!(&read, &expected);
        let stored = super::upcasting::stored_as_written(TYPE, 1, &v1);
        prop_assert_eq!(stored.version, 1, "the log keeps what was written");
        prop_assert_eq!(outcome_of(stored.event().expect("decodes")), expected);
    }
}
