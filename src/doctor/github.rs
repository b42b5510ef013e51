//! The GitHub half of `doctor`: token and scopes, repositories, council team, labels,
//! issue form and webhook. Read-only: every call is a GET through [`GithubClient`].

use secrecy::{ExposeSecret, SecretString};

use super::needs::{self, GITHUB_EVENTS, ISSUE_FORM_PATH};
use super::report::{Finding, Report, Verdict};
use crate::concern::form::IssueForm;
use crate::config::{Config, TrackerKind};
use crate::github::client::{GithubClient, GithubError, RepoHook};

const AREA: &str = "github";

/// Whether a classic token's scopes include `want` (GitHub's scope hierarchy: `repo`
/// covers `public_repo`; `admin:org` ⊃ `write:org` ⊃ `read:org`; `admin:repo_hook` ⊃
/// `write:repo_hook` ⊃ `read:repo_hook`; `project` ⊃ `read:project`; `admin:org_hook`
/// alone covers organisation hooks).
pub fn has_scope(scopes: &[String], want: &str) -> bool {
    let implied: &[&str] = match want {
        "public_repo" => &["public_repo", "repo"],
        "repo" => &["repo"],
        "read:org" => &["read:org", "write:org", "admin:org"],
        "read:project" => &["read:project", "project"],
        "read:org_hook" => &["admin:org_hook"],
        "write:repo_hook" => &["write:repo_hook", "admin:repo_hook"],
        "read:repo_hook" => &["read:repo_hook", "write:repo_hook", "admin:repo_hook"],
        other => return scopes.iter().any(|s| s == other),
    };
    scopes.iter().any(|s| implied.contains(&s.as_str()))
}

/// A failed read as a finding: 404 missing, 401/403 wrong credentials, else unchecked.
fn failed(item: &str, e: &GithubError, fix_missing: &str) -> Finding {
    match e.status() {
        Some(404) => Finding::blocks(AREA, item, Verdict::Missing, e.to_string(), fix_missing),
        Some(401) => Finding::blocks(
            AREA,
            item,
            Verdict::Wrong,
            e.to_string(),
            "the credentials are refused (a revoked or expired token, or the App's app_id / private key): make new ones (see README \"Run it for real\")",
        ),
        Some(403) => Finding::blocks(
            AREA,
            item,
            Verdict::Wrong,
            e.to_string(),
            "the token lacks a permission for this: see the scopes in README \"Run it for real\"",
        ),
        _ => Finding::blocks(
            AREA,
            item,
            Verdict::Unchecked,
            e.to_string(),
            "GitHub did not answer: check github.api_url and the network, then run doctor again",
        ),
    }
}

/// Runs the GitHub checks into `report`.
pub async fn check(cfg: &Config, gh: &GithubClient, report: &mut Report) {
    if let Some(perms) = gh.installation_permissions().await {
        match gh.current_user().await {
            Ok(login) => report.push(Finding::ok(
                AREA,
                "GitHub App",
                format!("installation of {login}"),
            )),
            Err(e) => report.push(failed(
                "GitHub App",
                &e,
                "check github.app (app_id, private_key_file, installation_id)",
            )),
        }
        match perms {
            Ok(p) => check_app_permissions(cfg, &p, report),
            Err(e) => report.push(failed(
                "GitHub App permissions",
                &e,
                "check github.app.installation_id",
            )),
        }
    } else {
        check_token(cfg, gh, report).await;
    }
    if let Some((org, slug)) = needs::council_team(cfg) {
        let item = format!("team {org}/{slug}");
        match gh.team_members_readable(org, slug).await {
            Ok(()) => report.push(Finding::ok(AREA, item, "members readable")),
            Err(e) => report.push(failed(
                &item,
                &e,
                "create the team (or fix github.council) and give the token read:org (App: Organization → Members: read)",
            )),
        }
    }
    let form_text = needs::form_yaml(cfg).ok();
    let secret = cfg.github.webhook_secret().ok().flatten();
    for repo in &cfg.github.repos {
        check_repo(cfg, gh, repo, form_text.as_deref(), secret.as_ref(), report).await;
    }
    check_twin_hooks(cfg, gh, report).await;
}

