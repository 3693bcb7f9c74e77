//! The connection timers: every `ctx.timers.interval`, remind the community services that
//! have not answered an onward connection (`LINKWAY_CONNECTION_REMINDER_DAYS`) and decline
//! the connections left unanswered for `LINKWAY_CONNECTION_ANSWER_DAYS` (reason
//! `no_answer_in_time`), by the service's clock (`ctx.timers.clock`).
//!
//! Each look rescans every open case of the caseload read model with a connection pending
//! since before the reminder's days, and decides with the pure rules of
//! [`crate::case::timers`] what is due. Each due step then runs through the platform's one
//! command path as the system acting for the case's organisation, with an idempotency key
//! derived from what it decides (`remind:<connection_id>`, `auto-decline:<connection_id>`)
//! and a body that does not depend on the time: the command path decides again on the log
//! (never on the read model), so several processes looking at once append each step once
//! (the loser's append conflicts, it decides again and finds the winner's event by its
//! message id), and nothing is missed across restarts (the next look sees whatever fell
//! due meanwhile). A step the log says is no longer due (answered, reminded, declined
//! since the read model was written) is nothing to do. A process pinned to write
//! `case.connection_declined` v1 (a rolling upgrade) declines nothing, since v1 cannot say
//! `no_answer_in_time`; the processes writing v2 do.

use axum::http::StatusCode;
use linkway_events::Role;
use linkway_platform::auth::Principal;
use linkway_platform::command::{self, Call};
use linkway_platform::idempotency::IdempotencyKey;
use linkway_platform::{ApiError, ServiceContext};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::case::timers::{Due, NOT_DUE, due};
use crate::case::{Command, Connection, Policy};
use crate::commands::CaseDecision;

/// What one look did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Looked {
    pub candidates: usize,
    pub reminded: usize,
    pub declined: usize,
}

/// Starts the timers on `ctx.shutdown`: a look now, then every `ctx.timers.interval`.
pub fn spawn(ctx: &ServiceContext, policy: Policy) {
    let (ctx, stop) = (ctx.clone(), ctx.shutdown.clone());
    ctx.shutdown.clone().spawn("connection timers", async move {
        loop {
            tokio::select! {
                looked = look(&ctx, &policy) => match looked {
                    Ok(l) if l.reminded + l.declined > 0 => tracing::info!(
                        candidates = l.candidates, reminded = l.reminded, declined = l.declined,
                        "connection timers acted"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "connection timers could not look; next look retries"),
                },
                () = stop.clone().wait() => return,
            }
            tokio::select! {
                () = tokio::time::sleep(ctx.timers.interval) => {}
                () = stop.clone().wait() => return,
            }
        }
    });
}

/// One look: every step due at the clock's `now`, each through the command path.
#[tracing::instrument(
    name = "connection_timers",
    skip_all,
    fields(candidates, reminded, declined)
)]
pub async fn look(ctx: &ServiceContext, policy: &Policy) -> anyhow::Result<Looked> {
    let now = ctx.timers.clock.now();
    let days = policy
        .connection_reminder_days
        .min(policy.connection_answer_days);
    let cases = candidates(ctx, now - Duration::days(days)).await?;
    let mut looked = Looked {
        candidates: cases.len(),
        ..Looked::default()
    };
    for Candidate {
        referral_id,
        organisation_id,
        connections,
    } in cases
    {
        for connection in &connections {
            let Some(step) = due(connection, now, policy) else {
                continue;
            };
            if step == Due::Decline && !reason_writable() {
                // Pinned to write v1 for a rolling upgrade: the decline would lose its
                // `no_answer_in_time`. A process writing v2 declines it; so does this one
                // once the pin comes off (the next look rescans).
                continue;
            }
            let acted = act(
                ctx,
                policy,
                &organisation_id,
                referral_id,
                connection.connection_id,
                step,
                now,
            )
            .await;
            match (acted, step) {
                (Ok(true), Due::Remind) => looked.reminded += 1,
                (Ok(true), Due::Decline) => looked.declined += 1,
                (Ok(false), _) => {}
                // One case failing (the log unavailable for a moment) leaves the others;
                // the next look tries it again.
                (Err(e), _) => tracing::warn!(
                    %referral_id, connection_id = %connection.connection_id,
                    error = %e, "connection timer step failed; next look retries"
                ),
            }
        }
    }
    let span = tracing::Span::current();
    span.record("candidates", looked.candidates);
    span.record("reminded", looked.reminded);
    span.record("declined", looked.declined);
    linkway_platform::metrics::timer_looked("connections");
    Ok(looked)
}

