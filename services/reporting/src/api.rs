//! HTTP: `getSummary` (dashboards) and `getOutcomeFeed` (commissioners' systems).
//!
//! Every answer is about one commissioner area and is disclosure-controlled
//! ([`crate::disclosure`]); nothing in it is about a person. A commissioner sees only its
//! own organisation's area; an administrator names the area; every other role gets 403.
//!
//! One file per capability, re-exported here: [`summary`] (`getSummary`), [`feed`]
//! (`getOutcomeFeed`) and [`csv`](mod@csv) (its CSV form); [`figures`], the figures both
//! share; [`params`], the query parsing and area check both do. SQL is in
//! [`crate::queries`].

use std::sync::Arc;

use axum::extract::FromRef;
use linkway_platform::{Checkpoint, Database};

use crate::Settings;

pub mod csv;
pub mod feed;
pub mod figures;
pub mod params;
pub mod summary;

pub use csv::csv;
pub use feed::*;
pub use figures::*;
pub use summary::*;

/// Shared by the handlers.
#[derive(Clone)]
pub struct AppState {
    /// This service's database (registry and reporting schemas).
    pub db: Database,
    /// How far the reporting projection has got, for `min_sequence`.
    pub checkpoint: Checkpoint,
    /// Disclosure rules and outcome thresholds.
    pub settings: Arc<Settings>,
}

impl FromRef<AppState> for Database {
    fn from_ref(state: &AppState) -> Database {
        state.db.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::csv::csv_field;
    use super::*;
    use crate::aggregate::Fact;
    use crate::disclosure::Figure;
    use crate::journey::Journey;
    use time::macros::date;

    fn test_settings() -> Settings {
        Settings::new(linkway_platform::secret::Secret::new("test-pseudonym-key"))
    }

    fn fact(need: &str) -> Fact {
        Fact {
            journey: Journey {
                pseudonym: need.into(),
                referred_on: Some(date!(2026 - 01 - 05)),
                needs: vec![need.into()],
                ..Journey::default()
            },
            month: date!(2026 - 01 - 01),
            referrer_kind: "gp_practice".into(),
            service: "lw-a".into(),
        }
    }

    #[test]
    fn needs_that_add_up_to_the_total_are_protected_against_subtraction() {
        // 1 + 13 + 8 = 22: shown naively as * + 15 + 10 under a total of 20, the 1 is
        // recoverable. Every referral has one need, so the needs are a breakdown.
        let mut facts: Vec<Fact> = Vec::new();
        for (need, n) in [("a", 1), ("b", 13), ("c", 8)] {
            facts.extend((0..n).map(|_| fact(need)));
        }
        let s = summarise(&test_settings(), "QWO".into(), None, None, 9, &facts);
        let needs = &s.measures["referrals"].by_need;
        assert_eq!(s.measures["referrals"].total, Figure::Count(20));
        let suppressed = needs.values().filter(|f| f.is_suppressed()).count();
        assert!(suppressed >= 2, "{needs:?}");
        // With a second need on one referral they no longer add up: cell by cell.
        facts[0].journey.needs.push("b".into());
        let s = summarise(&test_settings(), "QWO".into(), None, None, 9, &facts);
        assert_eq!(s.measures["referrals"].by_need["c"], Figure::Count(10));
    }

    #[test]
    fn an_area_with_nothing_has_zeros_and_no_statistics() {
        let s = summarise(&test_settings(), "QWO".into(), None, None, 0, &[]);
        assert_eq!(s.measures["referrals"].total, Figure::Count(0));
        assert!(s.measures["referrals"].by_month.is_empty());
        assert_eq!(s.first_contact.percent_within_14_days, None);
        assert_eq!(s.outcomes.swemwbs.mean_change, None);
    }

    #[test]
    fn csv_fields_with_commas_or_quotes_are_quoted() {
        assert_eq!(csv_field("lw-a"), "lw-a");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
