//! The sealing itself, without NATS: what goes into the log and what comes back out.

use linkway_events::{Actor, Envelope};
use proptest::prelude::*;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{SEALED_FIELD, open_data, random, seal_with};

fn envelope(data: Value) -> Envelope {
    let mut e = Envelope::new(
        Uuid::now_v7().to_string(),
        &linkway_events::Event::from(linkway_events::person::PersonErased {
            referral_id: Uuid::nil(),
            reason: linkway_events::person::ErasureReason::PersonAsked,
        }),
        Actor::system(),
        Uuid::now_v7(),
        OffsetDateTime::now_utc(),
    );
    e.event_type = "referral.received".into();
    e.set_data(&data);
    e
}

#[test]
fn a_sealed_part_holds_nothing_of_the_clear_text_and_opens_again() {
    let key = random();
    let data =
        json!({"referral_id": "x", "personal": {"given_name": "Ada", "notes": "Call after 5pm"}});
    let mut e = envelope(data.clone());
    seal_with(&key, &mut e);
    let text = e.data.get();
    assert!(
        !text.contains("Ada") && !text.contains("Call after"),
        "{text}"
    );
    assert!(!text.contains("\"personal\""), "{text}");
    assert!(e.data_value()[SEALED_FIELD].is_string());
    assert_eq!(e.data_value()["referral_id"], "x");
    assert_eq!(open_data(&e, &key), Some(data));
}

#[test]
fn another_key_opens_nothing() {
    let mut e = envelope(json!({"personal": {"given_name": "Ada"}}));
    seal_with(&random(), &mut e);
    assert_eq!(open_data(&e, &random()), None);
}

#[test]
fn a_sealed_part_moved_to_another_event_opens_nothing() {
    let key = random();
    let mut first = envelope(json!({"personal": {"given_name": "Ada"}}));
    seal_with(&key, &mut first);
    let mut moved = envelope(json!({}));
    moved.data = first.data.clone();
    assert_ne!(moved.event_id, first.event_id);
    assert_eq!(open_data(&moved, &key), None);
    let mut retyped = first.clone();
    retyped.event_type = "case.plan_agreed".into();
    assert_eq!(open_data(&retyped, &key), None);
}

#[test]
fn an_event_without_personal_is_left_as_it_is() {
    let key = random();
    let mut e = envelope(json!({"reason": "personal"}));
    let before = e.data.get().to_owned();
    seal_with(&key, &mut e);
    assert_eq!(e.data.get(), before);
    assert_eq!(open_data(&e, &key), None);
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn any_personal_part_round_trips(personal in arb_json(), other in ".{0,20}") {
        let key = random();
        let data = json!({"other": other, "personal": personal});
        let mut e = envelope(data.clone());
        seal_with(&key, &mut e);
        prop_assert!(e.data_value().get("personal").is_none());
        prop_assert_eq!(open_data(&e, &key), Some(data));
    }
}
