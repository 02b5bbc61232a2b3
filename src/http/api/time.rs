//! Time on a ticket: entries (an agent edits or deletes their own, an
//! admin any), the agent's timer, the estimate and urgency. Another
//! workspace's ticket, or one the agent may not see, is "not found".

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::domain::worklog::{duration, ENTRY_MAX_MINUTES, ESTIMATE_MAX_MINUTES, NOTE_MAX};
use crate::domain::{optional_text, Actor};
use crate::error::{ApiResult, AppError};
use crate::http::extract::{parse_id, ApiJson};
use crate::store::worklog::{EntryPatch, NewEntry};
use crate::store::StoreError;

fn not_found(what: &'static str) -> impl Fn(StoreError) -> AppError {
    move |e| match e {
        StoreError::NotFound => AppError::not_found(what),
        e => e.into(),
    }
}

pub async fn show(State(s): State<AppState>, actor: Actor, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "ticket")?;
    let w = s.svc.ticket_work(&actor, id).await.map_err(not_found("ticket"))?;
    Ok(Json(json!(w)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogTime {
    hours: Option<i64>,
    minutes: Option<i64>,
    billable: Option<bool>,
    note: Option<String>,
}

pub async fn log(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<LogTime>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let id = parse_id(&id, "ticket")?;
    let e = NewEntry {
        minutes: duration(b.hours, b.minutes, ENTRY_MAX_MINUTES, false)?,
        billable: b.billable.unwrap_or(true),
        note: optional_text("note", b.note.as_deref().unwrap_or("").trim(), NOTE_MAX)?,
    };
    let entry = s.svc.log_time(&actor, id, e).await.map_err(not_found("ticket"))?;
    Ok((StatusCode::CREATED, Json(json!(entry))))
}

/// The entry, once the actor may change it: their own, or any for an admin.
async fn changeable(s: &AppState, actor: &Actor, ticket: &str, entry: &str) -> ApiResult<(i64, i64)> {
    let ticket = parse_id(ticket, "ticket")?;
    let entry = parse_id(entry, "time entry")?;
    s.store.ticket(actor, ticket).await.map_err(not_found("ticket"))?;
    let e = s
        .store
        .time_entry(actor.workspace_id, ticket, entry)
        .await
        .map_err(not_found("time entry"))?;
    if e.user_id != actor.user_id && !actor.is_admin() {
        return Err(AppError::forbidden(
            "only its author or an admin may change a time entry",
        ));
    }
    Ok((ticket, entry))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditTime {
    hours: Option<i64>,
    minutes: Option<i64>,
    billable: Option<bool>,
    note: Option<String>,
}

pub async fn update(
    State(s): State<AppState>,
    actor: Actor,
    Path((ticket, entry)): Path<(String, String)>,
    ApiJson(b): ApiJson<EditTime>,
) -> ApiResult<Json<Value>> {
    let minutes = match (b.hours, b.minutes) {
        (None, None) => None,
        (h, m) => Some(duration(h, m, ENTRY_MAX_MINUTES, false)?),
    };
    let note = b.note.map(|n| optional_text("note", n.trim(), NOTE_MAX)).transpose()?;
    let (ticket, entry) = changeable(&s, &actor, &ticket, &entry).await?;
    let patch = EntryPatch {
        minutes,
        billable: b.billable,
        note,
    };
    let e = s.svc.update_time_entry(&actor, ticket, entry, patch).await?;
    Ok(Json(json!(e)))
}

pub async fn delete(
    State(s): State<AppState>,
    actor: Actor,
    Path((ticket, entry)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (ticket, entry) = changeable(&s, &actor, &ticket, &entry).await?;
    s.svc.delete_time_entry(&actor, ticket, entry).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts the agent's timer (a running one keeps running).
pub async fn start_timer(State(s): State<AppState>, actor: Actor, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "ticket")?;
    let at = s.svc.start_timer(&actor, id).await.map_err(not_found("ticket"))?;
    Ok(Json(json!({ "started_at": crate::domain::time::rfc3339(at) })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StopTimer {
    billable: Option<bool>,
    note: Option<String>,
}

/// Stops the agent's timer and logs its time.
pub async fn stop_timer(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<StopTimer>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let id = parse_id(&id, "ticket")?;
    let note = optional_text("note", b.note.as_deref().unwrap_or("").trim(), NOTE_MAX)?;
    let e = s
        .svc
        .stop_timer(&actor, id, b.billable.unwrap_or(true), note)
        .await
        .map_err(not_found("running timer"))?;
    Ok((StatusCode::CREATED, Json(json!(e))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetEstimate {
    hours: Option<i64>,
    minutes: Option<i64>,
    urgent: Option<bool>,
}

/// Sets the estimate (0 removes it; the client is asked to approve a new
/// one) and whether the ticket is urgent work.
pub async fn estimate(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<SetEstimate>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "ticket")?;
    let minutes = match (b.hours, b.minutes) {
        (None, None) => None,
        (h, m) => Some(duration(h, m, ESTIMATE_MAX_MINUTES, true)?),
    };
    if minutes.is_none() && b.urgent.is_none() {
        return Err(crate::domain::Invalid::new("minutes", "give minutes (and/or hours) or urgent").into());
    }
    let est = s
        .svc
        .set_estimate(&actor, id, minutes, b.urgent)
        .await
        .map_err(not_found("ticket"))?;
    Ok(Json(json!(est)))
}
