//! Label names as GitHub compares them: without regard to case. GitHub keeps one label per
//! name in a repository whatever its case (creating `council/accepted` when
//! `Council/Accepted` exists reuses the existing label), so a council member applying the
//! repository's `Council/Accepted` has applied our `council/accepted`. Every comparison of
//! label names goes through [`same_label`] or a [`LabelSet`]; a removal names the label as it
//! is on the issue ([`LabelSet::actual`]), since that is the name GitHub's DELETE resolves.

/// Whether two label names name the same GitHub label (case-insensitive, Unicode-aware).
pub fn same_label(a: &str, b: &str) -> bool {
    a == b || a.to_lowercase() == b.to_lowercase()
}

/// The labels on an issue, as GitHub spells them, looked up case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSet {
    names: Vec<String>,
}

impl LabelSet {
    /// The labels of an issue (names as GitHub returned them; duplicates by case dropped).
    pub fn new<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut set = Self::default();
        for name in names {
            set.insert(name.into());
        }
        set
    }

    /// Whether a label of this name (any case) is on the issue.
    pub fn contains(&self, name: &str) -> bool {
        self.actual(name).is_some()
    }

    /// The name as it is on the issue, for a label of this name in any case.
    pub fn actual(&self, name: &str) -> Option<&str> {
        self.names
            .iter()
            .find(|n| same_label(n, name))
            .map(String::as_str)
    }

    /// Adds `name` unless a label of that name (any case) is already there.
    pub fn insert(&mut self, name: String) {
        if !self.contains(&name) {
            self.names.push(name);
        }
    }

    /// Removes the label of this name, in any case.
    pub fn remove(&mut self, name: &str) {
        self.names.retain(|n| !same_label(n, name));
    }

    /// The names as on the issue.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }
}

impl<S: Into<String>> FromIterator<S> for LabelSet {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        Self::new(iter)
    }
}

impl<S: Into<String>> Extend<S> for LabelSet {
    fn extend<I: IntoIterator<Item = S>>(&mut self, iter: I) {
        for name in iter {
            self.insert(name.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn case_does_not_matter_and_the_real_name_is_kept() {
        let mut set = LabelSet::new(["Council/Accepted", "SRE-Concern"]);
        assert!(set.contains("council/accepted"));
        assert_eq!(set.actual("COUNCIL/ACCEPTED"), Some("Council/Accepted"));
        assert!(same_label("Ärger", "ärger"), "not only ASCII");
        set.insert("council/accepted".into());
        assert_eq!(set.iter().count(), 2, "no second label by case");
        set.remove("sre-concern");
        assert!(!set.contains("SRE-Concern"));
        assert!(!same_label("council/accepted", "council/accepted "));
    }

    proptest! {
        #[test]
        fn any_casing_is_found_as_written(name in "[A-Za-z/_-]{1,20}", flips in proptest::collection::vec(any::<bool>(), 20)) {
            let other: String = name
                .chars()
                .zip(flips.iter().cycle())
                .map(|(c, f)| if *f { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
                .collect();
            let set = LabelSet::new([name.clone()]);
            prop_assert_eq!(set.actual(&other), Some(name.as_str()));
        }
    }
}
