//! The service's OpenAPI document, generated from the handlers' annotations.

use super::*;

/// The event catalogue's enums as the OpenAPI document shows them (the events crate knows
/// nothing of HTTP). The contract test checks every real variant is listed.
pub mod docs {
    use serde::Serialize;
    use utoipa::ToSchema;

    /// Why a service declines a referral; `person_declined` is SNOMED CT 871711000000103.
    #[derive(Serialize, ToSchema)]
    #[schema(as = DeclineReason)]
    #[serde(rename_all = "snake_case")]
    pub enum DeclineReasonDoc {
        OutOfArea,
        NotAppropriate,
        PersonDeclined,
        ReferredElsewhere,
    }

    /// How a contact was made or attempted.
    #[derive(Serialize, ToSchema)]
    #[schema(as = ContactChannel)]
    #[serde(rename_all = "snake_case")]
    pub enum ContactChannelDoc {
        Phone,
        FaceToFace,
        Video,
        HomeVisit,
        Text,
        Email,
    }

    /// When an outcome measure was taken.
    #[derive(Serialize, ToSchema)]
    #[schema(as = Timepoint)]
    #[serde(rename_all = "snake_case")]
    pub enum TimepointDoc {
        Baseline,
        Review,
        Exit,
    }

    /// The lawful basis for sharing the person's details.
    #[derive(Serialize, ToSchema)]
    #[schema(as = LegalBasis)]
    #[serde(rename_all = "snake_case")]
    pub enum LegalBasisDoc {
        PublicTaskHealthCare,
        ExplicitConsent,
        VitalInterests,
    }

    /// A part of the person's record shared with a community service.
    #[derive(Serialize, ToSchema)]
    #[schema(as = SharedDetail)]
    #[serde(rename_all = "snake_case")]
    pub enum SharedDetailDoc {
        Name,
        Phone,
        Email,
        Address,
        Needs,
        Plan,
    }

    /// A coded concept (SNOMED CT unless `system` says otherwise).
    #[derive(Serialize, ToSchema)]
    #[schema(as = Coding)]
    pub struct CodingDoc {
        /// Code system URI, e.g. `http://snomed.info/sct`.
        pub system: String,
        pub code: String,
        pub display: Option<String>,
    }

    /// The plan in the person's words (personal).
    #[derive(Serialize, ToSchema)]
    #[schema(as = PlanPersonal)]
    pub struct PlanPersonalDoc {
        /// "What matters to me".
        pub what_matters: String,
        pub goals: Vec<String>,
        pub actions: Vec<String>,
    }

    /// How the person prefers to be contacted.
    #[derive(Serialize, ToSchema)]
    #[schema(as = ContactMethod)]
    #[serde(rename_all = "snake_case")]
    pub enum ContactMethodDoc {
        Phone,
        Email,
        Letter,
        Text,
    }

    #[derive(Serialize, ToSchema)]
    #[schema(as = Address)]
    pub struct AddressDoc {
        pub lines: Vec<String>,
        pub postcode: String,
    }

    /// PRSB minimum dataset part 1: the person's demographics.
    #[derive(Serialize, ToSchema)]
    #[schema(as = Person)]
    pub struct PersonDoc {
        /// NHS number, 10 digits.
        pub nhs_number: Option<String>,
        pub nhs_number_verification: Option<String>,
        pub given_name: String,
        pub family_name: String,
        /// `YYYY-MM-DD`.
        #[schema(format = Date)]
        pub birth_date: String,
        pub address: AddressDoc,
        pub phone: Option<String>,
        pub email: Option<String>,
        pub preferred_contact_method: ContactMethodDoc,
        /// BCP 47 language tag.
        pub language: Option<String>,
        pub interpreter_needed: bool,
        pub accessibility_needs: Option<String>,
        pub gender: Option<String>,
        pub ethnicity: Option<String>,
    }

    /// The person-identifying part of the referral (the routed service only).
    #[derive(Serialize, ToSchema)]
    #[schema(as = ReferralPersonal)]
    pub struct PersonalDoc {
        pub person: PersonDoc,
        /// The referrer's description of needs, in their words.
        pub needs_text: Option<String>,
        pub notes: Option<String>,
    }

    /// Why a case ended.
    #[derive(Serialize, ToSchema)]
    #[schema(as = ClosureReason)]
    #[serde(rename_all = "snake_case")]
    pub enum ClosureReasonDoc {
        GoalsMet,
        Disengaged,
        CouldNotContact,
        MovedAway,
        ReferredElsewhere,
        Died,
        Other,
    }
}
pub use docs::{
    ClosureReasonDoc, ContactChannelDoc, DeclineReasonDoc, LegalBasisDoc, SharedDetailDoc,
    TimepointDoc,
};

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
        DeclineReasonDoc, ContactChannelDoc, TimepointDoc, ClosureReasonDoc, LegalBasisDoc,
        SharedDetailDoc, docs::CodingDoc, docs::PlanPersonalDoc, docs::ContactMethodDoc,
        docs::AddressDoc, docs::PersonDoc, docs::PersonalDoc, case::Plan, case::ContactEntry,
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
    ApiDoc::openapi()
}
