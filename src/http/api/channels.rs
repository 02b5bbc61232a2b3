//! Messenger channels of a workspace (admins only): its Telegram bot and
//! its gateway connections. Tokens and secrets are never shown back, but a
//! gateway's secret once, when it is made.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::admin_only;
use crate::app::AppState;
use crate::domain::ids::WorkspaceId;
use crate::domain::Actor;
use crate::error::{ApiResult, AppError};
use crate::http::extract::ApiJson;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectTelegram {
    bot_token: String,
    #[serde(default = "polling")]
    mode: String,
}

fn polling() -> String {
    "polling".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectGateway {
    name: String,
    outbound_url: String,
}

/// The recent deliveries shown beside a connection.
const RECENT: i64 = 20;

pub async fn connect_telegram(
    State(s): State<AppState>,
    actor: Actor,
    ApiJson(b): ApiJson<ConnectTelegram>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    admin_only(&actor, "connect a Telegram bot")?;
    let c = s
        .svc
        .connect_telegram(
            WorkspaceId(actor.workspace_id),
            &b.bot_token,
            &b.mode,
            &s.site.telegram_api_url,
            &s.site.public_url,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "telegram": c }))))
}

pub async fn telegram(State(s): State<AppState>, actor: Actor) -> ApiResult<Json<Value>> {
    admin_only(&actor, "see the Telegram bot")?;
    let c = s
        .store
        .connections(actor.workspace_id, "telegram")
        .await?
        .into_iter()
        .next();
    let deliveries = match &c {
        Some(c) => {
            s.store
                .deliveries_of_connection(actor.workspace_id, c.id, RECENT)
                .await?
        }
        None => vec![],
    };
    Ok(Json(json!({ "telegram": c, "deliveries": deliveries })))
}

pub async fn disconnect_telegram(State(s): State<AppState>, actor: Actor) -> ApiResult<StatusCode> {
    admin_only(&actor, "disconnect the Telegram bot")?;
    let c = s
        .store
        .connections(actor.workspace_id, "telegram")
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::not_found("Telegram bot"))?;
    s.svc.disconnect_telegram(WorkspaceId(actor.workspace_id), c.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn connect_gateway(
    State(s): State<AppState>,
    actor: Actor,
    ApiJson(b): ApiJson<ConnectGateway>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    admin_only(&actor, "connect a messenger gateway")?;
    let c = s
        .svc
        .connect_gateway(WorkspaceId(actor.workspace_id), &b.name, &b.outbound_url)
        .await?;
    let inbound = format!("{}/hooks/messenger/{}", s.site.public_url, c.id);
    Ok((
        StatusCode::CREATED,
        Json(json!({ "connection": c, "secret": c.secret, "inbound_url": inbound })),
    ))
}

pub async fn gateways(State(s): State<AppState>, actor: Actor) -> ApiResult<Json<Value>> {
    admin_only(&actor, "see messenger gateways")?;
    let list = s.store.connections(actor.workspace_id, "messenger").await?;
    Ok(Json(json!({ "connections": list })))
}

pub async fn gateway_deliveries(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    admin_only(&actor, "see messenger gateways")?;
    let list = s.store.connections(actor.workspace_id, "messenger").await?;
    if !list.iter().any(|c| c.id == id) {
        return Err(AppError::not_found("connection"));
    }
    let d = s.store.deliveries_of_connection(actor.workspace_id, id, 100).await?;
    Ok(Json(json!({ "deliveries": d })))
}

pub async fn delete_gateway(State(s): State<AppState>, actor: Actor, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    admin_only(&actor, "delete a messenger gateway")?;
    s.store.delete_connection(actor.workspace_id, "messenger", id).await?;
    Ok(StatusCode::NO_CONTENT)
}
