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

/// `demo --keep`: after the session the board (and the daemon and sandbox) stay up until a
/// signal, so the URL the demo prints can be opened; SIGTERM then ends it with the
/// session's exit code.
#[tokio::test]
async fn with_keep_the_board_stays_up_until_a_signal() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = tokio::process::Command::new(common::binary())
        .args(["demo", "--keep"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("run council-sync demo --keep");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut seen = Vec::new();
    let board = tokio::time::timeout(std::time::Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            seen.push(line.clone());
            if line.starts_with("--keep:") {
                let at = line.find("council board on ").expect("board URL") + 17;
                return line[at..].split_whitespace().next().map(str::to_owned);
            }
        }
        None
    })
    .await
    .expect("the session ends within 2 minutes")
    .unwrap_or_else(|| panic!("no --keep line: {seen:#?}"));
    assert!(
        seen.iter().any(|l| l.contains("All steps happened.")),
        "{seen:#?}"
    );
    // The session is over and the board still answers, with the demo's concern on it.
    let page = council_sync::crypto::http_client()
        .get(&board)
        .send()
        .await
        .expect("the board answers");
    assert!(page.status().is_success(), "{}", page.status());
    let html = page.text().await.expect("board page");
    assert!(
        html.contains("#1"),
        "the demo's concern is on the board: {html}"
    );
    let pid = child.id().expect("pid").to_string();
    let sent = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("run kill");
    assert!(sent.success());
    let status = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait())
        .await
        .expect("exits after SIGTERM")
        .expect("wait");
    assert!(status.success(), "{status}");
}
