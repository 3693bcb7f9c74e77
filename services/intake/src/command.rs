//! Where referrals become events. Every intake command is a [`Decision`] run by the
//! platform's one command path ([`linkway_platform::command::execute`]):
//! - [`Submit`] (JSON API, FHIR message and web form alike): `referral.received` on a new
//!   aggregate, then `referral.routed` or `referral.unroutable`. The id derives from the
//!   `Idempotency-Key`, so a retry lands on the same referral, and a retry after a crash
//!   between the two appends finishes the routing instead of starting over.
//! - [`Correct`]: withdraw, or mark entered in error.
//! - [`RouteByHand`]: an administrator routes an unroutable referral.
//!
//! Each decides on the referral's and its case's events together, and its append is
//! guarded on both: a case accepted while a withdrawal is decided makes one of them
//! decide again.

use axum::http::{HeaderMap, StatusCode};
use linkway_events::referral::{
    ReferralEnteredInError, ReferralEvent, ReferralReceived, ReferralRouted, ReferralUnroutable,
    ReferralWithdrawn, SourceChannel,
};
use linkway_events::{Actor, Event, Role};
use linkway_platform::auth::Principal;
use linkway_platform::command::{self, Call, Decision, Executed, Recorded};
use linkway_platform::idempotency::IdempotencyKey;
use linkway_platform::text::Text;
use linkway_platform::{ApiError, FieldError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::queries;
use crate::read_model::Status;
use crate::referral::Referral;
use crate::routing::{self, Route};
use crate::validation::ValidReferral;

/// The answer to every command that changed a referral.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CommandResponse {
    pub referral_id: Uuid,
    pub status: Status,
    /// Stream sequence of the last event appended: pass it as `min_sequence` to read your write.
    pub sequence: u64,
}

fn answer(after: &Referral, events: &[Recorded]) -> CommandResponse {
    CommandResponse {
        referral_id: after
            .received
            .as_ref()
            .map_or_else(Uuid::nil, |r| r.referral_id),
        status: after.status(),
        sequence: events.last().map_or(after.version, |e| e.sequence),
    }
}

/// Runs an intake command on one referral through the platform's command path.
#[allow(
    clippy::too_many_arguments,
    reason = "one call's parts, named at each call site"
)]
pub async fn run<D: Decision<Answer = CommandResponse>>(
    state: &AppState,
    principal: &Principal,
    operation: &'static str,
    referral_id: Uuid,
    key: Option<IdempotencyKey>,
    headers: &HeaderMap,
    body: &[u8],
    success: StatusCode,
    decision: &D,
) -> Result<Executed<CommandResponse>, ApiError> {
    let call = Call {
        operation,
        principal,
        aggregate_id: referral_id.to_string(),
        key,
        body,
        if_match: None,
        correlation_id: crate::api::correlation_id(headers),
        success,
    };
    command::execute(&state.store, &call, decision).await
}

/// The id of a new referral: derived from the key (a retry names the same referral), or
/// fresh without one.
pub fn new_referral_id(key: Option<&IdempotencyKey>, operation: &str) -> Uuid {
    key.map_or_else(Uuid::now_v7, |k| k.derived_id(operation))
}

/// How a referral arrived, with what only that channel says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arrival {
    Api,
    Web,
    /// A FHIR message: `reply_to` is its `MessageHeader.source.endpoint`, where replies to
    /// the sender go. It goes into the event, so intake answers it from the log alone.
    Fhir {
        reply_to: String,
    },
    /// The person referred themselves (`crate::self_referral`).
    SelfReferral,
}

impl Arrival {
    /// The event's `source_channel` and `reply_to`.
    fn into_event_fields(self) -> (SourceChannel, Option<String>) {
        match self {
            Arrival::Api => (SourceChannel::Api, None),
            Arrival::Web => (SourceChannel::Web, None),
            Arrival::Fhir { reply_to } => (SourceChannel::Fhir, Some(reply_to)),
            Arrival::SelfReferral => (SourceChannel::SelfReferral, None),
        }
    }
}

