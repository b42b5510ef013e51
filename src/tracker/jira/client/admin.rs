//! Jira reads and the one admin write that `council-sync doctor` and `setup` need: the
//! project, its issue types and their create fields (createmeta), the field list (Sprint,
//! Epic Link), the statuses of each issue type's workflow, and the admin webhooks.
//!
//! Atlassian sources: "Get create metadata issue types for a project" and "… field metadata
//! for a project and issue type ID" (`/issue/createmeta/{project}/issuetypes[/{id}]`, Cloud
//! answers `issueTypes`/`fields`, Data Center 8.4+ `values`), "Get all statuses for project"
//! (`/project/{key}/statuses`), "Get fields" (`/field`), and the admin webhook REST API
//! (`/rest/webhooks/1.0/webhook`, Jira administrators only; not under `/rest/api/`).

use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{JiraClient, decode, path_segment, record, transport};
use crate::tracker::jira::error::JiraError;

/// Path of the admin webhook API, from the site's base URL.
const WEBHOOKS_PATH: &str = "/rest/webhooks/1.0/webhook";

/// A project as `GET /project/{key}` shows it.
#[derive(Debug, Clone, Deserialize)]
pub struct ProjectInfo {
    /// Numeric id.
    pub id: String,
    /// Key.
    pub key: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
}

/// An issue type or a field: id and name.
#[derive(Debug, Clone, Deserialize)]
pub struct Named {
    /// Id (`10001`, `customfield_10020`).
    #[serde(alias = "fieldId")]
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
}

/// One issue type's workflow statuses (`GET /project/{key}/statuses`).
#[derive(Debug, Clone, Deserialize)]
pub struct IssueTypeStatuses {
    /// Issue type name.
    pub name: String,
    /// Its statuses.
    #[serde(default)]
    pub statuses: Vec<Named>,
}

/// A workflow's statuses and transitions, as Jira Cloud's "Get workflows paginated"
/// (`GET /workflow/search?expand=transitions,statuses`) lists them.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Workflow {
    /// Its statuses (id and name).
    #[serde(default)]
    pub statuses: Vec<Named>,
    /// Its transitions.
    #[serde(default)]
    pub transitions: Vec<WorkflowTransition>,
}

/// One transition of a [`Workflow`].
#[derive(Debug, Clone, Deserialize)]
pub struct WorkflowTransition {
    /// Transition id.
    pub id: String,
    /// Its name (the button people press).
    #[serde(default)]
    pub name: String,
    /// Status ids it starts from; empty for a global or the initial transition.
    #[serde(default)]
    pub from: Vec<String>,
    /// Status id it leads to.
    pub to: String,
    /// `initial` (creates the issue), `global` (from every status) or `directed`.
    #[serde(rename = "type", default)]
    pub kind: String,
}

/// `GET /workflowscheme/project`: schemes with the projects using them.
#[derive(Deserialize)]
struct SchemeAssociations {
    #[serde(default)]
    values: Vec<SchemeAssociation>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SchemeAssociation {
    workflow_scheme: SchemeMappings,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SchemeMappings {
    #[serde(default)]
    default_workflow: Option<String>,
    #[serde(default)]
    issue_type_mappings: std::collections::BTreeMap<String, String>,
}

/// `GET /workflow/search`: a page of workflows.
#[derive(Deserialize)]
struct WorkflowPage {
    #[serde(default)]
    values: Vec<Workflow>,
}

/// An admin webhook registration (`/rest/webhooks/1.0/webhook`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JiraWebhook {
    /// Shown in Jira's admin page.
    pub name: String,
    /// Where Jira sends events.
    pub url: String,
    /// `jira:issue_updated`, `comment_created`, …
    #[serde(default)]
    pub events: Vec<String>,
    /// `{"issue-related-events-section": JQL}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<Value>,
    /// Whether Jira leaves the body out (the daemon needs it: false).
    #[serde(default)]
    pub exclude_body: bool,
    /// Cloud: the secret Jira signs with (`X-Hub-Signature`); never read back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Whether Jira sends events (absent on older servers: enabled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// A page of createmeta: Cloud names the list, Data Center calls it `values`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetaPage {
    #[serde(default)]
    issue_types: Vec<Named>,
    #[serde(default)]
    fields: Vec<Named>,
    #[serde(default)]
    values: Vec<Named>,
}

impl JiraClient {
    async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, JiraError> {
        let call = format!("GET /{path}");
        self.policy
            .run(&call, || async {
                let text = self.send_query(Method::GET, path, &[]).await?;
                decode(&call, &text)
            })
            .await
    }

    /// The project (404 when it does not exist or the account cannot browse it).
    pub async fn project(&self, key: &str) -> Result<ProjectInfo, JiraError> {
        self.get_json(&format!("project/{}", path_segment(key)))
            .await
    }

