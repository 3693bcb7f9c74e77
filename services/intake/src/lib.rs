//! Intake: referrals from any organisation (JSON API, FHIR message, web form), validated,
//! routed to a link-worker service, and tracked back to the referrer.
//!
//! - [`validation`] and [`nhs_number`]: the referral request and every rule it must pass (pure).
//! - [`routing`]: which link-worker service takes a referral (pure).
//! - [`referral`]: a referral and its case folded from the log (pure): what commands decide on.
//! - [`command`]: where a referral becomes `referral.*` events on the log: intake's
//!   decisions, run by the platform's one command path.
//! - [`read_model`]: the `referrals` projection: status and the referrer's timeline, fed by
//!   `referral.*` and the link-worker's `case.*` events.
//! - [`api`]: the JSON API handlers and their OpenAPI descriptions, one file per capability
//!   (`api/referrals.rs`, `api/corrections.rs`, `api/admin.rs`).
//! - [`queries`]: every SQL statement the handlers run, as typed functions.
//! - [`fhir`] (pure) and [`messaging`] (the handler): `processMessage`, BaRS-style FHIR
//!   message bundles in, `OperationOutcome`s out; the sender's endpoint goes into
//!   `referral.received` (`reply_to`), and every message is kept in `inbound_messages`
//!   for audit.
//! - [`form`]: the token form for organisations without sign-in (no JavaScript).
//! - [`self_referral`]: a person refers themselves, no token: the public page and API,
//!   routed by postcode district, `source_channel` `self`.
//! - [`pages`]: the signed-in referrer's pages: make a referral, the organisation's
//!   referrals, one referral's timeline, withdraw.
//! - [`keys`]: the key behind keyed NHS number lookups.
//! - [`outbox`]: updates back to FHIR referrers (accepted, declined, could not contact,
//!   plan agreed, outcome recorded, closed) as FHIR messages, through a transactional
//!   outbox: the `outbox` projection writes `outbound_messages`, a sender task delivers
//!   them; `listOutboundMessages`, `retryOutboundMessage` and `/admin/outbound/view`.
//!
//! Where a referral enters: `api::submit_referral`, `messaging::process_message`,
//! `form::post_form` and `pages::send_referral` (the last two through `form::submit`), and
//! `self_referral::submit` (its API and page); all call `command::submit`, the only place
//! `referral.received` is decided. Where the read model is written:
//! `read_model::Referrals::apply`, only.
//!
//! Every read of a person's details (`getReferral`, `listReferrals`, the referrer's list
//! and referral pages) is recorded in the platform's audit trail before it is sent
//! ([`linkway_platform::audit`]); `listAudit` (`/audit`, `/audit/view`) reads it.
//!
//! Intake's database holds, besides its projections (`referrals`, `registry`, `audit`,
//! `outbox`): `intake_secrets` (the NHS number lookup key), `inbound_messages` (the audit of
//! every FHIR message an authenticated caller sent, accepted or refused, with the sender's
//! endpoint), `outbound_messages` and `outbound_attempts` (the outbox: what goes back to
//! FHIR referrers and every delivery attempt, read only by the sender and the
//! administrator's outbox) and the platform's bookkeeping (`token_usage`). Those are not
//! rebuilt from the log, and no referrer's answer reads them.
//!
//! **Architecture invariant**: intake writes only `referral.*` events and reads only its own
//! database (its projections, its copy of the registry); it never calls another service.

pub mod api;
pub mod command;
pub mod consent;
pub mod contract;
use contract::Contract;
pub mod fhir;
pub mod form;
pub mod keys;
pub mod messaging;
pub mod nhs_number;
pub mod outbox;
pub mod pages;
pub mod people;
pub mod queries;
pub mod read_model;
pub mod referral;
pub mod routing;
pub mod self_referral;
pub mod validation;

use linkway_platform::auth::BearerAuth;
use std::sync::Arc;

use axum::extract::FromRef;
use axum::routing::{get, post};
use linkway_eventstore::EventStore;
use linkway_platform::audit::{self, AuditTrail, Auditor};
use linkway_platform::metrics;
use linkway_platform::ops::ScrapeHook;
use linkway_platform::registry::Registry;
use linkway_platform::service::{self, BoxFuture, Progress, Service, Started};
use linkway_platform::{Checkpoint, Database, ServiceContext};
use utoipa::OpenApi;

