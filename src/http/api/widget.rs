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

fn admin(actor: &Actor) -> ApiResult<()> {
    if actor.can_manage_workspace() {
        Ok(())
    } else {
        Err(AppError::forbidden("only an admin of the workspace may do this"))
    }
}

/// `GET /api/v1/widget/identity`: the secret stores sign identities with.
pub async fn identity(State(s): State<AppState>, actor: Actor) -> ApiResult<Json<Value>> {
    admin(&actor)?;
    let secret = s.store.identity_secret(actor.workspace_id).await?;
    Ok(Json(json!({ "enabled": secret.is_some(), "secret": secret })))
}

/// `POST /api/v1/widget/identity`: a new secret (identities signed with
/// the old one are refused from now on).
pub async fn rotate_identity(State(s): State<AppState>, actor: Actor) -> ApiResult<Json<Value>> {
    admin(&actor)?;
    let secret = crate::domain::identity::new_secret();
    s.store.set_identity_secret(actor.workspace_id, Some(&secret)).await?;
    Ok(Json(json!({ "enabled": true, "secret": secret })))
}

/// `DELETE /api/v1/widget/identity`: signed identities switched off.
pub async fn drop_identity(State(s): State<AppState>, actor: Actor) -> ApiResult<Json<Value>> {
    admin(&actor)?;
    s.store.set_identity_secret(actor.workspace_id, None).await?;
    Ok(Json(json!({ "enabled": false, "secret": null })))
}
