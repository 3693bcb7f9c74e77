//! `organisation.registered` v1 (no `directory_services`, no kind `community_service`)
//! reads as v2 as it is, and a v2 written down to v1:
//!
//! - the v1 example reads as v2 as it is (no copy): an organisation answering for no
//!   directory service;
//! - a v2 answering for none downcasts to a valid v1 that reads back as itself; one that
//!   answers for some keeps them (the downcaster drops only an empty list: the admin
//!   commands refuse such a registration while pinned, see the platform's
//!   `decide::community_service_writable`), so v1's closed schema refuses it;
//! - v1's closed schema refuses `directory_services` and the kind `community_service`
//!   (why it is a version, not an optional field).

use std::borrow::Cow;

use super::*;
use crate::registry::RegistryEvent;
use crate::upcast::{reads_as, rewrites, upcast};
use crate::write_versions::downcast;

const TYPE: &str = "organisation.registered";

/// What v2 added.
const V2_FIELDS: &[&str] = &["directory_services"];

/// v1 samples, with every field set in at least one: the v2 samples v1 can say.
pub(super) fn v1_samples() -> Vec<(&'static str, u32, Value)> {
    super::upcasting::older_samples(TYPE, 1, V2_FIELDS)
        .into_iter()
        .filter(|(_, _, data)| data["kind"] != "community_service")
        .collect()
}

fn registered_of(event: Event) -> OrganisationRegistered {
    match event {
        Event::Registry(RegistryEvent::OrganisationRegistered(o)) => o,
        other => panic!("not an organisation registered: {other:?}"),
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
    assert!(v1_samples().len() >= 2);
}

#[test]
fn the_v1_example_reads_as_v2_answering_for_no_directory_service() {
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
    assert!(registered_of(read).directory_services.is_empty());
}

#[test]
fn v1_has_no_place_for_a_community_service_or_its_directory_services() {
    let v2 = read_json(&example_path(TYPE, 2));
    assert_eq!(v2["data"]["kind"], "community_service");
    assert!(v2["data"]["directory_services"].is_array());
    assert!(!event_validator(TYPE, 1).is_valid(&v2["data"]));
    let only_services = json!({
        "organisation_id": "vcse-1", "name": "A charity", "kind": "vcse",
        "directory_services": ["svc-1"]
    });
    assert!(!event_validator(TYPE, 1).is_valid(&only_services));
    let only_kind = without_member(&v2["data"], "/directory_services");
    assert!(!event_validator(TYPE, 1).is_valid(&only_kind));
    let mut bad = v2["data"].clone();
    bad["directory_services"] = json!([""]);
    assert_refused(TYPE, &bad, "an empty directory service id");
    // What the downcaster does with a list it cannot drop: keeps it (the admin refuses).
    let kept = downcast(TYPE, 2, 1, v2["data"].clone());
    assert_eq!(kept, v2["data"]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Any v2 that answers for no directory service and is not a community service is
    /// written down to a valid v1 that reads back as itself.
    #[test]
    fn any_v2_v1_can_say_round_trips_through_v1(
        registered in arb_registry_event().prop_filter_map("an organisation v1 can say", |e| match e {
            Event::Registry(RegistryEvent::OrganisationRegistered(o))
                if o.kind != crate::registry::OrganisationKind::CommunityService =>
            {
                Some(OrganisationRegistered { directory_services: Vec::new(), ..o })
            }
            _ => None,
        }),
    ) {
        let v2 = Event::from(registered.clone()).to_data();
        assert_valid(event_validator(TYPE, 2), &v2, "v2");
        let v1 = downcast(TYPE, 2, 1, v2.clone());
        prop_assert_eq!(&v1, &v2);
        assert_valid(event_validator(TYPE, 1), &v1, "downcast v2");
        let read = registered_of(Event::decode(TYPE, 1, v1.clone()).expect("decodes"));
        prop_assert_eq!(&read, &registered);
        let stored = super::upcasting::stored_as_written(TYPE, 1, &v1);
        prop_assert_eq!(stored.version, 1, "the log keeps what was written");
        prop_assert_eq!(registered_of(stored.event().expect("decodes")), registered);
    }
}
