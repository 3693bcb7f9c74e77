//! Each service's own PostgreSQL role from `LINKWAY_DATABASE_PASSWORDS` and
//! `LINKWAY_DATABASE_CERT_FILES` / `LINKWAY_DATABASE_KEY_FILES`, and TLS to the server
//! from `LINKWAY_DATABASE_CA_FILE`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use linkway_platform::db::{ClientCertificate, RoleLogin, Server};
use linkway_platform::secret::Secret;

use super::Settings;
use crate::catalogue::ServiceName;

/// TLS to PostgreSQL and the services' client certificates (part of [`Settings`]).
#[derive(Debug, Clone, Default, Args)]
pub struct DatabaseTls {
    /// CA certificates (PEM) the PostgreSQL server's certificate must chain to; set, every
    /// connection requires TLS and checks that the certificate names the host connected
    /// to (libpq's `sslmode=verify-full`).
    #[arg(
        long,
        global = true,
        env = "LINKWAY_DATABASE_CA_FILE",
        help_heading = "Databases"
    )]
    pub database_ca_file: Option<PathBuf>,
    /// Each service's client certificate (PEM), `service=path` comma-separated: the service
    /// presents it as its role `<prefix>_<service>` (its common name), for a server whose
    /// `pg_hba.conf` logs that role in by `cert`; needs the CA file and the service's key.
    /// A service with a certificate and no password has a role without a password.
    #[arg(
        long,
        global = true,
        env = "LINKWAY_DATABASE_CERT_FILES",
        value_delimiter = ',',
        help_heading = "Databases"
    )]
    pub database_cert_files: Vec<String>,
    /// Each service's client certificate's private key (PEM), `service=path` comma-separated.
    #[arg(
        long,
        global = true,
        env = "LINKWAY_DATABASE_KEY_FILES",
        value_delimiter = ',',
        help_heading = "Databases"
    )]
    pub database_key_files: Vec<String>,
}

/// The entry of `service` in a `service=value` list named `setting` (`what` is its value's
/// name), after checking the whole list: an unknown service, one named twice or an entry
/// without a value is refused, naming the setting and the service, never the value.
fn entry_of<'a>(
    entries: impl Iterator<Item = &'a str>,
    setting: &str,
    what: &str,
    service: ServiceName,
) -> anyhow::Result<Option<&'a str>> {
    let mut found = None;
    let mut seen = Vec::new();
    for entry in entries.filter(|e| !e.trim().is_empty()) {
        let (name, value) = entry
            .split_once('=')
            .with_context(|| format!("{setting}: each entry is service={what}"))?;
        let named = ServiceName::ALL
            .into_iter()
            .find(|s| s.name() == name.trim())
            .with_context(|| {
                format!(
                    "{setting}: {:?} is not a service; services are intake, link-worker, \
                     reporting",
                    name.trim()
                )
            })?;
        anyhow::ensure!(
            !value.trim().is_empty(),
            "{setting}: {} has no {what}",
            named.name()
        );
        anyhow::ensure!(
            !seen.contains(&named),
            "{setting}: {} is named twice",
            named.name()
        );
        seen.push(named);
        if named == service {
            found = Some(value);
        }
    }
    Ok(found)
}

impl Settings {
    /// The PostgreSQL server: `LINKWAY_DATABASE_URL`, over TLS verified against
    /// `LINKWAY_DATABASE_CA_FILE` when that is set.
    pub fn database_server(&self) -> Server {
        Server {
            url: self.database_url.clone(),
            ca_file: self.database_tls.database_ca_file.clone(),
        }
    }

