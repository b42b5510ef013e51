use std::fmt;
use std::str::FromStr;

/// Where a concern is in its life. Stored as text (`as_str`) in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// One or more of the three answers is missing.
    NeedsInfo,
    /// Complete: on the council's agenda.
    Ready,
    /// A council member rejected it; the issue is closed as not planned.
    Rejected,
    /// Not the council's job (a customer escalation, a functional bug or UX issue, a product
    /// idea): answered with where it belongs and closed as not planned; never on the agenda.
    OutOfScope,
    /// A council member accepted it; the epic (and, unless two-step, the stories) follow.
    Accepted,
    /// Two-step mode: a second decision allowed the stories.
    Vetted,
    /// The epic exists in the tracker.
    EpicCreated,
    /// The epic and one story per team exist.
    StoriesCreated,
    /// A team started its story.
    InProgress,
    /// Every story is done.
    Done,
    /// The daemon asked for the before/after figures.
    ResultsRequested,
    /// The figures are recorded: the concern's life is complete.
    ResultsPresented,
}

impl Stage {
    /// Every stage, in life order.
    pub const ALL: [Stage; 12] = [
        Stage::NeedsInfo,
        Stage::Ready,
        Stage::Rejected,
        Stage::OutOfScope,
        Stage::Accepted,
        Stage::Vetted,
        Stage::EpicCreated,
        Stage::StoriesCreated,
        Stage::InProgress,
        Stage::Done,
        Stage::ResultsRequested,
        Stage::ResultsPresented,
    ];

    /// The stable name used in the store and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::NeedsInfo => "needs-info",
            Stage::Ready => "ready",
            Stage::Rejected => "rejected",
            Stage::OutOfScope => "out-of-scope",
            Stage::Accepted => "accepted",
            Stage::Vetted => "vetted",
            Stage::EpicCreated => "epic-created",
            Stage::StoriesCreated => "stories-created",
            Stage::InProgress => "in-progress",
            Stage::Done => "done",
            Stage::ResultsRequested => "results-requested",
            Stage::ResultsPresented => "results-presented",
        }
    }

    /// Before a decision: the answers may still change the stage.
    pub fn is_undecided(self) -> bool {
        matches!(self, Stage::NeedsInfo | Stage::Ready)
    }

    /// Accepted, in any of the stages that follow acceptance.
    pub fn is_accepted(self) -> bool {
        self >= Stage::Accepted
    }

    /// The stories exist: the tracker's state is synced to GitHub from here on.
    pub fn is_syncing(self) -> bool {
        self >= Stage::StoriesCreated
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stage name in the store that this version does not know.
#[derive(Debug, thiserror::Error)]
#[error("unknown concern stage {0:?}")]
pub struct UnknownStage(pub String);

impl FromStr for Stage {
    type Err = UnknownStage;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Stage::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownStage(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for st in Stage::ALL {
            assert_eq!(st.as_str().parse::<Stage>().unwrap(), st);
        }
        assert!("bogus".parse::<Stage>().is_err());
    }
}
