//! Every webhook GitHub's published schema describes (`github-webhooks.slice.json`: issues,
//! issue_comment, projects_v2_item, sub_issues, installation, ping), sent to the real binary
//! in its sparsest legal form, is answered 202; the ones the daemon acts on are stored.
//!
//! Payloads are generated from the schema itself: only `required` properties, walked
//! recursively (`$ref`, `allOf`, `anyOf`/`oneOf`, 3.1 type lists), once with every nullable
//! value present and once with every nullable value `null`. A field the decoder needs but
//! the schema lets GitHub leave out or null shows up here as a 400.

mod common;

use common::*;
use serde_json::{Map, Value, json};

/// `(event, action)` pairs the daemon acts on (`src/github/webhook/events.rs`); each must be
/// answered `queued`, everything else may be `ignored`.
const HANDLED: [(&str, &str); 11] = [
    ("issues", "opened"),
    ("issues", "edited"),
    ("issues", "labeled"),
    ("issues", "unlabeled"),
    ("issues", "closed"),
    ("issues", "reopened"),
    ("issues", "assigned"),
    ("issues", "unassigned"),
    ("issues", "transferred"),
    ("issue_comment", "created"),
    ("issue_comment", "edited"),
];

/// The repository `config/sandbox.toml` watches.
const WATCHED: &str = "acme/platform-concerns";

struct Generator<'a> {
    schemas: &'a Map<String, Value>,
    /// Give every nullable value as `null` (else the non-null alternative).
    nulls: bool,
}

impl Generator<'_> {
    fn resolve<'s>(&'s self, mut schema: &'s Value) -> &'s Value {
        while let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let name = r.rsplit('/').next().expect("ref name");
            schema = self.schemas.get(name).unwrap_or_else(|| panic!("no {r}"));
        }
        schema
    }

    fn nullable(&self, schema: &Value) -> bool {
        let schema = self.resolve(schema);
        match schema.get("type") {
            Some(Value::Array(types)) => types.iter().any(|t| t == "null"),
            Some(Value::String(t)) => t == "null",
            _ => ["anyOf", "oneOf"].iter().any(|k| {
                schema
                    .get(*k)
                    .and_then(Value::as_array)
                    .is_some_and(|alts| alts.iter().any(|a| self.nullable(a)))
            }),
        }
    }

    fn minimal(&self, schema: &Value, depth: usize) -> Value {
        assert!(depth < 40, "schema recursion too deep");
        let schema = self.resolve(schema);
        if self.nulls && depth > 0 && self.nullable(schema) {
            return Value::Null;
        }
        if let Some(c) = schema.get("const") {
            return c.clone();
        }
        if let Some(values) = schema.get("enum").and_then(Value::as_array)
            && let Some(v) = values.iter().find(|v| !v.is_null())
        {
            return v.clone();
        }
        if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
            let mut merged = Map::new();
            for part in parts {
                match self.minimal(part, depth + 1) {
                    Value::Object(o) => merged.extend(o),
                    other if parts.len() == 1 => return other,
                    _ => {}
                }
            }
            // Properties required at this level, beside the allOf.
            if let Value::Object(o) = self.object(schema, depth) {
                merged.extend(o);
            }
            return Value::Object(merged);
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(alts) = schema.get(key).and_then(Value::as_array) {
                let alt = alts
                    .iter()
                    .find(|a| !self.is_null_type(a))
                    .unwrap_or(&alts[0]);
                return self.minimal(alt, depth + 1);
            }
        }
        let ty = match schema.get("type") {
            Some(Value::String(t)) => t.as_str(),
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
                .unwrap_or("null"),
            _ if schema.get("properties").is_some() => "object",
            _ => "string",
        };
        match ty {
            "object" => self.object(schema, depth),
            "array" => {
                let min = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0);
                let item = schema.get("items").cloned().unwrap_or(json!({}));
                Value::Array((0..min).map(|_| self.minimal(&item, depth + 1)).collect())
            }
            "integer" | "number" => json!(1),
            "boolean" => json!(false),
            "null" => Value::Null,
            _ => json!(match schema.get("format").and_then(Value::as_str) {
                Some("date-time") => "2025-01-02T03:04:05Z",
                Some("uri") => "https://example.com/x",
                Some("email") => "someone@example.com",
                _ => "x",
            }),
        }
    }

    fn is_null_type(&self, schema: &Value) -> bool {
        self.resolve(schema).get("type").and_then(Value::as_str) == Some("null")
    }

    fn object(&self, schema: &Value, depth: usize) -> Value {
        let mut out = Map::new();
        let props = schema.get("properties").and_then(Value::as_object);
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let prop = props
                .and_then(|p| p.get(name))
                .cloned()
                .unwrap_or(json!({}));
            out.insert(name.to_owned(), self.minimal(&prop, depth + 1));
        }
        Value::Object(out)
    }
}

