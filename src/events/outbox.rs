//! The outbox feeder: the once-per-cluster consumer that turns events into
//! mail to customers (agents' replies, chat follow-ups, confirmations).
//! What goes out is decided by `domain::delivery`; the writes, with the
//! feeder's position in the same transaction, by `Store::deliver_events`.

use super::cluster::{Handled, Handler};
use crate::domain::delivery::for_event;
use crate::domain::event::Event;
use crate::store::Store;

pub const NAME: &str = "outbox";

pub struct Feeder;

impl Handler for Feeder {
    async fn handle(
        &self,
        store: &Store,
        name: &str,
        owner: &str,
        events: &[std::sync::Arc<Event>],
        save: bool,
    ) -> crate::store::Result<Handled> {
        // Most events send nothing (notes, customers' words, status changes):
        // such a page writes nothing unless the position is due to be saved.
        if !save && !events.iter().any(|e| for_event(e).is_some()) {
            return Ok(Handled::Done { saved: false });
        }
        Ok(if store.deliver_events(name, owner, events).await? {
            Handled::Done { saved: true }
        } else {
            Handled::LeaseLost
        })
    }
}
