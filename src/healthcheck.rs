//! `council-sync healthcheck`: one plain HTTP/1.1 GET over a TCP socket, for container
//! HEALTHCHECKs (slim images have no curl). The binary's own module, not the library's: it
//! probes the daemon from outside, like an orchestrator would.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The most of the answer read: the status line is all that counts.
const MAX_HEAD: usize = 1024;

/// Why a probe failed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The URL is not `http://HOST[:PORT]/PATH`.
    #[error("bad URL: {0}")]
    Url(&'static str),
    /// No connection, or it broke before a status line.
    #[error("{0}")]
    Io(#[source] std::io::Error),
    /// An answer that is not `HTTP/1.x 200`: its status line.
    #[error("answered {0:?}")]
    Status(String),
}

/// GETs `url` (plain HTTP) and succeeds when the status is 200.
pub async fn probe(url: &url::Url) -> Result<(), ProbeError> {
    if url.scheme() != "http" {
        return Err(ProbeError::Url(
            "only http:// (the daemon's own port, no TLS)",
        ));
    }
    let host = url.host_str().ok_or(ProbeError::Url("no host"))?;
    let port = url.port_or_known_default().unwrap_or(80);
    let mut stream = TcpStream::connect((host, port))
        .await
        .map_err(ProbeError::Io)?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\nUser-Agent: council-sync-healthcheck\r\n\r\n",
        &url[url::Position::BeforePath..url::Position::AfterQuery]
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(ProbeError::Io)?;
    let mut head = Vec::with_capacity(MAX_HEAD);
    let mut buf = [0u8; 256];
    while !head.contains(&b'\n') && head.len() < MAX_HEAD {
        let n = stream.read(&mut buf).await.map_err(ProbeError::Io)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    let line = text.lines().next().unwrap_or_default().trim();
    if status_is_ok(line) {
        Ok(())
    } else {
        Err(ProbeError::Status(line.to_owned()))
    }
}

/// Whether an HTTP/1.x status line says 200.
fn status_is_ok(line: &str) -> bool {
    let mut parts = line.split_whitespace();
    matches!(
        (parts.next(), parts.next()),
        (Some(version), Some("200")) if version.starts_with("HTTP/1.")
    )
}

#[cfg(test)]
mod tests {
    use super::status_is_ok;

    #[test]
    fn only_a_200_status_line_is_healthy() {
        assert!(status_is_ok("HTTP/1.1 200 OK"));
        assert!(status_is_ok("HTTP/1.0 200"));
        for bad in [
            "",
            "HTTP/1.1 503 Service Unavailable",
            "HTTP/1.1 2000 OK",
            "SSH-2.0-OpenSSH",
            "200 HTTP/1.1",
        ] {
            assert!(!status_is_ok(bad), "{bad:?}");
        }
    }
}
