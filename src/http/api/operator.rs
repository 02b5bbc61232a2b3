//! The operator API under `/api/operator/v1`: workspaces (create, suspend,
//! resume, plan, delete, usage, export) and plans. Only an operator token
//! (made by `storedesk operator create`) opens it; an agent's or admin's
//! token of any workspace is refused, so no workspace can lift its own plan.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::error::{ApiResult, AppError};
use crate::http::extract::{nullable, parse_id, ApiJson};
use crate::service::operator::PlanBody;
use crate::store::operator::Operator;

/// The operator behind `Authorization: Bearer TOKEN`.
pub struct OperatorAuth(pub Operator);

impl FromRequestParts<AppState> for OperatorAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, AppError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 200)
            .ok_or_else(|| AppError::unauthorized("send an operator token as 'Authorization: Bearer TOKEN'"))?;
        let op = s.store.operator_by_token_hash(&crate::auth::token_hash(token)).await?;
        op.map(OperatorAuth).ok_or_else(|| {
            AppError::unauthorized("not an operator token (workspace tokens do not open the operator API)")
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWorkspace {
    name: String,
    admin_email: String,
    #[serde(default)]
    admin_password: Option<String>,
    #[serde(default)]
    plan_id: Option<i64>,
}

pub async fn list(State(s): State<AppState>, _: OperatorAuth) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "items": s.store.hosted_workspaces().await? })))
}

pub async fn create(
    State(s): State<AppState>,
    _: OperatorAuth,
    ApiJson(b): ApiJson<NewWorkspace>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let created = s
        .svc
        .create_hosted_workspace(&b.name, &b.admin_email, b.admin_password, b.plan_id)
        .await?;
    Ok((StatusCode::CREATED, Json(json!(created))))
}

pub async fn show(State(s): State<AppState>, _: OperatorAuth, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "workspace")?;
    let ws = s
        .store
        .hosted_workspace(id)
        .await
        .map_err(|_| AppError::not_found("workspace"))?;
    let usage = s.svc.usage(id).await?;
    Ok(Json(json!({ "workspace": ws, "usage": usage })))
}

pub async fn usage(State(s): State<AppState>, _: OperatorAuth, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "workspace")?;
    s.store
        .hosted_workspace(id)
        .await
        .map_err(|_| AppError::not_found("workspace"))?;
    Ok(Json(json!(s.svc.usage(id).await?)))
}

pub async fn suspend(State(s): State<AppState>, _: OperatorAuth, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "workspace")?;
    Ok(Json(json!(s.svc.suspend_workspace(id, true).await?)))
}

pub async fn resume(State(s): State<AppState>, _: OperatorAuth, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "workspace")?;
    Ok(Json(json!(s.svc.suspend_workspace(id, false).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanChoice {
    #[serde(default, deserialize_with = "nullable")]
    plan_id: Option<Option<i64>>,
}

/// `PUT .../plan` with `{"plan_id": 3}`, or `null` for every feature.
pub async fn set_plan(
    State(s): State<AppState>,
    _: OperatorAuth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<PlanChoice>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "workspace")?;
    let plan_id = b
        .plan_id
        .ok_or_else(|| crate::domain::Invalid::new("plan_id", "is required (a plan's id, or null)"))?;
    Ok(Json(json!(s.svc.set_workspace_plan(id, plan_id).await?)))
}

pub async fn delete(State(s): State<AppState>, _: OperatorAuth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let id = parse_id(&id, "workspace")?;
    s.svc.delete_workspace(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The workspace's rows in the backup format (JSON lines).
pub async fn export(State(s): State<AppState>, _: OperatorAuth, Path(id): Path<String>) -> ApiResult<Response> {
    let id = parse_id(&id, "workspace")?;
    let mut out = Vec::new();
    s.store.backup_workspace(&mut out, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"workspace-{id}.jsonl\""),
            ),
        ],
        out,
    )
        .into_response())
}

pub async fn plans(State(s): State<AppState>, _: OperatorAuth) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "items": s.store.plans().await? })))
}

pub async fn create_plan(
    State(s): State<AppState>,
    _: OperatorAuth,
    ApiJson(b): ApiJson<PlanBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    Ok((StatusCode::CREATED, Json(json!(s.svc.save_plan(None, b).await?))))
}

pub async fn update_plan(
    State(s): State<AppState>,
    _: OperatorAuth,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<PlanBody>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "plan")?;
    Ok(Json(json!(s.svc.save_plan(Some(id), b).await?)))
}

pub async fn delete_plan(State(s): State<AppState>, _: OperatorAuth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let id = parse_id(&id, "plan")?;
    s.svc.delete_plan(id).await?;
    Ok(StatusCode::NO_CONTENT)
}
