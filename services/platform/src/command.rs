//! The one command path. Every command of every service runs through [`execute`]:
//!
//! 1. load every subject of the aggregate id (`<prefix>.*.<id>`: a referral and its case
//!    are one aggregate for a decision) and fold it ([`Decision::fold`]);
//! 2. find the command's own events in the history by their message ids: if the command
//!    was appended before (a retry, or its answer was lost), answer as it answered then;
//!    if the same key was used for a different request, refuse (422);
//! 3. authorise on the folded state, check `If-Match` against its version;
//! 4. decide (a pure function of the service's domain) and append, expecting the last
//!    sequence of **every** subject the decision read: a change anywhere in the aggregate
//!    between load and append (a withdrawal landing while a case is accepted) fails the
//!    append, and the command is decided again on the new history. A command of several
//!    events appends them one after another; if it stops between two (a crash), its
//!    retry finds the first by message id and appends only the rest.
//!
//! Message ids follow one formula ([`IdempotencyKey::message_id_prefix`]): organisation,
//! operation, aggregate id and key, then the event's position in the command and a hash
//! of the request (`<prefix><n>.<request>`). They stay in the log for ever, so a retry is
//! recognised however late it comes, and the log alone answers it: the command path
//! touches no database. A key binds the request only through the events it appended: a
//! command that appended nothing (refused, or a no-op) leaves nothing to compare with.

use axum::http::StatusCode;
use linkway_events::{Actor, Envelope, Event};
use linkway_eventstore::{AppendError, EventStore, Expected, PendingEvent};
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::Principal;
use crate::http::request::current_service;
use crate::idempotency::IdempotencyKey;
use crate::problem::ApiError;
use crate::secret::sha256_hex;
use crate::{metrics, telemetry};

/// How often a command is decided again after another writer changed its aggregate.
const MAX_ATTEMPTS: usize = 5;

/// One event of an aggregate's history, decoded.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub sequence: u64,
    pub envelope: Envelope,
    pub event: Event,
    /// The `Nats-Msg-Id` it was appended under.
    pub message_id: Option<String>,
}

impl Recorded {
    fn is_from(&self, prefix: &str) -> bool {
        self.message_id
            .as_deref()
            .is_some_and(|id| id.starts_with(prefix))
    }

    /// The request hash in the message id of one of a command's events (none for events
    /// appended before message ids carried it).
    fn request_hash(&self, prefix: &str) -> Option<&str> {
        self.message_id
            .as_deref()?
            .strip_prefix(prefix)?
            .split_once('.')
            .map(|(_, hash)| hash)
    }
}

/// What a service says about one kind of command; the platform does the rest.
pub trait Decision: Sync {
    /// The aggregate as the decision sees it.
    type State: Send;
    /// What the command answers (stored for retries, so it must round-trip through JSON).
    type Answer: Serialize + DeserializeOwned + Send;

    /// Folds an aggregate's history (possibly empty) into its state.
    fn fold(&self, history: &[Recorded]) -> Self::State;

    /// May this caller act on this aggregate? Anyone else's is "not found".
    fn authorise(&self, principal: &Principal, state: &Self::State) -> Result<(), ApiError>;

    /// The version `If-Match` is compared with.
    fn version(&self, state: &Self::State) -> u64;

    /// The events the command appends, or why it may not (a pure function).
    fn decide(&self, state: &Self::State) -> Result<Vec<Event>, ApiError>;

    /// The answer, from the state after the command's events and those events.
    fn answer(&self, after: &Self::State, events: &[Recorded]) -> Self::Answer;

    /// A create: the aggregate id is new unless this call is a retry (it derives from the
    /// `Idempotency-Key`, or is fresh). Its first attempt decides on the empty history
    /// without loading it and appends expecting no events; a retry or a reused key then
    /// meets a conflict (or the log's duplicate check) and is decided as any other
    /// command, on the history loaded from the log. One round trip fewer for every create.
    fn creates(&self) -> bool {
        false
    }

    /// Who an event is recorded as done by: the caller, unless the service says otherwise
    /// (routing that follows a submit is done by the system).
    fn actor(&self, principal: &Principal, _event: &Event) -> Actor {
        principal.actor()
    }
}

