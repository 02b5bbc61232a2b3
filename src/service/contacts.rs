//! Contacts (changes, blocking, merging) and merging or splitting tickets.

use super::Services;
use crate::domain::Actor;
use crate::events::Hint;
use crate::store::contacts::{Contact, ContactPatch};
use crate::store::merge::MergedTickets;
use crate::store::{Result, Ticket};

impl Services {
    /// Moves ticket `from`'s messages into `into` and closes `from`.
    pub async fn merge_tickets(&self, actor: &Actor, into: i64, from: i64) -> Result<MergedTickets> {
        let (m, logged) = self.store.merge_tickets(actor, into, from).await?;
        self.logged(&logged, Hint::ticket(&m.into));
        Ok(m)
    }

    /// Makes one message of ticket `id` a new ticket.
    pub async fn split_ticket(&self, actor: &Actor, id: i64, message_id: i64) -> Result<Ticket> {
        let (t, logged) = self.store.split_ticket(actor, id, message_id).await?;
        self.logged(&logged, Hint::ticket(&t));
        Ok(t)
    }

    pub async fn update_contact(&self, actor: &Actor, id: i64, patch: ContactPatch) -> Result<Contact> {
        let (c, logged) = self.store.update_contact(actor, id, patch).await?;
        self.logged(&logged, Hint::default());
        Ok(c)
    }

    /// From now on a blocked contact's messages on every channel are filed as spam.
    pub async fn block_contact(&self, actor: &Actor, id: i64, blocked: bool) -> Result<Contact> {
        let (c, logged) = self.store.set_contact_blocked(actor, id, blocked).await?;
        self.logged(&logged, Hint::default());
        Ok(c)
    }

    pub async fn merge_contacts(&self, actor: &Actor, into: i64, from: i64) -> Result<Contact> {
        let (c, logged) = self.store.merge_contacts(actor, into, from).await?;
        self.logged(&logged, Hint::default());
        Ok(c)
    }
}