use crate::keys::NhsNumberKey;
use crate::read_model::Referrals;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Intake's own database: its projections and its copy of the registry.
    pub db: Database,
    /// The event log, where commands append.
    pub store: EventStore,
    /// Where the `referrals` projection stands, for read-your-writes.
    pub referrals: Checkpoint,
    /// The key for NHS number lookups (duplicates).
    pub nhs_key: Arc<NhsNumberKey>,
    /// Records each read of a person's record before it is sent.
    pub audit: Auditor,
    /// Self-referral's form tokens, limit and clock.
    pub self_referral: Arc<self_referral::SelfReferral>,
}

impl FromRef<AppState> for Database {
    fn from_ref(state: &AppState) -> Database {
        state.db.clone()
    }
}

/// This service's projections, for `linkway rebuild <name>`.
pub const PROJECTIONS: &[&str] = &[
    Referrals::NAME,
    "registry",
    AuditTrail::NAME,
    outbox::Outbox::NAME,
];

/// Intake as the `linkway` binary runs it, with its settings (its NHS number lookup key
/// lives in its database).
#[derive(Debug, Clone, Default)]
pub struct IntakeService {
    pub self_referral: self_referral::SelfReferralSettings,
    /// How messages back to FHIR referrers are delivered.
    pub outbox: outbox::OutboxSettings,
}

