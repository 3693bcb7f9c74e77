//! The registry's admin decisions, shared by `linkway admin` (the CLI) and the admin pages
//! ([`crate::web::admin`]): organisations, routing rules, tokens and users are registry
//! events on the log, and every service projects them into its own read model.
//!
//! - [`fold`]: the registry as the log says it is ([`Registry`], [`load`]), not as any
//!   service's read model (which may lag) has it.
//! - [`decide`]: the pure rules that refuse a registry that cannot work, each refusal
//!   naming the rule ([`Refusal`]), in the CLI's or the pages' words.
//! - [`input`]: what an admin types, through the one text rule and the id rule.
//! - [`commands`]: [`Admin`], each command decided on the folded registry and appended
//!   expecting its own aggregate as it was read (a change there makes it decide again),
//!   as the CLI's actor or the signed-in administrator's.
//! - [`tokens`]: the token commands (issue with an expiry, rotate with an overlap,
//!   revoke) and the process's [`TokenLifetimes`].
//!
//! [`Registry`]: fold::Registry
//! [`load`]: fold::load
//! [`Refusal`]: decide::Refusal
//! [`Admin`]: commands::Admin
//! [`TokenLifetimes`]: tokens::TokenLifetimes

pub mod commands;
pub mod decide;
pub mod fold;
pub mod input;
pub mod tokens;

pub use commands::{Admin, AdminError};
pub use decide::{Refusal, Wording};
pub use fold::Registry;
pub use tokens::{Expiry, IssuedToken, RotatedToken, TokenLifetimes};
