//! Aliased GraphQL documents built for a whole acceptance, so that its writes do not grow
//! by three per story: every project-item add of the acceptance (the stories' and the
//! epic's) in one mutation, every Team and Status update in another, and every team
//! repository's node id in one query.
//!
//! GitHub runs a mutation's root fields one after another, in document order
//! (<https://spec.graphql.org/October2021/#sec-Mutation>), and answers each alias apart.
//! Cost against GitHub's limits
//! (<https://docs.github.com/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api>):
//! a document with a mutation is charged 5 secondary points however many aliases it has,
//! a query 1; none of these documents asks for a connection, so each costs GitHub's minimum
//! of 1 primary point. One document holds at most [`MAX_ALIASES`] root fields, so 50 teams
//! (100 field updates) still take one document each.
//!
//! Every document built here is validated against GitHub's published schema by the tests
//! in `documents.rs` (for 1, 2, 51 and [`MAX_ALIASES`] aliases), and by the sandbox, which
//! validates every document it receives.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Most root fields one built document carries. GitHub publishes no cap on aliases, but
/// a document past its 500,000-node limit or its 10-second timeout fails whole; 100
/// updates of one field each stay far below both. More are sent in further documents.
pub const MAX_ALIASES: usize = 100;

/// A built document and its variables.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// The GraphQL document.
    pub document: String,
    /// Its variables.
    pub variables: Value,
}

/// `AddProjectItems($projectId, $c0, $c1, …)`: `a0: addProjectV2ItemById(…)` for each
/// content node id, in order. GitHub answers the existing item for content already in the
/// project, so the document is idempotent.
pub fn add_items(project_id: &str, content_ids: &[String]) -> Batch {
    let mut params = vec!["$projectId: ID!".to_owned()];
    let mut fields = Vec::new();
    let mut vars = Map::new();
    vars.insert("projectId".into(), json!(project_id));
    for (i, id) in content_ids.iter().enumerate() {
        params.push(format!("$c{i}: ID!"));
        fields.push(format!(
            "  a{i}: addProjectV2ItemById(input: {{ projectId: $projectId, contentId: $c{i} }}) {{\n    item {{\n      id\n    }}\n  }}"
        ));
        vars.insert(format!("c{i}"), json!(id));
    }
    Batch {
        document: format!(
            "mutation AddProjectItems({}) {{\n{}\n}}\n",
            params.join(", "),
            fields.join("\n")
        ),
        variables: Value::Object(vars),
    }
}

/// One single-select value to set: the item, the field and the option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionUpdate {
    /// Project item node id.
    pub item_id: String,
    /// Field node id.
    pub field_id: String,
    /// Single-select option id.
    pub option_id: String,
}

/// `SetItemFields($projectId, $i0, $f0, $v0, …)`: `u0: updateProjectV2ItemFieldValue(…)`
/// for each update, in order. Setting a value an item already has changes nothing.
pub fn set_options(project_id: &str, updates: &[OptionUpdate]) -> Batch {
    let mut params = vec!["$projectId: ID!".to_owned()];
    let mut fields = Vec::new();
    let mut vars = Map::new();
    vars.insert("projectId".into(), json!(project_id));
    for (i, u) in updates.iter().enumerate() {
        params.push(format!(
            "$i{i}: ID!, $f{i}: ID!, $v{i}: ProjectV2FieldValue!"
        ));
        fields.push(format!(
            "  u{i}: updateProjectV2ItemFieldValue(input: {{ projectId: $projectId, itemId: $i{i}, fieldId: $f{i}, value: $v{i} }}) {{\n    projectV2Item {{\n      id\n    }}\n  }}"
        ));
        vars.insert(format!("i{i}"), json!(u.item_id));
        vars.insert(format!("f{i}"), json!(u.field_id));
        vars.insert(
            format!("v{i}"),
            json!({ "singleSelectOptionId": u.option_id }),
        );
    }
    Batch {
        document: format!(
            "mutation SetItemFields({}) {{\n{}\n}}\n",
            params.join(", "),
            fields.join("\n")
        ),
        variables: Value::Object(vars),
    }
}

