//! The envelope every event travels in.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{DecodeError, Event};

/// Who acts in Linkway. A token carries exactly one role for one organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sends referrals and follows them (GP practice, council, VCSE ...).
    Referrer,
    /// Works a caseload in a link-worker service.
    LinkWorker,
    /// Runs a link-worker service: routes, assigns, sees the whole service's caseload.
    ServiceManager,
    /// Pays for social prescribing; sees aggregates only.
    Commissioner,
    /// Operates Linkway: organisations, routing rules, tokens.
    Admin,
    /// An organisation's information governance lead: reads its audit trail, answers
    /// subject access requests and erases people for the referrals it sent or received.
    IgLead,
    /// Answers the onward referrals sent to its organisation's services (a community
    /// service's own staff, in its inbox).
    CommunityService,
    /// Linkway itself (routing, timers, imports).
    System,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Referrer,
        Role::LinkWorker,
        Role::ServiceManager,
        Role::Commissioner,
        Role::Admin,
        Role::IgLead,
        Role::CommunityService,
        Role::System,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Referrer => "referrer",
            Role::LinkWorker => "link_worker",
            Role::ServiceManager => "service_manager",
            Role::Commissioner => "commissioner",
            Role::Admin => "admin",
            Role::IgLead => "ig_lead",
            Role::CommunityService => "community_service",
            Role::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Who caused an event: an organisation, optionally a named user, in a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The organisation the actor's token belongs to.
    pub organisation_id: String,
    /// A user within the organisation, when the token names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub role: Role,
}

impl Actor {
    /// Linkway acting on its own behalf.
    pub fn system() -> Actor {
        Actor {
            organisation_id: "linkway".into(),
            user_id: None,
            role: Role::System,
        }
    }
}

/// An event as it is stored: metadata plus the payload in `data`.
///
/// The stream sequence is not in the envelope: it is the event's position in the log,
/// known only once the log has accepted it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    /// UUID v7: unique, and sortable by creation time.
    pub event_id: Uuid,
    #[serde(rename = "type")]
    pub event_type: String,
    pub version: u32,
    /// The id of the aggregate (referral, case, organisation ...) the event belongs to.
    pub aggregate_id: String,
    /// When it happened in the world (may be earlier than recorded, e.g. a contact logged later).
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    /// When Linkway recorded it.
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
    pub actor: Actor,
    /// Ties together everything that followed from one outside request.
    pub correlation_id: Uuid,
    /// The event or request that directly caused this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<Uuid>,
    /// The payload's JSON text, as written: decoded into its type only when read
    /// ([`Envelope::event`]), never through a `serde_json::Value`.
    pub data: Box<serde_json::value::RawValue>,
}

impl PartialEq for Envelope {
    fn eq(&self, other: &Envelope) -> bool {
        self.event_id == other.event_id
            && self.event_type == other.event_type
            && self.version == other.version
            && self.aggregate_id == other.aggregate_id
            && self.occurred_at == other.occurred_at
            && self.recorded_at == other.recorded_at
            && self.actor == other.actor
            && self.correlation_id == other.correlation_id
            && self.causation_id == other.causation_id
            && self.data.get() == other.data.get()
    }
}

impl Envelope {
    /// Wraps a typed event, stamping a fresh id and `recorded_at`. The payload is written
    /// at the version this process writes for its type: the newest, unless pinned older
    /// for a rolling upgrade ([`crate::write_versions`]).
    pub fn new(
        aggregate_id: impl Into<String>,
        event: &Event,
        actor: Actor,
        correlation_id: Uuid,
        occurred_at: OffsetDateTime,
    ) -> Envelope {
        let (version, data) = crate::write_versions::installed().encode(event);
        Envelope {
            event_id: Uuid::now_v7(),
            event_type: event.type_name().to_owned(),
            version,
            aggregate_id: aggregate_id.into(),
            occurred_at,
            recorded_at: OffsetDateTime::now_utc(),
            actor,
            correlation_id,
            causation_id: None,
            data,
        }
    }

    /// The payload parsed as JSON (for tests and tools; consumers use [`Envelope::event`]).
    pub fn data_value(&self) -> serde_json::Value {
        serde_json::from_str(self.data.get()).expect("an envelope's data is JSON")
    }

    /// Replaces the payload with `data` (for tests writing old versions).
    pub fn set_data(&mut self, data: &serde_json::Value) {
        self.data = serde_json::value::to_raw_value(data).expect("JSON always serialises");
    }

    pub fn with_causation(mut self, causation_id: Uuid) -> Envelope {
        self.causation_id = Some(causation_id);
        self
    }

    /// Parses the envelope from the bytes stored in the log.
    pub fn from_slice(bytes: &[u8]) -> Result<Envelope, DecodeError> {
        serde_json::from_slice(bytes).map_err(DecodeError::Envelope)
    }

    pub fn to_vec(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("envelopes always serialise")
    }

    /// The typed payload; refuses unknown types and versions.
    pub fn event(&self) -> Result<Event, DecodeError> {
        Event::decode_raw(&self.event_type, self.version, &self.data)
    }
}
