//! The GraphQL documents the GitHub Projects tracker sends, kept as files in `graphql/` and
//! embedded at build time. Every one is validated against GitHub's published schema
//! (`../shared/specs/github-schema.graphql`) by the test below; the sandbox validates
//! every document it receives against the same schema.

/// The fragment every issue read shares (prepended to the documents that spread it).
#[cfg(test)]
const ISSUE_FIELDS: &str = include_str!("graphql/issue_fields.graphql");

/// `ProjectFields($owner, $number)`: the organisation's project and its fields.
pub const PROJECT_FIELDS: &str = include_str!("graphql/project.graphql");
/// `IssueState($owner, $name, $number)`: one issue with its project items.
pub const ISSUE_STATE: &str = concat!(
    include_str!("graphql/issue.graphql"),
    include_str!("graphql/issue_fields.graphql")
);
/// `IssueNodes($ids)`: issues by node id.
pub const ISSUE_NODES: &str = concat!(
    include_str!("graphql/nodes.graphql"),
    include_str!("graphql/issue_fields.graphql")
);
/// `ProjectItems($projectId, $first, $after)`: a page of the project's items.
pub const PROJECT_ITEMS: &str = concat!(
    include_str!("graphql/items.graphql"),
    include_str!("graphql/issue_fields.graphql")
);
/// `CreateSubIssue($repositoryId, $title, $body, $parentIssueId)`: a story, created and
/// linked to its parent in one write.
pub const CREATE_SUB_ISSUE: &str = concat!(
    include_str!("graphql/create_issue.graphql"),
    include_str!("graphql/issue_fields.graphql")
);
/// `AddProjectItem($projectId, $contentId)`.
pub const ADD_PROJECT_ITEM: &str = include_str!("graphql/add_item.graphql");
/// `SetFieldValue($projectId, $itemId, $fieldId, $value)`.
pub const SET_FIELD_VALUE: &str = include_str!("graphql/set_field.graphql");

/// `CreateField($input)`: `setup` makes a project field the project lacks
/// (`createProjectV2Field`).
pub const CREATE_FIELD: &str = include_str!("graphql/create_field.graphql");

/// Every document with a name for messages.
pub const ALL: [(&str, &str); 8] = [
    ("create_field.graphql", CREATE_FIELD),
    ("nodes.graphql", ISSUE_NODES),
    ("project.graphql", PROJECT_FIELDS),
    ("issue.graphql", ISSUE_STATE),
    ("items.graphql", PROJECT_ITEMS),
    ("create_issue.graphql", CREATE_SUB_ISSUE),
    ("add_item.graphql", ADD_PROJECT_ITEM),
    ("set_field.graphql", SET_FIELD_VALUE),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Where GitHub's schema lives beside the checkout (see `../shared/specs/SOURCES.md`).
    pub(crate) fn schema_path() -> std::path::PathBuf {
        crate::sandbox::github::projects::graphql::schema_path()
    }

    #[test]
    fn every_document_is_valid_against_githubs_schema() {
        let path = schema_path();
        let sdl = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "GitHub's GraphQL schema is missing at {} ({e}): this test needs \
                 ../shared/specs/github-schema.graphql beside the checkout (see SOURCES.md there)",
                path.display()
            )
        });
        // GitHub's SDL defines two fields twice, which strict validation refuses
        // (SOURCES.md): take the parsed schema as it is.
        let schema = match apollo_compiler::Schema::parse_and_validate(sdl, &path) {
            Ok(valid) => valid,
            Err(e) => apollo_compiler::validation::Valid::assume_valid(e.partial),
        };
        assert!(
            schema.types.contains_key("ProjectV2"),
            "not GitHub's schema"
        );
        for (name, doc) in ALL {
            if let Err(e) =
                apollo_compiler::ExecutableDocument::parse_and_validate(&schema, doc, name)
            {
                panic!("{name} is not valid against GitHub's schema:\n{}", e.errors);
            }
        }
        // The documents built per acceptance (`batch.rs`), at the sizes that matter: one
        // alias, two, past half of the cap, and the cap.
        for n in [1, 2, 51, super::super::batch::MAX_ALIASES] {
            let ids: Vec<String> = (0..n).map(|i| format!("I_{i}")).collect();
            let repos: Vec<(String, String)> = (0..n)
                .map(|i| ("acme".to_owned(), format!("r{i}")))
                .collect();
            let updates: Vec<_> = (0..n)
                .map(|i| super::super::batch::OptionUpdate {
                    item_id: format!("PVTI_{i}"),
                    field_id: "F".into(),
                    option_id: "O".into(),
                })
                .collect();
            for (name, built) in [
                ("AddProjectItems", super::super::batch::add_items("P", &ids)),
                (
                    "SetItemFields",
                    super::super::batch::set_options("P", &updates),
                ),
                ("RepositoryIds", super::super::batch::repository_ids(&repos)),
            ] {
                if let Err(e) = apollo_compiler::ExecutableDocument::parse_and_validate(
                    &schema,
                    &built.document,
                    name,
                ) {
                    panic!(
                        "{name} with {n} aliases is not valid:\n{}\n{}",
                        e.errors, built.document
                    );
                }
            }
        }
        // The fragment alone is not a document; it is checked through the ones above.
        assert!(ISSUE_FIELDS.contains("fragment IssueFields"));
    }

    #[test]
    fn a_wrong_document_is_refused() {
        let Ok(sdl) = std::fs::read_to_string(schema_path()) else {
            panic!(
                "GitHub's GraphQL schema is missing at {}",
                schema_path().display()
            );
        };
        let schema = match apollo_compiler::Schema::parse_and_validate(sdl, "schema.graphql") {
            Ok(valid) => valid,
            Err(e) => apollo_compiler::validation::Valid::assume_valid(e.partial),
        };
        let bad = "query { organization(login: \"a\") { projectV2(number: 1) { noSuchField } } }";
        assert!(
            apollo_compiler::ExecutableDocument::parse_and_validate(&schema, bad, "bad").is_err()
        );
    }
}
