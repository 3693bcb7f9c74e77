//! The figures both answers share (first contact, outcome measures) and how a group of
//! journeys becomes them, disclosure-controlled.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::Settings;
use crate::aggregate::{self, Cell};
use crate::disclosure::{Figure, Rules, Statistic, percentage};

/// How fast people were first seen.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FirstContact {
    /// First contact within 14 days as a percentage of accepted referrals (shown figures).
    pub percent_within_14_days: Option<Statistic>,
    /// Median days from referral to first contact.
    pub median_days: Option<Statistic>,
}

/// ONS4 item means.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Ons4Items {
    pub life_satisfaction: Option<Statistic>,
    pub worthwhile: Option<Statistic>,
    pub happy: Option<Statistic>,
    pub anxious: Option<Statistic>,
}

/// SWEMWBS, per person with a baseline and a later score.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SwemwbsOutcome {
    pub people: Figure,
    /// Mean change of the metric score (latest - baseline).
    pub mean_change: Option<Statistic>,
    /// People whose metric score rose by at least `meaningful_change`.
    pub improved: Figure,
    pub percent_improved: Option<Statistic>,
    pub meaningful_change: f64,
}

/// ONS4, per person with a baseline and a later answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Ons4Outcome {
    pub people: Figure,
    pub baseline_means: Ons4Items,
    pub latest_means: Ons4Items,
}

/// UCLA 3-item loneliness, per person with a baseline and a later score (lower is better).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Ucla3Outcome {
    pub people: Figure,
    pub mean_change: Option<Statistic>,
}

/// MYCaW (Measure Yourself Concerns and Wellbeing), per person with a baseline and a later
/// profile score. The profile score is 0-6 and lower is better, so a change is the baseline
/// minus the latest: positive is an improvement.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MycawOutcome {
    pub people: Figure,
    /// Mean change of the profile score (baseline - latest; positive is better).
    pub mean_change: Option<Statistic>,
    /// People whose profile score fell (improved) by any amount.
    pub improved: Figure,
    pub percent_improved: Option<Statistic>,
}

/// Outcome measures, baseline against latest.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Outcomes {
    pub swemwbs: SwemwbsOutcome,
    pub ons4: Ons4Outcome,
    pub ucla3: Ucla3Outcome,
    pub mycaw: MycawOutcome,
}

pub(super) fn labelled(
    keys: impl Iterator<Item = String>,
    figures: &[Figure],
) -> BTreeMap<String, Figure> {
    keys.zip(figures.iter().copied()).collect()
}

pub(super) fn reasons(names: &[&str], figures: &[Figure]) -> BTreeMap<String, Figure> {
    labelled(names.iter().map(|s| (*s).to_owned()), figures)
}

pub(super) fn ons4_means(rules: &Rules, pairs: &[([i16; 4], [i16; 4])], latest: bool) -> Ons4Items {
    let item = |i: usize| {
        let value = aggregate::mean(
            pairs
                .iter()
                .map(|(b, l)| f64::from(if latest { l[i] } else { b[i] })),
        );
        rules.statistic(value, pairs.len() as u64)
    };
    Ons4Items {
        life_satisfaction: item(0),
        worthwhile: item(1),
        happy: item(2),
        anxious: item(3),
    }
}

pub(super) fn outcomes(settings: &Settings, cell: &Cell) -> Outcomes {
    let rules = &settings.disclosure;
    let swemwbs_people = rules.count(cell.swemwbs_change.len() as u64);
    let improved = rules.count(cell.swemwbs_improved(settings.meaningful_swemwbs_change));
    let mycaw_people = rules.count(cell.mycaw_change.len() as u64);
    let mycaw_improved = rules.count(cell.mycaw_improved());
    Outcomes {
        swemwbs: SwemwbsOutcome {
            people: swemwbs_people,
            mean_change: rules.statistic(
                aggregate::mean(cell.swemwbs_change.iter().copied()),
                cell.swemwbs_change.len() as u64,
            ),
            improved,
            percent_improved: percentage(improved, swemwbs_people),
            meaningful_change: settings.meaningful_swemwbs_change,
        },
        ons4: Ons4Outcome {
            people: rules.count(cell.ons4_pairs.len() as u64),
            baseline_means: ons4_means(rules, &cell.ons4_pairs, false),
            latest_means: ons4_means(rules, &cell.ons4_pairs, true),
        },
        ucla3: Ucla3Outcome {
            people: rules.count(cell.ucla3_change.len() as u64),
            mean_change: rules.statistic(
                aggregate::mean(cell.ucla3_change.iter().map(|&c| f64::from(c))),
                cell.ucla3_change.len() as u64,
            ),
        },
        mycaw: MycawOutcome {
            people: mycaw_people,
            mean_change: rules.statistic(
                aggregate::mean(cell.mycaw_change.iter().copied()),
                cell.mycaw_change.len() as u64,
            ),
            improved: mycaw_improved,
            percent_improved: percentage(mycaw_improved, mycaw_people),
        },
    }
}

pub(super) fn first_contact(
    rules: &Rules,
    cell: &Cell,
    within: Figure,
    accepted: Figure,
) -> FirstContact {
    FirstContact {
        percent_within_14_days: percentage(within, accepted),
        median_days: rules.statistic(
            aggregate::median(&cell.days_to_first_contact),
            cell.days_to_first_contact.len() as u64,
        ),
    }
}
