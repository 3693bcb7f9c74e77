//! What the pages need from configuration: the session key every service shares, where
//! each service is reached, the identity providers people sign in at, and where
//! nhsuk-frontend's files are.

use std::path::PathBuf;

use crate::secret::Secret;

/// An OpenID Connect provider people sign in at (NHS CIS2, Microsoft Entra ID, ...).
#[derive(Debug, Clone)]
pub struct Provider {
    /// Shown on the sign-in page, e.g. "NHS Care Identity Service 2".
    pub name: String,
    /// The issuer URL; discovery is `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
}

/// The issuer demo users are registered under: no provider answers for it, so only the
/// demo's one-click sign-in (which exists only in `linkway demo`) signs them in.
pub const DEMO_ISSUER: &str = "urn:linkway:demo";

/// A demo user: `linkway demo` offers a one-click sign-in as each (never outside the demo),
/// found in the registry by [`DEMO_ISSUER`] and `subject`.
#[derive(Debug, Clone)]
pub struct DemoUser {
    pub subject: String,
    pub label: String,
}

/// The pages' settings, the same for every service of a process.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// Encrypts and authenticates the session cookie (at least 32 bytes); the same on
    /// every service, so one sign-in is valid on all three.
    pub session_key: Secret,
    /// Each service's public base URL (`intake`, `link-worker`, `reporting`), for the
    /// sign-in redirect and the links between services' pages.
    pub public_urls: Vec<(&'static str, String)>,
    pub providers: Vec<Provider>,
    /// nhsuk-frontend's `dist` folder, served at `/assets/`.
    pub assets: Option<PathBuf>,
    /// Demo mode's one-click users (empty outside `linkway demo`).
    pub demo_users: Vec<DemoUser>,
}

impl WebSettings {
    /// The public base URL of `service` (no trailing slash).
    pub fn public_url(&self, service: &str) -> Option<&str> {
        self.public_urls
            .iter()
            .find(|(s, _)| *s == service)
            .map(|(_, u)| u.trim_end_matches('/'))
    }

    /// Whether cookies must be `Secure`: every public URL is https.
    pub fn secure(&self) -> bool {
        !self.public_urls.is_empty()
            && self
                .public_urls
                .iter()
                .all(|(_, u)| u.starts_with("https://"))
    }

    /// Settings for tests and tools: a random key, no providers, no assets.
    pub fn for_tests() -> WebSettings {
        WebSettings {
            session_key: Secret::new(crate::auth::mint_token().secret),
            public_urls: Vec::new(),
            providers: Vec::new(),
            assets: None,
            demo_users: Vec::new(),
        }
    }
}
