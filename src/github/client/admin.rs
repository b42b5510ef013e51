//! Repository administration for `council-sync setup` and `doctor`: the token's scopes,
//! repository access, labels, file contents (the issue form), repository and organisation
//! webhooks.
//!
//! GitHub sources: "Scopes for OAuth apps" (`X-OAuth-Scopes` on every answer to a classic
//! token; absent for fine-grained and App tokens), "Repository webhooks", "Organization
//! webhooks", "Repository contents" (`PUT` needs the current blob `sha` to update) and
//! "Labels" in the REST docs.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{GithubClient, GithubError, PER_PAGE, decode, repo_path, seg};

/// A repository as the token sees it.
#[derive(Debug, Clone, Deserialize)]
pub struct RepoAccess {
    /// `owner/name` as GitHub spells it.
    pub full_name: String,
    /// The token's rights on it, when GitHub says (it does for authenticated calls).
    pub permissions: Option<RepoPermissions>,
}

/// `permissions` of a repository answer.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct RepoPermissions {
    /// May change settings (webhooks).
    #[serde(default)]
    pub admin: bool,
    /// May write (labels, issues, contents).
    #[serde(default)]
    pub push: bool,
    /// May read.
    #[serde(default)]
    pub pull: bool,
}

/// A file on the default branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoFile {
    /// The decoded content.
    pub content: Vec<u8>,
    /// Blob sha, needed to update the file.
    pub sha: String,
}

/// A repository webhook as GitHub shows it (the secret itself is never shown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoHook {
    /// Hook id.
    pub id: u64,
    /// Delivery URL (`config.url`).
    pub url: String,
    /// `json` or `form` (`config.content_type`; GitHub's default is `form`).
    pub content_type: String,
    /// Whether a secret is set (`config.secret` shows `********`).
    pub secret_set: bool,
    /// Subscribed events (`*` means all).
    pub events: Vec<String>,
    /// Whether deliveries are sent.
    pub active: bool,
}

#[derive(Deserialize)]
struct RawHook {
    id: u64,
    #[serde(default)]
    active: bool,
    #[serde(default)]
    events: Vec<String>,
    #[serde(default)]
    config: RawHookConfig,
}

#[derive(Deserialize, Default)]
struct RawHookConfig {
    url: Option<String>,
    content_type: Option<String>,
    secret: Option<String>,
}

impl From<RawHook> for RepoHook {
    fn from(h: RawHook) -> Self {
        Self {
            id: h.id,
            url: h.config.url.unwrap_or_default(),
            content_type: h.config.content_type.unwrap_or_else(|| "form".into()),
            secret_set: h.config.secret.is_some_and(|s| !s.is_empty()),
            events: h.events,
            active: h.active,
        }
    }
}

#[derive(Deserialize)]
struct RawContent {
    content: Option<String>,
    encoding: Option<String>,
    sha: String,
}

#[derive(Deserialize)]
struct RawLabelName {
    name: String,
}

/// What a webhook should be: where, signed with what, for which events.
#[derive(Debug, Clone, Copy)]
pub struct HookSpec<'a> {
    /// Delivery URL.
    pub url: &'a str,
    /// Secret GitHub signs with (`X-Hub-Signature-256`).
    pub secret: &'a str,
    /// Events to subscribe.
    pub events: &'a [&'a str],
}

impl HookSpec<'_> {
    fn body(&self) -> Value {
        json!({
            "name": "web",
            "active": true,
            "events": self.events,
            "config": {
                "url": self.url,
                "content_type": "json",
                "secret": self.secret,
                "insecure_ssl": "0",
            },
        })
    }
}

impl GithubClient {
    /// The token's OAuth scopes from `X-OAuth-Scopes` on `GET /user`; `None` when GitHub
    /// sends no such header (fine-grained personal tokens and GitHub App tokens, whose
    /// rights show only as 403s).
    pub async fn token_scopes(&self) -> Result<Option<Vec<String>>, GithubError> {
        let a = self.call(Method::GET, "/user", None).await?;
        Ok(a.headers
            .get("x-oauth-scopes")
            .and_then(|v| v.to_str().ok())
            .map(|s| {
                s.split(',')
                    .map(|x| x.trim().to_owned())
                    .filter(|x| !x.is_empty())
                    .collect()
            }))
    }

