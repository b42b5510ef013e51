//! `[server.board]`: the council board page (`GET /`) on a listener of its own.
//!
//! The board shows issue titles that may be private, so it never shares the webhook port
//! that faces GitHub: it listens on loopback unless told otherwise, and is meant to be put
//! behind the company's login (README "The board"). The section absent, or
//! `listen = ""`, turns the board off.

use std::net::SocketAddr;

use serde::Deserialize;

use super::ConfigProblem;

/// Where the board listens when `[server.board]` is present without `listen`.
pub const DEFAULT_BOARD_LISTEN: &str = "127.0.0.1:8081";

/// `[server.board]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BoardConfig {
    /// `host:port` of the board's listener; default `127.0.0.1:8081` (loopback); `""`
    /// turns the board off. Port 0 picks a free port (tests), printed at start.
    pub listen: String,
}

impl Default for BoardConfig {
    fn default() -> Self {
        Self {
            listen: DEFAULT_BOARD_LISTEN.to_owned(),
        }
    }
}

impl BoardConfig {
    /// The listener's address; `Ok(None)` when the board is off.
    ///
    /// # Errors
    /// The text of the problem when `listen` is not a socket address.
    pub fn addr(&self) -> Result<Option<SocketAddr>, String> {
        let l = self.listen.trim();
        if l.is_empty() {
            return Ok(None);
        }
        l.parse().map(Some).map_err(|e| {
            format!("`{l}` is not an address and port ({e}); e.g. `127.0.0.1:8081`, or \"\" to turn the board off")
        })
    }

    /// Every problem with this section, each naming its `server.board.*` key.
    /// An address off loopback is only a warning: behind a login proxy in another
    /// container or host it is what is wanted, but the board itself asks nobody who they are.
    pub fn problems(&self) -> Vec<ConfigProblem> {
        match self.addr() {
            Ok(Some(addr)) if !addr.ip().is_loopback() => vec![ConfigProblem::warning(
                "server.board.listen",
                format!(
                    "{addr} is not loopback: the board shows issue titles that may be private and has no login of its own; \
                     make sure only the login proxy can reach it (README \"Behind the company's login\")"
                ),
            )],
            Ok(_) => Vec::new(),
            Err(reason) => vec![ConfigProblem::error("server.board.listen", reason)],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_by_default_empty_turns_it_off_and_garbage_is_named() {
        assert_eq!(
            BoardConfig::default().addr(),
            Ok(Some("127.0.0.1:8081".parse().unwrap()))
        );
        let off = BoardConfig { listen: " ".into() };
        assert_eq!(off.addr(), Ok(None));
        let bad = BoardConfig {
            listen: "localhost".into(),
        };
        let p = bad.problems();
        assert_eq!(p.len(), 1);
        assert!(p[0].to_string().contains("server.board.listen"), "{}", p[0]);
        let open = BoardConfig {
            listen: "0.0.0.0:8081".into(),
        };
        let p = open.problems();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].severity, crate::config::Severity::Warning);
        assert!(BoardConfig::default().problems().is_empty());
    }
}
