//! Health, metrics and the API description.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::app::{AppState, MetricsAccess};
use crate::error::AppError;

pub async fn healthz(State(s): State<AppState>) -> impl IntoResponse {
    match s.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            axum::Json(json!({ "status": "ok", "database": s.store.backend().name() })),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({ "status": "unavailable", "database": s.store.backend().name() })),
            )
        }
    }
}

/// `/metrics` on the main listener, as `--metrics-token` and
/// `--metrics-listen` allow.
pub async fn metrics(State(s): State<AppState>, headers: HeaderMap) -> Response {
    match &s.site.metrics {
        MetricsAccess::Open => {}
        MetricsAccess::Elsewhere => {
            return AppError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "metrics are served on their own listener",
            )
            .into_response()
        }
        MetricsAccess::Token(hash) => {
            let given = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            let given: [u8; 32] = Sha256::digest(given.as_bytes()).into();
            if !crate::auth::constant_time_eq(&given, hash) {
                return AppError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "metrics need the token given by --metrics-token, as 'Authorization: Bearer TOKEN'",
                )
                .into_response();
            }
        }
    }
    render_metrics(&s).into_response()
}

/// The metrics text, for whichever listener serves it.
pub fn render_metrics(s: &AppState) -> impl IntoResponse {
    let mut body = s.metrics.render();
    body.push_str(&format!(
        "# HELP storedesk_uptime_seconds Seconds since this node started.\n# TYPE storedesk_uptime_seconds gauge\nstoredesk_uptime_seconds {}\n",
        s.started.elapsed().as_secs()
    ));
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        body,
    )
}

pub const OPENAPI: &str = include_str!("../../static/openapi.json");

pub async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}
