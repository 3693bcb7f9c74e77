//! The time Linkway's timers decide by.
//!
//! Decisions that depend on how long something has waited (remind a community service
//! after 7 days, decline a connection after 14, send an appointment reminder the day
//! before) take "now" from a [`Clock`], never from `OffsetDateTime::now_utc()` directly,
//! so a test can move time on without waiting for it:
//!
//! - [`Clock::system`]: the machine's clock (what `linkway serve` uses);
//! - [`Clock::manual`]: a clock a test in the same process sets ([`Clock::set`],
//!   [`Clock::advance`]);
//! - [`Clock::file`]: the instant written in a file (RFC 3339), read at every call, so a
//!   test can move the time of several `linkway` processes at once
//!   (`LINKWAY_CLOCK_FILE`, for tests and drills only). A file that is missing or does not
//!   parse reads as the system time: time never runs backwards past the real one by
//!   accident, so nothing falls due early.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// What a service's timers run on: the clock they decide by and how often they look for
/// what has fallen due.
#[derive(Debug, Clone)]
pub struct Timers {
    pub clock: Clock,
    pub interval: std::time::Duration,
}

impl Default for Timers {
    /// The system clock, looked at every minute.
    fn default() -> Self {
        Timers {
            clock: Clock::system(),
            interval: std::time::Duration::from_secs(60),
        }
    }
}

/// Where "now" comes from. Cheap to clone; clones share a manual clock's time.
#[derive(Debug, Clone)]
pub struct Clock(Source);

#[derive(Debug, Clone)]
enum Source {
    System,
    Manual(Arc<Mutex<OffsetDateTime>>),
    File(Arc<PathBuf>),
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl Clock {
    /// The machine's clock.
    pub fn system() -> Clock {
        Clock(Source::System)
    }

    /// A clock standing at `at` until it is set or advanced.
    pub fn manual(at: OffsetDateTime) -> Clock {
        Clock(Source::Manual(Arc::new(Mutex::new(at))))
    }

    /// A clock reading the RFC 3339 instant in `path` at every call.
    pub fn file(path: impl AsRef<Path>) -> Clock {
        Clock(Source::File(Arc::new(path.as_ref().to_path_buf())))
    }

    /// The current instant by this clock.
    pub fn now(&self) -> OffsetDateTime {
        match &self.0 {
            Source::System => OffsetDateTime::now_utc(),
            Source::Manual(at) => *at.lock().unwrap_or_else(|e| e.into_inner()),
            Source::File(path) => read_instant(path).unwrap_or_else(OffsetDateTime::now_utc),
        }
    }

    /// Sets a manual clock to `at`; a no-op on the others (they are not the test's to set).
    pub fn set(&self, at: OffsetDateTime) {
        if let Source::Manual(now) = &self.0 {
            *now.lock().unwrap_or_else(|e| e.into_inner()) = at;
        }
    }

    /// Moves a manual clock on by `by`; a no-op on the others.
    pub fn advance(&self, by: Duration) {
        if let Source::Manual(now) = &self.0 {
            let mut now = now.lock().unwrap_or_else(|e| e.into_inner());
            *now += by;
        }
    }

    /// Writes `at` into the file a [`Clock::file`] reads, for tests driving processes.
    pub fn write_file(path: impl AsRef<Path>, at: OffsetDateTime) -> std::io::Result<()> {
        let text = at
            .format(&Rfc3339)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        // Written beside and renamed over, so a reader never sees half an instant.
        let path = path.as_ref();
        let partial = path.with_extension("partial");
        std::fs::write(&partial, text)?;
        std::fs::rename(partial, path)
    }
}

fn read_instant(path: &Path) -> Option<OffsetDateTime> {
    let text = std::fs::read_to_string(path).ok()?;
    OffsetDateTime::parse(text.trim(), &Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_manual_clock_stands_still_until_moved_and_its_clones_follow() {
        let clock = Clock::manual(datetime!(2026-01-01 09:00 UTC));
        let clone = clock.clone();
        assert_eq!(clock.now(), datetime!(2026-01-01 09:00 UTC));
        clock.advance(Duration::days(14));
        assert_eq!(clone.now(), datetime!(2026-01-15 09:00 UTC));
        clone.set(datetime!(2026-02-01 00:00 UTC));
        assert_eq!(clock.now(), datetime!(2026-02-01 00:00 UTC));
    }

    #[test]
    fn a_file_clock_reads_the_file_at_every_call_and_falls_back_to_the_system_time() {
        let dir = std::env::temp_dir().join(format!("linkway-clock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("now");
        let clock = Clock::file(&path);
        let before = OffsetDateTime::now_utc();
        let read = clock.now();
        assert!(
            read >= before && read <= OffsetDateTime::now_utc(),
            "no file: system time"
        );
        Clock::write_file(&path, datetime!(2030-05-06 07:08:09 UTC)).unwrap();
        assert_eq!(clock.now(), datetime!(2030-05-06 07:08:09 UTC));
        Clock::write_file(&path, datetime!(2030-05-20 07:08:09 UTC)).unwrap();
        assert_eq!(clock.now(), datetime!(2030-05-20 07:08:09 UTC));
        std::fs::write(&path, "not a time").unwrap();
        assert!(
            clock.now() < datetime!(2030-01-01 00:00 UTC),
            "garbage: system time"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn setting_the_system_clock_changes_nothing() {
        let clock = Clock::system();
        clock.set(datetime!(2000-01-01 00:00 UTC));
        assert!(clock.now() > datetime!(2020-01-01 00:00 UTC));
    }
}