/// The URLs, trimmed of a trailing `/`, that an organisation hook and a repository hook
/// both deliver to while both are active: with both, GitHub sends every event twice, as
/// two deliveries with different ids (each hook delivers on its own).
pub fn twin_hook_urls(org: &[RepoHook], repo: &[RepoHook]) -> Vec<String> {
    let urls = |hooks: &[RepoHook]| -> Vec<String> {
        hooks
            .iter()
            .filter(|h| h.active)
            .map(|h| h.url.trim_end_matches('/').to_owned())
            .collect()
    };
    let org = urls(org);
    let mut out: Vec<String> = urls(repo).into_iter().filter(|u| org.contains(u)).collect();
    out.sort();
    out.dedup();
    out
}

/// Warns when a watched repository's webhook and its organisation's webhook point at the
/// same daemon URL: every event then arrives twice. The daemon acts once (deliveries of
/// one event lead to the same decisions, and writes are looked up by marker), but each
/// event is stored, read and judged twice. Organisations whose hooks these credentials
/// cannot read are skipped (the webhook checks above say what they cannot see).
///
/// On GitHub Projects the team repositories are checked too (the organisation hook carries
/// their `issues`), and the fix is to remove the repository hook: the organisation hook is
/// the one that also carries `projects_v2_item`, and `setup` removes it.
async fn check_twin_hooks(cfg: &Config, gh: &GithubClient, report: &mut Report) {
    let mut repos: Vec<String> = cfg.github.repos.clone();
    let projects = cfg.tracker.kind == TrackerKind::GithubProjects;
    if projects && let Ok(s) = cfg.github_projects_settings() {
        repos.extend(s.teams.values().cloned());
    }
    repos.sort_unstable_by_key(|r| r.to_ascii_lowercase());
    repos.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    let mut owners: Vec<&str> = repos
        .iter()
        .filter_map(|r| r.split_once('/').map(|(o, _)| o))
        .collect();
    owners.sort_unstable();
    owners.dedup();
    for owner in owners {
        let Ok(org_hooks) = gh.list_org_hooks(owner).await else {
            continue;
        };
        if org_hooks.is_empty() {
            continue;
        }
        for repo in repos
            .iter()
            .filter(|r| r.split_once('/').is_some_and(|(o, _)| o == owner))
        {
            let Ok(repo_hooks) = gh.list_hooks(repo).await else {
                continue;
            };
            for url in twin_hook_urls(&org_hooks, &repo_hooks) {
                report.push(Finding::advises(
                    AREA,
                    format!("{repo} webhook and {owner} organisation webhook"),
                    Verdict::Wrong,
                    format!(
                        "both deliver to {url}: every event arrives twice (two delivery ids); \
                         the daemon acts once, but stores and judges each event twice"
                    ),
                    if projects {
                        format!("run `council-sync setup` (it removes the repository webhook: the organisation webhook carries issues and issue_comment too), or remove it in {repo} Settings → Webhooks")
                    } else {
                        format!("remove one of them: {repo} Settings → Webhooks, or {owner} organisation Settings → Webhooks")
                    },
                ));
            }
        }
    }
}

/// Whether a granted level (`read`, `write`, `admin`) covers `want`.
fn level_covers(have: Option<&String>, want: &str) -> bool {
    let rank = |l: &str| match l {
        "read" => 1,
        "write" => 2,
        "admin" => 3,
        _ => 0,
    };
    have.is_some_and(|h| rank(h) >= rank(want))
}

/// The App permissions the daemon needs, and what each is for (GitHub docs: "Choosing
/// permissions for a GitHub App").
fn check_app_permissions(
    cfg: &Config,
    perms: &std::collections::BTreeMap<String, String>,
    report: &mut Report,
) {
    let mut wanted = vec![
        ("issues", "write", "issues, labels and comments", true),
        ("metadata", "read", "reading the repositories", true),
        (
            "contents",
            "read",
            "reading the issue form (write: setup commits it)",
            true,
        ),
        (
            "repository_hooks",
            "write",
            "setup and doctor see the webhook",
            false,
        ),
    ];
    if needs::council_team(cfg).is_some() {
        wanted.push(("members", "read", "the council team's membership", true));
    }
    if cfg.tracker.kind == TrackerKind::GithubProjects {
        wanted.push((
            "organization_projects",
            "write",
            "adding stories to the GitHub Project and setting their fields",
            true,
        ));
        wanted.push((
            "organization_hooks",
            "write",
            "setup and doctor see the organisation webhook",
            false,
        ));
    }
    for (name, level, why, blocking) in wanted {
        let item = format!("App permission {name}");
        if level_covers(perms.get(name), level) {
            report.push(Finding::ok(AREA, item, why));
        } else {
            let detail = format!(
                "needs {level} for {why}; granted: {}",
                perms.get(name).map_or("none", String::as_str)
            );
            let fix = format!(
                "App settings → Permissions: {name} {level}, then accept the change on the installation"
            );
            report.push(if blocking {
                Finding::blocks(AREA, item, Verdict::Missing, detail, fix)
            } else {
                Finding::advises(AREA, item, Verdict::Missing, detail, fix)
            });
        }
    }
}

