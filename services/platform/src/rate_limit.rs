//! Rate limits, in the request stack of every service: per token for a request with a
//! live bearer token, per client address for every other request (no token, or one that
//! does not authenticate: unknown, revoked and expired alike, so guessing tokens is
//! limited too). A request over its limit is answered `429` with `Retry-After` and a
//! problem naming the rule (`rate_limit_per_token`, `rate_limit_per_address`), never the
//! token or the address; under a service's [`Dialect`] (intake's FHIR) the edge says it as
//! an OperationOutcome. `/healthz`, `/readyz`, `/metrics`, the sign-in pages and the
//! design system's assets are never limited.
//!
//! Limits are `governor`'s GCRA: `count` requests per `period` is a bucket of `count`
//! that refills one request every `period / count`. They are kept in memory, per process
//! (every service of one `linkway serve` shares them): with several processes behind a
//! load balancer a caller gets each process's limit. The address is the TCP peer's (an
//! IPv6 address counts by its /64, which one machine can easily span).
//!
//! The bearer token is authenticated here, once per request, so its limit is counted
//! before any handler runs; the answer is left for [`crate::auth::Principal`].
//!
//! [`Dialect`]: crate::http::Dialect

use std::fmt;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};
use uuid::Uuid;

use crate::Database;
use crate::auth::{self, Authenticated};
use crate::problem::{FieldError, Problem};

/// `count` requests per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: NonZeroU32,
    pub period: Duration,
}

impl Rate {
    fn quota(self) -> Quota {
        let every = self.period / self.count.get();
        Quota::with_period(every.max(Duration::from_nanos(1)))
            .expect("a period above zero")
            .allow_burst(self.count)
    }
}

const PERIODS: [(&str, u64); 3] = [("second", 1), ("minute", 60), ("hour", 3600)];

impl FromStr for Rate {
    type Err = String;

    /// `<count>/<second|minute|hour>`, e.g. `600/minute`.
    fn from_str(text: &str) -> Result<Rate, String> {
        let wrong = || {
            format!("{text:?}: write it as <count>/<second|minute|hour>, e.g. 600/minute, or off")
        };
        let (count, period) = text.trim().split_once('/').ok_or_else(wrong)?;
        let count: NonZeroU32 = count.trim().parse().map_err(|_| wrong())?;
        let secs = PERIODS
            .iter()
            .find(|(name, _)| *name == period.trim())
            .map(|(_, secs)| *secs)
            .ok_or_else(wrong)?;
        Ok(Rate {
            count,
            period: Duration::from_secs(secs),
        })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = PERIODS
            .iter()
            .find(|(_, secs)| Duration::from_secs(*secs) == self.period)
            .map_or("second", |(name, _)| name);
        write!(f, "{}/{name}", self.count)
    }
}

/// A limit setting: a [`Rate`], or `off`.
pub fn parse_limit(text: &str) -> Result<Option<Rate>, String> {
    if text.trim().eq_ignore_ascii_case("off") {
        Ok(None)
    } else {
        text.parse().map(Some)
    }
}

/// The limits of one process (`LINKWAY_RATE_LIMIT_PER_TOKEN`,
/// `LINKWAY_RATE_LIMIT_PER_ADDRESS`); `None` is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub per_token: Option<Rate>,
    pub per_address: Option<Rate>,
}

impl Default for RateLimits {
    /// 60,000 a minute per token (a runaway integration, not a busy one), 1,200 a minute
    /// per address (a practice's people behind one address, signed in to the pages).
    fn default() -> RateLimits {
        let rate = |count, secs| {
            Some(Rate {
                count: NonZeroU32::new(count).expect("above zero"),
                period: Duration::from_secs(secs),
            })
        };
        RateLimits {
            per_token: rate(60_000, 60),
            per_address: rate(1_200, 60),
        }
    }
}

/// The key of an address's limit: the address, or an IPv6 address's /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct AddressKey(IpAddr);

impl From<IpAddr> for AddressKey {
    fn from(ip: IpAddr) -> AddressKey {
        match ip {
            IpAddr::V4(v4) => AddressKey(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => AddressKey(IpAddr::V4(v4)),
                None => {
                    let bits = u128::from(v6) & !((1u128 << 64) - 1);
                    AddressKey(IpAddr::V6(Ipv6Addr::from(bits)))
                }
            },
        }
    }
}

/// Which limit refused a request: the metric's `reason` and the problem's rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    Token,
    Address,
}

impl Limited {
    pub fn reason(self) -> &'static str {
        match self {
            Limited::Token => "token",
            Limited::Address => "address",
        }
    }
}

/// Buckets kept before the idle ones are dropped.
const KEEP: usize = 10_000;

