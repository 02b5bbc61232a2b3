//! A contact's data rights, for admins: `GET /contacts/{id}/export` (all
//! that is stored about them, as JSON) and `POST /contacts/{id}/erase`.
//! Another workspace's contact is "not found".

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::admin_only;
use crate::app::AppState;
use crate::domain::Actor;
use crate::error::ApiResult;
use crate::http::extract::parse_id;

pub async fn export(State(s): State<AppState>, actor: Actor, Path(id): Path<String>) -> ApiResult<Response> {
    admin_only(&actor, "export a contact's data")?;
    let id = parse_id(&id, "contact")?;
    let v = s.svc.export_contact(&actor, id).await?;
    Ok((
        [(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"contact-{id}.json\""),
        )],
        axum::Json(v),
    )
        .into_response())
}

pub async fn erase(State(s): State<AppState>, actor: Actor, Path(id): Path<String>) -> ApiResult<Response> {
    admin_only(&actor, "erase a contact")?;
    let id = parse_id(&id, "contact")?;
    s.svc.erase_contact(&actor, id).await?;
    Ok((StatusCode::OK, axum::Json(json!({ "erased": id }))).into_response())
}
