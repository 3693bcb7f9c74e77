//! The notification outbox: messages to the person about their appointments (a
//! confirmation when booked or moved, a cancellation notice, a reminder before it starts),
//! sent through a GOV.UK Notify-shaped [`notify::NotificationSender`].
//!
//! - [`projection`]: the `notifications` projection (reads `case` and `person`) inserts one
//!   row per notification into `notifications` in its batch's transaction (bookkeeping,
//!   `ON CONFLICT DO NOTHING` on the causing event and the kind, so a rebuild keeps what
//!   was sent); a move cancels the pending reminder of the old time and adds one for the
//!   new, a cancellation cancels it, `person.erased` erases every pending one.
//! - [`sender`]: every `ctx.timers.interval`, notifications due by `ctx.timers.clock` are
//!   claimed `FOR UPDATE SKIP LOCKED` (several processes share the work, each sends once),
//!   the person's contact details are read from the case at that moment (never stored in
//!   the outbox), their preferred contact method decides email or text (a letter or phone
//!   preference, or no address for the method chosen, is `not_sent` with the rule's name),
//!   every attempt is logged in `notification_attempts` (never the message), failures are
//!   retried with backoff and dead after the last attempt.
//! - [`notify`]: the sender trait and its HTTP implementation posting Notify's JSON.
//! - [`store`]: the SQL; [`admin`]: administrators' list (`/admin/notifications/view`).

pub mod admin;
pub mod notify;
pub mod projection;
pub mod sender;
pub mod store;

use std::collections::BTreeMap;
use std::time::Duration;

use linkway_platform::secret::Secret;

pub use projection::Notifications;

/// What a notification is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Confirmation,
    Moved,
    Cancellation,
    Reminder,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Confirmation,
        Kind::Moved,
        Kind::Cancellation,
        Kind::Reminder,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Confirmation => "confirmation",
            Kind::Moved => "moved",
            Kind::Cancellation => "cancellation",
            Kind::Reminder => "reminder",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// How a notification goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }
}

/// Notify's template ids by kind and channel (`LINKWAY_NOTIFY_TEMPLATES`:
/// `confirmation_email=<id>,reminder_sms=<id>,...`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Templates(pub BTreeMap<(Kind, Channel), String>);

impl Templates {
    /// Parses `kind_channel=id` pairs separated by commas; each name must be known.
    pub fn parse(s: &str) -> Result<Templates, String> {
        let mut map = BTreeMap::new();
        for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, id) = pair
                .split_once('=')
                .ok_or_else(|| format!("{pair:?} is not name=template_id"))?;
            let (kind, channel) = name
                .trim()
                .rsplit_once('_')
                .and_then(|(k, c)| {
                    let channel = match c {
                        "email" => Channel::Email,
                        "sms" => Channel::Sms,
                        _ => return None,
                    };
                    Some((Kind::parse(k)?, channel))
                })
                .ok_or_else(|| {
                    format!(
                        "{name:?} is not <confirmation|moved|cancellation|reminder>_<email|sms>"
                    )
                })?;
            let id = id.trim();
            if id.is_empty() {
                return Err(format!("{name} has no template id"));
            }
            map.insert((kind, channel), id.to_owned());
        }
        Ok(Templates(map))
    }

    pub fn get(&self, kind: Kind, channel: Channel) -> Option<&str> {
        self.0.get(&(kind, channel)).map(String::as_str)
    }
}

/// How notifications are made and sent (`LINKWAY_NOTIFY_*`,
/// `LINKWAY_APPOINTMENT_REMINDER_HOURS`).
#[derive(Debug, Clone)]
pub struct NotifySettings {
    /// Notify's API (`LINKWAY_NOTIFY_URL`); `None`: nothing is sent (rows wait).
    pub url: Option<String>,
    pub api_key: Option<Secret>,
    pub templates: Templates,
    /// Hours before an appointment its reminder is due.
    pub reminder_hours: i64,
    /// Attempts before a notification is dead.
    pub max_attempts: u32,
    /// The first retry's delay; each later one doubles it (at most an hour).
    pub backoff: Duration,
    /// Longest wait for Notify's answer.
    pub timeout: Duration,
}

impl Default for NotifySettings {
    fn default() -> Self {
        NotifySettings {
            url: None,
            api_key: None,
            templates: Templates::default(),
            reminder_hours: 24,
            max_attempts: 8,
            backoff: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
        }
    }
}

/// Spawns the projection and, when `LINKWAY_NOTIFY_URL` is set, the sender; without it
/// nothing is sent (rows wait) and a warning says so.
pub async fn start(
    ctx: &linkway_platform::ServiceContext,
    settings: &NotifySettings,
) -> anyhow::Result<linkway_platform::Checkpoint> {
    let projection = Notifications {
        reminder_hours: settings.reminder_hours,
    };
    let checkpoint = ctx.spawn_projection(projection).await?;
    match &settings.url {
        Some(url) => {
            let client = notify::HttpNotify::new(url, settings.api_key.clone(), settings.timeout)?;
            sender::spawn(
                ctx.db.clone(),
                ctx.store.clone(),
                std::sync::Arc::new(client),
                settings.clone(),
                ctx.timers.clone(),
                &ctx.shutdown,
            );
        }
        None => tracing::warn!(
            "LINKWAY_NOTIFY_URL is not set: appointment notifications wait in the outbox, unsent"
        ),
    }
    Ok(checkpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_by_kind_and_channel_and_refuse_unknown_names() {
        let t = Templates::parse("confirmation_email=a, reminder_sms = b").expect("parses");
        assert_eq!(t.get(Kind::Confirmation, Channel::Email), Some("a"));
        assert_eq!(t.get(Kind::Reminder, Channel::Sms), Some("b"));
        assert_eq!(t.get(Kind::Reminder, Channel::Email), None);
        assert!(Templates::parse("letter_email=a").is_err());
        assert!(Templates::parse("reminder_fax=a").is_err());
        assert!(Templates::parse("reminder_sms=").is_err());
        assert!(Templates::parse("reminder_sms").is_err());
        assert_eq!(Templates::parse("").expect("empty"), Templates::default());
    }
}
