//! One onward connection as the community service it went to sees it: the service, when
//! it was made, how it stands, the lawful basis, and only the details the link worker
//! shared (`case.connection_made`'s `shared`), nothing else of the person or the case.

use linkway_events::case::{ConnectionDeclineReason, SharedDetail};
use linkway_events::referral::LegalBasis;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::case::{Case, CaseState, Connection, ConnectionStatus};

/// The person's details shared with the service: each present only when the link
/// worker shared it (and the person is not erased).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SharedDetails {
    /// Given and family name (`name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The address lines and postcode (`address`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub address: Vec<String>,
    /// Needs as the referral coded them (`needs`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<String>,
    /// The referrer's words about the needs (`needs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needs_text: Option<String>,
    /// "What matters to me" from the plan (`plan`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub what_matters: Option<String>,
    /// The plan's goals (`plan`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub goals: Vec<String>,
}

impl SharedDetails {
    /// Nothing of the person at all (not shared, or erased).
    pub fn is_empty(&self) -> bool {
        *self == SharedDetails::default()
    }
}

/// One connection in a community service's inbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InboxItem {
    pub referral_id: Uuid,
    pub connection_id: Uuid,
    /// The Open Referral UK service id it was sent to.
    pub service_id: String,
    pub service_name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub made_at: OffsetDateTime,
    pub status: ConnectionStatus,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub answered_at: Option<OffsetDateTime>,
    /// When Linkway reminded the service that it had not answered.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub reminded_at: Option<OffsetDateTime>,
    /// Why it was declined (`no_answer_in_time`: declined automatically).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline_reason: Option<ConnectionDeclineReason>,
    /// The lawful basis the details were shared on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<LegalBasis>,
    /// Which details the link worker shared.
    pub shared: Vec<SharedDetail>,
    /// The shared details themselves.
    pub details: SharedDetails,
    /// The referral was withdrawn, or the person erased: nothing more to do.
    pub ended: bool,
    /// The case version (pass as `If-Match` to answer on what was seen).
    pub version: u64,
}

/// The details of `case` that `connection` shared, and nothing else.
pub fn shared_details(case: &Case, connection: &Connection) -> SharedDetails {
    let mut out = SharedDetails::default();
    let personal = case.personal.as_ref();
    for detail in &connection.shared {
        match detail {
            SharedDetail::Name => {
                out.name =
                    personal.map(|p| format!("{} {}", p.person.given_name, p.person.family_name));
            }
            SharedDetail::Phone => out.phone = personal.and_then(|p| p.person.phone.clone()),
            SharedDetail::Email => out.email = personal.and_then(|p| p.person.email.clone()),
            SharedDetail::Address => {
                if let Some(p) = personal {
                    out.address = p.person.address.lines.clone();
                    out.address.push(p.person.address.postcode.clone());
                }
            }
            SharedDetail::Needs => {
                out.needs = case
                    .needs
                    .iter()
                    .map(|n| n.display.clone().unwrap_or_else(|| n.code.clone()))
                    .collect();
                out.needs_text = personal.and_then(|p| p.needs_text.clone());
            }
            SharedDetail::Plan => {
                if let Some(plan) = case.plan.as_ref().and_then(|p| p.personal.as_ref()) {
                    out.what_matters = Some(plan.what_matters.clone());
                    out.goals = plan.goals.clone();
                }
            }
        }
    }
    if case.erased {
        return SharedDetails::default();
    }
    out
}

/// Every connection of `case`, as its service's inbox shows it.
pub fn items_of(case: &Case) -> Vec<InboxItem> {
    let ended = case.erased || case.state == CaseState::Withdrawn;
    case.connections
        .iter()
        .map(|c| InboxItem {
            referral_id: case.referral_id,
            connection_id: c.connection_id,
            service_id: c.service_id.clone(),
            service_name: c.service_name.clone(),
            made_at: c.made_at,
            status: c.status,
            answered_at: c.answered_at,
            reminded_at: c.reminded_at,
            decline_reason: c.decline_reason,
            legal_basis: c.legal_basis,
            shared: c.shared.clone(),
            details: shared_details(case, c),
            ended,
            version: case.last_case_sequence,
        })
        .collect()
}
