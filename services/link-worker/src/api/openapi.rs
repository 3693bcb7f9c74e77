//! The service's OpenAPI document, generated from the handlers' annotations and the
//! event catalogue's own types (the `openapi` feature of `linkway-events`).

use super::*;

#[derive(OpenApi)]
#[openapi(
    info(title = "Linkway link-worker service", description = "Caseload, contacts, plans, onward connections, outcome measures and closure."),
    paths(
        get_caseload, get_case, accept_referral, decline_referral, assign_case, record_contact, agree_plan,
        review_plan, connect_service, record_connection_response, record_outcome, raise_safeguarding,
        close_case, import_directory, list_directory
    ),
    components(schemas(
        Problem, FieldError, CaseloadPage, CaseSummary, CaseDetail, ConnectionView, CaseState, CaseloadSort,
        CommandAccepted, DeclineRequest, AssignRequest, ContactRequest, ContactKind, PlanRequest, ConnectRequest,
        ConnectionResponseRequest, ConnectionResponse, ConnectionStatus, OutcomeRequest, Instrument,
        SafeguardingRequest, CloseRequest, ImportResult, DirectoryPage, DirectoryEntry,
        DeclineReason, ContactChannel, ContactOutcome, Timepoint, ClosureReason, LegalBasis, SharedDetail,
        Coding, linkway_events::case::PlanPersonal, linkway_events::referral::ContactMethod,
        linkway_events::referral::Address, linkway_events::referral::Person, ReferralPersonal,
        case::Plan, case::ContactEntry,
        case::Concern, case::Outcome, outcomes::Change
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "caseload", description = "What a link-worker service sees"),
        (name = "cases", description = "Steps of a case's journey"),
        (name = "directory", description = "Community services (Open Referral UK)"),
    )
)]
struct ApiDoc;

/// The service's OpenAPI 3.1 document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    super::contract::exact(ApiDoc::openapi())
}
