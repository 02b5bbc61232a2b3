//! Merging two tickets into one conversation and splitting a message off
//! into a ticket of its own. Each is one transaction with its events.

use sqlx::{Any, Transaction};

use super::tickets::{insert_message, load_ticket, update_in, Changer};
use super::*;
use crate::domain::event::{Event, EventActor, EventType, NewEvent};
use crate::domain::{Actor, Invalid, MessageKind, Status};

/// What a merge did: the survivor and the ticket merged into it (closed).
#[derive(Debug, Clone)]
pub struct MergedTickets {
    pub into: Ticket,
    pub from: Ticket,
    pub moved: usize,
}

/// A system line written into a conversation.
fn line(author: Author, body: String) -> NewMessage {
    NewMessage {
        kind: MessageKind::Event,
        author,
        body,
        html: None,
        external_id: None,
        files: vec![],
    }
}

/// Loads two tickets locked in id order, so opposite merges cannot deadlock.
async fn load_pair(
    tx: &mut Transaction<'_, Any>,
    actor: &Actor,
    first: i64,
    second: i64,
    lock: bool,
) -> Result<(Ticket, Ticket)> {
    let (lo, hi) = (first.min(second), first.max(second));
    let a = load_ticket(tx, actor.workspace_id, lo, lock).await?;
    let b = load_ticket(tx, actor.workspace_id, hi, lock).await?;
    if !actor.can_see(a.access()) || !actor.can_see(b.access()) {
        return Err(StoreError::NotFound);
    }
    Ok(if a.id == first { (a, b) } else { (b, a) })
}

