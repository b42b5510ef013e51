//! Before/after figures read out of a concern's results: the council hears "p99 went from
//! 900 ms to 300 ms", and the board and the roadmap show it with its change.
//!
//! Two shapes are read, as people write them in an issue or a `/results` comment:
//! * a Markdown table whose header names `metric`, `before` and `after` columns (and
//!   optionally `unit`), in any order, case-insensitively;
//! * lines `metric: before → after` (or `->`, `⇒`, `=>`), with a list marker or not, the
//!   unit written after either number (`900 ms → 300 ms`, `99.82% -> 99.97%`).
//!
//! Pure and bounded: at most [`MAX_INPUT_BYTES`] of the text are read, at most
//! [`MAX_FIGURES`] figures come out, each name and unit is cut at [`MAX_NAME_CHARS`], and
//! the work is linear in the input. Whatever is not a figure is skipped, never an error.

use serde::Serialize;

/// How much of the results text is read: results are a few lines; a pasted log is not.
pub const MAX_INPUT_BYTES: usize = 16 * 1024;
/// Most figures read from one text: more than a board card or a roadmap cell can show.
pub const MAX_FIGURES: usize = 20;
/// Longest metric name or unit kept (characters); longer ones are cut with `…`.
pub const MAX_NAME_CHARS: usize = 80;

/// The arrows accepted between a before and an after value.
const ARROWS: [&str; 4] = ["→", "->", "⇒", "=>"];

/// One measured result: `metric` went from `before` to `after` (in `unit`, when given).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    /// What was measured (`p99 latency`), as written; empty when the line names none.
    pub metric: String,
    /// The value before the work.
    pub before: f64,
    /// The value after the work.
    pub after: f64,
    /// The unit (`ms`, `%`, `incidents/month`), when one was written.
    pub unit: Option<String>,
}

impl Figure {
    /// `after - before`, in the figure's unit.
    pub fn change(&self) -> f64 {
        self.after - self.before
    }

    /// The change relative to `before`, in percent; `None` when `before` is zero (no
    /// relative change from nothing).
    pub fn change_percent(&self) -> Option<f64> {
        (self.before != 0.0).then(|| (self.after - self.before) / self.before.abs() * 100.0)
    }

    /// The change as people read it: `-600 ms (-66.7%)`, or `+2 (new)` from zero.
    pub fn change_text(&self) -> String {
        let unit = self.unit.as_deref().map_or(String::new(), |u| {
            if u == "%" {
                " pp".to_owned()
            } else {
                format!(" {u}")
            }
        });
        let abs = format!("{}{}", signed(self.change()), unit);
        match self.change_percent() {
            Some(p) => format!("{abs} ({}%)", signed((p * 10.0).round() / 10.0)),
            None => format!("{abs} (from 0)"),
        }
    }

    /// `before → after` with the unit: `900 ms → 300 ms`.
    pub fn before_after_text(&self) -> String {
        let u = |v: f64| match self.unit.as_deref() {
            Some("%") => format!("{}%", number(v)),
            Some(u) => format!("{} {u}", number(v)),
            None => number(v),
        };
        format!("{} → {}", u(self.before), u(self.after))
    }
}

/// A figure with its change, as the roadmap's JSON gives it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FigureChange {
    /// The figure as read.
    #[serde(flatten)]
    pub figure: Figure,
    /// `after - before`.
    pub change: f64,
    /// The change in percent of `before`; absent when `before` is zero.
    pub change_percent: Option<f64>,
}

impl From<Figure> for FigureChange {
    fn from(figure: Figure) -> Self {
        FigureChange {
            change: figure.change(),
            change_percent: figure.change_percent(),
            figure,
        }
    }
}

/// A number without a needless fraction (`300`, `99.97`).
fn number(v: f64) -> String {
    let r = (v * 1000.0).round() / 1000.0;
    if r == r.trunc() && r.abs() < 1e15 {
        format!("{}", r as i64)
    } else {
        format!("{r}")
    }
}

fn signed(v: f64) -> String {
    if v > 0.0 {
        format!("+{}", number(v))
    } else {
        number(v)
    }
}

