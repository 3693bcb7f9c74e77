//! The commissioner's dashboard as data (pure): the tables the page shows, made only from
//! a [`Summary`] (what `getSummary` answers, disclosure control already applied), the
//! charts drawn from them, and the same tables as CSV.
//!
//! Nothing here computes a figure: every number is one the summary holds, copied as it
//! is (a `*` stays `*`). A chart's bars are exactly its table's figures.

use std::collections::BTreeMap;

use maud::{Markup, html};

use super::chart::{Bar, BarChart};
use super::names;
use crate::api::Summary;
use crate::api::csv::csv_field;
use crate::disclosure::{Figure, Statistic};

/// A figure as the dashboard shows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shown {
    /// A count (rounded by disclosure control).
    Count(u64),
    /// A mean, median or percentage.
    Value(f64),
    /// `*`: suppressed by disclosure control.
    Suppressed,
    /// No one to compute it from.
    None,
}

impl From<Figure> for Shown {
    fn from(f: Figure) -> Shown {
        match f {
            Figure::Count(n) => Shown::Count(n),
            Figure::Suppressed(_) => Shown::Suppressed,
        }
    }
}

impl From<Option<Statistic>> for Shown {
    fn from(s: Option<Statistic>) -> Shown {
        match s {
            Some(Statistic::Value(v)) => Shown::Value(v),
            Some(Statistic::Suppressed(_)) => Shown::Suppressed,
            None => Shown::None,
        }
    }
}

impl Shown {
    /// As a CSV cell or chart label: the number, `*`, or empty.
    pub fn text(&self) -> String {
        match self {
            Shown::Count(n) => n.to_string(),
            Shown::Value(v) => v.to_string(),
            Shown::Suppressed => "*".to_owned(),
            Shown::None => String::new(),
        }
    }

    fn number(&self) -> Option<f64> {
        match self {
            Shown::Count(n) => Some(*n as f64),
            Shown::Value(v) => Some(*v),
            Shown::Suppressed | Shown::None => None,
        }
    }

    /// As a table cell: `*` says "suppressed" to a screen reader too.
    pub fn cell(&self) -> Markup {
        html! {
            @match self {
                Shown::Suppressed => { "*" span class="nhsuk-u-visually-hidden" { " (suppressed)" } }
                Shown::None => { "None" span class="nhsuk-u-visually-hidden" { " (no one to count)" } }
                other => { (other.text()) }
            }
        }
    }

    /// The chart's bar of this figure; `None` when there is nothing to draw (no data).
    fn bar(&self, label: &str) -> Option<Bar> {
        match self {
            Shown::Suppressed => Some(Bar::suppressed(label)),
            Shown::None => None,
            shown => Some(Bar::shown(label, shown.number()?, shown.text())),
        }
    }
}

/// One row of a table: its key (a month, code or id), what it is called, its figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub key: String,
    pub label: String,
    pub values: Vec<Shown>,
}

/// One table of the dashboard.
#[derive(Debug, Clone, PartialEq)]
pub struct FigureTable {
    /// Names the table in the CSV and ids its chart.
    pub id: &'static str,
    pub caption: String,
    /// Heading of the label column.
    pub label_heading: &'static str,
    /// When set, the key is shown in a column of its own (a need's SNOMED CT code).
    pub key_heading: Option<&'static str>,
    pub columns: Vec<String>,
    pub rows: Vec<Row>,
}

impl FigureTable {
    /// The nhsuk table, caption and column headers included.
    pub fn render(&self) -> Markup {
        let mut head = vec![self.label_heading];
        head.extend(self.key_heading);
        head.extend(self.columns.iter().map(String::as_str));
        let rows: Vec<Vec<Markup>> = self
            .rows
            .iter()
            .map(|r| {
                let mut cells = vec![html! { (r.label) }];
                if self.key_heading.is_some() {
                    cells.push(html! { (r.key) });
                }
                cells.extend(r.values.iter().map(Shown::cell));
                cells
            })
            .collect();
        linkway_platform::web::page::table(&self.caption, &head, &rows)
    }

    /// A chart of column `column`'s figures, one bar per row (rows with no figure left out).
    pub fn chart(&self, column: usize, summary: &str) -> BarChart {
        BarChart {
            id: format!("chart-{}", self.id),
            title: self.caption.clone(),
            summary: summary.to_owned(),
            bars: self
                .rows
                .iter()
                .filter_map(|r| r.values.get(column)?.bar(&r.label))
                .collect(),
        }
    }
}

