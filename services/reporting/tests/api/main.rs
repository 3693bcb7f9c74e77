//! Reporting's API against real NATS and PostgreSQL.

mod e2e;
mod exact_contract;
mod expected;
mod journeys;
mod openapi;
mod pages;
mod population;
mod privacy_scan;
mod replay;
mod security;
mod summary;
#[allow(dead_code)] // helpers used as the suite grows
mod support;
