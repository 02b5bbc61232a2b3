//! Automation rules and macros.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::admin_only;
use crate::app::AppState;
use crate::domain::Actor;
use crate::error::{ApiResult, AppError};
use crate::http::extract::{parse_id, ApiJson};

pub async fn list(State(s): State<AppState>, actor: Actor) -> ApiResult<Json<Value>> {
    admin_only(&actor, "manage rules and macros")?;
    Ok(Json(json!({ "items": s.store.list_rules(actor.workspace_id).await? })))
}

pub async fn create(
    State(s): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    admin_only(&actor, "manage rules and macros")?;
    let rule = s.svc.create_rule(&actor, &body).await?;
    Ok((StatusCode::CREATED, Json(json!(rule))))
}

pub async fn show(State(s): State<AppState>, actor: Actor, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    admin_only(&actor, "manage rules and macros")?;
    let id = parse_id(&id, "rule")?;
    let rule = s
        .store
        .rule(actor.workspace_id, id)
        .await
        .map_err(|_| AppError::not_found("rule"))?;
    Ok(Json(json!(rule)))
}

pub async fn update(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    admin_only(&actor, "manage rules and macros")?;
    let id = parse_id(&id, "rule")?;
    s.store
        .rule(actor.workspace_id, id)
        .await
        .map_err(|_| AppError::not_found("rule"))?;
    Ok(Json(json!(s.svc.update_rule(&actor, id, &body).await?)))
}

pub async fn delete(State(s): State<AppState>, actor: Actor, Path(id): Path<String>) -> ApiResult<StatusCode> {
    admin_only(&actor, "manage rules and macros")?;
    let id = parse_id(&id, "rule")?;
    s.store
        .delete_rule(actor.workspace_id, id)
        .await
        .map_err(|_| AppError::not_found("rule"))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Which of the last 500 tickets the rule's conditions match.
pub async fn preview(State(s): State<AppState>, actor: Actor, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    admin_only(&actor, "manage rules and macros")?;
    let id = parse_id(&id, "rule")?;
    s.store
        .rule(actor.workspace_id, id)
        .await
        .map_err(|_| AppError::not_found("rule"))?;
    let (checked, hits) = s.svc.preview_rule(actor.workspace_id, id).await?;
    let items: Vec<Value> = hits
        .iter()
        .map(|t| json!({ "id": t.id, "number": t.number, "subject": t.subject, "status": t.status }))
        .collect();
    Ok(Json(
        json!({ "checked": checked, "matched": items.len(), "items": items }),
    ))
}

pub async fn list_macros(State(s): State<AppState>, actor: Actor) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "items": s.store.list_macros(actor.workspace_id).await? })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MacroBody {
    name: String,
    actions: Value,
}

pub async fn create_macro(
    State(s): State<AppState>,
    actor: Actor,
    ApiJson(b): ApiJson<MacroBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    admin_only(&actor, "manage rules and macros")?;
    let m = s.svc.save_macro(&actor, None, &b.name, &b.actions).await?;
    Ok((StatusCode::CREATED, Json(json!(m))))
}

pub async fn update_macro(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<MacroBody>,
) -> ApiResult<Json<Value>> {
    admin_only(&actor, "manage rules and macros")?;
    let id = parse_id(&id, "macro")?;
    s.store
        .macro_by_id(actor.workspace_id, id)
        .await
        .map_err(|_| AppError::not_found("macro"))?;
    Ok(Json(json!(
        s.svc.save_macro(&actor, Some(id), &b.name, &b.actions).await?
    )))
}

pub async fn delete_macro(State(s): State<AppState>, actor: Actor, Path(id): Path<String>) -> ApiResult<StatusCode> {
    admin_only(&actor, "manage rules and macros")?;
    let id = parse_id(&id, "macro")?;
    s.store
        .delete_macro(actor.workspace_id, id)
        .await
        .map_err(|_| AppError::not_found("macro"))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyBody {
    ticket_ids: Vec<i64>,
}

/// Applies a macro to up to 100 tickets the agent may see.
pub async fn apply_macro(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ApplyBody>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "macro")?;
    if b.ticket_ids.is_empty() || b.ticket_ids.len() > 100 {
        return Err(crate::domain::Invalid::new("ticket_ids", "give 1 to 100 ticket ids").into());
    }
    s.store
        .macro_by_id(actor.workspace_id, id)
        .await
        .map_err(|_| AppError::not_found("macro"))?;
    let done = s.svc.apply_macro(&actor, id, &b.ticket_ids).await?;
    Ok(Json(json!({ "applied": done.len(), "items": done })))
}
