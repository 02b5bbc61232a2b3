//! The agent console: server-rendered pages behind a session cookie, every
//! form post checked against the session's CSRF token, with a small script
//! (static/console.js) for the live parts and the keyboard.

mod admin;
mod auth;
mod campaign_form;
mod campaigns;
pub(crate) mod charts;
mod clients;
mod contacts;
mod display;
mod inbox;
mod kb;
mod macros;
mod messengers;
pub(crate) mod monitors;
mod report_charts;
mod report_view;
mod reports;
mod rule_form;
mod rules;
mod signup;
mod sla;
mod sla_admin;
mod ticket;
mod time;
mod webhooks;

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::app::AppState;
use crate::store::console::Session;

pub use time::hm;

pub const COOKIE: &str = "sd_session";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/signup", get(signup::page).post(signup::submit))
        .route("/invite/{secret}", get(auth::invite_page).post(auth::accept_invite))
        .route("/app", get(inbox::show))
        .route("/app/list", get(inbox::list_fragment))
        .route("/app/t/{number}", get(ticket::show).post(ticket::update))
        .route("/app/t/{number}/conversation", get(ticket::conversation_fragment))
        .route(
            "/app/t/{number}/messages",
            post(ticket::post_message).layer(axum::extract::DefaultBodyLimit::max(REPLY_UPLOAD_MAX + 128 * 1024)),
        )
        .route("/app/notifications", get(auth::notifications))
        .route("/app/notifications/read", post(auth::read_notifications))
        .route("/app/settings", get(auth::settings_page))
        .route("/app/settings/password", post(auth::change_password))
        .route("/app/settings/language", post(auth::change_language))
        .route("/app/settings/time-zone", post(auth::change_time_zone))
        .route("/app/admin", get(|| async { Redirect::to("/app/admin/agents") }))
        .route("/app/admin/agents", get(admin::agents).post(admin::invite))
        .route("/app/admin/agents/{id}", post(admin::update_agent))
        .route("/app/admin/teams", get(admin::teams).post(admin::create_team))
        .route("/app/admin/teams/{id}/members", post(admin::team_members))
        .route("/app/admin/canned", get(admin::canned).post(admin::save_canned))
        .route("/app/admin/canned/{id}/delete", post(admin::delete_canned))
        .route("/app/admin/labels", get(admin::labels).post(admin::create_label))
        .route("/app/admin/labels/{id}/delete", post(admin::delete_label))
        .route("/app/admin/hours", get(admin::hours).post(admin::save_hours))
        .route("/app/admin/widget", get(admin::widget).post(admin::save_widget))
        .route("/app/admin/widget/allow", post(admin::allow_origin))
        .route("/app/admin/widget/identity", post(admin::widget_identity))
        .route("/app/bulk", post(inbox::bulk))
        .route("/app/admin/outbox", get(admin::outbox))
        .route("/app/admin/messengers", get(messengers::show))
        .route("/app/admin/messengers/telegram", post(messengers::connect_bot))
        .route(
            "/app/admin/messengers/telegram/delete",
            post(messengers::disconnect_bot),
        )
        .route("/app/admin/messengers/gateways", post(messengers::add_gateway))
        .route(
            "/app/admin/messengers/gateways/{id}/delete",
            post(messengers::delete_gateway),
        )
        .route("/app/admin/mail", get(admin::mail).post(admin::save_mail))
        .route("/app/admin/mail/test", post(admin::test_mail))
        .route("/app/admin/mail/imap-test", post(admin::test_imap))
        .route("/app/admin/outbox/{id}/retry", post(admin::retry_mail))
        .route("/app/admin/rules", get(rules::list))
        .route("/app/admin/rules/new", get(rules::new_page).post(rules::create))
        .route("/app/admin/rules/{id}", get(rules::edit_page).post(rules::update))
        .route("/app/admin/rules/{id}/preview", get(rules::preview))
        .route("/app/admin/rules/{id}/enabled", post(rules::set_enabled))
        .route("/app/admin/rules/{id}/move", post(rules::move_to))
        .route("/app/admin/rules/{id}/delete", post(rules::delete))
        .route("/app/admin/macros", get(macros::list))
        .route("/app/admin/macros/new", get(macros::new_page).post(macros::create))
        .route("/app/admin/macros/{id}", get(macros::edit_page).post(macros::update))
        .route("/app/admin/macros/{id}/delete", post(macros::delete))
        .route("/app/t/{number}/macro", post(macros::apply))
        .route("/app/t/{number}/merge", post(contacts::merge_ticket))
        .route("/app/t/{number}/split", post(contacts::split))
        .route("/app/contacts", get(contacts::list))
        .route("/app/contacts/{id}", get(contacts::show).post(contacts::save))
        .route("/app/contacts/{id}/block", post(contacts::block))
        .route("/app/contacts/{id}/unblock", post(contacts::unblock))
        .route("/app/contacts/{id}/merge", post(contacts::merge))
        .route("/app/admin/sla", get(sla_admin::list))
        .route("/app/admin/sla/new", get(sla_admin::new_page).post(sla_admin::create))
        .route("/app/admin/sla/calendar", post(sla_admin::save_calendar))
        .route("/app/admin/sla/{id}", get(sla_admin::edit_page).post(sla_admin::update))
        .route("/app/admin/sla/{id}/move", post(sla_admin::move_to))
        .route("/app/admin/sla/{id}/delete", post(sla_admin::delete))
        .route("/app/reports", get(reports::show))
        .route("/app/reports/settings", post(reports::save_settings))
        .route("/app/reports/{file}", get(reports::csv))
        .route("/app/reports/time", get(time::report))
        .route("/app/reports/time/{file}", get(time::report_csv))
        .route("/app/t/{number}/time", post(time::log))
        .route("/app/t/{number}/time/{entry}/delete", post(time::delete_entry))
        .route("/app/t/{number}/timer", post(time::start_timer))
        .route("/app/t/{number}/timer/stop", post(time::stop_timer))
        .route("/app/t/{number}/estimate", post(time::estimate))
        .route("/app/clients", get(clients::short))
        .route("/app/admin/clients", get(clients::list).post(clients::create))
        .route("/app/admin/clients/{id}", get(clients::show).post(clients::update))
        .route("/app/admin/clients/{id}/delete", post(clients::delete))
        .route("/app/admin/clients/{id}/contacts", post(clients::link))
        .route(
            "/app/admin/clients/{id}/contacts/{contact}/unlink",
            post(clients::unlink),
        )
        .route("/app/webhooks", get(webhooks::short))
        .route("/app/admin/webhooks", get(webhooks::list).post(webhooks::create))
        .route("/app/admin/webhooks/{id}/active", post(webhooks::set_active))
        .route("/app/admin/webhooks/{id}/delete", post(webhooks::delete))
        .route(
            "/app/admin/webhooks/{id}/deliveries/{delivery}/replay",
            post(webhooks::replay),
        )
        .route("/app/monitors", get(monitors::short))
        .route("/app/admin/monitors", get(monitors::list).post(monitors::create))
        .route("/app/admin/monitors/status-page", post(monitors::status_page))
        .route("/app/admin/monitors/{id}", get(monitors::show))
        .route("/app/admin/monitors/{id}/active", post(monitors::set_active))
        .route("/app/admin/monitors/{id}/delete", post(monitors::delete))
        .route("/app/admin/campaigns", get(campaigns::list))
        .route(
            "/app/admin/campaigns/new",
            get(campaigns::new_page).post(campaigns::create),
        )
        .route(
            "/app/admin/campaigns/{id}",
            get(campaigns::edit_page).post(campaigns::update),
        )
        .route("/app/admin/campaigns/{id}/active", post(campaigns::set_active))
        .route("/app/admin/campaigns/{id}/delete", post(campaigns::delete))
        .route("/app/admin/campaigns/{id}/results", get(campaigns::results))
        .route("/app/admin/campaigns/{id}/results.csv", get(campaigns::results_csv))
        .route("/app/admin/kb", get(kb::list))
        .route("/app/admin/kb/categories", post(kb::create_category))
        .route("/app/admin/kb/synonyms", post(kb::add_synonyms))
        .route("/app/admin/kb/synonyms/{id}/delete", post(kb::delete_synonyms))
        .route("/app/admin/kb/{id}/phrasings", post(kb::add_phrasing))
        .route("/app/admin/kb/{id}", get(kb::edit).post(kb::save))
        .route("/app/admin/kb/{id}/delete", post(kb::delete))
        .route(
            "/static/console.js",
            get(|h: HeaderMap| async move { crate::http::assets::plain(&crate::http::assets::CONSOLE_JS, &h) }),
        )
        .route(
            "/static/console.css",
            get(|h: HeaderMap| async move { crate::http::assets::plain(&crate::http::assets::CONSOLE_CSS, &h) }),
        )
}

