//! Disclosure control: the NHS rule on single figures, and differencing attacks on tables.
//!
//! The attacker here is independent of the module's audit: it enumerates, by brute force
//! over sets of sums (no interval arithmetic), every assignment of true values consistent
//! with what a table shows, knowing the rule and even which `*` are primary (1..=t) and
//! which secondary (> t), and reports every value a suppressed figure could have.

use proptest::prelude::*;

use super::*;

fn star() -> Figure {
    Figure::Suppressed(Star::Star)
}

/// Values a shown figure stands for, up to `cap`, as the attacker sees it.
fn domain(rules: &Rules, shown: Figure, truth: u64, cap: u64) -> Vec<u64> {
    match shown {
        Figure::Count(_) => (0..=cap).filter(|&v| rules.count(v) == shown).collect(),
        Figure::Suppressed(_) if truth <= rules.threshold => (1..=rules.threshold).collect(),
        Figure::Suppressed(_) => (rules.threshold + 1..=cap).collect(),
    }
}

/// Sums reachable by picking one value from each domain, up to `cap`.
fn reachable(domains: &[&Vec<u64>], cap: u64) -> Vec<bool> {
    let mut reach = vec![false; cap as usize + 1];
    reach[0] = true;
    for d in domains {
        let mut next = vec![false; cap as usize + 1];
        for (s, _) in reach.iter().enumerate().filter(|(_, r)| **r) {
            for &v in d.iter() {
                let t = s as u64 + v;
                if t <= cap {
                    next[t as usize] = true;
                }
            }
        }
        reach = next;
    }
    reach
}

/// A suppressed figure (the total as `None`, a cell as `Some((breakdown, cell))`) and the
/// values it could have.
type Candidates = (Option<(usize, usize)>, Vec<u64>);

/// For each primarily suppressed figure (the total as `None`, cells as `Some((g, c))`),
/// every value consistent with the shown table.
fn attack(rules: &Rules, table: &Table, shown: &ProtectedTable) -> Vec<Candidates> {
    let cap = table.total + 3 * rules.rounding + rules.threshold + 10;
    let total_domain = domain(rules, shown.total, table.total, cap);
    let domains: Vec<Vec<Vec<u64>>> = table
        .breakdowns
        .iter()
        .zip(&shown.breakdowns)
        .map(|(g, s)| {
            g.iter()
                .zip(s)
                .map(|(&t, &f)| domain(rules, f, t, cap))
                .collect()
        })
        .collect();
    let sums: Vec<Vec<bool>> = domains
        .iter()
        .map(|g| reachable(&g.iter().collect::<Vec<_>>(), cap))
        .collect();
    let totals_allowed = |except: Option<usize>| -> Vec<u64> {
        total_domain
            .iter()
            .copied()
            .filter(|&t| {
                sums.iter()
                    .enumerate()
                    .all(|(h, s)| Some(h) == except || s[t as usize])
            })
            .collect()
    };
    let mut out = Vec::new();
    if shown.total.is_suppressed() && table.total <= rules.threshold {
        out.push((None, totals_allowed(None)));
    }
    for (g, group) in table.breakdowns.iter().enumerate() {
        let totals = totals_allowed(Some(g));
        for (c, &truth) in group.iter().enumerate() {
            if !(shown.breakdowns[g][c].is_suppressed() && truth <= rules.threshold) {
                continue;
            }
            let others: Vec<&Vec<u64>> = domains[g]
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != c)
                .map(|(_, d)| d)
                .collect();
            let rest = reachable(&others, cap);
            let candidates: Vec<u64> = domains[g][c]
                .iter()
                .copied()
                .filter(|&v| totals.iter().any(|&t| t >= v && rest[(t - v) as usize]))
                .collect();
            out.push((Some((g, c)), candidates));
        }
    }
    out
}

/// Primary suppression and rounding only: what the rule would show without step 5.
fn primary_only(rules: &Rules, table: &Table) -> ProtectedTable {
    ProtectedTable {
        total: rules.count(table.total),
        breakdowns: table.breakdowns.iter().map(|g| rules.cells(g)).collect(),
        exposed: false,
    }
}

#[test]
fn the_nhs_rule_on_single_counts() {
    let r = Rules::default();
    assert_eq!(r.count(0), Figure::Count(0));
    for n in 1..=7 {
        assert!(r.count(n).is_suppressed(), "{n}");
    }
    assert_eq!(r.count(8), Figure::Count(10));
    assert_eq!(r.count(12), Figure::Count(10));
    assert_eq!(r.count(13), Figure::Count(15));
    assert_eq!(r.count(1002), Figure::Count(1000));
}

