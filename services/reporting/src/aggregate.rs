//! Raw aggregates of journeys: counts, and the samples means and medians come from.
//!
//! Pure: the API loads the journeys of one commissioner area with their reporting
//! dimensions ([`Fact`]), adds them up into [`Cell`]s per key, and only then applies
//! disclosure control. Nothing here is ever shown unprotected.

use std::collections::BTreeMap;

use time::Date;

use crate::journey::Journey;

/// Reasons a case is declined, in a fixed order (every answer lists them all).
pub const DECLINE_REASONS: [&str; 4] = [
    "out_of_area",
    "not_appropriate",
    "person_declined",
    "referred_elsewhere",
];

/// Reasons a case is closed, in a fixed order.
pub const CLOSURE_REASONS: [&str; 7] = [
    "goals_met",
    "disengaged",
    "could_not_contact",
    "moved_away",
    "referred_elsewhere",
    "died",
    "other",
];

/// Need code used for referrals that carry none.
pub const NO_NEED: &str = "unspecified";

/// One journey with the dimensions it is reported under.
#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    pub journey: Journey,
    /// First day of the month of referral.
    pub month: Date,
    /// Kind of the referring organisation (`unknown` if it is not registered,
    /// `self_referral` for a person who referred themselves).
    pub referrer_kind: String,
    /// The link-worker service (`unrouted` before routing).
    pub service: String,
}

impl Fact {
    /// `YYYY-MM`.
    pub fn month_label(&self) -> String {
        month_label(self.month)
    }

    /// The needs it is counted under: each of its codes, or [`NO_NEED`].
    pub fn needs(&self) -> Vec<String> {
        if self.journey.needs.is_empty() {
            vec![NO_NEED.to_owned()]
        } else {
            self.journey.needs.clone()
        }
    }
}

pub fn month_label(month: Date) -> String {
    format!("{:04}-{:02}", month.year(), u8::from(month.month()))
}

/// Everything counted or sampled over a set of journeys. Counts add up across cells.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    pub referrals: u64,
    pub routed: u64,
    pub accepted: u64,
    pub declined: u64,
    /// Per [`DECLINE_REASONS`], same order.
    pub declined_by_reason: [u64; 4],
    /// The person could not be contacted (attempts exhausted, or closed for that reason).
    pub not_contactable: u64,
    /// A first contact was made.
    pub contacted: u64,
    /// First contact within the configured number of days of referral.
    pub first_contact_within: u64,
    pub plans_agreed: u64,
    pub connections_made: u64,
    pub connections_accepted: u64,
    pub connections_attended: u64,
    pub closed: u64,
    /// Per [`CLOSURE_REASONS`], same order.
    pub closed_by_reason: [u64; 7],
    pub withdrawn: u64,
    /// Days from referral to first contact, one per person contacted.
    pub days_to_first_contact: Vec<i64>,
    /// SWEMWBS metric score change (latest - baseline), one per person with both.
    pub swemwbs_change: Vec<f64>,
    /// ONS4 items at baseline and latest, one per person with both.
    pub ons4_pairs: Vec<([i16; 4], [i16; 4])>,
    /// UCLA-3 change (latest - baseline), one per person with both.
    pub ucla3_change: Vec<i16>,
    /// MYCaW profile score change (baseline - latest, so positive is better), one per
    /// person with both.
    pub mycaw_change: Vec<f64>,
    /// Connections by kind of service: `[made, accepted, attended]` per kind.
    pub connections_by_kind: BTreeMap<String, [u64; 3]>,
}

fn ons4(items: &Option<Vec<i16>>) -> Option<[i16; 4]> {
    items.as_ref().and_then(|v| v.as_slice().try_into().ok())
}

