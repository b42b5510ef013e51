//! The agenda as Markdown (for the terminal and the agenda issue) and as JSON.
//!
//! Everything people typed (titles, answers, results, error texts) is escaped so it cannot
//! open an HTML comment (which would hide the rest of the agenda, or its marker), a tag, or
//! a link of its own; the council's logins are written as `@login` so GitHub links them.

use std::fmt::Write;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::model::{Agenda, EpicItem, IssueRef, StuckReason};

/// Escapes text people typed for Markdown, on one line: HTML and Markdown punctuation, and
/// line breaks turned into spaces. A `#` is escaped only where it could open a heading (the
/// text's first non-blank character: CommonMark's ATX headings start a line, and no line
/// starts inside the escaped text), so `acme/app#12` reads as typed, in a terminal as on
/// GitHub (which links it), not as `acme/app\#12`.
pub fn escape_inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut at_start = true;
    for ch in s.chars() {
        match ch {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '#' if !at_start => out.push(ch),
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '|' | '~' => {
                out.push('\\');
                out.push(ch);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(ch),
        }
        at_start &= ch.is_whitespace();
    }
    out
}

/// Escapes a multi-line block people typed so it stays Markdown (lists, emphasis) but
/// cannot open HTML (a comment or a tag).
fn escape_block(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A URL from outside made safe inside `(…)` of a Markdown link.
fn url(u: &str) -> String {
    u.replace(' ', "%20")
        .replace('(', "%28")
        .replace(')', "%29")
        .replace('<', "%3C")
        .replace('>', "%3E")
}

/// Formats an instant in the council's time zone: `Thu 10 Dec 2026, 14:00 CET`.
fn when(t: Timestamp, tz: &TimeZone) -> String {
    t.to_zoned(tz.clone())
        .strftime("%a %-d %b %Y, %H:%M %Z")
        .to_string()
}

fn day(t: Timestamp, tz: &TimeZone) -> String {
    t.to_zoned(tz.clone()).strftime("%a %-d %b").to_string()
}

fn issue(r: &IssueRef) -> String {
    match &r.issue {
        Some(i) => format!(
            "[{}#{}]({}) {}",
            r.repo,
            r.number,
            url(&i.url),
            escape_inline(&i.title)
        ),
        None => format!("{}#{}", r.repo, r.number),
    }
}

fn quote(text: &str) -> String {
    escape_block(text)
        .lines()
        .map(|l| format!("> {l}\n"))
        .collect()
}

/// The agenda as Markdown.
pub fn markdown(a: &Agenda) -> String {
    let tz = TimeZone::get(&a.session.time_zone).unwrap_or(TimeZone::UTC);
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# Council session {} — {}\n",
        a.session.number,
        when(a.session.starts_at, &tz)
    );
    match a.session.since {
        Some(since) => {
            let _ = writeln!(
                o,
                "Agenda as of {}, covering what happened since the last session ({}).\n",
                when(a.session.as_of, &tz),
                when(since, &tz)
            );
        }
        None => {
            let _ = writeln!(
                o,
                "Agenda as of {}. This is the council's first session.\n",
                when(a.session.as_of, &tz)
            );
        }
    }
    ready(&mut o, a, &tz);
    decisions(&mut o, a, &tz);
    in_flight(&mut o, &a.in_flight);
    awaiting(&mut o, a, &tz);
    results(&mut o, a, &tz);
    stuck(&mut o, a);
    if !a.warnings.is_empty() {
        let _ = writeln!(o, "---\n");
        for w in &a.warnings {
            let _ = writeln!(o, "- ⚠️ {}", escape_inline(w));
        }
    }
    o
}

fn heading(o: &mut String, title: &str, n: usize) {
    let _ = writeln!(o, "## {title} ({n})\n");
    if n == 0 {
        let _ = writeln!(o, "_Nothing._\n");
    }
}

fn ready(o: &mut String, a: &Agenda, tz: &TimeZone) {
    heading(o, "Ready for a decision", a.ready.len());
    for item in &a.ready {
        let r = &item.concern;
        let _ = writeln!(o, "### {}\n", issue(r));
        let mut meta = Vec::new();
        if let Some(i) = &r.issue {
            meta.push(format!("by @{}", escape_inline(&i.author)));
            if !i.teams.is_empty() {
                meta.push(format!("teams: {}", escape_inline(&i.teams.join(", "))));
            }
        }
        meta.push(format!("ready since {}", day(item.ready_since, tz)));
        meta.push(if item.new { "**new**" } else { "carried over" }.to_owned());
        let _ = writeln!(o, "{}\n", meta.join(" · "));
        if let Some(i) = &r.issue {
            for ans in i.answers.iter().chain(&i.measure) {
                let _ = writeln!(o, "> **{}**", escape_inline(&ans.question));
                let _ = writeln!(o, "{}", quote(&ans.excerpt));
            }
        }
    }
}

