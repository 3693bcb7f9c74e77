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
//! to the same read models whatever versions it holds. A version that only adds optional
//! fields (absent meaning "not said") needs no function: its step reads the older payload
//! as it is ([`Upcaster::AsIs`], e.g. `referral.received` v2 -> v3).

use std::borrow::Cow;

use serde_json::Value;

/// How one version's payload becomes the next one's.
#[derive(Clone, Copy)]
enum Upcaster {
    /// A pure function rewrites it.
    Rewrite(fn(&Value) -> Cow<'_, Value>),
    /// The next version only adds optional fields, and absent says what the older version
    /// did not: the older payload already is one of the next version, read as it is (no
    /// copy, and no `serde_json::Value` on the way from the stored text).
    AsIs,
}

/// One step: `(event type, from version, how it becomes from + 1)`.
type Step = (&'static str, u32, Upcaster);

/// Every upcasting step, oldest first within a type.
const UPCASTERS: &[Step] = &[
    (
        "referral.received",
        1,
        Upcaster::Rewrite(referral_received_v1_to_v2),
    ),
    // v3 adds the optional `reply_to`; a v2 referral said nothing of it.
    ("referral.received", 2, Upcaster::AsIs),
    (
        "case.contact_attempted",
        1,
        Upcaster::Rewrite(contact_attempted_v1_to_v2),
    ),
    // v2 adds the optional `service_kind`; a v1 connection said nothing of it.
    ("case.connection_made", 1, Upcaster::AsIs),
    (
        "case.connection_declined",
        1,
        Upcaster::Rewrite(connection_declined_v1_to_v2),
    ),
    // v2 adds the optional `personal` (MYCaW's concerns); a v1 measure named none.
    ("case.outcome_recorded", 1, Upcaster::AsIs),
    // v2 adds the optional `expires_at` and `replaces`: a v1 token never expires and
    // replaces no other.
    ("token.issued", 1, Upcaster::AsIs),
    // v2 adds the optional `directory_services` and the kind `community_service`: a v1
    // organisation answers for no directory service.
    ("organisation.registered", 1, Upcaster::AsIs),
];

/// The step from `(type, version)` to the next version, if any.
fn step(event_type: &str, version: u32) -> Option<Upcaster> {
    UPCASTERS
        .iter()
        .find(|(t, from, _)| *t == event_type && *from == version)
        .map(|(_, _, step)| *step)
}

/// Turns `(type, version, data)` into the newest version this code knows for the type.
/// Versions with no upcaster (the current one, and versions this code cannot read) come
/// back unchanged; the decoder then accepts or refuses them.
///
/// Borrows `data` unless a step has to rewrite it.
pub fn upcast<'a>(event_type: &str, version: u32, data: &'a Value) -> (u32, Cow<'a, Value>) {
    let mut version = version;
    let mut data = Cow::Borrowed(data);
    while let Some(step) = step(event_type, version) {
        if let Upcaster::Rewrite(rewrite) = step {
            data = match data {
                Cow::Borrowed(d) => rewrite(d),
                Cow::Owned(d) => Cow::Owned(rewrite(&d).into_owned()),
            };
        }
        version += 1;
    }
    (version, data)
}

/// Whether an upcaster rewrites `(type, version)` on its way to the newest version: false
/// for every version this code writes and for those read as they are, so decoding can
/// skip parsing the payload into a `Value` first.
pub fn rewrites(event_type: &str, version: u32) -> bool {
    let mut version = version;
    while let Some(step) = step(event_type, version) {
        if matches!(step, Upcaster::Rewrite(_)) {
            return true;
        }
        version += 1;
    }
    false
}

/// The version `(type, version)` is read as: the newest one its upcasters reach (itself
/// when none applies).
pub fn reads_as(event_type: &str, version: u32) -> u32 {
    let mut version = version;
    while step(event_type, version).is_some() {
        version += 1;
    }
    version
}

/// Every `(type, version)` this code reads only through an upcaster (a rewriting one or
/// one reading it as it is): versions older than the one it writes, whose schemas and
/// examples stay in `schemas/`.
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

/// `case.connection_declined` v1 -> v2: add the required `reason`. A v1 decline said
/// nothing of why, so it reads as `not_recorded` (never a guess).
fn connection_declined_v1_to_v2(data: &Value) -> Cow<'_, Value> {
    match data {
        Value::Object(map) if !map.contains_key("reason") => {
            let mut map = map.clone();
            map.insert("reason".into(), Value::from("not_recorded"));
            Cow::Owned(Value::Object(map))
        }
        // Carrying one already (no v1 writer did), or not an object: as it is.
        _ => Cow::Borrowed(data),
    }
}
