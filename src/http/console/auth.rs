//! Signing in and out, invitations, the agent's own settings and their
//! mention notifications.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::{
    back, cookie, limited, page, texts, Addr, Agent, Nothing, Notice, OrBack, PageError, PageResult, Posted, Say,
    COOKIE,
};
use crate::app::{AppState, Site};
use crate::store::console::SESSION_IDLE_MS;

/// Before sign-in there is no session to hold a CSRF token, so the form
/// and a cookie carry the same random value (double submit).
const PRE: &str = "sd_pre";

fn pre_cookie(site: &Site, value: &str) -> String {
    format!(
        "{PRE}={value}; Path=/; Max-Age=3600; {}; SameSite=Strict",
        site.cookie_flags()
    )
}

fn session_cookie(site: &Site, secret: &str) -> String {
    format!(
        "{COOKIE}={secret}; Path=/; Max-Age={}; {}; SameSite=Lax",
        SESSION_IDLE_MS / 1000,
        site.cookie_flags()
    )
}

fn pre_ok(headers: &HeaderMap, field: &str) -> bool {
    cookie(headers, PRE).is_some_and(|c| !c.is_empty() && crate::auth::constant_time_eq(c.as_bytes(), field.as_bytes()))
}

/// A page before sign-in, in the browser's language, with a fresh
/// double-submit token.
pub(super) fn public_page(
    site: &Site,
    headers: &HeaderMap,
    name: &str,
    status: StatusCode,
    ctx: minijinja::Value,
) -> Response {
    let lang = super::super::pages::lang_of(None, headers);
    let token = crate::auth::new_secret();
    let mut r = super::super::pages::render(
        name,
        minijinja::context! { lang, dir => crate::i18n::dir(lang), t => texts(lang), csrf => token, ..ctx },
    );
    *r.status_mut() = status;
    if let Ok(v) = pre_cookie(site, &token).parse() {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

#[derive(Deserialize, Default)]
pub struct Next {
    next: Option<String>,
}

/// Only our own console pages are places to go back to after sign-in.
fn safe_next(n: Option<&str>) -> String {
    match n {
        Some(n) if n.starts_with("/app") && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/app".to_string(),
    }
}

pub async fn login_page(State(s): State<AppState>, headers: HeaderMap, Query(q): Query<Next>) -> Response {
    public_page(
        &s.site,
        &headers,
        "console_login.html",
        StatusCode::OK,
        minijinja::context! { next => safe_next(q.next.as_deref()) },
    )
}

#[derive(Deserialize)]
pub struct Login {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// Checks e-mail and password. An unknown address costs the same argon2
/// work as a wrong password, so timing does not tell which accounts exist.
async fn check_login(s: &AppState, email: &str, password: &str) -> crate::store::Result<Option<(i64, i64)>> {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let email = email.trim().to_lowercase();
    let users = if email.is_empty() || email.len() > 320 {
        vec![]
    } else {
        s.store.users_by_email(&email).await?
    };
    let mut candidates = vec![];
    for (u, _) in users.into_iter().filter(|(u, _)| u.active) {
        if let Some((id, hash)) = s.store.password_hash(u.workspace_id, &u.email).await? {
            candidates.push((u.workspace_id, id, hash));
        }
    }
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        if candidates.is_empty() {
            let dummy = DUMMY.get_or_init(|| crate::auth::hash_password("not a real password at all"));
            crate::auth::verify_password(&password, dummy);
            return None;
        }
        candidates
            .into_iter()
            .find(|(_, _, h)| crate::auth::verify_password(&password, h))
            .map(|(ws, id, _)| (ws, id))
    })
    .await
    .map_err(|e| crate::store::StoreError::Config(e.to_string()))
}

pub async fn login(State(s): State<AppState>, addr: Addr, headers: HeaderMap, Form(f): Form<Login>) -> PageResult {
    limited(&s, addr.0)?;
    let next = safe_next(f.next.as_deref());
    let again = |status, key: &str| {
        let error = texts(super::super::pages::lang_of(None, &headers))
            .get_attr(key)
            .map(|v| v.to_string())
            .unwrap_or_default();
        PageError::from(public_page(
            &s.site,
            &headers,
            "console_login.html",
            status,
            minijinja::context! { next, error, email => f.email },
        ))
    };
    if cookie(&headers, PRE).is_none() {
        // The browser kept none of our cookies: most often the page was
        // opened over http while storedesk is set up for https.
        return Err(again(StatusCode::FORBIDDEN, "err-no-cookie"));
    }
    if !pre_ok(&headers, &f.csrf) {
        return Err(again(StatusCode::FORBIDDEN, "err-expired"));
    }
    let (ws, user_id) = check_login(&s, &f.email, &f.password)
        .await?
        .ok_or_else(|| again(StatusCode::UNAUTHORIZED, "err-login"))?;
    let secret = s.store.create_session(ws, user_id).await?;
    Ok((
        [(header::SET_COOKIE, session_cookie(&s.site, &secret))],
        Redirect::to(&next),
    )
        .into_response())
}

pub async fn logout(State(s): State<AppState>, Posted(session, _): Posted<Nothing>) -> Response {
    let _ = s.store.delete_session(session.id).await;
    let gone = format!("{COOKIE}=; Path=/; Max-Age=0; {}; SameSite=Lax", s.site.cookie_flags());
    ([(header::SET_COOKIE, gone)], Redirect::to("/login")).into_response()
}

pub async fn invite_page(
    State(s): State<AppState>,
    addr: Addr,
    headers: HeaderMap,
    Path(secret): Path<String>,
) -> PageResult {
    limited(&s, addr.0)?;
    let Some((_, inv, workspace)) = s.store.invite(&secret).await? else {
        return Ok(public_page(
            &s.site,
            &headers,
            "console_invite.html",
            StatusCode::GONE,
            minijinja::context! { gone => true },
        ));
    };
    let intro = crate::i18n::text(
        super::super::pages::lang_of(None, &headers),
        "console-invite-intro",
        &[("workspace", &workspace), ("email", &inv.email)],
    );
    Ok(public_page(
        &s.site,
        &headers,
        "console_invite.html",
        StatusCode::OK,
        minijinja::context! { email => inv.email, workspace, intro },
    ))
}

#[derive(Deserialize)]
pub struct Accept {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password2: String,
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

pub async fn accept_invite(
    State(s): State<AppState>,
    addr: Addr,
    headers: HeaderMap,
    Path(secret): Path<String>,
    Form(f): Form<Accept>,
) -> PageResult {
    limited(&s, addr.0)?;
    let lang = super::super::pages::lang_of(None, &headers);
    let t = texts(lang);
    let msg = |k: &str| t.get_attr(k).map(|v| v.to_string()).unwrap_or_default();
    let Ok(Some((inv_ws, inv, workspace))) = s.store.invite(&secret).await else {
        return Ok(public_page(
            &s.site,
            &headers,
            "console_invite.html",
            StatusCode::GONE,
            minijinja::context! { gone => true },
        ));
    };
    let intro = crate::i18n::text(
        lang,
        "console-invite-intro",
        &[("workspace", &workspace), ("email", &inv.email)],
    );
    let again = |error: String| {
        PageError::from(public_page(
            &s.site,
            &headers,
            "console_invite.html",
            StatusCode::UNPROCESSABLE_ENTITY,
            minijinja::context! { email => inv.email, workspace, intro, error, name => f.name },
        ))
    };
    if cookie(&headers, PRE).is_none() {
        return Err(again(msg("err-no-cookie")));
    }
    if !pre_ok(&headers, &f.csrf) {
        return Err(again(msg("err-expired")));
    }
    let name = f.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(again(msg("err-name")));
    }
    if crate::auth::check_password_policy(&f.password).is_err() {
        return Err(again(msg("err-password-short")));
    }
    if f.password != f.password2 {
        return Err(again(msg("err-password-match")));
    }
    if let Err(e) = s.svc.require_agent_slot(inv_ws).await {
        return Err(again(e.message));
    }
    let password = f.password.clone();
    let hash = tokio::task::spawn_blocking(move || crate::auth::hash_password(&password))
        .await
        .unwrap_or_default();
    let user = s
        .store
        .accept_invite(&secret, name, &hash)
        .await
        .map_err(|e| again(e.say()))?;
    let secret = s.store.create_session(user.workspace_id, user.id).await?;
    Ok((
        [(header::SET_COOKIE, session_cookie(&s.site, &secret))],
        Redirect::to("/app"),
    )
        .into_response())
}

pub async fn settings_page(Agent(session): Agent, Query(n): Query<Notice>) -> Response {
    let langs: Vec<(&str, String)> = crate::i18n::LANGS
        .iter()
        .map(|l| (*l, crate::i18n::text(l, "console-lang-name", &[])))
        .collect();
    page(
        &session,
        "console_settings.html",
        "settings",
        minijinja::context! { langs, current => session.lang, ok => n.ok, err => n.err },
    )
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password2: String,
}

pub async fn change_password(State(s): State<AppState>, Posted(session, f): Posted<PasswordForm>) -> PageResult {
    let to = "/app/settings";
    let t = texts(crate::i18n::pick(Some(&session.lang)));
    let msg = |k: &str| t.get_attr(k).map(|v| v.to_string()).unwrap_or_default();
    let hash = s
        .store
        .user_password_hash(session.actor.workspace_id, session.actor.user_id)
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    let current = f.current.clone();
    let ok = tokio::task::spawn_blocking(move || crate::auth::verify_password(&current, &hash))
        .await
        .unwrap_or(false);
    if !ok {
        return Err(PageError::back(to, &msg("err-current-password")));
    }
    if crate::auth::check_password_policy(&f.password).is_err() {
        return Err(PageError::back(to, &msg("err-password-short")));
    }
    if f.password != f.password2 {
        return Err(PageError::back(to, &msg("err-password-match")));
    }
    let password = f.password.clone();
    let new_hash = tokio::task::spawn_blocking(move || crate::auth::hash_password(&password))
        .await
        .unwrap_or_default();
    s.store.change_password(&session, &new_hash).await.or_back(to)?;
    Ok(back(to, "ok", &msg("password-changed")))
}

#[derive(Deserialize)]
pub struct LangForm {
    lang: String,
}

pub async fn change_language(State(s): State<AppState>, Posted(session, f): Posted<LangForm>) -> PageResult {
    let to = "/app/settings";
    if !crate::i18n::LANGS.contains(&f.lang.as_str()) {
        return Err(PageError::back(to, "unknown language"));
    }
    s.store
        .set_user_lang(session.actor.workspace_id, session.actor.user_id, &f.lang)
        .await
        .or_back(to)?;
    Ok(Redirect::to(to).into_response())
}

#[derive(Deserialize)]
pub struct TimeZoneForm {
    #[serde(default)]
    tz: String,
}

/// An IANA time zone name as browsers list them (`Europe/Kyiv`,
/// `America/Argentina/Buenos_Aires`, `Etc/GMT+3`); empty: the browser's.
fn time_zone_ok(tz: &str) -> bool {
    tz.len() <= 64
        && tz
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+'))
}

pub async fn change_time_zone(State(s): State<AppState>, Posted(session, f): Posted<TimeZoneForm>) -> PageResult {
    let to = "/app/settings";
    let tz = f.tz.trim();
    if !time_zone_ok(tz) {
        return Err(PageError::back(to, "not a time zone name like Europe/Kyiv"));
    }
    s.store
        .set_user_time_zone(session.actor.workspace_id, session.actor.user_id, tz)
        .await
        .or_back(to)?;
    Ok(back(to, "ok", "saved"))
}

pub async fn notifications(State(s): State<AppState>, Agent(session): Agent) -> PageResult {
    let items = s.store.notifications(&session.actor, 100).await?;
    let items: Vec<_> = items
        .into_iter()
        .map(|n| minijinja::context! { number => n.ticket_number, subject => n.subject, author => n.author, body => n.body.chars().take(300).collect::<String>(), when => super::when(n.created_at), unread => n.read_at.is_none() })
        .collect();
    Ok(page(
        &session,
        "console_notifications.html",
        "notifications",
        minijinja::context! { items },
    ))
}

pub async fn read_notifications(State(s): State<AppState>, Posted(session, _): Posted<Nothing>) -> Response {
    let _ = s.store.read_notifications(&session.actor, None).await;
    Redirect::to("/app/notifications").into_response()
}
