//! How each of a process's NATS connections logs in: `LINKWAY_NATS_USERS` and
//! `LINKWAY_NATS_CREDS_FILES` give a connection its own NATS user (one per service, with
//! subject permissions: `deploy/nats/accounts.conf`), `LINKWAY_NATS_CREDS` or the seed URL's
//! user the rest, and `LINKWAY_NATS_*_FILE` the TLS files every connection uses.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use linkway_platform::nats::{Credentials, Login, TlsFiles};
use linkway_platform::secret::Secret;

use super::Settings;
use crate::catalogue::ServiceName;

fn secret(value: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::new(value))
}

/// The NATS login and TLS settings (part of [`Settings`]).
#[derive(Debug, Clone, Args)]
pub struct NatsAccess {
    /// NATS credentials file (`.creds`: a user JWT and its NKey seed) for every connection
    /// without a user of its own; unset: the seed URL's user, if any.
    #[arg(
        long,
        global = true,
        env = "LINKWAY_NATS_CREDS",
        help_heading = "Event log"
    )]
    pub nats_creds: Option<PathBuf>,
    /// Each connection's own NATS user, `connection=user:password` comma-separated;
    /// connections are `intake`, `link-worker`, `reporting` (each service's) and `registry`
    /// (`linkway admin` and the pages' sign-in and admin pages). Unset for one: the
    /// process's login (`LINKWAY_NATS_CREDS` or the seed URL's user).
    #[arg(
        long,
        global = true,
        env = "LINKWAY_NATS_USERS",
        value_parser = secret,
        value_delimiter = ',',
        hide_env_values = true,
        hide_default_value = true,
        help_heading = "Event log"
    )]
    pub nats_users: Vec<Secret>,
    /// Each connection's own `.creds` file, `connection=path` comma-separated (connections
    /// as for `LINKWAY_NATS_USERS`; one connection is named in one of the two at most).
    #[arg(
        long,
        global = true,
        env = "LINKWAY_NATS_CREDS_FILES",
        value_delimiter = ',',
        help_heading = "Event log"
    )]
    pub nats_creds_files: Vec<String>,
    /// CA certificates (PEM) the NATS servers' certificates must chain to; set, every
    /// connection requires TLS.
    #[arg(
        long,
        global = true,
        env = "LINKWAY_NATS_CA_FILE",
        help_heading = "Event log"
    )]
    pub nats_ca_file: Option<PathBuf>,
    /// Client certificate (PEM) for NATS servers that verify clients; needs the key file.
    #[arg(
        long,
        global = true,
        env = "LINKWAY_NATS_CERT_FILE",
        help_heading = "Event log"
    )]
    pub nats_cert_file: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(
        long,
        global = true,
        env = "LINKWAY_NATS_KEY_FILE",
        help_heading = "Event log"
    )]
    pub nats_key_file: Option<PathBuf>,
}

/// One of a process's NATS connections, which may log in as its own NATS user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    /// A service's own: its commands' appends and its projections' reads.
    Service(ServiceName),
    /// The registry's writer: `linkway admin`, and every service's pages (signing in and
    /// out, the admin pages), which append registry events.
    Registry,
}

impl Connection {
    /// The name the settings give it.
    pub fn name(self) -> &'static str {
        match self {
            Connection::Service(service) => service.name(),
            Connection::Registry => "registry",
        }
    }

    const ALL: [Connection; 4] = [
        Connection::Service(ServiceName::Intake),
        Connection::Service(ServiceName::LinkWorker),
        Connection::Service(ServiceName::Reporting),
        Connection::Registry,
    ];

    fn named(name: &str) -> anyhow::Result<Connection> {
        Connection::ALL
            .into_iter()
            .find(|c| c.name() == name.trim())
            .with_context(|| {
                format!(
                    "{:?} is not a connection; connections are intake, link-worker, reporting, registry",
                    name.trim()
                )
            })
    }
}

/// A connection's login as the settings say, and the client name servers show for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsLogin {
    pub credentials: Credentials,
    /// `linkway` for the process's own login, `linkway-<connection>` for a connection's.
    pub client_name: String,
}

