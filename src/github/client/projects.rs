//! What the GitHub Projects tracker needs of GitHub besides issues and comments: GraphQL
//! (Projects v2 lives only there), the sub-issues REST routes, the organisation's issue
//! types, and partial issue edits (type, assignees).
//!
//! GraphQL answers errors with HTTP 200 and an `errors` list; they become
//! [`GithubError::GraphQl`]. Queries are retried like REST reads; a mutation is sent once
//! (a retry after a lost answer could create a second story): the caller looks for what the
//! attempt made before trying again.
//!
//! GitHub Enterprise Server serves GraphQL at `https://HOST/api/graphql`, not under the
//! REST base `https://HOST/api/v3`: there the client sends `/graphql` through a second
//! octocrab on `https://HOST/api` ([`super::graphql_base`], DEPENDENCIES.md trap 3).

use reqwest::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{GithubClient, GithubError, PER_PAGE, Pacer, PacingLimits, decode, repo_path};

/// Whether a GraphQL document's (first) operation is a mutation.
pub(super) fn is_mutation(doc: &str) -> bool {
    doc.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .is_some_and(|l| l.starts_with("mutation"))
}

/// The operation's name (`query Name(`), for errors, logs and the API-call metric's route.
pub(super) fn operation_name(doc: &str) -> String {
    doc.lines()
        .map(str::trim)
        .find(|l| l.starts_with("query") || l.starts_with("mutation"))
        .and_then(|l| l.split_whitespace().nth(1))
        .map(|n| n.split('(').next().unwrap_or(n).to_owned())
        .unwrap_or_else(|| "anonymous".into())
}

#[derive(Deserialize)]
struct GraphQlAnswer<T> {
    data: Option<T>,
    #[serde(default)]
    errors: Vec<GraphQlErrorItem>,
}

#[derive(Deserialize)]
struct GraphQlErrorItem {
    message: String,
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// One sub-issue as `GET /repos/{owner}/{repo}/issues/{n}/sub_issues` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SubIssue {
    /// REST id (what `POST …/sub_issues` takes).
    pub id: u64,
    /// GraphQL node id.
    pub node_id: String,
    /// Number in its repository.
    pub number: u64,
    /// Title.
    pub title: String,
    /// Body (Markdown), where the daemon's hidden marker is.
    pub body: Option<String>,
    /// `open` or `closed`.
    pub state: String,
    /// REST URL of the issue (`…/repos/{owner}/{repo}/issues/{n}`).
    pub url: String,
    /// Where people open it.
    pub html_url: String,
    /// Its issue type (REST `type`, GitHub's `issue-type` schema; `null` when it has none).
    #[serde(rename = "type", default)]
    pub issue_type: Option<SubIssueType>,
}

/// The part of an issue's `type` the daemon reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SubIssueType {
    /// Name, e.g. `Task`.
    pub name: String,
}

impl SubIssue {
    /// Whether its issue type is `name` (GitHub's type names are case-insensitive).
    pub fn has_type(&self, name: &str) -> bool {
        self.issue_type
            .as_ref()
            .is_some_and(|t| t.name.eq_ignore_ascii_case(name))
    }

    /// `owner/name` of the repository it lives in, from its REST URL.
    pub fn repository(&self) -> Option<String> {
        let (_, rest) = self.url.split_once("/repos/")?;
        let mut parts = rest.split('/');
        let (owner, name) = (parts.next()?, parts.next()?);
        Some(format!("{owner}/{name}"))
    }
}

/// An organisation's issue type (`GET /orgs/{org}/issue-types`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IssueType {
    /// REST id.
    pub id: u64,
    /// GraphQL node id.
    pub node_id: String,
    /// Name, e.g. `Epic`, `Task`, `Bug`.
    pub name: String,
    /// Whether it can be used.
    #[serde(default = "enabled")]
    pub is_enabled: bool,
}

fn enabled() -> bool {
    true
}

impl GithubClient {
    /// The same client with its own pacing limits (tests use tiny quotas).
    pub fn with_pacing(mut self, limits: PacingLimits) -> Self {
        self.pacer = Pacer::new(limits);
        self
    }

    /// The pacing state (waiting calls, writes admitted).
    pub fn pacer(&self) -> &Pacer {
        &self.pacer
    }

