//! What codes say to people: states, reasons, channels and the rest, and the problems
//! the API names by field and rule, said for a form.

use linkway_platform::FieldError as ApiFieldError;

use crate::case::CaseState;

/// A case state for people.
pub fn state(state: CaseState) -> &'static str {
    match state {
        CaseState::Received => "Received",
        CaseState::Routed => "New referral",
        CaseState::Accepted => "Accepted, not allocated",
        CaseState::Assigned => "Allocated",
        CaseState::CouldNotContact => "Could not contact",
        CaseState::Engaged => "Engaged",
        CaseState::PlanAgreed => "Plan agreed",
        CaseState::Declined => "Declined",
        CaseState::Closed => "Closed",
        CaseState::Withdrawn => "Withdrawn",
    }
}

/// The tag colour of a state (the text says it; colour only repeats it).
pub fn state_colour(state: CaseState) -> &'static str {
    match state {
        CaseState::Routed => "blue",
        CaseState::Accepted => "aqua-green",
        CaseState::Assigned | CaseState::Engaged => "green",
        CaseState::PlanAgreed => "purple",
        CaseState::CouldNotContact => "orange",
        _ => "grey",
    }
}

pub const DECLINE_REASONS: &[(&str, &str)] = &[
    ("out_of_area", "Out of area"),
    ("not_appropriate", "Not appropriate for social prescribing"),
    ("person_declined", "The person declined"),
    ("referred_elsewhere", "Referred elsewhere"),
];

pub const CLOSURE_REASONS: &[(&str, &str)] = &[
    ("goals_met", "Goals met"),
    ("disengaged", "Disengaged"),
    ("could_not_contact", "Could not contact"),
    ("moved_away", "Moved away"),
    ("referred_elsewhere", "Referred elsewhere"),
    ("died", "Died"),
    ("other", "Other"),
];

pub const CHANNELS: &[(&str, &str)] = &[
    ("phone", "Phone"),
    ("face_to_face", "Face to face"),
    ("video", "Video call"),
    ("home_visit", "Home visit"),
    ("text", "Text message"),
    ("email", "Email"),
];

pub const ATTEMPT_OUTCOMES: &[(&str, &str)] = &[
    ("no_answer", "No answer"),
    ("voicemail_left", "Voicemail left"),
    ("message_sent", "Message sent"),
    ("wrong_number", "Wrong number"),
    ("appointment_missed", "Appointment missed"),
    ("not_recorded", "Not recorded"),
];

pub const CONNECTION_RESPONSES: &[(&str, &str)] = &[
    ("accepted", "Accepted by the service"),
    ("declined", "Declined by the service"),
    ("attended", "The person attended"),
];

/// Why a service declined, as a link worker records it (`no_answer_in_time` is Linkway's).
pub const CONNECTION_DECLINE_REASONS: &[(&str, &str)] = &[
    ("no_capacity", "No capacity"),
    ("not_eligible", "Not eligible"),
    ("person_declined", "The person declined"),
    ("other", "Other reason"),
];

pub const LEGAL_BASES: &[(&str, &str)] = &[
    (
        "public_task_health_care",
        "Public task: health and social care (direct care)",
    ),
    (
        "explicit_consent",
        "Explicit consent (services beyond health and care)",
    ),
    (
        "vital_interests",
        "Vital interests (safeguarding emergency)",
    ),
];

pub const SHARED_DETAILS: &[(&str, &str)] = &[
    ("name", "Name"),
    ("phone", "Phone number"),
    ("email", "Email address"),
    ("address", "Address"),
    ("needs", "Needs and concerns"),
    ("plan", "The plan"),
];

pub const TIMEPOINTS: &[(&str, &str)] = &[
    ("baseline", "Baseline (first measure)"),
    ("review", "Review"),
    ("exit", "Exit (at closure)"),
];

/// The text of `code` in `choices` (the code itself when it has none).
pub fn text<'a>(choices: &[(&'a str, &'a str)], code: &'a str) -> &'a str {
    choices
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, t)| t)
}

/// The code an enum serialises as.
pub fn code<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Why a community service declined a connection, in words.
pub fn connection_decline_reason(
    reason: linkway_events::case::ConnectionDeclineReason,
) -> &'static str {
    use linkway_events::case::ConnectionDeclineReason as R;
    match reason {
        R::NoCapacity => "No capacity",
        R::NotEligible => "Not eligible",
        R::PersonDeclined => "The person declined",
        R::NoAnswerInTime => "No answer in time (declined automatically)",
        R::Other => "Other reason",
        R::NotRecorded => "No reason recorded",
    }
}

/// What a timeline entry says happened.
pub fn event(event_type: &str) -> &'static str {
    match event_type {
        "referral.received" => "Referral received",
        "referral.routed" => "Referral routed to this service",
        "referral.withdrawn" => "Referral withdrawn by the referrer",
        "referral.entered_in_error" => "Referral entered in error",
        "referral.person_corrected" => "The person's details were corrected",
        "referral.unroutable" => "Referral could not be routed",
        "case.accepted" => "Referral accepted",
        "case.declined" => "Referral declined",
        "case.assigned" => "Allocated to a link worker",
        "case.contact_attempted" => "Contact attempted",
        "case.contact_made" => "Contact made",
        "case.plan_agreed" => "Plan agreed",
        "case.plan_reviewed" => "Plan reviewed",
        "case.connection_made" => "Connected to a service",
        "case.connection_accepted" => "Connection accepted by the service",
        "case.connection_declined" => "Connection declined",
        "case.connection_reminded" => "The service was reminded to answer",
        "case.connection_attended" => "The person attended the service",
        "case.outcome_recorded" => "Outcome measure recorded",
        "case.safeguarding_raised" => "Safeguarding concern raised",
        "case.closed" => "Case closed",
        _ => "Recorded",
    }
}

/// A problem the API named by field and rule, said for a form.
pub fn problem(e: &ApiFieldError) -> String {
    let field = e.field.split('.').next().unwrap_or(&e.field);
    match (field, e.rule.as_str()) {
        ("reason", _) => "Select a reason".into(),
        ("channel", _) => "Select how you contacted them".into(),
        ("outcome", _) => "Select how the attempt ended".into(),
        ("minutes", _) => "Enter the minutes spent, a whole number from 1 to 600".into(),
        ("response", _) => "Select what the service answered".into(),
        ("legal_basis", _) => "Select the lawful basis for sharing their details".into(),
        ("review_date", "not_in_past") => "The review date must be today or later".into(),
        ("review_date", _) => "Enter the review date as a real date".into(),
        ("what_matters", "non_empty") => "Enter what matters to the person".into(),
        ("goals", "count" | "non_empty") => "Enter 1 to 20 goals, one a line".into(),
        ("concern", "non_empty") => "Describe the concern".into(),
        ("item_answers", _) => "Answer every question".into(),
        ("timepoint", _) => "Select when this measure was taken".into(),
        ("service_id", _) => "Choose a service from the directory".into(),
        _ => e.message.clone(),
    }
}