impl Store {
    /// Moves every message of ticket `from` into `into` (they keep their
    /// times, so the conversation reads in order), closes `from` with a
    /// pointer to `into`, and logs `ticket.merged` (naming the moved
    /// messages, for the search index) and the closing `ticket.updated`.
    #[tracing::instrument(skip_all, fields(workspace_id = actor.workspace_id, into, from))]
    pub async fn merge_tickets(&self, actor: &Actor, into: i64, from: i64) -> Result<(MergedTickets, Vec<Event>)> {
        if into == from {
            return Err(Invalid::new("from", "a ticket cannot be merged into itself").into());
        }
        let mut tx = self.write.begin().await?;
        let lock = self.backend == Backend::Postgres;
        let (survivor, other) = load_pair(&mut tx, actor, into, from, lock).await?;
        if survivor.merged_into.is_some() || other.merged_into.is_some() {
            return Err(StoreError::Conflict("one of these tickets was already merged".into()));
        }
        let ws = actor.workspace_id;
        let now = now_ms();
        let moved: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM messages WHERE workspace_id = $1 AND ticket_id = $2 ORDER BY created_at, id",
        )
        .bind(ws)
        .bind(other.id)
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query("UPDATE messages SET ticket_id = $1 WHERE workspace_id = $2 AND ticket_id = $3")
            .bind(survivor.id)
            .bind(ws)
            .bind(other.id)
            .execute(&mut *tx)
            .await?;
        super::worklog::move_work_in(&mut tx, ws, other.id, survivor.id).await?;
        // The survivor's activity and the customer's wait cover both.
        let last = survivor.last_message_at.max(other.last_message_at);
        let waiting = match (survivor.waiting_since, other.waiting_since) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a
                .or(b)
                .filter(|_| matches!(survivor.status, Status::Open | Status::Pending)),
        };
        sqlx::query("UPDATE tickets SET last_message_at = $1, waiting_since = $2, updated_at = $3 WHERE id = $4")
            .bind(last)
            .bind(waiting)
            .bind(now)
            .bind(survivor.id)
            .execute(&mut *tx)
            .await?;
        let by = Author::Agent(actor.user_id);
        insert_message(
            &mut tx,
            ws,
            survivor.id,
            &line(by, format!("Ticket #{} merged into this one", other.number)),
            now,
        )
        .await?;
        let mut events = Vec::new();
        let closing = TicketPatch {
            status: Some(Status::Closed),
            ..Default::default()
        };
        if let Some((mut ev, _)) = update_in(&mut tx, Changer::Agent(actor), &other, closing).await? {
            // Consumers (reports) tell a merge's close from a resolution.
            ev.changes["merged_into"] = survivor.id.into();
            events.push(ev);
        }
        sqlx::query("UPDATE tickets SET merged_into = $1 WHERE id = $2")
            .bind(survivor.id)
            .bind(other.id)
            .execute(&mut *tx)
            .await?;
        insert_message(
            &mut tx,
            ws,
            other.id,
            &line(by, format!("Merged into #{}", survivor.number)),
            now,
        )
        .await?;
        events.push(
            NewEvent::new(ws, EventType::TicketMerged, EventActor::Agent(actor.user_id))
                .ticket(survivor.id)
                .contact(survivor.contact.id)
                .changes(serde_json::json!({
                    "from": other.id, "from_number": other.number, "into_number": survivor.number,
                    "from_contact_id": other.contact.id, "message_ids": &moved,
                })),
        );
        super::people::audit(
            &mut tx,
            ws,
            Some(actor.user_id),
            "ticket.merged",
            "ticket",
            Some(survivor.id),
            &serde_json::json!({ "from": other.id }).to_string(),
            now,
        )
        .await?;
        let into_after = load_ticket(&mut tx, ws, survivor.id, false).await?;
        let from_after = load_ticket(&mut tx, ws, other.id, false).await?;
        let logged = self.commit_with(tx, events).await?;
        Ok((
            MergedTickets {
                into: into_after,
                from: from_after,
                moved: moved.len(),
            },
            logged,
        ))
    }

    /// Makes one message of a ticket the first of a new ticket of the same
    /// contact and channel (and the same team and assignee, so whoever
    /// split it still sees it), with a pointer line in both.
    #[tracing::instrument(skip_all, fields(workspace_id = actor.workspace_id, ticket_id = id))]
    pub async fn split_ticket(&self, actor: &Actor, id: i64, message_id: i64) -> Result<(Ticket, Vec<Event>)> {
        let ws = actor.workspace_id;
        let mut tx = self.write.begin().await?;
        let t = load_ticket(&mut tx, ws, id, self.backend == Backend::Postgres).await?;
        if !actor.can_see(t.access()) {
            return Err(StoreError::NotFound);
        }
        if t.merged_into.is_some() {
            return Err(StoreError::Conflict("this ticket was merged into another".into()));
        }
        let m: Option<(String, String, i64)> = sqlx::query_as(
            "SELECT kind, author_type, created_at FROM messages WHERE workspace_id = $1 AND ticket_id = $2 AND id = $3",
        )
        .bind(ws)
        .bind(id)
        .bind(message_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((kind, author_type, at)) = m else {
            return Err(Invalid::new("message_id", "no such message in this ticket").into());
        };
        if kind == "event" {
            return Err(Invalid::new("message_id", "a system line cannot be split off").into());
        }
        let others: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM messages WHERE ticket_id = $1 AND id <> $2 AND kind <> 'event'")
                .bind(id)
                .bind(message_id)
                .fetch_one(&mut *tx)
                .await?;
        if others == 0 {
            return Err(Invalid::new("message_id", "the ticket's only message cannot be split off").into());
        }
        let now = now_ms();
        let number: i64 = sqlx::query_scalar("UPDATE workspaces SET next_ticket_number = next_ticket_number + 1 WHERE id = $1 RETURNING next_ticket_number - 1")
            .bind(ws)
            .fetch_one(&mut *tx)
            .await?;
        let waiting = (author_type == "contact" && kind == "reply").then_some(at);
        let new_id: i64 = sqlx::query_scalar(
            "INSERT INTO tickets (workspace_id, number, subject, status, priority, channel, contact_id, created_at, updated_at, last_message_at, reply_token, team_id, assignee_id, waiting_since, spam) \
             VALUES ($1, $2, $3, 'open', $4, $5, $6, $7, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        )
        .bind(ws)
        .bind(number)
        .bind(&t.subject)
        .bind(t.priority.as_str())
        .bind(t.channel.as_str())
        .bind(t.contact.id)
        .bind(now)
        .bind(at)
        .bind(super::mail::new_reply_token())
        .bind(t.team_id)
        .bind(t.assignee_id)
        .bind(waiting)
        .bind(t.spam as i64)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE messages SET ticket_id = $1 WHERE id = $2")
            .bind(new_id)
            .bind(message_id)
            .execute(&mut *tx)
            .await?;
        let by = Author::Agent(actor.user_id);
        insert_message(
            &mut tx,
            ws,
            id,
            &line(by, format!("A message was split off into #{number}")),
            now,
        )
        .await?;
        insert_message(
            &mut tx,
            ws,
            new_id,
            &line(by, format!("Split off from #{}", t.number)),
            now,
        )
        .await?;
        sqlx::query("UPDATE tickets SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let new = load_ticket(&mut tx, ws, new_id, false).await?;
        let actor_ev = EventActor::Agent(actor.user_id);
        let events = vec![
            // A new request as far as routing, SLA and reports are concerned.
            NewEvent::new(ws, EventType::TicketCreated, actor_ev)
                .ticket(new_id)
                .message(message_id)
                .contact(t.contact.id)
                .changes(serde_json::json!({
                    "channel": t.channel, "subject": &t.subject, "status": Status::Open, "priority": t.priority,
                    "team_id": t.team_id, "labels": [], "kind": null, "feature": null, "split_from": id,
                })),
            NewEvent::new(ws, EventType::TicketSplit, actor_ev)
                .ticket(id)
                .message(message_id)
                .contact(t.contact.id)
                .changes(serde_json::json!({
                    "into": new_id, "into_number": number, "message_ids": [message_id],
                })),
        ];
        super::people::audit(
            &mut tx,
            ws,
            Some(actor.user_id),
            "ticket.split",
            "ticket",
            Some(id),
            &serde_json::json!({ "into": new_id, "message_id": message_id }).to_string(),
            now,
        )
        .await?;
        let logged = self.commit_with(tx, events).await?;
        Ok((new, logged))
    }
}
