//! A community service's answers to an onward connection, as decisions of the platform's
//! command path. The case is folded from the log with the same [`Case`] fold every case
//! command uses; the caller may act only on a connection sent to one of the directory
//! services its organisation answers for (read from the registry, configuration, before
//! the command runs), and anything else is "not found", exactly like a missing one.
//!
//! [`decide`] holds the rules, pure: accept and decline only while the connection waits
//! for an answer, attendance while it waits or once accepted, none once the referral was
//! withdrawn or the person erased, and a decline names one of the service's own reasons
//! (`no_answer_in_time` and `not_recorded` are Linkway's, never a service's).

use linkway_events::Event;
use linkway_events::case::{
    CaseEvent, ConnectionAccepted, ConnectionAttended, ConnectionDeclineReason, ConnectionDeclined,
};
use linkway_platform::auth::Principal;
use linkway_platform::command::{Decision, Recorded};
use linkway_platform::{ApiError, FieldError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::case::{Case, CaseState, ConnectionStatus};

/// What a community service answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Accept,
    Decline(ConnectionDeclineReason),
    Attended,
}

impl Answer {
    /// The operationId that asks for it.
    pub fn operation(self) -> &'static str {
        match self {
            Answer::Accept => "acceptConnection",
            Answer::Decline(_) => "declineConnection",
            Answer::Attended => "recordAttendance",
        }
    }
}

/// Why an answer may not be given now. `rule` is stable, for machines.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    pub field: &'static str,
    pub rule: &'static str,
    pub message: String,
}

fn refuse(field: &'static str, rule: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        field,
        rule,
        message: message.into(),
    }
}

/// The reasons a service may give for declining (the others are Linkway's own).
pub const SERVICE_REASONS: [ConnectionDeclineReason; 4] = [
    ConnectionDeclineReason::NoCapacity,
    ConnectionDeclineReason::NotEligible,
    ConnectionDeclineReason::PersonDeclined,
    ConnectionDeclineReason::Other,
];

/// A decline reason a service may give, or why not (field `reason`).
pub fn service_reason(reason: ConnectionDeclineReason) -> Result<(), Refusal> {
    if SERVICE_REASONS.contains(&reason) {
        Ok(())
    } else {
        Err(refuse(
            "reason",
            "service_decline_reason",
            format!(
                "{} is recorded by Linkway itself; a service declines with no_capacity, \
                 not_eligible, person_declined or other",
                reason.as_str()
            ),
        ))
    }
}

fn connection(case: &Case, connection_id: Uuid) -> Option<&crate::case::Connection> {
    case.connections
        .iter()
        .find(|c| c.connection_id == connection_id)
}

/// Whether `connection_id` of `case` went to one of `services` (the caller's).
pub fn answers_for(case: &Case, connection_id: Uuid, services: &[String]) -> bool {
    case.exists()
        && case
            .connections
            .iter()
            .any(|c| c.connection_id == connection_id && services.contains(&c.service_id))
}

/// The event a service's answer causes, or why not. Authorisation ([`answers_for`]) comes
/// first: this assumes the connection is the caller's.
pub fn decide(case: &Case, connection_id: Uuid, answer: Answer) -> Result<CaseEvent, Refusal> {
    if case.erased {
        return Err(refuse(
            "state",
            "person_erased",
            "the person was erased: the connection takes no answer",
        ));
    }
    if case.state == CaseState::Withdrawn {
        return Err(refuse(
            "state",
            "referral_withdrawn",
            "the referral was withdrawn: the connection takes no answer",
        ));
    }
    let Some(connection) = connection(case, connection_id) else {
        return Err(refuse(
            "connection_id",
            "connection_unknown",
            "the case has no connection with this id",
        ));
    };
    if let Answer::Decline(reason) = answer {
        service_reason(reason)?;
    }
    let legal = match answer {
        Answer::Accept | Answer::Decline(_) => connection.status == ConnectionStatus::Pending,
        Answer::Attended => matches!(
            connection.status,
            ConnectionStatus::Pending | ConnectionStatus::Accepted
        ),
    };
    if !legal {
        return Err(refuse(
            "state",
            "connection_already_answered",
            format!("the connection is already {:?}", connection.status).to_lowercase(),
        ));
    }
    let referral_id = case.referral_id;
    Ok(match answer {
        Answer::Accept => CaseEvent::ConnectionAccepted(ConnectionAccepted {
            referral_id,
            connection_id,
        }),
        Answer::Decline(reason) => CaseEvent::ConnectionDeclined(ConnectionDeclined {
            referral_id,
            connection_id,
            reason,
        }),
        Answer::Attended => CaseEvent::ConnectionAttended(ConnectionAttended {
            referral_id,
            connection_id,
        }),
    })
}

/// What an answer answers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AnswerRecorded {
    pub referral_id: Uuid,
    pub connection_id: Uuid,
    /// The event appended, e.g. `case.connection_accepted`.
    pub event_type: String,
    /// Its stream sequence: pass as `?min_sequence=` to read your write.
    pub sequence: u64,
    /// How the connection stands afterwards.
    pub status: ConnectionStatus,
}

/// One answer as a [`Decision`] of the platform's command path.
pub struct InboxDecision<'a> {
    pub referral_id: Uuid,
    pub connection_id: Uuid,
    pub answer: Answer,
    /// The directory services the caller's organisation answers for (the registry's).
    pub services: &'a [String],
}

impl Decision for InboxDecision<'_> {
    type State = Case;
    type Answer = AnswerRecorded;

    fn fold(&self, history: &[Recorded]) -> Case {
        let mut case = Case::new(self.referral_id);
        for r in history {
            case.apply(r.sequence, r.envelope.occurred_at, &r.event);
        }
        case
    }

    /// Only an organisation answering for the connection's service sees it at all.
    fn authorise(&self, _principal: &Principal, case: &Case) -> Result<(), ApiError> {
        if answers_for(case, self.connection_id, self.services) {
            Ok(())
        } else {
            Err(ApiError::NotFound)
        }
    }

    fn version(&self, case: &Case) -> u64 {
        case.last_case_sequence
    }

    fn decide(&self, case: &Case) -> Result<Vec<Event>, ApiError> {
        decide(case, self.connection_id, self.answer)
            .map(|e| vec![Event::Case(e)])
            .map_err(|r| {
                let error = FieldError::new(r.field, r.rule, r.message);
                if r.field == "reason" {
                    ApiError::Validation(vec![error])
                } else {
                    ApiError::Refused(error)
                }
            })
    }

    fn answer(&self, after: &Case, events: &[Recorded]) -> AnswerRecorded {
        AnswerRecorded {
            referral_id: self.referral_id,
            connection_id: self.connection_id,
            event_type: events
                .last()
                .map(|e| e.envelope.event_type.clone())
                .unwrap_or_default(),
            sequence: events
                .last()
                .map_or(after.last_case_sequence, |e| e.sequence),
            status: connection(after, self.connection_id)
                .map_or(ConnectionStatus::Pending, |c| c.status),
        }
    }
}

#[cfg(test)]
mod tests;
