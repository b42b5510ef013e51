//! Outgoing API calls as metrics: calls by host, templated route, method and status, and
//! the rate limit each host reports as left. Recorded by the GitHub and Jira clients after
//! every attempt (retries count as calls: each one spends rate limit).
//!
//! Labels stay low-cardinality: the route is the path with every identifier replaced by a
//! placeholder (`/repos/{owner}/{repo}/issues/{number}/comments`,
//! `/rest/api/3/issue/{key}/transitions`); only fixed lowercase words of the APIs survive,
//! so no issue number, key, login, label or repository ever becomes a label value.

use reqwest::header::HeaderMap;

/// Counter of calls: `host`, `route`, `method`, `status` (HTTP code, or `error` when no
/// answer came).
pub const API_CALLS: &str = "council_sync_api_calls_total";
/// Gauge of the rate limit left: `host`, `resource` (GitHub's `x-ratelimit-resource`:
/// `core`, `graphql`, `search`…; `default` when the host does not name one).
pub const RATE_LIMIT_REMAINING: &str = "council_sync_rate_limit_remaining";

/// Most path segments kept in a route; deeper paths end in `…` (none of ours are).
const MAX_SEGMENTS: usize = 10;

/// Segments after which the next segment (GitHub) is an identifier.
const NAMED_AFTER: [&str; 9] = [
    "orgs",
    "users",
    "teams",
    "memberships",
    "members",
    "labels",
    "collaborators",
    "installations",
    "hooks",
];

/// The route of `path` (query dropped, identifiers replaced; see the module note).
pub fn route(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut out: Vec<&str> = Vec::with_capacity(segs.len().min(MAX_SEGMENTS));
    let mut i = 0;
    while i < segs.len() && out.len() < MAX_SEGMENTS {
        let s = segs[i];
        let prev = if i == 0 { "" } else { segs[i - 1] };
        let word = if prev == "repos"
            && i + 1 < segs.len()
            && out.last() == Some(&"repos")
            && out.len() + 2 <= MAX_SEGMENTS
        {
            // `/repos/{owner}/{repo}`: both parts at once.
            out.push("{owner}");
            i += 1;
            "{repo}"
        } else if (prev == "api" || prev == "agile") && s.len() <= 4 {
            // API version: `/rest/api/3`, `/rest/agile/1.0`, `/api/v3`.
            s
        } else if NAMED_AFTER.contains(&prev) {
            placeholder(prev)
        } else if s.bytes().all(|b| b.is_ascii_digit()) {
            if prev == "issues" { "{number}" } else { "{id}" }
        } else if is_word(s) {
            s
        } else if is_jira_key(s) {
            "{key}"
        } else {
            "{id}"
        };
        out.push(word);
        i += 1;
    }
    if segs.len() > i {
        out.push("…");
    }
    format!("/{}", out.join("/"))
}

/// The placeholder for the identifier after `prev`.
fn placeholder(prev: &str) -> &'static str {
    match prev {
        "orgs" => "{org}",
        "users" | "memberships" | "members" | "collaborators" => "{username}",
        "teams" => "{team_slug}",
        "labels" => "{name}",
        _ => "{id}",
    }
}

/// A fixed word of an API path: lowercase ASCII letters and `_`/`-` (`issues`,
/// `sub_issues`, `access_tokens`, `remotelink`).
fn is_word(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'-')
}

/// A Jira issue key: `PROJ-123`.
fn is_jira_key(s: &str) -> bool {
    s.rsplit_once('-').is_some_and(|(p, n)| {
        !p.is_empty()
            && !n.is_empty()
            && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && n.bytes().all(|b| b.is_ascii_digit())
    })
}

/// Counts one call: `status` is the HTTP status, `None` when no answer came (transport
/// error, timeout).
pub fn record_call(host: &str, method: &str, path: &str, status: Option<u16>) {
    let status = status.map_or_else(|| "error".to_owned(), |s| s.to_string());
    metrics::counter!(
        API_CALLS,
        "host" => host.to_owned(),
        "route" => route(path),
        "method" => method.to_owned(),
        "status" => status
    )
    .increment(1);
}

