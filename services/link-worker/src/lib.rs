//! The link-worker service: where link workers spend their day.
//!
//! - [`case`]: the case's journey as a pure state machine (fold + decide), no I/O.
//! - [`outcomes`]: outcome measures (ONS4, SWEMWBS, WEMWBS, UCLA-3) scored as pure,
//!   versioned functions.
//! - [`caseload`]: the caseload projection (schema `caseload`), folded from `referral.*`
//!   and `case.*` events with the same fold the commands use.
//! - The platform's audit trail ([`linkway_platform::audit`], schema `audit`): every read
//!   of a person's record ([`api::caseload`], [`api::read_case`], the team page) is
//!   recorded before it is sent, and `listAudit` (`/audit`, `/audit/view`) shows it.
//! - [`directory`]: the directory of community services (Open Referral UK), reference
//!   data imported into a table of its own, or synced from an Open Referral UK API feed
//!   ([`directory::sync`]) on a schedule and on demand.
//! - [`commands`]: every case command as a decision of the platform's one command path:
//!   folded from the referral's and the case's events, decided by [`case::decide`], and
//!   appended guarded on both subjects, so two link workers changing one case never lose
//!   an update and a withdrawal landing mid-decision is never overlooked.
//! - [`api`]: the HTTP operations: caseload queries, and handlers that hand commands to
//!   [`commands`].
//! - [`pages`]: the link worker's and the service manager's pages (server-rendered, no
//!   JavaScript needed), reading and commanding through the same functions as [`api`].
//! - [`queries`]: the SQL of the caseload queries, as typed functions.
//! - [`timers`]: the connection timers: a service that has not answered an onward
//!   connection is reminded once after `connection_reminder_days`, and the connection is
//!   declined automatically after `connection_answer_days`, by the service's clock,
//!   through the command path (exactly once with several processes).
//! - [`inbox`]: the community service's inbox (schema `inbox`): the onward referrals sent
//!   to the directory services its organisation answers for, with only the details
//!   shared, and its answers (accept, decline with a reason, attended) through the
//!   command path.
//!
//! The service appends only `case.*` events and reads only the log and its own database.

pub mod api;
pub mod case;
pub mod caseload;
pub mod commands;
pub mod directory;
pub mod inbox;
pub mod notifications;
pub mod outcomes;
pub mod pages;
pub mod queries;
pub mod timers;

use linkway_platform::audit::{self, AuditTrail, Auditor};
use linkway_platform::metrics;
use linkway_platform::ops::ScrapeHook;
use linkway_platform::registry::Registry;
use linkway_platform::service::{self, BoxFuture, Progress, Service, Started};
use linkway_platform::{Database, ServiceContext};

pub use api::openapi;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// Names of this service's projections, for `linkway rebuild <name>`.
pub const PROJECTIONS: &[&str] = &[
    "caseload",
    "registry",
    AuditTrail::NAME,
    "inbox",
    notifications::Notifications::NAME,
];

/// The link-worker service as the `linkway` binary runs it, with the settings its
/// decisions depend on (`LINKWAY_MAX_CONTACT_ATTEMPTS`, `LINKWAY_CONNECTION_ANSWER_DAYS`,
/// read by the binary's settings, not here).
pub struct LinkWorkerService {
    pub policy: case::Policy,
    /// The Open Referral UK API the directory is synced from (`LINKWAY_DIRECTORY_FEED_*`,
    /// `LINKWAY_DIRECTORY_SYNC_INTERVAL_SECS`); `None`: the directory is only imported.
    pub directory_feed: Option<directory::feed::Feed>,
    /// Appointment notifications (`LINKWAY_NOTIFY_*`, `LINKWAY_APPOINTMENT_REMINDER_HOURS`).
    pub notify: notifications::NotifySettings,
}

