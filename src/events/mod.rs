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
pub mod outbox;

use std::time::Duration;

use tokio::sync::watch;

use crate::store::Store;

/// How often a consumer looks at the log without being woken.
pub const POLL: Duration = Duration::from_secs(1);
/// Events read per page.
pub const PAGE: i64 = 500;

/// The newest event id this node knows of. Cheap to clone.
#[derive(Clone)]
pub struct LogHead {
    tx: std::sync::Arc<watch::Sender<i64>>,
}

impl Default for LogHead {
    fn default() -> Self {
        Self {
            tx: std::sync::Arc::new(watch::channel(0).0),
        }
    }
}

impl LogHead {
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
    if *stop.borrow() {
        return false;
    }
    if *rx.borrow_and_update() > position {
        return true;
    }
    tokio::select! {
        _ = rx.changed() => true,
        _ = stop.changed() => !*stop.borrow(),
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
