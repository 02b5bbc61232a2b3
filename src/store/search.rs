//! What the ticket search index reads from the database, and the index
//! itself once a node attached it (`list_tickets` asks it for `q`).

use super::query::Sql;
use super::*;
use crate::search::{TicketIndex, MAX_BODY_CHARS};

/// A message as the search index takes it. Events are read too (a subject
/// change writes one, and the ticket's document must follow) but not indexed.
#[derive(Debug, sqlx::FromRow)]
pub struct IndexMessage {
    pub id: i64,
    pub workspace_id: i64,
    pub ticket_id: i64,
    pub kind: String,
    pub body: String,
    pub created_at: i64,
}

/// The searchable fields of a ticket.
#[derive(Debug, sqlx::FromRow)]
pub struct IndexTicket {
    pub id: i64,
    pub workspace_id: i64,
    pub subject: String,
    pub contact_name: String,
    pub contact_email: Option<String>,
}

/// Tickets a search may show at most: the best this many by relevance,
/// before access and filters (the page then orders them as asked).
const SEARCH_CANDIDATES: usize = 1000;

fn message_select() -> String {
    format!(
        "SELECT id, workspace_id, ticket_id, kind, SUBSTR(body, 1, {MAX_BODY_CHARS}) AS body, created_at FROM messages"
    )
}

impl Store {
    /// Lets `list_tickets` search with this node's index. Only a weak handle
    /// is kept: the index lives as long as the app state that opened it.
    pub fn attach_ticket_index(&self, index: &TicketIndex) {
        *self.ticket_index.write().unwrap_or_else(|e| e.into_inner()) = Some(index.downgrade());
    }

    pub fn ticket_index(&self) -> Option<TicketIndex> {
        self.ticket_index
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()?
            .upgrade()
    }

    /// Candidate tickets for an agent's search, best first; `None` without
    /// an index (or when it failed: the caller then scans).
    pub(super) async fn search_tickets(&self, workspace_id: i64, q: &str) -> Option<Vec<i64>> {
        let index = self.ticket_index()?;
        let q = q.to_string();
        match tokio::task::spawn_blocking(move || index.search(workspace_id, &q, SEARCH_CANDIDATES)).await {
            Ok(Ok(ids)) => Some(ids),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "ticket search failed; scanning instead");
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "ticket search failed; scanning instead");
                None
            }
        }
    }

    /// Messages of every workspace after `after`, in id order.
    pub async fn messages_for_index(&self, after: i64, limit: i64) -> Result<Vec<IndexMessage>> {
        Ok(
            sqlx::query_as(&format!("{} WHERE id > $1 ORDER BY id LIMIT $2", message_select()))
                .bind(after)
                .bind(limit)
                .fetch_all(&self.read)
                .await?,
        )
    }

    /// Those of `ids` that exist now.
    pub async fn messages_for_index_by_id(&self, ids: &[i64]) -> Result<Vec<IndexMessage>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(&message_select());
        let l = sql.list(ids.iter().copied());
        sql.push(&format!(" WHERE id IN ({l}) ORDER BY id"));
        Ok(sql.query_as().fetch_all(&self.read).await?)
    }

    pub async fn tickets_for_index(&self, ids: &[i64]) -> Result<Vec<IndexTicket>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new("SELECT t.id, t.workspace_id, t.subject, c.name AS contact_name, c.email AS contact_email FROM tickets t JOIN contacts c ON c.id = t.contact_id");
        let l = sql.list(ids.iter().copied());
        sql.push(&format!(" WHERE t.id IN ({l})"));
        Ok(sql.query_as().fetch_all(&self.read).await?)
    }

    /// The tickets of these contacts.
    pub async fn tickets_of_contacts(&self, contact_ids: &[i64]) -> Result<Vec<i64>> {
        if contact_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new("SELECT id FROM tickets WHERE contact_id IN (");
        let l = sql.list(contact_ids.iter().copied());
        sql.push(&l).push(")");
        Ok(sql
            .query_as::<(i64,)>()
            .fetch_all(&self.read)
            .await?
            .into_iter()
            .map(|(id,)| id)
            .collect())
    }
}
