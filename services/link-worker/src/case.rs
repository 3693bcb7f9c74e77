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

use linkway_events::Event;
use linkway_events::case::SharedDetail;
use linkway_events::case::{
    CaseAccepted, CaseAssigned, CaseClosed, CaseDeclined, CaseEvent, ClosureReason,
    ConnectionAccepted, ConnectionAttended, ConnectionDeclined, ConnectionMade, ContactAttempted,
    ContactChannel, ContactMade, ContactPersonal, DeclineReason, OutcomeRecorded, PlanAgreed,
    PlanPersonal, Timepoint,
};
use linkway_events::common::{Coding, SNOMED_SOCIAL_PRESCRIBING_DECLINED};
use linkway_events::referral::{LegalBasis, ReferralEvent, ReferralPersonal, Urgency};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

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
    pub personal: PlanPersonal,
}

/// How an onward connection to a community service stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    /// Sent; the service has not answered.
    Pending,
    Accepted,
    Declined,
    /// The person took part.
    Attended,
}

/// One onward referral to a directory service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    pub connection_id: Uuid,
    pub service_id: String,
    pub service_name: String,
    pub status: ConnectionStatus,
    /// The lawful basis the person's details were shared on.
    #[serde(default)]
    pub legal_basis: Option<LegalBasis>,
    /// What was shared with the service.
    #[serde(default)]
    pub shared: Vec<SharedDetail>,
    #[serde(with = "time::serde::rfc3339")]
    pub made_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub answered_at: Option<OffsetDateTime>,
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
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
}

/// One contact with (or attempt to reach) the person, for the case's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ContactEntry {
    pub kind: ContactKind,
    pub channel: ContactChannel,
    pub minutes: u32,
    /// What was said (personal).
    pub notes: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A safeguarding concern raised on the case (personal).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Concern {
    pub concern: String,
    #[serde(with = "time::serde::rfc3339")]
    pub raised_at: OffsetDateTime,
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
    pub outcomes: Vec<Outcome>,
    pub decline_reason: Option<DeclineReason>,
    pub closure_reason: Option<ClosureReason>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
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
            outcomes: Vec::new(),
            decline_reason: None,
            closure_reason: None,
            ended_at: None,
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

    /// The oldest onward connection still waiting for the service's answer.
    pub fn oldest_pending_connection(&self) -> Option<OffsetDateTime> {
        self.connections
            .iter()
            .filter(|c| c.status == ConnectionStatus::Pending)
            .map(|c| c.made_at)
            .min()
    }

    /// Folds one event in. Events of other aggregates and other referrals are ignored.
    pub fn apply(&mut self, sequence: u64, occurred_at: OffsetDateTime, event: &Event) {
        match event {
            Event::Referral(e) => self.apply_referral(occurred_at, e),
            Event::Case(e) => {
                self.apply_case(occurred_at, e);
                self.last_case_sequence = sequence;
            }
            Event::Registry(_) => return,
        }
        self.last_sequence = self.last_sequence.max(sequence);
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
                self.personal = Some(r.personal.clone());
            }
            ReferralEvent::Routed(r) => {
                self.organisation_id = Some(r.link_worker_organisation_id.clone());
                self.routed_at = Some(at);
                if self.state == CaseState::Received {
                    self.state = CaseState::Routed;
                }
            }
            ReferralEvent::Unroutable(_) => {}
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
            }),
            CaseEvent::ConnectionAccepted(c) => {
                self.answer(c.connection_id, ConnectionStatus::Accepted, at)
            }
            CaseEvent::ConnectionDeclined(c) => {
                self.answer(c.connection_id, ConnectionStatus::Declined, at)
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
                recorded_at: at,
            }),
            CaseEvent::SafeguardingRaised(r) => {
                self.safeguarding_raised += 1;
                self.concerns.push(Concern {
                    concern: r.personal.concern.clone(),
                    raised_at: at,
                });
            }
            CaseEvent::Closed(c) => {
                self.state = CaseState::Closed;
                self.closure_reason = Some(c.reason);
                self.ended_at = Some(at);
            }
        }
    }

    fn answer(&mut self, connection_id: Uuid, status: ConnectionStatus, at: OffsetDateTime) {
        if let Some(c) = self
            .connections
            .iter_mut()
            .find(|c| c.connection_id == connection_id)
        {
            c.status = status;
            c.answered_at.get_or_insert(at);
        }
    }

    fn connection(&self, connection_id: Uuid) -> Option<&Connection> {
        self.connections
            .iter()
            .find(|c| c.connection_id == connection_id)
    }
}

