//! Agents' availability and capacity, teams' routing mode, queue places.

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::admin_only;
use crate::app::AppState;
use crate::domain::{Actor, Invalid};
use crate::error::{ApiResult, AppError};
use crate::http::extract::{parse_id, ApiJson};
use crate::store::routing::{Availability, RoutingMode};

/// The most conversations an agent may be given at once.
const CAPACITY_MAX: i64 = 1000;

/// Every agent with their availability, capacity and load.
pub async fn list(State(s): State<AppState>, actor: Actor) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "items": s.store.agent_loads(actor.workspace_id, None).await? }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetAvailability {
    status: String,
}

/// The signed-in agent says whether they take conversations.
pub async fn set_mine(
    State(s): State<AppState>,
    actor: Actor,
    ApiJson(b): ApiJson<SetAvailability>,
) -> ApiResult<Json<Value>> {
    let to = Availability::parse("status", &b.status)?;
    s.svc.set_availability(&actor, to).await?;
    Ok(Json(json!({ "status": to })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetCapacity {
    chat_capacity: i64,
    #[serde(default)]
    ticket_capacity: Option<i64>,
}

pub async fn set_capacity(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<SetCapacity>,
) -> ApiResult<Json<Value>> {
    admin_only(&actor, "change routing")?;
    let id = parse_id(&id, "user")?;
    for (field, v) in [
        ("chat_capacity", Some(b.chat_capacity)),
        ("ticket_capacity", b.ticket_capacity),
    ] {
        if v.is_some_and(|v| !(0..=CAPACITY_MAX).contains(&v)) {
            return Err(Invalid::new(field, format!("must be between 0 and {CAPACITY_MAX}")).into());
        }
    }
    s.store
        .set_capacity(actor.workspace_id, id, b.chat_capacity, b.ticket_capacity)
        .await
        .map_err(|_| AppError::not_found("user"))?;
    // More room may take waiting conversations at once.
    s.svc.route(Some(actor.workspace_id)).await?;
    Ok(Json(
        json!({ "user_id": id, "chat_capacity": b.chat_capacity, "ticket_capacity": b.ticket_capacity }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetRouting {
    routing: String,
}

pub async fn set_team_routing(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<SetRouting>,
) -> ApiResult<Json<Value>> {
    admin_only(&actor, "change routing")?;
    let id = parse_id(&id, "team")?;
    let mode = RoutingMode::parse("routing", &b.routing)?;
    s.store
        .set_team_routing(actor.workspace_id, id, mode)
        .await
        .map_err(|_| AppError::not_found("team"))?;
    s.svc.route(Some(actor.workspace_id)).await?;
    Ok(Json(json!({ "id": id, "routing": mode })))
}

/// Where a waiting ticket stands in its team's queue.
pub async fn queue(State(s): State<AppState>, actor: Actor, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "ticket")?;
    s.store
        .ticket(&actor, id)
        .await
        .map_err(|_| AppError::not_found("ticket"))?;
    Ok(Json(match s.store.queue_position(actor.workspace_id, id).await? {
        Some((position, online)) => json!({ "waiting": true, "position": position, "agents_online": online }),
        None => json!({ "waiting": false }),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySettings {
    mail: bool,
}

/// Whether assignments and mentions left unseen for 10 minutes are mailed
/// to the signed-in agent.
pub async fn set_notifications(
    State(s): State<AppState>,
    actor: Actor,
    ApiJson(b): ApiJson<NotifySettings>,
) -> ApiResult<Json<Value>> {
    s.store
        .set_notify_by_mail(actor.workspace_id, actor.user_id, b.mail)
        .await?;
    Ok(Json(json!({ "mail": b.mail })))
}
