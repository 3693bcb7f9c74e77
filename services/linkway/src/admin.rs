//! `linkway admin`: organisations, routing rules, tokens and users. Each is a registry event on
//! the log; every service projects them into its own registry read model. Every command
//! decides on the registry as folded from the log ([`registry`]) by the rules of
//! [`decide`], and appends expecting its own aggregate as it read it (a concurrent change
//! there makes it decide again). The one decision that reads another aggregate, a rule
//! routing to a service, is checked again after its append from both sides: a rule added
//! while its target stopped being a service is removed, and a service that stopped
//! while a rule to it was added is registered as a service again, so two admins at once
//! cannot leave a rule that routes to nobody.

pub mod decide;
pub mod registry;
pub mod tokens;
pub mod users;

use clap::Subcommand;
use linkway_events::registry::{
    OrganisationKind, OrganisationRegistered, RegistryEvent, RoutingCriterion, RoutingRuleAdded,
    RoutingRuleRemoved, TokenIssued, TokenRevoked,
};
use linkway_events::{Actor, Envelope, Event, Role};
use linkway_eventstore::{AppendError, EventStore, Expected, PendingEvent};
use linkway_platform::text::Text;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::config::Settings;
use decide::Refusal;
use registry::Registry;

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
    /// Issues a token; prints its id, then the secret alone on the last line (shown
    /// only this once: the log keeps its SHA-256, never the secret).
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
    /// Lists tokens: id, organisation, role, user, label, created, last used, state.
    /// Never a secret.
    List {
        /// Only this organisation's tokens.
        #[arg(long)]
        org: Option<String>,
    },
    /// Revokes a token by the id `token create` and `token list` show.
    Revoke { token_id: Uuid },
}

fn parse_kind(s: &str) -> Result<OrganisationKind, String> {
    OrganisationKind::parse(s).ok_or_else(|| {
        let all: Vec<&str> = OrganisationKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown organisation kind {s:?}; one of {}", all.join(", "))
    })
}

pub(crate) fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s)
        .filter(|r| *r != Role::System)
        .ok_or_else(|| format!("unknown role {s:?}; one of referrer, link_worker, service_manager, commissioner, admin"))
}