/// The route label of a GraphQL call: `graphql:{OperationName}` (`graphql:CreateSubIssue`).
/// Every call goes to the one path `/graphql`, so the operation is what tells them apart;
/// the daemon only sends its own named documents, so the label stays low-cardinality. A
/// document without a valid name (GraphQL `Name`: `[_A-Za-z][_0-9A-Za-z]*`, here at most 64
/// characters) counts as `graphql:anonymous`. Source: GraphQL spec, "Names".
pub fn graphql_route(operation: &str) -> String {
    let valid = !operation.is_empty()
        && operation.len() <= 64
        && operation
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && operation
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    format!("graphql:{}", if valid { operation } else { "anonymous" })
}

/// Counts one call under an already templated `route` (see [`graphql_route`]); `status`
/// as in [`record_call`].
pub fn record_route_call(host: &str, method: &str, route: String, status: Option<u16>) {
    let status = status.map_or_else(|| "error".to_owned(), |s| s.to_string());
    metrics::counter!(
        API_CALLS,
        "host" => host.to_owned(),
        "route" => route,
        "method" => method.to_owned(),
        "status" => status
    )
    .increment(1);
}

/// Records the rate limit left when the answer says (`x-ratelimit-remaining`: GitHub sends
/// it on every REST and GraphQL answer, Jira Data Center on every authenticated answer when
/// an admin turned rate limiting on, Jira Cloud with its rate-limited answers). The bucket
/// is GitHub's `x-ratelimit-resource` (`core`, `search`…) or Jira Cloud's
/// `RateLimit-Reason` (`jira-burst-based`, `jira-per-issue-on-write`…), else `default`.
/// Sources: GitHub "Rate limits for the REST API"; Atlassian "Rate limiting" (Jira Cloud)
/// and "Rate limiting HTTP headers" (Data Center).
pub fn record_rate_limit(host: &str, headers: &HeaderMap) {
    let Some(remaining) = headers
        .get("x-ratelimit-remaining")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
    else {
        return;
    };
    let resource = headers
        .get("x-ratelimit-resource")
        .or_else(|| headers.get("ratelimit-reason"))
        .and_then(|v| v.to_str().ok())
        .filter(|r| is_word(r))
        .unwrap_or("default")
        .to_owned();
    metrics::gauge!(RATE_LIMIT_REMAINING, "host" => host.to_owned(), "resource" => resource)
        .set(remaining);
}

