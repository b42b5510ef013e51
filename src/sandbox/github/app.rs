//! A GitHub App in the sandbox: the app authenticates with an RS256 JWT signed by its
//! private key (verified here with the public key a test registers), exchanges it for
//! installation tokens (`POST /app/installations/{id}/access_tokens`) that expire after a
//! configurable lifetime, and an expired or unknown installation token gets GitHub's 401
//! `Bad credentials`, so a test proves the client's refresh in seconds instead of an hour.
//! Also `GET /app` (the bot login is `{slug}[bot]`), `GET /app/installations/{id}` (the
//! granted permissions) and `GET /repos/{o}/{r}/installation` (discovery per repository).
//! Installation tokens get 403 on `GET /user`, as on GitHub ("Resource not accessible by
//! integration"). GitHub docs: "Authenticating as a GitHub App installation".

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Value, json};

use super::GithubHub;
use super::http::{ApiError, number, parse_body};

type Hub = State<Arc<GithubHub>>;
type ApiResult = Result<Response, ApiError>;

/// Prefix of installation tokens, as GitHub's (`ghs_`).
pub const INSTALLATION_TOKEN_PREFIX: &str = "ghs_";

/// The registered App, if any, and the installation tokens it was given.
#[derive(Debug, Default)]
pub struct AppState {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    app: Option<RegisteredApp>,
    tokens: BTreeMap<String, DateTime<Utc>>,
    issued: u64,
    refused: u64,
}

#[derive(Debug, Clone)]
struct RegisteredApp {
    id: u64,
    slug: String,
    installation_id: u64,
    public_key_pem: String,
    lifetime: Duration,
    permissions: Value,
}

/// What the auth layer should do with a bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenCheck {
    /// Not an installation token: the usual rules apply.
    NotInstallation,
    /// A live installation token.
    Live,
    /// Expired or never issued: 401.
    Refused,
}

impl AppState {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Classifies a bearer token for the auth layer (counting refusals): a token this App
    /// issued is live until it expires; another `ghs_` token is refused once an App exists.
    pub fn check(&self, token: &str) -> TokenCheck {
        if !token.starts_with(INSTALLATION_TOKEN_PREFIX) {
            return TokenCheck::NotInstallation;
        }
        let mut st = self.lock();
        match st.tokens.get(token) {
            Some(exp) if *exp > Utc::now() => TokenCheck::Live,
            // Without an App, a `ghs_` token is just the sandbox's bot token.
            None if st.app.is_none() => TokenCheck::NotInstallation,
            _ => {
                st.refused += 1;
                TokenCheck::Refused
            }
        }
    }

    /// (installation tokens issued, requests refused for an expired or unknown one).
    pub fn counts(&self) -> (u64, u64) {
        let st = self.lock();
        (st.issued, st.refused)
    }

    /// Verifies the App's JWT (`Authorization: Bearer`): RS256 with the registered public
    /// key, `iss` the App id, not expired.
    fn verify_jwt(&self, headers: &HeaderMap) -> Result<RegisteredApp, ApiError> {
        let app = self
            .lock()
            .app
            .clone()
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "Bad credentials"))?;
        let jwt = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "A JSON web token could not be decoded",
                )
            })?;
        let key = DecodingKey::from_rsa_pem(app.public_key_pem.as_bytes()).map_err(|_| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "sandbox: bad public key")
        })?;
        let mut v = Validation::new(Algorithm::RS256);
        // `iss` is checked below: jsonwebtoken reads only string issuers, and octocrab (like
        // GitHub's own examples) sends the App id as a number.
        v.set_required_spec_claims(&["exp"]);
        #[derive(Deserialize)]
        struct Claims {
            iss: Value,
        }
        let claims = jsonwebtoken::decode::<Claims>(jwt, &key, &v).map_err(|e| {
            tracing::debug!(error = %e, "sandbox: App JWT refused");
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "A JSON web token could not be decoded",
            )
        })?;
        let iss = match &claims.claims.iss {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.clone(),
            _ => String::new(),
        };
        if iss != app.id.to_string() {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "'Issuer' claim ('iss') must be an Integer",
            ));
        }
        Ok(app)
    }
}

/// REST routes (inside the auth layer, which lets JWTs through as opaque bearer tokens).
pub fn router(hub: Arc<GithubHub>) -> Router {
    Router::new()
        .route("/app", get(get_app))
        .route("/app/installations/{id}", get(get_installation))
        .route("/app/installations/{id}/access_tokens", post(create_token))
        .route("/repos/{owner}/{repo}/installation", get(repo_installation))
        .with_state(hub)
}

