//! GitHub's JSON shapes, built from the sandbox's state: the fields `github-rest.json`
//! requires (with `null` where nullable) and those the real webhook deliveries carry.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::model::{Account, Comment, Issue, Label, Repo, World};

/// ISO-8601 in GitHub's style: `2019-05-15T15:20:18Z`.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// GitHub's legacy global node id: base64 of `NN:TypeID` (e.g. `MDU6SXNzdWUx`).
pub fn node_id(kind: &str, id: u64) -> String {
    base64(format!("{:02}:{kind}{id}", kind.len()).as_bytes())
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Percent-encodes one path segment (label names may hold `/`, spaces, …).
pub fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A deterministic label colour from its name.
pub fn color_for(name: &str) -> String {
    let h = name.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    format!("{:06x}", h & 0x00ff_ffff)
}

/// `simple-user` for an account.
pub fn user(base: &str, a: &Account) -> Value {
    let (login, id) = (&a.login, a.id);
    let u = format!("{base}/users/{login}");
    json!({
        "login": login, "id": id, "node_id": node_id(if a.kind == "Organization" { "Organization" } else { "User" }, id),
        "avatar_url": format!("{base}/_avatars/u/{id}?v=4"), "gravatar_id": "",
        "url": u, "html_url": format!("{base}/{login}"),
        "followers_url": format!("{u}/followers"), "following_url": format!("{u}/following{{/other_user}}"),
        "gists_url": format!("{u}/gists{{/gist_id}}"), "starred_url": format!("{u}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{u}/subscriptions"), "organizations_url": format!("{u}/orgs"),
        "repos_url": format!("{u}/repos"), "events_url": format!("{u}/events{{/privacy}}"),
        "received_events_url": format!("{u}/received_events"),
        "type": a.kind, "user_view_type": "public", "site_admin": false,
    })
}

/// `simple-user` for a login (unknown logins render as a fresh-looking user with id 0).
pub fn user_by_login(w: &World, login: &str) -> Value {
    match w.find_account(login) {
        Some(a) => user(&w.base_url, a),
        None => user(
            &w.base_url,
            &Account {
                login: login.to_owned(),
                id: 0,
                kind: "User",
                created_at: Utc::now(),
            },
        ),
    }
}

/// `public-user` (`GET /users/{login}`); `private` adds the fields of `GET /user`.
pub fn full_user(base: &str, a: &Account, private: bool) -> Value {
    let mut v = user(base, a);
    let extra = json!({
        "name": null, "company": null, "blog": "", "location": null, "email": null,
        "hireable": null, "bio": null, "twitter_username": null,
        "public_repos": 0, "public_gists": 0, "followers": 0, "following": 0,
        "created_at": ts(a.created_at), "updated_at": ts(a.created_at),
    });
    merge(&mut v, extra);
    if private {
        v["user_view_type"] = Value::String("private".into());
        merge(
            &mut v,
            json!({
                "private_gists": 0, "total_private_repos": 0, "owned_private_repos": 0,
                "disk_usage": 0, "collaborators": 0, "two_factor_authentication": true,
            }),
        );
    }
    v
}

fn merge(into: &mut Value, from: Value) {
    if let (Value::Object(into), Value::Object(from)) = (into, from) {
        into.extend(from);
    }
}

/// Webhook `organization`.
pub fn organization(base: &str, a: &Account) -> Value {
    let o = format!("{base}/orgs/{}", a.login);
    json!({
        "login": a.login, "id": a.id, "node_id": node_id("Organization", a.id), "url": o,
        "repos_url": format!("{o}/repos"), "events_url": format!("{o}/events"),
        "hooks_url": format!("{o}/hooks"), "issues_url": format!("{o}/issues"),
        "members_url": format!("{o}/members{{/member}}"),
        "public_members_url": format!("{o}/public_members{{/member}}"),
        "avatar_url": format!("{base}/_avatars/u/{}?v=4", a.id), "description": null,
    })
}

/// `label`.
pub fn label(base: &str, repo: &Repo, l: &Label) -> Value {
    json!({
        "id": l.id, "node_id": node_id("Label", l.id),
        "url": format!("{base}/repos/{}/labels/{}", repo.full_name(), seg(&l.name)),
        "name": l.name, "color": l.color, "default": false, "description": l.description,
    })
}

fn reactions(url: String) -> Value {
    json!({ "url": url, "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0,
            "confused": 0, "heart": 0, "rocket": 0, "eyes": 0 })
}

/// `issue`.
pub fn issue(w: &World, repo: &Repo, i: &Issue) -> Value {
    let base = &w.base_url;
    let r = format!("{base}/repos/{}", repo.full_name());
    let u = format!("{r}/issues/{}", i.number);
    let labels: Vec<Value> = i
        .labels
        .iter()
        .filter_map(|n| repo.label(n))
        .map(|l| label(base, repo, l))
        .collect();
    let assignees: Vec<Value> = i.assignees.iter().map(|a| user_by_login(w, a)).collect();
    json!({
        "url": u, "repository_url": r, "labels_url": format!("{u}/labels{{/name}}"),
        "comments_url": format!("{u}/comments"), "events_url": format!("{u}/events"),
        "html_url": format!("{base}/{}/issues/{}", repo.full_name(), i.number),
        "id": i.id, "node_id": node_id("Issue", i.id), "number": i.number, "title": i.title,
        "user": user_by_login(w, &i.user), "labels": labels,
        "state": if i.open { "open" } else { "closed" }, "locked": false, "draft": false,
        "assignee": assignees.first().cloned().unwrap_or(Value::Null), "assignees": assignees,
        "milestone": null, "comments": i.comments.len(),
        "created_at": ts(i.created_at), "updated_at": ts(i.updated_at),
        "closed_at": i.closed_at.map(ts), "closed_by": i.closed_by.as_deref().map(|c| user_by_login(w, c)),
        "author_association": w.association(repo, &i.user), "active_lock_reason": null,
        "body": i.body, "reactions": reactions(format!("{u}/reactions")),
        "timeline_url": format!("{u}/timeline"), "performed_via_github_app": null,
        "state_reason": i.state_reason,
        "sub_issues_summary": { "total": 0, "completed": 0, "percent_completed": 0 },
    })
}

/// `issue-comment`.
pub fn comment(w: &World, repo: &Repo, c: &Comment) -> Value {
    let base = &w.base_url;
    let r = format!("{base}/repos/{}", repo.full_name());
    let u = format!("{r}/issues/comments/{}", c.id);
    json!({
        "url": u, "html_url": format!("{base}/{}/issues/{}#issuecomment-{}", repo.full_name(), c.issue_number, c.id),
        "issue_url": format!("{r}/issues/{}", c.issue_number),
        "id": c.id, "node_id": node_id("IssueComment", c.id),
        "user": user_by_login(w, &c.user), "created_at": ts(c.created_at), "updated_at": ts(c.updated_at),
        "author_association": w.association(repo, &c.user), "body": c.body,
        "reactions": reactions(format!("{u}/reactions")), "performed_via_github_app": null,
    })
}

/// `full-repository`.
pub fn repository(w: &World, repo: &Repo) -> Value {
    let base = &w.base_url;
    let full = repo.full_name();
    let r = format!("{base}/repos/{full}");
    let host = base
        .trim_start_matches("http://")
        .trim_start_matches("https://");
    let open = repo.issues.iter().filter(|i| i.open).count();
    let owner = user_by_login(w, &repo.owner);
    let mut v = json!({
        "id": repo.id, "node_id": node_id("Repository", repo.id), "name": repo.name, "full_name": full,
        "private": false, "owner": owner, "html_url": format!("{base}/{full}"), "description": null,
        "fork": false, "url": r, "visibility": "public",
        "created_at": ts(repo.created_at), "updated_at": ts(repo.created_at), "pushed_at": ts(repo.created_at),
        "git_url": format!("git://{host}/{full}.git"), "ssh_url": format!("git@{host}:{full}.git"),
        "clone_url": format!("{base}/{full}.git"), "svn_url": format!("{base}/{full}"),
    });
    merge(
        &mut v,
        json!({
            "homepage": null, "size": 0, "stargazers_count": 0, "watchers_count": 0, "language": null,
            "has_issues": true, "has_projects": true, "has_downloads": true, "has_wiki": false,
            "has_pages": false, "has_discussions": false, "forks_count": 0, "mirror_url": null,
            "archived": false, "disabled": false, "open_issues_count": open, "license": null,
            "allow_forking": true, "is_template": false, "web_commit_signoff_required": false,
            "topics": [], "forks": 0, "open_issues": open, "watchers": 0, "default_branch": "main",
            "network_count": 0, "subscribers_count": 0, "custom_properties": {},
        }),
    );
    let templated = [
        ("forks_url", "/forks"),
        ("keys_url", "/keys{/key_id}"),
        ("collaborators_url", "/collaborators{/collaborator}"),
        ("teams_url", "/teams"),
        ("hooks_url", "/hooks"),
        ("issue_events_url", "/issues/events{/number}"),
        ("events_url", "/events"),
        ("assignees_url", "/assignees{/user}"),
        ("branches_url", "/branches{/branch}"),
        ("tags_url", "/tags"),
        ("blobs_url", "/git/blobs{/sha}"),
        ("git_tags_url", "/git/tags{/sha}"),
        ("git_refs_url", "/git/refs{/sha}"),
        ("trees_url", "/git/trees{/sha}"),
        ("statuses_url", "/statuses/{sha}"),
        ("languages_url", "/languages"),
        ("stargazers_url", "/stargazers"),
        ("contributors_url", "/contributors"),
        ("subscribers_url", "/subscribers"),
        ("subscription_url", "/subscription"),
        ("commits_url", "/commits{/sha}"),
        ("git_commits_url", "/git/commits{/sha}"),
        ("comments_url", "/comments{/number}"),
        ("issue_comment_url", "/issues/comments{/number}"),
        ("contents_url", "/contents/{+path}"),
        ("compare_url", "/compare/{base}...{head}"),
        ("merges_url", "/merges"),
        ("archive_url", "/{archive_format}{/ref}"),
        ("downloads_url", "/downloads"),
        ("issues_url", "/issues{/number}"),
        ("pulls_url", "/pulls{/number}"),
        ("milestones_url", "/milestones{/number}"),
        (
            "notifications_url",
            "/notifications{?since,all,participating}",
        ),
        ("labels_url", "/labels{/name}"),
        ("releases_url", "/releases{/id}"),
        ("deployments_url", "/deployments"),
    ];
    if let Value::Object(map) = &mut v {
        for (k, suffix) in templated {
            map.insert(k.to_owned(), Value::String(format!("{r}{suffix}")));
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_match_githubs_legacy_format() {
        // From the issues.labeled fixture: issue 444500041, label 1362934389, user 21031067.
        assert_eq!(node_id("Issue", 444_500_041), "MDU6SXNzdWU0NDQ1MDAwNDE=");
        assert_eq!(node_id("Label", 1_362_934_389), "MDU6TGFiZWwxMzYyOTM0Mzg5");
        assert_eq!(node_id("User", 21_031_067), "MDQ6VXNlcjIxMDMxMDY3");
    }

    #[test]
    fn encodes_path_segments() {
        assert_eq!(seg("council/accepted"), "council%2Faccepted");
        assert_eq!(seg("needs info"), "needs%20info");
        assert_eq!(seg("sre-concern"), "sre-concern");
    }
}
