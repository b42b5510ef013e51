//! [`JiraTracker`]: the engine's [`Tracker`] on Jira.
//!
//! Idempotency: every create is preceded by a JQL search for the marker label, and a create
//! that failed transiently is followed by a new search before it is tried again, so a lost
//! answer (the issue was made, the response never arrived) cannot produce a duplicate. On a
//! search that trails creation (Jira Cloud), the attempt record and the consistency wait of
//! [`super::attempts`] keep "not found yet" from being read as "not made".

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use secrecy::SecretString;
use serde_json::Value;

use std::time::Duration;

use super::attempts::{self, CreateAttempts, Gate};
use super::auth::JiraCredentials;
use super::client::{BULK_LIMIT, BulkItem, JiraClient};
use super::error::JiraError;
use super::jql;
use super::model::limits;
use super::model::{
    Issue, KeyRef, NameRef, NewIssueFields, RemoteApplication, RemoteLinkRequest, RemoteObject,
};
use super::progress::ProgressRules;
use crate::config::{EpicLink, JiraApiVersion, JiraConfig, TeamConfig};
use crate::retry::{RetryHint, RetryPolicy, Retryable};
use crate::store::{CreateOutcome, Store};
use crate::tracker::{
    Cue, CueError, EpicRequest, ListPage, StoryRequest, TrackedIssue, Tracker, TrackerDelivery,
    TrackerError, TrackerIssue,
};

/// Label put on everything the daemon creates, so people can find (and filter) it.
pub const SYNC_LABEL: &str = "council-sync";
/// Fields a marker search needs.
const MARKER_FIELDS: &[&str] = &["labels", "project", "issuetype"];

/// Where one team's stories go in Jira (`[teams.NAME] jira_project`, `component`).
#[derive(Debug, Clone, Copy)]
struct JiraTeam<'a> {
    project: &'a str,
    component: Option<&'a str>,
}

/// Jira as the engine's tracker.
#[derive(Debug, Clone)]
pub struct JiraTracker {
    client: JiraClient,
    policy: RetryPolicy,
    epic_project: String,
    epic_type: String,
    story_type: String,
    epic_link: EpicLink,
    teams: BTreeMap<String, TeamConfig>,
    /// The sprint custom field (`customfield_10020` on most Cloud sites).
    pub(super) sprint_field: String,
    /// Status → progress (`[sync.statuses]`, then `[sync.status_categories]`).
    progress: ProgressRules,
    /// The record of creates whose outcome may be unknown (see [`super::attempts`]).
    attempts: Option<CreateAttempts>,
    /// GitHub login → Jira account (`[users]`), for the stories' reporter.
    users: BTreeMap<String, String>,
    /// Projects where Jira refused a reporter on create; shared by clones.
    reporter_refused: Arc<Mutex<BTreeSet<String>>>,
    /// The time zone Jira reads JQL dates in for the daemon's account (its profile's
    /// `timeZone`, read once from `GET /myself`); shared by clones.
    pub(super) jql_zone: Arc<tokio::sync::OnceCell<jiff::tz::TimeZone>>,
    /// Story markers settled by the epic's search a moment ago ([`LookedUp`]); shared by
    /// clones.
    looked_up: Arc<Mutex<HashMap<String, LookedUp>>>,
}

/// How long a story marker's settlement from the epic's search stands in for a search of
/// its own. The stories are created right after the epic (its create and record take
/// milliseconds); an older one is searched again.
const LOOKED_UP_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// Markers settled ahead and not taken yet, at most (beyond it the expired ones go).
const LOOKED_UP_MAX: usize = 1024;

/// What the epic's search said of one story marker: the issue that carries it, or that it
/// may be created (no earlier attempt, or one known to have made nothing). A marker whose
/// earlier attempt's outcome was unknown is never kept: its stories search again.
#[derive(Debug, Clone)]
struct LookedUp {
    at: std::time::Instant,
    found: Option<Issue>,
}

