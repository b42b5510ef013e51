//! Markdown from a concern turned into Jira's formats: ADF (Cloud, REST v3) and wiki markup
//! (Data Center, REST v2). Both walk pulldown-cmark's events with GitHub's extensions (task
//! lists, strikethrough). Concern text is written by anyone who can open an issue, so the
//! wiki writer escapes everything the author typed and the ADF writer keeps the document
//! valid; only http, https and mailto links become links.

use pulldown_cmark::{LinkType, Options};

mod adf;
mod bounded;
#[cfg(test)]
mod contract_corpus;
#[cfg(test)]
mod proptests;
mod wiki;

/// An ADF document for Jira Cloud (v3 bodies).
pub fn markdown_to_adf(md: &str) -> serde_json::Value {
    adf::convert(md)
}

/// Wiki markup for Jira Data Center (v2 bodies), with no way for the text to inject markup.
pub fn markdown_to_wiki(md: &str) -> String {
    wiki::convert(md)
}

/// The Markdown dialect of GitHub issues, as far as both writers render it.
fn options() -> Options {
    Options::ENABLE_TASKLISTS | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES
}

/// Link schemes that may become links; anything else (javascript:, data:, relative paths)
/// is shown as its text only.
const ALLOWED_SCHEMES: [&str; 3] = ["http://", "https://", "mailto:"];

/// The target of a Markdown link if it may become a link in Jira.
fn safe_href(dest: &str, link_type: LinkType) -> Option<String> {
    let dest = dest.trim();
    let href = match link_type {
        LinkType::Email if !dest.to_ascii_lowercase().starts_with("mailto:") => {
            format!("mailto:{dest}")
        }
        _ => dest.to_owned(),
    };
    let lower = href.to_ascii_lowercase();
    let allowed = ALLOWED_SCHEMES
        .iter()
        .any(|s| lower.starts_with(s) && lower.len() > s.len());
    let clean = !href.chars().any(char::is_control);
    (allowed && clean).then_some(href)
}

/// How a task-list box is shown where the target format has no task lists.
fn task_marker(checked: bool) -> &'static str {
    if checked { "☑ " } else { "☐ " }
}

/// HTML comments are invisible on GitHub (and carry our hidden markers): never shown.
fn is_html_comment(html: &str) -> bool {
    html.trim_start().starts_with("<!--")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_and_mail_links_are_links() {
        let cases = [
            (
                "https://example.com/a",
                LinkType::Inline,
                Some("https://example.com/a"),
            ),
            (
                "HTTP://EXAMPLE.COM",
                LinkType::Inline,
                Some("HTTP://EXAMPLE.COM"),
            ),
            (
                "mailto:sre@example.com",
                LinkType::Inline,
                Some("mailto:sre@example.com"),
            ),
            (
                "sre@example.com",
                LinkType::Email,
                Some("mailto:sre@example.com"),
            ),
            ("javascript:alert(1)", LinkType::Inline, None),
            ("data:text/html,x", LinkType::Inline, None),
            ("/relative/path", LinkType::Inline, None),
            ("https://", LinkType::Inline, None),
            ("https://x\u{0}y", LinkType::Inline, None),
        ];
        for (dest, kind, want) in cases {
            assert_eq!(safe_href(dest, kind).as_deref(), want, "{dest:?}");
        }
    }
}
