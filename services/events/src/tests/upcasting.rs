//! Superseded versions and their upcasters: `referral.received` v1 (which carried
//! `possible_duplicate_of`) reads as v2, and so as v3 (`referral.received` v2 -> v3 and
//! `case.contact_attempted` v1 have their own files, `upcasting_reply_to` and
//! `upcasting_contact_attempted`).
//!
//! - every superseded version is older than the one written, and upcasts to it;
//! - the v1 example upcasts to exactly the v2 example's data;
//! - any valid v1 (proptest) upcasts to a valid v3 that decodes to the same referral;
//! - current versions pass through untouched and unborrowed-from; unknown versions are
//!   still refused.

use std::borrow::Cow;

use super::*;
use crate::upcast::upcast;

/// `referral.received` v1 data as an older Linkway wrote it: the v2 payload (v3's without
/// `reply_to`) plus the open referrals it found for the same person at the same service
/// (absent when none).
fn v1_referral_received(received: &ReferralReceived, duplicates: &[Uuid]) -> Value {
    let mut data = super::upcasting_reply_to::v2_referral_received(received);
    if !duplicates.is_empty() {
        data["possible_duplicate_of"] = json!(duplicates);
    }
    data
}

/// An envelope holding `data` at `version` (as an older Linkway wrote it), checked against
/// the envelope schema and read back as a consumer reads it from the log.
/// An event's data as an older version wrote it: without the fields later versions added.
pub(super) fn data_without(event: impl Into<Event>, fields: &[&str]) -> Value {
    let mut data = event.into().to_data();
    let map = data.as_object_mut().expect("object");
    for field in fields {
        map.remove(*field);
    }
    data
}

/// Every sample event of `event_type`, as `version` (which lacks `fields`) wrote it.
pub(super) fn older_samples(
    event_type: &'static str,
    version: u32,
    fields: &[&str],
) -> Vec<(&'static str, u32, Value)> {
    sample_events()
        .into_iter()
        .filter(|e| e.type_name() == event_type)
        .map(|e| (event_type, version, data_without(e, fields)))
        .collect()
}

pub(super) fn stored_as_written(event_type: &str, version: u32, data: &Value) -> Envelope {
    let now = OffsetDateTime::now_utc();
    let json = json!({
        "event_id": Uuid::now_v7(),
        "type": event_type,
        "version": version,
        "aggregate_id": aggregate_id_of(event_type, data),
        "occurred_at": now.format(&time::format_description::well_known::Rfc3339).expect("RFC 3339"),
        "recorded_at": now.format(&time::format_description::well_known::Rfc3339).expect("RFC 3339"),
        "actor": Actor::system(),
        "correlation_id": Uuid::now_v7(),
        "data": data,
    });
    assert_valid(
        &contract().envelope,
        &json,
        &format!("{event_type} v{version} envelope"),
    );
    Envelope::from_slice(json.to_string().as_bytes()).expect("parses")
}

/// Samples of every superseded version, with every field set in at least one.
pub(super) fn superseded_samples() -> Vec<(&'static str, u32, Value)> {
    let mut samples = super::upcasting_contact_attempted::v1_samples();
    samples.extend(super::upcasting_reply_to::v2_samples());
    samples.extend(super::upcasting_connection_declined::v1_samples());
    samples.extend(super::upcasting_service_kind::v1_samples());
    samples.extend(super::upcasting_outcome_personal::v1_samples());
    samples.extend(super::upcasting_token_expiry::v1_samples());
    samples.extend(super::upcasting_organisation_services::v1_samples());
    samples.extend([
        (
            "referral.received",
            1,
            v1_referral_received(
                &sample_referral_received(),
                &[uuid("01955b4c-2a10-7d3e-8f21-6a9b0c1d2e3f")],
            ),
        ),
        (
            "referral.received",
            1,
            v1_referral_received(&minimal_referral_received(), &[]),
        ),
    ]);
    samples
}

#[test]
fn superseded_versions_are_older_than_the_written_ones_and_upcast_to_them() {
    let superseded = Event::superseded();
    assert!(
        superseded.contains(&("referral.received", 1)),
        "v1 is superseded"
    );
    assert_eq!(current_version("referral.received"), 3);
    for (t, v) in superseded {
        assert!(
            !Event::catalogue().contains(&(t, v)),
            "{t} v{v} is both written and superseded"
        );
        let current = current_version(t);
        assert!(v < current, "{t} v{v} is not older than v{current}");
        let example = read_json(&example_path(t, v));
        let (reached, _) = upcast(t, v, &example["data"]);
        assert_eq!(reached, current, "{t} v{v} does not upcast to v{current}");
    }
    let samples: BTreeSet<_> = superseded_samples()
        .into_iter()
        .map(|(t, v, _)| (t, v))
        .collect();
    let superseded: BTreeSet<_> = Event::superseded().into_iter().collect();
    assert_eq!(samples, superseded, "a sample of every superseded version");
}

