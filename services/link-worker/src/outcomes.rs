//! Outcome measures, scored exactly as the instruments define them. Pure and versioned.
//!
//! Each instrument validates its answers (item count and range) and produces a [`Scored`]
//! result that carries the questionnaire version and the version of the scoring algorithm
//! here, so a stored score can always be traced to the code that made it. Change a scoring
//! rule only by bumping its `ALGORITHM_VERSION`.
//!
//! - ONS4: four items 0-10, reported separately with bands, never summed.
//! - SWEMWBS: 7 items 1-5, raw 7-35, converted to the metric score by the published table.
//! - WEMWBS: 14 items 1-5, total 14-70.
//! - UCLA 3-item loneliness: 3 items 1-3, total 3-9 (higher is lonelier).
//! - MYCaW (Measure Yourself Concerns and Wellbeing): one or two concerns the person names
//!   in their own words, then general wellbeing, each 0-6 (0 is best); the profile score
//!   is their mean, and a change is the earlier profile minus the later (positive is better).

pub mod questions;

use linkway_events::case::{OutcomePersonal, Timepoint};
use serde::{Deserialize, Serialize};

/// The instruments Linkway scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Instrument {
    Ons4,
    Swemwbs,
    Wemwbs,
    Ucla3,
    Mycaw,
}

impl Instrument {
    pub const ALL: [Instrument; 5] = [
        Instrument::Ons4,
        Instrument::Swemwbs,
        Instrument::Wemwbs,
        Instrument::Ucla3,
        Instrument::Mycaw,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Instrument::Ons4 => "ons4",
            Instrument::Swemwbs => "swemwbs",
            Instrument::Wemwbs => "wemwbs",
            Instrument::Ucla3 => "ucla3",
            Instrument::Mycaw => "mycaw",
        }
    }

    /// How many items (the most), and the lowest and highest answer each item allows.
    pub fn shape(self) -> (usize, u8, u8) {
        match self {
            Instrument::Ons4 => (4, 0, 10),
            Instrument::Swemwbs => (7, 1, 5),
            Instrument::Wemwbs => (14, 1, 5),
            Instrument::Ucla3 => (3, 1, 3),
            Instrument::Mycaw => (3, 0, 6),
        }
    }

    /// How many items a measure may answer: all of them, but for MYCaW, whose second
    /// concern is optional (concern 1, [concern 2], wellbeing).
    pub fn item_counts(self) -> std::ops::RangeInclusive<usize> {
        match self {
            Instrument::Mycaw => 2..=3,
            other => other.shape().0..=other.shape().0,
        }
    }

    /// Whether the person names what is scored in their own words (one per item but the
    /// last): MYCaW's concerns.
    pub fn asks_for_concerns(self) -> bool {
        self == Instrument::Mycaw
    }

    /// The questionnaire version answers are recorded against.
    pub fn instrument_version(self) -> &'static str {
        match self {
            Instrument::Ons4 => "ons4-2011",
            Instrument::Swemwbs => "swemwbs-7-v1",
            Instrument::Wemwbs => "wemwbs-14-v1",
            Instrument::Ucla3 => "ucla3-hughes-2004",
            Instrument::Mycaw => "mycaw-v1",
        }
    }

    /// The version of the scoring function below.
    pub fn algorithm_version(self) -> u32 {
        match self {
            Instrument::Ons4 => ons4::ALGORITHM_VERSION,
            Instrument::Swemwbs => swemwbs::ALGORITHM_VERSION,
            Instrument::Wemwbs => wemwbs::ALGORITHM_VERSION,
            Instrument::Ucla3 => ucla3::ALGORITHM_VERSION,
            Instrument::Mycaw => mycaw::ALGORITHM_VERSION,
        }
    }
}

/// Why answers cannot be scored. Each names the item (0-based) where it applies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScoreError {
    #[error("{instrument} has {expected} items; {given} answers given")]
    ItemCount {
        instrument: &'static str,
        expected: usize,
        given: usize,
    },
    #[error("item {item} of {instrument} must be {min}-{max}; {value} given")]
    OutOfRange {
        instrument: &'static str,
        item: usize,
        min: u8,
        max: u8,
        value: u8,
    },
    #[error(
        "{instrument} scores {expected} concerns in the person's words (one per item before wellbeing); {given} given"
    )]
    ConcernCount {
        instrument: &'static str,
        expected: usize,
        given: usize,
    },
    #[error("concern {item} must be a line of 1 to {max} characters")]
    ConcernText { item: usize, max: usize },
}

