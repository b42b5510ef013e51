//! The README's first command, as a test: the scripted council session against the embedded
//! sandbox, in both Jira flavours and on GitHub Projects, from the debug build.

mod common;

async fn demo(args: &[&str]) {
    let out = tokio::process::Command::new(common::binary())
        .arg("demo")
        .args(args)
        .output()
        .await
        .expect("run council-sync demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("All steps happened."), "{stdout}");
    assert!(!stdout.contains('✘'), "{stdout}");
    // Keys and references read as typed: the transcript shows no Markdown escape where
    // nothing needed one (`acme/platform-concerns\#1` once did).
    for line in stdout.lines() {
        let escaped = line
            .match_indices('\\')
            .any(|(i, _)| line[i + 1..].starts_with('#') && !line[..i].trim().is_empty());
        assert!(!escaped, "a needless Markdown escape: {line}");
    }
}

#[tokio::test]
async fn demo_jira_cloud_v3() {
    demo(&[]).await;
}

#[tokio::test]
async fn demo_jira_data_center_v2() {
    demo(&["--jira-api", "2"]).await;
}

/// The same council session on GitHub Projects: the concern is the epic on the project,
/// stories are sub-issues in two team repositories, and the board drives the concern.
#[tokio::test]
async fn demo_github_projects() {
    demo(&["--tracker", "github-projects"]).await;
}
