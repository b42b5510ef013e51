//! Building JQL safely: every value is a quoted string literal.
//!
//! Markers such as `council-sync-i12` or names with `/` are not valid unquoted JQL words,
//! and a value containing `"` must not be able to end the literal early.

/// A JQL string literal: `"…"` with `\` and `"` escaped (and newlines, which JQL forbids raw).
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

/// `(` quoted values joined by `, ` `)`, for `in` clauses.
pub fn quoted_list<S: AsRef<str>>(values: &[S]) -> String {
    let items: Vec<String> = values.iter().map(|v| quote(v.as_ref())).collect();
    format!("({})", items.join(", "))
}

/// The query that finds an epic by its marker label in the epic project.
pub fn epic_by_marker(project: &str, marker: &str, epic_type: &str) -> String {
    format!(
        "project = {} AND labels = {} AND issuetype = {} ORDER BY created ASC",
        quote(project),
        quote(marker),
        quote(epic_type)
    )
}

/// [`epic_by_marker`] and, in the same query, the issues carrying any of `markers` (the
/// stories that follow the epic); just [`epic_by_marker`] when there are none.
pub fn epic_and_markers<S: AsRef<str>>(
    project: &str,
    marker: &str,
    epic_type: &str,
    markers: &[S],
) -> String {
    if markers.is_empty() {
        return epic_by_marker(project, marker, epic_type);
    }
    format!(
        "(project = {} AND labels = {} AND issuetype = {}) OR labels in {} ORDER BY created ASC",
        quote(project),
        quote(marker),
        quote(epic_type),
        quoted_list(markers)
    )
}

/// The query that finds all stories carrying any of these marker labels.
pub fn issues_by_markers<S: AsRef<str>>(markers: &[S]) -> String {
    format!("labels in {} ORDER BY created ASC", quoted_list(markers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_escapes() {
        let cases = [
            ("council-sync-i12", r#""council-sync-i12""#),
            ("team/payments", r#""team/payments""#),
            (r#"say "hi""#, r#""say \"hi\"""#),
            (r"back\slash", r#""back\\slash""#),
            ("two\nlines", r#""two\nlines""#),
            ("", r#""""#),
        ];
        for (raw, quoted) in cases {
            assert_eq!(quote(raw), quoted, "quoting {raw:?}");
        }
    }

    #[test]
    fn builds_marker_queries() {
        assert_eq!(
            epic_by_marker("SRE", "council-sync-i1", "Epic"),
            r#"project = "SRE" AND labels = "council-sync-i1" AND issuetype = "Epic" ORDER BY created ASC"#
        );
        assert_eq!(
            epic_and_markers("SRE", "council-sync-i1", "Epic", &["s-1", "s-2"]),
            r#"(project = "SRE" AND labels = "council-sync-i1" AND issuetype = "Epic") OR labels in ("s-1", "s-2") ORDER BY created ASC"#
        );
        assert_eq!(
            epic_and_markers::<&str>("SRE", "council-sync-i1", "Epic", &[]),
            epic_by_marker("SRE", "council-sync-i1", "Epic"),
            "no stories: the epic's own query"
        );
        assert_eq!(
            issues_by_markers(&["a-1", "b/2"]),
            r#"labels in ("a-1", "b/2") ORDER BY created ASC"#
        );
    }
}
