//! The README's metric table is the metric set: every metric the process exposes is in it
//! with its type and labels, and every row of it is exposed.

use std::collections::BTreeMap;
use std::time::Duration;

use linkway_platform::metrics;

const README: &str = include_str!("../../../README.md");

/// `name -> (type, labels)` from the README's `### Metrics` table.
fn documented() -> BTreeMap<String, (String, Vec<String>)> {
    let section = README
        .split("\n### Metrics\n")
        .nth(1)
        .expect("the README has a ### Metrics section");
    section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|row| {
            let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
            let name = cells[0].trim_matches('`').to_owned();
            // Labels, without any parenthesised note such as `state (in_use, idle)`.
            let mut plain = String::new();
            let mut depth = 0;
            for c in cells[2].chars() {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ if depth == 0 => plain.push(c),
                    _ => {}
                }
            }
            let labels = plain
                .split(',')
                .map(|l| l.trim().split(' ').next().unwrap_or("").trim_matches('`'))
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect();
            (name, (cells[1].to_owned(), labels))
        })
        .collect()
}

/// `name -> (type, labels)` of what `/metrics` renders once every metric has a value.
fn exposed() -> BTreeMap<String, (String, Vec<String>)> {
    metrics::projection_applied("p", 1);
    metrics::dead_lettered("p");
    metrics::projection_checkpoint("p", 1, 0);
    metrics::projection_behind("p", 0, Duration::ZERO);
    metrics::projection_batch("p", 1);
    metrics::projection_retry("p");
    metrics::redelivered("p", 1);
    metrics::event_appended("referral.received");
    metrics::command("s", "op", Duration::from_millis(1));
    metrics::command_conflict("s", "op");
    metrics::request("s", "op", 200, Duration::from_millis(1));
    metrics::request_limited("s", "token");
    metrics::pool("s", 1, 1, 2);
    metrics::ready("s", true);
    metrics::unroutable_referrals(0);
    metrics::connections_overdue(0);
    metrics::outbound_messages("dead", 0);
    metrics::timer_looked("connections");
    let text = metrics::render();
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        let (family, kind) = rest.split_once(' ').expect("# TYPE name type");
        let name = match kind {
            "counter" => format!("{family}_total"),
            _ => family.to_owned(),
        };
        // The labels of the family's first sample.
        let sample = text
            .lines()
            .find(|l| {
                [
                    format!("{name}{{"),
                    format!("{name} "),
                    format!("{name}_sum"),
                ]
                .iter()
                .any(|p| l.starts_with(p.as_str()))
            })
            .expect("a sample");
        let labels = sample
            .split_once('{')
            .map(|(_, rest)| {
                rest.split('}')
                    .next()
                    .unwrap_or("")
                    .split(',')
                    .filter_map(|kv| kv.split_once('=').map(|(k, _)| k.to_owned()))
                    .filter(|k| k != "le")
                    .collect()
            })
            .unwrap_or_default();
        out.insert(name, (kind.to_owned(), labels));
    }
    out
}

#[test]
fn the_readme_metric_table_is_exactly_what_metrics_exposes() {
    let documented = documented();
    let exposed = exposed();
    assert!(exposed.len() > 10, "{exposed:?}");
    for (name, (kind, labels)) in &exposed {
        let row = documented
            .get(name)
            .unwrap_or_else(|| panic!("{name} is exposed but not in the README table"));
        assert_eq!(&row.0, kind, "{name}: type");
        assert_eq!(&row.1, labels, "{name}: labels");
    }
    for name in documented.keys() {
        assert!(
            exposed.contains_key(name),
            "{name} is in the README but not exposed"
        );
    }
}
