//! HTTP that every service shares.
//!
//! - [`request`]: the request layer on every route of every service: a span per request
//!   (operationId, organisation and role once authenticated, correlation id, method,
//!   status; never a path, query string or body), one log line per request, request
//!   counts by operationId and status and latency by operationId, and the request's
//!   [`CorrelationId`] for handlers.
//! - [`json`]: the one JSON body reader: errors name the field and the rule, never the
//!   value sent.
//! - [`paging`]: the one `limit`/`offset` rule of every list.
//! - [`drain`]: the [`drain::Gate`] a server drains through when it stops: new requests
//!   refused with 503, running ones finished.

pub mod drain;
pub mod json;
pub mod paging;
pub mod request;

pub use json::parse_json;
pub use paging::Paging;
pub use request::{CorrelationId, OperationIds, layer, record_caller};
