//! SLA policies and business-hours calendars.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::admin_only;
use crate::app::AppState;
use crate::domain::calendar::Calendar;
use crate::domain::Actor;
use crate::error::{ApiResult, AppError};
use crate::http::extract::{parse_id, ApiJson};

pub async fn list(State(s): State<AppState>, actor: Actor) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "items": s.store.list_sla_policies(actor.workspace_id).await? }),
    ))
}

pub async fn create(
    State(s): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    admin_only(&actor, "change SLA policies and calendars")?;
    let p = s.svc.save_sla_policy(&actor, None, &body).await?;
    Ok((StatusCode::CREATED, Json(json!(p))))
}

pub async fn update(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    admin_only(&actor, "change SLA policies and calendars")?;
    let id = parse_id(&id, "SLA policy")?;
    s.store
        .sla_policy(actor.workspace_id, id)
        .await
        .map_err(|_| AppError::not_found("SLA policy"))?;
    Ok(Json(json!(s.svc.save_sla_policy(&actor, Some(id), &body).await?)))
}

pub async fn delete(State(s): State<AppState>, actor: Actor, Path(id): Path<String>) -> ApiResult<StatusCode> {
    admin_only(&actor, "change SLA policies and calendars")?;
    let id = parse_id(&id, "SLA policy")?;
    s.store
        .delete_sla_policy(actor.workspace_id, id)
        .await
        .map_err(|_| AppError::not_found("SLA policy"))?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn get_calendar(State(s): State<AppState>, actor: Actor) -> ApiResult<Json<Value>> {
    Ok(Json(json!(s.store.calendar(actor.workspace_id, None).await?)))
}

pub async fn put_calendar(
    State(s): State<AppState>,
    actor: Actor,
    ApiJson(cal): ApiJson<Calendar>,
) -> ApiResult<Json<Value>> {
    admin_only(&actor, "change SLA policies and calendars")?;
    s.svc.save_calendar(&actor, None, &cal).await?;
    Ok(Json(json!(cal)))
}

pub async fn get_team_calendar(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "team")?;
    if !s.store.list_teams(actor.workspace_id).await?.iter().any(|t| t.id == id) {
        return Err(AppError::not_found("team"));
    }
    Ok(Json(json!(s.store.calendar(actor.workspace_id, Some(id)).await?)))
}

pub async fn put_team_calendar(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiJson(cal): ApiJson<Calendar>,
) -> ApiResult<Json<Value>> {
    admin_only(&actor, "change SLA policies and calendars")?;
    let id = parse_id(&id, "team")?;
    s.svc.save_calendar(&actor, Some(id), &cal).await.map_err(|e| match e {
        crate::store::StoreError::NotFound => AppError::not_found("team"),
        other => other.into(),
    })?;
    Ok(Json(json!(cal)))
}
