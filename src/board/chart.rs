//! The lead-time chart: one horizontal bar per step of a concern's life, its median in
//! days written beside it (the figure is text, so the chart reads without colour and in a
//! screen reader through the SVG's title and the bars' own labels).

use maud::{Markup, html};

use super::model::LeadTime;

/// Width of the label column, in SVG user units (px at 1:1).
const LABEL_W: f64 = 210.0;
/// Longest bar.
const BAR_W: f64 = 300.0;
/// Room for the value after the longest bar.
const VALUE_W: f64 = 130.0;
/// Height of one row.
const ROW_H: f64 = 30.0;

/// Days as people read them: `3.2 d`, `45 min` under an hour.
pub fn days_text(d: f64) -> String {
    if d < 1.0 / 24.0 {
        format!("{} min", (d * 1440.0).round())
    } else if d < 1.0 {
        format!("{:.1} h", d * 24.0)
    } else {
        format!("{d:.1} d")
    }
}

/// The SVG of `steps` (median per step; a step nobody completed shows "no data").
pub fn lead_time_svg(steps: &[LeadTime]) -> Markup {
    let max = steps
        .iter()
        .filter_map(|s| s.median_days)
        .fold(0.0_f64, f64::max);
    let h = ROW_H * steps.len() as f64 + 6.0;
    let w = LABEL_W + BAR_W + VALUE_W;
    html! {
        svg.chart viewBox=(format!("0 0 {w} {h}")) role="img" aria-labelledby="lead-chart-title"
            xmlns="http://www.w3.org/2000/svg" {
            title #lead-chart-title { "Median lead time per step, in days" }
            @for (i, s) in steps.iter().enumerate() {
                @let y = i as f64 * ROW_H + 4.0;
                @let len = match s.median_days { Some(d) if max > 0.0 => (d / max * BAR_W).max(2.0), _ => 0.0 };
                g.step data-step=(s.step.as_str()) {
                    text.label x=(LABEL_W - 8.0) y=(y + ROW_H / 2.0) text-anchor="end" dominant-baseline="middle" { (s.label) }
                    rect.bar x=(LABEL_W) y=(y + 4.0) width=(format!("{len:.1}")) height=(ROW_H - 10.0) rx="3" {}
                    text.value x=(LABEL_W + len + 6.0) y=(y + ROW_H / 2.0) dominant-baseline="middle" {
                        @match s.median_days {
                            Some(d) => { (days_text(d)) " (n=" (s.count) ")" }
                            None => { "no data yet" }
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
    use crate::metrics::Step;

    #[test]
    fn durations_read_in_their_unit() {
        assert_eq!(days_text(3.24), "3.2 d");
        assert_eq!(days_text(0.5), "12.0 h");
        assert_eq!(days_text(0.01), "14 min");
    }

    #[test]
    fn bars_scale_to_the_longest_and_empty_steps_say_so() {
        let steps = [
            LeadTime {
                step: Step::OpenedToReady,
                label: "opened → ready",
                median_days: Some(2.0),
                count: 3,
            },
            LeadTime {
                step: Step::ReadyToDecided,
                label: "ready → decided",
                median_days: Some(1.0),
                count: 1,
            },
            LeadTime {
                step: Step::DoneToResults,
                label: "done → results",
                median_days: None,
                count: 0,
            },
        ];
        let svg = lead_time_svg(&steps).into_string();
        assert!(svg.contains("width=\"300.0\""), "{svg}");
        assert!(svg.contains("width=\"150.0\""), "{svg}");
        assert!(svg.contains("2.0 d (n=3)"));
        assert!(svg.contains("no data yet"));
        assert!(svg.contains("opened → ready"));
        assert!(
            !svg.contains("/>"),
            "SVG children need real end tags in HTML"
        );
    }
}
