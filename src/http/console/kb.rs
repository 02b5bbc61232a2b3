//! Knowledge-base admin pages: the articles in every language, writing and
//! publishing them, categories, and the search report with its CSV.

use crate::domain::ids::ArticleId;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::super::pages::not_found;
use super::admin::admin_only;
use super::{back, page, Agent, Nothing, Notice, OrBack, PageError, PageResult, Posted};
use crate::app::AppState;
use crate::http::api::kb::{input, reindex, ArticleBody};

pub async fn list(State(s): State<AppState>, Agent(session): Agent, Query(n): Query<Notice>) -> PageResult {
    admin_only(&session)?;
    let ws = session.actor.workspace_id;
    let since = crate::store::now_ms() - 30 * 86_400_000;
    let (articles, categories, report, workspace, suggestions, synonyms) = tokio::try_join!(
        s.store.list_articles(ws, None, false),
        s.store.categories(ws, None),
        s.store.search_report(ws, since),
        s.store.workspace(ws),
        s.store.phrasing_suggestions(ws, since),
        s.store.synonym_groups(ws)
    )?;
    let synonyms: Vec<_> = synonyms
        .iter()
        .map(|g| minijinja::context! { id => g.id, language => g.language, words => g.words.split(',').collect::<Vec<_>>() })
        .collect();
    let cats: std::collections::HashMap<i64, String> = categories.iter().map(|c| (c.id, c.name.clone())).collect();
    let articles: Vec<_> = articles
        .iter()
        .map(|a| minijinja::context! { id => a.id, title => a.title, language => a.language, status => a.status, category => a.category_id.and_then(|c| cats.get(&c).cloned()), views => a.views, yes => a.helpful_yes, no => a.helpful_no, url => format!("/p/{}/kb/{}/{}", workspace.slug, a.language, a.slug) })
        .collect();
    let ctx = minijinja::context! {
        tab => "kb", ok => n.ok, err => n.err, articles, categories, langs => crate::i18n::LANGS, synonyms,
        suggestions => minijinja::Value::from_serialize(&suggestions),
        report => minijinja::context! { searches => report.searches, deflection => format!("{:.0}%", report.deflection_rate * 100.0), top => report.top.iter().take(10).collect::<Vec<_>>(), none => report.no_results.iter().take(10).collect::<Vec<_>>(), unopened => report.not_opened.iter().take(10).collect::<Vec<_>>() },
    };
    Ok(page(&session, "console_admin_kb.html", "admin", ctx))
}

#[derive(Deserialize, Default)]
pub struct NewArticle {
    /// Prefills a new article's title (the search report's "create an article").
    title: Option<String>,
}

pub async fn edit(
    State(s): State<AppState>,
    Agent(session): Agent,
    Path(id): Path<String>,
    Query(n): Query<Notice>,
    Query(new): Query<NewArticle>,
) -> PageResult {
    admin_only(&session)?;
    let ws = session.actor.workspace_id;
    let article = match id.as_str() {
        "new" => None,
        raw => {
            let id = raw.parse::<i64>().map_err(|_| not_found())?;
            Some(s.store.article(ws, id).await.map_err(|_| not_found())?)
        }
    };
    let categories = s.store.categories(ws, None).await.unwrap_or_default();
    let all = s.store.list_articles(ws, None, false).await.unwrap_or_default();
    let others: Vec<_> = all
        .iter()
        .filter(|a| article.as_ref().is_none_or(|x| x.group_id != a.group_id))
        .map(|a| minijinja::context! { id => a.id, title => a.title, language => a.language })
        .collect();
    let queries = match &article {
        Some(a) => s
            .store
            .queries_to_article(ws, a.id, crate::store::now_ms() - 30 * 86_400_000)
            .await
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let a = article.map(|a| minijinja::context! { id => a.id, title => a.title, body => a.body, language => a.language, status => a.status, category_id => a.category_id, tags => a.tags, slug => a.slug, phrasings => a.phrasings });
    let new_title: String = new.title.unwrap_or_default().chars().take(300).collect();
    Ok(page(
        &session,
        "console_admin_kb_edit.html",
        "admin",
        minijinja::context! { tab => "kb", ok => n.ok, err => n.err, a, categories, others, langs => crate::i18n::LANGS, queries, new_title },
    ))
}

#[derive(Deserialize)]
pub struct ArticleForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    status: String,
    #[serde(default)]
    category_id: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    phrasings: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    translation_of: String,
}