    /// The own role of `service` (`<prefix>_<service>`, with its password from
    /// `LINKWAY_DATABASE_PASSWORDS`, its client certificate from
    /// `LINKWAY_DATABASE_CERT_FILES` and `_KEY_FILES`, or both), or `None` when it has
    /// neither and uses the `LINKWAY_DATABASE_URL` role. A wrong list, a certificate
    /// without its key (or a key without its certificate) and a certificate without
    /// `LINKWAY_DATABASE_CA_FILE` are refused, naming the setting and the service, never a
    /// password.
    pub fn database_role(&self, service: ServiceName) -> anyhow::Result<Option<RoleLogin>> {
        let password = entry_of(
            self.database_passwords.iter().map(Secret::expose),
            "LINKWAY_DATABASE_PASSWORDS",
            "password",
            service,
        )?;
        let tls = &self.database_tls;
        let cert = entry_of(
            tls.database_cert_files.iter().map(String::as_str),
            "LINKWAY_DATABASE_CERT_FILES",
            "path",
            service,
        )?;
        let key = entry_of(
            tls.database_key_files.iter().map(String::as_str),
            "LINKWAY_DATABASE_KEY_FILES",
            "path",
            service,
        )?;
        let certificate = match (cert, key) {
            (None, None) => None,
            (Some(cert), Some(key)) => {
                anyhow::ensure!(
                    tls.database_ca_file.is_some(),
                    "LINKWAY_DATABASE_CERT_FILES: {}'s certificate needs \
                     LINKWAY_DATABASE_CA_FILE (a certificate is only sent to a verified server)",
                    service.name()
                );
                Some(ClientCertificate {
                    cert_file: PathBuf::from(cert.trim()),
                    key_file: PathBuf::from(key.trim()),
                })
            }
            (Some(_), None) => anyhow::bail!(
                "LINKWAY_DATABASE_KEY_FILES: {}'s certificate has no key",
                service.name()
            ),
            (None, Some(_)) => anyhow::bail!(
                "LINKWAY_DATABASE_CERT_FILES: {} has a key but no certificate",
                service.name()
            ),
        };
        if password.is_none() && certificate.is_none() {
            return Ok(None);
        }
        Ok(Some(RoleLogin {
            role: self.database_name(service.name()),
            password: password.map(Secret::new),
            certificate,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(entries: &[&str]) -> Settings {
        Settings {
            database_passwords: entries.iter().map(|e| Secret::new(*e)).collect(),
            ..Settings::defaults()
        }
    }

    fn with_files(ca: bool, certs: &[&str], keys: &[&str]) -> Settings {
        let mut s = Settings::defaults();
        s.database_tls = DatabaseTls {
            database_ca_file: ca.then(|| PathBuf::from("/etc/linkway/db/ca.pem")),
            database_cert_files: certs.iter().map(|c| (*c).to_owned()).collect(),
            database_key_files: keys.iter().map(|k| (*k).to_owned()).collect(),
        };
        s
    }

    #[test]
    fn a_service_with_a_password_is_its_own_role_named_like_its_database() {
        let s = with(&["link-worker=pw-lw-1", "intake=pw-in-1"]);
        let role = s.database_role(ServiceName::LinkWorker).unwrap().unwrap();
        assert_eq!(role.role, "linkway_link_worker");
        assert_eq!(role.password, Some(Secret::new("pw-lw-1")));
        assert_eq!(role.certificate, None);
        assert!(s.database_role(ServiceName::Reporting).unwrap().is_none());
        assert!(s.database_server().ca_file.is_none());
    }

    #[test]
    fn a_service_with_a_certificate_is_its_own_role_without_a_password() {
        let s = with_files(
            true,
            &["intake=/etc/linkway/db/intake.pem"],
            &[" intake = /etc/linkway/db/intake.key"],
        );
        let role = s.database_role(ServiceName::Intake).unwrap().unwrap();
        assert_eq!(role.role, "linkway_intake");
        assert_eq!(role.password, None);
        assert_eq!(
            role.certificate,
            Some(ClientCertificate {
                cert_file: "/etc/linkway/db/intake.pem".into(),
                key_file: "/etc/linkway/db/intake.key".into(),
            })
        );
        assert!(s.database_role(ServiceName::Reporting).unwrap().is_none());
        assert_eq!(
            s.database_server().ca_file,
            Some(PathBuf::from("/etc/linkway/db/ca.pem"))
        );
    }

    #[test]
    fn a_wrong_list_is_refused_without_showing_a_password() {
        for (entries, says) in [
            (&["billing=secret-1"][..], "not a service"),
            (&["intake"][..], "service=password"),
            (&["intake="][..], "no password"),
            (&["intake=secret-2", "intake=secret-3"][..], "twice"),
        ] {
            let err = format!(
                "{:#}",
                with(entries)
                    .database_role(ServiceName::Intake)
                    .unwrap_err()
            );
            assert!(err.contains(says), "{entries:?}: {err}");
            assert!(!err.contains("secret-"), "{err}");
        }
    }

    #[test]
    fn half_a_certificate_or_one_without_the_ca_is_refused() {
        for (ca, certs, keys, says) in [
            (true, &["intake=/a.pem"][..], &[][..], "has no key"),
            (true, &[][..], &["intake=/a.key"][..], "no certificate"),
            (
                false,
                &["intake=/a.pem"][..],
                &["intake=/a.key"][..],
                "CA_FILE",
            ),
            (
                true,
                &["intake=/a.pem", "intake=/b.pem"][..],
                &[][..],
                "twice",
            ),
            (true, &["till=/a.pem"][..], &[][..], "not a service"),
        ] {
            let err = format!(
                "{:#}",
                with_files(ca, certs, keys)
                    .database_role(ServiceName::Intake)
                    .unwrap_err()
            );
            assert!(err.contains(says), "{certs:?} {keys:?}: {err}");
        }
    }
}