fn columns(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

fn row(key: impl Into<String>, label: impl Into<String>, values: Vec<Shown>) -> Row {
    Row {
        key: key.into(),
        label: label.into(),
        values,
    }
}

/// Every table of the dashboard, in page order.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    pub journey: FigureTable,
    pub by_month: FigureTable,
    pub by_source: FigureTable,
    pub by_month_and_source: FigureTable,
    pub waiting: FigureTable,
    pub swemwbs: FigureTable,
    pub outcomes: FigureTable,
    pub ons4: FigureTable,
    pub connections: FigureTable,
    pub by_service_kind: FigureTable,
    pub by_service: FigureTable,
    pub needs: FigureTable,
}

/// Measures of the journey table, in the order of a referral's journey.
const JOURNEY: [&str; 10] = [
    "referrals",
    "routed",
    "accepted",
    "declined",
    "not_contactable",
    "first_contact_made",
    "plans_agreed",
    "connections_made",
    "closed",
    "withdrawn",
];

const CONNECTIONS: [&str; 3] = [
    "connections_made",
    "connections_accepted",
    "connections_attended",
];

impl Dashboard {
    /// The tables of `summary`; `services` names link-worker services by id (an id not in
    /// it is shown as it is).
    pub fn new(summary: &Summary, services: &BTreeMap<String, String>) -> Dashboard {
        let m = |name: &str| &summary.measures[name];
        let referrals = m("referrals");
        let fc = &summary.first_contact;
        let o = &summary.outcomes;
        let change = o.swemwbs.meaningful_change;
        let service_name = |id: &str| match (id, services.get(id)) {
            ("unrouted", _) => "Not yet routed".to_owned(),
            (_, Some(name)) => name.clone(),
            (id, None) => id.to_owned(),
        };
        let ons4_item = |key: &str, label: &str, b: Option<Statistic>, l: Option<Statistic>| {
            row(key, label, vec![b.into(), l.into()])
        };
        Dashboard {
            journey: FigureTable {
                id: "journey",
                caption: "Referrals and what happened to them".into(),
                label_heading: "Step",
                key_heading: None,
                columns: columns(&["Number"]),
                rows: JOURNEY
                    .iter()
                    .map(|n| row(*n, names::measure(n), vec![m(n).total.into()]))
                    .collect(),
            },
            by_month: FigureTable {
                id: "referrals-by-month",
                caption: "Referrals by month".into(),
                label_heading: "Month of referral",
                key_heading: None,
                columns: columns(&["Referrals"]),
                rows: referrals
                    .by_month
                    .iter()
                    .map(|(k, f)| row(k, names::month(k), vec![(*f).into()]))
                    .collect(),
            },
            by_source: FigureTable {
                id: "referrals-by-source",
                caption: "Referrals by kind of referring organisation".into(),
                label_heading: "Referred by",
                key_heading: None,
                columns: columns(&["Referrals"]),
                rows: referrals
                    .by_referrer_kind
                    .iter()
                    .map(|(k, f)| row(k, names::referrer_kind(k), vec![(*f).into()]))
                    .collect(),
            },
            by_month_and_source: by_month_and_source(summary),
            waiting: FigureTable {
                id: "waiting-times",
                caption: "Waiting for a first contact".into(),
                label_heading: "Measure",
                key_heading: None,
                columns: columns(&["Figure"]),
                rows: vec![
                    row(
                        "median_days_to_first_contact",
                        "Median days from referral to first contact",
                        vec![fc.median_days.into()],
                    ),
                    row(
                        "percent_first_contact_within_14_days",
                        "First contact within 14 days, as a percentage of accepted referrals",
                        vec![fc.percent_within_14_days.into()],
                    ),
                    row(
                        "first_contact_within_14_days",
                        "People first contacted within 14 days",
                        vec![m("first_contact_within_14_days").total.into()],
                    ),
                    row(
                        "accepted",
                        "Referrals accepted",
                        vec![m("accepted").total.into()],
                    ),
                ],
            },
            swemwbs: FigureTable {
                id: "swemwbs",
                caption: "Wellbeing (SWEMWBS): people measured twice and people who improved"
                    .into(),
                label_heading: "People",
                key_heading: None,
                columns: columns(&["Number"]),
                rows: vec![
                    row(
                        "swemwbs_people",
                        "With a baseline and a later score",
                        vec![o.swemwbs.people.into()],
                    ),
                    row(
                        "swemwbs_improved",
                        format!("Improved by at least {change} points"),
                        vec![o.swemwbs.improved.into()],
                    ),
                ],
            },
            outcomes: FigureTable {
                id: "outcome-change",
                caption: "Outcome change from baseline to latest score".into(),
                label_heading: "Measure",
                key_heading: None,
                columns: columns(&["Figure"]),
                rows: vec![
                    row(
                        "swemwbs_mean_change",
                        "SWEMWBS: mean change in metric score (higher is better)",
                        vec![o.swemwbs.mean_change.into()],
                    ),
                    row(
                        "swemwbs_percent_improved",
                        format!("SWEMWBS: percentage improved by at least {change} points"),
                        vec![o.swemwbs.percent_improved.into()],
                    ),
                    row(
                        "ucla3_people",
                        "UCLA loneliness (3 items): people with a baseline and a later score",
                        vec![o.ucla3.people.into()],
                    ),
                    row(
                        "ucla3_mean_change",
                        "UCLA loneliness (3 items): mean change (lower is less lonely)",
                        vec![o.ucla3.mean_change.into()],
                    ),
                    row(
                        "ons4_people",
                        "ONS4: people with a baseline and a later answer",
                        vec![o.ons4.people.into()],
                    ),
                    row(
                        "mycaw_people",
                        "MYCaW: people with a baseline and a later profile score",
                        vec![o.mycaw.people.into()],
                    ),
                    row(
                        "mycaw_mean_change",
                        "MYCaW: mean fall in profile score (higher is better)",
                        vec![o.mycaw.mean_change.into()],
                    ),
                    row(
                        "mycaw_improved",
                        "MYCaW: people whose profile score fell",
                        vec![o.mycaw.improved.into()],
                    ),
                    row(
                        "mycaw_percent_improved",
                        "MYCaW: percentage whose profile score fell",
                        vec![o.mycaw.percent_improved.into()],
                    ),
                ],
            },
            ons4: FigureTable {
                id: "ons4",
                caption: "ONS4 personal wellbeing: mean answers (0 to 10)".into(),
                label_heading: "Question",
                key_heading: None,
                columns: columns(&["Baseline", "Latest"]),
                rows: vec![
                    ons4_item(
                        "life_satisfaction",
                        "Life satisfaction",
                        o.ons4.baseline_means.life_satisfaction,
                        o.ons4.latest_means.life_satisfaction,
                    ),
                    ons4_item(
                        "worthwhile",
                        "Things done are worthwhile",
                        o.ons4.baseline_means.worthwhile,
                        o.ons4.latest_means.worthwhile,
                    ),
                    ons4_item(
                        "happy",
                        "Happy yesterday",
                        o.ons4.baseline_means.happy,
                        o.ons4.latest_means.happy,
                    ),
                    ons4_item(
                        "anxious",
                        "Anxious yesterday (lower is better)",
                        o.ons4.baseline_means.anxious,
                        o.ons4.latest_means.anxious,
                    ),
                ],
            },
            connections: FigureTable {
                id: "connections",
                caption: "Connections to community services".into(),
                label_heading: "Connections",
                key_heading: None,
                columns: columns(&["Number"]),
                rows: CONNECTIONS
                    .iter()
                    .map(|n| row(*n, names::measure(n), vec![m(n).total.into()]))
                    .collect(),
            },
            by_service_kind: by_service_kind(summary),
            by_service: FigureTable {
                id: "by-link-worker-service",
                caption: "Referrals and connections by link-worker service".into(),
                label_heading: "Link-worker service",
                key_heading: None,
                columns: columns(&[
                    "Referrals",
                    "Connections made",
                    "Connections accepted",
                    "Connections attended",
                ]),
                rows: referrals
                    .by_link_worker_service
                    .iter()
                    .map(|(k, f)| {
                        let mut values = vec![Shown::from(*f)];
                        values.extend(CONNECTIONS.iter().map(|n| {
                            m(n).by_link_worker_service
                                .get(k)
                                .map_or(Shown::Count(0), |f| (*f).into())
                        }));
                        row(k, service_name(k), values)
                    })
                    .collect(),
            },
            needs: FigureTable {
                id: "needs",
                caption: "Referrals by need".into(),
                label_heading: "Need",
                key_heading: Some("SNOMED CT code"),
                columns: columns(&["Referrals"]),
                rows: referrals
                    .by_need
                    .iter()
                    .map(|(code, f)| {
                        let label = names::need(code).map_or_else(|| code.clone(), str::to_owned);
                        row(code, label, vec![(*f).into()])
                    })
                    .collect(),
            },
        }
    }