/// The signed-in agent. Without a session a page asks them to sign in.
pub struct Agent(pub Session);

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(name)
                .and_then(|r| r.strip_prefix('='))
                .map(str::to_string)
        })
}

impl FromRequestParts<AppState> for Agent {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Response> {
        if let Some(secret) = cookie(&parts.headers, COOKIE).filter(|c| !c.is_empty() && c.len() <= 128) {
            match s.store.session(&secret).await {
                Ok(Some(session)) => {
                    tracing::Span::current().record("workspace_id", session.actor.workspace_id);
                    crate::http::extract::standing_allows(parts, s, session.actor.workspace_id)
                        .await
                        .map_err(IntoResponse::into_response)?;
                    return Ok(Agent(session));
                }
                Ok(None) => {}
                Err(e) => return Err(crate::error::AppError::from(e).into_response()),
            }
        }
        if parts.method == Method::GET
            && !parts.uri.path().ends_with("/conversation")
            && parts.uri.path() != "/app/list"
        {
            let next = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/app");
            let to = format!("/login?next={}", urlencode(next));
            return Err(Redirect::to(&to).into_response());
        }
        // A form posted after the session ended goes to sign-in (its text
        // is lost, but the agent is not left looking at an error).
        let wants_json = parts
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("json"));
        if parts.method == Method::POST && !wants_json {
            return Err(Redirect::to("/login").into_response());
        }
        Err(crate::error::AppError::unauthorized("sign in again: the session has ended").into_response())
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A form post from the console: the session, checked against the form's
/// `_csrf` field and the request's origin, and the form's fields.
pub struct Posted<T>(pub Session, pub T);

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// A post must come from our own pages: the Origin a browser sends must be
/// this host.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    origin.split_once("://").is_some_and(|(_, h)| h == host)
}