/// One call of a command, as the HTTP edge received it.
pub struct Call<'a> {
    /// The operationId, e.g. `acceptReferral`.
    pub operation: &'static str,
    pub principal: &'a Principal,
    pub aggregate_id: String,
    pub key: Option<IdempotencyKey>,
    /// The request body as sent: with the aggregate id, what the key stands for.
    pub body: &'a [u8],
    pub if_match: Option<u64>,
    pub correlation_id: Uuid,
    /// The status of a successful first answer (201 for a create, else 200).
    pub success: StatusCode,
}

/// What [`execute`] answers.
#[derive(Debug)]
pub struct Executed<A> {
    pub status: StatusCode,
    pub answer: A,
    /// The command had happened before: this is the original answer, nothing was appended.
    pub replayed: bool,
}

/// Runs one command (see the module docs), timed by operation.
#[tracing::instrument(name = "command", skip_all, fields(operation = call.operation, organisation = %call.principal.organisation_id, role = call.principal.role.as_str()))]
pub async fn execute<D: Decision>(
    store: &EventStore,
    call: &Call<'_>,
    decision: &D,
) -> Result<Executed<D::Answer>, ApiError> {
    let started = std::time::Instant::now();
    let executed = decide_and_append(store, call, decision).await;
    metrics::command(current_service(), call.operation, started.elapsed());
    executed
}

