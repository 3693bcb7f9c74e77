//! Rectification: `correctPerson` (`POST /referrals/{id}/person/correction`). A person's
//! details recorded wrongly are corrected by a new event, `referral.person_corrected`,
//! carrying the whole corrected personal part (sealed in the log like any other); the log
//! keeps what was received, and every read model replaces what it holds.
//!
//! Decided through the one command path on the referral's own events: the referring
//! organisation's referrer may correct, and whoever [`super::authorise`] lets export or
//! erase the person (an administrator, an information governance lead of the sending or
//! receiving organisation); anyone else's referral is "not found". Once the person is
//! erased nothing is recorded about them again (409 `person_erased`; the vault refuses it
//! too).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use linkway_events::referral::{ReferralEvent, ReferralPersonCorrected, ReferralPersonal};
use linkway_events::{Event, Role};
use linkway_platform::ApiError;
use linkway_platform::auth::Principal;
use linkway_platform::command::{Decision, Recorded};
use linkway_platform::http::Path;
use linkway_platform::idempotency::IdempotencyKey;
use uuid::Uuid;

use super::decision::Parties;
use crate::AppState;
use crate::api::{CommandResponse, parse_body, referral_id, require_json, today};
use crate::command;
use crate::referral::Referral;
use crate::validation::{PersonCorrectionRequest, ValidCorrection, validate_correction};

/// The roles that may ask; the decision then checks whose referral it is.
const ROLES: &[Role] = &[Role::Referrer, Role::Admin, Role::IgLead];

/// What a correction decides on: the referral, its parties, and the person as last
/// recorded (received, or corrected since).
#[derive(Debug, Clone, Default)]
pub struct Subject {
    pub referral: Referral,
    pub parties: Parties,
    pub personal: Option<ReferralPersonal>,
}

impl Subject {
    pub fn fold(history: &[Recorded]) -> Subject {
        let mut personal = None;
        for r in history {
            match &r.event {
                Event::Referral(ReferralEvent::Received(e)) => personal = e.personal.clone(),
                Event::Referral(ReferralEvent::PersonCorrected(e)) => personal = e.personal.clone(),
                _ => {}
            }
        }
        Subject {
            referral: Referral::fold(history),
            parties: Parties::fold(history),
            personal,
        }
    }
}

/// Corrects the person of a referral.
pub struct Correct {
    pub correction: ValidCorrection,
}

/// The referring organisation's referrer, or whoever may export and erase the person.
pub fn authorise(principal: &Principal, parties: &Parties) -> Result<(), ApiError> {
    match principal.role {
        Role::Referrer if parties.referrer.as_deref() == Some(&principal.organisation_id) => Ok(()),
        Role::Referrer => Err(ApiError::NotFound),
        _ => super::authorise(principal, parties),
    }
}

impl Decision for Correct {
    type State = Subject;
    type Answer = CommandResponse;

    fn fold(&self, history: &[Recorded]) -> Subject {
        Subject::fold(history)
    }

    fn authorise(&self, principal: &Principal, subject: &Subject) -> Result<(), ApiError> {
        authorise(principal, &subject.parties)
    }

    fn version(&self, subject: &Subject) -> u64 {
        subject.referral.version
    }

    fn decide(&self, subject: &Subject) -> Result<Vec<Event>, ApiError> {
        let referral_id = subject.parties.referral_id.ok_or(ApiError::NotFound)?;
        if subject.parties.erased {
            return Err(ApiError::refused(
                "person_erased",
                "the person was erased: nothing about them is recorded again",
            ));
        }
        let personal = self.correction.personal(subject.personal.as_ref());
        if subject.personal.as_ref() == Some(&personal) {
            return Ok(Vec::new()); // already as asked: nothing to correct
        }
        Ok(vec![Event::from(ReferralPersonCorrected {
            referral_id,
            personal: Some(personal),
        })])
    }

    fn answer(&self, after: &Subject, events: &[Recorded]) -> CommandResponse {
        CommandResponse {
            referral_id: after.parties.referral_id.unwrap_or_else(Uuid::nil),
            status: after.referral.status(),
            sequence: events.last().map_or(after.referral.version, |e| e.sequence),
        }
    }
}

/// Rectification: the person's details, corrected.
#[utoipa::path(
    post,
    path = "/referrals/{referral_id}/person/correction",
    operation_id = "correctPerson",
    tag = "people",
    request_body(content = PersonCorrectionRequest, content_type = "application/json"),
    params(
        ("referral_id" = Uuid, Path, description = "The referral whose person it is"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe"),
    ),
    responses(
        (status = 200, description = "Corrected (or already as asked: nothing appended)", body = CommandResponse),
        (status = 403, description = "Only referrers, information governance leads and administrators correct people", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such referral, or one the caller's organisation did not send (a referrer) or neither sent nor received (an information governance lead)", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The person was erased (`person_erased`), or the referral changed concurrently", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The person breaks a referral's rules (each error names field and rule), a text is too long, or the Idempotency-Key was reused", body = linkway_platform::Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn correct_person(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<CommandResponse>), ApiError> {
    principal.require(ROLES)?;
    let id = referral_id(&id)?;
    require_json(&headers)?;
    let key = IdempotencyKey::from_headers(&headers, &principal.organisation_id)?;
    let request: PersonCorrectionRequest = parse_body(&body)?;
    let correction = validate_correction(&request, today()).map_err(ApiError::Validation)?;
    let done = command::run(
        &state,
        &principal,
        "correctPerson",
        id,
        key,
        &headers,
        &body,
        StatusCode::OK,
        &Correct { correction },
    )
    .await?;
    Ok((done.status, Json(done.answer)))
}
