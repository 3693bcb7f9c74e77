//! Linkway's end-to-end and infrastructure tests: one binary, real nats-server and
//! PostgreSQL started by `linkway-testkit`.

mod authorisation;
mod edges;
mod event_store;
mod projection;
mod recovery;
mod skeleton;
mod support;
mod upcasting;
