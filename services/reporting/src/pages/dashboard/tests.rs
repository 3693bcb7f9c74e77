//! The dashboard copies the summary's figures as they are: a suppressed figure stays `*`
//! in its table, its chart and the CSV; the CSV is exactly the tables.

use std::collections::BTreeMap;

use time::macros::date;

use super::*;
use crate::Settings;
use crate::aggregate::Fact;
use crate::api::summarise;
use crate::journey::Journey;

fn fact(month: time::Date, kind: &str, need: &str, service: &str) -> Fact {
    Fact {
        journey: Journey {
            pseudonym: format!("{month}-{kind}-{need}"),
            referred_on: Some(month),
            needs: vec![need.into()],
            routed: true,
            ..Journey::default()
        },
        month,
        referrer_kind: kind.into(),
        service: service.into(),
    }
}

/// 40 GP referrals in January, 3 council referrals in February (suppressed).
fn summary() -> Summary {
    let mut facts = Vec::new();
    for _ in 0..40 {
        facts.push(fact(
            date!(2026 - 01 - 01),
            "gp_practice",
            "422650009",
            "lw-a",
        ));
    }
    for _ in 0..3 {
        facts.push(fact(date!(2026 - 02 - 01), "council", "73595000", "lw-a"));
    }
    let settings = Settings::new(linkway_platform::secret::Secret::new("k"));
    summarise(&settings, "QWO".into(), None, None, 7, &facts)
}

fn services() -> BTreeMap<String, String> {
    [("lw-a".to_owned(), "Leeds West link workers".to_owned())].into()
}

#[test]
fn tables_hold_the_summarys_figures_as_shown_suppressed_ones_as_a_star() {
    let s = summary();
    let d = Dashboard::new(&s, &services());
    let months: Vec<(&str, Shown)> = d
        .by_month
        .rows
        .iter()
        .map(|r| (r.key.as_str(), r.values[0]))
        .collect();
    // As the summary shows them: February's 3 is suppressed, January rounded.
    let expect = |k: &str| Shown::from(s.measures["referrals"].by_month[k]);
    assert_eq!(
        months,
        vec![
            ("2026-01", expect("2026-01")),
            ("2026-02", Shown::Suppressed)
        ]
    );
    assert_eq!(d.by_month.rows[0].label, "January 2026");
    let html = d.by_month.render().into_string();
    assert!(
        html.contains("* <span class=\"nhsuk-u-visually-hidden\"> (suppressed)</span>")
            || html.contains("*<span class=\"nhsuk-u-visually-hidden\"> (suppressed)</span>"),
        "{html}"
    );
    assert!(html.contains("<caption class=\"nhsuk-table__caption\">Referrals by month</caption>"));
    assert!(html.contains("scope=\"col\""));
    // Sources by name, needs by name with their code in a column of their own.
    assert_eq!(d.by_source.rows[1].label, "GP practice");
    let needs = d.needs.render().into_string();
    assert!(
        needs.contains("Social isolation") && needs.contains("422650009"),
        "{needs}"
    );
    assert!(needs.contains(">SNOMED CT code<"));
    assert_eq!(d.by_service.rows[0].label, "Leeds West link workers");
}

#[test]
fn a_chart_has_exactly_its_tables_figures_and_a_gap_for_each_star() {
    let s = summary();
    let d = Dashboard::new(&s, &services());
    let chart = d.by_month.chart(0, "Referrals by month of referral");
    assert_eq!(chart.bars.len(), d.by_month.rows.len());
    for (bar, row) in chart.bars.iter().zip(&d.by_month.rows) {
        assert_eq!(bar.label, row.label);
        assert_eq!(bar.text, row.values[0].text());
        assert_eq!(bar.value.is_none(), row.values[0] == Shown::Suppressed);
    }
    let svg = chart.render().into_string();
    assert!(svg.contains("February 2026: suppressed"), "{svg}");
    // Statistics nobody can have (no outcomes recorded) draw no bar and say "None".
    assert!(d.ons4_chart().bars.is_empty());
    assert!(d.outcomes.render().into_string().contains("None"));
}

#[test]
fn the_csv_is_one_line_per_table_figure() {
    let d = Dashboard::new(&summary(), &services());
    let csv = d.csv();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "table,key,label,column,value");
    let figures: usize = d
        .tables()
        .iter()
        .map(|t| t.rows.len() * t.columns.len())
        .sum();
    assert_eq!(lines.len(), figures + 1);
    assert!(lines.contains(&"referrals-by-month,2026-02,February 2026,Referrals,*"));
    assert!(
        lines.contains(&"needs,422650009,Social isolation,Referrals,*")
            || lines
                .iter()
                .any(|l| l.starts_with("needs,422650009,Social isolation,Referrals,"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("ons4,happy,Happy yesterday,Baseline,"))
    );
    // The value column holds only numbers, `*` or nothing.
    for line in &lines[1..] {
        let value = line.rsplit(',').next().unwrap();
        assert!(
            value.is_empty() || value == "*" || value.parse::<f64>().is_ok(),
            "{line}"
        );
    }
}

#[test]
fn csv_text_cannot_become_a_spreadsheet_formula() {
    assert_eq!(csv_text("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
    assert_eq!(csv_text("@sum"), "'@sum");
    assert_eq!(csv_text("a, b"), "\"a, b\"");
    assert_eq!(csv_text("GP practice"), "GP practice");
}
