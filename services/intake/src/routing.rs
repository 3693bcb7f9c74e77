//! Which link-worker service a referral goes to: the platform's one routing choice
//! (`linkway_platform::registry::routing`), which the administrator's preview also uses,
//! so a preview and a real referral can never disagree. A rule on the referring
//! organisation beats a rule on the person's postcode district; among rules of the same
//! kind the lowest priority value wins (ties: lowest rule id). Pure: no I/O.

pub use linkway_platform::registry::routing::{Criterion, Route, Rule};

/// Picks the rule for a referral from `referrer` for a person in `district`.
pub fn choose(rules: &[Rule], referrer: &str, district: &str) -> Route {
    linkway_platform::registry::routing::choose(rules, referrer, district)
}
