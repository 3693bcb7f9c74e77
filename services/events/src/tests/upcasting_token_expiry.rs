//! `token.issued` v1 (no `expires_at`, no `replaces`) reads as v2, and a v2 written down
//! to v1:
//!
//! - the v1 example reads as v2 as it is (no copy): a token that never expires and
//!   replaces none; the v2 example downcasts to a valid v1 that reads back as it, bar
//!   both fields;
//! - any valid v2 (proptest) downcasts to a valid v1 and reads back as itself without its
//!   expiry and predecessor (all v1 cannot say), directly and through an envelope;
//! - v1's closed schema refuses both fields (why it is a version, not optional fields).

use std::borrow::Cow;

use super::*;
use crate::registry::RegistryEvent;
use crate::upcast::{reads_as, rewrites, upcast};
use crate::write_versions::downcast;

const TYPE: &str = "token.issued";

/// v1 data as an older Linkway wrote it: the v2 payload without `expires_at` and
/// `replaces`.
pub(super) fn v1_token_issued(issued: &TokenIssued) -> Value {
    super::upcasting::data_without(issued.clone(), V2_FIELDS)
}

/// What v2 added.
const V2_FIELDS: &[&str] = &["expires_at", "replaces"];

/// v1 samples, with every field set in at least one.
pub(super) fn v1_samples() -> Vec<(&'static str, u32, Value)> {
    super::upcasting::older_samples(TYPE, 1, V2_FIELDS)
}

fn issued_of(event: Event) -> TokenIssued {
    match event {
        Event::Registry(RegistryEvent::TokenIssued(issued)) => issued,
        other => panic!("not a token issued: {other:?}"),
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
        "the samples hold a token with and without the optional fields"
    );
}

#[test]
fn the_v1_example_reads_as_v2_a_token_that_never_expires() {
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
    let issued = issued_of(read);
    assert_eq!((issued.expires_at, issued.replaces), (None, None));
}

#[test]
fn the_v2_example_downcasts_to_a_valid_v1_and_v1_has_no_place_for_an_expiry() {
    let v2 = read_json(&example_path(TYPE, 2));
    assert!(
        v2["data"]["expires_at"].is_string(),
        "the example shows v2's fields"
    );
    assert!(v2["data"]["replaces"]["stops_at"].is_string());
    let v1 = downcast(TYPE, 2, 1, v2["data"].clone());
    assert_valid(event_validator(TYPE, 1), &v1, "downcast v2 example");
    let mut expected = v2["data"].clone();
    let map = expected.as_object_mut().expect("object");
    map.remove("expires_at");
    map.remove("replaces");
    assert_eq!(v1, expected);
    for field in ["/expires_at", "/replaces"] {
        let only = without_member(
            &v2["data"],
            if field == "/expires_at" {
                "/replaces"
            } else {
                "/expires_at"
            },
        );
        assert!(
            !event_validator(TYPE, 1).is_valid(&only),
            "v1 is closed: an old reader validating it refuses {field}"
        );
    }
    let mut bad = v2["data"].clone();
    bad["expires_at"] = json!("next tuesday");
    assert_refused(TYPE, &bad, "an expiry that is not a date-time");
    let mut bad = v2["data"].clone();
    bad["replaces"] = json!({"token_id": bad["replaces"]["token_id"]});
    assert_refused(
        TYPE,
        &bad,
        "a replaced token without the end of its overlap",
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Any v2 written down to v1 is a valid v1 that reads back as the same token without
    /// its expiry or predecessor, directly and through an envelope from the log.
    #[test]
    fn any_v2_round_trips_through_v1_but_for_the_expiry(
        issued in arb_registry_event().prop_filter_map("a token issued", |e| match e {
            Event::Registry(RegistryEvent::TokenIssued(t)) => Some(t),
            _ => None,
        }),
    ) {
        let v2 = Event::from(issued.clone()).to_data();
        assert_valid(event_validator(TYPE, 2), &v2, "v2");
        let v1 = downcast(TYPE, 2, 1, v2);
        prop_assert_eq!(&v1, &v1_token_issued(&issued));
        assert_valid(event_validator(TYPE, 1), &v1, "downcast v2");
        let expected = TokenIssued { expires_at: None, replaces: None, ..issued };
        let read = issued_of(Event::decode(TYPE, 1, v1.clone()).expect("decodes"));
        prop_assert_eq!(&read, &expected);
        let stored = super::upcasting::stored_as_written(TYPE, 1, &v1);
        prop_assert_eq!(stored.version, 1, "the log keeps what was written");
        prop_assert_eq!(issued_of(stored.event().expect("decodes")), expected);
    }
}
