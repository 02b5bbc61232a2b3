//! Live chat: visitors, their conversation, read marks, attachments,
//! widget settings, agent presence, and the e-mail follow-up of a reply the
//! visitor did not see.

use serde::{Deserialize, Serialize};
use sqlx::{Any, Transaction};

use super::query::Sql;
use super::tickets::{add_message_in, create_in, load_ticket};
use super::*;
use crate::domain::event::{change, Event, EventActor, EventType, NewEvent};
use crate::domain::hours::BusinessHours;
use crate::domain::{Channel, Email, Invalid, MessageKind, Priority, Status};

/// A chat visitor: a browser that holds a visitor token, tied to a contact.
#[derive(Debug, Clone, Serialize)]
pub struct Visitor {
    pub id: i64,
    #[serde(skip)]
    pub workspace_id: i64,
    pub contact_id: i64,
    pub name: String,
    pub email: Option<String>,
    pub lang: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AttachmentMeta {
    pub id: i64,
    pub name: String,
    pub size: i64,
    pub content_type: String,
    #[serde(skip)]
    pub secret: String,
}

impl AttachmentMeta {
    /// As the visitor's page shows it, with the address it downloads from.
    pub fn json(&self, slug: &str) -> serde_json::Value {
        serde_json::json!({ "id": self.id, "name": self.name, "size": self.size, "content_type": self.content_type, "url": format!("/p/{slug}/files/{}/{}", self.id, self.secret) })
    }
}

impl ChatMessage {
    /// As the visitor's socket sends it: its files with their addresses.
    pub fn json(&self, slug: &str) -> serde_json::Value {
        let mut v = serde_json::json!(self);
        v["attachments"] = self.attachments.iter().map(|a| a.json(slug)).collect();
        v
    }
}

/// A message as the visitor sees it.
#[derive(Debug, Clone, Serialize)]
pub struct ChatMessage {
    pub id: i64,
    #[serde(skip)]
    pub ticket_id: i64,
    /// "visitor", "agent" or "system".
    pub from: &'static str,
    pub author_name: String,
    pub body: String,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub created_at: i64,
    pub client_id: Option<String>,
    pub attachments: Vec<AttachmentMeta>,
}

/// What the admin sets for the chat widget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WidgetSettings {
    pub greeting: String,
    pub color: String,
    /// "off", "optional" or "required".
    pub prechat_name: String,
    pub prechat_email: String,
    /// Origins (`https://shop.example`) whose pages may open the chat; empty
    /// allows any.
    pub allowed_origins: Vec<String>,
    pub offline_message: String,
    pub hours: BusinessHours,
    /// Help topics the ticket form offers; each may route to a team.
    pub topics: Vec<Topic>,
    /// The greeting and the away text in other languages, by language
    /// (`ru`, `uk`, `fa`); a visitor in one of them sees these.
    pub texts: std::collections::BTreeMap<String, WidgetTexts>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WidgetTexts {
    pub greeting: String,
    pub offline_message: String,
}

impl WidgetSettings {
    /// The greeting and away text for a visitor in `lang`: its own where
    /// the admin wrote them, else the main ones.
    pub fn texts_for(&self, lang: &str) -> (&str, &str) {
        let t = self.texts.get(lang);
        let greeting = t
            .map(|t| &t.greeting)
            .filter(|s| !s.trim().is_empty())
            .unwrap_or(&self.greeting);
        let away = t
            .map(|t| &t.offline_message)
            .filter(|s| !s.trim().is_empty())
            .unwrap_or(&self.offline_message);
        (greeting, away)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topic {
    pub name: String,
    #[serde(default)]
    pub team_id: Option<i64>,
}

impl Default for WidgetSettings {
    fn default() -> Self {
        Self {
            greeting: "Hi! How can we help?".into(),
            color: "#2563eb".into(),
            prechat_name: "optional".into(),
            prechat_email: "optional".into(),
            allowed_origins: vec![],
            offline_message: "We are away right now. Leave your message and e-mail, and we will answer by mail.".into(),
            hours: BusinessHours::default(),
            topics: vec![],
            texts: Default::default(),
        }
    }
}

impl WidgetSettings {
    pub fn validate(&self) -> Result<(), Invalid> {
        crate::domain::optional_text("greeting", &self.greeting, 500)?;
        crate::domain::optional_text("offline_message", &self.offline_message, 1000)?;
        for (lang, t) in &self.texts {
            if !crate::i18n::LANGS.contains(&lang.as_str()) {
                return Err(Invalid::new("texts", format!("'{lang}' is not one of en, ru, uk, fa")));
            }
            crate::domain::optional_text("texts.greeting", &t.greeting, 500)?;
            crate::domain::optional_text("texts.offline_message", &t.offline_message, 1000)?;
        }
        let c = self.color.as_bytes();
        if !(c.len() == 7 && c[0] == b'#' && c[1..].iter().all(u8::is_ascii_hexdigit)) {
            return Err(Invalid::new("color", "must be like #2563eb"));
        }
        for (field, v) in [
            ("prechat_name", &self.prechat_name),
            ("prechat_email", &self.prechat_email),
        ] {
            if !matches!(v.as_str(), "off" | "optional" | "required") {
                return Err(Invalid::new(field, "must be off, optional or required"));
            }
        }
        for o in &self.allowed_origins {
            let ok = (o.starts_with("https://") || o.starts_with("http://"))
                && !o.ends_with('/')
                && o.len() < 200
                && !o[8..].contains('/');
            if !ok {
                return Err(Invalid::new(
                    "allowed_origins",
                    format!("'{o}' is not an origin like https://shop.example"),
                ));
            }
        }
        if self.topics.len() > 50
            || self
                .topics
                .iter()
                .any(|t| t.name.trim().is_empty() || t.name.chars().count() > 100)
        {
            return Err(Invalid::new(
                "topics",
                "at most 50 topics, each named in 1 to 100 characters",
            ));
        }
        self.hours.validate()
    }

    pub fn origin_allowed(&self, origin: Option<&str>) -> bool {
        self.allowed_origins.is_empty()
            || origin.is_some_and(|o| self.allowed_origins.iter().any(|a| a.eq_ignore_ascii_case(o)))
    }
}

/// The outcome of a visitor's message.
#[derive(Debug, Clone)]
pub struct Posted {
    pub message: ChatMessage,
    /// The same message as the agents' API shows it.
    pub stored: Message,
    /// False when the same client id was sent before: nothing new stored.
    pub created: bool,
    pub ticket: Ticket,
    pub ticket_created: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Visitor,
    Agent,
}

#[derive(sqlx::FromRow)]
struct ChatRow {
    id: i64,
    ticket_id: i64,
    author_type: String,
    author_name: Option<String>,
    body: String,
    external_id: Option<String>,
    created_at: i64,
}

const CHAT_SELECT: &str = "SELECT m.id, m.ticket_id, m.author_type, u.name AS author_name, m.body, m.external_id, m.created_at FROM messages m JOIN tickets t ON t.id = m.ticket_id LEFT JOIN users u ON u.id = m.author_id";

fn client_id_of(external_id: Option<String>, visitor_prefix: &str) -> Option<String> {
    external_id.and_then(|e| e.strip_prefix(visitor_prefix).map(str::to_string))
}

fn external_prefix(visitor_id: i64) -> String {
    format!("chat:{visitor_id}:")
}

impl Store {
    pub async fn create_visitor(
        &self,
        workspace_id: i64,
        token_hash: &str,
        lang: &str,
    ) -> Result<(Visitor, Vec<Event>)> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let contact_id: i64 = sqlx::query_scalar("INSERT INTO contacts (workspace_id, name, email, attributes, created_at, updated_at) VALUES ($1, '', NULL, '{}', $2, $2) RETURNING id")
            .bind(workspace_id)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        let id: i64 = sqlx::query_scalar("INSERT INTO chat_visitors (workspace_id, contact_id, token_hash, lang, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id")
            .bind(workspace_id)
            .bind(contact_id)
            .bind(token_hash)
            .bind(lang)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO contact_identities (workspace_id, contact_id, channel, value, created_at) VALUES ($1, $2, 'chat', $3, $4)")
            .bind(workspace_id)
            .bind(contact_id)
            .bind(format!("visitor-{id}"))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let ev = NewEvent::new(workspace_id, EventType::ContactCreated, EventActor::Contact(contact_id))
            .contact(contact_id)
            .changes(serde_json::json!({ "channel": Channel::Chat, "name": "", "email": null }));
        let logged = self.commit_with(tx, vec![ev]).await?;
        Ok((
            Visitor {
                id,
                workspace_id,
                contact_id,
                name: String::new(),
                email: None,
                lang: lang.to_string(),
            },
            logged,
        ))
    }

    pub async fn visitor_by_token(&self, workspace_id: i64, token_hash: &str) -> Result<Option<Visitor>> {
        let row: Option<(i64, i64, String, Option<String>, String)> = sqlx::query_as(
            "SELECT v.id, v.contact_id, c.name, c.email, v.lang FROM chat_visitors v JOIN contacts c ON c.id = v.contact_id WHERE v.workspace_id = $1 AND v.token_hash = $2",
        )
        .bind(workspace_id)
        .bind(token_hash)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.map(|(id, contact_id, name, email, lang)| Visitor {
            id,
            workspace_id,
            contact_id,
            name,
            email,
            lang,
        }))
    }

