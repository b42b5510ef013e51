//! Typed request and response bodies of the Jira endpoints we call.
//!
//! Responses are tolerant: unknown fields are ignored and most fields default, because
//! Jira adds fields freely and Cloud and Data Center differ in what they send.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Jira's error body, `{errorMessages: [...], errors: {field: message}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ErrorCollection {
    /// General messages.
    pub error_messages: Vec<String>,
    /// Messages per field.
    pub errors: BTreeMap<String, String>,
}

impl ErrorCollection {
    /// One readable line: the general messages, then `field: message` pairs.
    pub fn reason(&self) -> String {
        let mut parts: Vec<String> = self.error_messages.clone();
        parts.extend(self.errors.iter().map(|(f, m)| format!("{f}: {m}")));
        parts.join("; ")
    }

    /// Whether Jira said anything at all.
    pub fn is_empty(&self) -> bool {
        self.error_messages.is_empty() && self.errors.is_empty()
    }
}

/// A reference by key (`{"key": "SRE"}`), used for projects and parents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRef {
    /// Project or issue key.
    pub key: String,
}

/// A reference by name (`{"name": "Epic"}`), used for issue types and components.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameRef {
    /// Issue type or component name.
    pub name: String,
}

/// The `fields` of a new issue. Custom fields (Epic Name, Epic Link) go into `custom`.
#[derive(Debug, Clone, Serialize)]
pub struct NewIssueFields {
    /// Project the issue goes into.
    pub project: KeyRef,
    /// Issue type by name.
    pub issuetype: NameRef,
    /// Title.
    pub summary: String,
    /// ADF document (v3) or wiki-markup string (v2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Value>,
    /// Labels, the marker among them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Components by name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<NameRef>,
    /// Parent issue (Cloud epics' children).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<KeyRef>,
    /// Reporter: `{"accountId": …}` on Cloud (v3), `{"name": …}` on Data Center (v2).
    /// Jira refuses it when the field is not on the create screen or the account lacks
    /// "Modify Reporter"; `None` leaves Jira's default (the calling account).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reporter: Option<Value>,
    /// Custom fields by id, e.g. `customfield_10011`.
    #[serde(flatten)]
    pub custom: BTreeMap<String, Value>,
}

/// Body of `POST /issue`.
#[derive(Debug, Clone, Serialize)]
pub struct CreateIssueRequest<'a> {
    /// The new issue's fields.
    pub fields: &'a NewIssueFields,
}

/// Body of `POST /issue/bulk`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkCreateRequest<'a> {
    /// One entry per issue.
    pub issue_updates: Vec<CreateIssueRequest<'a>>,
}

/// What Jira answers for a created issue.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CreatedIssue {
    /// Numeric id, as a string.
    pub id: String,
    /// Human key, e.g. `SRE-12`.
    pub key: String,
    /// REST URL of the issue.
    #[serde(rename = "self", default)]
    pub self_url: String,
}

/// One failed element of a bulk create.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkElementError {
    /// HTTP status Jira would have given this element alone.
    #[serde(default)]
    pub status: Option<u16>,
    /// Why it failed.
    #[serde(default)]
    pub element_errors: ErrorCollection,
    /// Index (from 0) of the element in the request.
    pub failed_element_number: usize,
}

/// Body of a bulk create answer: created issues (in request order, failures skipped) and
/// the failures.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CreatedIssues {
    /// Created issues.
    pub issues: Vec<CreatedIssue>,
    /// Failed elements.
    pub errors: Vec<BulkElementError>,
}

/// Issue type as Jira returns it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct IssueType {
    /// Id.
    pub id: String,
    /// Name, e.g. `Epic`.
    pub name: String,
}

/// Status category: `new`, `indeterminate` or `done`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StatusCategory {
    /// `new`, `indeterminate`, `done`.
    pub key: String,
    /// Display name.
    pub name: String,
}

/// A workflow status.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Status {
    /// Id.
    pub id: String,
    /// Name, e.g. `In Progress`.
    pub name: String,
    /// The category the engine maps to GitHub states.
    pub status_category: StatusCategory,
}

/// A project as embedded in an issue.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ProjectRef {
    /// Id.
    pub id: String,
    /// Key.
    pub key: String,
}

/// A parent as embedded in an issue.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ParentRef {
    /// Id.
    pub id: String,
    /// Key.
    pub key: String,
}

