//! The fault suite: the real `linkway serve` binary on real nats-server and PostgreSQL
//! processes, under a load of concurrent submits (`POST /referrals`, 503s retried with the
//! same Idempotency-Key), through one fault per test. After each, [`support::verify`]
//! checks what issue 8 asks:
//!
//! - no answer other than 2xx or 503 at any time (no 500);
//! - no 503 (nor a refused connection) later than 5 s after the fault;
//! - every key answered 2xx has exactly one `referral.received` in the log, no referral
//!   has two, and every key sent again gets 2xx with the same referral id;
//! - every projection of every service includes, within 5 s of the fault, every event the
//!   log held when the faulty part came back;
//! - `/readyz` was never 200 while the test saw a projection stalled (log ahead of its
//!   checkpoint, the checkpoint still) for 3 s;
//! - every read model equals its rebuild (`linkway rebuild`).
//!
//! Scenarios run one at a time (see [`support::one_at_a_time`]).

mod checks;
mod cluster;
mod first_seed_down;
mod linkway_killed;
mod nats_restarted;
mod postgres_restarted;
mod support;
