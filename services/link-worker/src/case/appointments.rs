//! Appointments with the person: their types, how the case folds their events, and the
//! rules of booking, moving, cancelling and recording a missed one (pure, like the rest of
//! the case).
//!
//! ```text
//! booked --move--> booked (new time) --cancel--> cancelled
//!    |                                  \--missed--> missed (with a contact attempt)
//! ```
//!
//! A missed appointment is two events in one append: `case.appointment_cancelled` with
//! reason `missed` (so the fold knows which appointment) and `case.contact_attempted` with
//! outcome `appointment_missed` (so it counts as a failed attempt to reach the person,
//! as every other).

use linkway_events::case::{
    AppointmentBooked, AppointmentCancelReason, AppointmentCancelled, AppointmentMoved,
    AppointmentPersonal, CaseEvent, ContactChannel, ContactOutcome,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::rules::{ContactKind, Policy, Refusal};
use super::{Case, CaseState};

/// How an appointment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentStatus {
    Booked,
    Cancelled,
    /// The person did not come.
    Missed,
}

impl AppointmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AppointmentStatus::Booked => "booked",
            AppointmentStatus::Cancelled => "cancelled",
            AppointmentStatus::Missed => "missed",
        }
    }
}

/// One appointment with the person, as it now stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Appointment {
    pub appointment_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    pub minutes: u32,
    #[schema(value_type = String, example = "face_to_face")]
    pub channel: ContactChannel,
    /// Where (personal). `None`: no place, or the person is erased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    pub status: AppointmentStatus,
    /// Why it was cancelled (`missed` for a missed one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "person_cancelled")]
    pub cancel_reason: Option<AppointmentCancelReason>,
    #[serde(with = "time::serde::rfc3339")]
    pub booked_at: OffsetDateTime,
    /// Times it was moved.
    pub moves: u32,
}

impl Case {
    /// The appointment with this id, if the case has one.
    pub fn appointment(&self, appointment_id: Uuid) -> Option<&Appointment> {
        self.appointments
            .iter()
            .find(|a| a.appointment_id == appointment_id)
    }

    /// Folds an appointment event in; other events are ignored.
    pub(super) fn apply_appointment(&mut self, at: OffsetDateTime, event: &CaseEvent) {
        match event {
            CaseEvent::AppointmentBooked(b) => self.appointments.push(Appointment {
                appointment_id: b.appointment_id,
                starts_at: b.starts_at,
                minutes: b.minutes,
                channel: b.channel,
                place: b.personal.as_ref().map(|p| p.place.clone()),
                status: AppointmentStatus::Booked,
                cancel_reason: None,
                booked_at: at,
                moves: 0,
            }),
            CaseEvent::AppointmentMoved(m) => {
                if let Some(a) = self.appointment_mut(m.appointment_id) {
                    a.starts_at = m.starts_at;
                    a.minutes = m.minutes;
                    a.channel = m.channel;
                    a.place = m.personal.as_ref().map(|p| p.place.clone());
                    a.moves += 1;
                }
            }
            CaseEvent::AppointmentCancelled(c) => {
                if let Some(a) = self.appointment_mut(c.appointment_id) {
                    a.status = if c.reason == AppointmentCancelReason::Missed {
                        AppointmentStatus::Missed
                    } else {
                        AppointmentStatus::Cancelled
                    };
                    a.cancel_reason = Some(c.reason);
                }
            }
            _ => {}
        }
    }

    /// Forgets where the appointments were (the person's address, perhaps).
    pub(super) fn erase_appointments(&mut self) {
        for a in &mut self.appointments {
            a.place = None;
        }
    }

    fn appointment_mut(&mut self, appointment_id: Uuid) -> Option<&mut Appointment> {
        self.appointments
            .iter_mut()
            .find(|a| a.appointment_id == appointment_id)
    }
}

/// An appointment as booked or moved (already validated for shape).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppointmentInput {
    pub starts_at: OffsetDateTime,
    pub minutes: u32,
    pub channel: ContactChannel,
    pub place: Option<String>,
}

/// What is asked of an appointment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppointmentCommand {
    Book {
        appointment_id: Uuid,
        appointment: AppointmentInput,
    },
    Move {
        appointment_id: Uuid,
        appointment: AppointmentInput,
    },
    Cancel {
        appointment_id: Uuid,
        reason: AppointmentCancelReason,
    },
    /// The person did not come; `now` decides whether it has started yet.
    RecordMissed {
        appointment_id: Uuid,
        now: OffsetDateTime,
    },
}

