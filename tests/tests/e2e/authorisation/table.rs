//! THE expected answers: one row per operationId of the three services' OpenAPI documents
//! (an operation the platform adds to every service, sign-in, the admin pages and the
//! operational routes, has one row for all three). Each row says what a caller with no
//! token gets, then, for every role a token can hold, what its token gets in its own
//! organisation and in another organisation of the same kind (see `fixture.rs`):
//!
//! | role | own organisation | other organisation |
//! | --- | --- | --- |
//! | referrer, ig_lead | GP A, which sent every record | GP B (another GP practice, another area) |
//! | link_worker, service_manager | LW A, the service every record was routed to | LW B (another link-worker service) |
//! | commissioner | ICB A, commissioner of the records' area (QAA) | ICB B (area QBB) |
//! | community_service | CS A, the community service answering for the directory service every connection went to | CS B (another community service, answering for another directory service) |
//! | admin | `linkway`, Linkway's operator | another organisation (a token `linkway admin` would refuse to issue): an admin is not scoped to an organisation, so both columns agree |
//!
//! Every request is about GP A's records: a referral id is GP A's, a create names GP A as
//! the sender, a reporting query names area QAA.
//!
//! - API operations answer a bearer token: 2xx, 403 for a role that may never call it, or
//!   404 for a record of an organisation the caller is not (the very answer a record that
//!   does not exist gets, so nobody learns that it exists). Lists of another organisation
//!   answer 200 without the record. No token: 401.
//! - Pages (tag `pages`: HTML for people signed in with the session cookie, including the
//!   administrator's pages `/admin/...` on every service) never read a bearer token: any
//!   token, or none, is sent to sign in (303 to `/sign-in`). The sign-in pages themselves
//!   answer everyone alike.
//! - Operational routes (`/healthz`, `/readyz`, `/metrics`, `/openapi.json`) are public.
//! - Self-referral (tag `self-referral`) is public: no token and no session; a post is
//!   refused alike for every caller unless it carries a form token (see `requests.rs`).
//! - Every command row is called on a fresh record in the state it needs (see
//!   `requests.rs`), so `Allowed` means it was done; a refused call must append nothing.
//! - The link-worker directory is reference data, one for the whole deployment: any
//!   link-worker service's manager (or an admin) imports into it, and every link worker
//!   reads it.

use Outcome::*;

/// What one caller gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx, and the answer names the record (a read of it, or a list holding it).
    Sees,
    /// 2xx (a command done, a create, figures, the directory).
    Allowed,
    /// 2xx, and the record is not in the answer: a list of the caller's own records.
    Unseen,
    /// 403: the role may not call this at all.
    Forbidden,
    /// 404, the same answer as for a record that does not exist.
    NotFound,
    /// 401: no token (or one not accepted).
    Unauthenticated,
    /// 303 to `/sign-in`: a page, which reads only the session cookie.
    SignIn,
    /// 2xx to anyone, token or not.
    Public,
    /// Exactly this status to anyone (the sign-in flow's own answers).
    Status(u16),
}

/// Every caller's expected answer for one operation.
pub enum Expect {
    /// The same answer to every caller, with or without a token, own or other.
    Every(Outcome),
    /// No token gets `anonymous`; each role `(name, own, other)`.
    Roles {
        anonymous: Outcome,
        roles: &'static [(&'static str, Outcome, Outcome)],
    },
}

const fn api(roles: &'static [(&'static str, Outcome, Outcome)]) -> Expect {
    Expect::Roles {
        anonymous: Unauthenticated,
        roles,
    }
}

/// An administrator's command, or a list of theirs that need not name the record.
const ADMINS_ALLOWED: Expect = api(&[
    ("referrer", Forbidden, Forbidden),
    ("link_worker", Forbidden, Forbidden),
    ("service_manager", Forbidden, Forbidden),
    ("commissioner", Forbidden, Forbidden),
    ("admin", Allowed, Allowed),
    ("ig_lead", Forbidden, Forbidden),
    ("community_service", Forbidden, Forbidden),
]);

