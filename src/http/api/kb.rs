//! Knowledge base administration: articles, categories, search analytics.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::domain::ids::ArticleId;
use crate::domain::{optional_text, required_text, Actor, Invalid};
use crate::error::{ApiResult, AppError};
use crate::http::extract::{nullable, parse_id, ApiJson, ApiQuery};
use crate::store::kb::{Article, ArticleInput};

fn admin(a: &Actor) -> ApiResult<()> {
    if a.can_manage_workspace() {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "only an admin of the workspace may change the knowledge base",
        ))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArticleBody {
    pub title: Option<String>,
    pub body: Option<String>,
    pub language: Option<String>,
    pub status: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub category_id: Option<Option<i64>>,
    pub tags: Option<Vec<String>>,
    /// "Other ways to ask this": whole questions shoppers ask for it.
    pub phrasings: Option<Vec<String>>,
    pub slug: Option<String>,
    pub translation_of: Option<i64>,
}

pub fn input(b: ArticleBody, creating: bool) -> Result<ArticleInput, Invalid> {
    let title = match (b.title, creating) {
        (Some(t), _) => Some(required_text("title", &t, 300)?),
        (None, true) => return Err(Invalid::new("title", "is required")),
        (None, false) => None,
    };
    let body = match (b.body, creating) {
        (Some(md), _) => {
            let md = required_text("body", &md, 200_000)?;
            let html = crate::markdown::to_html(&md);
            Some((md, html))
        }
        (None, true) => return Err(Invalid::new("body", "is required")),
        (None, false) => None,
    };
    let language = match (b.language, creating) {
        (Some(l), _) if crate::i18n::LANGS.contains(&l.as_str()) => Some(l),
        (Some(l), _) => {
            return Err(Invalid::new(
                "language",
                format!(
                    "'{}' is not one of: en, ru, uk, fa",
                    l.chars().take(20).collect::<String>()
                ),
            ))
        }
        (None, true) => return Err(Invalid::new("language", "is required: en, ru, uk or fa")),
        (None, false) => None,
    };
    if !creating && language.is_some() {
        return Err(Invalid::new(
            "language",
            "cannot change; create a translation with translation_of instead",
        ));
    }
    let status = b
        .status
        .map(|s| {
            if s == "draft" || s == "published" {
                Ok(s)
            } else {
                Err(Invalid::new("status", "draft or published"))
            }
        })
        .transpose()?;
    let tags = b
        .tags
        .map(|t| crate::domain::ticket::normalize_labels(&t).map_err(|e| Invalid::new("tags", e.message)))
        .transpose()?;
    let phrasings = b
        .phrasings
        .map(|p| crate::domain::kb_learning::phrasings(&p))
        .transpose()?;
    let slug = b
        .slug
        .map(|s| optional_text("slug", &crate::domain::slugify(&s), 80))
        .transpose()?;
    Ok(ArticleInput {
        title,
        body,
        language,
        status,
        category_id: b.category_id,
        tags,
        phrasings,
        slug,
        translation_of: b.translation_of,
    })
}

pub async fn reindex(s: &AppState, ws: i64, a: Option<&Article>, id: i64) {
    // This node's index at once, so the author sees the change; every
    // node (this one again, harmlessly) applies it from the event log.
    let slug = s.store.workspace(ws).await.map(|w| w.slug).unwrap_or_default();
    let r = match a.filter(|a| a.status == "published") {
        Some(a) => s.kb.upsert(crate::kb::doc_of(a, &slug)),
        None => s.kb.delete(id),
    };
    if let Err(e) = r {
        tracing::warn!(error = %e, "search index not updated; it is rebuilt on the next start");
    }
}

pub async fn create(
    State(s): State<AppState>,
    actor: Actor,
    ApiJson(b): ApiJson<ArticleBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    admin(&actor)?;
    let a = s.svc.create_article(&actor, input(b, true)?).await?;
    reindex(&s, actor.workspace_id, Some(&a), a.id).await;
    Ok((StatusCode::CREATED, Json(json!(a))))
}

/// An admin's article id from the path: 404 unless it is this workspace's.
async fn owned(s: &AppState, actor: &Actor, id: &str) -> ApiResult<i64> {
    admin(actor)?;
    let id = parse_id(id, "article")?;
    s.store
        .article(actor.workspace_id, id)
        .await
        .map_err(|_| AppError::not_found("article"))?;
    Ok(id)
}

pub async fn update(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ArticleBody>,
) -> ApiResult<Json<Value>> {
    let id = owned(&s, &actor, &id).await?;
    let a = s.svc.update_article(&actor, ArticleId(id), input(b, false)?).await?;
    reindex(&s, actor.workspace_id, Some(&a), a.id).await;
    Ok(Json(json!(a)))
}

