//! Who is connected, and the dispatcher that turns events into frames.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::sync::mpsc;

use super::{Kind, PartyName, Signal};
use crate::domain::access::TicketAccess;
use crate::domain::event::{Event, EventType};
use crate::domain::Actor;
use crate::events::Hint;
use crate::store::{Store, Ticket};

/// Frames waiting for one socket. Bounded: a socket this far behind is cut.
pub const SOCKET_QUEUE: usize = 256;

pub type Frame = Arc<str>;

struct Slot {
    id: u64,
    tx: mpsc::Sender<Frame>,
}

#[derive(Clone)]
pub struct AgentConn {
    pub actor: Actor,
}

#[derive(Default)]
pub struct Hub {
    /// This node's knowledge-base index, kept in step with the database.
    pub kb: std::sync::OnceLock<crate::search::KbIndex>,
    next: AtomicU64,
    /// Visitor sockets by (workspace, contact).
    visitors: Mutex<HashMap<(i64, i64), Vec<Slot>>>,
    /// Agent sockets by workspace.
    agents: Mutex<HashMap<i64, Vec<(Slot, AgentConn)>>>,
}

/// Removes a socket from the hub when its task ends.
pub struct ConnGuard {
    hub: Arc<Hub>,
    id: u64,
    key: GuardKey,
}

enum GuardKey {
    Visitor(i64, i64),
    Agent(i64),
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        match self.key {
            GuardKey::Visitor(ws, c) => {
                let mut m = self.hub.visitors.lock().expect("hub lock");
                if let Some(v) = m.get_mut(&(ws, c)) {
                    v.retain(|s| s.id != self.id);
                    if v.is_empty() {
                        m.remove(&(ws, c));
                    }
                }
            }
            GuardKey::Agent(ws) => {
                let mut m = self.hub.agents.lock().expect("hub lock");
                if let Some(v) = m.get_mut(&ws) {
                    v.retain(|(s, _)| s.id != self.id);
                    if v.is_empty() {
                        m.remove(&ws);
                    }
                }
            }
        }
    }
}

impl Hub {
    pub fn register_visitor(
        self: &Arc<Self>,
        workspace_id: i64,
        contact_id: i64,
    ) -> (ConnGuard, mpsc::Receiver<Frame>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(SOCKET_QUEUE);
        self.visitors
            .lock()
            .expect("hub lock")
            .entry((workspace_id, contact_id))
            .or_default()
            .push(Slot { id, tx });
        metrics::gauge!("storedesk_ws_connections", "side" => "visitor").increment(1.0);
        (
            ConnGuard {
                hub: self.clone(),
                id,
                key: GuardKey::Visitor(workspace_id, contact_id),
            },
            rx,
        )
    }

    pub fn register_agent(self: &Arc<Self>, actor: Actor) -> (ConnGuard, mpsc::Receiver<Frame>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(SOCKET_QUEUE);
        let ws = actor.workspace_id;
        self.agents
            .lock()
            .expect("hub lock")
            .entry(ws)
            .or_default()
            .push((Slot { id, tx }, AgentConn { actor }));
        metrics::gauge!("storedesk_ws_connections", "side" => "agent").increment(1.0);
        (
            ConnGuard {
                hub: self.clone(),
                id,
                key: GuardKey::Agent(ws),
            },
            rx,
        )
    }

    /// Sockets on this node, for metrics and benchmarks.
    pub fn counts(&self) -> (usize, usize) {
        let v = self.visitors.lock().expect("hub lock").values().map(Vec::len).sum();
        let a = self.agents.lock().expect("hub lock").values().map(Vec::len).sum();
        (v, a)
    }

    fn to_visitors(&self, ws: i64, contact: Option<i64>, frame: Frame) {
        let mut m = self.visitors.lock().expect("hub lock");
        let keys: Vec<(i64, i64)> = match contact {
            Some(c) => vec![(ws, c)],
            None => m.keys().filter(|(w, _)| *w == ws).copied().collect(),
        };
        for k in keys {
            if let Some(slots) = m.get_mut(&k) {
                // A full queue means a stuck client: cut it loose.
                slots.retain(|s| s.tx.try_send(frame.clone()).is_ok());
            }
        }
    }

