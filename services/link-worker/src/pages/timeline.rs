//! The case's timeline: every referral and case event, newest first, with what it said.

use maud::{Markup, html};

use super::labels;
use crate::case::{Case, Happened};

/// The timeline of `case`; `names` gives link workers' names by user id.
pub fn render(case: &Case, name_of: impl Fn(&str) -> String) -> Markup {
    html! {
        h2 id="timeline" { "Timeline" }
        @if case.history.is_empty() {
            p { "Nothing recorded yet." }
        } @else {
            ol class="nhsuk-list" reversed {
                @for h in case.history.iter().rev() {
                    li class="nhsuk-u-margin-bottom-3" {
                        strong { (labels::event(&h.event_type)) }
                        @if let Some(d) = detail(h, &name_of) { ": " (d) }
                        br;
                        span class="nhsuk-body-s" { time datetime=(rfc3339(h)) { (when(h)) } }
                    }
                }
            }
        }
    }
}

fn rfc3339(h: &Happened) -> String {
    h.at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn when(h: &Happened) -> String {
    let f =
        time::macros::format_description!("[day] [month repr:short] [year], [hour]:[minute] UTC");
    h.at.format(&f).unwrap_or_default()
}

/// What the entry's detail says to people.
fn detail(h: &Happened, name_of: &impl Fn(&str) -> String) -> Option<String> {
    let d = h.detail.as_deref()?;
    let mut words = d.split(' ');
    Some(match h.event_type.as_str() {
        "case.declined" => labels::text(labels::DECLINE_REASONS, d).to_owned(),
        "case.closed" => labels::text(labels::CLOSURE_REASONS, d).to_owned(),
        "case.assigned" => name_of(d),
        "case.contact_attempted" => {
            let channel = labels::text(labels::CHANNELS, words.next().unwrap_or(""));
            let outcome = labels::text(labels::ATTEMPT_OUTCOMES, words.next().unwrap_or(""));
            format!("{channel}, {}", outcome.to_lowercase())
        }
        "case.contact_made" => {
            let channel = labels::text(labels::CHANNELS, words.next().unwrap_or(""));
            format!("{channel}, {} minutes", words.next().unwrap_or("0"))
        }
        "case.outcome_recorded" => {
            let instrument = super::outcome::name(words.next().unwrap_or(""));
            let timepoint = labels::text(labels::TIMEPOINTS, words.next().unwrap_or(""));
            format!("{instrument}, {}", timepoint.to_lowercase())
        }
        _ => d.to_owned(),
    })
}
