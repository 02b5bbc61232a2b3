//! The public side of live chat: the widget script, its settings, uploads,
//! downloads, and the visitor's WebSocket.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::domain::ids::{TicketId, WorkspaceId};
use crate::domain::{required_text, Email};
use crate::error::{ApiResult, AppError};
use crate::http::extract::ApiQuery;
use crate::http::limit::Bucket;
use crate::realtime::{Kind, PartyName, Signal};
use crate::service::Writer;
use crate::store::chat::{Party, Visitor};
use crate::store::{StoreError, Workspace};

/// Largest upload a visitor may attach.
pub const ATTACHMENT_MAX: usize = 10 * 1024 * 1024;
/// Largest frame a widget may send.
pub const FRAME_MAX: usize = 64 * 1024;
const CHAT_BODY_MAX: usize = 10_000;
/// Socket buffers: small, since chat frames are small and idle sockets
/// are many (the library's default is 128 KiB each way).
pub const SOCKET_BUFFER: usize = 4 * 1024;
const ALLOWED_TYPES: [&str; 5] = ["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"];

fn limited(s: &AppState, addr: SocketAddr) -> ApiResult<()> {
    s.limits.public.check(
        addr.ip(),
        "public",
        "too many requests from your address; wait a little",
    )
}

async fn workspace(s: &AppState, slug: &str) -> ApiResult<Workspace> {
    s.store.workspace_by_slug(slug).await.map_err(|e| match e {
        StoreError::NotFound => AppError::new(StatusCode::NOT_FOUND, "unknown_workspace", "no such workspace"),
        e => e.into(),
    })
}

#[derive(Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

