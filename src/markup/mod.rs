//! Markdown from a concern turned into Jira's formats: ADF (Cloud v3) and wiki markup (v2).
//! Skeleton: plain-text fallback until the concern work lands the real converter.

/// An ADF document for Jira Cloud (v3 bodies).
pub fn markdown_to_adf(md: &str) -> serde_json::Value {
    let paragraphs: Vec<serde_json::Value> = md
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| serde_json::json!({"type": "paragraph", "content": [{"type": "text", "text": p}]}))
        .collect();
    serde_json::json!({"type": "doc", "version": 1, "content": paragraphs})
}

/// Wiki markup for Jira Data Center (v2 bodies), with no way for the text to inject markup.
pub fn markdown_to_wiki(md: &str) -> String {
    format!(
        "{{noformat}}\n{}\n{{noformat}}",
        md.replace("{noformat}", "(noformat)")
    )
}
