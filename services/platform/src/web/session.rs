//! The session cookie: who is signed in, sealed with AES-256-GCM (the `cookie` crate's
//! private jar) under a key every service derives from `LINKWAY_SESSION_KEY`, so it can
//! be neither read nor forged, and one sign-in is valid on all three services. HttpOnly,
//! SameSite=Lax, `Secure` over TLS, 8 hours at most and 30 minutes idle (renewed on use).
//! What is in it is checked against the registry on every request: a session signed out,
//! or of a user deactivated, is refused whatever its cookie says.

use cookie::{Cookie, CookieJar, Key, SameSite};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha512};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::secret::Secret;

/// The cookie's name.
pub const SESSION_COOKIE: &str = "linkway_session";
/// The cookie holding a sign-in in progress (state, nonce, PKCE verifier).
pub const LOGIN_COOKIE: &str = "linkway_login";

/// Longest a session lasts from sign-in.
pub const ABSOLUTE_LIFETIME: Duration = Duration::hours(8);
/// Longest a session lasts unused.
pub const IDLE_LIFETIME: Duration = Duration::minutes(30);
/// Longest a sign-in at the identity provider may take.
pub const LOGIN_LIFETIME: Duration = Duration::minutes(10);

/// Shortest session key accepted.
pub const MIN_KEY_CHARS: usize = 32;

/// What the session cookie carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub session_id: Uuid,
    pub user_id: Uuid,
    /// Every form's hidden `csrf` field must equal it.
    pub csrf: String,
    #[serde(with = "time::serde::timestamp")]
    pub signed_in_at: OffsetDateTime,
    #[serde(with = "time::serde::timestamp")]
    pub seen_at: OffsetDateTime,
}

impl Session {
    /// A new session for `user_id`, with a fresh id and CSRF token.
    pub fn begin(user_id: Uuid, now: OffsetDateTime) -> Session {
        // Whole seconds: what the cookie keeps.
        let now = now.replace_nanosecond(0).unwrap_or(now);
        Session {
            session_id: Uuid::new_v4(),
            user_id,
            csrf: random_token(),
            signed_in_at: now,
            seen_at: now,
        }
    }

    /// Whether it is still within both lifetimes at `now`.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        now < self.signed_in_at + ABSOLUTE_LIFETIME && now < self.seen_at + IDLE_LIFETIME
    }

    /// Whether its idle time should be renewed (a cookie is re-sent at most once a minute).
    pub fn needs_renewal(&self, now: OffsetDateTime) -> bool {
        now - self.seen_at > Duration::minutes(1)
    }
}

/// A sign-in in progress: what the callback must find again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    /// Index of the provider in the settings.
    pub provider: usize,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// Where to go after signing in (a path on this service).
    pub return_to: String,
    #[serde(with = "time::serde::timestamp")]
    pub started_at: OffsetDateTime,
}

/// Seals and opens the pages' cookies.
#[derive(Clone)]
pub struct Sealer {
    key: Key,
    secure: bool,
}

impl Sealer {
    /// The key derived from the shared secret (SHA-512 of it: 64 bytes for encryption and
    /// signing); `secure` sets the cookies' `Secure` attribute.
    pub fn new(secret: &Secret, secure: bool) -> Sealer {
        let digest = Sha512::digest(secret.expose().as_bytes());
        Sealer {
            key: Key::from(&digest),
            secure,
        }
    }

    /// The `Set-Cookie` value carrying `value` sealed under `name`, valid for `max_age`.
    pub fn seal<T: Serialize>(&self, name: &'static str, value: &T, max_age: Duration) -> String {
        let json = serde_json::to_string(value).expect("a session serialises");
        let mut jar = CookieJar::new();
        jar.private_mut(&self.key)
            .add(self.cookie(name, json, max_age));
        jar.get(name).expect("just added").encoded().to_string()
    }

    /// The `Set-Cookie` value that removes cookie `name`.
    pub fn remove(&self, name: &'static str) -> String {
        self.cookie(name, String::new(), Duration::ZERO)
            .encoded()
            .to_string()
    }

    /// Opens cookie `name` from a request's `Cookie` headers; `None` when it is missing,
    /// forged, altered or sealed under another key.
    pub fn open<T: for<'de> Deserialize<'de>>(
        &self,
        name: &str,
        cookie_headers: impl Iterator<Item = String>,
    ) -> Option<T> {
        let mut jar = CookieJar::new();
        for header in cookie_headers {
            for cookie in Cookie::split_parse_encoded(header).flatten() {
                if cookie.name() == name {
                    jar.add_original(cookie.into_owned());
                }
            }
        }
        let opened = jar.private(&self.key).get(name)?;
        serde_json::from_str(opened.value()).ok()
    }

    fn cookie(&self, name: &'static str, value: String, max_age: Duration) -> Cookie<'static> {
        Cookie::build((name, value))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .max_age(max_age)
            .build()
    }
}

/// 32 random bytes in hex.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether two tokens are equal, in time that does not depend on where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(set_cookie: &str) -> impl Iterator<Item = String> {
        let pair = set_cookie.split(';').next().unwrap().to_owned();
        std::iter::once(pair)
    }

    #[test]
    fn a_sealed_session_opens_only_with_its_key_and_unaltered() {
        let now = OffsetDateTime::now_utc();
        let session = Session::begin(Uuid::new_v4(), now);
        let sealer = Sealer::new(&Secret::new("k".repeat(40)), false);
        let set = sealer.seal(SESSION_COOKIE, &session, ABSOLUTE_LIFETIME);
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Lax"),
            "{set}"
        );
        assert!(!set.contains("Secure"), "{set}");
        assert!(
            !set.contains(&session.csrf),
            "the cookie is encrypted: {set}"
        );
        let opened: Option<Session> = sealer.open(SESSION_COOKIE, headers(&set));
        assert_eq!(opened, Some(session.clone()));

        let other = Sealer::new(&Secret::new("j".repeat(40)), false);
        assert_eq!(other.open::<Session>(SESSION_COOKIE, headers(&set)), None);
        // One character of the sealed value changed.
        let pair = set.split(';').next().unwrap();
        let (name, value) = pair.split_once('=').unwrap();
        let mut altered: Vec<char> = value.chars().collect();
        let i = altered.len() / 2;
        altered[i] = if altered[i] == 'A' { 'B' } else { 'A' };
        let altered = format!("{name}={}", altered.into_iter().collect::<String>());
        assert_eq!(
            sealer.open::<Session>(SESSION_COOKIE, std::iter::once(altered)),
            None
        );
        let secure = Sealer::new(&Secret::new("k".repeat(40)), true);
        assert!(
            secure
                .seal(SESSION_COOKIE, &session, IDLE_LIFETIME)
                .contains("Secure")
        );
    }

    #[test]
    fn a_session_ends_after_its_absolute_or_idle_lifetime() {
        let start = OffsetDateTime::now_utc();
        let mut session = Session::begin(Uuid::new_v4(), start);
        assert!(session.is_live(start + Duration::minutes(29)));
        assert!(!session.is_live(start + Duration::minutes(31)));
        session.seen_at = start + Duration::hours(7) + Duration::minutes(50);
        assert!(session.is_live(start + Duration::hours(7) + Duration::minutes(59)));
        assert!(!session.is_live(start + Duration::hours(8)));
    }

    #[test]
    fn tokens_compare_equal_only_when_identical() {
        let t = random_token();
        assert_eq!(t.len(), 64);
        assert!(same_token(&t, &t.clone()));
        assert!(!same_token(&t, &random_token()));
        assert!(!same_token(&t, &t[..63]));
    }
}
