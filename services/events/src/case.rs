//! The link-worker service's events: what happens to a referral once it reaches a service.
//! Aggregate: `case`, id = the referral's UUID (one case per referral).

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::common::Coding;
use crate::family::event_family;

event_family! {
    /// Events of the `case` aggregate.
    CaseEvent {
        Accepted(CaseAccepted) = "case.accepted" version 1,
        Declined(CaseDeclined) = "case.declined" version 1,
        Assigned(CaseAssigned) = "case.assigned" version 1,
        ContactAttempted(ContactAttempted) = "case.contact_attempted" version 2,
        ContactMade(ContactMade) = "case.contact_made" version 1,
        PlanAgreed(PlanAgreed) = "case.plan_agreed" version 1,
        OutcomeRecorded(OutcomeRecorded) = "case.outcome_recorded" version 2,
        Closed(CaseClosed) = "case.closed" version 1,
        PlanReviewed(PlanReviewed) = "case.plan_reviewed" version 1,
        ConnectionMade(ConnectionMade) = "case.connection_made" version 2,
        ConnectionAccepted(ConnectionAccepted) = "case.connection_accepted" version 1,
        ConnectionDeclined(ConnectionDeclined) = "case.connection_declined" version 2,
        ConnectionReminded(ConnectionReminded) = "case.connection_reminded" version 1,
        ConnectionAttended(ConnectionAttended) = "case.connection_attended" version 1,
        SafeguardingRaised(SafeguardingRaised) = "case.safeguarding_raised" version 1,
        AppointmentBooked(AppointmentBooked) = "case.appointment_booked" version 1,
        AppointmentMoved(AppointmentMoved) = "case.appointment_moved" version 1,
        AppointmentCancelled(AppointmentCancelled) = "case.appointment_cancelled" version 1,
    }
}

impl From<CaseEvent> for crate::Event {
    fn from(e: CaseEvent) -> Self {
        crate::Event::Case(e)
    }
}

/// The link-worker service took the referral on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseAccepted {
    pub referral_id: Uuid,
    pub link_worker_organisation_id: String,
}

/// Why a service declines a referral; `person_declined` is SNOMED CT 871711000000103.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeclineReason {
    OutOfArea,
    NotAppropriate,
    /// The person declined social prescribing (SNOMED CT 871711000000103).
    PersonDeclined,
    /// Referred on to a better-suited service instead.
    ReferredElsewhere,
}

/// The link-worker service did not take the referral on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseDeclined {
    pub referral_id: Uuid,
    pub link_worker_organisation_id: String,
    pub reason: DeclineReason,
    /// The coded form of the reason, where one exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<Coding>,
}

/// A link worker now holds the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseAssigned {
    pub referral_id: Uuid,
    pub link_worker_id: String,
}

/// How a contact was made or attempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ContactChannel {
    Phone,
    FaceToFace,
    Video,
    HomeVisit,
    Text,
    Email,
}

/// How an attempt to reach the person ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ContactOutcome {
    /// The call rang out, or the door was not answered.
    NoAnswer,
    VoicemailLeft,
    /// A text, email or letter went out and has had no answer yet.
    MessageSent,
    /// The number or address reached someone else.
    WrongNumber,
    /// The person did not come to an appointment they had agreed to.
    AppointmentMissed,
    /// The link worker did not say (every attempt recorded before version 2).
    NotRecorded,
}

impl ContactOutcome {
    pub const ALL: [ContactOutcome; 6] = [
        ContactOutcome::NoAnswer,
        ContactOutcome::VoicemailLeft,
        ContactOutcome::MessageSent,
        ContactOutcome::WrongNumber,
        ContactOutcome::AppointmentMissed,
        ContactOutcome::NotRecorded,
    ];

    /// The wire name, e.g. `voicemail_left`.
    pub fn as_str(self) -> &'static str {
        match self {
            ContactOutcome::NoAnswer => "no_answer",
            ContactOutcome::VoicemailLeft => "voicemail_left",
            ContactOutcome::MessageSent => "message_sent",
            ContactOutcome::WrongNumber => "wrong_number",
            ContactOutcome::AppointmentMissed => "appointment_missed",
            ContactOutcome::NotRecorded => "not_recorded",
        }
    }
}