impl JiraTracker {
    /// A tracker from the `[jira]` config, its resolved secret, the `[teams]` map and the
    /// status → progress rules of `[sync]` ([`ProgressRules::from_config`]).
    pub fn new(
        cfg: &JiraConfig,
        secret: SecretString,
        teams: &BTreeMap<String, TeamConfig>,
        progress: ProgressRules,
        policy: RetryPolicy,
    ) -> Result<Self, JiraError> {
        let credentials = JiraCredentials::from_config(&cfg.auth, secret);
        let client = JiraClient::new(&cfg.base_url, credentials, cfg.api_version, policy.clone())?;
        Ok(Self::with_client(client, cfg, teams, progress, policy))
    }

    /// The same tracker pacing its calls at `[limits.jira]`.
    pub fn with_limits(mut self, limits: &crate::config::JiraLimits) -> Self {
        self.client = self
            .client
            .with_rate_limiter(super::client::rate_limiter(limits));
        self
    }

    /// A tracker over an existing client (shared limiter, tests).
    pub fn with_client(
        client: JiraClient,
        cfg: &JiraConfig,
        teams: &BTreeMap<String, TeamConfig>,
        progress: ProgressRules,
        policy: RetryPolicy,
    ) -> Self {
        Self {
            client,
            policy,
            progress,
            epic_project: cfg.epic_project.clone(),
            epic_type: cfg.epic_issue_type.clone(),
            story_type: cfg.story_issue_type.clone(),
            epic_link: cfg.epic_link.clone(),
            teams: teams.clone(),
            sprint_field: cfg.sprint_field.clone(),
            attempts: None,
            users: BTreeMap::new(),
            reporter_refused: Arc::default(),
            jql_zone: Arc::default(),
            looked_up: Arc::default(),
        }
    }

    /// Makes the deciding member each story's reporter through `users` (`[users]`: GitHub
    /// login → Cloud accountId or Data Center user name).
    pub fn with_users(mut self, users: &BTreeMap<String, String>) -> Self {
        self.users = users.clone();
        self
    }

    /// Guards creates with the attempt record in `store` and `[jira]`'s consistency window
    /// and wait (see [`super::attempts`]).
    pub fn with_create_attempts(mut self, store: Store, cfg: &JiraConfig) -> Self {
        self.attempts = Some(CreateAttempts {
            store,
            window: cfg.search_consistency_window,
            wait: cfg.search_consistency_wait,
        });
        self
    }

    /// How this tracker judges a status's progress.
    pub fn progress_rules(&self) -> &ProgressRules {
        &self.progress
    }

    /// The underlying client, for status reads, transitions and comments.
    pub fn client(&self) -> &JiraClient {
        &self.client
    }

    fn to_tracker_issue(&self, key: &str, id: &str, team: Option<&str>) -> TrackerIssue {
        TrackerIssue {
            key: key.to_owned(),
            id: id.to_owned(),
            url: self.client.browse_url(key),
            team: team.map(str::to_owned),
        }
    }

