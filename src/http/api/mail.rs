//! The workspace's mail settings.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::domain::Actor;
use crate::error::{ApiResult, AppError};
use crate::http::extract::ApiJson;
use crate::store::mail_settings::MailSettings;

pub async fn get(State(s): State<AppState>, actor: Actor) -> ApiResult<Json<Value>> {
    if !actor.can_manage_workspace() {
        return Err(AppError::forbidden("only an admin of the workspace may do this"));
    }
    Ok(Json(
        json!({ "settings": s.store.mail_settings(actor.workspace_id).await?.redacted() }),
    ))
}

pub async fn put(
    State(s): State<AppState>,
    actor: Actor,
    ApiJson(mut m): ApiJson<MailSettings>,
) -> ApiResult<Json<Value>> {
    if !actor.can_manage_workspace() {
        return Err(AppError::forbidden("only an admin of the workspace may do this"));
    }
    m.validate()?;
    // Sending back what GET showed keeps the stored password.
    if let Some(i) = &mut m.imap {
        if i.password == "********" {
            i.password = s
                .store
                .mail_settings(actor.workspace_id)
                .await?
                .imap
                .map(|o| o.password)
                .unwrap_or_default();
        }
    }
    s.store
        .save_mail_settings(actor.workspace_id, &m, actor.user_id)
        .await?;
    Ok(Json(json!({ "settings": m.redacted() })))
}
