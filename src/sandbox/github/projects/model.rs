//! The sandbox's Projects v2 state: projects with fields (single select, iteration, text)
//! and items, the organisations' issue types, and the sub-issue tree.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::sandbox::github::model::pair_keyed;

/// An issue's address: lower-cased `owner/name` and number.
pub type IssueAddr = (String, u64);

/// GitHub's cap on sub-issues per parent, closed ones included.
pub const MAX_SUB_ISSUES: usize = 100;

/// One iteration of an iteration field.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IterationRec {
    /// Iteration id (8 hex digits, as GitHub's).
    pub id: String,
    /// Title, e.g. `Iteration 1`.
    pub title: String,
    /// First day.
    pub start: NaiveDate,
    /// Length in days.
    pub duration: u32,
}

/// What kind of field.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum FieldKind {
    /// A text field (the project's Title and such).
    Text,
    /// A single-select field with (option id, name) options.
    SingleSelect(Vec<(String, String)>),
    /// An iteration field.
    Iteration(Vec<IterationRec>),
}

/// A project field.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Field {
    /// Node id.
    pub node_id: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: FieldKind,
}

/// A field value of an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ValueRec {
    /// A single-select option id.
    Option(String),
    /// An iteration id.
    Iteration(String),
}

/// A project item (an issue in the project).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Item {
    /// Numeric id.
    pub id: u64,
    /// Node id.
    pub node_id: String,
    /// The issue.
    pub content: IssueAddr,
    /// Values by field node id.
    pub values: BTreeMap<String, ValueRec>,
    /// Who added it.
    pub creator: String,
    /// When added.
    pub created_at: DateTime<Utc>,
    /// Last change of a value.
    pub updated_at: DateTime<Utc>,
}

/// A Projects v2 project.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Project {
    /// Numeric id.
    pub id: u64,
    /// Node id.
    pub node_id: String,
    /// Owner login (an organisation).
    pub owner: String,
    /// Number within the owner.
    pub number: u64,
    /// Title.
    pub title: String,
    /// Fields.
    pub fields: Vec<Field>,
    /// Items, in position order.
    pub items: Vec<Item>,
}

impl Project {
    /// The field with this node id.
    pub fn field(&self, node_id: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.node_id == node_id)
    }

    /// The field with this name (case-insensitive).
    pub fn field_named(&self, name: &str) -> Option<&Field> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The item of an issue.
    pub fn item_of(&self, addr: &IssueAddr) -> Option<&Item> {
        self.items.iter().find(|i| &i.content == addr)
    }
}

/// An organisation's issue type.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IssueTypeRec {
    /// Numeric id.
    pub id: u64,
    /// Node id.
    pub node_id: String,
    /// Name.
    pub name: String,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// Everything Projects-shaped the sandbox knows.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ProjectsWorld {
    /// Projects.
    pub projects: Vec<Project>,
    /// Issue types by lower-cased organisation login.
    pub issue_types: BTreeMap<String, Vec<IssueTypeRec>>,
    /// Each sub-issue's parent.
    #[serde(with = "pair_keyed")]
    pub parent: BTreeMap<IssueAddr, IssueAddr>,
    /// Each parent's sub-issues, in order.
    #[serde(with = "pair_keyed")]
    pub children: BTreeMap<IssueAddr, Vec<IssueAddr>>,
    /// The issue type set on an issue (by name).
    #[serde(with = "pair_keyed")]
    pub issue_type_of: BTreeMap<IssueAddr, String>,
}

impl ProjectsWorld {
    /// The project `owner`/`number`.
    pub fn project(&self, owner: &str, number: u64) -> Option<&Project> {
        self.projects
            .iter()
            .find(|p| p.owner.eq_ignore_ascii_case(owner) && p.number == number)
    }

    /// The project with this node id.
    pub fn project_by_node(&self, node_id: &str) -> Option<&Project> {
        self.projects.iter().find(|p| p.node_id == node_id)
    }

    /// The project with this node id, to change it.
    pub fn project_by_node_mut(&mut self, node_id: &str) -> Option<&mut Project> {
        self.projects.iter_mut().find(|p| p.node_id == node_id)
    }

    /// Every (project, item) holding the issue.
    pub fn items_of<'a>(
        &'a self,
        addr: &'a IssueAddr,
    ) -> impl Iterator<Item = (&'a Project, &'a Item)> {
        self.projects
            .iter()
            .filter_map(move |p| p.item_of(addr).map(|i| (p, i)))
    }
}
