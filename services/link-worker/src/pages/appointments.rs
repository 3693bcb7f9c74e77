//! `/cases/{id}/view/appointments`: the case's appointments, a form to book one, and for
//! each booked one the forms to move it, cancel it or record that the person did not come
//! (`bookAppointment`, `moveAppointment`, `cancelAppointment`, `recordMissedAppointment`,
//! through [`api::run_appointment`], as the JSON routes).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use linkway_platform::http::{CorrelationId, Path};
use linkway_platform::web::page::{Field, error_for, error_summary, form, table, tag};
use linkway_platform::web::{FieldError, Page, PageForm, SignedIn};
use maud::{Markup, html};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::format_description;
use uuid::Uuid;

use super::{
    CASE_ROLES, PageError, command_headers, fresh_key, html, labels, navigation, principal,
    refused, see_other,
};
use crate::api::{self, AppState, AppointmentOperation};
use crate::case::{Appointment, AppointmentStatus, Case};

/// How a cancellation's reasons read.
const CANCEL_REASONS: &[(&str, &str)] = &[
    ("person_cancelled", "The person cancelled"),
    ("service_cancelled", "We cancelled"),
    ("no_longer_needed", "No longer needed"),
    ("other", "Another reason"),
];

/// The appointments and their forms.
#[utoipa::path(
    get, path = "/cases/{id}/view/appointments", operation_id = "getAppointmentsPage", tag = "pages",
    params(("id" = Uuid, Path, description = "The referral id")),
    responses(
        (status = 200, description = "The appointments and their forms (HTML)", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to /sign-in"),
        (status = 403, description = "Not a link worker or service manager (HTML)", content_type = "text/html", body = String),
        (status = 404, description = "No such case for this organisation (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "Try again shortly (HTML)", content_type = "text/html", body = String),
    ),
    security(("session" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn page(
    who: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, PageError> {
    let principal = principal(&who, CASE_ROLES)?;
    let min = q.get("min_sequence").and_then(|s| s.parse().ok());
    let case = api::read_case(&state, &principal, id, min, "getAppointmentsPage").await?;
    let done = q.contains_key("done");
    let now = state.clock.now();
    Ok(show(&who, &case, None, &[], (StatusCode::OK, done), now))
}

/// One appointment form: `action` book, move, cancel or missed.
#[utoipa::path(
    post, path = "/cases/{id}/view/appointments", operation_id = "submitAppointmentForm", tag = "pages",
    params(("id" = Uuid, Path, description = "The referral id")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "`csrf`, `idempotency_key`, `version`, `action` (book, move, cancel, missed), `appointment_id` (but to book), and `date`, `time`, `minutes`, `channel`, `place` (book, move) or `reason` (cancel)."),
    responses(
        (status = 303, description = "Done: to this page with `?min_sequence=`; or not signed in: to /sign-in"),
        (status = 403, description = "No or wrong CSRF token, or a role that may not do this: nothing changed (HTML)", content_type = "text/html", body = String),
        (status = 404, description = "No such case for this organisation (HTML)", content_type = "text/html", body = String),
        (status = 409, description = "The case or the appointment does not allow this now (HTML)", content_type = "text/html", body = String),
        (status = 422, description = "The form again with the problem (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "Try again shortly (HTML)", content_type = "text/html", body = String),
    ),
    security(("session" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn post(
    who: SignedIn,
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    correlation: CorrelationId,
    form: PageForm,
) -> Result<Response, PageError> {
    let principal = principal(&who, CASE_ROLES)?;
    let appointment_id = form.get("appointment_id").parse::<Uuid>().ok();
    let p = prefix(form.get("action"), appointment_id);
    let (operation, body) = match (form.get("action"), appointment_id) {
        ("book", _) => (AppointmentOperation::Book, appointment_body(&form, &p)),
        ("move", Some(appointment_id)) => (
            AppointmentOperation::Move { appointment_id },
            appointment_body(&form, &p),
        ),
        ("cancel", Some(appointment_id)) => (
            AppointmentOperation::Cancel { appointment_id },
            json!({ "reason": form.get(&format!("{p}reason")) }),
        ),
        ("missed", Some(appointment_id)) => (
            AppointmentOperation::RecordMissed { appointment_id },
            json!({}),
        ),
        _ => return Err(linkway_platform::ApiError::NotFound.into()),
    };
    let headers = command_headers(
        correlation.0,
        form.get("idempotency_key"),
        form.get("version"),
    );
    let missed = matches!(operation, AppointmentOperation::RecordMissed { .. });
    let body = if missed {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    match api::run_appointment(&state, &principal, &headers, id, operation, &body).await {
        Ok((_, answer)) => Ok(see_other(
            &format!("/cases/{id}/view/appointments"),
            answer.sequence,
            form.get("action"),
        )),
        Err(error) => {
            let prefix = p;
            let rename = |field: &str| match field {
                "starts_at" => Some(format!("{prefix}date")),
                "minutes" | "channel" | "place" | "reason" => Some(format!("{prefix}{field}")),
                _ => None,
            };
            let fallback = match form.get("action") {
                "book" | "move" => format!("{prefix}date"),
                "cancel" => format!("{prefix}reason"),
                _ => format!("{prefix}missed"),
            };
            let refusal = refused(error, rename, &fallback)?;
            let case = api::read_case(&state, &principal, id, None, "getAppointmentsPage").await?;
            let now = state.clock.now();
            let errors = &refusal.errors;
            Ok(show(
                &who,
                &case,
                Some(&form),
                errors,
                (refusal.status, false),
                now,
            ))
        }
    }
}

/// The JSON body a booking or move form stands for (its fields under `prefix`): `date`
/// and `time` (UTC) as one
/// RFC 3339 instant (or what was typed, to be refused as the API refuses it).
fn appointment_body(form: &PageForm, prefix: &str) -> Value {
    let get = |name: &str| form.get(&format!("{prefix}{name}"));
    let starts_at = format!("{}T{}:00Z", get("date"), get("time"));
    let minutes: Value = get("minutes")
        .trim()
        .parse::<u64>()
        .map_or_else(|_| json!(get("minutes")), |m| json!(m));
    let place = Some(get("place")).filter(|p| !p.trim().is_empty());
    json!({
        "starts_at": starts_at,
        "minutes": minutes,
        "channel": get("channel"),
        "place": place,
    })
}

/// Field ids of one form: `book-` or `<action>-<appointment>-`, so each id is unique.
fn prefix(action: &str, appointment_id: Option<Uuid>) -> String {
    match appointment_id {
        Some(a) if action != "book" => format!("{action}-{a}-"),
        _ => "book-".to_owned(),
    }
}

/// The case page's part: the booked appointments and the way to the appointments page.
pub fn on_case_page(case: &Case) -> Markup {
    let booked: Vec<&Appointment> = (case.appointments.iter())
        .filter(|a| a.status == AppointmentStatus::Booked)
        .collect();
    html! {
        h2 { "Appointments" }
        @if booked.is_empty() {
            p { "No appointment booked." }
        } @else {
            ul class="nhsuk-list nhsuk-list--bullet" {
                @for a in booked {
                    li { (when(a.starts_at)) ", " (labels::text(labels::CHANNELS, &labels::code(&a.channel))) }
                }
            }
        }
        @if !case.erased && case.state.is_open() {
            p { a href=(format!("/cases/{}/view/appointments", case.referral_id)) { "Book, move or cancel appointments" } }
        }
    }
}

fn when(at: OffsetDateTime) -> String {
    at.format(format_description!(
        "[day] [month repr:short] [year], [hour]:[minute] UTC"
    ))
    .unwrap_or_default()
}

fn show(
    who: &SignedIn,
    case: &Case,
    posted: Option<&PageForm>,
    errors: &[FieldError],
    (status, done): (StatusCode, bool),
    now: OffsetDateTime,
) -> Response {
    let id = case.referral_id;
    let title = "Appointments";
    let rows: Vec<Vec<Markup>> = case
        .appointments
        .iter()
        .map(|a| {
            vec![
                html! { (when(a.starts_at)) },
                html! { (a.minutes) " minutes" },
                html! { (labels::text(labels::CHANNELS, &labels::code(&a.channel))) },
                html! { (a.place.as_deref().unwrap_or("")) },
                status_tag(a),
            ]
        })
        .collect();
    let content = html! {
        (error_summary(errors))
        h1 { (title) }
        @if done { p class="nhsuk-body" role="status" { "Saved." } }
        @if rows.is_empty() {
            p { "No appointments yet." }
        } @else {
            (table("Appointments with the person", &["When", "How long", "How", "Where", "Status"], &rows))
        }
        h2 { "Book an appointment" }
        (appointment_form(who, case, None, posted, errors))
        @for a in case.appointments.iter().filter(|a| a.status == AppointmentStatus::Booked) {
            h2 { "The appointment on " (when(a.starts_at)) }
            (appointment_form(who, case, Some(a), posted, errors))
            (cancel_form(who, case, a, errors))
            @if a.starts_at <= now || errors.iter().any(|e| e.field.starts_with(&prefix("missed", Some(a.appointment_id)))) {
                (missed_form(who, case, a, errors))
            }
        }
    };
    let page = Page {
        title,
        service: super::SERVICE,
        signed_in: Some(who),
        navigation: navigation(who, ""),
        has_errors: !errors.is_empty(),
        back: Some(("Back to the case", format!("/cases/{id}/view"))),
    };
    html(status, &page, content)
}

fn status_tag(a: &Appointment) -> Markup {
    match a.status {
        AppointmentStatus::Booked => tag("Booked", "blue"),
        AppointmentStatus::Cancelled => tag("Cancelled", "grey"),
        AppointmentStatus::Missed => tag("Missed", "orange"),
    }
}

/// The hidden fields every form carries.
fn hidden(case: &Case, action: &str, appointment: Option<&Appointment>) -> Markup {
    html! {
        input type="hidden" name="action" value=(action);
        input type="hidden" name="version" value=(case.last_case_sequence);
        input type="hidden" name="idempotency_key" value=(fresh_key());
        @if let Some(a) = appointment {
            input type="hidden" name="appointment_id" value=(a.appointment_id);
        }
    }
}

fn appointment_form(
    who: &SignedIn,
    case: &Case,
    appointment: Option<&Appointment>,
    posted: Option<&PageForm>,
    errors: &[FieldError],
) -> Markup {
    let action = if appointment.is_some() {
        "move"
    } else {
        "book"
    };
    let p = prefix(action, appointment.map(|a| a.appointment_id));
    let this_form = posted.filter(|f| {
        f.get("action") == action
            && appointment.is_none_or(|a| f.get("appointment_id") == a.appointment_id.to_string())
    });
    let value = |name: &str, default: String| {
        this_form.map_or(default, |f| f.get(&format!("{p}{name}")).to_owned())
    };
    let date = value(
        "date",
        appointment.map_or_else(String::new, |a| a.starts_at.date().to_string()),
    );
    let time = value(
        "time",
        appointment.map_or_else(String::new, |a| {
            format!("{:02}:{:02}", a.starts_at.hour(), a.starts_at.minute())
        }),
    );
    let minutes = value(
        "minutes",
        appointment.map_or_else(|| "30".to_owned(), |a| a.minutes.to_string()),
    );
    let channel = value(
        "channel",
        appointment.map_or_else(|| "face_to_face".to_owned(), |a| labels::code(&a.channel)),
    );
    let place = value(
        "place",
        appointment
            .and_then(|a| a.place.clone())
            .unwrap_or_default(),
    );
    let id = |name: &str| format!("{p}{name}");
    let (date_id, time_id, minutes_id, channel_id, place_id) = (
        id("date"),
        id("time"),
        id("minutes"),
        id("channel"),
        id("place"),
    );
    let submit = if appointment.is_some() {
        "Move the appointment"
    } else {
        "Book the appointment"
    };
    form(
        &format!("/cases/{}/view/appointments", case.referral_id),
        &who.csrf,
        submit,
        html! {
            (hidden(case, action, appointment))
            // Each field's name is its id, unique on the page: `book-date`, `move-<id>-date`.
            (Field { id: &date_id, label: "Date", hint: Some("For example, 2026-03-13"), error: error_for(errors, &date_id) }.input("date", &date, None))
            (Field { id: &time_id, label: "Time (UTC)", hint: Some("For example, 14:30"), error: error_for(errors, &time_id) }.input("time", &time, None))
            (Field { id: &minutes_id, label: "How long, in minutes", hint: None, error: error_for(errors, &minutes_id) }.input("number", &minutes, None))
            (Field { id: &channel_id, label: "How", hint: None, error: error_for(errors, &channel_id) }.select(labels::CHANNELS, &channel))
            (Field { id: &place_id, label: "Where (optional)", hint: Some("An address, a room or a venue"), error: error_for(errors, &place_id) }.input("text", &place, None))
        },
    )
}

fn cancel_form(who: &SignedIn, case: &Case, a: &Appointment, errors: &[FieldError]) -> Markup {
    let reason_id = format!("{}reason", prefix("cancel", Some(a.appointment_id)));
    form(
        &format!("/cases/{}/view/appointments", case.referral_id),
        &who.csrf,
        "Cancel the appointment",
        html! {
            (hidden(case, "cancel", Some(a)))
            (Field { id: &reason_id, label: "Why is it cancelled?", hint: None, error: error_for(errors, &reason_id) }.select(CANCEL_REASONS, "person_cancelled"))
        },
    )
}

fn missed_form(who: &SignedIn, case: &Case, a: &Appointment, errors: &[FieldError]) -> Markup {
    let missed_id = format!("{}missed", prefix("missed", Some(a.appointment_id)));
    html! {
        div id=(missed_id) {
            @if let Some(e) = error_for(errors, &missed_id) {
                span class="nhsuk-error-message" { span class="nhsuk-u-visually-hidden" { "Error: " } (e) }
            }
            (form(
                &format!("/cases/{}/view/appointments", case.referral_id),
                &who.csrf,
                "They did not come",
                hidden(case, "missed", Some(a)),
            ))
        }
    }
}
