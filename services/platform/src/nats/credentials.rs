//! How one NATS connection proves who it is and encrypts: a user and password, or a
//! `.creds` file (a user JWT and its NKey seed), and TLS with a CA file and a client
//! certificate. Each of a process's connections may have its own (one NATS user per
//! service, with subject permissions: `deploy/nats/`).

use std::path::{Path, PathBuf};

use anyhow::Context;
use async_nats::ConnectOptions;

use crate::secret::Secret;

/// Who a connection is to NATS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Login {
    /// The first seed URL naming a user (`nats://user:password@host:4222`), or nobody.
    #[default]
    FromSeeds,
    /// A NATS user and its password.
    User { user: String, password: Secret },
    /// A `.creds` file: a user JWT and its NKey seed (decentralised NATS authentication).
    CredsFile(PathBuf),
}

/// TLS files of a connection; none set and `nats://` seeds: no TLS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// CA certificates (PEM) the server's certificate must chain to; set, the connection
    /// requires TLS and trusts only these (not the system's roots).
    pub ca_file: Option<PathBuf>,
    /// The client's certificate (PEM), for servers that verify clients (`verify: true`).
    pub cert_file: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    pub key_file: Option<PathBuf>,
}

/// Everything a connection needs besides the seeds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub login: Login,
    pub tls: TlsFiles,
}

impl Credentials {
    /// A user and password (e.g. a service's own NATS user).
    pub fn user(user: impl Into<String>, password: Secret) -> Credentials {
        Credentials {
            login: Login::User {
                user: user.into(),
                password,
            },
            tls: TlsFiles::default(),
        }
    }

    /// The same login over other TLS files.
    pub fn with_tls(mut self, tls: TlsFiles) -> Credentials {
        self.tls = tls;
        self
    }

    /// Whether TLS is asked for by these files (a `tls://` seed asks for it too).
    pub fn wants_tls(&self) -> bool {
        self.tls.ca_file.is_some() || self.tls.cert_file.is_some()
    }

    /// `options` with this login and TLS; `seed_login` is the user and password of the
    /// first seed naming one, used when the login is [`Login::FromSeeds`]. A file that is
    /// missing is an error naming it (its path, never its contents).
    pub(super) async fn apply(
        &self,
        mut options: ConnectOptions,
        seed_login: Option<(String, String)>,
    ) -> anyhow::Result<ConnectOptions> {
        options = match &self.login {
            Login::FromSeeds => match seed_login {
                Some((user, password)) => options.user_and_password(user, password),
                None => options,
            },
            Login::User { user, password } => {
                options.user_and_password(user.clone(), password.expose().to_owned())
            }
            Login::CredsFile(path) => {
                readable(path, "NATS credentials file")?;
                options
                    .credentials_file(path)
                    .await
                    .with_context(|| format!("NATS credentials file {}", path.display()))?
            }
        };
        let tls = &self.tls;
        if let Some(ca) = &tls.ca_file {
            readable(ca, "NATS CA file")?;
            options = options.add_root_certificates(ca.clone());
        }
        match (&tls.cert_file, &tls.key_file) {
            (Some(cert), Some(key)) => {
                readable(cert, "NATS client certificate")?;
                readable(key, "NATS client key")?;
                options = options.add_client_certificate(cert.clone(), key.clone());
            }
            (None, None) => {}
            (Some(_), None) => anyhow::bail!("a NATS client certificate needs its key file"),
            (None, Some(_)) => anyhow::bail!("a NATS client key needs its certificate file"),
        }
        if self.wants_tls() {
            options = options.require_tls(true);
        }
        Ok(options)
    }
}

/// Fails, naming the file, unless it can be opened.
fn readable(path: &Path, what: &str) -> anyhow::Result<()> {
    std::fs::File::open(path)
        .map(drop)
        .with_context(|| format!("{what} {} cannot be read", path.display()))
}

/// Installs rustls's crypto provider for the process (ring, which async-nats is built
/// with), once, before any TLS connection. The workspace compiles rustls with two providers
/// (async-nats's ring, reqwest's aws-lc-rs); with two, rustls picks neither by itself and a
/// TLS connection to NATS would fail. Safe to call again; reqwest then uses it too.
pub fn install_crypto_provider() {
    // An error means one is installed already (by an earlier call): that one stays.
    let _ = async_nats::rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_missing_file_is_named_and_half_a_client_certificate_is_refused() {
        let missing = Credentials {
            login: Login::CredsFile("/nonexistent/intake.creds".into()),
            tls: TlsFiles::default(),
        };
        let err = missing
            .apply(ConnectOptions::new(), None)
            .await
            .expect_err("no such file");
        assert!(
            format!("{err:#}").contains("/nonexistent/intake.creds"),
            "{err:#}"
        );
        let cert = std::env::temp_dir().join(format!("linkway-{}.pem", uuid::Uuid::now_v7()));
        std::fs::write(&cert, "not used").unwrap();
        let half = Credentials::default().with_tls(TlsFiles {
            cert_file: Some(cert.clone()),
            ..TlsFiles::default()
        });
        let err = half
            .apply(ConnectOptions::new(), None)
            .await
            .expect_err("a certificate without its key");
        assert!(err.to_string().contains("needs its key"), "{err}");
        let _ = std::fs::remove_file(cert);
    }

    #[test]
    fn a_password_never_prints() {
        let c = Credentials::user("intake", Secret::new("hunter2-nats"));
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
