//! Outbound webhooks for admins: subscriptions, their delivery logs, and
//! replaying a delivery. Another workspace's subscription is "not found".

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::admin_only;
use crate::app::AppState;
use crate::domain::{Actor, Invalid};
use crate::error::{ApiResult, AppError};
use crate::http::extract::{parse_id, ApiJson, ApiQuery};

const MANAGE: &str = "manage webhooks";

pub async fn list(State(s): State<AppState>, actor: Actor) -> ApiResult<Json<Value>> {
    admin_only(&actor, MANAGE)?;
    Ok(Json(
        json!({ "items": s.store.list_webhooks(actor.workspace_id).await? }),
    ))
}

/// Makes a subscription; the answer carries its secret, this once.
pub async fn create(
    State(s): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    admin_only(&actor, MANAGE)?;
    let (hook, secret) = s.svc.create_webhook(&actor, &body).await?;
    let mut v = json!(hook);
    v["secret"] = json!(secret);
    Ok((StatusCode::CREATED, Json(v)))
}

async fn owned(s: &AppState, actor: &Actor, id: &str) -> ApiResult<i64> {
    admin_only(actor, MANAGE)?;
    let id = parse_id(id, "webhook")?;
    s.store
        .webhook(actor.workspace_id, id)
        .await
        .map_err(|_| AppError::not_found("webhook"))?;
    Ok(id)
}

pub async fn show(State(s): State<AppState>, actor: Actor, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id = owned(&s, &actor, &id).await?;
    Ok(Json(json!(s.store.webhook(actor.workspace_id, id).await?)))
}

pub async fn update(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    let id = owned(&s, &actor, &id).await?;
    Ok(Json(json!(s.svc.update_webhook(&actor, id, &body).await?)))
}

pub async fn delete(State(s): State<AppState>, actor: Actor, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let id = owned(&s, &actor, &id).await?;
    s.store.delete_webhook(actor.workspace_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogParams {
    before: Option<i64>,
    limit: Option<i64>,
}

/// The delivery log, newest first; `next_before` pages on.
pub async fn deliveries(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<LogParams>,
) -> ApiResult<Json<Value>> {
    let id = owned(&s, &actor, &id).await?;
    let limit = p.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Invalid::new("limit", "must be between 1 and 200").into());
    }
    let items = s
        .store
        .webhook_deliveries(actor.workspace_id, id, p.before, limit)
        .await?;
    let next = (items.len() as i64 == limit)
        .then(|| items.last().map(|d| d.id))
        .flatten();
    Ok(Json(json!({ "items": items, "next_before": next })))
}

/// Sends a delivery again, as a new delivery.
pub async fn replay(
    State(s): State<AppState>,
    actor: Actor,
    Path((id, delivery)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let id = owned(&s, &actor, &id).await?;
    let delivery = parse_id(&delivery, "delivery")?;
    let d = s
        .store
        .replay_webhook_delivery(actor.workspace_id, id, delivery)
        .await
        .map_err(|e| match e {
            crate::store::StoreError::NotFound => AppError::not_found("delivery"),
            e => e.into(),
        })?;
    s.svc.webhooks.wake.notify_one();
    Ok((StatusCode::ACCEPTED, Json(json!(d))))
}
