//! `linkway admin`: organisations, routing rules, tokens and users. Each is a registry event on
//! the log; every service projects them into its own registry read model. The commands
//! are the platform's ([`linkway_platform::registry::admin`], which the admin pages use
//! too): decided on the registry as folded from the log ([`registry`]) by the rules of
//! [`decide`], appended as Linkway's operator (`linkway`, user `admin-cli`). This module
//! reads the flags and prints the answers.

pub mod keys;
pub mod tokens;
pub mod users;

use anyhow::Context;
use clap::Subcommand;
use linkway_events::Role;
use linkway_events::registry::{OrganisationKind, OrganisationRegistered};
use linkway_eventstore::EventStore;
use linkway_platform::registry::admin::Admin;
pub use linkway_platform::registry::admin::IssuedToken;
use linkway_platform::registry::admin::input::{self, CODE, ORGANISATION_NAME, TOKEN_TEXT};
pub use linkway_platform::registry::admin::{decide, fold as registry};
use uuid::Uuid;

use crate::config::Settings;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Organisations: referrers, link-worker services, commissioners.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Routing rules: which link-worker service takes which referrals.
    #[command(subcommand)]
    Rule(RuleCommand),
    /// Bearer tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// People who sign in to the pages.
    #[command(subcommand)]
    User(users::UserCommand),
    /// The key-encryption keys that wrap each person's data key.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Registers an organisation (or updates it: the latest registration wins).
    Add {
        /// Linkway id: letters, digits, '-' and '_'.
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        /// gp_practice | pcn | council | housing_association | pharmacy | vcse | commissioner |
        /// community_service (also community-service) | other
        #[arg(long, value_parser = parse_kind)]
        kind: OrganisationKind,
        /// ODS code, charity or company number.
        #[arg(long)]
        code: Option<String>,
        /// Commissioner area its activity is reported under (e.g. an ICB code).
        #[arg(long)]
        area: Option<String>,
        /// It runs a link-worker service that referrals can be routed to.
        #[arg(long)]
        link_worker_service: bool,
        /// An Open Referral UK service id (the directory's) whose onward referrals this
        /// community service answers in its inbox; repeat for several.
        #[arg(long = "directory-service")]
        directory_services: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RuleCommand {
    /// Adds a routing rule; prints its id.
    Add {
        /// The link-worker service (organisation id) that takes the referrals.
        #[arg(long)]
        to: String,
        /// Match every referral from this referring organisation.
        #[arg(
            long,
            conflicts_with = "postcode_district",
            required_unless_present = "postcode_district"
        )]
        from_org: Option<String>,
        /// Match every referral for a person in this postcode district (e.g. LS6).
        #[arg(long)]
        postcode_district: Option<String>,
        /// Lower wins when several rules match.
        #[arg(long, default_value_t = 100)]
        priority: i32,
    },
    /// Removes a routing rule.
    Remove { rule_id: Uuid },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issues a token; prints its id, then the secret alone on the last line (shown
    /// only this once: the log keeps its SHA-256, never the secret). It expires after
    /// LINKWAY_TOKEN_LIFETIME_DAYS unless --expires-in or --expires-at says otherwise.
    Create {
        #[arg(long)]
        org: String,
        /// referrer | link_worker | service_manager | commissioner | admin | ig_lead | community_service
        #[arg(long, value_parser = parse_role)]
        role: Role,
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        label: Option<String>,
        #[command(flatten)]
        expiry: tokens::ExpiryArgs,
    },
    /// Rotates a live token: issues its successor (same organisation, role, user and
    /// label) and the old one keeps working for the grace period, then stops. Prints the
    /// successor's id, the old token's id and when it stops, then the secret alone on the
    /// last line (shown only this once).
    Rotate {
        token_id: Uuid,
        /// How long the old token keeps working, e.g. 1h, 30m, 0s (default
        /// LINKWAY_TOKEN_ROTATION_GRACE_SECS; never past its own expiry).
        #[arg(long, value_parser = tokens::parse_duration)]
        grace: Option<time::Duration>,
        #[command(flatten)]
        expiry: tokens::ExpiryArgs,
    },
    /// Lists tokens: id, organisation, role, user, label, created, expires, last used,
    /// state. Never a secret.
    List {
        /// Only this organisation's tokens.
        #[arg(long)]
        org: Option<String>,
    },
    /// Revokes a token by the id `token create` and `token list` show.
    Revoke { token_id: Uuid },
}

fn parse_kind(s: &str) -> Result<OrganisationKind, String> {
    OrganisationKind::parse(&s.replace('-', "_")).ok_or_else(|| {
        let all: Vec<&str> = OrganisationKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown organisation kind {s:?}; one of {}", all.join(", "))
    })
}

pub(crate) fn parse_role(s: &str) -> Result<Role, String> {
    input::role(s).ok_or_else(|| {
        format!(
            "unknown role {s:?}; one of referrer, link_worker, service_manager, commissioner, admin, ig_lead, community_service"
        )
    })
}

