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
//! - [`params`]: the [`Path`] and [`Query`] extractors every handler takes: a parameter
//!   that does not parse is a 422 problem naming it and the rule, never its value.
//! - [`edges`]: what axum answers by itself (404, 405, 413, 415, its own 400s) as
//!   problem+json naming field and rule, or a [`edges::Dialect`] (FHIR) under a prefix;
//!   [`edges::document`] names these answers in the OpenAPI document.
//! - [`drain`]: the [`drain::Gate`] a server drains through when it stops: new requests
//!   refused with 503, running ones finished.

pub mod drain;
pub mod edges;
pub mod json;
pub mod paging;
pub mod params;
pub mod request;

pub use edges::Dialect;
pub use json::parse_json;
pub use paging::Paging;
pub use params::{Path, Query};
pub use request::{CorrelationId, OperationIds, layer, record_caller};