    /// To the workspace's agents who may see a ticket with `access`; all of
    /// them when None (frames about agents, not customers).
    fn to_agents(&self, ws: i64, access: Option<TicketAccess>, frame: Frame) {
        let mut m = self.agents.lock().expect("hub lock");
        if let Some(slots) = m.get_mut(&ws) {
            slots.retain(|(s, a)| {
                if access.is_some_and(|t| !a.actor.can_see(t)) {
                    return true;
                }
                s.tx.try_send(frame.clone()).is_ok()
            });
        }
    }

    fn to_user(&self, ws: i64, user_id: i64, frame: Frame) {
        let mut m = self.agents.lock().expect("hub lock");
        if let Some(slots) = m.get_mut(&ws) {
            slots.retain(|(s, a)| a.actor.user_id != user_id || s.tx.try_send(frame.clone()).is_ok());
        }
    }

    /// Open stream sockets of one agent on this node.
    pub fn agent_sockets(&self, ws: i64, user_id: i64) -> usize {
        self.agents
            .lock()
            .expect("hub lock")
            .get(&ws)
            .map(|v| v.iter().filter(|(_, a)| a.actor.user_id == user_id).count())
            .unwrap_or(0)
    }

    fn has_agents(&self, ws: i64) -> bool {
        self.agents.lock().expect("hub lock").contains_key(&ws)
    }

    fn has_visitor(&self, ws: i64, contact_id: i64) -> bool {
        self.visitors.lock().expect("hub lock").contains_key(&(ws, contact_id))
    }
}

fn frame(v: serde_json::Value) -> Frame {
    Arc::from(v.to_string())
}

/// The signal dispatcher: one task per node, signals in order.
pub async fn dispatch(hub: Arc<Hub>, store: Store, mut rx: mpsc::Receiver<Signal>) {
    while let Some(sig) = rx.recv().await {
        if let Err(e) = deliver_signal(&hub, &store, sig).await {
            tracing::warn!(error = %e, "signal not delivered");
        }
    }
}

async fn ticket_of(store: &Store, ws: i64, known: Option<&Arc<Ticket>>, id: i64) -> crate::store::Result<Arc<Ticket>> {
    match known {
        Some(t) if t.id == id => Ok(t.clone()),
        _ => Ok(Arc::new(store.ticket_unchecked(ws, id).await?)),
    }
}

