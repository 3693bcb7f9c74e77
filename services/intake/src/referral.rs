//! A referral as its own events and its case's events tell it: what intake's commands
//! decide on. Pure: no I/O.

use linkway_events::Event;
use linkway_events::case::CaseEvent;
use linkway_events::referral::{ReferralEvent, ReferralReceived};
use linkway_platform::command::Recorded;

use crate::read_model::Status;

/// One referral aggregate (both its subjects), folded.
#[derive(Debug, Clone, Default)]
pub struct Referral {
    /// `None` until `referral.received`: there is no such referral.
    pub received: Option<ReferralReceived>,
    pub status: Option<Status>,
    /// Sequence of the last event of the referral or its case (what `If-Match` names).
    pub version: u64,
}

impl Referral {
    pub fn fold(history: &[Recorded]) -> Referral {
        let mut referral = Referral::default();
        for r in history {
            referral.apply(r.sequence, &r.event);
        }
        referral
    }

    pub fn apply(&mut self, sequence: u64, event: &Event) {
        self.version = sequence;
        if let Event::Referral(ReferralEvent::Received(r)) = event {
            self.received = Some(r.clone());
        }
        self.status = status_after(self.status, event);
    }

    /// The referral's status, once it exists.
    pub fn status(&self) -> Status {
        self.status.unwrap_or(Status::Received)
    }

    pub fn exists(&self) -> bool {
        self.received.is_some()
    }
}

/// The status after an event. Withdrawn and entered-in-error are final: the link worker's
/// late events no longer change it (entered-in-error still overrides a withdrawal).
pub fn status_after(status: Option<Status>, event: &Event) -> Option<Status> {
    let current = status.unwrap_or(Status::Received);
    let final_status = matches!(current, Status::Withdrawn | Status::EnteredInError);
    let next = match event {
        Event::Referral(ReferralEvent::Received(_)) => Status::Received,
        Event::Referral(ReferralEvent::EnteredInError(_)) => return Some(Status::EnteredInError),
        _ if final_status => return status,
        Event::Referral(ReferralEvent::Routed(_)) => Status::Routed,
        Event::Referral(ReferralEvent::Unroutable(_)) => Status::Unroutable,
        Event::Referral(ReferralEvent::Withdrawn(_)) => Status::Withdrawn,
        Event::Case(CaseEvent::Accepted(_)) => Status::Accepted,
        Event::Case(CaseEvent::Declined(_)) => Status::Declined,
        Event::Case(CaseEvent::ContactMade(_) | CaseEvent::PlanAgreed(_))
            if matches!(current, Status::Routed | Status::Accepted) =>
        {
            Status::InProgress
        }
        Event::Case(CaseEvent::Closed(_)) => Status::Closed,
        _ => return status,
    };
    Some(next)
}
