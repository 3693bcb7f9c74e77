//! Disclosure control: what a commissioner may see of a count, a mean or a percentage.
//!
//! Pure functions, no I/O. The rule (NHS Digital's, below national level), with the
//! threshold `t` (default 7) and rounding base `b` (default 5) configurable:
//!
//! 1. **Primary suppression**: a count of 1..=t is shown as `*`. 0 stays 0.
//! 2. **Rounding**: every other count is rounded to the nearest multiple of `b`
//!    (halves up), so a shown count `r` means a true count in `[r - b/2, r + b - 1 - b/2]`.
//! 3. **Means and medians** based on `t` people or fewer are `*`.
//! 4. **Percentages** are computed from the rounded (shown) figures, and are `*` when one
//!    of them is.
//! 5. **Secondary suppression (differencing)**: in a [`Table`] — a total shown together
//!    with one or more breakdowns that each add up to it (e.g. referrals by month, by
//!    referring organisation kind, by link-worker service) — subtracting the shown figures
//!    from the total narrows down a suppressed cell. [`protect_table`] *audits* every
//!    primarily suppressed figure against an attacker who knows this rule, the shown
//!    figures, that each breakdown sums to the total, and even which `*` are primary
//!    (1..=t) and which secondary (> t). While the attacker can narrow any of them to
//!    fewer than `min_candidates` possible values (default 3), it suppresses one more
//!    figure: the smallest shown cell of the same breakdown; else the total; else the
//!    smallest shown cell of another breakdown (which otherwise pins the total).
//!    The attacker's possible values are exact for this structure (one total shared by
//!    breakdowns; integer intervals), so the audit is exact, and the property tests check
//!    it against a brute-force attacker.
//!
//!    One case cannot be protected without showing zeros as `*` too: when every figure is
//!    already suppressed and the non-zero cells are so many that they pin each other
//!    (seven cells of 1 under a suppressed total of at most 7). Then the table is fully
//!    suppressed and [`ProtectedTable::exposed`] says so; callers show it as it is.
//!
//! Breakdowns that do not add up to a total shown in the same answer (needs, when a
//! referral may have several; the feed's cells, which come without totals) are protected
//! cell by cell with [`Rules::count`]. When every referral has exactly one need, the needs
//! do add up and the summary protects them as one more breakdown of the table.
//!
//! What the audit does not cover: relations that are only inequalities (accepted <= routed);
//! differences between *separate* answers (two periods of the summary, successive feed
//! answers for a month); and an attacker who reasons about *which* shown cell the rule would
//! have picked as the complementary one (it always takes the smallest).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Configurable disclosure rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Rules {
    /// Counts of 1..=threshold are suppressed; means/medians of at most this many people too.
    pub threshold: u64,
    /// Other counts are rounded to the nearest multiple of this.
    pub rounding: u64,
    /// A suppressed count must keep at least this many possible values against differencing.
    pub min_candidates: u64,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            threshold: 7,
            rounding: 5,
            min_candidates: 3,
        }
    }
}

/// Rules that would show something they should not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    #[error("the rounding base must be at least 1")]
    Rounding,
    #[error(
        "threshold {threshold} is below half the rounding base {rounding}: small counts above it would round to 0"
    )]
    ThresholdBelowHalfBase { threshold: u64, rounding: u64 },
    #[error("min_candidates must be between 1 and the threshold")]
    MinCandidates,
}

impl Rules {
    pub fn new(threshold: u64, rounding: u64, min_candidates: u64) -> Result<Rules, RulesError> {
        if rounding == 0 {
            return Err(RulesError::Rounding);
        }
        if threshold < rounding / 2 {
            return Err(RulesError::ThresholdBelowHalfBase {
                threshold,
                rounding,
            });
        }
        if min_candidates == 0 || (threshold > 0 && min_candidates > threshold) {
            return Err(RulesError::MinCandidates);
        }
        Ok(Rules {
            threshold,
            rounding,
            min_candidates,
        })
    }

    /// A count rounded to the nearest multiple of the base (halves up).
    pub fn round(&self, n: u64) -> u64 {
        (n + self.rounding / 2) / self.rounding * self.rounding
    }

    /// One count on its own: `*`, 0 or rounded.
    pub fn count(&self, n: u64) -> Figure {
        if n == 0 {
            Figure::Count(0)
        } else if n <= self.threshold {
            Figure::Suppressed(Star::Star)
        } else {
            Figure::Count(self.round(n))
        }
    }

