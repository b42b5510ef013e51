//! The crash-and-fault suite: seeded rounds through the real binary and a separate sandbox
//! process. Each round accepts many concerns at once, then SIGKILLs the daemon at seeded
//! points (the sandbox holds the Nth matching write until the kill, before its handler or
//! after it, so the write never happened or happened without an answer; a write held
//! before its handler is then let through or dropped), injects sandbox faults (5xx, 429 + `Retry-After`, answers lost after the
//! write happened, dropped Jira webhooks) under a seeded Jira search lag, and finally runs
//! one reconcile pass. Invariants: exactly one epic per accepted concern, one story per
//! (concern, team), one tracking comment, labels agree with the stage, the stage agrees
//! with the decisions.
//!
//! A seed fixes the whole plan (concerns, teams, lag, faults, kill points, what happens to
//! a held write), printed as one line; `CRASH_SEEDS=7,8 cargo nextest run --test crash`
//! replays those seeds. The kill points are counted in requests the sandbox receives, so
//! they land at the same place in the protocol on every run; which concern's request is
//! the Nth can differ with scheduling. `scripts/soak` runs the ignored `soak` test: rounds
//! with consecutive seeds for a duration, with figures.
//!
//! Every round runs on Jira or on GitHub Projects ([`Tracker`]). On GitHub Projects the
//! kill points and faults hit `POST /graphql` (where stories are created and linked in one
//! `createIssue`), the sub-issue listing and the issue type's PATCH, and the stories are
//! counted both as the concern's sub-issues and as every issue of the team repositories
//! carrying the story's hidden marker: a duplicate or an unlinked story is seen either way.
//!
//! Dropped *GitHub* deliveries are a fault kind of their own, off unless
//! `CRASH_GITHUB_DROPS=1`: repairing a lost `labeled` delivery from current state is the
//! reconcile work of issue #9 item 1 (another stream), and this suite turns it on once that
//! lands.

mod common;

use std::time::{Duration, Instant};

use common::*;
use council_sync::demo::view;
use council_sync::store::{DecisionKind, Store};
use serde_json::{Value, json};

/// A small deterministic generator (splitmix64): the same seed gives the same plan on any
/// machine and any `rand` version.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// What a round did and found.
#[derive(Debug, Default, Clone, Copy)]
struct Figures {
    concerns: usize,
    kills: usize,
    faults: u64,
    duplicates: usize,
    missing: usize,
    disagreements: usize,
}

impl Figures {
    fn add(&mut self, o: Figures) {
        self.concerns += o.concerns;
        self.kills += o.kills;
        self.faults += o.faults;
        self.duplicates += o.duplicates;
        self.missing += o.missing;
        self.disagreements += o.disagreements;
    }
    fn line(&self) -> String {
        format!(
            "concerns={} kills={} faults={} duplicates={} missing={} disagreements={}",
            self.concerns,
            self.kills,
            self.faults,
            self.duplicates,
            self.missing,
            self.disagreements
        )
    }
}

/// Where the round's epics and stories go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tracker {
    /// Jira, its REST version drawn from the seed.
    Jira,
    /// GitHub Projects: the concern is the epic, stories are sub-issues.
    GithubProjects,
}

/// The GitHub writes every tracker shares (comments, labels).
fn github_hold_paths() -> Vec<(&'static str, String)> {
    vec![
        ("POST", "^/repos/[^/]+/[^/]+/issues/[0-9]+/comments$".into()),
        (
            "PATCH",
            "^/repos/[^/]+/[^/]+/issues/comments/[0-9]+$".into(),
        ),
        ("POST", "^/repos/[^/]+/[^/]+/issues/[0-9]+/labels$".into()),
    ]
}

/// The writes a kill point may hold on GitHub Projects: GraphQL (`createIssue` with its
/// parent, adding items, setting fields; queries match too, which is a kill point as
/// good as any) and the epic's issue type (REST PATCH).
fn projects_hold_paths() -> Vec<(&'static str, String)> {
    let mut paths = vec![
        ("POST", "^/graphql$".to_owned()),
        ("POST", "^/graphql$".to_owned()),
        ("PATCH", "^/repos/[^/]+/[^/]+/issues/[0-9]+$".to_owned()),
    ];
    paths.extend(github_hold_paths());
    paths
}

/// One seeded fault on GitHub Projects (not a kill point).
fn projects_fault_spec(rng: &mut Rng) -> Value {
    let times = 1 + rng.below(2);
    match rng.below(5) {
        0 => json!({"method": "POST", "path_regex": "^/graphql$",
                    "status": if rng.chance(50) { 500 } else { 503 }, "times": times}),
        1 => {
            json!({"method": "POST", "path_regex": "^/graphql$", "status": 429, "retry_after": 1, "times": 1})
        }
        2 => json!({"method": "POST", "path_regex": "^/graphql$", "lose_answer": true,
                    "skip": rng.below(6), "times": times}),
        3 => json!({"method": "GET", "path_regex": "^/repos/[^/]+/[^/]+/issues/[0-9]+/sub_issues",
                    "status": 502, "times": times}),
        _ => {
            json!({"path_regex": "^/repos/[^/]+/[^/]+/issues/([0-9]+/)?comments", "status": 502, "times": times})
        }
    }
}

