//! Consumers of the event log and what wakes them.
//!
//! The log (the `events` table) is the truth. Each consumer reads it in id
//! order from its own position, at least once, and acts idempotently:
//! - on every node: the realtime fan-out (`realtime`), the ticket search
//!   index (`ticket_search`), keeping their positions per node;
//! - once per cluster, under a lease: the outbox feeder (`outbox`), and
//!   later rules, webhooks and report rollups.
//!
//! A commit on this node wakes them at once through [`LogHead`]; commits on
//! other nodes arrive through PostgreSQL NOTIFY; and every consumer also
//! looks by itself every second, so a lost wake-up only delays.

pub mod cluster;
pub mod messengers;
pub mod outbox;
pub mod reports;
pub mod routing;
pub mod rules;
pub mod sla;
pub mod surveys;
pub mod time_reports;
pub mod webhooks;

use std::time::Duration;

use tokio::sync::watch;

use crate::domain::event::Event;
use std::sync::Arc;

use crate::store::chat::ChatMessage;
use crate::store::{Message, Store, Ticket};

/// How often a consumer looks at the log without being woken.
pub const POLL: Duration = Duration::from_secs(1);
/// Events read per page.
pub const PAGE: i64 = 500;

/// Events this node committed itself, kept for a moment: its consumers read
/// them from here instead of the database. Ids are handed out without gaps
/// (see `store::events`), so a run of consecutive ids here is exactly what
/// the log holds there; anything missing (another node's events, a commit
/// whose writer has not handed them over yet) is read from the database.
const TAIL: usize = 16_384;

/// What the writer of events already holds (the ticket, the message), kept
/// beside them in the tail so this node's fan-out need not read it back.
/// Other nodes' events come without it and are read from the database.
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

/// An event this node committed, and what its writer held.
struct Tailed {
    event: Arc<Event>,
    hint: Arc<Hint>,
}

/// The newest event id this node knows of, and the tail it wrote. Cheap to clone.
#[derive(Clone)]
pub struct LogHead {
    tx: Arc<watch::Sender<i64>>,
    tail: Arc<std::sync::Mutex<std::collections::BTreeMap<i64, Tailed>>>,
}

impl Default for LogHead {
    fn default() -> Self {
        Self {
            tx: Arc::new(watch::channel(0).0),
            tail: Default::default(),
        }
    }
}

impl LogHead {
    /// Events this node just committed, with what their writer held: kept
    /// for its consumers, then the head moves.
    pub fn committed(&self, events: &[Event], hint: Hint) {
        let Some(last) = events.last() else { return };
        {
            let hint = Arc::new(hint);
            let mut tail = self.tail.lock().unwrap_or_else(|e| e.into_inner());
            for e in events {
                tail.insert(
                    e.id,
                    Tailed {
                        event: Arc::new(e.clone()),
                        hint: hint.clone(),
                    },
                );
            }
            while tail.len() > TAIL {
                tail.pop_first();
            }
        }
        self.advance(last.id);
    }

    /// Up to `limit` events after `after`: from the tail when it holds the
    /// next ones, else from the database.
    pub async fn read_after(&self, store: &Store, after: i64, limit: i64) -> crate::store::Result<Vec<Arc<Event>>> {
        {
            let tail = self.tail.lock().unwrap_or_else(|e| e.into_inner());
            let run: Vec<Arc<Event>> = tail
                .range(after + 1..)
                .map(|(_, t)| &t.event)
                .take(limit.max(1) as usize)
                .enumerate()
                .take_while(|(i, e)| e.id == after + 1 + *i as i64)
                .map(|(_, e)| e.clone())
                .collect();
            if !run.is_empty() {
                return Ok(run);
            }
        }
        Ok(store
            .events_after(after, limit)
            .await?
            .into_iter()
            .map(Arc::new)
            .collect())
    }

    /// What the writer of event `id` held, when this node wrote it.
    pub fn hint(&self, id: i64) -> Option<Arc<Hint>> {
        self.tail
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .map(|t| t.hint.clone())
    }

    /// Moves the head forward (never back) and wakes whoever waits.
    pub fn advance(&self, id: i64) {
        let moved = self.tx.send_if_modified(|h| {
            if id > *h {
                *h = id;
                true
            } else {
                false
            }
        });
        if moved {
            metrics::gauge!("storedesk_event_log_head").set(id as f64);
        }
    }

    pub fn get(&self) -> i64 {
        *self.tx.borrow()
    }

    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.tx.subscribe()
    }
}

/// Waits until the head passes `position`, the poll interval passes (then
/// reads the head from the database), or `stop` is set. Returns false on stop.
pub async fn wait_past(
    store: &Store,
    head: &LogHead,
    rx: &mut watch::Receiver<i64>,
    position: i64,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    if crate::jobs::stopping(stop) {
        return false;
    }
    if *rx.borrow_and_update() > position {
        return true;
    }
    tokio::select! {
        _ = rx.changed() => true,
        _ = crate::jobs::stopped(stop) => false,
        _ = tokio::time::sleep(POLL) => {
            match store.event_head().await {
                Ok(h) => head.advance(h),
                Err(e) => tracing::debug!(error = %e, "event head not read"),
            }
            true
        }
    }
}

/// Records a consumer's progress for /metrics.
pub fn record_position(consumer: &'static str, position: i64) {
    metrics::gauge!("storedesk_event_consumer_position", "consumer" => consumer).set(position as f64);
}
