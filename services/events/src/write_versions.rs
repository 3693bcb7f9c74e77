//! Which version of each event type this process writes: the newest, unless the operator
//! pins an older one for a rolling upgrade (`LINKWAY_WRITE_EVENT_VERSIONS`).
//!
//! A release that adds a version of an event is rolled out in two steps (expand, then
//! contract): first every process runs the release that *reads* the new version while it
//! still *writes* the old one, pinned; then the pin is removed, process by process. Until
//! the last process reads the new version, none writes it, so no process ever meets an
//! event it cannot read (it would park it as a dead letter).
//!
//! A pinned event is written through [`DOWNCASTERS`]: pure functions from version `n` to
//! `n - 1`, the inverse of the upcasters as far as the older version can say it (a field
//! the older version has no place for is dropped, and its upcaster gives it the value that
//! means "not said"). Reading an event back therefore always gives the newest shape.
//!
//! The binary installs the policy once at start ([`install`]); [`crate::Envelope::new`]
//! consults it. A policy naming a type this code does not know, a version it does not
//! know, or a version it cannot write (no downcaster down to it) is refused when parsed.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde_json::Value;
use serde_json::value::RawValue;

use crate::Event;

/// One step: `(event type, from version, downcaster to from - 1)`.
type Step = (&'static str, u32, fn(Value) -> Value);

/// Every downcasting step, newest first within a type.
const DOWNCASTERS: &[Step] = &[
    ("referral.received", 3, referral_received_v3_to_v2),
    ("case.contact_attempted", 2, contact_attempted_v2_to_v1),
    ("case.connection_made", 2, connection_made_v2_to_v1),
    ("case.connection_declined", 2, connection_declined_v2_to_v1),
    ("case.outcome_recorded", 2, outcome_recorded_v2_to_v1),
    ("token.issued", 2, token_issued_v2_to_v1),
    (
        "organisation.registered",
        2,
        organisation_registered_v2_to_v1,
    ),
];

/// `organisation.registered` v2 -> v1: drop an empty `directory_services` (v1 reads back
/// as answering for none). `linkway admin` and the admin pages refuse to register a
/// `community_service` or any directory service while this is pinned, so nothing a v1
/// reader could not say is ever written down.
fn organisation_registered_v2_to_v1(mut data: Value) -> Value {
    if let Value::Object(map) = &mut data
        && map
            .get("directory_services")
            .is_none_or(|v| v.as_array().is_some_and(|a| a.is_empty()))
    {
        map.remove("directory_services");
    }
    data
}

/// `token.issued` v2 -> v1: drop `expires_at` and `replaces`, which v1 has no place for
/// (it reads back as a token that never expires). `linkway admin` refuses to issue or
/// rotate a token while this is pinned, so no expiry is ever dropped unseen.
fn token_issued_v2_to_v1(mut data: Value) -> Value {
    if let Value::Object(map) = &mut data {
        map.remove("expires_at");
        map.remove("replaces");
    }
    data
}

/// `referral.received` v3 -> v2: drop `reply_to`, which v2 has no place for (a v2 referral
/// reads back without a reply endpoint). v2 -> v1 has no downcaster: v1 needs the
/// `possible_duplicate_of` that v2 dropped.
fn referral_received_v3_to_v2(mut data: Value) -> Value {
    if let Value::Object(map) = &mut data {
        map.remove("reply_to");
    }
    data
}

/// `case.contact_attempted` v2 -> v1: drop `outcome`, which v1 has no place for (its
/// upcaster reads the attempt back as `not_recorded`).
fn contact_attempted_v2_to_v1(mut data: Value) -> Value {
    if let Value::Object(map) = &mut data {
        map.remove("outcome");
    }
    data
}

/// `case.connection_made` v2 -> v1: drop `service_kind`, which v1 has no place for (a v1
/// connection reads back with no kind: reporting counts it under `not_recorded`).
fn connection_made_v2_to_v1(mut data: Value) -> Value {
    if let Value::Object(map) = &mut data {
        map.remove("service_kind");
    }
    data
}

/// `case.connection_declined` v2 -> v1: drop `reason`, which v1 has no place for (its
/// upcaster reads the decline back as `not_recorded`).
fn connection_declined_v2_to_v1(mut data: Value) -> Value {
    if let Value::Object(map) = &mut data {
        map.remove("reason");
    }
    data
}

/// `case.outcome_recorded` v2 -> v1: drop `personal` (MYCaW's concerns), which v1 has no
/// place for. link-worker refuses to record a MYCaW while this is pinned, so no person's
/// words are ever dropped unseen; every other measure has no `personal` to drop.
fn outcome_recorded_v2_to_v1(mut data: Value) -> Value {
    if let Value::Object(map) = &mut data {
        map.remove("personal");
    }
    data
}

/// Why a write-version policy was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    #[error("`{0}` is not `<event type>=<version>` (e.g. `case.contact_attempted=1`)")]
    Malformed(String),
    #[error("unknown event type `{0}`")]
    UnknownType(String),
    #[error("`{event_type}` has no version {version} (this release knows {known})")]
    UnknownVersion {
        event_type: String,
        version: u32,
        known: String,
    },
    #[error(
        "`{event_type}` v{version} cannot be written by this release (it writes v{current} and \
         can write down to v{oldest})"
    )]
    NotWritable {
        event_type: String,
        version: u32,
        current: u32,
        oldest: u32,
    },
    #[error("`{0}` is pinned twice")]
    Twice(String),
    #[error("the write versions are set already, to `{0}`")]
    AlreadyInstalled(String),
}

/// The versions this process writes where they are not the newest: `type -> version`.
/// Empty (the default) writes every type at its newest version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteVersions {
    pinned: BTreeMap<&'static str, u32>,
}