/// The issue fields we read; everything else (custom fields included) lands in `other`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct IssueFields {
    /// Title.
    pub summary: Option<String>,
    /// Labels.
    pub labels: Vec<String>,
    /// Status.
    pub status: Option<Status>,
    /// Issue type.
    pub issuetype: Option<IssueType>,
    /// Project.
    pub project: Option<ProjectRef>,
    /// Parent (Cloud).
    pub parent: Option<ParentRef>,
    /// ADF (v3) or string (v2).
    pub description: Option<Value>,
    /// Last update, Jira's timestamp format.
    pub updated: Option<String>,
    /// Every other field by id.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// An issue as returned by get and search.
#[derive(Debug, Clone, Deserialize)]
pub struct Issue {
    /// Numeric id.
    pub id: String,
    /// Key; absent only when a search asked for ids only.
    #[serde(default)]
    pub key: String,
    /// The fields that were asked for.
    #[serde(default)]
    pub fields: IssueFields,
}

/// Body of `POST /rest/api/3/search/jql` (Cloud).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchJqlRequest<'a> {
    /// The query.
    pub jql: &'a str,
    /// Fields to return.
    pub fields: &'a [&'a str],
    /// Page size.
    pub max_results: u32,
    /// Continuation from the previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
    /// Ids to read with read-after-write consistency (at most 50; Cloud only).
    #[serde(skip_serializing_if = "<[u64]>::is_empty")]
    pub reconcile_issues: &'a [u64],
}

/// Answer of `/search/jql`: token paging, no total.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SearchJqlResponse {
    /// This page.
    pub issues: Vec<Issue>,
    /// Present when there is another page.
    pub next_page_token: Option<String>,
    /// True on the last page (Cloud sends it; absent means "see the token").
    pub is_last: Option<bool>,
}

/// Body of `POST /rest/api/2/search` (Data Center).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchRequest<'a> {
    /// The query.
    pub jql: &'a str,
    /// Offset of the page.
    pub start_at: u32,
    /// Page size.
    pub max_results: u32,
    /// Fields to return.
    pub fields: &'a [&'a str],
}

/// Answer of `/search`: offset paging with a total.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SearchResponse {
    /// This page.
    pub issues: Vec<Issue>,
    /// Offset of the page.
    pub start_at: u32,
    /// Page size the server used (may be below the one asked for).
    pub max_results: u32,
    /// Matches in all.
    pub total: u32,
}

/// The remote object a link points to.
#[derive(Debug, Clone, Serialize)]
pub struct RemoteObject {
    /// Target URL.
    pub url: String,
    /// Link text.
    pub title: String,
}

/// The application a remote link belongs to.
#[derive(Debug, Clone, Serialize)]
pub struct RemoteApplication {
    /// e.g. `com.github`.
    #[serde(rename = "type")]
    pub kind: String,
    /// e.g. `GitHub`.
    pub name: String,
}

/// Body of `POST /issue/{key}/remotelink`; the same `globalId` updates instead of adding.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteLinkRequest {
    /// Identity of the link for upserts.
    pub global_id: String,
    /// Where the link points.
    pub object: RemoteObject,
    /// Source application.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application: Option<RemoteApplication>,
    /// Text of the relation, e.g. `raised in`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relationship: Option<String>,
}

/// One remote link as `GET /issue/{key}/remotelink` lists it (only what relinking reads).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteLink {
    /// Identity of the link for upserts; absent on links made without one.
    #[serde(default)]
    pub global_id: Option<String>,
    /// Where it points.
    pub object: RemoteLinkTarget,
}

/// The `object` of a listed remote link.
#[derive(Debug, Clone, Deserialize)]
pub struct RemoteLinkTarget {
    /// Target URL.
    #[serde(default)]
    pub url: Option<String>,
}

/// Answer of a remote link upsert.
#[derive(Debug, Clone, Deserialize)]
pub struct RemoteLinkIds {
    /// Link id.
    pub id: u64,
    /// REST URL of the link.
    #[serde(rename = "self", default)]
    pub self_url: String,
}

/// One available workflow transition.
#[derive(Debug, Clone, Deserialize)]
pub struct Transition {
    /// Id to post back.
    pub id: String,
    /// Name, e.g. `Start progress`.
    #[serde(default)]
    pub name: String,
    /// Target status.
    #[serde(default)]
    pub to: Option<Status>,
}

/// Answer of `GET /issue/{key}/transitions`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Transitions {
    /// Transitions available from the current status.
    pub transitions: Vec<Transition>,
}

/// Body of `POST /issue/{key}/transitions`.
#[derive(Debug, Clone, Serialize)]
pub struct TransitionRequest {
    /// `{ "id": ... }`.
    pub transition: TransitionId,
}

