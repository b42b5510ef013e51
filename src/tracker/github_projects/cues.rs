//! Which tracker items a GitHub webhook says to re-read. A plain function over the payload
//! (the engine's cue type will wrap it): `projects_v2_item` names the item's content by
//! node id; `sub_issues` names the parent and the sub-issue; `issues` of a team repository
//! names the issue. `projects_v2_item` is sent only to organisation webhooks and GitHub Apps
//! (<https://docs.github.com/webhooks/webhook-events-and-payloads#projects_v2_item>); a
//! user-owned project is followed by polling alone.

use serde_json::Value;

/// An item to re-read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ItemRef {
    /// `owner/name#number`.
    Key(String),
    /// A GraphQL node id of an issue (projects_v2_item's `content_node_id`).
    Node(String),
}

/// `owner/name` from a REST repository URL (`…/repos/{owner}/{name}`).
fn repo_of_url(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("/repos/")?;
    let mut parts = rest.split('/');
    Some(format!("{}/{}", parts.next()?, parts.next()?))
}

/// The key of an issue object of a payload, from its `repository_url` and `number`.
fn issue_key(issue: &Value) -> Option<String> {
    let repo = repo_of_url(issue.get("repository_url")?.as_str()?)?;
    Some(format!("{repo}#{}", issue.get("number")?.as_u64()?))
}

/// The items `event` (`X-GitHub-Event`) with `payload` asks to re-read. `project_node_id`
/// is the configured project's node id (items of other projects are ignored, when known);
/// `team_repos` are the team repositories (`owner/name`), whose `issues` events count.
pub fn items_to_reread(
    event: &str,
    payload: &Value,
    project_node_id: Option<&str>,
    team_repos: &[String],
) -> Vec<ItemRef> {
    let mut out = Vec::new();
    match event {
        "projects_v2_item" => {
            let item = &payload["projects_v2_item"];
            let ours = match (
                project_node_id,
                item.get("project_node_id").and_then(Value::as_str),
            ) {
                (Some(want), Some(got)) => want == got,
                _ => true,
            };
            let is_issue = item.get("content_type").and_then(Value::as_str) == Some("Issue");
            if let (true, true, Some(id)) = (
                ours,
                is_issue,
                item.get("content_node_id").and_then(Value::as_str),
            ) {
                out.push(ItemRef::Node(id.to_owned()));
            }
        }
        "sub_issues" => {
            out.extend(issue_key(&payload["parent_issue"]).map(ItemRef::Key));
            out.extend(issue_key(&payload["sub_issue"]).map(ItemRef::Key));
        }
        "issues" => {
            let repo = payload["repository"]["full_name"]
                .as_str()
                .unwrap_or_default();
            if team_repos.iter().any(|r| r.eq_ignore_ascii_case(repo))
                && let Some(n) = payload["issue"]["number"].as_u64()
            {
                out.push(ItemRef::Key(format!("{repo}#{n}")));
            }
        }
        _ => {}
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_event_names_its_items() {
        let teams = vec!["acme/pay".to_owned()];
        let item = json!({ "action": "edited", "projects_v2_item": {
            "project_node_id": "PVT_1", "content_node_id": "I_9", "content_type": "Issue" } });
        assert_eq!(
            items_to_reread("projects_v2_item", &item, Some("PVT_1"), &teams),
            vec![ItemRef::Node("I_9".into())]
        );
        assert!(items_to_reread("projects_v2_item", &item, Some("PVT_2"), &teams).is_empty());
        let draft = json!({ "projects_v2_item": { "content_node_id": "DI_1", "content_type": "DraftIssue" } });
        assert!(items_to_reread("projects_v2_item", &draft, None, &teams).is_empty());

        let sub = json!({ "action": "sub_issue_added",
            "parent_issue": { "number": 3, "repository_url": "https://api.github.com/repos/acme/concerns" },
            "sub_issue": { "number": 7, "repository_url": "https://api.github.com/repos/acme/pay" } });
        assert_eq!(
            items_to_reread("sub_issues", &sub, None, &teams),
            vec![
                ItemRef::Key("acme/concerns#3".into()),
                ItemRef::Key("acme/pay#7".into())
            ]
        );
        let iss = json!({ "action": "closed", "issue": { "number": 7 }, "repository": { "full_name": "Acme/Pay" } });
        assert_eq!(
            items_to_reread("issues", &iss, None, &teams),
            vec![ItemRef::Key("Acme/Pay#7".into())]
        );
        let other = json!({ "issue": { "number": 1 }, "repository": { "full_name": "acme/else" } });
        assert!(items_to_reread("issues", &other, None, &teams).is_empty());
        // Missing pieces never panic.
        assert!(items_to_reread("sub_issues", &json!({}), None, &teams).is_empty());
        assert!(items_to_reread("projects_v2_item", &json!(null), None, &teams).is_empty());
    }
}
