//! What an admin command may do to the registry, decided on the registry as folded from
//! the log. Pure: no I/O. Each refusal says which rule the command breaks and why it
//! matters; none is a warning the operator can miss.

use std::fmt;

use linkway_events::Role;
use linkway_events::registry::{OrganisationKind, OrganisationRegistered, RoutingCriterion};
use time::OffsetDateTime;
use uuid::Uuid;

use super::fold::{Registry, Rule, Token, User};
use crate::registry::routing::is_district;

/// Linkway's own operators: the organisation admin tokens and administrators belong to
/// (and the CLI's actor). Built in, never registered.
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
    /// A rotation of a token another rotation already replaced.
    AlreadyRotated {
        token: Uuid,
        successor: Uuid,
    },
    /// An expiry now or in the past.
    ExpiryNotInFuture,
    /// `token.issued` is pinned to a version that cannot say when a token expires.
    ExpiryNotWritable {
        version: u32,
    },
    NoRoles,
    /// Directory services named for an organisation that is not a community service.
    DirectoryServicesNeedCommunityService,
    /// `organisation.registered` is pinned to a version that cannot say a community
    /// service or its directory services.
    CommunityServiceNotWritable {
        version: u32,
    },
    IdentityTaken(Uuid),
    NoSuchUser(Uuid),
}

/// How a refusal names the way to put things right: the CLI's commands and flags, or
/// the pages' fields. The rule each message states is the same for both.
pub struct Wording {
    pub add_organisation: &'static str,
    pub link_worker_service: &'static str,
    pub area: &'static str,
    pub roles: &'static str,
    pub remove_rule: &'static str,
    pub list_tokens: &'static str,
    pub operator: &'static str,
    pub community_service: &'static str,
}

impl Wording {
    /// `linkway admin`'s words.
    pub const CLI: Wording = Wording {
        add_organisation: "add it with `linkway admin org add` first",
        link_worker_service: "register it with --link-worker-service first",
        area: "--area",
        roles: "--roles referrer,link_worker,...",
        remove_rule: "`linkway admin rule remove`",
        list_tokens: "see `linkway admin token list`",
        operator: "--org linkway",
        community_service: "--kind community_service",
    };

    /// The admin pages' words.
    pub const PAGES: Wording = Wording {
        add_organisation: "register it on the organisations page first",
        link_worker_service: "register it as running a link-worker service first",
        area: "a commissioner area",
        roles: "choose at least one role",
        remove_rule: "the routing rules page",
        list_tokens: "see the tokens page",
        operator: "organisation linkway",
        community_service: "the kind community service",
    };
}

