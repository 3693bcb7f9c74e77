//! `case.connection_made` v1 (no `service_kind`) reads as v2, and a v2 written down to v1:
//!
//! - the v1 example reads as v2 as it is (no copy), with no kind; the v2 example downcasts
//!   to a valid v1 that reads back as it, bar `service_kind`;
//! - any valid v2 (proptest) downcasts to a valid v1 and reads back as itself without its
//!   kind (the only thing v1 cannot say), directly and through an envelope from the log;
//! - v1's closed schema refuses `service_kind` (why it is a version, not an optional field).

use std::borrow::Cow;

use super::*;
use crate::case::{CaseEvent, ConnectionMade};
use crate::upcast::{reads_as, rewrites, upcast};
use crate::write_versions::downcast;

const TYPE: &str = "case.connection_made";

/// v1 data as an older Linkway wrote it: the v2 payload without `service_kind`.
pub(super) fn v1_connection_made(made: &ConnectionMade) -> Value {
    super::upcasting::data_without(made.clone(), &["service_kind"])
}

/// v1 samples, with every field set in at least one.
pub(super) fn v1_samples() -> Vec<(&'static str, u32, Value)> {
    super::upcasting::older_samples(TYPE, 1, &["service_kind"])
}

fn made_of(event: Event) -> ConnectionMade {
    match event {
        Event::Case(CaseEvent::ConnectionMade(made)) => made,
        other => panic!("not a connection made: {other:?}"),
    }
}

#[test]
fn v1_is_superseded_by_v2_read_as_it_is_and_v2_is_written_down_to_v1() {
    assert_eq!(current_version(TYPE), 2);
    assert!(Event::superseded().contains(&(TYPE, 1)));
    assert!(write_versions::downcasters().contains(&(TYPE, 2)));
    assert!(write_versions::writable(TYPE, 1) && write_versions::writable(TYPE, 2));
    assert!(!rewrites(TYPE, 1), "v1 is read as it is");
    assert_eq!((reads_as(TYPE, 1), reads_as(TYPE, 2)), (2, 2));
    assert!(
        v1_samples().len() >= 2,
        "the samples hold a connection with and without the optional fields"
    );
}

#[test]
fn the_v1_example_reads_as_v2_without_a_kind() {
    let v1 = read_json(&example_path(TYPE, 1));
    let (version, data) = upcast(TYPE, 1, &v1["data"]);
    assert_eq!(version, 2);
    assert!(matches!(data, Cow::Borrowed(_)), "read as it is");
    assert_valid(event_validator(TYPE, 2), &data, "v1 example as v2");
    let read = Envelope::from_slice(v1.to_string().as_bytes())
        .expect("v1 envelope")
        .event()
        .expect("v1 decodes");
    assert_eq!(read.version(), 2, "consumers only see the newest shape");
    assert_eq!(made_of(read).service_kind, None);
}

#[test]
fn the_v2_example_downcasts_to_a_valid_v1_and_v1_has_no_place_for_a_kind() {
    let v2 = read_json(&example_path(TYPE, 2));
    assert!(
        v2["data"]["service_kind"].is_string(),
        "the example shows v2's field"
    );
    let v1 = downcast(TYPE, 2, 1, v2["data"].clone());
    assert_valid(event_validator(TYPE, 1), &v1, "downcast v2 example");
    let mut expected = v2["data"].clone();
    expected
        .as_object_mut()
        .expect("object")
        .remove("service_kind");
    assert_eq!(v1, expected);
    assert!(
        !event_validator(TYPE, 1).is_valid(&v2["data"]),
        "v1 is closed: an old reader validating it refuses `service_kind`"
    );
    let mut blank = v2["data"].clone();
    blank["service_kind"] = json!("");
    assert_refused(TYPE, &blank, "an empty kind");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Any v2 written down to v1 is a valid v1 that reads back as the same connection
    /// without its kind, directly and through an envelope from the log.
    #[test]
    fn any_v2_round_trips_through_v1_but_for_the_kind(
        made in arb_case_follow_up().prop_filter_map("a connection", |e| match e {
            Event::Case(CaseEvent::ConnectionMade(m)) => Some(m),
            _ => None,
        }),
    ) {
        let v2 = Event::from(made.clone()).to_data();
        assert_valid(event_validator(TYPE, 2), &v2, "v2");
        let v1 = downcast(TYPE, 2, 1, v2);
        prop_assert_eq!(&v1, &v1_connection_made(&made));
        assert_valid(event_validator(TYPE, 1), &v1, "downcast v2");
        let expected = ConnectionMade { service_kind: None, ..made };
        let read = made_of(Event::decode(TYPE, 1, v1.clone()).expect("decodes"));
        prop_assert_eq!(&read, &expected);
        let stored = super::upcasting::stored_as_written(TYPE, 1, &v1);
        prop_assert_eq!(stored.version, 1, "the log keeps what was written");
        prop_assert_eq!(made_of(stored.event().expect("decodes")), expected);
    }
}
