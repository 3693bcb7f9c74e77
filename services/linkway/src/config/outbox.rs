//! Intake's outbox: how updates back to FHIR referrers are delivered.

use std::time::Duration;

use clap::Args;
use linkway_intake::outbox::OutboxSettings;

use super::Settings;

/// The outbox settings (part of [`Settings`]).
#[derive(Debug, Clone, Args)]
pub struct Outbox {
    /// Seconds intake waits for a referrer's endpoint to answer a message back (1-300).
    #[arg(
        long,
        global = true,
        env = "LINKWAY_OUTBOX_TIMEOUT_SECS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..=300),
        help_heading = "Intake"
    )]
    pub outbox_timeout_secs: u64,
    /// Attempts to deliver a message back to a referrer before it is dead, for an
    /// administrator to retry (1-100).
    #[arg(
        long,
        global = true,
        env = "LINKWAY_OUTBOX_MAX_ATTEMPTS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u32).range(1..=100),
        help_heading = "Intake"
    )]
    pub outbox_max_attempts: u32,
    /// Milliseconds before the first retry of a message back to a referrer; each later
    /// retry waits twice as long (at most an hour), give or take half at random (1-3600000).
    #[arg(
        long,
        global = true,
        env = "LINKWAY_OUTBOX_BACKOFF_MS",
        default_value_t = 5000,
        value_parser = clap::value_parser!(u64).range(1..=3_600_000),
        help_heading = "Intake"
    )]
    pub outbox_backoff_ms: u64,
}

impl Settings {
    /// How intake delivers messages back to referrers.
    pub fn outbox(&self) -> OutboxSettings {
        OutboxSettings {
            timeout: Duration::from_secs(self.outbox.outbox_timeout_secs),
            max_attempts: self.outbox.outbox_max_attempts,
            backoff: Duration::from_millis(self.outbox.outbox_backoff_ms),
        }
    }
}
