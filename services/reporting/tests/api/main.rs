//! Reporting's API against real NATS and PostgreSQL.

mod security;
mod summary;
#[allow(dead_code)] // helpers used as the suite grows
mod support;