    /// Sends a GraphQL document with `variables` to `POST /graphql` (`/api/graphql` on
    /// GitHub Enterprise Server) and decodes `data`.
    /// Queries are retried by the policy; mutations are sent once (see module doc).
    pub async fn graphql<T: DeserializeOwned>(
        &self,
        document: &str,
        variables: Value,
    ) -> Result<T, GithubError> {
        let path = "/graphql";
        let body = json!({ "query": document, "variables": variables });
        let answer = if is_mutation(document) {
            self.attempt(&Method::POST, path, Some(&body)).await?
        } else {
            self.call(Method::POST, path, Some(body)).await?
        };
        let parsed: GraphQlAnswer<T> = decode(path, &answer.body)?;
        if !parsed.errors.is_empty() || parsed.data.is_none() {
            let message = parsed
                .errors
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            return Err(GithubError::GraphQl {
                operation: operation_name(document),
                message: if message.is_empty() {
                    "no data".into()
                } else {
                    message
                },
                kinds: parsed.errors.into_iter().filter_map(|e| e.kind).collect(),
            });
        }
        parsed
            .data
            .ok_or_else(|| GithubError::Invalid("no data".into()))
    }

    /// Every sub-issue of an issue, all pages:
    /// `GET /repos/{owner}/{repo}/issues/{issue_number}/sub_issues`
    /// (<https://docs.github.com/rest/issues/sub-issues#list-sub-issues>). Consistent at
    /// once, unlike search: the exactly-once check of stories reads it.
    pub async fn list_sub_issues(
        &self,
        repo: &str,
        number: u64,
    ) -> Result<Vec<SubIssue>, GithubError> {
        let path = format!(
            "{}/issues/{number}/sub_issues?per_page={PER_PAGE}",
            repo_path(repo)?
        );
        self.all_pages(path).await
    }

    /// The organisation's issue types (`GET /orgs/{org}/issue-types`,
    /// <https://docs.github.com/rest/orgs/issue-types#list-issue-types-for-an-organization>).
    /// An organisation without issue types (or a user account) answers 404: an empty list.
    pub async fn org_issue_types(&self, org: &str) -> Result<Vec<IssueType>, GithubError> {
        let path = format!("/orgs/{}/issue-types", super::seg(org));
        match self.call(Method::GET, &path, None).await {
            Ok(a) => decode(&path, &a.body),
            Err(e) if e.is_not_found() => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// Sets an issue's type by name (`PATCH …/issues/{n}` with `type`).
    pub async fn set_issue_type(
        &self,
        repo: &str,
        number: u64,
        type_name: &str,
    ) -> Result<(), GithubError> {
        self.patch_issue(repo, number, json!({ "type": type_name }))
            .await
    }

    /// Replaces an issue's assignees (`PATCH …/issues/{n}` with `assignees`; empty unassigns).
    pub async fn set_assignees(
        &self,
        repo: &str,
        number: u64,
        logins: &[String],
    ) -> Result<(), GithubError> {
        self.patch_issue(repo, number, json!({ "assignees": logins }))
            .await
    }

    /// `PATCH /repos/{owner}/{repo}/issues/{n}` with the given fields (idempotent: retried).
    pub async fn patch_issue(
        &self,
        repo: &str,
        number: u64,
        fields: Value,
    ) -> Result<(), GithubError> {
        let path = format!("{}/issues/{number}", repo_path(repo)?);
        self.call(Method::PATCH, &path, Some(fields)).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_told_apart() {
        assert!(is_mutation("# c\nmutation A($x: ID!) {\n a }"));
        assert!(!is_mutation("query A { a }"));
        assert_eq!(
            operation_name("# x\nquery ProjectFields($o: String!) {"),
            "ProjectFields"
        );
        assert_eq!(
            operation_name("mutation AddProjectItem {"),
            "AddProjectItem"
        );
    }

    #[test]
    fn a_sub_issue_knows_its_repository() {
        let s: SubIssue = serde_json::from_value(json!({
            "id": 1, "node_id": "I_1", "number": 3, "title": "t", "body": null,
            "state": "open", "url": "https://api.github.com/repos/acme/pay/issues/3",
            "html_url": "https://github.com/acme/pay/issues/3", "extra": true
        }))
        .expect("decodes");
        assert_eq!(s.repository().as_deref(), Some("acme/pay"));
    }
}
