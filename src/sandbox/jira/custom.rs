//! Custom fields an administrator adds: `POST /rest/api/{2,3}/field` (`createCustomField`,
//! body `CustomFieldDefinitionJsonBean`, answer 201 `FieldDetails`). Three text kinds are
//! kept, the ones sync tools ask for (jirahub's docs: a "URL Field" for the linked GitHub
//! issue and a "Text field (multi-line)" for its metadata):
//!
//! * `url` (searcher `exacttextsearcher`): JQL `=`, `!=`, `in`, `not in` compare the whole value;
//! * `textfield` and `textarea` (searcher `textsearcher`): Jira searches them only with `~`,
//!   which this sandbox's JQL does not have, so `=` on them is refused as Jira refuses it.
//!
//! Each gets the id `customfield_N` and the JQL names `cf[N]` and `customfield_N`; issues set
//! them on create and edit with a string (or `null` to clear), and every issue answer carries
//! them (`null` when unset), as Jira does for fields in the project's configuration.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::JiraSandbox;
use super::auth::Caller;
use super::create::{MAX_SUMMARY, MAX_TEXT, java_len};
use super::render;

/// Plugin keys' common prefix (`com.atlassian.jira.plugin.system.customfieldtypes:url`).
pub const TYPE_PREFIX: &str = "com.atlassian.jira.plugin.system.customfieldtypes:";

/// The first id given to an administrator's field (Jira numbers custom fields from 10000;
/// the agile fields hold 10008, 10011 and 10020).
const FIRST_ID: u64 = 10_100;

/// A custom field's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CustomKind {
    /// `url`: one URL, searched exactly.
    Url,
    /// `textfield`: one line, at most 255 characters.
    Textfield,
    /// `textarea`: multi-line, at most 32,767 characters.
    Textarea,
}

impl CustomKind {
    fn from_type(t: &str) -> Option<Self> {
        match t.strip_prefix(TYPE_PREFIX).unwrap_or(t) {
            "url" => Some(Self::Url),
            "textfield" => Some(Self::Textfield),
            "textarea" => Some(Self::Textarea),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Url => "url",
            Self::Textfield => "textfield",
            Self::Textarea => "textarea",
        }
    }

    fn searcher(self) -> &'static str {
        match self {
            Self::Url => "exacttextsearcher",
            Self::Textfield | Self::Textarea => "textsearcher",
        }
    }

    /// Whether JQL `=` / `!=` / `in` apply (exact searchers only).
    pub fn exact(self) -> bool {
        self == Self::Url
    }

    fn max_len(self) -> usize {
        match self {
            Self::Url | Self::Textfield => MAX_SUMMARY,
            Self::Textarea => MAX_TEXT,
        }
    }
}

/// One administrator-made custom field.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CustomField {
    /// Numeric id: the field is `customfield_{id}`, JQL `cf[{id}]`.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// Type.
    pub kind: CustomKind,
}

impl CustomField {
    /// `customfield_{id}`.
    pub fn field_id(&self) -> String {
        format!("customfield_{}", self.id)
    }

    /// As `FieldDetails` (`GET /field`, the answer to a create).
    pub fn details(&self) -> Value {
        let id = self.field_id();
        json!({
            "id": id, "key": id, "name": self.name, "custom": true, "orderable": true,
            "navigable": true, "searchable": true,
            "clauseNames": [format!("cf[{}]", self.id), id, self.name],
            "schema": {
                "type": "string",
                "custom": format!("{TYPE_PREFIX}{}", self.kind.name()),
                "customId": self.id,
            },
        })
    }

    /// A value sent on create or edit: a string (trimmed empty clears it) or `null`.
    pub fn read(&self, v: &Value) -> Result<Option<String>, String> {
        match v {
            Value::Null => Ok(None),
            Value::String(s) if s.trim().is_empty() => Ok(None),
            Value::String(s) if java_len(s) > self.kind.max_len() => Err(format!(
                "The entered text is too long. It exceeds the allowed limit of {} characters.",
                self.kind.max_len()
            )),
            Value::String(s)
                if self.kind == CustomKind::Url
                    && !(s.starts_with("http://") || s.starts_with("https://")) =>
            {
                Err(format!("Not a valid URL: {s}"))
            }
            Value::String(s) => Ok(Some(s.clone())),
            _ => Err("Operation value must be a string".into()),
        }
    }
}

/// The numeric id in `customfield_N` or `cf[N]` (case-insensitive), if the name has that form.
pub fn parse_id(name: &str) -> Option<u64> {
    let lower = name.to_ascii_lowercase();
    if let Some(n) = lower.strip_prefix("customfield_") {
        return n.parse().ok();
    }
    lower
        .strip_prefix("cf[")
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|n| n.parse().ok())
}

/// The next free id after `fields`.
pub fn next_id(fields: &[CustomField]) -> u64 {
    fields.iter().map(|f| f.id + 1).max().unwrap_or(FIRST_ID)
}

#[derive(Deserialize)]
struct Definition {
    name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(rename = "searcherKey")]
    searcher_key: Option<String>,
}

fn refuse(field: &str, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"errorMessages": [], "errors": {field: message}})),
    )
        .into_response()
}

/// `POST /field`: creates a custom field of a kind above (others are refused).
pub async fn create(State(sb): State<Arc<JiraSandbox>>, _c: Caller, bytes: Bytes) -> Response {
    let Ok(def) = serde_json::from_slice::<Definition>(&bytes) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(render::errors(&["The request body is not valid JSON."])),
        )
            .into_response();
    };
    let Some(name) = def.name.filter(|n| !n.trim().is_empty()) else {
        return refuse("name", "The custom field name is required.");
    };
    let Some(kind) = def.kind.as_deref().and_then(CustomKind::from_type) else {
        return refuse(
            "type",
            "The custom field type is not supported (the sandbox has url, textfield, textarea).",
        );
    };
    if let Some(s) = def.searcher_key.as_deref()
        && s.strip_prefix(TYPE_PREFIX).unwrap_or(s) != kind.searcher()
    {
        return refuse(
            "searcherKey",
            "The searcher key is not valid for the custom field type.",
        );
    }
    let field = {
        let mut state = sb.lock();
        let id = next_id(&state.custom_fields);
        let field = CustomField { id, name, kind };
        state.custom_fields.push(field.clone());
        field
    };
    (StatusCode::CREATED, Json(field.details())).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values() {
        assert_eq!(parse_id("cf[10100]"), Some(10_100));
        assert_eq!(parse_id("customfield_10101"), Some(10_101));
        assert_eq!(parse_id("CF[7]"), Some(7));
        assert_eq!(parse_id("summary"), None);
        assert_eq!(parse_id("cf[x]"), None);
        let url = CustomField {
            id: 10_100,
            name: "GitHub URL".into(),
            kind: CustomKind::Url,
        };
        assert_eq!(
            url.read(&json!("https://github.com/a/b/issues/1")),
            Ok(Some("https://github.com/a/b/issues/1".into()))
        );
        assert_eq!(url.read(&Value::Null), Ok(None));
        assert!(url.read(&json!("not a url")).is_err());
        assert!(url.read(&json!(3)).is_err());
        let text = CustomField {
            kind: CustomKind::Textarea,
            ..url.clone()
        };
        assert!(text.read(&json!("x".repeat(40_000))).is_err());
        assert_eq!(next_id(&[]), 10_100);
        assert_eq!(next_id(&[url, text]), 10_101);
    }
}
