//! The registry: organisations, routing rules, access tokens and the people who sign in.
//! Every service projects what it needs of these (tokens and users to authenticate,
//! organisations to authorise and report). Aggregates: `organisation` (id = organisation
//! id), `routing_rule` (id = rule UUID), `token` (id = token UUID), `user` (id = user UUID).
//! No password or secret is ever in them: people sign in at their organisation's identity
//! provider, and a user is found by the provider's issuer and subject.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::envelope::Role;
use crate::family::event_family;

event_family! {
    /// Events of the registry aggregates.
    RegistryEvent {
        OrganisationRegistered(OrganisationRegistered) = "organisation.registered" version 2,
        RoutingRuleAdded(RoutingRuleAdded) = "routing_rule.added" version 1,
        RoutingRuleRemoved(RoutingRuleRemoved) = "routing_rule.removed" version 1,
        TokenIssued(TokenIssued) = "token.issued" version 2,
        TokenRevoked(TokenRevoked) = "token.revoked" version 1,
        UserRegistered(UserRegistered) = "user.registered" version 1,
        UserRolesChanged(UserRolesChanged) = "user.roles_changed" version 1,
        UserDeactivated(UserDeactivated) = "user.deactivated" version 1,
        UserSignedIn(UserSignedIn) = "user.signed_in" version 1,
        UserSignedOut(UserSignedOut) = "user.signed_out" version 1,
    }
}

impl From<RegistryEvent> for crate::Event {
    fn from(e: RegistryEvent) -> Self {
        crate::Event::Registry(e)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrganisationKind {
    GpPractice,
    Pcn,
    Council,
    HousingAssociation,
    Pharmacy,
    Vcse,
    Commissioner,
    /// A community service of the directory (a walking group, a debt advice service ...)
    /// that answers the onward referrals sent to it in its own inbox.
    CommunityService,
    Other,
}

impl OrganisationKind {
    pub const ALL: [OrganisationKind; 9] = [
        OrganisationKind::GpPractice,
        OrganisationKind::Pcn,
        OrganisationKind::Council,
        OrganisationKind::HousingAssociation,
        OrganisationKind::Pharmacy,
        OrganisationKind::Vcse,
        OrganisationKind::Commissioner,
        OrganisationKind::CommunityService,
        OrganisationKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrganisationKind::GpPractice => "gp_practice",
            OrganisationKind::Pcn => "pcn",
            OrganisationKind::Council => "council",
            OrganisationKind::HousingAssociation => "housing_association",
            OrganisationKind::Pharmacy => "pharmacy",
            OrganisationKind::Vcse => "vcse",
            OrganisationKind::Commissioner => "commissioner",
            OrganisationKind::CommunityService => "community_service",
            OrganisationKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<OrganisationKind> {
        OrganisationKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// An organisation joined Linkway (or its details changed: the latest registration wins).
///
/// Version 2 adds `directory_services` (absent: none), and the kind `community_service`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganisationRegistered {
    /// Linkway's id for it: letters, digits, `-` and `_` (safe in a subject).
    pub organisation_id: String,
    pub name: String,
    pub kind: OrganisationKind,
    /// ODS code for NHS bodies, charity or company number for others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The commissioner area (e.g. an ICB's code) its activity is reported under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commissioner_area: Option<String>,
    /// It runs a social prescribing link-worker service that referrals can be routed to.
    #[serde(default)]
    pub link_worker_service: bool,
    /// The Open Referral UK service ids (the directory's) whose onward referrals this
    /// organisation answers, in its inbox; empty: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub directory_services: Vec<String>,
}

/// What a routing rule matches on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RoutingCriterion {
    /// Every referral from this referring organisation.
    ReferringOrganisation { organisation_id: String },
    /// Every referral for a person living in this postcode district (outward code).
    PostcodeDistrict { district: String },
}

/// Referrals matching `criterion` go to the link-worker service of `link_worker_organisation_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingRuleAdded {
    pub rule_id: Uuid,
    pub link_worker_organisation_id: String,
    pub criterion: RoutingCriterion,
    /// Lower wins when several rules match.
    pub priority: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingRuleRemoved {
    pub rule_id: Uuid,
}

/// A bearer token was issued. Only its SHA-256 digest is recorded, never the token.
///
/// Version 2 adds `expires_at` and `replaces`, both optional: a version 1 token (and a
/// version 2 one without `expires_at`) never expires, and replaces no other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenIssued {
    pub token_id: Uuid,
    pub organisation_id: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Hex SHA-256 of the token's secret.
    pub secret_sha256: String,
    /// A human label, e.g. "EMIS integration".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// When it stops working; absent: never.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub expires_at: Option<OffsetDateTime>,
    /// The token this one succeeds (a rotation), and when that one stops working: both
    /// work until then, so a system can roll its secret over without an outage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<Replaced>,
}

/// The token a rotation replaced, and the end of its overlap with its successor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replaced {
    pub token_id: Uuid,
    /// The replaced token stops working at this time (or at its own expiry, if sooner).
    #[serde(with = "time::serde::rfc3339")]
    pub stops_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRevoked {
    pub token_id: Uuid,
}

/// A person who works for an organisation may sign in: they are known by the subject their
/// identity provider (`issuer`, an OpenID Connect issuer URL) gives them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRegistered {
    pub user_id: Uuid,
    pub organisation_id: String,
    /// What they may do; at least one.
    pub roles: Vec<Role>,
    /// The name shown beside their actions, e.g. "Sam Patel (link worker)".
    pub display_name: String,
    pub issuer: String,
    pub subject: String,
}

/// The user's roles are now exactly these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRolesChanged {
    pub user_id: Uuid,
    pub roles: Vec<Role>,
}

/// The user may no longer sign in; their open sessions end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDeactivated {
    pub user_id: Uuid,
}

/// The user signed in: a session began (its cookie names `session_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSignedIn {
    pub user_id: Uuid,
    pub session_id: Uuid,
}

/// The user signed out: the session's cookie is refused from now on, by every service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSignedOut {
    pub user_id: Uuid,
    pub session_id: Uuid,
}