pub async fn config(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
    ApiQuery(q): ApiQuery<LangQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    limited(&s, addr)?;
    let ws = workspace(&s, &slug).await?;
    let w = s.store.widget_settings(ws.id).await?;
    // A page on a site the workspace does not serve: the widget stays
    // hidden and says why in the browser's console, instead of taking
    // messages its socket would refuse. (A call without an Origin is not a
    // page; the socket checks it again.)
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if origin.is_some() && !w.origin_allowed(origin) {
        super::origins::refused(&s, ws.id, origin).await;
        let mut r = AppError::forbidden(super::origins::message(origin))
            .with_code("origin_not_allowed")
            .into_response();
        r.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            header::HeaderValue::from_static("*"),
        );
        return Ok(r);
    }
    let lang = crate::i18n::pick(q.lang.as_deref());
    let (greeting, away) = w.texts_for(lang);
    let body = json!({
        "workspace": ws.slug, "name": ws.name, "greeting": greeting, "color": w.color,
        "online": s.store.agents_online(ws.id).await?, "open_now": s.store.calendar(ws.id, None).await?.is_open(crate::store::now_ms()), "hours": w.hours.summary(),
        "prechat": { "name": w.prechat_name, "email": w.prechat_email },
        "offline_message": away, "lang": lang, "dir": crate::i18n::dir(lang), "texts": crate::i18n::group(lang, "widget-"),
        // For the call-back form inside the widget (the form's time stamp).
        "form_started": s.store.signed("form", &crate::store::now_ms().to_string()).await?,
    });
    Ok((
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        Json(body),
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct UploadQuery {
    name: String,
}

pub async fn upload(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
    ApiQuery(q): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> ApiResult<Response> {
    limited(&s, addr)?;
    let ws = workspace(&s, &slug).await?;
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| AppError::unauthorized("send the visitor token as 'Authorization: Bearer TOKEN'"))?;
    let visitor = s
        .store
        .visitor_by_token(ws.id, &crate::auth::token_hash(token))
        .await?
        .ok_or_else(|| AppError::unauthorized("the visitor token is not valid"))?;
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !ALLOWED_TYPES.contains(&ct.as_str()) {
        return Err(AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("attach images (PNG, JPEG, GIF, WebP) or PDF, not '{ct}'"),
        ));
    }
    // Read only once the sender and the type are known to be good, and not
    // at all when the declared length is over the limit.
    let too_large = || {
        AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("files are limited to {} MiB", ATTACHMENT_MAX >> 20),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > ATTACHMENT_MAX) {
        return Err(too_large());
    }
    let body = axum::body::to_bytes(body, ATTACHMENT_MAX)
        .await
        .map_err(|_| too_large())?;
    if body.is_empty() {
        return Err(AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            "the file is empty",
        ));
    }
    let name: String = required_text("name", &q.name, 200)?
        .chars()
        .filter(|c| !matches!(c, '/' | '\\' | '"'))
        .collect();
    s.svc.require_storage(ws.id, body.len() as i64).await?;
    let meta = s
        .store
        .create_attachment(ws.id, visitor.contact_id, &name, &ct, body.to_vec())
        .await?;
    Ok((
        StatusCode::CREATED,
        [(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")],
        Json(meta.json(&slug)),
    )
        .into_response())
}

/// Answers the browser's preflight for uploads from the store's pages.
pub async fn upload_preflight() -> impl IntoResponse {
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

/// Serves an upload as a download: never rendered as a page of ours.
pub async fn download(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path((slug, id, secret)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    limited(&s, addr)?;
    let ws = workspace(&s, &slug).await?;
    let id = crate::http::extract::parse_id(&id, "file")?;
    let (meta, data) = s
        .store
        .attachment(ws.id, id, &secret)
        .await
        .map_err(|_| AppError::not_found("file"))?;
    let ascii: String = meta
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, meta.content_type.clone()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{ascii}\"")),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".into()),
            (header::CONTENT_SECURITY_POLICY, "sandbox; default-src 'none'".into()),
            (header::CACHE_CONTROL, "private, max-age=86400".into()),
        ],
        data,
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct WsQuery {
    workspace: String,
}

/// Opens a visitor socket after the checks that need no socket: rate,
/// workspace, origin.
pub async fn visitor_socket(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    ApiQuery(q): ApiQuery<WsQuery>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    s.limits.connects.check(
        addr.ip(),
        "ws_connect",
        "too many connections from your address; wait a little",
    )?;
    let ws = workspace(&s, &q.workspace).await?;
    s.svc.require(ws.id, crate::domain::plan::Feature::Chat).await?;
    let settings = s.store.widget_settings(ws.id).await?;
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if !settings.origin_allowed(origin) {
        super::origins::refused(&s, ws.id, origin).await;
        return Err(AppError::forbidden(super::origins::message(origin)).with_code("origin_not_allowed"));
    }
    let upgrade = upgrade.map_err(|e| AppError::bad_request("websocket_required", e.to_string()))?;
    let slot = s
        .limits
        .sockets
        .acquire(addr.ip(), s.limits.max_sockets_per_ip)
        .ok_or_else(|| {
            metrics::counter!("storedesk_rate_limited_total", "what" => "ws_open").increment(1);
            // A slot frees when one of the address's chats closes.
            AppError::rate_limited("too many open chats from your address", 10)
        })?;
    Ok(upgrade
        .max_message_size(FRAME_MAX)
        .max_frame_size(FRAME_MAX)
        .read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(SOCKET_BUFFER)
        .on_upgrade(move |socket| async move {
            let _slot = slot;
            metrics::counter!("storedesk_ws_sessions_total", "side" => "visitor").increment(1);
            if let Err(e) = VisitorSession::run(s, ws, socket).await {
                tracing::debug!(error = %e, "visitor socket ended");
            }
        }))
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Incoming {
    Hello {
        token: Option<String>,
        #[serde(default)]
        last_id: i64,
        lang: Option<String>,
        page: Option<Page>,
        context: Option<Value>,
        user_agent: Option<String>,
        /// The visitor's IANA time zone, as their browser says.
        #[serde(default)]
        time_zone: Option<String>,
    },
    Message {
        client_id: String,
        #[serde(default)]
        body: String,
        #[serde(default)]
        attachment_ids: Vec<i64>,
    },
    Typing {
        on: bool,
    },
    Read {
        up_to: i64,
    },
    Context {
        page: Option<Page>,
        context: Option<Value>,
    },
    Contact {
        name: Option<String>,
        email: Option<String>,
    },
    /// Store events (`storedesk('event', ...)`) while the socket is open;
    /// the same batches and bounds as `POST /api/widget/{slug}/events`.
    Events {
        events: Vec<super::widget_events::OneEvent>,
    },
    /// A rating of one of the visitor's chats, once they were asked.
    Csat {
        ticket_number: i64,
        score: Option<i64>,
        comment: Option<String>,
    },
    Ping,
}

#[derive(Deserialize, Default)]
struct Page {
    #[serde(default)]
    url: String,
    #[serde(default)]
    title: String,
}

/// Whether a socket failed on a frame over the size limit.
pub(super) fn too_big(e: &axum::Error) -> bool {
    std::error::Error::source(e)
        .and_then(|e| e.downcast_ref::<tungstenite::Error>())
        .is_some_and(|e| matches!(e, tungstenite::Error::Capacity(_)))
}

/// Ends a socket with 1009 (RFC 6455 §7.4.1) so the client can tell an
/// oversize frame from a network failure.
pub(super) async fn close_too_big<S>(sink: &mut S) -> Result<(), axum::Error>
where
    S: futures::Sink<WsMessage, Error = axum::Error> + Unpin,
{
    metrics::counter!("storedesk_ws_oversize_total").increment(1);
    let reason = format!("frames are limited to {FRAME_MAX} bytes");
    sink.send(WsMessage::Close(Some(axum::extract::ws::CloseFrame {
        code: axum::extract::ws::close_code::SIZE,
        reason: reason.into(),
    })))
    .await
}

/// The visitor's page as the widget reports it: kept only when it is a web
/// address, since agents open it from the sidebar.
fn page_url(url: &str) -> String {
    crate::sanitize::web_link(url)
        .map(|u| clip(u, 2000))
        .unwrap_or_default()
}

fn error_frame(code: &str, message: impl Into<String>) -> String {
    json!({ "type": "error", "code": code, "message": message.into() }).to_string()
}

struct VisitorSession {
    s: AppState,
    ws: Workspace,
    visitor: Visitor,
    frames: Bucket,
    /// A known IANA zone the browser reported, for times said to them.
    time_zone: Option<String>,
}

const HELLO_WAIT: Duration = Duration::from_secs(10);
const PING_EVERY: Duration = Duration::from_secs(15);
const IDLE_CLOSE: Duration = Duration::from_secs(60);
const BAD_FRAMES_MAX: u32 = 10;

impl VisitorSession {
    async fn run(s: AppState, ws: Workspace, socket: WebSocket) -> anyhow::Result<()> {
        let (mut sink, mut stream) = socket.split();
        let first = tokio::time::timeout(HELLO_WAIT, stream.next()).await;
        let hello = match first {
            Ok(Some(Ok(WsMessage::Text(t)))) => serde_json::from_str::<Incoming>(&t).ok(),
            Ok(Some(Err(e))) if too_big(&e) => return Ok(close_too_big(&mut sink).await?),
            _ => None,
        };
        let Some(Incoming::Hello {
            token,
            last_id,
            lang,
            page,
            context,
            user_agent,
            time_zone,
        }) = hello
        else {
            let _ = sink
                .send(WsMessage::Text(
                    error_frame("hello_required", "the first frame must be {\"type\":\"hello\", ...}").into(),
                ))
                .await;
            let _ = sink.close().await;
            return Ok(());
        };
        let lang = crate::i18n::pick(lang.as_deref());
        let existing = match token.as_deref().filter(|t| t.len() < 200) {
            Some(t) => s
                .store
                .visitor_by_token(ws.id, &crate::auth::token_hash(t))
                .await?
                .map(|v| (v, t.to_string())),
            None => None,
        };
        let (visitor, token) = match existing {
            Some(found) => found,
            None => {
                let t = format!("svt_{}", &crate::auth::new_token()[4..]);
                (
                    s.svc
                        .new_visitor(WorkspaceId(ws.id), &crate::auth::token_hash(&t), lang)
                        .await?,
                    t,
                )
            }
        };
        let page = page.unwrap_or_default();
        let ctx = context.map(|c| c.to_string()).filter(|c| c.len() <= 8192);
        let ua: Option<String> = user_agent.map(|u| u.chars().take(400).collect());
        s.store
            .touch_visitor(
                visitor.id,
                true,
                Some((&page_url(&page.url), &clip(&page.title, 300))),
                ctx.as_deref(),
                ua.as_deref(),
                Some(lang),
            )
            .await?;
        let (_guard, mut outgoing) = s.bus.hub.register_visitor(ws.id, visitor.contact_id);
        let ticket = s.store.visitor_ticket(&visitor).await?;
        s.bus
            .publish(Signal::new(
                ws.id,
                Kind::Visitor {
                    contact_id: visitor.contact_id,
                    ticket_id: ticket.map(|t| t.0),
                    online: true,
                },
            ))
            .await;

        let history = s.store.visitor_messages(&visitor, last_id.max(0), 500).await?;
        let welcome = json!({
            "type": "welcome", "visitor_token": token, "visitor": { "name": visitor.name, "email": visitor.email },
            "online": s.store.agents_online(ws.id).await?, "open_now": s.store.calendar(ws.id, None).await?.is_open(crate::store::now_ms()),
            "ticket_number": ticket.map(|t| t.1), "agent_read_up_to": ticket.map(|t| t.2).unwrap_or(0),
            "messages": history.iter().map(|m| m.json(&ws.slug)).collect::<Vec<_>>(),
            "survey": s.svc.pending_survey(&visitor).await?,
        });
        sink.send(WsMessage::Text(welcome.to_string().into())).await?;

        let time_zone = time_zone
            .filter(|z| z.len() <= 64)
            .filter(|z| z.parse::<chrono_tz::Tz>().is_ok());
        let mut me = VisitorSession {
            frames: Bucket::full(s.limits.frames),
            s,
            ws,
            visitor,
            time_zone,
        };
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        let mut last_heard = Instant::now();
        let mut bad = 0u32;
        let result: anyhow::Result<()> = loop {
            tokio::select! {
                frame = outgoing.recv() => match frame {
                    Some(f) => sink.send(WsMessage::Text(f.to_string().into())).await?,
                    // The hub dropped us: we fell too far behind. The client
                    // reconnects and resumes from its last id.
                    None => {
                        let _ = sink.send(WsMessage::Text(error_frame("too_slow", "reconnect and resume").into())).await;
                        break Ok(());
                    }
                },
                incoming = stream.next() => {
                    last_heard = Instant::now();
                    match incoming {
                        Some(Ok(WsMessage::Text(t))) => {
                            if !me.frames.take(me.s.limits.frames) {
                                metrics::counter!("storedesk_rate_limited_total", "what" => "ws_frames").increment(1);
                                let _ = sink.send(WsMessage::Text(error_frame("rate_limited", "too many messages; the chat is closed for a moment").into())).await;
                                break Ok(());
                            }
                            let replies = match serde_json::from_str::<Incoming>(&t) {
                                Ok(frame) => me.handle(frame).await,
                                Err(e) => {
                                    bad += 1;
                                    vec![error_frame("bad_frame", format!("not a frame this chat understands: {e}"))]
                                }
                            };
                            for r in replies {
                                sink.send(WsMessage::Text(r.into())).await?;
                            }
                            if bad >= BAD_FRAMES_MAX {
                                break Ok(());
                            }
                        }
                        Some(Ok(WsMessage::Binary(_))) => {
                            bad += 1;
                            sink.send(WsMessage::Text(error_frame("bad_frame", "send JSON text frames").into())).await?;
                        }
                        Some(Ok(WsMessage::Close(_))) | None => break Ok(()),
                        Some(Ok(_)) => {}
                        Some(Err(e)) if too_big(&e) => break close_too_big(&mut sink).await.map_err(Into::into),
                        Some(Err(e)) => break Err(e.into()),
                    }
                },
                _ = ping.tick() => {
                    if last_heard.elapsed() > IDLE_CLOSE {
                        break Ok(());
                    }
                    sink.send(WsMessage::Ping(Bytes::new())).await?;
                }
            }
        };
        // Close properly: send Close, then read what the client still had in
        // flight (briefly), so our last frame is not lost to a TCP reset.
        let _ = sink.close().await;
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            while let Some(Ok(m)) = stream.next().await {
                if matches!(m, WsMessage::Close(_)) {
                    break;
                }
            }
        })
        .await;
        let _ =
            me.s.store
                .touch_visitor(me.visitor.id, false, None, None, None, None)
                .await;
        let ticket = me.s.store.visitor_ticket(&me.visitor).await.ok().flatten();
        me.s.bus
            .publish(Signal::new(
                me.ws.id,
                Kind::Visitor {
                    contact_id: me.visitor.contact_id,
                    ticket_id: ticket.map(|t| t.0),
                    online: false,
                },
            ))
            .await;
        result
    }

    async fn handle(&mut self, frame: Incoming) -> Vec<String> {
        match self.handle_inner(frame).await {
            Ok(r) => r,
            Err(e) => {
                let e: AppError = e;
                vec![error_frame(e.code, e.message)]
            }
        }
    }

    async fn handle_inner(&mut self, frame: Incoming) -> Result<Vec<String>, AppError> {
        let (s, ws) = (&self.s, &self.ws);
        match frame {
            Incoming::Hello { .. } => Ok(vec![error_frame("bad_frame", "hello was already sent")]),
            Incoming::Ping => Ok(vec![json!({ "type": "pong" }).to_string()]),
            Incoming::Message {
                client_id,
                body,
                attachment_ids,
            } => {
                let client_id = required_text("client_id", &client_id, 100)?;
                if attachment_ids.len() > 10 {
                    return Err(
                        crate::domain::Invalid::new("attachment_ids", "at most 10 attachments a message").into(),
                    );
                }
                let body = if attachment_ids.is_empty() {
                    required_text("body", &body, CHAT_BODY_MAX)?
                } else {
                    crate::domain::optional_text("body", body.trim(), CHAT_BODY_MAX)?
                };
                let posted = s
                    .svc
                    .post_visitor_message(&self.visitor, &client_id, &body, &attachment_ids)
                    .await?;
                let ack = json!({ "type": "ack", "client_id": client_id, "id": posted.message.id, "created_at": crate::domain::time::rfc3339(posted.message.created_at) }).to_string();
                // A blocked visitor's chat is spam: nothing answers it.
                if posted.created && posted.ticket_created && !posted.ticket.spam {
                    self.offline_autoreply(posted.ticket.id).await?;
                }
                Ok(vec![ack])
            }
            Incoming::Typing { on } => {
                if let Some((ticket_id, _, _)) = s.store.visitor_ticket(&self.visitor).await? {
                    s.bus
                        .publish(Signal::new(
                            ws.id,
                            Kind::Typing {
                                ticket_id,
                                contact_id: self.visitor.contact_id,
                                from: PartyName::Visitor,
                                on,
                                name: self.visitor.name.clone(),
                                user_id: None,
                            },
                        ))
                        .await;
                }
                Ok(vec![])
            }
            Incoming::Read { up_to } => {
                if let Some((ticket_id, _, _)) = s.store.visitor_ticket(&self.visitor).await? {
                    s.store.mark_read(ws.id, ticket_id, Party::Visitor, up_to).await?;
                    s.bus
                        .publish(Signal::new(
                            ws.id,
                            Kind::Read {
                                ticket_id,
                                contact_id: self.visitor.contact_id,
                                by: PartyName::Visitor,
                                up_to,
                            },
                        ))
                        .await;
                }
                Ok(vec![])
            }
            Incoming::Context { page, context } => {
                let ctx = context.map(|c| c.to_string());
                if ctx.as_ref().is_some_and(|c| c.len() > 8192) {
                    return Err(crate::domain::Invalid::new("context", "at most 8 KiB").into());
                }
                let page = page.map(|p| (page_url(&p.url), clip(&p.title, 300)));
                s.store
                    .touch_visitor(
                        self.visitor.id,
                        true,
                        page.as_ref().map(|(u, t)| (u.as_str(), t.as_str())),
                        ctx.as_deref(),
                        None,
                        None,
                    )
                    .await?;
                let ticket = s.store.visitor_ticket(&self.visitor).await?;
                s.bus
                    .publish(Signal::new(
                        ws.id,
                        Kind::Visitor {
                            contact_id: self.visitor.contact_id,
                            ticket_id: ticket.map(|t| t.0),
                            online: true,
                        },
                    ))
                    .await;
                Ok(vec![])
            }
            Incoming::Contact { name, email } => {
                let name = name
                    .map(|n| crate::domain::optional_text("name", n.trim(), 200))
                    .transpose()?;
                let email = email
                    .filter(|e| !e.trim().is_empty())
                    .map(|e| Email::parse("email", &e))
                    .transpose()?;
                let taken = s
                    .svc
                    .visitor_introduced(&self.visitor, name.as_deref(), email.as_ref(), &s.site.public_url)
                    .await?;
                if let Some(n) = name.filter(|n| !n.is_empty()) {
                    self.visitor.name = n;
                }
                match email {
                    Some(e) if taken => self.visitor.email = Some(e.to_string()),
                    // Another contact's address: linked once its mailed link is opened.
                    Some(_) => return Ok(vec![json!({ "type": "contact_saved", "verify": "email" }).to_string()]),
                    None => {}
                }
                Ok(vec![json!({ "type": "contact_saved" }).to_string()])
            }
            Incoming::Events { events } => {
                s.svc.require(ws.id, crate::domain::plan::Feature::Proactive).await?;
                let events = super::widget_events::checked(events)?;
                s.svc.visitor_events(&self.visitor, events).await?;
                Ok(vec![])
            }
            Incoming::Csat {
                ticket_number,
                score,
                comment,
            } => {
                let answer = super::surveys::csat_from_frame(score, comment.as_deref())?;
                // Another's chat, or one never asked about: the same "not found".
                let c = s
                    .svc
                    .visitor_csat(&self.visitor, ticket_number, &answer)
                    .await
                    .map_err(|e| match e {
                        StoreError::NotFound => AppError::not_found("survey"),
                        e => e.into(),
                    })?;
                Ok(vec![
                    json!({ "type": "csat_saved", "ticket_number": ticket_number, "score": c.score }).to_string(),
                ])
            }
        }
    }

    /// Out of hours or with nobody online, a new chat gets the admin's
    /// away text as an answer, and the team answers later.
    async fn offline_autoreply(&self, ticket_id: i64) -> Result<(), AppError> {
        let (s, ws) = (&self.s, &self.ws);
        let settings = s.store.widget_settings(ws.id).await?;
        let calendar = s.store.calendar(ws.id, None).await?;
        let now = crate::store::now_ms();
        let open = calendar.is_open(now);
        if s.store.agents_online(ws.id).await? && open {
            return Ok(());
        }
        let mut text = settings.texts_for(&self.visitor.lang).1.to_string();
        // Out of hours the answer says when the team is back.
        if !open {
            if let Some(at) = calendar.next_opening(now) {
                // In the visitor's own zone when their browser said it.
                let zone = self.time_zone.as_deref().unwrap_or(&calendar.time_zone);
                let (when, zone) = crate::domain::time::local(at, zone);
                let back = crate::i18n::text(
                    &self.visitor.lang,
                    "widget-back-at",
                    &[("when", &when), ("zone", &zone)],
                );
                text = format!("{text}\n\n{back}");
            }
        }
        s.svc
            .post_as(WorkspaceId(ws.id), Writer::System, TicketId(ticket_id), text)
            .await?;
        Ok(())
    }
}

fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