/// `RepositoryIds($o0, $n0, …)`: `r0: repository(owner:, name:) { id }` for each
/// `owner/name` (the caller has split them).
pub fn repository_ids(repos: &[(String, String)]) -> Batch {
    let mut params = Vec::new();
    let mut fields = Vec::new();
    let mut vars = Map::new();
    for (i, (owner, name)) in repos.iter().enumerate() {
        params.push(format!("$o{i}: String!, $n{i}: String!"));
        fields.push(format!(
            "  r{i}: repository(owner: $o{i}, name: $n{i}) {{\n    id\n  }}"
        ));
        vars.insert(format!("o{i}"), json!(owner));
        vars.insert(format!("n{i}"), json!(name));
    }
    Batch {
        document: format!(
            "query RepositoryIds({}) {{\n{}\n}}\n",
            params.join(", "),
            fields.join("\n")
        ),
        variables: Value::Object(vars),
    }
}

/// `{ a0: { item: { id } }, … }`.
#[derive(Debug, Deserialize)]
struct AddedPayload {
    item: Option<super::model::IdRef>,
}

/// `{ r0: { id }, … }` (`null` for a repository that does not exist).
type AliasedIds = HashMap<String, Option<super::model::IdRef>>;

/// The item ids of an [`add_items`] answer, in the order the contents were given
/// (`None` where GitHub answered no item).
pub fn added_item_ids(data: &Value, n: usize) -> Vec<Option<String>> {
    let answers: HashMap<String, Option<AddedPayload>> =
        serde_json::from_value(data.clone()).unwrap_or_default();
    (0..n)
        .map(|i| {
            answers
                .get(&format!("a{i}"))
                .and_then(Option::as_ref)
                .and_then(|p| p.item.as_ref())
                .map(|item| item.id.clone())
        })
        .collect()
}

/// The node ids of a [`repository_ids`] answer, in the order the repositories were given
/// (`None` for one GitHub does not have or the token cannot see).
pub fn repository_node_ids(data: &Value, n: usize) -> Vec<Option<String>> {
    let answers: AliasedIds = serde_json::from_value(data.clone()).unwrap_or_default();
    (0..n)
        .map(|i| {
            answers
                .get(&format!("r{i}"))
                .and_then(Option::as_ref)
                .map(|r| r.id.clone())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_alias_each_entry_and_answers_come_back_in_order() {
        let b = add_items("P", &["I_1".into(), "I_2".into()]);
        assert!(
            b.document
                .starts_with("mutation AddProjectItems($projectId: ID!, $c0: ID!, $c1: ID!)")
        );
        assert_eq!(b.variables["c1"], "I_2");
        let data =
            json!({ "a1": { "item": { "id": "PVTI_2" } }, "a0": { "item": { "id": "PVTI_1" } } });
        assert_eq!(
            added_item_ids(&data, 2),
            [Some("PVTI_1".to_owned()), Some("PVTI_2".to_owned())]
        );
        assert_eq!(added_item_ids(&json!({ "a0": null }), 2), [None, None]);
        assert_eq!(added_item_ids(&json!("not an object"), 1), [None]);

        let u = set_options(
            "P",
            &[OptionUpdate {
                item_id: "IT".into(),
                field_id: "F".into(),
                option_id: "O".into(),
            }],
        );
        assert_eq!(u.variables["v0"]["singleSelectOptionId"], "O");
        assert!(u.document.contains("u0: updateProjectV2ItemFieldValue"));

        let r = repository_ids(&[("acme".into(), "a".into()), ("acme".into(), "b".into())]);
        assert_eq!(r.variables["n1"], "b");
        let data = json!({ "r0": { "id": "R_a" }, "r1": null });
        assert_eq!(
            repository_node_ids(&data, 2),
            [Some("R_a".to_owned()), None]
        );
    }
}