/// The process's buckets, per token and per address.
pub struct RateLimiter {
    limits: RateLimits,
    per_token: Option<DefaultKeyedRateLimiter<Uuid>>,
    per_address: Option<DefaultKeyedRateLimiter<AddressKey>>,
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("limits", &self.limits)
            .finish()
    }
}

impl Default for RateLimiter {
    fn default() -> RateLimiter {
        RateLimiter::new(RateLimits::default())
    }
}

/// Counts one request of `key`: `Err` with how long until the next would be admitted.
fn check<K: Clone + Hash + Eq>(
    limiter: Option<&DefaultKeyedRateLimiter<K>>,
    key: &K,
) -> Result<(), Duration> {
    let Some(limiter) = limiter else {
        return Ok(());
    };
    if limiter.len() > KEEP {
        limiter.retain_recent();
        limiter.shrink_to_fit();
    }
    limiter
        .check_key(key)
        .map_err(|not_until| not_until.wait_time_from(limiter.clock().now()))
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> RateLimiter {
        RateLimiter {
            limits,
            per_token: limits
                .per_token
                .map(|r| DefaultKeyedRateLimiter::keyed(r.quota())),
            per_address: limits
                .per_address
                .map(|r| DefaultKeyedRateLimiter::keyed(r.quota())),
        }
    }

    pub fn limits(&self) -> RateLimits {
        self.limits
    }

    /// Counts a request of a token.
    pub fn check_token(&self, token_id: Uuid) -> Result<(), Duration> {
        check(self.per_token.as_ref(), &token_id)
    }

    /// Counts a request from an address without a live token.
    pub fn check_address(&self, ip: IpAddr) -> Result<(), Duration> {
        check(self.per_address.as_ref(), &AddressKey::from(ip))
    }
}

/// Paths never limited: operations' probes and scrapes, signing in, the assets.
pub fn exempt(path: &str) -> bool {
    matches!(
        path,
        "/healthz" | "/readyz" | "/metrics" | "/sign-in" | "/sign-out" | "/signed-out"
    ) || path.starts_with("/auth/")
        || path.starts_with("/assets/")
}

/// What the layer needs: the service (for the metric), its database (to authenticate)
/// and the process's limiter.
#[derive(Clone)]
struct Stack {
    service: &'static str,
    db: Database,
    limiter: Arc<RateLimiter>,
}

/// Puts the limits on every route of `router` (inside the edge, so a dialect says the
/// refusal in its own words).
pub fn layer(
    router: axum::Router,
    service: &'static str,
    db: Database,
    limiter: Arc<RateLimiter>,
) -> axum::Router {
    let stack = Stack {
        service,
        db,
        limiter,
    };
    router.layer(middleware::from_fn_with_state(stack, limit))
}

async fn limit(State(stack): State<Stack>, mut request: Request, next: Next) -> Response {
    if exempt(request.uri().path()) {
        return next.run(request).await;
    }
    // Only `linkway serve` knows the peer (`into_make_service_with_connect_info`); an
    // in-process test router has none and is limited per token only.
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let address = |limiter: &RateLimiter| match client {
        Some(ip) => limiter.check_address(ip),
        None => Ok(()),
    };
    let counted = match auth::bearer(request.headers()).map(str::to_owned) {
        Some(secret) => match auth::authenticate(&stack.db, &secret).await {
            Ok(Some(principal)) => {
                let counted = stack
                    .limiter
                    .check_token(principal.token_id)
                    .map_err(|wait| (Limited::Token, wait));
                request
                    .extensions_mut()
                    .insert(Authenticated(Some(principal)));
                counted
            }
            Ok(None) => {
                request.extensions_mut().insert(Authenticated(None));
                address(&stack.limiter).map_err(|wait| (Limited::Address, wait))
            }
            // The database is unavailable: the handler asks again and answers 503.
            Err(_) => Ok(()),
        },
        None => address(&stack.limiter).map_err(|wait| (Limited::Address, wait)),
    };
    match counted {
        Ok(()) => next.run(request).await,
        Err((limited, wait)) => {
            crate::metrics::request_limited(stack.service, limited.reason());
            too_many(limited, wait)
        }
    }
}

/// Whole seconds to wait, rounded up: at least one.
pub fn retry_after(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0).max(u64::from(wait.is_zero()))
}

/// The 429 problem, with `Retry-After`.
pub fn too_many(limited: Limited, wait: Duration) -> Response {
    let (field, rule, message) = match limited {
        Limited::Token => (
            "Authorization",
            "rate_limit_per_token",
            "this token has sent more requests than its limit allows",
        ),
        Limited::Address => (
            "request",
            "rate_limit_per_address",
            "more requests without a valid token came from this address than its limit allows",
        ),
    };
    refused(field, rule, message, wait)
}

