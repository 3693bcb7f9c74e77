//! Link-worker's appointment notifications: GOV.UK Notify (or a service shaped like it),
//! the templates, when reminders fall due, and how sending is retried.

use std::time::Duration;

use anyhow::Context;
use clap::Args;
use linkway_link_worker::notifications::{NotifySettings, Templates};
use linkway_platform::secret::Secret;

use super::Settings;

/// The notification settings (part of [`Settings`]).
#[derive(Debug, Clone, Args)]
pub struct Notify {
    /// GOV.UK Notify's API root (or a service shaped like it), to which appointment
    /// confirmations, reminders and cancellations are posted (`/v2/notifications/email`,
    /// `/v2/notifications/sms`). Unset: nothing is sent; notifications wait in the outbox.
    #[arg(
        long,
        global = true,
        env = "LINKWAY_NOTIFY_URL",
        help_heading = "Link-worker"
    )]
    pub notify_url: Option<String>,
    /// The GOV.UK Notify API key, `<key name>-<service id>-<secret key>`: each request is
    /// signed with it as Notify's clients sign theirs (a JWT, HS256); never sent or logged.
    #[arg(
        long,
        global = true,
        env = "LINKWAY_NOTIFY_API_KEY",
        value_parser = super::parse::secret,
        hide_env_values = true,
        help_heading = "Link-worker"
    )]
    pub notify_api_key: Option<Secret>,
    /// Notify's template ids: `kind_channel=id` pairs separated by commas, kind one of
    /// confirmation, moved, cancellation, reminder and channel email or sms (e.g.
    /// `confirmation_email=<uuid>,reminder_sms=<uuid>`). A notification with no template
    /// for its kind and channel is not sent (recorded as `no_template`).
    #[arg(
        long,
        global = true,
        env = "LINKWAY_NOTIFY_TEMPLATES",
        help_heading = "Link-worker"
    )]
    pub notify_templates: Option<String>,
    /// Hours before an appointment its reminder is sent (1-336).
    #[arg(
        long,
        global = true,
        env = "LINKWAY_APPOINTMENT_REMINDER_HOURS",
        default_value_t = 24,
        value_parser = clap::value_parser!(i64).range(1..=336),
        help_heading = "Link-worker"
    )]
    pub appointment_reminder_hours: i64,
    /// Attempts to send a notification before it is dead (1-100).
    #[arg(
        long,
        global = true,
        env = "LINKWAY_NOTIFY_MAX_ATTEMPTS",
        default_value_t = 8,
        value_parser = clap::value_parser!(u32).range(1..=100),
        help_heading = "Link-worker"
    )]
    pub notify_max_attempts: u32,
    /// Milliseconds before the first retry of a notification; each later one waits twice
    /// as long, at most an hour (1-3600000).
    #[arg(
        long,
        global = true,
        env = "LINKWAY_NOTIFY_BACKOFF_MS",
        default_value_t = 30_000,
        value_parser = clap::value_parser!(u64).range(1..=3_600_000),
        help_heading = "Link-worker"
    )]
    pub notify_backoff_ms: u64,
}

impl Settings {
    /// How appointment notifications are made and sent; a URL that is not http(s), or a
    /// template list that does not parse, is refused naming its setting.
    pub fn notify(&self) -> anyhow::Result<NotifySettings> {
        let n = &self.notify;
        let url = n
            .notify_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty());
        if let Some(url) = url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            anyhow::bail!("LINKWAY_NOTIFY_URL must be an http(s) URL");
        }
        let templates = Templates::parse(n.notify_templates.as_deref().unwrap_or_default())
            .map_err(anyhow::Error::msg)
            .context("LINKWAY_NOTIFY_TEMPLATES")?;
        Ok(NotifySettings {
            url: url.map(str::to_owned),
            api_key: n.notify_api_key.clone(),
            templates,
            reminder_hours: n.appointment_reminder_hours,
            max_attempts: n.notify_max_attempts,
            backoff: Duration::from_millis(n.notify_backoff_ms),
            ..NotifySettings::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_settings_default_to_sending_nothing_and_refuse_what_does_not_parse() {
        let mut s = Settings::defaults();
        let n = s.notify().unwrap();
        assert_eq!((n.url, n.reminder_hours, n.max_attempts), (None, 24, 8));
        s.notify.notify_url = Some("notify.example".into());
        let err = format!("{:#}", s.notify().unwrap_err());
        assert!(err.contains("LINKWAY_NOTIFY_URL"), "{err}");
        s.notify.notify_url = Some("https://notify.example".into());
        s.notify.notify_templates = Some("reminder_fax=x".into());
        let err = format!("{:#}", s.notify().unwrap_err());
        assert!(err.contains("LINKWAY_NOTIFY_TEMPLATES"), "{err}");
    }
}
