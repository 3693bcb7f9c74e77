//! `linkway admin user`: the people who sign in. A user belongs to one organisation, holds
//! one or more roles, and is found at sign-in by their identity provider's issuer and
//! subject; no password or secret is ever recorded. Each command is a registry event,
//! decided on the registry as folded from the log ([`super::decide`]).

use clap::Subcommand;
use linkway_events::Role;
use linkway_events::registry::{RegistryEvent, UserDeactivated, UserRegistered, UserRolesChanged};
use linkway_eventstore::{EventStore, Expected};
use linkway_platform::text::Text;
use uuid::Uuid;

use super::{Plan, decide, decide_and_append, parse_role, registry, typed, valid_id};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Registers a person who signs in at their organisation's identity provider; prints
    /// their user id.
    Add {
        #[arg(long)]
        org: String,
        /// Comma-separated: referrer, link_worker, service_manager, commissioner, admin.
        #[arg(long, value_delimiter = ',', value_parser = parse_role, required = true)]
        roles: Vec<Role>,
        /// The name shown beside their actions.
        #[arg(long)]
        name: String,
        /// Their identity provider's OpenID Connect issuer URL.
        #[arg(long)]
        issuer: String,
        /// The `sub` claim the issuer gives them.
        #[arg(long)]
        subject: String,
    },
    /// Replaces a user's roles.
    Roles {
        user_id: Uuid,
        #[arg(long, value_delimiter = ',', value_parser = parse_role, required = true)]
        roles: Vec<Role>,
    },
    /// Stops a user signing in; their open sessions end on every service.
    Deactivate { user_id: Uuid },
    /// Lists users: id, organisation, roles, name, state.
    List {
        #[arg(long)]
        org: Option<String>,
    },
}

/// Carries out a user command; returns what to print.
pub async fn execute(store: &EventStore, command: UserCommand) -> anyhow::Result<String> {
    match command {
        UserCommand::Add {
            org,
            roles,
            name,
            issuer,
            subject,
        } => {
            valid_id(&org)?;
            let display_name = typed("--name", Text::name(200), Some(name))?
                .ok_or_else(|| anyhow::anyhow!("--name must not be empty"))?;
            let issuer = typed("--issuer", Text::line(500), Some(issuer))?
                .ok_or_else(|| anyhow::anyhow!("--issuer must not be empty"))?;
            let subject = typed("--subject", Text::line(255), Some(subject))?
                .ok_or_else(|| anyhow::anyhow!("--subject must not be empty"))?;
            let registered = UserRegistered {
                user_id: Uuid::now_v7(),
                organisation_id: org.clone(),
                roles: distinct(roles),
                display_name,
                issuer,
                subject,
            };
            let user_id = registered.user_id;
            decide_and_append(store, |registry| {
                decide::register_user(
                    registry,
                    &org,
                    &registered.roles,
                    &registered.issuer,
                    &registered.subject,
                )?;
                Ok(Plan {
                    aggregate_id: user_id.to_string(),
                    event: RegistryEvent::UserRegistered(registered.clone()),
                    expected: Expected::NoEvents,
                })
            })
            .await?;
            Ok(user_id.to_string())
        }
        UserCommand::Roles { user_id, roles } => {
            let roles = distinct(roles);
            decide_and_append(store, |registry| {
                let user = decide::change_roles(registry, user_id, &roles)?;
                Ok(Plan {
                    aggregate_id: user_id.to_string(),
                    event: RegistryEvent::UserRolesChanged(UserRolesChanged {
                        user_id,
                        roles: roles.clone(),
                    }),
                    expected: Expected::LastSequence(user.sequence),
                })
            })
            .await?;
            Ok(user_id.to_string())
        }
        UserCommand::Deactivate { user_id } => {
            decide_and_append(store, |registry| {
                let user = decide::active_user(registry, user_id)?;
                Ok(Plan {
                    aggregate_id: user_id.to_string(),
                    event: RegistryEvent::UserDeactivated(UserDeactivated { user_id }),
                    expected: Expected::LastSequence(user.sequence),
                })
            })
            .await?;
            Ok(user_id.to_string())
        }
        UserCommand::List { org } => {
            let registry = registry::load(store).await?;
            let mut out = String::from("user_id\torganisation\troles\tname\tstate");
            for user in registry.users.values().filter(|u| {
                org.as_deref()
                    .is_none_or(|o| u.registered.organisation_id == o)
            }) {
                let roles: Vec<&str> = user.registered.roles.iter().map(|r| r.as_str()).collect();
                out.push_str(&format!(
                    "\n{}\t{}\t{}\t{}\t{}",
                    user.registered.user_id,
                    user.registered.organisation_id,
                    roles.join(","),
                    user.registered.display_name,
                    if user.active { "active" } else { "deactivated" }
                ));
            }
            Ok(out)
        }
    }
}

/// Roles in the order given, each once.
fn distinct(roles: Vec<Role>) -> Vec<Role> {
    let mut out = Vec::with_capacity(roles.len());
    for role in roles {
        if !out.contains(&role) {
            out.push(role);
        }
    }
    out
}
