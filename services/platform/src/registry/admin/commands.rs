//! The admin commands, carried out the same way from `linkway admin` and from the admin
//! pages. Each decides on the registry as folded from the log ([`super::fold`]) by the rules
//! of [`super::decide`], and appends expecting its own aggregate as it read it (a
//! concurrent change there makes it decide again). The one decision that reads another
//! aggregate, a rule routing to a service, is checked again after its append from both
//! sides: a rule added while its target stopped being a service is removed, and a service
//! that stopped while a rule to it was added is registered as a service again, so two
//! admins at once cannot leave a rule that routes to nobody.

use linkway_events::registry::{
    OrganisationRegistered, RegistryEvent, RoutingCriterion, RoutingRuleAdded, RoutingRuleRemoved,
    UserDeactivated, UserRegistered, UserRolesChanged,
};
use linkway_events::{Actor, Envelope, Event, Role};
use linkway_eventstore::{AppendError, EventStore, Expected, PendingEvent};
use time::OffsetDateTime;
use uuid::Uuid;

use super::decide::{self, OPERATOR, Refusal};
use super::fold::{self, Registry};
use crate::auth::Principal;

/// Why an admin command did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A rule of [`decide`] refuses it; nothing was appended (or what was, was undone).
    #[error("{0}")]
    Refused(#[from] Refusal),
    /// The registry kept changing under it.
    #[error("the registry kept changing while this command was decided; run it again")]
    KeptChanging,
    /// The log could not be read or appended to.
    #[error(transparent)]
    Log(#[from] anyhow::Error),
}

impl From<AppendError> for AdminError {
    fn from(e: AppendError) -> AdminError {
        AdminError::Log(e.into())
    }
}

/// Who carries out admin commands, on which log: every event it appends names its actor.
pub struct Admin<'a> {
    store: &'a EventStore,
    actor: Actor,
    /// The request's correlation id (the CLI starts one per event).
    correlation: Option<Uuid>,
}

