//! The one error type of the HTTP handlers and how each case is answered.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::github::webhook::SignatureError;
use crate::store::StoreError;

/// Why a webhook was not accepted. Each variant maps to the status the sender acts on:
/// 401, 404 and 400 are not retried by GitHub or Jira, 503 is (the delivery was not
/// stored).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Missing or wrong signature: not from the sender we share the secret with.
    #[error("invalid signature: {0}")]
    Unauthorized(#[from] SignatureError),
    /// The token in a Data Center webhook URL is not ours.
    #[error("invalid webhook token")]
    BadToken,
    /// A receiver that is off because its secret or token is not configured: answered as if
    /// the route did not exist, so a scan learns nothing.
    #[error("not found")]
    NotConfigured,
    /// The request itself is wrong (a header missing, a body that does not decode).
    #[error("{0}")]
    BadRequest(String),
    /// The delivery could not be stored; the sender should redeliver.
    #[error("delivery not stored, retry later")]
    Unavailable(#[source] StoreError),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized(_) | Self::BadToken => StatusCode::UNAUTHORIZED,
            Self::NotConfigured => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl ApiError {
    /// The `reason` label of `council_sync_webhook_rejected_total`.
    fn reason(&self) -> &'static str {
        match self {
            Self::Unauthorized(_) => "bad_signature",
            Self::BadToken => "bad_token",
            Self::NotConfigured => "not_configured",
            Self::BadRequest(_) => "bad_request",
            Self::Unavailable(_) => "not_stored",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        crate::metrics::count_rejected(self.reason());
        match &self {
            Self::Unavailable(e) => tracing::error!(error = %e, "webhook not stored"),
            other => tracing::warn!(status = status.as_u16(), reason = %other, "webhook refused"),
        }
        // One line of plain text: the reason, never the secret or the store's internals.
        let text = self.to_string().replace(['\r', '\n'], " ");
        (status, text).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_one_line_bodies() {
        let cases = [
            (
                ApiError::Unauthorized(SignatureError::Missing),
                StatusCode::UNAUTHORIZED,
            ),
            (ApiError::BadToken, StatusCode::UNAUTHORIZED),
            (ApiError::NotConfigured, StatusCode::NOT_FOUND),
            (
                ApiError::BadRequest("bad\nthing".into()),
                StatusCode::BAD_REQUEST,
            ),
            (
                ApiError::Unavailable(StoreError::WriterClosed),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
        ];
        for (err, status) in cases {
            let text = err.to_string();
            let response = err.into_response();
            assert_eq!(response.status(), status, "{text}");
        }
        assert_eq!(
            ApiError::Unavailable(StoreError::WriterClosed).to_string(),
            "delivery not stored, retry later"
        );
    }
}
