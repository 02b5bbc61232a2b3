//! The link that proves a chat visitor owns an address another contact
//! has (`/p/{slug}/verify/{token}`): opening it only shows a button, so
//! mail scanners that fetch links confirm nothing; the POST spends it.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::domain::ids::WorkspaceId;
use crate::i18n::text;
use crate::store::{StoreError, Workspace};

async fn open(s: &AppState, addr: SocketAddr, slug: &str) -> Result<Workspace, Response> {
    s.limits
        .public
        .check(addr.ip(), "public", "too many requests; wait a little")
        .map_err(IntoResponse::into_response)?;
    s.store
        .workspace_by_slug(slug)
        .await
        .map_err(|_| crate::error::AppError::not_found("page").into_response())
}

fn page(ws: &Workspace, lang: &str, state: &str, body: String, action: &str, status: StatusCode) -> Response {
    let mut r = super::pages::render(
        "verify.html",
        minijinja::context! {
            lang, dir => crate::i18n::dir(lang), workspace => &ws.name, title => text(lang, "verify-title", &[]),
            state, text => body, button => text(lang, "verify-button", &[]), action,
        },
    );
    *r.status_mut() = status;
    r
}

fn gone(ws: &Workspace, lang: &str) -> Response {
    page(
        ws,
        lang,
        "gone",
        text(lang, "verify-gone", &[]),
        "",
        StatusCode::NOT_FOUND,
    )
}

pub async fn show(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path((slug, token)): Path<(String, String)>,
) -> Response {
    let ws = match open(&s, addr, &slug).await {
        Ok(ws) => ws,
        Err(r) => return r,
    };
    match s.store.email_proof(ws.id, &token).await {
        Ok(p) => {
            let action = format!("/p/{slug}/verify/{token}");
            let body = text(&p.lang, "verify-text", &[("email", &p.email)]);
            page(&ws, &p.lang, "ask", body, &action, StatusCode::OK)
        }
        Err(StoreError::NotFound) => gone(&ws, "en"),
        Err(e) => crate::error::AppError::from(e).into_response(),
    }
}

pub async fn confirm(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path((slug, token)): Path<(String, String)>,
) -> Response {
    let ws = match open(&s, addr, &slug).await {
        Ok(ws) => ws,
        Err(r) => return r,
    };
    let lang = match s.store.email_proof(ws.id, &token).await {
        Ok(p) => p.lang,
        Err(StoreError::NotFound) => return gone(&ws, "en"),
        Err(e) => return crate::error::AppError::from(e).into_response(),
    };
    match s.svc.confirm_email_proof(WorkspaceId(ws.id), &token).await {
        Ok(_) => page(&ws, &lang, "done", text(&lang, "verify-done", &[]), "", StatusCode::OK),
        // Spent meanwhile, or one of the contacts was merged elsewhere.
        Err(StoreError::NotFound | StoreError::Conflict(_)) => gone(&ws, &lang),
        Err(e) => crate::error::AppError::from(e).into_response(),
    }
}
