//! Data rights: everything stored about one contact, and erasing it. An
//! erased contact keeps its row and its tickets (so reports keep their
//! counts) but no name, address, attributes, message text, files, chat
//! visitor, messenger link, mail copy or survey comment.

use serde_json::{json, Map, Value};
use sqlx::{Any, Column, Transaction};

use super::{now_ms, Result, Store, StoreError};
use crate::domain::event::{Event, EventActor, EventType, NewEvent};

/// What replaces erased text.
pub const ERASED: &str = "[erased]";
/// Rows of one kind an export holds at most.
const EXPORT_MAX: i64 = 50_000;

const TICKETS_OF: &str = "SELECT id FROM tickets WHERE workspace_id = $1 AND contact_id = $2";

async fn rows(tx: &mut Transaction<'_, Any>, sql: &str, ws: i64, id: i64) -> Result<Vec<Value>> {
    let found = sqlx::query(&format!("{sql} LIMIT {EXPORT_MAX}"))
        .bind(ws)
        .bind(id)
        .fetch_all(&mut **tx)
        .await?;
    let mut out = Vec::with_capacity(found.len());
    for row in found {
        let mut obj = Map::new();
        for (i, col) in sqlx::Row::columns(&row).iter().enumerate() {
            obj.insert(col.name().to_string(), super::backup::cell(&row, i)?);
        }
        out.push(Value::Object(obj));
    }
    Ok(out)
}

impl Store {
    /// Everything about a contact of `ws`: the contact and its identities,
    /// its tickets with their messages, its files' metadata (not their
    /// bytes), its survey answers, and the events about them.
    pub async fn contact_export(&self, ws: i64, id: i64) -> Result<Value> {
        let mut tx = self.read.begin().await?;
        let contact = rows(
            &mut tx,
            "SELECT * FROM contacts WHERE workspace_id = $1 AND id = $2",
            ws,
            id,
        )
        .await?;
        let Some(contact) = contact.into_iter().next() else {
            return Err(StoreError::NotFound);
        };
        let q = |sql: &str| sql.replace("{T}", TICKETS_OF);
        let identities = rows(&mut tx, "SELECT id, channel, value, created_at FROM contact_identities WHERE workspace_id = $1 AND contact_id = $2 ORDER BY id", ws, id).await?;
        let tickets = rows(
            &mut tx,
            "SELECT * FROM tickets WHERE workspace_id = $1 AND contact_id = $2 ORDER BY id",
            ws,
            id,
        )
        .await?;
        let messages = rows(&mut tx, &q("SELECT id, ticket_id, kind, author_type, author_id, body, created_at FROM messages WHERE workspace_id = $1 AND ticket_id IN ({T}) AND kind <> 'note' ORDER BY id"), ws, id).await?;
        let attachments = rows(&mut tx, &q("SELECT id, message_id, name, content_type, size, created_at FROM attachments WHERE workspace_id = $1 AND (contact_id = $2 OR message_id IN (SELECT id FROM messages WHERE workspace_id = $1 AND kind <> 'note' AND ticket_id IN ({T}))) ORDER BY id"), ws, id).await?;
        let csat = rows(&mut tx, "SELECT ticket_id, score, comment, asked_at, answered_at FROM csat_responses WHERE workspace_id = $1 AND contact_id = $2 ORDER BY ticket_id", ws, id).await?;
        let nps = rows(&mut tx, "SELECT id, ticket_id, score, comment, sent_at, answered_at FROM nps_surveys WHERE workspace_id = $1 AND contact_id = $2 ORDER BY id", ws, id).await?;
        let events = rows(&mut tx, &q("SELECT id, type, ticket_id, message_id, contact_id, actor_type, actor_id, changes, created_at FROM events WHERE workspace_id = $1 AND (contact_id = $2 OR ticket_id IN ({T})) ORDER BY id"), ws, id).await?;
        tx.commit().await?;
        Ok(json!({
            "format": "storedesk-contact-export",
            "version": 1,
            "exported_at": crate::domain::time::rfc3339(now_ms()),
            "contact": contact,
            "identities": identities,
            "tickets": tickets,
            "messages": messages,
            "attachments": attachments,
            "csat": csat,
            "nps": nps,
            "events": events,
        }))
    }