    /// A mean or median over `people`: `*` when they are few, `None` when there are none.
    pub fn statistic(&self, value: Option<f64>, people: u64) -> Option<Statistic> {
        let value = value.filter(|v| v.is_finite())?;
        if people == 0 {
            None
        } else if people <= self.threshold {
            Some(Statistic::Suppressed(Star::Star))
        } else {
            Some(Statistic::Value((value * 100.0).round() / 100.0))
        }
    }

    /// Cells protected one by one (a breakdown with no total shown alongside it).
    pub fn cells(&self, cells: &[u64]) -> Vec<Figure> {
        cells.iter().map(|&n| self.count(n)).collect()
    }

    /// The interval of true values a shown (rounded, non-zero) figure stands for.
    fn shown_interval(&self, r: u64) -> (i64, i64) {
        let down = (self.rounding / 2) as i64;
        let up = (self.rounding - 1) as i64 - down;
        let r = r as i64;
        ((r - down).max(self.threshold as i64 + 1), r + up)
    }
}

/// `*`: a suppressed figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum Star {
    #[serde(rename = "*")]
    Star,
}

/// A count as shown: a rounded number, 0, or `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Figure {
    Count(u64),
    Suppressed(Star),
}

impl Figure {
    pub fn is_suppressed(&self) -> bool {
        matches!(self, Figure::Suppressed(_))
    }

    pub fn value(&self) -> Option<u64> {
        match self {
            Figure::Count(n) => Some(*n),
            Figure::Suppressed(_) => None,
        }
    }

    /// For CSV: the number, or `*`.
    pub fn to_cell(&self) -> String {
        match self {
            Figure::Count(n) => n.to_string(),
            Figure::Suppressed(_) => "*".to_owned(),
        }
    }
}

/// A mean, median or percentage as shown: a number or `*`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Statistic {
    Value(f64),
    Suppressed(Star),
}

impl Statistic {
    pub fn to_cell(this: &Option<Statistic>) -> String {
        match this {
            None => String::new(),
            Some(Statistic::Value(v)) => v.to_string(),
            Some(Statistic::Suppressed(_)) => "*".to_owned(),
        }
    }
}

/// `numerator / denominator` as a percentage of the *shown* figures (one decimal):
/// `*` when either is suppressed, `None` when the denominator is 0.
pub fn percentage(numerator: Figure, denominator: Figure) -> Option<Statistic> {
    match (numerator, denominator) {
        (_, Figure::Count(0)) => None,
        (Figure::Count(n), Figure::Count(d)) => Some(Statistic::Value(
            (n as f64 * 1000.0 / d as f64).round() / 10.0,
        )),
        _ => Some(Statistic::Suppressed(Star::Star)),
    }
}

/// A total and breakdowns of it shown in the same answer; each breakdown sums to `total`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub total: u64,
    pub breakdowns: Vec<Vec<u64>>,
}

/// A [`Table`] as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedTable {
    pub total: Figure,
    pub breakdowns: Vec<Vec<Figure>>,
    /// True only in the case no suppression can cure (see the module docs).
    pub exposed: bool,
}

/// How a figure is shown, as the audit sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Zero,
    Shown(u64),
    Primary,
    Secondary,
}

/// Stands for "no upper bound" in the audit's intervals.
const UNBOUNDED: i64 = 1 << 40;

impl Mark {
    fn of(rules: &Rules, n: u64) -> Mark {
        match rules.count(n) {
            Figure::Count(0) => Mark::Zero,
            Figure::Count(r) => Mark::Shown(r),
            Figure::Suppressed(_) => Mark::Primary,
        }
    }

    /// What the attacker knows of the true value.
    fn interval(self, rules: &Rules) -> (i64, i64) {
        match self {
            Mark::Zero => (0, 0),
            Mark::Shown(r) => rules.shown_interval(r),
            Mark::Primary => (1, rules.threshold as i64),
            Mark::Secondary => (rules.threshold as i64 + 1, UNBOUNDED),
        }
    }

    fn figure(self) -> Figure {
        match self {
            Mark::Zero => Figure::Count(0),
            Mark::Shown(r) => Figure::Count(r),
            Mark::Primary | Mark::Secondary => Figure::Suppressed(Star::Star),
        }
    }
}

/// Where a figure sits in a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    Total,
    Cell(usize, usize),
}

fn intersect(a: (i64, i64), b: (i64, i64)) -> (i64, i64) {
    (a.0.max(b.0), a.1.min(b.1))
}

fn sum(intervals: impl Iterator<Item = (i64, i64)>) -> (i64, i64) {
    intervals.fold((0, 0), |acc, i| (acc.0 + i.0, (acc.1 + i.1).min(UNBOUNDED)))
}