impl Refusal {
    /// The refusal in `wording`'s words.
    pub fn describe(&self, w: &Wording) -> String {
        match self {
            Refusal::UnregisteredOrganisation(id) => format!(
                "organisation {id:?} is not registered ({})",
                w.add_organisation
            ),
            Refusal::NotALinkWorkerService(id) => format!(
                "organisation {id:?} is not a link-worker service: a rule routing to it would \
                 send every referral it matches to nobody ({})",
                w.link_worker_service
            ),
            Refusal::StillRoutedTo {
                organisation,
                rules,
            } => format!(
                "organisation {organisation:?} would no longer be a link-worker service while \
                 routing rules still send referrals to it ({}): remove them first with {}",
                rules.join(", "),
                w.remove_rule
            ),
            Refusal::NotAPostcodeDistrict(d) => format!(
                "postcode district {d:?} is not an outward code (like LS6 or SW1A): a rule on \
                 it would match no referral"
            ),
            Refusal::RoleDoesNotFit {
                organisation,
                role,
                needs,
            } => {
                let needs = needs.replace("{operator}", w.operator);
                format!("the {role} role needs {needs}; organisation {organisation:?} is not one")
            }
            Refusal::ReservedOrganisation => format!(
                "{OPERATOR:?} is Linkway's own operator organisation and cannot be registered"
            ),
            Refusal::CommissionerWithoutArea => format!(
                "a commissioner needs {}: its reports are scoped to that commissioner area",
                w.area
            ),
            Refusal::NoSuchRule(id) => format!("there is no routing rule {id} in force"),
            Refusal::NoRoles => format!(
                "a user needs at least one role ({}): with none they could sign in and do \
                 nothing",
                w.roles
            ),
            Refusal::IdentityTaken(user) => format!(
                "that identity provider account already signs in as user {user}: one account \
                 is one person (deactivate that user first)"
            ),
            Refusal::NoSuchUser(id) => format!("no active user {id}"),
            Refusal::DirectoryServicesNeedCommunityService => format!(
                "only a community service answers for directory services ({}): another kind \
                 of organisation would be shown people's onward referrals it does not run",
                w.community_service
            ),
            Refusal::CommunityServiceNotWritable { version } => format!(
                "organisation.registered is pinned to version {version} for a rolling upgrade \
                 (LINKWAY_WRITE_EVENT_VERSIONS), which cannot say a community service or its \
                 directory services: register them once every process reads the newest \
                 version and the pin is off"
            ),
            Refusal::NoSuchToken(id) => {
                format!("there is no live token {id} ({})", w.list_tokens)
            }
            Refusal::AlreadyRotated { token, successor } => format!(
                "token {token} was already rotated: its successor is {successor}, rotate that \
                 one instead ({})",
                w.list_tokens
            ),
            Refusal::ExpiryNotInFuture => "a token's expiry must be in the future: a token that \
                 has expired is refused at once"
                .to_owned(),
            Refusal::ExpiryNotWritable { version } => format!(
                "token.issued is pinned to version {version} for a rolling upgrade \
                 (LINKWAY_WRITE_EVENT_VERSIONS), which cannot say when a token expires: issue \
                 and rotate tokens once every process reads the newest version and the pin is off"
            ),
        }
    }
}

