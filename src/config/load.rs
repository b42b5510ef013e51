//! Loading: a TOML file, then `COUNCIL_SECTION__KEY` environment overrides on top.
//!
//! Env rules (the `config` crate's, plus two of ours):
//! * `COUNCIL_GITHUB__TOKEN` → `github.token`, `COUNCIL_JIRA__AUTH__TOKEN` → `jira.auth.token`:
//!   prefix `COUNCIL_`, then `__` between levels.
//! * Only variables with a `__` in them are configuration. `COUNCIL_LOG`, `COUNCIL_CONFIG` or
//!   `COUNCIL_SHARED_DIR` are left to whoever reads them, instead of failing the load as
//!   unknown keys.
//! * Lists are comma-separated, blanks around commas ignored: `COUNCIL_GITHUB__REPOS=a/b,c/d`,
//!   `COUNCIL_CRITERIA__PLACEHOLDERS`, `COUNCIL_SANDBOX__COUNCIL_MEMBERS`.
//!   `COUNCIL_GITHUB__COUNCIL` is a team when it is one `org/slug` value and a login list
//!   otherwise (`carol,dave`, or a single `carol`).
//! * The `config` crate lower-cases every environment key. File keys keep their case, so a
//!   team written `[teams.Payments]` in the file cannot be reached from the environment:
//!   `COUNCIL_TEAMS__PAYMENTS__JIRA_PROJECT` makes a *second* team `payments`, which
//!   validation then reports. Name teams in lower case (as the form's options) if they are to
//!   be overridden from the environment.
//!
//! Deserialisation errors are turned into [`ConfigProblem`]s that name the dotted key, list
//! the valid keys for a typo, and never show the value of a secret.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ::config::{Environment, File, FileFormat, Map};

use super::{Config, ConfigProblem};

/// Prefix of every environment override.
pub const ENV_PREFIX: &str = "COUNCIL_";

/// Keys whose environment value is a comma-separated list.
const LIST_KEYS: &[&str] = &[
    "github.repos",
    "criteria.placeholders",
    "sandbox.council_members",
];

/// `github.council` is a team or a list, decided by the value's shape.
const COUNCIL_KEY: &str = "github.council";

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file is missing, unreadable or not TOML.
    #[error("cannot read config {path}: {reason}")]
    Read {
        /// The file that was asked for.
        path: PathBuf,
        /// What went wrong (no file contents quoted).
        reason: String,
    },
    /// The file is TOML but does not fit the configuration's shape, or fails validation.
    #[error("invalid config:\n{}", super::render_problems(.0))]
    Invalid(Vec<ConfigProblem>),
    /// Some keys do not fit; without them the rest loads, so it can be validated too and
    /// `config check` names every problem in one run.
    #[error("invalid config:\n{}", super::render_problems(problems))]
    Partial {
        /// What did not fit.
        problems: Vec<ConfigProblem>,
        /// The configuration without the keys that did not fit.
        rest: Box<Config>,
        /// Required keys whose bad value was replaced by a stand-in so that `rest` could load:
        /// `rest`'s values there are not the file's and must not be judged.
        stand_ins: Vec<String>,
    },
}

impl ConfigError {
    /// The problems as a list, so `config check` can print a read failure the same way as
    /// validation failures.
    pub fn into_problems(self) -> Vec<ConfigProblem> {
        match self {
            Self::Read { path, reason } => {
                vec![ConfigProblem::error(path.display().to_string(), reason)]
            }
            Self::Invalid(problems) | Self::Partial { problems, .. } => problems,
        }
    }
}

impl Config {
    /// Reads the TOML file at `path` and applies `COUNCIL_*` overrides from the process
    /// environment. Does not validate: see [`Config::validate`] and [`super::check_file`].
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::load_with_env(path, process_env())
    }

    /// Like [`Config::load`], with the environment given explicitly (tests, or a caller that
    /// has already filtered it).
    pub fn load_with_env<I>(path: &Path, env: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let file = File::from(path).format(FileFormat::Toml);
        build(file, path, env)
    }

    /// Parses configuration from TOML text plus an explicit environment; for tests and for
    /// callers that embed a configuration.
    pub fn from_toml_str<I>(text: &str, env: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let file = File::from_str(text, FileFormat::Toml);
        build(file, Path::new("(inline)"), env)
    }
}