    /// Every table, in page order.
    pub fn tables(&self) -> [&FigureTable; 12] {
        [
            &self.journey,
            &self.by_month,
            &self.by_source,
            &self.by_month_and_source,
            &self.waiting,
            &self.swemwbs,
            &self.outcomes,
            &self.ons4,
            &self.connections,
            &self.by_service_kind,
            &self.by_service,
            &self.needs,
        ]
    }

    /// Referrals per month by kind of referring organisation, in one chart: a group of
    /// bars per month, one per kind (solid and hatched in turn, each labelled).
    pub fn by_month_and_source_chart(&self) -> BarChart {
        let t = &self.by_month_and_source;
        let mut bars = Vec::new();
        for r in &t.rows {
            for (i, (kind, value)) in t.columns.iter().zip(&r.values).enumerate() {
                if let Some(bar) = value.bar(&format!("{}: {kind}", r.label)) {
                    bars.push(if i % 2 == 1 { bar.hatched() } else { bar });
                }
            }
        }
        BarChart {
            id: format!("chart-{}", t.id),
            title: t.caption.clone(),
            summary: "Referrals in each month of referral, by kind of referring organisation \
                      (bars alternate solid and hatched within a month)"
                .into(),
            bars,
        }
    }

    /// The ONS4 chart: baseline (hatched) and latest (solid) bars for each question.
    pub fn ons4_chart(&self) -> BarChart {
        let mut bars = Vec::new();
        for r in &self.ons4.rows {
            for (i, when) in ["baseline", "latest"].iter().enumerate() {
                let label = format!("{}, {when}", r.label.split(" (").next().unwrap_or(""));
                if let Some(bar) = r.values[i].bar(&label) {
                    bars.push(if i == 0 { bar.hatched() } else { bar });
                }
            }
        }
        BarChart {
            id: "chart-ons4".into(),
            title: self.ons4.caption.clone(),
            summary: "Mean ONS4 answers at baseline (hatched bars) and latest (solid bars)".into(),
            bars,
        }
    }