impl Cell {
    /// Counts one journey in. `within_days` is the first-contact target (14).
    pub fn add(&mut self, j: &Journey, within_days: i64) {
        self.referrals += 1;
        self.routed += u64::from(j.routed);
        self.accepted += u64::from(j.accepted);
        if let Some(reason) = &j.declined_reason {
            self.declined += 1;
            if let Some(i) = DECLINE_REASONS.iter().position(|r| r == reason) {
                self.declined_by_reason[i] += 1;
            }
        }
        if let (Some(first), Some(referred)) = (j.first_contact_on, j.referred_on) {
            let days = (first - referred).whole_days().max(0);
            self.contacted += 1;
            self.first_contact_within += u64::from(days <= within_days);
            self.days_to_first_contact.push(days);
        }
        self.plans_agreed += u64::from(j.plan_agreed);
        self.connections_made += j.connections_made.max(0) as u64;
        self.connections_accepted += j.connections_accepted.max(0) as u64;
        self.connections_attended += j.connections_attended.max(0) as u64;
        if let Some(reason) = &j.closed_reason {
            self.closed += 1;
            if let Some(i) = CLOSURE_REASONS.iter().position(|r| r == reason) {
                self.closed_by_reason[i] += 1;
            }
        }
        // Not contactable: the service gave up after its attempts (and never reached the
        // person), or closed the case for that reason.
        let gave_up = j.could_not_contact && j.first_contact_on.is_none();
        self.not_contactable +=
            u64::from(gave_up || j.closed_reason.as_deref() == Some("could_not_contact"));
        self.withdrawn += u64::from(j.withdrawn);
        if let (Some(b), Some(l)) = (j.swemwbs_baseline, j.swemwbs_latest) {
            self.swemwbs_change.push(l - b);
        }
        if let (Some(b), Some(l)) = (ons4(&j.ons4_baseline), ons4(&j.ons4_latest)) {
            self.ons4_pairs.push((b, l));
        }
        if let (Some(b), Some(l)) = (j.ucla3_baseline, j.ucla3_latest) {
            self.ucla3_change.push(l - b);
        }
        if let (Some(b), Some(l)) = (j.mycaw_baseline, j.mycaw_latest) {
            self.mycaw_change.push(((b - l) * 100.0).round() / 100.0);
        }
        for c in &j.connections {
            let counts = self.connections_by_kind.entry(c.kind.clone()).or_default();
            counts[0] += u64::from(c.made);
            counts[1] += u64::from(c.accepted);
            counts[2] += u64::from(c.attended);
        }
    }

    /// The count measures broken down by kind of service (`connections_made`,
    /// `connections_accepted`, `connections_attended`), as `(kind, count)` in kind order,
    /// when the kinds add up to the measure's total. They do unless the log holds events the
    /// journey cannot tell apart (an answer given twice); then `None`, and the kinds are
    /// protected cell by cell.
    pub fn by_kind(&self, measure: &str) -> Option<Vec<(String, u64)>> {
        let (index, total) = match measure {
            "connections_made" => (0, self.connections_made),
            "connections_accepted" => (1, self.connections_accepted),
            "connections_attended" => (2, self.connections_attended),
            _ => return None,
        };
        let cells: Vec<(String, u64)> = self
            .connections_by_kind
            .iter()
            .map(|(kind, counts)| (kind.clone(), counts[index]))
            .collect();
        (cells.iter().map(|(_, n)| n).sum::<u64>() == total).then_some(cells)
    }

    /// Per kind of service, the count of `measure`, whether or not they add up.
    pub fn kind_counts(&self, measure: &str) -> Vec<(String, u64)> {
        let index = match measure {
            "connections_accepted" => 1,
            "connections_attended" => 2,
            _ => 0,
        };
        self.connections_by_kind
            .iter()
            .map(|(kind, counts)| (kind.clone(), counts[index]))
            .collect()
    }

