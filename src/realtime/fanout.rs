//! This node's consumer of the event log for its sockets. It starts at the
//! log's head when the node starts (no socket was here before; clients
//! resume from the last id they saw) and keeps its position in memory.

use std::sync::Arc;

use tokio::sync::watch;

use super::hub::{deliver_event, Hub};
use crate::events::{record_position, wait_past, LogHead, PAGE};
use crate::store::{Store, StoreError};

pub const NAME: &str = "realtime";

pub async fn run(hub: Arc<Hub>, store: Store, head: LogHead, mut position: i64, mut stop: watch::Receiver<bool>) {
    let mut rx = head.subscribe();
    record_position(NAME, position);
    loop {
        if !wait_past(&store, &head, &mut rx, position, &mut stop).await {
            return;
        }
        loop {
            let page = match head.read_after(&store, position, PAGE).await {
                Ok(p) => p,
                Err(StoreError::Database(sqlx::Error::PoolClosed)) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "event log not readable");
                    tokio::time::sleep(crate::events::POLL).await;
                    break;
                }
            };
            let Some(last) = page.last().map(|e| e.id) else { break };
            for e in &page {
                if let Err(err) = deliver_event(&hub, &store, e, head.hint(e.id)).await {
                    tracing::warn!(error = %err, event_id = e.id, "event not delivered to sockets");
                }
            }
            position = last;
            record_position(NAME, position);
            if (page.len() as i64) < PAGE {
                break;
            }
        }
    }
}
