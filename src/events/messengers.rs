//! The messengers consumer: the once-per-cluster reader of the log that
//! queues agents' replies on Telegram and gateway tickets for sending
//! (`channels::outbound` sends them). The queue's rows are committed with
//! the consumer's position, one per message, so a page read again queues
//! nothing twice.

use super::cluster::{Handled, Handler};
use crate::domain::event::{Event, EventType};
use crate::store::Store;

pub const NAME: &str = "messengers";

pub struct Queuer;

impl Handler for Queuer {
    async fn handle(
        &self,
        store: &Store,
        name: &str,
        owner: &str,
        events: &[std::sync::Arc<Event>],
        save: bool,
    ) -> crate::store::Result<Handled> {
        let any = events.iter().any(|e| {
            e.kind == EventType::MessageCreated
                && matches!(
                    e.changes.get("channel").and_then(|c| c.as_str()),
                    Some("telegram" | "messenger")
                )
        });
        if !save && !any {
            return Ok(Handled::Done { saved: false });
        }
        Ok(if store.queue_messenger_replies(name, owner, events).await? {
            Handled::Done { saved: true }
        } else {
            Handled::LeaseLost
        })
    }
}
