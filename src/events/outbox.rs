//! The outbox feeder: the once-per-cluster consumer that turns events into
//! mail to customers (agents' replies, chat follow-ups, confirmations).
//! What goes out is decided by `domain::delivery`; the writes, with the
//! feeder's position in the same transaction, by `Store::deliver_events`.

use super::cluster::Handler;
use crate::domain::event::Event;
use crate::store::Store;

pub const NAME: &str = "outbox";

pub struct Feeder;

impl Handler for Feeder {
    async fn handle(&self, store: &Store, name: &str, owner: &str, events: &[Event]) -> crate::store::Result<bool> {
        store.deliver_events(name, owner, events).await
    }
}
