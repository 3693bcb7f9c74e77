//! Bearer tokens. A token belongs to one organisation and one role; only its SHA-256 is
//! stored (in the registry read model), so a leaked database leaks no usable token.
//!
//! A token authenticates until it is revoked or expires (its own expiry, or the end of a
//! rotation's overlap): an expired token is refused exactly as an unknown one is, the
//! same 401 with nothing said of why. The request stack ([`crate::rate_limit`])
//! authenticates a bearer token once per request, before its limit is counted, and leaves
//! the answer in the request for the [`Principal`] extractor.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use linkway_events::{Actor, Role};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Database;
use crate::problem::ApiError;
use crate::secret::{sha256_hex, to_hex};

/// Who is calling: established from the bearer token on every request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub token_id: Uuid,
    pub organisation_id: String,
    pub role: Role,
    pub user_id: Option<String>,
}

impl Principal {
    /// Refuses (403) unless the caller holds one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }

    /// The actor to stamp on events this caller causes.
    pub fn actor(&self) -> Actor {
        Actor {
            organisation_id: self.organisation_id.clone(),
            user_id: self.user_id.clone(),
            role: self.role,
        }
    }
}

/// A freshly minted token: the id (public) and the secret (shown once, never stored).
pub struct NewToken {
    pub token_id: Uuid,
    pub secret: String,
    pub secret_sha256: String,
}

/// Mints a token: `lw_` followed by 256 random bits in hex.
pub fn mint_token() -> NewToken {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    let secret = format!("lw_{}", to_hex(&bytes));
    NewToken {
        token_id: Uuid::new_v4(),
        secret_sha256: sha256_hex(secret.as_bytes()),
        secret,
    }
}

/// Resolves a presented secret to a principal, if it is a live token now.
pub async fn authenticate(db: &Database, secret: &str) -> Result<Option<Principal>, ApiError> {
    authenticate_at(db, secret, OffsetDateTime::now_utc()).await
}

/// Resolves a presented secret to a principal, if it is a live token at `now`: neither
/// revoked nor expired (a token expiring at `now` has expired).
pub async fn authenticate_at(
    db: &Database,
    secret: &str,
    now: OffsetDateTime,
) -> Result<Option<Principal>, ApiError> {
    let client = db.client().await?;
    // Every request asks this: prepared once per connection, not parsed each time.
    let statement = client
        .prepare_cached(
            "SELECT token_id, organisation_id, role, user_id FROM registry.tokens
             WHERE secret_sha256 = $1 AND NOT revoked
               AND (expires_at IS NULL OR expires_at > $2)",
        )
        .await?;
    let row = client
        .query_opt(&statement, &[&sha256_hex(secret.as_bytes()), &now])
        .await?;
    let principal = row.and_then(|r| {
        Some(Principal {
            token_id: r.get(0),
            organisation_id: r.get(1),
            role: Role::parse(r.get::<_, &str>(2))?,
            user_id: r.get(3),
        })
    });
    if let Some(p) = &principal {
        crate::http::record_caller(p);
        crate::registry::usage::note(db, p.token_id);
    }
    Ok(principal)
}

impl<S> FromRequestParts<S> for Principal
where
    Database: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(Authenticated(answer)) = parts.extensions.get::<Authenticated>() {
            // The request stack asked already (and counted the request against the limit).
            return answer.clone().ok_or(ApiError::Unauthenticated);
        }
        let secret = bearer(&parts.headers).ok_or(ApiError::Unauthenticated)?;
        let db = Database::from_ref(state);
        authenticate(&db, secret)
            .await?
            .ok_or(ApiError::Unauthenticated)
    }
}

/// What authenticating the request's bearer token found (`None`: no live token), left
/// by the request stack for the [`Principal`] extractor.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Option<Principal>);

/// The secret of an `Authorization: Bearer` header, if the request has one.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Adds the `bearer` security scheme to a service's OpenAPI document; operations name it
/// with `security(("bearer" = []))`.
pub struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A Linkway token: one organisation, one role"))
                    .build(),
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_are_unique_and_only_their_hash_is_kept() {
        let a = mint_token();
        let b = mint_token();
        assert_ne!(a.secret, b.secret);
        assert!(a.secret.starts_with("lw_") && a.secret.len() == 67);
        assert_eq!(a.secret_sha256, sha256_hex(a.secret.as_bytes()));
        assert!(!a.secret_sha256.contains(&a.secret[3..]));
    }
}
