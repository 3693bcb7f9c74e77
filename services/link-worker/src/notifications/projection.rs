//! The `notifications` projection: what each appointment event means for the person's
//! notifications, written into the outbox's bookkeeping table (`public.notifications`) in
//! the batch's transaction. It keeps no table of its own: every row follows from one event
//! (its id and the kind name the row), so a rebuild inserts nothing new and changes only
//! what is still pending.

use linkway_events::case::{AppointmentCancelReason, CaseEvent};
use linkway_events::{Event, PersonEvent};
use linkway_platform::projection::ProjectionError;
use linkway_platform::{Projected, Projection};
use time::{Duration, OffsetDateTime};
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::{Kind, store};

/// The notifications projection; reminders fall due `reminder_hours` before the start.
pub struct Notifications {
    pub reminder_hours: i64,
}

impl Notifications {
    pub const NAME: &'static str = "notifications";
}

/// A notification an event makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    pub event_id: Uuid,
    pub kind: Kind,
    pub referral_id: Uuid,
    pub appointment_id: Uuid,
    pub starts_at: OffsetDateTime,
    /// `None`: at once.
    pub due_at: Option<OffsetDateTime>,
}

/// What one event does to the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Add(NewNotification),
    /// Pending reminders of this appointment but the one `keep` names are cancelled.
    CancelReminders {
        appointment_id: Uuid,
        keep: Option<Uuid>,
    },
    /// Every pending notification of this referral is erased.
    Erase {
        referral_id: Uuid,
    },
}

/// The changes one event makes (pure). A reminder is made only when it falls due after
/// the event (an appointment booked for within the reminder window gets none).
pub fn changes(p: &Projected, reminder_hours: i64) -> Vec<Change> {
    let event_id = p.envelope.event_id;
    let at = p.envelope.occurred_at;
    let add = |kind, referral_id, appointment_id, starts_at, due_at| {
        Change::Add(NewNotification {
            event_id,
            kind,
            referral_id,
            appointment_id,
            starts_at,
            due_at,
        })
    };
    let reminder = |referral_id, appointment_id, starts_at: OffsetDateTime| {
        let due = starts_at - Duration::hours(reminder_hours);
        (due > at).then(|| {
            add(
                Kind::Reminder,
                referral_id,
                appointment_id,
                starts_at,
                Some(due),
            )
        })
    };
    match &p.event {
        Event::Case(CaseEvent::AppointmentBooked(b)) => {
            let mut out = vec![add(
                Kind::Confirmation,
                b.referral_id,
                b.appointment_id,
                b.starts_at,
                None,
            )];
            out.extend(reminder(b.referral_id, b.appointment_id, b.starts_at));
            out
        }
        Event::Case(CaseEvent::AppointmentMoved(m)) => {
            let mut out = vec![
                Change::CancelReminders {
                    appointment_id: m.appointment_id,
                    keep: Some(event_id),
                },
                add(
                    Kind::Moved,
                    m.referral_id,
                    m.appointment_id,
                    m.starts_at,
                    None,
                ),
            ];
            out.extend(reminder(m.referral_id, m.appointment_id, m.starts_at));
            out
        }
        Event::Case(CaseEvent::AppointmentCancelled(c)) => {
            let mut out = vec![Change::CancelReminders {
                appointment_id: c.appointment_id,
                keep: None,
            }];
            // A missed one is past: nothing to tell the person about it here.
            if c.reason != AppointmentCancelReason::Missed {
                // The time it was at is the sender's to read from the case; the row keeps
                // the event's time as a placeholder start.
                out.push(add(
                    Kind::Cancellation,
                    c.referral_id,
                    c.appointment_id,
                    at,
                    None,
                ));
            }
            out
        }
        Event::Person(PersonEvent::Erased(e)) => vec![Change::Erase {
            referral_id: e.referral_id,
        }],
        _ => Vec::new(),
    }
}

impl Projection for Notifications {
    const NAME: &'static str = "notifications";
    const VERSION: i32 = 1;
    // Its rows are the outbox's bookkeeping (migrations/V4__notifications.sql).
    const TABLES: &'static str = "";

    fn reads(aggregate_kind: &str) -> bool {
        matches!(aggregate_kind, "case" | "person")
    }

    async fn apply(
        &self,
        tx: &Transaction<'_>,
        batch: &[Projected],
    ) -> Result<(), ProjectionError> {
        for p in batch {
            for change in changes(p, self.reminder_hours) {
                store::apply(tx, &change).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