    /// Records where the visitor is and whether a socket of theirs is open.
    pub async fn touch_visitor(
        &self,
        visitor_id: i64,
        online: bool,
        page: Option<(&str, &str)>,
        context: Option<&str>,
        user_agent: Option<&str>,
        lang: Option<&str>,
    ) -> Result<()> {
        let mut sql = Sql::new("UPDATE chat_visitors SET online = ");
        let p = sql.arg(online as i64);
        sql.push(&p);
        let p = sql.arg(now_ms());
        sql.push(&format!(", last_seen_at = {p}"));
        if let Some((url, title)) = page {
            let (u, t) = (sql.arg(url), sql.arg(title));
            sql.push(&format!(", page_url = {u}, page_title = {t}"));
        }
        for (col, v) in [("context", context), ("user_agent", user_agent), ("lang", lang)] {
            if let Some(v) = v {
                let p = sql.arg(v);
                sql.push(&format!(", {col} = {p}"));
            }
        }
        let p = sql.arg(visitor_id);
        sql.push(&format!(" WHERE id = {p}"));
        sql.query().execute(&self.write).await?;
        Ok(())
    }

    /// The page, context and browser a visitor's last socket reported.
    pub async fn visitor_state(&self, workspace_id: i64, contact_id: i64) -> Result<Option<serde_json::Value>> {
        let row: Option<(i64, String, String, String, String, String, i64)> = sqlx::query_as(
            "SELECT online, page_url, page_title, context, user_agent, lang, last_seen_at FROM chat_visitors WHERE workspace_id = $1 AND contact_id = $2 ORDER BY last_seen_at DESC LIMIT 1",
        )
        .bind(workspace_id)
        .bind(contact_id)
        .fetch_optional(&self.read)
        .await?;
        Ok(row.map(|(online, url, title, context, ua, lang, seen)| {
            serde_json::json!({
                "online": online != 0, "page": { "url": url, "title": title },
                "context": serde_json::from_str::<serde_json::Value>(&context).unwrap_or_default(),
                "user_agent": ua, "lang": lang, "last_seen_at": crate::domain::time::rfc3339(seen),
            })
        }))
    }

