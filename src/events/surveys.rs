//! The surveys consumer: the once-per-cluster reader of the log that asks
//! customers how they liked the help when a ticket is resolved (CSAT by
//! mail or in the chat widget, an NPS survey planned for later). What it
//! asks is committed with its position, and each question once per ticket
//! by its row, so reading a page again asks nothing twice.

use super::cluster::{Handled, Handler};
use crate::domain::event::Event;
use crate::service::Services;
use crate::store::Store;

pub const NAME: &str = "surveys";

pub struct Asker(pub Services);

impl Handler for Asker {
    async fn handle(
        &self,
        _store: &Store,
        name: &str,
        owner: &str,
        events: &[std::sync::Arc<Event>],
        save: bool,
    ) -> crate::store::Result<Handled> {
        Ok(match self.0.ask_surveys(name, owner, events, save).await? {
            None => Handled::Done { saved: false },
            Some(true) => Handled::Done { saved: true },
            Some(false) => Handled::LeaseLost,
        })
    }
}
