//! The token commands: issue (with an expiry: the process's default lifetime unless the
//! command names one), rotate (a successor, and an overlap after which the old token stops
//! working) and revoke. Each is a registry event through [`Admin`]'s decide-and-append,
//! from `linkway admin token` and from the admin pages alike. A secret is minted here,
//! handed back once and never stored: the event carries its SHA-256 only.
//!
//! A rotation is one event, the successor's `token.issued` with `replaces` (the old token
//! and when it stops), so there is no moment when the successor exists and the old token's
//! end is not said. It is appended on the successor's own subject; two rotations of one
//! token at once are caught after the append (as [`Admin::add_rule`] catches its target
//! changing): the one later in the log revokes its successor and is refused.

use std::sync::OnceLock;

use linkway_events::registry::{RegistryEvent, Replaced, TokenIssued, TokenRevoked};
use linkway_events::{Event, Role};
use linkway_eventstore::Expected;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::commands::{Admin, AdminError, Plan};
use super::decide::{self, Refusal};

/// How long a token works, and how long a rotated token overlaps its successor, unless
/// a command says otherwise (`LINKWAY_TOKEN_LIFETIME_DAYS`,
/// `LINKWAY_TOKEN_ROTATION_GRACE_SECS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenLifetimes {
    /// From issue to expiry.
    pub lifetime: Duration,
    /// From a rotation to the old token's end (zero: it stops at once).
    pub rotation_grace: Duration,
}

impl Default for TokenLifetimes {
    /// 90 days; a day's overlap.
    fn default() -> TokenLifetimes {
        TokenLifetimes {
            lifetime: Duration::days(90),
            rotation_grace: Duration::days(1),
        }
    }
}

static INSTALLED: OnceLock<TokenLifetimes> = OnceLock::new();

impl TokenLifetimes {
    /// Sets this process's lifetimes, once, at start (`linkway serve`, `linkway admin`),
    /// so the CLI and the admin pages issue alike. The same again is accepted; others are
    /// refused.
    pub fn install(self) -> anyhow::Result<()> {
        let installed = INSTALLED.get_or_init(|| self);
        anyhow::ensure!(
            *installed == self,
            "the token lifetimes are set already, to {installed:?}"
        );
        Ok(())
    }

    /// This process's lifetimes: as installed, or the defaults.
    pub fn installed() -> TokenLifetimes {
        INSTALLED.get().copied().unwrap_or_default()
    }
}

/// When a token being issued expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// The process's lifetime from now ([`TokenLifetimes`]).
    Default,
    /// This long from now.
    In(Duration),
    /// At this time (which must be in the future).
    At(OffsetDateTime),
}

impl Expiry {
    /// The time it names, issued at `now`.
    pub fn at(self, now: OffsetDateTime, lifetimes: TokenLifetimes) -> OffsetDateTime {
        match self {
            Expiry::Default => to_the_second(now + lifetimes.lifetime),
            Expiry::In(after) => to_the_second(now + after),
            Expiry::At(at) => at,
        }
    }
}

/// `at` without its fraction of a second: expiries are said to the second.
fn to_the_second(at: OffsetDateTime) -> OffsetDateTime {
    at.replace_nanosecond(0).unwrap_or(at)
}

/// A token just issued: its id (public), its secret (shown once, never stored) and when
/// it expires.
pub struct IssuedToken {
    pub token_id: Uuid,
    pub secret: String,
    pub expires_at: OffsetDateTime,
    /// Sequence of its `token.issued` event.
    pub sequence: u64,
}

/// A rotation: the successor, and the token it replaced with when that one stops.
pub struct RotatedToken {
    pub successor: IssuedToken,
    pub replaced: Uuid,
    pub replaced_stops_at: OffsetDateTime,
}

/// The version of `token.issued` this process writes, and the newest (which says expiry).
fn written_version(issued: &TokenIssued) -> (u32, u32) {
    let newest = Event::from(RegistryEvent::TokenIssued(issued.clone())).version();
    let written = linkway_events::write_versions::installed().version_of("token.issued", newest);
    (written, newest)
}

/// When a token rotated at `now` with `grace` stops: after the overlap, never later than
/// it would have anyway.
pub fn stops_at(
    own_expiry: Option<OffsetDateTime>,
    now: OffsetDateTime,
    grace: Duration,
) -> OffsetDateTime {
    let end = to_the_second(now + grace.max(Duration::ZERO));
    own_expiry.map_or(end, |at| at.min(end))
}

