//! Splits an issue-form body into its answers. GitHub renders a submitted form as
//! `### <label>\n\n<answer>` per field; people then edit it by hand. So a section starts at
//! any top-level heading (any level, any case, trailing `#`s, `?` or `:` ignored) whose
//! text is one of the form's labels. Headings that are not labels, or that sit inside code
//! blocks, lists, quotes or HTML blocks, are part of the answer: pulldown-cmark parses the
//! block structure, so a `### ` line inside a ``` or ~~~ fence is never taken for a heading.

use std::collections::HashMap;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use super::form::{IssueForm, fold};

/// The same block parsing GitHub applies to issue bodies.
pub(crate) fn gfm_options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS | Options::ENABLE_STRIKETHROUGH
}

/// A heading's text reduced to what identifies it: case, spacing and trailing `?`/`:`/`.`
/// do not matter, so `## why is this sre` finds "Why is this SRE?".
fn heading_key(text: &str) -> String {
    let text: String = text
        .chars()
        .filter(|c| !super::visible::takes_no_space(*c))
        .collect();
    fold(&text)
        .trim_end_matches(|c: char| c == '?' || c == ':' || c == '.' || c.is_whitespace())
        .to_owned()
}

/// A heading that names a form field: the field id and the byte range of the heading.
struct Boundary<'f> {
    id: &'f str,
    start: usize,
    end: usize,
}

/// Raw Markdown of each answered field, by field id. The first section with a given label
/// wins; text before the first section is not an answer and is ignored.
pub(crate) fn split<'b, 'f>(body: &'b str, form: &'f IssueForm) -> HashMap<&'f str, &'b str> {
    let keys: HashMap<String, &'f str> = form
        .fields
        .iter()
        .map(|f| (heading_key(&f.label), f.id.as_str()))
        .collect();
    let boundaries = find_boundaries(body, &keys);
    let mut sections = HashMap::new();
    for (i, b) in boundaries.iter().enumerate() {
        let end = boundaries.get(i + 1).map_or(body.len(), |next| next.start);
        let text = body.get(b.end..end).unwrap_or_default();
        sections.entry(b.id).or_insert(text);
    }
    sections
}

/// Top-level headings whose text is a field label, in document order.
fn find_boundaries<'f>(body: &str, keys: &HashMap<String, &'f str>) -> Vec<Boundary<'f>> {
    let mut boundaries = Vec::new();
    let mut depth = 0usize;
    let mut heading: Option<(usize, usize, String)> = None;
    for (event, range) in Parser::new_ext(body, gfm_options()).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { .. }) if depth == 0 => {
                depth += 1;
                heading = Some((range.start, range.end, String::new()));
            }
            Event::Start(_) => depth += 1,
            Event::End(TagEnd::Heading(_)) if depth == 1 => {
                depth = 0;
                if let Some((start, end, text)) = heading.take()
                    && let Some(id) = keys.get(&heading_key(&text))
                {
                    boundaries.push(Boundary { id, start, end });
                }
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, _, text)) = heading.as_mut() {
                    text.push_str(&t);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some((_, _, text)) = heading.as_mut() {
                    text.push(' ');
                }
            }
            _ => {}
        }
    }
    boundaries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(body: &str) -> Vec<(String, String)> {
        let form = IssueForm::shipped();
        let mut v: Vec<(String, String)> = split(body, &form)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.trim().to_owned()))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn heading_keys_forgive_case_space_and_punctuation() {
        assert_eq!(heading_key("Why is this SRE?"), "why is this sre");
        assert_eq!(heading_key("  WHY  is this sre :"), "why is this sre");
    }

    #[test]
    fn non_label_headings_stay_in_the_answer() {
        let got = ids("### Why is this SRE?\n\nIntro\n\n## Details\n\nMore\n### Results\n\nx");
        assert_eq!(
            got,
            [
                ("results".to_owned(), "x".to_owned()),
                (
                    "why_sre".to_owned(),
                    "Intro\n\n## Details\n\nMore".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn first_section_with_a_label_wins() {
        let got = ids("### Results\n\nfirst\n\n### Results\n\nsecond");
        assert_eq!(got, [("results".to_owned(), "first".to_owned())]);
    }

    /// Only a heading a reader sees starts a section: one inside an HTML comment (one or
    /// many lines) or a fence is text, a zero-width character before `###` makes the line
    /// a paragraph on GitHub too, and zero-width characters inside a heading's words do
    /// not hide which question it is.
    #[test]
    fn only_visible_headings_are_sections() {
        let hidden = ids("### Why is this SRE?\n\na\n<!--\n### Results\n\nfake\n-->\nb");
        assert_eq!(hidden.len(), 1, "{hidden:?}");
        assert!(
            hidden[0].1.contains("fake"),
            "the comment stays in the answer: {hidden:?}"
        );
        let inline = ids("### Why is this SRE?\n\na <!-- x\n\n### Results\n\nr");
        assert_eq!(
            inline.len(),
            2,
            "a heading after an unclosed inline comment is shown: {inline:?}"
        );
        let zw_before = ids("### Why is this SRE?\n\na\n\n\u{200B}### Results\n\nr");
        assert_eq!(zw_before.len(), 1, "{zw_before:?}");
        let zw_inside = ids("### Why is\u{200B} this SRE?\n\na");
        assert_eq!(zw_inside, [("why_sre".to_owned(), "a".to_owned())]);
    }

    #[test]
    fn headings_in_lists_and_quotes_are_not_sections() {
        let got = ids("### Results\n\n- ### Why is this SRE?\n> ### Teams involved\n");
        assert_eq!(got.len(), 1);
        assert!(got[0].1.contains("Teams involved"));
    }
}
