//! `Debug` of [`Settings`]: every field as a derive would show it, except that a NATS
//! seed URL is shown without the user and password it may carry (every other secret is a
//! [`linkway_platform::secret::Secret`], which shows as `[redacted]` by itself). A field
//! not named here is not shown at all (`..`), so a new setting never prints by accident.

use std::fmt;

use super::Settings;

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seeds: Vec<String> = self
            .nats_url
            .iter()
            .map(|seed| linkway_platform::nats::without_userinfo(seed))
            .collect();
        let mut s = f.debug_struct("Settings");
        s.field("config", &self.config).field("nats_url", &seeds);
        macro_rules! fields {
            ($($name:ident),* $(,)?) => { $( s.field(stringify!($name), &self.$name); )* };
        }
        fields!(
            stream,
            subject_prefix,
            duplicate_window_secs,
            replicas,
            write_event_versions,
            nats_access,
            database_url,
            database_prefix,
            database_passwords,
            database_tls,
            batch_size,
            batch_delay_ms,
            ready_max_lag_events,
            ready_max_lag_secs,
            bind,
            intake_port,
            link_worker_port,
            reporting_port,
            shutdown_grace_secs,
            session_key,
            oidc_providers,
            oidc_client_secrets,
            public_urls,
            assets_dir,
            pseudonym_key,
            disclosure_threshold,
            disclosure_rounding,
            disclosure_min_candidates,
            swemwbs_meaningful_change,
            max_contact_attempts,
            connection_answer_days,
            connection_reminder_days,
            token_lifetime_days,
            token_rotation_grace_secs,
            rate_limit_per_token,
            rate_limit_per_address,
            self_referral_limit_per_address,
            log,
            otlp_endpoint,
        );
        s.finish_non_exhaustive()
    }
}
