//! `linkway admin user`: the people who sign in. A user belongs to one organisation, holds
//! one or more roles, and is found at sign-in by their identity provider's issuer and
//! subject; no password or secret is ever recorded. Each command is a registry event,
//! decided on the registry as folded from the log ([`super::decide`]).

use clap::Subcommand;
use linkway_events::Role;
use linkway_events::registry::UserRegistered;
use linkway_platform::registry::admin::Admin;
use linkway_platform::registry::admin::input::{self, DISPLAY_NAME, ISSUER, SUBJECT};
use uuid::Uuid;

use super::parse_role;

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
pub async fn execute(admin: &Admin<'_>, command: UserCommand) -> anyhow::Result<String> {
    match command {
        UserCommand::Add {
            org,
            roles,
            name,
            issuer,
            subject,
        } => {
            let registered = UserRegistered {
                user_id: Uuid::now_v7(),
                organisation_id: input::organisation_id("--org", &org)?,
                roles: input::distinct(roles),
                display_name: input::required("--name", DISPLAY_NAME, &name)?,
                issuer: input::required("--issuer", ISSUER, &issuer)?,
                subject: input::required("--subject", SUBJECT, &subject)?,
            };
            admin.register_user(&registered).await?;
            Ok(registered.user_id.to_string())
        }
        UserCommand::Roles { user_id, roles } => {
            admin.change_roles(user_id, &input::distinct(roles)).await?;
            Ok(user_id.to_string())
        }
        UserCommand::Deactivate { user_id } => {
            admin.deactivate_user(user_id).await?;
            Ok(user_id.to_string())
        }
        UserCommand::List { org } => {
            let registry = admin.registry().await?;
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
