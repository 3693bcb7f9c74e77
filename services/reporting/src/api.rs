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
pub mod summary_cache;

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
    /// The last summary of each query, while the read model has not moved.
    pub summaries: summary_cache::SummaryCache,
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

    /// Without rounding, which often protects a small figure by itself.
    fn unrounded() -> Settings {
        let mut settings = test_settings();
        settings.disclosure = crate::disclosure::Rules::new(7, 1, 3).unwrap();
        settings
    }

    fn connected(mut f: Fact, kinds: &[&str]) -> Fact {
        for (i, kind) in kinds.iter().enumerate() {
            f.journey.connections_made += 1;
            f.journey.connections.push(crate::journey::Connection {
                key: format!("c{i}"),
                kind: (*kind).into(),
                made: true,
                ..Default::default()
            });
        }
        f
    }

    #[test]
    fn connections_by_kind_add_up_to_the_total_and_are_protected_with_it() {
        // 20 walks, 12 choirs and 2 of no kind: the 2 alone would be recoverable from the
        // total, so a second kind is suppressed with it.
        let mut facts: Vec<Fact> = Vec::new();
        facts.extend((0..20).map(|_| connected(fact("a"), &["physical activity"])));
        facts.extend((0..12).map(|_| connected(fact("a"), &["arts and creativity"])));
        facts.extend((0..2).map(|_| connected(fact("a"), &[crate::journey::NO_KIND])));
        let s = summarise(&unrounded(), "QWO".into(), None, None, 9, &facts);
        let made = &s.measures["connections_made"];
        assert_eq!(made.total, Figure::Count(34));
        let kinds = made.by_service_kind.as_ref().expect("kinds of connections");
        assert_eq!(kinds.len(), 3);
        assert!(kinds["not_recorded"].is_suppressed());
        assert_eq!(
            kinds.values().filter(|f| f.is_suppressed()).count(),
            2,
            "{kinds:?}"
        );
        assert!(s.measures["referrals"].by_service_kind.is_none());
        // A journey that counts more answers than connections it holds: cell by cell.
        facts[0].journey.connections_made += 1;
        let s = summarise(&unrounded(), "QWO".into(), None, None, 9, &facts);
        let kinds = s.measures["connections_made"]
            .by_service_kind
            .clone()
            .unwrap();
        assert_eq!(kinds["physical activity"], Figure::Count(20));
    }

    #[test]
    fn referrals_by_month_and_source_agree_with_the_measure_and_hide_small_cells() {
        let mut facts: Vec<Fact> = Vec::new();
        for (month, kind, n) in [
            (date!(2026 - 01 - 01), "gp_practice", 30),
            (date!(2026 - 01 - 01), "council", 3),
            (date!(2026 - 02 - 01), "gp_practice", 25),
            (date!(2026 - 02 - 01), "council", 20),
        ] {
            facts.extend((0..n).map(|_| Fact {
                month,
                referrer_kind: kind.into(),
                ..fact("a")
            }));
        }
        let s = summarise(&unrounded(), "QWO".into(), None, None, 9, &facts);
        let cross = &s.referrals_by_month_and_referrer_kind;
        let referrals = &s.measures["referrals"];
        assert_eq!(
            cross.keys().collect::<Vec<_>>(),
            referrals.by_month.keys().collect::<Vec<_>>()
        );
        for row in cross.values() {
            assert_eq!(
                row.keys().collect::<Vec<_>>(),
                referrals.by_referrer_kind.keys().collect::<Vec<_>>()
            );
        }
        assert!(cross["2026-01"]["council"].is_suppressed());
        // Its row and its column each hide a second figure, or the 3 would follow.
        let row = cross["2026-01"]
            .values()
            .filter(|f| f.is_suppressed())
            .count()
            + usize::from(referrals.by_month["2026-01"].is_suppressed());
        let column = cross
            .values()
            .filter(|r| r["council"].is_suppressed())
            .count()
            + usize::from(referrals.by_referrer_kind["council"].is_suppressed());
        assert!(row >= 2 && column >= 2, "{cross:?} {referrals:?}");
        assert_eq!(cross["2026-02"]["gp_practice"], Figure::Count(25));
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
