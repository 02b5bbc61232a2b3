//! The time reports consumer: the once-per-cluster reader of the log that
//! sends a client the time report of a ticket when it is resolved (see
//! `store::time_reports`).

use super::cluster::{Handled, Handler};
use crate::domain::event::Event;
use crate::service::Services;
use crate::store::Store;

pub const NAME: &str = "time_reports";

pub struct Notifier(pub Services);

impl Handler for Notifier {
    async fn handle(
        &self,
        _store: &Store,
        name: &str,
        owner: &str,
        events: &[std::sync::Arc<Event>],
        save: bool,
    ) -> crate::store::Result<Handled> {
        Ok(match self.0.send_time_reports(name, owner, events, save).await? {
            None => Handled::Done { saved: false },
            Some(true) => Handled::Done { saved: true },
            Some(false) => Handled::LeaseLost,
        })
    }
}