fn decisions(o: &mut String, a: &Agenda, tz: &TimeZone) {
    heading(o, "Decisions since the last session", a.decisions.len());
    if a.decisions.is_empty() {
        return;
    }
    let _ = writeln!(o, "| Concern | Decision | By | When |\n|---|---|---|---|");
    for d in &a.decisions {
        let _ = writeln!(
            o,
            "| {} | {} | @{} | {} |",
            issue(&d.concern),
            d.kind,
            escape_inline(&d.by),
            day(d.at, tz)
        );
    }
    o.push('\n');
}

/// A text progress bar (`▰▰▱▱ 2/4`), readable without colour.
fn bar(done: usize, total: usize) -> String {
    if total == 0 {
        return "no stories yet".to_owned();
    }
    format!(
        "{}{} {done}/{total} stories done",
        "▰".repeat(done),
        "▱".repeat(total.saturating_sub(done))
    )
}

fn in_flight(o: &mut String, items: &[EpicItem]) {
    heading(o, "Epics in flight", items.len());
    for e in items {
        let epic = match (&e.epic_key, &e.epic_url) {
            (Some(k), Some(u)) => format!("epic [{}]({})", escape_inline(k), url(u)),
            (Some(k), None) => format!("epic {}", escape_inline(k)),
            _ => "epic not created yet".to_owned(),
        };
        let _ = writeln!(
            o,
            "- {} — {epic} · {} · {}",
            issue(&e.concern),
            e.stage,
            bar(e.done, e.total)
        );
        for s in &e.stories {
            let status = s.status.as_deref().unwrap_or("not looked at yet");
            let sprint = s
                .sprint
                .as_deref()
                .map(|sp| format!(" · {}", escape_inline(sp)))
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "  - {}: [{}]({}) {}{sprint}",
                escape_inline(&s.team),
                escape_inline(&s.key),
                url(&s.url),
                escape_inline(status)
            );
        }
    }
    if !items.is_empty() {
        o.push('\n');
    }
}

fn awaiting(o: &mut String, a: &Agenda, tz: &TimeZone) {
    heading(o, "Done, awaiting results", a.awaiting_results.len());
    for w in &a.awaiting_results {
        let since = w
            .done_since
            .map(|t| format!(" · done since {}", day(t, tz)))
            .unwrap_or_default();
        let epic = w
            .epic_key
            .as_deref()
            .map(|k| format!(" — epic {}", escape_inline(k)))
            .unwrap_or_default();
        let _ = writeln!(o, "- {}{epic}{since}", issue(&w.concern));
    }
    if !a.awaiting_results.is_empty() {
        o.push('\n');
    }
}

fn results(o: &mut String, a: &Agenda, tz: &TimeZone) {
    heading(o, "Results to present", a.results.len());
    for r in &a.results {
        let epic = r
            .epic_key
            .as_deref()
            .map(|k| format!(" — epic {}", escape_inline(k)))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "- {}{epic} · recorded {}\n",
            issue(&r.concern),
            day(r.recorded_at, tz)
        );
        let _ = writeln!(o, "{}", quote(&r.results));
        figures(o, &crate::concern::figures::parse(&r.results));
    }
}

/// The figures read from a result, with their change (absolute and relative).
fn figures(o: &mut String, figs: &[crate::concern::figures::Figure]) {
    if figs.is_empty() {
        return;
    }
    let _ = writeln!(o, "| Metric | Before → after | Change |\n|---|---|---|");
    for f in figs {
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            escape_inline(if f.metric.is_empty() {
                "—"
            } else {
                &f.metric
            }),
            escape_inline(&f.before_after_text()),
            escape_inline(&f.change_text())
        );
    }
    o.push('\n');
}

fn stuck(o: &mut String, a: &Agenda) {
    heading(o, "Stuck", a.stuck.len());
    for s in &a.stuck {
        let what = s
            .concern
            .as_ref()
            .map_or_else(|| "(no concern)".to_owned(), issue);
        let why = match &s.reason {
            StuckReason::NeedsInfo { days } => {
                format!("needs information for {days} days")
            }
            StuckReason::FailedStep { step, error } => format!(
                "step `{step}` failed{}",
                error
                    .as_deref()
                    .map(|e| format!(": {}", escape_inline(e)))
                    .unwrap_or_default()
            ),
            StuckReason::SyncError { error } => {
                format!("sync error: {}", escape_inline(error))
            }
        };
        let _ = writeln!(o, "- {what} — {why}");
    }
    if !a.stuck.is_empty() {
        o.push('\n');
    }
}

/// The agenda as pretty JSON (times in RFC 3339, UTC).
pub fn json(a: &Agenda) -> String {
    // Serialising plain data with string keys cannot fail; say so if it ever does.
    serde_json::to_string_pretty(a).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
