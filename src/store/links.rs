//! Story links: the story created for each team named in a concern. Keyed on
//! (repo, number, team), so the engine can tell which teams still need their story.

use sqlx::Row;

use super::error::to_db;
use super::{Store, StoreError};

/// One team's story for a concern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoryLink {
    /// Team name as in the config's `[teams]`.
    pub team: String,
    /// Tracker key (`DB-31`) or `owner/repo#n` for GitHub Projects.
    pub story_key: String,
    /// Browser URL of the story.
    pub story_url: String,
}

impl Store {
    /// Records (or replaces) the story of `team` for this concern.
    pub async fn set_story_link(
        &self,
        repo: &str,
        number: u64,
        team: &str,
        story_key: &str,
        story_url: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO links (repo, number, team, story_key, story_url) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (repo, number, team) DO UPDATE SET \
                 story_key = excluded.story_key, story_url = excluded.story_url",
        )
        .bind(repo)
        .bind(to_db("issue number", number)?)
        .bind(team)
        .bind(story_key)
        .bind(story_url)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Every team's story for this concern, by team name.
    pub async fn story_links(&self, repo: &str, number: u64) -> Result<Vec<StoryLink>, StoreError> {
        let rows = sqlx::query(
            "SELECT team, story_key, story_url FROM links \
             WHERE repo = $1 AND number = $2 ORDER BY team",
        )
        .bind(repo)
        .bind(to_db("issue number", number)?)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoryLink {
                    team: row.try_get("team")?,
                    story_key: row.try_get("story_key")?,
                    story_url: row.try_get("story_url")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::temp_store;

    #[tokio::test]
    async fn one_story_per_team() {
        let (store, _dir) = temp_store().await;
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
                    story_url: "https://j/browse/DB-9".into()
                },
                StoryLink {
                    team: "network".into(),
                    story_key: "NET-2".into(),
                    story_url: "https://j/browse/NET-2".into()
                },
            ]
        );
    }
}