    /// The tables as CSV: one line per figure (`table,key,label,column,value`), `*` for
    /// a suppressed figure, empty for none.
    pub fn csv(&self) -> String {
        let mut out = String::from("table,key,label,column,value\n");
        for t in self.tables() {
            for r in &t.rows {
                for (column, value) in t.columns.iter().zip(&r.values) {
                    let line = [
                        t.id.to_owned(),
                        csv_text(&r.key),
                        csv_text(&r.label),
                        csv_field(column),
                        value.text(),
                    ];
                    out.push_str(&line.join(","));
                    out.push('\n');
                }
            }
        }
        out
    }
}

/// The cross-tabulation of referrals by month (rows) and kind of referring organisation
/// (columns), exactly as the summary protected it.
fn by_month_and_source(summary: &Summary) -> FigureTable {
    let kinds: Vec<&String> = summary.measures["referrals"]
        .by_referrer_kind
        .keys()
        .collect();
    FigureTable {
        id: "referrals-by-month-and-source",
        caption: "Referrals by month and kind of referring organisation".into(),
        label_heading: "Month of referral",
        key_heading: None,
        columns: kinds.iter().map(|k| names::referrer_kind(k)).collect(),
        rows: summary
            .referrals_by_month_and_referrer_kind
            .iter()
            .map(|(month, cells)| {
                let values = kinds
                    .iter()
                    .map(|k| cells.get(*k).map_or(Shown::Count(0), |f| (*f).into()))
                    .collect();
                row(month, names::month(month), values)
            })
            .collect(),
    }
}

/// Connections made, accepted and attended by kind of community service.
fn by_service_kind(summary: &Summary) -> FigureTable {
    let of = |name: &str| {
        summary.measures[name]
            .by_service_kind
            .clone()
            .unwrap_or_default()
    };
    let (made, accepted, attended) = (
        of("connections_made"),
        of("connections_accepted"),
        of("connections_attended"),
    );
    FigureTable {
        id: "connections-by-service-kind",
        caption: "Connections by kind of community service".into(),
        label_heading: "Kind of service",
        key_heading: None,
        columns: columns(&["Made", "Accepted", "Attended"]),
        rows: made
            .iter()
            .map(|(kind, f)| {
                let other = |m: &BTreeMap<String, Figure>| {
                    m.get(kind).map_or(Shown::Count(0), |f| (*f).into())
                };
                row(
                    kind,
                    names::service_kind(kind),
                    vec![(*f).into(), other(&accepted), other(&attended)],
                )
            })
            .collect(),
    }
}

/// A text cell a spreadsheet will not run as a formula (a leading `=`, `+`, `-` or `@`
/// is quoted away), escaped as CSV.
fn csv_text(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@']) {
        csv_field(&format!("'{s}"))
    } else {
        csv_field(s)
    }
}

#[cfg(test)]
mod tests;
