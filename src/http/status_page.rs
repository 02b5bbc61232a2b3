//! A workspace's public status page, when an admin switched it on:
//! `GET /p/{slug}/status` (JSON), rate-limited per address. It shows each
//! active monitor's name, kind, state and 30-day uptime, never what it
//! points at unless the admin allowed that. Off, it is "not found".

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::app::AppState;
use crate::domain::monitor::uptime;
use crate::error::AppError;

pub async fn show(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
) -> Response {
    if let Err(e) = s
        .limits
        .public
        .check(addr.ip(), "public", "too many requests; wait a little")
    {
        return e.into_response();
    }
    let off = || AppError::new(StatusCode::NOT_FOUND, "not_found", "no status page here").into_response();
    let Ok(ws) = s.store.workspace_by_slug(&slug).await else {
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
    let items: Vec<_> = monitors
        .iter()
        .filter(|m| m.active)
        .map(|m| {
            let (c, u) = counts.get(&m.id).copied().unwrap_or((0, 0));
            let mut v = json!({ "name": m.name, "kind": m.kind, "state": m.state, "uptime_30d": uptime(c, u) });
            if page.show_targets {
                v["target"] = json!(m.spec().target());
            }
            v
        })
        .collect();
    let all_up = items.iter().all(|v| v["state"] != "down");
    (
        [(axum::http::header::CACHE_CONTROL, "public, max-age=30")],
        Json(json!({ "workspace": ws.name, "all_up": all_up, "monitors": items })),
    )
        .into_response()
}
