//! The case: one referral's journey through a link-worker service, as pure logic.
//!
//! [`Case`] is folded from the referral's events (received, routed, withdrawn ...) and the
//! case's own events; [`decide`] turns a [`Command`] into the events it causes, or a
//! [`Refusal`] naming the rule it breaks. No I/O here: the HTTP layer loads the events,
//! calls [`decide`] and appends; the caseload projection folds with the same [`Case::apply`],
//! so what a command sees and what the caseload shows can never disagree.
//!
//! The journey:
//!
//! ```text
//! routed --accept--> accepted --assign--> assigned --contact made--> engaged --plan--> plan_agreed
//!    |                                       | N attempts                               | reviews, connections,
//!    +--decline--> declined                  v                                          | outcomes, contacts
//!                                     could_not_contact --contact made--> engaged       v
//! accepted|assigned|could_not_contact|engaged|plan_agreed --close--> closed
//! ```
//!
//! Safeguarding concerns are accepted in every state (a concern is never refused: refusing
//! one is the hazard "a safeguarding disclosure not escalated").
//!
//! Here: the case's types and its fold ([`Case::apply`]). [`rules`] holds the commands, the
//! [`Policy`] they depend on, and [`decide`] with its rules; all re-exported here.

use linkway_events::case::{
    CaseEvent, ClosureReason, ContactChannel, ContactOutcome, DeclineReason, PlanPersonal,
    Timepoint,
};
use linkway_events::common::Coding;
use linkway_events::referral::{ReferralEvent, ReferralPersonal, Urgency, age_band, age_on};
use linkway_events::{Event, PersonEvent};
use linkway_platform::registry::routing::district_of;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

pub mod appointments;
pub mod connections;
pub mod rules;
pub mod timers;

pub use appointments::{Appointment, AppointmentCommand, AppointmentInput, AppointmentStatus};
pub use connections::{Connection, ConnectionStatus};
pub use rules::*;

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// The referral arrived but has not been routed to any service yet.
    Received,
    /// Routed to a link-worker service, which has not answered yet.
    Routed,
    Accepted,
    /// A link worker holds the case; trying to reach the person.
    Assigned,
    /// The configured number of contact attempts all failed.
    CouldNotContact,
    /// The link worker has spoken with or met the person.
    Engaged,
    /// A personalised care and support plan is agreed (and possibly reviewed since).
    PlanAgreed,
    Declined,
    Closed,
    /// The referrer withdrew the referral, or it was entered in error.
    Withdrawn,
}

impl CaseState {
    pub const ALL: [CaseState; 10] = [
        CaseState::Received,
        CaseState::Routed,
        CaseState::Accepted,
        CaseState::Assigned,
        CaseState::CouldNotContact,
        CaseState::Engaged,
        CaseState::PlanAgreed,
        CaseState::Declined,
        CaseState::Closed,
        CaseState::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::Received => "received",
            CaseState::Routed => "routed",
            CaseState::Accepted => "accepted",
            CaseState::Assigned => "assigned",
            CaseState::CouldNotContact => "could_not_contact",
            CaseState::Engaged => "engaged",
            CaseState::PlanAgreed => "plan_agreed",
            CaseState::Declined => "declined",
            CaseState::Closed => "closed",
            CaseState::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<CaseState> {
        CaseState::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Open cases are the ones on a link worker's working caseload.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            CaseState::Routed
                | CaseState::Accepted
                | CaseState::Assigned
                | CaseState::CouldNotContact
                | CaseState::Engaged
                | CaseState::PlanAgreed
        )
    }
}

/// The agreed plan, latest version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Plan {
    #[serde(with = "linkway_events::common::calendar_date")]
    pub review_date: Date,
    pub goal_count: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub agreed_at: OffsetDateTime,
    /// Reviews since it was first agreed.
    pub reviews: u32,
    /// "What matters to me", goals and actions, in the person's words.
    /// `None` once the person is erased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal: Option<PlanPersonal>,
}

/// A scored outcome measure on the case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Outcome {
    pub instrument: String,
    pub instrument_version: String,
    pub algorithm_version: u32,
    pub timepoint: Timepoint,
    pub item_answers: Vec<u8>,
    pub raw_score: Option<u32>,
    pub derived_score: Option<f64>,
    /// The person's own words the measure scored (MYCaW's concerns, in item order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal: Option<linkway_events::case::OutcomePersonal>,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
}

