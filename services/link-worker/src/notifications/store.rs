//! The notification outbox's SQL: `notifications` (one row per notification, no address
//! or name) and `notification_attempts` (every send attempt, never the message). Both live
//! in link-worker's `public` schema (`migrations/V4__notifications.sql`), so they are named
//! with their schema.

use time::OffsetDateTime;
use tokio_postgres::{GenericClient, Transaction};
use uuid::Uuid;

use super::projection::Change;
use super::{Channel, Kind};

/// Applies one change of the projection. An insert already there (a rebuild, a batch seen
/// again) keeps the row as it is; cancelling and erasing touch only what is pending.
pub async fn apply(tx: &Transaction<'_>, change: &Change) -> Result<(), tokio_postgres::Error> {
    match change {
        Change::Add(n) => {
            tx.execute(
                "INSERT INTO public.notifications
                    (event_id, kind, referral_id, appointment_id, starts_at, due_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (event_id, kind) DO NOTHING",
                &[
                    &n.event_id,
                    &n.kind.as_str(),
                    &n.referral_id,
                    &n.appointment_id,
                    &n.starts_at,
                    &n.due_at,
                ],
            )
            .await?;
        }
        Change::CancelReminders {
            appointment_id,
            keep,
        } => {
            tx.execute(
                "UPDATE public.notifications SET state = 'cancelled'
                  WHERE appointment_id = $1 AND kind = 'reminder' AND state = 'pending'
                    AND event_id IS DISTINCT FROM $2",
                &[appointment_id, keep],
            )
            .await?;
        }
        Change::Erase { referral_id } => {
            tx.execute(
                "UPDATE public.notifications SET state = 'erased'
                  WHERE referral_id = $1 AND state = 'pending'",
                &[referral_id],
            )
            .await?;
        }
    }
    Ok(())
}

/// A notification due, locked by the transaction that claimed it.
#[derive(Debug, Clone)]
pub struct Due {
    pub event_id: Uuid,
    pub kind: Kind,
    pub referral_id: Uuid,
    pub appointment_id: Uuid,
    pub starts_at: OffsetDateTime,
    pub attempts: i32,
}

/// Claims one notification due by `now`: pending, its time come (and its retry's). Rows
/// another process holds are skipped (`FOR UPDATE SKIP LOCKED`).
pub async fn claim_due(
    tx: &Transaction<'_>,
    now: OffsetDateTime,
) -> Result<Option<Due>, tokio_postgres::Error> {
    let row = tx
        .query_opt(
            "SELECT event_id, kind, referral_id, appointment_id, starts_at, attempts
               FROM public.notifications
              WHERE state = 'pending' AND coalesce(due_at, '-infinity') <= $1
                AND coalesce(next_attempt_at, '-infinity') <= $1
              ORDER BY coalesce(next_attempt_at, due_at, created_at), created_at
              LIMIT 1
              FOR UPDATE SKIP LOCKED",
            &[&now],
        )
        .await?;
    Ok(row.and_then(|r| {
        Some(Due {
            event_id: r.get(0),
            kind: Kind::parse(r.get(1))?,
            referral_id: r.get(2),
            appointment_id: r.get(3),
            starts_at: r.get(4),
            attempts: r.get(5),
        })
    }))
}

/// What came back from one attempt (never what was sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub status_code: Option<u16>,
    pub error_kind: Option<&'static str>,
    pub duration_ms: u32,
}

/// Where a notification stands after a decision or an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After {
    Sent {
        provider_id: Option<String>,
    },
    /// Not sent, and never will be: the rule that says so.
    NotSent(&'static str),
    /// The appointment it is about is no longer as it said (cancelled, moved since).
    Cancelled,
    Erased,
    RetryAt(OffsetDateTime),
    Dead,
}

/// Records an attempt (when there was one) and where the notification now stands.
pub async fn finish(
    tx: &Transaction<'_>,
    due: &Due,
    channel: Option<Channel>,
    attempt: Option<&Attempt>,
    after: &After,
    now: OffsetDateTime,
) -> Result<(), tokio_postgres::Error> {
    let kind = due.kind.as_str();
    if let Some(a) = attempt {
        tx.execute(
            "INSERT INTO public.notification_attempts
                (event_id, kind, attempted_at, status_code, error_kind, duration_ms)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &due.event_id,
                &kind,
                &now,
                &a.status_code.map(i32::from),
                &a.error_kind,
                &(a.duration_ms as i32),
            ],
        )
        .await?;
    }
    let (state, rule, provider, retry): (&str, Option<&str>, Option<&str>, Option<OffsetDateTime>) =
        match after {
            After::Sent { provider_id } => ("sent", None, provider_id.as_deref(), None),
            After::NotSent(rule) => ("not_sent", Some(rule), None, None),
            After::Cancelled => ("cancelled", None, None, None),
            After::Erased => ("erased", None, None, None),
            After::RetryAt(at) => ("pending", None, None, Some(*at)),
            After::Dead => ("dead", None, None, None),
        };
    let finished = (state != "pending").then_some(now);
    tx.execute(
        "UPDATE public.notifications
            SET state = $3, not_sent_rule = $4, provider_id = coalesce($5, provider_id),
                next_attempt_at = $6, finished_at = $7, channel = coalesce($8, channel),
                attempts = attempts + $9
          WHERE event_id = $1 AND kind = $2",
        &[
            &due.event_id,
            &kind,
            &state,
            &rule,
            &provider,
            &retry,
            &finished,
            &channel.map(Channel::as_str),
            &i32::from(attempt.is_some()),
        ],
    )
    .await?;
    Ok(())
}

/// One notification as administrators see it: codes and times, never the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub event_id: Uuid,
    pub kind: String,
    pub referral_id: Uuid,
    pub starts_at: OffsetDateTime,
    pub due_at: Option<OffsetDateTime>,
    pub state: String,
    pub not_sent_rule: Option<String>,
    pub channel: Option<String>,
    pub attempts: i32,
    pub created_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
}

/// The latest notifications (of `state`, when given), newest first.
pub async fn list(
    client: &impl GenericClient,
    state: Option<&str>,
    limit: i64,
) -> Result<Vec<Listed>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT event_id, kind, referral_id, starts_at, due_at, state, not_sent_rule,
                    channel, attempts, created_at, finished_at
               FROM public.notifications
              WHERE $1::text IS NULL OR state = $1
              ORDER BY created_at DESC, kind
              LIMIT $2",
            &[&state, &limit],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Listed {
            event_id: r.get(0),
            kind: r.get(1),
            referral_id: r.get(2),
            starts_at: r.get(3),
            due_at: r.get(4),
            state: r.get(5),
            not_sent_rule: r.get(6),
            channel: r.get(7),
            attempts: r.get(8),
            created_at: r.get(9),
            finished_at: r.get(10),
        })
        .collect())
}
