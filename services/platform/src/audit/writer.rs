//! The writer: a read of person-identifiable data is an `audit.recorded` event in the log
//! before the data is sent. There is no aggregate to decide on (a read changes nothing), so
//! it is not a command: one append with no expected sequence on the subject of the
//! reader's organisation (`<prefix>.audit.<organisation_id>`).

use std::time::Duration;

use linkway_events::audit::{AuditEvent, AuditReason, AuditRecorded};
use linkway_events::{Envelope, Event};
use linkway_eventstore::{EventStore, Expected, PendingEvent};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::Principal;
use crate::problem::ApiError;
use crate::{metrics, telemetry};

/// The aggregate kind of the audit trail's events.
pub const KIND: &str = "audit";

/// Longest a read waits for its entry to be in the log; then it answers 503 (the log's
/// own timeout is 10 s, too long for a person waiting on a page).
pub const APPEND_WAIT: Duration = Duration::from_secs(3);

/// Records reads for the audit trail. Cheap to clone. Nothing turns it off.
#[derive(Clone)]
pub struct Auditor {
    store: EventStore,
}

impl Auditor {
    /// Appends through `store` (the service's own log connection).
    pub fn new(store: EventStore) -> Auditor {
        Auditor { store }
    }

    /// Records that `principal` was shown the person-identifiable data of `referral_ids`
    /// through `operation`, before it is sent. Nothing is appended when nothing is shown.
    /// Answers the entry's sequence; an entry that is not in the log within
    /// [`APPEND_WAIT`] is `ApiError::Unavailable` (503 with `Retry-After`), and the caller
    /// must then send none of the data.
    pub async fn shown(
        &self,
        principal: &Principal,
        operation: &str,
        referral_ids: &[Uuid],
    ) -> Result<Option<u64>, ApiError> {
        self.record(principal, operation, referral_ids, None).await
    }

    /// [`Auditor::shown`] with the reason the person gave.
    pub async fn record(
        &self,
        principal: &Principal,
        operation: &str,
        referral_ids: &[Uuid],
        reason: Option<AuditReason>,
    ) -> Result<Option<u64>, ApiError> {
        let Some(event) = recorded(operation, referral_ids, reason) else {
            return Ok(None);
        };
        let envelope = Envelope::new(
            principal.organisation_id.clone(),
            &event,
            principal.actor(),
            Uuid::now_v7(),
            OffsetDateTime::now_utc(),
        );
        let pending = PendingEvent::new(envelope).with_trace(telemetry::current());
        let append = self.store.append(
            KIND,
            &principal.organisation_id,
            Expected::Any,
            vec![pending],
        );
        match tokio::time::timeout(APPEND_WAIT, append).await {
            Ok(Ok(done)) => {
                metrics::event_appended(event.type_name());
                Ok(Some(done.last_sequence()))
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, operation, "audit entry not appended; the read is refused");
                Err(ApiError::Unavailable("the audit trail".into()))
            }
            Err(_) => {
                tracing::warn!(
                    operation,
                    "audit entry not acknowledged in time; the read is refused"
                );
                Err(ApiError::Unavailable("the audit trail".into()))
            }
        }
    }
}

/// The event for a read of `referral_ids` (each once, in the order shown); none when
/// nothing was shown.
fn recorded(operation: &str, referral_ids: &[Uuid], reason: Option<AuditReason>) -> Option<Event> {
    let mut ids: Vec<Uuid> = Vec::with_capacity(referral_ids.len());
    for id in referral_ids {
        if !ids.contains(id) {
            ids.push(*id);
        }
    }
    if ids.is_empty() {
        return None;
    }
    Some(
        AuditEvent::Recorded(AuditRecorded {
            operation: operation.to_owned(),
            referral_ids: ids,
            reason,
        })
        .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_names_each_referral_shown_once_in_order_and_nothing_shown_is_no_event() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let Some(Event::Audit(AuditEvent::Recorded(r))) =
            recorded("getCaseload", &[b, a, b], Some(AuditReason::DirectCare))
        else {
            panic!("an audit.recorded event");
        };
        assert_eq!(r.operation, "getCaseload");
        assert_eq!(r.referral_ids, vec![b, a]);
        assert_eq!(r.reason, Some(AuditReason::DirectCare));
        assert!(recorded("getCaseload", &[], None).is_none());
    }
}
