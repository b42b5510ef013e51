//! Property tests of the converters: user text never becomes wiki markup, and ADF output
//! keeps the shape Jira accepts (no empty text nodes, list items start with a paragraph).

use proptest::prelude::*;
use serde_json::Value;

use super::{markdown_to_adf, markdown_to_wiki};

/// Markdown-ish input dense in the characters both formats care about.
fn markdownish() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            "[a-z ]{1,8}",
            "[-*_+^~?!#|{}\\[\\]()<>`\\\\:.h1bq \n]{1,6}",
            Just("{code}".to_owned()),
            Just("{noformat}".to_owned()),
            Just("```\n".to_owned()),
            Just("[x](https://e.example/a|b)".to_owned()),
            Just("- [ ] ".to_owned()),
            Just("\n> ".to_owned()),
            Just("\n# ".to_owned()),
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

/// The macros and tags the wiki writer itself emits.
const OUR_TAGS: [&str; 5] = ["{{", "{quote}", "{code}", "{noformat}", "{code:"];

/// Index just past the code or noformat block opened at `i`, if `wiki[i..]` opens one.
fn skip_block(wiki: &str, i: usize) -> Option<usize> {
    let rest = wiki.get(i..)?;
    let close = if rest.starts_with("{noformat}") {
        "{noformat}"
    } else if rest.starts_with("{code") {
        "{code}"
    } else {
        return None;
    };
    let body_start = i + rest.find('\n')? + 1;
    let end = wiki.get(body_start..)?.find(&format!("\n{close}"))?;
    Some(body_start + end + 1 + close.len())
}

/// Every `{` in `wiki` is escaped or starts one of our own tags; block contents skipped.
fn braces_are_ours(wiki: &str) -> Result<(), String> {
    let mut i = 0;
    while let Some(c) = wiki.get(i..).and_then(|r| r.chars().next()) {
        match c {
            '\\' => {
                i += 1 + wiki
                    .get(i + 1..)
                    .and_then(|r| r.chars().next())
                    .map_or(0, char::len_utf8)
            }
            '{' => {
                if let Some(end) = skip_block(wiki, i) {
                    i = end;
                    continue;
                }
                let rest = wiki.get(i..).unwrap_or_default();
                let Some(tag) = OUR_TAGS.iter().find(|t| rest.starts_with(*t)) else {
                    return Err(format!("unescaped brace at {i}: {rest:?}"));
                };
                i += tag.len();
            }
            c => i += c.len_utf8(),
        }
    }
    Ok(())
}

/// Checks ADF rules Jira enforces; returns the first violation.
fn adf_problem(node: &Value, parent: &str) -> Option<String> {
    let kind = node.get("type").and_then(Value::as_str).unwrap_or_default();
    if kind == "text" {
        let text = node.get("text").and_then(Value::as_str).unwrap_or_default();
        if text.is_empty() {
            return Some("empty text node".into());
        }
        let marks: Vec<&str> = node
            .get("marks")
            .and_then(Value::as_array)
            .map(|m| {
                m.iter()
                    .filter_map(|m| m.get("type").and_then(Value::as_str))
                    .collect()
            })
            .unwrap_or_default();
        if marks.contains(&"code") && marks.iter().any(|m| *m != "code" && *m != "link") {
            return Some(format!("code mark combined: {marks:?}"));
        }
    }
    if kind == "heading" && parent != "doc" {
        return Some(format!("heading inside {parent}"));
    }
    if kind == "blockquote" && parent != "doc" {
        return Some(format!("blockquote inside {parent}"));
    }
    let children = node.get("content").and_then(Value::as_array);
    if kind == "listItem" {
        let first = children
            .and_then(|c| c.first())
            .and_then(|n| n.get("type"))
            .and_then(Value::as_str);
        if !matches!(first, Some("paragraph" | "codeBlock")) {
            return Some(format!("listItem starts with {first:?}"));
        }
    }
    if matches!(kind, "bulletList" | "orderedList") && children.is_none_or(Vec::is_empty) {
        return Some("empty list".into());
    }
    children?.iter().find_map(|child| adf_problem(child, kind))
}

proptest! {
    #[test]
    fn wiki_never_lets_user_braces_through(md in markdownish()) {
        let wiki = markdown_to_wiki(&md);
        prop_assert!(braces_are_ours(&wiki).is_ok(), "{:?} -> {:?}: {:?}", md, wiki, braces_are_ours(&wiki));
    }

    #[test]
    fn wiki_never_panics(md in "\\PC*") {
        let _ = markdown_to_wiki(&md);
    }

    #[test]
    fn adf_is_valid(md in markdownish()) {
        let adf = markdown_to_adf(&md);
        prop_assert_eq!(adf.get("type").and_then(Value::as_str), Some("doc"));
        prop_assert_eq!(adf_problem(&adf, ""), None, "{:?} -> {}", md, adf);
    }

    #[test]
    fn adf_never_panics(md in "\\PC*") {
        let adf = markdown_to_adf(&md);
        prop_assert_eq!(adf_problem(&adf, ""), None);
    }
}

#[test]
fn brace_checker_catches_injection() {
    assert!(braces_are_ours("{code}\n{panel}\n{code}").is_ok());
    assert!(braces_are_ours("\\{panel\\} {{x}} {quote}\na\n{quote}").is_ok());
    assert!(braces_are_ours("text {panel}").is_err());
}

