//! The directory feed: `syncDirectory` syncs the directory from its Open Referral UK API
//! feed now (as the schedule does, one sync at a time, all or nothing:
//! [`directory::sync`]); `getDirectorySync` says which feed and how the last sync went.

use std::sync::Arc;

use axum::routing::get;

use super::*;
use crate::directory::sync::{self, DirectorySync, SyncError, Syncer};

/// What the feed routes share: the service's database and the syncer.
#[derive(Clone)]
pub struct SyncState {
    pub syncer: Arc<Syncer>,
}

impl FromRef<SyncState> for Database {
    fn from_ref(state: &SyncState) -> Database {
        state.syncer.db.clone()
    }
}

/// The feed's routes.
pub fn sync_routes(state: SyncState) -> Router {
    Router::new()
        .route(
            "/directory/sync",
            get(get_directory_sync).post(sync_directory),
        )
        .with_state(state)
}

/// The directory feed and its last sync.
#[derive(Debug, Serialize, ToSchema)]
pub struct DirectoryFeedStatus {
    /// The Open Referral UK API the directory is synced from (without any user, password
    /// or query); unset: no feed, the directory is only imported.
    pub feed: Option<String>,
    /// Seconds between scheduled syncs; unset: only on demand (or no feed).
    pub interval_secs: Option<u64>,
    /// The most recent sync, running or done.
    pub last: Option<DirectorySync>,
}

/// Who may read the feed's state: whoever searches the directory.
pub const DIRECTORY_ROLES: &[Role] = &[Role::LinkWorker, Role::ServiceManager, Role::Admin];

/// The directory feed and how its last sync went.
#[utoipa::path(
    get, path = "/directory/sync", operation_id = "getDirectorySync", tag = "directory",
    responses(
        (status = 200, description = "The feed and its last sync", body = DirectoryFeedStatus),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn get_directory_sync(
    State(state): State<SyncState>,
    principal: Principal,
) -> Result<Json<DirectoryFeedStatus>> {
    principal.require(DIRECTORY_ROLES)?;
    feed_status(&state.syncer).await.map(Json)
}

/// The feed and its last sync (`getDirectorySync` and the feed page).
pub async fn feed_status(syncer: &Syncer) -> Result<DirectoryFeedStatus> {
    let client = syncer.db.client().await?;
    let last = sync::last(&**client).await?;
    let feed = syncer.feed.as_ref();
    Ok(DirectoryFeedStatus {
        feed: feed.map(|f| f.shown()),
        interval_secs: feed.and_then(|f| f.interval).map(|i| i.as_secs()),
        last,
    })
}

/// Sync the directory from its Open Referral UK API feed now: every page read, then all
/// its services written and those it no longer lists withdrawn (they take no new
/// connections), or, if any page fails, nothing changed. Answers the sync as recorded:
/// `outcome` says how it ended, `error` why it failed.
#[utoipa::path(
    post, path = "/directory/sync", operation_id = "syncDirectory", tag = "directory",
    responses(
        (status = 200, description = "The sync ran: its record (`outcome` succeeded, or failed with nothing changed)", body = DirectorySync),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No directory feed is set, or a sync is already running (rule `directory_feed_not_set`, `directory_sync_running`)", body = Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn sync_directory(
    State(state): State<SyncState>,
    principal: Principal,
) -> Result<Json<DirectorySync>> {
    principal.require(IMPORT_ROLES)?;
    sync_now(&state.syncer).await.map(Json)
}

/// Runs a sync on demand (`syncDirectory` and the feed page).
pub async fn sync_now(syncer: &Syncer) -> Result<DirectorySync> {
    let Some(feed) = &syncer.feed else {
        return Err(ApiError::refused(
            "directory_feed_not_set",
            "no directory feed is set (LINKWAY_DIRECTORY_FEED_URL): import the directory instead",
        ));
    };
    match sync::run(&syncer.db, &syncer.http, feed, sync::SyncTrigger::OnDemand).await {
        Ok(done) => Ok(done),
        Err(SyncError::Running | SyncError::NotDue) => Err(ApiError::refused(
            "directory_sync_running",
            "a directory sync is already running: wait for it to finish",
        )),
        Err(SyncError::Database(e)) => Err(e.into()),
        Err(SyncError::Sql(e)) => Err(e.into()),
    }
}
