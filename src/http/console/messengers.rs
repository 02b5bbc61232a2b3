//! The admin's messenger page: connect or disconnect the workspace's
//! Telegram bot, add or remove gateway connections (whose secret is shown
//! once, on the page that answers the form, never in a URL).

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::admin::admin_only;
use super::{page, Agent, Nothing, Notice, OrBack, PageResult, Posted};
use crate::app::AppState;
use crate::domain::ids::WorkspaceId;
use crate::store::console::Session;

const TO: &str = "/app/admin/messengers";

async fn render(s: &AppState, session: &Session, n: &Notice, created: Option<minijinja::Value>) -> PageResult {
    let ws = session.actor.workspace_id;
    let bot = s.store.connections(ws, "telegram").await?.into_iter().next();
    let gateways = s.store.connections(ws, "messenger").await?;
    let gateways: Vec<_> = gateways
        .iter()
        .map(|g| {
            minijinja::context! { id => g.id, name => g.name, url => g.outbound_url, state => g.state,
            error => g.last_error, inbound => format!("{}/hooks/messenger/{}", s.site.public_url, g.id) }
        })
        .collect();
    let bot = bot.map(|b| {
        minijinja::context! { username => b.bot_username, mode => b.mode, state => b.state, error => b.last_error }
    });
    Ok(page(
        session,
        "console_admin_messengers.html",
        "admin",
        minijinja::context! { tab => "messengers", ok => n.ok, err => n.err, bot, gateways, created },
    ))
}

pub async fn show(State(s): State<AppState>, Agent(session): Agent, Query(n): Query<Notice>) -> PageResult {
    admin_only(&session)?;
    render(&s, &session, &n, None).await
}

#[derive(Deserialize)]
pub struct BotForm {
    #[serde(default)]
    bot_token: String,
    #[serde(default)]
    mode: String,
}

pub async fn connect_bot(State(s): State<AppState>, Posted(session, f): Posted<BotForm>) -> PageResult {
    admin_only(&session)?;
    s.svc
        .connect_telegram(
            WorkspaceId(session.actor.workspace_id),
            &f.bot_token,
            &f.mode,
            &s.site.telegram_api_url,
            &s.site.public_url,
        )
        .await
        .or_back(TO)?;
    Ok(Redirect::to(TO).into_response())
}

pub async fn disconnect_bot(State(s): State<AppState>, Posted(session, _): Posted<Nothing>) -> PageResult {
    admin_only(&session)?;
    let ws = session.actor.workspace_id;
    if let Some(b) = s.store.connections(ws, "telegram").await?.into_iter().next() {
        s.svc.disconnect_telegram(WorkspaceId(ws), b.id).await.or_back(TO)?;
    }
    Ok(Redirect::to(TO).into_response())
}

#[derive(Deserialize)]
pub struct GatewayForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    outbound_url: String,
}

pub async fn add_gateway(State(s): State<AppState>, Posted(session, f): Posted<GatewayForm>) -> PageResult {
    admin_only(&session)?;
    let c = s
        .svc
        .connect_gateway(WorkspaceId(session.actor.workspace_id), &f.name, &f.outbound_url)
        .await
        .or_back(TO)?;
    let created = minijinja::context! { name => c.name, secret => c.secret };
    render(&s, &session, &Notice::default(), Some(created)).await
}

pub async fn delete_gateway(
    State(s): State<AppState>,
    Path(id): Path<i64>,
    Posted(session, _): Posted<Nothing>,
) -> PageResult {
    admin_only(&session)?;
    let _ = s
        .store
        .delete_connection(session.actor.workspace_id, "messenger", id)
        .await;
    Ok(Redirect::to(TO).into_response())
}
