//! Appointments with the person over HTTP: book, move, cancel, record missed. Each is a
//! case command through [`execute`], decided by [`case::appointments`]; a page runs the
//! same [`run_appointment`] with the JSON body its form stands for.

use linkway_events::case::AppointmentCancelReason;
use linkway_platform::text::Text;

use super::*;
use crate::case::{AppointmentCommand, AppointmentInput};

/// Where an appointment is (personal).
pub const PLACE: Text = Text::line(500);

/// The appointment routes (under the service's state).
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/cases/{id}/appointments", post(book_appointment))
        .route(
            "/cases/{id}/appointments/{appointment_id}/move",
            post(move_appointment),
        )
        .route(
            "/cases/{id}/appointments/{appointment_id}/cancellation",
            post(cancel_appointment),
        )
        .route(
            "/cases/{id}/appointments/{appointment_id}/missed",
            post(record_missed_appointment),
        )
}

/// An appointment as booked or moved: when, how long, how, and where.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppointmentRequest {
    /// When it starts (RFC 3339); not in the past.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime, example = "2026-03-13T10:30:00Z")]
    pub starts_at: OffsetDateTime,
    /// How long it is booked for, 1-600 minutes.
    #[schema(value_type = u32, minimum = 1, maximum = 600)]
    pub minutes: fields::Whole,
    /// phone | face_to_face | video | home_visit | text | email
    #[schema(example = "face_to_face")]
    pub channel: ContactChannel,
    /// Where (personal): an address, a room, a venue.
    pub place: Option<String>,
}

/// Why an appointment is cancelled (a missed one is recorded as missed instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    PersonCancelled,
    ServiceCancelled,
    NoLongerNeeded,
    Other,
}

