//! The rules consumer: the once-per-cluster reader of the log that runs
//! the workspaces' automation rules on ticket and message events. Its
//! effects are not committed with its position: each rule's actions are
//! their own transaction, made once per (rule, ticket, event) by
//! `rule_runs`, so reading a page again after a crash repeats nothing.

use super::cluster::{Handled, Handler};
use crate::domain::event::Event;
use crate::service::Services;
use crate::store::Store;

pub const NAME: &str = "rules";

pub struct Runner(pub Services);

impl Handler for Runner {
    async fn handle(
        &self,
        store: &Store,
        name: &str,
        owner: &str,
        events: &[std::sync::Arc<Event>],
        save: bool,
    ) -> crate::store::Result<Handled> {
        self.0.run_rules(events).await?;
        super::cluster::saved_after(store, name, owner, events, save).await
    }
}
