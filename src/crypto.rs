//! The process's TLS: rustls on *ring* (HTTPS to GitHub, Jira and PostgreSQL, verified with
//! the platform's root store), and the one way to build an HTTP client.
//!
//! Why *ring* and not aws-lc-rs: aws-lc's C build was among the costliest third-party units
//! of the first `cargo build --release` (README "First build"), and *ring* is what rustls,
//! sqlx and octocrab can all use. (The GitHub App's JWT is jsonwebtoken's RustCrypto backend,
//! chosen by octocrab's `jwt-rust-crypto` feature.) reqwest is built with `rustls-no-provider`, so a client built before
//! [`install`] panics ("No rustls crypto provider is configured"): build clients with
//! [`http_client`] / [`http_client_builder`] (clippy's `disallowed-methods` refuses
//! `reqwest::Client::new` and `reqwest::Client::builder`, see clippy.toml).

use std::sync::Once;

/// Installs *ring* as the process's rustls provider (once; later calls do nothing).
/// Idempotent and cheap: call it before anything builds a TLS client.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err means a provider was installed first (by an embedding program), which is just
        // as good: keep it.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A `reqwest::ClientBuilder` with the crypto providers installed ([`install`]): the only
/// way this crate and its tests start building an HTTP client.
#[allow(clippy::disallowed_methods)] // the one place allowed to call it
pub fn http_client_builder() -> reqwest::ClientBuilder {
    install();
    reqwest::Client::builder()
}

/// A default `reqwest::Client` (what `reqwest::Client::new()` gives) with the crypto
/// providers installed.
///
/// Panics, like `reqwest::Client::new`, only if the TLS backend cannot start (the system's
/// root store could not be read at all); use [`http_client_builder`] to handle that as an
/// error.
#[allow(clippy::disallowed_methods)] // the one place allowed to call it
pub fn http_client() -> reqwest::Client {
    install();
    reqwest::Client::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client builds (the rustls provider is installed) and speaks HTTPS with the
    /// platform's root store: building an `https` request needs no network.
    #[test]
    fn clients_build_with_the_ring_provider() {
        let client = http_client_builder().build().expect("client");
        let req = client.get("https://api.github.com/zen").build();
        assert!(req.is_ok());
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    }

    /// A TLS client config for a real host can be made from the installed provider with the
    /// platform verifier (what reqwest does for `https://`), so the daemon speaks HTTPS.
    #[test]
    fn the_installed_provider_makes_a_tls_1_3_client_config() {
        install();
        let provider = rustls::crypto::CryptoProvider::get_default().expect("installed");
        assert!(
            provider
                .cipher_suites
                .iter()
                .any(|s| s.version() == &rustls::version::TLS13)
        );
        let config = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("protocol versions");
        drop(config);
    }
}
