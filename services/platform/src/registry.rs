//! The registry read model: organisations, routing rules, tokens, users and their sessions,
//! projected by every service into its own database (schema `registry`) from the registry
//! events, so each service authenticates a bearer token or a session cookie on its own.

use linkway_events::Event;
use linkway_events::registry::{RegistryEvent, RoutingCriterion};
use tokio_postgres::Transaction;

use crate::projection::{Projected, Projection, ProjectionError};

pub mod admin;
pub mod routing;
pub mod usage;

/// The registry projection. Registry events are rare, so it writes row by row.
pub struct Registry;

impl Projection for Registry {
    const NAME: &'static str = "registry";
    /// 4: the directory services an organisation answers for (`organisation.registered` v2).
    const VERSION: i32 = 4;
    const TABLES: &'static str = "
        CREATE TABLE IF NOT EXISTS organisations (
            organisation_id     text PRIMARY KEY,
            name                text NOT NULL,
            kind                text NOT NULL,
            code                text,
            commissioner_area   text,
            link_worker_service boolean NOT NULL,
            directory_services  text[] NOT NULL DEFAULT '{}'
        );
        CREATE TABLE IF NOT EXISTS routing_rules (
            rule_id                     uuid PRIMARY KEY,
            link_worker_organisation_id text NOT NULL,
            criterion_kind              text NOT NULL,
            criterion_value             text NOT NULL,
            priority                    integer NOT NULL
        );
        CREATE TABLE IF NOT EXISTS tokens (
            token_id        uuid PRIMARY KEY,
            organisation_id text NOT NULL,
            role            text NOT NULL,
            user_id         text,
            secret_sha256   text NOT NULL UNIQUE,
            label           text,
            revoked         boolean NOT NULL DEFAULT false,
            -- When it stops working (its own expiry, or a rotation's end of overlap,
            -- whichever is sooner); NULL: never.
            expires_at      timestamptz
        );
        CREATE TABLE IF NOT EXISTS users (
            user_id         uuid PRIMARY KEY,
            organisation_id text NOT NULL,
            roles           text[] NOT NULL,
            display_name    text NOT NULL,
            issuer          text NOT NULL,
            subject         text NOT NULL,
            active          boolean NOT NULL DEFAULT true,
            UNIQUE (issuer, subject)
        );
        CREATE TABLE IF NOT EXISTS sessions (
            session_id uuid PRIMARY KEY,
            user_id    uuid NOT NULL,
            started_at timestamptz NOT NULL,
            ended      boolean NOT NULL DEFAULT false
        );";

    fn reads(aggregate_kind: &str) -> bool {
        matches!(
            aggregate_kind,
            "organisation" | "routing_rule" | "token" | "user"
        )
    }