/// Depth of an ADF tree (the doc is 1).
fn adf_depth(node: &Value) -> usize {
    let children = node.get("content").and_then(Value::as_array);
    1 + children.map_or(0, |c| c.iter().map(adf_depth).max().unwrap_or(0))
}

/// One level of nesting, as a prefix on a line: lists, quotes, task items, emphasis.
fn nesting() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("* "),
        Just("- "),
        Just("1. "),
        Just("> "),
        Just("- [ ] "),
        Just("  "),
        Just("**"),
        Just("_"),
        Just("~~"),
        Just("["),
    ]
}

/// Documents as people and scripts produce them at the extremes: one line nested tens of
/// thousands deep, thousands of siblings, long tables, long fences, long link runs.
fn extreme() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            proptest::collection::vec(nesting(), 1..4),
            1_000usize..20_000
        )
            .prop_map(|(unit, n)| unit.concat().repeat(n) + "retry budget"),
        (nesting(), 1_000usize..5_000).prop_map(|(p, n)| format!("{p}item\n").repeat(n)),
        (1usize..40, 1usize..400).prop_map(|(cols, rows)| {
            let row = |c: &str| format!("|{}\n", format!(" {c} |").repeat(cols));
            format!("{}{}{}", row("h"), row("---"), row("(x) a|b").repeat(rows))
        }),
        (1usize..3_000).prop_map(|n| format!("```\n{}```\n", "### x\n".repeat(n))),
        (1usize..3_000).prop_map(|n| "[a](https://e.example/x) ".repeat(n)),
        (1usize..3_000).prop_map(|n| "*a _b ~~c ".repeat(n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Bounded, linear output and a shallow tree for every extreme document, in both
    /// formats (issue 8, item 1): the 30,000-deep list used to overflow the stack.
    #[test]
    fn extreme_documents_stay_bounded(md in extreme()) {
        let adf = markdown_to_adf(&md);
        prop_assert!(adf_depth(&adf) <= 2 * super::bounded::MAX_BLOCK_DEPTH + 8, "depth {}", adf_depth(&adf));
        prop_assert_eq!(adf_problem(&adf, ""), None);
        let adf_len = serde_json::to_string(&adf).map(|s| s.len()).unwrap_or(usize::MAX);
        prop_assert!(adf_len <= 40 * md.len() + 1_000, "adf {} for {} bytes", adf_len, md.len());
        let wiki = markdown_to_wiki(&md);
        prop_assert!(wiki.len() <= 8 * md.len() + 1_000, "wiki {} for {} bytes", wiki.len(), md.len());
        prop_assert!(braces_are_ours(&wiki).is_ok());
    }

    /// No Jira wiki emoticon or entity survives unescaped, whatever surrounds it.
    #[test]
    fn wiki_has_no_emoticons(md in emoticonish()) {
        let wiki = markdown_to_wiki(&md);
        prop_assert_eq!(first_emoticon(&wiki), None, "{:?} -> {:?}", md, wiki);
    }
}

/// Text dense in Jira's emoticon shortcuts and entities.
fn emoticonish() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("(x)"),
            Just("(i)"),
            Just("(/)"),
            Just("(y)"),
            Just("(n)"),
            Just("(on)"),
            Just("(off)"),
            Just("(?)"),
            Just("(!)"),
            Just("(+)"),
            Just("(-)"),
            Just("(*)"),
            Just("(*r)"),
            Just("(flag)"),
            Just("(flagoff)"),
            Just(":)"),
            Just(":("),
            Just(":P"),
            Just(":D"),
            Just(";)"),
            Just("&amp;"),
            Just("&#40;"),
            Just(" "),
            Just("a"),
            Just("\n"),
            Just("- "),
            Just("`"),
            Just("**"),
            Just("| "),
        ],
        0..30,
    )
    .prop_map(|parts| parts.concat())
}

/// Entities the wiki writer itself writes.
const OUR_ENTITIES: [&str; 6] = ["&#40;", "&#58;", "&#59;", "&#38;", "&#46;", "&#92;"];

/// The first emoticon or entity-looking sequence in `wiki` that we did not write.
fn first_emoticon(wiki: &str) -> Option<String> {
    const FACES: [&str; 5] = [":)", ":(", ":P", ":D", ";)"];
    let chars: Vec<char> = wiki.chars().collect();
    let mut i = 0;
    while let Some(c) = chars.get(i) {
        let rest: String = chars[i..chars.len().min(i + 10)].iter().collect();
        if let Some(e) = OUR_ENTITIES.iter().find(|e| rest.starts_with(*e)) {
            i += e.len();
            continue;
        }
        let entity_like = *c == '&'
            && chars
                .get(i + 1)
                .is_some_and(|n| n.is_ascii_alphanumeric() || *n == '#');
        if FACES.iter().any(|f| rest.starts_with(f)) || entity_like {
            return Some(rest);
        }
        if *c == '(' {
            let name: String = chars[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_alphabetic() || "*/!+?-\\".contains(**c))
                .collect();
            if !name.is_empty() && chars.get(i + 1 + name.chars().count()) == Some(&')') {
                return Some(rest);
            }
        }
        i += 1;
    }
    None
}
