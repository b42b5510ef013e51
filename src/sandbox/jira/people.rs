//! People the sandbox's Jira knows: five seeded colleagues, the daemon's own account, and
//! anyone who has acted through the REST or control API since.
//!
//! A person has one handle (`alice`) that is also the Data Center user name, and a stable
//! Cloud account id derived from it (`557058:alice`), so the same person is addressable by
//! `accountId` on v3 and by `name` on v2, the way the two flavours do it.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::config::JiraApiVersion;

/// Prefix of the sandbox's Cloud account ids (real ones look like `557058:<uuid>`).
pub const ACCOUNT_PREFIX: &str = "557058:";

/// The colleagues every sandbox starts with: handle and display name.
pub const SEEDED: &[(&str, &str)] = &[
    ("alice", "Alice Adams"),
    ("bob", "Bob Brown"),
    ("carol", "Carol Chen"),
    ("dave", "Dave Diaz"),
    ("erin", "Erin Evans"),
];

/// The Cloud account id of a handle.
pub fn account_id(name: &str) -> String {
    format!("{ACCOUNT_PREFIX}{name}")
}

/// The display name of a handle: the seeded one, else the handle itself.
pub fn display_name(name: &str) -> String {
    SEEDED
        .iter()
        .find(|(n, _)| *n == name)
        .map_or_else(|| name.to_owned(), |(_, d)| (*d).to_owned())
}

/// Known people by handle.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Directory {
    people: BTreeMap<String, String>,
    /// Profile time zones (IANA names) set through the control API; everyone else is in UTC.
    #[serde(default)]
    zones: BTreeMap<String, String>,
}

impl Default for Directory {
    fn default() -> Self {
        Self {
            people: SEEDED
                .iter()
                .map(|(n, d)| ((*n).to_owned(), (*d).to_owned()))
                .collect(),
            zones: BTreeMap::new(),
        }
    }
}

impl Directory {
    /// Sets `name`'s profile time zone (an IANA name Jira would show as `timeZone`); an
    /// unknown name is refused with what was wrong.
    pub fn set_time_zone(&mut self, name: &str, zone: &str) -> Result<(), String> {
        jiff::tz::TimeZone::get(zone).map_err(|e| format!("unknown time zone {zone:?}: {e}"))?;
        self.register(name);
        self.zones.insert(name.to_owned(), zone.to_owned());
        Ok(())
    }

    /// `name`'s profile time zone (IANA name; `UTC` unless set).
    pub fn time_zone(&self, name: &str) -> &str {
        self.zones.get(name).map_or("UTC", String::as_str)
    }

    /// The zone Jira reads `name`'s JQL dates in.
    pub fn jql_zone(&self, name: &str) -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get(self.time_zone(name)).unwrap_or(jiff::tz::TimeZone::UTC)
    }

    /// Makes a person known (no-op when they are).
    pub fn register(&mut self, name: &str) {
        if !self.people.contains_key(name) {
            self.people.insert(name.to_owned(), display_name(name));
        }
    }

    /// The handle of a known person, by handle or by account id.
    pub fn resolve(&self, handle_or_account: &str) -> Option<String> {
        let name = handle_or_account
            .strip_prefix(ACCOUNT_PREFIX)
            .unwrap_or(handle_or_account);
        self.people.contains_key(name).then(|| name.to_owned())
    }

    /// People whose handle, display name or e-mail contains `query` (case-insensitive);
    /// an empty query matches nobody, as on Jira.
    pub fn search(&self, query: &str) -> Vec<String> {
        let q = query.trim().to_lowercase();
        if q.is_empty() {
            return Vec::new();
        }
        self.people
            .iter()
            .filter(|(n, d)| {
                n.to_lowercase().contains(&q)
                    || d.to_lowercase().contains(&q)
                    || format!("{n}@example.com").contains(&q)
            })
            .map(|(n, _)| n.clone())
            .collect()
    }
}

/// A user as Jira's `User` / `UserDetails`: `accountId` for Cloud, `name`/`key` for Data
/// Center (both are present, so either flavour's client finds what it reads).
pub fn user_json(base: &str, v: JiraApiVersion, name: &str) -> Value {
    let api = format!("{base}/rest/api/{}", v.number());
    let account = account_id(name);
    let self_url = match v {
        JiraApiVersion::V3 => format!("{api}/user?accountId={account}"),
        JiraApiVersion::V2 => format!("{api}/user?username={name}"),
    };
    json!({
        "self": self_url,
        "accountId": account,
        "accountType": "atlassian",
        "name": name,
        "key": name,
        "displayName": display_name(name),
        "emailAddress": format!("{name}@example.com"),
        "active": true,
        "timeZone": "UTC",
        "avatarUrls": {"48x48": format!("{base}/avatar/{name}.png")},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_handles_and_accounts() {
        let mut d = Directory::default();
        assert_eq!(d.resolve("alice").as_deref(), Some("alice"));
        assert_eq!(d.resolve("557058:bob").as_deref(), Some("bob"));
        assert_eq!(d.resolve("zed"), None);
        d.register("zed");
        assert_eq!(d.resolve("557058:zed").as_deref(), Some("zed"));
        assert_eq!(d.search("CHEN"), vec!["carol".to_owned()]);
        assert!(d.search(" ").is_empty());
        assert_eq!(display_name("erin"), "Erin Evans");
        assert_eq!(display_name("bot"), "bot");
    }
}