impl Admin<'_> {
    /// Issues a token to an organisation whose kind fits the role ([`decide::issue_token`]),
    /// expiring after the process's default lifetime.
    pub async fn issue_token(
        &self,
        organisation_id: &str,
        role: Role,
        user_id: Option<String>,
        label: Option<String>,
    ) -> Result<IssuedToken, AdminError> {
        self.issue_token_expiring(organisation_id, role, user_id, label, Expiry::Default)
            .await
    }

    /// Issues a token that expires as `expiry` says.
    pub async fn issue_token_expiring(
        &self,
        organisation_id: &str,
        role: Role,
        user_id: Option<String>,
        label: Option<String>,
        expiry: Expiry,
    ) -> Result<IssuedToken, AdminError> {
        let now = OffsetDateTime::now_utc();
        let expires_at = expiry.at(now, TokenLifetimes::installed());
        let token = crate::auth::mint_token();
        let issued = TokenIssued {
            token_id: token.token_id,
            organisation_id: organisation_id.to_owned(),
            role,
            user_id,
            secret_sha256: token.secret_sha256,
            label,
            expires_at: Some(expires_at),
            replaces: None,
        };
        let (written, newest) = written_version(&issued);
        let decided = self
            .decide_and_append(|registry| {
                decide::expiry_writable(written, newest)?;
                decide::expiry(expires_at, now)?;
                decide::issue_token(registry, organisation_id, role)?;
                Ok(Plan {
                    aggregate_id: token.token_id.to_string(),
                    event: RegistryEvent::TokenIssued(issued.clone()),
                    expected: Expected::NoEvents,
                })
            })
            .await?;
        Ok(IssuedToken {
            token_id: token.token_id,
            secret: token.secret,
            expires_at,
            sequence: decided.appended,
        })
    }

    /// Rotates a live token: issues a successor for the same organisation, role, user and
    /// label (expiring as `expiry` says), and the old token stops working after `grace`
    /// (the process's rotation grace when `None`; never later than its own expiry).
    pub async fn rotate_token(
        &self,
        token_id: Uuid,
        expiry: Expiry,
        grace: Option<Duration>,
    ) -> Result<RotatedToken, AdminError> {
        let now = OffsetDateTime::now_utc();
        let lifetimes = TokenLifetimes::installed();
        let expires_at = expiry.at(now, lifetimes);
        let grace = grace.unwrap_or(lifetimes.rotation_grace);
        let token = crate::auth::mint_token();
        let successor = token.token_id;
        let decided = self
            .decide_and_append(|registry| {
                let old = decide::rotate_token(registry, token_id, now)?;
                decide::expiry(expires_at, now)?;
                let issued = TokenIssued {
                    token_id: successor,
                    expires_at: Some(expires_at),
                    replaces: Some(Replaced {
                        token_id,
                        stops_at: stops_at(old.expires_at, now, grace),
                    }),
                    secret_sha256: token.secret_sha256.clone(),
                    ..old.issued.clone()
                };
                let (written, newest) = written_version(&issued);
                decide::expiry_writable(written, newest)?;
                Ok(Plan {
                    aggregate_id: successor.to_string(),
                    event: RegistryEvent::TokenIssued(issued),
                    expected: Expected::NoEvents,
                })
            })
            .await?;
        // Another rotation of the same token reached the log first: ours is undone.
        let after = self.registry().await?;
        let first = after.tokens.get(&token_id).and_then(|t| t.replaced_by);
        if let Some(other) = first.filter(|s| *s != successor) {
            let revoked = RegistryEvent::TokenRevoked(TokenRevoked {
                token_id: successor,
            });
            self.append_one(&successor.to_string(), revoked, Expected::Any)
                .await?;
            return Err(Refusal::AlreadyRotated {
                token: token_id,
                successor: other,
            }
            .into());
        }
        let replaced_stops_at = after
            .tokens
            .get(&token_id)
            .and_then(|t| t.expires_at)
            .unwrap_or(now);
        Ok(RotatedToken {
            successor: IssuedToken {
                token_id: successor,
                secret: token.secret,
                expires_at,
                sequence: decided.appended,
            },
            replaced: token_id,
            replaced_stops_at,
        })
    }

    /// Revokes a token (expired or not); the sequence of its event.
    pub async fn revoke_token(&self, token_id: Uuid) -> Result<u64, AdminError> {
        self.decide_and_append(|registry| {
            let token = decide::revoke_token(registry, token_id)?;
            Ok(Plan {
                aggregate_id: token_id.to_string(),
                event: RegistryEvent::TokenRevoked(TokenRevoked { token_id }),
                expected: Expected::LastSequence(token.sequence),
            })
        })
        .await
        .map(|d| d.appended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overlap_never_outlives_the_old_tokens_own_expiry() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let hour = Duration::hours(1);
        assert_eq!(stops_at(None, now, hour), now + hour);
        assert_eq!(
            stops_at(Some(now + Duration::minutes(5)), now, hour),
            now + Duration::minutes(5)
        );
        assert_eq!(
            stops_at(Some(now + Duration::days(9)), now, hour),
            now + hour
        );
        assert_eq!(stops_at(None, now, -hour), now, "a negative grace is none");
    }

    #[test]
    fn expiries_are_said_to_the_second() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
            + Duration::milliseconds(750);
        let lifetimes = TokenLifetimes::default();
        let at = Expiry::Default.at(now, lifetimes);
        assert_eq!(
            (at.nanosecond(), at.unix_timestamp()),
            (0, 1_800_000_000 + 90 * 86_400)
        );
        assert_eq!(
            Expiry::In(Duration::hours(1))
                .at(now, lifetimes)
                .nanosecond(),
            0
        );
    }
}
