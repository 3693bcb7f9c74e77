//! Every refusal is a problem: what axum answers by itself (an unknown route 404, a wrong
//! method 405, a body over the limit 413, a wrong content type 415, a path or query
//! string it could not read 400: `text/plain` or empty, sometimes repeating the value
//! sent) becomes `application/problem+json` naming the field and the rule, with the same
//! status and headers (`Allow`, `Retry-After`). Routes under a [`Dialect`]'s prefix (FHIR)
//! answer in that dialect instead, problems the handlers raised included.
//!
//! [`document`] names these answers in a service's OpenAPI document.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

use crate::problem::{FieldError, Problem, RETRY_AFTER_SECS};

/// The most of an error body the layer reads to rewrite it.
const READ_LIMIT: usize = 1 << 20;

/// How the routes under a path prefix answer errors (intake's `/fhir/`: OperationOutcome).
#[derive(Clone, Copy)]
pub struct Dialect {
    /// Path prefix, e.g. `/fhir/`.
    pub prefix: &'static str,
    /// The media type of its errors, for the OpenAPI document (`application/fhir+json`).
    pub media_type: &'static str,
    /// The problem said in the dialect, with the problem's status.
    pub render: fn(&Problem) -> Response,
}

impl std::fmt::Debug for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dialect")
            .field("prefix", &self.prefix)
            .field("media_type", &self.media_type)
            .finish()
    }
}

/// Puts the edge on every route of `router`, its 404 and 405 answers included.
pub fn layer(router: axum::Router, dialects: Vec<Dialect>) -> axum::Router {
    router.layer(middleware::from_fn_with_state(Arc::new(dialects), speak))
}

async fn speak(
    State(dialects): State<Arc<Vec<Dialect>>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let dialect = dialects
        .iter()
        .find(|d| path.starts_with(d.prefix) || path == d.prefix.trim_end_matches('/'))
        .copied();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let media = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let is_problem = media.starts_with("application/problem+json");
    let is_plain = media.is_empty() || media.starts_with("text/plain");
    let rewrite = is_plain || (is_problem && dialect.is_some());
    if !rewrite {
        // The handler's own answer (problem+json, an OperationOutcome, /readyz's JSON).
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, READ_LIMIT)
        .await
        .unwrap_or_default();
    let problem = if is_problem {
        match serde_json::from_slice::<Problem>(&bytes) {
            Ok(problem) => problem,
            Err(_) => return Response::from_parts(parts, Body::from(bytes)),
        }
    } else {
        plain(status, &String::from_utf8_lossy(&bytes))
    };
    let mut answer = match dialect {
        Some(d) => (d.render)(&problem),
        None => problem_response(&problem),
    };
    *answer.status_mut() = status;
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer
                .headers_mut()
                .entry(name)
                .or_insert_with(|| value.clone());
        }
    }
    if status == StatusCode::SERVICE_UNAVAILABLE {
        answer
            .headers_mut()
            .entry(header::RETRY_AFTER)
            .or_insert(HeaderValue::from_static(RETRY_AFTER_SECS));
    }
    answer
}

/// A problem as `application/problem+json`.
fn problem_response(problem: &Problem) -> Response {
    let mut response = axum::Json(problem).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

/// The problem of a plain-text (or empty) refusal: named by its status, since the text
/// may repeat what was sent. Axum's path and query rejections name the parameter before
/// the value; only that name is kept.
fn plain(status: StatusCode, text: &str) -> Problem {
    let (slug, field, rule, message) = match status.as_u16() {
        400 => match rejected_parameter(text) {
            Some((name, rule)) => (
                "bad-request",
                name,
                rule,
                "could not be read as this parameter's type",
            ),
            None => (
                "bad-request",
                "request".to_owned(),
                "malformed",
                "the request could not be read",
            ),
        },
        404 => (
            "not-found",
            "path".into(),
            "route",
            "no operation is at this path (see /openapi.json)",
        ),
        405 => (
            "method-not-allowed",
            "method".into(),
            "allowed_methods",
            "this path does not take this method (see the Allow header)",
        ),
        406 => (
            "not-acceptable",
            "Accept".into(),
            "media_type",
            "no media type this operation answers with is acceptable",
        ),
        408 => (
            "request-timeout",
            "request".into(),
            "timeout",
            "the request was not received in time",
        ),
        411 => (
            "length-required",
            "Content-Length".into(),
            "required",
            "the body's length must be given",
        ),
        413 => (
            "payload-too-large",
            "body".into(),
            "max_size",
            "the body is larger than this operation accepts",
        ),
        414 => (
            "uri-too-long",
            "path".into(),
            "max_length",
            "the URI is longer than the service accepts",
        ),
        415 => (
            "unsupported-media-type",
            "Content-Type".into(),
            "media_type",
            "must be a media type this operation accepts (see /openapi.json)",
        ),
        431 => (
            "headers-too-large",
            "headers".into(),
            "max_size",
            "the headers are larger than the service accepts",
        ),
        503 => (
            "unavailable",
            "service".into(),
            "unavailable",
            "unavailable for a moment: retry after Retry-After seconds",
        ),
        s if s >= 500 => (
            "internal",
            "service".into(),
            "internal",
            "the service failed to answer",
        ),
        _ => (
            "refused",
            "request".into(),
            "refused",
            "the request was refused",
        ),
    };
    Problem {
        kind: format!("https://linkway.example/problems/{slug}"),
        title: status.canonical_reason().unwrap_or("error").to_owned(),
        status: status.as_u16(),
        detail: Some(format!("{field}: {message}")),
        errors: vec![FieldError::new(field, rule, message)],
    }
}

/// The parameter axum's own path or query rejection names, without the value that
/// follows it: "Invalid URL: Cannot parse `id` with value ..." and
/// "Failed to deserialize query string: limit: ...".
fn rejected_parameter(text: &str) -> Option<(String, &'static str)> {
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.len() <= 64
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
    };
    if let Some(rest) = text.strip_prefix("Invalid URL: Cannot parse `") {
        let (name, after) = rest.split_once('`')?;
        return (after.starts_with(" with value") && name_ok(name))
            .then(|| (name.to_owned(), "format"));
    }
    if let Some(rest) = text.strip_prefix("Failed to deserialize query string: ") {
        let (name, _) = rest.split_once(": ")?;
        return name_ok(name).then(|| (name.to_owned(), "schema"));
    }
    None
}