    /// Searches `q` for issues carrying `markers`, asking for read-after-write consistency of
    /// the `known` ids (Cloud's `reconcileIssues`; on Data Center they are read directly).
    /// Returns the oldest issue per marker (the query orders by created), matching labels
    /// exactly (some Jira versions match labels case-insensitively).
    async fn search_markers(
        &self,
        q: &str,
        markers: &[&str],
        known: &[u64],
    ) -> Result<HashMap<String, Issue>, JiraError> {
        let mut found = self
            .client
            .search_all_reconciled(q, MARKER_FIELDS, known)
            .await?;
        if self.client.version() == JiraApiVersion::V2 {
            for id in known {
                if found.iter().any(|i| i.id == id.to_string()) {
                    continue;
                }
                match self.client.get_issue(&id.to_string(), MARKER_FIELDS).await {
                    Ok(issue) => found.push(issue),
                    Err(e) if e.status() == Some(404) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let mut by_marker = HashMap::new();
        for issue in found {
            for marker in markers {
                if issue.fields.labels.iter().any(|l| l == marker) {
                    by_marker
                        .entry((*marker).to_owned())
                        .or_insert_with(|| issue.clone());
                }
            }
        }
        Ok(by_marker)
    }

    /// What may be created for `markers` (see [`super::attempts`]): searches (with the ids
    /// the attempt record knows), records what it finds, and waits (bounded by
    /// `search_consistency_wait`) while a marker's earlier attempt has an unknown outcome
    /// inside the consistency window; what is still unknown then is parked.
    async fn settle(&self, q: &str, markers: &[&str]) -> Result<Settled, JiraError> {
        self.settle_ahead(q, markers, markers.len()).await
    }

    /// [`JiraTracker::settle`] for the first `own` of `markers`; the rest are only looked
    /// up ahead in the same search: one whose earlier attempt's outcome is unknown is left
    /// out of `create` and `waiting` alike (neither waited for nor parked here: its own
    /// settle does that when its turn comes).
    async fn settle_ahead(
        &self,
        q: &str,
        markers: &[&str],
        own: usize,
    ) -> Result<Settled, JiraError> {
        let deadline = self
            .attempts
            .as_ref()
            .map(|a| tokio::time::Instant::now() + a.wait);
        loop {
            let records = match &self.attempts {
                Some(a) => a.store.create_attempts(markers).await?,
                None => Vec::new(),
            };
            let found = self
                .search_markers(q, markers, &attempts::known_ids(&records))
                .await?;
            let record = |m: &str| records.iter().find(|r| r.marker == m);
            let mut settled = Settled::default();
            for (i, marker) in markers.iter().enumerate() {
                if let Some(issue) = found.get(*marker) {
                    let known = matches!(record(marker).map(|r| &r.outcome), Some(CreateOutcome::Created { id, .. }) if *id == issue.id);
                    if let (Some(a), false) = (&self.attempts, known) {
                        a.store
                            .record_created(marker, &issue.id, &issue.key)
                            .await?;
                    }
                    continue;
                }
                let window = self.attempts.as_ref().map_or(Duration::ZERO, |a| a.window);
                let gate = attempts::gate(record(marker), crate::store::now_ms(), window);
                if i >= own && gate != Gate::Create {
                    continue;
                }
                match gate {
                    Gate::Create => settled.create.push((*marker).to_owned()),
                    Gate::TrustSearch => {
                        if let Some(a) = &self.attempts {
                            tracing::warn!(
                                marker,
                                "an earlier create left no issue that search shows after the consistency window; creating again"
                            );
                            a.store.record_absent(marker).await?;
                        }
                        settled.create.push((*marker).to_owned());
                    }
                    Gate::Wait => settled.waiting.push((*marker).to_owned()),
                }
            }
            settled.found = found;
            let out_of_time = deadline.is_none_or(|d| tokio::time::Instant::now() >= d);
            if settled.waiting.is_empty() || out_of_time {
                if let Some(a) = &self.attempts {
                    for marker in &settled.waiting {
                        tracing::warn!(
                            marker,
                            "create outcome still unknown after the consistency wait; parked"
                        );
                        a.store.park_create_attempt(marker).await?;
                    }
                }
                return Ok(settled);
            }
            tokio::time::sleep(attempts::SEARCH_POLL).await;
        }
    }

    /// Claims and records the attempt before a create request goes out; returns the markers
    /// this worker may create now (all of them without an attempt record). A marker another
    /// worker is creating right now is left out (see `Store::begin_create_attempts`).
    async fn begin_attempts(&self, markers: &[&str]) -> Result<Vec<String>, JiraError> {
        match &self.attempts {
            Some(a) => Ok(a.store.begin_create_attempts(markers, a.window).await?),
            None => Ok(markers.iter().map(|m| (*m).to_owned()).collect()),
        }
    }

    /// Records a create's answer: the issue, or (for a refusal) that nothing was made.
    async fn record_answer(
        &self,
        marker: &str,
        answer: Result<(&str, &str), Option<u16>>,
    ) -> Result<(), JiraError> {
        let Some(a) = &self.attempts else {
            return Ok(());
        };
        match answer {
            Ok((id, key)) => a.store.record_created(marker, id, key).await?,
            Err(Some(status)) if (400..500).contains(&status) => {
                a.store.record_absent(marker).await?
            }
            Err(_) => {}
        }
        Ok(())
    }

    fn epic_fields(&self, req: &EpicRequest) -> NewIssueFields {
        let mut custom = BTreeMap::new();
        if let EpicLink::CustomField {
            epic_name_field, ..
        } = &self.epic_link
        {
            custom.insert(
                epic_name_field.clone(),
                Value::String(limits::fit_line(&req.summary, limits::SUMMARY)),
            );
        }
        NewIssueFields {
            project: KeyRef {
                key: self.epic_project.clone(),
            },
            issuetype: NameRef {
                name: self.epic_type.clone(),
            },
            summary: limits::fit_line(&req.summary, limits::SUMMARY),
            description: Some(self.client.body_from_markdown(&req.description_md)),
            labels: vec![req.marker.clone(), SYNC_LABEL.to_owned()],
            components: vec![],
            parent: None,
            reporter: None,
            custom,
        }
    }

    /// The reporter field for a GitHub login through `[users]` (Cloud: accountId, Data
    /// Center: user name), or `None` when the login has no mapping.
    fn reporter_of(&self, login: &str) -> Option<Value> {
        let account = self.users.get(login)?;
        let field = match self.client.version() {
            JiraApiVersion::V3 => "accountId",
            JiraApiVersion::V2 => "name",
        };
        Some(serde_json::json!({ field: account }))
    }

    /// Whether `project` refused a reporter before (then none is sent there again).
    fn refuses_reporter(&self, project: &str) -> bool {
        self.reporter_refused
            .lock()
            .is_ok_and(|set| set.contains(project))
    }

    /// A story's fields. With `reporter`, the submitting member becomes the reporter when
    /// `[users]` maps them; otherwise (or without `reporter`) the description says
    /// "Submitted for the council by @login" and Jira's default reporter stands.
    fn story_fields(
        &self,
        epic: &TrackerIssue,
        req: &StoryRequest,
        team: &JiraTeam<'_>,
        reporter: bool,
    ) -> NewIssueFields {
        let reporter = req
            .submitted_by
            .as_deref()
            .filter(|_| reporter && !self.refuses_reporter(team.project))
            .and_then(|login| self.reporter_of(login));
        let description_md = match (&reporter, req.submitted_by.as_deref()) {
            (None, Some(login)) => format!(
                "{}\n\n{}\n",
                req.description_md.trim_end(),
                crate::tracker::submitted_note(login)
            ),
            _ => req.description_md.clone(),
        };
        let mut custom = BTreeMap::new();
        let mut parent = None;
        match &self.epic_link {
            EpicLink::Parent => {
                parent = Some(KeyRef {
                    key: epic.key.clone(),
                })
            }
            EpicLink::CustomField {
                epic_link_field, ..
            } => {
                custom.insert(epic_link_field.clone(), Value::String(epic.key.clone()));
            }
        }
        NewIssueFields {
            project: KeyRef {
                key: team.project.to_owned(),
            },
            issuetype: NameRef {
                name: self.story_type.clone(),
            },
            summary: limits::fit_line(&req.summary, limits::SUMMARY),
            description: Some(self.client.body_from_markdown(&description_md)),
            labels: vec![req.marker.clone(), SYNC_LABEL.to_owned()],
            components: team
                .component
                .iter()
                .map(|name| NameRef {
                    name: (*name).to_owned(),
                })
                .collect(),
            parent,
            reporter,
            custom,
        }
    }

    /// Creates the stories `chunk` (indices into `reqs`) in one bulk call, the submitting
    /// member as reporter. Elements Jira refuses only for the reporter (not on the create
    /// screen, no "Modify Reporter" permission, or an account it does not know) were not
    /// created, so they are sent once more without it, saying who submitted them in the
    /// description instead; their project is then remembered and gets no reporter again.
    async fn create_stories_bulk(
        &self,
        epic: &TrackerIssue,
        reqs: &[StoryRequest],
        teams: &[JiraTeam<'_>],
        chunk: &[usize],
    ) -> Result<Vec<BulkItem>, JiraError> {
        let fields: Vec<NewIssueFields> = chunk
            .iter()
            .map(|&i| self.story_fields(epic, &reqs[i], &teams[i], true))
            .collect();
        let mut results = self.client.create_issues_bulk(&fields).await?;
        let refused: Vec<usize> = (0..results.len())
            .filter(|&n| {
                fields[n].reporter.is_some()
                    && matches!(&results[n], Err(e) if e.element_errors.errors.contains_key("reporter"))
            })
            .collect();
        if refused.is_empty() {
            return Ok(results);
        }
        for &n in &refused {
            let project = teams[chunk[n]].project;
            tracing::warn!(
                project,
                reason = %results[n].as_ref().err().map(|e| e.element_errors.reason()).unwrap_or_default(),
                "Jira refused the story's reporter; the story says who submitted it instead"
            );
            if let Ok(mut set) = self.reporter_refused.lock() {
                set.insert(project.to_owned());
            }
        }
        let again: Vec<NewIssueFields> = refused
            .iter()
            .map(|&n| self.story_fields(epic, &reqs[chunk[n]], &teams[chunk[n]], false))
            .collect();
        let retried = self.client.create_issues_bulk(&again).await?;
        for (&n, result) in refused.iter().zip(retried) {
            results[n] = result;
        }
        Ok(results)
    }

    async fn link_to_github(&self, key: &str, req: &EpicRequest) -> Result<(), JiraError> {
        let link = RemoteLinkRequest {
            global_id: req.github_url.clone(),
            object: RemoteObject {
                url: req.github_url.clone(),
                title: limits::fit_line(&req.github_title, limits::SUMMARY),
            },
            application: Some(RemoteApplication {
                kind: "com.github".into(),
                name: "GitHub".into(),
            }),
            relationship: Some("raised in".into()),
        };
        self.client.put_remote_link(key, &link).await.map(|_| ())
    }

    async fn find_or_create(&self, req: &EpicRequest) -> Result<TrackerIssue, TrackerError> {
        let marker = req.marker.as_str();
        // The stories that follow are looked up in the same search (one call, not two):
        // their create, a moment later, starts from what it found.
        let q = jql::epic_and_markers(
            &self.epic_project,
            marker,
            &self.epic_type,
            &req.story_markers,
        );
        let mut markers = vec![marker];
        markers.extend(req.story_markers.iter().map(String::as_str));
        let mut attempt = 1;
        loop {
            let settled = self.settle_ahead(&q, &markers, 1).await?;
            self.keep_looked_up(&settled, &req.story_markers);
            if let Some(found) = settled.found.get(marker) {
                return Ok(self.to_tracker_issue(&found.key, &found.id, None));
            }
            if !settled.waiting.is_empty() {
                return Err(attempts::parked(&[marker], self.window()));
            }
            if self.begin_attempts(&[marker]).await?.is_empty() {
                // Another worker is creating it this moment: search again (and wait).
                tokio::time::sleep(attempts::SEARCH_POLL).await;
                continue;
            }
            match self.client.create_issue(&self.epic_fields(req)).await {
                Ok(created) => {
                    self.record_answer(marker, Ok((&created.id, &created.key)))
                        .await?;
                    return Ok(self.to_tracker_issue(&created.key, &created.id, None));
                }
                Err(err) => {
                    self.record_answer(marker, Err(err.status())).await?;
                    self.wait_before_retry("create epic", &mut attempt, err)
                        .await?
                }
            }
        }
    }

    fn window(&self) -> Duration {
        self.attempts.as_ref().map_or(Duration::ZERO, |a| a.window)
    }

    /// Keeps what `settled` says of `story_markers` for the stories' create: found, or
    /// free to create. Those still waiting on an unknown outcome are not kept.
    fn keep_looked_up(&self, settled: &Settled, story_markers: &[String]) {
        if story_markers.is_empty() {
            return;
        }
        let Ok(mut kept) = self.looked_up.lock() else {
            return;
        };
        let now = std::time::Instant::now();
        if kept.len() + story_markers.len() > LOOKED_UP_MAX {
            kept.retain(|_, l| now.duration_since(l.at) < LOOKED_UP_TTL);
        }
        for m in story_markers {
            let found = settled.found.get(m).cloned();
            if found.is_none() && !settled.create.contains(m) {
                kept.remove(m);
                continue;
            }
            if kept.len() < LOOKED_UP_MAX {
                kept.insert(m.clone(), LookedUp { at: now, found });
            }
        }
    }

    /// The settlement of `markers` from the epic's search, when every one of them was
    /// looked up less than [`LOOKED_UP_TTL`] ago; taken (a retry searches). `None`: search.
    ///
    /// Why skipping the search is safe: it would only repeat what the epic's search found
    /// a moment ago. A marker found then still has its issue. A marker free then can have
    /// been created since only by a worker that claimed its attempt record first
    /// (`Store::begin_create_attempts`, one claim per marker), and this worker's own claim
    /// right before its create then leaves it out: the same guard that covers the time
    /// between any search and its create.
    fn take_looked_up(&self, markers: &[&str]) -> Option<Settled> {
        let mut kept = self.looked_up.lock().ok()?;
        let now = std::time::Instant::now();
        let all_fresh = markers.iter().all(|m| {
            kept.get(*m)
                .is_some_and(|l| now.duration_since(l.at) < LOOKED_UP_TTL)
        });
        let taken: Vec<(&str, Option<LookedUp>)> =
            markers.iter().map(|m| (*m, kept.remove(*m))).collect();
        if !all_fresh {
            return None;
        }
        let mut settled = Settled::default();
        for (marker, looked) in taken {
            match looked.and_then(|l| l.found) {
                Some(issue) => {
                    settled.found.insert(marker.to_owned(), issue);
                }
                None => settled.create.push(marker.to_owned()),
            }
        }
        Some(settled)
    }

    /// Waits before another find-then-create round, or gives the error back when retrying
    /// cannot help or the budget is spent.
    async fn wait_before_retry(
        &self,
        what: &str,
        attempt: &mut u32,
        err: JiraError,
    ) -> Result<(), JiraError> {
        let hint = err.retry_hint();
        if hint == RetryHint::Never || *attempt >= self.policy.attempts {
            return Err(err);
        }
        let wait = self.policy.delay(*attempt, hint);
        tracing::warn!(call = what, attempt = *attempt, wait_ms = wait.as_millis() as u64, error = %err, "create failed; searching for the marker before retrying");
        tokio::time::sleep(wait).await;
        *attempt += 1;
        Ok(())
    }

    /// Creates the stories not found yet; returns every request's issue (or the failures).
    async fn create_missing_stories(
        &self,
        epic: &TrackerIssue,
        reqs: &[StoryRequest],
        teams: &[JiraTeam<'_>],
    ) -> Result<Vec<TrackerIssue>, StoryFailure> {
        let markers: Vec<&str> = reqs.iter().map(|r| r.marker.as_str()).collect();
        let settled = match self.take_looked_up(&markers) {
            Some(settled) => settled,
            None => self
                .settle(&jql::issues_by_markers(&markers), &markers)
                .await
                .map_err(StoryFailure::Call)?,
        };
        let found = &settled.found;
        let missing: Vec<usize> = (0..reqs.len())
            .filter(|&i| settled.create.contains(&reqs[i].marker))
            .collect();
        let mut created: HashMap<usize, TrackerIssue> = HashMap::new();
        let mut failures = Vec::new();
        let mut busy = Vec::new();
        for chunk in missing.chunks(BULK_LIMIT) {
            let wanted: Vec<&str> = chunk.iter().map(|&i| markers[i]).collect();
            let claimed = self
                .begin_attempts(&wanted)
                .await
                .map_err(StoryFailure::Call)?;
            // Stories another worker is creating this moment wait for a later round.
            let chunk: Vec<usize> = chunk
                .iter()
                .copied()
                .filter(|&i| {
                    let mine = claimed.iter().any(|m| m == markers[i]);
                    if !mine {
                        busy.push(markers[i].to_owned());
                    }
                    mine
                })
                .collect();
            if chunk.is_empty() {
                continue;
            }
            let chunk_markers: Vec<&str> = chunk.iter().map(|&i| markers[i]).collect();
            let results = match self.create_stories_bulk(epic, reqs, teams, &chunk).await {
                Ok(results) => results,
                Err(err) => {
                    for marker in &chunk_markers {
                        self.record_answer(marker, Err(err.status()))
                            .await
                            .map_err(StoryFailure::Call)?;
                    }
                    return Err(StoryFailure::Call(err));
                }
            };
            // The chunk's answers are recorded in one commit.
            let mut made: Vec<(&str, String, String)> = Vec::new();
            let mut refused: Vec<&str> = Vec::new();
            for (&i, result) in chunk.iter().zip(results) {
                match result {
                    Ok(issue) => {
                        created.insert(
                            i,
                            self.to_tracker_issue(&issue.key, &issue.id, Some(&reqs[i].team)),
                        );
                        made.push((markers[i], issue.id, issue.key));
                    }
                    Err(e) => {
                        if e.status.is_some_and(|s| (400..500).contains(&s)) {
                            refused.push(markers[i]);
                        }
                        failures.push((i, e.status, e.element_errors.reason()))
                    }
                }
            }
            if let Some(a) = &self.attempts {
                let made: Vec<(&str, &str, &str)> = made
                    .iter()
                    .map(|(m, id, key)| (*m, id.as_str(), key.as_str()))
                    .collect();
                a.store
                    .record_outcomes(&made, &refused)
                    .await
                    .map_err(|e| StoryFailure::Call(e.into()))?;
            }
        }
        if !failures.is_empty() {
            return Err(StoryFailure::Elements(
                failures
                    .into_iter()
                    .map(|(i, status, reason)| (reqs[i].team.clone(), status, reason))
                    .collect(),
            ));
        }
        if !settled.waiting.is_empty() {
            return Err(StoryFailure::Parked(settled.waiting.clone()));
        }
        if !busy.is_empty() {
            return Err(StoryFailure::Call(JiraError::Deferred {
                call: "POST /issue/bulk".into(),
                reason: format!("another worker is creating {} now", busy.join(", ")),
            }));
        }
        let mut out = Vec::with_capacity(reqs.len());
        for (i, req) in reqs.iter().enumerate() {
            if let Some(issue) = found.get(&req.marker) {
                out.push(self.to_tracker_issue(&issue.key, &issue.id, Some(&req.team)));
            } else if let Some(issue) = created.remove(&i) {
                out.push(issue);
            }
        }
        Ok(out)
    }
}

/// What [`JiraTracker::settle`] found a set of markers to be.
#[derive(Debug, Default)]
struct Settled {
    /// Markers search shows, with their (oldest) issue.
    found: HashMap<String, Issue>,
    /// Markers that may be created.
    create: Vec<String>,
    /// Markers whose earlier attempt's outcome is still unknown (parked).
    waiting: Vec<String>,
}

/// How a round of story creation failed.
enum StoryFailure {
    /// A whole call failed.
    Call(JiraError),
    /// Some elements of a bulk create failed: (team, status, reason).
    Elements(Vec<(String, Option<u16>, String)>),
    /// Earlier attempts of these markers have unknown outcomes (parked).
    Parked(Vec<String>),
}

impl StoryFailure {
    fn into_tracker_error(self, window: Duration) -> TrackerError {
        match self {
            Self::Call(e) => e.into(),
            Self::Parked(markers) => {
                let markers: Vec<&str> = markers.iter().map(String::as_str).collect();
                attempts::parked(&markers, window)
            }
            Self::Elements(list) => {
                let reason = list
                    .iter()
                    .map(|(team, status, reason)| {
                        format!("story for team {team} ({}): {reason}", status.unwrap_or(0))
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                let transient = list
                    .iter()
                    .any(|(_, s, _)| s.is_some_and(|s| s == 429 || s >= 500));
                if transient {
                    TrackerError::Transient(reason)
                } else {
                    TrackerError::Permanent {
                        status: list.first().and_then(|(_, s, _)| *s),
                        reason,
                    }
                }
            }
        }
    }
}

impl Tracker for JiraTracker {
    async fn ensure_epic(&self, req: &EpicRequest) -> Result<TrackerIssue, TrackerError> {
        let epic = self.find_or_create(req).await?;
        self.link_to_github(&epic.key, req).await?;
        Ok(epic)
    }

    async fn find_or_create_epic(&self, req: &EpicRequest) -> Result<TrackerIssue, TrackerError> {
        self.find_or_create(req).await
    }

    async fn link_epic(&self, epic: &TrackerIssue, req: &EpicRequest) -> Result<(), TrackerError> {
        Ok(self.link_to_github(&epic.key, req).await?)
    }

    async fn ensure_stories(
        &self,
        epic: &TrackerIssue,
        reqs: &[StoryRequest],
    ) -> Result<Vec<TrackerIssue>, TrackerError> {
        let mut teams = Vec::with_capacity(reqs.len());
        for req in reqs {
            let team = self
                .teams
                .get(&req.team)
                .ok_or_else(|| TrackerError::Permanent {
                    status: None,
                    reason: format!(
                        "team {:?} has no [teams.{}] entry in the config",
                        req.team, req.team
                    ),
                })?;
            let project = team
                .jira_project
                .as_deref()
                .ok_or_else(|| TrackerError::Permanent {
                    status: None,
                    reason: format!(
                        "teams.{}.jira_project is not set, so the team's story has no Jira project",
                        req.team
                    ),
                })?;
            teams.push(JiraTeam {
                project,
                component: team.component.as_deref(),
            });
        }
        if reqs.is_empty() {
            return Ok(Vec::new());
        }
        let mut attempt = 1;
        loop {
            match self.create_missing_stories(epic, reqs, &teams).await {
                Ok(issues) => return Ok(issues),
                Err(StoryFailure::Call(err)) => self
                    .wait_before_retry("create stories", &mut attempt, err)
                    .await
                    .map_err(TrackerError::from)?,
                Err(other) => return Err(other.into_tracker_error(self.window())),
            }
        }
    }

    async fn fetch(&self, keys: &[String]) -> Result<Vec<TrackedIssue>, TrackerError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.fetch_tracked(keys).await?)
    }

    async fn updated_since(&self, since_ms: i64) -> Result<Vec<TrackedIssue>, TrackerError> {
        Ok(self.tracked_since(since_ms).await?)
    }

    async fn changed_since(
        &self,
        since_ms: i64,
        seen: &std::collections::HashMap<String, i64>,
    ) -> Result<Vec<TrackedIssue>, TrackerError> {
        Ok(self.tracked_changed(since_ms, seen).await?)
    }

    async fn list_page(&self, cursor: Option<&str>) -> Result<ListPage, TrackerError> {
        Ok(self.tracked_page(cursor).await?)
    }

    async fn move_to(&self, key: &str, status: &str) -> Result<bool, TrackerError> {
        self.transition_to(key, status).await
    }

    async fn update(
        &self,
        key: &str,
        summary: Option<&str>,
        description_md: Option<&str>,
    ) -> Result<(), TrackerError> {
        Ok(self.edit(key, summary, description_md).await?)
    }

    async fn assign(&self, key: &str, account: Option<&str>) -> Result<(), TrackerError> {
        Ok(self.client().assign_issue(key, account).await?)
    }

    async fn comment(&self, key: &str, md: &str) -> Result<(), TrackerError> {
        self.client().add_comment(key, md).await?;
        Ok(())
    }

    async fn own_account(&self) -> Result<String, TrackerError> {
        Ok(self.account().await?)
    }

    async fn relink_github(
        &self,
        key: &str,
        old_url: &str,
        new_url: &str,
        title: &str,
    ) -> Result<(), TrackerError> {
        // Jira updates a link in place when a POST names its globalId
        // (https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-remote-links/).
        // The link was made with the issue's address as its globalId: when the link made
        // under the old address is there, it is updated in place (keeping that identity);
        // otherwise a link under the new address is added or updated.
        let global_id = match self.client().remote_link_by_global_id(key, old_url).await? {
            Some(link) => link.global_id.unwrap_or_else(|| old_url.to_owned()),
            None => new_url.to_owned(),
        };
        let link = RemoteLinkRequest {
            global_id,
            object: RemoteObject {
                url: new_url.to_owned(),
                title: limits::fit_line(title, limits::SUMMARY),
            },
            application: Some(RemoteApplication {
                kind: "com.github".into(),
                name: "GitHub".into(),
            }),
            relationship: Some("raised in".into()),
        };
        self.client().put_remote_link(key, &link).await?;
        Ok(())
    }

    fn cues(&self, delivery: TrackerDelivery<'_>, own_account: &str) -> Result<Vec<Cue>, CueError> {
        super::cues::cues(delivery.payload, own_account)
    }

    fn name(&self) -> &'static str {
        "Jira"
    }
}
