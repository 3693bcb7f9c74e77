//! HTTP operations of the link-worker service.
//!
//! Queries read the caseload read model (and can wait for a command's `sequence` with
//! `?min_sequence=`). Commands load the case from the event log (the referral's events and
//! the case's own), decide with [`case::decide`], and append with the case's last sequence
//! as the expected one: a concurrent writer gets 409 `conflict` and can retry; an illegal
//! step gets 409 `illegal-transition` naming the rule; neither appends anything.
//!
//! A case's details (the person's name, the plan ...) are served only to the link-worker
//! organisation the referral was routed to; anyone else gets 404, as if it did not exist.

use linkway_platform::auth::BearerAuth;
use std::collections::BTreeMap;

use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use linkway_events::Role;
use linkway_events::case::{
    ClosureReason, ContactChannel, ContactOutcome, DeclineReason, SharedDetail, Timepoint,
};
use linkway_events::common::Coding;
use linkway_events::referral::{LegalBasis, ReferralPersonal};
use linkway_eventstore::EventStore;
use linkway_platform::auth::Principal;
use linkway_platform::command::{self, Call};
use linkway_platform::http::{Path, Query};
use linkway_platform::idempotency::IdempotencyKey;
use linkway_platform::read_your_writes;
use linkway_platform::{ApiError, Checkpoint, Database, FieldError, Problem};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::{Date, OffsetDateTime};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use crate::case::{
    self, Case, CaseState, Command, ConnectionResponse, ConnectionStatus, ContactKind, Policy,
};
use crate::commands::CaseDecision;
use crate::directory::{self, DirectoryEntry};
use crate::outcomes::{self, Instrument};
use fields::check;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub db: Database,
    pub store: EventStore,
    /// Where the caseload projection stands, for `?min_sequence=`.
    pub caseload: Checkpoint,
    pub policy: Policy,
    /// Records each read of a person's record before it is sent.
    pub audit: linkway_platform::audit::Auditor,
    /// "Now" for what depends on it (an appointment in the past, one that has started):
    /// the service's timers' clock, so tests move it by hand.
    pub clock: linkway_platform::clock::Clock,
}

impl FromRef<AppState> for Database {
    fn from_ref(state: &AppState) -> Database {
        state.db.clone()
    }
}

const CASE_ROLES: &[Role] = &[Role::LinkWorker, Role::ServiceManager];

/// Largest directory import body, in bytes.
pub const DIRECTORY_IMPORT_LIMIT: usize = 32 * 1024 * 1024;

/// The service's routes (without the operational ones).
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/caseload", get(get_caseload))
        .route("/cases/{id}", get(get_case))
        .route("/cases/{id}/accept", post(accept_referral))
        .route("/cases/{id}/decline", post(decline_referral))
        .route("/cases/{id}/assignment", post(assign_case))
        .route("/cases/{id}/contacts", post(record_contact))
        .route("/cases/{id}/plan", post(agree_plan))
        .route("/cases/{id}/plan/reviews", post(review_plan))
        .route("/cases/{id}/connections", post(connect_service))
        .route(
            "/cases/{id}/connections/{connection_id}/responses",
            post(record_connection_response),
        )
        .route("/cases/{id}/outcomes", post(record_outcome))
        .route("/cases/{id}/safeguarding", post(raise_safeguarding))
        .route("/cases/{id}/closure", post(close_case))
        .merge(appointments::routes())
        .route("/directory", get(list_directory))
        .route(
            "/directory/import",
            // A whole region's directory in one page is several megabytes.
            post(import_directory)
                .layer(axum::extract::DefaultBodyLimit::max(DIRECTORY_IMPORT_LIMIT)),
        )
        .with_state(state)
}

// ------------------------------------------------------------------------------------------
// Errors

type Result<T> = std::result::Result<T, ApiError>;

fn invalid(field: &str, rule: &str, message: &str) -> ApiError {
    ApiError::field(field, rule, message)
}

/// The request's correlation id: the caller's `X-Correlation-ID`, or the one the request
/// layer made for it (the same id is in the request's log line and its events).
fn correlation_id(headers: &HeaderMap) -> Uuid {
    linkway_platform::http::CorrelationId::from_headers(headers).0
}

/// The `If-Match` header: the case version (`"N"`, `W/"N"` or `N`, N of 1-19 digits) the
/// caller decided on. A person who read version N and acts on it must not silently
/// overwrite what a colleague did since; without the header the command is decided on the
/// latest version. [`contract::IF_MATCH_PATTERN`] is the same rule for the document.
pub(crate) fn if_match(headers: &HeaderMap) -> Result<Option<u64>> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let version = value.to_str().ok().and_then(|v| {
        let digits = match v.strip_prefix("W/").unwrap_or(v).strip_prefix('"') {
            Some(quoted) => quoted.strip_suffix('"')?,
            None if v.starts_with("W/") => return None,
            None => v,
        };
        let digits_only =
            (1..=19).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
        digits_only.then(|| digits.parse().ok()).flatten()
    });
    version.map(Some).ok_or_else(|| {
        invalid(
            "If-Match",
            "case_version",
            "If-Match must be a case version, e.g. \"42\"",
        )
    })
}

/// Parses a JSON body into `T` (see [`linkway_platform::http::parse_json`]).
fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T> {
    linkway_platform::http::parse_json(body)
}

/// Runs one command on one case through the platform's command path, refusing with
/// `refused` (when not empty) once the case is authorised: see [`CaseDecision::refused`].
async fn execute(
    state: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
    id: Uuid,
    request: &[u8],
    command: Command,
    refused: Vec<FieldError>,
) -> Result<(StatusCode, Json<CommandAccepted>)> {
    let call = Call {
        operation: command.name(),
        principal,
        aggregate_id: id.to_string(),
        key: IdempotencyKey::from_headers(headers, &principal.organisation_id)?,
        body: request,
        if_match: if_match(headers)?,
        correlation_id: correlation_id(headers),
        success: StatusCode::OK,
    };
    let decision = CaseDecision {
        id,
        command,
        policy: &state.policy,
        refused,
    };
    let done = command::execute(&state.store, &call, &decision).await?;
    Ok((done.status, Json(done.answer)))
}

mod appointments;
mod caseload;
mod cases;
mod community_services;
pub mod contract;
mod directory_sync;
pub mod fields;
mod import_contract;
mod openapi;
mod operation;
mod plans;

pub use appointments::*;
pub use caseload::*;
pub use cases::*;
pub use community_services::*;
pub use directory_sync::*;
pub use openapi::*;
pub use operation::{Operation, run};
pub use plans::*;
