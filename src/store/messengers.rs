//! Messenger channels: a workspace's Telegram bot and gateway connections,
//! the contacts behind their chats, and the durable queue of replies going
//! out through them (`messenger_deliveries`).

use sqlx::{Any, Transaction};

use super::events::advance_in;
use super::*;
use crate::domain::event::{Event, EventActor, EventType, NewEvent};

/// A Telegram bot or a gateway. The token and the secret are never shown.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Connection {
    pub id: i64,
    #[serde(skip)]
    pub workspace_id: i64,
    pub kind: String,
    pub name: String,
    #[serde(skip)]
    pub bot_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bot_username: Option<String>,
    #[serde(skip)]
    pub api_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(skip)]
    pub secret: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outbound_url: Option<String>,
    #[serde(skip)]
    pub poll_offset: i64,
    /// `active`, or `error` with `last_error` saying why.
    pub state: String,
    pub last_error: Option<String>,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub created_at: i64,
}

const COLS: &str = "id, workspace_id, kind, name, bot_token, bot_username, api_url, mode, secret, outbound_url, \
                    poll_offset, state, last_error, created_at";

/// What an admin connects.
#[derive(Debug, Clone)]
pub struct NewConnection {
    pub kind: &'static str,
    pub name: String,
    pub bot_token: Option<String>,
    pub bot_username: Option<String>,
    pub api_url: Option<String>,
    pub mode: Option<String>,
    pub secret: String,
    pub outbound_url: Option<String>,
}

/// A reply waiting to go out (or gone, or given up).
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Delivery {
    pub id: i64,
    #[serde(skip)]
    pub workspace_id: i64,
    pub connection_id: i64,
    pub ticket_id: i64,
    pub message_id: i64,
    #[serde(skip)]
    pub recipient: String,
    pub status: String,
    #[serde(skip)]
    pub parts_sent: i64,
    pub attempts: i64,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    #[serde(serialize_with = "crate::domain::time::ser_opt")]
    pub sent_at: Option<i64>,
}

const DELIVERY_COLS: &str = "id, workspace_id, connection_id, ticket_id, message_id, recipient, status, parts_sent, \
                             attempts, next_attempt_at, last_error, sent_at";

/// Who wrote to us on a messenger: the identity that makes them one contact,
/// and what the sidebar shows of them.
#[derive(Debug, Clone)]
pub struct MessengerUser {
    /// `telegram` or `messenger`.
    pub channel: &'static str,
    /// The chat id, or `{connection}:{sender}` for a gateway.
    pub identity: String,
    /// Empty when the messenger did not say: a known contact keeps theirs,
    /// a new one is named by `fallback_name`.
    pub name: String,
    pub fallback_name: String,
    /// Merged into the contact's attributes (username, chat id).
    pub attributes: serde_json::Value,
}

