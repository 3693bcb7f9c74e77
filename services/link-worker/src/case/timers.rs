//! The connection timers' rules, pure: when a community service that has not answered an
//! onward connection is reminded (once, `connection_reminder_days` after it was made) and
//! when the connection is declined automatically (`connection_answer_days`, reason
//! `no_answer_in_time`).
//!
//! Both are due only while the connection is pending. A reminder is sent once, and never
//! once the decline is due (the decline says more than a reminder would). What is not due
//! is a [`Refusal`] whose rule the timer reads as "nothing to do" ([`is_not_due`]): a
//! connection answered in the meantime, reminded already, declined by another process.
//! `now` is the timer's clock (`ctx.timers.clock.now()`), never the machine's. A case that
//! ended (closed, withdrawn) leaves its connections as they are.

use linkway_events::case::{
    CaseEvent, ConnectionDeclineReason, ConnectionDeclined, ConnectionReminded,
};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{Case, Connection, ConnectionStatus, Policy, Refusal};

/// The rules that mean "not due (any more)": the timer skips them silently.
pub const NOT_DUE: &[&str] = &[
    "connection_unknown",
    "connection_already_answered",
    "connection_already_reminded",
    "reminder_not_due",
    "decline_not_due",
    "reminder_overtaken_by_decline",
    "case_ended",
    "person_erased",
];

/// Whether a refusal of a timer's command only means there is nothing to do now.
pub fn is_not_due(refusal: &Refusal) -> bool {
    NOT_DUE.contains(&refusal.rule)
}

/// What the timer should do about one connection at `now`, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    Remind,
    Decline,
}

/// What is due for `connection` at `now` under `policy`: the decline once the answer
/// window has passed, else the reminder once its days have passed and none was sent.
pub fn due(connection: &Connection, now: OffsetDateTime, policy: &Policy) -> Option<Due> {
    if connection.status != ConnectionStatus::Pending {
        return None;
    }
    let waited = now - connection.made_at;
    if waited >= Duration::days(policy.connection_answer_days) {
        Some(Due::Decline)
    } else if connection.reminded_at.is_none()
        && waited >= Duration::days(policy.connection_reminder_days)
    {
        Some(Due::Remind)
    } else {
        None
    }
}

fn not_due(rule: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        field: "state",
        rule,
        message: message.into(),
    }
}

fn pending(case: &Case, connection_id: Uuid) -> Result<&Connection, Refusal> {
    if !case.state.is_open() {
        return Err(not_due(
            "case_ended",
            format!(
                "the case is {}: its connections are left as they are",
                case.state.as_str()
            ),
        ));
    }
    let connection = case
        .connections
        .iter()
        .find(|c| c.connection_id == connection_id)
        .ok_or_else(|| not_due("connection_unknown", "the case has no such connection"))?;
    if connection.status != ConnectionStatus::Pending {
        return Err(not_due(
            "connection_already_answered",
            format!("the connection is already {:?}", connection.status).to_lowercase(),
        ));
    }
    Ok(connection)
}

/// `RemindService`: a `case.connection_reminded`, if the reminder is due.
pub fn remind(
    case: &Case,
    connection_id: Uuid,
    now: OffsetDateTime,
    policy: &Policy,
) -> Result<CaseEvent, Refusal> {
    let connection = pending(case, connection_id)?;
    if connection.reminded_at.is_some() {
        return Err(not_due(
            "connection_already_reminded",
            "the service was reminded of this connection already",
        ));
    }
    match due(connection, now, policy) {
        Some(Due::Remind) => Ok(CaseEvent::ConnectionReminded(ConnectionReminded {
            referral_id: case.referral_id,
            connection_id,
        })),
        Some(Due::Decline) => Err(not_due(
            "reminder_overtaken_by_decline",
            format!(
                "the connection has waited {} days or more: it is declined, not reminded",
                policy.connection_answer_days
            ),
        )),
        None => Err(not_due(
            "reminder_not_due",
            format!(
                "a reminder is due {} days after the connection was made",
                policy.connection_reminder_days
            ),
        )),
    }
}

/// `DeclineUnanswered`: a `case.connection_declined` with reason `no_answer_in_time`, if
/// the answer window has passed.
pub fn decline_unanswered(
    case: &Case,
    connection_id: Uuid,
    now: OffsetDateTime,
    policy: &Policy,
) -> Result<CaseEvent, Refusal> {
    let connection = pending(case, connection_id)?;
    if due(connection, now, policy) != Some(Due::Decline) {
        return Err(not_due(
            "decline_not_due",
            format!(
                "an unanswered connection is declined {} days after it was made",
                policy.connection_answer_days
            ),
        ));
    }
    Ok(CaseEvent::ConnectionDeclined(ConnectionDeclined {
        referral_id: case.referral_id,
        connection_id,
        reason: ConnectionDeclineReason::NoAnswerInTime,
    }))
}

/// Whether a decline was Linkway's own, for lack of an answer.
pub fn declined_automatically(connection: &Connection) -> bool {
    connection.decline_reason == Some(ConnectionDeclineReason::NoAnswerInTime)
}

#[cfg(test)]
mod tests;
