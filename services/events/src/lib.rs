//! Linkway's event catalogue.
//!
//! Every fact Linkway records is an [`Envelope`] on the event log whose `data` is one of
//! the payloads defined here. The types are pure data: this crate knows nothing of NATS,
//! SQL or HTTP. `schemas/` at the top of the repository holds the JSON Schemas that are
//! the contract between organisations; tests keep these types and those schemas in step.
//!
//! - [`envelope`]: the envelope every event travels in, and who did it ([`Actor`]).
//! - [`referral`]: intake's events (`referral.*`).
//! - [`case`]: the link-worker service's events (`case.*`).
//! - [`registry`]: organisations, routing rules and access tokens.
//! - [`person`]: the person of a referral as a data subject (`person.erased`).
//! - [`audit`]: who was shown which person's record (`audit.recorded`).
//! - [`Event`]: the typed union, with [`Event::decode`] refusing unknown types and versions.
//! - [`upcast`]: older versions still in logs, turned into the current ones before decoding
//!   (today `referral.received` v1 -> v2 and `case.contact_attempted` v1 -> v2).
//! - [`write_versions`]: the version this process writes of each type: the newest, or an
//!   older one pinned for a rolling upgrade (written through a pure downcaster).
//!
//! Personal data about the person referred lives only under a field named `personal` in a
//! payload, so it can be encrypted per person (and erased by destroying the key) without
//! reshaping events. In the log it is sealed (the event store's vault replaces it with
//! `personal_sealed`); every `personal` is an `Option`, `None` where it is withheld: the
//! person was erased, or the reading process holds no key (reporting never does).

pub mod audit;
pub mod case;
pub mod common;
pub mod envelope;
mod family;
pub mod person;
pub mod referral;
pub mod registry;
pub mod upcast;
pub mod write_versions;

pub use audit::AuditEvent;
pub use case::CaseEvent;
pub use envelope::{Actor, Envelope, Role};
pub use person::PersonEvent;
pub use referral::ReferralEvent;
pub use registry::RegistryEvent;
pub use write_versions::WriteVersions;

/// Any Linkway event payload, typed.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "events are short-lived values; boxing the referral family would burden every match"
)]
pub enum Event {
    Referral(ReferralEvent),
    Case(CaseEvent),
    Registry(RegistryEvent),
    Person(PersonEvent),
    Audit(AuditEvent),
}

/// Why an event could not be turned into a typed [`Event`].
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("the envelope is not valid JSON of the expected shape: {0}")]
    Envelope(#[source] serde_json::Error),
    #[error("unknown event type `{0}`")]
    UnknownType(String),
    #[error("event type `{event_type}` has no version {version} this code can read")]
    UnsupportedVersion { event_type: String, version: u32 },
    #[error("`{event_type}` v{version} payload does not match its schema: {source}")]
    InvalidData {
        event_type: String,
        version: u32,
        #[source]
        source: serde_json::Error,
    },
}

