//! Link-worker's directory feed: an Open Referral UK API the directory is synced from.

use std::time::Duration;

use anyhow::Context;
use clap::Args;
use linkway_link_worker::directory::feed::Feed;

use super::Settings;

/// The directory feed settings (part of [`Settings`]).
#[derive(Debug, Clone, Args)]
pub struct DirectoryFeed {
    /// An Open Referral UK API (v3) the link-worker directory is synced from: its root,
    /// under which `GET /services?page=N&per_page=M` lists the services. Unset: the
    /// directory is only imported (`importDirectory`, the upload page).
    #[arg(
        long,
        global = true,
        env = "LINKWAY_DIRECTORY_FEED_URL",
        help_heading = "Directory"
    )]
    pub directory_feed_url: Option<String>,
    /// Services asked for per page of the feed (`per_page`), 1-1000.
    #[arg(
        long,
        global = true,
        env = "LINKWAY_DIRECTORY_FEED_PAGE_SIZE",
        default_value_t = 100,
        value_parser = clap::value_parser!(u32).range(1..=1000),
        help_heading = "Directory"
    )]
    pub directory_feed_page_size: u32,
    /// Seconds between syncs of the feed (one sync at a time across processes); 0: only
    /// on demand (`syncDirectory`, the directory feed page).
    #[arg(
        long,
        global = true,
        env = "LINKWAY_DIRECTORY_SYNC_INTERVAL_SECS",
        default_value_t = 3600,
        help_heading = "Directory"
    )]
    pub directory_sync_interval_secs: u64,
}

impl Settings {
    /// The directory feed, or `None` when no feed URL is set; a URL that is not http(s) is
    /// refused, naming the setting.
    pub fn directory_feed(&self) -> anyhow::Result<Option<Feed>> {
        let settings = &self.directory_feed;
        let Some(url) = settings
            .directory_feed_url
            .as_deref()
            .filter(|u| !u.trim().is_empty())
        else {
            return Ok(None);
        };
        let interval = match settings.directory_sync_interval_secs {
            0 => None,
            secs => Some(Duration::from_secs(secs)),
        };
        Feed::new(url, settings.directory_feed_page_size, interval)
            .map_err(anyhow::Error::msg)
            .context("LINKWAY_DIRECTORY_FEED_URL")
            .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feed_url_makes_a_feed_with_its_schedule_and_a_wrong_one_is_refused() {
        let mut s = Settings::defaults();
        assert_eq!(s.directory_feed().unwrap(), None);
        s.directory_feed.directory_feed_url = Some("https://directory.example/api".into());
        let feed = s.directory_feed().unwrap().unwrap();
        assert_eq!(feed.interval, Some(Duration::from_secs(3600)));
        assert_eq!(feed.page_size, 100);
        s.directory_feed.directory_sync_interval_secs = 0;
        assert_eq!(s.directory_feed().unwrap().unwrap().interval, None);
        s.directory_feed.directory_feed_url = Some("directory.example".into());
        let err = format!("{:#}", s.directory_feed().unwrap_err());
        assert!(err.contains("LINKWAY_DIRECTORY_FEED_URL"), "{err}");
    }
}
