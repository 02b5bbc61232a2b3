//! The knowledge base: categories, articles and their translations,
//! helpfulness votes, and what visitors searched for.

use crate::domain::event::{change, Event, EventActor, EventType, NewEvent};
use serde::Serialize;

use super::*;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Article {
    pub id: i64,
    #[serde(skip)]
    pub workspace_id: i64,
    /// Articles with the same group are translations of one another.
    pub group_id: i64,
    pub category_id: Option<i64>,
    pub language: String,
    pub slug: String,
    pub title: String,
    pub body: String,
    #[serde(skip)]
    pub body_html: String,
    pub tags: String,
    /// "Other ways to ask this", one per line.
    #[serde(serialize_with = "ser_lines")]
    pub phrasings: String,
    pub status: String,
    pub helpful_yes: i64,
    pub helpful_no: i64,
    pub views: i64,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub created_at: i64,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub updated_at: i64,
}

const ARTICLE_COLS: &str = "id, workspace_id, group_id, category_id, language, slug, title, body, body_html, tags, phrasings, status, helpful_yes, helpful_no, views, created_at, updated_at";

impl Article {
    pub fn phrasing_list(&self) -> Vec<String> {
        self.phrasings
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }
}

fn ser_lines<S: serde::Serializer>(v: &str, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(v.lines().filter(|l| !l.is_empty()))
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Category {
    pub id: i64,
    pub language: String,
    pub slug: String,
    pub name: String,
    pub position: i64,
}

/// A new article or a change to one; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ArticleInput {
    pub title: Option<String>,
    /// Markdown and its sanitised HTML, always together.
    pub body: Option<(String, String)>,
    pub language: Option<String>,
    pub status: Option<String>,
    pub category_id: Option<Option<i64>>,
    pub tags: Option<Vec<String>>,
    /// Checked by `domain::kb_learning::phrasings`.
    pub phrasings: Option<Vec<String>>,
    pub slug: Option<String>,
    pub translation_of: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct SearchReport {
    pub searches: i64,
    pub sessions: i64,
    /// Share of searching sessions that opened an article and did not contact us.
    pub deflection_rate: f64,
    pub top: Vec<(String, i64)>,
    pub no_results: Vec<(String, i64)>,
    pub not_opened: Vec<(String, i64)>,
    /// (query that failed or went unopened, what was searched next, times)
    pub next: Vec<(String, String, i64)>,
}

impl Store {
    async fn unique_slug(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        ws: i64,
        lang: &str,
        base: &str,
        except: i64,
    ) -> Result<String> {
        let base = if base.is_empty() {
            "article".to_string()
        } else {
            base.to_string()
        };
        let taken: Vec<String> = sqlx::query_scalar("SELECT slug FROM kb_articles WHERE workspace_id = $1 AND language = $2 AND (slug = $3 OR slug LIKE $4) AND id <> $5")
            .bind(ws)
            .bind(lang)
            .bind(&base)
            .bind(format!("{base}-%"))
            .bind(except)
            .fetch_all(&mut **tx)
            .await?;
        Ok((1..)
            .map(|n| if n == 1 { base.clone() } else { format!("{base}-{n}") })
            .find(|s| !taken.contains(s))
            .expect("a free slug"))
    }

    pub async fn create_article(&self, ws: i64, a: ArticleInput, by: i64) -> Result<(Article, Vec<Event>)> {
        let now = now_ms();
        let lang = a.language.clone().unwrap_or_else(|| "en".into());
        let title = a.title.clone().unwrap_or_default();
        let (body, html) = a.body.clone().unwrap_or_default();
        let mut tx = self.write.begin().await?;
        if let Some(Some(c)) = a.category_id {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM kb_categories WHERE id = $1 AND workspace_id = $2")
                .bind(c)
                .bind(ws)
                .fetch_one(&mut *tx)
                .await?;
            if n == 0 {
                return Err(
                    crate::domain::Invalid::new("category_id", format!("no category {c} in this workspace")).into(),
                );
            }
        }
        let group: Option<i64> = match a.translation_of {
            Some(t) => Some(
                sqlx::query_scalar("SELECT group_id FROM kb_articles WHERE id = $1 AND workspace_id = $2")
                    .bind(t)
                    .bind(ws)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or_else(|| {
                        crate::domain::Invalid::new("translation_of", format!("no article {t} in this workspace"))
                    })?,
            ),
            None => None,
        };
        let slug = self
            .unique_slug(
                &mut tx,
                ws,
                &lang,
                &a.slug.clone().unwrap_or_else(|| crate::domain::slugify(&title)),
                0,
            )
            .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO kb_articles (workspace_id, group_id, category_id, language, slug, title, body, body_html, tags, status, created_at, updated_at, phrasings) VALUES ($1, 0, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11) RETURNING id",
        )
        .bind(ws)
        .bind(a.category_id.flatten())
        .bind(&lang)
        .bind(&slug)
        .bind(&title)
        .bind(&body)
        .bind(&html)
        .bind(a.tags.clone().unwrap_or_default().join(","))
        .bind(a.status.clone().unwrap_or_else(|| "draft".into()))
        .bind(now)
        .bind(a.phrasings.clone().unwrap_or_default().join("\n"))
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE kb_articles SET group_id = $1 WHERE id = $2")
            .bind(group.unwrap_or(id))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        super::people::audit(
            &mut tx,
            ws,
            Some(by),
            "kb.article_created",
            "kb_article",
            Some(id),
            "{}",
            now,
        )
        .await?;
        let ev = NewEvent::new(ws, EventType::ArticleCreated, EventActor::Agent(by)).article(id).changes(serde_json::json!({ "title": &title, "language": &lang, "status": a.status.as_deref().unwrap_or("draft") }));
        let logged = self.commit_with(tx, vec![ev]).await?;
        Ok((self.article(ws, id).await?, logged))
    }

    pub async fn update_article(&self, ws: i64, id: i64, a: ArticleInput, by: i64) -> Result<(Article, Vec<Event>)> {
        let now = now_ms();
        let before = self.article(ws, id).await?;
        let mut tx = self.write.begin().await?;
        let mut sql = query::Sql::new("UPDATE kb_articles SET updated_at = ");
        let p = sql.arg(now);
        sql.push(&p);
        if let Some(t) = &a.title {
            let p = sql.arg(t.as_str());
            sql.push(&format!(", title = {p}"));
        }
        if let Some((md, html)) = &a.body {
            let (p, q) = (sql.arg(md.as_str()), sql.arg(html.as_str()));
            sql.push(&format!(", body = {p}, body_html = {q}"));
        }
        if let Some(s) = &a.status {
            let p = sql.arg(s.as_str());
            sql.push(&format!(", status = {p}"));
        }
        if let Some(c) = a.category_id {
            match c {
                Some(c) => {
                    let p = sql.arg(c);
                    sql.push(&format!(", category_id = {p}"));
                }
                None => {
                    sql.push(", category_id = NULL");
                }
            }
        }
        if let Some(t) = &a.tags {
            let p = sql.arg(t.join(","));
            sql.push(&format!(", tags = {p}"));
        }
        if let Some(t) = &a.phrasings {
            let p = sql.arg(t.join("\n"));
            sql.push(&format!(", phrasings = {p}"));
        }
        if let Some(s) = &a.slug {
            let s = self.unique_slug(&mut tx, ws, &before.language, s, id).await?;
            let p = sql.arg(s);
            sql.push(&format!(", slug = {p}"));
        }
        let (i, w) = (sql.arg(id), sql.arg(ws));
        sql.push(&format!(" WHERE id = {i} AND workspace_id = {w}"));
        sql.query().execute(&mut *tx).await?;
        super::people::audit(
            &mut tx,
            ws,
            Some(by),
            "kb.article_updated",
            "kb_article",
            Some(id),
            "{}",
            now,
        )
        .await?;
        let mut changes = serde_json::Map::new();
        if let Some(t) = a.title.as_ref().filter(|t| **t != before.title) {
            changes.insert("title".into(), change(&before.title, t));
        }
        if let Some(st) = a.status.as_ref().filter(|st| **st != before.status) {
            changes.insert("status".into(), change(&before.status, st));
        }
        if a.body.is_some() {
            changes.insert("body".into(), true.into());
        }
        if a.phrasings.is_some() {
            changes.insert("phrasings".into(), true.into());
        }
        let ev = NewEvent::new(ws, EventType::ArticleUpdated, EventActor::Agent(by))
            .article(id)
            .changes(changes.into());
        let logged = self.commit_with(tx, vec![ev]).await?;
        Ok((self.article(ws, id).await?, logged))
    }

    pub async fn delete_article(&self, ws: i64, id: i64, by: i64) -> Result<Vec<Event>> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let n = sqlx::query("DELETE FROM kb_articles WHERE id = $1 AND workspace_id = $2")
            .bind(id)
            .bind(ws)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        super::people::audit(
            &mut tx,
            ws,
            Some(by),
            "kb.article_deleted",
            "kb_article",
            Some(id),
            "{}",
            now,
        )
        .await?;
        self.commit_with(
            tx,
            vec![NewEvent::new(ws, EventType::ArticleDeleted, EventActor::Agent(by)).article(id)],
        )
        .await
    }

    pub async fn article(&self, ws: i64, id: i64) -> Result<Article> {
        sqlx::query_as(&format!(
            "SELECT {ARTICLE_COLS} FROM kb_articles WHERE id = $1 AND workspace_id = $2"
        ))
        .bind(id)
        .bind(ws)
        .fetch_optional(&self.read)
        .await?
        .ok_or(StoreError::NotFound)
    }

    /// A published article by its address.
    pub async fn published_article(&self, ws: i64, lang: &str, slug: &str) -> Result<Article> {
        sqlx::query_as(&format!("SELECT {ARTICLE_COLS} FROM kb_articles WHERE workspace_id = $1 AND language = $2 AND slug = $3 AND status = 'published'"))
            .bind(ws)
            .bind(lang)
            .bind(slug)
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)
    }

    pub async fn list_articles(&self, ws: i64, language: Option<&str>, published_only: bool) -> Result<Vec<Article>> {
        let mut sql = query::Sql::new(&format!("SELECT {ARTICLE_COLS} FROM kb_articles WHERE workspace_id = "));
        let p = sql.arg(ws);
        sql.push(&p);
        if let Some(l) = language {
            let p = sql.arg(l);
            sql.push(&format!(" AND language = {p}"));
        }
        if published_only {
            sql.push(" AND status = 'published'");
        }
        sql.push(" ORDER BY category_id, title LIMIT 5000");
        Ok(sql.query_as().fetch_all(&self.read).await?)
    }

    /// Every published article of every workspace, in pages, for indexing.
    pub async fn published_articles_after(&self, after_id: i64, limit: i64) -> Result<Vec<(Article, String)>> {
        let rows: Vec<Article> = sqlx::query_as(&format!(
            "SELECT {ARTICLE_COLS} FROM kb_articles WHERE status = 'published' AND id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for a in rows {
            let slug = self.workspace(a.workspace_id).await?.slug;
            out.push((a, slug));
        }
        Ok(out)
    }

    /// Other languages of an article: (language, slug), published only.
    pub async fn translations(&self, ws: i64, group_id: i64) -> Result<Vec<(String, String)>> {
        Ok(sqlx::query_as("SELECT language, slug FROM kb_articles WHERE workspace_id = $1 AND group_id = $2 AND status = 'published' ORDER BY language").bind(ws).bind(group_id).fetch_all(&self.read).await?)
    }

    pub async fn create_category(&self, ws: i64, language: &str, name: &str, position: i64) -> Result<Category> {
        let slug = crate::domain::slugify(name);
        let id: i64 = sqlx::query_scalar("INSERT INTO kb_categories (workspace_id, language, slug, name, position, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
            .bind(ws)
            .bind(language)
            .bind(&slug)
            .bind(name)
            .bind(position)
            .bind(now_ms())
            .fetch_one(&self.write)
            .await
            .map_err(|e| conflict_on_unique(e, "a category with this name exists in this language"))?;
        Ok(Category {
            id,
            language: language.into(),
            slug,
            name: name.into(),
            position,
        })
    }

    pub async fn categories(&self, ws: i64, language: Option<&str>) -> Result<Vec<Category>> {
        let mut sql =
            query::Sql::new("SELECT id, language, slug, name, position FROM kb_categories WHERE workspace_id = ");
        let p = sql.arg(ws);
        sql.push(&p);
        if let Some(l) = language {
            let p = sql.arg(l);
            sql.push(&format!(" AND language = {p}"));
        }
        sql.push(" ORDER BY position, name");
        Ok(sql.query_as().fetch_all(&self.read).await?)
    }

    pub async fn vote(&self, ws: i64, article_id: i64, helpful: bool) -> Result<()> {
        let col = if helpful { "helpful_yes" } else { "helpful_no" };
        let n = sqlx::query(&format!(
            "UPDATE kb_articles SET {col} = {col} + 1 WHERE id = $1 AND workspace_id = $2 AND status = 'published'"
        ))
        .bind(article_id)
        .bind(ws)
        .execute(&self.write)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn count_view(&self, ws: i64, article_id: i64) -> Result<()> {
        sqlx::query("UPDATE kb_articles SET views = views + 1 WHERE id = $1 AND workspace_id = $2")
            .bind(article_id)
            .bind(ws)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Records a search; returns its id. The previous search of the session
    /// (within 30 minutes) is linked, for "searched next" chains.
    pub async fn record_search(&self, ws: i64, session: &str, query: &str, language: &str, hits: i64) -> Result<i64> {
        let now = now_ms();
        let prev: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(id) FROM kb_searches WHERE workspace_id = $1 AND session = $2 AND created_at > $3",
        )
        .bind(ws)
        .bind(session)
        .bind(now - 30 * 60_000)
        .fetch_one(&self.read)
        .await?;
        Ok(sqlx::query_scalar("INSERT INTO kb_searches (workspace_id, session, query, language, hits, previous_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id")
            .bind(ws)
            .bind(session)
            .bind(query)
            .bind(language)
            .bind(hits)
            .bind(prev)
            .bind(now)
            .fetch_one(&self.write)
            .await?)
    }

    /// The visitor wrote to us after searching (chat, form): not deflected.
    pub async fn record_contact(&self, ws: i64, session: &str) -> Result<()> {
        sqlx::query(
            "UPDATE kb_searches SET contacted = 1 WHERE workspace_id = $1 AND session = $2 AND created_at > $3",
        )
        .bind(ws)
        .bind(session)
        .bind(now_ms() - 30 * 60_000)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn search_report(&self, ws: i64, since: i64) -> Result<SearchReport> {
        let counts = |cond: &str| {
            format!("SELECT query, COUNT(*) AS n FROM kb_searches WHERE workspace_id = $1 AND created_at >= $2{cond} GROUP BY query ORDER BY n DESC, query LIMIT 50")
        };
        let top: Vec<(String, i64)> = sqlx::query_as(&counts(""))
            .bind(ws)
            .bind(since)
            .fetch_all(&self.read)
            .await?;
        let no_results: Vec<(String, i64)> = sqlx::query_as(&counts(" AND hits = 0"))
            .bind(ws)
            .bind(since)
            .fetch_all(&self.read)
            .await?;
        let not_opened: Vec<(String, i64)> = sqlx::query_as(&counts(" AND hits > 0 AND opened_article_id IS NULL"))
            .bind(ws)
            .bind(since)
            .fetch_all(&self.read)
            .await?;
        let next: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT p.query, s.query, COUNT(*) AS n FROM kb_searches s JOIN kb_searches p ON p.id = s.previous_id \
             WHERE s.workspace_id = $1 AND s.created_at >= $2 AND (p.hits = 0 OR p.opened_article_id IS NULL) AND p.query <> s.query \
             GROUP BY p.query, s.query ORDER BY n DESC LIMIT 50",
        )
        .bind(ws)
        .bind(since)
        .fetch_all(&self.read)
        .await?;
        let (searches, sessions, deflected): (i64, i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COUNT(DISTINCT session), \
             (SELECT COUNT(*) FROM (SELECT session FROM kb_searches WHERE workspace_id = $1 AND created_at >= $2 GROUP BY session HAVING MAX(CASE WHEN opened_article_id IS NOT NULL THEN 1 ELSE 0 END) = 1 AND MAX(contacted) = 0) d) \
             FROM kb_searches WHERE workspace_id = $1 AND created_at >= $2",
        )
        .bind(ws)
        .bind(since)
        .fetch_one(&self.read)
        .await?;
        Ok(SearchReport {
            searches,
            sessions,
            deflection_rate: if sessions > 0 {
                deflected as f64 / sessions as f64
            } else {
                0.0
            },
            top,
            no_results,
            not_opened,
            next,
        })
    }
}