/// Control routes: `POST /_sandbox/github/app` registers the App; `GET` reports counts.
pub fn control_router(hub: Arc<GithubHub>) -> Router {
    Router::new()
        .route("/_sandbox/github/app", post(register_app).get(app_counts))
        .with_state(hub)
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn installation_json(base: &str, app: &RegisteredApp) -> Value {
    let now = time(Utc::now());
    json!({
        "id": app.installation_id,
        "app_id": app.id,
        "app_slug": app.slug,
        "target_id": 1,
        "target_type": "Organization",
        "single_file_name": null,
        "repository_selection": "all",
        "access_tokens_url": format!("{base}/app/installations/{}/access_tokens", app.installation_id),
        "html_url": format!("{base}/organizations/acme/settings/installations/{}", app.installation_id),
        "repositories_url": format!("{base}/installation/repositories"),
        "events": ["issues", "issue_comment"],
        "account": null,
        "permissions": app.permissions,
        "created_at": now,
        "updated_at": now,
        "suspended_by": null,
        "suspended_at": null,
    })
}

async fn get_app(State(hub): Hub, headers: HeaderMap) -> ApiResult {
    let app = hub.app.verify_jwt(&headers)?;
    let base = hub.base_url();
    let now = time(Utc::now());
    Ok(axum::Json(json!({
        "id": app.id,
        "slug": app.slug,
        "node_id": format!("A_{}", app.id),
        "owner": null,
        "name": app.slug,
        "description": "council-sync",
        "external_url": base,
        "html_url": format!("{base}/apps/{}", app.slug),
        "created_at": now,
        "updated_at": now,
        "permissions": app.permissions,
        "events": ["issues", "issue_comment"],
    }))
    .into_response())
}

async fn get_installation(
    State(hub): Hub,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    let app = hub.app.verify_jwt(&headers)?;
    if number(&id)? != app.installation_id {
        return Err(ApiError::not_found());
    }
    Ok(axum::Json(installation_json(&hub.base_url(), &app)).into_response())
}

async fn repo_installation(
    State(hub): Hub,
    headers: HeaderMap,
    Path((o, r)): Path<(String, String)>,
) -> ApiResult {
    let app = hub.app.verify_jwt(&headers)?;
    hub.read(|w| w.repo(&o, &r).map(|_| ()))
        .ok_or_else(ApiError::not_found)?;
    Ok(axum::Json(installation_json(&hub.base_url(), &app)).into_response())
}

async fn create_token(State(hub): Hub, headers: HeaderMap, Path(id): Path<String>) -> ApiResult {
    let app = hub.app.verify_jwt(&headers)?;
    if number(&id)? != app.installation_id {
        return Err(ApiError::not_found());
    }
    let token = format!(
        "{INSTALLATION_TOKEN_PREFIX}{}",
        uuid::Uuid::new_v4().simple()
    );
    let expires = Utc::now() + app.lifetime;
    {
        let mut st = hub.app.lock();
        st.tokens.insert(token.clone(), expires);
        st.issued += 1;
    }
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({
            "token": token,
            "expires_at": time(expires),
            "permissions": app.permissions,
            "repository_selection": "all",
        })),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewApp {
    app_id: u64,
    #[serde(default = "default_slug")]
    slug: String,
    installation_id: u64,
    public_key_pem: String,
    /// Seconds an installation token lives (GitHub: 3600).
    #[serde(default = "default_lifetime")]
    token_lifetime_secs: i64,
    permissions: Option<Value>,
}

fn default_slug() -> String {
    "council-sync".into()
}

fn default_lifetime() -> i64 {
    3600
}

async fn register_app(State(hub): Hub, body: Bytes) -> ApiResult {
    let b: NewApp = parse_body(&body)?;
    if DecodingKey::from_rsa_pem(b.public_key_pem.as_bytes()).is_err() {
        return Err(ApiError::validation("App", "public_key_pem", "invalid"));
    }
    let permissions = b.permissions.unwrap_or_else(|| {
        json!({"issues": "write", "contents": "write", "metadata": "read",
               "members": "read", "repository_hooks": "write"})
    });
    // GitHub shows what an installation writes as the App's bot, `{slug}[bot]`: from now on
    // the sandbox's writes (and their webhooks' `sender`) carry that login.
    let login = format!("{}[bot]", b.slug);
    hub.write(|tx| {
        tx.world.account(&login, "Bot");
        tx.world.bot_login = login.clone();
        Ok(())
    })?;
    hub.app.lock().app = Some(RegisteredApp {
        id: b.app_id,
        slug: b.slug,
        installation_id: b.installation_id,
        public_key_pem: b.public_key_pem,
        lifetime: Duration::seconds(b.token_lifetime_secs),
        permissions,
    });
    Ok((StatusCode::CREATED, axum::Json(json!({"app_id": b.app_id}))).into_response())
}

async fn app_counts(State(hub): Hub) -> ApiResult {
    let (issued, refused) = hub.app.counts();
    Ok(axum::Json(json!({"tokens_issued": issued, "refused": refused})).into_response())
}
