//! The outbox for admins: every mail to customers with what became of it,
//! and a way to send a failed one again.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::domain::{Actor, Invalid};
use crate::error::{ApiResult, AppError};
use crate::http::extract::ApiQuery;
use crate::store::outbox::OutboxFilter;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxParams {
    /// `trouble`: only failed, retrying and waiting mails.
    status: Option<String>,
    before: Option<i64>,
    limit: Option<i64>,
}

fn admin(actor: &Actor) -> ApiResult<()> {
    if actor.can_manage_workspace() {
        Ok(())
    } else {
        Err(AppError::forbidden("only an admin of the workspace may see the outbox"))
    }
}

pub async fn list(
    State(s): State<AppState>,
    actor: Actor,
    ApiQuery(p): ApiQuery<OutboxParams>,
) -> ApiResult<Json<Value>> {
    admin(&actor)?;
    let limit = p.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Invalid::new("limit", "must be between 1 and 200").into());
    }
    let trouble_only = match p.status.as_deref() {
        None | Some("all") => false,
        Some("trouble") => true,
        Some(other) => {
            return Err(Invalid::new("status", format!("'{other}' is not one of: all, trouble")).into());
        }
    };
    let items = s
        .store
        .outbox_list(
            actor.workspace_id,
            &OutboxFilter {
                trouble_only,
                before: p.before,
                limit,
            },
        )
        .await?;
    let next = (items.len() as i64 == limit)
        .then(|| items.last().map(|d| d.id))
        .flatten();
    Ok(Json(json!({ "items": items, "next_before": next })))
}

pub async fn retry(State(s): State<AppState>, actor: Actor, Path(id): Path<String>) -> ApiResult<StatusCode> {
    admin(&actor)?;
    let id: i64 = id.parse().map_err(|_| AppError::not_found("mail"))?;
    s.store
        .retry_delivery(actor.workspace_id, id)
        .await
        .map_err(|e| match e {
            crate::store::StoreError::NotFound => AppError::not_found("mail (or it was sent already)"),
            e => e.into(),
        })?;
    Ok(StatusCode::ACCEPTED)
}
