//! The figures a commissioner should see for a synthetic population, computed here
//! independently of the service's code, and how a shown figure is checked against them.

use linkway_events::case::ClosureReason;

use crate::population::{Decision, Plan};

/// SWEMWBS raw -> metric, typed in from the Warwick table (independent of the service).
pub fn swemwbs_metric(raw: u32) -> f64 {
    [
        7.00, 9.51, 11.25, 12.40, 13.33, 14.08, 14.75, 15.32, 15.84, 16.36, 16.88, 17.43, 17.98,
        18.59, 19.25, 19.98, 20.73, 21.54, 22.35, 23.21, 24.11, 25.03, 26.02, 27.03, 28.13, 29.31,
        30.70, 32.55, 35.00,
    ][(raw - 7) as usize]
}

/// The NHS rule on one count, written out again here.
pub fn shown(n: u64) -> serde_json::Value {
    match n {
        0 => serde_json::json!(0),
        1..=7 => serde_json::json!("*"),
        _ => serde_json::json!((n + 2) / 5 * 5),
    }
}

/// A figure of a table: primary suppressed, or rounded, or secondarily suppressed.
pub fn assert_figure(what: &str, figure: &serde_json::Value, truth: u64) {
    let expected = shown(truth);
    assert!(
        *figure == expected || (truth > 7 && figure == "*"),
        "{what}: shown {figure}, true {truth}, expected {expected}"
    );
}

/// Independent expected counts over the plans (entered-in-error ones excluded).
#[derive(Debug, Default, Clone)]
pub struct Expected {
    pub referrals: u64,
    pub routed: u64,
    pub accepted: u64,
    pub declined: u64,
    pub declined_by_reason: std::collections::BTreeMap<String, u64>,
    pub first_contact_made: u64,
    pub first_contact_within_14_days: u64,
    pub days: Vec<i64>,
    pub plans_agreed: u64,
    pub connections_made: u64,
    pub connections_accepted: u64,
    pub connections_attended: u64,
    pub closed: u64,
    pub withdrawn: u64,
    pub not_contactable: u64,
    pub closed_by_reason: std::collections::BTreeMap<String, u64>,
    pub swemwbs_changes: Vec<f64>,
    pub ons4: Vec<([u8; 4], [u8; 4])>,
    pub ucla3_changes: Vec<f64>,
    /// MYCaW profile score, baseline minus later (positive is better).
    pub mycaw_changes: Vec<f64>,
}

pub fn expected<'a>(plans: impl Iterator<Item = &'a Plan>) -> Expected {
    let mut e = Expected::default();
    for p in plans.filter(|p| !p.entered_in_error) {
        e.referrals += 1;
        e.routed += u64::from(p.routed_to.is_some());
        match p.decision {
            Some(Decision::Accept) => e.accepted += 1,
            Some(Decision::Decline(r)) => {
                e.declined += 1;
                let name = serde_json::to_value(r)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned();
                *e.declined_by_reason.entry(name).or_default() += 1;
            }
            None => {}
        }
        if let Some(after) = p.first_contact_after.filter(|_| p.contacts > 0) {
            e.first_contact_made += 1;
            e.first_contact_within_14_days += u64::from(after <= 14);
            e.days.push(after);
        }
        e.plans_agreed += u64::from(p.plan_agreed);
        e.withdrawn += u64::from(p.withdrawn);
        e.connections_made += p.connections.len() as u64;
        e.connections_accepted += p.connections.iter().filter(|c| c.0).count() as u64;
        e.connections_attended += p.connections.iter().filter(|c| c.1).count() as u64;
        let contacted = p.first_contact_after.is_some() && p.contacts > 0;
        e.not_contactable += u64::from(
            (p.gave_up && !contacted) || p.closed == Some(ClosureReason::CouldNotContact),
        );
        if let Some(r) = p.closed {
            e.closed += 1;
            let name = serde_json::to_value(r)
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned();
            *e.closed_by_reason.entry(name).or_default() += 1;
        }
        if let Some((b, l)) = p.swemwbs {
            e.swemwbs_changes
                .push(swemwbs_metric(l) - swemwbs_metric(b));
        }
        if let Some(pair) = p.ons4 {
            e.ons4.push(pair);
        }
        if let Some((b, l)) = p.ucla3 {
            let sum = |a: [u8; 3]| a.iter().map(|&x| f64::from(x)).sum::<f64>();
            e.ucla3_changes.push(sum(l) - sum(b));
        }
        if let Some((b, l)) = &p.mycaw {
            // The profile score: the mean of the answers, to two decimals.
            let profile = |a: &[u8]| {
                let mean = a.iter().map(|&x| f64::from(x)).sum::<f64>() / a.len() as f64;
                (mean * 100.0).round() / 100.0
            };
            e.mycaw_changes
                .push(((profile(b) - profile(l)) * 100.0).round() / 100.0);
        }
    }
    e
}

pub fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

pub fn median(v: &[i64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_unstable();
    let m = v.len() / 2;
    if v.len().is_multiple_of(2) {
        (v[m - 1] + v[m]) as f64 / 2.0
    } else {
        v[m] as f64
    }
}

/// A shown statistic is the true one to 2 decimals (or `*` when `people` <= 7).
pub fn assert_statistic(what: &str, shown: &serde_json::Value, truth: f64, people: usize) {
    if people <= 7 {
        assert_eq!(shown, "*", "{what}");
    } else {
        let v = shown.as_f64().unwrap_or_else(|| panic!("{what}: {shown}"));
        assert!((v - truth).abs() < 0.006, "{what}: shown {v}, true {truth}");
    }
}
