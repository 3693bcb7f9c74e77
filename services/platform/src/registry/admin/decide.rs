//! What an admin command may do to the registry, decided on the registry as folded from
//! the log. Pure: no I/O. Each refusal says which rule the command breaks and why it
//! matters; none is a warning the operator can miss.

use std::fmt;

use linkway_events::Role;
use linkway_events::registry::{OrganisationKind, OrganisationRegistered, RoutingCriterion};
use uuid::Uuid;

use super::registry::{Registry, Rule, Token, User};

/// Linkway's own operators: the organisation admin tokens belong to (and the actor of
/// every admin event). Built in, never registered.
pub const OPERATOR: &str = "linkway";

/// Why an admin command was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    UnregisteredOrganisation(String),
    NotALinkWorkerService(String),
    StillRoutedTo {
        organisation: String,
        rules: Vec<String>,
    },
    NotAPostcodeDistrict(String),
    RoleDoesNotFit {
        organisation: String,
        role: &'static str,
        needs: &'static str,
    },
    ReservedOrganisation,
    CommissionerWithoutArea,
    NoSuchRule(Uuid),
    NoSuchToken(Uuid),
    NoRoles,
    IdentityTaken(Uuid),
    NoSuchUser(Uuid),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::UnregisteredOrganisation(id) => write!(
                f,
                "organisation {id:?} is not registered (add it with `linkway admin org add` first)"
            ),
            Refusal::NotALinkWorkerService(id) => write!(
                f,
                "organisation {id:?} is not a link-worker service: a rule routing to it would \
                 send every referral it matches to nobody (register it with \
                 --link-worker-service first)"
            ),
            Refusal::StillRoutedTo {
                organisation,
                rules,
            } => write!(
                f,
                "organisation {organisation:?} would no longer be a link-worker service while \
                 routing rules still send referrals to it ({}): remove them first with \
                 `linkway admin rule remove`",
                rules.join(", ")
            ),
            Refusal::NotAPostcodeDistrict(d) => write!(
                f,
                "postcode district {d:?} is not an outward code (like LS6 or SW1A): a rule on \
                 it would match no referral"
            ),
            Refusal::RoleDoesNotFit {
                organisation,
                role,
                needs,
            } => write!(
                f,
                "a {role} token needs {needs}; organisation {organisation:?} is not one"
            ),
            Refusal::ReservedOrganisation => write!(
                f,
                "{OPERATOR:?} is Linkway's own operator organisation and cannot be registered"
            ),
            Refusal::CommissionerWithoutArea => f.write_str(
                "a commissioner needs --area: its reports are scoped to that commissioner area",
            ),
            Refusal::NoSuchRule(id) => write!(f, "there is no routing rule {id} in force"),
            Refusal::NoRoles => write!(
                f,
                "a user needs at least one role (--roles referrer,link_worker,...): with none \
                 they could sign in and do nothing"
            ),
            Refusal::IdentityTaken(user) => write!(
                f,
                "that identity provider account already signs in as user {user}: one account \
                 is one person (deactivate that user first)"
            ),
            Refusal::NoSuchUser(id) => write!(f, "no active user {id}"),
            Refusal::NoSuchToken(id) => write!(
                f,
                "there is no live token {id} (see `linkway admin token list`)"
            ),
        }
    }
}

impl std::error::Error for Refusal {}

/// An organisation may be registered (or its registration changed) unless it stops being
/// a link-worker service while rules route to it, or is a commissioner without an area.
pub fn register_organisation(
    registry: &Registry,
    registration: &OrganisationRegistered,
) -> Result<(), Refusal> {
    let id = &registration.organisation_id;
    if id == OPERATOR {
        return Err(Refusal::ReservedOrganisation);
    }
    if registration.kind == OrganisationKind::Commissioner
        && registration.commissioner_area.is_none()
    {
        return Err(Refusal::CommissionerWithoutArea);
    }
    if !registration.link_worker_service {
        let rules: Vec<String> = registry
            .live_rules_to(id)
            .map(|r| r.added.rule_id.to_string())
            .collect();
        if !rules.is_empty() {
            return Err(Refusal::StillRoutedTo {
                organisation: id.clone(),
                rules,
            });
        }
    }
    Ok(())
}

