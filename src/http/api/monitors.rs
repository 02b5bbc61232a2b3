//! Site monitors: admins make, change and delete them; every agent of the
//! workspace reads them with their state, history and uptime. Incidents
//! are tickets of channel `monitor` (`GET /tickets?channel=monitor`).
//! Another workspace's monitor is "not found".

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::admin_only;
use crate::app::AppState;
use crate::domain::monitor::uptime_report;
use crate::domain::{Actor, Invalid};
use crate::error::{ApiResult, AppError};
use crate::http::extract::{parse_id, ApiJson, ApiQuery};

const MANAGE: &str = "manage monitors";

pub async fn list(State(s): State<AppState>, actor: Actor) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "items": s.store.list_monitors(actor.workspace_id).await? }),
    ))
}

pub async fn create(
    State(s): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    admin_only(&actor, MANAGE)?;
    let m = s.svc.create_monitor(&actor, &body).await?;
    Ok((StatusCode::CREATED, Json(json!(m))))
}

async fn owned(s: &AppState, actor: &Actor, id: &str) -> ApiResult<crate::store::monitors::Monitor> {
    let id = parse_id(id, "monitor")?;
    s.store
        .monitor(actor.workspace_id, id)
        .await
        .map_err(|_| AppError::not_found("monitor"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShowParams {
    /// Checks of the history shown (newest first).
    limit: Option<i64>,
    /// Days of uptime.
    days: Option<i64>,
}

/// A monitor with its latest checks and its uptime per day and month.
pub async fn show(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<ShowParams>,
) -> ApiResult<Json<Value>> {
    let m = owned(&s, &actor, &id).await?;
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Invalid::new("limit", "must be between 1 and 1000").into());
    }
    let days = p.days.unwrap_or(30);
    if !(1..=366).contains(&days) {
        return Err(Invalid::new("days", "must be between 1 and 366").into());
    }
    let history = s.store.monitor_checks(actor.workspace_id, m.id, limit).await?;
    let since = (crate::store::now_ms() / 86_400_000 - days + 1) * 86_400_000;
    let counts = s.store.monitor_days(actor.workspace_id, m.id, since).await?;
    let mut v = json!(m);
    v["history"] = json!(history);
    v["uptime"] = uptime_report(&counts);
    Ok(Json(v))
}

pub async fn update(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    admin_only(&actor, MANAGE)?;
    let m = owned(&s, &actor, &id).await?;
    Ok(Json(json!(s.svc.update_monitor(&actor, m.id, &body).await?)))
}

pub async fn delete(State(s): State<AppState>, actor: Actor, Path(id): Path<String>) -> ApiResult<StatusCode> {
    admin_only(&actor, MANAGE)?;
    let m = owned(&s, &actor, &id).await?;
    s.store.delete_monitor(actor.workspace_id, m.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The public status page's settings.
pub async fn get_status_page(State(s): State<AppState>, actor: Actor) -> ApiResult<Json<Value>> {
    Ok(Json(json!(s.store.status_page(actor.workspace_id).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusPageBody {
    enabled: bool,
    #[serde(default)]
    show_targets: bool,
}

/// Switches the public status page (`/p/{slug}/status`) on or off.
pub async fn put_status_page(
    State(s): State<AppState>,
    actor: Actor,
    ApiJson(b): ApiJson<StatusPageBody>,
) -> ApiResult<Json<Value>> {
    admin_only(&actor, MANAGE)?;
    let p = crate::store::monitors::StatusPage {
        enabled: b.enabled,
        show_targets: b.show_targets,
    };
    Ok(Json(json!(s.store.set_status_page(actor.workspace_id, p).await?)))
}
