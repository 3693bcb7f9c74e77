//! The notification sender: a task on the service's `Shutdown` that, every
//! `ctx.timers.interval`, sends every notification due by `ctx.timers.clock`.
//!
//! Each notification is claimed in a transaction (`FOR UPDATE SKIP LOCKED`, so several
//! processes share the work and each notification is sent once), and decided on the case
//! as the log has it at that moment: erased people get nothing (`erased`); an appointment
//! since cancelled, or moved away from the time a reminder was for, gets no reminder
//! (`cancelled`); the person's preferred contact method picks email or text, and a letter
//! or a phone call preferred, or no address for the method chosen, or no template for it,
//! is `not_sent` naming the rule. What is sent carries the person's first name, the
//! appointment's date, time, channel and place: read from the case, never kept in the
//! outbox, never logged. Every attempt is logged (time, status or kind of error,
//! duration); a 4xx other than 429 is dead at once (Notify refuses the request itself),
//! anything else is tried again after `backoff * 2^(attempt - 1)` (at most an hour) and is
//! dead after `max_attempts`.

use std::sync::Arc;
use std::time::Duration;

use linkway_events::referral::{ContactMethod, ReferralPersonal};
use linkway_eventstore::EventStore;
use linkway_platform::Database;
use linkway_platform::clock::Timers;
use linkway_platform::service::Shutdown;
use serde_json::{Value, json};
use time::macros::format_description;

use super::notify::NotificationSender;
use super::store::{self, After, Due};
use super::{Channel, Kind, NotifySettings, Templates};
use crate::case::{AppointmentStatus, Case};

/// Where a notification goes, or the rule that says it may not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    Email(String),
    Sms(String),
}

/// The person's preferred contact method decides (pure): email to their email address,
/// text to their phone; a letter or a phone call preferred is honoured by sending nothing.
pub fn recipient(personal: &ReferralPersonal) -> Result<Recipient, &'static str> {
    let p = &personal.person;
    let given = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    match p.preferred_contact_method {
        ContactMethod::Email => given(&p.email)
            .map(Recipient::Email)
            .ok_or("no_email_address"),
        ContactMethod::Text => given(&p.phone).map(Recipient::Sms).ok_or("no_phone_number"),
        ContactMethod::Letter => Err("letter_preferred"),
        ContactMethod::Phone => Err("phone_call_preferred"),
    }
}

/// The delay before attempt `attempts + 1`, after `attempts` failed ones.
pub fn retry_delay(backoff: Duration, attempts: u32) -> Duration {
    let exponent = attempts.saturating_sub(1).min(20);
    backoff
        .saturating_mul(1u32 << exponent)
        .min(Duration::from_secs(3600))
}

/// Spawns the sender on the service's task set.
pub fn spawn(
    db: Database,
    store: EventStore,
    sender: Arc<dyn NotificationSender>,
    settings: NotifySettings,
    timers: Timers,
    shutdown: &Shutdown,
) {
    let stop = shutdown.clone();
    shutdown.spawn("notification sender", async move {
        let mut stop = std::pin::pin!(stop.wait());
        loop {
            let round = send_due(&db, &store, sender.as_ref(), &settings, &timers);
            tokio::select! {
                _ = &mut stop => return,
                r = round => if let Err(e) = r {
                    tracing::warn!(error = %e, "notifications: a sending round failed");
                },
            }
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(timers.interval) => {}
            }
        }
    });
}

