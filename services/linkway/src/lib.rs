//! The `linkway` binary's library: everything the sub-commands do, callable from tests.
//!
//! - [`cli`]: the command line; [`config`]: every `LINKWAY_*` setting, typed, from flags,
//!   the environment and an optional TOML file.
//! - [`catalogue`]: the one place that names the services and builds each from the
//!   settings; everything else runs them through `linkway_platform::Service`.
//! - [`serve`]: runs any subset of the services in one process, and stops them cleanly.
//! - [`migrate`]: brings the databases up to date, starting nothing.
//! - [`admin`]: organisations, routing rules and tokens (registry events).
//! - [`rebuild`]: rebuilds a projection from the log with a progress bar.
//! - [`backup`]: the event log to a verified file and back (`backup`, `restore`).
//! - [`demo`]: realistic synthetic data through the services' APIs.
//! - [`logging`]: the process's log, with the libraries that log data held at `info`.
//! - [`bench`]: Linkway's append and replay rates beside raw JetStream and PostgreSQL.
//! - [`load`]: a seeded load over the public HTTP APIs, with latency per operation.

pub mod admin;
pub mod backup;
pub mod bench;
pub mod catalogue;
pub mod cli;
pub mod config;
pub mod demo;
mod demo_journeys;
pub mod load;
pub mod logging;
pub mod migrate;
pub mod rebuild;
pub mod serve;
pub mod synthetic;
pub mod telemetry;

pub use catalogue::ServiceName;
pub use config::Settings;