/// Reads the figures of `text` (see the module note for the shapes). Tables first, then
/// arrow lines, in the order they appear; at most [`MAX_FIGURES`].
pub fn parse(text: &str) -> Vec<Figure> {
    let text = truncate_bytes(text, MAX_INPUT_BYTES);
    let mut out = Vec::new();
    let mut table: Option<Columns> = None;
    for line in text.lines() {
        if out.len() >= MAX_FIGURES {
            break;
        }
        let line = line.trim();
        if line.starts_with('|') || (table.is_some() && line.contains('|')) {
            let cells = cells(line);
            match &table {
                None => table = Columns::of(&cells),
                Some(cols) => {
                    if let Some(f) = cols.figure(&cells) {
                        out.push(f);
                    }
                }
            }
            continue;
        }
        table = None;
        // Several figures on one line: `a 2.1 s → 0.4 s; b 14 → 1`.
        for clause in line.split(';') {
            if out.len() >= MAX_FIGURES {
                break;
            }
            if let Some(f) = arrow_line(clause) {
                out.push(f);
            }
        }
    }
    out
}

/// The longest prefix of `s` within `max` bytes that ends on a character boundary.
fn truncate_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The cells of a table row, trimmed (`| a | b |` → `["a", "b"]`).
fn cells(line: &str) -> Vec<&str> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    inner.split('|').map(str::trim).collect()
}

/// Where a table keeps its metric, before, after and unit.
struct Columns {
    metric: usize,
    before: usize,
    after: usize,
    unit: Option<usize>,
}

impl Columns {
    /// The columns named by a header row, when it has before and after.
    fn of(header: &[&str]) -> Option<Columns> {
        let find = |names: &[&str]| {
            header.iter().position(|h| {
                let h = h.trim_matches(['*', '_', '`']).to_lowercase();
                names.iter().any(|n| h == *n)
            })
        };
        let before = find(&["before"])?;
        let after = find(&["after"])?;
        let metric = find(&["metric", "measure", "what", "figure", "indicator"]).unwrap_or(0);
        if metric == before || metric == after {
            return None;
        }
        Some(Columns {
            metric,
            before,
            after,
            unit: find(&["unit", "units"]),
        })
    }

    /// The figure of one body row; `None` for the `|---|` rule and rows without numbers.
    fn figure(&self, row: &[&str]) -> Option<Figure> {
        let (before, bu) = value(row.get(self.before)?)?;
        let (after, au) = value(row.get(self.after)?)?;
        let unit = self
            .unit
            .and_then(|i| row.get(i))
            .map(|u| u.trim())
            .filter(|u| !u.is_empty())
            .map(str::to_owned)
            .or(au)
            .or(bu);
        Some(Figure {
            metric: name(row.get(self.metric).copied().unwrap_or("")),
            before,
            after,
            unit: unit.map(|u| name(&u)),
        })
    }
}

/// A `metric: before → after` line.
fn arrow_line(line: &str) -> Option<Figure> {
    let line = strip_list_marker(line);
    let (at, arrow) = ARROWS
        .iter()
        .filter_map(|a| line.find(a).map(|i| (i, *a)))
        .min_by_key(|(i, _)| *i)?;
    let (left, right) = (&line[..at], &line[at + arrow.len()..]);
    let (metric, before_text) = match left.rfind(':') {
        Some(i) => (&left[..i], &left[i + 1..]),
        None => split_trailing_value(left),
    };
    let (before, bu) = value(before_text)?;
    let (after, au) = value(right)?;
    let unit = au
        .filter(|u| !is_filler(u))
        .or(bu.filter(|u| !is_filler(u)));
    Some(Figure {
        metric: name(metric),
        before,
        after,
        unit: unit.map(|u| name(&u)),
    })
}

/// `p99 latency 2.1 s` → (`p99 latency`, `2.1 s`): the before value is the last number of
/// the text (with the unit word after it, if any), the metric what precedes it.
fn split_trailing_value(left: &str) -> (&str, &str) {
    let t = left.trim_end();
    let words: Vec<(usize, &str)> = t
        .split_whitespace()
        .map(|w| (w.as_ptr() as usize - t.as_ptr() as usize, w))
        .collect();
    let n = words.len();
    for back in 1..=n.min(2) {
        let (at, w) = words[n - back];
        if value(w).is_some() {
            return (&t[..at], &t[at..]);
        }
    }
    ("", t)
}

