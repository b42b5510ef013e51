//! Reading the sandbox's control JSON, tolerant of the two shapes a label or a user can
//! take (a plain string or a GitHub object).

use serde_json::Value;

/// Label names on an issue.
pub fn labels(issue: &Value) -> Vec<String> {
    issue["labels"]
        .as_array()
        .map(|ls| {
            ls.iter()
                .filter_map(|l| l.as_str().or_else(|| l["name"].as_str()).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the issue has `label`.
pub fn has_label(issue: &Value, label: &str) -> bool {
    labels(issue).iter().any(|l| l == label)
}

/// A comment as the demo and tests look at it.
#[derive(Debug, Clone)]
pub struct CommentView {
    pub id: u64,
    pub author: String,
    pub body: String,
}

/// The issue's comments, oldest first.
pub fn comments(issue: &Value) -> Vec<CommentView> {
    issue["comments"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| CommentView {
                    id: c["id"].as_u64().unwrap_or(0),
                    author: c["user"]["login"]
                        .as_str()
                        .or_else(|| c["user"].as_str())
                        .or_else(|| c["author"].as_str())
                        .unwrap_or_default()
                        .to_owned(),
                    body: c["body"].as_str().unwrap_or_default().to_owned(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The daemon's tracking comments on the issue (there must be exactly one).
pub fn tracking_comments(issue: &Value) -> Vec<CommentView> {
    comments(issue)
        .into_iter()
        .filter(|c| crate::council::tracking::is_tracking_comment(&c.body))
        .collect()
}

/// Open or closed, and why closed.
pub fn state(issue: &Value) -> (String, Option<String>) {
    (
        issue["state"].as_str().unwrap_or_default().to_owned(),
        issue["state_reason"].as_str().map(str::to_owned),
    )
}

/// A Jira issue's key, labels and parent (or epic link) key.
#[derive(Debug, Clone)]
pub struct JiraView {
    pub key: String,
    pub project: String,
    pub issue_type: String,
    pub labels: Vec<String>,
    pub parent: Option<String>,
    /// URLs of its remote links.
    pub remote_links: Vec<String>,
    /// Status name.
    pub status: String,
    /// Comment bodies, oldest first.
    pub comments: Vec<String>,
}

/// Reads one issue of the sandbox's Jira control listing.
pub fn jira(issue: &Value) -> JiraView {
    let f = if issue["fields"].is_object() {
        &issue["fields"]
    } else {
        issue
    };
    JiraView {
        key: issue["key"].as_str().unwrap_or_default().to_owned(),
        project: f["project"]["key"]
            .as_str()
            .or_else(|| f["project"].as_str())
            .unwrap_or_default()
            .to_owned(),
        issue_type: f["issuetype"]["name"]
            .as_str()
            .or_else(|| f["issue_type"].as_str())
            .unwrap_or_default()
            .to_owned(),
        labels: f["labels"]
            .as_array()
            .map(|l| {
                l.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        parent: f["parent"]["key"]
            .as_str()
            .or_else(|| f["parent"].as_str())
            .or_else(|| f["customfield_10008"].as_str())
            .map(str::to_owned),
        status: f["status"]["name"]
            .as_str()
            .or_else(|| f["status"].as_str())
            .unwrap_or_default()
            .to_owned(),
        comments: f["comments"]
            .as_array()
            .map(|c| {
                c.iter()
                    .map(|x| {
                        if x.get("body").is_some() {
                            plain_text(&x["body"])
                        } else {
                            plain_text(x)
                        }
                    })
                    .collect()
            })
            .unwrap_or_default(),
        remote_links: issue["remoteLinks"]
            .as_array()
            .map(|l| {
                l.iter()
                    .filter_map(|x| x["url"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// The text of a Jira body: a wiki-markup string as it is, an ADF document's text nodes
/// joined.
pub fn plain_text(body: &Value) -> String {
    match body {
        Value::String(s) => s.clone(),
        Value::Object(o) => {
            let own = o
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let inner: String = o.get("content").map(plain_text).unwrap_or_default();
            own + &inner
        }
        Value::Array(items) => items.iter().map(plain_text).collect(),
        _ => String::new(),
    }
}
