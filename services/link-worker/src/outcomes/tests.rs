use super::*;
use proptest::prelude::*;

/// The published SWEMWBS raw -> metric conversion (DOMAIN.md, from the Warwick user guide),
/// written out again here so a typo in the table under test cannot hide.
const PUBLISHED: [(u32, f64); 29] = [
    (7, 7.00),
    (8, 9.51),
    (9, 11.25),
    (10, 12.40),
    (11, 13.33),
    (12, 14.08),
    (13, 14.75),
    (14, 15.32),
    (15, 15.84),
    (16, 16.36),
    (17, 16.88),
    (18, 17.43),
    (19, 17.98),
    (20, 18.59),
    (21, 19.25),
    (22, 19.98),
    (23, 20.73),
    (24, 21.54),
    (25, 22.35),
    (26, 23.21),
    (27, 24.11),
    (28, 25.03),
    (29, 26.02),
    (30, 27.03),
    (31, 28.13),
    (32, 29.31),
    (33, 30.70),
    (34, 32.55),
    (35, 35.00),
];

#[test]
fn swemwbs_metric_score_matches_the_published_table_for_every_raw_score() {
    for (raw, metric) in PUBLISHED {
        assert_eq!(swemwbs::metric_score(raw), Some(metric), "raw {raw}");
    }
    for raw in (0..7).chain(36..100) {
        assert_eq!(
            swemwbs::metric_score(raw),
            None,
            "raw {raw} is outside 7-35"
        );
    }
}

#[test]
fn swemwbs_scoring_sums_the_items_then_converts_for_every_raw_score() {
    for (raw, metric) in PUBLISHED {
        // Spread the total over seven items of 1-5.
        let mut items = [1u8; 7];
        let mut left = raw - 7;
        for item in items.iter_mut() {
            let add = left.min(4);
            *item += add as u8;
            left -= add;
        }
        let scored = score(Instrument::Swemwbs, Timepoint::Baseline, &items).expect("valid");
        assert_eq!(scored.raw_score, Some(raw));
        assert_eq!(scored.derived_score, Some(metric));
        assert_eq!(scored.instrument, "swemwbs");
        assert_eq!(scored.item_answers, items.to_vec());
    }
}

#[test]
fn swemwbs_metric_scores_rise_with_raw_scores() {
    for raw in 7..35 {
        assert!(
            swemwbs::metric_score(raw) < swemwbs::metric_score(raw + 1),
            "raw {raw}"
        );
    }
}

#[test]
fn wemwbs_is_the_sum_of_fourteen_items_from_14_to_70() {
    let low = score(Instrument::Wemwbs, Timepoint::Review, &[1; 14]).expect("valid");
    assert_eq!((low.raw_score, low.derived_score), (Some(14), None));
    let high = score(Instrument::Wemwbs, Timepoint::Review, &[5; 14]).expect("valid");
    assert_eq!(high.raw_score, Some(70));
    let mixed = [1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2, 3, 4];
    assert_eq!(
        score(Instrument::Wemwbs, Timepoint::Exit, &mixed)
            .unwrap()
            .raw_score,
        Some(40)
    );
}

#[test]
fn ucla3_is_the_sum_of_three_items_from_3_to_9() {
    for a in 1..=3u8 {
        for b in 1..=3u8 {
            for c in 1..=3u8 {
                let scored =
                    score(Instrument::Ucla3, Timepoint::Baseline, &[a, b, c]).expect("valid");
                assert_eq!(scored.raw_score, Some(u32::from(a + b + c)));
                assert_eq!(scored.derived_score, None);
            }
        }
    }
}

#[test]
fn ons4_keeps_items_separate_and_never_sums_them() {
    let scored = score(Instrument::Ons4, Timepoint::Baseline, &[7, 8, 6, 3]).expect("valid");
    assert_eq!(scored.raw_score, None);
    assert_eq!(scored.derived_score, None);
    assert_eq!(scored.item_answers, vec![7, 8, 6, 3]);
}

#[test]
fn ons4_bands_follow_the_ons_thresholds_for_every_answer() {
    use ons4::{Band, Item};
    let positive = |a: u8| match a {
        0..=4 => Band::Low,
        5 | 6 => Band::Medium,
        7 | 8 => Band::High,
        _ => Band::VeryHigh,
    };
    let anxiety = |a: u8| match a {
        0 | 1 => Band::VeryLow,
        2 | 3 => Band::Low,
        4 | 5 => Band::Medium,
        _ => Band::High,
    };
    for a in 0..=10u8 {
        for item in [
            Item::LifeSatisfaction,
            Item::Worthwhile,
            Item::HappyYesterday,
        ] {
            assert_eq!(ons4::band(item, a), Some(positive(a)), "{item:?} {a}");
        }
        assert_eq!(
            ons4::band(Item::AnxiousYesterday, a),
            Some(anxiety(a)),
            "anxiety {a}"
        );
    }
    // The boundaries, spelled out.
    assert_eq!(ons4::band(Item::LifeSatisfaction, 4), Some(Band::Low));
    assert_eq!(ons4::band(Item::LifeSatisfaction, 9), Some(Band::VeryHigh));
    assert_eq!(ons4::band(Item::AnxiousYesterday, 1), Some(Band::VeryLow));
    assert_eq!(ons4::band(Item::AnxiousYesterday, 6), Some(Band::High));
    for item in ons4::ITEMS {
        assert_eq!(ons4::band(item, 11), None);
    }
    assert_eq!(
        ons4::bands(&[9, 5, 0, 10]),
        Some([Band::VeryHigh, Band::Medium, Band::Low, Band::High])
    );
    assert_eq!(ons4::bands(&[9, 5, 0]), None);
}

