//! The Jira half of `doctor`: the account, each project, issue types, the Epic Link /
//! parent mode, the Sprint field, the configured statuses and the admin webhook.
//! Read-only: every call is a GET through [`JiraClient`].

use secrecy::ExposeSecret;

use super::needs::{self, JIRA_EVENTS, JIRA_WEBHOOK_NAME};
use super::report::{Finding, Report, Verdict};
use crate::config::{Config, EpicLink, JiraConfig};
use crate::tracker::jira::client::{JiraWebhook, Named};
use crate::tracker::jira::{JiraClient, JiraError};

const AREA: &str = "jira";

fn failed(item: &str, e: &JiraError, fix_missing: &str) -> Finding {
    match e.status() {
        Some(404) => Finding::blocks(AREA, item, Verdict::Missing, e.to_string(), fix_missing),
        Some(401) => Finding::blocks(
            AREA,
            item,
            Verdict::Wrong,
            e.to_string(),
            "the Jira credentials are refused: check jira.auth (Cloud: email + API token; Data Center: a personal access token)",
        ),
        Some(403) => Finding::blocks(
            AREA,
            item,
            Verdict::Wrong,
            e.to_string(),
            "the Jira account lacks a permission: Browse projects, Create issues, Edit issues, Transition issues, Add comments",
        ),
        _ => Finding::blocks(
            AREA,
            item,
            Verdict::Unchecked,
            e.to_string(),
            "Jira did not answer: check jira.base_url and the network, then run doctor again",
        ),
    }
}

fn has(list: &[Named], id_or_name: &str) -> bool {
    list.iter()
        .any(|n| n.id == id_or_name || n.name.eq_ignore_ascii_case(id_or_name))
}

