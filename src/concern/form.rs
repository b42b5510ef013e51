//! The issue form (`.github/ISSUE_TEMPLATE/sre-concern.yml`), read so that template and
//! parser never drift apart: the body parser finds sections by the labels read here, the
//! criteria check knows the form's own example text, and the team options come from here.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use serde::Deserialize;

/// Field id of the "Teams involved" dropdown, which every usable form must have.
pub const TEAMS_FIELD_ID: &str = "teams";
/// Field id of the optional "Results" textarea (before/after figures).
pub const RESULTS_FIELD_ID: &str = "results";
/// Id of the optional "What kind of problem is this?" dropdown: an answer that `[routing]`
/// names is not an SRE concern and is routed to where it belongs.
pub const KIND_FIELD_ID: &str = "kind";
/// Field id of the optional "How will we measure the improvement?" textarea.
pub const MEASURE_FIELD_ID: &str = "measure";

/// The form shipped with the daemon, compiled in so the binary never depends on a checkout.
const SHIPPED_FORM: &str = include_str!("../../.github/ISSUE_TEMPLATE/sre-concern.yml");

/// Field ids the daemon cannot work without (the three questions and the teams).
const REQUIRED_FIELD_IDS: [&str; 4] = ["why_sre", "why_important", "what_involved", TEAMS_FIELD_ID];

static SHIPPED: LazyLock<IssueForm> = LazyLock::new(|| {
    // The text is compiled in and covered by `shipped_form_parses`; it is not external input.
    IssueForm::from_yaml(SHIPPED_FORM).expect("the shipped issue form is valid")
});

/// Why an issue form could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FormError {
    /// The form file could not be read.
    #[error("cannot read issue form {path}: {source}")]
    Read {
        /// The file that was asked for.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The text is not YAML of the issue-forms shape.
    #[error("issue form is not valid YAML of the issue-forms schema: {0}")]
    Yaml(String),
    /// A field the daemon relies on is missing.
    #[error("issue form has no field with id `{id}` (council-sync needs it)")]
    MissingField {
        /// The id that was looked for.
        id: String,
    },
    /// A field is there but cannot serve its purpose.
    #[error("issue form field `{id}` {problem}")]
    BadField {
        /// The field's id.
        id: String,
        /// What is wrong, as the end of a sentence.
        problem: String,
    },
}

/// The kind of an issue-form element, as far as the parser cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldKind {
    /// Free text (`textarea`).
    Textarea,
    /// One line of text (`input`).
    Input,
    /// A choice from options (`dropdown`).
    Dropdown,
    /// Tick boxes (`checkboxes`).
    Checkboxes,
    /// Any other element type GitHub may add.
    Other(String),
}

/// One answerable field of the form, the unit the body parser and criteria check work on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormField {
    /// The `id` (stable across label rewording).
    pub id: String,
    /// The `attributes.label`, which GitHub renders as the section heading.
    pub label: String,
    /// The element type.
    pub kind: FieldKind,
    /// Grey example text shown in an empty field (`attributes.placeholder`).
    pub placeholder: Option<String>,
    /// Pre-filled text (`attributes.value`), submitted unchanged if the author ignores it.
    pub prefill: Option<String>,
    /// Whether GitHub requires it (`validations.required`).
    pub required: bool,
    /// The choices of a dropdown or checkboxes element, in form order (trimmed, non-empty).
    pub options: Vec<String>,
}

/// The parts of the issue form the daemon relies on.
#[derive(Debug, Clone)]
pub struct IssueForm {
    /// Options of the "Teams involved" dropdown, in form order.
    pub team_options: Vec<String>,
    /// The form's `name` (shown in GitHub's template chooser).
    pub name: String,
    /// Labels GitHub puts on issues opened from the form (`labels`).
    pub labels: Vec<String>,
    /// The answerable fields, in form order (markdown elements are not fields).
    pub fields: Vec<FormField>,
}

impl IssueForm {
    /// The form shipped in this repository (compiled in), parsed once.
    pub fn shipped() -> Self {
        SHIPPED.clone()
    }

    /// Parses an issue form; fails with the reason when it is not one council-sync can use.
    pub fn from_yaml(text: &str) -> Result<Self, FormError> {
        let raw: RawForm =
            serde_saphyr::from_str(text).map_err(|e| FormError::Yaml(e.to_string()))?;
        let fields: Vec<FormField> = raw
            .body
            .into_iter()
            .filter_map(|element| element.into_field())
            .collect();
        let team_options = team_options(&fields)?;
        let form = Self {
            team_options,
            name: raw.name.unwrap_or_default(),
            labels: raw.labels.map(StringList::into_vec).unwrap_or_default(),
            fields,
        };
        form.validate()?;
        Ok(form)
    }