impl From<CancelReason> for AppointmentCancelReason {
    fn from(r: CancelReason) -> AppointmentCancelReason {
        match r {
            CancelReason::PersonCancelled => AppointmentCancelReason::PersonCancelled,
            CancelReason::ServiceCancelled => AppointmentCancelReason::ServiceCancelled,
            CancelReason::NoLongerNeeded => AppointmentCancelReason::NoLongerNeeded,
            CancelReason::Other => AppointmentCancelReason::Other,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelAppointmentRequest {
    /// person_cancelled | service_cancelled | no_longer_needed | other
    #[schema(example = "person_cancelled")]
    pub reason: CancelReason,
}

/// An appointment command, by the operation that asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppointmentOperation {
    Book,
    Move { appointment_id: Uuid },
    Cancel { appointment_id: Uuid },
    RecordMissed { appointment_id: Uuid },
}

/// The appointment asked for, and what is refused once the case is authorised (a time in
/// the past).
fn appointment_input(
    state: &AppState,
    req: AppointmentRequest,
) -> Result<(AppointmentInput, Vec<FieldError>)> {
    let mut errors = Vec::new();
    let minutes = req.minutes.to_u32();
    if !fields::MINUTES.contains(&minutes) {
        errors.push(FieldError::new("minutes", "range", "minutes must be 1-600"));
    }
    let place = fields::optional(&mut errors, "place", req.place.as_deref(), PLACE);
    check(errors)?;
    let mut refused = Vec::new();
    if req.starts_at < state.clock.now() {
        refused.push(FieldError::new(
            "starts_at",
            "not_in_past",
            "an appointment cannot start in the past",
        ));
    }
    let input = AppointmentInput {
        // To the second: what people book, and what every store keeps exactly.
        starts_at: req.starts_at.replace_nanosecond(0).unwrap_or(req.starts_at),
        minutes,
        channel: req.channel,
        place,
    };
    Ok((input, refused))
}

/// Runs one appointment operation's JSON `body` on case `id` as `principal` (whose role
/// the caller checked), exactly as its JSON route does.
pub async fn run_appointment(
    state: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
    id: Uuid,
    operation: AppointmentOperation,
    body: &[u8],
) -> Result<(StatusCode, Json<CommandAccepted>)> {
    let (command, refused) = match operation {
        AppointmentOperation::Book => {
            let (appointment, refused) = appointment_input(state, parse_body(body)?)?;
            // The id follows from the idempotency key, so a retry names the same one.
            let key = IdempotencyKey::from_headers(headers, &principal.organisation_id)?;
            let appointment_id = match &key {
                Some(k) => k.derived_id(&format!("bookAppointment:{id}")),
                None => Uuid::now_v7(),
            };
            let command = AppointmentCommand::Book {
                appointment_id,
                appointment,
            };
            (command, refused)
        }
        AppointmentOperation::Move { appointment_id } => {
            let (appointment, refused) = appointment_input(state, parse_body(body)?)?;
            let command = AppointmentCommand::Move {
                appointment_id,
                appointment,
            };
            (command, refused)
        }
        AppointmentOperation::Cancel { appointment_id } => {
            let req: CancelAppointmentRequest = parse_body(body)?;
            let command = AppointmentCommand::Cancel {
                appointment_id,
                reason: req.reason.into(),
            };
            (command, Vec::new())
        }
        AppointmentOperation::RecordMissed { appointment_id } => {
            let command = AppointmentCommand::RecordMissed {
                appointment_id,
                now: state.clock.now(),
            };
            (command, Vec::new())
        }
    };
    let command = Command::Appointment(command);
    execute(state, principal, headers, id, body, command, refused).await
}

/// Book an appointment with the person (once a link worker holds the case). The answer's
/// `appointment_id` names it; with an `Idempotency-Key` a retry names the same one.
#[utoipa::path(
    post, path = "/cases/{id}/appointments", operation_id = "bookAppointment", tag = "cases",
    params(("id" = Uuid, Path, description = "The referral id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe"), ("If-Match" = Option<String>, Header, description = "The case `version` the caller decided on; 409 if it changed since")),
    request_body = AppointmentRequest,
    responses(
        (status = 200, description = "Booked", body = CommandAccepted),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Illegal in the case's state, or changed concurrently (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request, or a start in the past", body = Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn book_appointment(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<CommandAccepted>)> {
    principal.require(CASE_ROLES)?;
    let operation = AppointmentOperation::Book;
    run_appointment(&state, &principal, &headers, id, operation, &body).await
}

/// Move a booked appointment: the appointment as it is to stand, whole.
#[utoipa::path(
    post, path = "/cases/{id}/appointments/{appointment_id}/move", operation_id = "moveAppointment", tag = "cases",
    params(("id" = Uuid, Path, description = "The referral id"), ("appointment_id" = Uuid, Path, description = "The appointment"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe"), ("If-Match" = Option<String>, Header, description = "The case `version` the caller decided on; 409 if it changed since")),
    request_body = AppointmentRequest,
    responses(
        (status = 200, description = "Moved", body = CommandAccepted),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No such booked appointment, unchanged, illegal in the case's state, or changed concurrently (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request, or a start in the past", body = Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn move_appointment(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, appointment_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<CommandAccepted>)> {
    principal.require(CASE_ROLES)?;
    let operation = AppointmentOperation::Move { appointment_id };
    run_appointment(&state, &principal, &headers, id, operation, &body).await
}

/// Cancel a booked appointment, saying why.
#[utoipa::path(
    post, path = "/cases/{id}/appointments/{appointment_id}/cancellation", operation_id = "cancelAppointment", tag = "cases",
    params(("id" = Uuid, Path, description = "The referral id"), ("appointment_id" = Uuid, Path, description = "The appointment"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe"), ("If-Match" = Option<String>, Header, description = "The case `version` the caller decided on; 409 if it changed since")),
    request_body = CancelAppointmentRequest,
    responses(
        (status = 200, description = "Cancelled", body = CommandAccepted),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No such booked appointment, illegal in the case's state, or changed concurrently (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn cancel_appointment(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, appointment_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<CommandAccepted>)> {
    principal.require(CASE_ROLES)?;
    let operation = AppointmentOperation::Cancel { appointment_id };
    run_appointment(&state, &principal, &headers, id, operation, &body).await
}

/// Record that the person did not come to an appointment that has started: the
/// appointment is marked missed and a contact attempt (outcome `appointment_missed`) is
/// recorded, counting towards could-not-contact as every failed attempt.
#[utoipa::path(
    post, path = "/cases/{id}/appointments/{appointment_id}/missed", operation_id = "recordMissedAppointment", tag = "cases",
    params(("id" = Uuid, Path, description = "The referral id"), ("appointment_id" = Uuid, Path, description = "The appointment"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe"), ("If-Match" = Option<String>, Header, description = "The case `version` the caller decided on; 409 if it changed since")),
    request_body(content = Option<Object>, description = "Nothing, or an empty object", content_type = "application/json"),
    responses(
        (status = 200, description = "Recorded", body = CommandAccepted),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case for this organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No such booked appointment, not started yet, illegal in the case's state, or changed concurrently (retry)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request", body = Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn record_missed_appointment(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, appointment_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<CommandAccepted>)> {
    principal.require(CASE_ROLES)?;
    let operation = AppointmentOperation::RecordMissed { appointment_id };
    run_appointment(&state, &principal, &headers, id, operation, b"").await
}

/// The appointment operations' part of the document.
#[derive(OpenApi)]
#[openapi(
    paths(
        book_appointment,
        move_appointment,
        cancel_appointment,
        record_missed_appointment,
        crate::pages::appointments::page,
        crate::pages::appointments::post,
        crate::notifications::admin::page
    ),
    components(schemas(
        AppointmentRequest,
        CancelAppointmentRequest,
        CancelReason,
        case::Appointment,
        case::AppointmentStatus
    ))
)]
pub struct AppointmentsDoc;
