//! Tickets and their conversations.

use super::Services;
use crate::domain::ids::{TicketId, WorkspaceId};
use crate::domain::mention::{mentioned, Handle};
use crate::domain::ticket::PostKind;
use crate::domain::{Actor, MessageKind};
use crate::events::Hint;
use crate::store::{Added, Author, NewMessage, NewTicket, Opened, Result, Ticket, TicketPatch};

/// Who writes a message into a conversation.
#[derive(Debug, Clone, Copy)]
pub enum Writer<'a> {
    /// An agent, within what they may see.
    Agent(&'a Actor),
    /// The ticket's customer (private page, portal, messenger).
    Contact,
    /// The system (an automatic answer).
    System,
}

impl Services {
    /// Opens a ticket with its first message. A repeated external id
    /// returns the first ticket (`created` false) and records nothing.
    pub async fn open_ticket(&self, ws: WorkspaceId, new: NewTicket) -> Result<Opened> {
        let (opened, logged) = self.store.create_ticket(ws.get(), new).await?;
        if opened.created {
            metrics::counter!("storedesk_tickets_created_total", "channel" => opened.ticket.channel.as_str())
                .increment(1);
            let mut hint = Hint::ticket(&opened.ticket);
            if let Some(m) = &opened.message {
                hint = hint.message(m);
            }
            self.logged(&logged, hint);
        }
        Ok(opened)
    }

    /// Changes a ticket's fields as `actor`; each change is written into
    /// the conversation and recorded as one `ticket.updated`.
    pub async fn update_ticket(&self, actor: &Actor, id: TicketId, patch: TicketPatch) -> Result<Ticket> {
        let (t, logged) = self.store.update_ticket(actor, id.get(), patch).await?;
        self.logged(&logged, Hint::ticket(&t));
        Ok(t)
    }

    /// An agent's reply or note. A note's `@handles` notify the agents
    /// they name (who may see the ticket), in the same transaction.
    pub async fn post_as_agent(
        &self,
        actor: &Actor,
        id: TicketId,
        kind: PostKind,
        body: String,
        external_id: Option<String>,
        files: Vec<(String, String, Vec<u8>)>,
    ) -> Result<Added> {
        let mentions = if kind == PostKind::Note && body.contains('@') {
            let users = self.store.list_users(actor.workspace_id).await?;
            let handles: Vec<Handle<'_>> = users
                .iter()
                .filter(|u| u.active)
                .map(|u| Handle {
                    id: u.id,
                    email: &u.email,
                    name: &u.name,
                })
                .collect();
            mentioned(&body, &handles)
        } else {
            vec![]
        };
        let new = NewMessage {
            kind: kind.into(),
            author: Author::Agent(actor.user_id),
            body,
            html: None,
            external_id,
            files,
        };
        self.add_message(actor.workspace_id, Writer::Agent(actor), id, new, &mentions)
            .await
    }

    /// A message from the ticket's customer or from the system.
    pub async fn post_as(&self, ws: WorkspaceId, writer: Writer<'_>, id: TicketId, body: String) -> Result<Added> {
        let author = match writer {
            Writer::Agent(a) => Author::Agent(a.user_id),
            Writer::Contact => Author::Contact,
            Writer::System => Author::System,
        };
        let new = NewMessage {
            kind: MessageKind::Reply,
            author,
            body,
            html: None,
            external_id: None,
            files: vec![],
        };
        self.add_message(ws.get(), writer, id, new, &[]).await
    }

    pub(super) async fn add_message(
        &self,
        ws: i64,
        writer: Writer<'_>,
        id: TicketId,
        new: NewMessage,
        mentions: &[i64],
    ) -> Result<Added> {
        let actor = match writer {
            Writer::Agent(a) => Some(a),
            _ => None,
        };
        let (added, logged) = self.store.add_message(ws, actor, id.get(), new, mentions).await?;
        if added.created {
            metrics::counter!("storedesk_messages_created_total", "kind" => added.message.kind.as_str()).increment(1);
            self.logged(&logged, Hint::ticket(&added.ticket).message(&added.message));
        }
        Ok(added)
    }

    /// Reopens snoozed tickets whose time has come.
    pub async fn wake_snoozed(&self) -> Result<usize> {
        let logged = self.store.wake_snoozed().await?;
        self.logged(&logged, Hint::default());
        Ok(logged.len())
    }
}
