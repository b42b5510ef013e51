use super::*;

fn item(team: Option<&str>, progress: Progress) -> ItemState {
    ItemState {
        team: team.map(str::to_owned),
        key: team.unwrap_or("EPIC").to_uppercase(),
        status: format!("{progress:?}"),
        progress,
        assignee: None,
        sprint: None,
    }
}

fn labels(names: &[&str]) -> LabelSet {
    names.iter().map(|s| s.to_string()).collect()
}

struct Case {
    stories: Vec<Progress>,
    epic: Progress,
    on: &'static [&'static str],
    open: bool,
    results: bool,
    stage: Stage,
    actions: Vec<SyncAction>,
}

fn run(
    stories: &[Progress],
    epic: Progress,
    on: &[&str],
    open: bool,
    results: bool,
) -> SyncDecision {
    let cfg = LabelsConfig::default();
    let l = labels(on);
    let stories: Vec<ItemState> = stories
        .iter()
        .enumerate()
        .map(|(i, p)| item(Some(["pay", "data", "net"][i]), *p))
        .collect();
    let epic = item(None, epic);
    let input = SyncInput {
        stage: Stage::StoriesCreated,
        labels: &l,
        issue_open: open,
        closed_not_planned: false,
        epic: &epic,
        stories: &stories,
        results_recorded: results,
        epic_done_status: "Done",
        request_results: true,
    };
    tracker_to_github(&input, &cfg, false)
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn table() {
    use Progress::*;
    use SyncAction::*;
    let cases = vec![
        // nothing started: nothing to show
        Case {
            stories: vec![Todo, Todo],
            epic: Todo,
            on: &[],
            open: true,
            results: false,
            stage: Stage::StoriesCreated,
            actions: vec![],
        },
        // one story started → in-progress label
        Case {
            stories: vec![InProgress, Todo],
            epic: Todo,
            on: &[],
            open: true,
            results: false,
            stage: Stage::InProgress,
            actions: vec![
                AddLabels(strings(&["council/in-progress"])),
                RefreshTracking,
            ],
        },
        // already shown: no write
        Case {
            stories: vec![Done, InProgress],
            epic: InProgress,
            on: &["council/in-progress"],
            open: true,
            results: false,
            stage: Stage::InProgress,
            actions: vec![RefreshTracking],
        },
        // all done, epic not yet: label, move the epic, ask for results
        Case {
            stories: vec![Done, Done],
            epic: InProgress,
            on: &["council/in-progress"],
            open: true,
            results: false,
            stage: Stage::ResultsRequested,
            actions: vec![
                AddLabels(strings(&["council/done", "council/results-requested"])),
                RemoveLabels(strings(&["council/in-progress"])),
                MoveEpic("Done".into()),
                RequestResults,
                RefreshTracking,
            ],
        },
        // epic done → close as completed (results already asked)
        Case {
            stories: vec![Done, Done],
            epic: Done,
            on: &["council/done", "council/results-requested"],
            open: true,
            results: false,
            stage: Stage::ResultsRequested,
            actions: vec![CloseCompleted, RefreshTracking],
        },
        // settled: closed, asked, nothing to do
        Case {
            stories: vec![Done, Done],
            epic: Done,
            on: &["council/done", "council/results-requested"],
            open: false,
            results: false,
            stage: Stage::ResultsRequested,
            actions: vec![RefreshTracking],
        },
        // results recorded
        Case {
            stories: vec![Done, Done],
            epic: Done,
            on: &["council/done", "council/results-requested"],
            open: false,
            results: true,
            stage: Stage::ResultsPresented,
            actions: vec![
                AddLabels(strings(&["council/results-presented"])),
                RemoveLabels(strings(&["council/results-requested"])),
                RefreshTracking,
            ],
        },
        // a story reopened in the tracker: back to in progress
        Case {
            stories: vec![Done, InProgress],
            epic: InProgress,
            on: &["council/done"],
            open: true,
            results: false,
            stage: Stage::InProgress,
            actions: vec![
                AddLabels(strings(&["council/in-progress"])),
                RemoveLabels(strings(&["council/done"])),
                RefreshTracking,
            ],
        },
    ];
    for (i, c) in cases.into_iter().enumerate() {
        let d = run(&c.stories, c.epic, c.on, c.open, c.results);
        // The stage differs from StoriesCreated in most rows, which adds a refresh.
        assert_eq!(d.stage, c.stage, "case {i}");
        let mut want = c.actions;
        if want.is_empty() && d.stage != Stage::StoriesCreated {
            want.push(RefreshTracking);
        }
        assert_eq!(d.actions, want, "case {i}");
    }
}

#[test]
fn not_planned_issue_is_never_closed_or_reopened_by_progress() {
    let cfg = LabelsConfig::default();
    let l = labels(&[]);
    let stories = [item(Some("pay"), Progress::Done)];
    let epic = item(None, Progress::Done);
    let input = SyncInput {
        stage: Stage::Done,
        labels: &l,
        issue_open: true,
        closed_not_planned: true,
        epic: &epic,
        stories: &stories,
        results_recorded: false,
        epic_done_status: "Done",
        request_results: false,
    };
    let d = tracker_to_github(&input, &cfg, false);
    assert!(!d.actions.contains(&SyncAction::CloseCompleted));
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn progress() -> impl Strategy<Value = Progress> {
        proptest::sample::select(vec![Progress::Todo, Progress::InProgress, Progress::Done])
    }

    proptest! {
        /// Applying the decision and deciding again changes nothing more: the sync settles
        /// in one round, whatever the starting labels.
        #[test]
        fn settles_in_one_round(
            stories in proptest::collection::vec(progress(), 1..5),
            epic in progress(),
            on in proptest::collection::btree_set(proptest::sample::select(vec![
                "council/in-progress", "council/done", "council/results-requested", "council/results-presented", "bug",
            ]).prop_map(String::from), 0..5),
            open: bool,
            results: bool,
        ) {
            let cfg = LabelsConfig::default();
            let items: Vec<ItemState> = stories.iter().map(|p| item(Some("t"), *p)).collect();
            let mut epic_item = item(None, epic);
            let mut labels_now: LabelSet = on.iter().cloned().collect();
            let mut open_now = open;
            let mut stage = Stage::StoriesCreated;
            for round in 0..3 {
                let input = SyncInput {
                    stage,
                    labels: &labels_now,
                    issue_open: open_now,
                    closed_not_planned: false,
                    epic: &epic_item,
                    stories: &items,
                    results_recorded: results,
                    epic_done_status: "Done",
                    request_results: true,
                };
                let d = tracker_to_github(&input, &cfg, false);
                let writes: Vec<&SyncAction> = d.actions.iter().filter(|a| **a != SyncAction::RefreshTracking).collect();
                if round == 2 {
                    prop_assert!(writes.is_empty(), "still writing after two rounds: {:?}", writes);
                }
                for a in &d.actions {
                    match a {
                        SyncAction::AddLabels(v) => labels_now.extend(v.iter().cloned()),
                        SyncAction::RemoveLabels(v) => v.iter().for_each(|x| { labels_now.remove(x); }),
                        SyncAction::MoveEpic(_) => epic_item.progress = Progress::Done,
                        SyncAction::CloseCompleted => open_now = false,
                        SyncAction::RequestResults | SyncAction::RefreshTracking => {}
                    }
                }
                stage = d.stage;
            }
        }
    }
}

/// The sync's labels compare without case too: a `Council/In-Progress` already on the issue
/// is not added again, and a `COUNCIL/IN-PROGRESS` to drop is removed by its own spelling.
#[test]
fn status_labels_compare_without_case() {
    use Progress::*;
    let d = run(&[InProgress], Todo, &["Council/In-Progress"], true, false);
    assert!(
        !d.actions
            .iter()
            .any(|a| matches!(a, SyncAction::AddLabels(_))),
        "{:?}",
        d.actions
    );
    let d = run(&[Done], Done, &["COUNCIL/IN-PROGRESS"], true, false);
    assert!(
        d.actions
            .contains(&SyncAction::RemoveLabels(strings(&["COUNCIL/IN-PROGRESS"]))),
        "{:?}",
        d.actions
    );
}