/// `(event header, action, body)` for every webhook in the slice.
fn sparse_payloads(nulls: bool) -> Vec<(String, Option<String>, Value)> {
    let path = shared_dir().join("specs/github-webhooks.slice.json");
    let spec: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("webhook schema")).expect("json");
    let schemas = spec["components"]["schemas"].as_object().expect("schemas");
    let generator = Generator { schemas, nulls };
    let webhooks = spec["webhooks"].as_object().expect("webhooks");
    assert!(webhooks.len() >= 41, "the whole slice: {}", webhooks.len());
    webhooks
        .iter()
        .map(|(name, hook)| {
            let post = &hook["post"];
            let schema = &post["requestBody"]["content"]["application/json"]["schema"];
            let mut body = generator.minimal(schema, 0);
            let action = body
                .get("action")
                .and_then(Value::as_str)
                .map(str::to_owned);
            // The schema's header examples are not per event (issue_comment's says
            // `issues`): the event is the webhook's name without its action.
            let suffix = action
                .as_deref()
                .map(|a| format!("-{}", a.replace('_', "-")));
            let event = suffix
                .and_then(|s| name.strip_suffix(&s))
                .unwrap_or(name)
                .replace('-', "_");
            if let Some(repo) = body.get_mut("repository").filter(|r| r.is_object()) {
                repo["full_name"] = WATCHED.into();
            }
            (event, action, body)
        })
        .collect()
}

#[tokio::test]
async fn every_schema_webhook_in_its_sparsest_form_is_accepted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = Daemon::start(&write_embedded_config(dir.path())).await;
    let client = council_sync::crypto::http_client();
    let mut handled_seen = Vec::new();
    for nulls in [false, true] {
        for (i, (event, action, body)) in sparse_payloads(nulls).into_iter().enumerate() {
            let bytes = serde_json::to_vec(&body).expect("json");
            let sig =
                council_sync::github::webhook::signature::sign(WEBHOOK_SECRET.as_bytes(), &bytes);
            let resp = client
                .post(format!("{}/webhooks/github", daemon.url))
                .header("X-GitHub-Event", &event)
                .header("X-GitHub-Delivery", format!("schema-{nulls}-{i}"))
                .header("X-Hub-Signature-256", sig)
                .header("content-type", "application/json")
                .body(bytes)
                .send()
                .await
                .expect("post");
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            let what = format!(
                "{event}.{} (nulls: {nulls})",
                action.as_deref().unwrap_or("-")
            );
            assert_eq!(status, 202, "{what}: {text}\n{body:#}");
            let handled = HANDLED
                .iter()
                .any(|(e, a)| *e == event && Some(*a) == action.as_deref());
            let answer: Value = serde_json::from_str(&text).expect("json answer");
            let expected = if handled { "queued" } else { "ignored" };
            assert_eq!(answer["status"], expected, "{what}");
            if handled {
                handled_seen.push(what);
            }
        }
    }
    assert_eq!(
        handled_seen.len(),
        2 * HANDLED.len(),
        "every handled event+action is in the schema: {handled_seen:?}"
    );
    assert_eq!(daemon.terminate().await.code(), Some(0));
}