    /// The repository as the token sees it (404 when it does not exist or is hidden).
    pub async fn repo_access(&self, repo: &str) -> Result<RepoAccess, GithubError> {
        let path = repo_path(repo)?;
        let a = self.call(Method::GET, &path, None).await?;
        decode(&path, &a.body)
    }

    /// The names of every label of the repository.
    pub async fn label_names(&self, repo: &str) -> Result<Vec<String>, GithubError> {
        let path = format!("{}/labels?per_page={PER_PAGE}", repo_path(repo)?);
        let raw: Vec<RawLabelName> = self.all_pages(path).await?;
        Ok(raw.into_iter().map(|l| l.name).collect())
    }

    /// Creates a label (`color`: six hex digits without `#`). Sent once: an existing label
    /// is GitHub's 422 `already_exists`, which the caller treats as done.
    pub async fn create_label(
        &self,
        repo: &str,
        name: &str,
        color: &str,
        description: &str,
    ) -> Result<(), GithubError> {
        let path = format!("{}/labels", repo_path(repo)?);
        let body = json!({ "name": name, "color": color, "description": description });
        self.attempt(&Method::POST, &path, Some(&body)).await?;
        Ok(())
    }

    /// A file on the default branch; `None` when there is none (404).
    pub async fn get_file(&self, repo: &str, file: &str) -> Result<Option<RepoFile>, GithubError> {
        let path = format!("{}/contents/{}", repo_path(repo)?, file_path(file));
        let a = match self.call(Method::GET, &path, None).await {
            Ok(a) => a,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let raw: RawContent = decode(&path, &a.body)?;
        let content = match (raw.encoding.as_deref(), raw.content) {
            (Some("base64"), Some(text)) => STANDARD
                .decode(text.replace(['\n', '\r'], ""))
                .map_err(|e| GithubError::Invalid(format!("{path}: content is not Base64: {e}")))?,
            (_, Some(text)) => text.into_bytes(),
            (_, None) => Vec::new(),
        };
        Ok(Some(RepoFile {
            content,
            sha: raw.sha,
        }))
    }

    /// Commits `content` to `file` on the default branch: creates it, or replaces the
    /// version whose blob sha is `replaces`. Sent once (a commit is not idempotent; the
    /// caller reads the file again before retrying).
    pub async fn put_file(
        &self,
        repo: &str,
        file: &str,
        content: &[u8],
        message: &str,
        replaces: Option<&str>,
    ) -> Result<(), GithubError> {
        let path = format!("{}/contents/{}", repo_path(repo)?, file_path(file));
        let mut body = json!({ "message": message, "content": STANDARD.encode(content) });
        if let Some(sha) = replaces {
            body["sha"] = json!(sha);
        }
        self.attempt(&Method::PUT, &path, Some(&body)).await?;
        Ok(())
    }

    /// The repository's webhooks (needs admin rights on it: 404 otherwise).
    pub async fn list_hooks(&self, repo: &str) -> Result<Vec<RepoHook>, GithubError> {
        self.hooks_at(&repo_path(repo)?).await
    }

    /// Registers a webhook with JSON content. Sent once: a second hook on the same URL is
    /// GitHub's 422; the caller lists hooks first.
    pub async fn create_hook(&self, repo: &str, spec: HookSpec<'_>) -> Result<u64, GithubError> {
        self.create_hook_at(&repo_path(repo)?, spec).await
    }

    /// Rewrites hook `id` to `spec` (events, JSON content type, secret, active).
    pub async fn update_hook(
        &self,
        repo: &str,
        id: u64,
        spec: HookSpec<'_>,
    ) -> Result<(), GithubError> {
        self.update_hook_at(&repo_path(repo)?, id, spec).await
    }

    /// Deletes hook `id` of `repo` (`DELETE /repos/{o}/{r}/hooks/{id}`, GitHub's 204; 404
    /// when it is already gone). Sent once: `setup` lists the hooks again on its next run.
    pub async fn delete_hook(&self, repo: &str, id: u64) -> Result<(), GithubError> {
        let path = format!("{}/hooks/{id}", repo_path(repo)?);
        self.attempt(&Method::DELETE, &path, None).await?;
        Ok(())
    }

    /// The organisation's webhooks (`GET /orgs/{org}/hooks`: an organisation owner's token
    /// with `admin:org_hook`, or an App with "Webhooks" organisation permission; 404
    /// otherwise). GitHub sends `projects_v2_item` only to organisation hooks and Apps.
    pub async fn list_org_hooks(&self, org: &str) -> Result<Vec<RepoHook>, GithubError> {
        self.hooks_at(&format!("/orgs/{}", seg(org))).await
    }

    /// Registers an organisation webhook (`POST /orgs/{org}/hooks`), sent once like
    /// [`Self::create_hook`].
    pub async fn create_org_hook(&self, org: &str, spec: HookSpec<'_>) -> Result<u64, GithubError> {
        self.create_hook_at(&format!("/orgs/{}", seg(org)), spec)
            .await
    }

    /// Rewrites organisation hook `id` (`PATCH /orgs/{org}/hooks/{id}`).
    pub async fn update_org_hook(
        &self,
        org: &str,
        id: u64,
        spec: HookSpec<'_>,
    ) -> Result<(), GithubError> {
        self.update_hook_at(&format!("/orgs/{}", seg(org)), id, spec)
            .await
    }

    /// The hooks under `owner` (`/repos/{o}/{r}` or `/orgs/{org}`).
    async fn hooks_at(&self, owner: &str) -> Result<Vec<RepoHook>, GithubError> {
        let raw: Vec<RawHook> = self
            .all_pages(format!("{owner}/hooks?per_page={PER_PAGE}"))
            .await?;
        Ok(raw.into_iter().map(RepoHook::from).collect())
    }

    async fn create_hook_at(&self, owner: &str, spec: HookSpec<'_>) -> Result<u64, GithubError> {
        let path = format!("{owner}/hooks");
        let a = self
            .attempt(&Method::POST, &path, Some(&spec.body()))
            .await?;
        Ok(decode::<RawHook>(&path, &a.body)?.id)
    }

    async fn update_hook_at(
        &self,
        owner: &str,
        id: u64,
        spec: HookSpec<'_>,
    ) -> Result<(), GithubError> {
        let path = format!("{owner}/hooks/{id}");
        let mut body = spec.body();
        if let Some(o) = body.as_object_mut() {
            o.remove("name");
        }
        self.call(Method::PATCH, &path, Some(body)).await?;
        Ok(())
    }

    /// Whether the token can read the members of `org/slug` (`GET …/members`): 404 when
    /// the team is missing or hidden from it, 403 without `read:org` / Members permission.
    pub async fn team_members_readable(&self, org: &str, slug: &str) -> Result<(), GithubError> {
        let path = format!("/orgs/{}/teams/{}/members?per_page=1", seg(org), seg(slug));
        self.call(Method::GET, &path, None).await?;
        Ok(())
    }
}

/// A repository file path as one percent-encoded segment (`/` as `%2F`), the way Octokit
/// expands `{path}` in `/repos/{owner}/{repo}/contents/{path}`: GitHub accepts it, and it
/// matches the one path parameter GitHub's description declares.
fn file_path(file: &str) -> String {
    seg(file.trim_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hooks_read_their_config() {
        let raw: RawHook = serde_json::from_value(json!({
            "id": 7, "active": true, "events": ["issues"],
            "config": {"url": "https://x/webhooks/github", "content_type": "json", "secret": "********"}
        }))
        .expect("hook");
        let h = RepoHook::from(raw);
        assert!(h.secret_set && h.active);
        assert_eq!(h.content_type, "json");
        let raw: RawHook =
            serde_json::from_value(json!({"id": 8, "config": {}})).expect("bare hook");
        let h = RepoHook::from(raw);
        assert_eq!(h.content_type, "form", "GitHub's default");
        assert!(!h.secret_set);
    }

    #[test]
    fn file_paths_are_one_segment() {
        assert_eq!(
            file_path("/.github/ISSUE_TEMPLATE/sre concern.yml"),
            ".github%2FISSUE_TEMPLATE%2Fsre%20concern.yml"
        );
    }
}