async fn deliver_signal(hub: &Hub, store: &Store, sig: Signal) -> crate::store::Result<()> {
    let ws = sig.workspace_id;
    match &sig.kind {
        Kind::Typing {
            ticket_id,
            contact_id,
            from,
            on,
            name,
            user_id,
        } => match from {
            PartyName::Agent => {
                hub.to_visitors(
                    ws,
                    Some(*contact_id),
                    frame(json!({ "type": "typing", "on": on, "name": name })),
                );
                if hub.has_agents(ws) {
                    let t = ticket_of(store, ws, sig.ticket.as_ref(), *ticket_id).await?;
                    hub.to_agents(ws, Some(t.access()), frame(json!({ "type": "typing", "ticket_id": ticket_id, "on": on, "from": "agent", "user_id": user_id, "name": name })));
                }
            }
            PartyName::Visitor => {
                if hub.has_agents(ws) {
                    let t = ticket_of(store, ws, sig.ticket.as_ref(), *ticket_id).await?;
                    // A blocked visitor's chat is spam: no agent hears of it.
                    if t.spam {
                        return Ok(());
                    }
                    hub.to_agents(
                        ws,
                        Some(t.access()),
                        frame(json!({ "type": "typing", "ticket_id": ticket_id, "on": on, "from": "visitor" })),
                    );
                }
            }
        },
        Kind::Read {
            ticket_id,
            contact_id,
            by,
            up_to,
        } => match by {
            PartyName::Agent => {
                hub.to_visitors(ws, Some(*contact_id), frame(json!({ "type": "read", "up_to": up_to })))
            }
            PartyName::Visitor => {
                if hub.has_agents(ws) {
                    let t = ticket_of(store, ws, sig.ticket.as_ref(), *ticket_id).await?;
                    // A blocked visitor's chat is spam: no agent hears of it.
                    if t.spam {
                        return Ok(());
                    }
                    hub.to_agents(
                        ws,
                        Some(t.access()),
                        frame(json!({ "type": "visitor_read", "ticket_id": ticket_id, "up_to": up_to })),
                    );
                }
            }
        },
        Kind::Presence {
            user_id,
            status,
            any_online,
        } => {
            hub.to_visitors(ws, None, frame(json!({ "type": "presence", "online": any_online })));
            hub.to_agents(
                ws,
                None,
                frame(json!({ "type": "presence", "user_id": user_id, "status": status })),
            );
        }
        Kind::Queue {
            contact_id,
            position,
            minutes,
            text,
        } => {
            hub.to_visitors(
                ws,
                Some(*contact_id),
                frame(json!({ "type": "queue", "position": position, "minutes": minutes, "text": text })),
            );
        }
        Kind::Survey { contact_id, survey } => {
            hub.to_visitors(
                ws,
                Some(*contact_id),
                frame(json!({ "type": "survey", "survey": survey })),
            );
        }
        Kind::Visitor {
            contact_id,
            ticket_id,
            online,
        } => {
            if hub.has_agents(ws) {
                let t = match ticket_id {
                    Some(id) => Some(ticket_of(store, ws, sig.ticket.as_ref(), *id).await?),
                    None => None,
                };
                if t.as_ref().is_some_and(|t| t.spam) {
                    return Ok(());
                }
                let state = store.visitor_state(ws, *contact_id).await?;
                // A visitor without a chat yet would start an unrouted one:
                // only agents who see unrouted tickets learn of them.
                let access = t.map_or(TicketAccess::unrouted(), |t| t.access());
                hub.to_agents(ws, Some(access), frame(json!({ "type": "visitor", "ticket_id": ticket_id, "contact_id": contact_id, "online": online, "state": state })));
            }
        }
    }
    Ok(())
}

