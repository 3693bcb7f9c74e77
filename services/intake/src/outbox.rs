//! Updates back to the referrer, in FHIR, through a transactional outbox.
//!
//! A referral that came as a FHIR message keeps its sender's endpoint (`referral.received`'s
//! `reply_to`). When it is accepted, declined, could not be contacted, has its plan agreed,
//! has an outcome measure recorded or is closed, a FHIR R4 message ([`message`], pure) goes
//! back to that endpoint.
//!
//! - [`projection`]: the `outbox` projection (reads `referral`, `case`, `person`) keeps what
//!   it needs of each FHIR referral and, in the batch's transaction, inserts one row per
//!   message into `outbound_messages` (bookkeeping, `ON CONFLICT (message_id) DO NOTHING`,
//!   so a rebuild keeps delivery state); on `person.erased` every message of that referral
//!   loses its body and a message not yet delivered is never sent (`erased`).
//! - [`sender`]: the delivery task (joined by the service's `Shutdown`): due rows picked with
//!   `FOR UPDATE SKIP LOCKED` (several intake processes share the work), a referral's
//!   messages strictly in order, POSTed as `application/fhir+json` with a timeout, every
//!   attempt in `outbound_attempts` (never the body), exponential backoff with jitter, dead
//!   after the last attempt.
//! - [`store`]: the SQL; [`api`] and [`page`]: administrators' `listOutboundMessages`,
//!   `retryOutboundMessage` and the page `/admin/outbound/view`.

pub mod api;
pub mod message;
pub mod page;
pub mod projection;
pub mod sender;
pub mod store;

pub use projection::Outbox;
pub use sender::OutboxSettings;