impl Settings {
    /// The login of `connection` (`None`: the process's own, for commands that are no
    /// service, e.g. `linkway backup`). A list naming an unknown connection, one named
    /// twice, or an entry that is not `connection=user:password` is refused (naming the
    /// setting and the connection, never a password).
    pub fn nats_login(&self, connection: Option<Connection>) -> anyhow::Result<NatsLogin> {
        let access = &self.nats_access;
        let tls = TlsFiles {
            ca_file: access.nats_ca_file.clone(),
            cert_file: access.nats_cert_file.clone(),
            key_file: access.nats_key_file.clone(),
        };
        let mut own: Vec<(Connection, Login)> = Vec::new();
        for entry in access
            .nats_users
            .iter()
            .filter(|e| !e.expose().trim().is_empty())
        {
            let (name, login) = entry
                .expose()
                .split_once('=')
                .context("LINKWAY_NATS_USERS: each entry is connection=user:password")?;
            let connection = Connection::named(name).context("LINKWAY_NATS_USERS")?;
            let (user, password) = login.split_once(':').with_context(|| {
                format!(
                    "LINKWAY_NATS_USERS: {}'s entry is connection=user:password",
                    connection.name()
                )
            })?;
            anyhow::ensure!(
                !user.trim().is_empty() && !password.is_empty(),
                "LINKWAY_NATS_USERS: {} needs a user and a password",
                connection.name()
            );
            own.push((
                connection,
                Login::User {
                    user: user.trim().to_owned(),
                    password: Secret::new(password),
                },
            ));
        }
        for entry in access
            .nats_creds_files
            .iter()
            .filter(|e| !e.trim().is_empty())
        {
            let (name, path) = entry
                .split_once('=')
                .context("LINKWAY_NATS_CREDS_FILES: each entry is connection=path")?;
            let connection = Connection::named(name).context("LINKWAY_NATS_CREDS_FILES")?;
            own.push((connection, Login::CredsFile(PathBuf::from(path.trim()))));
        }
        for c in Connection::ALL {
            anyhow::ensure!(
                own.iter().filter(|(o, _)| *o == c).count() <= 1,
                "{} has more than one NATS login (LINKWAY_NATS_USERS, LINKWAY_NATS_CREDS_FILES)",
                c.name()
            );
        }
        let found = connection.and_then(|c| own.into_iter().find(|(o, _)| *o == c));
        Ok(match found {
            Some((connection, login)) => NatsLogin {
                credentials: Credentials { login, tls },
                client_name: format!("linkway-{}", connection.name()),
            },
            None => NatsLogin {
                credentials: Credentials {
                    login: match &access.nats_creds {
                        Some(path) => Login::CredsFile(path.clone()),
                        None => Login::FromSeeds,
                    },
                    tls,
                },
                client_name: "linkway".to_owned(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(users: &[&str], files: &[&str]) -> Settings {
        let mut s = Settings::defaults();
        s.nats_access.nats_users = users.iter().map(|u| Secret::new(*u)).collect();
        s.nats_access.nats_creds_files = files.iter().map(|f| (*f).to_owned()).collect();
        s
    }

    #[test]
    fn each_connection_logs_in_as_its_own_user_or_else_as_the_process() {
        let s = with(
            &["intake=intake:pw-intake", "registry=registry:pw-reg"],
            &["reporting=/etc/linkway/reporting.creds"],
        );
        let intake = s
            .nats_login(Some(Connection::Service(ServiceName::Intake)))
            .unwrap();
        assert_eq!(
            intake.credentials.login,
            Login::User {
                user: "intake".into(),
                password: Secret::new("pw-intake")
            }
        );
        assert_eq!(intake.client_name, "linkway-intake");
        let reporting = s
            .nats_login(Some(Connection::Service(ServiceName::Reporting)))
            .unwrap();
        assert_eq!(
            reporting.credentials.login,
            Login::CredsFile("/etc/linkway/reporting.creds".into())
        );
        // No login of its own: the process's (here the seed URL's user).
        let lw = s
            .nats_login(Some(Connection::Service(ServiceName::LinkWorker)))
            .unwrap();
        assert_eq!(lw.credentials.login, Login::FromSeeds);
        assert_eq!(lw, s.nats_login(None).unwrap());
    }

    #[test]
    fn a_wrong_list_is_refused_naming_the_connection_never_the_password() {
        for (users, files, says) in [
            (&["reception=r:secret-1"][..], &[][..], "not a connection"),
            (
                &["intake=secret-2"][..],
                &[][..],
                "connection=user:password",
            ),
            (
                &["intake:secret-3"][..],
                &[][..],
                "connection=user:password",
            ),
            (&["intake=:secret-4"][..], &[][..], "a user and a password"),
            (
                &["intake=a:secret-5"][..],
                &["intake=/x.creds"][..],
                "more than one",
            ),
        ] {
            let err = with(users, files).nats_login(None).unwrap_err();
            let err = format!("{err:#}");
            assert!(err.contains(says), "{users:?}: {err}");
            assert!(!err.contains("secret-"), "{err}");
        }
    }
}
