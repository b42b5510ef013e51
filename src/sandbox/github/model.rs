//! The GitHub half's data: users, organisations and teams, repositories, issues, comments.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `active` or `pending`, as GitHub's team membership API says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MemberState {
    /// A member.
    #[default]
    Active,
    /// Invited, not yet accepted: not a member for council decisions.
    Pending,
}

/// `member` or `maintainer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MemberRole {
    /// An ordinary member.
    #[default]
    Member,
    /// A team maintainer.
    Maintainer,
}

/// One team membership.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Membership {
    /// Active or pending.
    pub state: MemberState,
    /// Member or maintainer.
    pub role: MemberRole,
}

/// A user or organisation account.
#[derive(Debug, Clone, Serialize)]
pub struct Account {
    /// Login as first seen (GitHub logins are case-insensitive).
    pub login: String,
    /// Numeric id.
    pub id: u64,
    /// `User`, `Bot` or `Organization`.
    pub kind: &'static str,
    /// When the account was first seen.
    pub created_at: DateTime<Utc>,
}

/// A team of an organisation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Team {
    /// Numeric id.
    pub id: u64,
    /// Members by lower-cased login.
    pub members: BTreeMap<String, Membership>,
}

/// A repository label.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Label {
    /// Numeric id.
    pub id: u64,
    /// Name as created.
    pub name: String,
    /// Six hex digits.
    pub color: String,
    /// Optional description.
    pub description: Option<String>,
}

/// An issue comment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comment {
    /// Numeric id (unique across the sandbox, as on GitHub).
    pub id: u64,
    /// The issue it belongs to.
    pub issue_number: u64,
    /// Author login.
    pub user: String,
    /// Markdown body.
    pub body: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last edit.
    pub updated_at: DateTime<Utc>,
}

/// An issue.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Issue {
    /// Numeric id.
    pub id: u64,
    /// Number within the repository.
    pub number: u64,
    /// Title.
    pub title: String,
    /// Markdown body.
    pub body: Option<String>,
    /// Author login.
    pub user: String,
    /// `open` or `closed`.
    pub open: bool,
    /// `completed`, `not_planned`, `reopened`, `duplicate` or none.
    pub state_reason: Option<String>,
    /// Label names, in the order they were added.
    pub labels: Vec<String>,
    /// Assignee logins.
    pub assignees: Vec<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When closed, while closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// Who closed it, while closed.
    pub closed_by: Option<String>,
    /// Comment ids, oldest first (deleted ones removed).
    pub comments: Vec<u64>,
    /// What happened to the issue, for the control API.
    pub events: Vec<Value>,
    /// Set when the issue was transferred away: `(owner/name, number)` where it lives now.
    /// The old number stays taken and answers `301 Moved Permanently`, as on GitHub.
    pub transferred_to: Option<(String, u64)>,
}

/// A repository.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Repo {
    /// Numeric id.
    pub id: u64,
    /// Owner login (user or organisation).
    pub owner: String,
    /// Name.
    pub name: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Labels.
    pub labels: Vec<Label>,
    /// Issues, number `n` at index `n - 1`.
    pub issues: Vec<Issue>,
    /// Comments by id.
    pub comments: BTreeMap<u64, Comment>,
    /// Milestones, number `n` at index `n - 1`.
    #[serde(default)]
    pub milestones: Vec<Milestone>,
}

/// A repository milestone (`POST /repos/{owner}/{repo}/milestones`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Milestone {
    /// Numeric id.
    pub id: u64,
    /// Number within the repository (from 1).
    pub number: u64,
    /// Title.
    pub title: String,
    /// Optional description.
    pub description: Option<String>,
    /// `open` or `closed`.
    pub open: bool,
    /// Due date.
    pub due_on: Option<DateTime<Utc>>,
    /// Login of who created it.
    pub creator: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl Repo {
    /// `owner/name`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    /// The issue with this number.
    pub fn issue(&self, number: u64) -> Option<&Issue> {
        self.issues
            .get(usize::try_from(number).ok()?.checked_sub(1)?)
    }

    /// The issue with this number, to change it.
    pub fn issue_mut(&mut self, number: u64) -> Option<&mut Issue> {
        self.issues
            .get_mut(usize::try_from(number).ok()?.checked_sub(1)?)
    }

    /// The label with this name (case-insensitive, as on GitHub: one label per name in a
    /// repository whatever its case, non-ASCII letters included).
    pub fn label(&self, name: &str) -> Option<&Label> {
        self.labels.iter().find(|l| same_name(&l.name, name))
    }
}

/// Whether two label names are one label on GitHub (case-insensitive).
pub fn same_name(a: &str, b: &str) -> bool {
    a == b || a.to_lowercase() == b.to_lowercase()
}

/// Everything the GitHub half knows. Serialised as a whole to save it
/// (`[sandbox] state_dir`); `base_url` is the running sandbox's, set again on restore.
#[derive(Debug, Serialize, Deserialize)]
pub struct World {
    /// The sandbox's base URL, e.g. `http://127.0.0.1:4321`; urls in bodies start with it.
    pub base_url: String,
    /// Login of the token's user.
    pub bot_login: String,
    /// Accounts by lower-cased login.
    pub accounts: BTreeMap<String, Account>,
    /// Organisation logins (lower-cased).
    pub orgs: BTreeSet<String>,
    /// Teams by (lower-cased org, lower-cased slug).
    #[serde(with = "pair_keyed")]
    pub teams: BTreeMap<(String, String), Team>,
    /// Repositories by lower-cased `owner/name`.
    pub repos: BTreeMap<String, Repo>,
    /// Projects v2, issue types and the sub-issue tree.
    pub projects: super::projects::model::ProjectsWorld,
    next_id: u64,
}