/// Carries out an admin command; returns what to print on stdout. `token list` shows no
/// last-used times from here (see [`run_cli`]).
pub async fn run(store: &EventStore, command: AdminCommand) -> anyhow::Result<String> {
    execute(store, None, command).await
}

/// `linkway admin` itself: connects to the log, and for `token list` reads when each
/// token was last used from every service's database.
pub async fn run_cli(settings: &Settings, command: AdminCommand) -> anyhow::Result<String> {
    if let AdminCommand::Keys(command) = command {
        return keys::run(settings, command).await;
    }
    // As `serve` writes them: a pinned version is written (or refused) here too.
    linkway_events::write_versions::install(settings.write_versions())
        .context("LINKWAY_WRITE_EVENT_VERSIONS")?;
    settings.token_lifetimes().install()?;
    // As the registry's writer: its own NATS user when the settings give it one.
    let (_, store) =
        crate::serve::connect_store_as(settings, Some(crate::config::Connection::Registry)).await?;
    execute(&store, Some(settings), command).await
}

async fn execute(
    store: &EventStore,
    settings: Option<&Settings>,
    command: AdminCommand,
) -> anyhow::Result<String> {
    let admin = Admin::cli(store);
    match command {
        AdminCommand::User(command) => users::execute(&admin, command).await,
        AdminCommand::Keys(_) => {
            anyhow::bail!("`admin keys` runs on the settings, not the registry")
        }
        AdminCommand::Org(OrgCommand::Add {
            id,
            name,
            kind,
            code,
            area,
            link_worker_service,
            directory_services,
        }) => {
            let registration = OrganisationRegistered {
                organisation_id: input::organisation_id("--id", &id)?,
                name: input::required("--name", ORGANISATION_NAME, &name)?,
                kind,
                code: input::text("--code", CODE, code.as_deref())?,
                commissioner_area: input::text("--area", CODE, area.as_deref())?,
                link_worker_service,
                directory_services: input::directory_services(
                    "--directory-service",
                    directory_services.iter().map(String::as_str),
                )?,
            };
            admin.register_organisation(&registration).await?;
            Ok(registration.organisation_id)
        }
        AdminCommand::Rule(RuleCommand::Add {
            to,
            from_org,
            postcode_district,
            priority,
        }) => {
            let to = input::organisation_id("--to", &to)?;
            let criterion = input::criterion(
                from_org.as_deref(),
                postcode_district.as_deref(),
                "--from-org",
            )?;
            let (rule_id, _) = admin.add_rule(&to, &criterion, priority).await?;
            Ok(rule_id.to_string())
        }
        AdminCommand::Rule(RuleCommand::Remove { rule_id }) => {
            admin.remove_rule(rule_id).await?;
            Ok(rule_id.to_string())
        }
        AdminCommand::Token(TokenCommand::Create {
            org,
            role,
            user,
            label,
            expiry,
        }) => {
            let org = input::organisation_id("--org", &org)?;
            let user = input::text("--user", TOKEN_TEXT, user.as_deref())?;
            let label = input::text("--label", TOKEN_TEXT, label.as_deref())?;
            let issued = admin
                .issue_token_expiring(&org, role, user, label, expiry.expiry())
                .await?;
            Ok(format!("{}\n{}", issued.token_id, issued.secret))
        }
        AdminCommand::Token(TokenCommand::Rotate {
            token_id,
            grace,
            expiry,
        }) => {
            let rotated = admin.rotate_token(token_id, expiry.expiry(), grace).await?;
            Ok(tokens::rotated(&rotated))
        }
        AdminCommand::Token(TokenCommand::List { org }) => {
            let registry = admin.registry().await?;
            let last_used = match settings {
                Some(settings) => Some(tokens::last_used(settings).await),
                None => None,
            };
            Ok(tokens::render(
                &registry,
                org.as_deref(),
                last_used.as_ref(),
                time::OffsetDateTime::now_utc(),
            ))
        }
        AdminCommand::Token(TokenCommand::Revoke { token_id }) => {
            admin.revoke_token(token_id).await?;
            Ok(token_id.to_string())
        }
    }
}

/// Issues a token to an organisation whose kind fits the role ([`decide::issue_token`]).
pub async fn create_token(
    store: &EventStore,
    organisation_id: &str,
    role: Role,
    user_id: Option<String>,
    label: Option<String>,
) -> anyhow::Result<IssuedToken> {
    Ok(Admin::cli(store)
        .issue_token(organisation_id, role, user_id, label)
        .await?)
}

/// Issues a token; returns the secret and the event's sequence.
pub async fn issue_token(
    store: &EventStore,
    organisation_id: &str,
    role: Role,
    user_id: Option<String>,
    label: Option<String>,
) -> anyhow::Result<(String, u64)> {
    let issued = create_token(store, organisation_id, role, user_id, label).await?;
    Ok((issued.secret, issued.sequence))
}