/// Names the edge's answers in a service's OpenAPI document, on every operation that can
/// give them and does not describe them itself: 422 when it has path or query parameters
/// or a body (a parameter or the body breaks its rule), 404 when its path has parameters,
/// 413 and 415 when it takes a body, 409 when it takes `min_sequence` (beyond the log's
/// end, [`crate::read_your_writes`]). Under a [`Dialect`]'s prefix, in its media type.
pub fn document(doc: &mut utoipa::openapi::OpenApi, dialects: &[Dialect]) {
    use utoipa::openapi::schema::{Object, Type};
    use utoipa::openapi::{Content, Ref, RefOr, ResponseBuilder};

    for (path, item) in doc.paths.paths.iter_mut() {
        let dialect = dialects.iter().find(|d| path.starts_with(d.prefix));
        let (media, content) = match dialect {
            Some(d) => (
                d.media_type,
                Content::new(Some(Object::with_type(Type::Object))),
            ),
            None => (
                "application/problem+json",
                Content::new(Some(Ref::from_schema_name("Problem"))),
            ),
        };
        let shared_parameters = item.parameters.as_ref().is_some_and(|p| !p.is_empty());
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            let takes_path = path.contains('{');
            let takes_parameters = takes_path
                || shared_parameters
                || operation.parameters.as_ref().is_some_and(|p| {
                    p.iter().any(|p| match p {
                        RefOr::T(p) => {
                            !matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Header)
                        }
                        RefOr::Ref(_) => true,
                    })
                });
            let takes_body = operation.request_body.is_some();
            let reads_your_writes = operation.parameters.as_ref().is_some_and(|p| {
                p.iter()
                    .any(|p| matches!(p, RefOr::T(p) if p.name == "min_sequence"))
            });
            let mut wanted = Vec::new();
            if takes_parameters || takes_body {
                wanted.push((
                    "422",
                    "A path or query parameter or the body breaks its rule (errors name the field and the rule, never the value sent)",
                ));
            }
            if reads_your_writes {
                wanted.push((
                    "409",
                    "`min_sequence` is beyond the end of the log (field `min_sequence`, rule `beyond_log_end`): no command answered it",
                ));
            }
            if takes_path {
                wanted.push((
                    "404",
                    "Nothing is at this path (or it is not the caller's to see)",
                ));
            }
            if takes_body {
                wanted.push(("413", "The body is larger than this operation accepts (field `body`, rule `max_size`)"));
                wanted.push(("415", "The body's media type is not one this operation accepts (field `Content-Type`, rule `media_type`)"));
            }
            for (status, description) in wanted {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| {
                        ResponseBuilder::new()
                            .description(description)
                            .content(media, content.clone())
                            .build()
                            .into()
                    });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axum_rejections_keep_the_parameter_name_and_lose_the_value() {
        assert_eq!(
            rejected_parameter(
                "Invalid URL: Cannot parse `id` with value `9434765919`: UUID parsing failed"
            ),
            Some(("id".to_owned(), "format"))
        );
        assert_eq!(
            rejected_parameter(
                "Failed to deserialize query string: limit: invalid digit found in string"
            ),
            Some(("limit".to_owned(), "schema"))
        );
        // A single value names no parameter: the value is never taken for a name.
        assert_eq!(
            rejected_parameter("Invalid URL: Cannot parse `9434765919` to a `u64`"),
            None
        );
        let p = plain(
            StatusCode::BAD_REQUEST,
            "Invalid URL: Cannot parse `x` to a `u64`",
        );
        assert_eq!(
            (p.errors[0].field.as_str(), p.errors[0].rule.as_str()),
            ("request", "malformed")
        );
    }
}
