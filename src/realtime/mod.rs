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

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::domain::event::Event;
use crate::events::{Hint, LogHead};
use crate::store::chat::Party;
use crate::store::{Store, Ticket};

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
    /// A visitor's chat waits in a team's queue: its place and the text
    /// that says so in their language.
    Queue {
        contact_id: i64,
        position: i64,
        minutes: Option<i64>,
        text: String,
    },
    /// A satisfaction question for a visitor's widget.
    Survey { contact_id: i64, survey: serde_json::Value },
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

/// The event bus of one node.
#[derive(Clone)]
pub struct Bus {
    tx: mpsc::Sender<Signal>,
    pub hub: Arc<Hub>,
    pg: Option<Arc<pg::Notifier>>,
    /// The newest event id this node knows of; wakes its consumers.
    pub head: LogHead,
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
        tokio::spawn(fanout::run(hub.clone(), store.clone(), head.clone(), head.get(), stop));
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
        self.head.committed(events, hint);
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
