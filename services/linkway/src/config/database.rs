//! Each service's own PostgreSQL role from `LINKWAY_DATABASE_PASSWORDS`.

use anyhow::Context;
use linkway_platform::db::RoleLogin;
use linkway_platform::secret::Secret;

use super::Settings;
use crate::catalogue::ServiceName;

impl Settings {
    /// The own role of `service` (`<prefix>_<service>` with its password from
    /// `LINKWAY_DATABASE_PASSWORDS`), or `None` when it has none and uses the
    /// `LINKWAY_DATABASE_URL` role. A list naming an unknown service, one twice, or an
    /// entry without a password is refused (naming the service, never a password).
    pub fn database_role(&self, service: ServiceName) -> anyhow::Result<Option<RoleLogin>> {
        let mut found = None;
        for entry in self
            .database_passwords
            .iter()
            .filter(|e| !e.expose().trim().is_empty())
        {
            let (name, password) = entry
                .expose()
                .split_once('=')
                .context("LINKWAY_DATABASE_PASSWORDS: each entry is service=password")?;
            let named = ServiceName::ALL
                .into_iter()
                .find(|s| s.name() == name.trim())
                .with_context(|| {
                    format!(
                        "LINKWAY_DATABASE_PASSWORDS: {:?} is not a service; services are \
                         intake, link-worker, reporting",
                        name.trim()
                    )
                })?;
            anyhow::ensure!(
                !password.is_empty(),
                "LINKWAY_DATABASE_PASSWORDS: {} has no password",
                named.name()
            );
            if named != service {
                continue;
            }
            anyhow::ensure!(
                found.is_none(),
                "LINKWAY_DATABASE_PASSWORDS: {} is named twice",
                named.name()
            );
            found = Some(RoleLogin {
                role: self.database_name(service.name()),
                password: Secret::new(password),
            });
        }
        Ok(found)
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

    #[test]
    fn a_service_with_a_password_is_its_own_role_named_like_its_database() {
        let s = with(&["link-worker=pw-lw-1", "intake=pw-in-1"]);
        let role = s.database_role(ServiceName::LinkWorker).unwrap().unwrap();
        assert_eq!(role.role, "linkway_link_worker");
        assert_eq!(role.password, Secret::new("pw-lw-1"));
        assert!(s.database_role(ServiceName::Reporting).unwrap().is_none());
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
}
