//! HMAC-SHA256 signatures on webhook deliveries.
//!
//! GitHub sends `X-Hub-Signature-256: sha256=<hex>`; Jira Cloud's admin webhooks send the
//! same shape under `X-Hub-Signature`. Both are checked here, so the prefix is a parameter.
//! The comparison is constant-time (`Mac::verify_slice`) so a forger learns nothing from how
//! long a wrong guess takes.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The prefix GitHub (and Jira Cloud) put before the hex digest.
pub const SHA256_PREFIX: &str = "sha256=";

/// Why a delivery's signature was refused. The caller answers 401 for every variant; the
/// variants exist so the log says which way it failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No signature header at all.
    #[error("signature header missing")]
    Missing,
    /// The header is not `<prefix><hex>`.
    #[error("signature header is not `{prefix}<hex>`")]
    Malformed {
        /// The prefix that was expected.
        prefix: &'static str,
    },
    /// Well-formed, but not the HMAC of this body under our secret.
    #[error("signature does not match the body")]
    Mismatch,
}

/// Checks GitHub's `X-Hub-Signature-256` header value against `body` signed with `secret`.
pub fn verify(secret: &[u8], body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
    verify_prefixed(SHA256_PREFIX, secret, body, header)
}

/// Checks a `<prefix><hex HMAC-SHA256>` header value; for senders whose prefix differs.
pub fn verify_prefixed(
    prefix: &'static str,
    secret: &[u8],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let digest = header
        .trim()
        .strip_prefix(prefix)
        .and_then(|hex_digest| hex::decode(hex_digest).ok())
        .ok_or(SignatureError::Malformed { prefix })?;
    mac(secret, body)
        .verify_slice(&digest)
        .map_err(|_| SignatureError::Mismatch)
}

/// The `X-Hub-Signature-256` value for `body`: what the sandbox and tests send.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    sign_prefixed(SHA256_PREFIX, secret, body)
}

/// `<prefix><hex HMAC-SHA256>` of `body`.
pub fn sign_prefixed(prefix: &str, secret: &[u8], body: &[u8]) -> String {
    let digest = mac(secret, body).finalize().into_bytes();
    format!("{prefix}{}", hex::encode(digest))
}

fn mac(secret: &[u8], body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length (long ones are hashed), so this cannot fail; the
    // `Result` is an artefact of the generic `KeyInit` trait.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(body);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_documented_example() {
        // From GitHub's "Validating webhook deliveries" page.
        let sig = sign(b"It's a Secret to Everybody", b"Hello, World!");
        assert_eq!(
            sig,
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
        assert_eq!(
            verify(b"It's a Secret to Everybody", b"Hello, World!", Some(&sig)),
            Ok(())
        );
    }

    #[test]
    fn refuses_missing_malformed_and_wrong() {
        let body = b"{}";
        assert_eq!(verify(b"k", body, None), Err(SignatureError::Missing));
        assert!(matches!(
            verify(b"k", body, Some("sha1=abcd")),
            Err(SignatureError::Malformed { .. })
        ));
        assert!(matches!(
            verify(b"k", body, Some("sha256=not-hex")),
            Err(SignatureError::Malformed { .. })
        ));
        let other = sign(b"other secret", body);
        assert_eq!(
            verify(b"k", body, Some(&other)),
            Err(SignatureError::Mismatch)
        );
        let truncated = &sign(b"k", body)[..21];
        assert_eq!(
            verify(b"k", body, Some(truncated)),
            Err(SignatureError::Mismatch)
        );
        let good = sign(b"k", body);
        assert_eq!(
            verify(b"k", b"{ }", Some(&good)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn other_prefix_round_trips() {
        let sig = sign_prefixed("sha512-ish=", b"k", b"body");
        assert!(sig.starts_with("sha512-ish="));
        assert_eq!(
            verify_prefixed("sha512-ish=", b"k", b"body", Some(&sig)),
            Ok(())
        );
        assert!(verify_prefixed(SHA256_PREFIX, b"k", b"body", Some(&sig)).is_err());
    }
}
