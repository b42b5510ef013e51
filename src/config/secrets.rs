//! Secrets, inline (usually from the environment) or from a file (a mounted Kubernetes
//! Secret, a systemd credential). Reading one yields a `SecretString` or a problem that names
//! the key and the file, never the value.

use std::path::Path;

use secrecy::{ExposeSecret, SecretString};

use super::{ConfigProblem, GithubConfig, JiraAuth, JiraConfig};

impl GithubConfig {
    /// The API token: `github.token` (env `COUNCIL_GITHUB__TOKEN`) or `github.token_file`.
    /// `Ok(None)` when neither is set (fine only with the embedded sandbox).
    pub fn token(&self) -> Result<Option<SecretString>, ConfigProblem> {
        read_secret(
            "github.token",
            self.token.as_ref(),
            self.token_file.as_deref(),
        )
    }

    /// The webhook signing secret: `github.webhook_secret` (env
    /// `COUNCIL_GITHUB__WEBHOOK_SECRET`) or `github.webhook_secret_file`.
    pub fn webhook_secret(&self) -> Result<Option<SecretString>, ConfigProblem> {
        read_secret(
            "github.webhook_secret",
            self.webhook_secret.as_ref(),
            self.webhook_secret_file.as_deref(),
        )
    }
}

impl JiraConfig {
    /// The Jira Cloud admin webhook secret (`X-Hub-Signature`): `jira.webhook_secret` (env
    /// `COUNCIL_JIRA__WEBHOOK_SECRET`) or `jira.webhook_secret_file`. `Ok(None)`: the signed
    /// receiver is off.
    pub fn webhook_secret(&self) -> Result<Option<SecretString>, ConfigProblem> {
        read_secret(
            "jira.webhook_secret",
            self.webhook_secret.as_ref(),
            self.webhook_secret_file.as_deref(),
        )
    }

    /// The Data Center webhook URL token: `jira.webhook_token` (env
    /// `COUNCIL_JIRA__WEBHOOK_TOKEN`) or `jira.webhook_token_file`. `Ok(None)`: the token
    /// receiver is off.
    pub fn webhook_token(&self) -> Result<Option<SecretString>, ConfigProblem> {
        read_secret(
            "jira.webhook_token",
            self.webhook_token.as_ref(),
            self.webhook_token_file.as_deref(),
        )
    }
}

impl JiraAuth {
    /// The API token (Cloud) or personal access token (Data Center): `jira.auth.token` (env
    /// `COUNCIL_JIRA__AUTH__TOKEN`) or `jira.auth.token_file`.
    pub fn token(&self) -> Result<Option<SecretString>, ConfigProblem> {
        let (token, file) = match self {
            Self::Basic {
                token, token_file, ..
            }
            | Self::Bearer { token, token_file } => (token, token_file),
        };
        read_secret("jira.auth.token", token.as_ref(), file.as_deref())
    }
}

/// The environment variable that sets a dotted key, for messages.
pub(crate) fn env_name(key: &str) -> String {
    format!(
        "{}{}",
        super::load::ENV_PREFIX,
        key.replace('.', "__").to_uppercase()
    )
}

/// One secret from exactly one of: an inline value, a file. Trailing whitespace (the newline
/// editors and `echo` add) is trimmed from file contents.
fn read_secret(
    key: &str,
    inline: Option<&SecretString>,
    file: Option<&Path>,
) -> Result<Option<SecretString>, ConfigProblem> {
    let file_key = format!("{key}_file");
    match (inline, file) {
        (Some(_), Some(_)) => Err(ConfigProblem::error(
            key,
            format!(
                "given both inline (`{key}` or {}) and as `{file_key}`: keep one, so it is \
                 clear which one is used",
                env_name(key)
            ),
        )),
        (Some(value), None) => {
            if value.expose_secret().trim().is_empty() {
                Err(ConfigProblem::error(key, "is empty"))
            } else {
                Ok(Some(value.clone()))
            }
        }
        (None, Some(path)) => read_secret_file(&file_key, path).map(Some),
        (None, None) => Ok(None),
    }
}

fn read_secret_file(file_key: &str, path: &Path) -> Result<SecretString, ConfigProblem> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigProblem::error(file_key, format!("cannot read {}: {e}", path.display()))
    })?;
    let trimmed = text.trim_end();
    if trimmed.is_empty() {
        return Err(ConfigProblem::error(
            file_key,
            format!("{} is empty", path.display()),
        ));
    }
    Ok(SecretString::from(trimmed.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn inline_secret_is_returned() {
        let got = read_secret("github.token", Some(&secret("abc")), None);
        let got = got.expect("inline token").expect("some token");
        assert_eq!(got.expose_secret(), "abc");
    }

    #[test]
    fn file_secret_is_trimmed_of_trailing_newline() {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        writeln!(f, "s3cr3t-from-file").expect("write");
        let got = read_secret("jira.auth.token", None, Some(f.path()));
        let got = got.expect("file token").expect("some token");
        assert_eq!(got.expose_secret(), "s3cr3t-from-file");
    }

    #[test]
    fn both_inline_and_file_is_a_problem_naming_the_env_var() {
        let f = tempfile::NamedTempFile::new().expect("temp file");
        let err = read_secret("github.token", Some(&secret("abc")), Some(f.path()))
            .expect_err("both given");
        assert_eq!(err.key, "github.token");
        assert!(err.reason.contains("COUNCIL_GITHUB__TOKEN"), "{err}");
        assert!(!err.reason.contains("abc"), "{err}");
    }

    #[test]
    fn neither_is_none() {
        assert!(
            read_secret("github.token", None, None)
                .expect("ok")
                .is_none()
        );
    }

    #[test]
    fn unreadable_or_empty_file_is_a_problem_on_the_file_key() {
        let missing = Path::new("/nonexistent/council-sync/token");
        let err = read_secret("github.token", None, Some(missing)).expect_err("missing file");
        assert_eq!(err.key, "github.token_file");
        assert!(
            err.reason.contains("/nonexistent/council-sync/token"),
            "{err}"
        );

        let empty = tempfile::NamedTempFile::new().expect("temp file");
        let err = read_secret("github.token", None, Some(empty.path())).expect_err("empty");
        assert!(err.reason.ends_with("is empty"), "{err}");
    }

    #[test]
    fn blank_inline_secret_is_a_problem() {
        let err =
            read_secret("github.webhook_secret", Some(&secret("  ")), None).expect_err("blank");
        assert_eq!(err.key, "github.webhook_secret");
    }

    #[test]
    fn env_names_follow_the_override_rule() {
        assert_eq!(env_name("jira.auth.token"), "COUNCIL_JIRA__AUTH__TOKEN");
    }
}