pub async fn save(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Posted(session, f): Posted<ArticleForm>,
) -> PageResult {
    admin_only(&session)?;
    let ws = session.actor.workspace_id;
    let existing = if id == "new" { None } else { id.parse::<i64>().ok() };
    if id != "new" && existing.is_none() {
        return Err(not_found().into());
    }
    let here = format!("/app/admin/kb/{id}");
    let body = ArticleBody {
        title: Some(f.title),
        body: Some(f.body),
        language: if existing.is_none() { f.language } else { None },
        status: Some(f.status),
        category_id: Some(f.category_id.parse().ok()),
        phrasings: Some(
            f.phrasings
                .lines()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        tags: Some(
            f.tags
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        slug: Some(f.slug).filter(|s| !s.trim().is_empty()),
        translation_of: f.translation_of.parse().ok(),
    };
    let parsed = input(body, existing.is_none()).or_back(&here)?;
    let saved = match existing {
        Some(id) => {
            s.store.article(ws, id).await.map_err(|_| not_found())?;
            s.svc.update_article(&session.actor, ArticleId(id), parsed).await
        }
        None => s.svc.create_article(&session.actor, parsed).await,
    };
    let a = saved.or_back(&here)?;
    reindex(&s, ws, Some(&a), a.id).await;
    Ok(back(&format!("/app/admin/kb/{}", a.id), "ok", "saved"))
}

pub async fn delete(State(s): State<AppState>, Path(id): Path<i64>, Posted(session, _): Posted<Nothing>) -> PageResult {
    admin_only(&session)?;
    let ws = session.actor.workspace_id;
    if s.svc.delete_article(&session.actor, ArticleId(id)).await.is_ok() {
        reindex(&s, ws, None, id).await;
    }
    Ok(Redirect::to("/app/admin/kb").into_response())
}

#[derive(Deserialize)]
pub struct CategoryForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    position: Option<i64>,
}

pub async fn create_category(State(s): State<AppState>, Posted(session, f): Posted<CategoryForm>) -> PageResult {
    admin_only(&session)?;
    let to = "/app/admin/kb";
    if !crate::i18n::LANGS.contains(&f.language.as_str()) {
        return Err(PageError::back(to, "language: en, ru, uk or fa"));
    }
    let name = crate::domain::required_text("name", &f.name, 200).or_back(to)?;
    s.store
        .create_category(session.actor.workspace_id, &f.language, &name, f.position.unwrap_or(0))
        .await
        .or_back(to)?;
    Ok(Redirect::to(to).into_response())
}

#[derive(Deserialize)]
pub struct PhrasingForm {
    #[serde(default)]
    text: String,
}

/// The search report's "add as phrasing of this article".
pub async fn add_phrasing(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    Posted(session, f): Posted<PhrasingForm>,
) -> PageResult {
    admin_only(&session)?;
    let to = "/app/admin/kb";
    let a = s
        .svc
        .add_phrasing(&session.actor, ArticleId(id), &f.text)
        .await
        .or_back(to)?;
    reindex(&s, session.actor.workspace_id, Some(&a), a.id).await;
    Ok(back(to, "ok", "saved"))
}

#[derive(Deserialize)]
pub struct SynonymForm {
    #[serde(default)]
    language: String,
    #[serde(default)]
    words: String,
}

pub async fn add_synonyms(State(s): State<AppState>, Posted(session, f): Posted<SynonymForm>) -> PageResult {
    admin_only(&session)?;
    let to = "/app/admin/kb";
    let words: Vec<String> = f.words.split(',').take(100).map(str::to_string).collect();
    s.svc
        .add_synonym_group(&session.actor, &f.language, &words)
        .await
        .or_back(to)?;
    Ok(back(to, "ok", "saved"))
}

pub async fn delete_synonyms(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    Posted(session, _): Posted<Nothing>,
) -> PageResult {
    admin_only(&session)?;
    let _ = s.svc.delete_synonym_group(&session.actor, id).await;
    Ok(Redirect::to("/app/admin/kb").into_response())
}
