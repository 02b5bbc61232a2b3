//! The chat widget's side: visitors and their messages.

use super::Services;
use crate::domain::identity::Claim;
use crate::domain::ids::WorkspaceId;
use crate::domain::Email;
use crate::events::Hint;
use crate::store::chat::{Posted, Visitor};
use crate::store::{ContactSummary, Result};

impl Services {
    /// A new visitor (and the contact behind them) for a browser.
    pub async fn new_visitor(&self, ws: WorkspaceId, token_hash: &str, lang: &str) -> Result<Visitor> {
        let (v, logged) = self.store.create_visitor(ws.get(), token_hash, lang).await?;
        self.logged(&logged, Hint::default());
        Ok(v)
    }

    /// The name and address a visitor gave. False when the address is
    /// another contact's and waits for its owner to confirm a mailed link.
    pub async fn visitor_introduced(
        &self,
        v: &Visitor,
        name: Option<&str>,
        email: Option<&Email>,
        link_base: &str,
    ) -> Result<bool> {
        let (logged, taken) = self.store.set_visitor_contact(v, name, email, link_base).await?;
        self.logged(&logged, Hint::default());
        Ok(taken)
    }

    /// Spends an address proof link: the visitor becomes the address's contact.
    pub async fn confirm_email_proof(&self, ws: WorkspaceId, token: &str) -> Result<i64> {
        let (owner, logged) = self.store.confirm_email_proof(ws.get(), token).await?;
        self.logged(&logged, Hint::default());
        Ok(owner)
    }

    /// A visitor's message: into their open chat, or a new chat ticket. The
    /// same client id twice stores one message.
    pub async fn post_visitor_message(
        &self,
        v: &Visitor,
        client_id: &str,
        body: &str,
        attachment_ids: &[i64],
    ) -> Result<Posted> {
        let (posted, logged) = self
            .store
            .post_visitor_message(v, client_id, body, attachment_ids)
            .await?;
        if posted.created {
            if posted.ticket_created {
                metrics::counter!("storedesk_tickets_created_total", "channel" => "chat").increment(1);
            }
            metrics::counter!("storedesk_messages_created_total", "kind" => "reply").increment(1);
            self.logged(
                &logged,
                Hint::ticket(&posted.ticket)
                    .message(&posted.stored)
                    .chat(&posted.message),
            );
        }
        Ok(posted)
    }

    /// The contact a phone number belongs to, made when new.
    pub async fn contact_by_phone(&self, ws: WorkspaceId, phone: &str, name: &str) -> Result<ContactSummary> {
        let (c, logged) = self.store.contact_by_phone(ws.get(), phone, name).await?;
        self.logged(&logged, Hint::default());
        Ok(c)
    }

    /// A visitor the store vouches for: linked to the customer the claim
    /// names when `user_hash` is the claim signed with the workspace's
    /// identity secret, and left as they were otherwise.
    pub async fn identify_visitor(&self, v: &Visitor, claim: &Claim, user_hash: &str) -> Result<Identified> {
        let Some(secret) = self.store.identity_secret(v.workspace_id).await? else {
            return Ok(Identified::NotSetUp);
        };
        if !claim.verify(&secret, user_hash) {
            metrics::counter!("storedesk_identify_refused_total").increment(1);
            return Ok(Identified::BadSignature);
        }
        let (contact, logged) = self.store.identify_visitor(v, claim).await?;
        self.logged(&logged, Hint::default());
        Ok(Identified::As(contact))
    }
}

/// What became of a visitor's identify call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identified {
    /// Linked to this contact.
    As(i64),
    /// The workspace has no identity secret.
    NotSetUp,
    /// The hash is not the claim signed with the secret.
    BadSignature,
}