    /// Reads and parses a form file (`criteria.issue_form` in the config).
    pub fn load(path: &Path) -> Result<Self, FormError> {
        let text = std::fs::read_to_string(path).map_err(|source| FormError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_yaml(&text)
    }

    /// The field with this id, if the form has one.
    pub fn field(&self, id: &str) -> Option<&FormField> {
        self.fields.iter().find(|f| f.id == id)
    }

    /// The label (section heading) of the field with this id.
    pub fn label(&self, id: &str) -> Option<&str> {
        self.field(id).map(|f| f.label.as_str())
    }

    /// The label that marks an issue as a concern: the form's first label, the one GitHub
    /// applies to every issue opened from it.
    pub fn concern_label(&self) -> Option<&str> {
        self.labels.first().map(String::as_str)
    }

    /// The option of the teams dropdown that `name` denotes (case and spacing ignored).
    pub fn canonical_team(&self, name: &str) -> Option<&str> {
        let wanted = fold(name);
        self.team_options
            .iter()
            .find(|o| fold(o) == wanted)
            .map(String::as_str)
    }

    /// Checks that the fields the daemon relies on are there and usable.
    fn validate(&self) -> Result<(), FormError> {
        for id in REQUIRED_FIELD_IDS {
            let field = self
                .field(id)
                .ok_or_else(|| FormError::MissingField { id: id.into() })?;
            if field.label.trim().is_empty() {
                return Err(FormError::BadField {
                    id: id.into(),
                    problem: "has no label, so its answer cannot be found in an issue".into(),
                });
            }
        }
        if self.team_options.is_empty() {
            return Err(FormError::BadField {
                id: TEAMS_FIELD_ID.into(),
                problem: "must be a dropdown with at least one option".into(),
            });
        }
        let mut seen = std::collections::HashSet::new();
        for field in &self.fields {
            if !seen.insert(fold(&field.label)) {
                return Err(FormError::BadField {
                    id: field.id.clone(),
                    problem: format!(
                        "has the label \"{}\" that another field also has, so the answers cannot be told apart",
                        field.label
                    ),
                });
            }
        }
        Ok(())
    }
}

/// Lower-cased, whitespace-collapsed form of a name, for forgiving comparisons.
pub(crate) fn fold(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The options of the teams dropdown, checked to be a dropdown.
fn team_options(fields: &[FormField]) -> Result<Vec<String>, FormError> {
    match fields.iter().find(|f| f.id == TEAMS_FIELD_ID) {
        Some(f) if f.kind != FieldKind::Dropdown => Err(FormError::BadField {
            id: TEAMS_FIELD_ID.into(),
            problem: "must be a dropdown".into(),
        }),
        Some(f) => Ok(f.options.clone()),
        None => Ok(Vec::new()),
    }
}

/// The issue-forms schema, as much of it as we read; unknown keys are ignored because
/// GitHub adds keys (`assignees`, `projects`, `type`, ...) that do not concern us.
#[derive(Debug, Deserialize)]
struct RawForm {
    name: Option<String>,
    labels: Option<StringList>,
    #[serde(default)]
    body: Vec<RawElement>,
}

/// GitHub accepts `labels` as a list or as one comma-separated string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum StringList {
    List(Vec<String>),
    One(String),
}

impl StringList {
    fn into_vec(self) -> Vec<String> {
        match self {
            Self::List(v) => v,
            Self::One(s) => s.split(',').map(|l| l.trim().to_owned()).collect(),
        }
        .into_iter()
        .filter(|l| !l.is_empty())
        .collect()
    }
}

#[derive(Debug, Deserialize)]
struct RawElement {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
    attributes: Option<RawAttributes>,
    validations: Option<RawValidations>,
}

#[derive(Debug, Deserialize)]
struct RawAttributes {
    label: Option<String>,
    placeholder: Option<String>,
    value: Option<String>,
    #[serde(default)]
    options: Vec<RawOption>,
}

/// Dropdown options are strings; checkbox options are `{label, required}` objects.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawOption {
    Text(String),
    Labelled { label: Option<String> },
}

impl RawOption {
    fn into_label(self) -> Option<String> {
        match self {
            Self::Text(s) => Some(s),
            Self::Labelled { label } => label,
        }
    }
}

#[derive(Debug, Deserialize)]
struct RawValidations {
    #[serde(default)]
    required: bool,
}