fn csrf_refused(why: &str) -> Response {
    crate::error::AppError::new(StatusCode::FORBIDDEN, "csrf_failed", why).into_response()
}

fn nul_refused() -> Response {
    crate::error::AppError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
        "a field holds a NUL character",
    )
    .into_response()
}

/// The agent a form post acts for, when it comes from our own pages.
async fn poster(parts: &mut axum::http::request::Parts, s: &AppState) -> Result<Session, Response> {
    let Agent(session) = Agent::from_request_parts(parts, s).await?;
    if !same_origin(&parts.headers) {
        return Err(csrf_refused("the form was posted from another site"));
    }
    Ok(session)
}

/// The form's `_csrf` field against the session's token: the refusal
/// when they differ.
fn csrf_mismatch(session: &Session, token: &str) -> Option<Response> {
    (!crate::auth::constant_time_eq(token.as_bytes(), session.csrf.as_bytes()))
        .then(|| csrf_refused("the form's CSRF token does not match this session; reload the page"))
}

impl<T: DeserializeOwned> FromRequest<AppState> for Posted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, s: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let session = poster(&mut parts, s).await?;
        let bytes = Bytes::from_request(Request::from_parts(parts, body), s)
            .await
            .map_err(IntoResponse::into_response)?;
        if crate::http::encoded_nul(&bytes) {
            return Err(nul_refused());
        }
        let field: CsrfField = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| csrf_refused("the form is missing its CSRF token; reload the page"))?;
        if let Some(r) = csrf_mismatch(&session, &field.csrf) {
            return Err(r);
        }
        let form: T = serde_urlencoded::from_bytes(&bytes).map_err(|e| {
            crate::error::AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", e.to_string())
                .into_response()
        })?;
        Ok(Posted(session, form))
    }
}

/// A form with files (multipart) from our own pages, with the session's
/// CSRF token: the agent's reply with attachments.
pub struct Upload(
    pub Session,
    pub std::collections::HashMap<String, String>,
    pub Vec<crate::http::upload::File>,
);

/// Files an agent attaches to one message.
pub const REPLY_FILES_MAX: usize = 5;
pub const REPLY_UPLOAD_MAX: usize = 20 * 1024 * 1024;

impl FromRequest<AppState> for Upload {
    type Rejection = Response;

    async fn from_request(req: Request, s: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let session = poster(&mut parts, s).await?;
        let back_to = parts.uri.path().trim_end_matches("/messages").to_string();
        let m = axum::extract::Multipart::from_request(Request::from_parts(parts, body), s)
            .await
            .map_err(IntoResponse::into_response)?;
        let rules = crate::http::upload::Rules {
            total_max: REPLY_UPLOAD_MAX,
            files_max: REPLY_FILES_MAX,
            types: None,
        };
        let (fields, files) = crate::http::upload::read(m, &rules).await.map_err(|e| {
            let why = match e {
                crate::http::upload::Refused::TooMany => format!("attach at most {REPLY_FILES_MAX} files"),
                _ => format!("files are limited to {} MiB together", REPLY_UPLOAD_MAX >> 20),
            };
            back(&back_to, "err", &why)
        })?;
        if let Some(r) = csrf_mismatch(&session, fields.get("_csrf").map(String::as_str).unwrap_or("")) {
            return Err(r);
        }
        if fields.values().any(|v| v.contains('\0')) {
            return Err(nul_refused());
        }
        Ok(Upload(session, fields, files))
    }
}

