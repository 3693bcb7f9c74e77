//! What every Linkway service shares.
//!
//! - [`db`]: one PostgreSQL database per service (created if missing), pools, migrations.
//! - [`projection`]: the projection runner: batches of events applied in one transaction
//!   with the checkpoint, dead letters, rebuilds that swap in fresh tables.
//! - [`registry`]: the read model of organisations, routing rules and tokens that every
//!   service keeps for itself.
//! - [`audit`]: the one audit trail: reads recorded as `audit.recorded` before the data
//!   is sent, the read model of reads and commands, `listAudit` and its page.
//! - [`clock`]: the time timers decide by (the system's, or one a test sets).
//! - [`auth`]: bearer tokens to a [`auth::Principal`] (organisation + role).
//! - [`problem`]: RFC 9457 problem+json errors that name the offending field.
//! - [`ops`]: `/healthz`, `/readyz`, `/metrics`.
//! - [`command`]: the one command path (idempotency, load, decide, guarded append).
//! - [`idempotency`]: `Idempotency-Key` handling for commands.
//! - [`metrics`]: the process's Prometheus registry.
//! - [`nats`]: connecting to any of a cluster's seeds, refusing servers Linkway cannot use.
//! - [`http`]: the request layer on every route (span, log line, metrics by operationId,
//!   correlation id).
//! - [`text`]: the one rule for text a person types (NFC, no control characters, names
//!   with a letter, bounded lengths).
//! - [`service`]: the [`Service`] trait the binary runs every service through, its
//!   context, and shutdown (signal, task set, joins within a grace period).

pub mod audit;
pub mod auth;
pub mod clock;
pub mod command;
pub mod db;
pub mod http;
pub mod idempotency;
pub mod metrics;
pub mod nats;
pub mod ops;
pub mod problem;
pub mod projection;
pub mod rate_limit;
pub mod read_your_writes;
pub mod registry;
pub mod secret;
pub mod service;
pub mod telemetry;
pub mod text;
pub mod web;

pub use db::Database;
pub use problem::{ApiError, FieldError, Problem};
pub use projection::{Checkpoint, Projected, Projection, ProjectionRunner, RunnerSettings};
pub use service::{Service, ServiceContext, Shutdown, ShutdownTrigger, Started};