async fn check_token(cfg: &Config, gh: &GithubClient, report: &mut Report) {
    let scopes = match gh.token_scopes().await {
        Ok(s) => s,
        Err(e) => {
            report.push(failed("token", &e, "set github.token"));
            return;
        }
    };
    match gh.current_user().await {
        Ok(login) => report.push(Finding::ok(
            AREA,
            "token",
            format!("authenticated as {login}"),
        )),
        Err(e) => report.push(failed("token", &e, "set github.token")),
    }
    check_scopes(cfg, scopes.as_deref(), report);
}

fn check_scopes(cfg: &Config, scopes: Option<&[String]>, report: &mut Report) {
    let Some(scopes) = scopes else {
        report.push(Finding::ok(
            AREA,
            "token scopes",
            "no X-OAuth-Scopes (fine-grained token or GitHub App): rights are checked per call below",
        ));
        return;
    };
    let mut wanted = vec![("repo", "issues, labels, comments and the issue form")];
    if needs::council_team(cfg).is_some() {
        wanted.push(("read:org", "reading the council team's membership"));
    }
    if cfg.tracker.kind == TrackerKind::GithubProjects {
        wanted.push((
            "project",
            "adding stories to the GitHub Project and setting their fields",
        ));
    }
    for (scope, why) in wanted {
        if has_scope(scopes, scope) {
            report.push(Finding::ok(AREA, format!("scope {scope}"), why));
        } else {
            report.push(Finding::blocks(
                AREA,
                format!("scope {scope}"),
                Verdict::Missing,
                format!("needed for {why}; the token has: {}", scopes.join(", ")),
                format!("add the {scope} scope to the token (GitHub → Settings → Developer settings → Tokens)"),
            ));
        }
    }
    if cfg.tracker.kind == TrackerKind::GithubProjects && !has_scope(scopes, "read:org_hook") {
        report.push(Finding::advises(
            AREA,
            "scope admin:org_hook",
            Verdict::Missing,
            "without it neither doctor nor setup can see the organisation webhook (projects_v2_item)",
            "an organisation owner's token with admin:org_hook, or check the webhook by hand (organisation Settings → Webhooks)",
        ));
    }
    if !has_scope(scopes, "read:repo_hook") {
        report.push(Finding::advises(
            AREA,
            "scope admin:repo_hook",
            Verdict::Missing,
            "without it neither doctor nor setup can see the repository webhooks",
            "add admin:repo_hook to the token, or check the webhooks by hand (Settings → Webhooks)",
        ));
    }
}

async fn check_repo(
    cfg: &Config,
    gh: &GithubClient,
    repo: &str,
    form_text: Option<&str>,
    secret: Option<&SecretString>,
    report: &mut Report,
) {
    match gh.repo_access(repo).await {
        Ok(r) => match r.permissions {
            Some(p) if !p.push => report.push(Finding::blocks(
                AREA,
                repo,
                Verdict::Wrong,
                "the token can read but not write here",
                "give the token's account (or the App) write access: Issues read & write",
            )),
            _ => report.push(Finding::ok(AREA, repo, "readable")),
        },
        Err(e) => {
            report.push(failed(
                repo,
                &e,
                "fix github.repos or give the token access to it",
            ));
            return;
        }
    }
    check_labels(cfg, gh, repo, report).await;
    check_form(gh, repo, form_text, report).await;
    check_hook(cfg, gh, repo, secret, report).await;
}

