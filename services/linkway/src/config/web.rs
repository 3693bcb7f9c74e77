//! The pages' settings from `LINKWAY_SESSION_KEY`, `LINKWAY_OIDC_*`, `LINKWAY_PUBLIC_URLS`
//! and `LINKWAY_ASSETS_DIR`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use linkway_platform::secret::Secret;
use linkway_platform::web::{Provider, WebSettings};

use super::Settings;

/// Where `deploy/assets.sh` installs nhsuk-frontend's files.
const DEFAULT_ASSETS: &str = "web/node_modules/nhsuk-frontend/dist/nhsuk";

/// The services whose public URLs the pages know.
const SERVICES: [&str; 3] = ["intake", "link-worker", "reporting"];

impl Settings {
    /// The pages' settings; a provider list that does not parse, or secrets that do not
    /// match it one to one, is refused.
    pub fn web(&self) -> anyhow::Result<Arc<WebSettings>> {
        let session_key = match &self.session_key {
            Some(key) => key.clone(),
            None => Secret::new(linkway_platform::auth::mint_token().secret),
        };
        let providers = providers(&self.oidc_providers, &self.oidc_client_secrets)
            .context("LINKWAY_OIDC_PROVIDERS")?;
        let mut public_urls = Vec::new();
        for entry in self.public_urls.iter().filter(|e| !e.trim().is_empty()) {
            let (service, url) = entry
                .split_once('=')
                .with_context(|| "LINKWAY_PUBLIC_URLS: each entry is service=URL")?;
            let service = SERVICES
                .into_iter()
                .find(|s| *s == service.trim())
                .with_context(
                    || "LINKWAY_PUBLIC_URLS: services are intake, link-worker, reporting",
                )?;
            anyhow::ensure!(
                url.starts_with("http://") || url.starts_with("https://"),
                "LINKWAY_PUBLIC_URLS: {service}'s URL must start with http:// or https://"
            );
            public_urls.push((service, url.trim().trim_end_matches('/').to_owned()));
        }
        for (service, port) in [
            ("intake", self.intake_port),
            ("link-worker", self.link_worker_port),
            ("reporting", self.reporting_port),
        ] {
            if port != 0 && !public_urls.iter().any(|(s, _)| *s == service) {
                public_urls.push((service, format!("http://{}:{port}", self.bind)));
            }
        }
        let assets = self
            .assets_dir
            .clone()
            .or_else(|| Some(PathBuf::from(DEFAULT_ASSETS)).filter(|p| p.is_dir()));
        Ok(Arc::new(WebSettings {
            session_key,
            public_urls,
            providers,
            assets,
            demo_users: Vec::new(),
        }))
    }
}

/// `name|issuer|client id` entries with their secrets, in order.
fn providers(entries: &[String], secrets: &[Secret]) -> anyhow::Result<Vec<Provider>> {
    let entries: Vec<&String> = entries.iter().filter(|e| !e.trim().is_empty()).collect();
    anyhow::ensure!(
        entries.len() == secrets.len(),
        "{} providers but {} client secrets (LINKWAY_OIDC_CLIENT_SECRETS): one each, in order",
        entries.len(),
        secrets.len()
    );
    entries
        .iter()
        .zip(secrets)
        .enumerate()
        .map(|(i, (entry, secret))| {
            let parts: Vec<&str> = entry.split('|').map(str::trim).collect();
            let [name, issuer, client_id] = parts[..] else {
                anyhow::bail!("provider {}: write it as name|issuer URL|client id", i + 1);
            };
            anyhow::ensure!(
                issuer.starts_with("https://") || issuer.starts_with("http://"),
                "provider {}: the issuer must be an http(s) URL",
                i + 1
            );
            anyhow::ensure!(
                !name.is_empty() && !client_id.is_empty(),
                "provider {}: a name and a client id are needed",
                i + 1
            );
            Ok(Provider {
                name: name.to_owned(),
                issuer: issuer.to_owned(),
                client_id: client_id.to_owned(),
                client_secret: secret.clone(),
            })
        })
        .collect()
}