impl<'a> Admin<'a> {
    /// `linkway admin`: Linkway's operator organisation, user `admin-cli`.
    pub fn cli(store: &'a EventStore) -> Admin<'a> {
        Admin {
            store,
            actor: Actor {
                organisation_id: OPERATOR.into(),
                user_id: Some("admin-cli".into()),
                role: Role::Admin,
            },
            correlation: None,
        }
    }

    /// A signed-in administrator on a page: their organisation and user id.
    pub fn person(store: &'a EventStore, principal: &Principal, correlation: Uuid) -> Admin<'a> {
        Admin {
            store,
            actor: Actor {
                organisation_id: principal.organisation_id.clone(),
                user_id: principal.user_id.clone(),
                role: principal.role,
            },
            correlation: Some(correlation),
        }
    }

    /// The registry as the log holds it now.
    pub async fn registry(&self) -> anyhow::Result<Registry> {
        fold::load(self.store).await
    }

    /// Registers an organisation (or changes its registration: the latest wins); the
    /// sequence of its event.
    pub async fn register_organisation(
        &self,
        registration: &OrganisationRegistered,
    ) -> Result<u64, AdminError> {
        let id = &registration.organisation_id;
        let newest =
            Event::from(RegistryEvent::OrganisationRegistered(registration.clone())).version();
        let written = linkway_events::write_versions::installed()
            .version_of("organisation.registered", newest);
        decide::community_service_writable(registration, written, newest)?;
        let decided = self
            .decide_and_append(|registry| {
                decide::register_organisation(registry, registration)?;
                Ok(Plan {
                    aggregate_id: id.clone(),
                    event: RegistryEvent::OrganisationRegistered(registration.clone()),
                    expected: own(registry.organisation_sequence(id)),
                })
            })
            .await?;
        if !registration.link_worker_service {
            // A rule to it added while this was decided: it stays a service.
            let after = self.registry().await?;
            if let Err(refusal) = decide::register_organisation(&after, registration)
                && let Some(previous) = decided.registry.organisations.get(id)
            {
                let restore = RegistryEvent::OrganisationRegistered(previous.registered.clone());
                self.append_one(id, restore, Expected::Any).await?;
                return Err(refusal.into());
            }
        }
        Ok(decided.appended)
    }

    /// Adds a routing rule; its id and the sequence of its event.
    pub async fn add_rule(
        &self,
        to: &str,
        criterion: &RoutingCriterion,
        priority: i32,
    ) -> Result<(Uuid, u64), AdminError> {
        let rule_id = Uuid::now_v7();
        let decided = self
            .decide_and_append(|registry| {
                decide::add_rule(registry, to, criterion)?;
                Ok(Plan {
                    aggregate_id: rule_id.to_string(),
                    event: RegistryEvent::RoutingRuleAdded(RoutingRuleAdded {
                        rule_id,
                        link_worker_organisation_id: to.to_owned(),
                        criterion: criterion.clone(),
                        priority,
                    }),
                    expected: Expected::NoEvents,
                })
            })
            .await?;
        // Its target stopped being a service while this was decided: no rule after all.
        let after = self.registry().await?;
        if let Err(refusal) = decide::add_rule(&after, to, criterion) {
            let removed = RegistryEvent::RoutingRuleRemoved(RoutingRuleRemoved { rule_id });
            self.append_one(&rule_id.to_string(), removed, Expected::Any)
                .await?;
            return Err(refusal.into());
        }
        Ok((rule_id, decided.appended))
    }

    /// Removes a rule in force; the sequence of its event.
    pub async fn remove_rule(&self, rule_id: Uuid) -> Result<u64, AdminError> {
        self.decide_and_append(|registry| {
            let rule = decide::remove_rule(registry, rule_id)?;
            Ok(Plan {
                aggregate_id: rule_id.to_string(),
                event: RegistryEvent::RoutingRuleRemoved(RoutingRuleRemoved { rule_id }),
                expected: Expected::LastSequence(rule.sequence),
            })
        })
        .await
        .map(|d| d.appended)
    }

    /// Registers a person; the sequence of their event.
    pub async fn register_user(&self, registered: &UserRegistered) -> Result<u64, AdminError> {
        self.decide_and_append(|registry| {
            decide::register_user(
                registry,
                &registered.organisation_id,
                &registered.roles,
                &registered.issuer,
                &registered.subject,
            )?;
            Ok(Plan {
                aggregate_id: registered.user_id.to_string(),
                event: RegistryEvent::UserRegistered(registered.clone()),
                expected: Expected::NoEvents,
            })
        })
        .await
        .map(|d| d.appended)
    }

    /// Replaces an active user's roles; the sequence of their event.
    pub async fn change_roles(&self, user_id: Uuid, roles: &[Role]) -> Result<u64, AdminError> {
        self.decide_and_append(|registry| {
            let user = decide::change_roles(registry, user_id, roles)?;
            Ok(Plan {
                aggregate_id: user_id.to_string(),
                event: RegistryEvent::UserRolesChanged(UserRolesChanged {
                    user_id,
                    roles: roles.to_vec(),
                }),
                expected: Expected::LastSequence(user.sequence),
            })
        })
        .await
        .map(|d| d.appended)
    }

    /// Stops an active user signing in (their sessions end on every service).
    pub async fn deactivate_user(&self, user_id: Uuid) -> Result<u64, AdminError> {
        self.decide_and_append(|registry| {
            let user = decide::active_user(registry, user_id)?;
            Ok(Plan {
                aggregate_id: user_id.to_string(),
                event: RegistryEvent::UserDeactivated(UserDeactivated { user_id }),
                expected: Expected::LastSequence(user.sequence),
            })
        })
        .await
        .map(|d| d.appended)
    }

    /// Loads the registry, decides, appends expecting the aggregate as it was read; on a
    /// conflict loads and decides again.
    pub(super) async fn decide_and_append(
        &self,
        decide: impl Fn(&Registry) -> Result<Plan, Refusal>,
    ) -> Result<Decided, AdminError> {
        for _ in 0..ATTEMPTS {
            let registry = self.registry().await?;
            let plan = decide(&registry)?;
            match self
                .append_one(&plan.aggregate_id, plan.event, plan.expected)
                .await
            {
                Ok(appended) => return Ok(Decided { registry, appended }),
                Err(AppendError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AdminError::KeptChanging)
    }

    /// Appends one registry event as this actor; returns its sequence.
    pub(super) async fn append_one(
        &self,
        aggregate_id: &str,
        event: RegistryEvent,
        expected: Expected,
    ) -> Result<u64, AppendError> {
        let event: Event = event.into();
        let envelope = Envelope::new(
            aggregate_id,
            &event,
            self.actor.clone(),
            self.correlation.unwrap_or_else(Uuid::now_v7),
            OffsetDateTime::now_utc(),
        );
        let appended = self
            .store
            .append(
                event.aggregate_kind(),
                aggregate_id,
                expected,
                vec![PendingEvent::new(envelope)],
            )
            .await?;
        Ok(appended.last_sequence())
    }
}

/// What a decision appends, and what it expects of its own aggregate.
pub(super) struct Plan {
    pub(super) aggregate_id: String,
    pub(super) event: RegistryEvent,
    pub(super) expected: Expected,
}

/// The registry a decision was made on, and the sequence of the event it appended.
pub(super) struct Decided {
    pub(super) registry: Registry,
    pub(super) appended: u64,
}

/// Times a command decides again after its aggregate changed under it.
const ATTEMPTS: usize = 5;

/// The expectation on an aggregate last seen at `sequence` (0: not there yet).
fn own(sequence: u64) -> Expected {
    match sequence {
        0 => Expected::NoEvents,
        n => Expected::LastSequence(n),
    }
}