/// Settings the decisions depend on (configuration, not hard-wired).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Failed attempts after which a case is marked could-not-contact.
    pub max_contact_attempts: u32,
    /// Days after which an unanswered onward connection is flagged.
    pub connection_answer_days: i64,
}

/// A setting that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} must be a whole number from {min} to {max}; got {value:?}")]
pub struct PolicyError {
    pub name: &'static str,
    pub value: String,
    pub min: i64,
    pub max: i64,
}

impl Policy {
    /// Reads `LINKWAY_MAX_CONTACT_ATTEMPTS` (1-20, default 3) and
    /// `LINKWAY_CONNECTION_ANSWER_DAYS` (1-365, default 14) through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Policy, PolicyError> {
        let read = |name: &'static str, default: i64, min: i64, max: i64| match lookup(name) {
            None => Ok(default),
            Some(value) => value
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|v| (min..=max).contains(v))
                .ok_or(PolicyError {
                    name,
                    value,
                    min,
                    max,
                }),
        };
        let defaults = Policy::default();
        Ok(Policy {
            max_contact_attempts: read(
                "LINKWAY_MAX_CONTACT_ATTEMPTS",
                i64::from(defaults.max_contact_attempts),
                1,
                20,
            )? as u32,
            connection_answer_days: read(
                "LINKWAY_CONNECTION_ANSWER_DAYS",
                defaults.connection_answer_days,
                1,
                365,
            )?,
        })
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_contact_attempts: 3,
            connection_answer_days: 14,
        }
    }
}

/// Whether a contact reached the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    Attempt,
    Made,
}

/// What a community service answered to an onward connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionResponse {
    Accepted,
    Declined,
    Attended,
}

/// A directory service as a connection needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRef {
    pub id: String,
    pub name: String,
    /// Open Referral status: active | inactive | defunct | temporarily closed.
    pub status: String,
}

/// A plan as agreed or reviewed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanInput {
    pub review_date: Date,
    pub what_matters: String,
    pub goals: Vec<String>,
    pub actions: Vec<String>,
}

/// What a link worker (or service manager) asks to do with a case. Inputs are already
/// validated for shape; [`decide`] checks only whether the step is legal now.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Accept,
    Decline {
        reason: DeclineReason,
    },
    Assign {
        link_worker_id: String,
    },
    RecordContact {
        kind: ContactKind,
        channel: ContactChannel,
        minutes: u32,
        notes: Option<String>,
    },
    AgreePlan(PlanInput),
    ReviewPlan(PlanInput),
    ConnectService {
        connection_id: Uuid,
        service: ServiceRef,
        /// The lawful basis for sharing the person's details with the service.
        legal_basis: LegalBasis,
        /// The details shared: the minimum the service needs.
        shared: Vec<SharedDetail>,
    },
    RecordConnectionResponse {
        connection_id: Uuid,
        response: ConnectionResponse,
    },
    RecordOutcome(crate::outcomes::Scored),
    RaiseSafeguarding {
        concern: String,
    },
    Close {
        reason: ClosureReason,
    },
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::Accept => "acceptReferral",
            Command::Decline { .. } => "declineReferral",
            Command::Assign { .. } => "assignCase",
            Command::RecordContact { .. } => "recordContact",
            Command::AgreePlan(_) => "agreePlan",
            Command::ReviewPlan(_) => "reviewPlan",
            Command::ConnectService { .. } => "connectService",
            Command::RecordConnectionResponse { .. } => "recordConnectionResponse",
            Command::RecordOutcome(_) => "recordOutcome",
            Command::RaiseSafeguarding { .. } => "raiseSafeguarding",
            Command::Close { .. } => "closeCase",
        }
    }
}

/// Why a command may not happen now. `rule` is stable, for machines.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    pub rule: &'static str,
    pub message: String,
}

fn refuse(rule: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        rule,
        message: message.into(),
    }
}