/// One contact with (or attempt to reach) the person, for the case's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ContactEntry {
    pub kind: ContactKind,
    pub channel: ContactChannel,
    /// How an attempt ended, when the link worker said (`case.contact_attempted` v2).
    /// Absent for contacts made and for attempts recorded without one (every v1 attempt
    /// reads as `not_recorded`), so a record written before v2 is what its rebuild writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<ContactOutcome>,
    pub minutes: u32,
    /// What was said (personal).
    pub notes: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A safeguarding concern raised on the case (personal).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Concern {
    /// `None` once the person is erased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concern: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub raised_at: OffsetDateTime,
}

/// One thing that happened to the case, for its timeline: when, the event's type, and
/// what it said in codes and names of services (never the person's details).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Happened {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// e.g. `case.accepted`.
    pub event_type: String,
    /// e.g. a decline reason, a channel, a service's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Everything known about one case, folded from the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub referral_id: Uuid,
    pub state: CaseState,
    /// The link-worker organisation the referral was (last) routed to.
    pub organisation_id: Option<String>,
    pub referrer_organisation_id: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub received_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub routed_at: Option<OffsetDateTime>,
    pub urgency: Option<Urgency>,
    pub needs: Vec<Coding>,
    pub postcode_district: Option<String>,
    pub age_band: Option<String>,
    /// The referrer flagged a safeguarding concern.
    pub referral_safeguarding: bool,
    /// Safeguarding concerns raised on the case since.
    pub safeguarding_raised: u32,
    /// The person's identity and contact details: for the routed organisation only.
    pub personal: Option<ReferralPersonal>,
    pub link_worker_id: Option<String>,
    /// Failed attempts to reach the person before the first contact.
    pub contact_attempts: u32,
    pub contacts_made: u32,
    pub contact_minutes: u32,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_contact_at: Option<OffsetDateTime>,
    /// Every contact and attempt, oldest first.
    #[serde(default)]
    pub contacts: Vec<ContactEntry>,
    /// Safeguarding concerns raised on the case, oldest first.
    #[serde(default)]
    pub concerns: Vec<Concern>,
    pub plan: Option<Plan>,
    pub connections: Vec<Connection>,
    /// Appointments with the person, in the order booked.
    #[serde(default)]
    pub appointments: Vec<Appointment>,
    pub outcomes: Vec<Outcome>,
    pub decline_reason: Option<DeclineReason>,
    pub closure_reason: Option<ClosureReason>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    /// Every referral and case event, oldest first (the case page's timeline).
    #[serde(default)]
    pub history: Vec<Happened>,
    /// The person was erased (`person.erased`): nothing of theirs is kept, and the case
    /// takes no command.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub erased: bool,
    /// Stream sequence of the case aggregate's last event; 0 when it has none yet. The next
    /// append expects it.
    pub last_case_sequence: u64,
    /// Stream sequence of the last event (referral or case) folded in.
    pub last_sequence: u64,
}

impl Case {
    pub fn new(referral_id: Uuid) -> Case {
        Case {
            referral_id,
            state: CaseState::Received,
            organisation_id: None,
            referrer_organisation_id: None,
            received_at: None,
            routed_at: None,
            urgency: None,
            needs: Vec::new(),
            postcode_district: None,
            age_band: None,
            referral_safeguarding: false,
            safeguarding_raised: 0,
            personal: None,
            link_worker_id: None,
            contact_attempts: 0,
            contacts_made: 0,
            contact_minutes: 0,
            last_contact_at: None,
            contacts: Vec::new(),
            concerns: Vec::new(),
            plan: None,
            connections: Vec::new(),
            appointments: Vec::new(),
            outcomes: Vec::new(),
            decline_reason: None,
            closure_reason: None,
            ended_at: None,
            history: Vec::new(),
            erased: false,
            last_case_sequence: 0,
            last_sequence: 0,
        }
    }

    /// True when the referral itself is known (received) and routed somewhere.
    pub fn exists(&self) -> bool {
        self.received_at.is_some()
    }

    pub fn safeguarding(&self) -> bool {
        self.referral_safeguarding || self.safeguarding_raised > 0
    }

    /// Folds one event in. Events of other aggregates and other referrals are ignored.
    pub fn apply(&mut self, sequence: u64, occurred_at: OffsetDateTime, event: &Event) {
        if !matches!(event, Event::Registry(_) | Event::Audit(_)) {
            self.history.push(Happened {
                at: occurred_at,
                event_type: event.type_name().to_owned(),
                detail: self.detail(event),
            });
        }
        match event {
            Event::Referral(e) => self.apply_referral(occurred_at, e),
            Event::Case(e) => {
                self.apply_case(occurred_at, e);
                self.last_case_sequence = sequence;
            }
            Event::Person(PersonEvent::Erased(_)) => self.erase(),
            Event::Registry(_) | Event::Audit(_) => return,
        }
        self.last_sequence = self.last_sequence.max(sequence);
    }

