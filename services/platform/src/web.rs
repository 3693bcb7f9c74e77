//! Pages: what every service's pages share, each mechanism once.
//!
//! - [`settings`]: the shared session key, the services' public URLs, the identity
//!   providers, nhsuk-frontend's files, demo users.
//! - [`session`]: the sealed session cookie (AES-256-GCM, HttpOnly, SameSite=Lax, Secure
//!   over TLS, 8 h absolute and 30 min idle).
//! - [`signed_in`]: [`SignedIn`], the extractor every page takes (a session checked
//!   against the registry, or a redirect to sign in), and the [`Principal`] a page acts as.
//! - [`form`]: [`PageForm`], the one form reader, which refuses a post without the
//!   session's CSRF token before its handler runs.
//! - [`oidc`]: OpenID Connect sign-in (code flow, PKCE, nonce).
//! - [`sign_in`]: the routes every service serves: `/sign-in`, `/auth/login`,
//!   `/auth/callback`, `/sign-out`, `/signed-out`, demo sign-in, and `/assets/`.
//! - [`page`]: the NHS design system layout and components (maud).
//! - [`admin`]: the administrator's pages under `/admin` on every service.
//!
//! Signing in and out are events (`user.signed_in`, `user.signed_out`) appended through
//! the platform's one command path, so every service's registry knows a session ended.
//!
//! [`Principal`]: crate::auth::Principal

pub mod admin;
pub mod assets;
pub mod form;
pub mod oidc;
pub mod page;
pub mod session;
pub mod settings;
pub mod sign_in;
pub mod signed_in;

use std::sync::Arc;

use linkway_eventstore::EventStore;

pub use form::PageForm;
pub use page::{FieldError, NavItem, Page};
pub use settings::{DemoUser, Provider, WebSettings};
pub use signed_in::{PageRejection, SignedIn};

use crate::Database;
use crate::projection::Checkpoint;

/// What a service's pages need at request time; in every request's extensions.
pub struct Web {
    pub service: &'static str,
    pub settings: Arc<WebSettings>,
    pub sealer: session::Sealer,
    pub db: Database,
    pub store: EventStore,
    /// The service's registry projection: a sign-out waits for it.
    pub registry: Option<Checkpoint>,
    pub providers: Vec<oidc::OidcProvider>,
}

impl Web {
    pub fn new(
        service: &'static str,
        settings: Arc<WebSettings>,
        db: Database,
        store: EventStore,
        registry: Option<Checkpoint>,
    ) -> Web {
        Web {
            service,
            sealer: session::Sealer::new(&settings.session_key, settings.secure()),
            providers: settings
                .providers
                .iter()
                .cloned()
                .map(oidc::OidcProvider::new)
                .collect(),
            settings,
            db,
            store,
            registry,
        }
    }

    /// This service's public base URL (its own address when none is configured).
    pub fn public_url(&self) -> String {
        self.settings
            .public_url(self.service)
            .map_or_else(String::new, str::to_owned)
    }
}
