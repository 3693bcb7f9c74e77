//! What happens to the person of a referral as a data subject. Aggregate: `person`, id =
//! the referral's UUID, so a referral, its case and its person are one aggregate for a
//! decision (`<prefix>.*.<id>`).
//!
//! Every `personal` part of a referral's and its case's events is sealed under one data
//! key for that person; erasing the person destroys the key, and `person.erased` tells
//! every read model to purge what it holds. The log itself never changes.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::family::event_family;

event_family! {
    /// Events of the `person` aggregate.
    PersonEvent {
        Erased(PersonErased) = "person.erased" version 1,
    }
}

impl From<PersonEvent> for crate::Event {
    fn from(e: PersonEvent) -> Self {
        crate::Event::Person(e)
    }
}

/// The person of this referral was erased: their data key is destroyed, so no `personal`
/// part of the referral's or its case's events can be read again. Counts stay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonErased {
    pub referral_id: Uuid,
    pub reason: ErasureReason,
}

/// Why a person was erased (UK GDPR article 17 grounds, as codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErasureReason {
    /// The person asked to be erased.
    PersonAsked,
    /// The data should never have been processed.
    UnlawfulProcessing,
    /// The law requires it.
    LegalObligation,
    /// The person withdrew the consent the processing relied on.
    ConsentWithdrawn,
}

impl ErasureReason {
    pub const ALL: [ErasureReason; 4] = [
        ErasureReason::PersonAsked,
        ErasureReason::UnlawfulProcessing,
        ErasureReason::LegalObligation,
        ErasureReason::ConsentWithdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErasureReason::PersonAsked => "person_asked",
            ErasureReason::UnlawfulProcessing => "unlawful_processing",
            ErasureReason::LegalObligation => "legal_obligation",
            ErasureReason::ConsentWithdrawn => "consent_withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<ErasureReason> {
        ErasureReason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}
