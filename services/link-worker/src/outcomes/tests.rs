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

/// The concerns a measure of `n` items takes: one per item before wellbeing, for the
/// instruments that ask for them.
fn concerns_for(instrument: Instrument, n: usize) -> Vec<String> {
    if instrument.asks_for_concerns() {
        (1..n).map(|i| format!("Concern {i}")).collect()
    } else {
        Vec::new()
    }
}

/// [`score_with_concerns`] with the concerns the answers call for.
fn scored(
    instrument: Instrument,
    timepoint: Timepoint,
    answers: &[u8],
) -> Result<Scored, ScoreError> {
    let concerns = concerns_for(instrument, answers.len());
    score_with_concerns(instrument, timepoint, answers, &concerns)
}

#[test]
fn every_instrument_refuses_the_wrong_number_of_items() {
    for instrument in Instrument::ALL {
        let (count, min, _) = instrument.shape();
        let counts = instrument.item_counts();
        for n in [0, counts.start() - 1, counts.end() + 1] {
            let err = scored(instrument, Timepoint::Baseline, &vec![min; n]).unwrap_err();
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
            let err = scored(instrument, Timepoint::Exit, &answers).unwrap_err();
            assert_eq!(
                err.field(),
                format!("item_answers.{item}"),
                "{instrument:?}"
            );
            assert_eq!(err.rule(), "item_range");
            if min > 0 {
                answers[item] = min - 1;
                assert!(
                    scored(instrument, Timepoint::Exit, &answers).is_err(),
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
            let result = scored(instrument, timepoint, &vec![min; count]).unwrap();
            assert_eq!(result.instrument_version, instrument.instrument_version());
            assert_eq!(result.algorithm_version, 1);
            assert_eq!(result.timepoint, timepoint);
        }
    }
}

fn valid_answers() -> impl Strategy<Value = (Instrument, Vec<u8>)> {
    proptest::sample::select(Instrument::ALL.to_vec()).prop_flat_map(|instrument| {
        let (_, min, max) = instrument.shape();
        proptest::collection::vec(min..=max, instrument.item_counts())
            .prop_map(move |answers| (instrument, answers))
    })
}

proptest! {
    #[test]
    fn valid_answers_always_score_within_the_instruments_range((instrument, answers) in valid_answers()) {
        let result = scored(instrument, Timepoint::Review, &answers).unwrap();
        let (_, min, max) = instrument.shape();
        let count = answers.len() as u32;
        match result.raw_score {
            Some(raw) => {
                prop_assert!(raw >= count * u32::from(min) && raw <= count * u32::from(max));
                prop_assert_eq!(raw, answers.iter().map(|&a| u32::from(a)).sum::<u32>());
            }
            None => prop_assert!(matches!(instrument, Instrument::Ons4 | Instrument::Mycaw)),
        }
        if instrument == Instrument::Swemwbs {
            let metric = result.derived_score.unwrap();
            prop_assert!((7.0..=35.0).contains(&metric));
        }
        if instrument == Instrument::Mycaw {
            let profile = result.derived_score.unwrap();
            prop_assert!((0.0..=6.0).contains(&profile));
            let mean = answers.iter().map(|&a| f64::from(a)).sum::<f64>() / answers.len() as f64;
            prop_assert!((profile - mean).abs() <= 0.005 + 1e-9);
            prop_assert_eq!(result.personal.unwrap().concerns.len(), answers.len() - 1);
        } else {
            prop_assert!(result.personal.is_none());
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
            scored(instrument, Timepoint::Review, &answers),
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

#[test]
fn mycaw_scores_one_or_two_concerns_and_wellbeing_and_keeps_the_persons_words() {
    let two = score_with_concerns(
        Instrument::Mycaw,
        Timepoint::Baseline,
        &[5, 4, 3],
        &["Getting out on my own".into(), "Money worries".into()],
    )
    .unwrap();
    assert_eq!((two.raw_score, two.derived_score), (None, Some(4.0)));
    assert_eq!(
        two.personal.unwrap().concerns,
        ["Getting out on my own", "Money worries"]
    );
    let one = score_with_concerns(
        Instrument::Mycaw,
        Timepoint::Review,
        &[2, 3],
        &["Sleep".into()],
    )
    .unwrap();
    assert_eq!(one.derived_score, Some(2.5));
    // Thirds round to two decimals.
    let third = score_with_concerns(
        Instrument::Mycaw,
        Timepoint::Exit,
        &[1, 1, 0],
        &["a".into(), "b".into()],
    )
    .unwrap();
    assert_eq!(third.derived_score, Some(0.67));
    assert_eq!(
        mycaw::change(4.0, 2.5),
        1.5,
        "lower is better: a fall is an improvement"
    );
    assert_eq!(mycaw::change(2.5, 4.0), -1.5);
}

#[test]
fn mycaw_needs_a_concern_for_each_item_before_wellbeing_and_others_take_none() {
    let err = score_with_concerns(
        Instrument::Mycaw,
        Timepoint::Baseline,
        &[5, 4, 3],
        &["One".into()],
    )
    .unwrap_err();
    assert_eq!(
        err,
        ScoreError::ConcernCount {
            instrument: "mycaw",
            expected: 2,
            given: 1
        }
    );
    assert_eq!(
        (err.rule(), err.field().as_str()),
        ("concern_count", "concerns")
    );
    let err = score_with_concerns(
        Instrument::Mycaw,
        Timepoint::Baseline,
        &[5, 3],
        &[" ".into()],
    )
    .unwrap_err();
    assert_eq!((err.rule(), err.field().as_str()), ("text", "concerns.0"));
    let long = "x".repeat(mycaw::CONCERN_CHARS + 1);
    let err =
        score_with_concerns(Instrument::Mycaw, Timepoint::Baseline, &[5, 3], &[long]).unwrap_err();
    assert_eq!(err.field(), "concerns.0");
    let err = score_with_concerns(
        Instrument::Ucla3,
        Timepoint::Baseline,
        &[1, 2, 3],
        &["x".into()],
    )
    .unwrap_err();
    assert_eq!(
        err,
        ScoreError::ConcernCount {
            instrument: "ucla3",
            expected: 0,
            given: 1
        }
    );
}
