//! The community service's inbox: the onward referrals (connections) a link worker sent
//! to the directory services an organisation answers for, and the service's own answers.
//!
//! - [`item`]: one connection as the service sees it ([`InboxItem`]), with ONLY the
//!   details the link worker chose to share (pure: [`item::items_of`]).
//! - [`projection`]: the `inbox` read model (schema `inbox`), one row per connection,
//!   folded with the same [`crate::case::Case`] fold the commands use; erasure empties
//!   the shared details.
//! - [`queries`]: the read model's SQL.
//! - [`decision`]: accept, decline with a reason, attended, as decisions of the
//!   platform's command path, authorised on the registry's `directory_services` of the
//!   caller's organisation (another organisation's connection is "not found").
//! - [`api`]: `listInbox`, `getInboxItem`, `acceptConnection`, `declineConnection`,
//!   `recordAttendance` (tag `inbox`, role `community_service`), every read recorded by
//!   the platform's `Auditor` before it is sent.
//! - [`pages`]: `/inbox/view` and one connection's page with its forms.

pub mod api;
pub mod decision;
pub mod item;
pub mod pages;
pub mod projection;
pub mod queries;

pub use item::{InboxItem, SharedDetails};
pub use projection::Inbox;
