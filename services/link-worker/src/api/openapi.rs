//! The service's OpenAPI document, generated from the handlers' annotations and the
//! event catalogue's own types (the `openapi` feature of `linkway-events`).

use super::*;

#[derive(OpenApi)]
#[openapi(
    info(title = "Linkway link-worker service", description = "Caseload, contacts, plans, onward connections, outcome measures and closure."),
    paths(
        get_caseload, get_case, accept_referral, decline_referral, assign_case, record_contact, agree_plan,
        review_plan, connect_service, record_connection_response, record_outcome, raise_safeguarding,
        close_case, import_directory, list_directory, sync_directory, get_directory_sync,
        crate::pages::caseload::page, crate::pages::case::page, crate::pages::actions::post,
        crate::pages::outcome::page, crate::pages::outcome::post, crate::pages::connect::page,
        crate::pages::connect::post, crate::pages::team::page, crate::pages::directory_import::page,
        crate::pages::directory_import::post, crate::pages::directory_sync::page,
        crate::pages::directory_sync::post
    ),
    components(schemas(
        Problem, FieldError, CaseloadPage, CaseSummary, CaseDetail, ConnectionView, CaseState, CaseloadSort,
        CommandAccepted, DeclineRequest, AssignRequest, ContactRequest, ContactKind, PlanRequest, ConnectRequest,
        ConnectionResponseRequest, ConnectionResponse, linkway_events::case::ConnectionDeclineReason, ConnectionStatus, OutcomeRequest, Instrument,
        SafeguardingRequest, CloseRequest, ImportResult, DirectoryPage, DirectoryEntry, DirectoryFeedStatus,
        crate::directory::sync::DirectorySync, crate::directory::sync::SyncTrigger,
        crate::directory::sync::SyncOutcome,
        DeclineReason, ContactChannel, ContactOutcome, Timepoint, ClosureReason, LegalBasis, SharedDetail,
        Coding, linkway_events::case::PlanPersonal, linkway_events::referral::ContactMethod,
        linkway_events::referral::Address, linkway_events::referral::Person, ReferralPersonal,
        case::Plan, case::ContactEntry,
        case::Concern, case::Outcome, outcomes::Change
    )),
    modifiers(&BearerAuth, &SessionCookie),
    tags(
        (name = "caseload", description = "What a link-worker service sees"),
        (name = "cases", description = "Steps of a case's journey"),
        (name = "directory", description = "Community services (Open Referral UK)"),
        (name = "pages", description = "The link worker's and the service manager's pages (HTML, signed in with the session cookie)"),
    )
)]
struct ApiDoc;

/// The pages' session cookie (`linkway_session`, set by signing in at `/sign-in`).
struct SessionCookie;

impl utoipa::Modify for SessionCookie {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "session",
                SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                    linkway_platform::web::session::SESSION_COOKIE,
                    "The sealed session cookie a sign-in sets; every form also carries its `csrf` field.",
                ))),
            );
        }
    }
}

/// The service's OpenAPI 3.1 document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(AppointmentsDoc::openapi());
    doc.merge(<crate::inbox::api::InboxDoc as utoipa::OpenApi>::openapi());
    super::contract::exact(linkway_platform::audit::document(doc))
}