async fn check_labels(cfg: &Config, gh: &GithubClient, repo: &str, report: &mut Report) {
    let item = format!("{repo} labels");
    let have = match gh.label_names(repo).await {
        Ok(h) => h,
        Err(e) => return report.push(failed(&item, &e, "run `council-sync setup`")),
    };
    let wanted = cfg.labels.all();
    let missing: Vec<&str> = wanted
        .iter()
        .map(|&(_, name)| name)
        .filter(|name| !have.iter().any(|h| h.eq_ignore_ascii_case(name)))
        .collect();
    if missing.is_empty() {
        let all = format!("all {} exist", wanted.len());
        return report.push(Finding::ok(AREA, item, all));
    }
    let fix = "run `council-sync setup` (or create them under Issues → Labels)";
    let detail = format!("missing: {}", missing.join(", "));
    // The issue form applies the concern label only when it exists; the others the daemon
    // creates on first use.
    if missing.contains(&cfg.labels.concern.as_str()) {
        report.push(Finding::blocks(AREA, item, Verdict::Missing, detail, fix));
    } else {
        report.push(Finding::advises(AREA, item, Verdict::Missing, detail, fix));
    }
}

async fn check_form(gh: &GithubClient, repo: &str, want: Option<&str>, report: &mut Report) {
    let item = format!("{repo} issue form");
    let fix = format!("run `council-sync setup`, or commit the form to {ISSUE_FORM_PATH}");
    let file = match gh.get_file(repo, ISSUE_FORM_PATH).await {
        Ok(Some(f)) => f,
        Ok(None) => {
            return report.push(Finding::blocks(
                AREA,
                item,
                Verdict::Missing,
                format!("no {ISSUE_FORM_PATH}"),
                fix,
            ));
        }
        Err(e) => return report.push(failed(&item, &e, &fix)),
    };
    let text = String::from_utf8_lossy(&file.content);
    let ids = |t: &str| {
        IssueForm::from_yaml(t)
            .ok()
            .map(|f| f.fields.into_iter().map(|x| x.id).collect::<Vec<_>>())
    };
    match (ids(&text), want.and_then(ids)) {
        (Some(have), Some(want)) if have == want => {
            report.push(Finding::ok(AREA, item, ISSUE_FORM_PATH))
        }
        (Some(_), Some(_)) => report.push(Finding::blocks(
            AREA,
            item,
            Verdict::Wrong,
            "its fields differ from the configured form's, so answers would not be found",
            fix,
        )),
        (None, _) => report.push(Finding::blocks(
            AREA,
            item,
            Verdict::Wrong,
            "not an issue form council-sync can read",
            fix,
        )),
        (Some(_), None) => report.push(Finding::advises(
            AREA,
            item,
            Verdict::Unchecked,
            "criteria.issue_form cannot be read, so the committed form was not compared",
            "fix criteria.issue_form",
        )),
    }
}

/// What is wrong with a hook that should deliver `events`, or empty when it is as the
/// daemon needs it.
pub fn hook_problems(h: &RepoHook, secret_configured: bool, events: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    if !h.active {
        out.push("inactive".to_owned());
    }
    if h.content_type != "json" {
        out.push(format!(
            "content type {} (the daemon reads application/json only)",
            h.content_type
        ));
    }
    if !h.secret_set {
        out.push("no secret".to_owned());
    } else if !secret_configured {
        out.push("a secret is set but github.webhook_secret is not configured".to_owned());
    }
    let all = h.events.iter().any(|e| e == "*");
    let missing: Vec<&str> = events
        .iter()
        .copied()
        .filter(|e| !all && !h.events.iter().any(|x| x == e))
        .collect();
    if !missing.is_empty() {
        out.push(format!("not subscribed to {}", missing.join(", ")));
    }
    out
}