#[test]
fn the_threshold_is_configurable() {
    let r = Rules::new(10, 5, 3).unwrap();
    assert!(r.count(10).is_suppressed());
    assert_eq!(r.count(11), Figure::Count(10));
    assert_eq!(
        r.statistic(Some(2.0), 10),
        Some(Statistic::Suppressed(Star::Star))
    );
    assert_eq!(Rules::new(7, 0, 3), Err(RulesError::Rounding));
    assert!(matches!(
        Rules::new(1, 5, 1),
        Err(RulesError::ThresholdBelowHalfBase { .. })
    ));
    assert_eq!(Rules::new(7, 5, 8), Err(RulesError::MinCandidates));
    assert_eq!(Rules::new(7, 5, 0), Err(RulesError::MinCandidates));
}

#[test]
fn means_and_medians_of_seven_people_or_fewer_are_suppressed() {
    let r = Rules::default();
    assert_eq!(
        r.statistic(Some(4.56789), 7),
        Some(Statistic::Suppressed(Star::Star))
    );
    assert_eq!(r.statistic(Some(4.56789), 8), Some(Statistic::Value(4.57)));
    assert_eq!(r.statistic(None, 0), None);
    assert_eq!(r.statistic(Some(1.0), 0), None);
    assert_eq!(r.statistic(Some(f64::NAN), 20), None);
}

#[test]
fn percentages_come_from_the_rounded_figures() {
    let r = Rules::default();
    // 13 of 22 is 59.1%, but shown as 15 of 20: 75%.
    assert_eq!(
        percentage(r.count(13), r.count(22)),
        Some(Statistic::Value(75.0))
    );
    assert_eq!(
        percentage(r.count(3), r.count(22)),
        Some(Statistic::Suppressed(Star::Star))
    );
    assert_eq!(percentage(r.count(0), r.count(0)), None);
    assert_eq!(
        percentage(r.count(0), r.count(40)),
        Some(Statistic::Value(0.0))
    );
}

#[test]
fn figures_serialise_as_numbers_or_a_star() {
    assert_eq!(serde_json::to_string(&Figure::Count(15)).unwrap(), "15");
    assert_eq!(serde_json::to_string(&star()).unwrap(), "\"*\"");
    assert_eq!(
        serde_json::to_string(&Statistic::Value(1.5)).unwrap(),
        "1.5"
    );
    assert_eq!(star().to_cell(), "*");
}

#[test]
fn without_secondary_suppression_subtraction_recovers_a_suppressed_cell() {
    // 1 + 13 + 8 = 22. Shown naively: * + 15 + 10 = 20. The total is at most 22, the
    // others at least 13 and 8: the suppressed cell is exactly 1.
    let r = Rules::default();
    let table = Table {
        total: 22,
        breakdowns: vec![vec![1, 13, 8]],
    };
    let naive = primary_only(&r, &table);
    assert_eq!(
        naive.breakdowns[0],
        vec![star(), Figure::Count(15), Figure::Count(10)]
    );
    assert_eq!(attack(&r, &table, &naive), vec![(Some((0, 0)), vec![1])]);

    let shown = protect_table(&r, &table);
    assert!(!shown.exposed);
    let suppressed = shown.breakdowns[0]
        .iter()
        .filter(|f| f.is_suppressed())
        .count();
    assert!(suppressed >= 2, "a second cell is suppressed: {shown:?}");
    for (_, candidates) in attack(&r, &table, &shown) {
        assert!(candidates.len() >= 3, "{candidates:?} in {shown:?}");
    }
}

#[test]
fn another_breakdown_cannot_pin_the_total_a_cell_is_subtracted_from() {
    // By month the cells are 2 and 20 (total 22); by kind 11 and 11. Suppressing the
    // month's other cell is not enough if the total and the kinds stay exact enough.
    let r = Rules::default();
    let table = Table {
        total: 22,
        breakdowns: vec![vec![2, 20], vec![11, 11]],
    };
    let shown = protect_table(&r, &table);
    for (at, candidates) in attack(&r, &table, &shown) {
        assert!(candidates.len() >= 3, "{at:?}: {candidates:?} in {shown:?}");
    }
}

#[test]
fn a_table_with_nothing_small_is_only_rounded() {
    let r = Rules::default();
    let table = Table {
        total: 100,
        breakdowns: vec![vec![40, 60], vec![0, 100]],
    };
    let shown = protect_table(&r, &table);
    assert_eq!(shown.total, Figure::Count(100));
    assert_eq!(
        shown.breakdowns,
        vec![
            vec![Figure::Count(40), Figure::Count(60)],
            vec![Figure::Count(0), Figure::Count(100)]
        ]
    );
}

