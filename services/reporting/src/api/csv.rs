//! The outcome feed as CSV: one row per cell, a header row naming every column.

use super::feed::Feed;
use super::figures::Ons4Items;
use crate::aggregate::{CLOSURE_REASONS, Cell, DECLINE_REASONS};
use crate::disclosure::Statistic;

const ONS4_ITEMS: [&str; 4] = ["life_satisfaction", "worthwhile", "happy", "anxious"];

pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn ons4_cells(items: &Ons4Items) -> [String; 4] {
    [
        Statistic::to_cell(&items.life_satisfaction),
        Statistic::to_cell(&items.worthwhile),
        Statistic::to_cell(&items.happy),
        Statistic::to_cell(&items.anxious),
    ]
}

/// The feed as CSV: one row per cell, a header row naming every column.
pub fn csv(feed: &Feed) -> String {
    let count_names: Vec<&str> = Cell::default().counts().iter().map(|(n, _)| *n).collect();
    let mut header: Vec<String> = ["month", "referrer_kind", "link_worker_service", "need"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    header.extend(count_names.iter().map(|s| (*s).to_owned()));
    header.extend(DECLINE_REASONS.iter().map(|r| format!("declined_{r}")));
    header.extend(CLOSURE_REASONS.iter().map(|r| format!("closed_{r}")));
    header.extend(
        [
            "percent_first_contact_within_14_days",
            "median_days_to_first_contact",
            "swemwbs_people",
            "swemwbs_mean_change",
            "swemwbs_improved",
            "swemwbs_percent_improved",
            "ons4_people",
        ]
        .iter()
        .map(|s| (*s).to_owned()),
    );
    header.extend(ONS4_ITEMS.iter().map(|i| format!("ons4_baseline_{i}")));
    header.extend(ONS4_ITEMS.iter().map(|i| format!("ons4_latest_{i}")));
    header.extend(
        [
            "ucla3_people",
            "ucla3_mean_change",
            "mycaw_people",
            "mycaw_mean_change",
            "mycaw_improved",
            "mycaw_percent_improved",
        ]
        .iter()
        .map(|s| (*s).to_owned()),
    );
    let mut out = header.join(",");
    out.push('\n');
    for cell in feed.months.iter().flat_map(|m| &m.cells) {
        let mut row: Vec<String> = [
            &cell.month,
            &cell.referrer_kind,
            &cell.link_worker_service,
            &cell.need,
        ]
        .iter()
        .map(|s| csv_field(s))
        .collect();
        row.extend(count_names.iter().map(|n| cell.counts[*n].to_cell()));
        row.extend(
            DECLINE_REASONS
                .iter()
                .map(|r| cell.declined_by_reason[*r].to_cell()),
        );
        row.extend(
            CLOSURE_REASONS
                .iter()
                .map(|r| cell.closed_by_reason[*r].to_cell()),
        );
        let o = &cell.outcomes;
        row.extend([
            Statistic::to_cell(&cell.first_contact.percent_within_14_days),
            Statistic::to_cell(&cell.first_contact.median_days),
            o.swemwbs.people.to_cell(),
            Statistic::to_cell(&o.swemwbs.mean_change),
            o.swemwbs.improved.to_cell(),
            Statistic::to_cell(&o.swemwbs.percent_improved),
            o.ons4.people.to_cell(),
        ]);
        row.extend(ons4_cells(&o.ons4.baseline_means));
        row.extend(ons4_cells(&o.ons4.latest_means));
        row.extend([
            o.ucla3.people.to_cell(),
            Statistic::to_cell(&o.ucla3.mean_change),
            o.mycaw.people.to_cell(),
            Statistic::to_cell(&o.mycaw.mean_change),
            o.mycaw.improved.to_cell(),
            Statistic::to_cell(&o.mycaw.percent_improved),
        ]);
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}