/// Transition id wrapper.
#[derive(Debug, Clone, Serialize)]
pub struct TransitionId {
    /// Id from [`Transitions`].
    pub id: String,
}

/// Body of `POST /issue/{key}/comment`.
#[derive(Debug, Clone, Serialize)]
pub struct CommentRequest {
    /// ADF document (v3) or wiki-markup string (v2).
    pub body: Value,
}

/// A created comment.
#[derive(Debug, Clone, Deserialize)]
pub struct Comment {
    /// Comment id.
    pub id: String,
    /// REST URL.
    #[serde(rename = "self", default)]
    pub self_url: String,
}

/// Answer of `GET /myself`: Cloud names accounts by `accountId`, Data Center by `name`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Myself {
    /// Cloud account id.
    pub account_id: Option<String>,
    /// Data Center user name.
    pub name: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// The account's profile time zone, an IANA name (`Europe/Berlin`), in which Jira reads
    /// the dates written in JQL (both Cloud v3 and Data Center v2 answer it).
    pub time_zone: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_collection_reason_joins_messages_and_fields() {
        let e: ErrorCollection = serde_json::from_str(
            r#"{"errorMessages":["No permission."],"errors":{"summary":"required","labels":"bad"},"status":400}"#,
        )
        .expect("parse");
        assert_eq!(e.reason(), "No permission.; labels: bad; summary: required");
        assert!(ErrorCollection::default().is_empty());
    }

    #[test]
    fn new_issue_fields_flatten_custom_fields() {
        let f = NewIssueFields {
            project: KeyRef { key: "SRE".into() },
            issuetype: NameRef {
                name: "Epic".into(),
            },
            summary: "S".into(),
            description: Some(Value::String("d".into())),
            labels: vec!["m".into()],
            components: vec![],
            parent: None,
            reporter: None,
            custom: BTreeMap::from([("customfield_10011".into(), Value::String("S".into()))]),
        };
        let v = serde_json::to_value(CreateIssueRequest { fields: &f }).expect("json");
        assert_eq!(v["fields"]["customfield_10011"], "S");
        assert_eq!(v["fields"]["project"]["key"], "SRE");
        assert!(v["fields"].get("components").is_none());
        assert!(v["fields"].get("parent").is_none());
    }

    #[test]
    fn issue_tolerates_unknown_and_custom_fields() {
        let i: Issue = serde_json::from_str(
            r#"{"id":"1","key":"A-1","self":"x","expand":"","fields":{"summary":"s","labels":["a"],"customfield_10008":"SRE-1","status":{"id":"3","name":"In Progress","statusCategory":{"key":"indeterminate","id":4}}}}"#,
        )
        .expect("parse");
        assert_eq!(i.fields.other["customfield_10008"], "SRE-1");
        assert_eq!(
            i.fields.status.map(|s| s.status_category.key),
            Some("indeterminate".into())
        );
    }
}

/// Jira's documented limits on the values council-sync writes, for Cloud (REST v3) and
/// Data Center (REST v2) alike. Jira counts as Java does, in UTF-16 code units, so these
/// do too ([`java_len`]).
pub mod limits {
    /// Longest summary: "Summary must be less than 255 characters" (Cloud and DC). Epic
    /// Name, a short text field, and a remote link's title are held to the same length.
    pub const SUMMARY: usize = 255;
    /// Longest label; labels also may not contain white space.
    pub const LABEL: usize = 255;
    /// Longest rich-text value (description, comment, text custom fields): "The entered
    /// text is too long. It exceeds the allowed limit of 32767 characters" (DC, v2);
    /// `CONTENT_LIMIT_EXCEEDED` for an ADF document (Cloud, v3; JRACLOUD-78553), which we
    /// measure by its JSON text, the larger of the two readings.
    pub const TEXT: usize = 32_767;

    /// The visible end of a cut single-line value.
    const ELLIPSIS: &str = "…";

    /// Length as Jira counts it: UTF-16 code units (an emoji counts two).
    pub fn java_len(s: &str) -> usize {
        s.encode_utf16().count()
    }

    /// The longest prefix of `s` of at most `max` UTF-16 units, cut between characters.
    pub fn prefix(s: &str, max: usize) -> &str {
        let mut units = 0;
        for (i, c) in s.char_indices() {
            units += c.len_utf16();
            if units > max {
                return &s[..i];
            }
        }
        s
    }

    /// `s` on one line, cut to `max` units with a visible `…` when longer. For summaries,
    /// Epic Name and link titles; the full text stays on GitHub, which the issue links to.
    pub fn fit_line(s: &str, max: usize) -> String {
        let one_line = s.replace(['\r', '\n'], " ");
        if java_len(&one_line) <= max {
            return one_line;
        }
        let cut = prefix(&one_line, max.saturating_sub(java_len(ELLIPSIS))).trim_end();
        format!("{cut}{ELLIPSIS}")
    }