#[test]
fn seven_ones_under_a_total_of_seven_cannot_be_protected_and_say_so() {
    let r = Rules::default();
    let table = Table {
        total: 7,
        breakdowns: vec![vec![1; 7]],
    };
    let shown = protect_table(&r, &table);
    assert!(shown.exposed && shown.fully_suppressed());
}

/// A table whose breakdowns each add up to the total: the first freely, the others as
/// random splits of the total.
fn tables() -> impl Strategy<Value = Table> {
    let cell = prop_oneof![3 => 0u64..=9, 2 => 0u64..=30];
    (
        prop::collection::vec(cell, 1..=4),
        prop::collection::vec(prop::collection::vec(0.0f64..=1.0, 1..=3), 0..=2),
    )
        .prop_map(|(first, splits)| {
            let total: u64 = first.iter().sum();
            let mut breakdowns = vec![first];
            for cuts in splits {
                let mut points: Vec<u64> = cuts
                    .iter()
                    .map(|c| (c * total as f64).round() as u64)
                    .collect();
                points.sort_unstable();
                let mut last = 0;
                let mut group = Vec::new();
                for p in points {
                    group.push(p - last);
                    last = p;
                }
                group.push(total - last);
                breakdowns.push(group);
            }
            Table { total, breakdowns }
        })
}

