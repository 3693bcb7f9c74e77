//! Errors as RFC 9457 `application/problem+json`, naming the offending field and rule.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Seconds a client should wait before retrying a 503.
pub const RETRY_AFTER_SECS: &str = "1";

/// One thing wrong with a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// JSON pointer-ish path of the field, e.g. `person.nhs_number`.
    pub field: String,
    /// The rule it broke, stable for machines, e.g. `nhs_number_check_digit`.
    pub rule: String,
    /// For people.
    pub message: String,
}

impl FieldError {
    pub fn new(
        field: impl Into<String>,
        rule: impl Into<String>,
        message: impl Into<String>,
    ) -> FieldError {
        FieldError {
            field: field.into(),
            rule: rule.into(),
            message: message.into(),
        }
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Every field that failed validation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// What a handler can fail with. Each maps to one status and problem type.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("request failed validation")]
    Validation(Vec<FieldError>),
    #[error("missing or invalid bearer token")]
    Unauthenticated,
    #[error("this role may not call this operation")]
    Forbidden,
    #[error("not found")]
    NotFound,
    /// The record changed under the caller (optimistic concurrency, a stale `If-Match`):
    /// reload and decide again.
    #[error("the record changed since it was read")]
    Conflict(FieldError),
    /// The record's state does not allow this step (withdrawing a closed referral).
    #[error("the record's state does not allow this step")]
    Refused(FieldError),
    /// Idempotency key reused with a different request.
    #[error("{0}")]
    IdempotencyMismatch(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("a dependency is unavailable: {0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn field(field: &str, rule: &str, message: &str) -> ApiError {
        ApiError::Validation(vec![FieldError::new(field, rule, message)])
    }

    /// 409 `conflict`: what changed (`field`), the rule, and what to do.
    pub fn conflict(field: &str, rule: &str, message: impl Into<String>) -> ApiError {
        ApiError::Conflict(FieldError::new(field, rule, message))
    }

    /// 409 `illegal-transition`: the rule of the record's state that forbids the step.
    pub fn refused(rule: &str, message: impl Into<String>) -> ApiError {
        ApiError::Refused(FieldError::new("state", rule, message))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) | ApiError::Refused(_) => StatusCode::CONFLICT,
            ApiError::IdempotencyMismatch(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unsupported(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn slug(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "validation",
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound => "not-found",
            ApiError::Conflict(_) => "conflict",
            ApiError::Refused(_) => "illegal-transition",
            ApiError::IdempotencyMismatch(_) => "idempotency-key-reused",
            ApiError::Unsupported(_) => "unsupported-media-type",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    pub fn to_problem(&self) -> Problem {
        let detail = match self {
            ApiError::Conflict(e) | ApiError::Refused(e) => Some(e.message.clone()),
            ApiError::IdempotencyMismatch(d)
            | ApiError::Unsupported(d)
            | ApiError::Unavailable(d) => Some(d.clone()),
            ApiError::Validation(errors) => Some(
                errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            _ => None,
        };
        Problem {
            kind: format!("https://linkway.example/problems/{}", self.slug()),
            title: self.to_string(),
            status: self.status().as_u16(),
            detail,
            errors: match self {
                ApiError::Validation(errors) => errors.clone(),
                ApiError::Conflict(e) | ApiError::Refused(e) => vec![e.clone()],
                _ => Vec::new(),
            },
        }
    }
}

/// Whether a PostgreSQL failure is worth retrying as it is: the connection or the server
/// went away (class 08, admin/crash shutdown, cannot connect now), the transaction lost a
/// race (serialization failure, deadlock) or the server ran short of resources (class 53).
/// Everything else (constraint violations, bad data, bugs) would fail the same way again.
pub fn pg_is_transient(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    let Some(code) = e.code() else {
        // No SQLSTATE: an I/O or protocol failure on the connection itself.
        return true;
    };
    let code = code.code();
    code.starts_with("08")
        || code.starts_with("53")
        || matches!(
            code,
            "57P01" | "57P02" | "57P03" | "40001" | "40P01" | "55006"
        )
}

impl From<tokio_postgres::Error> for ApiError {
    fn from(e: tokio_postgres::Error) -> Self {
        if pg_is_transient(&e) {
            tracing::warn!(error = %e, "database unavailable");
            ApiError::Unavailable("the database".into())
        } else {
            ApiError::Internal(e.into())
        }
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> Self {
        tracing::warn!(error = %e, "database unavailable");
        ApiError::Unavailable("the database".into())
    }
}

impl From<linkway_eventstore::AppendError> for ApiError {
    fn from(e: linkway_eventstore::AppendError) -> Self {
        use linkway_eventstore::AppendError as E;
        match e {
            E::Conflict { .. } => ApiError::conflict(
                "aggregate",
                "concurrent_change",
                "the record changed since it was read; reload and try again",
            ),
            E::Unavailable(_) => ApiError::Unavailable("the event log".into()),
            E::Erased => ApiError::refused(
                "person_erased",
                "the person was erased: nothing about them is recorded again",
            ),
            other => ApiError::Internal(other.into()),
        }
    }
}

impl From<linkway_eventstore::StoreError> for ApiError {
    fn from(e: linkway_eventstore::StoreError) -> Self {
        tracing::warn!(error = %e, "event log unavailable");
        ApiError::Unavailable("the event log".into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(err) = &self {
            // Logged once, here, with its cause chain; the caller only learns it failed.
            tracing::error!(error = format!("{err:#}"), "internal error");
        }
        let status = self.status();
        let mut response = (status, axum::Json(self.to_problem())).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // Transient by definition: the same request (with the same Idempotency-Key)
            // is safe to send again shortly.
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECS),
            );
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Problems every authenticated operation can answer, for `responses(..., CommonProblems)`
/// in a handler's OpenAPI description: 401 (no valid bearer token, with
/// `WWW-Authenticate`) and 503 (a dependency is down for a moment: retry after
/// `Retry-After` seconds, with the same `Idempotency-Key`). Who may call an operation
/// (its 403) stays with the operation. What the edge answers by itself (422 for a path or
/// query parameter, 404, 409 for `min_sequence` beyond the log, 413, 415) is added to
/// every operation that can give it by [`crate::http::edges::document`] when the document
/// is served, so handlers need not name it.
pub struct CommonProblems;

impl utoipa::IntoResponses for CommonProblems {
    fn responses() -> std::collections::BTreeMap<
        String,
        utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
    > {
        use utoipa::openapi::{
            ContentBuilder, Ref, ResponseBuilder, header::HeaderBuilder, schema::Type,
        };
        let problem = || {
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build()
        };
        let header = |description: &str| {
            HeaderBuilder::new()
                .schema(Some(utoipa::openapi::schema::Object::with_type(
                    Type::String,
                )))
                .description(Some(description))
                .build()
        };
        [
            (
                "401",
                ResponseBuilder::new()
                    .description("No valid bearer token")
                    .header("WWW-Authenticate", header("`Bearer`")),
            ),
            (
                "503",
                ResponseBuilder::new()
                    .description(
                        "The event log or the database is unavailable for a moment, or a read model has \
                         not reached `min_sequence` yet: retry (with the same Idempotency-Key)",
                    )
                    .header("Retry-After", header("Seconds to wait before retrying")),
            ),
        ]
        .into_iter()
        .map(|(status, response)| {
            let response = response.content("application/problem+json", problem()).build();
            (status.to_owned(), response.into())
        })
        .collect()
    }
}