/// The first primarily suppressed figure the attacker narrows below `min_candidates`.
fn audit(rules: &Rules, total: Mark, marks: &[Vec<Mark>]) -> Option<At> {
    let sums: Vec<(i64, i64)> = marks
        .iter()
        .map(|g| sum(g.iter().map(|m| m.interval(rules))))
        .collect();
    let total_domain = total.interval(rules);
    let enough = |range: (i64, i64)| range.1 - range.0 + 1 >= rules.min_candidates as i64;
    if total == Mark::Primary {
        let range = sums.iter().fold(total_domain, |acc, &s| intersect(acc, s));
        if !enough(range) {
            return Some(At::Total);
        }
    }
    for (g, group) in marks.iter().enumerate() {
        // What the other breakdowns and the total's own figure allow the total to be.
        let total_range = sums
            .iter()
            .enumerate()
            .filter(|&(h, _)| h != g)
            .fold(total_domain, |acc, (_, &s)| intersect(acc, s));
        for (c, mark) in group.iter().enumerate() {
            if *mark != Mark::Primary {
                continue;
            }
            let own = mark.interval(rules);
            let rest = sum(group
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != c)
                .map(|(_, m)| m.interval(rules)));
            let range = intersect(own, (total_range.0 - rest.1, total_range.1 - rest.0));
            if !enough(range) {
                return Some(At::Cell(g, c));
            }
        }
    }
    None
}

/// Applies the whole rule to a table: primary suppression, rounding, and secondary
/// suppression until no suppressed figure can be narrowed by differencing.
pub fn protect_table(rules: &Rules, table: &Table) -> ProtectedTable {
    protect_forced(rules, table, &Forced::default())
}

/// Figures of a [`Table`] to suppress whatever their count (another table showing the same
/// figure suppressed them): the total, and cells by breakdown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Forced {
    total: bool,
    cells: Vec<Vec<bool>>,
}

impl Forced {
    fn cell(&self, g: usize, c: usize) -> bool {
        self.cells
            .get(g)
            .and_then(|g| g.get(c))
            .copied()
            .unwrap_or(false)
    }
}

/// [`protect_table`], with some figures suppressed from the start.
fn protect_forced(rules: &Rules, table: &Table, forced: &Forced) -> ProtectedTable {
    debug_assert!(
        table
            .breakdowns
            .iter()
            .all(|g| g.iter().sum::<u64>() == table.total),
        "every breakdown must add up to the total: {table:?}"
    );
    let force = |mark: Mark, forced: bool| match mark {
        Mark::Shown(_) if forced => Mark::Secondary,
        mark => mark,
    };
    let mut total = force(Mark::of(rules, table.total), forced.total);
    let mut marks: Vec<Vec<Mark>> = table
        .breakdowns
        .iter()
        .enumerate()
        .map(|(g, group)| {
            group
                .iter()
                .enumerate()
                .map(|(c, &n)| force(Mark::of(rules, n), forced.cell(g, c)))
                .collect()
        })
        .collect();
    let smallest_shown = |marks: &[Vec<Mark>], groups: &mut dyn Iterator<Item = usize>| {
        groups
            .flat_map(|g| {
                marks[g]
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| matches!(m, Mark::Shown(_)))
                    .map(move |(c, _)| (table.breakdowns[g][c], g, c))
                    .collect::<Vec<_>>()
            })
            .min()
            .map(|(_, g, c)| (g, c))
    };
    let mut exposed = false;
    while let Some(at) = audit(rules, total, &marks) {
        let group = match at {
            At::Cell(g, _) => Some(g),
            At::Total => None,
        };
        let own = group.and_then(|g| smallest_shown(&marks, &mut std::iter::once(g)));
        let next = if let Some(cell) = own {
            Some(At::Cell(cell.0, cell.1))
        } else if matches!(total, Mark::Shown(_)) {
            Some(At::Total)
        } else {
            smallest_shown(&marks, &mut (0..marks.len()).filter(|&h| Some(h) != group))
                .map(|(g, c)| At::Cell(g, c))
        };
        match next {
            Some(At::Cell(g, c)) => marks[g][c] = Mark::Secondary,
            Some(At::Total) => total = Mark::Secondary,
            None => {
                exposed = true;
                break;
            }
        }
    }
    ProtectedTable {
        total: total.figure(),
        breakdowns: marks
            .iter()
            .map(|g| g.iter().map(|m| m.figure()).collect())
            .collect(),
        exposed,
    }
}