/// The Jira and GitHub writes a kill point may hold (regex per API version).
fn hold_paths(version: u8) -> Vec<(&'static str, String)> {
    vec![
        ("POST", format!("^/rest/api/{version}/issue$")),
        ("POST", format!("^/rest/api/{version}/issue/bulk$")),
        (
            "POST",
            format!("^/rest/api/{version}/issue/[^/]+/remotelink$"),
        ),
        ("POST", "^/repos/[^/]+/[^/]+/issues/[0-9]+/comments$".into()),
        (
            "PATCH",
            "^/repos/[^/]+/[^/]+/issues/comments/[0-9]+$".into(),
        ),
        ("POST", "^/repos/[^/]+/[^/]+/issues/[0-9]+/labels$".into()),
    ]
}

/// One seeded fault (not a kill point).
fn fault_spec(rng: &mut Rng, version: u8) -> Value {
    let create = if rng.chance(50) {
        format!("^/rest/api/{version}/issue$")
    } else {
        format!("^/rest/api/{version}/issue/bulk$")
    };
    let times = 1 + rng.below(2);
    match rng.below(5) {
        0 => json!({"method": "POST", "path_regex": create,
                    "status": if rng.chance(50) { 500 } else { 503 }, "times": times}),
        1 => {
            json!({"method": "POST", "path_regex": create, "status": 429, "retry_after": 1, "times": 1})
        }
        2 => json!({"method": "POST", "path_regex": create, "lose_answer": true,
                    "skip": rng.below(3), "times": times}),
        3 => {
            json!({"path_regex": "^/repos/[^/]+/[^/]+/issues/([0-9]+/)?comments", "status": 502, "times": times})
        }
        _ => json!({"method": "POST", "path_regex": "^/repos/[^/]+/[^/]+/issues/[0-9]+/labels$",
                    "status": 429, "retry_after": 1, "times": 1}),
    }
}

/// A concern of the round: its number and teams.
struct Concern {
    number: u64,
    teams: Vec<&'static str>,
}

