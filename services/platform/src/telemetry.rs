//! Traces across services: the W3C trace context of an HTTP request goes into the headers
//! of every event it appends, and from an event into the span of each projection that
//! applies it, so one referral's trace runs from `submitReferral` through intake, the
//! caseload and reporting. Spans are OpenTelemetry spans through `tracing-opentelemetry`;
//! the binary decides whether they are exported (`LINKWAY_OTLP_ENDPOINT`). Span fields are
//! operation names, organisation ids, roles, event types and sequences: never personal data.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::HeaderMap;
use linkway_eventstore::{TRACEPARENT_HEADER, TRACESTATE_HEADER, TraceContext};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Called once by the binary when spans are exported: projections then open a span per
/// traced event (without an exporter nobody would read them, so they are not made).
pub fn set_exporting(on: bool) {
    EXPORTING.store(on, Ordering::Relaxed);
}

/// Whether spans are exported.
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// The trace context of the current span, for the headers of an event appended now;
/// `None` outside a trace (no OpenTelemetry layer installed).
pub fn current() -> Option<TraceContext> {
    let cx = Span::current().context();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut Carrier(&mut carrier));
    Some(TraceContext {
        traceparent: carrier.remove(TRACEPARENT_HEADER)?,
        tracestate: carrier.remove(TRACESTATE_HEADER),
    })
}

/// Makes `span` a child of the span that appended an event.
pub fn continue_event(span: &Span, trace: &TraceContext) {
    let cx = TraceContextPropagator::new().extract(&EventCarrier(trace));
    let _ = span.set_parent(cx);
}

/// Makes `span` a child of the caller's span when the request carries a valid
/// `traceparent`; otherwise `span` starts a new trace.
pub fn continue_request(span: &Span, headers: &HeaderMap) {
    if headers.contains_key(TRACEPARENT_HEADER) {
        let cx = TraceContextPropagator::new().extract(&HttpCarrier(headers));
        if cx.span().span_context().is_valid() {
            let _ = span.set_parent(cx);
        }
    }
}

/// Names `span` in its trace (the request's operationId, known only after routing).
pub fn name(span: &Span, name: &str) {
    span.context().span().update_name(name.to_owned());
}

/// The trace id of `span` in hex, for log lines; `None` without OpenTelemetry.
pub fn trace_id(span: &Span) -> Option<String> {
    let cx = span.context();
    let context = cx.span().span_context().clone();
    context.is_valid().then(|| context.trace_id().to_string())
}

struct Carrier<'a>(&'a mut HashMap<&'static str, String>);

impl Injector for Carrier<'_> {
    fn set(&mut self, key: &str, value: String) {
        let key = match key {
            TRACEPARENT_HEADER => TRACEPARENT_HEADER,
            TRACESTATE_HEADER => TRACESTATE_HEADER,
            _ => return,
        };
        self.0.insert(key, value);
    }
}

struct EventCarrier<'a>(&'a TraceContext);

impl Extractor for EventCarrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            TRACEPARENT_HEADER => Some(&self.0.traceparent),
            TRACESTATE_HEADER => self.0.tracestate.as_deref(),
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT_HEADER, TRACESTATE_HEADER]
    }
}

struct HttpCarrier<'a>(&'a HeaderMap);

impl Extractor for HttpCarrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}
