//! Realtime delivery. Handlers publish events after their write has
//! committed; a dispatcher turns each event into frames once and hands them
//! to the sockets that should see them. With PostgreSQL the events also go
//! through LISTEN/NOTIFY (ids only) so every node delivers to its own
//! sockets. A socket that cannot keep up is dropped, never buffered without
//! bound: its client reconnects and resumes from the last id it saw.

mod hub;
mod pg;

pub use hub::{AgentConn, ConnGuard, Hub};

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::store::chat::{ChatMessage, Party};
use crate::store::{Message, Store, Ticket};

/// What happened. Serialised (without the prepared payloads) for other nodes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Kind {
    TicketCreated { ticket_id: i64 },
    TicketUpdated { ticket_id: i64 },
    MessageCreated { ticket_id: i64, message_id: i64 },
    Typing { ticket_id: i64, contact_id: i64, from: PartyName, on: bool, name: String, user_id: Option<i64> },
    Read { ticket_id: i64, contact_id: i64, by: PartyName, up_to: i64 },
    Presence { user_id: i64, status: String, any_online: bool },
    Visitor { contact_id: i64, ticket_id: Option<i64>, online: bool },
    /// A knowledge-base article changed: each node updates its search index.
    KbChanged { article_id: i64 },
    /// An agent was named in a note.
    Mention { user_id: i64, ticket_id: i64, number: i64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyName {
    Visitor,
    Agent,
}

impl From<Party> for PartyName {
    fn from(p: Party) -> Self {
        match p {
            Party::Visitor => PartyName::Visitor,
            Party::Agent => PartyName::Agent,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    pub workspace_id: i64,
    #[serde(flatten)]
    pub kind: Kind,
    /// Data the publisher already holds, so the dispatcher need not read it
    /// back. Events from other nodes arrive without it.
    #[serde(skip)]
    pub ticket: Option<Arc<Ticket>>,
    #[serde(skip)]
    pub message: Option<Arc<Message>>,
    #[serde(skip)]
    pub chat: Option<Arc<ChatMessage>>,
}

impl Event {
    pub fn new(workspace_id: i64, kind: Kind) -> Self {
        Self { workspace_id, kind, ticket: None, message: None, chat: None }
    }

    pub fn with_ticket(mut self, t: &Ticket) -> Self {
        self.ticket = Some(Arc::new(t.clone()));
        self
    }

    pub fn with_message(mut self, m: &Message) -> Self {
        self.message = Some(Arc::new(m.clone()));
        self
    }

    pub fn with_chat(mut self, m: &ChatMessage) -> Self {
        self.chat = Some(Arc::new(m.clone()));
        self
    }
}

/// The event bus of one node.
#[derive(Clone)]
pub struct Bus {
    tx: mpsc::Sender<Event>,
    pub hub: Arc<Hub>,
    pg: Option<Arc<pg::Notifier>>,
}

impl Bus {
    /// Starts the dispatcher (and, on PostgreSQL, the LISTEN bridge).
    pub async fn start(store: Store, database_url: Option<&str>) -> anyhow::Result<Self> {
        let hub = Arc::new(Hub::default());
        let (tx, rx) = mpsc::channel::<Event>(16_384);
        tokio::spawn(hub::dispatch(hub.clone(), store.clone(), rx));
        let pg = match (store.backend(), database_url) {
            (crate::store::Backend::Postgres, Some(url)) => Some(Arc::new(pg::Notifier::start(url, store, tx.clone()).await?)),
            _ => None,
        };
        Ok(Self { tx, hub, pg })
    }

    /// Delivers an event to this node's sockets and, through PostgreSQL,
    /// to every other node's. Call it after the change has committed.
    pub async fn publish(&self, event: Event) {
        if let Some(pg) = &self.pg {
            pg.notify(&event).await;
        }
        if self.tx.send(event).await.is_err() {
            tracing::debug!("event dispatcher stopped");
        }
    }
}