/// Turns one logged change into frames for this node's sockets (and keeps
/// this node's knowledge-base index in step).
/// Not found as nothing; any other error stays one.
fn existing<T>(r: crate::store::Result<T>) -> crate::store::Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(crate::store::StoreError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

pub(super) async fn deliver_event(
    hub: &Hub,
    store: &Store,
    e: &Event,
    hint: Option<Arc<Hint>>,
) -> crate::store::Result<()> {
    let ws = e.workspace_id;
    let hint = hint.unwrap_or_default();
    match e.kind {
        EventType::TicketCreated | EventType::TicketUpdated | EventType::TicketMerged | EventType::TicketSplit => {
            let Some(ticket_id) = e.ticket_id else { return Ok(()) };
            if !hub.has_agents(ws) {
                return Ok(());
            }
            // A ticket gone since (its workspace deleted) has nobody to tell.
            let Some(t) = existing(ticket_of(store, ws, hint.ticket.as_ref(), ticket_id).await)? else {
                return Ok(());
            };
            let kind = if e.kind == EventType::TicketCreated {
                "ticket_created"
            } else {
                "ticket_updated"
            };
            hub.to_agents(ws, Some(t.access()), frame(json!({ "type": kind, "ticket": &*t })));
        }
        EventType::MessageCreated => {
            let (Some(ticket_id), Some(message_id)) = (e.ticket_id, e.message_id) else {
                return Ok(());
            };
            let public = e.changes.get("kind").and_then(|k| k.as_str()) == Some("reply");
            let chat_channel = e.changes.get("channel").and_then(|c| c.as_str()) == Some("chat");
            if public && chat_channel && e.contact_id.is_some_and(|c| hub.has_visitor(ws, c)) {
                let chat = match hint.chat.as_ref().filter(|c| c.id == message_id) {
                    Some(c) => Some((c.clone(), e.contact_id.unwrap_or_default())),
                    None => store.chat_message(ws, message_id).await?.map(|(m, c)| (Arc::new(m), c)),
                };
                if let Some((m, contact)) = chat {
                    // Files need the workspace's address to be downloaded.
                    let message = if m.attachments.is_empty() {
                        json!(&*m)
                    } else {
                        m.json(&store.workspace(ws).await?.slug)
                    };
                    hub.to_visitors(
                        ws,
                        Some(contact),
                        frame(json!({ "type": "message", "message": message })),
                    );
                }
            }
            if hub.has_agents(ws) {
                let Some(t) = existing(ticket_of(store, ws, hint.ticket.as_ref(), ticket_id).await)? else {
                    return Ok(());
                };
                let m = match hint.message.as_ref().filter(|m| m.id == message_id) {
                    Some(m) => Some(m.clone()),
                    None => store.message(ws, message_id).await?.map(Arc::new),
                };
                if let Some(m) = m {
                    hub.to_agents(
                        ws,
                        Some(t.access()),
                        frame(json!({ "type": "message", "ticket_id": t.id, "message": &*m })),
                    );
                }
            }
        }
        EventType::MentionCreated => {
            let user_id = e.changes.get("user_id").and_then(|u| u.as_i64());
            if let (Some(user_id), Some(ticket_id)) = (user_id, e.ticket_id) {
                let number = e.changes.get("number").and_then(|n| n.as_i64());
                hub.to_user(
                    ws,
                    user_id,
                    frame(json!({ "type": "mention", "ticket_id": ticket_id, "number": number })),
                );
            }
        }
        EventType::ArticleCreated | EventType::ArticleUpdated | EventType::ArticleDeleted => {
            let (Some(index), Some(article_id)) = (hub.kb.get(), e.article_id) else {
                return Ok(());
            };
            let r = match store.article(ws, article_id).await {
                Ok(a) if a.status == "published" => {
                    index.upsert(crate::kb::doc_of(&a, &store.workspace(ws).await?.slug))
                }
                Ok(_) | Err(crate::store::StoreError::NotFound) => index.delete(article_id),
                Err(err) => return Err(err),
            };
            if let Err(err) = r {
                tracing::warn!(error = %err, "knowledge-base index not updated");
            }
        }
        EventType::SlaWarning | EventType::SlaBreached => {
            let Some(ticket_id) = e.ticket_id.filter(|_| hub.has_agents(ws)) else {
                return Ok(());
            };
            let Some(t) = existing(ticket_of(store, ws, hint.ticket.as_ref(), ticket_id).await)? else {
                return Ok(());
            };
            hub.to_agents(
                ws,
                Some(t.access()),
                frame(json!({
                    "type": "sla", "ticket_id": t.id, "number": t.number, "subject": t.subject,
                    "breached": e.kind == EventType::SlaBreached, "target": e.changes.get("target"),
                    "due_at": e.changes.get("due_at"), "assignee_id": t.assignee_id,
                })),
            );
        }
        EventType::ContactCreated
        | EventType::ContactUpdated
        | EventType::TicketsImported
        | EventType::AgentUpdated
        | EventType::CsatAnswered
        | EventType::NpsAnswered
        | EventType::ReportsReset
        | EventType::ContactMerged
        | EventType::ContactErased
        // Spam reaches no agent's screen.
        | EventType::MessageSpam
        | EventType::WebhookDisabled
        | EventType::CampaignCreated
        | EventType::CampaignUpdated
        | EventType::CampaignDeleted
        | EventType::TimeLogged
        | EventType::TimeUpdated
        | EventType::TimeDeleted
        | EventType::EstimateSet
        | EventType::EstimateApproved
        | EventType::EstimateQuestioned
        | EventType::ClientBalanceLow
        // A monitor's incident reaches screens through its ticket's events.
        | EventType::MonitorDown
        | EventType::MonitorUp
        | EventType::MonitorExpiring => {}
    }
    Ok(())
}