impl World {
    /// An empty world whose token user is `bot_login`.
    pub fn new(base_url: String, bot_login: &str) -> Self {
        let mut w = Self {
            base_url,
            bot_login: bot_login.to_owned(),
            accounts: BTreeMap::new(),
            orgs: BTreeSet::new(),
            teams: BTreeMap::new(),
            repos: BTreeMap::new(),
            projects: Default::default(),
            // Ids of the size real GitHub hands out today, so nothing assumes small ones.
            next_id: 180_000_000,
        };
        w.account(bot_login, "Bot");
        w
    }

    /// A fresh id (one sequence for every kind: ids are unique within the sandbox).
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The account for `login`, created as `kind` when first seen.
    pub fn account(&mut self, login: &str, kind: &'static str) -> &Account {
        let key = login.to_ascii_lowercase();
        if !self.accounts.contains_key(&key) {
            let id = self.next_id();
            self.accounts.insert(
                key.clone(),
                Account {
                    login: login.to_owned(),
                    id,
                    kind,
                    created_at: Utc::now(),
                },
            );
        }
        &self.accounts[&key]
    }

    /// The account for `login`, if known.
    pub fn find_account(&self, login: &str) -> Option<&Account> {
        self.accounts.get(&login.to_ascii_lowercase())
    }

    /// Registers `login` as an organisation.
    pub fn org(&mut self, login: &str) {
        self.orgs.insert(login.to_ascii_lowercase());
        let key = login.to_ascii_lowercase();
        match self.accounts.get_mut(&key) {
            Some(a) => a.kind = "Organization",
            None => {
                self.account(login, "Organization");
            }
        }
    }

    /// Whether `login` is an organisation.
    pub fn is_org(&self, login: &str) -> bool {
        self.orgs.contains(&login.to_ascii_lowercase())
    }

    /// Sets a team membership, creating the organisation and team when needed.
    pub fn set_member(&mut self, org: &str, slug: &str, login: &str, m: Membership) {
        self.org(org);
        self.account(login, "User");
        let key = (org.to_ascii_lowercase(), slug.to_ascii_lowercase());
        if !self.teams.contains_key(&key) {
            let id = self.next_id();
            self.teams.insert(
                key.clone(),
                Team {
                    id,
                    members: BTreeMap::new(),
                },
            );
        }
        if let Some(team) = self.teams.get_mut(&key) {
            team.members.insert(login.to_ascii_lowercase(), m);
        }
    }

    /// Creates a repository (idempotent); `org` makes the owner an organisation.
    pub fn create_repo(&mut self, owner: &str, name: &str, org: bool) -> &Repo {
        if org {
            self.org(owner);
        } else {
            self.account(owner, "User");
        }
        let key = format!("{owner}/{name}").to_ascii_lowercase();
        if !self.repos.contains_key(&key) {
            let id = self.next_id();
            let repo = Repo {
                id,
                owner: owner.to_owned(),
                name: name.to_owned(),
                created_at: Utc::now(),
                labels: Vec::new(),
                issues: Vec::new(),
                comments: BTreeMap::new(),
                milestones: Vec::new(),
            };
            self.repos.insert(key.clone(), repo);
        }
        &self.repos[&key]
    }

    /// The repository `owner/name`.
    pub fn repo(&self, owner: &str, name: &str) -> Option<&Repo> {
        self.repos
            .get(&format!("{owner}/{name}").to_ascii_lowercase())
    }

    /// `OWNER`, `MEMBER` or `NONE` for `login` on `repo`.
    pub fn association(&self, repo: &Repo, login: &str) -> &'static str {
        if repo.owner.eq_ignore_ascii_case(login) {
            return "OWNER";
        }
        let org = repo.owner.to_ascii_lowercase();
        let member = self.teams.iter().any(|((o, _), t)| {
            *o == org
                && t.members
                    .get(&login.to_ascii_lowercase())
                    .is_some_and(|m| m.state == MemberState::Active)
        });
        if member { "MEMBER" } else { "NONE" }
    }
}

/// An account as saved: its `kind` is read back as the constant it was made from (`User`
/// for anything unknown).
#[derive(Deserialize)]
struct SavedAccount {
    login: String,
    id: u64,
    kind: String,
    created_at: DateTime<Utc>,
}

impl<'de> Deserialize<'de> for Account {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let a = SavedAccount::deserialize(d)?;
        Ok(Self {
            login: a.login,
            id: a.id,
            kind: match a.kind.as_str() {
                "Bot" => "Bot",
                "Organization" => "Organization",
                _ => "User",
            },
            created_at: a.created_at,
        })
    }
}

/// A map keyed by a pair, as a list of `[key, value]` entries (JSON keys are strings).
/// Serde for maps keyed by tuples (JSON keys must be strings): saved as a list of
/// `[key, value]` pairs.
pub(crate) mod pair_keyed {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        map: &BTreeMap<K, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter())
    }

    pub fn deserialize<'de, K, V, D>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        let entries: Vec<(K, V)> = Vec::deserialize(d)?;
        Ok(entries.into_iter().collect())
    }
}
