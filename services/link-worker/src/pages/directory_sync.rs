//! `/directory/feed`: for service managers and administrators, the directory's Open
//! Referral UK feed, how its last sync went (started, finished, outcome, pages, services
//! added, updated and withdrawn, why it failed) and a button that syncs now, by
//! `syncDirectory`'s own function.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use linkway_platform::ApiError;
use linkway_platform::web::page::{error_summary, form, success_banner, summary_list, tag};
use linkway_platform::web::{FieldError, Page, PageForm, SignedIn};
use maud::{Markup, html};
use time::OffsetDateTime;

use super::{PageError, html, navigation, principal};
use crate::api::{self, DirectoryFeedStatus, IMPORT_ROLES, SyncState};
use crate::directory::sync::{DirectorySync, SyncOutcome, SyncTrigger};

/// The page's address.
pub const PATH: &str = "/directory/feed";
/// Where a refusal of the button is shown.
const BUTTON: &str = "sync";

/// The feed page's routes.
pub fn routes(state: SyncState) -> Router {
    Router::new()
        .route(PATH, get(page).post(post))
        .with_state(state)
}

/// The directory feed page.
#[utoipa::path(
    get, path = "/directory/feed", operation_id = "getDirectoryFeedPage", tag = "pages",
    responses(
        (status = 200, description = "The feed, its last sync and the sync button (HTML)", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to /sign-in"),
        (status = 403, description = "Not a service manager or administrator (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "Try again shortly (HTML)", content_type = "text/html", body = String),
    ),
    security(("session" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn page(who: SignedIn, State(state): State<SyncState>) -> Result<Response, PageError> {
    principal(&who, IMPORT_ROLES)?;
    let status = api::feed_status(&state.syncer).await?;
    Ok(render(&who, &status, None, &[], StatusCode::OK))
}

/// Syncs the directory now.
#[utoipa::path(
    post, path = "/directory/feed", operation_id = "submitDirectorySyncForm", tag = "pages",
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "`csrf`: the session's CSRF token."),
    responses(
        (status = 200, description = "The sync ran: the page with how it went (HTML)", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to /sign-in"),
        (status = 403, description = "No or wrong CSRF token, or not a service manager or administrator: nothing synced (HTML)", content_type = "text/html", body = String),
        (status = 409, description = "No feed is set, or a sync is already running: the page saying so (HTML)", content_type = "text/html", body = String),
        (status = 503, description = "Try again shortly (HTML)", content_type = "text/html", body = String),
    ),
    security(("session" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn post(
    who: SignedIn,
    State(state): State<SyncState>,
    _form: PageForm,
) -> Result<Response, PageError> {
    principal(&who, IMPORT_ROLES)?;
    let done = api::sync_now(&state.syncer).await;
    let status = api::feed_status(&state.syncer).await?;
    match done {
        Ok(sync) => Ok(render(&who, &status, Some(&sync), &[], StatusCode::OK)),
        Err(ApiError::Refused(refusal)) => {
            let errors = [FieldError {
                field: BUTTON.to_owned(),
                message: sentence(&refusal.message),
            }];
            Ok(render(&who, &status, None, &errors, StatusCode::CONFLICT))
        }
        Err(other) => Err(other.into()),
    }
}

/// `message` with its first letter in upper case.
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn when(at: Option<OffsetDateTime>) -> String {
    at.and_then(|t| {
        t.format(time::macros::format_description!(
            "[day] [month repr:short] [year] [hour]:[minute]:[second] UTC"
        ))
        .ok()
    })
    .unwrap_or_else(|| "—".to_owned())
}

fn outcome(sync: &DirectorySync) -> Markup {
    match sync.outcome {
        SyncOutcome::Running => tag("Running", "blue"),
        SyncOutcome::Succeeded => tag("Succeeded", "green"),
        SyncOutcome::Failed => tag("Failed: nothing changed", "red"),
    }
}

/// The last sync as a summary list.
fn last_sync(sync: &DirectorySync) -> Markup {
    let trigger = match sync.trigger {
        SyncTrigger::Schedule => "On the schedule",
        SyncTrigger::OnDemand => "On demand",
    };
    let number = |n: i32| html! { (n) };
    let mut rows = vec![
        ("SyncOutcome", outcome(sync)),
        ("Started", html! { (when(Some(sync.started_at))) }),
        ("Finished", html! { (when(sync.finished_at)) }),
        ("Started by", html! { (trigger) }),
        ("Pages read", number(sync.pages)),
        ("Services added", number(sync.added)),
        ("Services updated", number(sync.updated)),
        ("Services withdrawn", number(sync.removed)),
    ];
    if let Some(error) = &sync.error {
        rows.push(("Error", html! { (error) }));
    }
    summary_list(&rows)
}

fn render(
    who: &SignedIn,
    status: &DirectoryFeedStatus,
    done: Option<&DirectorySync>,
    errors: &[FieldError],
    code: StatusCode,
) -> Response {
    let title = "Directory feed";
    let content = html! {
        (error_summary(errors))
        @if let Some(sync) = done {
            @match sync.outcome {
                SyncOutcome::Failed => (error_summary(&[FieldError {
                    field: BUTTON.to_owned(),
                    message: format!("The sync failed and changed nothing: {}", sync.error.as_deref().unwrap_or("no reason given")),
                }])),
                _ => (success_banner("Directory synced", html! {
                    p { (sync.added) " added, " (sync.updated) " updated, " (sync.removed) " withdrawn." }
                })),
            }
        }
        h1 { (title) }
        @match &status.feed {
            Some(feed) => {
                p { "The directory is synced from the Open Referral UK API at " code { (feed) } "." }
                p { @match status.interval_secs {
                    Some(secs) => { "It syncs by itself every " (secs) " seconds." }
                    None => { "It syncs only when asked." }
                } " A sync reads every page before it changes anything; a service the feed no longer lists is withdrawn and takes no new connections." }
            }
            None => p { "No directory feed is set (" code { "LINKWAY_DIRECTORY_FEED_URL" } "): the directory is only imported." }
        }
        h2 { "Last sync" }
        @match &status.last {
            Some(sync) => (last_sync(sync)),
            None => p { "The directory has not been synced yet." }
        }
        @if status.feed.is_some() {
            div id=(BUTTON) {
                (form(PATH, &who.csrf, "Sync now", html! {}))
            }
        }
    };
    let page = Page {
        title,
        service: super::SERVICE,
        signed_in: Some(who),
        navigation: navigation(who, PATH),
        has_errors: !errors.is_empty(),
        back: None,
    };
    html(code, &page, content)
}