/// A try to reach the person that did not reach them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactAttempted {
    pub referral_id: Uuid,
    pub channel: ContactChannel,
    /// How the attempt ended (version 2; a version 1 attempt reads as `not_recorded`).
    pub outcome: ContactOutcome,
    /// Attempts so far, including this one.
    pub attempt_number: u32,
    /// This attempt reached the service's limit: the case is now "could not contact".
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub could_not_contact: bool,
}

/// The link worker spoke with or met the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactMade {
    pub referral_id: Uuid,
    pub channel: ContactChannel,
    pub minutes: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal: Option<ContactPersonal>,
}

/// What was said: personal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactPersonal {
    pub notes: String,
}

/// A personalised care and support plan was agreed with the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanAgreed {
    pub referral_id: Uuid,
    #[serde(with = "crate::common::calendar_date")]
    pub review_date: Date,
    pub goal_count: u32,
    /// `None` where withheld: the person was erased, or this process holds no key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal: Option<PlanPersonal>,
}

/// The plan in the person's words: personal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanPersonal {
    /// "What matters to me".
    pub what_matters: String,
    pub goals: Vec<String>,
    pub actions: Vec<String>,
}

/// When an outcome measure was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Timepoint {
    Baseline,
    Review,
    Exit,
}

/// An outcome measure was taken and scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeRecorded {
    pub referral_id: Uuid,
    /// `ons4`, `swemwbs`, `wemwbs`, `ucla3` ...
    pub instrument: String,
    /// The version of the questionnaire.
    pub instrument_version: String,
    /// The version of Linkway's scoring function that produced the scores.
    pub algorithm_version: u32,
    pub timepoint: Timepoint,
    /// The answers, item by item, in the instrument's order.
    pub item_answers: Vec<u8>,
    /// Sum of the answers, where the instrument defines one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_score: Option<u32>,
    /// The derived score (e.g. SWEMWBS metric score), where the instrument defines one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derived_score: Option<f64>,
    /// What the person named in their own words, where the instrument asks for it (MYCaW's
    /// concerns). Absent for the others, and before version 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal: Option<OutcomePersonal>,
}

/// The person's own words an outcome measure scored: personal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutcomePersonal {
    /// MYCaW: the one or two concerns the person chose, in item order; each item's score
    /// is the answer at the same position.
    pub concerns: Vec<String>,
}

/// Why a case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClosureReason {
    GoalsMet,
    Disengaged,
    CouldNotContact,
    MovedAway,
    ReferredElsewhere,
    Died,
    Other,
}

/// The case ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseClosed {
    pub referral_id: Uuid,
    pub reason: ClosureReason,
}

/// The plan was reviewed with the person: progress discussed, goals and actions updated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanReviewed {
    pub referral_id: Uuid,
    /// When the plan is next to be reviewed.
    #[serde(with = "crate::common::calendar_date")]
    pub next_review_date: Date,
    pub goal_count: u32,
    /// The plan as it stands after the review.
    /// `None` where withheld: the person was erased, or this process holds no key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal: Option<PlanPersonal>,
}

/// An onward referral (connection) to a community service from the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionMade {
    pub referral_id: Uuid,
    /// Identifies this connection within the case; its answers name it.
    pub connection_id: Uuid,
    /// The Open Referral UK service id.
    pub service_id: String,
    /// The service's name at the time (directories change).
    pub service_name: String,
    /// The kind of service at the time: the directory's first taxonomy term for it
    /// (lower case, e.g. `physical activity`). Absent: the directory named none, or the
    /// connection was made before version 2. Commissioners see connections by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_kind: Option<String>,
    /// The lawful basis for sharing the person's details with the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<crate::referral::LegalBasis>,
    /// Which of the person's details went to the service: the minimum it needs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared: Vec<SharedDetail>,
}