impl Service for IntakeService {
    fn name(&self) -> &'static str {
        "intake"
    }

    fn projections(&self) -> &'static [&'static str] {
        PROJECTIONS
    }

    fn openapi(&self) -> utoipa::openapi::OpenApi {
        openapi()
    }

    /// `/fhir/` answers what the platform refuses at the edge as an `OperationOutcome`.
    fn dialects(&self) -> Vec<linkway_platform::http::Dialect> {
        vec![linkway_platform::http::Dialect {
            prefix: "/fhir/",
            media_type: "application/fhir+json",
            render: fhir_edge_outcome,
        }]
    }

    fn migrate<'a>(&'a self, db: &'a Database) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move { Ok(db.migrate(embedded::migrations::runner()).await?) })
    }

    /// Spawns intake's `referrals`, the registry and the audit trail; the API routes over
    /// their checkpoints.
    fn start<'a>(&'a self, ctx: &'a ServiceContext) -> BoxFuture<'a, anyhow::Result<Started>> {
        Box::pin(async move {
            self.migrate(&ctx.db).await?;
            let nhs_key = Arc::new(NhsNumberKey::load_or_create(&ctx.db).await?);
            let registry = ctx.spawn_projection(Registry).await?;
            let referrals = ctx
                .spawn_projection(Referrals::new(nhs_key.clone()))
                .await?;
            let trail = ctx.spawn_projection(AuditTrail).await?;
            let outbox = ctx.spawn_projection(outbox::Outbox).await?;
            outbox::sender::spawn(ctx.db.clone(), self.outbox, &ctx.shutdown)?;
            let state = AppState {
                db: ctx.db.clone(),
                store: ctx.store.clone(),
                referrals: referrals.clone(),
                nhs_key,
                audit: Auditor::new(ctx.store.clone()),
                self_referral: Arc::new(self_referral::SelfReferral::new(
                    &self.self_referral,
                    &ctx.web.session_key,
                )),
            };
            let audit_routes = audit::routes(audit::AuditState {
                db: ctx.db.clone(),
                trail: trail.clone(),
            });
            let db = ctx.db.clone();
            let on_scrape: ScrapeHook = Arc::new(move || {
                let db = db.clone();
                Box::pin(async move {
                    let Ok(client) = db.client().await else {
                        return;
                    };
                    if let Ok(n) = queries::unroutable_count(&client).await {
                        metrics::unroutable_referrals(n.max(0) as u64);
                    }
                    if let Ok(counts) = outbox::store::counts(&**client).await {
                        for state in outbox::api::STATES {
                            let n = counts.iter().find(|(s, _)| s == state).map_or(0, |c| c.1);
                            metrics::outbound_messages(state, n.max(0) as u64);
                        }
                    }
                })
            });
            Ok(Started {
                routes: router(state).merge(audit_routes),
                projections: vec![
                    ("registry", registry),
                    (Referrals::NAME, referrals),
                    (AuditTrail::NAME, trail),
                    (outbox::Outbox::NAME, outbox),
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
                Referrals::NAME => {
                    self.migrate(&ctx.db).await?;
                    let key = Arc::new(NhsNumberKey::load_or_create(&ctx.db).await?);
                    Ok(Some(ctx.rebuild(Referrals::new(key), progress).await?))
                }
                "registry" => Ok(Some(ctx.rebuild(Registry, progress).await?)),
                AuditTrail::NAME => Ok(Some(ctx.rebuild(AuditTrail, progress).await?)),
                outbox::Outbox::NAME => {
                    self.migrate(&ctx.db).await?;
                    Ok(Some(ctx.rebuild(outbox::Outbox, progress).await?))
                }
                _ => Ok(None),
            }
        })
    }
}

/// A problem the platform raised at the edge of a FHIR route (a parameter, an unknown
/// route, a wrong method, a body over the limit), said as an `OperationOutcome` whose
/// issues carry the field and the rule.
fn fhir_edge_outcome(problem: &linkway_platform::Problem) -> axum::response::Response {
    use axum::response::IntoResponse;
    use fhir::{Issue, Refusal};
    let refusal = if problem.status == 422 && !problem.errors.is_empty() {
        fhir::validation_refusal(&problem.errors, None)
    } else {
        let code = match problem.status {
            401 => "login",
            403 => "forbidden",
            404 => "not-found",
            413 => "too-costly",
            429 => "throttled",
            503 => "transient",
            405 | 406 | 415 => "not-supported",
            s if s >= 500 => "exception",
            _ => "invalid",
        };
        let issues = problem.errors.iter().map(|e| Issue {
            rule: Some(e.rule.clone()),
            ..Issue::error(code, format!("{}: {}", e.field, e.message))
        });
        let mut issues: Vec<Issue> = issues.collect();
        if issues.is_empty() {
            issues.push(Issue::error(code, problem.title.clone()));
        }
        Refusal::new(problem.status, issues)
    };
    let status = axum::http::StatusCode::from_u16(problem.status)
        .unwrap_or(axum::http::StatusCode::BAD_REQUEST);
    let headers = [(axum::http::header::CONTENT_TYPE, "application/fhir+json")];
    (status, headers, axum::Json(refusal.to_operation_outcome())).into_response()
}

/// Starts intake (as [`IntakeService`]) and returns its whole router: API routes,
/// `/healthz` `/readyz` `/metrics`, `/openapi.json`, under the platform's request layer.
pub async fn start(ctx: ServiceContext) -> anyhow::Result<axum::Router> {
    start_with(ctx, self_referral::SelfReferralSettings::default()).await
}

/// [`start`] with these self-referral settings (a test's limit and clock).
pub async fn start_with(
    ctx: ServiceContext,
    self_referral: self_referral::SelfReferralSettings,
) -> anyhow::Result<axum::Router> {
    let service = IntakeService {
        self_referral,
        ..IntakeService::default()
    };
    service::router(&service, &ctx).await
}

/// Rebuilds one of intake's projections; `Ok(None)` when the name is not intake's.
pub async fn rebuild(
    ctx: &ServiceContext,
    projection: &str,
    progress: &Progress<'_>,
) -> anyhow::Result<Option<u64>> {
    IntakeService::default()
        .rebuild(ctx, projection, progress)
        .await
}

/// The API routes over a prepared state.
pub fn router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route(
            "/referrals",
            post(api::submit_referral).get(api::list_referrals),
        )
        .route("/referrals/{referral_id}", get(api::get_referral))
        .route(
            "/referrals/{referral_id}/withdraw",
            post(api::withdraw_referral),
        )
        .route(
            "/referrals/{referral_id}/entered-in-error",
            post(api::mark_entered_in_error),
        )
        .route("/referrals/{referral_id}/route", post(api::route_referral))
        // The person as a data subject: subject access and erasure.
        .route(
            "/referrals/{referral_id}/person",
            get(people::export_person),
        )
        .route(
            "/referrals/{referral_id}/person/erasure",
            post(people::erase_person),
        )
        .route(
            "/referrals/{referral_id}/person/correction",
            post(people::correct_person),
        )
        .route(
            "/referrals/{referral_id}/person/view",
            get(people::page::person_page),
        )
        .route(
            "/referrals/{referral_id}/person/view/erase",
            post(people::page::erase_page),
        )
        .route("/admin/unroutable", get(api::list_unroutable))
        // Messages back to FHIR referrers: dead letters and the delivery log.
        .route("/admin/outbound", get(outbox::api::list_outbound_messages))
        .route(
            "/admin/outbound/{id}/retry",
            post(outbox::api::retry_outbound_message),
        )
        .route("/admin/outbound/view", get(outbox::page::outbound))
        .route("/admin/outbound/{id}/retry/view", post(outbox::page::retry))
        .route("/form", get(form::get_form).post(form::post_form))
        // Self-referral: public, no token, no session.
        .route("/self-referrals", post(self_referral::submit_self_referral))
        .route("/self-referrals/token", get(self_referral::get_token))
        .route(
            "/self-referral",
            get(self_referral::page::self_referral_page)
                .post(self_referral::page::send_self_referral),
        )
        // The referrer's pages (HTML for people signed in, beside the JSON routes).
        .route("/", get(pages::home))
        .route(
            "/referrals/new",
            get(pages::new_referral).post(pages::send_referral),
        )
        .route("/referrals/view", get(pages::referrals))
        .route("/referrals/{referral_id}/view", get(pages::referral))
        .route(
            "/referrals/{referral_id}/view/withdraw",
            post(pages::withdraw),
        )
        // The administrator's unroutable referrals, routed by hand.
        .route("/admin/unroutable/view", get(pages::unroutable::unroutable))
        .route(
            "/admin/unroutable/{referral_id}/route",
            post(pages::unroutable::route),
        )
        // `$` is literal in axum paths; some clients percent-encode it.
        .route("/fhir/$process-message", post(messaging::process_message))
        .route("/fhir/%24process-message", post(messaging::process_message))
        .route(
            "/fhir/CodeSystem/legal-basis",
            get(messaging::legal_basis_code_system),
        )
        .with_state(state)
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Linkway intake",
        description = "Referrals to social prescribing from any organisation: JSON API, FHIR (BaRS-style) messages and a web form; validated, routed to a link-worker service, tracked back to the referrer. Errors are RFC 9457 problem+json naming field and rule; FHIR errors are OperationOutcomes."
    ),
    paths(
        api::submit_referral,
        api::get_referral,
        api::list_referrals,
        api::withdraw_referral,
        api::mark_entered_in_error,
        api::list_unroutable,
        api::route_referral,
        outbox::api::list_outbound_messages,
        outbox::api::retry_outbound_message,
        outbox::page::outbound,
        outbox::page::retry,
        people::export::export_person,
        people::export::erase_person,
        people::correction::correct_person,
        people::page::person_page,
        people::page::erase_page,
        messaging::process_message,
        messaging::legal_basis_code_system,
        form::get_form,
        form::post_form,
        self_referral::get_token,
        self_referral::submit_self_referral,
        self_referral::page::self_referral_page,
        self_referral::page::send_self_referral,
        pages::home::home,
        pages::make::new_referral,
        pages::make::send_referral,
        pages::list::referrals,
        pages::referral::referral,
        pages::referral::withdraw,
        pages::unroutable::unroutable,
        pages::unroutable::route,
    ),
    components(schemas(
        linkway_platform::Problem,
        linkway_platform::FieldError,
        validation::ReferralRequest,
        validation::PersonInput,
        validation::AddressInput,
        validation::NeedsInput,
        validation::CodingInput,
        validation::ConsentInput,
        validation::PractitionerInput,
        api::CommandResponse,
        self_referral::SelfReferralRequest,
        self_referral::FormToken,
        api::ReferralView,
        api::ReferralSummary,
        api::ReferralList,
        api::TimelineItem,
        api::CodingView,
        api::ReasonRequest,
        api::RouteRequest,
        api::UnroutableItem,
        api::UnroutableList,
        outbox::api::OutboundList,
        outbox::api::OutboundMessage,
        outbox::api::OutboundAttempt,
        outbox::api::RetryAnswer,
        outbox::api::RetryRequest,
        people::PersonExport,
        people::ExportedEvent,
        people::ErasureRequest,
        people::ErasedAnswer,
        validation::PersonCorrectionRequest,
        read_model::Status,
        read_model::PersonSummary,
        read_model::OutcomeSummary,
    )),
    modifiers(&BearerAuth, &Contract),
    tags(
        (name = "referrals", description = "Sending and following referrals"),
        (name = "admin", description = "Routing referrals no rule matched; messages back to FHIR referrers"),
        (name = "fhir", description = "FHIR R4 messaging (BaRS-style); answers are OperationOutcomes"),
        (name = "form", description = "The token form for organisations whose staff do not sign in (HTML, no JavaScript)"),
        (name = "self-referral", description = "A person refers themselves: the public page (HTML, no JavaScript needed) and API, no token"),
        (name = "pages", description = "Pages for people signed in (HTML, no JavaScript needed): sign-in, the referrer's pages and the administrator's unroutable referrals")
    )
)]
struct ApiDoc;

/// The OpenAPI 3.1 document of intake.
pub fn openapi() -> utoipa::openapi::OpenApi {
    linkway_platform::audit::document(ApiDoc::openapi())
}
