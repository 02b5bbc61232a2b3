//! The widget's proactive side, public: page views (answered with the
//! campaigns the page may show), batches of store events, and what became
//! of a shown message. The visitor is named by their token, in the body
//! (`text/plain` JSON needs no preflight) or as a bearer header.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::domain::identity::Claim;
use crate::domain::ids::WorkspaceId;
use crate::domain::Invalid;
use crate::error::{ApiResult, AppError};
use crate::service::campaigns::{visitor_event, BATCH_MAX};
use crate::service::Identified;
use crate::store::chat::Visitor;
use crate::store::{StoreError, Workspace};

/// Largest body these endpoints read.
pub const BODY_MAX: usize = 64 * 1024;

fn cors(status: StatusCode, body: Value) -> Response {
    (
        status,
        [
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Json(body),
    )
        .into_response()
}

/// Every answer of these endpoints, errors included, is readable by the
/// store's page (so the widget can tell a refusal from a network fault).
pub async fn readable_by_pages(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        header::HeaderValue::from_static("*"),
    );
    r
}

fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> ApiResult<T> {
    serde_json::from_slice(body)
        .map_err(|e| AppError::bad_request("invalid_json", format!("the body is not what this endpoint takes: {e}")))
}

/// Rate, workspace, plan and origin: what every proactive call checks first.
async fn admitted(s: &AppState, addr: SocketAddr, slug: &str, headers: &HeaderMap) -> ApiResult<Workspace> {
    let ws = admitted_any(s, addr, slug, headers).await?;
    s.svc.require(ws.id, crate::domain::plan::Feature::Proactive).await?;
    Ok(ws)
}