impl AppointmentCommand {
    pub fn name(&self) -> &'static str {
        match self {
            AppointmentCommand::Book { .. } => "bookAppointment",
            AppointmentCommand::Move { .. } => "moveAppointment",
            AppointmentCommand::Cancel { .. } => "cancelAppointment",
            AppointmentCommand::RecordMissed { .. } => "recordMissedAppointment",
        }
    }
}

/// The states in which appointments are made: a link worker holds the case and it has
/// not ended.
const BOOKABLE: &[CaseState] = &[
    CaseState::Assigned,
    CaseState::CouldNotContact,
    CaseState::Engaged,
    CaseState::PlanAgreed,
];

fn refuse(field: &'static str, rule: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        field,
        rule,
        message: message.into(),
    }
}

/// Decides an appointment command on `case` (not erased: [`super::decide`] checked).
pub fn decide(
    case: &Case,
    command: &AppointmentCommand,
    policy: &Policy,
) -> Result<Vec<CaseEvent>, Refusal> {
    let name = command.name();
    if !BOOKABLE.contains(&case.state) {
        return Err(refuse(
            "state",
            "appointment_requires_assigned_case",
            format!(
                "{name} is not allowed while the case is {}; allowed when assigned, \
                 could_not_contact, engaged or plan_agreed",
                case.state.as_str()
            ),
        ));
    }
    let referral_id = case.referral_id;
    let booked = |appointment_id: Uuid| match case.appointment(appointment_id) {
        None => Err(refuse(
            "appointment_id",
            "appointment_unknown",
            "the case has no appointment with this id",
        )),
        Some(a) if a.status != AppointmentStatus::Booked => Err(refuse(
            "state",
            "appointment_not_booked",
            format!("the appointment is already {}", a.status.as_str()),
        )),
        Some(a) => Ok(a),
    };
    let personal = |input: &AppointmentInput| {
        input
            .place
            .clone()
            .map(|place| AppointmentPersonal { place })
    };
    let events = match command {
        AppointmentCommand::Book {
            appointment_id,
            appointment,
        } => {
            if case.appointment(*appointment_id).is_some() {
                return Err(refuse(
                    "state",
                    "appointment_exists",
                    "an appointment with this id already exists",
                ));
            }
            vec![CaseEvent::AppointmentBooked(AppointmentBooked {
                referral_id,
                appointment_id: *appointment_id,
                starts_at: appointment.starts_at,
                minutes: appointment.minutes,
                channel: appointment.channel,
                personal: personal(appointment),
            })]
        }
        AppointmentCommand::Move {
            appointment_id,
            appointment,
        } => {
            let now = booked(*appointment_id)?;
            let unchanged = now.starts_at == appointment.starts_at
                && now.minutes == appointment.minutes
                && now.channel == appointment.channel
                && now.place == appointment.place;
            if unchanged {
                return Err(refuse(
                    "starts_at",
                    "appointment_unchanged",
                    "the appointment already stands as asked",
                ));
            }
            vec![CaseEvent::AppointmentMoved(AppointmentMoved {
                referral_id,
                appointment_id: *appointment_id,
                starts_at: appointment.starts_at,
                minutes: appointment.minutes,
                channel: appointment.channel,
                personal: personal(appointment),
            })]
        }
        AppointmentCommand::Cancel {
            appointment_id,
            reason,
        } => {
            booked(*appointment_id)?;
            if *reason == AppointmentCancelReason::Missed {
                return Err(refuse(
                    "reason",
                    "missed_is_recorded_as_missed",
                    "a missed appointment is recorded with recordMissedAppointment",
                ));
            }
            vec![cancelled(referral_id, *appointment_id, *reason)]
        }
        AppointmentCommand::RecordMissed {
            appointment_id,
            now,
        } => {
            let appointment = booked(*appointment_id)?;
            if appointment.starts_at > *now {
                return Err(refuse(
                    "state",
                    "appointment_not_started",
                    "the appointment has not started yet",
                ));
            }
            let attempt = super::Command::RecordContact {
                kind: ContactKind::Attempt,
                channel: appointment.channel,
                outcome: ContactOutcome::AppointmentMissed,
                minutes: 0,
                notes: None,
            };
            let mut events = vec![cancelled(
                referral_id,
                *appointment_id,
                AppointmentCancelReason::Missed,
            )];
            events.extend(super::decide(case, &attempt, policy)?);
            events
        }
    };
    Ok(events)
}

fn cancelled(
    referral_id: Uuid,
    appointment_id: Uuid,
    reason: AppointmentCancelReason,
) -> CaseEvent {
    CaseEvent::AppointmentCancelled(AppointmentCancelled {
        referral_id,
        appointment_id,
        reason,
    })
}

#[cfg(test)]
mod tests;