/// The host of a base URL, for the `host` label (`api.github.com`); `unknown` when the URL
/// has none.
pub fn host_of(base_url: &str) -> String {
    url::Url::parse(base_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn graphql_calls_are_named_by_their_operation() {
        assert_eq!(graphql_route("CreateSubIssue"), "graphql:CreateSubIssue");
        assert_eq!(graphql_route("_private2"), "graphql:_private2");
        for bad in ["", "9lives", "a b", "x{y}", &"n".repeat(65), "Näme"] {
            assert_eq!(graphql_route(bad), "graphql:anonymous", "{bad:?}");
        }
    }

    #[test]
    fn github_routes_are_templated() {
        let cases = [
            (
                "/repos/acme/ops/issues/12",
                "/repos/{owner}/{repo}/issues/{number}",
            ),
            (
                "/repos/acme/ops/issues/12/comments?per_page=100&page=2",
                "/repos/{owner}/{repo}/issues/{number}/comments",
            ),
            (
                "/repos/acme/ops/issues/12/labels/council%2Faccepted",
                "/repos/{owner}/{repo}/issues/{number}/labels/{name}",
            ),
            (
                "/repos/acme/ops/issues/comments/99",
                "/repos/{owner}/{repo}/issues/comments/{id}",
            ),
            (
                "/orgs/acme/teams/sre-council/memberships/carol",
                "/orgs/{org}/teams/{team_slug}/memberships/{username}",
            ),
            ("/user", "/user"),
            ("/graphql", "/graphql"),
            (
                "/repos/acme/ops/installation",
                "/repos/{owner}/{repo}/installation",
            ),
            (
                "/app/installations/7/access_tokens",
                "/app/installations/{id}/access_tokens",
            ),
        ];
        for (path, want) in cases {
            assert_eq!(route(path), want, "{path}");
        }
    }

    #[test]
    fn jira_routes_are_templated() {
        let cases = [
            (
                "/rest/api/3/issue/SRE-12/transitions",
                "/rest/api/3/issue/{key}/transitions",
            ),
            ("/rest/api/2/issue/10042", "/rest/api/2/issue/{id}"),
            (
                "/rest/api/3/search/jql?jql=labels%3Dx",
                "/rest/api/3/search/jql",
            ),
            (
                "/rest/agile/1.0/sprint/5/issue",
                "/rest/agile/1.0/sprint/{id}/issue",
            ),
            ("/rest/api/3/myself", "/rest/api/3/myself"),
        ];
        for (path, want) in cases {
            assert_eq!(route(path), want, "{path}");
        }
    }

    #[test]
    fn the_rate_limit_bucket_comes_from_github_or_jira_cloud_headers() {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            let mut gh = HeaderMap::new();
            gh.insert("x-ratelimit-remaining", "4990".parse().unwrap());
            gh.insert("x-ratelimit-resource", "core".parse().unwrap());
            record_rate_limit("api.github.com", &gh);
            let mut jira = HeaderMap::new();
            jira.insert("x-ratelimit-remaining", "7".parse().unwrap());
            jira.insert("ratelimit-reason", "jira-burst-based".parse().unwrap());
            record_rate_limit("acme.atlassian.net", &jira);
            let mut dc = HeaderMap::new();
            dc.insert("x-ratelimit-remaining", " 12 ".parse().unwrap());
            record_rate_limit("jira.acme.internal", &dc);
            let mut junk = HeaderMap::new();
            junk.insert("x-ratelimit-remaining", "lots".parse().unwrap());
            record_rate_limit("junk.example", &junk);
        });
        let out = handle.render();
        assert!(
            out.contains(
                "council_sync_rate_limit_remaining{host=\"api.github.com\",resource=\"core\"} 4990"
            ),
            "{out}"
        );
        assert!(out.contains("council_sync_rate_limit_remaining{host=\"acme.atlassian.net\",resource=\"jira-burst-based\"} 7"), "{out}");
        assert!(out.contains("council_sync_rate_limit_remaining{host=\"jira.acme.internal\",resource=\"default\"} 12"), "{out}");
        assert!(
            !out.contains("junk.example"),
            "an unreadable header records nothing"
        );
    }

    #[test]
    fn host_of_base_urls() {
        assert_eq!(host_of("https://api.github.com"), "api.github.com");
        assert_eq!(host_of("http://127.0.0.1:8080/api/v3"), "127.0.0.1");
        assert_eq!(host_of("not a url"), "unknown");
    }

    proptest! {
        #[test]
        fn no_identifier_survives(owner in "[a-zA-Z0-9-]{1,20}", repo in "[a-zA-Z0-9._-]{1,20}",
                                  n in 1u64..1_000_000, key in "[A-Z]{2,5}-[0-9]{1,5}",
                                  login in "[a-zA-Z0-9-]{1,20}") {
            let r = route(&format!("/repos/{owner}/{repo}/issues/{n}/comments"));
            prop_assert_eq!(r, "/repos/{owner}/{repo}/issues/{number}/comments");
            let r = route(&format!("/rest/api/3/issue/{key}/comment"));
            prop_assert_eq!(r, "/rest/api/3/issue/{key}/comment");
            let r = route(&format!("/orgs/acme/teams/council/memberships/{login}"));
            prop_assert_eq!(r, "/orgs/{org}/teams/{team_slug}/memberships/{username}");
        }

        #[test]
        fn any_path_gives_a_bounded_route(path in "\\PC{0,200}") {
            let r = route(&path);
            prop_assert!(r.split('/').count() <= MAX_SEGMENTS + 2);
            let short = r.split('/').all(|s| s.is_empty() || s.len() <= 32 || s.starts_with('{'));
            prop_assert!(short, "{}", r);
        }
    }
}
