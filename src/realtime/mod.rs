//! Realtime delivery. Two kinds of things reach sockets:
//! - changes (tickets, messages, mentions): read from the event log by this
//!   node's fan-out consumer (`fanout`), woken when a commit advances the
//!   log's head, here or (through PostgreSQL LISTEN/NOTIFY) on another node;
//! - signals that are not worth keeping (typing, read marks, presence, a
//!   visitor coming and going): published on the bus as they happen.
//!
//! Frames for each are made once and handed to the sockets that should see
//! them. A socket that cannot keep up is dropped, never buffered without
//! bound: its client reconnects and resumes from the last id it saw.

mod fanout;
mod hub;
mod pg;

pub use hub::{AgentConn, ConnGuard, Hub};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::domain::event::Event;
use crate::events::LogHead;
use crate::store::chat::{ChatMessage, Party};
use crate::store::{Message, Store, Ticket};

/// A signal: something of the moment, delivered and forgotten.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Kind {
    Typing {
        ticket_id: i64,
        contact_id: i64,
        from: PartyName,
        on: bool,
        name: String,
        user_id: Option<i64>,
    },
    Read {
        ticket_id: i64,
        contact_id: i64,
        by: PartyName,
        up_to: i64,
    },
    Presence {
        user_id: i64,
        status: String,
        any_online: bool,
    },
    Visitor {
        contact_id: i64,
        ticket_id: Option<i64>,
        online: bool,
    },
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
pub struct Signal {
    pub workspace_id: i64,
    #[serde(flatten)]
    pub kind: Kind,
    /// The ticket, when the publisher holds it (not sent to other nodes).
    #[serde(skip)]
    pub ticket: Option<Arc<Ticket>>,
}

impl Signal {
    pub fn new(workspace_id: i64, kind: Kind) -> Self {
        Self {
            workspace_id,
            kind,
            ticket: None,
        }
    }

    pub fn with_ticket(mut self, t: &Ticket) -> Self {
        self.ticket = Some(Arc::new(t.clone()));
        self
    }
}

/// What the writer of events already holds, so the fan-out on this node
/// need not read it back. Other nodes read from the database.
#[derive(Debug, Clone, Default)]
pub struct Hint {
    pub ticket: Option<Arc<Ticket>>,
    pub message: Option<Arc<Message>>,
    pub chat: Option<Arc<ChatMessage>>,
}

impl Hint {
    pub fn ticket(t: &Ticket) -> Self {
        Self {
            ticket: Some(Arc::new(t.clone())),
            ..Default::default()
        }
    }

    pub fn message(mut self, m: &Message) -> Self {
        self.message = Some(Arc::new(m.clone()));
        self
    }

    pub fn chat(mut self, m: &ChatMessage) -> Self {
        self.chat = Some(Arc::new(m.clone()));
        self
    }
}

/// Hints by event id, taken by the fan-out. Bounded: hints of events the
/// fan-out already passed are dropped.
#[derive(Default)]
pub struct Hints(Mutex<HashMap<i64, Hint>>);

const MAX_HINTS: usize = 50_000;

impl Hints {
    fn put(&self, events: &[Event], hint: &Hint) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if m.len() > MAX_HINTS {
            m.clear();
        }
        for e in events {
            m.insert(e.id, hint.clone());
        }
    }

    fn take(&self, id: i64) -> Option<Hint> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(&id)
    }

    fn forget_up_to(&self, id: i64) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).retain(|k, _| *k > id);
    }
}

/// The event bus of one node.
#[derive(Clone)]
pub struct Bus {
    tx: mpsc::Sender<Signal>,
    pub hub: Arc<Hub>,
    pg: Option<Arc<pg::Notifier>>,
    /// The newest event id this node knows of; wakes its consumers.
    pub head: LogHead,
    hints: Arc<Hints>,
    /// This node's name, for leases.
    pub node: String,
}

impl Bus {
    /// Starts the signal dispatcher, the fan-out of logged changes (from
    /// the log's current head: what came before had no sockets here) and,
    /// on PostgreSQL, the LISTEN bridge.
    pub async fn start(
        store: Store,
        database_url: Option<&str>,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> anyhow::Result<Self> {
        let hub = Arc::new(Hub::default());
        let head = LogHead::default();
        head.advance(store.event_head().await?);
        let (tx, rx) = mpsc::channel::<Signal>(16_384);
        tokio::spawn(hub::dispatch(hub.clone(), store.clone(), rx));
        let hints = Arc::new(Hints::default());
        tokio::spawn(fanout::run(
            hub.clone(),
            store.clone(),
            head.clone(),
            hints.clone(),
            head.get(),
            stop,
        ));
        let pg = match (store.backend(), database_url) {
            (crate::store::Backend::Postgres, Some(url)) => Some(Arc::new(
                pg::Notifier::start(url, store, tx.clone(), head.clone()).await?,
            )),
            _ => None,
        };
        let node = format!("{}-{}-{:08x}", hostname(), std::process::id(), rand::random::<u32>());
        Ok(Self {
            tx,
            hub,
            pg,
            head,
            hints,
            node,
        })
    }

    /// Delivers a signal to this node's sockets and, through PostgreSQL,
    /// to every other node's.
    pub async fn publish(&self, signal: Signal) {
        if let Some(pg) = &self.pg {
            pg.notify_signal(&signal).await;
        }
        if self.tx.send(signal).await.is_err() {
            tracing::debug!("signal dispatcher stopped");
        }
    }

    /// Wakes the consumers of the log after `events` were committed, here
    /// and on other nodes; `hint` spares this node's fan-out some reads.
    pub fn logged(&self, events: &[Event], hint: Hint) {
        let Some(last) = events.last() else { return };
        self.hints.put(events, &hint);
        self.head.committed(events);
        if let Some(pg) = &self.pg {
            pg.notify_head(last.id);
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".into())
}