/// The process environment, skipping variables that are not valid Unicode (they cannot be
/// ours: every key we read is ASCII).
fn process_env() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

fn build<S, I>(file: S, path: &Path, env: I) -> Result<Config, ConfigError>
where
    S: ::config::Source + Send + Sync + 'static,
    I: IntoIterator<Item = (String, String)>,
{
    let overrides = EnvOverrides::split(env);
    let env_keys = overrides.dotted_keys();
    let raw = ::config::Config::builder()
        .add_source(file)
        .add_source(overrides.scalar_source())
        .add_source(overrides.list_source())
        .build()
        .map_err(|e| ConfigError::Read {
            path: path.to_owned(),
            reason: without_source_excerpt(&e.to_string()),
        })?;
    let mut raw = raw;
    let plaintext = plaintext_secrets(&raw.cache);
    let ignored = drop_env_only_tracker_sections(&mut raw.cache, &env_keys);
    // serde stops at the first bad key: take each reported key out and try again, so one
    // run names every problem (up to a bound). A required key taken out comes back as
    // "missing" under the same name; that ends the search.
    //
    // A required key taken out comes back as "missing" under the same name: a stand-in value
    // of a shape that deserialises goes in its place (see [`stand_in`]), so the search goes on
    // past it; the stand-in keys are listed in `Partial::stand_ins`, so nothing judges them.
    let mut problems: Vec<ConfigProblem> = Vec::new();
    let mut stand_ins: Vec<String> = Vec::new();
    let mut choices: Vec<String> = Vec::new();
    for _ in 0..MAX_SHAPE_PROBLEMS {
        match raw.clone().try_deserialize::<Config>() {
            Ok(mut config) if problems.is_empty() => {
                config.plaintext_secrets = plaintext;
                config.ignored_env_sections = ignored;
                return Ok(config);
            }
            Ok(mut config) => {
                config.plaintext_secrets = plaintext;
                config.ignored_env_sections = ignored;
                return Err(ConfigError::Partial {
                    problems,
                    rest: Box::new(config),
                    stand_ins,
                });
            }
            Err(e) => {
                if let Some((_, valid)) = parse_unknown(&e.to_string(), "unknown variant `") {
                    choices.extend(valid);
                }
                let problem = problem_from_error(e, &env_keys);
                if problems.iter().any(|p| p.key == problem.key) {
                    if stand_ins.contains(&problem.key)
                        || !stand_in(&mut raw, &problem.key, &choices, &env_keys)
                    {
                        break;
                    }
                    stand_ins.push(problem.key);
                    continue;
                }
                let removed = remove_key(&mut raw.cache, &problem.key);
                problems.push(problem);
                if !removed {
                    break;
                }
            }
        }
    }
    Err(ConfigError::Invalid(problems))
}

/// Puts a value that deserialises at a required `key` whose own value was bad (and is already
/// reported), so the rest of the file can still be checked: the first candidate after which
/// serde no longer stops at `key` or below it. Candidates: the variants serde listed for an
/// enum met so far (as a name, or as a `type = …` table), then one value of each TOML shape.
/// Whether one was found.
fn stand_in(
    raw: &mut ::config::Config,
    key: &str,
    choices: &[String],
    env_keys: &BTreeSet<(String, String)>,
) -> bool {
    use ::config::{Value, ValueKind};
    let text = |s: &str| Value::new(None, ValueKind::String(s.to_owned()));
    let mut candidates: Vec<Value> = Vec::new();
    for choice in choices {
        candidates.push(text(choice));
        let table = Map::from([("type".to_owned(), text(choice))]);
        candidates.push(Value::new(None, ValueKind::Table(table)));
    }
    candidates.extend([
        text("stand-in/stand-in"),
        Value::new(None, ValueKind::I64(3)),
        Value::new(None, ValueKind::Boolean(false)),
        Value::new(None, ValueKind::Array(vec![text("stand-in/stand-in")])),
        Value::new(None, ValueKind::Table(Map::new())),
    ]);
    let below = format!("{key}.");
    for candidate in candidates {
        let mut trial = raw.clone();
        if !set_key(&mut trial.cache, key, candidate) {
            return false;
        }
        let fits = match trial.clone().try_deserialize::<Config>() {
            Ok(_) => true,
            Err(e) => {
                let at = problem_from_error(e, env_keys).key;
                at != key && !at.starts_with(&below)
            }
        };
        if fits {
            *raw = trial;
            return true;
        }
    }
    false
}