/// Checks that the case is in one of `allowed` states, naming the rule otherwise.
fn require(
    case: &Case,
    command: &str,
    allowed: &[CaseState],
    rule: &'static str,
) -> Result<(), Refusal> {
    if allowed.contains(&case.state) {
        Ok(())
    } else {
        Err(refuse(
            rule,
            format!(
                "{command} is not allowed while the case is {}; allowed when {}",
                case.state.as_str(),
                allowed
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ))
    }
}

/// Accepted and not yet ended: the states in which the service works with the person.
const ACTIVE: &[CaseState] = &[
    CaseState::Accepted,
    CaseState::Assigned,
    CaseState::CouldNotContact,
    CaseState::Engaged,
    CaseState::PlanAgreed,
];
const CONTACTABLE: &[CaseState] = &[
    CaseState::Assigned,
    CaseState::CouldNotContact,
    CaseState::Engaged,
    CaseState::PlanAgreed,
];
const ENGAGED: &[CaseState] = &[CaseState::Engaged, CaseState::PlanAgreed];

/// Decides what a command causes. Pure: the same case, command and policy always give the
/// same answer.
pub fn decide(case: &Case, command: &Command, policy: &Policy) -> Result<Vec<CaseEvent>, Refusal> {
    let id = case.referral_id;
    let name = command.name();
    let org = || case.organisation_id.clone().unwrap_or_default();
    let event = match command {
        Command::Accept => {
            require(case, name, &[CaseState::Routed], "accept_requires_routed")?;
            CaseEvent::Accepted(CaseAccepted {
                referral_id: id,
                link_worker_organisation_id: org(),
            })
        }
        Command::Decline { reason } => {
            require(case, name, &[CaseState::Routed], "decline_requires_routed")?;
            CaseEvent::Declined(CaseDeclined {
                referral_id: id,
                link_worker_organisation_id: org(),
                reason: *reason,
                reason_code: (*reason == DeclineReason::PersonDeclined).then(|| {
                    Coding::snomed(
                        SNOMED_SOCIAL_PRESCRIBING_DECLINED,
                        "Social prescribing declined",
                    )
                }),
            })
        }
        Command::Assign { link_worker_id } => {
            require(case, name, ACTIVE, "assign_requires_active_case")?;
            if case.link_worker_id.as_deref() == Some(link_worker_id.as_str()) {
                return Err(refuse(
                    "already_assigned",
                    format!("the case is already assigned to {link_worker_id}"),
                ));
            }
            CaseEvent::Assigned(CaseAssigned {
                referral_id: id,
                link_worker_id: link_worker_id.clone(),
            })
        }
        Command::RecordContact {
            kind,
            channel,
            minutes,
            notes,
        } => {
            require(case, name, CONTACTABLE, "contact_requires_assigned_case")?;
            match kind {
                ContactKind::Attempt => {
                    let attempt_number = if case.contacts_made == 0 {
                        case.contact_attempts + 1
                    } else {
                        1
                    };
                    CaseEvent::ContactAttempted(ContactAttempted {
                        referral_id: id,
                        channel: *channel,
                        attempt_number,
                        could_not_contact: case.state == CaseState::Assigned
                            && case.contacts_made == 0
                            && attempt_number >= policy.max_contact_attempts,
                    })
                }
                ContactKind::Made => CaseEvent::ContactMade(ContactMade {
                    referral_id: id,
                    channel: *channel,
                    minutes: *minutes,
                    personal: notes.clone().map(|notes| ContactPersonal { notes }),
                }),
            }
        }
        Command::AgreePlan(plan) => {
            require(
                case,
                name,
                &[CaseState::Engaged],
                "plan_requires_contact_made",
            )?;
            CaseEvent::PlanAgreed(PlanAgreed {
                referral_id: id,
                review_date: plan.review_date,
                goal_count: plan.goals.len() as u32,
                personal: plan_personal(plan),
            })
        }
        Command::ReviewPlan(plan) => {
            require(
                case,
                name,
                &[CaseState::PlanAgreed],
                "review_requires_agreed_plan",
            )?;
            CaseEvent::PlanReviewed(linkway_events::case::PlanReviewed {
                referral_id: id,
                next_review_date: plan.review_date,
                goal_count: plan.goals.len() as u32,
                personal: plan_personal(plan),
            })
        }
        Command::ConnectService {
            connection_id,
            service,
            legal_basis,
            shared,
        } => {
            require(
                case,
                name,
                &[CaseState::PlanAgreed],
                "connection_requires_agreed_plan",
            )?;
            if matches!(service.status.as_str(), "inactive" | "defunct") {
                return Err(refuse(
                    "service_not_accepting_connections",
                    format!(
                        "the directory service {} is {} and takes no new connections",
                        service.id, service.status
                    ),
                ));
            }
            if case.connection(*connection_id).is_some() {
                return Err(refuse(
                    "connection_exists",
                    "a connection with this id already exists",
                ));
            }
            let open = case.connections.iter().any(|c| {
                c.service_id == service.id
                    && matches!(
                        c.status,
                        ConnectionStatus::Pending | ConnectionStatus::Accepted
                    )
            });
            if open {
                return Err(refuse(
                    "connection_already_open",
                    format!(
                        "the person already has an open connection to {}",
                        service.id
                    ),
                ));
            }
            CaseEvent::ConnectionMade(ConnectionMade {
                referral_id: id,
                connection_id: *connection_id,
                service_id: service.id.clone(),
                service_name: service.name.clone(),
                legal_basis: Some(*legal_basis),
                shared: shared.clone(),
            })
        }
        Command::RecordConnectionResponse {
            connection_id,
            response,
        } => {
            require(
                case,
                name,
                ENGAGED,
                "connection_response_requires_open_plan",
            )?;
            let Some(connection) = case.connection(*connection_id) else {
                return Err(refuse(
                    "connection_unknown",
                    "the case has no connection with this id",
                ));
            };
            let legal = match response {
                ConnectionResponse::Accepted | ConnectionResponse::Declined => {
                    connection.status == ConnectionStatus::Pending
                }
                ConnectionResponse::Attended => {
                    matches!(
                        connection.status,
                        ConnectionStatus::Pending | ConnectionStatus::Accepted
                    )
                }
            };
            if !legal {
                return Err(refuse(
                    "connection_already_answered",
                    format!("the connection is already {:?}", connection.status).to_lowercase(),
                ));
            }
            let (referral_id, connection_id) = (id, *connection_id);
            match response {
                ConnectionResponse::Accepted => CaseEvent::ConnectionAccepted(ConnectionAccepted {
                    referral_id,
                    connection_id,
                }),
                ConnectionResponse::Declined => CaseEvent::ConnectionDeclined(ConnectionDeclined {
                    referral_id,
                    connection_id,
                }),
                ConnectionResponse::Attended => CaseEvent::ConnectionAttended(ConnectionAttended {
                    referral_id,
                    connection_id,
                }),
            }
        }
        Command::RecordOutcome(scored) => {
            require(case, name, ENGAGED, "outcome_requires_engaged_case")?;
            CaseEvent::OutcomeRecorded(OutcomeRecorded {
                referral_id: id,
                instrument: scored.instrument.to_owned(),
                instrument_version: scored.instrument_version.to_owned(),
                algorithm_version: scored.algorithm_version,
                timepoint: scored.timepoint,
                item_answers: scored.item_answers.clone(),
                raw_score: scored.raw_score,
                derived_score: scored.derived_score,
            })
        }
        Command::RaiseSafeguarding { concern } => {
            if case.state == CaseState::Received {
                return Err(refuse(
                    "safeguarding_requires_routed",
                    "the referral has not reached a service",
                ));
            }
            CaseEvent::SafeguardingRaised(linkway_events::case::SafeguardingRaised {
                referral_id: id,
                personal: linkway_events::case::SafeguardingPersonal {
                    concern: concern.clone(),
                },
            })
        }
        Command::Close { reason } => {
            require(case, name, ACTIVE, "close_requires_active_case")?;
            if *reason == ClosureReason::CouldNotContact && case.state != CaseState::CouldNotContact
            {
                return Err(refuse(
                    "could_not_contact_requires_attempts",
                    format!(
                        "closing as could_not_contact needs {} failed contact attempts first",
                        policy.max_contact_attempts
                    ),
                ));
            }
            CaseEvent::Closed(CaseClosed {
                referral_id: id,
                reason: *reason,
            })
        }
    };
    Ok(vec![event])
}

fn plan_personal(plan: &PlanInput) -> PlanPersonal {
    PlanPersonal {
        what_matters: plan.what_matters.clone(),
        goals: plan.goals.clone(),
        actions: plan.actions.clone(),
    }
}

#[cfg(test)]
mod tests;
