//! Onward connections to community services: how one stands, and the case's lookups and
//! answers over them (pure, like the rest of the case).

use linkway_events::case::{ConnectionDeclineReason, SharedDetail};
use linkway_events::referral::LegalBasis;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::Case;

/// How an onward connection to a community service stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    /// Sent; the service has not answered.
    Pending,
    Accepted,
    Declined,
    /// The person took part.
    Attended,
}

/// One onward referral to a directory service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    pub connection_id: Uuid,
    pub service_id: String,
    pub service_name: String,
    pub status: ConnectionStatus,
    /// The lawful basis the person's details were shared on.
    #[serde(default)]
    pub legal_basis: Option<LegalBasis>,
    /// What was shared with the service.
    #[serde(default)]
    pub shared: Vec<SharedDetail>,
    #[serde(with = "time::serde::rfc3339")]
    pub made_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub answered_at: Option<OffsetDateTime>,
    /// When the service was reminded that it had not answered (`case.connection_reminded`).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub reminded_at: Option<OffsetDateTime>,
    /// Why it was declined (`no_answer_in_time`: declined automatically).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline_reason: Option<ConnectionDeclineReason>,
}

impl Case {
    /// The oldest onward connection still waiting for the service's answer.
    pub fn oldest_pending_connection(&self) -> Option<OffsetDateTime> {
        self.connections
            .iter()
            .filter(|c| c.status == ConnectionStatus::Pending)
            .map(|c| c.made_at)
            .min()
    }

    pub(super) fn answer(
        &mut self,
        connection_id: Uuid,
        status: ConnectionStatus,
        at: OffsetDateTime,
    ) {
        if let Some(c) = self
            .connections
            .iter_mut()
            .find(|c| c.connection_id == connection_id)
        {
            c.status = status;
            c.answered_at.get_or_insert(at);
        }
    }

    pub(super) fn connection_mut(&mut self, connection_id: Uuid) -> Option<&mut Connection> {
        self.connections
            .iter_mut()
            .find(|c| c.connection_id == connection_id)
    }

    pub(super) fn connection(&self, connection_id: Uuid) -> Option<&Connection> {
        self.connections
            .iter()
            .find(|c| c.connection_id == connection_id)
    }
}
