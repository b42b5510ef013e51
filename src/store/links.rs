//! Story links: the story created for each team named in a concern, and the story's tracker
//! state as last seen. Keyed on (repo, number, team), so the engine can tell which teams
//! still need their story.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::error::to_db;
use super::{Store, StoreError};
use crate::tracker::Progress;

/// The `status_category` column as a [`Progress`]; an unknown word reads as unknown.
pub(super) fn progress_column(row: &AnyRow) -> Result<Option<Progress>, StoreError> {
    let raw: Option<String> = row.try_get("status_category")?;
    Ok(raw.as_deref().and_then(Progress::parse))
}

/// A story's state in the tracker, as the sync last saw it. Every field is `None` until the
/// story has been looked at (or a webhook told about it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoryState {
    /// Status name (`In Progress`, `In Review`, …).
    pub status: Option<String>,
    /// What the status meant for the concern. Stored in the `status_category` column (its
    /// name from when only Jira existed): older files hold Jira's category keys there, which
    /// [`Progress::parse`] still reads.
    pub progress: Option<Progress>,
    /// Assignee's tracker account (accountId on Cloud, user name on Data Center).
    pub assignee: Option<String>,
    /// Name of the sprint the story is in.
    pub sprint: Option<String>,
    /// The story's `updated` in the tracker (ms since the epoch): orders states, so a late
    /// webhook never overwrites a newer state.
    pub updated_ms: Option<i64>,
}

/// One team's story for a concern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoryLink {
    /// Team name as in the config's `[teams]`.
    pub team: String,
    /// Tracker key (`DB-31`) or `owner/repo#n` for GitHub Projects.
    pub story_key: String,
    /// Browser URL of the story.
    pub story_url: String,
    /// Its tracker state as last seen.
    pub state: StoryState,
}

/// A story link with its concern: one row of [`Store::story_links_page`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoryLinkAt {
    /// The concern's repository, `owner/name`.
    pub repo: String,
    /// The concern's issue number.
    pub number: u64,
    /// The link.
    pub link: StoryLink,
}

impl StoryLink {
    fn from_row(row: &AnyRow) -> Result<Self, StoreError> {
        Ok(Self {
            team: row.try_get("team")?,
            story_key: row.try_get("story_key")?,
            story_url: row.try_get("story_url")?,
            state: StoryState {
                status: row.try_get("status")?,
                progress: progress_column(row)?,
                assignee: row.try_get("assignee")?,
                sprint: row.try_get("sprint")?,
                updated_ms: row.try_get("updated_ms")?,
            },
        })
    }
}

