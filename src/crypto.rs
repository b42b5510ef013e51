//! The process's TLS: rustls on *ring* (HTTPS to GitHub, Jira and PostgreSQL, verified with
//! the platform's root store), and the one way to build an HTTP client.
//!
//! `../shared/DEPENDENCIES.md` (trap 1, "two crypto providers") says to pick aws-lc-rs
//! everywhere; this crate picks *ring* everywhere instead and keeps what the trap is about: one
//! provider, installed before any TLS client is built ([`install`]).
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
    use std::process::{Command, Stdio};
    use tokio::io::{AsyncBufReadExt, BufReader};

    /// A self-signed certificate for `localhost` (P-256) in `dir`: (cert path, key path).
    fn self_signed(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        let ok = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
            .args([
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=DNS:localhost",
                // An end-entity certificate: webpki refuses a CA one as a server's.
                "-addext",
                "basicConstraints=critical,CA:FALSE",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(Stdio::null())
            .status()
            .expect("openssl req")
            .success();
        assert!(ok, "openssl req failed");
        (cert, key)
    }

    /// The client speaks HTTPS on *ring*: a TLS 1.3 handshake with a real TLS server
    /// (`openssl s_server`) trusting its certificate succeeds, and the default client (the
    /// platform's root store) refuses the same self-signed certificate.
    #[tokio::test]
    async fn https_works_on_ring_and_verifies_certificates() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (cert, key) = self_signed(dir.path());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut server = tokio::process::Command::new("openssl")
            .args(["s_server", "-tls1_3", "-www", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("openssl s_server");
        // s_server prints ACCEPT once it listens.
        let mut lines = BufReader::new(server.stdout.take().expect("stdout")).lines();
        while let Some(line) = lines.next_line().await.expect("s_server output") {
            if line.contains("ACCEPT") {
                break;
            }
        }
        let url = format!("https://localhost:{port}/");
        let pem = std::fs::read(&cert).expect("cert");
        let trusting = http_client_builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&pem).expect("pem")])
            .build()
            .expect("client");
        let resp = trusting.get(&url).send().await.expect("HTTPS through ring");
        assert!(resp.status().is_success());
        assert!(resp.text().await.expect("body").contains("TLSv1.3"));

        let refused = http_client().get(&url).send().await;
        assert!(
            refused.is_err(),
            "a self-signed certificate must be refused"
        );
        server.kill().await.expect("kill s_server");
    }

    /// The installed provider is *ring*'s, with TLS 1.3 suites.
    #[test]
    fn the_installed_provider_is_ring_with_tls_1_3() {
        install();
        let provider = rustls::crypto::CryptoProvider::get_default().expect("installed");
        let ring = rustls::crypto::ring::default_provider();
        assert_eq!(provider.cipher_suites.len(), ring.cipher_suites.len());
        assert!(
            provider
                .cipher_suites
                .iter()
                .any(|s| s.version() == &rustls::version::TLS13)
        );
    }
}
