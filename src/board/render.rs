//! The board as one server-rendered HTML page (maud: compile-time templates that escape
//! every interpolated string). No JavaScript: columns are sections with headings, cards
//! are articles with real links, progress is a `<progress>` element with its figures in
//! text, and every state is written out in words, so the page reads without colour, with
//! a keyboard (visible focus) and in a screen reader; the CSS grid folds to one column on
//! a phone.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::chart::{days_text, lead_time_svg};
use super::model::{Board, Card};

/// The page's style: system fonts and colours (light and dark), a grid that wraps from
/// five columns on a laptop to one on a phone, and a thick focus ring.
const CSS: &str = r#"
:root{color-scheme:light dark;--fg:CanvasText;--bg:Canvas;--line:#8888;--accent:#1f6feb}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;padding:1rem;color:var(--fg);background:var(--bg)}
header{display:flex;flex-wrap:wrap;gap:.5rem 2rem;align-items:baseline;margin-bottom:1rem}
h1{font-size:1.4rem;margin:0}
h2{font-size:1.05rem;margin:.2rem 0 .6rem}
h3{font-size:1rem;margin:0 0 .3rem}
a{color:var(--accent)}
a:focus-visible,summary:focus-visible{outline:3px solid var(--accent);outline-offset:2px;border-radius:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:.5rem;background:var(--bg);padding:.3rem .6rem}
.columns{display:grid;grid-template-columns:repeat(auto-fit,minmax(13rem,1fr));gap:.8rem;align-items:start}
.column{border:1px solid var(--line);border-radius:8px;padding:.6rem}
.card{border:1px solid var(--line);border-left-width:4px;border-radius:6px;padding:.5rem .6rem;margin:0 0 .5rem}
.meta{font-size:.85rem;margin:.15rem 0}
.stage{font-weight:600;text-transform:uppercase;font-size:.75rem;letter-spacing:.04em}
progress{width:100%;height:.8rem}
.empty{font-style:italic}
section.below{margin-top:1.5rem;max-width:60rem}
.chart{width:100%;max-width:640px;height:auto}
.chart .bar{fill:var(--accent)}
.chart text{fill:currentColor;font-size:13px}
table{border-collapse:collapse;margin:.4rem 0 1rem}
th,td{border:1px solid var(--line);padding:.25rem .5rem;text-align:left}
@media (max-width:40rem){body{padding:.5rem}.columns{grid-template-columns:1fr}}
"#;

/// Only `http(s)` links are made links: a URL from a tracker or an issue that says
/// `javascript:` is shown as text, never followed.
fn safe_url(u: &str) -> Option<&str> {
    let l = u.trim_start().to_ascii_lowercase();
    (l.starts_with("https://") || l.starts_with("http://")).then_some(u)
}

fn card(c: &Card) -> Markup {
    let issue = format!("{}#{}", c.repo, c.number);
    html! {
        article.card data-concern=(issue) {
            h3 {
                @if let Some(u) = safe_url(&c.issue_url) {
                    a href=(u) { (c.title.as_deref().unwrap_or(&issue)) }
                } @else {
                    (c.title.as_deref().unwrap_or(&issue))
                }
            }
            p.meta {
                span.stage { (c.stage) } " · " (issue)
                @if let Some(a) = &c.author { " · by @" (a) }
            }
            @if !c.teams.is_empty() {
                p.meta { "Teams: " (c.teams.join(", ")) }
            }
            @if let Some((key, url)) = &c.epic {
                p.meta.epic {
                    "Epic: "
                    @match url.as_deref().and_then(safe_url) {
                        Some(u) => { a href=(u) { (key) } }
                        None => { (key) }
                    }
                }
            }
            @if let Some((done, total)) = c.progress {
                p.meta.progress {
                    label {
                        (done) " of " (total) " stories done"
                        progress value=(done) max=(total) { (done) "/" (total) }
                    }
                }
            }
            @if !c.figures.is_empty() {
                ul.meta.figures {
                    @for f in &c.figures {
                        li { (f.metric) ": " (f.before_after_text()) " (" (f.change_text()) ")" }
                    }
                }
            }
        }
    }
}

/// The whole page.
pub fn page(b: &Board) -> String {
    let total: usize = b.columns.iter().map(|c| c.cards.len()).sum();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "SRE council board" }
                style { (PreEscaped(CSS)) }
            }
            body {
                a.skip href="#lead-times" { "Skip to lead times" }
                header {
                    h1 { "SRE council board" }
                    p.meta { (total) @if total == 1 { " concern" } @else { " concerns" } " · as of " (b.generated) }
                    @if let Some(s) = &b.next_session {
                        p.meta #next-session { "Next session: " (s) }
                    }
                }
                main {
                    div.columns {
                        @for col in &b.columns {
                            section.column #(col.kind.id()) aria-labelledby=(format!("h-{}", col.kind.id())) {
                                h2 #(format!("h-{}", col.kind.id())) { (col.kind.title()) " (" (col.cards.len()) ")" }
                                @if col.cards.is_empty() { p.empty { "Nothing here." } }
                                @for c in &col.cards { (card(c)) }
                            }
                        }
                    }
                    section.below #lead-times aria-labelledby="h-lead-times" {
                        h2 #h-lead-times { "Lead times (median per step)" }
                        (lead_time_svg(&b.lead_times))
                        table {
                            caption.meta { "The same figures as a table" }
                            thead { tr { th scope="col" { "Step" } th scope="col" { "Median" } th scope="col" { "Concerns" } } }
                            tbody {
                                @for s in &b.lead_times {
                                    tr { td { (s.label) } td { (s.median_days.map_or("—".to_owned(), days_text)) } td { (s.count) } }
                                }
                            }
                        }
                    }
                    section.below #acceptance aria-labelledby="h-acceptance" {
                        h2 #h-acceptance { "Acceptance rate" }
                        p {
                            @match b.acceptance.rate_percent() {
                                Some(r) => { strong { (format!("{r:.0}%")) } " accepted: " }
                                None => { "No decisions yet: " }
                            }
                            (b.acceptance.accepted) " accepted, " (b.acceptance.rejected) " rejected."
                        }
                    }
                    section.below #results aria-labelledby="h-results" {
                        h2 #h-results { "Results presented in " (b.quarter) " (" (b.results_this_quarter.len()) ")" }
                        @if b.results_this_quarter.is_empty() { p.empty { "None yet this quarter." } }
                        @for c in &b.results_this_quarter {
                            h3 {
                                @match safe_url(&c.issue_url) {
                                    Some(u) => { a href=(u) { (c.title.as_deref().unwrap_or("")) " " (c.repo) "#" (c.number) } }
                                    None => { (c.repo) "#" (c.number) }
                                }
                            }
                            @if c.figures.is_empty() {
                                p.meta { "Results recorded without before/after figures." }
                            } @else {
                                table {
                                    thead { tr { th scope="col" { "Metric" } th scope="col" { "Before" } th scope="col" { "After" } th scope="col" { "Change" } } }
                                    tbody {
                                        @for f in &c.figures {
                                            @let (before, after) = f.before_after_text().split_once(" → ").map(|(a, b)| (a.to_owned(), b.to_owned())).unwrap_or_default();
                                            tr { td { (f.metric) } td { (before) } td { (after) } td { (f.change_text()) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    .into_string()
}