/// Runs one seeded round; returns its figures (the invariants are counted, not asserted,
/// so a soak can report them all; callers assert).
async fn round(seed: u64, tracker: Tracker) -> Figures {
    let mut rng = Rng(seed);
    let started = Instant::now();
    let version: u8 = if rng.chance(70) { 3 } else { 2 };
    let lag_ms = 150 + rng.below(650);
    let concern_count = 5 + rng.below(4) as usize;
    let kill_count = 1 + rng.below(3) as usize;
    let fault_count = 2 + rng.below(3) as usize;
    let drop_jira = rng.chance(40) && tracker == Tracker::Jira;
    let drop_github = std::env::var("CRASH_GITHUB_DROPS").is_ok_and(|v| v == "1");

    let world = World::private().await;
    let c = world.ctl();
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, projects) = match tracker {
        Tracker::Jira => {
            c.put("/_sandbox/jira/search-lag", json!({"ms": lag_ms}))
                .await
                .expect("lag");
            let config = world.write_config_jira(
                dir.path(),
                version,
                "search_consistency_window = \"3s\"\nsearch_consistency_wait = \"5s\"\n",
                "",
            );
            (config, None)
        }
        Tracker::GithubProjects => {
            let pw = world.projects_setup().await;
            (world.write_config_projects(dir.path(), &pw, ""), Some(pw))
        }
    };
    // Starts a daemon that hears the round's webhooks: GitHub's (an organisation hook on
    // GitHub Projects, which sends projects_v2_item only there) and Jira's.
    let start = async || match tracker {
        Tracker::Jira => {
            let daemon = world.daemon(&config).await;
            world.deliver_jira_to(&daemon).await;
            daemon
        }
        Tracker::GithubProjects => world.daemon_org(&config).await,
    };
    let mut daemon = start().await;

    let mut concerns = Vec::new();
    for i in 0..concern_count {
        let mut teams: Vec<&'static str> = Vec::new();
        for _ in 0..1 + rng.below(3) {
            let t = FORM_TEAMS[rng.below(FORM_TEAMS.len() as u64) as usize];
            if !teams.contains(&t) {
                teams.push(t);
            }
        }
        let number = c
            .open_issue(
                &world.repo,
                "alice",
                &format!("Concern {i} of seed {seed}"),
                &complete_body(&teams),
                &["sre-concern"],
            )
            .await
            .expect("open");
        concerns.push(Concern { number, teams });
    }
    for concern in &concerns {
        world
            .wait_issue(concern.number, "ready-for-council", |i| {
                view::has_label(i, "ready-for-council")
            })
            .await;
    }

    let mut fault_ids = Vec::new();
    let mut plan = Vec::new();
    for _ in 0..fault_count {
        let spec = match tracker {
            Tracker::Jira => fault_spec(&mut rng, version),
            Tracker::GithubProjects => projects_fault_spec(&mut rng),
        };
        plan.push(spec.to_string());
        fault_ids.push(add_fault(&c, spec).await);
    }
    let paths = match tracker {
        Tracker::Jira => hold_paths(version),
        Tracker::GithubProjects => projects_hold_paths(),
    };
    let kill_point = |rng: &mut Rng| {
        let (method, path) = paths[rng.below(paths.len() as u64) as usize].clone();
        // Held before the handler (the write never happens) or after it (the write
        // happened, its answer is lost with the killed daemon).
        let how = if rng.chance(50) {
            "hold"
        } else {
            "hold_answer"
        };
        json!({"method": method, "path_regex": path, how: true, "times": 1,
               "skip": rng.below(concern_count as u64)})
    };
    let kill_specs: Vec<(Value, bool)> = (0..kill_count)
        .map(|_| (kill_point(&mut rng), rng.chance(50)))
        .collect();
    let deciders: Vec<&str> = (0..concern_count)
        .map(|_| if rng.chance(50) { "carol" } else { "dave" })
        .collect();
    println!(
        "crash seed={seed} tracker={tracker:?} jira=v{version} lag_ms={lag_ms} concerns={concern_count} drop_jira={drop_jira} \
         drop_github={drop_github} faults={plan:?} kills={:?}",
        kill_specs
            .iter()
            .map(|(s, release)| format!("{s} release={release}"))
            .collect::<Vec<_>>()
    );

    if drop_jira {
        c.drop_jira_webhooks(true).await.expect("drop jira");
    }
    if drop_github {
        c.drop_webhooks(true).await.expect("drop github");
    }
    let mut kills = 0;
    let mut kill_iter = kill_specs.into_iter();
    let mut next_hold = match kill_iter.next() {
        Some((spec, release)) => Some((add_fault(&c, spec).await, release)),
        None => None,
    };
    // Many concerns accepted at once.
    let accepts = concerns.iter().zip(&deciders).map(|(concern, who)| {
        let c = c.clone();
        let repo = world.repo.clone();
        async move {
            c.add_label(&repo, concern.number, who, "council/accepted")
                .await
                .expect("accept")
        }
    });
    futures::future::join_all(accepts).await;
    if drop_github {
        c.drop_webhooks(false).await.expect("resume github");
    }

    while let Some((hold, release)) = next_hold.take() {
        // Bounded long-poll: when the Nth request never comes (the work ended first), the
        // kill lands on an idle daemon, which is a kill point too.
        let _ = c
            .get(&format!("/_sandbox/faults/{hold}/held?timeout_ms=8000"))
            .await;
        daemon.kill().await;
        kills += 1;
        if release {
            // The held write goes on to Jira or GitHub; its answer has nowhere to go.
            let _ = c
                .post(&format!("/_sandbox/faults/{hold}/release"), json!({}))
                .await;
        } else {
            let _ = c.delete(&format!("/_sandbox/faults/{hold}")).await;
        }
        if let Some((spec, release)) = kill_iter.next() {
            next_hold = Some((add_fault(&c, spec).await, release));
        }
        daemon = start().await;
    }

    // Let the last run finish, then one reconcile pass, then check.
    if drop_jira {
        c.drop_jira_webhooks(false).await.expect("resume jira");
    }
    daemon.wait_settled(&c).await;
    let mut faults = 0;
    for id in &fault_ids {
        faults += fault_hits(&c, *id).await;
    }
    for f in c
        .get("/_sandbox/faults")
        .await
        .expect("faults")
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(id) = f["id"].as_u64() {
            let _ = c.delete(&format!("/_sandbox/faults/{id}")).await;
        }
    }
    reconcile_once(&config).await;
    daemon.wait_settled(&c).await;
    daemon.kill().await;

    let store = Store::open(&store_url_of(&config))
        .await
        .expect("open store");
    let mut figures = Figures {
        concerns: concern_count,
        kills,
        faults,
        ..Figures::default()
    };
    for concern in &concerns {
        let n = concern.number;
        match &projects {
            None => {
                let (epics, stories) = world.jira_for(n, &concern.teams).await;
                figures.duplicates += epics.len().saturating_sub(1);
                figures.missing += usize::from(epics.is_empty());
                for team in &concern.teams {
                    let count = stories.iter().filter(|(t, _)| t == team).count();
                    figures.duplicates += count.saturating_sub(1);
                    figures.missing += usize::from(count == 0);
                }
            }
            Some(pw) => {
                // The epic is the concern itself; each story must exist once, as its
                // sub-issue (an unlinked one counts as missing: no one would find it).
                let stories = world.projects_stories_for(pw, n, &concern.teams).await;
                for team in &concern.teams {
                    let of_team: Vec<_> = stories.iter().filter(|(t, _, _)| t == team).collect();
                    figures.duplicates += of_team.len().saturating_sub(1);
                    let linked = of_team.iter().filter(|(_, _, sub)| *sub).count();
                    figures.missing += usize::from(linked == 0);
                    if of_team.len() != 1 || linked != 1 {
                        println!("crash seed={seed} #{n} {team}: stories {of_team:?}");
                    }
                }
            }
        }
        let issue = world.issue(n).await;
        let tracking = view::tracking_comments(&issue).len();
        let labels_ok = view::has_label(&issue, "council/accepted")
            && !view::has_label(&issue, "ready-for-council")
            && !view::has_label(&issue, "needs-info");
        let row = store
            .get_concern(&world.repo, n)
            .await
            .expect("read concern");
        let stage = row.as_ref().map(|r| r.stage);
        let decisions = store
            .decisions_for(&world.repo, n)
            .await
            .expect("decisions");
        let decided = decisions.iter().any(|d| d.kind == DecisionKind::Accept);
        let stage_ok = stage == Some(council_sync::council::Stage::StoriesCreated);
        if tracking != 1 || !labels_ok || !stage_ok || !decided {
            figures.disagreements += 1;
            println!(
                "crash seed={seed} #{n}: tracking comments={tracking} labels={:?} stage={stage:?} accept recorded={decided}",
                view::labels(&issue)
            );
        }
    }
    store.close().await;
    println!(
        "crash seed={seed} {} elapsed={:.1}s",
        figures.line(),
        started.elapsed().as_secs_f64()
    );
    figures
}