/// Rate, workspace and origin.
async fn admitted_any(s: &AppState, addr: SocketAddr, slug: &str, headers: &HeaderMap) -> ApiResult<Workspace> {
    s.limits.public.check(
        addr.ip(),
        "public",
        "too many requests from your address; wait a little",
    )?;
    let ws = s.store.workspace_by_slug(slug).await.map_err(|e| match e {
        StoreError::NotFound => AppError::new(StatusCode::NOT_FOUND, "unknown_workspace", "no such workspace"),
        e => e.into(),
    })?;
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if origin.is_some() && !s.store.widget_settings(ws.id).await?.origin_allowed(origin) {
        super::origins::refused(s, ws.id, origin).await;
        return Err(AppError::forbidden(super::origins::message(origin)).with_code("origin_not_allowed"));
    }
    Ok(ws)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

async fn visitor(s: &AppState, ws: &Workspace, token: Option<&str>) -> ApiResult<Option<Visitor>> {
    match token.filter(|t| t.len() < 200) {
        Some(t) => Ok(s.store.visitor_by_token(ws.id, &crate::auth::token_hash(t)).await?),
        None => Ok(None),
    }
}

async fn known_visitor(s: &AppState, ws: &Workspace, token: Option<&str>) -> ApiResult<Visitor> {
    visitor(s, ws, token)
        .await?
        .ok_or_else(|| AppError::unauthorized("the visitor token is not valid"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageView {
    token: Option<String>,
    url: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    referrer: String,
    lang: Option<String>,
}

/// `POST /api/widget/{slug}/page`: records a page view and answers with
/// the campaigns it may show (and a visitor token, new if none was given).
pub async fn page(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let ws = admitted(&s, addr, &slug, &headers).await?;
    let p: PageView = parse(&body)?;
    let given = p.token.as_deref().or_else(|| bearer(&headers));
    let (v, token) = match visitor(&s, &ws, given).await? {
        Some(v) => (v, given.unwrap_or_default().to_string()),
        None => {
            let t = format!("svt_{}", &crate::auth::new_token()[4..]);
            let lang = crate::i18n::pick(p.lang.as_deref());
            let v = s
                .svc
                .new_visitor(WorkspaceId(ws.id), &crate::auth::token_hash(&t), lang)
                .await?;
            (v, t)
        }
    };
    let title: String = p.title.chars().take(300).collect();
    let referrer: String = p.referrer.chars().take(2000).collect();
    let ev = visitor_event("page_view", &p.url, json!({ "title": title, "referrer": referrer }))?;
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let offers = s.svc.page_viewed(&v, ev, accept).await?;
    Ok(cors(
        StatusCode::OK,
        json!({ "visitor_token": token, "campaigns": offers }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    token: Option<String>,
    events: Vec<OneEvent>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OneEvent {
    name: String,
    #[serde(default)]
    props: Value,
    #[serde(default)]
    url: String,
}

/// A batch of store events checked, by POST or over the chat socket.
pub(super) fn checked(events: Vec<OneEvent>) -> ApiResult<Vec<crate::store::campaigns::VisitorEvent>> {
    if events.is_empty() || events.len() > BATCH_MAX {
        return Err(Invalid::new("events", format!("send 1 to {BATCH_MAX} events a batch")).into());
    }
    Ok(events
        .into_iter()
        .map(|e| visitor_event(&e.name, &e.url, e.props))
        .collect::<Result<Vec<_>, _>>()?)
}

/// `POST /api/widget/{slug}/events`: a batch of the store's events.
pub async fn events(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let ws = admitted(&s, addr, &slug, &headers).await?;
    let b: Batch = parse(&body)?;
    let v = known_visitor(&s, &ws, b.token.as_deref().or_else(|| bearer(&headers))).await?;
    let events = checked(b.events)?;
    let n = events.len();
    let converted = s.svc.visitor_events(&v, events).await?;
    Ok(cors(
        StatusCode::ACCEPTED,
        json!({ "stored": n, "converted": converted }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepBody {
    token: Option<String>,
}

/// `POST /api/widget/{slug}/campaigns/{id}/{shown|opened|replied}`.
pub async fn step(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path((slug, id, step)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let ws = admitted(&s, addr, &slug, &headers).await?;
    let b: StepBody = if body.is_empty() {
        StepBody { token: None }
    } else {
        parse(&body)?
    };
    let v = known_visitor(&s, &ws, b.token.as_deref().or_else(|| bearer(&headers))).await?;
    let id = crate::http::extract::parse_id(&id, "campaign")?;
    s.svc.campaign_step(&v, id, &step).await.map_err(|e| match e {
        StoreError::NotFound => AppError::not_found("campaign"),
        e => e.into(),
    })?;
    Ok(cors(StatusCode::OK, json!({ "ok": true })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentifyBody {
    token: Option<String>,
    id: Option<String>,
    email: Option<String>,
    name: Option<String>,
    attributes: Option<Value>,
    #[serde(default)]
    user_hash: String,
}

/// `POST /api/widget/{slug}/identify`: `storedesk('identify', ...)` with
/// the store's `user_hash`. A hash that does not match is refused (403)
/// and changes nothing.
pub async fn identify(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let ws = admitted_any(&s, addr, &slug, &headers).await?;
    let b: IdentifyBody = parse(&body)?;
    let v = known_visitor(&s, &ws, b.token.as_deref().or_else(|| bearer(&headers))).await?;
    if b.user_hash.is_empty() {
        return Err(Invalid::new(
            "user_hash",
            "sign the identity on your server (see the README) and pass user_hash",
        )
        .into());
    }
    let claim = Claim::parse(
        b.id.as_deref(),
        b.email.as_deref(),
        b.name.as_deref(),
        b.attributes.as_ref(),
    )?;
    match s.svc.identify_visitor(&v, &claim, &b.user_hash).await? {
        Identified::As(_) => Ok(cors(
            StatusCode::OK,
            json!({ "identified": true, "name": claim.name, "email": claim.email.as_ref().map(|e| e.as_str()) }),
        )),
        Identified::NotSetUp => Err(AppError::forbidden(
            "this workspace takes no signed identities; an admin makes its identity secret first",
        )
        .with_code("identity_not_set_up")),
        Identified::BadSignature => Err(AppError::forbidden(
            "user_hash is not this identity signed with the workspace's identity secret",
        )
        .with_code("bad_signature")),
    }
}

/// Preflight for calls that send the token as a header.
pub async fn preflight() -> impl IntoResponse {
    (
        StatusCode::NO_CONTENT,
        [
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::ACCESS_CONTROL_ALLOW_METHODS, "POST"),
            (header::ACCESS_CONTROL_ALLOW_HEADERS, "authorization, content-type"),
            (header::ACCESS_CONTROL_MAX_AGE, "600"),
        ],
    )
}
