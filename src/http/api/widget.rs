//! The chat widget's settings and the snippet to embed it.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::domain::Actor;
use crate::error::{ApiResult, AppError};
use crate::http::extract::ApiJson;
use crate::store::chat::WidgetSettings;

pub async fn get(State(s): State<AppState>, actor: Actor) -> ApiResult<Json<Value>> {
    let w = s.store.widget_settings(actor.workspace_id).await?;
    let ws = s.store.workspace(actor.workspace_id).await?;
    let refused = s.store.refused_origins(actor.workspace_id).await?;
    Ok(Json(
        json!({ "settings": w, "refused_origins": refused, "snippet": format!("<script src=\"{}/widget.js\" data-workspace=\"{}\" async></script>", s.site.public_url, ws.slug) }),
    ))
}

pub async fn put(
    State(s): State<AppState>,
    actor: Actor,
    ApiJson(w): ApiJson<WidgetSettings>,
) -> ApiResult<Json<Value>> {
    if !actor.can_manage_workspace() {
        return Err(AppError::forbidden("only an admin of the workspace may do this"));
    }
    w.validate()?;
    s.store
        .save_widget_settings(actor.workspace_id, &w, actor.user_id)
        .await?;
    Ok(Json(json!({ "settings": w })))
}
