//! What a reader sees of some Markdown on GitHub. Answers are judged on it, not on the
//! source: an HTML comment (`<!-- … -->`, GitHub does not render it), the tags of raw HTML
//! (`<details><summary></summary></details>` shows no words), link reference definitions,
//! empty links and images without alt text, rules, and characters that take no space
//! (zero-width spaces, joiners, BOM, soft hyphens, Hangul and Braille blanks) are all
//! invisible, so an answer made only of them is no answer.
//!
//! Linear in the input: one pass of pulldown-cmark (which parses block structure first, so
//! a `### heading` inside a fence or an HTML comment block is text of that block, never a
//! heading), then one pass over the collected text to drop comments and tags.

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

use super::sections::gfm_options;

/// Stands for a `<` the author wrote as text, so the tag stripper never takes it for HTML.
const TEXT_LT: char = '\u{E000}';

/// The words a reader sees, whitespace collapsed to single spaces, trimmed.
pub fn visible_text(md: &str) -> String {
    let mut raw = String::with_capacity(md.len());
    for event in Parser::new_ext(md, gfm_options()) {
        match event {
            Event::Text(t) | Event::Code(t) | Event::InlineMath(t) | Event::DisplayMath(t) => {
                raw.extend(t.chars().map(|c| if c == '<' { TEXT_LT } else { c }));
            }
            Event::Html(t) | Event::InlineHtml(t) => raw.push_str(&t),
            Event::SoftBreak | Event::HardBreak => raw.push(' '),
            Event::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item) => raw.push(' '),
            Event::TaskListMarker(_) | Event::Start(Tag::Item) => raw.push(' '),
            _ => {}
        }
    }
    let stripped = strip_html(&raw);
    let mut out = String::with_capacity(stripped.len());
    for word in stripped
        .chars()
        .map(|c| if c == TEXT_LT { '<' } else { c })
        .filter(|c| !takes_no_space(*c))
        .collect::<String>()
        .split(|c: char| c.is_whitespace() || is_blank(c))
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Whether a reader sees anything in `md`.
pub fn is_visible(md: &str) -> bool {
    !visible_text(md).is_empty()
}

/// `text` without HTML comments (an unclosed one hides the rest, as in a browser) and
/// without tags (`<…>` starting with a letter, `/`, `!` or `?`).
pub(crate) fn strip_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let after = &rest[lt..];
        if let Some(comment) = after.strip_prefix("<!--") {
            rest = comment.find("-->").map_or("", |end| &comment[end + 3..]);
            continue;
        }
        let tag_like = after[1..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '/' | '!' | '?'));
        match after.find('>') {
            Some(end) if tag_like => {
                out.push(' ');
                rest = &after[end + 1..];
            }
            // No `>` anywhere after: no later tag can close either, so the rest is text up
            // to an unclosed comment (one `find` each, keeping this linear).
            None if tag_like => {
                let text = after.find("<!--").map_or(after, |c| &after[..c]);
                out.push_str(text);
                return out;
            }
            _ => {
                out.push('<');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Characters that render as nothing: Unicode format characters (zero-width space and
/// joiners, direction marks, word joiner, invisible operators, BOM, tag characters),
/// the soft hyphen, the combining grapheme joiner and variation selectors.
pub(crate) fn takes_no_space(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}'
        | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E007F}' | '\u{E0100}'..='\u{E01EF}')
}

/// Characters that render as empty space but are not Unicode white space: Hangul fillers,
/// the Braille blank, Khmer inherent vowels.
fn is_blank(c: char) -> bool {
    matches!(
        c,
        '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}' | '\u{2800}' | '\u{3164}' | '\u{FFA0}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_content_is_no_answer() {
        let invisible = [
            "<!-- We need this because the failover is flaky -->",
            "<!--\nmulti-line\n### Why is this important?\n-->",
            "<!-- unclosed comment hides the rest\n\nand this",
            "<details><summary></summary></details>",
            "<details>\n<summary></summary>\n\n</details>",
            "\u{200B}\u{200C}\u{200D}\u{2060}\u{FEFF}",
            "&#8203;&zwnj;&nbsp;",
            "\u{3164}\u{2800} \u{00A0}",
            "[](https://example.com) ![](https://example.com/x.png)",
            "---\n\n***",
            "[//]: # (a comment in Markdown)",
            "<br><br/><img src=\"x.png\">",
            "**\u{200B}**",
            "- [ ] \u{200B}\n- [x] \u{FEFF}",
        ];
        for md in invisible {
            assert_eq!(visible_text(md), "", "{md:?}");
            assert!(!is_visible(md));
        }
    }

    #[test]
    fn unclosed_tags_stay_linear_and_visible() {
        let md = "<a ".repeat(30_000) + "end";
        // Linear time is measured by the benchmarks (no timed unit tests); this checks that a
        // pathological input still comes out whole.
        let text = visible_text(&md);
        assert!(
            text.ends_with("<a end"),
            "{:?}",
            &text[text.len().saturating_sub(20)..]
        );
        assert_eq!(strip_html("a <b c <!-- hidden"), "a <b c ");
    }

    #[test]
    fn visible_content_counts_as_written() {
        let cases = [
            (
                "Failover <!-- hidden --> breaks checkout",
                "Failover breaks checkout",
            ),
            (
                "<details><summary>Why</summary>It pages nightly.</details>",
                "Why It pages nightly.",
            ),
            ("`<!-- in code -->` is shown", "<!-- in code --> is shown"),
            ("a < b and c<d", "a < b and c<d"),
            ("```\n<!-- in a fence -->\n```", "<!-- in a fence -->"),
            (
                "![diagram of the failover](x.png)",
                "diagram of the failover",
            ),
            ("_No response_", "No response"),
            ("p\u{200B}99", "p99"),
        ];
        for (md, want) in cases {
            assert_eq!(visible_text(md), want, "{md:?}");
        }
    }
}