    /// Count measures by name, in the order answers show them. Each one adds up across
    /// cells, so breakdowns of it add up to its total.
    pub fn counts(&self) -> [(&'static str, u64); 13] {
        [
            ("referrals", self.referrals),
            ("routed", self.routed),
            ("accepted", self.accepted),
            ("declined", self.declined),
            ("not_contactable", self.not_contactable),
            ("first_contact_made", self.contacted),
            ("first_contact_within_14_days", self.first_contact_within),
            ("plans_agreed", self.plans_agreed),
            ("connections_made", self.connections_made),
            ("connections_accepted", self.connections_accepted),
            ("connections_attended", self.connections_attended),
            ("closed", self.closed),
            ("withdrawn", self.withdrawn),
        ]
    }

    /// People whose SWEMWBS metric score rose by at least `meaningful` points.
    pub fn swemwbs_improved(&self, meaningful: f64) -> u64 {
        self.swemwbs_change
            .iter()
            .filter(|&&c| c >= meaningful - 1e-9)
            .count() as u64
    }

    /// People whose MYCaW profile score fell at all (0 is best). No threshold of a
    /// meaningful change is published for the profile score, so none is assumed.
    pub fn mycaw_improved(&self) -> u64 {
        self.mycaw_change.iter().filter(|&&c| c > 1e-9).count() as u64
    }
}

pub fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

pub fn median(values: &[i64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_unstable();
    let mid = v.len() / 2;
    Some(if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) as f64 / 2.0
    } else {
        v[mid] as f64
    })
}

/// Adds facts up into cells keyed by `key` (a fact may fall in several, e.g. per need).
pub fn group_by<K: Ord>(
    facts: &[Fact],
    within_days: i64,
    mut keys: impl FnMut(&Fact) -> Vec<K>,
) -> BTreeMap<K, Cell> {
    let mut cells: BTreeMap<K, Cell> = BTreeMap::new();
    for fact in facts {
        for key in keys(fact) {
            cells
                .entry(key)
                .or_default()
                .add(&fact.journey, within_days);
        }
    }
    cells
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn journey(referred: Date, first_contact: Option<Date>) -> Journey {
        Journey {
            pseudonym: "p".into(),
            referred_on: Some(referred),
            first_contact_on: first_contact,
            routed: true,
            accepted: true,
            ..Journey::default()
        }
    }

    #[test]
    fn first_contact_within_14_days_counts_day_14_and_not_15() {
        let mut cell = Cell::default();
        cell.add(
            &journey(date!(2026 - 01 - 01), Some(date!(2026 - 01 - 15))),
            14,
        );
        cell.add(
            &journey(date!(2026 - 01 - 01), Some(date!(2026 - 01 - 16))),
            14,
        );
        cell.add(&journey(date!(2026 - 01 - 01), None), 14);
        assert_eq!((cell.contacted, cell.first_contact_within), (2, 1));
        assert_eq!(cell.days_to_first_contact, vec![14, 15]);
        assert_eq!(median(&cell.days_to_first_contact), Some(14.5));
    }

    #[test]
    fn reasons_and_outcomes_are_counted() {
        let mut j = journey(date!(2026 - 01 - 01), None);
        j.accepted = false;
        j.declined_reason = Some("person_declined".into());
        j.closed_reason = Some("could_not_contact".into());
        j.swemwbs_baseline = Some(15.0);
        j.swemwbs_latest = Some(18.0);
        j.ons4_baseline = Some(vec![1, 2, 3, 4]);
        j.ons4_latest = Some(vec![5, 6, 7, 8]);
        j.ucla3_baseline = Some(8);
        j.ucla3_latest = Some(5);
        j.mycaw_baseline = Some(4.33);
        j.mycaw_latest = Some(2.5);
        let mut cell = Cell::default();
        cell.add(&j, 14);
        assert_eq!(cell.mycaw_change, vec![1.83]);
        assert_eq!(cell.mycaw_improved(), 1);
        assert_eq!(cell.declined_by_reason, [0, 0, 1, 0]);
        assert_eq!(cell.closed_by_reason, [0, 0, 1, 0, 0, 0, 0]);
        assert_eq!(cell.not_contactable, 1);
        assert_eq!(cell.swemwbs_improved(3.0), 1);
        assert_eq!(cell.swemwbs_improved(3.5), 0);
        assert_eq!(cell.ons4_pairs, vec![([1, 2, 3, 4], [5, 6, 7, 8])]);
        assert_eq!(cell.ucla3_change, vec![-3]);
    }

    #[test]
    fn median_and_mean() {
        assert_eq!(median(&[5, 1, 3]), Some(3.0));
        assert_eq!(median(&[]), None);
        assert_eq!(mean([1.0, 2.0].into_iter()), Some(1.5));
        assert_eq!(mean(std::iter::empty()), None);
    }
}