    /// Sets the name and e-mail the visitor gave. An address another
    /// contact owns is not taken on the visitor's word: a link goes there
    /// instead (see `contacts::send_proof_in`), and the visitor is linked
    /// once it is opened. Returns the events and whether the address was
    /// taken (false when a proof is pending).
    pub async fn set_visitor_contact(
        &self,
        v: &Visitor,
        name: Option<&str>,
        email: Option<&Email>,
        link_base: &str,
    ) -> Result<(Vec<Event>, bool)> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let (old_name, old_email): (String, Option<String>) =
            sqlx::query_as("SELECT name, email FROM contacts WHERE id = $1")
                .bind(v.contact_id)
                .fetch_one(&mut *tx)
                .await?;
        let mut changes = serde_json::Map::new();
        if let Some(n) = name.filter(|n| !n.is_empty() && *n != old_name) {
            sqlx::query("UPDATE contacts SET name = $1, updated_at = $2 WHERE id = $3")
                .bind(n)
                .bind(now)
                .bind(v.contact_id)
                .execute(&mut *tx)
                .await?;
            changes.insert("name".into(), change(&old_name, n));
        }
        let owner: Option<i64> = match email {
            Some(e) => sqlx::query_scalar(
                "SELECT contact_id FROM contact_identities WHERE workspace_id = $1 AND channel = 'email' AND value = $2",
            )
            .bind(v.workspace_id)
            .bind(e.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .filter(|o| *o != v.contact_id),
            None => None,
        };
        if let (Some(e), Some(owner)) = (email, owner) {
            super::contacts::send_proof_in(&mut tx, v.workspace_id, v.contact_id, owner, e, &v.lang, link_base, now)
                .await?;
        } else if let Some(e) = email.filter(|e| old_email.as_deref() != Some(e.as_str())) {
            changes.insert("email".into(), change(&old_email, e.as_str()));
            sqlx::query("UPDATE contacts SET email = $1, updated_at = $2 WHERE id = $3")
                .bind(e.as_str())
                .bind(now)
                .bind(v.contact_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO contact_identities (workspace_id, contact_id, channel, value, created_at) VALUES ($1, $2, 'email', $3, $4) ON CONFLICT DO NOTHING")
                .bind(v.workspace_id)
                .bind(v.contact_id)
                .bind(e.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        let ev = if changes.is_empty() {
            vec![]
        } else {
            vec![NewEvent::new(
                v.workspace_id,
                EventType::ContactUpdated,
                EventActor::Contact(v.contact_id),
            )
            .contact(v.contact_id)
            .changes(changes.into())]
        };
        Ok((self.commit_with(tx, ev).await?, owner.is_none()))
    }

    /// Every public message of the visitor's chats after `after_id`, oldest first.
    pub async fn visitor_messages(&self, v: &Visitor, after_id: i64, limit: i64) -> Result<Vec<ChatMessage>> {
        let rows: Vec<ChatRow> = sqlx::query_as(&format!("{CHAT_SELECT} WHERE t.workspace_id = $1 AND t.contact_id = $2 AND t.channel = 'chat' AND m.kind = 'reply' AND m.id > $3 ORDER BY m.id LIMIT $4"))
            .bind(v.workspace_id)
            .bind(v.contact_id)
            .bind(after_id)
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        self.chat_messages(rows, &external_prefix(v.id)).await
    }

    /// The public messages of one ticket (replies, never notes), oldest first.
    pub async fn public_messages(&self, workspace_id: i64, ticket_id: i64) -> Result<Vec<ChatMessage>> {
        let rows: Vec<ChatRow> = sqlx::query_as(&format!("{CHAT_SELECT} WHERE t.workspace_id = $1 AND m.ticket_id = $2 AND m.kind = 'reply' ORDER BY m.id LIMIT 1000"))
            .bind(workspace_id)
            .bind(ticket_id)
            .fetch_all(&self.read)
            .await?;
        self.chat_messages(rows, "").await
    }

    /// One public chat message and the contact it belongs to, for delivery
    /// to that contact's sockets.
    pub async fn chat_message(&self, workspace_id: i64, message_id: i64) -> Result<Option<(ChatMessage, i64)>> {
        let row: Option<ChatRow> = sqlx::query_as(&format!(
            "{CHAT_SELECT} WHERE t.workspace_id = $1 AND m.id = $2 AND t.channel = 'chat' AND m.kind = 'reply'"
        ))
        .bind(workspace_id)
        .bind(message_id)
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let (contact_id, visitor_id): (i64, Option<i64>) = sqlx::query_as("SELECT t.contact_id, (SELECT MIN(v.id) FROM chat_visitors v WHERE v.contact_id = t.contact_id) FROM tickets t WHERE t.id = $1")
            .bind(row.ticket_id)
            .fetch_one(&self.read)
            .await?;
        let prefix = visitor_id.map(external_prefix).unwrap_or_default();
        let mut m = self.chat_messages(vec![row], &prefix).await?;
        Ok(m.pop().map(|m| (m, contact_id)))
    }

    async fn chat_messages(&self, rows: Vec<ChatRow>, prefix: &str) -> Result<Vec<ChatMessage>> {
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut atts = self.attachments_of(&ids).await?;
        Ok(rows
            .into_iter()
            .map(|r| ChatMessage {
                id: r.id,
                ticket_id: r.ticket_id,
                from: match r.author_type.as_str() {
                    "contact" => "visitor",
                    "agent" => "agent",
                    _ => "system",
                },
                author_name: r.author_name.unwrap_or_default(),
                body: r.body,
                created_at: r.created_at,
                client_id: if r.author_type == "contact" {
                    client_id_of(r.external_id, prefix)
                } else {
                    None
                },
                attachments: atts.remove(&r.id).unwrap_or_default(),
            })
            .collect())
    }

    /// Files sent with messages (of one workspace's tickets), by message id.
    pub async fn attachments_of(
        &self,
        message_ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, Vec<AttachmentMeta>>> {
        let mut out: std::collections::HashMap<i64, Vec<AttachmentMeta>> = Default::default();
        if message_ids.is_empty() {
            return Ok(out);
        }
        let mut sql =
            Sql::new("SELECT id, message_id, name, size, content_type, secret FROM attachments WHERE message_id IN (");
        let l = sql.list(message_ids.iter().copied());
        sql.push(&l).push(") ORDER BY id");
        let rows: Vec<(i64, i64, String, i64, String, String)> = sql.query_as().fetch_all(&self.read).await?;
        for (id, mid, name, size, content_type, secret) in rows {
            out.entry(mid).or_default().push(AttachmentMeta {
                id,
                name,
                size,
                content_type,
                secret,
            });
        }
        Ok(out)
    }

    /// Stores the visitor's message: into their open chat, or a new chat
    /// ticket. The same `client_id` twice stores one message. Messages that
    /// arrive together share one commit (see `batch`).
    #[tracing::instrument(skip_all, fields(workspace_id = v.workspace_id, visitor_id = v.id))]
    pub async fn post_visitor_message(
        &self,
        v: &Visitor,
        client_id: &str,
        body: &str,
        attachment_ids: &[i64],
    ) -> Result<(Posted, Vec<Event>)> {
        let ((message, created, ticket, ticket_created), logged) = self
            .writer
            .post(
                v.clone(),
                client_id.to_string(),
                body.to_string(),
                attachment_ids.to_vec(),
            )
            .await?;
        let mut atts = if attachment_ids.is_empty() {
            Default::default()
        } else {
            self.attachments_of(&[message.id]).await?
        };
        let chat = ChatMessage {
            id: message.id,
            ticket_id: ticket.id,
            from: "visitor",
            author_name: v.name.clone(),
            body: message.body.clone(),
            created_at: message.created_at,
            client_id: Some(client_id.to_string()),
            attachments: atts.remove(&message.id).unwrap_or_default(),
        };
        let ticket = if created && !ticket_created && ticket.status != Status::Open {
            self.ticket_unchecked(v.workspace_id, ticket.id).await?
        } else {
            ticket
        };
        Ok((
            Posted {
                message: chat,
                stored: message,
                created,
                ticket,
                ticket_created,
            },
            logged,
        ))
    }

    /// A ticket by id within a workspace, without an actor's access check:
    /// for the system's own use (event delivery, chat).
    pub async fn ticket_unchecked(&self, workspace_id: i64, id: i64) -> Result<Ticket> {
        let admin = crate::domain::Actor {
            user_id: 0,
            workspace_id,
            role: crate::domain::Role::Admin,
            scope: crate::domain::TicketScope::All,
        };
        self.ticket(&admin, id).await
    }

    /// Moves a read mark forward (never back).
    pub async fn mark_read(&self, workspace_id: i64, ticket_id: i64, by: Party, up_to: i64) -> Result<()> {
        let col = match by {
            Party::Visitor => "visitor_read_up_to",
            Party::Agent => "agent_read_up_to",
        };
        sqlx::query(&format!("UPDATE tickets SET {col} = CASE WHEN $1 > {col} THEN $1 ELSE {col} END WHERE workspace_id = $2 AND id = $3"))
            .bind(up_to)
            .bind(workspace_id)
            .bind(ticket_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// The visitor's current chat ticket, if any.
    pub async fn visitor_ticket(&self, v: &Visitor) -> Result<Option<(i64, i64, i64)>> {
        Ok(sqlx::query_as("SELECT id, number, agent_read_up_to FROM tickets WHERE workspace_id = $1 AND contact_id = $2 AND channel = 'chat' ORDER BY id DESC LIMIT 1")
            .bind(v.workspace_id)
            .bind(v.contact_id)
            .fetch_optional(&self.read)
            .await?)
    }

    pub async fn widget_settings(&self, workspace_id: i64) -> Result<WidgetSettings> {
        let raw: Option<String> = sqlx::query_scalar("SELECT widget FROM workspace_settings WHERE workspace_id = $1")
            .bind(workspace_id)
            .fetch_optional(&self.read)
            .await?;
        match raw {
            Some(r) => serde_json::from_str(&r).map_err(|e| StoreError::Corrupt(format!("widget settings: {e}"))),
            None => Ok(WidgetSettings::default()),
        }
    }

    pub async fn save_widget_settings(&self, workspace_id: i64, s: &WidgetSettings, by: i64) -> Result<()> {
        let now = now_ms();
        let json = serde_json::to_string(s).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut tx = self.write.begin().await?;
        sqlx::query("INSERT INTO workspace_settings (workspace_id, widget, updated_at) VALUES ($1, $2, $3) ON CONFLICT (workspace_id) DO UPDATE SET widget = excluded.widget, updated_at = excluded.updated_at")
            .bind(workspace_id)
            .bind(&json)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        // A site now allowed is no longer a refused one.
        let allowed: Vec<String> = s.allowed_origins.iter().map(|o| o.to_ascii_lowercase()).collect();
        if allowed.is_empty() {
            sqlx::query("DELETE FROM widget_refused_origins WHERE workspace_id = $1")
                .bind(workspace_id)
                .execute(&mut *tx)
                .await?;
        }
        for o in &allowed {
            sqlx::query("DELETE FROM widget_refused_origins WHERE workspace_id = $1 AND LOWER(origin) = $2")
                .bind(workspace_id)
                .bind(o)
                .execute(&mut *tx)
                .await?;
        }
        super::people::audit(
            &mut tx,
            workspace_id,
            Some(by),
            "widget.updated",
            "workspace",
            Some(workspace_id),
            &json,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records an agent's presence; refreshed while their stream is open.
    pub async fn touch_presence(&self, workspace_id: i64, user_id: i64, status: &str) -> Result<()> {
        sqlx::query("INSERT INTO agent_presence (user_id, workspace_id, status, last_seen_at) VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO UPDATE SET status = excluded.status, last_seen_at = excluded.last_seen_at")
            .bind(user_id)
            .bind(workspace_id)
            .bind(status)
            .bind(now_ms())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Whether an agent of the workspace takes conversations: one who set
    /// themselves online, or one on `auto` with a console open (seen in the
    /// last 45 s).
    pub async fn agents_online(&self, workspace_id: i64) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM users u LEFT JOIN agent_presence p ON p.user_id = u.id AND p.status = 'online' AND p.last_seen_at > $2 \
             WHERE u.workspace_id = $1 AND u.active = 1 AND (u.availability = 'online' OR (u.availability = 'auto' AND p.user_id IS NOT NULL))",
        )
        .bind(workspace_id)
        .bind(now_ms() - 45_000)
        .fetch_one(&self.read)
        .await?;
        Ok(n > 0)
    }

    pub async fn create_attachment(
        &self,
        workspace_id: i64,
        contact_id: i64,
        name: &str,
        content_type: &str,
        data: Vec<u8>,
    ) -> Result<AttachmentMeta> {
        let secret = crate::auth::new_token();
        let size = data.len() as i64;
        let id: i64 = sqlx::query_scalar("INSERT INTO attachments (workspace_id, contact_id, name, content_type, size, secret, data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id")
            .bind(workspace_id)
            .bind(contact_id)
            .bind(name)
            .bind(content_type)
            .bind(size)
            .bind(&secret)
            .bind(data)
            .bind(now_ms())
            .fetch_one(&self.write)
            .await?;
        Ok(AttachmentMeta {
            id,
            name: name.to_string(),
            size,
            content_type: content_type.to_string(),
            secret,
        })
    }

    /// An attachment by id and secret (the secret is the capability).
    pub async fn attachment(&self, workspace_id: i64, id: i64, secret: &str) -> Result<(AttachmentMeta, Vec<u8>)> {
        let row: Option<(String, i64, String, String, Vec<u8>)> = sqlx::query_as(
            "SELECT name, size, content_type, secret, data FROM attachments WHERE workspace_id = $1 AND id = $2",
        )
        .bind(workspace_id)
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        match row {
            Some((name, size, content_type, s, data))
                if crate::auth::constant_time_eq(s.as_bytes(), secret.as_bytes()) =>
            {
                Ok((
                    AttachmentMeta {
                        id,
                        name,
                        size,
                        content_type,
                        secret: s,
                    },
                    data,
                ))
            }
            _ => Err(StoreError::NotFound),
        }
    }
}

impl Store {
    /// Mail waiting to be sent in a workspace: (to, subject, body), oldest first.
    pub async fn outbox(&self, workspace_id: i64) -> Result<Vec<(String, String, String)>> {
        Ok(sqlx::query_as(
            "SELECT to_addr, subject, body FROM outbox WHERE workspace_id = $1 AND status = 'pending' ORDER BY id",
        )
        .bind(workspace_id)
        .fetch_all(&self.read)
        .await?)
    }
}

/// The visitor's message inside the caller's transaction: (message, created,
/// ticket, ticket created). `lock` takes the ticket's row lock (PostgreSQL).
pub(super) async fn post_in(
    tx: &mut Transaction<'_, Any>,
    lock: bool,
    v: &Visitor,
    client_id: &str,
    body: &str,
    attachment_ids: &[i64],
    ev: &mut Vec<NewEvent>,
) -> Result<(Message, bool, Ticket, bool)> {
    let external_id = format!("{}{client_id}", external_prefix(v.id));
    // Read afresh: since the socket opened, the visitor may have proved an
    // address and been merged into its contact.
    let contact_id: i64 = sqlx::query_scalar("SELECT contact_id FROM chat_visitors WHERE id = $1")
        .bind(v.id)
        .fetch_one(&mut **tx)
        .await?;
    let contact = ContactSummary {
        id: contact_id,
        name: v.name.clone(),
        email: v.email.clone(),
    };
    let open: Option<i64> = sqlx::query_scalar("SELECT id FROM tickets WHERE workspace_id = $1 AND contact_id = $2 AND channel = 'chat' AND status <> 'closed' ORDER BY id DESC LIMIT 1")
        .bind(v.workspace_id)
        .bind(contact_id)
        .fetch_optional(&mut **tx)
        .await?;
    let new = NewMessage {
        kind: MessageKind::Reply,
        author: Author::Contact,
        body: body.to_string(),
        html: None,
        external_id: Some(external_id),
        files: vec![],
    };
    let (message, created, ticket, ticket_created) = match open {
        Some(id) => {
            let t = load_ticket(tx, v.workspace_id, id, lock).await?;
            let (m, created) = add_message_in(tx, &t, new, ev).await?;
            (m, created, t, false)
        }
        None => {
            let existing: Option<i64> =
                sqlx::query_scalar("SELECT ticket_id FROM messages WHERE workspace_id = $1 AND external_id = $2")
                    .bind(v.workspace_id)
                    .bind(&new.external_id)
                    .fetch_optional(&mut **tx)
                    .await?;
            if let Some(tid) = existing {
                // Resent after its chat was closed: answer with what is stored.
                let t = load_ticket(tx, v.workspace_id, tid, false).await?;
                let (m, created) = add_message_in(tx, &t, new, ev).await?;
                (m, created, t, false)
            } else {
                let subject: String = body.lines().next().unwrap_or("").chars().take(80).collect();
                let nt = NewTicket {
                    subject: if subject.trim().is_empty() {
                        "Chat".into()
                    } else {
                        subject
                    },
                    body: new.body.clone(),
                    contact: TicketContact::Known(contact),
                    channel: Channel::Chat,
                    priority: Priority::Normal,
                    labels: vec![],
                    author: Author::Contact,
                    external_id: None,
                    message_external_id: new.external_id.clone(),
                    team_id: None,
                    kind: None,
                    feature: None,
                };
                let opened = create_in(tx, v.workspace_id, nt, ev).await?;
                let m = opened
                    .message
                    .ok_or_else(|| StoreError::Corrupt("a new chat has no first message".into()))?;
                (m, true, opened.ticket, true)
            }
        }
    };
    if created && !attachment_ids.is_empty() {
        let mut sql = Sql::new("UPDATE attachments SET message_id = ");
        let p = sql.arg(message.id);
        sql.push(&p);
        let (w, c) = (sql.arg(v.workspace_id), sql.arg(contact_id));
        let l = sql.list(attachment_ids.iter().copied());
        sql.push(&format!(
            " WHERE workspace_id = {w} AND contact_id = {c} AND message_id IS NULL AND id IN ({l})"
        ));
        let n = sql.query().execute(&mut **tx).await?.rows_affected();
        if n != attachment_ids.len() as u64 {
            return Err(Invalid::new("attachment_ids", "an attachment is unknown or already sent").into());
        }
    }
    Ok((message, created, ticket, ticket_created))
}
