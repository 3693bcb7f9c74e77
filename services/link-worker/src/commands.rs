//! Link-worker commands as decisions of the platform's one command path
//! ([`linkway_platform::command`]): the case is folded from the referral's events and the
//! case's own, decided by the pure [`case::decide`], and appended guarded on both
//! subjects, so a withdrawal that lands while a case is accepted makes the accept be
//! decided again (and refused).

use linkway_events::Event;
use linkway_platform::auth::Principal;
use linkway_platform::command::{Decision, Recorded};
use linkway_platform::{ApiError, FieldError};
use uuid::Uuid;

use crate::api::CommandAccepted;
use crate::case::{self, Case, Command, Policy};

/// One case command as a [`Decision`] of the platform's command path: the case is folded
/// from the referral's and the case's events, and the append is guarded on both.
pub struct CaseDecision<'a> {
    pub id: Uuid,
    pub command: Command,
    pub policy: &'a Policy,
    /// What is wrong with the request that the OpenAPI document cannot state (a review
    /// date in the past, a service not in the directory, a token that names no link
    /// worker): refused with 422 once the case is authorised, so a case the caller cannot
    /// see is 404 whatever was sent, and a request the document allows is never refused
    /// before that.
    pub refused: Vec<FieldError>,
}

impl Decision for CaseDecision<'_> {
    type State = Case;
    type Answer = CommandAccepted;

    fn fold(&self, history: &[Recorded]) -> Case {
        let mut case = Case::new(self.id);
        for r in history {
            case.apply(r.sequence, r.envelope.occurred_at, &r.event);
        }
        case
    }

    /// Only the organisation the referral was routed to sees the case at all.
    fn authorise(&self, principal: &Principal, case: &Case) -> Result<(), ApiError> {
        if case.exists()
            && case.organisation_id.as_deref() == Some(principal.organisation_id.as_str())
        {
            Ok(())
        } else {
            Err(ApiError::NotFound)
        }
    }

    fn version(&self, case: &Case) -> u64 {
        case.last_case_sequence
    }

    fn decide(&self, case: &Case) -> Result<Vec<Event>, ApiError> {
        if !self.refused.is_empty() {
            return Err(ApiError::Validation(self.refused.clone()));
        }
        case::decide(case, &self.command, self.policy)
            .map(|events| events.into_iter().map(Event::Case).collect())
            .map_err(|r| ApiError::Refused(FieldError::new(r.field, r.rule, r.message)))
    }

    fn answer(&self, after: &Case, events: &[Recorded]) -> CommandAccepted {
        CommandAccepted {
            referral_id: self.id,
            event_type: events
                .last()
                .map(|e| e.envelope.event_type.clone())
                .unwrap_or_default(),
            sequence: events
                .last()
                .map_or(after.last_case_sequence, |e| e.sequence),
            state: after.state,
            connection_id: match &self.command {
                Command::ConnectService { connection_id, .. } => Some(*connection_id),
                _ => None,
            },
            appointment_id: match &self.command {
                Command::Appointment(case::AppointmentCommand::Book { appointment_id, .. }) => {
                    Some(*appointment_id)
                }
                _ => None,
            },
        }
    }
}
