//! Where a referral stands, as the referrer sees it (the read model's status column).

use serde::{Deserialize, Serialize};

/// Where a referral stands, as the referrer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Received; routing not yet recorded.
    Received,
    /// Sent to a link-worker service, not yet taken on.
    Routed,
    /// No rule matched: waiting for an administrator to route it by hand.
    Unroutable,
    Accepted,
    Declined,
    /// In contact with a link worker / plan agreed.
    InProgress,
    Closed,
    Withdrawn,
    EnteredInError,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Received => "received",
            Status::Routed => "routed",
            Status::Unroutable => "unroutable",
            Status::Accepted => "accepted",
            Status::Declined => "declined",
            Status::InProgress => "in_progress",
            Status::Closed => "closed",
            Status::Withdrawn => "withdrawn",
            Status::EnteredInError => "entered_in_error",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub const ALL: [Status; 9] = [
        Status::Received,
        Status::Routed,
        Status::Unroutable,
        Status::Accepted,
        Status::Declined,
        Status::InProgress,
        Status::Closed,
        Status::Withdrawn,
        Status::EnteredInError,
    ];

    /// The referral is still live: a new one for the same person and service may be a duplicate.
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            Status::Declined | Status::Closed | Status::Withdrawn | Status::EnteredInError
        )
    }

    /// The statuses [`Status::is_open`] holds for, as SQL text values.
    pub fn open_values() -> Vec<&'static str> {
        Status::ALL
            .into_iter()
            .filter(|s| s.is_open())
            .map(Status::as_str)
            .collect()
    }
}
