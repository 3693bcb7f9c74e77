//! The outbox's SQL: `outbound_messages` (one row per message) and `outbound_attempts`
//! (every delivery attempt, never the body). Both live in intake's `public` schema
//! (bookkeeping created by `migrations/V3__outbound_messages.sql`), so the `outbox`
//! projection names them with their schema: its own tables are in `outbox`, or in a
//! rebuild's fresh schema.

use time::OffsetDateTime;
use tokio_postgres::{GenericClient, Transaction};
use uuid::Uuid;

use super::projection::NewMessage;

/// Inserts the batch's messages; one already there (a rebuild, a batch seen again) is kept
/// as it is, delivery state and all.
pub async fn insert_messages(
    tx: &Transaction<'_>,
    messages: &[NewMessage],
) -> Result<(), tokio_postgres::Error> {
    if messages.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = messages.iter().map(|m| m.message_id).collect();
    let referrals: Vec<Uuid> = messages.iter().map(|m| m.referral_id).collect();
    let seqs: Vec<i64> = messages.iter().map(|m| m.sequence as i64).collect();
    let kinds: Vec<&str> = messages.iter().map(|m| m.kind).collect();
    let endpoints: Vec<&str> = messages.iter().map(|m| m.endpoint.as_str()).collect();
    let bodies: Vec<&str> = messages.iter().map(|m| m.body.as_str()).collect();
    tx.execute(
        "INSERT INTO public.outbound_messages (message_id, referral_id, sequence, kind, endpoint, body)
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::bigint[], $4::text[], $5::text[], $6::text[])
         ON CONFLICT (message_id) DO NOTHING",
        &[&ids, &referrals, &seqs, &kinds, &endpoints, &bodies],
    )
    .await?;
    Ok(())
}

/// The person of these referrals was erased: no message of theirs keeps a body, and none
/// not yet delivered is sent.
pub async fn erase(tx: &Transaction<'_>, referrals: &[Uuid]) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "UPDATE public.outbound_messages
            SET body = NULL,
                state = CASE WHEN state = 'delivered' THEN state ELSE 'erased' END
          WHERE referral_id = ANY($1) AND (body IS NOT NULL OR state <> 'delivered' AND state <> 'erased')",
        &[&referrals],
    )
    .await?;
    Ok(())
}

/// A message due for delivery, locked by the transaction that claimed it.
#[derive(Debug, Clone)]
pub struct Due {
    pub message_id: Uuid,
    pub endpoint: String,
    pub body: String,
    pub attempts: i32,
}

/// Claims one due message: pending, its time come, and no earlier message of the same
/// referral still pending (a referral's messages go strictly in order). Rows another
/// process holds are skipped (`FOR UPDATE SKIP LOCKED`).
pub async fn claim_due(tx: &Transaction<'_>) -> Result<Option<Due>, tokio_postgres::Error> {
    let row = tx
        .query_opt(
            "SELECT m.message_id, m.endpoint, m.body, m.attempts
               FROM public.outbound_messages m
              WHERE m.state = 'pending' AND m.next_attempt_at <= now() AND m.body IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM public.outbound_messages e
                                 WHERE e.referral_id = m.referral_id AND e.state = 'pending'
                                   AND e.sequence < m.sequence)
              ORDER BY m.next_attempt_at, m.sequence
              LIMIT 1
              FOR UPDATE OF m SKIP LOCKED",
            &[],
        )
        .await?;
    Ok(row.map(|r| Due {
        message_id: r.get(0),
        endpoint: r.get(1),
        body: r.get(2),
        attempts: r.get(3),
    }))
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub status_code: Option<u16>,
    pub error_kind: Option<&'static str>,
    pub duration_ms: u32,
}