/// Submits a validated referral from any channel: picks the route from intake's copy of
/// the routing rules (configuration, read without waiting), then runs [`Submit`].
#[allow(
    clippy::too_many_arguments,
    reason = "one call's parts, named at each call site"
)]
pub async fn submit(
    state: &AppState,
    principal: &Principal,
    referrer: String,
    key: Option<IdempotencyKey>,
    operation: &'static str,
    valid: ValidReferral,
    arrival: Arrival,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Executed<CommandResponse>, ApiError> {
    let referral_id = new_referral_id(key.as_ref(), operation);
    let route = choose_route(state, &referrer, &valid.postcode_district).await?;
    let (channel, reply_to) = arrival.into_event_fields();
    let received = ReferralReceived {
        referral_id,
        referrer_organisation_id: referrer,
        practitioner: valid.practitioner,
        source_channel: channel,
        needs: valid.needs,
        urgency: valid.urgency,
        safeguarding_concern: valid.safeguarding_concern,
        legal_basis: valid.legal_basis,
        consent: valid.consent,
        postcode_district: valid.postcode_district,
        age_band: valid.age_band,
        personal: Some(valid.personal),
        reply_to,
    };
    let decision = Submit { received, route };
    run(
        state,
        principal,
        operation,
        referral_id,
        key,
        headers,
        body,
        StatusCode::CREATED,
        &decision,
    )
    .await
}

/// Record a referral: received, then routed (or unroutable).
pub struct Submit {
    pub received: ReferralReceived,
    /// Chosen from intake's copy of the routing rules before deciding.
    pub route: Route,
}

impl Decision for Submit {
    type State = Referral;
    type Answer = CommandResponse;

    /// A submit makes a new referral: its id derives from the key, or is fresh.
    fn creates(&self) -> bool {
        true
    }

    fn fold(&self, history: &[Recorded]) -> Referral {
        Referral::fold(history)
    }

    fn authorise(&self, _: &Principal, _: &Referral) -> Result<(), ApiError> {
        Ok(())
    }

    fn version(&self, state: &Referral) -> u64 {
        state.version
    }

    fn decide(&self, state: &Referral) -> Result<Vec<Event>, ApiError> {
        if state.exists() {
            return Err(ApiError::conflict(
                "Idempotency-Key",
                "new_referral",
                "a referral with this Idempotency-Key exists already; use a new key for a new referral",
            ));
        }
        let referral_id = self.received.referral_id;
        let routing = match &self.route {
            Route::To {
                link_worker_organisation_id,
                rule_id,
            } => ReferralEvent::Routed(ReferralRouted {
                referral_id,
                link_worker_organisation_id: link_worker_organisation_id.clone(),
                rule_id: Some(*rule_id),
            }),
            Route::Unroutable { reason } => ReferralEvent::Unroutable(ReferralUnroutable {
                referral_id,
                reason: reason.clone(),
            }),
        };
        Ok(vec![
            ReferralEvent::Received(self.received.clone()).into(),
            routing.into(),
        ])
    }

    fn answer(&self, after: &Referral, events: &[Recorded]) -> CommandResponse {
        answer(after, events)
    }

    /// Routing by rule is the system's doing, not the referrer's.
    fn actor(&self, principal: &Principal, event: &Event) -> Actor {
        match event {
            Event::Referral(ReferralEvent::Received(_)) => principal.actor(),
            _ => Actor::system(),
        }
    }
}

/// The two ways a referrer (or an administrator) takes a referral back.
#[derive(Debug, Clone, Copy)]
pub enum Correction {
    Withdraw,
    EnteredInError,
}

/// Withdraw a referral, or mark it entered in error.
pub struct Correct {
    pub correction: Correction,
    pub reason: String,
}

/// Who may act on a referral after it was sent: an administrator, or the organisation that
/// sent it. Anyone else is told it does not exist.
fn sender_or_admin(principal: &Principal, state: &Referral) -> Result<(), ApiError> {
    let Some(received) = &state.received else {
        return Err(ApiError::NotFound);
    };
    let allowed = principal.role == Role::Admin
        || (principal.role == Role::Referrer
            && principal.organisation_id == received.referrer_organisation_id);
    if allowed {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

impl Decision for Correct {
    type State = Referral;
    type Answer = CommandResponse;

    fn fold(&self, history: &[Recorded]) -> Referral {
        Referral::fold(history)
    }

    fn authorise(&self, principal: &Principal, state: &Referral) -> Result<(), ApiError> {
        sender_or_admin(principal, state)
    }

    fn version(&self, state: &Referral) -> u64 {
        state.version
    }

    fn decide(&self, state: &Referral) -> Result<Vec<Event>, ApiError> {
        let referral_id = state.received.as_ref().map(|r| r.referral_id);
        let referral_id = referral_id.ok_or(ApiError::NotFound)?;
        let status = state.status();
        let reason = self.reason.clone();
        let event = match self.correction {
            Correction::Withdraw if !status.is_open() => {
                return Err(ApiError::refused(
                    "open_referral",
                    format!(
                        "the referral is {} and can no longer be withdrawn",
                        status.as_str()
                    ),
                ));
            }
            Correction::Withdraw => ReferralEvent::Withdrawn(ReferralWithdrawn {
                referral_id,
                reason,
            }),
            Correction::EnteredInError if status == Status::EnteredInError => {
                return Err(ApiError::refused(
                    "not_entered_in_error",
                    "the referral is already marked entered in error",
                ));
            }
            Correction::EnteredInError => ReferralEvent::EnteredInError(ReferralEnteredInError {
                referral_id,
                reason,
            }),
        };
        Ok(vec![event.into()])
    }

    fn answer(&self, after: &Referral, events: &[Recorded]) -> CommandResponse {
        answer(after, events)
    }
}

/// An administrator routes an unroutable referral to a link-worker service by hand.
pub struct RouteByHand {
    pub link_worker_organisation_id: String,
}

impl Decision for RouteByHand {
    type State = Referral;
    type Answer = CommandResponse;

    fn fold(&self, history: &[Recorded]) -> Referral {
        Referral::fold(history)
    }

    fn authorise(&self, principal: &Principal, state: &Referral) -> Result<(), ApiError> {
        sender_or_admin(principal, state)
    }

    fn version(&self, state: &Referral) -> u64 {
        state.version
    }

    fn decide(&self, state: &Referral) -> Result<Vec<Event>, ApiError> {
        let referral_id = state.received.as_ref().map(|r| r.referral_id);
        let referral_id = referral_id.ok_or(ApiError::NotFound)?;
        if state.status() != Status::Unroutable {
            return Err(ApiError::refused(
                "unroutable",
                format!(
                    "the referral is {}, not waiting to be routed",
                    state.status().as_str()
                ),
            ));
        }
        Ok(vec![
            ReferralEvent::Routed(ReferralRouted {
                referral_id,
                link_worker_organisation_id: self.link_worker_organisation_id.clone(),
                rule_id: None,
            })
            .into(),
        ])
    }

    fn answer(&self, after: &Referral, events: &[Recorded]) -> CommandResponse {
        answer(after, events)
    }
}

/// Decides which organisation the referral is from: a referrer's own (it may not name
/// another), or, for an administrator, the registered organisation it names.
pub async fn referring_organisation(
    state: &AppState,
    principal: &Principal,
    named: Option<&str>,
) -> Result<String, ApiError> {
    use linkway_events::Role;
    match principal.role {
        Role::Referrer => match named {
            None => Ok(principal.organisation_id.clone()),
            Some(org) if org == principal.organisation_id => Ok(org.to_owned()),
            Some(_) => Err(ApiError::Forbidden),
        },
        Role::Admin => {
            let Some(org) = named else {
                return Err(ApiError::field(
                    "referrer_organisation_id",
                    "required",
                    "an administrator must name the organisation the referral is from",
                ));
            };
            let client = state.db.client().await?;
            if linkway_platform::registry::organisation(&client, org)
                .await?
                .is_none()
            {
                return Err(ApiError::field(
                    "referrer_organisation_id",
                    "registered_organisation",
                    "is not a registered organisation",
                ));
            }
            Ok(org.to_owned())
        }
        _ => Err(ApiError::Forbidden),
    }
}

/// Reads the routing rules from intake's copy of the registry and picks one.
pub async fn choose_route(
    state: &AppState,
    referrer: &str,
    district: &str,
) -> Result<Route, ApiError> {
    let client = state.db.client().await?;
    let rules = queries::routing_rules(&client, referrer, district).await?;
    Ok(routing::choose(&rules, referrer, district))
}

/// The text rule of a correction's reason (withdrawn, entered in error).
pub const REASON: Text = Text::multi_line(500);

/// A reason given for a correction: required, under [`REASON`].
pub fn reason(value: Option<&str>) -> Result<String, ApiError> {
    match REASON.clean(value.unwrap_or_default()) {
        Ok(Some(r)) => Ok(r),
        Ok(None) => Err(ApiError::Validation(vec![FieldError::new(
            "reason",
            "required",
            "is required",
        )])),
        Err(e) => Err(ApiError::Validation(vec![FieldError::new(
            "reason",
            e.rule(),
            e.to_string(),
        )])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_required_trimmed_and_bounded() {
        let rule = |r: Result<String, ApiError>| match r {
            Err(ApiError::Validation(e)) => (e[0].field.clone(), e[0].rule.clone()),
            other => panic!("{other:?}"),
        };
        assert_eq!(rule(reason(None)), ("reason".into(), "required".into()));
        assert_eq!(
            rule(reason(Some(" \n "))),
            ("reason".into(), "required".into())
        );
        assert_eq!(
            rule(reason(Some(&"x".repeat(501)))),
            ("reason".into(), "max_length".into())
        );
        assert_eq!(reason(Some("  moved away ")).unwrap(), "moved away");
        assert_eq!(
            rule(reason(Some("moved\0away"))),
            ("reason".into(), "control_character".into())
        );
        assert_eq!(reason(Some(&"é".repeat(500))).unwrap().chars().count(), 500);
    }
}
