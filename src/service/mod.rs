//! The use cases. Every entry point (REST API, console, chat socket, ticket
//! form, call-back, private page, portal, SMTP listener, IMAP poller, CLI)
//! calls these, and nothing else writes tickets, messages, contacts or
//! articles. A use case takes who acts and what they asked, runs the
//! domain's rules, makes its writes and their events in one transaction
//! (through the store), and wakes the log's consumers. What follows from a
//! change (sockets, search, mail) is done by those consumers, never here.

pub mod campaigns;
mod chat;
mod contacts;
pub mod kb;
mod mail;
pub mod messengers;
pub mod monitors;
pub mod operator;
pub mod plans;
mod privacy;
pub mod reports;
mod routing;
mod rules;
mod sla;
mod surveys;
mod tickets;
mod webhooks;
pub mod worklog;

pub use chat::Identified;
pub use surveys::chat_survey;
pub use tickets::Writer;

use crate::domain::event::Event;
use crate::events::Hint;
use crate::realtime::Bus;
use crate::store::Store;

/// The use cases of one node. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub store: Store,
    pub bus: Bus,
    /// How this node sends outbound webhooks (`crate::webhooks`).
    pub webhooks: std::sync::Arc<crate::webhooks::Settings>,
    /// Workspaces' own synonyms, analysed (`kb::SynonymCache`).
    pub kb_synonyms: std::sync::Arc<kb::SynonymCache>,
    /// How this node runs site monitors (`crate::monitors`).
    pub monitors: std::sync::Arc<crate::monitors::Settings>,
    /// Workspaces' plans and suspension, cached (`plans`).
    pub plans: plans::PlanCache,
}

impl Services {
    pub fn new(store: Store, bus: Bus) -> Self {
        Self {
            store,
            bus,
            webhooks: Default::default(),
            kb_synonyms: Default::default(),
            monitors: Default::default(),
            plans: Default::default(),
        }
    }

    /// After a commit: wakes the consumers, handing this node's fan-out
    /// what the use case already holds.
    fn logged(&self, events: &[Event], hint: Hint) {
        self.bus.logged(events, hint);
    }
}