pub async fn delete(State(s): State<AppState>, actor: Actor, Path(id): Path<String>) -> ApiResult<StatusCode> {
    admin(&actor)?;
    let id = parse_id(&id, "article")?;
    s.svc
        .delete_article(&actor, ArticleId(id))
        .await
        .map_err(|_| AppError::not_found("article"))?;
    reindex(&s, actor.workspace_id, None, id).await;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn show(State(s): State<AppState>, actor: Actor, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "article")?;
    let a = s
        .store
        .article(actor.workspace_id, id)
        .await
        .map_err(|_| AppError::not_found("article"))?;
    Ok(Json(json!(a)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    language: Option<String>,
}

pub async fn list(State(s): State<AppState>, actor: Actor, ApiQuery(q): ApiQuery<ListQuery>) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "items": s.store.list_articles(actor.workspace_id, q.language.as_deref(), false).await? }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryBody {
    name: String,
    language: String,
    #[serde(default)]
    position: i64,
}

pub async fn create_category(
    State(s): State<AppState>,
    actor: Actor,
    ApiJson(b): ApiJson<CategoryBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    admin(&actor)?;
    if !crate::i18n::LANGS.contains(&b.language.as_str()) {
        return Err(Invalid::new("language", "en, ru, uk or fa").into());
    }
    let c = s
        .store
        .create_category(
            actor.workspace_id,
            &b.language,
            &required_text("name", &b.name, 200)?,
            b.position,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(json!(c))))
}

pub async fn categories(State(s): State<AppState>, actor: Actor) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "items": s.store.categories(actor.workspace_id, None).await? }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    days: Option<i64>,
    format: Option<String>,
}

/// Search analytics: top queries, queries without results, results nobody
/// opened, what people searched next, deflection. `?format=csv` for a sheet.
pub async fn report(
    State(s): State<AppState>,
    actor: Actor,
    Query(q): Query<ReportQuery>,
) -> Result<Response, AppError> {
    admin(&actor)?;
    let days = q.days.unwrap_or(30).clamp(1, 366);
    let since = crate::store::now_ms() - days * 86_400_000;
    let (r, suggestions) = tokio::try_join!(
        s.store.search_report(actor.workspace_id, since),
        s.store.phrasing_suggestions(actor.workspace_id, since)
    )?;
    if q.format.as_deref() == Some("csv") {
        let mut csv = crate::http::csv::Csv::new(&["kind", "query", "next_query", "count"]);
        for (k, rows) in [
            ("top", &r.top),
            ("no_results", &r.no_results),
            ("not_opened", &r.not_opened),
        ] {
            for (qq, n) in rows {
                csv.row([k, qq.as_str(), "", &n.to_string()]);
            }
        }
        for (a, b, n) in &r.next {
            csv.row(["searched_next", a.as_str(), b.as_str(), &n.to_string()]);
        }
        for g in &suggestions {
            csv.row([
                "suggested_phrasing",
                g.query.as_str(),
                g.article_title.as_str(),
                &g.times.to_string(),
            ]);
        }
        return Ok(csv.download("search-report"));
    }
    let mut body = json!(r);
    body["suggested_phrasings"] = json!(suggestions);
    Ok(Json(body).into_response())
}

/// `GET /api/v1/kb/synonyms`: the workspace's own groups (the shipped
/// store-domain lists apply besides them).
pub async fn synonyms(State(s): State<AppState>, actor: Actor) -> ApiResult<Json<Value>> {
    admin(&actor)?;
    let groups = s.store.synonym_groups(actor.workspace_id).await?;
    Ok(Json(json!({ "synonyms": groups })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynonymBody {
    language: String,
    words: Vec<String>,
}

/// `POST /api/v1/kb/synonyms {"language":"en","words":["sofa","couch"]}`.
pub async fn add_synonyms(
    State(s): State<AppState>,
    actor: Actor,
    ApiJson(b): ApiJson<SynonymBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    admin(&actor)?;
    if b.words.len() > 100 {
        return Err(Invalid::new("words", "a synonym group has 2 to 20 different entries").into());
    }
    let g = s.svc.add_synonym_group(&actor, &b.language, &b.words).await?;
    Ok((StatusCode::CREATED, Json(json!(g))))
}

pub async fn delete_synonyms(State(s): State<AppState>, actor: Actor, Path(id): Path<String>) -> ApiResult<StatusCode> {
    admin(&actor)?;
    let id = parse_id(&id, "synonym group")?;
    s.svc
        .delete_synonym_group(&actor, id)
        .await
        .map_err(|_| AppError::not_found("synonym group"))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhrasingBody {
    text: String,
}

/// `POST /api/v1/kb/articles/{id}/phrasings {"text": "..."}`: one more way
/// to ask for the article (the search report's "add as phrasing").
pub async fn add_phrasing(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<PhrasingBody>,
) -> ApiResult<Json<Value>> {
    let id = owned(&s, &actor, &id).await?;
    let a = s.svc.add_phrasing(&actor, ArticleId(id), &b.text).await?;
    reindex(&s, actor.workspace_id, Some(&a), a.id).await;
    Ok(Json(json!(a)))
}

/// `GET /api/v1/kb/articles/{id}/queries?days=30`: what visitors searched
/// for before opening the article.
pub async fn article_queries(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Json<Value>> {
    let id = owned(&s, &actor, &id).await?;
    let days = q.days.unwrap_or(30).clamp(1, 366);
    let rows = s
        .store
        .queries_to_article(actor.workspace_id, id, crate::store::now_ms() - days * 86_400_000)
        .await?;
    let queries: Vec<Value> = rows
        .into_iter()
        .map(|(q, n)| json!({ "query": q, "count": n }))
        .collect();
    Ok(Json(json!({ "queries": queries })))
}
