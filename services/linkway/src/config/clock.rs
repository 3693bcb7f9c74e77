//! The clock the timers decide by ([`linkway_platform::clock`]).

use std::path::PathBuf;

use clap::Args;
use linkway_platform::clock::{Clock, Timers};

use super::Settings;

/// The clock setting (part of [`Settings`]).
#[derive(Debug, Clone, Args)]
pub struct ClockFile {
    /// For tests and drills only: the timers (community-service reminders and automatic
    /// declines, appointment reminders) take "now" from the RFC 3339 instant in this file,
    /// read at every tick, instead of the system clock. A missing or unreadable file reads
    /// as the system time. Unset: the system clock.
    #[arg(
        long,
        global = true,
        env = "LINKWAY_CLOCK_FILE",
        value_name = "PATH",
        help_heading = "Operations"
    )]
    pub clock_file: Option<PathBuf>,
    /// Seconds between two looks of each timer (community-service reminders and automatic
    /// declines, appointment reminders) for what has fallen due (1-3600).
    #[arg(
        long,
        global = true,
        env = "LINKWAY_TIMER_INTERVAL_SECS",
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..=3600),
        help_heading = "Operations"
    )]
    pub timer_interval_secs: u64,
}

impl Settings {
    /// The clock every service of this process decides its timers by, and how often
    /// they look.
    pub fn timers(&self) -> Timers {
        Timers {
            clock: match &self.clock.clock_file {
                Some(path) => Clock::file(path),
                None => Clock::system(),
            },
            interval: std::time::Duration::from_secs(self.clock.timer_interval_secs),
        }
    }
}