pub(crate) fn valid_id(id: &str) -> anyhow::Result<()> {
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

/// Carries out an admin command; returns what to print on stdout. `token list` shows no
/// last-used times from here (see [`run_cli`]).
pub async fn run(store: &EventStore, command: AdminCommand) -> anyhow::Result<String> {
    execute(store, None, command).await
}

/// `linkway admin` itself: connects to the log, and for `token list` reads when each
/// token was last used from every service's database.
pub async fn run_cli(settings: &Settings, command: AdminCommand) -> anyhow::Result<String> {
    let (_, store) = crate::serve::connect_store(settings).await?;
    execute(&store, Some(settings), command).await
}

async fn execute(
    store: &EventStore,
    settings: Option<&Settings>,
    command: AdminCommand,
) -> anyhow::Result<String> {
    match command {
        AdminCommand::User(command) => users::execute(store, command).await,
        AdminCommand::Org(OrgCommand::Add {
            id,
            name,
            kind,
            code,
            area,
            link_worker_service,
        }) => {
            valid_id(&id)?;
            let name = typed("--name", Text::name(200), Some(name))?
                .ok_or_else(|| anyhow::anyhow!("--name must not be empty"))?;
            let registration = OrganisationRegistered {
                organisation_id: id.clone(),
                name,
                kind,
                code: typed("--code", Text::line(64), code)?,
                commissioner_area: typed("--area", Text::line(64), area)?,
                link_worker_service,
            };
            let was = decide_and_append(store, |registry| {
                decide::register_organisation(registry, &registration)?;
                Ok(Plan {
                    aggregate_id: id.clone(),
                    event: RegistryEvent::OrganisationRegistered(registration.clone()),
                    expected: own(registry.organisation_sequence(&id)),
                })
            })
            .await?;
            if !link_worker_service {
                // A rule to it added while this was decided: it stays a service.
                let after = registry::load(store).await?;
                if let Err(refusal) = decide::register_organisation(&after, &registration)
                    && let Some(previous) = was.organisations.get(&id)
                {
                    let restore = previous.registered.clone();
                    append_one(
                        store,
                        &id,
                        RegistryEvent::OrganisationRegistered(restore),
                        Expected::Any,
                    )
                    .await?;
                    return Err(refusal.into());
                }
            }
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
            decide_and_append(store, |registry| {
                decide::add_rule(registry, &to, &criterion)?;
                Ok(Plan {
                    aggregate_id: rule_id.to_string(),
                    event: RegistryEvent::RoutingRuleAdded(RoutingRuleAdded {
                        rule_id,
                        link_worker_organisation_id: to.clone(),
                        criterion: criterion.clone(),
                        priority,
                    }),
                    expected: Expected::NoEvents,
                })
            })
            .await?;
            // Its target stopped being a service while this was decided: no rule after all.
            let after = registry::load(store).await?;
            if let Err(refusal) = decide::add_rule(&after, &to, &criterion) {
                let removed = RegistryEvent::RoutingRuleRemoved(RoutingRuleRemoved { rule_id });
                append_one(store, &rule_id.to_string(), removed, Expected::Any).await?;
                return Err(refusal.into());
            }
            Ok(rule_id.to_string())
        }
        AdminCommand::Rule(RuleCommand::Remove { rule_id }) => {
            decide_and_append(store, |registry| {
                let rule = decide::remove_rule(registry, rule_id)?;
                Ok(Plan {
                    aggregate_id: rule_id.to_string(),
                    event: RegistryEvent::RoutingRuleRemoved(RoutingRuleRemoved { rule_id }),
                    expected: Expected::LastSequence(rule.sequence),
                })
            })
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
            let user = typed("--user", Text::line(100), user)?;
            let label = typed("--label", Text::line(100), label)?;
            let issued = create_token(store, &org, role, user, label).await?;
            Ok(format!("{}\n{}", issued.token_id, issued.secret))
        }
        AdminCommand::Token(TokenCommand::List { org }) => {
            let registry = registry::load(store).await?;
            let last_used = match settings {
                Some(settings) => Some(tokens::last_used(settings).await),
                None => None,
            };
            Ok(tokens::render(
                &registry,
                org.as_deref(),
                last_used.as_ref(),
            ))
        }
        AdminCommand::Token(TokenCommand::Revoke { token_id }) => {
            decide_and_append(store, |registry| {
                let token = decide::revoke_token(registry, token_id)?;
                Ok(Plan {
                    aggregate_id: token_id.to_string(),
                    event: RegistryEvent::TokenRevoked(TokenRevoked { token_id }),
                    expected: Expected::LastSequence(token.sequence),
                })
            })
            .await?;
            Ok(token_id.to_string())
        }
    }
}

/// Text an admin typed, through the one text rule (blank is absent); the refusal names
/// the flag and the rule, never the value.
pub(crate) fn typed(flag: &str, rule: Text, raw: Option<String>) -> anyhow::Result<Option<String>> {
    match raw {
        None => Ok(None),
        Some(raw) => rule
            .clean(&raw)
            .map_err(|e| anyhow::anyhow!("{flag} {e} ({})", e.rule())),
    }
}

/// A token just issued: its id (public) and its secret (shown once, never stored).
pub struct IssuedToken {
    pub token_id: Uuid,
    pub secret: String,
    /// Sequence of its `token.issued` event.
    pub sequence: u64,
}

/// Issues a token to an organisation whose kind fits the role ([`decide::issue_token`]).
pub async fn create_token(
    store: &EventStore,
    organisation_id: &str,
    role: Role,
    user_id: Option<String>,
    label: Option<String>,
) -> anyhow::Result<IssuedToken> {
    let token = linkway_platform::auth::mint_token();
    let token_id = token.token_id.to_string();
    let issued = TokenIssued {
        token_id: token.token_id,
        organisation_id: organisation_id.to_owned(),
        role,
        user_id,
        secret_sha256: token.secret_sha256,
        label,
    };
    let registry = decide_and_append(store, |registry| {
        decide::issue_token(registry, organisation_id, role)?;
        Ok(Plan {
            aggregate_id: token_id.clone(),
            event: RegistryEvent::TokenIssued(issued.clone()),
            expected: Expected::NoEvents,
        })
    })
    .await?;
    Ok(IssuedToken {
        token_id: token.token_id,
        secret: token.secret,
        sequence: registry.appended,
    })
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

/// What a decision appends, and what it expects of its own aggregate.
pub(crate) struct Plan {
    pub(crate) aggregate_id: String,
    pub(crate) event: RegistryEvent,
    pub(crate) expected: Expected,
}

/// The expectation on an aggregate last seen at `sequence` (0: not there yet).
fn own(sequence: u64) -> Expected {
    match sequence {
        0 => Expected::NoEvents,
        n => Expected::LastSequence(n),
    }
}

/// The registry a decision was made on, and the sequence of the event it appended.
pub(crate) struct Decided {
    organisations: std::collections::BTreeMap<String, registry::Organisation>,
    appended: u64,
}

/// Times a command decides again after its aggregate changed under it.
const ATTEMPTS: usize = 5;

/// Loads the registry, decides, appends expecting the aggregate as it was read; on a
/// conflict loads and decides again.
pub(crate) async fn decide_and_append(
    store: &EventStore,
    decide: impl Fn(&Registry) -> Result<Plan, Refusal>,
) -> anyhow::Result<Decided> {
    for _ in 0..ATTEMPTS {
        let registry = registry::load(store).await?;
        let plan = decide(&registry)?;
        match append_one(store, &plan.aggregate_id, plan.event, plan.expected).await {
            Ok(appended) => {
                return Ok(Decided {
                    organisations: registry.organisations,
                    appended,
                });
            }
            Err(AppendError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    anyhow::bail!("the registry kept changing while this command was decided; run it again")
}

/// Appends one registry event by the admin CLI; returns its sequence.
async fn append_one(
    store: &EventStore,
    aggregate_id: &str,
    event: RegistryEvent,
    expected: Expected,
) -> Result<u64, AppendError> {
    let event: Event = event.into();
    let envelope = Envelope::new(
        aggregate_id,
        &event,
        Actor {
            organisation_id: decide::OPERATOR.into(),
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
            expected,
            vec![PendingEvent::new(envelope)],
        )
        .await?;
    Ok(appended.last_sequence())
}