    /// The workflow issues of type `issue_type_id` follow in project `project_id`: the
    /// project's workflow scheme maps the type (or gives its default workflow), then the
    /// workflow is read with its statuses and transitions. `None` when the scheme names
    /// none. Both calls need "Administer Jira" (403 otherwise); Jira Data Center has neither
    /// route (404). Atlassian: "Get workflow scheme project associations", "Get workflows
    /// paginated".
    pub async fn workflow_of(
        &self,
        project_id: &str,
        issue_type_id: &str,
    ) -> Result<Option<Workflow>, JiraError> {
        const SCHEME: &str = "GET /workflowscheme/project";
        const SEARCH: &str = "GET /workflow/search";
        let schemes: SchemeAssociations = self
            .policy
            .run(SCHEME, || async {
                let text = self
                    .send_query(
                        Method::GET,
                        "workflowscheme/project",
                        &[("projectId", project_id)],
                    )
                    .await?;
                decode(SCHEME, &text)
            })
            .await?;
        let Some(name) = schemes.values.into_iter().find_map(|a| {
            let m = a.workflow_scheme;
            m.issue_type_mappings
                .get(issue_type_id)
                .cloned()
                .or(m.default_workflow)
        }) else {
            return Ok(None);
        };
        let page: WorkflowPage = self
            .policy
            .run(SEARCH, || async {
                let text = self
                    .send_query(
                        Method::GET,
                        "workflow/search",
                        &[
                            ("workflowName", name.as_str()),
                            ("expand", "transitions,statuses"),
                        ],
                    )
                    .await?;
                decode(SEARCH, &text)
            })
            .await?;
        Ok(page.values.into_iter().next())
    }

    /// Issue types the account can create in `project` (first page of 200, plenty for a
    /// project's scheme).
    pub async fn create_issue_types(&self, project: &str) -> Result<Vec<Named>, JiraError> {
        let path = format!(
            "issue/createmeta/{}/issuetypes?maxResults=200",
            path_segment(project)
        );
        let page: MetaPage = self.get_json(&path).await?;
        Ok(if page.values.is_empty() {
            page.issue_types
        } else {
            page.values
        })
    }

    /// Fields on the create screen of issue type `type_id` in `project`.
    pub async fn create_fields(
        &self,
        project: &str,
        type_id: &str,
    ) -> Result<Vec<Named>, JiraError> {
        let path = format!(
            "issue/createmeta/{}/issuetypes/{}?maxResults=200",
            path_segment(project),
            path_segment(type_id)
        );
        let page: MetaPage = self.get_json(&path).await?;
        Ok(if page.values.is_empty() {
            page.fields
        } else {
            page.values
        })
    }

    /// Every field of the site (system and custom).
    pub async fn fields(&self) -> Result<Vec<Named>, JiraError> {
        self.get_json("field").await
    }

    /// Each issue type of `project` with its workflow's statuses.
    pub async fn project_statuses(
        &self,
        project: &str,
    ) -> Result<Vec<IssueTypeStatuses>, JiraError> {
        self.get_json(&format!("project/{}/statuses", path_segment(project)))
            .await
    }

    /// The site's admin webhooks (403 unless the account is a Jira administrator).
    pub async fn list_webhooks(&self) -> Result<Vec<JiraWebhook>, JiraError> {
        let text = self.send_webhooks(Method::GET, None).await?;
        decode("GET /rest/webhooks/1.0/webhook", &text)
    }

    /// Registers an admin webhook. Sent once; the caller lists the webhooks first.
    pub async fn register_webhook(&self, hook: &JiraWebhook) -> Result<(), JiraError> {
        self.send_webhooks(Method::POST, Some(hook)).await?;
        Ok(())
    }

    /// One call to the admin webhook API, which lives outside `/rest/api/{n}/`.
    async fn send_webhooks(
        &self,
        method: Method,
        body: Option<&JiraWebhook>,
    ) -> Result<String, JiraError> {
        let call = format!("{method} {WEBHOOKS_PATH}");
        self.limiter.until_key_ready(&self.host).await;
        let mut req = self
            .http
            .request(method, format!("{}{WEBHOOKS_PATH}", self.base))
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(auth) = self.credentials.header_value() {
            req = req.header(AUTHORIZATION, auth);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(|e| {
            record(&self.host, &call, WEBHOOKS_PATH, None, None);
            transport(&call, &e)
        })?;
        let status = resp.status();
        let headers = resp.headers().clone();
        record(
            &self.host,
            &call,
            WEBHOOKS_PATH,
            Some(status.as_u16()),
            Some(&headers),
        );
        let text = resp.text().await.map_err(|e| transport(&call, &e))?;
        if status.is_success() {
            Ok(text)
        } else {
            Err(JiraError::from_response(&call, status, &headers, &text))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn createmeta_pages_of_both_flavours_decode() {
        let cloud: MetaPage = serde_json::from_str(
            r#"{"issueTypes":[{"id":"10000","name":"Epic"}],"startAt":0,"total":1}"#,
        )
        .expect("cloud");
        assert_eq!(cloud.issue_types.len(), 1);
        let dc: MetaPage = serde_json::from_str(
            r#"{"values":[{"fieldId":"customfield_10008","name":"Epic Link"}],"isLast":true}"#,
        )
        .expect("dc");
        assert_eq!(dc.values[0].id, "customfield_10008");
    }
}
