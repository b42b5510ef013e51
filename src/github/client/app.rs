//! Logging in as a GitHub App installation, through octocrab's App support: octocrab signs
//! a JWT with the App's key (RS256, 9 minutes) for App calls, exchanges it for an
//! installation token (`POST /app/installations/{id}/access_tokens`), caches that token and
//! mints a new one when less than 30 seconds of its life remain (or after a 401), so a
//! token that GitHub expires after an hour never reaches GitHub stale. GitHub docs:
//! "Authenticating as a GitHub App installation".

use std::collections::BTreeMap;

use octocrab::Octocrab;
use octocrab::models::{AppId, InstallationId};
use reqwest::Method;
use secrecy::SecretString;
use serde::Deserialize;

use super::{
    CONNECT_TIMEOUT, GithubClient, GithubError, Pacer, PacingLimits, READ_TIMEOUT, decode,
    install_crypto_provider, repo_path,
};
use crate::config::{GithubAppConfig, GithubConfig};
use crate::retry::RetryPolicy;

#[derive(Deserialize)]
struct RawApp {
    slug: String,
}

#[derive(Deserialize)]
struct RawInstallation {
    id: u64,
    #[serde(default)]
    permissions: BTreeMap<String, String>,
}

impl GithubClient {
    /// The client the config asks for: a GitHub App installation when `[github.app]` is
    /// set, else the token (`Err` when neither is configured).
    pub async fn from_config(
        cfg: &GithubConfig,
        token: Option<&SecretString>,
        policy: RetryPolicy,
    ) -> Result<Self, GithubError> {
        match (&cfg.app, token) {
            (Some(app), _) => Self::for_app(&cfg.api_url, app, cfg.repos.first(), policy).await,
            (None, Some(t)) => Self::new(&cfg.api_url, t, policy),
            (None, None) => Err(GithubError::Setup(
                "github.token: no GitHub token (set COUNCIL_GITHUB__TOKEN or github.token_file) and no [github.app]".into(),
            )),
        }
    }

    /// A client acting as the App's installation `app.installation_id`, or the one that
    /// holds `first_repo` when no id is configured.
    pub async fn for_app(
        api_url: &str,
        app: &GithubAppConfig,
        first_repo: Option<&String>,
        policy: RetryPolicy,
    ) -> Result<Self, GithubError> {
        install_crypto_provider();
        let pem = std::fs::read(&app.private_key_file).map_err(|e| {
            GithubError::Setup(format!(
                "github.app.private_key_file {}: {e}",
                app.private_key_file.display()
            ))
        })?;
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(&pem).map_err(|e| {
            GithubError::Setup(format!(
                "github.app.private_key_file {}: not an RSA private key in PEM: {e}",
                app.private_key_file.display()
            ))
        })?;
        let as_app_on = |base: &str| {
            Octocrab::builder()
                .add_retry_config(octocrab::service::middleware::retry::RetryConfig::None)
                .set_connect_timeout(Some(CONNECT_TIMEOUT))
                .set_read_timeout(Some(READ_TIMEOUT))
                .base_uri(base.trim_end_matches('/'))
                .map_err(|e| GithubError::Setup(format!("api_url {api_url:?}: {e}")))?
                .app(AppId(app.app_id), key.clone())
                .build()
                .map_err(|e| GithubError::Setup(e.to_string()))
        };
        let app_octo = as_app_on(api_url)?;
        let host: std::sync::Arc<str> = crate::metrics::api::host_of(api_url).into();
        let as_app = Self {
            octo: app_octo.clone(),
            policy: policy.clone(),
            etags: Default::default(),
            app: None,
            host: host.clone(),
            pacer: Pacer::new(PacingLimits::default()),
            graphql: None,
        };
        let installation = match (app.installation_id, first_repo) {
            (Some(id), _) => id,
            (None, Some(repo)) => {
                let path = format!("{}/installation", repo_path(repo)?);
                let a = as_app.call(Method::GET, &path, None).await?;
                decode::<RawInstallation>(&path, &a.body)?.id
            }
            (None, None) => {
                return Err(GithubError::Setup(
                    "github.app.installation_id is not set and github.repos is empty".into(),
                ));
            }
        };
        let octo = app_octo
            .installation(InstallationId(installation))
            .map_err(|e| GithubError::Setup(e.to_string()))?;
        // GitHub Enterprise Server: the installation on GraphQL's own base (`graphql_base`).
        let graphql = match super::graphql_base(api_url) {
            Some(base) => Some(
                as_app_on(&base)?
                    .installation(InstallationId(installation))
                    .map_err(|e| GithubError::Setup(e.to_string()))?,
            ),
            None => None,
        };
        Ok(Self {
            octo,
            policy,
            etags: Default::default(),
            app: Some((app_octo, installation)),
            host,
            pacer: Pacer::new(PacingLimits::default()),
            graphql,
        })
    }

    /// Whether this client acts as a GitHub App installation.
    pub fn is_app(&self) -> bool {
        self.app.is_some()
    }

    /// The client that calls as the App itself (JWT), for `/app` routes.
    fn as_app(&self) -> Option<(Self, u64)> {
        self.app.as_ref().map(|(octo, id)| {
            (
                Self {
                    octo: octo.clone(),
                    policy: self.policy.clone(),
                    etags: Default::default(),
                    app: None,
                    host: self.host.clone(),
                    pacer: self.pacer.clone(),
                    graphql: None,
                },
                *id,
            )
        })
    }

    /// The App's bot login, `{slug}[bot]` (`GET /app`); `None` for a token client.
    pub(super) async fn app_login(&self) -> Option<Result<String, GithubError>> {
        let (app, _) = self.as_app()?;
        Some(
            app.call(Method::GET, "/app", None)
                .await
                .and_then(|a| decode::<RawApp>("/app", &a.body))
                .map(|r| format!("{}[bot]", r.slug)),
        )
    }

    /// The installation's granted permissions (`issues` → `write`, …); `None` for a token
    /// client.
    pub async fn installation_permissions(
        &self,
    ) -> Option<Result<BTreeMap<String, String>, GithubError>> {
        let (app, id) = self.as_app()?;
        let path = format!("/app/installations/{id}");
        Some(
            app.call(Method::GET, &path, None)
                .await
                .and_then(|a| decode::<RawInstallation>(&path, &a.body))
                .map(|i| i.permissions),
        )
    }
}