impl WriteVersions {
    /// Every type at its newest version.
    pub fn newest() -> WriteVersions {
        WriteVersions::default()
    }

    /// Parses `type=version,type=version` (spaces and empty parts ignored); refuses what
    /// this code cannot write.
    pub fn parse(text: &str) -> Result<WriteVersions, PinError> {
        let mut pinned = BTreeMap::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, version) = part
                .split_once('=')
                .map(|(n, v)| (n.trim(), v.trim()))
                .filter(|(n, _)| !n.is_empty())
                .ok_or_else(|| PinError::Malformed(part.to_owned()))?;
            let version: u32 = version
                .parse()
                .map_err(|_| PinError::Malformed(part.to_owned()))?;
            let (event_type, current) = Event::catalogue()
                .into_iter()
                .find(|(t, _)| *t == name)
                .ok_or_else(|| PinError::UnknownType(name.to_owned()))?;
            let oldest = oldest_writable(event_type, current);
            if version > current || (version < oldest && !is_superseded(event_type, version)) {
                return Err(PinError::UnknownVersion {
                    event_type: event_type.to_owned(),
                    version,
                    known: known_versions(event_type, current),
                });
            }
            if version < oldest {
                return Err(PinError::NotWritable {
                    event_type: event_type.to_owned(),
                    version,
                    current,
                    oldest,
                });
            }
            // Pinning the newest version is allowed (and changes nothing).
            if pinned.insert(event_type, version).is_some() {
                return Err(PinError::Twice(event_type.to_owned()));
            }
        }
        pinned.retain(|t, v| *v < current_version(t));
        Ok(WriteVersions { pinned })
    }

    /// The version written for `event_type`.
    pub fn version_of(&self, event_type: &str, newest: u32) -> u32 {
        self.pinned.get(event_type).copied().unwrap_or(newest)
    }

    /// Whether every type is written at its newest version.
    pub fn is_newest(&self) -> bool {
        self.pinned.is_empty()
    }

    /// The version and payload written for `event`: its own, or downcast to the pin.
    pub fn encode(&self, event: &Event) -> (u32, Box<RawValue>) {
        let newest = event.version();
        let target = self.version_of(event.type_name(), newest);
        if target >= newest {
            return (newest, event.to_raw());
        }
        let data = downcast(event.type_name(), newest, target, event.to_data());
        let raw = serde_json::value::to_raw_value(&data).expect("JSON always serialises");
        (target, raw)
    }
}

impl fmt::Display for WriteVersions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .pinned
            .iter()
            .map(|(t, v)| format!("{t}={v}"))
            .collect();
        f.write_str(&parts.join(","))
    }
}

impl FromStr for WriteVersions {
    type Err = PinError;

    fn from_str(s: &str) -> Result<WriteVersions, PinError> {
        WriteVersions::parse(s)
    }
}

/// Runs the downcasters of `event_type` from version `from` down to `to`. Panics on a
/// step that does not exist: [`WriteVersions::parse`] admits only reachable versions.
pub fn downcast(event_type: &str, from: u32, to: u32, mut data: Value) -> Value {
    let mut version = from;
    while version > to {
        let (_, _, step) = DOWNCASTERS
            .iter()
            .find(|(t, v, _)| *t == event_type && *v == version)
            .unwrap_or_else(|| panic!("no downcaster for {event_type} v{version}"));
        data = step(data);
        version -= 1;
    }
    data
}

/// Every `(type, from version)` this code can write one version lower.
pub fn downcasters() -> Vec<(&'static str, u32)> {
    DOWNCASTERS.iter().map(|(t, v, _)| (*t, *v)).collect()
}

/// Whether this code can write `(event_type, version)`: its newest version, or an older
/// one a chain of downcasters reaches.
pub fn writable(event_type: &str, version: u32) -> bool {
    let current = current_version(event_type);
    current != 0 && (oldest_writable(event_type, current)..=current).contains(&version)
}

/// The oldest version of `event_type` reachable from `current` by downcasters.
fn oldest_writable(event_type: &str, current: u32) -> u32 {
    let mut version = current;
    while DOWNCASTERS
        .iter()
        .any(|(t, v, _)| *t == event_type && *v == version)
    {
        version -= 1;
    }
    version
}

fn current_version(event_type: &str) -> u32 {
    Event::catalogue()
        .into_iter()
        .find(|(t, _)| *t == event_type)
        .map_or(0, |(_, v)| v)
}

fn is_superseded(event_type: &str, version: u32) -> bool {
    crate::upcast::superseded().contains(&(event_type, version))
}

fn known_versions(event_type: &str, current: u32) -> String {
    let mut known: Vec<u32> = crate::upcast::superseded()
        .into_iter()
        .filter(|(t, _)| *t == event_type)
        .map(|(_, v)| v)
        .collect();
    known.push(current);
    known.sort_unstable();
    let known: Vec<String> = known.iter().map(|v| format!("v{v}")).collect();
    known.join(", ")
}

static INSTALLED: OnceLock<WriteVersions> = OnceLock::new();

/// Sets this process's write versions, once, at start. Setting the same policy again is
/// accepted (a test may start services twice in one process); another one is refused.
pub fn install(versions: WriteVersions) -> Result<(), PinError> {
    let installed = INSTALLED.get_or_init(|| versions.clone());
    if *installed == versions {
        Ok(())
    } else {
        Err(PinError::AlreadyInstalled(installed.to_string()))
    }
}

/// This process's write versions: as installed, or the newest of every type.
pub fn installed() -> &'static WriteVersions {
    static NEWEST: WriteVersions = WriteVersions {
        pinned: BTreeMap::new(),
    };
    INSTALLED.get().unwrap_or(&NEWEST)
}
