//! The agents' realtime stream: everything that happens in the workspace
//! that the agent may see, and their typing, read marks and presence.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::json;

use crate::app::AppState;
use crate::domain::Actor;
use crate::error::{ApiResult, AppError};
use crate::realtime::{Kind, PartyName, Signal};
use crate::store::chat::Party;

/// Browsers cannot set headers on a WebSocket, so the token may also come
/// as `?token=`.
pub async fn agent_socket(State(s): State<AppState>, mut parts: Parts) -> ApiResult<Response> {
    let query_token = parts.uri.query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("token="))
            .map(str::to_string)
    });
    if let Some(t) = query_token {
        parts.headers.insert(
            axum::http::header::AUTHORIZATION,
            format!("Bearer {t}")
                .parse()
                .map_err(|_| AppError::unauthorized("the API token is not valid"))?,
        );
    }
    // The console's own page connects with its session cookie; a page of
    // another site must not ride on that cookie, so the origin must match.
    let actor = match super::console::Agent::from_request_parts(&mut parts, &s).await {
        Ok(super::console::Agent(session)) if !parts.headers.contains_key(axum::http::header::AUTHORIZATION) => {
            if !super::console::same_origin(&parts.headers) {
                return Err(AppError::forbidden(
                    "this stream may only be opened from the console's own pages",
                ));
            }
            session.actor
        }
        _ => Actor::from_request_parts(&mut parts, &s).await?,
    };
    let upgrade = WebSocketUpgrade::from_request_parts(&mut parts, &s)
        .await
        .map_err(|e| AppError::bad_request("websocket_required", e.to_string()))?;
    let name = s.store.user(actor.workspace_id, actor.user_id).await?.name;
    Ok(upgrade
        .max_message_size(super::chat::FRAME_MAX)
        .read_buffer_size(super::chat::SOCKET_BUFFER)
        .write_buffer_size(super::chat::SOCKET_BUFFER)
        .on_upgrade(move |socket| async move {
            metrics::counter!("storedesk_ws_sessions_total", "side" => "agent").increment(1);
            if let Err(e) = run(s, actor, name, socket).await {
                tracing::debug!(error = %e, "agent socket ended");
            }
        }))
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Incoming {
    Typing { ticket_id: i64, on: bool },
    Read { ticket_id: i64, up_to: i64 },
    Presence { status: String },
    Ping,
}

const HEARTBEAT: Duration = Duration::from_secs(20);

async fn presence(s: &AppState, actor: &Actor, status: &str) -> anyhow::Result<()> {
    s.store
        .touch_presence(actor.workspace_id, actor.user_id, status)
        .await?;
    let any_online = s.store.agents_online(actor.workspace_id).await?;
    s.bus
        .publish(Signal::new(
            actor.workspace_id,
            Kind::Presence {
                user_id: actor.user_id,
                status: status.to_string(),
                any_online,
            },
        ))
        .await;
    Ok(())
}

async fn run(s: AppState, actor: Actor, name: String, socket: WebSocket) -> anyhow::Result<()> {
    let (mut sink, mut stream) = socket.split();
    let (guard, mut outgoing) = s.bus.hub.register_agent(actor.clone());
    let mut status = "online".to_string();
    presence(&s, &actor, &status).await?;
    sink.send(WsMessage::Text(
        json!({ "type": "hello", "user_id": actor.user_id, "status": status })
            .to_string()
            .into(),
    ))
    .await?;
    let mut beat = tokio::time::interval(HEARTBEAT);
    beat.tick().await;
    let result: anyhow::Result<()> = loop {
        tokio::select! {
            frame = outgoing.recv() => match frame {
                Some(f) => sink.send(WsMessage::Text(f.to_string().into())).await?,
                None => break Ok(()),
            },
            incoming = stream.next() => match incoming {
                Some(Ok(WsMessage::Text(t))) => {
                    let reply = match serde_json::from_str::<Incoming>(&t) {
                        Ok(Incoming::Ping) => Some(json!({ "type": "pong" })),
                        Ok(Incoming::Presence { status: st }) if st == "online" || st == "away" => {
                            status = st;
                            presence(&s, &actor, &status).await?;
                            None
                        }
                        Ok(Incoming::Presence { .. }) => Some(json!({ "type": "error", "code": "invalid_field", "message": "status: online or away" })),
                        Ok(Incoming::Typing { ticket_id, on }) => match s.store.ticket(&actor, ticket_id).await {
                            Ok(t) => {
                                s.bus.publish(Signal::new(actor.workspace_id, Kind::Typing { ticket_id, contact_id: t.contact.id, from: PartyName::Agent, on, name: name.clone(), user_id: Some(actor.user_id) }).with_ticket(&t)).await;
                                None
                            }
                            Err(_) => Some(json!({ "type": "error", "code": "not_found", "message": "ticket not found" })),
                        },
                        Ok(Incoming::Read { ticket_id, up_to }) => match s.store.ticket(&actor, ticket_id).await {
                            Ok(t) => {
                                s.store.mark_read(actor.workspace_id, ticket_id, Party::Agent, up_to).await?;
                                s.bus.publish(Signal::new(actor.workspace_id, Kind::Read { ticket_id, contact_id: t.contact.id, by: PartyName::Agent, up_to }).with_ticket(&t)).await;
                                None
                            }
                            Err(_) => Some(json!({ "type": "error", "code": "not_found", "message": "ticket not found" })),
                        },
                        Err(e) => Some(json!({ "type": "error", "code": "bad_frame", "message": e.to_string() })),
                    };
                    if let Some(r) = reply {
                        sink.send(WsMessage::Text(r.to_string().into())).await?;
                    }
                }
                Some(Ok(WsMessage::Close(_))) | None => break Ok(()),
                Some(Ok(_)) => {}
                Some(Err(e)) if super::chat::too_big(&e) => break super::chat::close_too_big(&mut sink).await.map_err(Into::into),
                Some(Err(e)) => break Err(e.into()),
            },
            _ = beat.tick() => {
                s.store.touch_presence(actor.workspace_id, actor.user_id, &status).await?;
                sink.send(WsMessage::Ping(Bytes::new())).await?;
            }
        }
    };
    drop(guard);
    let still_here = s.bus.hub.agent_sockets(actor.workspace_id, actor.user_id) > 0;
    if !still_here {
        let _ = presence(&s, &actor, "offline").await;
    }
    result
}
