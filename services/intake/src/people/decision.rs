//! What erasure decides on: the parties to a referral and whether its person is erased.

use linkway_events::case::CaseEvent;
use linkway_events::person::{ErasureReason, PersonErased};
use linkway_events::referral::ReferralEvent;
use linkway_events::{Event, PersonEvent};
use linkway_platform::ApiError;
use linkway_platform::auth::Principal;
use linkway_platform::command::{Decision, Recorded};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// The organisations a referral concerns, and whether its person is erased.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parties {
    pub referral_id: Option<Uuid>,
    /// The organisation that sent it.
    pub referrer: Option<String>,
    /// Every link-worker service it was routed to (or that took its case on).
    pub services: Vec<String>,
    pub erased: bool,
    /// Sequence of the aggregate's last event.
    pub version: u64,
}

impl Parties {
    pub fn fold(history: &[Recorded]) -> Parties {
        let mut p = Parties::default();
        for r in history {
            p.version = r.sequence;
            match &r.event {
                Event::Referral(ReferralEvent::Received(e)) => {
                    p.referral_id = Some(e.referral_id);
                    p.referrer = Some(e.referrer_organisation_id.clone());
                }
                Event::Referral(ReferralEvent::Routed(e)) => {
                    p.add_service(&e.link_worker_organisation_id)
                }
                Event::Case(CaseEvent::Accepted(e)) => {
                    p.add_service(&e.link_worker_organisation_id)
                }
                Event::Person(PersonEvent::Erased(_)) => p.erased = true,
                _ => {}
            }
        }
        p
    }

    fn add_service(&mut self, organisation_id: &str) {
        if !self.services.iter().any(|s| s == organisation_id) {
            self.services.push(organisation_id.to_owned());
        }
    }

    pub fn exists(&self) -> bool {
        self.referral_id.is_some()
    }

    pub fn includes(&self, organisation_id: &str) -> bool {
        self.exists()
            && (self.referrer.as_deref() == Some(organisation_id)
                || self.services.iter().any(|s| s == organisation_id))
    }
}

/// `erasePerson`'s body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasureRequest {
    /// The ground for erasure: `person_asked`, `unlawful_processing`, `legal_obligation`
    /// or `consent_withdrawn`.
    #[schema(required = true)]
    pub reason: Option<linkway_events::person::ErasureReason>,
}

/// What `erasePerson` answers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Erased {
    pub referral_id: Uuid,
    /// The person's data key is destroyed and every read model told to forget them.
    pub erased: bool,
    /// Stream sequence of `person.erased`: pass it as `min_sequence` to see the purge.
    pub sequence: u64,
}

/// Erases the person of a referral (idempotent: an erased person stays erased, and the
/// command appends nothing more).
pub struct Erase {
    pub reason: ErasureReason,
}

impl Decision for Erase {
    type State = Parties;
    type Answer = Erased;

    fn fold(&self, history: &[Recorded]) -> Parties {
        Parties::fold(history)
    }

    fn authorise(&self, principal: &Principal, parties: &Parties) -> Result<(), ApiError> {
        super::authorise(principal, parties)
    }

    fn version(&self, parties: &Parties) -> u64 {
        parties.version
    }

    fn decide(&self, parties: &Parties) -> Result<Vec<Event>, ApiError> {
        let Some(referral_id) = parties.referral_id else {
            return Err(ApiError::NotFound);
        };
        if parties.erased {
            return Ok(Vec::new());
        }
        Ok(vec![Event::from(PersonErased {
            referral_id,
            reason: self.reason,
        })])
    }

    fn answer(&self, after: &Parties, events: &[Recorded]) -> Erased {
        Erased {
            referral_id: after.referral_id.unwrap_or_else(Uuid::nil),
            erased: after.erased,
            sequence: events.last().map_or(after.version, |e| e.sequence),
        }
    }
}

pub use Erased as ErasedAnswer;
