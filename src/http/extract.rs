//! Extractors that turn a request into validated values or a clear error.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

use crate::app::AppState;
use crate::domain::Actor;
use crate::error::AppError;

/// A JSON body whose every failure (not JSON, wrong content type, wrong
/// field type, unknown field, too large) becomes an `AppError`.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(r) => Err(json_rejection(r)),
        }
    }
}

fn json_rejection(r: JsonRejection) -> AppError {
    let text = r.body_text();
    match r {
        JsonRejection::JsonDataError(_) => AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            text.replace("Failed to deserialize the JSON body into the target type: ", ""),
        ),
        JsonRejection::JsonSyntaxError(_) => AppError::bad_request("malformed_json", text),
        JsonRejection::MissingJsonContentType(_) => AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with Content-Type: application/json",
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body is larger than {} bytes", super::BODY_LIMIT),
        ),
        other => AppError::new(other.status(), "bad_request", text),
    }
}

/// Query parameters, with parse failures reported as 400.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(ApiQuery(v)),
            Err(r @ QueryRejection::FailedToDeserializeQueryString(_)) => {
                Err(AppError::bad_request("invalid_query", r.body_text()))
            }
            Err(r) => Err(AppError::bad_request("invalid_query", r.body_text())),
        }
    }
}

/// The user behind `Authorization: Bearer TOKEN`.
impl FromRequestParts<AppState> for Actor {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let raw = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| AppError::unauthorized("send an API token as 'Authorization: Bearer TOKEN'"))?;
        let token = raw
            .strip_prefix("Bearer ")
            .or_else(|| raw.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or_else(|| AppError::unauthorized("the Authorization header must be 'Bearer TOKEN'"))?;
        if token.is_empty() || token.len() > 200 {
            return Err(AppError::unauthorized("the API token is not valid"));
        }
        let actor = state.store.actor_by_token_hash(&crate::auth::token_hash(token)).await?;
        let actor = actor.ok_or_else(|| AppError::unauthorized("the API token is not valid"))?;
        tracing::Span::current().record("workspace_id", actor.workspace_id);
        standing_allows(parts, state, actor.workspace_id).await?;
        Ok(actor)
    }
}

/// Refuses a request of an agent of a suspended workspace, or one whose
/// path needs a feature the workspace's plan leaves out (API and console
/// alike: see `Feature::of_path`).
pub async fn standing_allows(parts: &Parts, state: &AppState, workspace_id: i64) -> Result<(), AppError> {
    let path = parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map(|u| u.0.path())
        .unwrap_or_else(|| parts.uri.path());
    match crate::domain::plan::Feature::of_path(path) {
        Some(f) => state.svc.require(workspace_id, f).await,
        None => state.svc.require_active(workspace_id).await.map(|_| ()),
    }
}

/// Ids in paths are positive integers; anything else names nothing.
pub fn parse_id(raw: &str, what: &str) -> Result<i64, AppError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| AppError::not_found(what))
}

/// Deserializes a field that may be absent (leave as is), `null` (clear)
/// or a value (set).
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

use serde::Deserialize;