impl fmt::Display for Refusal {
    /// In the CLI's words (what `linkway admin` prints).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe(&Wording::CLI))
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
    if !registration.directory_services.is_empty()
        && registration.kind != OrganisationKind::CommunityService
    {
        return Err(Refusal::DirectoryServicesNeedCommunityService);
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

/// A community service, or directory services, can be written only at a version of
/// `organisation.registered` that says them (`written` is the version this process
/// writes, `newest` the one that does).
pub fn community_service_writable(
    registration: &OrganisationRegistered,
    written: u32,
    newest: u32,
) -> Result<(), Refusal> {
    let says_more = registration.kind == OrganisationKind::CommunityService
        || !registration.directory_services.is_empty();
    if says_more && written < newest {
        Err(Refusal::CommunityServiceNotWritable { version: written })
    } else {
        Ok(())
    }
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
                "Linkway's operator organisation ({operator}) and the admin role together",
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
        // Every organisation that holds records has someone answerable for them.
        Role::IgLead => true,
        Role::CommunityService => organisation.kind == OrganisationKind::CommunityService,
        Role::Admin | Role::System => false,
    };
    if fits {
        Ok(())
    } else {
        Err(does_not_fit(match role {
            Role::LinkWorker | Role::ServiceManager => "a link-worker service",
            Role::Commissioner => "a commissioner with a commissioner area",
            Role::Referrer => "an organisation that refers (not a commissioner)",
            Role::IgLead => "a registered organisation",
            Role::CommunityService => "a community service organisation",
            Role::Admin | Role::System => "Linkway's operator organisation",
        }))
    }
}

/// A token not yet revoked (expired or not), to revoke.
pub fn revoke_token(registry: &Registry, token_id: Uuid) -> Result<&Token, Refusal> {
    registry
        .tokens
        .get(&token_id)
        .filter(|t| t.revoked_at.is_none())
        .ok_or(Refusal::NoSuchToken(token_id))
}

/// A token that still works at `now` and that no rotation has replaced yet, to rotate:
/// rotating an expired or revoked token would bring back a secret that no longer works.
pub fn rotate_token(
    registry: &Registry,
    token_id: Uuid,
    now: OffsetDateTime,
) -> Result<&Token, Refusal> {
    let token = registry
        .tokens
        .get(&token_id)
        .filter(|t| t.is_live(now))
        .ok_or(Refusal::NoSuchToken(token_id))?;
    match token.replaced_by {
        Some(successor) => Err(Refusal::AlreadyRotated {
            token: token_id,
            successor,
        }),
        None => Ok(token),
    }
}

/// A token's expiry must be after `now`.
pub fn expiry(expires_at: OffsetDateTime, now: OffsetDateTime) -> Result<(), Refusal> {
    if expires_at > now {
        Ok(())
    } else {
        Err(Refusal::ExpiryNotInFuture)
    }
}

/// Tokens with an expiry can be written only at a version of `token.issued` that says it
/// (`written` is the version this process writes, `newest` the one that has `expires_at`).
pub fn expiry_writable(written: u32, newest: u32) -> Result<(), Refusal> {
    if written >= newest {
        Ok(())
    } else {
        Err(Refusal::ExpiryNotWritable { version: written })
    }
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

#[cfg(test)]
mod tests {
    use linkway_events::registry::{RoutingRuleAdded, UserRegistered};

    use super::*;
    use crate::registry::admin::fold::Organisation;

    fn organisation(id: &str, kind: OrganisationKind, service: bool) -> OrganisationRegistered {
        OrganisationRegistered {
            organisation_id: id.into(),
            name: format!("{id} name"),
            kind,
            code: None,
            commissioner_area: Some("QAD".into()),
            link_worker_service: service,
            directory_services: Vec::new(),
        }
    }

    /// A GP practice, a link-worker service with a rule from the practice, a commissioner
    /// and one user at the service.
    fn registry() -> Registry {
        let mut registry = Registry::default();
        for o in [
            organisation("gp", OrganisationKind::GpPractice, false),
            organisation("lw", OrganisationKind::Pcn, true),
            organisation("icb", OrganisationKind::Commissioner, false),
        ] {
            registry.organisations.insert(
                o.organisation_id.clone(),
                Organisation {
                    registered: o,
                    sequence: 1,
                },
            );
        }
        let rule_id = Uuid::from_u128(1);
        registry.rules.insert(
            rule_id,
            Rule {
                added: RoutingRuleAdded {
                    rule_id,
                    link_worker_organisation_id: "lw".into(),
                    criterion: RoutingCriterion::ReferringOrganisation {
                        organisation_id: "gp".into(),
                    },
                    priority: 1,
                },
                removed: false,
                sequence: 2,
            },
        );
        let user_id = Uuid::from_u128(2);
        registry.users.insert(
            user_id,
            User {
                registered: UserRegistered {
                    user_id,
                    organisation_id: "lw".into(),
                    roles: vec![Role::LinkWorker],
                    display_name: "Ada".into(),
                    issuer: "https://idp".into(),
                    subject: "ada".into(),
                },
                active: true,
                sequence: 3,
            },
        );
        registry
    }

    #[test]
    fn a_rule_routes_only_to_a_registered_link_worker_service_on_what_a_referral_carries() {
        let r = registry();
        let from = |org: &str| RoutingCriterion::ReferringOrganisation {
            organisation_id: org.into(),
        };
        let district = |d: &str| RoutingCriterion::PostcodeDistrict { district: d.into() };
        assert_eq!(add_rule(&r, "lw", &from("gp")), Ok(()));
        assert_eq!(add_rule(&r, "lw", &district("SW1A")), Ok(()));
        assert_eq!(
            add_rule(&r, "nobody", &from("gp")),
            Err(Refusal::UnregisteredOrganisation("nobody".into()))
        );
        assert_eq!(
            add_rule(&r, "gp", &from("gp")),
            Err(Refusal::NotALinkWorkerService("gp".into()))
        );
        assert_eq!(
            add_rule(&r, "lw", &from("gp-x")),
            Err(Refusal::UnregisteredOrganisation("gp-x".into()))
        );
        assert_eq!(
            add_rule(&r, "lw", &district("LS6 4QX")),
            Err(Refusal::NotAPostcodeDistrict("LS6 4QX".into()))
        );
    }

    #[test]
    fn a_service_cannot_stop_while_rules_route_to_it_and_a_commissioner_needs_an_area() {
        let r = registry();
        let refused = register_organisation(&r, &organisation("lw", OrganisationKind::Pcn, false));
        assert!(matches!(refused, Err(Refusal::StillRoutedTo { .. })));
        let mut no_area = organisation("icb-2", OrganisationKind::Commissioner, false);
        no_area.commissioner_area = None;
        assert_eq!(
            register_organisation(&r, &no_area),
            Err(Refusal::CommissionerWithoutArea)
        );
        assert_eq!(
            register_organisation(&r, &organisation(OPERATOR, OrganisationKind::Other, false)),
            Err(Refusal::ReservedOrganisation)
        );
    }

    #[test]
    fn a_role_must_fit_its_organisation() {
        let r = registry();
        for (org, role) in [
            ("lw", Role::LinkWorker),
            ("lw", Role::ServiceManager),
            ("icb", Role::Commissioner),
            ("gp", Role::Referrer),
            (OPERATOR, Role::Admin),
        ] {
            assert_eq!(issue_token(&r, org, role), Ok(()), "{org} {role:?}");
        }
        for (org, role) in [
            ("gp", Role::LinkWorker),
            ("gp", Role::Commissioner),
            ("icb", Role::Referrer),
            ("gp", Role::Admin),
            (OPERATOR, Role::Referrer),
        ] {
            assert!(issue_token(&r, org, role).is_err(), "{org} {role:?}");
        }
    }

    #[test]
    fn only_a_community_service_answers_for_directory_services_and_takes_its_role() {
        let mut r = registry();
        let mut walking = organisation("walk", OrganisationKind::CommunityService, false);
        walking.directory_services = vec!["svc-1".into()];
        assert_eq!(register_organisation(&r, &walking), Ok(()));
        let mut gp = organisation("gp", OrganisationKind::GpPractice, false);
        gp.directory_services = vec!["svc-1".into()];
        assert_eq!(
            register_organisation(&r, &gp),
            Err(Refusal::DirectoryServicesNeedCommunityService)
        );
        r.organisations.insert(
            "walk".into(),
            Organisation {
                registered: walking.clone(),
                sequence: 4,
            },
        );
        assert_eq!(issue_token(&r, "walk", Role::CommunityService), Ok(()));
        assert!(issue_token(&r, "gp", Role::CommunityService).is_err());
        assert!(issue_token(&r, "walk", Role::LinkWorker).is_err());
        assert_eq!(community_service_writable(&walking, 2, 2), Ok(()));
        assert_eq!(
            community_service_writable(&walking, 1, 2),
            Err(Refusal::CommunityServiceNotWritable { version: 1 })
        );
        let plain = organisation("gp", OrganisationKind::GpPractice, false);
        assert_eq!(community_service_writable(&plain, 1, 2), Ok(()));
    }

    #[test]
    fn one_identity_is_one_person_and_a_user_needs_a_role() {
        let r = registry();
        assert_eq!(
            register_user(&r, "lw", &[Role::LinkWorker], "https://idp", "ada"),
            Err(Refusal::IdentityTaken(Uuid::from_u128(2)))
        );
        assert_eq!(
            register_user(&r, "lw", &[], "https://idp", "bea"),
            Err(Refusal::NoRoles)
        );
        assert_eq!(
            register_user(&r, "lw", &[Role::ServiceManager], "https://idp", "bea"),
            Ok(())
        );
        assert!(change_roles(&r, Uuid::from_u128(2), &[Role::Commissioner]).is_err());
        assert!(active_user(&r, Uuid::from_u128(9)).is_err());
    }

    #[test]
    fn the_cli_and_the_pages_state_the_same_rule_in_their_own_words() {
        let refusal = Refusal::CommissionerWithoutArea;
        assert!(refusal.to_string().contains("needs --area"));
        let page = refusal.describe(&Wording::PAGES);
        assert!(page.contains("needs a commissioner area") && !page.contains("--"));
        let admin = issue_token(&registry(), "gp", Role::Admin).unwrap_err();
        assert!(admin.to_string().contains("(--org linkway)"));
        assert!(!admin.describe(&Wording::PAGES).contains("--"));
    }
}
