//! Public endpoints messengers post to: Telegram's webhook (checked by the
//! secret token we gave setWebhook) and gateways' messages (checked by a
//! timestamped HMAC signature). Both are rate-limited per address and take
//! small bodies only; what they carry is filed by the service layer.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::domain::signature;
use crate::error::{ApiResult, AppError};
use crate::store::StoreError;

/// The largest body a hook takes (a Telegram update or a gateway message).
pub const BODY_MAX: usize = 256 * 1024;

fn limited(s: &AppState, addr: SocketAddr) -> ApiResult<()> {
    s.limits
        .public
        .check(addr.ip(), "hooks", "too many requests from your address; wait a little")
}

fn unknown() -> AppError {
    AppError::not_found("connection")
}

fn unauthorized(m: &str) -> AppError {
    AppError::new(StatusCode::UNAUTHORIZED, "bad_signature", m)
}

/// `POST /hooks/telegram/{id}`: an update Telegram posts in webhook mode.
pub async fn telegram(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    limited(&s, addr)?;
    let c = s.store.connection_by_id(id).await?.ok_or_else(unknown)?;
    if c.kind != "telegram" || c.mode.as_deref() != Some("webhook") {
        return Err(unknown());
    }
    let given = headers
        .get("x-telegram-bot-api-secret-token")
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !crate::auth::constant_time_eq(given, c.secret.as_bytes()) {
        return Err(unauthorized(
            "the X-Telegram-Bot-Api-Secret-Token header is missing or wrong",
        ));
    }
    let update: Value =
        serde_json::from_slice(&body).map_err(|_| AppError::bad_request("malformed_json", "not a Telegram update"))?;
    match s.svc.file_telegram_update(&c, &update).await {
        Ok(filed) => Ok(Json(json!({ "ok": true, "filed": filed }))),
        // Telegram would post it again and again: what cannot be filed is
        // answered as taken (and logged).
        Err(e @ (StoreError::Invalid(_) | StoreError::Conflict(_))) => {
            tracing::warn!(connection = id, error = %e, "a Telegram update was skipped");
            Ok(Json(json!({ "ok": true, "filed": false })))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /hooks/messenger/{id}`: a customer's message from a gateway,
/// signed with the connection's secret over `"{timestamp}.{body}"`.
pub async fn messenger(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    limited(&s, addr)?;
    let c = s.store.connection_by_id(id).await?.ok_or_else(unknown)?;
    if c.kind != "messenger" {
        return Err(unknown());
    }
    let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now = crate::store::now_ms() / 1000;
    match signature::verify_timestamped(
        c.secret.as_bytes(),
        &body,
        h(signature::TIMESTAMP_HEADER),
        h(signature::HEADER),
        now,
    ) {
        Ok(_) => {}
        Err(signature::Refused::MissingTimestamp) => {
            return Err(unauthorized("X-Storedesk-Timestamp (Unix seconds) is missing"))
        }
        Err(signature::Refused::Stale) => {
            return Err(unauthorized(
                "X-Storedesk-Timestamp is more than 5 minutes from our clock: sign again",
            ))
        }
        Err(signature::Refused::BadSignature) => {
            return Err(unauthorized(
                "X-Storedesk-Signature is missing or does not match sha256=HMAC(secret, \"{timestamp}.{body}\")",
            ))
        }
    }
    let m: crate::service::messengers::GatewayMessage = serde_json::from_slice(&body)
        .map_err(|e| AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", e.to_string()))?;
    let filed = s.svc.file_gateway_message(&c, m).await?;
    let status = if filed { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(json!({ "ok": true, "duplicate": !filed }))))
}