async fn check_hook(
    cfg: &Config,
    gh: &GithubClient,
    repo: &str,
    secret: Option<&SecretString>,
    report: &mut Report,
) {
    let item = format!("{repo} webhook");
    let hooks = match gh.list_hooks(repo).await {
        Ok(h) => h,
        Err(e) if matches!(e.status(), Some(403 | 404)) => {
            return report.push(Finding::advises(
                AREA,
                item,
                Verdict::Unchecked,
                "the token cannot read this repository's webhooks (needs admin on it and admin:repo_hook)",
                "check by hand: Settings → Webhooks, events Issues + Issue comments, content type application/json, secret = github.webhook_secret",
            ));
        }
        Err(e) => return report.push(failed(&item, &e, "run `council-sync setup`")),
    };
    let want_url = needs::github_hook_url(cfg);
    let ours = hooks.iter().find(|h| match &want_url {
        Some(u) => h.url.trim_end_matches('/') == u,
        None => h.url.trim_end_matches('/').ends_with("/webhooks/github"),
    });
    let secret_configured = secret.is_some_and(|s| !s.expose_secret().is_empty());
    let fix_all = "run `council-sync setup`, or edit it: Settings → Webhooks → content type application/json, secret = github.webhook_secret, events Issues + Issue comments";
    if ours.is_none()
        && let Some(org) = covering_org(cfg, repo)
    {
        return check_covered_repo(gh, &item, &org, want_url.as_deref(), report).await;
    }
    match ours {
        None => report.push(Finding::blocks(
            AREA,
            item,
            Verdict::Missing,
            match &want_url {
                Some(u) => format!("no webhook to {u}"),
                None => {
                    "no webhook to …/webhooks/github (set server.public_url to check the exact URL)"
                        .into()
                }
            },
            fix_all,
        )),
        Some(h) => {
            let problems = hook_problems(h, secret_configured, &GITHUB_EVENTS);
            if problems.is_empty() {
                report.push(Finding::ok(
                    AREA,
                    item,
                    format!("{} (json, secret, events)", h.url),
                ));
            } else {
                report.push(Finding::blocks(
                    AREA,
                    item,
                    Verdict::Wrong,
                    format!("{}: {}", h.url, problems.join("; ")),
                    fix_all,
                ));
            }
        }
    }
}

/// On GitHub Projects, the project's organisation when its webhook would deliver the events
/// of concern repository `repo` ([`needs::org_hook_covers`]); `None` on Jira.
fn covering_org(cfg: &Config, repo: &str) -> Option<String> {
    if cfg.tracker.kind != TrackerKind::GithubProjects {
        return None;
    }
    cfg.github_projects_settings()
        .ok()
        .map(|s| s.owner.clone())
        .filter(|org| needs::org_hook_covers(org, repo))
}

