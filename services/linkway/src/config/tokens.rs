//! The tokens' settings: lifetime and rotation overlap (`LINKWAY_TOKEN_*`) and the rate
//! limits per token and per address (`LINKWAY_RATE_LIMIT_*`).

use std::fmt;
use std::sync::Arc;

use linkway_platform::rate_limit::{self, Rate, RateLimiter, RateLimits};
use linkway_platform::registry::admin::TokenLifetimes;

use super::Settings;

/// A rate limit setting: a rate, or none (`off`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(pub Option<Rate>);

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(rate) => rate.fmt(f),
            None => f.write_str("off"),
        }
    }
}

/// Reads `<count>/<second|minute|hour>` or `off`.
pub(super) fn limit(value: &str) -> Result<Limit, String> {
    rate_limit::parse_limit(value).map(Limit)
}

impl Settings {
    /// How long tokens live and overlap their successors (installed once per process by
    /// `serve` and `admin`, so the CLI and the pages issue alike).
    pub fn token_lifetimes(&self) -> TokenLifetimes {
        TokenLifetimes {
            lifetime: time::Duration::days(i64::from(self.token_lifetime_days)),
            rotation_grace: time::Duration::seconds(
                i64::try_from(self.token_rotation_grace_secs).unwrap_or(i64::MAX),
            ),
        }
    }

    /// The rate limits, per token and per client address.
    pub fn rate_limits(&self) -> RateLimits {
        RateLimits {
            per_token: self.rate_limit_per_token.0,
            per_address: self.rate_limit_per_address.0,
        }
    }

    /// The process's rate limiter, shared by every service it runs.
    pub fn rate_limiter(&self) -> Arc<RateLimiter> {
        Arc::new(RateLimiter::new(self.rate_limits()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_expire_tokens_and_limit_requests() {
        let s = Settings::defaults();
        assert_eq!(s.token_lifetimes(), TokenLifetimes::default());
        assert_eq!(s.rate_limits(), RateLimits::default());
        assert_eq!(s.rate_limit_per_token.to_string(), "60000/minute");
        assert_eq!(limit("off").unwrap().to_string(), "off");
        assert!(limit("3/fortnight").is_err());
    }
}
