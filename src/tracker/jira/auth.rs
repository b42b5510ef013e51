//! Credentials for Jira, with the secret already resolved from env or file.

use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

use crate::config::JiraAuth;

/// How requests authenticate; the config's [`JiraAuth`] with its secret read.
///
/// Kept apart from the config type so the client never touches files or env, and so the
/// token stays a [`SecretString`] (redacted in `Debug`) until it goes into a header.
#[derive(Debug, Clone)]
pub enum JiraCredentials {
    /// Jira Cloud: account email plus API token, sent as HTTP basic.
    Basic {
        /// Account email.
        email: String,
        /// API token.
        token: SecretString,
    },
    /// Jira Data Center: personal access token, sent as a bearer token.
    Bearer {
        /// Personal access token.
        token: SecretString,
    },
}

impl JiraCredentials {
    /// Pairs the configured auth kind with the secret the caller resolved.
    pub fn from_config(auth: &JiraAuth, secret: SecretString) -> Self {
        match auth {
            JiraAuth::Basic { email, .. } => Self::Basic {
                email: email.clone(),
                token: secret,
            },
            JiraAuth::Bearer { .. } => Self::Bearer { token: secret },
        }
    }

    /// The `Authorization` header value, marked sensitive so it never shows in logs.
    pub(crate) fn header_value(&self) -> Option<HeaderValue> {
        let raw = match self {
            Self::Basic { email, token } => {
                let pair = format!("{email}:{}", token.expose_secret());
                format!("Basic {}", base64_encode(pair.as_bytes()))
            }
            Self::Bearer { token } => format!("Bearer {}", token.expose_secret()),
        };
        let mut value = HeaderValue::from_str(&raw).ok()?;
        value.set_sensitive(true);
        Some(value)
    }
}

/// Standard base64 with padding (RFC 4648); small enough not to warrant a dependency.
pub(crate) fn base64_encode(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard base64 (padding optional); `None` on any invalid character. Only the
/// sandbox (reading Basic credentials) and the tests decode.
#[cfg(any(test, feature = "sandbox"))]
pub(crate) fn base64_decode(input: &str) -> Option<Vec<u8>> {
    let mut bits: u32 = 0;
    let mut nbits = 0;
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    for c in input.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(v);
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
            bits &= (1 << nbits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64_encode(plain.as_bytes()), encoded);
            assert_eq!(base64_decode(encoded).as_deref(), Some(plain.as_bytes()));
        }
        assert_eq!(base64_decode("a*b"), None);
    }

    #[test]
    fn header_values_are_sensitive() {
        let basic = JiraCredentials::Basic {
            email: "bot@example.com".into(),
            token: SecretString::from("t0k"),
        };
        let h = basic.header_value().expect("header");
        assert!(h.is_sensitive());
        assert_eq!(h.to_str().ok(), Some("Basic Ym90QGV4YW1wbGUuY29tOnQwaw=="));
        let bearer = JiraCredentials::Bearer {
            token: SecretString::from("pat"),
        };
        assert_eq!(
            bearer
                .header_value()
                .and_then(|h| h.to_str().ok().map(String::from)),
            Some("Bearer pat".into())
        );
        assert!(!format!("{basic:?}").contains("t0k"));
    }
}
