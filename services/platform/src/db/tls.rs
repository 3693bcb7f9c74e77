//! TLS to PostgreSQL, on rustls with its ring provider (the TLS stack async-nats and
//! reqwest already bring; no OpenSSL).
//!
//! With a CA file every connection requires TLS and verifies the server as libpq's
//! `sslmode=verify-full` does: its certificate must chain to the CA and name the host
//! connected to (a DNS name or an IP address in its subject alternative names). A service's
//! role may also present a client certificate (its own file and key), which a server whose
//! `pg_hba.conf` says `hostssl ... cert` takes as the login: its common name must be the
//! role's name.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::DbError;
use crate::secret::Secret;

/// A client certificate (PEM) and its private key (PEM) a role logs in with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

/// The PostgreSQL server: its URL (with the migration role's login) and, when set, the CA
/// its certificate must chain to, which makes every connection TLS, verified.
#[derive(Debug, Clone)]
pub struct Server {
    pub url: Secret,
    pub ca_file: Option<PathBuf>,
}

impl Server {
    /// The server of `url`, reached without TLS.
    pub fn plain(url: Secret) -> Server {
        Server { url, ca_file: None }
    }

    /// The URL's settings, TLS required when there is a CA.
    pub fn config(&self) -> Result<tokio_postgres::Config, DbError> {
        let mut config =
            tokio_postgres::Config::from_str(self.url.expose()).map_err(DbError::BadUrl)?;
        if self.ca_file.is_some() {
            config.ssl_mode(SslMode::Require);
        }
        Ok(config)
    }

    /// A client by `config` (this server's [`Server::config`], changed as the caller needs:
    /// another database, a timeout) as the URL's role, its connection driven in the
    /// background until the client is dropped.
    pub async fn connect(
        &self,
        config: &tokio_postgres::Config,
    ) -> Result<(tokio_postgres::Client, tokio::task::JoinHandle<()>), DbError> {
        let tls = self.connector(None)?;
        let database = config.get_dbname().unwrap_or("postgres").to_owned();
        super::connect_to(config, &tls, &database).await
    }

    /// How a connection as a role presenting `certificate` (or none) makes its TLS.
    pub(crate) fn connector(
        &self,
        certificate: Option<&ClientCertificate>,
    ) -> Result<Connector, DbError> {
        let Some(ca_file) = &self.ca_file else {
            return match certificate {
                None => Ok(Connector::Plain),
                Some(_) => Err(DbError::Tls(
                    "a client certificate needs the server's CA (LINKWAY_DATABASE_CA_FILE): \
                     it is only sent over a verified connection"
                        .into(),
                )),
            };
        };
        Ok(Connector::Tls(MakeRustlsConnect::new(client_config(
            ca_file,
            certificate,
        )?)))
    }
}

/// The TLS of one connection: none, or rustls verifying the server.
#[derive(Clone)]
pub(crate) enum Connector {
    Plain,
    Tls(MakeRustlsConnect),
}

/// A rustls client trusting only `ca_file`'s certificates, presenting `certificate`.
fn client_config(
    ca_file: &Path,
    certificate: Option<&ClientCertificate>,
) -> Result<rustls::ClientConfig, DbError> {
    let mut roots = rustls::RootCertStore::empty();
    let cas = certificates(ca_file, "the database CA file")?;
    let (_, ignored) = roots.add_parsable_certificates(cas);
    if roots.is_empty() || ignored > 0 {
        return Err(DbError::Tls(format!(
            "the database CA file {} holds a certificate that is not a CA's",
            ca_file.display()
        )));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| DbError::Tls(format!("rustls: {e}")))?
        .with_root_certificates(roots);
    let config = match certificate {
        None => builder.with_no_client_auth(),
        Some(c) => {
            let chain = certificates(&c.cert_file, "the database client certificate")?;
            let key = PrivateKeyDer::from_pem_file(&c.key_file).map_err(|e| {
                DbError::Tls(format!(
                    "the database client key {} cannot be read: {e}",
                    c.key_file.display()
                ))
            })?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                DbError::Tls(format!(
                    "the database client certificate {} does not go with its key {}: {e}",
                    c.cert_file.display(),
                    c.key_file.display()
                ))
            })?
        }
    };
    Ok(config)
}

/// Every certificate of a PEM file, refusing a file with none (naming the file, `what`).
fn certificates(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, DbError> {
    let unreadable =
        |e: &dyn std::fmt::Display| DbError::Tls(format!("{what} {} {e}", path.display()));
    let found = CertificateDer::pem_file_iter(path)
        .map_err(|e| unreadable(&format_args!("cannot be read: {e}")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| unreadable(&format_args!("is not PEM: {e}")))?;
    if found.is_empty() {
        return Err(unreadable(&"holds no certificate"));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(ca: Option<&str>) -> Server {
        Server {
            url: Secret::new("postgres://migrator:pw@db.example:5432/postgres"),
            ca_file: ca.map(PathBuf::from),
        }
    }

    #[test]
    fn a_ca_makes_tls_required_and_none_leaves_the_url_as_it_is() {
        let plain = server(None).config().unwrap();
        assert_eq!(plain.get_ssl_mode(), SslMode::Prefer);
        assert!(matches!(server(None).connector(None), Ok(Connector::Plain)));
        let tls = server(Some("/nowhere/ca.pem")).config().unwrap();
        assert_eq!(tls.get_ssl_mode(), SslMode::Require);
    }

    #[test]
    fn a_missing_file_is_named_and_a_certificate_without_a_ca_is_refused() {
        let certificate = ClientCertificate {
            cert_file: "/nowhere/intake.pem".into(),
            key_file: "/nowhere/intake.key".into(),
        };
        let err = server(None)
            .connector(Some(&certificate))
            .err()
            .expect("refused")
            .to_string();
        assert!(err.contains("LINKWAY_DATABASE_CA_FILE"), "{err}");
        let err = server(Some("/nowhere/ca.pem"))
            .connector(None)
            .err()
            .expect("refused")
            .to_string();
        assert!(err.contains("/nowhere/ca.pem"), "{err}");
        let ca = std::env::temp_dir().join(format!("linkway-db-{}.pem", uuid::Uuid::now_v7()));
        std::fs::write(&ca, "not a certificate\n").unwrap();
        let err = server(ca.to_str())
            .connector(None)
            .err()
            .expect("refused")
            .to_string();
        std::fs::remove_file(&ca).unwrap();
        assert!(err.contains("holds no certificate"), "{err}");
    }
}
