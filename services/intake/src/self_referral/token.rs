//! The self-referral form token: proof that a form was fetched from Linkway a little while
//! ago, without a session or a third-party service. A token is `<issued>.<mac>`: the issue
//! time in Unix seconds and an HMAC-SHA256 of it under a key derived from the session key
//! (`LINKWAY_SESSION_KEY`, as the session cookie's is: SHA-512 of the secret, here keyed
//! again under this token's own label, so the two keys never coincide). A post is refused
//! when its token is missing, forged or altered, younger than [`MIN_AGE`] (no person fills
//! the form in that fast) or older than [`MAX_AGE`]. Pure: the time is a parameter.

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use linkway_platform::secret::Secret;
use sha2::{Digest, Sha256, Sha512};
use time::OffsetDateTime;

/// A post sooner than this after its form was fetched is a machine's.
pub const MIN_AGE: Duration = Duration::from_secs(3);
/// A form fetched longer ago than this is fetched again.
pub const MAX_AGE: Duration = Duration::from_secs(3600);

/// What sets this key apart from the session cookie's, derived from the same secret.
const LABEL: &[u8] = b"linkway self-referral form token v1";

/// Why a token was refused: the rule a [`linkway_platform::FieldError`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No token was sent.
    Missing,
    /// Not a token this deployment issued (or one altered).
    Forged,
    /// Sent sooner than [`MIN_AGE`] after it was issued (or dated in the future).
    TooFast,
    /// Issued more than [`MAX_AGE`] ago.
    Expired,
}

impl Refused {
    pub fn rule(self) -> &'static str {
        match self {
            Refused::Missing => "required",
            Refused::Forged => "form_token_invalid",
            Refused::TooFast => "form_token_too_new",
            Refused::Expired => "form_token_expired",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Refused::Missing => "is required: fetch a form token first",
            Refused::Forged => "is not a valid form token: fetch a new one",
            Refused::TooFast => "was sent too soon after the form was fetched: send it again",
            Refused::Expired => "is more than an hour old: fetch a new one",
        }
    }
}

/// Issues and checks form tokens under one deployment's key.
#[derive(Clone)]
pub struct FormTokens {
    key: [u8; 32],
}

impl std::fmt::Debug for FormTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FormTokens(..)")
    }
}

type HmacSha256 = Hmac<Sha256>;

impl FormTokens {
    /// The key derived from the session secret.
    pub fn new(session_key: &Secret) -> FormTokens {
        let root = Sha512::digest(session_key.expose().as_bytes());
        let mut mac =
            <HmacSha256 as KeyInit>::new_from_slice(&root).expect("HMAC takes any key length");
        mac.update(LABEL);
        FormTokens {
            key: mac.finalize().into_bytes().into(),
        }
    }

    fn mac(&self, issued: i64) -> String {
        let mut mac =
            <HmacSha256 as KeyInit>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(issued.to_string().as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// A token issued at `now`.
    pub fn issue(&self, now: OffsetDateTime) -> String {
        let issued = now.unix_timestamp();
        format!("{issued}.{}", self.mac(issued))
    }

    /// Whether `token` may be posted at `now`.
    pub fn check(&self, token: Option<&str>, now: OffsetDateTime) -> Result<(), Refused> {
        let token = token.map(str::trim).filter(|t| !t.is_empty());
        let token = token.ok_or(Refused::Missing)?;
        let (issued, mac) = token.split_once('.').ok_or(Refused::Forged)?;
        let issued: i64 = issued.parse().map_err(|_| Refused::Forged)?;
        if !linkway_platform::web::session::same_token(mac, &self.mac(issued)) {
            return Err(Refused::Forged);
        }
        let age = now.unix_timestamp() - issued;
        if age < MIN_AGE.as_secs() as i64 {
            Err(Refused::TooFast)
        } else if age > MAX_AGE.as_secs() as i64 {
            Err(Refused::Expired)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-12-01 10:00 UTC);

    fn tokens(secret: &str) -> FormTokens {
        FormTokens::new(&Secret::new(secret))
    }

    #[test]
    fn a_token_is_accepted_between_its_minimum_and_maximum_age() {
        let t = tokens("a session key of at least thirty-two bytes");
        let token = t.issue(T0);
        let at = |secs: i64| T0 + time::Duration::seconds(secs);
        assert_eq!(t.check(Some(&token), at(0)), Err(Refused::TooFast));
        assert_eq!(t.check(Some(&token), at(2)), Err(Refused::TooFast));
        assert_eq!(t.check(Some(&token), at(-60)), Err(Refused::TooFast));
        assert_eq!(t.check(Some(&token), at(3)), Ok(()));
        assert_eq!(t.check(Some(&token), at(3600)), Ok(()));
        assert_eq!(t.check(Some(&token), at(3601)), Err(Refused::Expired));
    }

    #[test]
    fn a_missing_forged_or_altered_token_is_refused() {
        let t = tokens("a session key of at least thirty-two bytes");
        let later = T0 + time::Duration::seconds(10);
        assert_eq!(t.check(None, later), Err(Refused::Missing));
        assert_eq!(t.check(Some("  "), later), Err(Refused::Missing));
        assert_eq!(t.check(Some("nonsense"), later), Err(Refused::Forged));
        let token = t.issue(T0);
        let (_, mac) = token.split_once('.').unwrap();
        // Claiming an earlier issue time breaks the MAC.
        let earlier = format!("{}.{mac}", T0.unix_timestamp() - 100);
        assert_eq!(t.check(Some(&earlier), later), Err(Refused::Forged));
        // Another deployment's key.
        let other = tokens("another deployment's session key, also long");
        assert_eq!(other.check(Some(&token), later), Err(Refused::Forged));
    }
}
