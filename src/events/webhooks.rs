//! The webhooks consumer: the once-per-cluster reader of the log that
//! turns events into deliveries, one per active subscription that takes
//! the event's type, committed with its position (so a page read twice
//! makes each delivery once). The sender (`crate::webhooks::sender`) sends them.

use super::cluster::{Handled, Handler};
use crate::domain::event::Event;
use crate::service::Services;
use crate::store::Store;

pub const NAME: &str = "webhooks";

pub struct Queuer(pub Services);

impl Handler for Queuer {
    async fn handle(
        &self,
        store: &Store,
        name: &str,
        owner: &str,
        events: &[std::sync::Arc<Event>],
        save: bool,
    ) -> crate::store::Result<Handled> {
        // Most workspaces have no webhooks: such a page writes nothing
        // unless the position is due to be saved.
        if !store.webhooks_want(events).await? {
            return super::cluster::saved_after(store, name, owner, events, save).await;
        }
        Ok(if store.queue_webhook_events(name, owner, events).await? {
            self.0.webhooks.wake.notify_one();
            Handled::Done { saved: true }
        } else {
            Handled::LeaseLost
        })
    }
}