    /// Forgets everything the person said or is: identity and contact details, notes,
    /// the plan's words, concerns, measures' words. Codes, counts and dates stay, as in
    /// the log; a rebuild reaches the same case, since the key that opened them is gone.
    fn erase(&mut self) {
        self.erased = true;
        self.personal = None;
        for c in &mut self.contacts {
            c.notes = None;
        }
        for c in &mut self.concerns {
            c.concern = None;
        }
        if let Some(plan) = &mut self.plan {
            plan.personal = None;
        }
        for o in &mut self.outcomes {
            o.personal = None;
        }
        self.erase_appointments();
    }

    fn apply_referral(&mut self, at: OffsetDateTime, event: &ReferralEvent) {
        match event {
            ReferralEvent::Received(r) => {
                self.referrer_organisation_id = Some(r.referrer_organisation_id.clone());
                self.received_at = Some(at);
                self.urgency = Some(r.urgency);
                self.needs = r.needs.clone();
                self.postcode_district = Some(r.postcode_district.clone());
                self.age_band = Some(r.age_band.clone());
                self.referral_safeguarding = r.safeguarding_concern;
                self.personal = r.personal.clone();
            }
            ReferralEvent::Routed(r) => {
                self.organisation_id = Some(r.link_worker_organisation_id.clone());
                self.routed_at = Some(at);
                if self.state == CaseState::Received {
                    self.state = CaseState::Routed;
                }
            }
            ReferralEvent::Unroutable(_) => {}
            // Rectification: the corrected personal part replaces the whole one before, and
            // moves the district and the age band (on the day received, as intake's submit
            // worked it out). Withheld (erased, or no key): nothing to work them out from.
            ReferralEvent::PersonCorrected(c) => {
                if let Some(p) = &c.personal {
                    let person = &p.person;
                    if let Some(district) = district_of(&person.address.postcode) {
                        self.postcode_district = Some(district);
                    }
                    if let Some(received) = self.received_at {
                        let on = received.to_offset(time::UtcOffset::UTC).date();
                        self.age_band = Some(age_band(age_on(person.birth_date, on)).to_owned());
                    }
                }
                self.personal = c.personal.clone();
            }
            ReferralEvent::Withdrawn(_) | ReferralEvent::EnteredInError(_) => {
                if !matches!(self.state, CaseState::Closed | CaseState::Declined) {
                    self.state = CaseState::Withdrawn;
                    self.ended_at = Some(at);
                }
            }
        }
    }

