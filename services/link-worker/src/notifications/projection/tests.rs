//! What each appointment event makes of the outbox.

use linkway_events::case::{
    AppointmentBooked, AppointmentCancelReason, AppointmentCancelled, AppointmentMoved, CaseEvent,
    ContactChannel,
};
use linkway_events::{Actor, Envelope, Event, Role};
use linkway_platform::Projected;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{Change, NewNotification, changes};
use crate::notifications::Kind;

const AT: OffsetDateTime = datetime!(2026-03-02 09:00 UTC);
const REFERRAL: Uuid = Uuid::from_u128(1);
const APPOINTMENT: Uuid = Uuid::from_u128(2);

fn projected(event_id: u128, event: CaseEvent) -> Projected {
    let event = Event::Case(event);
    let actor = Actor {
        organisation_id: "lw".into(),
        user_id: Some("sam".into()),
        role: Role::LinkWorker,
    };
    let mut envelope = Envelope::new(REFERRAL.to_string(), &event, actor, Uuid::from_u128(9), AT);
    envelope.event_id = Uuid::from_u128(event_id);
    Projected {
        sequence: event_id as u64,
        envelope,
        event,
    }
}

fn booked(starts_at: OffsetDateTime) -> CaseEvent {
    CaseEvent::AppointmentBooked(AppointmentBooked {
        referral_id: REFERRAL,
        appointment_id: APPOINTMENT,
        starts_at,
        minutes: 30,
        channel: ContactChannel::Phone,
        personal: None,
    })
}

fn add(
    event_id: u128,
    kind: Kind,
    starts_at: OffsetDateTime,
    due_at: Option<OffsetDateTime>,
) -> Change {
    Change::Add(NewNotification {
        event_id: Uuid::from_u128(event_id),
        kind,
        referral_id: REFERRAL,
        appointment_id: APPOINTMENT,
        starts_at,
        due_at,
    })
}

#[test]
fn a_booking_confirms_at_once_and_reminds_the_set_hours_before() {
    let starts = AT + Duration::days(3);
    assert_eq!(
        changes(&projected(10, booked(starts)), 24),
        [
            add(10, Kind::Confirmation, starts, None),
            add(
                10,
                Kind::Reminder,
                starts,
                Some(starts - Duration::hours(24))
            ),
        ]
    );
    // Booked for within the reminder window: no reminder.
    let soon = AT + Duration::hours(5);
    assert_eq!(
        changes(&projected(11, booked(soon)), 24),
        [add(11, Kind::Confirmation, soon, None)]
    );
}

#[test]
fn a_move_replaces_the_reminder_and_a_cancellation_cancels_it() {
    let later = AT + Duration::days(5);
    let moved = CaseEvent::AppointmentMoved(AppointmentMoved {
        referral_id: REFERRAL,
        appointment_id: APPOINTMENT,
        starts_at: later,
        minutes: 30,
        channel: ContactChannel::Video,
        personal: None,
    });
    assert_eq!(
        changes(&projected(12, moved), 24),
        [
            Change::CancelReminders {
                appointment_id: APPOINTMENT,
                keep: Some(Uuid::from_u128(12)),
            },
            add(12, Kind::Moved, later, None),
            add(12, Kind::Reminder, later, Some(later - Duration::hours(24))),
        ]
    );
    let cancel = |reason| {
        CaseEvent::AppointmentCancelled(AppointmentCancelled {
            referral_id: REFERRAL,
            appointment_id: APPOINTMENT,
            reason,
        })
    };
    let stop = Change::CancelReminders {
        appointment_id: APPOINTMENT,
        keep: None,
    };
    assert_eq!(
        changes(
            &projected(13, cancel(AppointmentCancelReason::PersonCancelled)),
            24
        ),
        [stop.clone(), add(13, Kind::Cancellation, AT, None)]
    );
    assert_eq!(
        changes(&projected(14, cancel(AppointmentCancelReason::Missed)), 24),
        [stop]
    );
}