async fn decide_and_append<D: Decision>(
    store: &EventStore,
    call: &Call<'_>,
    decision: &D,
) -> Result<Executed<D::Answer>, ApiError> {
    let request = request_hash(call);
    let ours = call
        .key
        .as_ref()
        .map(|k| k.message_id_prefix(call.operation, &call.aggregate_id));
    // A create's first attempt assumes the aggregate is new (see `Decision::creates`).
    let mut assume_new = decision.creates();
    for _ in 0..MAX_ATTEMPTS {
        let history = if assume_new {
            Vec::new()
        } else {
            load(store, &call.aggregate_id).await?
        };
        // The command's own events already in the log: a retry whose answer was lost.
        let (first_ours, already) = match &ours {
            Some(prefix) => (
                history.iter().position(|r| r.is_from(prefix)),
                history.iter().filter(|r| r.is_from(prefix)).count(),
            ),
            None => (None, 0),
        };
        if let (Some(prefix), Some(first)) = (&ours, first_ours)
            && history[first..]
                .iter()
                .filter_map(|r| r.request_hash(prefix))
                .any(|hash| hash != request)
        {
            return Err(ApiError::IdempotencyMismatch(
                "this Idempotency-Key was already used for a different request".into(),
            ));
        }
        let before = &history[..first_ours.unwrap_or(history.len())];
        let state = decision.fold(before);
        decision.authorise(call.principal, &state)?;
        if already == 0
            && let Some(version) = call.if_match
        {
            let now = decision.version(&state);
            if version != now {
                return Err(ApiError::conflict(
                    "If-Match",
                    "version",
                    format!("changed since version {version} (now {now}); reload and try again"),
                ));
            }
        }
        let events = decision.decide(&state)?;
        let remaining = &events[already.min(events.len())..];
        let mut appended = Vec::with_capacity(remaining.len());
        if !remaining.is_empty() {
            let last = history.last().map_or(0, |r| r.sequence);
            let pending = envelopes(
                call,
                decision,
                remaining,
                already,
                ours.as_deref(),
                &request,
            );
            match store
                .append(
                    aggregate_kind(&remaining[0]),
                    &call.aggregate_id,
                    Expected::WholeAggregate(last),
                    pending.iter().map(|(p, _)| p.clone()).collect(),
                )
                .await
            {
                // The log had seen one of these message ids: not new after all. Answer
                // from the log, as any retry is answered.
                Ok(done) if assume_new && done.any_duplicate => {
                    assume_new = false;
                    continue;
                }
                Ok(done) => {
                    if !done.duplicate {
                        for (p, _) in &pending {
                            metrics::event_appended(&p.envelope.event_type);
                        }
                    }
                    for ((p, event), sequence) in pending.into_iter().zip(done.sequences) {
                        appended.push(Recorded {
                            sequence,
                            message_id: Some(p.message_id),
                            envelope: p.envelope,
                            event,
                        });
                    }
                }
                // Someone changed the aggregate since it was read (or a create's aggregate
                // was not new): decide again on the history as it is.
                Err(AppendError::Conflict { .. }) => {
                    metrics::command_conflict(current_service(), call.operation);
                    assume_new = false;
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
        }
        let mut whole = history;
        whole.extend(appended);
        let answer = answer_from(decision, &whole, ours.as_deref(), &events);
        let status = call.success;
        return Ok(Executed {
            status,
            answer,
            replayed: remaining.is_empty(),
        });
    }
    Err(ApiError::conflict(
        "aggregate",
        "concurrent_change",
        "the record kept changing while this request was decided; try again",
    ))
}

/// The answer from the history holding the command's events: the state just after the
/// last of them, and those events (identified by message id, or, without a key, the last
/// `events.len()` events, which this call has just appended).
fn answer_from<D: Decision>(
    decision: &D,
    whole: &[Recorded],
    ours: Option<&str>,
    events: &[Event],
) -> D::Answer {
    let count = events.len();
    let end = whole.len();
    let (upto, mine): (usize, Vec<Recorded>) = match ours {
        Some(prefix) => {
            let mine: Vec<(usize, &Recorded)> = whole
                .iter()
                .enumerate()
                .filter(|(_, r)| r.is_from(prefix))
                .collect();
            match mine.last() {
                Some((i, _)) => (*i + 1, mine.into_iter().map(|(_, r)| r.clone()).collect()),
                None => (end, Vec::new()),
            }
        }
        None => (end, whole[end.saturating_sub(count)..].to_vec()),
    };
    decision.answer(&decision.fold(&whole[..upto]), &mine)
}

fn aggregate_kind(event: &Event) -> &'static str {
    linkway_events::aggregate_kind_of(event.type_name())
}

/// Envelopes for the events still to append (`skip` of the command's events are in the
/// log already) with their message ids.
fn envelopes<D: Decision>(
    call: &Call<'_>,
    decision: &D,
    remaining: &[Event],
    skip: usize,
    ours: Option<&str>,
    request: &str,
) -> Vec<(PendingEvent, Event)> {
    let now = OffsetDateTime::now_utc();
    let trace = telemetry::current();
    let mut cause: Option<Uuid> = None;
    remaining
        .iter()
        .enumerate()
        .map(|(i, event)| {
            let mut envelope = Envelope::new(
                call.aggregate_id.clone(),
                event,
                decision.actor(call.principal, event),
                call.correlation_id,
                now,
            );
            if let Some(first) = cause {
                envelope = envelope.with_causation(first);
            } else {
                cause = Some(envelope.event_id);
            }
            let pending = match ours {
                Some(prefix) => PendingEvent::with_message_id(
                    envelope,
                    format!("{prefix}{}.{request}", skip + i),
                ),
                None => PendingEvent::new(envelope),
            }
            .with_trace(trace.clone());
            (pending, event.clone())
        })
        .collect()
}

/// Loads and decodes an aggregate's history with each event's message id: what a
/// decision folds, for anything else that decides from the log alone.
pub async fn load(store: &EventStore, aggregate_id: &str) -> Result<Vec<Recorded>, ApiError> {
    let stored = store.load_aggregate(aggregate_id).await?;
    stored
        .into_iter()
        .map(|s| {
            let (envelope, event) = s.event.decode().map_err(|e| {
                ApiError::Internal(anyhow::anyhow!(
                    "event {} of an aggregate is unreadable: {e}",
                    s.event.sequence
                ))
            })?;
            Ok(Recorded {
                sequence: s.event.sequence,
                envelope,
                event,
                message_id: s.message_id,
            })
        })
        .collect()
}

/// What a key stands for: the aggregate and the request body, hashed (16 hex digits in
/// every message id of the command; a hash, so no request content reaches the log's
/// headers).
fn request_hash(call: &Call<'_>) -> String {
    let digest = sha256_hex(&[call.aggregate_id.as_bytes(), b"\n", call.body].concat());
    digest[..16].to_owned()
}