/// A part of the person's record shared with a community service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SharedDetail {
    Name,
    Phone,
    Email,
    Address,
    /// Needs and concerns (codes and the referrer's words).
    Needs,
    /// "What matters to me" and the plan's goals.
    Plan,
}

/// The community service took the person on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionAccepted {
    pub referral_id: Uuid,
    pub connection_id: Uuid,
}

/// Why a connection was declined (`case.connection_declined` version 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConnectionDeclineReason {
    /// The service has no room for the person now.
    NoCapacity,
    /// The person does not meet the service's criteria.
    NotEligible,
    /// The person decided not to take it up.
    PersonDeclined,
    /// The service did not answer in time: declined automatically by Linkway.
    NoAnswerInTime,
    Other,
    /// No reason was given (every decline recorded before version 2).
    NotRecorded,
}

impl ConnectionDeclineReason {
    pub const ALL: [ConnectionDeclineReason; 6] = [
        ConnectionDeclineReason::NoCapacity,
        ConnectionDeclineReason::NotEligible,
        ConnectionDeclineReason::PersonDeclined,
        ConnectionDeclineReason::NoAnswerInTime,
        ConnectionDeclineReason::Other,
        ConnectionDeclineReason::NotRecorded,
    ];

    /// The wire name, e.g. `no_capacity`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionDeclineReason::NoCapacity => "no_capacity",
            ConnectionDeclineReason::NotEligible => "not_eligible",
            ConnectionDeclineReason::PersonDeclined => "person_declined",
            ConnectionDeclineReason::NoAnswerInTime => "no_answer_in_time",
            ConnectionDeclineReason::Other => "other",
            ConnectionDeclineReason::NotRecorded => "not_recorded",
        }
    }
}

/// The community service turned the connection down, or it was declined automatically
/// because the service did not answer in time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionDeclined {
    pub referral_id: Uuid,
    pub connection_id: Uuid,
    /// Why (version 2; a version 1 decline reads as `not_recorded`).
    pub reason: ConnectionDeclineReason,
}

/// The community service was reminded that it has not answered the connection yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionReminded {
    pub referral_id: Uuid,
    pub connection_id: Uuid,
}

/// The person attended the community service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionAttended {
    pub referral_id: Uuid,
    pub connection_id: Uuid,
}

/// A safeguarding concern was raised on the case (and escalated under local procedure).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafeguardingRaised {
    pub referral_id: Uuid,
    /// `None` where withheld: the person was erased, or this process holds no key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal: Option<SafeguardingPersonal>,
}

/// What the concern is: personal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafeguardingPersonal {
    pub concern: String,
}

/// The link worker booked an appointment with the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppointmentBooked {
    pub referral_id: Uuid,
    /// Identifies the appointment within the case; its moves and cancellation name it.
    pub appointment_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    /// How long it is booked for.
    pub minutes: u32,
    pub channel: ContactChannel,
    /// Where (personal: a home visit's place is the person's address). Absent: no place
    /// (a phone call), withheld, or erased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal: Option<AppointmentPersonal>,
}

/// Where an appointment is: personal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppointmentPersonal {
    pub place: String,
}

/// A booked appointment moved: the appointment as it now stands, whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppointmentMoved {
    pub referral_id: Uuid,
    pub appointment_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    pub minutes: u32,
    pub channel: ContactChannel,
    /// Where it now is (personal); absent: no place, withheld, or erased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal: Option<AppointmentPersonal>,
}

/// Why an appointment was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AppointmentCancelReason {
    /// The person asked to cancel.
    PersonCancelled,
    /// The service could not keep it.
    ServiceCancelled,
    /// It is no longer needed (the case moved on or closed).
    NoLongerNeeded,
    Other,
    /// The person did not come: appended with the `case.contact_attempted` (outcome
    /// `appointment_missed`) that records it, so readers know which appointment it was.
    Missed,
}

/// A booked appointment was cancelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppointmentCancelled {
    pub referral_id: Uuid,
    pub appointment_id: Uuid,
    pub reason: AppointmentCancelReason,
}
