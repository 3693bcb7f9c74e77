//! The `linkway` binary's library: everything the sub-commands do, callable from tests.
//!
//! - [`serve`]: runs any subset of the services in one process.
//! - [`admin`]: organisations, routing rules and tokens (registry events).
//! - [`rebuild`]: rebuilds a projection from the log with a progress bar.
//! - [`demo`]: realistic synthetic data through the services' APIs.
//! - [`bench`]: Linkway's append and replay rates beside raw JetStream and PostgreSQL.

pub mod admin;
pub mod bench;
pub mod config;
pub mod demo;
mod demo_journeys;
pub mod rebuild;
pub mod serve;
pub mod synthetic;

pub use config::{Listen, Service, Settings};
