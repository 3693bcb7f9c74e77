//! The registry as the log says it is: organisations, routing rules, tokens and users folded from
//! their events (not from any service's read model, which may lag), with the sequences an
//! admin command's append is guarded on.

use std::collections::BTreeMap;

use linkway_events::registry::{
    OrganisationRegistered, RegistryEvent, RoutingRuleAdded, TokenIssued, UserRegistered,
};
use linkway_events::{Envelope, Event};
use linkway_eventstore::{EventStore, RecordedEvent};
use time::OffsetDateTime;
use uuid::Uuid;

/// The aggregate kinds of the registry.
pub const ORGANISATION: &str = "organisation";
pub const ROUTING_RULE: &str = "routing_rule";
pub const TOKEN: &str = "token";
pub const USER: &str = "user";

/// An organisation's latest registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    pub registered: OrganisationRegistered,
    /// Sequence of its last event.
    pub sequence: u64,
}

/// A routing rule and whether it still applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub added: RoutingRuleAdded,
    pub removed: bool,
    pub sequence: u64,
}

/// A token as issued (its digest, never its secret), when it stops working, and whether
/// it was revoked or rotated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub issued: TokenIssued,
    pub created_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    /// When it stops working: its own expiry, or the end of a rotation's overlap,
    /// whichever is sooner (`None`: never).
    pub expires_at: Option<OffsetDateTime>,
    /// The token a rotation issued to succeed it (the first, if several were).
    pub replaced_by: Option<Uuid>,
    /// Sequence of the last event on its own subject (a successor's event is on the
    /// successor's).
    pub sequence: u64,
}

impl Token {
    /// Whether it still authenticates at `now`.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }
}

/// A user as registered, with their roles now and whether they may still sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub registered: UserRegistered,
    pub active: bool,
    /// Sequence of its last registration, role change or deactivation (sign-ins and
    /// sign-outs are appended without expectations and change nothing an admin decides).
    pub sequence: u64,
}

/// Everything the registry's events say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registry {
    pub organisations: BTreeMap<String, Organisation>,
    pub rules: BTreeMap<Uuid, Rule>,
    pub tokens: BTreeMap<Uuid, Token>,
    pub users: BTreeMap<Uuid, User>,
    /// Sequence of the last routing-rule event (0: none yet).
    pub last_rule_sequence: u64,
}

impl Registry {
    /// Folds registry events, in log order, with their sequences.
    pub fn fold<'a>(
        events: impl IntoIterator<Item = (u64, &'a Envelope, &'a RegistryEvent)>,
    ) -> Registry {
        let mut registry = Registry::default();
        for (sequence, envelope, event) in events {
            registry.apply(sequence, envelope, event);
        }
        registry
    }

    fn apply(&mut self, sequence: u64, envelope: &Envelope, event: &RegistryEvent) {
        match event {
            RegistryEvent::OrganisationRegistered(o) => {
                self.organisations.insert(
                    o.organisation_id.clone(),
                    Organisation {
                        registered: o.clone(),
                        sequence,
                    },
                );
            }
            RegistryEvent::RoutingRuleAdded(r) => {
                self.last_rule_sequence = sequence;
                self.rules.entry(r.rule_id).or_insert(Rule {
                    added: r.clone(),
                    removed: false,
                    sequence,
                });
            }
            RegistryEvent::RoutingRuleRemoved(r) => {
                self.last_rule_sequence = sequence;
                if let Some(rule) = self.rules.get_mut(&r.rule_id) {
                    rule.removed = true;
                    rule.sequence = sequence;
                }
            }
            RegistryEvent::TokenIssued(t) => {
                if self.tokens.contains_key(&t.token_id) {
                    return;
                }
                self.tokens.insert(
                    t.token_id,
                    Token {
                        issued: t.clone(),
                        created_at: envelope.recorded_at,
                        revoked_at: None,
                        expires_at: t.expires_at,
                        replaced_by: None,
                        sequence,
                    },
                );
                if let Some(replaced) = &t.replaces
                    && let Some(old) = self.tokens.get_mut(&replaced.token_id)
                {
                    old.replaced_by.get_or_insert(t.token_id);
                    let stops = old
                        .expires_at
                        .map_or(replaced.stops_at, |at| at.min(replaced.stops_at));
                    old.expires_at = Some(stops);
                }
            }
            RegistryEvent::TokenRevoked(t) => {
                if let Some(token) = self.tokens.get_mut(&t.token_id) {
                    token.revoked_at.get_or_insert(envelope.recorded_at);
                    token.sequence = sequence;
                }
            }
            RegistryEvent::UserRegistered(u) => {
                self.users.insert(
                    u.user_id,
                    User {
                        registered: u.clone(),
                        active: true,
                        sequence,
                    },
                );
            }
            RegistryEvent::UserRolesChanged(u) => {
                if let Some(user) = self.users.get_mut(&u.user_id) {
                    user.registered.roles = u.roles.clone();
                    user.sequence = sequence;
                }
            }
            RegistryEvent::UserDeactivated(u) => {
                if let Some(user) = self.users.get_mut(&u.user_id) {
                    user.active = false;
                    user.sequence = sequence;
                }
            }
            RegistryEvent::UserSignedIn(_) | RegistryEvent::UserSignedOut(_) => {}
        }
    }

    /// The rules still in force that send referrals to `organisation_id`.
    pub fn live_rules_to<'a>(&'a self, organisation_id: &'a str) -> impl Iterator<Item = &'a Rule> {
        self.rules
            .values()
            .filter(move |r| !r.removed && r.added.link_worker_organisation_id == organisation_id)
    }

    /// The active user another identity provider account would clash with.
    pub fn user_by_identity(&self, issuer: &str, subject: &str) -> Option<&User> {
        self.users
            .values()
            .find(|u| u.active && u.registered.issuer == issuer && u.registered.subject == subject)
    }

    /// The sequence of an organisation's last event (0: not registered).
    pub fn organisation_sequence(&self, organisation_id: &str) -> u64 {
        self.organisations
            .get(organisation_id)
            .map_or(0, |o| o.sequence)
    }
}

/// Reads every registry event from the log and folds them. An event that does not decode
/// stops the command: an admin decision is never made on part of the registry.
pub async fn load(store: &EventStore) -> anyhow::Result<Registry> {
    let mut recorded: Vec<RecordedEvent> = Vec::new();
    for kind in [ORGANISATION, ROUTING_RULE, TOKEN, USER] {
        recorded.extend(store.load_kind(kind).await?);
    }
    recorded.sort_by_key(|r| r.sequence);
    let mut decoded = Vec::with_capacity(recorded.len());
    for r in &recorded {
        let (envelope, event) = r.decode().map_err(|e| {
            anyhow::anyhow!(
                "registry event at sequence {} cannot be read: {e}",
                r.sequence
            )
        })?;
        let Event::Registry(event) = event else {
            anyhow::bail!("event at sequence {} is not a registry event", r.sequence);
        };
        decoded.push((r.sequence, envelope, event));
    }
    Ok(Registry::fold(decoded.iter().map(|(s, e, r)| (*s, e, r))))
}