/// The seeds of the CI run: `CRASH_SEEDS` (comma-separated) or the fixed default.
fn ci_seeds() -> Vec<u64> {
    match std::env::var("CRASH_SEEDS") {
        Ok(s) => s.split(',').filter_map(|p| p.trim().parse().ok()).collect(),
        Err(_) => vec![1, 2],
    }
}

#[tokio::test]
async fn crash_and_fault_rounds_keep_every_invariant() {
    rounds_on(Tracker::Jira).await;
}

/// The same rounds with GitHub Projects as the tracker.
#[tokio::test]
async fn crash_and_fault_rounds_keep_every_invariant_on_github_projects() {
    rounds_on(Tracker::GithubProjects).await;
}

async fn rounds_on(tracker: Tracker) {
    let mut total = Figures::default();
    for seed in ci_seeds() {
        let f = round(seed, tracker).await;
        assert_eq!(
            (f.duplicates, f.missing, f.disagreements),
            (0, 0, 0),
            "seed {seed} broke an invariant ({}); replay with CRASH_SEEDS={seed}",
            f.line()
        );
        total.add(f);
    }
    assert!(total.kills >= 1, "at least one kill");
    println!("crash total ({tracker:?}) {}", total.line());
}

/// The soak's tracker: `CRASH_TRACKER=github-projects`, else Jira.
fn soak_tracker() -> Tracker {
    match std::env::var("CRASH_TRACKER").as_deref() {
        Ok("github-projects") => Tracker::GithubProjects,
        _ => Tracker::Jira,
    }
}

/// `scripts/soak SEED DURATION`: rounds with seeds SEED, SEED+1, … until the duration
/// (seconds, `SOAK_SECS`) has passed; prints each round's and the total figures and fails
/// naming the seeds that broke an invariant.
#[tokio::test]
#[ignore = "long; run by scripts/soak"]
async fn soak() {
    let first: u64 = std::env::var("SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let secs: u64 = std::env::var("SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let until = Instant::now() + Duration::from_secs(secs);
    let mut total = Figures::default();
    let mut broken = Vec::new();
    let mut seed = first;
    let mut rounds = 0;
    while Instant::now() < until {
        let f = round(seed, soak_tracker()).await;
        if f.duplicates + f.missing + f.disagreements > 0 {
            broken.push(seed);
        }
        total.add(f);
        rounds += 1;
        seed += 1;
    }
    println!(
        "soak seeds={first}..{} rounds={rounds} {} failing_seeds={broken:?}",
        seed.saturating_sub(1),
        total.line()
    );
    assert!(
        broken.is_empty(),
        "failing seeds (replay each with CRASH_SEEDS=N): {broken:?}"
    );
}