#[test]
fn every_instrument_refuses_the_wrong_number_of_items() {
    for instrument in Instrument::ALL {
        let (count, min, _) = instrument.shape();
        for n in [0, count - 1, count + 1] {
            let err = score(instrument, Timepoint::Baseline, &vec![min; n]).unwrap_err();
            assert_eq!(
                err,
                ScoreError::ItemCount {
                    instrument: instrument.as_str(),
                    expected: count,
                    given: n
                }
            );
            assert_eq!(
                (err.rule(), err.field().as_str()),
                ("item_count", "item_answers")
            );
        }
    }
}

#[test]
fn every_instrument_refuses_an_answer_just_outside_its_range_naming_the_item() {
    for instrument in Instrument::ALL {
        let (count, min, max) = instrument.shape();
        for item in 0..count {
            let mut answers = vec![min; count];
            answers[item] = max + 1;
            let err = score(instrument, Timepoint::Exit, &answers).unwrap_err();
            assert_eq!(
                err.field(),
                format!("item_answers.{item}"),
                "{instrument:?}"
            );
            assert_eq!(err.rule(), "item_range");
            if min > 0 {
                answers[item] = min - 1;
                assert!(
                    score(instrument, Timepoint::Exit, &answers).is_err(),
                    "{instrument:?} below range"
                );
            }
        }
    }
}

#[test]
fn results_carry_instrument_and_algorithm_versions_and_the_timepoint() {
    for instrument in Instrument::ALL {
        let (count, min, _) = instrument.shape();
        for timepoint in [Timepoint::Baseline, Timepoint::Review, Timepoint::Exit] {
            let scored = score(instrument, timepoint, &vec![min; count]).unwrap();
            assert_eq!(scored.instrument_version, instrument.instrument_version());
            assert_eq!(scored.algorithm_version, 1);
            assert_eq!(scored.timepoint, timepoint);
        }
    }
}

fn valid_answers() -> impl Strategy<Value = (Instrument, Vec<u8>)> {
    proptest::sample::select(Instrument::ALL.to_vec()).prop_flat_map(|instrument| {
        let (count, min, max) = instrument.shape();
        proptest::collection::vec(min..=max, count).prop_map(move |answers| (instrument, answers))
    })
}

proptest! {
    #[test]
    fn valid_answers_always_score_within_the_instruments_range((instrument, answers) in valid_answers()) {
        let scored = score(instrument, Timepoint::Review, &answers).unwrap();
        let (count, min, max) = instrument.shape();
        match scored.raw_score {
            Some(raw) => {
                prop_assert!(raw >= (count as u32) * u32::from(min) && raw <= (count as u32) * u32::from(max));
                prop_assert_eq!(raw, answers.iter().map(|&a| u32::from(a)).sum::<u32>());
            }
            None => prop_assert_eq!(instrument, Instrument::Ons4),
        }
        if instrument == Instrument::Swemwbs {
            let metric = scored.derived_score.unwrap();
            prop_assert!((7.0..=35.0).contains(&metric));
        }
    }

    #[test]
    fn any_answer_outside_the_range_is_refused(
        (instrument, mut answers) in valid_answers(),
        position in any::<proptest::sample::Index>(),
        bad in any::<u8>(),
    ) {
        let (_, min, max) = instrument.shape();
        prop_assume!(bad < min || bad > max);
        let i = position.index(answers.len());
        answers[i] = bad;
        let refused = matches!(
            score(instrument, Timepoint::Review, &answers),
            Err(ScoreError::OutOfRange { item, value, .. }) if item == i && value == bad
        );
        prop_assert!(refused);
    }
}

#[test]
fn swemwbs_change_counts_three_metric_points_as_meaningful() {
    use swemwbs::{MEANINGFUL_CHANGE, change};
    // Raw 20 (18.59) to raw 24 (21.54) is 2.95: not meaningful; to raw 25 (22.35) is 3.76.
    let m = |raw| swemwbs::metric_score(raw).unwrap();
    assert_eq!(
        change(m(20), m(24), MEANINGFUL_CHANGE),
        Change::NoMeaningfulChange
    );
    assert_eq!(change(m(20), m(25), MEANINGFUL_CHANGE), Change::Improved);
    assert_eq!(change(m(25), m(20), MEANINGFUL_CHANGE), Change::Worse);
    assert_eq!(
        change(10.0, 13.0, MEANINGFUL_CHANGE),
        Change::Improved,
        "exactly 3 counts"
    );
    assert_eq!(change(13.0, 10.0, MEANINGFUL_CHANGE), Change::Worse);
    assert_eq!(
        change(m(7), m(7), MEANINGFUL_CHANGE),
        Change::NoMeaningfulChange
    );
    assert_eq!(
        change(m(20), m(22), 1.0),
        Change::Improved,
        "threshold is configurable"
    );
}