/// Sets the value at a dotted key, making the tables on the way; whether it could (a
/// non-table on the way cannot hold a key).
fn set_key(root: &mut ::config::Value, key: &str, value: ::config::Value) -> bool {
    use ::config::{Value, ValueKind};
    let mut node = root;
    let mut parts = key.split('.').peekable();
    while let Some(part) = parts.next() {
        let ValueKind::Table(table) = &mut node.kind else {
            return false;
        };
        if parts.peek().is_none() {
            table.insert(part.to_owned(), value);
            return true;
        }
        node = table
            .entry(part.to_owned())
            .or_insert_with(|| Value::new(None, ValueKind::Table(Map::new())));
    }
    false
}

/// How many shape problems (unknown keys, wrong types) one load reports at most.
const MAX_SHAPE_PROBLEMS: usize = 64;

/// Removes the value at a dotted key (`jira.auth.type`); whether there was one.
fn remove_key(root: &mut ::config::Value, key: &str) -> bool {
    use ::config::ValueKind;
    let mut node = root;
    let mut parts = key.split('.').peekable();
    while let Some(part) = parts.next() {
        let ValueKind::Table(table) = &mut node.kind else {
            return false;
        };
        if parts.peek().is_none() {
            return table.remove(part).is_some();
        }
        let Some(next) = table.get_mut(part) else {
            return false;
        };
        node = next;
    }
    false
}

/// Dotted keys of secrets (`github.token`, `github.webhook_secret`, `jira.auth.token`,
/// `jira.webhook_secret`, `jira.webhook_token`, any `*token*`/`*secret*` key that is not a
/// `*_file`) whose value was written in the file rather than given by the environment.
fn plaintext_secrets(root: &::config::Value) -> Vec<String> {
    fn walk(prefix: &str, value: &::config::Value, out: &mut Vec<String>) {
        let ::config::ValueKind::Table(table) = &value.kind else {
            return;
        };
        for (name, child) in table {
            let key = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            if matches!(child.kind, ::config::ValueKind::Table(_)) {
                walk(&key, child, out);
            } else if is_secret_key(&key)
                && !matches!(child.kind, ::config::ValueKind::Nil)
                && child.origin() != Some(ENV_ORIGIN)
            {
                out.push(key);
            }
        }
    }
    let mut out = Vec::new();
    walk("", root, &mut out);
    out.sort();
    out
}

/// Each tracker's own section, and the `[tracker] kind` that uses it: `[jira]` only with
/// `kind = "jira"` (the default), `[github_projects]` only with `kind = "github-projects"`.
const TRACKER_SECTIONS: &[(&str, &str)] =
    &[("jira", "jira"), ("github_projects", "github-projects")];

/// Takes out the sections of the tracker `[tracker] kind` does not name when every value in
/// them came from the environment (a shell still holding another rehearsal's
/// `COUNCIL_JIRA__*`), so a partial one is not judged as if it were meant; each is returned
/// with the variables that made it, for a warning ([`Config::ignored_env_sections`]). A
/// section with any value from the file stays, and is judged (and warned about) as written.
/// An unknown `kind` takes nothing out: its own error is the one to show.
fn drop_env_only_tracker_sections(
    root: &mut ::config::Value,
    env_keys: &BTreeSet<(String, String)>,
) -> Vec<super::IgnoredEnvSection> {
    use ::config::ValueKind;
    let ValueKind::Table(table) = &mut root.kind else {
        return Vec::new();
    };
    let kind = match table.get("tracker").map(|t| &t.kind) {
        None => "jira".to_owned(),
        Some(ValueKind::Table(t)) => match t.get("kind").map(|k| &k.kind) {
            None => "jira".to_owned(),
            Some(ValueKind::String(k)) => k.trim().to_owned(),
            Some(_) => return Vec::new(),
        },
        Some(_) => return Vec::new(),
    };
    if !TRACKER_SECTIONS.iter().any(|(_, k)| *k == kind) {
        return Vec::new();
    }
    let mut ignored = Vec::new();
    for (section, used_by) in TRACKER_SECTIONS {
        if *used_by == kind {
            continue;
        }
        let env_only = table.get(*section).is_some_and(only_from_env);
        if !env_only {
            continue;
        }
        table.remove(*section);
        let below = format!("{section}.");
        let variables = env_keys
            .iter()
            .filter(|(dotted, _)| dotted == section || dotted.starts_with(&below))
            .map(|(_, name)| name.clone())
            .collect();
        ignored.push(super::IgnoredEnvSection {
            section: (*section).to_owned(),
            variables,
        });
    }
    ignored
}