impl ScoreError {
    /// The rule broken, for problem+json.
    pub fn rule(&self) -> &'static str {
        match self {
            ScoreError::ItemCount { .. } => "item_count",
            ScoreError::OutOfRange { .. } => "item_range",
            ScoreError::ConcernCount { .. } => "concern_count",
            ScoreError::ConcernText { .. } => "text",
        }
    }

    /// The offending field within a request's `item_answers`.
    pub fn field(&self) -> String {
        match self {
            ScoreError::ItemCount { .. } => "item_answers".into(),
            ScoreError::OutOfRange { item, .. } => format!("item_answers.{item}"),
            ScoreError::ConcernCount { .. } => "concerns".into(),
            ScoreError::ConcernText { item, .. } => format!("concerns.{item}"),
        }
    }
}

/// A scored measure, ready to be recorded as `case.outcome_recorded`.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    pub instrument: &'static str,
    pub instrument_version: &'static str,
    pub algorithm_version: u32,
    pub timepoint: Timepoint,
    pub item_answers: Vec<u8>,
    /// Sum of the answers, where the instrument defines one (not for ONS4).
    pub raw_score: Option<u32>,
    /// The derived score (SWEMWBS metric score, MYCaW profile score), where the
    /// instrument defines one.
    pub derived_score: Option<f64>,
    /// The person's own words the measure scored (MYCaW's concerns).
    pub personal: Option<OutcomePersonal>,
}

fn validate(instrument: Instrument, answers: &[u8]) -> Result<(), ScoreError> {
    let (count, min, max) = instrument.shape();
    if !instrument.item_counts().contains(&answers.len()) {
        return Err(ScoreError::ItemCount {
            instrument: instrument.as_str(),
            expected: count,
            given: answers.len(),
        });
    }
    if let Some((item, &value)) = answers
        .iter()
        .enumerate()
        .find(|(_, v)| !(min..=max).contains(*v))
    {
        return Err(ScoreError::OutOfRange {
            instrument: instrument.as_str(),
            item,
            min,
            max,
            value,
        });
    }
    Ok(())
}

fn sum(answers: &[u8]) -> u32 {
    answers.iter().map(|&a| u32::from(a)).sum()
}

/// Whether this process writes `case.outcome_recorded` in a version that keeps concerns (not
/// while pinned to version 1 for a rolling upgrade).
pub fn concerns_writable() -> bool {
    linkway_events::write_versions::installed().version_of("case.outcome_recorded", 2) >= 2
}

/// Validates and scores answers to an instrument that asks for no words of the person's.
pub fn score(
    instrument: Instrument,
    timepoint: Timepoint,
    answers: &[u8],
) -> Result<Scored, ScoreError> {
    score_with_concerns(instrument, timepoint, answers, &[])
}

/// Validates and scores answers to any instrument, with the concerns (already cleaned by
/// the platform's text rule) of one that asks for them.
pub fn score_with_concerns(
    instrument: Instrument,
    timepoint: Timepoint,
    answers: &[u8],
    concerns: &[String],
) -> Result<Scored, ScoreError> {
    validate(instrument, answers)?;
    let expected = if instrument.asks_for_concerns() {
        answers.len() - 1
    } else {
        0
    };
    if concerns.len() != expected {
        return Err(ScoreError::ConcernCount {
            instrument: instrument.as_str(),
            expected,
            given: concerns.len(),
        });
    }
    if let Some(item) = concerns
        .iter()
        .position(|c| c.trim().is_empty() || c.chars().count() > mycaw::CONCERN_CHARS)
    {
        return Err(ScoreError::ConcernText {
            item,
            max: mycaw::CONCERN_CHARS,
        });
    }
    let (raw_score, derived_score) = match instrument {
        Instrument::Ons4 => (None, None),
        Instrument::Swemwbs => {
            let raw = sum(answers);
            (Some(raw), swemwbs::metric_score(raw))
        }
        Instrument::Wemwbs | Instrument::Ucla3 => (Some(sum(answers)), None),
        Instrument::Mycaw => (None, Some(mycaw::profile_score(answers))),
    };
    Ok(Scored {
        instrument: instrument.as_str(),
        instrument_version: instrument.instrument_version(),
        algorithm_version: instrument.algorithm_version(),
        timepoint,
        item_answers: answers.to_vec(),
        raw_score,
        derived_score,
        personal: (!concerns.is_empty()).then(|| OutcomePersonal {
            concerns: concerns.to_vec(),
        }),
    })
}

/// ONS personal well-being: four questions, each reported on its own with a band.
pub mod ons4 {
    use serde::Serialize;

    pub const ALGORITHM_VERSION: u32 = 1;

