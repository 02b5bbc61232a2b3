//! What knowledge-base search learns: a workspace's synonym groups, click
//! weights per query and article, and the search log read as suggestions
//! (failed queries followed by an opened article) and as the queries that
//! led to an article.

use serde::Serialize;

use super::*;
use crate::domain::kb_learning::{after_click, decayed, MAX_SYNONYM_GROUPS};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SynonymGroup {
    pub id: i64,
    pub language: String,
    /// Entries joined by commas.
    #[serde(serialize_with = "ser_commas")]
    pub words: String,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub created_at: i64,
}

fn ser_commas<S: serde::Serializer>(v: &str, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(v.split(',').filter(|w| !w.is_empty()))
}

/// A query that found nothing useful, after which the same visitor opened
/// an article: proposed as a phrasing of that article.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Suggestion {
    pub query: String,
    pub article_id: i64,
    pub article_title: String,
    pub times: i64,
    /// The article's phrasings, to leave out those it already has.
    #[serde(skip)]
    pub phrasings: String,
}

/// Suggestions are read from this many recent sessions' chains at most.
const SUGGESTIONS_MAX: i64 = 50;
/// Articles boosted per query at most (the strongest).
const CLICKS_PER_QUERY: i64 = 10;

impl Store {
    pub async fn synonym_groups(&self, ws: i64) -> Result<Vec<SynonymGroup>> {
        Ok(sqlx::query_as(
            "SELECT id, language, words, created_at FROM kb_synonyms WHERE workspace_id = $1 ORDER BY id",
        )
        .bind(ws)
        .fetch_all(&self.read)
        .await?)
    }

    /// Adds a group (entries already checked); refused past the limit.
    pub async fn add_synonym_group(&self, ws: i64, language: &str, words: &[String]) -> Result<SynonymGroup> {
        let mut tx = self.write.begin().await?;
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM kb_synonyms WHERE workspace_id = $1")
            .bind(ws)
            .fetch_one(&mut *tx)
            .await?;
        if n as usize >= MAX_SYNONYM_GROUPS {
            return Err(crate::domain::Invalid::new(
                "words",
                format!("a workspace keeps at most {MAX_SYNONYM_GROUPS} synonym groups"),
            )
            .into());
        }
        let g: SynonymGroup = sqlx::query_as(
            "INSERT INTO kb_synonyms (workspace_id, language, words, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING id, language, words, created_at",
        )
        .bind(ws)
        .bind(language)
        .bind(words.join(","))
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(g)
    }

    pub async fn delete_synonym_group(&self, ws: i64, id: i64) -> Result<()> {
        let n = sqlx::query("DELETE FROM kb_synonyms WHERE id = $1 AND workspace_id = $2")
            .bind(id)
            .bind(ws)
            .execute(&self.write)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// The visitor opened `article_id` from search `search_id`: recorded
    /// once per search, and counted as a click for that query and article.
    pub async fn record_open(&self, ws: i64, search_id: i64, article_id: i64) -> Result<()> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let query: Option<String> = sqlx::query_scalar(
            "UPDATE kb_searches SET opened_article_id = $1 WHERE id = $2 AND workspace_id = $3 \
             AND opened_article_id IS NULL AND EXISTS (SELECT 1 FROM kb_articles a WHERE a.id = $1 AND a.workspace_id = $3) \
             RETURNING query",
        )
        .bind(article_id)
        .bind(search_id)
        .bind(ws)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(query) = query else {
            return Ok(());
        };
        let old: Option<(i64, i64)> = sqlx::query_as(
            "SELECT weight_milli, updated_at FROM kb_clicks WHERE workspace_id = $1 AND query = $2 AND article_id = $3",
        )
        .bind(ws)
        .bind(&query)
        .bind(article_id)
        .fetch_optional(&mut *tx)
        .await?;
        let (w, at) = old.unwrap_or((0, now));
        sqlx::query(
            "INSERT INTO kb_clicks (workspace_id, query, article_id, weight_milli, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (workspace_id, query, article_id) DO UPDATE SET weight_milli = excluded.weight_milli, updated_at = excluded.updated_at",
        )
        .bind(ws)
        .bind(&query)
        .bind(article_id)
        .bind(after_click(w, at, now))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Articles opened after `query` (normalised), with their click weight
    /// faded to `now`; the strongest first.
    pub async fn clicks_for(&self, ws: i64, query: &str, now: i64) -> Result<Vec<(i64, f32)>> {
        let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT article_id, weight_milli, updated_at FROM kb_clicks WHERE workspace_id = $1 AND query = $2 \
             ORDER BY weight_milli DESC, article_id LIMIT $3",
        )
        .bind(ws)
        .bind(query)
        .bind(CLICKS_PER_QUERY)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(|(a, w, at)| (a, decayed(w, at, now))).collect())
    }

    /// Failed or unopened queries after which the same session opened an
    /// article, by how often; those already phrasings of the article left out.
    pub async fn phrasing_suggestions(&self, ws: i64, since: i64) -> Result<Vec<Suggestion>> {
        let rows: Vec<Suggestion> = sqlx::query_as(
            "SELECT p.query AS query, s.opened_article_id AS article_id, a.title AS article_title, COUNT(*) AS times, \
             a.phrasings AS phrasings \
             FROM kb_searches s JOIN kb_searches p ON p.id = s.previous_id \
             JOIN kb_articles a ON a.id = s.opened_article_id AND a.workspace_id = s.workspace_id \
             WHERE s.workspace_id = $1 AND p.workspace_id = $1 AND s.created_at >= $2 \
             AND p.opened_article_id IS NULL AND p.query <> s.query \
             GROUP BY p.query, s.opened_article_id, a.title, a.phrasings ORDER BY times DESC, p.query LIMIT $3",
        )
        .bind(ws)
        .bind(since)
        .bind(SUGGESTIONS_MAX * 2)
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .filter(|r| !r.phrasings.lines().any(|p| p.to_lowercase() == r.query))
            .take(SUGGESTIONS_MAX as usize)
            .collect())
    }

    /// What visitors searched for before opening `article_id`, by how often.
    pub async fn queries_to_article(&self, ws: i64, article_id: i64, since: i64) -> Result<Vec<(String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT query, COUNT(*) AS n FROM kb_searches WHERE workspace_id = $1 AND opened_article_id = $2 \
             AND created_at >= $3 GROUP BY query ORDER BY n DESC, query LIMIT 50",
        )
        .bind(ws)
        .bind(article_id)
        .bind(since)
        .fetch_all(&self.read)
        .await?)
    }
}
