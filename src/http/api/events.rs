//! The event feed for integrations: the workspace's changes in commit
//! order, read by cursor.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::domain::{Actor, Invalid};
use crate::error::{ApiResult, AppError};
use crate::http::extract::ApiQuery;

pub const LIMIT_MAX: i64 = 500;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedParams {
    after: Option<String>,
    limit: Option<i64>,
}

/// A cursor is the last event id seen, as a decimal string.
fn cursor(raw: Option<&str>) -> ApiResult<i64> {
    match raw.map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(0),
        Some(c) => c
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0 && c.len() <= 19)
            .ok_or_else(|| AppError::bad_request("invalid_cursor", "the cursor is not one this API gave out")),
    }
}

pub async fn list(
    State(s): State<AppState>,
    actor: Actor,
    ApiQuery(p): ApiQuery<FeedParams>,
) -> ApiResult<Json<Value>> {
    if !actor.can_manage_workspace() {
        return Err(AppError::forbidden(
            "only an admin of the workspace may read its event feed",
        ));
    }
    let limit = p.limit.unwrap_or(100);
    if !(1..=LIMIT_MAX).contains(&limit) {
        return Err(Invalid::new("limit", format!("must be between 1 and {LIMIT_MAX}")).into());
    }
    let after = cursor(p.after.as_deref())?;
    let events = s.store.workspace_events(actor.workspace_id, after, limit).await?;
    let next = events.last().map_or(after, |e| e.id);
    Ok(Json(json!({ "events": events, "next_cursor": next.to_string() })))
}

#[cfg(test)]
mod tests {
    #[test]
    fn cursors_are_plain_ids() {
        assert_eq!(super::cursor(None).unwrap(), 0);
        assert_eq!(super::cursor(Some("42")).unwrap(), 42);
        assert!(super::cursor(Some("-1")).is_err());
        assert!(super::cursor(Some("abc")).is_err());
        assert!(super::cursor(Some("99999999999999999999")).is_err());
    }
}
