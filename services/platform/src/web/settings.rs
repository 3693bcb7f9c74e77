//! What the pages need from configuration: the session key every service shares, where
//! each service is reached, the identity providers people sign in at, and where
//! nhsuk-frontend's files are.

use std::net::SocketAddr;
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

    /// These settings with each of `bound` (a service and the address its listener got)
    /// that has no public URL reached at that address, `http://<address>`: a service on
    /// port 0 without `LINKWAY_PUBLIC_URLS` can then send a browser to its sign-in
    /// callback. An unspecified address (`0.0.0.0`, `::`) is said as loopback, where a
    /// browser on this machine reaches it.
    pub fn with_bound(&self, bound: &[(&'static str, SocketAddr)]) -> WebSettings {
        let mut settings = self.clone();
        for (service, addr) in bound {
            if settings.public_url(service).is_none() {
                let mut addr = *addr;
                if addr.ip().is_unspecified() {
                    addr.set_ip(match addr {
                        SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                        SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
                    });
                }
                settings
                    .public_urls
                    .push((service, format!("http://{addr}")));
            }
        }
        settings
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bound_service_without_a_public_url_is_reached_where_it_listens() {
        let mut settings = WebSettings::for_tests();
        settings.public_urls = vec![("intake", "https://intake.example".into())];
        let bound = [
            ("intake", "127.0.0.1:4001".parse().unwrap()),
            ("link-worker", "127.0.0.1:43117".parse().unwrap()),
            ("reporting", "0.0.0.0:43118".parse().unwrap()),
        ];
        let settings = settings.with_bound(&bound);
        assert_eq!(
            settings.public_url("intake"),
            Some("https://intake.example")
        );
        assert_eq!(
            settings.public_url("link-worker"),
            Some("http://127.0.0.1:43117")
        );
        assert_eq!(
            settings.public_url("reporting"),
            Some("http://127.0.0.1:43118")
        );
        let v6 = WebSettings::for_tests().with_bound(&[("intake", "[::]:43119".parse().unwrap())]);
        assert_eq!(v6.public_url("intake"), Some("http://[::1]:43119"));
        assert!(!settings.secure(), "a plain http address is not secure");
    }
}
