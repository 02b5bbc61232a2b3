//! The routing consumer: the once-per-cluster reader of the log that
//! shares teams' queues out when tickets arrive or change and when agents
//! change their availability (see `service::routing`). Its writes are
//! checked under lock as they are made, so reading a page again after a
//! crash assigns nothing twice.

use super::cluster::{Handled, Handler};
use crate::domain::event::Event;
use crate::service::Services;
use crate::store::Store;

pub const NAME: &str = "routing";

pub struct Router(pub Services);

impl Handler for Router {
    async fn handle(
        &self,
        store: &Store,
        name: &str,
        owner: &str,
        events: &[std::sync::Arc<Event>],
        save: bool,
    ) -> crate::store::Result<Handled> {
        self.0.run_routing(events).await?;
        super::cluster::saved_after(store, name, owner, events, save).await
    }
}