    /// Erases a contact of `ws` in one transaction (see the module doc) and
    /// logs `contact.erased` with counts and ids only.
    pub async fn erase_contact(&self, ws: i64, id: i64, by: i64) -> Result<Vec<Event>> {
        let mut tx = self.write.begin().await?;
        let row: Option<(String, Option<String>)> =
            sqlx::query_as("SELECT name, email FROM contacts WHERE workspace_id = $1 AND id = $2")
                .bind(ws)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let (name, email) = row.ok_or(StoreError::NotFound)?;
        // Contacts merged into this one (and into those, and so on) kept
        // their names: they are the same person and go too.
        let mut merged: Vec<(i64, String)> = Vec::new();
        let mut frontier = vec![id];
        while let Some(c) = frontier.pop() {
            let rows: Vec<(i64, String)> =
                sqlx::query_as("SELECT id, name FROM contacts WHERE workspace_id = $1 AND merged_into = $2")
                    .bind(ws)
                    .bind(c)
                    .fetch_all(&mut *tx)
                    .await?;
            for (m, n) in rows {
                if m != id && !merged.iter().any(|(x, _)| *x == m) && merged.len() < 10_000 {
                    frontier.push(m);
                    merged.push((m, n));
                }
            }
        }
        let identities: Vec<String> =
            sqlx::query_scalar("SELECT value FROM contact_identities WHERE workspace_id = $1 AND contact_id = $2")
                .bind(ws)
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
        // The strings that name them, longest first (an address before the
        // name inside it); very short ones would scrub unrelated text.
        let mut personal: Vec<String> = std::iter::once(name.trim().to_string())
            .chain(merged.iter().map(|(_, n)| n.trim().to_string()))
            .chain(email)
            .chain(identities)
            .filter(|s| s.chars().count() >= 3)
            .collect();
        personal.sort_by_key(|s| std::cmp::Reverse(s.len()));
        personal.dedup();

        let t = TICKETS_OF;
        // Ids are integers from the database, so they can be spelled into SQL.
        let people = std::iter::once(id)
            .chain(merged.iter().map(|(m, _)| *m))
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let message_ids: Vec<i64> = sqlx::query_scalar(&format!(
            "SELECT id FROM messages WHERE workspace_id = $1 AND ticket_id IN ({t}) ORDER BY id LIMIT 100000"
        ))
        .bind(ws)
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        // Their own words go; what agents wrote keeps its text without them.
        sqlx::query(&format!("UPDATE messages SET body = '{ERASED}', html = NULL WHERE workspace_id = $1 AND author_type = 'contact' AND ticket_id IN ({t})"))
            .bind(ws)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let scrubbed: &[(&str, &str, String)] = &[
            ("tickets", "subject", "workspace_id = $1 AND contact_id = $2".into()),
            ("messages", "body", format!("workspace_id = $1 AND ticket_id IN ({t})")),
            ("messages", "html", format!("workspace_id = $1 AND ticket_id IN ({t})")),
            ("outbox", "subject", format!("workspace_id = $1 AND ticket_id IN ({t})")),
            ("outbox", "body", format!("workspace_id = $1 AND ticket_id IN ({t})")),
            ("outbox", "html", format!("workspace_id = $1 AND ticket_id IN ({t})")),
            ("outbox", "to_addr", "workspace_id = $1 AND $2 = $2".into()),
            (
                "events",
                "changes",
                format!("workspace_id = $1 AND (contact_id IN ({people}) OR ticket_id IN ({t}))"),
            ),
            ("audit_events", "data", "workspace_id = $1 AND $2 = $2".into()),
            ("webhook_deliveries", "event", "workspace_id = $1 AND $2 = $2".into()),
            (
                "messenger_deliveries",
                "recipient",
                "workspace_id = $1 AND $2 = $2".into(),
            ),
        ];
        for s in &personal {
            for (table, col, filter) in scrubbed {
                sqlx::query(&format!(
                    "UPDATE {table} SET {col} = REPLACE({col}, $3, '{ERASED}') WHERE {filter} AND {col} LIKE $4"
                ))
                .bind(ws)
                .bind(id)
                .bind(s.as_str())
                .bind(format!("%{}%", like_escape(s)))
                .execute(&mut *tx)
                .await?;
            }
            for sql in [
                "DELETE FROM portal_tokens WHERE workspace_id = $1 AND email = $2",
                "DELETE FROM email_bounces WHERE workspace_id = $1 AND address = $2",
                "DELETE FROM contact_email_proofs WHERE workspace_id = $1 AND email = $2",
                "DELETE FROM raw_emails WHERE workspace_id = $1 AND mail_from = $2",
            ] {
                sqlx::query(sql).bind(ws).bind(s.as_str()).execute(&mut *tx).await?;
            }
        }
        let files = sqlx::query(&format!("UPDATE attachments SET data = $3, name = '{ERASED}' WHERE workspace_id = $1 AND (contact_id = $2 OR message_id IN (SELECT id FROM messages WHERE workspace_id = $1 AND author_type = 'contact' AND ticket_id IN ({t})))"))
            .bind(ws)
            .bind(id)
            .bind(Vec::<u8>::new())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        for sql in [
            // Mail as received from them, or about their tickets.
            format!("DELETE FROM raw_emails WHERE workspace_id = $1 AND ticket_id IN ({t})"),
            "DELETE FROM chat_visitors WHERE workspace_id = $1 AND contact_id = $2".into(),
            "DELETE FROM contact_identities WHERE workspace_id = $1 AND contact_id = $2".into(),
            "DELETE FROM contact_email_proofs WHERE workspace_id = $1 AND (visitor_contact_id = $2 OR owner_contact_id = $2)".into(),
            "UPDATE csat_responses SET comment = '' WHERE workspace_id = $1 AND contact_id = $2".into(),
            "UPDATE nps_surveys SET comment = '' WHERE workspace_id = $1 AND contact_id = $2".into(),
            format!("UPDATE outbox SET to_addr = '{ERASED}', status = 'failed', last_error = 'contact erased' WHERE workspace_id = $1 AND status = 'pending' AND ticket_id IN ({t})"),
        ] {
            sqlx::query(&sql).bind(ws).bind(id).execute(&mut *tx).await?;
        }
        let now = now_ms();
        for c in std::iter::once(id).chain(merged.iter().map(|(m, _)| *m)) {
            sqlx::query("UPDATE contacts SET name = '', email = NULL, attributes = '{}', notes = '', updated_at = $3 WHERE workspace_id = $1 AND id = $2")
                .bind(ws)
                .bind(c)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            // What their store pages reported (carts, props) is theirs too;
            // campaign exposures hold no personal data and keep the counts.
            sqlx::query("DELETE FROM visitor_events WHERE workspace_id = $1 AND contact_id = $2")
                .bind(ws)
                .bind(c)
                .execute(&mut *tx)
                .await?;
        }
        let tickets: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM tickets WHERE workspace_id = $1 AND contact_id = $2")
                .bind(ws)
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        let changes =
            json!({ "tickets": tickets, "messages": message_ids.len(), "files": files, "message_ids": message_ids });
        super::people::audit(&mut tx, ws, Some(by), "contact.erased", "contact", Some(id), "{}", now).await?;
        let ev = NewEvent::new(ws, EventType::ContactErased, EventActor::Agent(by))
            .contact(id)
            .changes(changes);
        self.commit_with(tx, vec![ev]).await
    }
}

/// A LIKE pattern part that matches at least `s`: `%` becomes the
/// one-character wildcard. The LIKE is only a pre-check (it differs in case
/// handling between the backends); REPLACE does the exact work.
fn like_escape(s: &str) -> String {
    s.replace('%', "_")
}