    /// Whether Jira takes `label` as it is: not empty, no white space, at most [`LABEL`].
    /// Markers are built to pass this, never cut (a cut marker would not be found again).
    pub fn is_valid_label(label: &str) -> bool {
        !label.is_empty() && !label.chars().any(char::is_whitespace) && java_len(label) <= LABEL
    }

    /// The Markdown note that ends a cut text.
    pub fn cut_note(limit: usize) -> String {
        format!(
            "\n\n---\n\n_✂ Cut here to fit Jira's limit of {limit} characters: the full text \
             is in the GitHub issue this one links to._\n"
        )
    }

    /// Fits Markdown into `limit` after conversion: `measure(converted)` is the length Jira
    /// sees. When the whole text does not fit, the longest prefix that fits with
    /// [`cut_note`] appended is found by bisection (O(n log n) in the text, each probe one
    /// linear conversion) and returned with the note. `None` when not even the note fits.
    pub fn fit_markdown<T>(
        md: &str,
        limit: usize,
        convert: impl Fn(&str) -> T,
        measure: impl Fn(&T) -> usize,
    ) -> Option<T> {
        let whole = convert(md);
        if measure(&whole) <= limit {
            return Some(whole);
        }
        let note = cut_note(limit);
        let with_note = |n: usize| {
            let head = prefix(md, n);
            // Cut at a line end where one is near, so a word or a fence line stays whole.
            let head = match head.rfind('\n') {
                Some(nl) if head.len() - nl < 200 => &head[..nl],
                _ => head,
            };
            convert(&format!("{head}{note}"))
        };
        let (mut lo, mut hi) = (0usize, java_len(md));
        let mut best = None;
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            let candidate = with_note(mid);
            if measure(&candidate) <= limit {
                lo = mid;
                best = Some(candidate);
            } else {
                hi = mid - 1;
            }
        }
        best.or_else(|| {
            let bare = with_note(0);
            (measure(&bare) <= limit).then_some(bare)
        })
    }
}

#[cfg(test)]
mod limit_tests {
    use super::limits::*;

    #[test]
    fn lines_are_cut_visibly_in_utf16_units() {
        assert_eq!(fit_line("short", SUMMARY), "short");
        assert_eq!(fit_line("a\nb", SUMMARY), "a b");
        let long = "x".repeat(256);
        let cut = fit_line(&long, SUMMARY);
        assert_eq!(java_len(&cut), 255);
        assert!(cut.ends_with('…'));
        // 😀 is two units: 128 of them are 256 units, so they are cut too, between emoji.
        let emoji = fit_line(&"😀".repeat(128), SUMMARY);
        assert!(java_len(&emoji) <= 255 && emoji.ends_with('…'));
        assert_eq!(prefix("a😀b", 2), "a");
    }

    #[test]
    fn labels_are_checked_not_cut() {
        assert!(is_valid_label("council-sync-42-payments"));
        assert!(!is_valid_label("has space"));
        assert!(!is_valid_label(""));
        assert!(!is_valid_label(&"l".repeat(256)));
    }

    #[test]
    fn markdown_is_fitted_after_conversion_with_a_note() {
        let md = "word ".repeat(20_000);
        let fitted = fit_markdown(&md, TEXT, crate::markup::markdown_to_wiki, |s| java_len(s))
            .expect("fits");
        assert!(java_len(&fitted) <= TEXT);
        assert!(
            java_len(&fitted) > TEXT - 400,
            "uses the room: {}",
            java_len(&fitted)
        );
        assert!(fitted.contains("Cut here to fit Jira"));
        // Escaping makes wiki text longer than its Markdown: measured after conversion.
        let braces = "{x} ".repeat(8_000);
        let fitted = fit_markdown(&braces, TEXT, crate::markup::markdown_to_wiki, |s| {
            java_len(s)
        })
        .expect("fits");
        assert!(java_len(&fitted) <= TEXT);
        let adf = fit_markdown(&md, TEXT, crate::markup::markdown_to_adf, |d| {
            java_len(&d.to_string())
        })
        .expect("fits");
        assert!(java_len(&adf.to_string()) <= TEXT);
        let short = fit_markdown("short", TEXT, crate::markup::markdown_to_wiki, |s| {
            java_len(s)
        });
        assert_eq!(short.as_deref(), Some("short"));
    }
}