/// Sends every notification due now; how many were decided.
pub async fn send_due(
    db: &Database,
    store: &EventStore,
    sender: &dyn NotificationSender,
    settings: &NotifySettings,
    timers: &Timers,
) -> anyhow::Result<u32> {
    let mut decided = 0;
    loop {
        let now = timers.clock.now();
        let mut client = db.client().await?;
        let tx = client.transaction().await?;
        let Some(due) = store::claim_due(&tx, now).await? else {
            return Ok(decided);
        };
        let case = crate::api::load_case(store, due.referral_id)
            .await
            .map_err(|e| anyhow::anyhow!("the case could not be loaded: {e:?}"))?;
        let (channel, attempt, after) = match decide(&case, &due, &settings.templates) {
            Err(after) => (None, None, after),
            Ok(send) => {
                let (sent, ms) = match &send.to {
                    Recipient::Email(to) => {
                        sender
                            .send_email(&send.template, to, &send.personalisation, &send.reference)
                            .await
                    }
                    Recipient::Sms(to) => {
                        sender
                            .send_sms(&send.template, to, &send.personalisation, &send.reference)
                            .await
                    }
                };
                let attempts = due.attempts.max(0) as u32 + 1;
                match sent {
                    Ok(provider_id) => {
                        let ok = store::Attempt {
                            status_code: Some(201),
                            error_kind: None,
                            duration_ms: ms,
                        };
                        (Some(send.channel), Some(ok), After::Sent { provider_id })
                    }
                    Err(failed) => {
                        let refused = matches!(failed.status_code,
                            Some(s) if (400..500).contains(&s) && s != 429);
                        let after = if refused || attempts >= settings.max_attempts {
                            After::Dead
                        } else {
                            let delay = retry_delay(settings.backoff, attempts);
                            After::RetryAt(now + delay)
                        };
                        (Some(send.channel), Some(failed), after)
                    }
                }
            }
        };
        store::finish(&tx, &due, channel, attempt.as_ref(), &after, now).await?;
        tx.commit().await?;
        decided += 1;
        tracing::info!(
            referral_id = %due.referral_id,
            notification = %due.event_id,
            kind = due.kind.as_str(),
            channel = channel.map(Channel::as_str),
            status = attempt.as_ref().and_then(|a| a.status_code),
            error = attempt.as_ref().and_then(|a| a.error_kind),
            outcome = ?after_name(&after),
            "notifications: decided"
        );
    }
}

fn after_name(after: &After) -> &'static str {
    match after {
        After::Sent { .. } => "sent",
        After::NotSent(rule) => rule,
        After::Cancelled => "cancelled",
        After::Erased => "erased",
        After::RetryAt(_) => "retry",
        After::Dead => "dead",
    }
}

/// One send, as decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Send {
    pub channel: Channel,
    pub to: Recipient,
    pub template: String,
    pub personalisation: Value,
    pub reference: String,
}

/// Whether and how `due` is sent, on the case as it now stands (pure).
pub fn decide(case: &Case, due: &Due, templates: &Templates) -> Result<Send, After> {
    if case.erased {
        return Err(After::Erased);
    }
    let Some(appointment) = case.appointment(due.appointment_id) else {
        return Err(After::Cancelled);
    };
    // The outbox keeps times to the microsecond (PostgreSQL's precision).
    let moved = (appointment.starts_at - due.starts_at).abs() >= time::Duration::microseconds(1);
    let still = appointment.status == AppointmentStatus::Booked && !moved;
    if due.kind == Kind::Reminder && !still {
        return Err(After::Cancelled);
    }
    let Some(personal) = &case.personal else {
        return Err(After::NotSent("no_contact_details"));
    };
    let to = recipient(personal).map_err(After::NotSent)?;
    let channel = match to {
        Recipient::Email(_) => Channel::Email,
        Recipient::Sms(_) => Channel::Sms,
    };
    let template = templates
        .get(due.kind, channel)
        .ok_or(After::NotSent("no_template"))?
        .to_owned();
    let at = appointment.starts_at;
    let date = at.format(format_description!(
        "[weekday] [day padding:none] [month repr:long] [year]"
    ));
    let time = at.format(format_description!("[hour]:[minute] UTC"));
    let code = crate::pages::labels::code(&appointment.channel);
    let how = crate::pages::labels::text(crate::pages::labels::CHANNELS, &code).to_owned();
    let personalisation = json!({
        "first_name": personal.person.given_name,
        "date": date.unwrap_or_default(),
        "time": time.unwrap_or_default(),
        "how": how,
        "place": appointment.place.clone().unwrap_or_default(),
    });
    Ok(Send {
        channel,
        to,
        template,
        personalisation,
        reference: format!("{}-{}", due.event_id, due.kind.as_str()),
    })
}