impl RawElement {
    /// The element as an answerable field; `markdown` elements and id-less elements are not.
    fn into_field(self) -> Option<FormField> {
        let kind = match self.kind.as_str() {
            "markdown" => return None,
            "textarea" => FieldKind::Textarea,
            "input" => FieldKind::Input,
            "dropdown" => FieldKind::Dropdown,
            "checkboxes" => FieldKind::Checkboxes,
            other => FieldKind::Other(other.to_owned()),
        };
        let id = self.id?;
        let attributes = self.attributes?;
        Some(FormField {
            id,
            label: attributes.label.unwrap_or_default().trim().to_owned(),
            kind,
            placeholder: attributes.placeholder.filter(|p| !p.trim().is_empty()),
            prefill: attributes.value.filter(|v| !v.trim().is_empty()),
            required: self.validations.is_some_and(|v| v.required),
            options: attributes
                .options
                .into_iter()
                .filter_map(RawOption::into_label)
                .map(|o| o.trim().to_owned())
                .filter(|o| !o.is_empty())
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_form_parses() {
        let form = IssueForm::from_yaml(SHIPPED_FORM).expect("shipped form");
        assert_eq!(form.label("why_sre"), Some("Why is this SRE?"));
        assert_eq!(form.label("why_important"), Some("Why is this important?"));
        assert_eq!(form.label("what_involved"), Some("What is involved?"));
        assert_eq!(form.label("teams"), Some("Teams involved"));
        assert_eq!(form.label("results"), Some("Results"));
        assert_eq!(form.concern_label(), Some("sre-concern"));
        assert_eq!(
            form.team_options,
            ["payments", "platform", "data", "identity", "networking"]
        );
        assert!(
            form.field("why_sre")
                .is_some_and(|f| f.required && f.placeholder.is_some())
        );
        assert!(form.field("results").is_some_and(|f| !f.required));
        assert_eq!(IssueForm::shipped().fields, form.fields);
    }

    #[test]
    fn canonical_team_ignores_case_and_spacing() {
        let form = IssueForm::shipped();
        assert_eq!(form.canonical_team(" Payments "), Some("payments"));
        assert_eq!(form.canonical_team("NETWORKING"), Some("networking"));
        assert_eq!(form.canonical_team("marketing"), None);
    }

    const MINIMAL: &str = r#"
name: x
labels: concern, other
body:
  - type: textarea
    id: why_sre
    attributes: { label: "A?" }
  - type: input
    id: why_important
    attributes: { label: "B?" }
  - type: textarea
    id: what_involved
    attributes: { label: "C?", value: "prefilled" }
  - type: dropdown
    id: teams
    attributes: { label: "T", options: [one, two] }
  - type: checkboxes
    id: terms
    attributes: { label: "Terms", options: [{ label: "I agree", required: true }] }
"#;

    #[test]
    fn accepts_other_labels_and_string_label_list() {
        let form = IssueForm::from_yaml(MINIMAL).expect("minimal form");
        assert_eq!(form.labels, ["concern", "other"]);
        assert_eq!(form.concern_label(), Some("concern"));
        assert_eq!(form.label("why_important"), Some("B?"));
        assert_eq!(
            form.field("what_involved")
                .and_then(|f| f.prefill.as_deref()),
            Some("prefilled")
        );
        assert_eq!(
            form.field("terms").map(|f| &f.kind),
            Some(&FieldKind::Checkboxes)
        );
        assert_eq!(form.team_options, ["one", "two"]);
    }

    #[test]
    fn rejects_forms_the_daemon_cannot_use() {
        let cases = [
            ("not: [valid".to_owned(), "YAML"),
            ("body: []".to_owned(), "why_sre"),
            (
                MINIMAL.replace("id: what_involved", "id: other"),
                "what_involved",
            ),
            (
                MINIMAL.replace("type: dropdown", "type: textarea"),
                "dropdown",
            ),
            (MINIMAL.replace("label: \"B?\"", "label: \"a?\""), "label"),
            (
                MINIMAL.replace("options: [one, two]", "options: []"),
                "option",
            ),
        ];
        for (yaml, needle) in cases {
            let err = IssueForm::from_yaml(&yaml).expect_err(&yaml).to_string();
            assert!(err.contains(needle), "{err:?} should mention {needle:?}");
        }
    }

    #[test]
    fn load_reports_missing_file() {
        let err = IssueForm::load(Path::new("/nonexistent/form.yml")).expect_err("no file");
        assert!(matches!(err, FormError::Read { .. }));
    }
}
