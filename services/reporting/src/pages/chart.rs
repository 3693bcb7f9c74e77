//! Accessible bar charts as server-rendered SVG (pure: figures in, markup out).
//!
//! Bars are horizontal, one row each: the label on the left, the bar, and the figure
//! written at its end, so no value is carried by colour or length alone. A suppressed
//! figure draws no bar at all (a bar of zero would say "none"): its row is a gap with the
//! word "suppressed" written in it. A series may be drawn hatched instead of solid (its
//! label says which series it is too). The `<svg>` is `role="img"`, named by its
//! `<title>` and described by a `<desc>` listing every figure; a table of the same
//! figures sits beside every chart on the page.
//!
//! Colours are the NHS palette: bars NHS blue `#005eb8` on white (5.9:1, above the 3:1
//! WCAG 2.2 asks of graphics), text `#212b32` (15:1).

use maud::{Markup, html};

/// NHS blue: the bars.
const BAR: &str = "#005eb8";
/// NHS text colour: labels and figures.
const TEXT: &str = "#212b32";
/// NHS mid grey: the gap of a suppressed figure (4.5:1 on white, for its text too).
const GAP: &str = "#4c6272";

/// Width of the drawing (user units; the SVG scales to its container, which is at most
/// about this wide in the nhsuk layout, so text is drawn near its own size).
pub const WIDTH: f64 = 940.0;
/// Where bars start: the labels sit to their left.
pub const BAR_X: f64 = 360.0;
/// The longest bar (the largest figure).
pub const BAR_MAX: f64 = 460.0;
/// Height of one row.
pub const ROW: f64 = 34.0;
/// Height of one bar.
pub const BAR_HEIGHT: f64 = 22.0;

/// How a bar is filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    Solid,
    /// Diagonal hatching: a second series, told apart by more than its colour.
    Hatched,
}

/// One bar: its label, its figure (`None`: suppressed) and how the figure is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    /// `None` when the figure is suppressed.
    pub value: Option<f64>,
    /// The figure as the table shows it, e.g. `25` or `3.5`.
    pub text: String,
    pub fill: Fill,
}

impl Bar {
    /// A solid bar of a shown figure.
    pub fn shown(label: impl Into<String>, value: f64, text: impl Into<String>) -> Bar {
        Bar {
            label: label.into(),
            value: Some(value),
            text: text.into(),
            fill: Fill::Solid,
        }
    }

    /// A suppressed figure: a gap.
    pub fn suppressed(label: impl Into<String>) -> Bar {
        Bar {
            label: label.into(),
            value: None,
            text: "*".into(),
            fill: Fill::Solid,
        }
    }

    pub fn hatched(mut self) -> Bar {
        self.fill = Fill::Hatched;
        self
    }
}

/// A chart: its id (unique on the page), title, a sentence on what it shows, and bars.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    pub id: String,
    pub title: String,
    /// What the bars measure, e.g. "Referrals by month of referral".
    pub summary: String,
    pub bars: Vec<Bar>,
}

/// The length of a bar of `value` when the largest is `max`; negative values (a fall
/// in a score) are drawn by their size, their sign is in the written figure.
pub fn bar_length(value: f64, max: f64) -> f64 {
    if max <= 0.0 {
        0.0
    } else {
        (value.abs() / max * BAR_MAX).min(BAR_MAX)
    }
}

fn number(x: f64) -> String {
    let rounded = (x * 100.0).round() / 100.0;
    if rounded == rounded.trunc() {
        format!("{rounded:.0}")
    } else {
        format!("{rounded}")
    }
}

impl BarChart {
    /// The `<desc>`: the summary, then every bar's label and figure.
    pub fn description(&self) -> String {
        let bars: Vec<String> = self
            .bars
            .iter()
            .map(|b| match b.value {
                Some(_) => format!("{}: {}", b.label, b.text),
                None => format!("{}: suppressed", b.label),
            })
            .collect();
        if bars.is_empty() {
            format!("{}. No figures.", self.summary)
        } else {
            format!("{}. {}.", self.summary, bars.join("; "))
        }
    }

