//! The public help centre, `/p/{workspace}/kb`: the article list by
//! category, article pages with "was this helpful?", search (HTML and the
//! JSON the widget and forms use), and a sitemap. Searches are recorded for
//! the team's analytics.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::error::AppError;
use crate::search::KbHit;
use crate::store::Workspace;

const QUERY_MAX: usize = 2000;

#[derive(Deserialize, Default)]
pub struct KbQuery {
    q: Option<String>,
    lang: Option<String>,
    session: Option<String>,
    sid: Option<i64>,
    voted: Option<String>,
}

/// Every public request: within the address's rate, for a real workspace.
async fn workspace(s: &AppState, addr: SocketAddr, slug: &str) -> Result<Workspace, Box<Response>> {
    s.limits
        .public
        .check(addr.ip(), "public", "too many requests; wait a little")
        .map_err(|e| Box::new(e.into_response()))?;
    s.store.workspace_by_slug(slug).await.map_err(|_| {
        Box::new(AppError::new(StatusCode::NOT_FOUND, "unknown_workspace", "no such workspace").into_response())
    })
}

/// A visitor without a session id is known by a daily hash of their address,
/// so analytics can chain their searches without storing the address.
fn session_of(q: &KbQuery, addr: SocketAddr) -> String {
    match q.session.as_deref().filter(|s| !s.is_empty() && s.len() <= 64) {
        Some(s) => s.to_string(),
        None => {
            let day = crate::store::now_ms() / 86_400_000;
            format!(
                "ip:{}",
                &hex::encode(Sha256::digest(format!("{}:{day}", addr.ip())))[..16]
            )
        }
    }
}

fn texts(lang: &str) -> minijinja::Value {
    let t = |k: &str| crate::i18n::text(lang, &format!("kb-{k}"), &[]);
    minijinja::context! {
        title => t("title"), placeholder => t("placeholder"), search => t("search"), results => t("results"), no_results => t("no-results"),
        empty => t("empty"), helpful => t("helpful"), yes => t("yes"), no => t("no"), thanks => t("thanks"), other_languages => t("other-languages"),
        not_found_here => t("not-found-here"), write_to_us => t("write-to-us"), my_requests => t("my-requests"),
    }
}

const LANG_NAMES: [(&str, &str); 4] = [
    ("en", "English"),
    ("ru", "Русский"),
    ("uk", "Українська"),
    ("fa", "فارسی"),
];

fn lang_links(home: &str) -> Vec<minijinja::Value> {
    LANG_NAMES
        .iter()
        .map(|(code, name)| minijinja::context! { code, name, url => format!("{home}?lang={code}") })
        .collect()
}

/// Runs a search and records it; returns the hits and the search's id.
async fn search(
    s: &AppState,
    ws: &Workspace,
    q: &str,
    lang: &str,
    session: &str,
    limit: usize,
) -> Result<(Vec<KbHit>, Option<i64>), AppError> {
    if q.trim().is_empty() {
        return Ok((vec![], None));
    }
    let hits = s
        .svc
        .search_kb(&s.kb, ws.id, q, lang, limit)
        .await
        .map_err(AppError::internal)?;
    let sid = s
        .store
        .record_search(
            ws.id,
            session,
            &crate::search::normalize_query(q),
            lang,
            hits.len() as i64,
        )
        .await?;
    metrics::counter!("storedesk_kb_searches_total", "found" => if hits.is_empty() { "no" } else { "yes" })
        .increment(1);
    Ok((hits, Some(sid)))
}

fn with_sid(url: &str, sid: Option<i64>) -> String {
    match sid {
        Some(id) => format!("{url}?sid={id}"),
        None => url.to_string(),
    }
}

