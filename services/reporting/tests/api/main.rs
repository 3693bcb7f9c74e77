//! Reporting's API against real NATS and PostgreSQL.

mod e2e;
mod journeys;
mod openapi;
mod population;
mod replay;
mod security;
mod summary;
#[allow(dead_code)] // helpers used as the suite grows
mod support;
