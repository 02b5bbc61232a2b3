//! The SLA consumer: the once-per-cluster reader of the log that moves
//! tickets' clocks (due times, the pending pause) from what happened to
//! them, and saves them with its position in one transaction. Warnings and
//! breaches are found by the timers (see `service::sla`), which look at
//! the due times this consumer writes.

use super::cluster::{Handled, Handler};
use crate::domain::event::Event;
use crate::service::Services;
use crate::store::Store;

pub const NAME: &str = "sla";

pub struct Clocks(pub Services);

impl Handler for Clocks {
    async fn handle(
        &self,
        store: &Store,
        name: &str,
        owner: &str,
        events: &[std::sync::Arc<Event>],
        save: bool,
    ) -> crate::store::Result<Handled> {
        let moved = self.0.move_clocks(events).await?;
        if moved.is_empty() && !save {
            return Ok(Handled::Done { saved: false });
        }
        let last = events.last().map_or(0, |e| e.id);
        Ok(if store.save_clocks(name, owner, last, &moved).await? {
            Handled::Done { saved: true }
        } else {
            Handled::LeaseLost
        })
    }
}
