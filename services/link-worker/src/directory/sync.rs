//! Keeping the directory in step with its Open Referral UK feed ([`feed`]): on a schedule
//! and on demand (`syncDirectory`), one sync at a time however many link-worker processes
//! run, all or nothing.
//!
//! A sync holds a PostgreSQL advisory lock (transaction-scoped, on the transaction that
//! writes the directory) from before it reads the feed until it commits: a second sync,
//! in this process or another, finds the lock taken and is refused ([`SyncError::Running`])
//! or, on the schedule, skipped; a process that dies mid-sync lets the lock go with its
//! connection, and the next sync marks the record it left `failed` (interrupted). The feed
//! is read whole before anything is written; then, in that one transaction, every service
//! listed is inserted or updated (only those that changed count as updated) and marked as
//! the feed's, and every service an earlier sync took from a feed and this one no longer
//! lists is withdrawn: kept, since connections name it, but taking no new connections (a
//! listed one comes back). A failure anywhere changes no service. Each sync is recorded in
//! `directory_syncs` (started, finished, outcome, pages, added, updated, removed, error).

use std::time::Duration;

use linkway_platform::{Database, Shutdown};
use serde::Serialize;
use time::OffsetDateTime;
use tokio_postgres::GenericClient;
use utoipa::ToSchema;
use uuid::Uuid;

use super::feed::{self, Feed};
use super::write;

/// The advisory lock key of a sync (in the link-worker database; any fixed number).
const LOCK: i64 = 0x6c69_6e6b_6469_7231; // "linkdir1"

/// What started a sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SyncTrigger {
    /// `LINKWAY_DIRECTORY_SYNC_INTERVAL_SECS` came round.
    Schedule,
    /// Someone asked (`syncDirectory`, the directory feed page).
    OnDemand,
}

impl SyncTrigger {
    fn as_str(self) -> &'static str {
        match self {
            SyncTrigger::Schedule => "schedule",
            SyncTrigger::OnDemand => "on_demand",
        }
    }
}

/// How a sync ended (or that it has not yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SyncOutcome {
    Running,
    /// The directory is the feed's, as read.
    Succeeded,
    /// Nothing changed: `error` says why.
    Failed,
}

/// One sync of the directory feed, as recorded.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DirectorySync {
    pub sync_id: Uuid,
    /// The feed read (without any user, password or query).
    pub feed: String,
    pub trigger: SyncTrigger,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    pub outcome: SyncOutcome,
    /// Pages read (the failing one included).
    pub pages: i32,
    /// Services new to the directory.
    pub added: i32,
    /// Services already there that the feed changed (or listed again after a withdrawal).
    pub updated: i32,
    /// Services the feed no longer lists, withdrawn: they take no new connections.
    pub removed: i32,
    /// Why it failed, naming the page.
    pub error: Option<String>,
}

/// Why no sync ran.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("a directory sync is already running")]
    Running,
    /// Scheduled, but a sync started within the interval (perhaps in another process).
    #[error("the last directory sync is recent")]
    NotDue,
    #[error(transparent)]
    Database(#[from] linkway_platform::db::DbError),
    #[error(transparent)]
    Sql(#[from] tokio_postgres::Error),
}

/// Syncs the directory from `feed` now, unless a sync is running (or, on the schedule,
/// one started within the feed's interval).
pub async fn run(
    db: &Database,
    http: &reqwest::Client,
    feed: &Feed,
    trigger: SyncTrigger,
) -> Result<DirectorySync, SyncError> {
    let mut writer = db.client().await?;
    let tx = writer.transaction().await?;
    let locked: bool = tx
        .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&LOCK])
        .await?
        .get(0);
    if !locked {
        return Err(SyncError::Running);
    }
    if let (SyncTrigger::Schedule, Some(interval)) = (trigger, feed.interval) {
        let secs = interval.as_secs_f64();
        let recent: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM directory_syncs \
                 WHERE started_at > now() - make_interval(secs => $1))",
                &[&secs],
            )
            .await?
            .get(0);
        if recent {
            return Err(SyncError::NotDue);
        }
    }
    // The record is written outside the transaction, so it is seen while the sync runs.
    let recorder = db.client().await?;
    recorder
        .execute(
            "UPDATE directory_syncs SET outcome = 'failed', finished_at = now(), \
             error = 'interrupted: the process stopped before the sync finished' \
             WHERE outcome = 'running'",
            &[],
        )
        .await?;
    let sync_id = Uuid::now_v7();
    let shown = feed.shown();
    recorder
        .execute(
            "INSERT INTO directory_syncs (sync_id, feed_url, trigger, outcome) \
             VALUES ($1, $2, $3, 'running')",
            &[&sync_id, &shown, &trigger.as_str()],
        )
        .await?;
    let fetched = feed::fetch(http, feed).await;
    let failure = match fetched {
        Ok(fetched) => match apply(&tx, &shown, &fetched.services).await {
            Ok((added, updated, removed)) => {
                let pages = i32::try_from(fetched.pages).unwrap_or(i32::MAX);
                let row = tx
                    .query_one(
                        &format!(
                            "UPDATE directory_syncs SET outcome = 'succeeded', finished_at = now(), \
                             pages = $2, added = $3, updated = $4, removed = $5 \
                             WHERE sync_id = $1 RETURNING {COLUMNS}"
                        ),
                        &[&sync_id, &pages, &added, &updated, &removed],
                    )
                    .await?;
                tx.commit().await?;
                tracing::info!(pages, added, updated, removed, "directory synced");
                return Ok(read(&row));
            }
            Err(e) => feed::FetchError {
                pages: fetched.pages,
                message: format!("the directory could not be written: {e}"),
            },
        },
        Err(e) => e,
    };
    tx.rollback().await?;
    tracing::warn!(error = %failure.message, "directory sync failed; nothing changed");
    let pages = i32::try_from(failure.pages).unwrap_or(i32::MAX);
    let row = recorder
        .query_one(
            &format!(
                "UPDATE directory_syncs SET outcome = 'failed', finished_at = now(), pages = $2, \
                 error = $3 WHERE sync_id = $1 RETURNING {COLUMNS}"
            ),
            &[&sync_id, &pages, &failure.message],
        )
        .await?;
    Ok(read(&row))
}

