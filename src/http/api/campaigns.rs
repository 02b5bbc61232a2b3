//! Proactive campaigns for admins: write, start/stop, delete, results.
//! Another workspace's campaign is "not found".

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::admin_only;
use crate::app::AppState;
use crate::domain::Actor;
use crate::error::{ApiResult, AppError};
use crate::http::extract::{parse_id, ApiJson};

const MANAGE: &str = "manage campaigns";

pub async fn list(State(s): State<AppState>, actor: Actor) -> ApiResult<Json<Value>> {
    admin_only(&actor, MANAGE)?;
    Ok(Json(
        json!({ "items": s.store.list_campaigns(actor.workspace_id).await? }),
    ))
}

pub async fn create(
    State(s): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    admin_only(&actor, MANAGE)?;
    let c = s.svc.create_campaign(&actor, &body).await?;
    Ok((StatusCode::CREATED, Json(json!(c))))
}

async fn owned(s: &AppState, actor: &Actor, id: &str) -> ApiResult<i64> {
    admin_only(actor, MANAGE)?;
    let id = parse_id(id, "campaign")?;
    s.store
        .campaign(actor.workspace_id, id)
        .await
        .map_err(|_| AppError::not_found("campaign"))?;
    Ok(id)
}

pub async fn show(State(s): State<AppState>, actor: Actor, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id = owned(&s, &actor, &id).await?;
    Ok(Json(json!(s.store.campaign(actor.workspace_id, id).await?)))
}

pub async fn update(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    let id = owned(&s, &actor, &id).await?;
    Ok(Json(json!(s.svc.update_campaign(&actor, id, &body).await?)))
}

pub async fn delete(State(s): State<AppState>, actor: Actor, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let id = owned(&s, &actor, &id).await?;
    s.svc.delete_campaign(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Shown, opened, replied and converted per variant and for the holdout.
pub async fn results(State(s): State<AppState>, actor: Actor, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id = owned(&s, &actor, &id).await?;
    Ok(Json(s.svc.campaign_results(actor.workspace_id, id).await?))
}
