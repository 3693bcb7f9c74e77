//! Where a referral becomes events. Every channel (JSON API, FHIR message, web form) ends
//! here: `referral.received` on a new aggregate (`Expected::NoEvents`), then routing to
//! one link-worker service (`referral.routed`) or to an administrator (`referral.unroutable`)
//! with the received event's sequence expected. Message ids are deterministic, so a retry
//! of the same command cannot append twice, and a retry after a crash between the two
//! appends finishes the routing instead of starting over.

use std::time::Duration;

use linkway_events::referral::{
    ReferralEvent, ReferralReceived, ReferralRouted, ReferralUnroutable, SourceChannel,
};
use linkway_events::{Actor, Envelope, Event};
use linkway_eventstore::{AppendError, EventStore, Expected, PendingEvent};
use linkway_platform::auth::Principal;
use linkway_platform::idempotency::IdempotencyKey;
use linkway_platform::{ApiError, FieldError};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;
use crate::read_model::Status;
use crate::routing::{self, Route};
use crate::validation::ValidReferral;

/// A referral ready to be recorded.
pub struct Submission {
    pub valid: ValidReferral,
    pub channel: SourceChannel,
    pub correlation_id: Uuid,
}

/// What a create answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub referral_id: Uuid,
    pub status: Status,
    /// Stream sequence of the last event the command appended (for `min_sequence`).
    pub sequence: u64,
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

/// Records a referral: received, then routed or unroutable.
pub async fn submit(
    state: &AppState,
    principal: &Principal,
    referrer: String,
    key: Option<&IdempotencyKey>,
    operation: &str,
    submission: Submission,
) -> Result<Submitted, ApiError> {
    let referral_id = key.map_or_else(Uuid::now_v7, |k| k.derived_id(operation));
    let message_id = |n: usize| match key {
        Some(k) => k.message_id(operation, n),
        None => format!("{}:{n}", referral_id.simple()),
    };
    let v = submission.valid;
    let route = choose_route(state, &referrer, &v.postcode_district).await?;
    let possible_duplicate_of = match (&route, v.personal.person.nhs_number.as_deref()) {
        (
            Route::To {
                link_worker_organisation_id,
                ..
            },
            Some(nhs),
        ) => open_referrals_for(state, nhs, link_worker_organisation_id, referral_id).await?,
        _ => Vec::new(),
    };
    let received = ReferralReceived {
        referral_id,
        referrer_organisation_id: referrer,
        practitioner: v.practitioner,
        source_channel: submission.channel,
        needs: v.needs,
        urgency: v.urgency,
        safeguarding_concern: v.safeguarding_concern,
        legal_basis: v.legal_basis,
        consent: v.consent,
        postcode_district: v.postcode_district,
        age_band: v.age_band,
        personal: v.personal,
    };
    let now = OffsetDateTime::now_utc();
    let event: Event = ReferralEvent::Received(received).into();
    let envelope = Envelope::new(
        referral_id.to_string(),
        &event,
        principal.actor(),
        submission.correlation_id,
        now,
    );
    let received_event_id = envelope.event_id;
    let appended = state
        .store
        .append(
            "referral",
            &referral_id.to_string(),
            Expected::NoEvents,
            vec![PendingEvent::with_message_id(envelope, message_id(0))],
        )
        .await;
    let received_sequence = match appended {
        Ok(a) => {
            linkway_platform::metrics::event_appended("referral.received");
            a.last_sequence()
        }
        // The same idempotency key created it before (the answer was not recorded, or the
        // log's duplicate window has passed): finish that command rather than start another.
        Err(AppendError::Conflict { .. }) if key.is_some() => {
            return resume(state, referral_id, submission.correlation_id).await;
        }
        Err(e) => return Err(e.into()),
    };
    let (status, sequence) = append_route(
        &state.store,
        referral_id,
        route,
        received_sequence,
        submission.correlation_id,
        received_event_id,
        message_id(1),
    )
    .await?;
    Ok(Submitted {
        referral_id,
        status,
        sequence,
    })
}

/// Appends the routing decision after the received event.
async fn append_route(
    store: &EventStore,
    referral_id: Uuid,
    route: Route,
    after: u64,
    correlation_id: Uuid,
    causation_id: Uuid,
    message_id: String,
) -> Result<(Status, u64), ApiError> {
    let (event, status): (Event, Status) = match route {
        Route::To {
            link_worker_organisation_id,
            rule_id,
        } => (
            ReferralEvent::Routed(ReferralRouted {
                referral_id,
                link_worker_organisation_id,
                rule_id: Some(rule_id),
            })
            .into(),
            Status::Routed,
        ),
        Route::Unroutable { reason } => (
            ReferralEvent::Unroutable(ReferralUnroutable {
                referral_id,
                reason,
            })
            .into(),
            Status::Unroutable,
        ),
    };
    let event_type = event.type_name();
    let envelope = Envelope::new(
        referral_id.to_string(),
        &event,
        Actor::system(),
        correlation_id,
        OffsetDateTime::now_utc(),
    )
    .with_causation(causation_id);
    let appended = store
        .append(
            "referral",
            &referral_id.to_string(),
            Expected::LastSequence(after),
            vec![PendingEvent::with_message_id(envelope, message_id)],
        )
        .await?;
    linkway_platform::metrics::event_appended(event_type);
    Ok((status, appended.last_sequence()))
}

