//! Who is calling and through which API version: an extractor every REST handler takes.
//!
//! Jira answers 401 with its error body to a request without credentials. The sandbox
//! accepts any well-formed basic (email + token) or bearer credentials: the email's local
//! part (or `council-sync` for a bearer token) is the acting user.

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::header::{AUTHORIZATION, HOST, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::render;
use crate::config::JiraApiVersion;
use crate::tracker::jira::auth::base64_decode;

/// The acting user behind a bearer token (Data Center PATs belong to one user).
pub const BEARER_USER: &str = "council-sync";

/// An authenticated REST call.
#[derive(Debug, Clone)]
pub struct Caller {
    /// `/rest/api/2` or `/rest/api/3`.
    pub version: JiraApiVersion,
    /// Acting user's name.
    pub user: String,
    /// `http://host:port` as the client addressed us, for `self` links.
    pub base: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let path = parts
            .extensions
            .get::<OriginalUri>()
            .map_or_else(|| parts.uri.path().to_owned(), |u| u.0.path().to_owned());
        let version = if path.starts_with("/rest/api/2/") {
            JiraApiVersion::V2
        } else {
            JiraApiVersion::V3
        };
        let user = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(user_of)
            .ok_or_else(unauthorized)?;
        let host = parts
            .headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        Ok(Caller {
            version,
            user,
            base: format!("http://{host}"),
        })
    }
}

/// The user a credentials header names, if it is well-formed.
pub(super) fn user_of(header: &str) -> Option<String> {
    let (scheme, value) = header.trim().split_once(' ')?;
    let value = value.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return (!value.is_empty()).then(|| BEARER_USER.to_owned());
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(base64_decode(value)?).ok()?;
    let (login, secret) = decoded.split_once(':')?;
    if login.is_empty() || secret.is_empty() {
        return None;
    }
    Some(login.split('@').next().unwrap_or(login).to_owned())
}

fn unauthorized() -> Response {
    let body = render::errors(&[
        "You are not authenticated. Authentication required to perform this operation.",
    ]);
    let mut resp = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    resp.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"protected-area\""),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_users_from_credentials() {
        // "alice@example.com:tok"
        assert_eq!(
            user_of("Basic YWxpY2VAZXhhbXBsZS5jb206dG9r").as_deref(),
            Some("alice")
        );
        assert_eq!(user_of("Bearer abc").as_deref(), Some(BEARER_USER));
        assert_eq!(user_of("Bearer "), None);
        // "alice:" (no token)
        assert_eq!(user_of("Basic YWxpY2U6"), None);
        assert_eq!(user_of("Basic !!!"), None);
        assert_eq!(user_of("Digest x"), None);
    }
}