/// Runs the Jira checks into `report`.
pub async fn check(cfg: &Config, jira: &JiraClient, report: &mut Report) {
    let Some(jc) = cfg.jira.as_ref() else {
        return report.push(Finding::advises(
            AREA,
            "config",
            Verdict::Missing,
            crate::config::NO_JIRA,
            "add [jira] or choose another [tracker] kind",
        ));
    };
    match jira.myself().await {
        Ok(_) => report.push(Finding::ok(AREA, "account", "credentials accepted")),
        Err(e) => {
            report.push(failed("account", &e, "check jira.base_url"));
            return;
        }
    }
    let fields = jira.fields().await;
    check_sprint_field(jc, fields.as_deref(), report);
    let statuses = needs::target_statuses(cfg);
    for key in needs::jira_projects(cfg) {
        let item = format!("project {key}");
        let project_id = match jira.project(&key).await {
            Ok(p) => {
                report.push(Finding::ok(AREA, &item, p.name));
                p.id
            }
            Err(e) => {
                report.push(failed(
                    &item,
                    &e,
                    "create the project or fix jira.epic_project / teams.*.jira_project; the account needs Browse projects there",
                ));
                continue;
            }
        };
        let epics = key == jc.epic_project;
        let stories = cfg
            .teams
            .values()
            .any(|t| t.jira_project.as_deref() == Some(key.as_str()));
        let mut types = Vec::new();
        if epics {
            types.push(("jira.epic_issue_type", jc.epic_issue_type.as_str()));
        }
        if stories {
            types.push(("jira.story_issue_type", jc.story_issue_type.as_str()));
        }
        let available = match jira.create_issue_types(&key).await {
            Ok(t) => t,
            Err(e) => {
                report.push(failed(
                    &format!("{key} issue types"),
                    &e,
                    "grant Create issues",
                ));
                continue;
            }
        };
        let mut type_ids = Vec::new();
        for (config_key, name) in types {
            let item = format!("{key} issue type {name}");
            let Some(t) = available.iter().find(|t| t.name.eq_ignore_ascii_case(name)) else {
                report.push(Finding::blocks(
                    AREA,
                    item,
                    Verdict::Missing,
                    format!(
                        "the account cannot create it here; available: {}",
                        available
                            .iter()
                            .map(|t| t.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    format!("add it to the project's issue type scheme or change {config_key}"),
                ));
                continue;
            };
            report.push(Finding::ok(AREA, &item, format!("id {}", t.id)));
            check_link_fields(jc, jira, &key, t, config_key, report).await;
            type_ids.push((t.name.clone(), t.id.clone()));
        }
        check_statuses(jc, jira, &key, epics, stories, &statuses, report).await;
        for (name, id) in &type_ids {
            check_reachable(jira, &key, &project_id, (name, id), &statuses, report).await;
        }
    }
    check_webhook(cfg, jc, jira, report).await;
}

fn check_sprint_field(jc: &JiraConfig, fields: Result<&[Named], &JiraError>, report: &mut Report) {
    let want = &jc.sprint_field;
    let item = format!("sprint field {want}");
    match fields {
        Ok(fields) if fields.iter().any(|f| &f.id == want) => {
            report.push(Finding::ok(AREA, item, "exists"))
        }
        Ok(fields) => {
            let sprints: Vec<&str> = fields
                .iter()
                .filter(|f| f.name.eq_ignore_ascii_case("sprint"))
                .map(|f| f.id.as_str())
                .collect();
            report.push(Finding::advises(
                AREA,
                item,
                Verdict::Missing,
                format!(
                    "no such field; fields named Sprint: {}",
                    if sprints.is_empty() {
                        "none".into()
                    } else {
                        sprints.join(", ")
                    }
                ),
                "set jira.sprint_field to the Sprint field's id (sprints then show on the issue)",
            ))
        }
        Err(e) => report.push(failed(&item, e, "check jira.sprint_field")),
    }
}

/// Cloud: stories need `parent` on their create screen. Data Center: stories need the Epic
/// Link field and epics the Epic Name field.
async fn check_link_fields(
    jc: &JiraConfig,
    jira: &JiraClient,
    project: &str,
    t: &Named,
    config_key: &str,
    report: &mut Report,
) {
    let is_epic = config_key == "jira.epic_issue_type";
    let wanted: Vec<(&str, &str)> = match (&jc.epic_link, is_epic) {
        (EpicLink::Parent, false) => vec![("parent", "jira.epic_link (parent)")],
        (EpicLink::Parent, true) => vec![],
        (
            EpicLink::CustomField {
                epic_link_field, ..
            },
            false,
        ) => {
            vec![(epic_link_field.as_str(), "jira.epic_link.epic_link_field")]
        }
        (
            EpicLink::CustomField {
                epic_name_field, ..
            },
            true,
        ) => {
            vec![(epic_name_field.as_str(), "jira.epic_link.epic_name_field")]
        }
    };
    if wanted.is_empty() {
        return;
    }
    let fields = match jira.create_fields(project, &t.id).await {
        Ok(f) => f,
        Err(e) => {
            return report.push(failed(
                &format!("{project} {} fields", t.name),
                &e,
                "grant Create issues",
            ));
        }
    };
    for (field, key) in wanted {
        let item = format!("{project} {} field {field}", t.name);
        if has(&fields, field) {
            report.push(Finding::ok(
                AREA,
                item,
                format!("on the create screen ({key})"),
            ));
        } else {
            report.push(Finding::blocks(
                AREA,
                item,
                Verdict::Missing,
                "not on the create screen, so stories cannot be linked to their epic",
                format!("add the field to the {} create screen, or change {key} (Cloud: type = \"parent\"; Data Center: custom_field)", t.name),
            ));
        }
    }
}

async fn check_statuses(
    jc: &JiraConfig,
    jira: &JiraClient,
    project: &str,
    epics: bool,
    stories: bool,
    statuses: &[(&'static str, String)],
    report: &mut Report,
) {
    let per_type = match jira.project_statuses(project).await {
        Ok(s) => s,
        Err(e) => {
            return report.push(failed(
                &format!("{project} statuses"),
                &e,
                "grant Browse projects",
            ));
        }
    };
    let mut types = Vec::new();
    if epics {
        types.push(jc.epic_issue_type.as_str());
    }
    if stories {
        types.push(jc.story_issue_type.as_str());
    }
    for ty in types {
        let Some(workflow) = per_type.iter().find(|t| t.name.eq_ignore_ascii_case(ty)) else {
            continue; // reported by the issue type check
        };
        let missing: Vec<String> = statuses
            .iter()
            .filter(|(_, s)| !has(&workflow.statuses, s))
            .map(|(k, s)| format!("{s} ({k})"))
            .collect();
        let item = format!("{project} {ty} statuses");
        if missing.is_empty() {
            report.push(Finding::ok(
                AREA,
                item,
                format!(
                    "the workflow has {}",
                    statuses
                        .iter()
                        .map(|(_, s)| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        } else {
            report.push(Finding::blocks(
                AREA,
                item,
                Verdict::Missing,
                format!("not in the workflow: {}", missing.join(", ")),
                "add the status to the workflow, or change the named key to one the workflow has",
            ));
        }
    }
}

/// Whether the workflow of `issue_type` (name, id) in `project` lets the daemon move an
/// issue from the status a new one starts in to every configured status.
async fn check_reachable(
    jira: &JiraClient,
    project: &str,
    project_id: &str,
    (type_name, type_id): (&str, &str),
    statuses: &[(&'static str, String)],
    report: &mut Report,
) {
    let item = format!("{project} {type_name} transitions");
    let names: Vec<&str> = statuses.iter().map(|(_, s)| s.as_str()).collect();
    let by_hand = format!(
        "open the {project} workflow of {type_name} and check that a transition reaches each of {} from the status a new issue starts in",
        names.join(", ")
    );
    let workflow = match jira.workflow_of(project_id, type_id).await {
        Ok(Some(w)) => w,
        Ok(None) => {
            return report.push(Finding::advises(
                AREA,
                item,
                Verdict::Unchecked,
                "the project's workflow scheme names no workflow for this issue type",
                by_hand,
            ));
        }
        Err(e) if matches!(e.status(), Some(401 | 403 | 404)) => {
            // Data Center has no workflow routes (404); Cloud's need Administer Jira.
            let why = format!(
                "the workflow could not be read ({e}; Cloud needs Administer Jira, Data Center has no such route)"
            );
            return check_reachable_by_issues(jira, project, type_name, statuses, &why, report)
                .await;
        }
        Err(e) => return report.push(failed(&item, &e, "grant Administer Jira")),
    };
    let reach = super::workflow::reach(&workflow, &names);
    let start = reach.start.as_deref().unwrap_or("(no initial transition)");
    if reach.unreachable.is_empty() {
        report.push(Finding::ok(
            AREA,
            item,
            format!("from {start}, transitions reach {}", names.join(", ")),
        ));
    } else {
        let keys: Vec<String> = reach
            .unreachable
            .iter()
            .map(|s| key_of(statuses, s))
            .collect();
        report.push(Finding::blocks(
            AREA,
            item,
            Verdict::Wrong,
            format!("from {start}, no transition reaches {}", keys.join(", ")),
            format!(
                "in the {project} workflow of {type_name}, add a transition into each (or make one global), or name statuses the workflow reaches in the config keys shown"
            ),
        ));
    }
}

/// The config key naming status `s` (`sync.statuses` for the map's keys).
fn key_of(statuses: &[(&'static str, String)], s: &str) -> String {
    let key = statuses
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(s))
        .map_or("sync.statuses", |(k, _)| k);
    format!("{s} ({key})")
}

/// What issues of `type_name` in `project` show of their workflow: one issue per status
/// (the first page of a search), and each one's transitions.
async fn observe(
    jira: &JiraClient,
    project: &str,
    type_name: &str,
) -> Result<super::workflow::Observed, JiraError> {
    use crate::tracker::jira::jql::quote;
    let jql = format!(
        "project = {} AND issuetype = {} ORDER BY updated DESC",
        quote(project),
        quote(type_name)
    );
    let issues = jira.search_until(&jql, &["status"], &|_| true).await?;
    let mut sample: std::collections::BTreeMap<String, (String, String, String)> =
        std::collections::BTreeMap::new();
    for i in issues {
        if let Some(st) = i.fields.status {
            sample.entry(st.name.to_lowercase()).or_insert((
                st.name,
                i.key,
                st.status_category.key,
            ));
        }
    }
    let mut o = super::workflow::Observed::default();
    for (name, key, category) in sample.into_values() {
        let to = jira
            .transitions(&key)
            .await?
            .into_iter()
            .filter_map(|t| t.to.map(|s| s.name))
            .collect();
        if category == "new" {
            o.start.push(name.clone());
        }
        o.moves.insert(name, to);
    }
    Ok(o)
}

/// The reachability check through issues' own transitions (see [`super::workflow`]'s note),
/// when the workflow itself cannot be read (`why`).
async fn check_reachable_by_issues(
    jira: &JiraClient,
    project: &str,
    type_name: &str,
    statuses: &[(&'static str, String)],
    why: &str,
    report: &mut Report,
) {
    let item = format!("{project} {type_name} transitions");
    // Statuses the workflow lacks are the statuses check's to report.
    let in_workflow: Vec<&str> = match jira.project_statuses(project).await {
        Ok(per_type) => statuses
            .iter()
            .map(|(_, s)| s.as_str())
            .filter(|s| {
                per_type
                    .iter()
                    .filter(|t| t.name.eq_ignore_ascii_case(type_name))
                    .any(|t| has(&t.statuses, s))
            })
            .collect(),
        Err(e) => return report.push(failed(&item, &e, "grant Browse projects")),
    };
    let by_hand = format!(
        "open the {project} workflow of {type_name} and check that a transition reaches each of {} from the status a new issue starts in",
        in_workflow.join(", ")
    );
    let observed = match observe(jira, project, type_name).await {
        Ok(o) => o,
        Err(e) => return report.push(failed(&item, &e, "grant Browse projects")),
    };
    if observed.start.is_empty() {
        return report.push(Finding::advises(
            AREA,
            item,
            Verdict::Unchecked,
            format!(
                "{why}; and no {type_name} in {project} sits in a To Do status to read transitions from"
            ),
            by_hand,
        ));
    }
    let r = super::workflow::reach_observed(&observed, &in_workflow);
    let start = observed.start.join(" or ");
    if r.unreachable.is_empty() {
        report.push(Finding::ok(
            AREA,
            item,
            format!(
                "from {start}, the transitions of existing issues reach {}",
                in_workflow.join(", ")
            ),
        ));
    } else if r.blind.is_empty() {
        let keys: Vec<String> = r.unreachable.iter().map(|s| key_of(statuses, s)).collect();
        report.push(Finding::blocks(
            AREA,
            item,
            Verdict::Wrong,
            format!(
                "from {start}, no transition reaches {} (read from an issue in each status reached)",
                keys.join(", ")
            ),
            format!(
                "in the {project} workflow of {type_name}, add a transition into each (or make one global), or name statuses the workflow reaches in the config keys shown"
            ),
        ));
    } else {
        report.push(Finding::advises(
            AREA,
            item,
            Verdict::Unchecked,
            format!(
                "{why}; existing issues' transitions from {start} do not reach {}, and no issue sits in {} to read its transitions",
                r.unreachable.join(", "),
                r.blind.join(", ")
            ),
            by_hand,
        ));
    }
}

/// What is wrong with a registered Jira webhook, or empty.
pub fn webhook_problems(h: &JiraWebhook) -> Vec<String> {
    let mut out = Vec::new();
    if h.enabled == Some(false) {
        out.push("disabled".to_owned());
    }
    if h.exclude_body {
        out.push("excludes the body".to_owned());
    }
    let missing: Vec<&str> = JIRA_EVENTS
        .iter()
        .copied()
        .filter(|e| !h.events.iter().any(|x| x == e))
        .collect();
    if !missing.is_empty() {
        out.push(format!("not subscribed to {}", missing.join(", ")));
    }
    out
}

async fn check_webhook(cfg: &Config, jc: &JiraConfig, jira: &JiraClient, report: &mut Report) {
    let item = "webhook";
    let fix = "run `council-sync setup` as a Jira administrator, or register it by hand (see README \"Run it for real\")";
    let hooks = match jira.list_webhooks().await {
        Ok(h) => h,
        Err(e) if matches!(e.status(), Some(401 | 403)) => {
            return report.push(Finding::advises(
                AREA,
                item,
                Verdict::Unchecked,
                "only a Jira administrator can see webhooks; the daemon still polls Jira every sync.poll_interval",
                "ask a Jira administrator to check System → WebHooks, or run doctor with an admin account",
            ));
        }
        Err(e) => return report.push(failed(item, &e, fix)),
    };
    let token = jc.webhook_token().ok().flatten();
    let want = needs::jira_hook_url(cfg, token.as_ref().map(|t| t.expose_secret()));
    let ours = hooks.iter().find(|h| match &want {
        Some(u) => h.url.trim_end_matches('/') == u,
        None => h.url.contains("/webhooks/jira") || h.name == JIRA_WEBHOOK_NAME,
    });
    match ours {
        None => report.push(Finding::advises(
            AREA,
            item,
            Verdict::Missing,
            "no webhook to the daemon: Jira changes arrive only by polling (every sync.poll_interval)",
            fix,
        )),
        Some(h) => {
            let problems = webhook_problems(h);
            let url = needs::redact(&h.url);
            if problems.is_empty() {
                report.push(Finding::ok(AREA, item, url));
            } else {
                report.push(Finding::advises(
                    AREA,
                    item,
                    Verdict::Wrong,
                    format!("{url}: {}", problems.join("; ")),
                    fix,
                ));
            }
        }
    }
}