impl Service for LinkWorkerService {
    fn name(&self) -> &'static str {
        "link-worker"
    }

    fn projections(&self) -> &'static [&'static str] {
        PROJECTIONS
    }

    fn openapi(&self) -> utoipa::openapi::OpenApi {
        openapi()
    }

    fn migrate<'a>(&'a self, db: &'a Database) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move { Ok(db.migrate(embedded::migrations::runner()).await?) })
    }

    /// Spawns the caseload, the registry and the audit trail; the API routes over their
    /// checkpoints.
    fn start<'a>(&'a self, ctx: &'a ServiceContext) -> BoxFuture<'a, anyhow::Result<Started>> {
        Box::pin(async move {
            self.migrate(&ctx.db).await?;
            let registry = ctx.spawn_projection(Registry).await?;
            let caseload = ctx.spawn_projection(caseload::Caseload).await?;
            let trail = ctx.spawn_projection(AuditTrail).await?;
            let notified = notifications::start(ctx, &self.notify).await?;
            timers::spawn(ctx, self.policy);
            let inbox = ctx.spawn_projection(inbox::Inbox).await?;
            let inbox_state = inbox::api::InboxState {
                db: ctx.db.clone(),
                store: ctx.store.clone(),
                inbox: inbox.clone(),
                audit: Auditor::new(ctx.store.clone()),
            };
            let inbox_routes =
                inbox::api::routes(inbox_state.clone()).merge(inbox::pages::routes(inbox_state));
            let state = api::AppState {
                db: ctx.db.clone(),
                store: ctx.store.clone(),
                caseload: caseload.clone(),
                policy: self.policy,
                audit: Auditor::new(ctx.store.clone()),
                clock: ctx.timers.clock.clone(),
            };
            let audit_routes = audit::routes(audit::AuditState {
                db: ctx.db.clone(),
                trail: trail.clone(),
            });
            // The directory feed, synced on its schedule and on demand (API and page).
            let syncer = std::sync::Arc::new(directory::sync::Syncer::new(
                ctx.db.clone(),
                self.directory_feed.clone(),
            ));
            syncer.schedule(&ctx.shutdown);
            let sync = api::SyncState { syncer };
            let sync_routes =
                api::sync_routes(sync.clone()).merge(pages::directory_sync::routes(sync));
            let (db, answer_days) = (ctx.db.clone(), self.policy.connection_answer_days);
            let on_scrape: ScrapeHook = std::sync::Arc::new(move || {
                let db = db.clone();
                Box::pin(async move {
                    let before =
                        time::OffsetDateTime::now_utc() - time::Duration::days(answer_days);
                    let Ok(client) = db.client().await else {
                        return;
                    };
                    if let Ok(n) = queries::overdue_connection_cases(&client, before).await {
                        metrics::connections_overdue(n.max(0) as u64);
                    }
                })
            });
            Ok(Started {
                routes: api::routes(state.clone())
                    .merge(pages::routes(state))
                    .merge(audit_routes)
                    .merge(sync_routes)
                    .merge(notifications::admin::routes(ctx.db.clone()))
                    .merge(inbox_routes),
                projections: vec![
                    ("caseload", caseload),
                    ("registry", registry),
                    (AuditTrail::NAME, trail),
                    (notifications::Notifications::NAME, notified),
                    ("inbox", inbox),
                ],
                on_scrape: Some(on_scrape),
            })
        })
    }

    fn rebuild<'a>(
        &'a self,
        ctx: &'a ServiceContext,
        projection: &'a str,
        progress: &'a Progress<'a>,
    ) -> BoxFuture<'a, anyhow::Result<Option<u64>>> {
        Box::pin(async move {
            match projection {
                "caseload" => Ok(Some(ctx.rebuild(caseload::Caseload, progress).await?)),
                "registry" => Ok(Some(ctx.rebuild(Registry, progress).await?)),
                AuditTrail::NAME => Ok(Some(ctx.rebuild(AuditTrail, progress).await?)),
                notifications::Notifications::NAME => {
                    let reminder_hours = self.notify.reminder_hours;
                    let p = notifications::Notifications { reminder_hours };
                    Ok(Some(ctx.rebuild(p, progress).await?))
                }
                "inbox" => Ok(Some(ctx.rebuild(inbox::Inbox, progress).await?)),
                _ => Ok(None),
            }
        })
    }
}

/// Starts the service with the default [`case::Policy`] and returns its whole router:
/// API routes, `/healthz`, `/readyz`, `/metrics`, `/openapi.json`, under the request layer.
pub async fn start(ctx: ServiceContext) -> anyhow::Result<axum::Router> {
    start_with(ctx, case::Policy::default()).await
}

/// [`start`] with explicit settings (contact attempts, connection answer window).
pub async fn start_with(ctx: ServiceContext, policy: case::Policy) -> anyhow::Result<axum::Router> {
    let service = LinkWorkerService {
        policy,
        directory_feed: None,
        notify: notifications::NotifySettings::default(),
    };
    service::router(&service, &ctx).await
}

/// [`start_with`] and appointment notifications' settings (a Notify-shaped receiver).
pub async fn start_with_notify(
    ctx: ServiceContext,
    policy: case::Policy,
    notify: notifications::NotifySettings,
) -> anyhow::Result<axum::Router> {
    let service = LinkWorkerService {
        policy,
        directory_feed: None,
        notify,
    };
    service::router(&service, &ctx).await
}

/// Rebuilds one projection by name; `Ok(None)` if the name is not this service's.
pub async fn rebuild(
    ctx: &ServiceContext,
    projection: &str,
    progress: &Progress<'_>,
) -> anyhow::Result<Option<u64>> {
    let service = LinkWorkerService {
        policy: case::Policy::default(),
        directory_feed: None,
        notify: notifications::NotifySettings::default(),
    };
    service.rebuild(ctx, projection, progress).await
}
