//! The doctor's findings and their table.

use std::fmt::Write as _;

/// What a check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// As the daemon needs it.
    Ok,
    /// Not there (or hidden from the credentials).
    Missing,
    /// There, but not as the daemon needs it.
    Wrong,
    /// Could not be checked with these credentials; a person should look.
    Unchecked,
}

impl Verdict {
    fn word(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Missing => "missing",
            Self::Wrong => "wrong",
            Self::Unchecked => "unchecked",
        }
    }
}

/// One checked thing.
#[derive(Debug, Clone)]
pub struct Finding {
    /// `github`, `jira`.
    pub area: &'static str,
    /// What was checked, e.g. `acme/concerns webhook`.
    pub item: String,
    /// The outcome.
    pub verdict: Verdict,
    /// What was seen (never a secret).
    pub detail: String,
    /// How to fix it, for anything not ok.
    pub fix: Option<String>,
    /// Whether the daemon cannot work as configured until it is fixed.
    pub blocking: bool,
}

impl Finding {
    /// An ok finding.
    pub fn ok(area: &'static str, item: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            area,
            item: item.into(),
            verdict: Verdict::Ok,
            detail: detail.into(),
            fix: None,
            blocking: false,
        }
    }

    /// A finding that blocks the daemon.
    pub fn blocks(
        area: &'static str,
        item: impl Into<String>,
        verdict: Verdict,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            area,
            item: item.into(),
            verdict,
            detail: detail.into(),
            fix: Some(fix.into()),
            blocking: true,
        }
    }

    /// A finding a person should see but the daemon runs without fixing.
    pub fn advises(
        area: &'static str,
        item: impl Into<String>,
        verdict: Verdict,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            blocking: false,
            ..Self::blocks(area, item, verdict, detail, fix)
        }
    }
}

/// Every finding of one run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// In check order.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Adds a finding.
    pub fn push(&mut self, f: Finding) {
        self.findings.push(f);
    }

    /// Whether anything blocks the daemon (then `doctor` exits 1).
    pub fn blocked(&self) -> bool {
        self.findings.iter().any(|f| f.blocking)
    }

    /// The findings with this verdict.
    pub fn with(&self, v: Verdict) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.verdict == v)
    }

    /// The table: one line per check (`VERDICT  AREA  ITEM  DETAIL`), a `fix:` line under
    /// each one that is not ok, blocking ones marked `!`, and a summary line.
    pub fn render(&self) -> String {
        let item_w = self
            .findings
            .iter()
            .map(|f| f.item.chars().count())
            .max()
            .unwrap_or(0)
            .min(48);
        let mut out = String::new();
        for f in &self.findings {
            let mark = if f.blocking { "!" } else { " " };
            let _ = writeln!(
                out,
                "{mark}{:<9}  {:<6}  {:<item_w$}  {}",
                f.verdict.word(),
                f.area,
                f.item,
                f.detail
            );
            if let Some(fix) = &f.fix {
                let _ = writeln!(out, "{:<20}fix: {fix}", "");
            }
        }
        let blocking = self.findings.iter().filter(|f| f.blocking).count();
        let not_ok = self
            .findings
            .iter()
            .filter(|f| f.verdict != Verdict::Ok)
            .count();
        let _ = write!(
            out,
            "{} checks: {} ok, {not_ok} to look at, {blocking} blocking",
            self.findings.len(),
            self.findings.len() - not_ok
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocking_findings_fail_the_run_and_show_their_fix() {
        let mut r = Report::default();
        r.push(Finding::ok("github", "token", "authenticated as bot"));
        assert!(!r.blocked());
        r.push(Finding::advises(
            "jira",
            "webhook",
            Verdict::Unchecked,
            "needs a Jira admin",
            "ask an admin",
        ));
        assert!(!r.blocked());
        r.push(Finding::blocks(
            "github",
            "acme/x webhook",
            Verdict::Wrong,
            "content type form",
            "set Content type to application/json",
        ));
        assert!(r.blocked());
        let text = r.render();
        assert!(text.contains("!wrong"), "{text}");
        assert!(
            text.contains("fix: set Content type to application/json"),
            "{text}"
        );
        assert!(
            text.ends_with("3 checks: 1 ok, 2 to look at, 1 blocking"),
            "{text}"
        );
    }
}
