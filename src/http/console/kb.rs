//! Knowledge-base admin pages: the articles in every language, writing and
//! publishing them, categories, and the search report with its CSV.

use crate::domain::ids::ArticleId;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::admin::admin_only;
use super::{back, page, say, Agent, Nothing, Notice, Posted};
use crate::app::AppState;
use crate::error::AppError;
use crate::http::api::kb::{input, reindex, ArticleBody};

pub async fn list(State(s): State<AppState>, Agent(session): Agent, Query(n): Query<Notice>) -> Response {
    if let Some(r) = admin_only(&session) {
        return r;
    }
    let ws = session.actor.workspace_id;
    let since = crate::store::now_ms() - 30 * 86_400_000;
    let (articles, categories, report, workspace) = match tokio::try_join!(s.store.list_articles(ws, None, false), s.store.categories(ws, None), s.store.search_report(ws, since), s.store.workspace(ws)) {
        Ok(r) => r,
        Err(e) => return AppError::from(e).into_response(),
    };
    let cats: std::collections::HashMap<i64, String> = categories.iter().map(|c| (c.id, c.name.clone())).collect();
    let articles: Vec<_> = articles
        .iter()
        .map(|a| minijinja::context! { id => a.id, title => a.title, language => a.language, status => a.status, category => a.category_id.and_then(|c| cats.get(&c).cloned()), views => a.views, yes => a.helpful_yes, no => a.helpful_no, url => format!("/p/{}/kb/{}/{}", workspace.slug, a.language, a.slug) })
        .collect();
    let ctx = minijinja::context! {
        tab => "kb", ok => n.ok, err => n.err, articles, categories, langs => crate::i18n::LANGS,
        report => minijinja::context! { searches => report.searches, deflection => format!("{:.0}%", report.deflection_rate * 100.0), top => report.top.iter().take(10).collect::<Vec<_>>(), none => report.no_results.iter().take(10).collect::<Vec<_>>(), unopened => report.not_opened.iter().take(10).collect::<Vec<_>>() },
    };
    page(&session, "console_admin_kb.html", "admin", ctx)
}

pub async fn edit(State(s): State<AppState>, Agent(session): Agent, Path(id): Path<String>, Query(n): Query<Notice>) -> Response {
    if let Some(r) = admin_only(&session) {
        return r;
    }
    let ws = session.actor.workspace_id;
    let article = match id.as_str() {
        "new" => None,
        raw => match raw.parse::<i64>().ok() {
            Some(id) => match s.store.article(ws, id).await {
                Ok(a) => Some(a),
                Err(_) => return super::super::pages::not_found(),
            },
            None => return super::super::pages::not_found(),
        },
    };
    let categories = s.store.categories(ws, None).await.unwrap_or_default();
    let all = s.store.list_articles(ws, None, false).await.unwrap_or_default();
    let others: Vec<_> = all.iter().filter(|a| article.as_ref().is_none_or(|x| x.group_id != a.group_id)).map(|a| minijinja::context! { id => a.id, title => a.title, language => a.language }).collect();
    let a = article.map(|a| minijinja::context! { id => a.id, title => a.title, body => a.body, language => a.language, status => a.status, category_id => a.category_id, tags => a.tags, slug => a.slug });
    page(&session, "console_admin_kb_edit.html", "admin", minijinja::context! { tab => "kb", ok => n.ok, err => n.err, a, categories, others, langs => crate::i18n::LANGS })
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
    slug: String,
    #[serde(default)]
    translation_of: String,
}

pub async fn save(State(s): State<AppState>, Path(id): Path<String>, Posted(session, f): Posted<ArticleForm>) -> Response {
    if let Some(r) = admin_only(&session) {
        return r;
    }
    let ws = session.actor.workspace_id;
    let existing = if id == "new" { None } else { id.parse::<i64>().ok() };
    if id != "new" && existing.is_none() {
        return super::super::pages::not_found();
    }
    let here = format!("/app/admin/kb/{id}");
    let body = ArticleBody {
        title: Some(f.title),
        body: Some(f.body),
        language: if existing.is_none() { f.language } else { None },
        status: Some(f.status),
        category_id: Some(f.category_id.parse().ok()),
        tags: Some(f.tags.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect()),
        slug: Some(f.slug).filter(|s| !s.trim().is_empty()),
        translation_of: f.translation_of.parse().ok(),
    };
    let parsed = match input(body, existing.is_none()) {
        Ok(i) => i,
        Err(e) => return back(&here, "err", &e.to_string()),
    };
    let saved = match existing {
        Some(id) => match s.store.article(ws, id).await {
            Ok(_) => s.svc.update_article(&session.actor, ArticleId(id), parsed).await,
            Err(_) => return super::super::pages::not_found(),
        },
        None => s.svc.create_article(&session.actor, parsed).await,
    };
    match saved {
        Ok(a) => {
            reindex(&s, ws, Some(&a), a.id).await;
            back(&format!("/app/admin/kb/{}", a.id), "ok", "saved")
        }
        Err(e) => back(&here, "err", &say(e)),
    }
}

pub async fn delete(State(s): State<AppState>, Path(id): Path<i64>, Posted(session, _): Posted<Nothing>) -> Response {
    if let Some(r) = admin_only(&session) {
        return r;
    }
    let ws = session.actor.workspace_id;
    if s.svc.delete_article(&session.actor, ArticleId(id)).await.is_ok() {
        reindex(&s, ws, None, id).await;
    }
    Redirect::to("/app/admin/kb").into_response()
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

pub async fn create_category(State(s): State<AppState>, Posted(session, f): Posted<CategoryForm>) -> Response {
    if let Some(r) = admin_only(&session) {
        return r;
    }
    if !crate::i18n::LANGS.contains(&f.language.as_str()) {
        return back("/app/admin/kb", "err", "language: en, ru, uk or fa");
    }
    let name = match crate::domain::required_text("name", &f.name, 200) {
        Ok(n) => n,
        Err(e) => return back("/app/admin/kb", "err", &e.to_string()),
    };
    match s.store.create_category(session.actor.workspace_id, &f.language, &name, f.position.unwrap_or(0)).await {
        Ok(_) => Redirect::to("/app/admin/kb").into_response(),
        Err(e) => back("/app/admin/kb", "err", &say(e)),
    }
}