/// Whether this process writes `case.connection_declined` with its reason (v2), not
/// pinned to v1 (`LINKWAY_WRITE_EVENT_VERSIONS`), which has no place for it.
pub fn reason_writable() -> bool {
    linkway_events::write_versions::installed().version_of("case.connection_declined", 2) >= 2
}

/// A case with a connection pending long enough to be looked at.
struct Candidate {
    referral_id: Uuid,
    organisation_id: String,
    connections: Vec<Connection>,
}

/// Open cases with a connection pending since before `before`, with their organisation
/// and connections (only those of the record: a look reads no person's details).
async fn candidates(
    ctx: &ServiceContext,
    before: OffsetDateTime,
) -> anyhow::Result<Vec<Candidate>> {
    let client = ctx.db.client().await?;
    let rows = client
        .query(
            "SELECT referral_id, organisation_id, (record -> 'connections')::text
             FROM caseload.cases
             WHERE open AND organisation_id IS NOT NULL AND oldest_pending_connection_at <= $1
             ORDER BY oldest_pending_connection_at",
            &[&before],
        )
        .await?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            Some(Candidate {
                referral_id: row.get(0),
                organisation_id: row.get(1),
                connections: serde_json::from_str(row.get::<_, &str>(2)).ok()?,
            })
        })
        .collect())
}

/// Runs one due step through the command path; `Ok(true)` when this call appended it,
/// `Ok(false)` when the log says there is nothing to do (or another process did it).
#[tracing::instrument(name = "connection_timer", skip_all, fields(%referral_id, %connection_id, step = ?step))]
async fn act(
    ctx: &ServiceContext,
    policy: &Policy,
    organisation_id: &str,
    referral_id: Uuid,
    connection_id: Uuid,
    step: Due,
    now: OffsetDateTime,
) -> Result<bool, ApiError> {
    let (operation, key, command) = match step {
        Due::Remind => (
            "remindService",
            format!("remind:{connection_id}"),
            Command::RemindService { connection_id, now },
        ),
        Due::Decline => (
            "declineUnanswered",
            format!("auto-decline:{connection_id}"),
            Command::DeclineUnanswered { connection_id, now },
        ),
    };
    let principal = Principal {
        token_id: Uuid::nil(),
        organisation_id: organisation_id.to_owned(),
        role: Role::System,
        user_id: None,
    };
    // What the step is, without the time: every process deciding it sends the same.
    let body = serde_json::json!({ "connection_id": connection_id }).to_string();
    let call = Call {
        operation,
        principal: &principal,
        aggregate_id: referral_id.to_string(),
        key: Some(IdempotencyKey {
            organisation_id: organisation_id.to_owned(),
            key,
        }),
        body: body.as_bytes(),
        if_match: None,
        correlation_id: Uuid::now_v7(),
        success: StatusCode::OK,
    };
    let decision = CaseDecision {
        id: referral_id,
        command,
        policy,
        refused: Vec::new(),
    };
    match command::execute(&ctx.store, &call, &decision).await {
        Ok(executed) => Ok(!executed.replayed),
        // Rerouted elsewhere since the read model was written: not this organisation's.
        Err(ApiError::NotFound) => Ok(false),
        Err(ApiError::Refused(e)) if NOT_DUE.contains(&e.rule.as_str()) => Ok(false),
        Err(e) => Err(e),
    }
}
