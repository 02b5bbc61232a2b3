//! A workspace's public status page, when an admin switched it on:
//! `GET /p/{slug}/status`, rate-limited per address. Browsers (that ask
//! for `text/html`) get a page in their language (`?lang=`, else
//! Accept-Language) with each monitor's state and a bar a day for 30 days;
//! other clients get JSON. It shows each active monitor's name, kind,
//! state and 30-day uptime, never what it points at unless the admin
//! allowed that, and nothing about people. Off, it is "not found".

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::app::AppState;
use crate::domain::monitor::uptime;
use crate::error::AppError;

#[derive(Deserialize)]
pub struct StatusQuery {
    lang: Option<String>,
}

/// A browser's request: it asks for HTML before (or instead of) JSON.
fn wants_html(headers: &HeaderMap) -> bool {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    match (accept.find("text/html"), accept.find("application/json")) {
        (Some(h), Some(j)) => h < j,
        (Some(_), None) => true,
        _ => false,
    }
}

pub async fn show(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
    Query(q): Query<StatusQuery>,
    headers: HeaderMap,
) -> Response {
    let html = wants_html(&headers);
    let mut r = answer(&s, addr, &slug, q, &headers, html).await;
    r.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept, Accept-Language"));
    r
}

async fn answer(
    s: &AppState,
    addr: SocketAddr,
    slug: &str,
    q: StatusQuery,
    headers: &HeaderMap,
    html: bool,
) -> Response {
    if let Err(e) = s
        .limits
        .public
        .check(addr.ip(), "public", "too many requests; wait a little")
    {
        return e.into_response();
    }
    let off = || {
        if html {
            crate::http::pages::not_found()
        } else {
            AppError::new(StatusCode::NOT_FOUND, "not_found", "no status page here").into_response()
        }
    };
    let Ok(ws) = s.store.workspace_by_slug(slug).await else {
        return off();
    };
    let page = match s.store.status_page(ws.id).await {
        Ok(p) if p.enabled => p,
        Ok(_) => return off(),
        Err(e) => return AppError::from(e).into_response(),
    };
    let since = crate::store::now_ms() - 30 * 86_400_000;
    let (monitors, counts) = match tokio::try_join!(s.store.list_monitors(ws.id), s.store.monitor_uptimes(ws.id, since))
    {
        Ok(r) => r,
        Err(e) => return AppError::from(e).into_response(),
    };
    let active: Vec<_> = monitors.iter().filter(|m| m.active).collect();
    let all_up = active
        .iter()
        .all(|m| m.state != crate::domain::monitor::MonitorState::Down);
    let cache = [(header::CACHE_CONTROL, "public, max-age=30")];
    if !html {
        let items: Vec<_> = active
            .iter()
            .map(|m| {
                let (c, u) = counts.get(&m.id).copied().unwrap_or((0, 0));
                let mut v = json!({ "name": m.name, "kind": m.kind, "state": m.state, "uptime_30d": uptime(c, u) });
                if page.show_targets {
                    v["target"] = json!(m.spec().target());
                }
                v
            })
            .collect();
        return (
            cache,
            Json(json!({ "workspace": ws.name, "all_up": all_up, "monitors": items })),
        )
            .into_response();
    }
    let lang = crate::http::pages::lang_of(q.lang.as_deref(), headers);
    let first_day = (crate::store::now_ms() / 86_400_000 - 29) * 86_400_000;
    let days = match s.store.monitor_days_all(ws.id, first_day).await {
        Ok(d) => d,
        Err(e) => return AppError::from(e).into_response(),
    };
    use crate::http::console::monitors::{bars_svg, pct};
    let items: Vec<_> = active
        .iter()
        .map(|m| {
            let (c, u) = counts.get(&m.id).copied().unwrap_or((0, 0));
            let whole = uptime(c, u);
            minijinja::context! {
                name => m.name, kind => m.kind.as_str(), state => m.state.as_str(),
                target => page.show_targets.then(|| m.spec().target()),
                uptime => pct(lang, whole),
                bars => bars_svg(lang, whole, days.get(&m.id).map(Vec::as_slice).unwrap_or(&[])),
            }
        })
        .collect();
    let t = crate::http::console::texts(lang);
    let alternates: Vec<_> = crate::i18n::LANGS
        .iter()
        .map(|l| minijinja::context! { lang => l, name => crate::i18n::text(l, "console-statuspage-lang-name", &[]) })
        .collect();
    let mut r = crate::http::pages::render(
        "status.html",
        minijinja::context! {
            lang, dir => crate::i18n::dir(lang), t, workspace => ws.name, all_up, monitors => items,
            slug, alternates, updated => crate::http::console::when(crate::store::now_ms()),
        },
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=30"));
    r
}