/// A command on one record of GP A's, for GP A's referrer (or an admin) only.
const SENDERS_COMMAND: Expect = api(&[
    ("referrer", Allowed, NotFound),
    ("link_worker", Forbidden, Forbidden),
    ("service_manager", Forbidden, Forbidden),
    ("commissioner", Forbidden, Forbidden),
    ("admin", Allowed, Allowed),
    ("ig_lead", Forbidden, Forbidden),
    ("community_service", Forbidden, Forbidden),
]);

/// A referral created as GP A: by GP A's referrer, or an admin on its behalf.
const SUBMIT: Expect = api(&[
    ("referrer", Allowed, Forbidden),
    ("link_worker", Forbidden, Forbidden),
    ("service_manager", Forbidden, Forbidden),
    ("commissioner", Forbidden, Forbidden),
    ("admin", Allowed, Allowed),
    ("ig_lead", Forbidden, Forbidden),
    ("community_service", Forbidden, Forbidden),
]);

/// An administrator's operation (not scoped to an organisation).
const ADMINS: &[(&str, Outcome, Outcome)] = &[
    ("referrer", Forbidden, Forbidden),
    ("link_worker", Forbidden, Forbidden),
    ("service_manager", Forbidden, Forbidden),
    ("commissioner", Forbidden, Forbidden),
    ("admin", Sees, Sees),
    ("ig_lead", Forbidden, Forbidden),
    ("community_service", Forbidden, Forbidden),
];

/// The inbox: the community service answering for the connection's directory service,
/// nobody else (another community service's list answers without it).
const INBOX_LIST: &[(&str, Outcome, Outcome)] = &[
    ("referrer", Forbidden, Forbidden),
    ("link_worker", Forbidden, Forbidden),
    ("service_manager", Forbidden, Forbidden),
    ("commissioner", Forbidden, Forbidden),
    ("admin", Forbidden, Forbidden),
    ("ig_lead", Forbidden, Forbidden),
    ("community_service", Sees, Unseen),
];
const INBOX_READ: &[(&str, Outcome, Outcome)] = &[
    ("referrer", Forbidden, Forbidden),
    ("link_worker", Forbidden, Forbidden),
    ("service_manager", Forbidden, Forbidden),
    ("commissioner", Forbidden, Forbidden),
    ("admin", Forbidden, Forbidden),
    ("ig_lead", Forbidden, Forbidden),
    ("community_service", Sees, NotFound),
];
const INBOX_COMMAND: &[(&str, Outcome, Outcome)] = &[
    ("referrer", Forbidden, Forbidden),
    ("link_worker", Forbidden, Forbidden),
    ("service_manager", Forbidden, Forbidden),
    ("commissioner", Forbidden, Forbidden),
    ("admin", Forbidden, Forbidden),
    ("ig_lead", Forbidden, Forbidden),
    ("community_service", Allowed, NotFound),
];

/// A case command: the link-worker service the referral was routed to, nobody else.
const CASE_COMMAND: Expect = api(&[
    ("referrer", Forbidden, Forbidden),
    ("link_worker", Allowed, NotFound),
    ("service_manager", Allowed, NotFound),
    ("commissioner", Forbidden, Forbidden),
    ("admin", Forbidden, Forbidden),
    ("ig_lead", Forbidden, Forbidden),
    ("community_service", Forbidden, Forbidden),
]);

/// Area A's figures: its commissioner, or an admin naming the area.
const FIGURES: Expect = api(&[
    ("referrer", Forbidden, Forbidden),
    ("link_worker", Forbidden, Forbidden),
    ("service_manager", Forbidden, Forbidden),
    ("commissioner", Allowed, Forbidden),
    ("admin", Allowed, Allowed),
    ("ig_lead", Forbidden, Forbidden),
    ("community_service", Forbidden, Forbidden),
]);

