//! The request layer: one span, one log line and one set of metrics per request.
//!
//! Requests are named by the `operationId` of the service's OpenAPI document (looked up
//! by method and the route template axum matched), so labels and logs never carry an id
//! from a path, and a request no route matches is `unmatched`. The correlation id is the
//! caller's `X-Correlation-ID` when it is a UUID, else a new UUID v7; handlers take it as
//! [`CorrelationId`] and the answer carries it back in the same header.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::Response;
use tracing::Instrument;
use tracing::field::Empty;
use uuid::Uuid;

use crate::auth::Principal;
use crate::{metrics, telemetry};

/// The header a caller may send (and always gets back) to tie its request to the events
/// it causes.
pub const CORRELATION_HEADER: &str = "x-correlation-id";

/// Label of requests no route matched.
pub const UNMATCHED: &str = "unmatched";

/// The operations the platform serves on every service, in case a document leaves them out.
const PLATFORM_OPERATIONS: [(&str, &str, &str); 4] = [
    ("GET", "/healthz", "getHealth"),
    ("GET", "/readyz", "getReadiness"),
    ("GET", "/metrics", "getMetrics"),
    ("GET", "/openapi.json", "getOpenApi"),
];

/// The correlation id of the request being handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorrelationId(pub Uuid);

impl CorrelationId {
    /// The caller's `X-Correlation-ID` if it is a UUID, else a new UUID v7.
    pub fn from_headers(headers: &HeaderMap) -> CorrelationId {
        let sent = headers
            .get(CORRELATION_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Uuid::parse_str(v.trim()).ok());
        CorrelationId(sent.unwrap_or_else(Uuid::now_v7))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CorrelationId {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<CorrelationId>()
            .copied()
            .unwrap_or_else(|| CorrelationId::from_headers(&parts.headers)))
    }
}

/// `(method, route template) -> operationId`, from a service's OpenAPI document.
#[derive(Debug, Clone, Default)]
pub struct OperationIds(Arc<HashMap<(Method, String), String>>);

impl OperationIds {
    pub fn from_openapi(doc: &utoipa::openapi::OpenApi) -> OperationIds {
        let mut map: HashMap<(Method, String), String> = PLATFORM_OPERATIONS
            .iter()
            .map(|(m, p, id)| {
                let method = Method::from_bytes(m.as_bytes()).expect("a method");
                ((method, (*p).to_owned()), (*id).to_owned())
            })
            .collect();
        for (path, item) in &doc.paths.paths {
            let operations = [
                (Method::GET, &item.get),
                (Method::PUT, &item.put),
                (Method::POST, &item.post),
                (Method::DELETE, &item.delete),
                (Method::OPTIONS, &item.options),
                (Method::HEAD, &item.head),
                (Method::PATCH, &item.patch),
                (Method::TRACE, &item.trace),
            ];
            for (method, operation) in operations {
                if let Some(id) = operation.as_ref().and_then(|o| o.operation_id.clone()) {
                    map.insert((method, path.clone()), id);
                }
            }
        }
        OperationIds(Arc::new(map))
    }

    /// The operationId of a matched route; axum templates and OpenAPI paths both write
    /// parameters as `{name}`, and a template may spell `$` percent-encoded.
    pub fn get(&self, method: &Method, template: &str) -> Option<&str> {
        let template = template.replace("%24", "$");
        self.0.get(&(method.clone(), template)).map(String::as_str)
    }
}

/// Where the inner layer (after routing) tells the outer one which operation ran.
#[derive(Clone, Default)]
struct Operation(Arc<OnceLock<String>>);

tokio::task_local! {
    /// The span of the request this task is answering.
    static REQUEST_SPAN: tracing::Span;
    /// The service answering it (for the command path's metrics).
    static SERVICE: &'static str;
}

/// The service whose request this task is answering; `"none"` outside a request.
pub fn current_service() -> &'static str {
    SERVICE.try_with(|s| *s).unwrap_or("none")
}

/// Puts the caller's organisation and role on the current request's span (called once a
/// bearer token is resolved). Outside a request, does nothing.
pub fn record_caller(principal: &Principal) {
    let _ = REQUEST_SPAN.try_with(|span| {
        span.record("organisation", principal.organisation_id.as_str());
        span.record("role", principal.role.as_str());
    });
}

/// Puts the request layer on every route of `router` (and on requests no route matches).
pub fn layer(
    router: axum::Router,
    service: &'static str,
    operations: OperationIds,
) -> axum::Router {
    router
        .route_layer(middleware::from_fn_with_state(operations, name_operation))
        .layer(middleware::from_fn_with_state(service, observe))
}

/// Inner layer: runs after routing, so the matched template is known.
async fn name_operation(
    State(operations): State<OperationIds>,
    matched: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(slot) = request.extensions().get::<Operation>() {
        let name = match &matched {
            Some(m) => operations
                .get(request.method(), m.as_str())
                .map(str::to_owned)
                // A route the document does not describe: its template holds no ids.
                .unwrap_or_else(|| format!("{} {}", request.method(), m.as_str())),
            None => UNMATCHED.to_owned(),
        };
        let _ = REQUEST_SPAN.try_with(|span| {
            span.record("operation_id", name.as_str());
            telemetry::name(span, &name);
        });
        let _ = slot.0.set(name);
    }
    next.run(request).await
}

/// Outer layer: the span, the log line, the metrics and the correlation id.
async fn observe(
    State(service): State<&'static str>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let correlation = CorrelationId::from_headers(request.headers());
    // Handlers (and the events they append) read the same id, given or made here.
    if let Ok(value) = HeaderValue::from_str(&correlation.0.to_string()) {
        request.headers_mut().insert(CORRELATION_HEADER, value);
    }
    let operation = Operation::default();
    request.extensions_mut().insert(correlation);
    request.extensions_mut().insert(operation.clone());
    let span = tracing::info_span!(
        "request",
        service,
        method = %request.method(),
        operation_id = Empty,
        organisation = Empty,
        role = Empty,
        correlation_id = %correlation.0,
        trace_id = Empty,
        status = Empty,
        otel.kind = "server",
    );
    // The caller's trace goes on through this request and the events it appends.
    telemetry::continue_request(&span, request.headers());
    if let Some(trace_id) = telemetry::trace_id(&span) {
        span.record("trace_id", tracing::field::display(&trace_id));
    }
    let mut response = SERVICE
        .scope(
            service,
            REQUEST_SPAN.scope(span.clone(), next.run(request).instrument(span.clone())),
        )
        .await;
    let name = match operation.0.get() {
        Some(name) => name.as_str(),
        None => {
            span.record("operation_id", UNMATCHED);
            telemetry::name(&span, UNMATCHED);
            UNMATCHED
        }
    };
    let status = response.status().as_u16();
    let latency = started.elapsed();
    metrics::request(service, name, status, latency);
    span.in_scope(|| {
        tracing::info!(
            status,
            latency_ms = latency.as_secs_f64() * 1000.0,
            "answered"
        );
    });
    span.record("status", status);
    if let Ok(value) = HeaderValue::from_str(&correlation.0.to_string()) {
        response.headers_mut().insert(CORRELATION_HEADER, value);
    }
    response
}