impl Store {
    /// Follows a GitHub issue transferred to another repository: the concern recorded as
    /// `from` (`owner/name`, number), with its decisions and story links, is recorded as
    /// `to` from now on, `from` is kept as where it moved from (see
    /// [`Store::concern_moved_from`]), and the issue's node id (stable across transfers) is
    /// kept. Nothing
    /// happens when `from` is unknown or `to` is already recorded (a redelivery, or the
    /// `transferred` and `opened` deliveries of one transfer both arriving). Returns whether
    /// the concern followed.
    pub async fn follow_issue_transfer(
        &self,
        from: (&str, u64),
        to: (&str, u64),
        node_id: Option<&str>,
    ) -> Result<bool, StoreError> {
        let (from_n, to_n) = (to_db("issue number", from.1)?, to_db("issue number", to.1)?);
        let mut tx = self.pool().begin().await?;
        // Write first (SQLite takes the write lock at once; a read upgraded to a write can
        // fail as busy beside another writer), guarded against a name already recorded.
        let moved = sqlx::query(
            "UPDATE concerns SET repo = $3, number = $4, \
                 issue_node_id = COALESCE($5, issue_node_id), \
                 moved_from = $1 || '#' || CAST($2 AS TEXT) \
             WHERE repo = $1 AND number = $2 AND NOT EXISTS \
                 (SELECT 1 FROM concerns c WHERE c.repo = $3 AND c.number = $4)",
        )
        .bind(from.0)
        .bind(from_n)
        .bind(to.0)
        .bind(to_n)
        .bind(node_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 0 {
            return Ok(false);
        }
        // The stage history moves too: lead times follow the concern, not its old name.
        for table in ["decisions", "links", "stage_transitions"] {
            let sql = format!(
                "UPDATE {table} SET repo = $3, number = $4 WHERE repo = $1 AND number = $2"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(from.0)
                .bind(from_n)
                .bind(to.0)
                .bind(to_n)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await.inspect(super::committed)?;
        Ok(true)
    }

    /// Where the concern recorded as (`repo`, `number`) was transferred from last, as
    /// `owner/name#number`; `None` when it never moved (or is unknown).
    pub async fn concern_moved_from(
        &self,
        repo: &str,
        number: u64,
    ) -> Result<Option<String>, StoreError> {
        let row: Option<(Option<String>,)> =
            sqlx::query_as("SELECT moved_from FROM concerns WHERE repo = $1 AND number = $2")
                .bind(repo)
                .bind(to_db("issue number", number)?)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.and_then(|(m,)| m))
    }

    /// Follows a Jira issue moved to another project (`old_key` → `new_key`, same `id`):
    /// the epic or story linked under the old key, or under the id, is renamed (key and the
    /// key in its URL) and its id recorded, keeping its concern, team and state. Returns how
    /// many links followed (0: the issue is none of ours).
    pub async fn follow_tracker_move(
        &self,
        old_key: &str,
        new_key: &str,
        id: Option<&str>,
    ) -> Result<u64, StoreError> {
        let mut tx = self.pool().begin().await?;
        let mut moved = 0;
        for sql in [
            "UPDATE concerns SET epic_key = $2, \
                 epic_url = replace(epic_url, '/browse/' || epic_key, '/browse/' || $2), \
                 epic_id = COALESCE($3, epic_id) \
             WHERE epic_key = $1 OR (epic_id IS NOT NULL AND epic_id = $3)",
            "UPDATE links SET story_key = $2, \
                 story_url = replace(story_url, '/browse/' || story_key, '/browse/' || $2), \
                 story_id = COALESCE($3, story_id) \
             WHERE story_key = $1 OR (story_id IS NOT NULL AND story_id = $3)",
        ] {
            moved += sqlx::query(sql)
                .bind(old_key)
                .bind(new_key)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await.inspect(super::committed)?;
        Ok(moved)
    }

    /// Records (or replaces) the story of `team` for this concern. Replacing it with
    /// another story forgets the old story's state; the same story keeps its state.
    pub async fn set_story_link(
        &self,
        repo: &str,
        number: u64,
        team: &str,
        story_key: &str,
        story_url: &str,
    ) -> Result<(), StoreError> {
        self.set_story_links(repo, number, &[(team, story_key, story_url)])
            .await
    }

    /// [`Store::set_story_link`] for several teams (`(team, key, url)`) in one commit.
    pub async fn set_story_links(
        &self,
        repo: &str,
        number: u64,
        links: &[(&str, &str, &str)],
    ) -> Result<(), StoreError> {
        let with: Vec<_> = links.iter().map(|&(t, k, u)| (t, k, u, None)).collect();
        self.record_stories(repo, number, &with, false).await
    }

    /// The stories of several teams (`(team, key, url, id)`) in one commit, each with its
    /// stable tracker id when known ([`crate::tracker::TrackerIssue::id`], so a delivery
    /// naming the story by id finds its concern: [`Store::concern_for_tracker_id`]) and,
    /// when `all_made`, the stage moved to [`crate::council::Stage::StoriesCreated`] (cause
    /// `Created`).
    pub async fn record_stories(
        &self,
        repo: &str,
        number: u64,
        links: &[(&str, &str, &str, Option<&str>)],
        all_made: bool,
    ) -> Result<(), StoreError> {
        self.record_stories_seen(repo, number, None, links, all_made, &[], None)
            .await
    }

    /// [`Store::record_stories`], and in the same commit the epic they were made under
    /// when it is not recorded yet (`epic`, as [`Store::record_epic`] records it), what the
    /// tracker showed of the stories when read back just after (`seen`: each team's state,
    /// as [`Store::update_story_states`] records it) and what they add up to (`progress`,
    /// as [`Store::set_progress`] records it): an accepted concern's epic, stories and
    /// their first status cost one commit.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_stories_seen(
        &self,
        repo: &str,
        number: u64,
        epic: Option<&super::EpicRecord<'_>>,
        links: &[(&str, &str, &str, Option<&str>)],
        all_made: bool,
        seen: &[(&str, StoryState)],
        progress: Option<Progress>,
    ) -> Result<(), StoreError> {
        let _turn = self.write_turn().await;
        let n = to_db("issue number", number)?;
        let mut tx = self.pool().begin().await?;
        if let Some(epic) = epic {
            Self::record_epic_in(&mut tx, repo, number, epic).await?;
        }
        for (team, story_key, story_url, id) in links {
            Self::upsert_link(&mut tx, repo, n, team, story_key, story_url, *id).await?;
        }
        for (team, state) in seen {
            Self::update_state(&mut tx, repo, n, team, state).await?;
        }
        if let Some(progress) = progress {
            sqlx::query(
                "UPDATE concerns SET progress = $1, updated_at = $2 WHERE repo = $3 AND number = $4",
            )
            .bind(super::concerns::progress_str(progress))
            .bind(super::now_ms())
            .bind(repo)
            .bind(n)
            .execute(&mut *tx)
            .await?;
        }
        if all_made {
            super::stages::advance_in(
                &mut tx,
                repo,
                number,
                crate::council::Stage::StoriesCreated,
                crate::council::Cause::Created,
                None,
            )
            .await?;
        }
        tx.commit().await.inspect(super::committed)?;
        Ok(())
    }

    async fn upsert_link(
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        repo: &str,
        n: i64,
        team: &str,
        story_key: &str,
        story_url: &str,
        story_id: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO links (repo, number, team, story_key, story_url, story_id) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (repo, number, team) DO UPDATE SET \
                 story_key = excluded.story_key, story_url = excluded.story_url, \
                 story_id = COALESCE(excluded.story_id, CASE WHEN links.story_key = excluded.story_key \
                                                            THEN links.story_id END), \
                 status = CASE WHEN links.story_key = excluded.story_key \
                               THEN links.status END, \
                 status_category = CASE WHEN links.story_key = excluded.story_key \
                                        THEN links.status_category END, \
                 assignee = CASE WHEN links.story_key = excluded.story_key \
                                 THEN links.assignee END, \
                 sprint = CASE WHEN links.story_key = excluded.story_key \
                               THEN links.sprint END, \
                 updated_ms = CASE WHEN links.story_key = excluded.story_key \
                                   THEN links.updated_ms END",
        )
        .bind(repo)
        .bind(n)
        .bind(team)
        .bind(story_key)
        .bind(story_url)
        .bind(story_id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Every team's story for this concern, by team name.
    pub async fn story_links(&self, repo: &str, number: u64) -> Result<Vec<StoryLink>, StoreError> {
        let rows = sqlx::query(
            "SELECT team, story_key, story_url, status, status_category, assignee, sprint, \
                    updated_ms \
             FROM links WHERE repo = $1 AND number = $2 ORDER BY team",
        )
        .bind(repo)
        .bind(to_db("issue number", number)?)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(StoryLink::from_row).collect()
    }

    /// One keyset page of every concern's story links, in (repo, number, team) order: at
    /// most `limit` links after `after` (the last link of the previous page; `None` from the
    /// start), each with its concern (`owner/name`, number). What the full sweep compares a
    /// tracker listing with, a page at a time, so no caller holds every link at once. An
    /// empty page is the end.
    pub async fn story_links_page(
        &self,
        after: Option<&StoryLinkAt>,
        limit: u32,
    ) -> Result<Vec<StoryLinkAt>, StoreError> {
        const COLUMNS: &str = "repo, number, team, story_key, story_url, status, \
                               status_category, assignee, sprint, updated_ms";
        let rows = match after {
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM links ORDER BY repo, number, team LIMIT $1"
                )))
                .bind(i64::from(limit))
                .fetch_all(self.pool())
                .await?
            }
            // After (repo, number, team) in the primary key's order, spelt out term by term.
            Some(at) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM links \
                     WHERE repo > $1 OR (repo = $1 AND number > $2) \
                        OR (repo = $1 AND number = $2 AND team > $3) \
                     ORDER BY repo, number, team LIMIT $4"
                )))
                .bind(at.repo.as_str())
                .bind(to_db("issue number", at.number)?)
                .bind(at.link.team.as_str())
                .bind(i64::from(limit))
                .fetch_all(self.pool())
                .await?
            }
        };
        rows.iter()
            .map(|row| {
                let number = super::error::from_db("issue number", row.try_get("number")?)?;
                Ok(StoryLinkAt {
                    repo: row.try_get("repo")?,
                    number,
                    link: StoryLink::from_row(row)?,
                })
            })
            .collect()
    }

    /// The story links whose key is one of `keys`, as given or in upper case (tracker keys
    /// are upper case; the `links_story_key` index answers it), each with its concern, in
    /// (repo, number, team) order: what the full sweep compares one page of the tracker's
    /// listing with. None for no keys.
    pub async fn story_links_keyed(&self, keys: &[String]) -> Result<Vec<StoryLinkAt>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let keys = super::concerns::as_given_and_upper(keys);
        let placeholders: Vec<String> = (1..=keys.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT repo, number, team, story_key, story_url, status, status_category, \
                    assignee, sprint, updated_ms \
             FROM links WHERE story_key IN ({}) ORDER BY repo, number, team",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for k in keys {
            query = query.bind(k);
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|row| {
                let number = super::error::from_db("issue number", row.try_get("number")?)?;
                Ok(StoryLinkAt {
                    repo: row.try_get("repo")?,
                    number,
                    link: StoryLink::from_row(row)?,
                })
            })
            .collect()
    }

    /// How many story links the store holds.
    pub async fn count_story_links(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM links")
            .fetch_one(self.pool())
            .await?;
        super::error::from_db("link count", n)
    }

    /// Records what the tracker says about `team`'s story; only these columns change. A
    /// state older than the stored one (by `updated_ms`; Jira redelivers late, after newer
    /// deliveries) is not written. Returns whether it was written (`false` also when the
    /// concern has no story for `team`).
    pub async fn update_story_state(
        &self,
        repo: &str,
        number: u64,
        team: &str,
        state: &StoryState,
    ) -> Result<bool, StoreError> {
        Ok(self
            .update_story_states(repo, number, &[(team, state.clone())])
            .await?
            > 0)
    }

    /// [`Store::update_story_state`] for several teams in one commit; how many changed.
    pub async fn update_story_states(
        &self,
        repo: &str,
        number: u64,
        states: &[(&str, StoryState)],
    ) -> Result<usize, StoreError> {
        let _turn = self.write_turn().await;
        let n = to_db("issue number", number)?;
        let mut tx = self.pool().begin().await?;
        let mut changed = 0;
        for (team, state) in states {
            changed += usize::from(Self::update_state(&mut tx, repo, n, team, state).await?);
        }
        tx.commit().await.inspect(super::committed)?;
        Ok(changed)
    }

    async fn update_state(
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        repo: &str,
        n: i64,
        team: &str,
        state: &StoryState,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE links SET status = $1, status_category = $2, assignee = $3, sprint = $4, \
                              updated_ms = $5 \
             WHERE repo = $6 AND number = $7 AND team = $8 \
               AND (updated_ms IS NULL OR $5 IS NULL OR updated_ms <= $5)",
        )
        .bind(state.status.as_deref())
        .bind(state.progress.map(Progress::as_str))
        .bind(state.assignee.as_deref())
        .bind(state.sprint.as_deref())
        .bind(state.updated_ms)
        .bind(repo)
        .bind(n)
        .bind(team)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{on_each_backend, temp_store};

    /// The tracker ids kept with the epic and the stories find the concern (how a
    /// `projects_v2_item` delivery, which names the issue by node id, is routed); a story
    /// replaced by another forgets the old id, relinking the same story keeps it; links
    /// made without ids are reported so the engine can fall back to re-reading all.
    #[tokio::test]
    async fn tracker_ids_find_the_concern() {
        on_each_backend(|store| async move {
            let repo = "acme/ops";
            store
                .upsert_concern(&crate::store::ConcernRow {
                    repo: repo.into(),
                    number: 5,
                    issue_id: 4_445_000_005,
                    stage: crate::council::Stage::Accepted,
                    tracking_comment_id: None,
                    epic_key: None,
                    epic_url: None,
                    last_error: None,
                    updated_at: 1_000,
                    progress: None,
                    results: None,
                    results_at: None,
                    issue_state: None,
                    synced_hash: None,
                })
                .await
                .expect("concern");
            assert!(!store.has_links_without_ids().await.expect("none yet"));
            store
                .record_epic(repo, 5, "acme/ops#5", "u", Some("I_epic"), "h")
                .await
                .expect("epic");
            store
                .record_stories(
                    repo,
                    5,
                    &[
                        ("pay", "acme/pay#1", "u1", Some("I_pay")),
                        ("db", "acme/db#1", "u2", Some("I_db")),
                    ],
                    false,
                )
                .await
                .expect("stories");
            let here = Some((repo.to_owned(), 5));
            for id in ["I_epic", "I_pay", "I_db"] {
                assert_eq!(
                    store.concern_for_tracker_id(id).await.expect("by id"),
                    here,
                    "{id}"
                );
            }
            assert_eq!(
                store
                    .concern_for_tracker_id("I_other")
                    .await
                    .expect("other"),
                None
            );
            assert!(!store.has_links_without_ids().await.expect("all have ids"));
            // The same story linked again without its id keeps it; another story replaces it.
            store
                .set_story_link(repo, 5, "pay", "acme/pay#1", "u1")
                .await
                .expect("relink");
            assert_eq!(
                store.concern_for_tracker_id("I_pay").await.expect("kept"),
                here
            );
            store
                .set_story_link(repo, 5, "db", "acme/db#2", "u3")
                .await
                .expect("replace");
            assert_eq!(
                store.concern_for_tracker_id("I_db").await.expect("gone"),
                None
            );
            assert!(store.has_links_without_ids().await.expect("db#2 has none"));
        })
        .await;
    }

    /// A transfer keeps where the concern came from; a second one replaces it.
    #[tokio::test]
    async fn a_transfer_records_where_the_concern_came_from() {
        on_each_backend(|store| async move {
            store
                .upsert_concern(&crate::store::ConcernRow {
                    repo: "acme/ops".into(),
                    number: 5,
                    issue_id: 4_445_000_005,
                    stage: crate::council::Stage::Ready,
                    tracking_comment_id: None,
                    epic_key: None,
                    epic_url: None,
                    last_error: None,
                    updated_at: 1_000,
                    progress: None,
                    results: None,
                    results_at: None,
                    issue_state: None,
                    synced_hash: None,
                })
                .await
                .expect("concern");
            assert!(
                store
                    .follow_issue_transfer(("acme/ops", 5), ("acme/moved", 2), None)
                    .await
                    .expect("follow")
            );
            assert_eq!(
                store
                    .concern_moved_from("acme/moved", 2)
                    .await
                    .expect("read"),
                Some("acme/ops#5".into())
            );
            assert!(
                !store
                    .follow_issue_transfer(("acme/ops", 5), ("acme/moved", 2), None)
                    .await
                    .expect("replay")
            );
            store
                .follow_issue_transfer(("acme/moved", 2), ("acme/third", 7), None)
                .await
                .expect("second transfer");
            assert_eq!(
                store
                    .concern_moved_from("acme/third", 7)
                    .await
                    .expect("read"),
                Some("acme/moved#2".into())
            );
            assert_eq!(
                store.concern_moved_from("acme/ops", 5).await.expect("read"),
                None
            );
        })
        .await;
    }

    #[tokio::test]
    async fn one_story_per_team() {
        on_each_backend(|store| async move {
            let repo = "acme/ops";
            store
                .set_story_link(repo, 5, "network", "NET-1", "https://j/browse/NET-1")
                .await
                .expect("set");
            store
                .set_story_link(repo, 5, "db", "DB-9", "https://j/browse/DB-9")
                .await
                .expect("set");
            store
                .set_story_link(repo, 5, "network", "NET-2", "https://j/browse/NET-2")
                .await
                .expect("replace");
            store
                .set_story_link(repo, 6, "db", "DB-10", "https://j/browse/DB-10")
                .await
                .expect("other concern");
            let links = store.story_links(repo, 5).await.expect("list");
            assert_eq!(
                links,
                vec![
                    StoryLink {
                        team: "db".into(),
                        story_key: "DB-9".into(),
                        story_url: "https://j/browse/DB-9".into(),
                        state: StoryState::default(),
                    },
                    StoryLink {
                        team: "network".into(),
                        story_key: "NET-2".into(),
                        story_url: "https://j/browse/NET-2".into(),
                        state: StoryState::default(),
                    },
                ]
            );
        })
        .await;
    }

    /// Files written before progress was neutral hold Jira's category keys in the
    /// `status_category` column: they keep their meaning; new writes store progress words.
    #[tokio::test]
    async fn progress_reads_old_category_words_and_writes_neutral_ones() {
        let (store, _dir) = temp_store().await;
        store
            .set_story_link("acme/ops", 5, "db", "DB-9", "https://j/browse/DB-9")
            .await
            .expect("set");
        for (stored, want) in [
            ("new", Some(Progress::Todo)),
            ("indeterminate", Some(Progress::InProgress)),
            ("done", Some(Progress::Done)),
            ("in_progress", Some(Progress::InProgress)),
            ("undefined", None),
        ] {
            sqlx::query("UPDATE links SET status_category = $1")
                .bind(stored)
                .execute(store.pool())
                .await
                .expect("raw write");
            assert_eq!(state_of(&store, "db").await.progress, want, "{stored}");
        }
        let mut state = StoryState {
            progress: Some(Progress::InProgress),
            ..StoryState::default()
        };
        state.updated_ms = Some(1);
        store
            .update_story_state("acme/ops", 5, "db", &state)
            .await
            .expect("update");
        let raw: Option<String> = sqlx::query_scalar("SELECT status_category FROM links")
            .fetch_one(store.pool())
            .await
            .expect("raw read");
        assert_eq!(raw.as_deref(), Some("in_progress"));
    }

    fn in_progress(updated_ms: Option<i64>) -> StoryState {
        StoryState {
            status: Some("In Progress".into()),
            progress: Some(Progress::InProgress),
            assignee: Some("557058:dana".into()),
            sprint: Some("NET Sprint 12".into()),
            updated_ms,
        }
    }

    async fn state_of(store: &Store, team: &str) -> StoryState {
        store
            .story_links("acme/ops", 5)
            .await
            .expect("list")
            .into_iter()
            .find(|l| l.team == team)
            .map(|l| l.state)
            .expect("link")
    }

    #[tokio::test]
    async fn story_state_is_updated_narrowly_and_never_backwards() {
        on_each_backend(|store| async move {
            let repo = "acme/ops";
            for (team, key) in [("network", "NET-1"), ("db", "DB-9")] {
                store
                    .set_story_link(repo, 5, team, key, &format!("https://j/browse/{key}"))
                    .await
                    .expect("set");
            }
            assert!(
                store
                    .update_story_state(repo, 5, "network", &in_progress(Some(2_000)))
                    .await
                    .expect("update")
            );
            assert_eq!(state_of(&store, "network").await, in_progress(Some(2_000)));
            assert_eq!(
                state_of(&store, "db").await,
                StoryState::default(),
                "other team"
            );

            // A late redelivery of an older state is not applied.
            let older = StoryState {
                status: Some("To Do".into()),
                progress: Some(Progress::Todo),
                updated_ms: Some(1_000),
                ..StoryState::default()
            };
            assert!(
                !store
                    .update_story_state(repo, 5, "network", &older)
                    .await
                    .expect("update")
            );
            assert_eq!(state_of(&store, "network").await, in_progress(Some(2_000)));

            // The same moment again (a duplicate) and a newer one are applied.
            let done = StoryState {
                status: Some("Done".into()),
                progress: Some(Progress::Done),
                updated_ms: Some(3_000),
                ..in_progress(None)
            };
            assert!(
                store
                    .update_story_state(repo, 5, "network", &in_progress(Some(2_000)))
                    .await
                    .expect("same time")
            );
            assert!(
                store
                    .update_story_state(repo, 5, "network", &done)
                    .await
                    .expect("newer")
            );
            assert_eq!(state_of(&store, "network").await, done);

            // No story for that team: nothing written.
            assert!(
                !store
                    .update_story_state(repo, 5, "payments", &done)
                    .await
                    .expect("no link")
            );

            // The same story set again keeps its state; another story starts blank.
            store
                .set_story_link(repo, 5, "network", "NET-1", "https://j/browse/NET-1")
                .await
                .expect("same");
            assert_eq!(state_of(&store, "network").await, done);
            store
                .set_story_link(repo, 5, "network", "NET-7", "https://j/browse/NET-7")
                .await
                .expect("replace");
            assert_eq!(state_of(&store, "network").await, StoryState::default());
        })
        .await;
    }

    /// Keyset pages of every story link, whatever the page size, give each link once, in
    /// (repo, number, team) order, across repositories, numbers that sort differently as
    /// text (9 < 10) and several teams per concern; an empty page ends it.
    /// The sweep's look-ups of one listing page: links by key (any case, unknown keys
    /// ignored), concerns by number and by epic key, the counts, and epics in keyset pages.
    #[tokio::test]
    async fn the_sweeps_keyed_lookups_find_what_a_page_names() {
        on_each_backend(|store| async move {
            for number in 1..=5u64 {
                let c = crate::store::ConcernRow {
                    repo: "acme/ops".into(),
                    number,
                    issue_id: 1000 + number,
                    stage: crate::council::Stage::StoriesCreated,
                    tracking_comment_id: None,
                    epic_key: (number != 3).then(|| format!("EP-{number}")),
                    epic_url: None,
                    last_error: None,
                    updated_at: 0,
                    progress: None,
                    results: None,
                    results_at: None,
                    issue_state: None,
                    synced_hash: None,
                };
                store.upsert_concern(&c).await.expect("concern");
                let key = format!("ST-{number}");
                store
                    .set_story_links(&c.repo, number, &[("data", key.as_str(), "u")])
                    .await
                    .expect("link");
            }
            let keys = |k: &[&str]| k.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
            let links = store
                .story_links_keyed(&keys(&["st-2", "ST-4", "NOPE-1"]))
                .await
                .expect("keyed");
            let found: Vec<(u64, &str)> = links
                .iter()
                .map(|a| (a.number, a.link.story_key.as_str()))
                .collect();
            assert_eq!(found, vec![(2, "ST-2"), (4, "ST-4")]);
            assert!(store.story_links_keyed(&[]).await.expect("none").is_empty());
            let numbered = store
                .concerns_numbered("acme/ops", &[5, 1, 99])
                .await
                .expect("numbered");
            assert_eq!(
                numbered.iter().map(|c| c.number).collect::<Vec<_>>(),
                [1, 5]
            );
            let epics = store
                .concerns_with_epics(&keys(&["ep-1", "EP-3", "EP-5"]))
                .await
                .expect("epics");
            assert_eq!(epics.iter().map(|c| c.number).collect::<Vec<_>>(), [1, 5]);
            assert_eq!(store.count_story_links().await.expect("count"), 5);
            assert_eq!(store.count_epics().await.expect("count"), 4);
            for limit in [1, 3, 10] {
                let mut got = Vec::new();
                let mut after: Option<(String, u64)> = None;
                loop {
                    let page = store
                        .epics_page(after.as_ref().map(|(r, n)| (r.as_str(), *n)), limit)
                        .await
                        .expect("page");
                    assert!(page.len() <= limit as usize);
                    got.extend(page.iter().map(|c| c.number));
                    match page.into_iter().last() {
                        Some(last) => after = Some((last.repo, last.number)),
                        None => break,
                    }
                }
                assert_eq!(got, [1, 2, 4, 5], "pages of {limit}");
            }
        })
        .await;
    }

    #[tokio::test]
    async fn story_link_pages_give_every_link_once_in_order() {
        on_each_backend(|store| async move {
            let mut want = Vec::new();
            for (repo, number) in [("acme/a", 9), ("acme/a", 10), ("acme/b", 1), ("b/a", 2)] {
                let teams = ["data", "payments", "platform"];
                let rows: Vec<(String, String, String)> = teams
                    .iter()
                    .map(|t| {
                        (
                            t.to_string(),
                            format!("{t}-{number}"),
                            format!("u/{number}"),
                        )
                    })
                    .collect();
                let rows: Vec<(&str, &str, &str)> = rows
                    .iter()
                    .map(|(t, k, u)| (t.as_str(), k.as_str(), u.as_str()))
                    .collect();
                store
                    .set_story_links(repo, number, &rows)
                    .await
                    .expect("links");
                want.extend(
                    teams
                        .iter()
                        .map(|t| (repo.to_owned(), number, t.to_string())),
                );
            }
            for limit in [1, 2, 5, 12, 100] {
                let mut got = Vec::new();
                let mut after: Option<StoryLinkAt> = None;
                loop {
                    let page = store
                        .story_links_page(after.as_ref(), limit)
                        .await
                        .expect("page");
                    assert!(page.len() <= limit as usize);
                    got.extend(
                        page.iter()
                            .map(|a| (a.repo.clone(), a.number, a.link.team.clone())),
                    );
                    match page.into_iter().last() {
                        Some(last) => after = Some(last),
                        None => break,
                    }
                }
                assert_eq!(got, want, "pages of {limit}");
            }
        })
        .await;
    }
}