    /// The SVG.
    pub fn render(&self) -> Markup {
        let max = self
            .bars
            .iter()
            .filter_map(|b| b.value)
            .map(f64::abs)
            .fold(0.0, f64::max);
        let height = (self.bars.len().max(1) as f64) * ROW + 8.0;
        let title_id = format!("{}-title", self.id);
        let desc_id = format!("{}-desc", self.id);
        let hatch_id = format!("{}-hatch", self.id);
        let hatched = self.bars.iter().any(|b| b.fill == Fill::Hatched);
        html! {
            svg xmlns="http://www.w3.org/2000/svg" class="linkway-chart" role="img"
              aria-labelledby=(format!("{title_id} {desc_id}"))
              viewBox=(format!("0 0 {} {}", number(WIDTH), number(height)))
              width="100%" preserveAspectRatio="xMinYMin meet"
              font-family="Frutiger W01, Arial, sans-serif" font-size="16" {
                title id=(title_id) { (self.title) }
                desc id=(desc_id) { (self.description()) }
                @if hatched {
                    defs {
                        pattern id=(hatch_id) width="8" height="8" patternUnits="userSpaceOnUse"
                          patternTransform="rotate(45)" {
                            rect width="8" height="8" fill="#ffffff" {}
                            rect width="4" height="8" fill=(BAR) {}
                        }
                    }
                }
                @if self.bars.is_empty() {
                    text x="0" y=(number(ROW * 0.6)) fill=(TEXT) { "No figures for this period" }
                }
                @for (i, bar) in self.bars.iter().enumerate() {
                    @let top = i as f64 * ROW + 4.0;
                    @let middle = top + BAR_HEIGHT / 2.0 + 5.0;
                    g class="linkway-chart__row" {
                        text x=(number(BAR_X - 10.0)) y=(number(middle)) text-anchor="end" fill=(TEXT) { (bar.label) }
                        @match bar.value {
                            Some(value) => {
                                @let length = bar_length(value, max);
                                @let fill = match bar.fill {
                                    Fill::Solid => BAR.to_owned(),
                                    Fill::Hatched => format!("url(#{hatch_id})"),
                                };
                                rect class="linkway-chart__bar" x=(number(BAR_X)) y=(number(top))
                                  width=(number(length)) height=(number(BAR_HEIGHT))
                                  fill=(fill) stroke=(BAR) stroke-width="1" {}
                                text x=(number(BAR_X + length + 8.0)) y=(number(middle)) fill=(TEXT) font-weight="bold" { (bar.text) }
                            }
                            None => {
                                line class="linkway-chart__gap" x1=(number(BAR_X)) x2=(number(BAR_X))
                                  y1=(number(top)) y2=(number(top + BAR_HEIGHT))
                                  stroke=(GAP) stroke-width="2" stroke-dasharray="3 3" {}
                                text x=(number(BAR_X + 8.0)) y=(number(middle)) fill=(GAP) font-style="italic" { "* suppressed" }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(bars: Vec<Bar>) -> BarChart {
        BarChart {
            id: "c".into(),
            title: "Referrals by month".into(),
            summary: "Referrals by month of referral".into(),
            bars,
        }
    }

    /// The `width` of every bar drawn, in order.
    fn widths(svg: &str) -> Vec<f64> {
        svg.split("<rect class=\"linkway-chart__bar\"")
            .skip(1)
            .map(|r| {
                let w = r.split("width=\"").nth(1).unwrap();
                w[..w.find('"').unwrap()].parse().unwrap()
            })
            .collect()
    }

    #[test]
    fn bar_lengths_are_proportional_to_the_figures() {
        let svg = chart(vec![
            Bar::shown("January", 10.0, "10"),
            Bar::shown("February", 40.0, "40"),
            Bar::shown("March", 20.0, "20"),
        ])
        .render()
        .into_string();
        let w = widths(&svg);
        assert_eq!(w, vec![BAR_MAX / 4.0, BAR_MAX, BAR_MAX / 2.0]);
        assert_eq!(bar_length(0.0, 40.0), 0.0);
        assert_eq!(
            bar_length(-2.0, 4.0),
            BAR_MAX / 2.0,
            "a fall is drawn by its size"
        );
        assert_eq!(bar_length(5.0, 0.0), 0.0);
    }

    #[test]
    fn a_suppressed_figure_is_a_gap_marked_suppressed_never_a_bar_of_zero() {
        let svg = chart(vec![
            Bar::shown("January", 0.0, "0"),
            Bar::suppressed("February"),
            Bar::shown("March", 20.0, "20"),
        ])
        .render()
        .into_string();
        // Two bars: the zero (drawn, of no length) and March; February has none.
        assert_eq!(widths(&svg), vec![0.0, BAR_MAX]);
        assert_eq!(svg.matches("class=\"linkway-chart__gap\"").count(), 1);
        assert!(svg.contains("* suppressed"), "{svg}");
        let february = svg.find(">February<").unwrap();
        let gap = svg.find("linkway-chart__gap").unwrap();
        let march = svg.find(">March<").unwrap();
        assert!(february < gap && gap < march, "the gap is February's row");
        // The description says so too: a screen reader hears it.
        let desc = chart(vec![Bar::suppressed("February")]).description();
        assert!(desc.contains("February: suppressed"), "{desc}");
    }

    #[test]
    fn every_bar_is_labelled_and_the_svg_is_a_named_described_image() {
        let c = chart(vec![
            Bar::shown("GP practice", 25.0, "25"),
            Bar::shown("Council", 10.0, "10"),
        ]);
        let svg = c.render().into_string();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("aria-labelledby=\"c-title c-desc\""));
        assert!(svg.contains("<title id=\"c-title\">Referrals by month</title>"));
        assert!(svg.contains("<desc id=\"c-desc\">Referrals by month of referral. GP practice: 25; Council: 10.</desc>"), "{svg}");
        for text in [">GP practice<", ">25<", ">Council<", ">10<"] {
            assert!(svg.contains(text), "{text} in {svg}");
        }
    }

    #[test]
    fn labels_are_escaped_and_a_hatched_series_has_its_pattern() {
        let svg = chart(vec![
            Bar::shown("Happy <baseline>", 6.0, "6").hatched(),
            Bar::shown("Happy & latest", 7.0, "7"),
        ])
        .render()
        .into_string();
        assert!(svg.contains("Happy &lt;baseline&gt;") && svg.contains("Happy &amp; latest"));
        assert!(svg.contains("<pattern id=\"c-hatch\""));
        assert!(svg.contains("fill=\"url(#c-hatch)\""));
        let none = chart(Vec::new()).render().into_string();
        assert!(none.contains("No figures for this period"));
        assert!(!none.contains("<pattern"));
    }
}
