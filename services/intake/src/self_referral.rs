//! Self-referral: a person refers themselves to social prescribing, with no token and no
//! session, on a public page (`GET`/`POST /self-referral`, [`page`]) or through the JSON API
//! (`POST /self-referrals`, `submitSelfReferral`, with a form token from
//! `GET /self-referrals/token`).
//!
//! - What they give ([`request`]): name, date of birth, postcode, how to contact them,
//!   optionally their NHS number and address, what matters to them, and `agreed: true`,
//!   their explicit consent to the details going to the link-worker service (the lawful
//!   basis). Validated by intake's own rules and [`crate::consent`], the one consent
//!   decision of every channel.
//! - Routed by the postcode district alone through [`command::submit`]: the referrer is the
//!   pseudo-organisation [`SELF_REFERRAL_ORGANISATION`], never registered, so no rule on a
//!   referring organisation matches; `source_channel` is `self`.
//! - Bot-resistant without a third-party service: a honeypot field (`website`) that must
//!   stay empty, and a signed form token ([`token`]) at least 3 seconds and at most an hour
//!   old. Refused as 422 naming `website` or `form_token`, before anything else is looked at.
//! - Rate-limited per client address by its own, stricter limit
//!   (`LINKWAY_SELF_REFERRAL_LIMIT_PER_ADDRESS`, default 5 an hour; every post counts, on
//!   top of the platform's limits): 429 with `Retry-After`, rule
//!   `self_referral_limit_per_address` (an HTML page for the page).
//! - `Idempotency-Key` (the page: a hidden key per rendered form) as on every create,
//!   scoped to the pseudo-organisation.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use linkway_events::Role;
use linkway_events::referral::SELF_REFERRAL_ORGANISATION;
use linkway_platform::ApiError;
use linkway_platform::auth::Principal;
use linkway_platform::idempotency::IdempotencyKey;
use linkway_platform::rate_limit::{self, Rate, RateLimiter, RateLimits};
use linkway_platform::secret::Secret;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::api::{CommandResponse, parse_body, require_json};
use crate::command;

pub mod page;
pub mod request;
pub mod token;

pub use request::SelfReferralRequest;
use token::FormTokens;

/// What time it is: the system's, or a test's.
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// The API's command name (and the scope of its idempotency keys).
pub const OPERATION: &str = "submitSelfReferral";

/// The rule a post over the self-referral limit names.
pub const LIMIT_RULE: &str = "self_referral_limit_per_address";

/// Self-referral's settings: its limit per client address (`None`: none of its own) and
/// the clock the form tokens are issued and checked by.
#[derive(Clone)]
pub struct SelfReferralSettings {
    pub limit_per_address: Option<Rate>,
    pub clock: Clock,
}

impl std::fmt::Debug for SelfReferralSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelfReferralSettings")
            .field("limit_per_address", &self.limit_per_address)
            .finish_non_exhaustive()
    }
}

impl Default for SelfReferralSettings {
    /// 5 an hour per address, the system clock.
    fn default() -> SelfReferralSettings {
        SelfReferralSettings {
            limit_per_address: Some(Rate {
                count: NonZeroU32::new(5).expect("above zero"),
                period: Duration::from_secs(3600),
            }),
            clock: Arc::new(OffsetDateTime::now_utc),
        }
    }
}

/// What the handlers share: the token key, the limiter and the clock.
pub struct SelfReferral {
    tokens: FormTokens,
    limiter: RateLimiter,
    clock: Clock,
}

impl SelfReferral {
    /// `session_key` is the pages' `LINKWAY_SESSION_KEY`, which the token key derives from.
    pub fn new(settings: &SelfReferralSettings, session_key: &Secret) -> SelfReferral {
        SelfReferral {
            tokens: FormTokens::new(session_key),
            limiter: RateLimiter::new(RateLimits {
                per_token: None,
                per_address: settings.limit_per_address,
            }),
            clock: settings.clock.clone(),
        }
    }

    pub fn now(&self) -> OffsetDateTime {
        (self.clock)()
    }

    /// A fresh form token.
    pub fn issue(&self) -> String {
        self.tokens.issue(self.now())
    }

    /// Counts one post from the request's client address: `Err` with the wait when over
    /// the limit. A request with no known peer (an in-process router) is not counted.
    fn count(&self, extensions: &Extensions) -> Result<(), Duration> {
        let ip: Option<IpAddr> = extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        ip.map_or(Ok(()), |ip| self.limiter.check_address(ip))
    }
}