/// Answers (and if need be completes) a create that already happened.
async fn resume(
    state: &AppState,
    referral_id: Uuid,
    correlation_id: Uuid,
) -> Result<Submitted, ApiError> {
    let aggregate = load(&state.store, referral_id).await?.ok_or_else(|| {
        ApiError::Conflict("the referral is being created by another request; retry shortly".into())
    })?;
    if aggregate.routing_known {
        return Ok(Submitted {
            referral_id,
            status: aggregate.status,
            sequence: aggregate.last_sequence,
        });
    }
    let route = choose_route(
        state,
        &aggregate.received.referrer_organisation_id,
        &aggregate.received.postcode_district,
    )
    .await?;
    let (status, sequence) = append_route(
        &state.store,
        referral_id,
        route,
        aggregate.last_sequence,
        correlation_id,
        aggregate.received_event_id,
        format!("{}:resume-route", referral_id.simple()),
    )
    .await?;
    Ok(Submitted {
        referral_id,
        status,
        sequence,
    })
}

/// Reads the routing rules from intake's copy of the registry and picks one.
pub async fn choose_route(
    state: &AppState,
    referrer: &str,
    district: &str,
) -> Result<Route, ApiError> {
    let client = state.db.client().await?;
    let rows = client
        .query(
            "SELECT rule_id, link_worker_organisation_id, criterion_kind, criterion_value, priority
             FROM registry.routing_rules
             WHERE (criterion_kind = 'referring_organisation' AND criterion_value = $1)
                OR (criterion_kind = 'postcode_district' AND upper(criterion_value) = upper($2))",
            &[&referrer, &district],
        )
        .await?;
    let rules: Vec<routing::Rule> = rows
        .iter()
        .filter_map(|r| {
            Some(routing::Rule {
                rule_id: r.get(0),
                link_worker_organisation_id: r.get(1),
                criterion: routing::Criterion::parse(r.get(2))?,
                value: r.get(3),
                priority: r.get(4),
            })
        })
        .collect();
    Ok(routing::choose(&rules, referrer, district))
}

/// Open referrals of the same person at the same service. Waits (briefly) for the read
/// model to include everything already in the log, so a referral sent a moment ago counts.
async fn open_referrals_for(
    state: &AppState,
    nhs_number: &str,
    service: &str,
    this: Uuid,
) -> Result<Vec<Uuid>, ApiError> {
    if let Ok(end) = state.store.last_sequence().await {
        state.referrals.wait_for(end, Duration::from_secs(2)).await;
    }
    let client = state.db.client().await?;
    let open = Status::open_values();
    let rows = client
        .query(
            "SELECT referral_id FROM referrals.referrals
             WHERE nhs_number_key = $1 AND link_worker_organisation_id = $2
               AND status = ANY($3) AND referral_id <> $4
             ORDER BY received_at, referral_id",
            &[&state.nhs_key.hash(nhs_number), &service, &open, &this],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// A referral aggregate as its own events tell it (authoritative, unlike the read model).
pub struct Aggregate {
    pub received: ReferralReceived,
    pub received_event_id: Uuid,
    /// Status from the referral's own events (case events are not part of this aggregate).
    pub status: Status,
    /// A routed or unroutable event exists.
    pub routing_known: bool,
    pub link_worker_organisation_id: Option<String>,
    pub last_sequence: u64,
}

/// Loads a referral from the log; `None` when there is no such referral.
pub async fn load(store: &EventStore, referral_id: Uuid) -> Result<Option<Aggregate>, ApiError> {
    let events = store.load("referral", &referral_id.to_string()).await?;
    let mut aggregate: Option<Aggregate> = None;
    for recorded in events {
        let (envelope, event) = recorded.decode().map_err(|e| {
            ApiError::Internal(anyhow::anyhow!("referral {referral_id} unreadable: {e}"))
        })?;
        match (event, aggregate.as_mut()) {
            (Event::Referral(ReferralEvent::Received(r)), None) => {
                aggregate = Some(Aggregate {
                    received: r,
                    received_event_id: envelope.event_id,
                    status: Status::Received,
                    routing_known: false,
                    link_worker_organisation_id: None,
                    last_sequence: recorded.sequence,
                });
            }
            (Event::Referral(e), Some(a)) => {
                a.last_sequence = recorded.sequence;
                match e {
                    ReferralEvent::Routed(r) => {
                        a.routing_known = true;
                        a.link_worker_organisation_id = Some(r.link_worker_organisation_id);
                        if a.status.is_open() {
                            a.status = Status::Routed;
                        }
                    }
                    ReferralEvent::Unroutable(_) => {
                        a.routing_known = true;
                        if a.status.is_open() {
                            a.status = Status::Unroutable;
                        }
                    }
                    ReferralEvent::Withdrawn(_) => a.status = Status::Withdrawn,
                    ReferralEvent::EnteredInError(_) => a.status = Status::EnteredInError,
                    _ => {}
                }
            }
            _ => {}
        }
    }
    Ok(aggregate)
}

/// Who may act on a referral after it was sent: an administrator, or the organisation that
/// sent it. Anyone else is told it does not exist.
pub fn may_act_on(principal: &Principal, aggregate: &Aggregate) -> bool {
    principal.role == linkway_events::Role::Admin
        || (principal.role == linkway_events::Role::Referrer
            && principal.organisation_id == aggregate.received.referrer_organisation_id)
}

/// A reason given for a correction: required, bounded.
pub fn reason(value: Option<&str>) -> Result<String, ApiError> {
    match value.map(str::trim).filter(|s| !s.is_empty()) {
        None => Err(ApiError::Validation(vec![FieldError::new(
            "reason",
            "required",
            "is required",
        )])),
        Some(r) if r.chars().count() > 500 => Err(ApiError::Validation(vec![FieldError::new(
            "reason",
            "max_length",
            "must be at most 500 characters",
        )])),
        Some(r) => Ok(r.to_owned()),
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
        assert_eq!(reason(Some(&"é".repeat(500))).unwrap().chars().count(), 500);
    }
}
