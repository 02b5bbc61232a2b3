//! The signed-in user, the workspace's agents and teams, API tokens.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::domain::ticket::NAME_MAX;
use crate::domain::{required_text, Actor, Email, Role};
use crate::error::{ApiResult, AppError};
use crate::http::extract::{parse_id, ApiJson};
use crate::store::NewUser;

fn admin_only(actor: &Actor) -> ApiResult<()> {
    if actor.can_manage_workspace() {
        Ok(())
    } else {
        Err(AppError::forbidden("only an admin of the workspace may do this"))
    }
}

pub async fn me(State(s): State<AppState>, actor: Actor) -> ApiResult<Json<Value>> {
    let user = s.store.user(actor.workspace_id, actor.user_id).await?;
    let ws = s.store.workspace(actor.workspace_id).await?;
    Ok(Json(
        json!({ "user": user, "workspace": { "slug": ws.slug, "name": ws.name } }),
    ))
}

pub async fn list_users(State(s): State<AppState>, actor: Actor) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "items": s.store.list_users(actor.workspace_id).await? })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    email: String,
    name: String,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    password: Option<String>,
    /// Restricts the agent to tickets of their teams.
    #[serde(default)]
    teams_only: bool,
}

pub async fn create_user(
    State(s): State<AppState>,
    actor: Actor,
    ApiJson(b): ApiJson<CreateUser>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    admin_only(&actor)?;
    s.svc.require_agent_slot(actor.workspace_id).await?;
    let password_hash = match b.password {
        Some(p) => {
            crate::auth::check_password_policy(&p)?;
            Some(
                tokio::task::spawn_blocking(move || crate::auth::hash_password(&p))
                    .await
                    .map_err(AppError::internal)?,
            )
        }
        None => None,
    };
    let new = NewUser {
        email: Email::parse("email", &b.email)?,
        name: required_text("name", &b.name, NAME_MAX)?,
        role: b
            .role
            .map(|r| Role::parse("role", &r))
            .transpose()?
            .unwrap_or(Role::Agent),
        teams_only: b.teams_only,
        password_hash,
    };
    let user = s.store.create_user(actor.workspace_id, new, actor.user_id).await?;
    Ok((StatusCode::CREATED, Json(json!(user))))
}

/// A new API token for a user of the workspace (admins for anyone, agents
/// for themselves). The token is in this answer only.
pub async fn create_token(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let id = parse_id(&id, "user")?;
    if id != actor.user_id {
        admin_only(&actor)?;
    }
    let user = s
        .store
        .user(actor.workspace_id, id)
        .await
        .map_err(|_| AppError::not_found("user"))?;
    let token = crate::auth::new_token();
    s.store
        .create_api_token(actor.workspace_id, user.id, "api", &crate::auth::token_hash(&token))
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "token": token, "user_id": user.id }))))
}

pub async fn list_teams(State(s): State<AppState>, actor: Actor) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "items": s.store.list_teams(actor.workspace_id).await? })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTeam {
    name: String,
}

pub async fn create_team(
    State(s): State<AppState>,
    actor: Actor,
    ApiJson(b): ApiJson<CreateTeam>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    admin_only(&actor)?;
    let team = s
        .store
        .create_team(
            actor.workspace_id,
            &required_text("name", &b.name, NAME_MAX)?,
            actor.user_id,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(json!(team))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddMember {
    user_id: i64,
}

pub async fn add_member(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<AddMember>,
) -> ApiResult<StatusCode> {
    admin_only(&actor)?;
    let team_id = parse_id(&id, "team")?;
    s.store
        .add_team_member(actor.workspace_id, team_id, b.user_id, actor.user_id)
        .await
        .map_err(|e| match e {
            crate::store::StoreError::NotFound => AppError::not_found("team or user"),
            e => e.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}