const PAGE: Expect = Expect::Every(SignIn);
const PUBLIC: Expect = Expect::Every(Public);

pub const TABLE: &[(&str, Expect)] = &[
    // intake: referrals
    ("submitReferral", SUBMIT),
    ("processMessage", SUBMIT),
    ("submitReferralForm", SUBMIT),
    (
        "getReferral",
        api(&[
            ("referrer", Sees, NotFound),
            ("link_worker", Forbidden, Forbidden),
            ("service_manager", Forbidden, Forbidden),
            ("commissioner", Forbidden, Forbidden),
            ("admin", Sees, Sees),
            ("ig_lead", Forbidden, Forbidden),
            ("community_service", Forbidden, Forbidden),
        ]),
    ),
    (
        "listReferrals",
        api(&[
            ("referrer", Sees, Unseen),
            ("link_worker", Forbidden, Forbidden),
            ("service_manager", Forbidden, Forbidden),
            ("commissioner", Forbidden, Forbidden),
            ("admin", Sees, Sees),
            ("ig_lead", Forbidden, Forbidden),
            ("community_service", Forbidden, Forbidden),
        ]),
    ),
    ("withdrawReferral", SENDERS_COMMAND),
    ("markReferralEnteredInError", SENDERS_COMMAND),
    // rectification: the sender's referrer, or whoever may export and erase the person
    (
        "correctPerson",
        api(&[
            ("referrer", Allowed, NotFound),
            ("link_worker", Forbidden, Forbidden),
            ("service_manager", Forbidden, Forbidden),
            ("commissioner", Forbidden, Forbidden),
            ("admin", Allowed, Allowed),
            ("ig_lead", Allowed, NotFound),
            ("community_service", Forbidden, Forbidden),
        ]),
    ),
    ("listUnroutable", api(ADMINS)),
    // Messages back to FHIR referrers: administrators only. GP A's records may have none
    // (and the list names messages, not referrals), so a list is only Allowed; a retry
    // names the referral's id, no message's, so an administrator gets 404.
    ("listOutboundMessages", ADMINS_ALLOWED),
    (
        "retryOutboundMessage",
        api(&[
            ("referrer", Forbidden, Forbidden),
            ("link_worker", Forbidden, Forbidden),
            ("service_manager", Forbidden, Forbidden),
            ("commissioner", Forbidden, Forbidden),
            ("admin", NotFound, NotFound),
            ("ig_lead", Forbidden, Forbidden),
            ("community_service", Forbidden, Forbidden),
        ]),
    ),
    ("routeReferral", ADMINS_ALLOWED),
    // intake: published reference data and the token form (which asks for the token)
    ("getLegalBasisCodeSystem", PUBLIC),
    ("getReferralForm", PUBLIC),
    // intake: self-referral, public (no token, no session): the form token and page for
    // anyone, and a post without its form token refused alike for everyone, token or not
    ("getSelfReferralToken", PUBLIC),
    ("getSelfReferralPage", PUBLIC),
    ("submitSelfReferral", Expect::Every(Status(422))),
    ("submitSelfReferralPage", Expect::Every(Status(422))),
    // link-worker: the caseload and cases
    (
        "getCaseload",
        api(&[
            ("referrer", Forbidden, Forbidden),
            ("link_worker", Sees, Unseen),
            ("service_manager", Sees, Unseen),
            ("commissioner", Forbidden, Forbidden),
            ("admin", Forbidden, Forbidden),
            ("ig_lead", Forbidden, Forbidden),
            ("community_service", Forbidden, Forbidden),
        ]),
    ),
    (
        "getCase",
        api(&[
            ("referrer", Forbidden, Forbidden),
            ("link_worker", Sees, NotFound),
            ("service_manager", Sees, NotFound),
            ("commissioner", Forbidden, Forbidden),
            ("admin", Forbidden, Forbidden),
            ("ig_lead", Forbidden, Forbidden),
            ("community_service", Forbidden, Forbidden),
        ]),
    ),
    ("acceptReferral", CASE_COMMAND),
    ("declineReferral", CASE_COMMAND),
    ("assignCase", CASE_COMMAND),
    ("recordContact", CASE_COMMAND),
    ("agreePlan", CASE_COMMAND),
    ("reviewPlan", CASE_COMMAND),
    ("connectService", CASE_COMMAND),
    ("recordConnectionResponse", CASE_COMMAND),
    ("recordOutcome", CASE_COMMAND),
    ("raiseSafeguarding", CASE_COMMAND),
    ("closeCase", CASE_COMMAND),
    ("bookAppointment", CASE_COMMAND),
    ("moveAppointment", CASE_COMMAND),
    ("cancelAppointment", CASE_COMMAND),
    (
        "recordMissedAppointment",
        api(&[
            ("referrer", Forbidden, Forbidden),
            ("link_worker", Status(409), NotFound),
            ("service_manager", Status(409), NotFound),
            ("community_service", Forbidden, Forbidden),
            ("commissioner", Forbidden, Forbidden),
            ("admin", Forbidden, Forbidden),
            ("ig_lead", Forbidden, Forbidden),
        ]),
    ),
    // link-worker: the community service's inbox (its organisation's directory services)
    ("listInbox", api(INBOX_LIST)),
    ("getInboxItem", api(INBOX_READ)),
    ("acceptConnection", api(INBOX_COMMAND)),
    ("declineConnection", api(INBOX_COMMAND)),
    ("recordAttendance", api(INBOX_COMMAND)),
    // link-worker: the directory (reference data, one for the whole service)
    (
        "listDirectory",
        api(&[
            ("referrer", Forbidden, Forbidden),
            ("link_worker", Allowed, Allowed),
            ("service_manager", Allowed, Allowed),
            ("commissioner", Forbidden, Forbidden),
            ("admin", Allowed, Allowed),
            ("ig_lead", Forbidden, Forbidden),
            ("community_service", Forbidden, Forbidden),
        ]),
    ),
    (
        "importDirectory",
        api(&[
            ("referrer", Forbidden, Forbidden),
            ("link_worker", Forbidden, Forbidden),
            ("service_manager", Allowed, Allowed),
            ("commissioner", Forbidden, Forbidden),
            ("admin", Allowed, Allowed),
            ("ig_lead", Forbidden, Forbidden),
            ("community_service", Forbidden, Forbidden),
        ]),
    ),
    // the person of a referral: its organisation's IG lead, or an admin
    (
        "exportPerson",
        api(&[
            ("referrer", Forbidden, Forbidden),
            ("link_worker", Forbidden, Forbidden),
            ("service_manager", Forbidden, Forbidden),
            ("commissioner", Forbidden, Forbidden),
            ("admin", Sees, Sees),
            ("ig_lead", Sees, NotFound),
            ("community_service", Forbidden, Forbidden),
        ]),
    ),
    (
        "erasePerson",
        api(&[
            ("referrer", Forbidden, Forbidden),
            ("link_worker", Forbidden, Forbidden),
            ("service_manager", Forbidden, Forbidden),
            ("commissioner", Forbidden, Forbidden),
            ("admin", Allowed, Allowed),
            ("ig_lead", Allowed, NotFound),
            ("community_service", Forbidden, Forbidden),
        ]),
    ),
    // the audit trail (every service): an IG lead sees its organisation's, an admin all
    (
        "listAudit",
        api(&[
            ("referrer", Forbidden, Forbidden),
            ("link_worker", Forbidden, Forbidden),
            ("service_manager", Forbidden, Forbidden),
            ("commissioner", Forbidden, Forbidden),
            ("admin", Sees, Sees),
            ("ig_lead", Sees, Unseen),
            ("community_service", Forbidden, Forbidden),
        ]),
    ),
    ("getAuditPage", PAGE),
    // link-worker: the directory feed (no feed is set here: 409 once authorised)
    (
        "getDirectorySync",
        api(&[
            ("referrer", Forbidden, Forbidden),
            ("link_worker", Allowed, Allowed),
            ("service_manager", Allowed, Allowed),
            ("commissioner", Forbidden, Forbidden),
            ("admin", Allowed, Allowed),
            ("ig_lead", Forbidden, Forbidden),
            ("community_service", Forbidden, Forbidden),
        ]),
    ),
    (
        "syncDirectory",
        api(&[
            ("referrer", Forbidden, Forbidden),
            ("link_worker", Forbidden, Forbidden),
            ("service_manager", Status(409), Status(409)),
            ("commissioner", Forbidden, Forbidden),
            ("admin", Status(409), Status(409)),
            ("ig_lead", Forbidden, Forbidden),
            ("community_service", Forbidden, Forbidden),
        ]),
    ),
    ("getDirectoryFeedPage", PAGE),
    ("submitDirectorySyncForm", PAGE),
    ("getAppointmentsPage", PAGE),
    ("submitAppointmentForm", PAGE),
    ("getNotificationsPage", PAGE),
    // reporting
    ("getSummary", FIGURES),
    ("getOutcomeFeed", FIGURES),
    // pages of every service, for people signed in: a bearer token is not a session
    ("getReferrerHome", PAGE),
    ("getMakeReferralPage", PAGE),
    ("submitReferralPage", PAGE),
    ("getReferralsPage", PAGE),
    ("getReferralPage", PAGE),
    ("getPersonPage", PAGE),
    ("erasePersonPage", PAGE),
    ("withdrawReferralPage", PAGE),
    ("getUnroutablePage", PAGE),
    ("getOutboundPage", PAGE),
    ("retryOutboundMessagePage", PAGE),
    ("routeReferralPage", PAGE),
    ("getCaseloadPage", PAGE),
    ("getCasePage", PAGE),
    ("getInboxPage", PAGE),
    ("getInboxItemPage", PAGE),
    ("submitInboxForm", PAGE),
    ("submitCaseForm", PAGE),
    ("getOutcomeForm", PAGE),
    ("submitOutcomeForm", PAGE),
    ("getConnectPage", PAGE),
    ("submitConnectForm", PAGE),
    ("getTeamPage", PAGE),
    ("getDirectoryImportPage", PAGE),
    ("submitDirectoryImportForm", PAGE),
    ("getDashboard", PAGE),
    ("getDashboardCsv", PAGE),
    ("getAdminPage", PAGE),
    ("getOrganisationsPage", PAGE),
    ("registerOrganisationPage", PAGE),
    ("getOrganisationPage", PAGE),
    ("getUsersPage", PAGE),
    ("addUserPage", PAGE),
    ("getUserPage", PAGE),
    ("changeUserRolesPage", PAGE),
    ("deactivateUserPage", PAGE),
    ("getTokensPage", PAGE),
    ("issueTokenPage", PAGE),
    ("revokeTokenPage", PAGE),
    ("getRoutingRulesPage", PAGE),
    ("addRoutingRulePage", PAGE),
    ("previewRoutingPage", PAGE),
    ("removeRoutingRulePage", PAGE),
    ("getDeadLettersPage", PAGE),
    // signing in: the same to everyone, token or not (here no identity provider and no
    // demo users are set up; a session is only ever what a sign-in sets)
    ("getSignIn", PUBLIC),
    ("getSignedOut", PUBLIC),
    // No such provider.
    ("startSignIn", Expect::Every(Status(404))),
    // No sign-in was started in this browser: "you could not be signed in".
    ("finishSignIn", Expect::Every(Status(403))),
    // Not one of the demo's users.
    ("signInAsDemoUser", Expect::Every(Status(404))),
    // Signed out (there was no session): on to `/signed-out`.
    ("signOut", Expect::Every(Status(303))),
    // operational routes: public
    ("getHealth", PUBLIC),
    ("getReadiness", PUBLIC),
    ("getMetrics", PUBLIC),
    ("getOpenApi", PUBLIC),
];