/// A rule may route only to a registered link-worker service, and match only what a
/// referral can carry: a registered referring organisation, or a real outward code.
pub fn add_rule(
    registry: &Registry,
    to: &str,
    criterion: &RoutingCriterion,
) -> Result<(), Refusal> {
    let target = registry
        .organisations
        .get(to)
        .ok_or_else(|| Refusal::UnregisteredOrganisation(to.to_owned()))?;
    if !target.registered.link_worker_service {
        return Err(Refusal::NotALinkWorkerService(to.to_owned()));
    }
    match criterion {
        RoutingCriterion::ReferringOrganisation { organisation_id } => {
            if !registry.organisations.contains_key(organisation_id) {
                return Err(Refusal::UnregisteredOrganisation(organisation_id.clone()));
            }
        }
        RoutingCriterion::PostcodeDistrict { district } => {
            if !is_district(district) {
                return Err(Refusal::NotAPostcodeDistrict(district.clone()));
            }
        }
    }
    Ok(())
}

/// The same rule intake reads a district with: the outward code of a valid postcode.
fn is_district(district: &str) -> bool {
    use linkway_intake::validation::{normalise_postcode, postcode_district};
    normalise_postcode(&format!("{district} 9ZZ"))
        .is_some_and(|canonical| postcode_district(&canonical) == district)
}

/// A rule in force, to remove.
pub fn remove_rule(registry: &Registry, rule_id: Uuid) -> Result<&Rule, Refusal> {
    registry
        .rules
        .get(&rule_id)
        .filter(|r| !r.removed)
        .ok_or(Refusal::NoSuchRule(rule_id))
}

/// A token is issued only to an organisation whose kind fits the role: the operator for
/// `admin`, a link-worker service for its link workers and managers, a commissioner (with
/// its area) for reports, any other registered organisation for referrers.
pub fn issue_token(registry: &Registry, organisation_id: &str, role: Role) -> Result<(), Refusal> {
    let does_not_fit = |needs| Refusal::RoleDoesNotFit {
        organisation: organisation_id.to_owned(),
        role: role.as_str(),
        needs,
    };
    if organisation_id == OPERATOR || role == Role::Admin {
        return if organisation_id == OPERATOR && role == Role::Admin {
            Ok(())
        } else {
            Err(does_not_fit(
                "Linkway's operator organisation (--org linkway) and the admin role together",
            ))
        };
    }
    let organisation = &registry
        .organisations
        .get(organisation_id)
        .ok_or_else(|| Refusal::UnregisteredOrganisation(organisation_id.to_owned()))?
        .registered;
    let commissioner = organisation.kind == OrganisationKind::Commissioner;
    let fits = match role {
        Role::LinkWorker | Role::ServiceManager => organisation.link_worker_service,
        Role::Commissioner => commissioner && organisation.commissioner_area.is_some(),
        Role::Referrer => !commissioner,
        Role::Admin | Role::System => false,
    };
    if fits {
        Ok(())
    } else {
        Err(does_not_fit(match role {
            Role::LinkWorker | Role::ServiceManager => "a link-worker service",
            Role::Commissioner => "a commissioner with a commissioner area",
            Role::Referrer => "an organisation that refers (not a commissioner)",
            Role::Admin | Role::System => "Linkway's operator organisation",
        }))
    }
}

/// A live token, to revoke.
pub fn revoke_token(registry: &Registry, token_id: Uuid) -> Result<&Token, Refusal> {
    registry
        .tokens
        .get(&token_id)
        .filter(|t| t.revoked_at.is_none())
        .ok_or(Refusal::NoSuchToken(token_id))
}

/// A user may be registered in an organisation for roles it fits (as a token would be,
/// [`issue_token`]), with an identity no other active user signs in with.
pub fn register_user(
    registry: &Registry,
    organisation_id: &str,
    roles: &[Role],
    issuer: &str,
    subject: &str,
) -> Result<(), Refusal> {
    user_roles(registry, organisation_id, roles)?;
    match registry.user_by_identity(issuer, subject) {
        Some(other) => Err(Refusal::IdentityTaken(other.registered.user_id)),
        None => Ok(()),
    }
}

/// An active user's roles may change to others their organisation fits.
pub fn change_roles<'a>(
    registry: &'a Registry,
    user_id: Uuid,
    roles: &[Role],
) -> Result<&'a User, Refusal> {
    let user = active_user(registry, user_id)?;
    user_roles(registry, &user.registered.organisation_id, roles)?;
    Ok(user)
}

/// An active user, to deactivate or change.
pub fn active_user(registry: &Registry, user_id: Uuid) -> Result<&User, Refusal> {
    registry
        .users
        .get(&user_id)
        .filter(|u| u.active)
        .ok_or(Refusal::NoSuchUser(user_id))
}

fn user_roles(registry: &Registry, organisation_id: &str, roles: &[Role]) -> Result<(), Refusal> {
    if roles.is_empty() {
        return Err(Refusal::NoRoles);
    }
    roles
        .iter()
        .try_for_each(|role| issue_token(registry, organisation_id, *role))
}
