//! The issue form (`.github/ISSUE_TEMPLATE/sre-concern.yml`), read so that template and
//! parser never drift apart. (Skeleton: owned by the concern work.)

/// The parts of the issue form the daemon relies on.
#[derive(Debug, Clone)]
pub struct IssueForm {
    /// Options of the "Teams involved" dropdown, in form order.
    pub team_options: Vec<String>,
}

impl IssueForm {
    /// The form shipped in this repository (compiled in).
    pub fn shipped() -> Self {
        todo!("concern work")
    }
}