impl Event {
    /// The event's type name, e.g. `referral.received`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Event::Referral(e) => e.type_name(),
            Event::Case(e) => e.type_name(),
            Event::Registry(e) => e.type_name(),
            Event::Person(e) => e.type_name(),
            Event::Audit(e) => e.type_name(),
        }
    }

    /// The newest schema version of the event's type: what this code writes, unless an
    /// older one is pinned for a rolling upgrade ([`write_versions`]).
    pub fn version(&self) -> u32 {
        match self {
            Event::Referral(e) => e.version(),
            Event::Case(e) => e.version(),
            Event::Registry(e) => e.version(),
            Event::Person(e) => e.version(),
            Event::Audit(e) => e.version(),
        }
    }

    /// The aggregate kind this event belongs to: the part of its type before the dot.
    pub fn aggregate_kind(&self) -> &'static str {
        aggregate_kind_of(self.type_name())
    }

    /// The payload as JSON, as it goes into the envelope's `data`.
    pub fn to_data(&self) -> serde_json::Value {
        match self {
            Event::Referral(e) => e.to_data(),
            Event::Case(e) => e.to_data(),
            Event::Registry(e) => e.to_data(),
            Event::Person(e) => e.to_data(),
            Event::Audit(e) => e.to_data(),
        }
    }

    /// The payload as JSON text, as it goes into the envelope's `data`.
    pub fn to_raw(&self) -> Box<serde_json::value::RawValue> {
        match self {
            Event::Referral(e) => e.to_raw(),
            Event::Case(e) => e.to_raw(),
            Event::Registry(e) => e.to_raw(),
            Event::Person(e) => e.to_raw(),
            Event::Audit(e) => e.to_raw(),
        }
    }

    /// Turns `(type, version, data)` into a typed event, upcasting older versions first.
    pub fn decode(
        event_type: &str,
        version: u32,
        data: serde_json::Value,
    ) -> Result<Event, DecodeError> {
        Event::decode_ref(event_type, version, &data)
    }

    /// Like [`Event::decode`], reading the payload in place (no copy unless an upcaster
    /// has to rewrite it).
    pub fn decode_ref(
        event_type: &str,
        version: u32,
        data: &serde_json::Value,
    ) -> Result<Event, DecodeError> {
        let (version, data) = upcast::upcast(event_type, version, data);
        Event::decode_current(event_type, version, Payload::Value(data.as_ref()))
    }

    /// Like [`Event::decode_ref`], from the payload's JSON text as stored: a payload of a
    /// version no upcaster rewrites (nearly all of them, and older ones read as they are)
    /// is read straight into its type, with no `serde_json::Value` on the way; the others
    /// go through the upcasters.
    pub fn decode_raw(
        event_type: &str,
        version: u32,
        data: &serde_json::value::RawValue,
    ) -> Result<Event, DecodeError> {
        if upcast::rewrites(event_type, version) {
            let value: serde_json::Value =
                serde_json::from_str(data.get()).map_err(|source| DecodeError::InvalidData {
                    event_type: event_type.to_owned(),
                    version,
                    source,
                })?;
            return Event::decode_ref(event_type, version, &value);
        }
        let version = upcast::reads_as(event_type, version);
        Event::decode_current(event_type, version, Payload::Text(data.get()))
    }

    /// Decodes a payload already at the version its family reads (or refuses it).
    fn decode_current(
        event_type: &str,
        version: u32,
        data: Payload<'_>,
    ) -> Result<Event, DecodeError> {
        if let Some(r) = ReferralEvent::decode(event_type, version, data) {
            return r.map(Event::Referral);
        }
        if let Some(r) = CaseEvent::decode(event_type, version, data) {
            return r.map(Event::Case);
        }
        if let Some(r) = RegistryEvent::decode(event_type, version, data) {
            return r.map(Event::Registry);
        }
        if let Some(r) = PersonEvent::decode(event_type, version, data) {
            return r.map(Event::Person);
        }
        if let Some(r) = AuditEvent::decode(event_type, version, data) {
            return r.map(Event::Audit);
        }
        Err(DecodeError::UnknownType(event_type.to_owned()))
    }

    /// Every `(type, version)` this code writes, for schema and AsyncAPI checks.
    /// Older versions it still reads are in [`Event::superseded`].
    pub fn catalogue() -> Vec<(&'static str, u32)> {
        let mut all = Vec::new();
        all.extend_from_slice(ReferralEvent::CATALOGUE);
        all.extend_from_slice(CaseEvent::CATALOGUE);
        all.extend_from_slice(RegistryEvent::CATALOGUE);
        all.extend_from_slice(PersonEvent::CATALOGUE);
        all.extend_from_slice(AuditEvent::CATALOGUE);
        all
    }

    /// Every older `(type, version)` this code reads by upcasting it to the current version.
    /// Each keeps its schema and example in `schemas/`: logs hold such events for ever.
    pub fn superseded() -> Vec<(&'static str, u32)> {
        upcast::superseded()
    }
}

/// A payload to decode: parsed already, or the JSON text as stored.
#[derive(Debug, Clone, Copy)]
pub enum Payload<'a> {
    Value(&'a serde_json::Value),
    Text(&'a str),
}

/// The aggregate kind of an event type: `referral.received` -> `referral`.
pub fn aggregate_kind_of(event_type: &str) -> &str {
    event_type.split('.').next().unwrap_or(event_type)
}

#[cfg(test)]
mod tests;