    async fn apply(
        &self,
        tx: &Transaction<'_>,
        batch: &[Projected],
    ) -> Result<(), ProjectionError> {
        for projected in batch {
            let Event::Registry(event) = &projected.event else {
                continue;
            };
            match event {
                RegistryEvent::OrganisationRegistered(o) => {
                    tx.execute(
                        "INSERT INTO organisations VALUES ($1, $2, $3, $4, $5, $6, $7)
                         ON CONFLICT (organisation_id) DO UPDATE SET name = $2, kind = $3,
                           code = $4, commissioner_area = $5, link_worker_service = $6,
                           directory_services = $7",
                        &[
                            &o.organisation_id,
                            &o.name,
                            &o.kind.as_str(),
                            &o.code,
                            &o.commissioner_area,
                            &o.link_worker_service,
                            &o.directory_services,
                        ],
                    )
                    .await?;
                }
                RegistryEvent::RoutingRuleAdded(r) => {
                    let (kind, value) = match &r.criterion {
                        RoutingCriterion::ReferringOrganisation { organisation_id } => {
                            ("referring_organisation", organisation_id.as_str())
                        }
                        RoutingCriterion::PostcodeDistrict { district } => {
                            ("postcode_district", district.as_str())
                        }
                    };
                    tx.execute(
                        "INSERT INTO routing_rules VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                        &[&r.rule_id, &r.link_worker_organisation_id, &kind, &value, &r.priority],
                    )
                    .await?;
                }
                RegistryEvent::RoutingRuleRemoved(r) => {
                    tx.execute(
                        "DELETE FROM routing_rules WHERE rule_id = $1",
                        &[&r.rule_id],
                    )
                    .await?;
                }
                RegistryEvent::TokenIssued(t) => {
                    tx.execute(
                        "INSERT INTO tokens (token_id, organisation_id, role, user_id, secret_sha256, label, expires_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                        &[
                            &t.token_id,
                            &t.organisation_id,
                            &t.role.as_str(),
                            &t.user_id,
                            &t.secret_sha256,
                            &t.label,
                            &t.expires_at,
                        ],
                    )
                    .await?;
                    if let Some(replaced) = &t.replaces {
                        // A rotation: the token it replaces works until the overlap ends,
                        // never longer than it would have anyway.
                        tx.execute(
                            "UPDATE tokens SET expires_at = LEAST(COALESCE(expires_at, $2), $2)
                             WHERE token_id = $1",
                            &[&replaced.token_id, &replaced.stops_at],
                        )
                        .await?;
                    }
                }
                RegistryEvent::TokenRevoked(t) => {
                    tx.execute(
                        "UPDATE tokens SET revoked = true WHERE token_id = $1",
                        &[&t.token_id],
                    )
                    .await?;
                }
                RegistryEvent::UserRegistered(u) => {
                    // A second registration of the same user, or of the same identity
                    // under a new id, replaces the first (the latest registration wins).
                    tx.execute(
                        "DELETE FROM users WHERE issuer = $1 AND subject = $2 AND user_id <> $3",
                        &[&u.issuer, &u.subject, &u.user_id],
                    )
                    .await?;
                    tx.execute(
                        "INSERT INTO users VALUES ($1, $2, $3, $4, $5, $6, true)
                         ON CONFLICT (user_id) DO UPDATE SET organisation_id = $2, roles = $3,
                           display_name = $4, issuer = $5, subject = $6, active = true",
                        &[
                            &u.user_id,
                            &u.organisation_id,
                            &role_names(&u.roles),
                            &u.display_name,
                            &u.issuer,
                            &u.subject,
                        ],
                    )
                    .await?;
                }
                RegistryEvent::UserRolesChanged(u) => {
                    tx.execute(
                        "UPDATE users SET roles = $2 WHERE user_id = $1",
                        &[&u.user_id, &role_names(&u.roles)],
                    )
                    .await?;
                }
                RegistryEvent::UserDeactivated(u) => {
                    tx.execute(
                        "UPDATE users SET active = false WHERE user_id = $1",
                        &[&u.user_id],
                    )
                    .await?;
                    tx.execute(
                        "UPDATE sessions SET ended = true WHERE user_id = $1",
                        &[&u.user_id],
                    )
                    .await?;
                }
                RegistryEvent::UserSignedIn(u) => {
                    tx.execute(
                        "INSERT INTO sessions VALUES ($1, $2, $3, false) ON CONFLICT DO NOTHING",
                        &[&u.session_id, &u.user_id, &projected.envelope.recorded_at],
                    )
                    .await?;
                }
                RegistryEvent::UserSignedOut(u) => {
                    // The sign-out may be read before its sign-in (another process's
                    // append); the row it leaves keeps the session refused either way.
                    tx.execute(
                        "INSERT INTO sessions VALUES ($1, $2, $3, true)
                         ON CONFLICT (session_id) DO UPDATE SET ended = true",
                        &[&u.session_id, &u.user_id, &projected.envelope.recorded_at],
                    )
                    .await?;
                }
            }
        }
        Ok(())
    }
}

fn role_names(roles: &[linkway_events::Role]) -> Vec<&'static str> {
    roles.iter().map(|r| r.as_str()).collect()
}

/// An organisation as the registry knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    pub organisation_id: String,
    pub name: String,
    pub kind: String,
    pub code: Option<String>,
    pub commissioner_area: Option<String>,
    pub link_worker_service: bool,
    /// The directory services whose onward referrals it answers (a community service).
    pub directory_services: Vec<String>,
}

/// Looks an organisation up in this service's copy of the registry.
pub async fn organisation(
    client: &tokio_postgres::Client,
    organisation_id: &str,
) -> Result<Option<Organisation>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT organisation_id, name, kind, code, commissioner_area, link_worker_service,
                    directory_services
             FROM registry.organisations WHERE organisation_id = $1",
            &[&organisation_id],
        )
        .await?;
    Ok(row.map(|r| Organisation {
        organisation_id: r.get(0),
        name: r.get(1),
        kind: r.get(2),
        code: r.get(3),
        commissioner_area: r.get(4),
        link_worker_service: r.get(5),
        directory_services: r.get(6),
    }))
}