/// A concern repository with no webhook of its own on GitHub Projects: fine when the
/// organisation webhook to the daemon is there (it delivers the repository's events; its
/// settings are checked with the project), missing otherwise.
async fn check_covered_repo(
    gh: &GithubClient,
    item: &str,
    org: &str,
    want_url: Option<&str>,
    report: &mut Report,
) {
    let fix = "run `council-sync setup` (it registers the organisation webhook, which delivers this repository's issues and comments)";
    match gh.list_org_hooks(org).await {
        Ok(hooks) => {
            let ours = hooks.iter().find(|h| match want_url {
                Some(u) => h.url.trim_end_matches('/') == u,
                None => h.url.trim_end_matches('/').ends_with("/webhooks/github"),
            });
            match ours {
                Some(h) => report.push(Finding::ok(
                    AREA,
                    item,
                    format!(
                        "none of its own: the {org} organisation webhook to {} delivers its events",
                        h.url
                    ),
                )),
                None => report.push(Finding::blocks(
                    AREA,
                    item,
                    Verdict::Missing,
                    format!(
                        "no webhook to {} in the repository or the {org} organisation",
                        want_url.unwrap_or("…/webhooks/github")
                    ),
                    fix,
                )),
            }
        }
        Err(e) if matches!(e.status(), Some(403 | 404)) => report.push(Finding::advises(
            AREA,
            item,
            Verdict::Unchecked,
            format!(
                "none of its own, and the credentials cannot read the {org} organisation webhooks that would deliver its events"
            ),
            "check by hand: organisation Settings → Webhooks, events Issues + Issue comments + Projects v2 items + Sub-issues",
        )),
        Err(e) => report.push(failed(item, &e, fix)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(content_type: &str, secret: bool, events: &[&str]) -> RepoHook {
        RepoHook {
            id: 1,
            url: "https://x/webhooks/github".into(),
            content_type: content_type.into(),
            secret_set: secret,
            events: events.iter().map(|e| (*e).to_owned()).collect(),
            active: true,
        }
    }

    #[test]
    fn twin_hooks_are_the_same_url_on_both_levels_and_active() {
        let at = |url: &str, active: bool| RepoHook {
            url: url.into(),
            active,
            ..hook("json", true, &["issues"])
        };
        let org = [
            at("https://d.example/webhooks/github/", true),
            at("https://other.example/hook", true),
            at("https://off.example/webhooks/github", false),
        ];
        let repo = [
            at("https://d.example/webhooks/github", true),
            at("https://off.example/webhooks/github", true),
            at("https://repo-only.example/webhooks/github", true),
        ];
        assert_eq!(
            twin_hook_urls(&org, &repo),
            ["https://d.example/webhooks/github"]
        );
        assert!(twin_hook_urls(&[], &repo).is_empty());
    }

    #[test]
    fn hooks_are_judged_on_every_setting() {
        assert!(
            hook_problems(
                &hook("json", true, &["issues", "issue_comment"]),
                true,
                &GITHUB_EVENTS
            )
            .is_empty()
        );
        assert!(hook_problems(&hook("json", true, &["*"]), true, &GITHUB_EVENTS).is_empty());
        let p = hook_problems(&hook("form", false, &["push"]), true, &GITHUB_EVENTS);
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p[0].contains("content type form"));
        assert!(p[2].contains("issues, issue_comment"));
        let p = hook_problems(&hook("json", true, &["issues"]), false, &GITHUB_EVENTS);
        assert_eq!(p.len(), 2, "{p:?}");
    }

    fn projects_config() -> Config {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config/github-projects.toml"
        ))
        .expect("example config");
        Config::from_toml_str(&text, Vec::new()).expect("loads")
    }

    #[test]
    fn github_projects_needs_the_project_right_of_a_token_or_an_app() {
        let cfg = projects_config();
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        let mut r = Report::default();
        check_scopes(
            &cfg,
            Some(&s(&["repo", "read:org", "read:project"])),
            &mut r,
        );
        let line = |r: &Report, item: &str| {
            r.findings
                .iter()
                .find(|f| f.item == item)
                .map(|f| (f.verdict, f.blocking))
        };
        assert_eq!(line(&r, "scope project"), Some((Verdict::Missing, true)));
        assert_eq!(
            line(&r, "scope admin:org_hook"),
            Some((Verdict::Missing, false))
        );
        let mut r = Report::default();
        check_scopes(
            &cfg,
            Some(&s(&["repo", "read:org", "project", "admin:org_hook"])),
            &mut r,
        );
        assert!(!r.blocked(), "{r:?}");
        assert_eq!(line(&r, "scope admin:org_hook"), None);

        let perms = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(k, l)| ((*k).to_owned(), (*l).to_owned()))
                .collect::<std::collections::BTreeMap<_, _>>()
        };
        let base = [
            ("issues", "write"),
            ("metadata", "read"),
            ("contents", "write"),
            ("members", "read"),
        ];
        let mut r = Report::default();
        check_app_permissions(
            &cfg,
            &perms(&[&base[..], &[("organization_projects", "read")]].concat()),
            &mut r,
        );
        assert_eq!(
            line(&r, "App permission organization_projects"),
            Some((Verdict::Missing, true))
        );
        assert_eq!(
            line(&r, "App permission organization_hooks"),
            Some((Verdict::Missing, false))
        );
        let mut r = Report::default();
        check_app_permissions(
            &cfg,
            &perms(
                &[
                    &base[..],
                    &[
                        ("organization_projects", "admin"),
                        ("organization_hooks", "write"),
                    ],
                ]
                .concat(),
            ),
            &mut r,
        );
        assert!(!r.blocked(), "{r:?}");
    }

    #[test]
    fn scope_hierarchy() {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert!(has_scope(&s(&["repo"]), "public_repo"));
        assert!(has_scope(&s(&["admin:org"]), "read:org"));
        assert!(has_scope(&s(&["admin:repo_hook"]), "read:repo_hook"));
        assert!(!has_scope(&s(&["repo"]), "read:org"));
        assert!(!has_scope(&s(&["read:repo_hook"]), "write:repo_hook"));
        assert!(has_scope(&s(&["project"]), "read:project"));
        assert!(!has_scope(&s(&["read:project"]), "project"));
        assert!(has_scope(&s(&["admin:org_hook"]), "read:org_hook"));
    }
}
