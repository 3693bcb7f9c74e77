//! The appointment rules and fold, on cases built from events.

use linkway_events::Event;
use linkway_events::case::{
    AppointmentCancelReason, CaseAccepted, CaseAssigned, CaseEvent, ContactChannel, ContactOutcome,
};
use linkway_events::person::{ErasureReason, PersonErased};
use linkway_events::referral::{ReferralEvent, ReferralRouted};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::case::{
    AppointmentCommand, AppointmentInput, AppointmentStatus, Case, CaseState, Command, Policy,
    decide,
};

const AT: OffsetDateTime = datetime!(2026-03-02 09:00 UTC);
const APPT: Uuid = Uuid::from_u128(42);

fn assigned() -> Case {
    let id = Uuid::from_u128(7);
    let mut case = Case::new(id);
    case.received_at = Some(AT);
    let events: Vec<Event> = vec![
        Event::Referral(ReferralEvent::Routed(ReferralRouted {
            referral_id: id,
            link_worker_organisation_id: "lw".into(),
            rule_id: None,
        })),
        Event::Case(CaseEvent::Accepted(CaseAccepted {
            referral_id: id,
            link_worker_organisation_id: "lw".into(),
        })),
        Event::Case(CaseEvent::Assigned(CaseAssigned {
            referral_id: id,
            link_worker_id: "sam".into(),
        })),
    ];
    for (i, e) in events.iter().enumerate() {
        case.apply(i as u64 + 1, AT, e);
    }
    assert_eq!(case.state, CaseState::Assigned);
    case
}

fn input(starts_at: OffsetDateTime) -> AppointmentInput {
    AppointmentInput {
        starts_at,
        minutes: 45,
        channel: ContactChannel::FaceToFace,
        place: Some("Room 2".into()),
    }
}

/// Decides `command` and folds what it caused; the refusal's rule otherwise.
fn run(case: &mut Case, command: AppointmentCommand) -> Result<Vec<CaseEvent>, String> {
    let events = decide(case, &Command::Appointment(command), &Policy::default())
        .map_err(|r| r.rule.to_owned())?;
    for e in &events {
        let seq = case.last_sequence + 1;
        case.apply(seq, AT, &Event::Case(e.clone()));
    }
    Ok(events)
}

fn book(case: &mut Case) {
    let booked = run(
        case,
        AppointmentCommand::Book {
            appointment_id: APPT,
            appointment: input(AT + Duration::days(2)),
        },
    );
    assert!(booked.is_ok(), "{booked:?}");
}

fn status(case: &Case) -> Option<AppointmentStatus> {
    case.appointment(APPT).map(|a| a.status)
}

#[test]
fn booking_needs_an_assigned_case_and_a_new_id() {
    let mut case = Case::new(Uuid::from_u128(7));
    let refused = run(
        &mut case,
        AppointmentCommand::Book {
            appointment_id: APPT,
            appointment: input(AT),
        },
    );
    assert_eq!(refused, Err("appointment_requires_assigned_case".into()));
    let mut case = assigned();
    book(&mut case);
    assert_eq!(status(&case), Some(AppointmentStatus::Booked));
    assert_eq!(
        case.appointment(APPT).and_then(|a| a.place.clone()),
        Some("Room 2".into())
    );
    let again = run(
        &mut case,
        AppointmentCommand::Book {
            appointment_id: APPT,
            appointment: input(AT),
        },
    );
    assert_eq!(again, Err("appointment_exists".into()));
}

#[test]
fn a_move_restates_the_appointment_and_must_change_it() {
    let mut case = assigned();
    book(&mut case);
    let same = AppointmentCommand::Move {
        appointment_id: APPT,
        appointment: input(AT + Duration::days(2)),
    };
    assert_eq!(run(&mut case, same), Err("appointment_unchanged".into()));
    let later = AT + Duration::days(3);
    let moved = run(
        &mut case,
        AppointmentCommand::Move {
            appointment_id: APPT,
            appointment: AppointmentInput {
                place: None,
                ..input(later)
            },
        },
    );
    assert!(moved.is_ok(), "{moved:?}");
    let a = case.appointment(APPT).cloned();
    assert_eq!(
        a.map(|a| (a.starts_at, a.moves, a.place)),
        Some((later, 1, None))
    );
    let unknown = AppointmentCommand::Move {
        appointment_id: Uuid::from_u128(1),
        appointment: input(later),
    };
    assert_eq!(run(&mut case, unknown), Err("appointment_unknown".into()));
}

#[test]
fn a_cancelled_appointment_takes_no_further_command() {
    let mut case = assigned();
    book(&mut case);
    let missed_reason = AppointmentCommand::Cancel {
        appointment_id: APPT,
        reason: AppointmentCancelReason::Missed,
    };
    assert_eq!(
        run(&mut case, missed_reason),
        Err("missed_is_recorded_as_missed".into())
    );
    let cancel = AppointmentCommand::Cancel {
        appointment_id: APPT,
        reason: AppointmentCancelReason::PersonCancelled,
    };
    assert!(run(&mut case, cancel).is_ok());
    assert_eq!(status(&case), Some(AppointmentStatus::Cancelled));
    let moved = AppointmentCommand::Move {
        appointment_id: APPT,
        appointment: input(AT + Duration::days(5)),
    };
    assert_eq!(run(&mut case, moved), Err("appointment_not_booked".into()));
}

#[test]
fn missed_only_once_started_and_counts_as_an_attempt() {
    let mut case = assigned();
    book(&mut case);
    let early = AppointmentCommand::RecordMissed {
        appointment_id: APPT,
        now: AT + Duration::days(1),
    };
    assert_eq!(run(&mut case, early), Err("appointment_not_started".into()));
    let missed = AppointmentCommand::RecordMissed {
        appointment_id: APPT,
        now: AT + Duration::days(2),
    };
    let events = run(&mut case, missed).unwrap_or_default();
    assert_eq!(events.len(), 2);
    assert!(matches!(&events[1], CaseEvent::ContactAttempted(a)
        if a.outcome == ContactOutcome::AppointmentMissed && a.attempt_number == 1));
    assert_eq!(status(&case), Some(AppointmentStatus::Missed));
    assert_eq!(case.contact_attempts, 1);
}

#[test]
fn erasure_forgets_the_place_and_refuses_every_command() {
    let mut case = assigned();
    book(&mut case);
    let erased = Event::Person(linkway_events::PersonEvent::Erased(PersonErased {
        referral_id: case.referral_id,
        reason: ErasureReason::PersonAsked,
    }));
    case.apply(99, AT, &erased);
    assert_eq!(case.appointment(APPT).and_then(|a| a.place.clone()), None);
    let cancel = AppointmentCommand::Cancel {
        appointment_id: APPT,
        reason: AppointmentCancelReason::Other,
    };
    assert_eq!(run(&mut case, cancel), Err("person_erased".into()));
}