/// Whether every value under `value` came from the environment (and there is one at least).
fn only_from_env(value: &::config::Value) -> bool {
    fn walk(value: &::config::Value, leaves: &mut usize) -> bool {
        match &value.kind {
            ::config::ValueKind::Table(t) => t.values().all(|v| walk(v, leaves)),
            _ => {
                *leaves += 1;
                value.origin() == Some(ENV_ORIGIN)
            }
        }
    }
    let mut leaves = 0;
    walk(value, &mut leaves) && leaves > 0
}

/// What the `config` crate records as the origin of an environment value.
const ENV_ORIGIN: &str = "the environment";

/// The `COUNCIL_*` variables that are configuration, sorted into scalars and lists.
struct EnvOverrides {
    scalars: Map<String, String>,
    lists: Map<String, String>,
    list_keys: Vec<String>,
}

impl EnvOverrides {
    fn split<I: IntoIterator<Item = (String, String)>>(env: I) -> Self {
        let mut out = Self {
            scalars: Map::new(),
            lists: Map::new(),
            list_keys: Vec::new(),
        };
        for (name, value) in env {
            let Some(dotted) = dotted_key(&name) else {
                continue;
            };
            let is_list = LIST_KEYS.contains(&dotted.as_str())
                || (dotted == COUNCIL_KEY && is_login_list(&value));
            if is_list {
                out.lists.insert(name, normalise_list(&value));
                out.list_keys.push(dotted);
            } else {
                out.scalars.insert(name, value);
            }
        }
        out
    }

    fn dotted_keys(&self) -> BTreeSet<(String, String)> {
        self.scalars
            .keys()
            .chain(self.lists.keys())
            .filter_map(|name| Some((dotted_key(name)?, name.clone())))
            .collect()
    }

    fn scalar_source(&self) -> Environment {
        base_environment().source(Some(self.scalars.clone()))
    }

    fn list_source(&self) -> Environment {
        // `try_parsing` is what makes the crate split lists at all; it is confined to the
        // list keys so that a numeric-looking token stays a string.
        self.list_keys.iter().fold(
            base_environment()
                .try_parsing(true)
                .list_separator(",")
                .source(Some(self.lists.clone())),
            |env, key| env.with_list_parse_key(key),
        )
    }
}

fn base_environment() -> Environment {
    Environment::with_prefix("COUNCIL")
        .prefix_separator("_")
        .separator("__")
}

/// `COUNCIL_JIRA__AUTH__TOKEN` → `jira.auth.token`, the way the `config` crate maps it;
/// `None` for variables that are not configuration.
fn dotted_key(name: &str) -> Option<String> {
    let lower = name.to_lowercase();
    let rest = lower.strip_prefix(&ENV_PREFIX.to_lowercase())?;
    rest.contains("__").then(|| rest.replace("__", "."))
}

/// The variable that set a dotted key: the exact key, or, when `below_ok`, a key below it
/// (errors inside an enum name the enum; an unknown section names only the section).
fn env_name_for(
    key: &str,
    env_keys: &BTreeSet<(String, String)>,
    below_ok: bool,
) -> Option<String> {
    let below = format!("{key}.");
    env_keys
        .iter()
        .find(|(dotted, _)| dotted == key || (below_ok && dotted.starts_with(&below)))
        .map(|(_, name)| name.clone())
}

fn is_login_list(value: &str) -> bool {
    value.contains(',') || !value.contains('/')
}

