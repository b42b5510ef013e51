//! Shapes of the names the configuration refers to (GitHub logins, repositories, team slugs,
//! Jira project keys, URLs), as pure predicates so the validation reads as a list of rules.

use url::Url;

/// GitHub's limit on login length.
const MAX_LOGIN_LEN: usize = 39;
/// GitHub's limit on repository name length.
const MAX_REPO_NAME_LEN: usize = 100;

/// A GitHub user or organisation login: letters, digits and hyphens, not starting with a
/// hyphen, at most 39 characters. Lenient about old logins with `--` or a trailing hyphen.
pub fn is_github_login(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_LOGIN_LEN
        && !s.starts_with('-')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// A login as the daemon sees its own writes: a user login, or an app's `name[bot]`.
pub fn is_bot_login(s: &str) -> bool {
    is_github_login(s.strip_suffix("[bot]").unwrap_or(s))
}

/// A repository name: letters, digits, `.`, `_`, `-`, not `.` or `..`.
pub fn is_repo_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_REPO_NAME_LEN
        && s != "."
        && s != ".."
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// `owner/name`.
pub fn is_repo(s: &str) -> bool {
    matches!(s.split_once('/'), Some((owner, name)) if is_github_login(owner) && is_repo_name(name))
}

/// A team slug: the lower-case URL form of a team name.
pub fn is_team_slug(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_'))
}

/// `org/team-slug`.
pub fn is_team(s: &str) -> bool {
    matches!(s.split_once('/'), Some((org, slug)) if is_github_login(org) && is_team_slug(slug))
}

/// A Jira project key as Jira's default pattern allows: `[A-Z][A-Z0-9_]+`.
pub fn is_project_key(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_uppercase())
        && s.len() >= 2
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// A Jira custom field id: `customfield_` and digits.
pub fn is_custom_field_id(s: &str) -> bool {
    s.strip_prefix("customfield_")
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// What is wrong with a base URL, if anything.
#[derive(Debug, PartialEq, Eq)]
pub enum UrlVerdict {
    /// `https://…`, or `http://` to this machine.
    Fine,
    /// `http://` to another machine: tokens would cross the network in clear.
    Plaintext,
    /// Not an http(s) URL with a host; the reason says why.
    Bad(String),
}

/// Checks that `s` is an absolute http(s) URL with a host.
pub fn check_base_url(s: &str) -> UrlVerdict {
    let url = match Url::parse(s) {
        Ok(url) => url,
        Err(e) => return UrlVerdict::Bad(format!("`{s}` is not a URL ({e})")),
    };
    let Some(host) = url.host_str() else {
        return UrlVerdict::Bad(format!("`{s}` has no host"));
    };
    match url.scheme() {
        "https" => UrlVerdict::Fine,
        "http" if is_loopback(host) => UrlVerdict::Fine,
        "http" => UrlVerdict::Plaintext,
        other => UrlVerdict::Bad(format!(
            "`{s}` uses `{other}:`; it must be an http:// or https:// URL"
        )),
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repos() {
        for ok in ["acme/platform-concerns", "a/b", "Acme-1/x.y_z", "o/.github"] {
            assert!(is_repo(ok), "{ok}");
        }
        for bad in [
            "acme", "acme/", "/x", "acme/a/b", "-a/b", "a/..", "a b/c", "",
        ] {
            assert!(!is_repo(bad), "{bad}");
        }
    }

    #[test]
    fn teams_and_logins() {
        assert!(is_team("acme/sre-council"));
        assert!(!is_team("acme/SRE Council"));
        assert!(!is_team("sre-council"));
        assert!(is_github_login("carol"));
        assert!(!is_github_login("carol smith"));
        assert!(!is_github_login(&"x".repeat(40)));
        assert!(is_bot_login("council-sync[bot]"));
    }

    #[test]
    fn project_keys() {
        for ok in ["SRE", "PAY", "P2", "AB_C"] {
            assert!(is_project_key(ok), "{ok}");
        }
        for bad in ["S", "sre", "2SRE", "SR-E", "", "_SRE"] {
            assert!(!is_project_key(bad), "{bad}");
        }
    }

    #[test]
    fn custom_fields() {
        assert!(is_custom_field_id("customfield_10008"));
        assert!(!is_custom_field_id("customfield_"));
        assert!(!is_custom_field_id("Epic Link"));
    }

    #[test]
    fn urls() {
        assert_eq!(
            check_base_url("https://acme.atlassian.net"),
            UrlVerdict::Fine
        );
        assert_eq!(check_base_url("http://127.0.0.1:9000"), UrlVerdict::Fine);
        assert_eq!(check_base_url("http://[::1]:9000"), UrlVerdict::Fine);
        assert_eq!(check_base_url("http://localhost"), UrlVerdict::Fine);
        assert_eq!(
            check_base_url("http://jira.acme.com"),
            UrlVerdict::Plaintext
        );
        assert!(matches!(check_base_url("ftp://x.org"), UrlVerdict::Bad(_)));
        assert!(matches!(
            check_base_url("acme.atlassian.net"),
            UrlVerdict::Bad(_)
        ));
    }
}