/// The texts of the console in a language (cached: formatting them all for
/// every page would cost more than the page's queries).
pub fn texts(lang: &str) -> minijinja::Value {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<String, minijinja::Value>>> = OnceLock::new();
    let mut m = CACHE.get_or_init(Default::default).lock().expect("texts lock");
    m.entry(lang.to_string())
        .or_insert_with(|| minijinja::Value::from_serialize(crate::i18n::group(lang, "console-")))
        .clone()
}

/// The frame every console page shares: who is signed in, their language
/// and direction, the CSRF token for forms and the navigation.
pub fn frame(s: &Session, section: &str) -> minijinja::Value {
    let lang = crate::i18n::pick(Some(&s.lang));
    minijinja::context! {
        lang,
        dir => crate::i18n::dir(lang),
        t => texts(lang),
        me => minijinja::context! { id => s.actor.user_id, name => s.name, email => s.email, admin => s.actor.is_admin(), tz => s.time_zone },
        csrf => s.csrf,
        section,
        // For console.js: the server's clock (SLA times count by it) and
        // the words it writes.
        now => crate::store::now_ms(),
        script_texts => sla::script_texts(lang),
    }
}

/// Renders a console page with its frame.
pub fn page(s: &Session, name: &str, section: &str, ctx: minijinja::Value) -> Response {
    super::pages::render_console(name, minijinja::context! { ..ctx, ..frame(s, section) })
}

/// A notice shown once after a form (`?ok=` / `?err=`).
#[derive(Deserialize, Default)]
pub struct Notice {
    pub ok: Option<String>,
    pub err: Option<String>,
}

/// A form with no fields but its CSRF token.
#[derive(Deserialize)]
pub struct Nothing {}

/// After a form: back to a page, with a notice shown once (`?ok=` / `?err=`).
/// A console text (`console-{id}` in the Fluent files) in `lang`.
pub(super) fn console_text(lang: &str, id: &str, args: &[(&str, &str)]) -> String {
    crate::i18n::text(lang, &format!("console-{id}"), args)
}

pub fn back(to: &str, key: &str, text: &str) -> Response {
    let sep = if to.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{to}{sep}{key}={}", urlencode(text))).into_response()
}

/// Why a console handler stopped before its page: an answer ready to send
/// (an error, the not-found page or a redirect back to the form), so
/// handlers can use `?`. Boxed: a `Response` is large, and so would be
/// every `Result` that carries one.
pub struct PageError(Box<Response>);

pub type PageResult = Result<Response, PageError>;

impl PageError {
    /// Back to the form's page with the reason shown once (`?err=`).
    pub fn back(to: &str, text: &str) -> Self {
        back(to, "err", text).into()
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        *self.0
    }
}

impl From<Response> for PageError {
    fn from(r: Response) -> Self {
        Self(Box::new(r))
    }
}

impl From<crate::error::AppError> for PageError {
    fn from(e: crate::error::AppError) -> Self {
        e.into_response().into()
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(e: crate::store::StoreError) -> Self {
        crate::error::AppError::from(e).into()
    }
}

/// What the agent is told when a form fails: the reason, never a stack of
/// details.
pub trait Say {
    fn say(self) -> String;
}

impl Say for crate::store::StoreError {
    fn say(self) -> String {
        match self {
            Self::NotFound => "not found".into(),
            Self::Conflict(m) => m,
            Self::PlanLimit(_) => self.to_string(),
            Self::Invalid(i) => i.to_string(),
            e => {
                tracing::error!(error = %e, "console action failed");
                "something went wrong; try again".into()
            }
        }
    }
}

impl Say for crate::error::AppError {
    fn say(self) -> String {
        self.message
    }
}

impl Say for crate::domain::Invalid {
    fn say(self) -> String {
        self.to_string()
    }
}

impl Say for String {
    fn say(self) -> String {
        self
    }
}

/// A failed form goes back to its page with the reason:
/// `store.save(..).await.or_back(url)?`.
pub trait OrBack<T> {
    fn or_back(self, to: &str) -> Result<T, PageError>;
}

impl<T, E: Say> OrBack<T> for Result<T, E> {
    fn or_back(self, to: &str) -> Result<T, PageError> {
        self.map_err(|e| PageError::back(to, &e.say()))
    }
}

/// Sign-in attempts count against the address's public rate.
pub fn limited(s: &AppState, addr: SocketAddr) -> Result<(), PageError> {
    Ok(s.limits
        .logins
        .check(addr.ip(), "logins", "too many attempts; wait a minute")?)
}

pub type Addr = ConnectInfo<SocketAddr>;

/// A time for people: `2026-11-28 10:04` in UTC.
/// A time for people: `2026-11-28 10:04 UTC`; the console's script shows
/// it in the agent's time zone and language, and how long ago.
pub fn when(ms: i64) -> String {
    let t = crate::domain::time::rfc3339(ms);
    format!("{} {} UTC", &t[..10], &t[11..16])
}