fn normalise_list(value: &str) -> String {
    value
        .split(',')
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether the value under this key is a secret that must never be echoed.
pub(crate) fn is_secret_key(key: &str) -> bool {
    let last = key.rsplit('.').next().unwrap_or(key);
    (last.contains("token") || last.contains("secret")) && !last.ends_with("_file")
}

/// Replaces every `string "…"` in a message with `a string`, for keys holding secrets.
fn without_quoted_strings(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find("string \"") {
        out.push_str(&rest[..start]);
        out.push_str("a string");
        let after = &rest[start + "string \"".len()..];
        rest = match closing_quote(after) {
            Some(end) => &after[end + 1..],
            None => "",
        };
    }
    out.push_str(rest);
    out
}

/// Index of the first unescaped `"`.
fn closing_quote(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

/// Drops the quoted source lines (`12 | token = "…"`) from a TOML parse error, since the line
/// may hold a secret; keeps the position and the message.
fn without_source_excerpt(message: &str) -> String {
    message
        .lines()
        .filter(|line| !line.contains('|') && !line.trim().is_empty())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(": ")
}

/// Turns one error of the `config` crate into a problem naming the dotted key.
fn problem_from_error(
    err: ::config::ConfigError,
    env_keys: &BTreeSet<(String, String)>,
) -> ConfigProblem {
    use ::config::ConfigError as E;
    let (key, reason, origin) = match err {
        E::NotFound(key) => (key, "missing: this key is required".to_owned(), None),
        E::Type {
            origin,
            unexpected,
            expected,
            key,
        } => {
            let key = key.unwrap_or_default();
            (
                key,
                format!("expected {expected}, found {unexpected}"),
                origin,
            )
        }
        E::At { error, origin, key } => {
            let (key, reason) = message_problem(key.unwrap_or_default(), &error.to_string());
            (key, reason, origin)
        }
        E::Message(message) => {
            let (key, reason) = message_problem(String::new(), &message);
            (key, reason, None)
        }
        other => (String::new(), other.to_string(), None),
    };
    let reason = if is_secret_key(&key) {
        without_quoted_strings(&reason)
    } else {
        reason
    };
    let key = if key.is_empty() {
        "(top level)".to_owned()
    } else {
        key
    };
    let from_env = origin.as_deref() == Some(ENV_ORIGIN);
    // An unknown key from the environment is the top of the variable's dotted key.
    let below_ok = from_env || reason.starts_with("unknown key");
    let reason = match env_name_for(&key, env_keys, below_ok) {
        Some(name) => format!("{reason} (set by environment variable {name})"),
        None => reason,
    };
    ConfigProblem::error(key, reason)
}

/// Reads serde's custom messages: unknown keys, unknown variants, untagged mismatches.
fn message_problem(key: String, message: &str) -> (String, String) {
    if let Some((field, valid)) = parse_unknown(message, "unknown field `") {
        let full = join_key(&key, &field);
        return (full, unknown_reason("key", &field, &valid));
    }
    if let Some((variant, valid)) = parse_unknown(message, "unknown variant `") {
        let reason = unknown_reason("type", &variant, &valid);
        return (key, reason);
    }
    if message.contains("untagged enum CouncilMembers") {
        let reason = "must be a team as \"org/team-slug\" or a list of logins, \
                      e.g. [\"carol\", \"dave\"]";
        return (key, reason.to_owned());
    }
    if key.ends_with("listen") && message.contains("socket address") {
        let reason =
            format!("{message}: expected IP:PORT, e.g. \"127.0.0.1:8080\" (no host names)");
        return (key, reason);
    }
    (key, message.to_owned())
}

fn join_key(prefix: &str, last: &str) -> String {
    if prefix.is_empty() {
        last.to_owned()
    } else {
        format!("{prefix}.{last}")
    }
}

/// `unknown field `jra`, expected one of `github`, `jira`` → (`jra`, [github, jira]).
fn parse_unknown(message: &str, marker: &str) -> Option<(String, Vec<String>)> {
    let rest = &message[message.find(marker)? + marker.len()..];
    let end = rest.find('`')?;
    let name = rest[..end].to_owned();
    let valid = rest[end + 1..]
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    Some((name, valid))
}

fn unknown_reason(what: &str, name: &str, valid: &[String]) -> String {
    if valid.is_empty() {
        return format!("unknown {what} `{name}`: nothing is allowed here");
    }
    let hint = closest(name, valid)
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default();
    format!(
        "unknown {what} `{name}`{hint}; valid {what}s here: {}",
        valid.join(", ")
    )
}

/// The valid name nearest to a typo, if it is near enough to be a likely typo.
fn closest<'a>(name: &str, valid: &'a [String]) -> Option<&'a str> {
    valid
        .iter()
        .map(|v| (edit_distance(name, v), v))
        .filter(|(d, v)| *d <= (v.len() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, v)| v.as_str())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
