//! The workspace's mail settings.

use axum::extract::{ConnectInfo, State};
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
    // Sending back what GET showed keeps the stored secrets.
    m.keep_secrets(&s.store.mail_settings(actor.workspace_id).await?);
    m.validate()?;
    s.store
        .save_mail_settings(actor.workspace_id, &m, actor.user_id)
        .await?;
    Ok(Json(json!({ "settings": m.redacted() })))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestMail {
    to: String,
}

/// Sends a test mail through the relay the workspace's mail takes.
pub async fn test(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<std::net::SocketAddr>,
    actor: Actor,
    ApiJson(t): ApiJson<TestMail>,
) -> ApiResult<Json<Value>> {
    if !actor.can_manage_workspace() {
        return Err(AppError::forbidden("only an admin of the workspace may do this"));
    }
    // A relay is a way to send mail anywhere: not in a loop.
    s.limits
        .logins
        .check(addr.ip(), "mail_test", "too many test mails; wait a minute")?;
    let to = crate::domain::Email::parse("to", &t.to)?;
    send_test_mail(&s, actor.workspace_id, &to)
        .await
        .map_err(|e| AppError::new(axum::http::StatusCode::BAD_GATEWAY, "relay_failed", e))?;
    Ok(Json(json!({ "sent": true, "to": to.as_str() })))
}

/// Logs in to the workspace's IMAP mailbox and opens its folder.
pub async fn imap_test(State(s): State<AppState>, actor: Actor) -> ApiResult<Json<Value>> {
    if !actor.can_manage_workspace() {
        return Err(AppError::forbidden("only an admin of the workspace may do this"));
    }
    if s.store.mail_settings(actor.workspace_id).await?.imap.is_none() {
        return Err(AppError::new(
            axum::http::StatusCode::CONFLICT,
            "not_configured",
            "no IMAP mailbox is set up; add one with PUT /api/v1/mail",
        ));
    }
    let messages = check_imap(&s, actor.workspace_id)
        .await
        .map_err(|e| AppError::new(axum::http::StatusCode::BAD_GATEWAY, "imap_failed", e))?;
    Ok(Json(json!({ "ok": true, "messages": messages })))
}

/// The test mail, for the API and the console: the relay's own words when
/// it fails.
pub async fn send_test_mail(s: &AppState, workspace_id: i64, to: &crate::domain::Email) -> Result<(), String> {
    let settings = s.store.mail_settings(workspace_id).await.map_err(|e| e.to_string())?;
    let ws = s.store.workspace(workspace_id).await.map_err(|e| e.to_string())?;
    let relay = crate::mail::check::relay_for(&settings, s.site.mail_relay.as_ref())?;
    let from = settings.sender(&ws.slug, &s.site.mail_domain);
    let lang = crate::i18n::pick(Some(&settings.language));
    let args = [("workspace", ws.name.as_str())];
    crate::mail::check::send_test(
        &relay,
        &from,
        &ws.name,
        to,
        &crate::i18n::text(lang, "mail-test-subject", &args),
        &crate::i18n::text(lang, "mail-test-body", &args),
    )
    .await
}

/// The IMAP check, for the API and the console: messages in the folder.
pub async fn check_imap(s: &AppState, workspace_id: i64) -> Result<u32, String> {
    let settings = s.store.mail_settings(workspace_id).await.map_err(|e| e.to_string())?;
    let imap = settings.imap.ok_or("no IMAP mailbox is set up")?;
    // `{:#}` gives the chain of what failed; none of it holds the password.
    crate::mail::imap::check(&imap).await.map_err(|e| format!("{e:#}"))
}