/// A 429 problem naming `field` and `rule`, with `Retry-After`: this module's limits and
/// a service's own (intake's self-referral limit) alike.
pub fn refused(field: &str, rule: &str, message: &str, wait: Duration) -> Response {
    let secs = retry_after(wait);
    let message = format!("{message}: retry after Retry-After seconds ({secs})");
    let problem = Problem {
        kind: "https://linkway.example/problems/rate-limited".into(),
        title: "too many requests".into(),
        status: StatusCode::TOO_MANY_REQUESTS.as_u16(),
        detail: Some(format!("{field}: {message}")),
        errors: vec![FieldError::new(field, rule, message)],
    };
    let mut response = (StatusCode::TOO_MANY_REQUESTS, axum::Json(problem)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
}

/// Names the 429 on every operation of a service's document that the limits apply to
/// (all but [`exempt`] paths), with `Retry-After`; under a dialect's prefix in its media
/// type.
pub fn document(doc: &mut utoipa::openapi::OpenApi, dialects: &[crate::http::Dialect]) {
    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::schema::{Object, Type};
    use utoipa::openapi::{Content, Ref, ResponseBuilder};

    for (path, item) in doc.paths.paths.iter_mut() {
        if exempt(path) {
            continue;
        }
        let (media, content) = match dialects.iter().find(|d| path.starts_with(d.prefix)) {
            Some(d) => (
                d.media_type,
                Content::new(Some(Object::with_type(Type::Object))),
            ),
            None => (
                "application/problem+json",
                Content::new(Some(Ref::from_schema_name("Problem"))),
            ),
        };
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            operation
                .responses
                .responses
                .entry("429".to_owned())
                .or_insert_with(|| {
                    ResponseBuilder::new()
                        .description(
                            "Over a rate limit: this token's, or (without a valid token) the \
                             client address's (rule `rate_limit_per_token` or \
                             `rate_limit_per_address`); retry after `Retry-After` seconds",
                        )
                        .header(
                            "Retry-After",
                            HeaderBuilder::new()
                                .schema(Some(Object::with_type(Type::String)))
                                .description(Some("Seconds to wait before retrying"))
                                .build(),
                        )
                        .content(media, content.clone())
                        .build()
                        .into()
                });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_as_count_per_period_or_off() {
        let rate: Rate = "3/hour".parse().unwrap();
        assert_eq!(
            (rate.count.get(), rate.period),
            (3, Duration::from_secs(3600))
        );
        assert_eq!(rate.to_string(), "3/hour");
        assert_eq!(parse_limit(" OFF ").unwrap(), None);
        for bad in ["", "3", "0/minute", "3/day", "-1/second", "x/minute"] {
            assert!(parse_limit(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_token_over_its_burst_waits_and_another_token_does_not() {
        let limiter = RateLimiter::new(RateLimits {
            per_token: Some("3/hour".parse().unwrap()),
            per_address: None,
        });
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        for _ in 0..3 {
            assert_eq!(limiter.check_token(a), Ok(()));
        }
        let wait = limiter.check_token(a).unwrap_err();
        // One request comes back every 20 minutes.
        assert!(wait > Duration::from_secs(19 * 60) && wait <= Duration::from_secs(20 * 60));
        assert_eq!(limiter.check_token(b), Ok(()));
        assert_eq!(limiter.check_address("10.0.0.1".parse().unwrap()), Ok(()));
    }

    #[test]
    fn an_ipv6_address_counts_by_its_64_and_a_mapped_v4_as_itself() {
        let limiter = RateLimiter::new(RateLimits {
            per_token: None,
            per_address: Some("1/hour".parse().unwrap()),
        });
        assert!(
            limiter
                .check_address("2001:db8::1".parse().unwrap())
                .is_ok()
        );
        assert!(
            limiter
                .check_address("2001:db8::ffff:2".parse().unwrap())
                .is_err()
        );
        assert!(
            limiter
                .check_address("2001:db8:0:1::1".parse().unwrap())
                .is_ok()
        );
        assert!(limiter.check_address("192.0.2.7".parse().unwrap()).is_ok());
        assert!(
            limiter
                .check_address("::ffff:192.0.2.7".parse().unwrap())
                .is_err()
        );
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up_and_at_least_one() {
        assert_eq!(retry_after(Duration::ZERO), 1);
        assert_eq!(retry_after(Duration::from_millis(1)), 1);
        assert_eq!(retry_after(Duration::from_secs(2)), 2);
        assert_eq!(retry_after(Duration::from_millis(2001)), 3);
    }

    #[test]
    fn probes_scrapes_and_signing_in_are_never_limited() {
        for path in [
            "/healthz",
            "/readyz",
            "/metrics",
            "/sign-in",
            "/auth/callback",
            "/assets/x.css",
        ] {
            assert!(exempt(path), "{path}");
        }
        for path in [
            "/referrals",
            "/fhir/$process-message",
            "/",
            "/openapi.json",
            "/healthz/x",
        ] {
            assert!(!exempt(path), "{path}");
        }
    }
}