impl Store {
    /// Adds a connection; a second Telegram bot of a workspace is a conflict.
    pub async fn create_connection(&self, workspace_id: i64, c: NewConnection) -> Result<Connection> {
        let now = now_ms();
        if c.kind == "telegram" {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM messenger_connections WHERE workspace_id = $1 AND kind = 'telegram'",
            )
            .bind(workspace_id)
            .fetch_one(&self.read)
            .await?;
            if n > 0 {
                return Err(StoreError::Conflict(
                    "this workspace has a Telegram bot already: delete it first".into(),
                ));
            }
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO messenger_connections (workspace_id, kind, name, bot_token, bot_username, api_url, mode, \
             secret, outbound_url, poll_offset, state, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 'active', $10, $10) RETURNING id",
        )
        .bind(workspace_id)
        .bind(c.kind)
        .bind(&c.name)
        .bind(&c.bot_token)
        .bind(&c.bot_username)
        .bind(&c.api_url)
        .bind(&c.mode)
        .bind(&c.secret)
        .bind(&c.outbound_url)
        .bind(now)
        .fetch_one(&self.write)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                StoreError::Conflict("this workspace has a Telegram bot already: delete it first".into())
            }
            e => e.into(),
        })?;
        self.connection_by_id(id).await?.ok_or(StoreError::NotFound)
    }

    /// A workspace's connections of one kind, oldest first.
    pub async fn connections(&self, workspace_id: i64, kind: &str) -> Result<Vec<Connection>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLS} FROM messenger_connections WHERE workspace_id = $1 AND kind = $2 ORDER BY id"
        ))
        .bind(workspace_id)
        .bind(kind)
        .fetch_all(&self.read)
        .await?)
    }

    /// Any connection by id, for the public hooks and the workers (which
    /// check the kind and take the workspace from it).
    pub async fn connection_by_id(&self, id: i64) -> Result<Option<Connection>> {
        Ok(
            sqlx::query_as(&format!("SELECT {COLS} FROM messenger_connections WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    /// Deletes a workspace's connection (its queued replies go with it).
    pub async fn delete_connection(&self, workspace_id: i64, kind: &str, id: i64) -> Result<()> {
        let n = sqlx::query("DELETE FROM messenger_connections WHERE id = $1 AND workspace_id = $2 AND kind = $3")
            .bind(id)
            .bind(workspace_id)
            .bind(kind)
            .execute(&self.write)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        // A bot's poll lease (see `channels::telegram::poll`) goes with it.
        sqlx::query("DELETE FROM event_consumers WHERE name = $1")
            .bind(format!("telegram-poll:{id}"))
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Every Telegram bot that polls, of every workspace.
    pub async fn polling_bots(&self) -> Result<Vec<Connection>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLS} FROM messenger_connections WHERE kind = 'telegram' AND mode = 'polling' ORDER BY id"
        ))
        .fetch_all(&self.read)
        .await?)
    }

    /// Saves getUpdates' next offset (never backwards).
    pub async fn save_poll_offset(&self, id: i64, offset: i64) -> Result<()> {
        sqlx::query("UPDATE messenger_connections SET poll_offset = $1 WHERE id = $2 AND poll_offset < $1")
            .bind(offset)
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Records what went wrong with a connection (or that it works again).
    pub async fn set_connection_error(&self, id: i64, error: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE messenger_connections SET state = $1, last_error = $2, updated_at = $3 WHERE id = $4")
            .bind(if error.is_some() { "error" } else { "active" })
            .bind(error)
            .bind(now_ms())
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// The contact behind a messenger user, made when new; their name and
    /// attributes are kept up to date from what the messenger says.
    pub async fn messenger_contact(
        &self,
        workspace_id: i64,
        u: &MessengerUser,
    ) -> Result<(ContactSummary, Vec<Event>)> {
        match self.messenger_contact_once(workspace_id, u).await {
            // Two first messages of one chat at once (webhook posts): the
            // other made the contact; this one finds it.
            Err(StoreError::Database(sqlx::Error::Database(d))) if d.is_unique_violation() => {
                self.messenger_contact_once(workspace_id, u).await
            }
            r => r,
        }
    }

    async fn messenger_contact_once(
        &self,
        workspace_id: i64,
        u: &MessengerUser,
    ) -> Result<(ContactSummary, Vec<Event>)> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let found: Option<(i64, String, Option<String>, String)> = sqlx::query_as(
            "SELECT c.id, c.name, c.email, c.attributes FROM contact_identities i JOIN contacts c ON c.id = i.contact_id \
             WHERE i.workspace_id = $1 AND i.channel = $2 AND i.value = $3",
        )
        .bind(workspace_id)
        .bind(u.channel)
        .bind(&u.identity)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((id, name, email, attrs)) = found {
            let mut merged: serde_json::Value = serde_json::from_str(&attrs).unwrap_or_else(|_| serde_json::json!({}));
            let before = merged.clone();
            merge(&mut merged, &u.attributes);
            let name_now = if u.name.is_empty() {
                name.clone()
            } else {
                u.name.clone()
            };
            if merged == before && name_now == name {
                tx.rollback().await?;
                return Ok((ContactSummary { id, name, email }, vec![]));
            }
            sqlx::query("UPDATE contacts SET name = $1, attributes = $2, updated_at = $3 WHERE id = $4")
                .bind(&name_now)
                .bind(merged.to_string())
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let ev = NewEvent::new(workspace_id, EventType::ContactUpdated, EventActor::Contact(id))
                .contact(id)
                .changes(serde_json::json!({ "name": name_now, "attributes": merged }));
            let logged = self.commit_with(tx, vec![ev]).await?;
            return Ok((
                ContactSummary {
                    id,
                    name: name_now,
                    email,
                },
                logged,
            ));
        }
        let name = if u.name.is_empty() { &u.fallback_name } else { &u.name };
        let mut attributes = serde_json::json!({});
        merge(&mut attributes, &u.attributes);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO contacts (workspace_id, name, email, attributes, created_at, updated_at) \
             VALUES ($1, $2, NULL, $3, $4, $4) RETURNING id",
        )
        .bind(workspace_id)
        .bind(name)
        .bind(attributes.to_string())
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO contact_identities (workspace_id, contact_id, channel, value, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(workspace_id)
        .bind(id)
        .bind(u.channel)
        .bind(&u.identity)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let ev = NewEvent::new(workspace_id, EventType::ContactCreated, EventActor::Contact(id))
            .contact(id)
            .changes(serde_json::json!({ "channel": u.channel, "name": name }));
        let logged = self.commit_with(tx, vec![ev]).await?;
        Ok((
            ContactSummary {
                id,
                name: name.clone(),
                email: None,
            },
            logged,
        ))
    }

    /// The contact's newest ticket on `channel` that is not closed.
    pub async fn open_messenger_ticket(
        &self,
        workspace_id: i64,
        contact_id: i64,
        channel: &str,
    ) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM tickets WHERE workspace_id = $1 AND contact_id = $2 AND channel = $3 \
             AND status <> 'closed' ORDER BY id DESC LIMIT 1",
        )
        .bind(workspace_id)
        .bind(contact_id)
        .bind(channel)
        .fetch_optional(&self.read)
        .await?)
    }

    /// Queues agents' replies on messenger tickets, with consumer `name`'s
    /// position, while `owner` holds its lease (false when it does not).
    pub async fn queue_messenger_replies(
        &self,
        name: &str,
        owner: &str,
        events: &[std::sync::Arc<Event>],
    ) -> Result<bool> {
        let Some(last) = events.last() else { return Ok(true) };
        let mut tx = self.write.begin().await?;
        if !advance_in(&mut tx, name, owner, last.id).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        for e in events.iter().filter(|e| is_outgoing_reply(e)) {
            let (Some(ticket_id), Some(message_id)) = (e.ticket_id, e.message_id) else {
                continue;
            };
            if let Some((connection_id, recipient)) = route(&mut tx, e.workspace_id, ticket_id).await? {
                sqlx::query(
                    "INSERT INTO messenger_deliveries (workspace_id, connection_id, ticket_id, message_id, recipient, \
                     status, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6) \
                     ON CONFLICT (message_id) DO NOTHING",
                )
                .bind(e.workspace_id)
                .bind(connection_id)
                .bind(ticket_id)
                .bind(message_id)
                .bind(recipient)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Pending deliveries due by now, oldest first, each the first pending
    /// one of its ticket (so a ticket's replies go out in order).
    pub async fn due_deliveries(&self, limit: i64) -> Result<Vec<Delivery>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {DELIVERY_COLS} FROM messenger_deliveries d WHERE status = 'pending' AND next_attempt_at <= $1 \
             AND NOT EXISTS (SELECT 1 FROM messenger_deliveries e WHERE e.ticket_id = d.ticket_id \
             AND e.status = 'pending' AND e.id < d.id) ORDER BY id LIMIT $2"
        ))
        .bind(now_ms())
        .bind(limit)
        .fetch_all(&self.read)
        .await?)
    }

    /// A connection's deliveries, newest first, for the admin.
    pub async fn deliveries_of_connection(
        &self,
        workspace_id: i64,
        connection_id: i64,
        limit: i64,
    ) -> Result<Vec<Delivery>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {DELIVERY_COLS} FROM messenger_deliveries WHERE workspace_id = $1 AND connection_id = $2 \
             ORDER BY id DESC LIMIT $3"
        ))
        .bind(workspace_id)
        .bind(connection_id)
        .bind(limit)
        .fetch_all(&self.read)
        .await?)
    }

    /// Records how many parts of a delivery went out so far.
    pub async fn delivery_progress(&self, id: i64, parts_sent: i64) -> Result<()> {
        sqlx::query("UPDATE messenger_deliveries SET parts_sent = $1 WHERE id = $2")
            .bind(parts_sent)
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    pub async fn delivery_sent(&self, id: i64) -> Result<()> {
        sqlx::query(
            "UPDATE messenger_deliveries SET status = 'sent', attempts = attempts + 1, sent_at = $1, last_error = NULL \
             WHERE id = $2",
        )
        .bind(now_ms())
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Tries again at `at`; `counted` false when the other side only asked
    /// us to wait (Telegram's 429), which is not a failed attempt.
    pub async fn delivery_retry(&self, id: i64, at: i64, error: &str, counted: bool) -> Result<()> {
        sqlx::query(
            "UPDATE messenger_deliveries SET next_attempt_at = $1, last_error = $2, attempts = attempts + $3 WHERE id = $4",
        )
        .bind(at)
        .bind(error)
        .bind(i64::from(counted))
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    pub async fn delivery_failed(&self, id: i64, error: &str) -> Result<()> {
        sqlx::query(
            "UPDATE messenger_deliveries SET status = 'failed', last_error = $1, attempts = attempts + 1 WHERE id = $2",
        )
        .bind(error)
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(())
    }
}

/// An agent's reply on a Telegram or gateway ticket.
fn is_outgoing_reply(e: &Event) -> bool {
    e.kind == EventType::MessageCreated
        && matches!(e.actor, EventActor::Agent(_))
        && e.changes.get("kind").and_then(|k| k.as_str()) == Some("reply")
        && matches!(
            e.changes.get("channel").and_then(|c| c.as_str()),
            Some("telegram" | "messenger")
        )
}

/// Where a ticket's replies go: (connection, recipient) from its contact's
/// identity on the ticket's channel, if the connection still exists.
async fn route(tx: &mut Transaction<'_, Any>, workspace_id: i64, ticket_id: i64) -> Result<Option<(i64, String)>> {
    let row: Option<(String, i64)> =
        sqlx::query_as("SELECT channel, contact_id FROM tickets WHERE id = $1 AND workspace_id = $2")
            .bind(ticket_id)
            .bind(workspace_id)
            .fetch_optional(&mut **tx)
            .await?;
    let Some((channel, contact_id)) = row else {
        return Ok(None);
    };
    let identity: Option<String> = sqlx::query_scalar(
        "SELECT value FROM contact_identities WHERE workspace_id = $1 AND contact_id = $2 AND channel = $3 \
         ORDER BY id DESC LIMIT 1",
    )
    .bind(workspace_id)
    .bind(contact_id)
    .bind(&channel)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(identity) = identity else { return Ok(None) };
    let (connection, recipient) = match channel.as_str() {
        "telegram" => {
            let id: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM messenger_connections WHERE workspace_id = $1 AND kind = 'telegram'",
            )
            .bind(workspace_id)
            .fetch_optional(&mut **tx)
            .await?;
            match id {
                Some(id) => (id, identity),
                None => return Ok(None),
            }
        }
        _ => {
            let Some((conn, sender)) = identity.split_once(':') else {
                return Ok(None);
            };
            let Ok(conn) = conn.parse::<i64>() else { return Ok(None) };
            let exists: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM messenger_connections WHERE id = $1 AND workspace_id = $2 AND kind = 'messenger'",
            )
            .bind(conn)
            .bind(workspace_id)
            .fetch_optional(&mut **tx)
            .await?;
            if exists.is_none() {
                return Ok(None);
            }
            (conn, sender.to_string())
        }
    };
    Ok(Some((connection, recipient)))
}

/// Copies `from`'s fields into `into` (both objects); others are kept.
fn merge(into: &mut serde_json::Value, from: &serde_json::Value) {
    if !into.is_object() {
        *into = serde_json::json!({});
    }
    if let (Some(i), Some(f)) = (into.as_object_mut(), from.as_object()) {
        for (k, v) in f {
            if !v.is_null() {
                i.insert(k.clone(), v.clone());
            }
        }
    }
}
