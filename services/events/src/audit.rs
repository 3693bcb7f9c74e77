//! The audit trail of reads: who was shown which person's record. Commands need no audit
//! event of their own, since every command is an event naming its actor already; a read
//! leaves nothing in the log unless it says so here. Aggregate: `audit`, id = the reading
//! organisation's id (one subject per organisation, appended without expectation).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::family::event_family;

event_family! {
    /// Events of the `audit` aggregate.
    AuditEvent {
        Recorded(AuditRecorded) = "audit.recorded" version 1,
    }
}

impl From<AuditEvent> for crate::Event {
    fn from(e: AuditEvent) -> Self {
        crate::Event::Audit(e)
    }
}

/// Person-identifiable data was shown to the envelope's actor, at its `recorded_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecorded {
    /// The operationId (API) or page operation that showed the data, e.g. `getCase`.
    pub operation: String,
    /// The referrals (one person each) whose person-identifiable data was shown.
    pub referral_ids: Vec<Uuid>,
    /// Why, where the user said (a code: free text could hold personal data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<AuditReason>,
}

/// Why a record was opened, where the user gives a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AuditReason {
    DirectCare,
    Safeguarding,
    SubjectAccess,
    Erasure,
    Supervision,
}

impl AuditReason {
    pub const ALL: [AuditReason; 5] = [
        AuditReason::DirectCare,
        AuditReason::Safeguarding,
        AuditReason::SubjectAccess,
        AuditReason::Erasure,
        AuditReason::Supervision,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditReason::DirectCare => "direct_care",
            AuditReason::Safeguarding => "safeguarding",
            AuditReason::SubjectAccess => "subject_access",
            AuditReason::Erasure => "erasure",
            AuditReason::Supervision => "supervision",
        }
    }

    pub fn parse(s: &str) -> Option<AuditReason> {
        AuditReason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}