/// Who a self-referral's events are by: the person, under the pseudo-organisation.
pub fn principal() -> Principal {
    Principal {
        token_id: Uuid::nil(),
        organisation_id: SELF_REFERRAL_ORGANISATION.into(),
        role: Role::Referrer,
        user_id: None,
    }
}

/// Why a self-referral was not made, for the API's problem and the page alike.
#[derive(Debug)]
pub enum Refusal {
    /// Over the address's limit: retry after this long.
    Limited(Duration),
    Api(ApiError),
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Refusal {
        Refusal::Api(e)
    }
}

/// The one path of the page and the API: count the post, check it is a person's, validate,
/// submit. `key` is the idempotency key the channel read.
pub async fn submit(
    state: &AppState,
    extensions: &Extensions,
    headers: &HeaderMap,
    request: &SelfReferralRequest,
    key: Option<String>,
    operation: &'static str,
) -> Result<(StatusCode, CommandResponse), Refusal> {
    let this = &state.self_referral;
    this.count(extensions).map_err(Refusal::Limited)?;
    let now = this.now();
    request::check_human(request, &this.tokens, now).map_err(ApiError::Validation)?;
    let valid = request::validate(request, now.date()).map_err(ApiError::Validation)?;
    // What the key stands for: the referral, not the token that carried it.
    let fingerprint = serde_json::to_vec(&request.to_referral()).expect("requests serialise");
    let key = key.map(|key| IdempotencyKey {
        organisation_id: SELF_REFERRAL_ORGANISATION.into(),
        key,
    });
    let done = command::submit(
        state,
        &principal(),
        SELF_REFERRAL_ORGANISATION.into(),
        key,
        operation,
        valid,
        command::Arrival::SelfReferral,
        headers,
        &fingerprint,
    )
    .await?;
    Ok((done.status, done.answer))
}

/// A form token for `submitSelfReferral`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FormToken {
    /// Send it as `form_token`, no sooner than 3 seconds and no later than an hour from now.
    pub form_token: String,
}

/// A form token, for the JSON API.
#[utoipa::path(
    get,
    path = "/self-referrals/token",
    operation_id = "getSelfReferralToken",
    tag = "self-referral",
    responses(
        (status = 200, description = "A signed form token: send it with the self-referral, no sooner than 3 seconds and no later than an hour from now", body = FormToken),
    ),
    security(())
)]
pub async fn get_token(State(state): State<AppState>) -> Response {
    let mut r = Json(FormToken {
        form_token: state.self_referral.issue(),
    })
    .into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The 429 problem of the self-referral limit, with `Retry-After`.
pub fn too_many(wait: Duration) -> Response {
    rate_limit::refused(
        "request",
        LIMIT_RULE,
        "more self-referrals came from this address than its limit allows",
        wait,
    )
}

/// A person refers themselves (no token).
#[utoipa::path(
    post,
    path = "/self-referrals",
    operation_id = "submitSelfReferral",
    tag = "self-referral",
    request_body(content = SelfReferralRequest, content_type = "application/json"),
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe: the same key and details get the original answer; the same key with other details gets 422."),
        ("X-Correlation-ID" = Option<String>, Header, description = "A UUID tying this request to later events."),
    ),
    responses(
        (status = 201, description = "Received and routed by the postcode district (or unroutable, for an administrator to route)", body = CommandResponse),
        (status = 409, description = "Concurrent change; retry", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Refused, each error naming field and rule: `website` filled or `form_token` missing, forged, too new or expired (nothing else checked); otherwise validation, `agreed` not true among it; or the Idempotency-Key was used for other details", body = linkway_platform::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the self-referral limit of this client address (rule `self_referral_limit_per_address`) or the platform's; retry after `Retry-After` seconds", body = linkway_platform::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = String, description = "Seconds to wait before retrying"))),
        (status = 503, description = "A dependency is down for a moment: retry after `Retry-After` seconds, with the same `Idempotency-Key`", body = linkway_platform::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = String, description = "Seconds to wait before retrying"))),
    ),
    security(())
)]
#[tracing::instrument(skip_all)]
pub async fn submit_self_referral(
    State(state): State<AppState>,
    extensions: Extensions,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_json(&headers)?;
    let key = IdempotencyKey::from_headers(&headers, SELF_REFERRAL_ORGANISATION)?.map(|k| k.key);
    let request: SelfReferralRequest = parse_body(&body)?;
    match submit(&state, &extensions, &headers, &request, key, OPERATION).await {
        Ok((status, answer)) => Ok((status, Json(answer)).into_response()),
        Err(Refusal::Limited(wait)) => Ok(too_many(wait)),
        Err(Refusal::Api(e)) => Err(e),
    }
}