    fn apply_case(&mut self, at: OffsetDateTime, event: &CaseEvent) {
        match event {
            CaseEvent::Accepted(_) => self.state = CaseState::Accepted,
            CaseEvent::Declined(d) => {
                self.state = CaseState::Declined;
                self.decline_reason = Some(d.reason);
                self.ended_at = Some(at);
            }
            CaseEvent::Assigned(a) => {
                self.link_worker_id = Some(a.link_worker_id.clone());
                if self.state == CaseState::Accepted {
                    self.state = CaseState::Assigned;
                }
            }
            CaseEvent::ContactAttempted(a) => {
                self.contacts.push(ContactEntry {
                    kind: ContactKind::Attempt,
                    channel: a.channel,
                    outcome: Some(a.outcome).filter(|o| *o != ContactOutcome::NotRecorded),
                    minutes: 0,
                    notes: None,
                    at,
                });
                if self.contacts_made == 0 {
                    self.contact_attempts = a.attempt_number;
                }
                if a.could_not_contact {
                    self.state = CaseState::CouldNotContact;
                }
            }
            CaseEvent::ContactMade(c) => {
                self.contacts.push(ContactEntry {
                    kind: ContactKind::Made,
                    channel: c.channel,
                    outcome: None,
                    minutes: c.minutes,
                    notes: c.personal.as_ref().map(|p| p.notes.clone()),
                    at,
                });
                self.contacts_made += 1;
                self.contact_minutes += c.minutes;
                self.last_contact_at = Some(at);
                if matches!(self.state, CaseState::Assigned | CaseState::CouldNotContact) {
                    self.state = CaseState::Engaged;
                }
            }
            CaseEvent::PlanAgreed(p) => {
                self.plan = Some(Plan {
                    review_date: p.review_date,
                    goal_count: p.goal_count,
                    agreed_at: at,
                    reviews: 0,
                    personal: p.personal.clone(),
                });
                self.state = CaseState::PlanAgreed;
            }
            CaseEvent::PlanReviewed(p) => {
                if let Some(plan) = &mut self.plan {
                    plan.review_date = p.next_review_date;
                    plan.goal_count = p.goal_count;
                    plan.reviews += 1;
                    plan.personal = p.personal.clone();
                }
            }
            CaseEvent::ConnectionMade(c) => self.connections.push(Connection {
                connection_id: c.connection_id,
                service_id: c.service_id.clone(),
                service_name: c.service_name.clone(),
                status: ConnectionStatus::Pending,
                legal_basis: c.legal_basis,
                shared: c.shared.clone(),
                made_at: at,
                answered_at: None,
                reminded_at: None,
                decline_reason: None,
            }),
            CaseEvent::ConnectionAccepted(c) => {
                self.answer(c.connection_id, ConnectionStatus::Accepted, at)
            }
            CaseEvent::ConnectionDeclined(c) => {
                self.answer(c.connection_id, ConnectionStatus::Declined, at);
                if let Some(connection) = self.connection_mut(c.connection_id) {
                    connection.decline_reason.get_or_insert(c.reason);
                }
            }
            CaseEvent::ConnectionReminded(c) => {
                if let Some(connection) = self.connection_mut(c.connection_id) {
                    connection.reminded_at.get_or_insert(at);
                }
            }
            CaseEvent::ConnectionAttended(c) => {
                self.answer(c.connection_id, ConnectionStatus::Attended, at)
            }
            CaseEvent::OutcomeRecorded(o) => self.outcomes.push(Outcome {
                instrument: o.instrument.clone(),
                instrument_version: o.instrument_version.clone(),
                algorithm_version: o.algorithm_version,
                timepoint: o.timepoint,
                item_answers: o.item_answers.clone(),
                raw_score: o.raw_score,
                derived_score: o.derived_score,
                personal: o.personal.clone(),
                recorded_at: at,
            }),
            CaseEvent::SafeguardingRaised(r) => {
                self.safeguarding_raised += 1;
                self.concerns.push(Concern {
                    concern: r.personal.as_ref().map(|p| p.concern.clone()),
                    raised_at: at,
                });
            }
            CaseEvent::AppointmentBooked(_)
            | CaseEvent::AppointmentMoved(_)
            | CaseEvent::AppointmentCancelled(_) => self.apply_appointment(at, event),
            CaseEvent::Closed(c) => {
                self.state = CaseState::Closed;
                self.closure_reason = Some(c.reason);
                self.ended_at = Some(at);
            }
        }
    }

    /// What the timeline says of `event` beside its type (codes, a service's name).
    fn detail(&self, event: &Event) -> Option<String> {
        let service = |id: Uuid| self.connection(id).map(|c| c.service_name.clone());
        match event {
            Event::Case(CaseEvent::Declined(d)) => Some(code(&d.reason)),
            Event::Case(CaseEvent::Assigned(a)) => Some(a.link_worker_id.clone()),
            Event::Case(CaseEvent::ContactAttempted(a)) => {
                Some(format!("{} {}", code(&a.channel), code(&a.outcome)))
            }
            Event::Case(CaseEvent::ContactMade(c)) => {
                Some(format!("{} {}", code(&c.channel), c.minutes))
            }
            Event::Case(CaseEvent::ConnectionMade(c)) => Some(c.service_name.clone()),
            Event::Case(CaseEvent::ConnectionAccepted(c)) => service(c.connection_id),
            Event::Case(CaseEvent::ConnectionDeclined(c)) => {
                service(c.connection_id).map(|name| format!("{name}: {}", c.reason.as_str()))
            }
            Event::Case(CaseEvent::ConnectionReminded(c)) => service(c.connection_id),
            Event::Case(CaseEvent::ConnectionAttended(c)) => service(c.connection_id),
            Event::Case(CaseEvent::OutcomeRecorded(o)) => {
                Some(format!("{} {}", o.instrument, code(&o.timepoint)))
            }
            Event::Case(CaseEvent::Closed(c)) => Some(code(&c.reason)),
            Event::Case(CaseEvent::AppointmentBooked(b)) => Some(code(&b.channel)),
            Event::Case(CaseEvent::AppointmentMoved(m)) => Some(code(&m.channel)),
            Event::Case(CaseEvent::AppointmentCancelled(c)) => Some(code(&c.reason)),
            _ => None,
        }
    }
}

/// An enum's snake_case code, as its events spell it.
fn code<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests;