/// Records an attempt, and where the message stands after it: delivered, dead, or pending
/// again at `retry_at`.
pub async fn record_attempt(
    tx: &Transaction<'_>,
    id: Uuid,
    attempt: &Attempt,
    outcome: AfterAttempt,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "INSERT INTO public.outbound_attempts (message_id, status_code, error_kind, duration_ms)
         VALUES ($1, $2, $3, $4)",
        &[
            &id,
            &attempt.status_code.map(i32::from),
            &attempt.error_kind,
            &(attempt.duration_ms as i32),
        ],
    )
    .await?;
    let error = attempt
        .error_kind
        .map(str::to_owned)
        .or_else(|| attempt.status_code.map(|s| format!("http_{s}")));
    match outcome {
        AfterAttempt::Delivered => {
            tx.execute(
                "UPDATE public.outbound_messages SET state = 'delivered', attempts = attempts + 1,
                        delivered_at = now(), last_error = NULL WHERE message_id = $1",
                &[&id],
            )
            .await?
        }
        AfterAttempt::Dead => {
            tx.execute(
                "UPDATE public.outbound_messages SET state = 'dead', attempts = attempts + 1,
                        last_error = $2 WHERE message_id = $1",
                &[&id, &error],
            )
            .await?
        }
        AfterAttempt::RetryAt(at) => {
            tx.execute(
                "UPDATE public.outbound_messages SET attempts = attempts + 1, next_attempt_at = $2,
                        last_error = $3 WHERE message_id = $1",
                &[&id, &at, &error],
            )
            .await?
        }
    };
    Ok(())
}

/// Where a message stands after an attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AfterAttempt {
    Delivered,
    Dead,
    RetryAt(OffsetDateTime),
}

/// A dead message is tried again from its first attempt, now. `false` when there is no
/// such dead message.
pub async fn retry(client: &impl GenericClient, id: Uuid) -> Result<bool, tokio_postgres::Error> {
    let n = client
        .execute(
            "UPDATE public.outbound_messages SET state = 'pending', attempts = 0,
                    next_attempt_at = now() WHERE message_id = $1 AND state = 'dead'",
            &[&id],
        )
        .await?;
    Ok(n == 1)
}

/// One message as administrators see it: ids, codes and delivery state, never the body.
#[derive(Debug, Clone)]
pub struct Listed {
    pub message_id: Uuid,
    pub referral_id: Uuid,
    pub sequence: i64,
    pub kind: String,
    pub endpoint: String,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
    pub delivered_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
    pub log: Vec<LoggedAttempt>,
}

/// One attempt of the delivery log.
#[derive(Debug, Clone)]
pub struct LoggedAttempt {
    pub attempted_at: OffsetDateTime,
    pub status_code: Option<i32>,
    pub error_kind: Option<String>,
    pub duration_ms: i32,
}

/// The messages in `state` (all when `None`), newest first, with their delivery logs.
pub async fn list(
    client: &impl GenericClient,
    state: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Listed>, i64), tokio_postgres::Error> {
    let total: i64 = client
        .query_one(
            "SELECT count(*) FROM public.outbound_messages WHERE $1::text IS NULL OR state = $1",
            &[&state],
        )
        .await?
        .get(0);
    let rows = client
        .query(
            "SELECT message_id, referral_id, sequence, kind, endpoint, state, attempts,
                    next_attempt_at, created_at, delivered_at, last_error
               FROM public.outbound_messages WHERE $1::text IS NULL OR state = $1
              ORDER BY created_at DESC, sequence DESC LIMIT $2 OFFSET $3",
            &[&state, &limit, &offset],
        )
        .await?;
    let mut listed: Vec<Listed> = rows
        .iter()
        .map(|r| Listed {
            message_id: r.get(0),
            referral_id: r.get(1),
            sequence: r.get(2),
            kind: r.get(3),
            endpoint: r.get(4),
            state: r.get(5),
            attempts: r.get(6),
            next_attempt_at: r.get(7),
            created_at: r.get(8),
            delivered_at: r.get(9),
            last_error: r.get(10),
            log: Vec::new(),
        })
        .collect();
    let ids: Vec<Uuid> = listed.iter().map(|l| l.message_id).collect();
    let attempts = client
        .query(
            "SELECT message_id, attempted_at, status_code, error_kind, duration_ms
               FROM public.outbound_attempts WHERE message_id = ANY($1)
              ORDER BY attempted_at, id",
            &[&ids],
        )
        .await?;
    for a in attempts {
        let id: Uuid = a.get(0);
        if let Some(l) = listed.iter_mut().find(|l| l.message_id == id) {
            l.log.push(LoggedAttempt {
                attempted_at: a.get(1),
                status_code: a.get(2),
                error_kind: a.get(3),
                duration_ms: a.get(4),
            });
        }
    }
    Ok((listed, total))
}

/// How many messages are in each state, for the metrics.
pub async fn counts(
    client: &impl GenericClient,
) -> Result<Vec<(String, i64)>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT state, count(*) FROM public.outbound_messages GROUP BY state",
            &[],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}
