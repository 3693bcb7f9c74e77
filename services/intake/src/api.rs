//! The JSON API: handlers, their request and response types, and their OpenAPI
//! descriptions. Handlers authenticate ([`Principal`]), authorise by role and organisation,
//! validate (pure, in [`crate::validation`]), and hand over to [`crate::command`]; what they
//! read, they read through [`crate::queries`].
//!
//! One file per capability, all re-exported here (`crate::api::X` names every handler
//! and type):
//! - [`referrals`]: `submitReferral`, `getReferral`, `listReferrals` and their views.
//! - [`corrections`]: `withdrawReferral`, `markReferralEnteredInError`.
//! - [`admin`]: `listUnroutable`, `routeReferral`.
//!
//! This file holds what they share: roles, `?min_sequence=`, body and header checks.
//!
//! [`Principal`]: linkway_platform::auth::Principal

use axum::http::{HeaderMap, header};
use linkway_events::Role;
use linkway_platform::ApiError;
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::AppState;

pub mod admin;
pub mod corrections;
pub mod referrals;

pub use admin::*;
pub use corrections::*;
pub use referrals::*;

/// Roles that send and follow referrals.
pub const REFERRAL_ROLES: &[Role] = &[Role::Referrer, Role::Admin];

pub use crate::command::CommandResponse;

/// `?min_sequence=N`: wait (at most 5 s) until the read model includes event N.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReadQuery {
    /// A `sequence` from a command's answer.
    pub min_sequence: Option<u64>,
}

/// The request's correlation id: the caller's `X-Correlation-ID`, or the one the request
/// layer made for it (the same id is in the request's log line and its events).
pub fn correlation_id(headers: &HeaderMap) -> Uuid {
    linkway_platform::http::CorrelationId::from_headers(headers).0
}

/// Today's date for age and date-of-birth checks.
pub fn today() -> time::Date {
    OffsetDateTime::now_utc().date()
}

pub(crate) fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let ok = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|m| {
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        });
    if ok {
        Ok(())
    } else {
        Err(ApiError::Unsupported("send application/json".into()))
    }
}

/// Parses a JSON body (see [`linkway_platform::http::parse_json`]: the failing field and rule).
pub fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    linkway_platform::http::parse_json(body)
}

/// Waits for the read model to include `min_sequence`.
pub async fn wait_for(state: &AppState, min_sequence: Option<u64>) -> Result<(), ApiError> {
    linkway_platform::read_your_writes::reach(&state.referrals, min_sequence).await
}

/// The path's referral id; one that is not a UUID names no referral.
pub(crate) fn referral_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::NotFound)
}
