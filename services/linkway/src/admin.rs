//! `linkway admin`: organisations, routing rules and tokens. Each is a registry event on
//! the log; every service projects them into its own registry read model.

use clap::Subcommand;
use linkway_events::registry::{
    OrganisationKind, OrganisationRegistered, RegistryEvent, RoutingCriterion, RoutingRuleAdded,
    RoutingRuleRemoved, TokenIssued, TokenRevoked,
};
use linkway_events::{Actor, Envelope, Event, Role};
use linkway_eventstore::{EventStore, Expected, PendingEvent};
use time::OffsetDateTime;
use uuid::Uuid;

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
        /// gp_practice | pcn | council | housing_association | pharmacy | vcse | commissioner | other
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
    /// Issues a token and prints it alone on stdout (it is shown only once).
    Create {
        #[arg(long)]
        org: String,
        /// referrer | link_worker | service_manager | commissioner | admin
        #[arg(long, value_parser = parse_role)]
        role: Role,
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        label: Option<String>,
    },
    /// Revokes a token by id.
    Revoke { token_id: Uuid },
}

fn parse_kind(s: &str) -> Result<OrganisationKind, String> {
    OrganisationKind::parse(s).ok_or_else(|| {
        let all: Vec<&str> = OrganisationKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown organisation kind {s:?}; one of {}", all.join(", "))
    })
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s)
        .filter(|r| *r != Role::System)
        .ok_or_else(|| format!("unknown role {s:?}; one of referrer, link_worker, service_manager, commissioner, admin"))
}

fn valid_id(id: &str) -> anyhow::Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    anyhow::ensure!(
        ok,
        "organisation id {id:?}: use 1-64 letters, digits, '-' or '_'"
    );
    Ok(())
}

/// Carries out an admin command; returns what to print on stdout.
pub async fn run(store: &EventStore, command: AdminCommand) -> anyhow::Result<String> {
    match command {
        AdminCommand::Org(OrgCommand::Add {
            id,
            name,
            kind,
            code,
            area,
            link_worker_service,
        }) => {
            valid_id(&id)?;
            anyhow::ensure!(!name.trim().is_empty(), "--name must not be empty");
            let event = RegistryEvent::OrganisationRegistered(OrganisationRegistered {
                organisation_id: id.clone(),
                name,
                kind,
                code,
                commissioner_area: area,
                link_worker_service,
            });
            append(store, &id, event).await?;
            Ok(id)
        }
        AdminCommand::Rule(RuleCommand::Add {
            to,
            from_org,
            postcode_district,
            priority,
        }) => {
            valid_id(&to)?;
            let criterion = match (from_org, postcode_district) {
                (Some(org), None) => {
                    valid_id(&org)?;
                    RoutingCriterion::ReferringOrganisation {
                        organisation_id: org,
                    }
                }
                (None, Some(district)) => RoutingCriterion::PostcodeDistrict {
                    district: district.trim().to_ascii_uppercase(),
                },
                _ => anyhow::bail!("give exactly one of --from-org or --postcode-district"),
            };
            let rule_id = Uuid::now_v7();
            let event = RegistryEvent::RoutingRuleAdded(RoutingRuleAdded {
                rule_id,
                link_worker_organisation_id: to,
                criterion,
                priority,
            });
            append(store, &rule_id.to_string(), event).await?;
            Ok(rule_id.to_string())
        }
        AdminCommand::Rule(RuleCommand::Remove { rule_id }) => {
            append(
                store,
                &rule_id.to_string(),
                RegistryEvent::RoutingRuleRemoved(RoutingRuleRemoved { rule_id }),
            )
            .await?;
            Ok(rule_id.to_string())
        }
        AdminCommand::Token(TokenCommand::Create {
            org,
            role,
            user,
            label,
        }) => {
            valid_id(&org)?;
            let (secret, _) = issue_token(store, &org, role, user, label).await?;
            Ok(secret)
        }
        AdminCommand::Token(TokenCommand::Revoke { token_id }) => {
            append(
                store,
                &token_id.to_string(),
                RegistryEvent::TokenRevoked(TokenRevoked { token_id }),
            )
            .await?;
            Ok(token_id.to_string())
        }
    }
}

/// Issues a token; returns the secret and the event's sequence.
pub async fn issue_token(
    store: &EventStore,
    organisation_id: &str,
    role: Role,
    user_id: Option<String>,
    label: Option<String>,
) -> anyhow::Result<(String, u64)> {
    let token = linkway_platform::auth::mint_token();
    let event = RegistryEvent::TokenIssued(TokenIssued {
        token_id: token.token_id,
        organisation_id: organisation_id.to_owned(),
        role,
        user_id,
        secret_sha256: token.secret_sha256,
        label,
    });
    let seq = append(store, &token.token_id.to_string(), event).await?;
    Ok((token.secret, seq))
}

/// Appends one registry event; returns its sequence.
pub async fn append(
    store: &EventStore,
    aggregate_id: &str,
    event: RegistryEvent,
) -> anyhow::Result<u64> {
    let event: Event = event.into();
    let envelope = Envelope::new(
        aggregate_id,
        &event,
        Actor {
            organisation_id: "linkway".into(),
            user_id: Some("admin-cli".into()),
            role: Role::Admin,
        },
        Uuid::now_v7(),
        OffsetDateTime::now_utc(),
    );
    let appended = store
        .append(
            event.aggregate_kind(),
            aggregate_id,
            Expected::Any,
            vec![PendingEvent::new(envelope)],
        )
        .await?;
    Ok(appended.last_sequence())
}
