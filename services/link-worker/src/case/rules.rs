//! The case's commands and [`decide`], the rules of the journey: which command is allowed
//! in which state, and the events it causes. Pure, like the fold it decides on.

use linkway_events::case::SharedDetail;
use linkway_events::case::{
    CaseAccepted, CaseAssigned, CaseClosed, CaseDeclined, CaseEvent, ClosureReason,
    ConnectionAccepted, ConnectionAttended, ConnectionDeclineReason, ConnectionDeclined,
    ConnectionMade, ContactAttempted, ContactChannel, ContactMade, ContactOutcome, ContactPersonal,
    DeclineReason, OutcomeRecorded, PlanAgreed, PlanPersonal,
};
use linkway_events::common::{Coding, SNOMED_SOCIAL_PRESCRIBING_DECLINED};
use linkway_events::referral::LegalBasis;
use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

use super::{Case, CaseState, ConnectionStatus};

/// Settings the decisions depend on (configuration, not hard-wired).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Failed attempts after which a case is marked could-not-contact.
    pub max_contact_attempts: u32,
    /// Days after which an unanswered onward connection is flagged and declined
    /// automatically (`no_answer_in_time`).
    pub connection_answer_days: i64,
    /// Days after which the service is reminded, once, of an unanswered connection (never
    /// once the automatic decline is due).
    pub connection_reminder_days: i64,
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
    /// Reads `LINKWAY_MAX_CONTACT_ATTEMPTS` (1-20, default 3),
    /// `LINKWAY_CONNECTION_ANSWER_DAYS` (1-365, default 14) and
    /// `LINKWAY_CONNECTION_REMINDER_DAYS` (1-365, default 7) through `lookup`.
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
            connection_reminder_days: read(
                "LINKWAY_CONNECTION_REMINDER_DAYS",
                defaults.connection_reminder_days,
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
            connection_reminder_days: 7,
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
    /// The kind of service: the directory's first taxonomy term for it (lower case).
    pub kind: Option<String>,
    /// The directory feed no longer lists it.
    pub withdrawn: bool,
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
        /// How an attempt ended (attempts only; `not_recorded` when the caller did not say).
        outcome: ContactOutcome,
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
        /// Why, for a decline (`not_recorded` when the caller did not say).
        decline_reason: ConnectionDeclineReason,
    },
    /// The timer: remind the service of a connection it has not answered
    /// ([`super::timers`]); `now` by the service's clock.
    RemindService {
        connection_id: Uuid,
        now: time::OffsetDateTime,
    },
    /// The timer: decline a connection the service has not answered in time.
    DeclineUnanswered {
        connection_id: Uuid,
        now: time::OffsetDateTime,
    },
    RecordOutcome(crate::outcomes::Scored),
    RaiseSafeguarding {
        concern: String,
    },
    Close {
        reason: ClosureReason,
    },
    /// Book, move, cancel, or record a missed appointment ([`super::appointments`]).
    Appointment(super::AppointmentCommand),
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
            Command::RemindService { .. } => "remindService",
            Command::DeclineUnanswered { .. } => "declineUnanswered",
            Command::RecordOutcome(_) => "recordOutcome",
            Command::RaiseSafeguarding { .. } => "raiseSafeguarding",
            Command::Close { .. } => "closeCase",
            Command::Appointment(a) => a.name(),
        }
    }
}

/// Why a command may not happen now. `rule` is stable, for machines.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    /// What is refused: `state` (the case's), or the request field whose value cannot be
    /// used now (`service_id`: a service taking no new connections).
    pub field: &'static str,
    pub rule: &'static str,
    pub message: String,
}

fn refuse(rule: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        field: "state",
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
    if case.erased {
        return Err(refuse(
            "person_erased",
            format!("the person was erased: the case takes no {name} or any other command"),
        ));
    }
    let org = || case.organisation_id.clone().unwrap_or_default();
    let event = match command {
        Command::Appointment(a) => return super::appointments::decide(case, a, policy),
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
            outcome,
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
                        outcome: *outcome,
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
                personal: Some(plan_personal(plan)),
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
                personal: Some(plan_personal(plan)),
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
            let why = if matches!(service.status.as_str(), "inactive" | "defunct") {
                Some(format!("is {}", service.status))
            } else if service.withdrawn {
                Some("is no longer listed by the directory feed".to_owned())
            } else {
                None
            };
            if let Some(why) = why {
                return Err(Refusal {
                    field: "service_id",
                    ..refuse(
                        "service_not_accepting_connections",
                        format!(
                            "the directory service {} {why} and takes no new connections",
                            service.id
                        ),
                    )
                });
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
                service_kind: service.kind.clone(),
                legal_basis: Some(*legal_basis),
                shared: shared.clone(),
            })
        }
        Command::RecordConnectionResponse {
            connection_id,
            response,
            decline_reason,
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
                    reason: *decline_reason,
                }),
                ConnectionResponse::Attended => CaseEvent::ConnectionAttended(ConnectionAttended {
                    referral_id,
                    connection_id,
                }),
            }
        }
        Command::RemindService { connection_id, now } => {
            super::timers::remind(case, *connection_id, *now, policy)?
        }
        Command::DeclineUnanswered { connection_id, now } => {
            super::timers::decline_unanswered(case, *connection_id, *now, policy)?
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
                personal: scored.personal.clone(),
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
                personal: Some(linkway_events::case::SafeguardingPersonal {
                    concern: concern.clone(),
                }),
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
