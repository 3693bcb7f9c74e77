//! Upcasters: older versions of a payload, as they sit in the log, turned into the version
//! this code writes, so that every consumer only ever handles the newest shape.
//!
//! A breaking change to an event adds a version (its `event_family!` line), a schema
//! `schemas/events/<type>.v<n+1>.json`, and an entry in [`UPCASTERS`] from `n` to `n + 1`.
//! Upcasters chain: a v1 event of a type now at v3 runs v1 -> v2, then v2 -> v3. The old
//! schema and example stay in `schemas/`, listed by [`superseded`], because old logs keep
//! the old events for ever.
//!
//! An upcaster is a pure function of the payload (no clock, no lookup), so a log replays
//! to the same read models whatever versions it holds.

use std::borrow::Cow;

use serde_json::Value;

/// One step: `(event type, from version, upcaster to from + 1)`.
type Step = (&'static str, u32, fn(&Value) -> Cow<'_, Value>);

/// Every upcasting step, oldest first within a type.
const UPCASTERS: &[Step] = &[
    ("referral.received", 1, referral_received_v1_to_v2),
    ("case.contact_attempted", 1, contact_attempted_v1_to_v2),
];

/// Turns `(type, version, data)` into the newest version this code knows for the type.
/// Versions with no upcaster (the current one, and versions this code cannot read) come
/// back unchanged; the decoder then accepts or refuses them.
///
/// Borrows `data` unless a step has to rewrite it.
pub fn upcast<'a>(event_type: &str, version: u32, data: &'a Value) -> (u32, Cow<'a, Value>) {
    let mut version = version;
    let mut data = Cow::Borrowed(data);
    while let Some((_, _, step)) = UPCASTERS
        .iter()
        .find(|(t, from, _)| *t == event_type && *from == version)
    {
        data = match data {
            Cow::Borrowed(d) => step(d),
            Cow::Owned(d) => Cow::Owned(step(&d).into_owned()),
        };
        version += 1;
    }
    (version, data)
}

/// Whether an upcaster rewrites `(type, version)`: false for every version this code
/// writes, so decoding can skip parsing the payload into a `Value` first.
pub fn rewrites(event_type: &str, version: u32) -> bool {
    UPCASTERS
        .iter()
        .any(|(t, from, _)| *t == event_type && *from == version)
}

/// Every `(type, version)` this code reads only through an upcaster: versions older than
/// the one it writes, whose schemas and examples stay in `schemas/`.
pub fn superseded() -> Vec<(&'static str, u32)> {
    UPCASTERS.iter().map(|(t, from, _)| (*t, *from)).collect()
}

/// `referral.received` v1 -> v2: drop `possible_duplicate_of`. Intake's read model now finds
/// possible duplicates from the log itself, so what the command once computed is not needed.
fn referral_received_v1_to_v2(data: &Value) -> Cow<'_, Value> {
    match data {
        Value::Object(map) if map.contains_key("possible_duplicate_of") => {
            let mut map = map.clone();
            map.remove("possible_duplicate_of");
            Cow::Owned(Value::Object(map))
        }
        // Absent (v1 wrote no empty list) or not an object (the decoder refuses it).
        _ => Cow::Borrowed(data),
    }
}

/// `case.contact_attempted` v1 -> v2: add the required `outcome`. A v1 attempt said nothing
/// of how it ended, so it reads as `not_recorded` (never a guess).
fn contact_attempted_v1_to_v2(data: &Value) -> Cow<'_, Value> {
    match data {
        Value::Object(map) if !map.contains_key("outcome") => {
            let mut map = map.clone();
            map.insert("outcome".into(), Value::from("not_recorded"));
            Cow::Owned(Value::Object(map))
        }
        // Carrying one already (no v1 writer did), or not an object (the decoder refuses
        // it): as it is.
        _ => Cow::Borrowed(data),
    }
}