    /// The four items, in the questionnaire's order.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Item {
        LifeSatisfaction,
        Worthwhile,
        HappyYesterday,
        AnxiousYesterday,
    }

    pub const ITEMS: [Item; 4] = [
        Item::LifeSatisfaction,
        Item::Worthwhile,
        Item::HappyYesterday,
        Item::AnxiousYesterday,
    ];

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum Band {
        VeryLow,
        Low,
        Medium,
        High,
        VeryHigh,
    }

    /// The ONS band of one answer (0-10). Anxiety runs the other way: high is bad.
    /// `None` when the answer is outside 0-10.
    pub fn band(item: Item, answer: u8) -> Option<Band> {
        let band = match item {
            Item::AnxiousYesterday => match answer {
                0..=1 => Band::VeryLow,
                2..=3 => Band::Low,
                4..=5 => Band::Medium,
                6..=10 => Band::High,
                _ => return None,
            },
            _ => match answer {
                0..=4 => Band::Low,
                5..=6 => Band::Medium,
                7..=8 => Band::High,
                9..=10 => Band::VeryHigh,
                _ => return None,
            },
        };
        Some(band)
    }

    /// The bands of four answers, in item order.
    pub fn bands(answers: &[u8]) -> Option<[Band; 4]> {
        if answers.len() != 4 {
            return None;
        }
        Some([
            band(ITEMS[0], answers[0])?,
            band(ITEMS[1], answers[1])?,
            band(ITEMS[2], answers[2])?,
            band(ITEMS[3], answers[3])?,
        ])
    }
}

/// Short Warwick-Edinburgh Mental Well-being Scale (7 items).
pub mod swemwbs {
    pub const ALGORITHM_VERSION: u32 = 1;

    /// Raw score -> metric score, raw 7 to 35 (Warwick conversion table).
    const METRIC: [f64; 29] = [
        7.00, 9.51, 11.25, 12.40, 13.33, 14.08, 14.75, 15.32, 15.84, 16.36, 16.88, 17.43, 17.98,
        18.59, 19.25, 19.98, 20.73, 21.54, 22.35, 23.21, 24.11, 25.03, 26.02, 27.03, 28.13, 29.31,
        30.70, 32.55, 35.00,
    ];

    /// The metric score of a raw total; `None` outside 7-35.
    pub fn metric_score(raw: u32) -> Option<f64> {
        let index = raw.checked_sub(7)? as usize;
        METRIC.get(index).copied()
    }

    /// A meaningful individual change in metric score: about 3 points (configurable).
    pub const MEANINGFUL_CHANGE: f64 = 3.0;

    /// Whether a person's metric score moved by at least `threshold` between two measures.
    pub fn change(earlier: f64, later: f64, threshold: f64) -> super::Change {
        let delta = later - earlier;
        // The table has two decimals; compare in hundredths so 3.00 counts as 3.
        let (delta, threshold) = ((delta * 100.0).round(), (threshold * 100.0).round());
        if delta >= threshold {
            super::Change::Improved
        } else if delta <= -threshold {
            super::Change::Worse
        } else {
            super::Change::NoMeaningfulChange
        }
    }
}

/// How a person's well-being moved between two measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Improved,
    NoMeaningfulChange,
    Worse,
}

/// Warwick-Edinburgh Mental Well-being Scale (14 items), a simple sum.
pub mod wemwbs {
    pub const ALGORITHM_VERSION: u32 = 1;
}

/// UCLA 3-item loneliness scale, a simple sum; no official cut-off.
pub mod ucla3 {
    pub const ALGORITHM_VERSION: u32 = 1;
}

/// Measure Yourself Concerns and Wellbeing: each concern and wellbeing scored 0-6, where
/// 0 is best ("not bothering me at all", "as good as it could be").
pub mod mycaw {
    pub const ALGORITHM_VERSION: u32 = 1;

    /// Longest concern kept, in characters (the event schema's limit).
    pub const CONCERN_CHARS: usize = 500;

    /// The profile score: the mean of the answers (concerns and wellbeing), to two
    /// decimals. Lower is better.
    pub fn profile_score(answers: &[u8]) -> f64 {
        let total: u32 = answers.iter().map(|&a| u32::from(a)).sum();
        let mean = f64::from(total) / answers.len().max(1) as f64;
        (mean * 100.0).round() / 100.0
    }

    /// How the profile moved between two measures: the earlier minus the later, so a
    /// positive change is an improvement (0 is best).
    pub fn change(earlier: f64, later: f64) -> f64 {
        ((earlier - later) * 100.0).round() / 100.0
    }
}

#[cfg(test)]
mod tests;
