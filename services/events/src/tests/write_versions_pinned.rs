//! Writing an older version for a rolling upgrade (`LINKWAY_WRITE_EVENT_VERSIONS`):
//!
//! - a policy parses, and refuses unknown types, unknown versions, versions with no
//!   downcaster and a type named twice, each with a message naming it;
//! - every downcaster steps to a superseded version this code reads, and writes what that
//!   version's schema accepts for every sample (what the older release would have written);
//! - a pinned policy writes the pinned version of the pinned type only; the newest policy
//!   writes what `to_raw` writes;
//! - `Envelope::new` uses the installed policy (the newest unless installed: no test here
//!   installs one, since the policy is per process).

use super::*;
use crate::write_versions::{PinError, WriteVersions, downcast, downcasters};

#[test]
fn a_policy_parses_and_prints_back() {
    let pinned = WriteVersions::parse(" case.contact_attempted = 1 ,, ").expect("parses");
    assert_eq!(pinned.to_string(), "case.contact_attempted=1");
    assert_eq!(pinned.version_of("case.contact_attempted", 2), 1);
    assert_eq!(pinned.version_of("case.accepted", 1), 1);
    assert!(!pinned.is_newest());
    assert_eq!(
        "case.contact_attempted=1".parse::<WriteVersions>(),
        Ok(pinned)
    );
    for newest in ["", " , ", "case.contact_attempted=2", "case.accepted=1"] {
        let policy = WriteVersions::parse(newest).expect(newest);
        assert!(policy.is_newest(), "{newest:?} pins nothing");
        assert_eq!(policy, WriteVersions::newest());
    }
}

#[test]
fn a_policy_this_code_cannot_write_is_refused_with_a_message_naming_it() {
    let refused = |text: &str| WriteVersions::parse(text).expect_err(text);
    for text in ["case.contact_attempted", "case.contact_attempted=one", "=1"] {
        assert_eq!(
            refused(text),
            PinError::Malformed(text.to_owned()),
            "{text}"
        );
    }
    let e = refused("case.contact_attemptd=1");
    assert_eq!(e, PinError::UnknownType("case.contact_attemptd".into()));
    assert_eq!(e.to_string(), "unknown event type `case.contact_attemptd`");
    for version in [0, 3] {
        let e = refused(&format!("case.contact_attempted={version}"));
        assert!(matches!(e, PinError::UnknownVersion { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            format!(
                "`case.contact_attempted` has no version {version} (this release knows v1, v2)"
            )
        );
    }
    // Read, but not written: no downcaster from v2 to v1 (v2 dropped a field v1 needs),
    // though v3 writes down to v2.
    let e = refused("referral.received=1");
    assert_eq!(
        e,
        PinError::NotWritable {
            event_type: "referral.received".into(),
            version: 1,
            current: 3,
            oldest: 2
        }
    );
    assert!(e.to_string().contains("cannot be written"), "{e}");
    let e = refused("case.contact_attempted=1,case.contact_attempted=2");
    assert_eq!(e, PinError::Twice("case.contact_attempted".into()));
}

/// An event its writer refuses to write while pinned (the downcaster cannot refuse): a
/// community service, or directory services, in `organisation.registered` v1 (the
/// platform's `decide::community_service_writable`).
fn cannot_be_said_down(event: &Event) -> bool {
    matches!(
        event,
        Event::Registry(crate::registry::RegistryEvent::OrganisationRegistered(o))
            if o.kind == crate::registry::OrganisationKind::CommunityService
                || !o.directory_services.is_empty()
    )
}

#[test]
fn every_downcaster_writes_what_the_older_schema_accepts() {
    assert!(!downcasters().is_empty());
    for (t, from) in downcasters() {
        assert!(from <= current_version(t), "{t} v{from} is not a version");
        assert!(is_superseded(t, from - 1), "{t} v{} is not read", from - 1);
        let mut written = 0;
        for event in sample_events() {
            if event.type_name() != t || cannot_be_said_down(&event) {
                continue;
            }
            let older = downcast(t, event.version(), from - 1, event.to_data());
            assert_valid(
                event_validator(t, from - 1),
                &older,
                &format!("{t} v{from} down"),
            );
            written += 1;
        }
        assert!(written > 0, "no sample of {t}");
    }
}

#[test]
fn a_pinned_policy_writes_the_pinned_type_down_and_the_rest_as_they_are() {
    let pinned = WriteVersions::parse("case.contact_attempted=1").expect("parses");
    for event in sample_events() {
        let (t, newest) = (event.type_name(), event.version());
        let (version, raw) = pinned.encode(&event);
        let data: Value = serde_json::from_str(raw.get()).expect("JSON");
        if t == "case.contact_attempted" {
            assert_eq!(version, 1);
            assert!(data.get("outcome").is_none(), "{data}");
            assert_valid(event_validator(t, 1), &data, "pinned write");
            let read = Event::decode(t, version, data).expect("reads back");
            assert_eq!(read.version(), newest);
        } else {
            assert_eq!((version, raw.get()), (newest, event.to_raw().get()), "{t}");
        }
        let (version, raw) = WriteVersions::newest().encode(&event);
        assert_eq!((version, raw.get()), (newest, event.to_raw().get()), "{t}");
    }
}

#[test]
fn envelopes_are_written_at_the_newest_version_unless_a_policy_is_installed() {
    assert!(write_versions::installed().is_newest());
    for event in sample_events() {
        let envelope = Envelope::new(
            "0195606d-9db4-7445-b4c4-ba2ea74ad4bf",
            &event,
            Actor::system(),
            Uuid::now_v7(),
            OffsetDateTime::now_utc(),
        );
        assert_eq!(envelope.version, event.version());
        assert_eq!(envelope.data.get(), event.to_raw().get());
    }
}