/// Words after a number that are not its unit (`1 a week`).
fn is_filler(u: &str) -> bool {
    matches!(
        u.to_ascii_lowercase().as_str(),
        "a" | "an" | "the" | "per" | "in" | "on" | "of" | "to" | "and" | "or"
    )
}

fn strip_list_marker(line: &str) -> &str {
    let l = line.trim_start();
    for m in ["- ", "* ", "+ "] {
        if let Some(rest) = l.strip_prefix(m) {
            return rest.trim_start();
        }
    }
    l
}

/// A metric name or unit: Markdown emphasis trimmed, cut at [`MAX_NAME_CHARS`].
fn name(s: &str) -> String {
    let s = s.trim().trim_matches(['*', '_', '`']).trim();
    if s.chars().count() <= MAX_NAME_CHARS {
        return s.to_owned();
    }
    let mut cut: String = s.chars().take(MAX_NAME_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// A number with an optional unit after it: `900 ms`, `99.97%`, `-3`, `1,200 req/s`,
/// `**300**ms`. `None` when the text does not start (after emphasis) with a number or the
/// number is not finite.
fn value(text: &str) -> Option<(f64, Option<String>)> {
    let t = text.trim().trim_start_matches(['*', '_', '`', '~']).trim();
    let mut end = 0;
    let mut digits = String::new();
    for (i, c) in t.char_indices() {
        let ok = c.is_ascii_digit()
            || (i == 0 && (c == '-' || c == '+' || c == '−'))
            || c == '.'
            || (c == ',' && !digits.is_empty());
        if !ok {
            break;
        }
        end = i + c.len_utf8();
        match c {
            ',' => {}
            '−' => digits.push('-'),
            _ => digits.push(c),
        }
    }
    if !digits.bytes().any(|b| b.is_ascii_digit()) || digits.len() > 40 {
        return None;
    }
    let n: f64 = digits.parse().ok().filter(|n: &f64| n.is_finite())?;
    let rest = t[end..].trim_matches(['*', '_', '`', '~', ' ', ',', '.', ';']);
    let unit = rest
        .split_whitespace()
        .next()
        .map(|u| u.trim_end_matches([',', '.', ';', ':', ')', '*', '_', '`']))
        .filter(|u| !u.is_empty() && u.chars().count() <= MAX_NAME_CHARS)
        .filter(|u| u.chars().next().is_some_and(|c| !c.is_ascii_digit()))
        .map(str::to_owned);
    Some((n, unit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fig(metric: &str, before: f64, after: f64, unit: Option<&str>) -> Figure {
        Figure {
            metric: metric.into(),
            before,
            after,
            unit: unit.map(str::to_owned),
        }
    }

    #[test]
    fn arrow_lines_in_each_spelling() {
        let text = "Results after 8 weeks:\n\
                    - p99 latency: 900 ms → 300 ms\n\
                    * availability: 99.82% -> 99.97%\n\
                    incidents/month: 2 ⇒ 0\n\
                    toil: 6h => 1h\n\
                    Nothing else changed.";
        assert_eq!(
            parse(text),
            [
                fig("p99 latency", 900.0, 300.0, Some("ms")),
                fig("availability", 99.82, 99.97, Some("%")),
                fig("incidents/month", 2.0, 0.0, None),
                fig("toil", 6.0, 1.0, Some("h")),
            ]
        );
    }

    #[test]
    fn a_table_in_any_column_order_with_or_without_a_unit_column() {
        let text = "| Metric | After | Before | Unit |\n|---|---|---|---|\n\
                    | p99 | 300 | 900 | ms |\n| **errors** | 0.1% | 2.5% | |\n| note | n/a | - | |\n\n\
                    | what | before | after |\n| --- | --- | --- |\n| pages/week | 12 | 3 |";
        assert_eq!(
            parse(text),
            [
                fig("p99", 900.0, 300.0, Some("ms")),
                fig("errors", 2.5, 0.1, Some("%")),
                fig("pages/week", 12.0, 3.0, None),
            ]
        );
    }

    #[test]
    fn figures_without_a_colon_and_several_on_one_line() {
        assert_eq!(
            parse("p99 checkout latency 2.1 s → 0.4 s; night pages 14 → 1 a week"),
            [
                fig("p99 checkout latency", 2.1, 0.4, Some("s")),
                fig("night pages", 14.0, 1.0, None),
            ]
        );
        assert_eq!(
            parse("failover drill 40 min → 3 min"),
            [fig("failover drill", 40.0, 3.0, Some("min"))]
        );
    }

    #[test]
    fn thousands_separators_signs_and_unicode_minus() {
        assert_eq!(
            parse("rps: 1,200 req/s → 4,800 req/s\ndrift: −3 → +2 s"),
            [
                fig("rps", 1200.0, 4800.0, Some("req/s")),
                fig("drift", -3.0, 2.0, Some("s")),
            ]
        );
    }

    #[test]
    fn prose_without_numbers_is_not_a_figure() {
        assert!(parse("We moved from chaos -> calm.\n| a | b |\n|---|---|").is_empty());
        assert!(parse("").is_empty());
    }

    #[test]
    fn change_absolute_and_percent() {
        let f = fig("p99", 900.0, 300.0, Some("ms"));
        assert_eq!(f.change(), -600.0);
        assert_eq!(f.change_text(), "-600 ms (-66.7%)");
        assert_eq!(f.before_after_text(), "900 ms → 300 ms");
        let p = fig("availability", 99.82, 99.97, Some("%"));
        assert_eq!(p.change_text(), "+0.15 pp (+0.2%)");
        let z = fig("fixes", 0.0, 2.0, None);
        assert_eq!(z.change_percent(), None);
        assert_eq!(z.change_text(), "+2 (from 0)");
    }

    #[test]
    fn bounded_in_figures_and_name_length() {
        let many: String = (0..100)
            .map(|i| format!("m{i}: {i} → {}\n", i + 1))
            .collect();
        assert_eq!(parse(&many).len(), MAX_FIGURES);
        let long = format!("{}: 1 → 2", "x".repeat(500));
        let f = parse(&long);
        assert_eq!(f[0].metric.chars().count(), MAX_NAME_CHARS);
        assert!(f[0].metric.ends_with('…'));
        let huge = format!("{}a: 1 → 2", "y\n".repeat(MAX_INPUT_BYTES));
        assert!(parse(&huge).is_empty(), "past the input bound");
    }

    proptest! {
        #[test]
        fn never_panics_and_stays_bounded(text in "\\PC{0,400}") {
            let figs = parse(&text);
            prop_assert!(figs.len() <= MAX_FIGURES);
            for f in figs {
                prop_assert!(f.before.is_finite() && f.after.is_finite());
                prop_assert!(f.metric.chars().count() <= MAX_NAME_CHARS);
            }
        }

        #[test]
        fn never_panics_on_table_and_arrow_soup(
            parts in proptest::collection::vec(
                prop_oneof![Just("|"), Just("→"), Just("->"), Just(":"), Just("\n"),
                            Just("before"), Just("after"), Just("−"), Just(","),
                            Just("1"), Just("."), Just("ms"), Just(" "), Just("%")],
                0..200)
        ) {
            let text: String = parts.concat();
            prop_assert!(parse(&text).len() <= MAX_FIGURES);
        }

        #[test]
        fn written_figures_read_back(
            metric in "[a-z][a-z0-9 /]{0,20}[a-z]",
            before in -1_000_000i64..1_000_000,
            after in -1_000_000i64..1_000_000,
            unit in proptest::option::of("[a-z]{1,6}(/[a-z]{1,4})?"),
            arrow in 0usize..4,
            table in any::<bool>(),
        ) {
            // A filler word after a number (`1 a week`) is not read as a unit.
            prop_assume!(unit.as_deref().is_none_or(|u| !is_filler(u)));
            let (b, a) = (before as f64 / 100.0, after as f64 / 100.0);
            let u = unit.clone().map_or(String::new(), |u| format!(" {u}"));
            let text = if table {
                format!("| metric | before | after |\n|---|---|---|\n| {metric} | {b}{u} | {a}{u} |")
            } else {
                format!("- {metric}: {b}{u} {} {a}{u}", ARROWS[arrow])
            };
            let got = parse(&text);
            prop_assert_eq!(got, vec![fig(metric.trim(), b, a, unit.as_deref())]);
        }
    }
}
