//! Out of scope, routed kindly (issue 11), through the binary and the sandbox: an issue
//! whose form answer is a `[routing]` kind is answered with where it belongs and closed as
//! not planned, never made ready for the council; a council member can do the same with
//! `council/out-of-scope` (kind by a second label or a comment), anyone else's label is
//! reverted with a reply.

mod common;

use common::*;
use council_sync::demo::view;

const ROUTING: &str = r#"
[routing.customer-escalation]
option = "Customer escalation"
url = "https://support.example.com/escalate"
message = "Support's escalation desk handles customer escalations."

[routing.product-idea]
option = "Product idea"
url = "https://ideas.example.com"
message = "Product collects ideas on the ideas portal."
"#;

/// A complete body that answers "What kind of problem is this?" with `kind`.
fn body_of_kind(kind: &str) -> String {
    format!(
        "### What kind of problem is this?\n\n{kind}\n\n{}",
        complete_body(&["payments"])
    )
}

fn replies_with(issue: &serde_json::Value, text: &str) -> usize {
    view::comments(issue)
        .iter()
        .filter(|c| c.body.contains(text))
        .count()
}

#[tokio::test]
async fn an_issue_of_an_out_of_scope_kind_is_routed_and_closed() {
    let world = World::new().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = world.write_config_with(dir.path(), 3, ROUTING);
    let daemon = world.daemon(&config).await;
    let c = world.ctl();
    let n = c
        .open_issue(
            &world.repo,
            "alice",
            "Acme Corp cannot log in",
            &body_of_kind("Customer escalation"),
            &["sre-concern"],
        )
        .await
        .expect("open");
    let issue = world
        .wait_issue(n, "routed and closed as not planned", |i| {
            view::state(i) == ("closed".into(), Some("not_planned".into()))
                && view::has_label(i, "council/out-of-scope")
                && replies_with(i, "https://support.example.com/escalate") == 1
                && view::tracking_comments(i)
                    .first()
                    .is_some_and(|t| t.body.contains("Out of scope"))
        })
        .await;
    assert!(
        !view::has_label(&issue, "ready-for-council") && !view::has_label(&issue, "needs-info"),
        "never on the agenda: {:?}",
        view::labels(&issue)
    );
    assert!(
        replies_with(&issue, "@alice thank you") == 1,
        "{:?}",
        view::comments(&issue)
    );
    // An SRE concern beside it is not routed.
    let sre = c
        .open_issue(
            &world.repo,
            "alice",
            "Checkout DB failover is manual",
            &body_of_kind("Reliability, availability, latency or operability (an SRE concern)"),
            &["sre-concern"],
        )
        .await
        .expect("open");
    world
        .wait_issue(sre, "ready-for-council", |i| {
            view::has_label(i, "ready-for-council")
        })
        .await;
    daemon.wait_settled(&c).await;
    let issue = c.issue(&world.repo, n).await.expect("issue");
    assert_eq!(
        replies_with(&issue, "https://support.example.com/escalate"),
        1,
        "one reply, however often it was checked"
    );
    assert!(
        c.jira_issues("project = SRE")
            .await
            .expect("jql")
            .is_empty()
    );
    assert_eq!(daemon.terminate().await.code(), Some(0));
}

#[tokio::test]
async fn a_council_member_routes_a_concern_and_a_non_members_label_is_reverted() {
    let world = World::new().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = world.write_config_with(dir.path(), 3, ROUTING);
    let daemon = world.daemon(&config).await;
    let c = world.ctl();
    let n = world.ready_concern(&["payments"]).await;

    c.add_label(&world.repo, n, "mallory", "council/out-of-scope")
        .await
        .expect("label");
    let issue = world
        .wait_issue(n, "the non-member's label reverted with a reply", |i| {
            !view::has_label(i, "council/out-of-scope")
                && replies_with(i, "@mallory only members of the SRE council") == 1
        })
        .await;
    assert_eq!(view::state(&issue).0, "open");
    assert!(view::has_label(&issue, "ready-for-council"));

    // carol names the kind in a comment, then applies the label.
    c.comment(&world.repo, n, "carol", "/out-of-scope product-idea")
        .await
        .expect("comment");
    c.add_label(&world.repo, n, "carol", "council/out-of-scope")
        .await
        .expect("label");
    let issue = world
        .wait_issue(n, "routed by carol to the ideas portal", |i| {
            view::state(i) == ("closed".into(), Some("not_planned".into()))
                && replies_with(i, "https://ideas.example.com") == 1
        })
        .await;
    assert!(
        replies_with(&issue, "@carol from the SRE council") == 1,
        "{:?}",
        view::comments(&issue)
    );
    assert!(!view::has_label(&issue, "ready-for-council"));
    world
        .wait_issue(n, "the tracking comment records the routing", |i| {
            view::tracking_comments(i)
                .first()
                .is_some_and(|t| t.body.contains("routed out of scope by @carol"))
        })
        .await;
    assert_eq!(daemon.terminate().await.code(), Some(0));
}

/// The sibling through reconcile: carol's `council/out-of-scope` whose delivery was lost is
/// found by the next pass and routed (kind by a second label), as a delivery would have.
#[tokio::test]
async fn a_lost_out_of_scope_label_is_found_by_reconcile() {
    let world = World::new().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = world.write_config_with(dir.path(), 3, ROUTING);
    let daemon = world.daemon(&config).await;
    let c = world.ctl();
    let n = world.ready_concern(&["payments"]).await;
    daemon.wait_settled(&c).await;
    c.post(
        &format!("/_sandbox/github/repos/{}/hooks", world.repo),
        serde_json::json!({ "url": null }),
    )
    .await
    .expect("silence the hook");
    c.add_label(&world.repo, n, "carol", "out-of-scope/customer-escalation")
        .await
        .expect("kind label");
    c.add_label(&world.repo, n, "carol", "council/out-of-scope")
        .await
        .expect("label");
    reconcile_once(&config).await;
    daemon.wait_settled(&c).await;
    world
        .wait_issue(n, "routed by the reconcile pass", |i| {
            view::state(i) == ("closed".into(), Some("not_planned".into()))
                && replies_with(i, "https://support.example.com/escalate") == 1
                && !view::has_label(i, "ready-for-council")
        })
        .await;
    assert_eq!(daemon.terminate().await.code(), Some(0));
}