/// A [`Table`] with a cross-tabulation of two of its breakdowns, shown together (e.g.
/// referrals by month and by referring organisation kind, and by both): `cells[r][c]` adds
/// up over `c` to cell `r` of breakdown `rows`, and over `r` to cell `c` of breakdown
/// `columns`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrossTable {
    pub table: Table,
    pub rows: usize,
    pub columns: usize,
    pub cells: Vec<Vec<u64>>,
}

/// A [`CrossTable`] as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedCross {
    pub table: ProtectedTable,
    pub cells: Vec<Vec<Figure>>,
    /// True when some line (the table, a row or a column) could not be cured.
    pub exposed: bool,
}

/// Protects a [`CrossTable`]: the table, each row (its total is the row's cell of the
/// table) and each column, each one exactly as [`protect_table`] does, and a figure
/// suppressed in one of them is suppressed in every other that shows it, until none
/// changes (suppression only grows, so this ends).
///
/// Each line then resists differencing within itself, as [`protect_table`] audits it
/// (rounding counted in: a line whose rounded figures leave a suppressed cell enough
/// possible values needs no second suppression). Not audited: an attacker who combines
/// rows and columns in one system of equations, which can narrow a cell further than any
/// one line does.
pub fn protect_cross(rules: &Rules, cross: &CrossTable) -> ProtectedCross {
    let (rows, columns) = (
        &cross.table.breakdowns[cross.rows],
        &cross.table.breakdowns[cross.columns],
    );
    debug_assert!(cross.cells.len() == rows.len());
    debug_assert!(cross.cells.iter().all(|r| r.len() == columns.len()));
    let mut table_forced = Forced {
        total: false,
        cells: vec![Vec::new(); cross.table.breakdowns.len()],
    };
    table_forced.cells[cross.rows] = vec![false; rows.len()];
    table_forced.cells[cross.columns] = vec![false; columns.len()];
    let mut cell_forced = vec![vec![false; columns.len()]; rows.len()];
    loop {
        let mut changed = false;
        let table = protect_forced(rules, &cross.table, &table_forced);
        let mut exposed = table.exposed;
        let mut cells: Vec<Vec<Figure>> = cross
            .cells
            .iter()
            .map(|r| r.iter().map(|&n| rules.count(n)).collect())
            .collect();
        for (r, row) in cross.cells.iter().enumerate() {
            let line = Table {
                total: rows[r],
                breakdowns: vec![row.clone()],
            };
            let forced = Forced {
                total: table.breakdowns[cross.rows][r].is_suppressed(),
                cells: vec![cell_forced[r].clone()],
            };
            let shown = protect_forced(rules, &line, &forced);
            exposed |= shown.exposed;
            if shown.total.is_suppressed() && !table_forced.cells[cross.rows][r] {
                table_forced.cells[cross.rows][r] = true;
                changed = true;
            }
            for (c, figure) in shown.breakdowns[0].iter().enumerate() {
                if figure.is_suppressed() && !cell_forced[r][c] {
                    cell_forced[r][c] = true;
                    changed = true;
                }
            }
        }
        for c in 0..columns.len() {
            let line = Table {
                total: columns[c],
                breakdowns: vec![cross.cells.iter().map(|row| row[c]).collect()],
            };
            let forced = Forced {
                total: table.breakdowns[cross.columns][c].is_suppressed(),
                cells: vec![cell_forced.iter().map(|row| row[c]).collect()],
            };
            let shown = protect_forced(rules, &line, &forced);
            exposed |= shown.exposed;
            if shown.total.is_suppressed() && !table_forced.cells[cross.columns][c] {
                table_forced.cells[cross.columns][c] = true;
                changed = true;
            }
            for (r, figure) in shown.breakdowns[0].iter().enumerate() {
                if figure.is_suppressed() && !cell_forced[r][c] {
                    cell_forced[r][c] = true;
                    changed = true;
                }
            }
        }
        if !changed {
            for (r, row) in cells.iter_mut().enumerate() {
                for (c, figure) in row.iter_mut().enumerate() {
                    if cell_forced[r][c] {
                        *figure = Figure::Suppressed(Star::Star);
                    }
                }
            }
            return ProtectedCross {
                table,
                cells,
                exposed,
            };
        }
    }
}

impl ProtectedTable {
    /// Every figure of the table is `*` or 0.
    pub fn fully_suppressed(&self) -> bool {
        std::iter::once(&self.total)
            .chain(self.breakdowns.iter().flatten())
            .all(|f| f.is_suppressed() || *f == Figure::Count(0))
    }
}

#[cfg(test)]
mod tests;