/// Writes the feed's services and withdraws those it no longer lists: (added, updated,
/// removed).
async fn apply(
    tx: &tokio_postgres::Transaction<'_>,
    feed: &str,
    services: &[super::DirectoryService],
) -> Result<(i32, i32, i32), tokio_postgres::Error> {
    let (added, updated) = write(tx, services, Some(feed)).await?;
    let ids: Vec<&str> = services.iter().map(|s| s.id.as_str()).collect();
    let removed = tx
        .execute(
            "UPDATE directory_services SET withdrawn_at = now() \
             WHERE feed_url IS NOT NULL AND withdrawn_at IS NULL \
             AND NOT (service_id = ANY($1::text[]))",
            &[&ids],
        )
        .await?;
    let count = |n: u64| i32::try_from(n).unwrap_or(i32::MAX);
    Ok((count(added), count(updated), count(removed)))
}

const COLUMNS: &str = "sync_id, feed_url, trigger, started_at, finished_at, outcome, pages, added, updated, removed, error";

fn read(row: &tokio_postgres::Row) -> DirectorySync {
    let trigger = match row.get::<_, &str>(2) {
        "schedule" => SyncTrigger::Schedule,
        _ => SyncTrigger::OnDemand,
    };
    let outcome = match row.get::<_, &str>(5) {
        "running" => SyncOutcome::Running,
        "succeeded" => SyncOutcome::Succeeded,
        _ => SyncOutcome::Failed,
    };
    DirectorySync {
        sync_id: row.get(0),
        feed: row.get(1),
        trigger,
        started_at: row.get(3),
        finished_at: row.get(4),
        outcome,
        pages: row.get(6),
        added: row.get(7),
        updated: row.get(8),
        removed: row.get(9),
        error: row.get(10),
    }
}

/// The most recent sync (running or done), if any.
pub async fn last(
    client: &impl GenericClient,
) -> Result<Option<DirectorySync>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            &format!("SELECT {COLUMNS} FROM directory_syncs ORDER BY started_at DESC, sync_id DESC LIMIT 1"),
            &[],
        )
        .await?;
    Ok(row.as_ref().map(read))
}

/// A sync of `feed` now and then every interval until `shutdown`, in the background.
/// With several processes each tries; the lock and the interval leave one sync per
/// interval.
pub fn schedule(db: Database, http: reqwest::Client, feed: Feed, shutdown: &Shutdown) {
    let Some(interval) = feed.interval else {
        return;
    };
    let stop = shutdown.clone();
    shutdown.spawn("directory sync", async move {
        loop {
            let once = run(&db, &http, &feed, SyncTrigger::Schedule);
            tokio::select! {
                done = once => match done {
                    Ok(_) | Err(SyncError::Running | SyncError::NotDue) => {}
                    Err(e) => tracing::warn!(error = %e, "directory sync could not run"),
                },
                () = stop.clone().wait() => return,
            }
            tokio::select! {
                () = tokio::time::sleep(interval.max(Duration::from_secs(1))) => {}
                () = stop.clone().wait() => return,
            }
        }
    });
}

/// The HTTP client a feed is read with.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("linkway/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default()
}

/// What the API and the pages sync with: the feed (when set) and the client reading it.
#[derive(Clone)]
pub struct Syncer {
    pub db: Database,
    pub feed: Option<Feed>,
    pub http: reqwest::Client,
}

impl Syncer {
    pub fn new(db: Database, feed: Option<Feed>) -> Syncer {
        Syncer {
            db,
            feed,
            http: client(),
        }
    }

    /// Starts the schedule, when the feed has an interval.
    pub fn schedule(&self, shutdown: &Shutdown) {
        if let Some(feed) = &self.feed {
            schedule(self.db.clone(), self.http.clone(), feed.clone(), shutdown);
        }
    }
}
