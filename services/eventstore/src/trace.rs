//! W3C trace context carried in an event's headers, so one referral's trace runs from the
//! request that appended an event into every projection that applies it. The values are
//! opaque here (the platform reads and writes them with OpenTelemetry); they hold trace and
//! span ids and vendor state, never personal data.

use async_nats::HeaderMap;

/// W3C Trace Context header names (lower case, as the recommendation spells them).
pub const TRACEPARENT_HEADER: &str = "traceparent";
pub const TRACESTATE_HEADER: &str = "tracestate";

/// The trace an event was appended in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    /// `version-traceid-parentid-flags`.
    pub traceparent: String,
    pub tracestate: Option<String>,
}

impl TraceContext {
    pub(crate) fn write(&self, headers: &mut HeaderMap) {
        headers.insert(TRACEPARENT_HEADER, self.traceparent.as_str());
        if let Some(state) = self.tracestate.as_deref().filter(|s| !s.is_empty()) {
            headers.insert(TRACESTATE_HEADER, state);
        }
    }

    /// The trace context of a message, if it carries one.
    pub(crate) fn read(headers: Option<&HeaderMap>) -> Option<TraceContext> {
        let headers = headers?;
        let traceparent = headers.get(TRACEPARENT_HEADER)?.as_str().to_owned();
        let tracestate = headers
            .get(TRACESTATE_HEADER)
            .map(|v| v.as_str().to_owned());
        Some(TraceContext {
            traceparent,
            tracestate,
        })
    }
}