#[test]
fn the_v1_example_upcasts_to_the_v2_example() {
    let v1 = read_json(&example_path("referral.received", 1));
    let v2 = read_json(&example_path("referral.received", 2));
    assert!(
        v1["data"]["possible_duplicate_of"]
            .as_array()
            .is_some_and(|d| !d.is_empty()),
        "the v1 example shows what v2 drops"
    );
    assert!(v2["data"].get("possible_duplicate_of").is_none());

    // v1 -> v2 drops the list; v2 -> v3 reads what is left as it is.
    let (version, data) = upcast("referral.received", 1, &v1["data"]);
    assert_eq!(version, 3);
    assert!(matches!(data, Cow::Owned(_)), "the field was dropped");
    assert_eq!(data.as_ref(), &v2["data"]);

    let from_v1 = Envelope::from_slice(v1.to_string().as_bytes())
        .expect("v1 envelope")
        .event()
        .expect("v1 decodes");
    let from_v2 = Envelope::from_slice(v2.to_string().as_bytes())
        .expect("v2 envelope")
        .event()
        .expect("v2 decodes");
    assert_eq!(from_v1, from_v2);
    assert_eq!(from_v1.version(), 3, "consumers only see the newest shape");
}

#[test]
fn a_v1_without_duplicates_is_read_in_place() {
    let data = v1_referral_received(&minimal_referral_received(), &[]);
    let (version, upcast_data) = upcast("referral.received", 1, &data);
    assert_eq!(version, 3);
    assert!(
        matches!(upcast_data, Cow::Borrowed(_)),
        "nothing to drop, nothing copied"
    );
    assert_valid(
        event_validator("referral.received", 3),
        &upcast_data,
        "upcast v1",
    );
}

#[test]
fn current_versions_pass_through_untouched() {
    for (t, v, example) in examples() {
        if is_superseded(t, v) {
            continue;
        }
        let (version, data) = upcast(t, v, &example["data"]);
        assert_eq!(version, v, "{t} v{v}");
        assert!(matches!(data, Cow::Borrowed(_)), "{t} v{v} was copied");
        assert_eq!(data.as_ref(), &example["data"]);
    }
    // v3 data carrying the v1 field is not upcast (only v1 is): the tolerant decoder
    // ignores the unknown field, and the closed v3 schema refuses it.
    let mut data = example_data("referral.received");
    data["possible_duplicate_of"] = json!([uuid(REFERRAL_ID)]);
    assert!(matches!(
        upcast("referral.received", 3, &data),
        (3, Cow::Borrowed(_))
    ));
    assert_refused("referral.received", &data, "the v1-only field in v3");
    assert!(Event::decode("referral.received", 3, data).is_ok());
}

#[test]
fn versions_with_no_upcaster_are_still_refused() {
    let data = read_json(&example_path("referral.received", 1))["data"].clone();
    for version in [0, 4, 7] {
        assert_eq!(upcast("referral.received", version, &data).0, version);
        match Event::decode("referral.received", version, data.clone()) {
            Err(DecodeError::UnsupportedVersion {
                event_type,
                version: refused,
            }) => assert_eq!(
                (event_type.as_str(), refused),
                ("referral.received", version)
            ),
            other => panic!("v{version}: expected UnsupportedVersion, got {other:?}"),
        }
    }
    // A v1 that is bad apart from the dropped field is refused as bad data.
    let mut bad = data.clone();
    bad.as_object_mut().expect("object").remove("referral_id");
    assert!(matches!(
        Event::decode("referral.received", 1, bad),
        Err(DecodeError::InvalidData { .. })
    ));
}

#[test]
fn the_v1_schema_keeps_its_own_contract() {
    let v1 = event_validator("referral.received", 1);
    let mut data = read_json(&example_path("referral.received", 1))["data"].clone();
    data["possible_duplicate_of"] = json!(["x"]);
    assert!(!v1.is_valid(&data), "a duplicate that is no UUID");
    let id = uuid(REFERRAL_ID);
    data["possible_duplicate_of"] = json!([id, id]);
    assert!(!v1.is_valid(&data), "the same duplicate twice");
    data["possible_duplicate_of"] = json!([id]);
    assert_valid(v1, &data, "v1 with one duplicate");
    // Every v2 payload was also a valid v1 (v2 only removed an optional field).
    for event in sample_events() {
        if let Event::Referral(crate::ReferralEvent::Received(r)) = event {
            let v2 = super::upcasting_reply_to::v2_referral_received(&r);
            assert_valid(v1, &v2, "v2 data as v1");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Any valid v1 upcasts to a valid v3 that decodes to the referral it was written from
    /// (bar the `reply_to` v1 had no place for), directly and through an envelope as a
    /// consumer reads it from the log.
    #[test]
    fn any_valid_v1_upcasts_to_a_valid_v3(
        received in arb_referral_received(),
        duplicates in proptest::collection::btree_set(arb_uuid(), 0..4),
    ) {
        let duplicates: Vec<Uuid> = duplicates.into_iter().collect();
        let v1 = v1_referral_received(&received, &duplicates);
        assert_valid(event_validator("referral.received", 1), &v1, "generated v1");

        let (version, v3) = upcast("referral.received", 1, &v1);
        prop_assert_eq!(version, 3);
        assert_valid(event_validator("referral.received", 3), &v3, "upcast v1");
        prop_assert!(v3.get("possible_duplicate_of").is_none());
        let expected = Event::from(ReferralReceived { reply_to: None, ..received });
        prop_assert_eq!(v3.as_ref(), &expected.to_data());
        prop_assert_eq!(&Event::decode("referral.received", 1, v1.clone()).expect("decodes"), &expected);

        let read = stored_as_written("referral.received", 1, &v1);
        prop_assert_eq!(read.version, 1, "the log keeps what was written");
        prop_assert_eq!(read.event().expect("decodes"), expected);
    }
}