/// `GET /p/{ws}/kb/search?q=&lang=` → `{"hits": [...], "search_id"}`, best first.
pub async fn search_json(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
    Query(q): Query<KbQuery>,
    headers: HeaderMap,
) -> Response {
    let ws = match workspace(&s, addr, &slug).await {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let query = q.q.clone().unwrap_or_default();
    if query.len() > QUERY_MAX {
        return AppError::bad_request("query_too_long", format!("a query is at most {QUERY_MAX} bytes"))
            .into_response();
    }
    let lang = super::pages::lang_of(q.lang.as_deref(), &headers);
    match search(&s, &ws, &query, lang, &session_of(&q, addr), 10).await {
        Ok((hits, sid)) => {
            let hits: Vec<_> = hits.into_iter().map(|h| json!({ "id": h.id, "title": h.title, "url": with_sid(&h.url, sid), "snippet": h.snippet, "score": h.score, "language": h.language })).collect();
            (
                [
                    (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                Json(json!({ "hits": hits, "search_id": sid })),
            )
                .into_response()
        }
        Err(e) => e.into_response(),
    }
}

pub async fn index(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
    Query(q): Query<KbQuery>,
    headers: HeaderMap,
) -> Response {
    let ws = match workspace(&s, addr, &slug).await {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let lang = super::pages::lang_of(q.lang.as_deref(), &headers);
    let home = format!("/p/{slug}/kb");
    let query: String = q.q.clone().unwrap_or_default().chars().take(500).collect();
    let hits = match search(&s, &ws, &query, lang, &session_of(&q, addr), 10).await {
        Ok((hits, sid)) => hits
            .into_iter()
            .map(|h| minijinja::context! { title => h.title, url => with_sid(&h.url, sid), snippet => h.snippet })
            .collect::<Vec<_>>(),
        Err(e) => return e.into_response(),
    };
    let (cats, articles) = match (
        s.store.categories(ws.id, Some(lang)).await,
        s.store.list_articles(ws.id, Some(lang), true).await,
    ) {
        (Ok(c), Ok(a)) => (c, a),
        (Err(e), _) | (_, Err(e)) => return AppError::from(e).into_response(),
    };
    let mut groups: Vec<minijinja::Value> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for c in &cats {
        let list: Vec<_> = articles
            .iter()
            .filter(|a| a.category_id == Some(c.id))
            .map(|a| {
                seen.insert(a.id);
                minijinja::context! { title => a.title, url => format!("{home}/{}/{}", a.language, a.slug) }
            })
            .collect();
        if !list.is_empty() {
            groups.push(minijinja::context! { name => c.name, url => format!("{home}/c/{}/{}", c.language, c.slug), articles => list });
        }
    }
    let rest: Vec<_> = articles
        .iter()
        .filter(|a| !seen.contains(&a.id))
        .map(|a| minijinja::context! { title => a.title, url => format!("{home}/{}/{}", a.language, a.slug) })
        .collect();
    if !rest.is_empty() {
        groups.push(minijinja::context! { name => crate::i18n::text(lang, "kb-title", &[]), articles => rest });
    }
    let base = &s.site.public_url;
    super::pages::render_public(
        "kb_index.html",
        minijinja::context! {
            lang, dir => crate::i18n::dir(lang), workspace => ws.name, t => texts(lang), home, q => query, hits, categories => groups,
            canonical => format!("{base}/p/{slug}/kb?lang={lang}"), langs => lang_links(&format!("/p/{slug}/kb")),
            alternates => LANG_NAMES.iter().map(|(c, _)| minijinja::context! { lang => c, url => format!("{base}/p/{slug}/kb?lang={c}") }).collect::<Vec<_>>(),
        },
    )
}

/// One category's page: its articles, with its own address and title.
pub async fn category(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path((slug, lang, category)): Path<(String, String, String)>,
) -> Response {
    let ws = match workspace(&s, addr, &slug).await {
        Ok(w) => w,
        Err(r) => return *r,
    };
    if !crate::i18n::LANGS.contains(&lang.as_str()) {
        return super::pages::not_found();
    }
    let (cats, articles) = match (
        s.store.categories(ws.id, Some(&lang)).await,
        s.store.list_articles(ws.id, Some(&lang), true).await,
    ) {
        (Ok(c), Ok(a)) => (c, a),
        (Err(e), _) | (_, Err(e)) => return AppError::from(e).into_response(),
    };
    let Some(c) = cats.iter().find(|c| c.slug == category) else {
        return super::pages::not_found();
    };
    let home = format!("/p/{slug}/kb");
    let list: Vec<_> = articles
        .iter()
        .filter(|a| a.category_id == Some(c.id))
        .map(|a| minijinja::context! { title => a.title, url => format!("{home}/{}/{}", a.language, a.slug) })
        .collect();
    let base = &s.site.public_url;
    let lang = crate::i18n::pick(Some(&lang));
    super::pages::render_public(
        "kb_index.html",
        minijinja::context! {
            lang, dir => crate::i18n::dir(lang), workspace => ws.name, t => texts(lang), home, q => "", hits => Vec::<minijinja::Value>::new(),
            categories => vec![minijinja::context! { name => c.name, articles => list }], page_title => c.name,
            canonical => format!("{base}{home}/c/{lang}/{}", c.slug), langs => lang_links(&home), alternates => Vec::<minijinja::Value>::new(),
        },
    )
}

pub async fn article(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path((slug, lang, article)): Path<(String, String, String)>,
    Query(q): Query<KbQuery>,
) -> Response {
    let ws = match workspace(&s, addr, &slug).await {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let Ok(a) = s.store.published_article(ws.id, &lang, &article).await else {
        return super::pages::not_found();
    };
    let _ = s.store.count_view(ws.id, a.id).await;
    if let Some(sid) = q.sid {
        let _ = s.store.record_open(ws.id, sid, a.id).await;
    }
    let lang = crate::i18n::pick(Some(&a.language));
    let base = &s.site.public_url;
    let home = format!("/p/{slug}/kb");
    let translations = s.store.translations(ws.id, a.group_id).await.unwrap_or_default();
    let name_of = |c: &str| LANG_NAMES.iter().find(|(l, _)| *l == c).map(|(_, n)| *n).unwrap_or("");
    let summary: String = crate::markdown::to_text(&a.body).chars().take(160).collect();
    super::pages::render_public(
        "kb_article.html",
        minijinja::context! {
            lang, dir => crate::i18n::dir(lang), workspace => ws.name, t => texts(lang), home, q => "", summary,
            article => minijinja::Value::from_serialize(&a), body => a.body_html, voted => q.voted.is_some(),
            vote_url => format!("{home}/{}/{}/vote", a.language, a.slug),
            canonical => format!("{base}{home}/{}/{}", a.language, a.slug), langs => lang_links(&home),
            alternates => translations.iter().map(|(l, sl)| minijinja::context! { lang => l, url => format!("{base}{home}/{l}/{sl}") }).collect::<Vec<_>>(),
            translations => translations.iter().filter(|(l, _)| *l != a.language).map(|(l, sl)| minijinja::context! { lang => l, name => name_of(l), url => format!("{home}/{l}/{sl}") }).collect::<Vec<_>>(),
        },
    )
}

#[derive(Deserialize)]
pub struct Vote {
    helpful: String,
}

pub async fn vote(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path((slug, lang, article)): Path<(String, String, String)>,
    Form(v): Form<Vote>,
) -> Response {
    let ws = match workspace(&s, addr, &slug).await {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let Ok(a) = s.store.published_article(ws.id, &lang, &article).await else {
        return super::pages::not_found();
    };
    let helpful = match v.helpful.as_str() {
        "yes" => true,
        "no" => false,
        _ => {
            return AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", "helpful: yes or no")
                .into_response()
        }
    };
    if let Err(e) = s.store.vote(ws.id, a.id, helpful).await {
        return AppError::from(e).into_response();
    }
    Redirect::to(&format!("/p/{slug}/kb/{lang}/{article}?voted=1")).into_response()
}

#[derive(Deserialize)]
pub struct Contacted {
    session: String,
}

/// The widget and the ticket form call this when a visitor who searched
/// writes to the team after all: that search did not deflect them.
pub async fn contacted(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
    Json(c): Json<Contacted>,
) -> Response {
    let ws = match workspace(&s, addr, &slug).await {
        Ok(w) => w,
        Err(r) => return *r,
    };
    match s
        .store
        .record_contact(ws.id, &c.session.chars().take(64).collect::<String>())
        .await
    {
        Ok(()) => (StatusCode::NO_CONTENT, [(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")]).into_response(),
        Err(e) => AppError::from(e).into_response(),
    }
}

pub async fn sitemap(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
) -> Response {
    let ws = match workspace(&s, addr, &slug).await {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let base = &s.site.public_url;
    let articles = s.store.list_articles(ws.id, None, true).await.unwrap_or_default();
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for (l, _) in LANG_NAMES {
        xml.push_str(&format!("<url><loc>{base}/p/{slug}/kb?lang={l}</loc></url>\n"));
    }
    for c in s.store.categories(ws.id, None).await.unwrap_or_default() {
        xml.push_str(&format!(
            "<url><loc>{base}/p/{slug}/kb/c/{}/{}</loc></url>\n",
            c.language, c.slug
        ));
    }
    for a in articles {
        xml.push_str(&format!(
            "<url><loc>{base}/p/{slug}/kb/{}/{}</loc><lastmod>{}</lastmod></url>\n",
            a.language,
            a.slug,
            &crate::domain::time::rfc3339(a.updated_at)[..10]
        ));
    }
    xml.push_str("</urlset>\n");
    ([(header::CONTENT_TYPE, "application/xml; charset=utf-8")], xml).into_response()
}
