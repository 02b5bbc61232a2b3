//! Data rights of a contact: an export of everything about them, and
//! erasure. Both are for admins of the contact's workspace only.

use serde_json::Value;

use super::Services;
use crate::domain::Actor;
use crate::events::Hint;
use crate::store::{Result, StoreError};

impl Services {
    pub async fn export_contact(&self, actor: &Actor, id: i64) -> Result<Value> {
        self.store.contact_export(actor.workspace_id, id).await
    }

    /// Erases the contact's personal data (see `store::privacy`). The
    /// `contact.erased` event makes the search index drop their name,
    /// address and words.
    pub async fn erase_contact(&self, actor: &Actor, id: i64) -> Result<()> {
        if id <= 0 {
            return Err(StoreError::NotFound);
        }
        let logged = self.store.erase_contact(actor.workspace_id, id, actor.user_id).await?;
        self.logged(&logged, Hint::default());
        Ok(())
    }
}