fn rules() -> impl Strategy<Value = Rules> {
    prop_oneof![
        4 => Just(Rules::default()),
        1 => Just(Rules::new(7, 5, 2).unwrap()),
        1 => Just(Rules::new(10, 5, 3).unwrap()),
        1 => Just(Rules::new(10, 10, 4).unwrap()),
        1 => Just(Rules::new(3, 5, 2).unwrap()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn single_counts_follow_the_rule(n in 0u64..100_000, r in rules()) {
        let shown = r.count(n);
        match shown {
            Figure::Count(0) => prop_assert_eq!(n, 0),
            Figure::Count(v) => {
                prop_assert!(n > r.threshold);
                prop_assert_eq!(v % r.rounding, 0);
                prop_assert!(v.abs_diff(n) <= r.rounding / 2);
            }
            Figure::Suppressed(_) => prop_assert!((1..=r.threshold).contains(&n)),
        }
    }

    #[test]
    fn percentages_are_those_of_the_shown_figures(a in 0u64..500, b in 0u64..500, r in rules()) {
        let (sa, sb) = (r.count(a), r.count(b));
        let p = percentage(sa, sb);
        match (sa, sb) {
            (_, Figure::Count(0)) => prop_assert_eq!(p, None),
            (Figure::Count(x), Figure::Count(y)) => {
                let Some(Statistic::Value(v)) = p else { panic!("{p:?}") };
                prop_assert!((v - 100.0 * x as f64 / y as f64).abs() <= 0.05 + 1e-9);
            }
            _ => prop_assert_eq!(p, Some(Statistic::Suppressed(Star::Star))),
        }
    }

    #[test]
    fn every_figure_is_primary_suppressed_rounded_zero_or_secondary(table in tables(), r in rules()) {
        let shown = protect_table(&r, &table);
        let pairs = std::iter::once((table.total, shown.total)).chain(
            table.breakdowns.iter().flatten().copied().zip(shown.breakdowns.iter().flatten().copied()),
        );
        for (truth, figure) in pairs {
            match figure {
                Figure::Count(v) => prop_assert_eq!(Figure::Count(v), r.count(truth)),
                // Suppressed: small (primary) or, secondarily, anything but 0.
                Figure::Suppressed(_) => prop_assert!(truth > 0),
            }
        }
    }

    #[test]
    fn no_suppressed_count_can_be_recovered_by_subtraction(table in tables(), r in rules()) {
        let shown = protect_table(&r, &table);
        if shown.exposed {
            // Only when nothing more can be suppressed.
            prop_assert!(shown.fully_suppressed(), "{:?}", shown);
        } else {
            for (at, candidates) in attack(&r, &table, &shown) {
                prop_assert!(candidates.contains(&match at {
                    None => table.total,
                    Some((g, c)) => table.breakdowns[g][c],
                }), "the truth is always a candidate");
                prop_assert!(
                    candidates.len() as u64 >= r.min_candidates,
                    "{:?} narrowed to {:?} in {:?} from {:?}", at, candidates, shown, table
                );
            }
        }
    }

    #[test]
    fn nothing_is_suppressed_when_nothing_is_small(table in tables(), r in rules()) {
        let small = std::iter::once(table.total)
            .chain(table.breakdowns.iter().flatten().copied())
            .any(|n| (1..=r.threshold).contains(&n));
        if !small {
            prop_assert_eq!(protect_table(&r, &table), primary_only(&r, &table));
        }
    }
}

/// A cross-tabulation of up to 3 x 3 cells (small ones likely), with its margins as the
/// table's two breakdowns.
fn crosses() -> impl Strategy<Value = CrossTable> {
    let cell = prop_oneof![3 => 0u64..=9, 2 => 0u64..=30];
    (1usize..=3, 1usize..=3)
        .prop_flat_map(move |(rows, columns)| {
            prop::collection::vec(prop::collection::vec(cell.clone(), columns), rows)
        })
        .prop_map(|cells| {
            let rows: Vec<u64> = cells.iter().map(|r| r.iter().sum()).collect();
            let columns: Vec<u64> = (0..cells[0].len())
                .map(|c| cells.iter().map(|r| r[c]).sum())
                .collect();
            CrossTable {
                table: Table {
                    total: rows.iter().sum(),
                    breakdowns: vec![rows, columns],
                },
                rows: 0,
                columns: 1,
                cells,
            }
        })
}

/// Every line of a protected cross table (the table, each row, each column) as a table
/// and what it shows.
fn lines(cross: &CrossTable, shown: &ProtectedCross) -> Vec<(Table, ProtectedTable)> {
    let mut out = vec![(cross.table.clone(), shown.table.clone())];
    for (r, row) in cross.cells.iter().enumerate() {
        out.push((
            Table {
                total: cross.table.breakdowns[0][r],
                breakdowns: vec![row.clone()],
            },
            ProtectedTable {
                total: shown.table.breakdowns[0][r],
                breakdowns: vec![shown.cells[r].clone()],
                exposed: false,
            },
        ));
    }
    for c in 0..cross.cells[0].len() {
        out.push((
            Table {
                total: cross.table.breakdowns[1][c],
                breakdowns: vec![cross.cells.iter().map(|r| r[c]).collect()],
            },
            ProtectedTable {
                total: shown.table.breakdowns[1][c],
                breakdowns: vec![shown.cells.iter().map(|r| r[c]).collect()],
                exposed: false,
            },
        ));
    }
    out
}

#[test]
fn a_cross_table_suppresses_a_cell_in_its_row_and_in_its_column() {
    // No rounding to hide behind: one small cell needs a second suppressed figure in its
    // row and in its column, and the margins are the same figures as the table's.
    let rules = Rules::new(7, 1, 3).unwrap();
    let cells = vec![vec![3, 40, 50], vec![60, 70, 80]];
    let cross = CrossTable {
        table: Table {
            total: 303,
            breakdowns: vec![vec![93, 210], vec![63, 110, 130]],
        },
        rows: 0,
        columns: 1,
        cells,
    };
    let shown = protect_cross(&rules, &cross);
    assert!(!shown.exposed);
    assert_eq!(shown.cells[0][0], star());
    let row_stars = shown.cells[0].iter().filter(|f| f.is_suppressed()).count()
        + usize::from(shown.table.breakdowns[0][0].is_suppressed());
    let column_stars = shown.cells.iter().filter(|r| r[0].is_suppressed()).count()
        + usize::from(shown.table.breakdowns[1][0].is_suppressed());
    assert!(row_stars >= 2 && column_stars >= 2, "{shown:?}");
    for (table, line) in lines(&cross, &shown) {
        for (_, candidates) in attack(&rules, &table, &line) {
            assert!(candidates.len() as u64 >= rules.min_candidates, "{line:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Each line of a protected cross table resists the brute-force attacker on its own,
    /// and every shown figure is what the rule shows for it.
    #[test]
    fn no_line_of_a_cross_table_gives_a_suppressed_count_away(cross in crosses(), r in rules()) {
        let shown = protect_cross(&r, &cross);
        for (row, figures) in cross.cells.iter().zip(&shown.cells) {
            for (&truth, &figure) in row.iter().zip(figures) {
                match figure {
                    Figure::Count(v) => prop_assert_eq!(Figure::Count(v), r.count(truth)),
                    Figure::Suppressed(_) => prop_assert!(truth > 0),
                }
            }
        }
        if !shown.exposed {
            for (table, line) in lines(&cross, &shown) {
                for (at, candidates) in attack(&r, &table, &line) {
                    prop_assert!(
                        candidates.len() as u64 >= r.min_candidates,
                        "{:?} narrowed to {:?} in {:?} from {:?}", at, candidates, line, table
                    );
                }
            }
        }
    }
}
