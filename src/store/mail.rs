//! E-mail in the store: taking in a parsed message (thread it, open or
//! continue a ticket, keep the raw mail, all in one transaction), and the
//! outbox that the sender task works through.

use rand::distributions::Alphanumeric;
use rand::Rng;
use sqlx::{Any, Transaction};

use super::tickets::{add_message_in, create_in, load_ticket};
use super::*;
use crate::domain::event::{Event, NewEvent};
use crate::domain::{Channel, Email, MessageKind, Priority};

/// Our own Message-IDs start with this, and are known by their local part,
/// so threading survives a change of mail domain.
pub const OWN_ID_PREFIX: &str = "sd.";

/// Lower-case so mail systems that fold case keep it working.
pub fn new_reply_token() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(16)
        .map(|c| (c as char).to_ascii_lowercase())
        .collect()
}

fn thread_key(header_id: &str) -> &str {
    if header_id.starts_with(OWN_ID_PREFIX) {
        header_id.split('@').next().unwrap_or(header_id)
    } else {
        header_id
    }
}

/// A received message, already parsed and checked.
#[derive(Debug, Clone)]
pub struct InboundMail {
    /// The Message-ID (made up from a hash when the mail had none).
    pub header_id: String,
    /// In-Reply-To then References, nearest first.
    pub refs: Vec<String>,
    pub subject: String,
    pub from: Email,
    pub from_name: Option<String>,
    pub text: String,
    pub html: Option<String>,
    pub attachments: Vec<(String, String, Vec<u8>)>,
    /// Auto-replies and bulk mail continue threads but never get answers.
    pub automatic: bool,
    pub ticket_number: Option<i64>,
    pub reply_token: Option<String>,
    /// Labels a new ticket starts with (`needs-review` for unreadable mail).
    pub labels: Vec<String>,
    pub mail_from: String,
    pub rcpt: String,
    pub raw: Vec<u8>,
}

#[derive(Debug, Clone)]
pub enum Ingested {
    Created(Ticket, Message),
    Appended(Ticket, Message),
    Duplicate,
}

/// A mail waiting in the outbox.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub workspace_id: i64,
    pub kind: String,
    pub ticket_id: Option<i64>,
    /// The message it sends, whose files go with it.
    pub message_id: Option<i64>,
    pub to_addr: String,
    pub subject: String,
    pub body: String,
    pub html: Option<String>,
    pub header_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub attempts: i64,
    pub slug: String,
    pub workspace_name: String,
    pub reply_token: Option<String>,
    /// The workspace's mail settings (JSON), for its own address and relay.
    pub mail_settings: Option<String>,
    /// The ticket's private link token, for the customer to see it online.
    #[sqlx(skip)]
    pub ticket_link: Option<String>,
}

impl Store {
    /// Files an inbound mail: the same Message-ID twice is stored once.
    /// Mails arriving together share one commit (see `batch`).
    #[tracing::instrument(skip_all, fields(workspace_id = ws.id))]
    pub async fn ingest_mail(&self, ws: &Workspace, m: InboundMail) -> Result<(Ingested, Vec<Event>)> {
        match self.writer.ingest(ws.clone(), m).await? {
            (Ingested::Appended(t, msg), logged) => Ok((
                Ingested::Appended(self.ticket_unchecked(ws.id, t.id).await?, msg),
                logged,
            )),
            other => Ok(other),
        }
    }

    /// A message's files with their bytes, for the mail that sends it.
    pub async fn attachment_data(&self, workspace_id: i64, message_id: i64) -> Result<Vec<(String, String, Vec<u8>)>> {
        Ok(sqlx::query_as(
            "SELECT name, content_type, data FROM attachments WHERE workspace_id = $1 AND message_id = $2 ORDER BY id",
        )
        .bind(workspace_id)
        .bind(message_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// The raw mails filed on a ticket, oldest first, as they arrived.
    pub async fn raw_mails(&self, workspace_id: i64, ticket_id: i64) -> Result<Vec<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT raw FROM raw_emails WHERE workspace_id = $1 AND ticket_id = $2 ORDER BY id")
                .bind(workspace_id)
                .bind(ticket_id)
                .fetch_all(&self.read)
                .await?,
        )
    }

    /// How many tickets an address opened since a time (for rate limits).
    pub async fn tickets_from(&self, workspace_id: i64, email: &str, since: i64) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM tickets t JOIN contact_identities i ON i.contact_id = t.contact_id AND i.channel = 'email' WHERE t.workspace_id = $1 AND i.value = $2 AND t.created_at >= $3")
            .bind(workspace_id)
            .bind(email)
            .bind(since)
            .fetch_one(&self.read)
            .await?)
    }

    /// A contact known by phone number, made when new.
    pub async fn contact_by_phone(
        &self,
        workspace_id: i64,
        phone: &str,
        name: &str,
    ) -> Result<(ContactSummary, Vec<Event>)> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let found: Option<(i64, String, Option<String>)> = sqlx::query_as("SELECT c.id, c.name, c.email FROM contact_identities i JOIN contacts c ON c.id = i.contact_id WHERE i.workspace_id = $1 AND i.channel = 'phone' AND i.value = $2")
            .bind(workspace_id)
            .bind(phone)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some((id, n, email)) = found {
            return Ok((ContactSummary { id, name: n, email }, vec![]));
        }
        let id: i64 = sqlx::query_scalar("INSERT INTO contacts (workspace_id, name, email, attributes, created_at, updated_at) VALUES ($1, $2, NULL, '{}', $3, $3) RETURNING id").bind(workspace_id).bind(name).bind(now).fetch_one(&mut *tx).await?;
        sqlx::query("INSERT INTO contact_identities (workspace_id, contact_id, channel, value, created_at) VALUES ($1, $2, 'phone', $3, $4)").bind(workspace_id).bind(id).bind(phone).bind(now).execute(&mut *tx).await?;
        let ev = crate::domain::event::NewEvent::new(
            workspace_id,
            crate::domain::event::EventType::ContactCreated,
            crate::domain::event::EventActor::Contact(id),
        )
        .contact(id)
        .changes(serde_json::json!({ "channel": Channel::Phone, "name": name }));
        let logged = self.commit_with(tx, vec![ev]).await?;
        Ok((
            ContactSummary {
                id,
                name: name.to_string(),
                email: None,
            },
            logged,
        ))
    }

    /// Files uploaded with a form, attached to the ticket's first message.
    pub async fn attach_to_message(
        &self,
        t: &Ticket,
        message_id: i64,
        files: &[(String, String, Vec<u8>)],
    ) -> Result<()> {
        let mut tx = self.write.begin().await?;
        insert_attachments(&mut tx, t.workspace_id, message_id, t.contact.id, files).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records delivery failures reported by a bounce; such addresses get no
    /// more mail from the outbox.
    pub async fn record_bounce(
        &self,
        workspace_id: i64,
        addresses: &[String],
        header_id: &str,
        raw: &[u8],
    ) -> Result<()> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        for a in addresses {
            sqlx::query("INSERT INTO email_bounces (workspace_id, address, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING").bind(workspace_id).bind(a.to_lowercase()).bind(now).execute(&mut *tx).await?;
        }
        sqlx::query("INSERT INTO raw_emails (workspace_id, header_id, mail_from, rcpt_to, outcome, raw, created_at) VALUES ($1, $2, '', '', 'bounce', $3, $4) ON CONFLICT DO NOTHING")
            .bind(workspace_id)
            .bind(header_id)
            .bind(raw)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn is_bounced(&self, workspace_id: i64, address: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM email_bounces WHERE workspace_id = $1 AND address = $2")
            .bind(workspace_id)
            .bind(address)
            .fetch_one(&self.read)
            .await?;
        Ok(n > 0)
    }

    /// Takes up to `limit` due mails and leases them for a minute: a sender
    /// that dies mid-way leaves them to be taken again (at least once).
    /// Without a global relay (`own_relay_only`), only mail of workspaces
    /// with a relay of their own is taken; the rest waits.
    pub async fn claim_outbox(&self, limit: i64, own_relay_only: bool) -> Result<Vec<OutboxRow>> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let skip = if self.backend == Backend::Postgres {
            " FOR UPDATE OF o SKIP LOCKED"
        } else {
            ""
        };
        let own = if own_relay_only {
            " AND s.mail LIKE '%\"relay\":\"smtp%'"
        } else {
            ""
        };
        let mut rows: Vec<OutboxRow> = sqlx::query_as(&format!(
            "SELECT o.id, o.workspace_id, o.kind, o.ticket_id, o.message_id, o.to_addr, o.subject, o.body, o.html, o.header_id, o.in_reply_to, o.attempts, w.slug, w.name AS workspace_name, t.reply_token, s.mail AS mail_settings \
             FROM outbox o JOIN workspaces w ON w.id = o.workspace_id LEFT JOIN tickets t ON t.id = o.ticket_id LEFT JOIN workspace_settings s ON s.workspace_id = o.workspace_id \
             WHERE o.status = 'pending' AND o.next_attempt_at <= $1{own} ORDER BY o.next_attempt_at, o.id LIMIT $2{skip}"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        for r in &rows {
            sqlx::query("UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1 WHERE id = $2")
                .bind(now + 60_000)
                .bind(r.id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        for r in &mut rows {
            if let Some(t) = r.ticket_id {
                r.ticket_link = Some(self.ticket_link(t).await?);
            }
        }
        Ok(rows)
    }

    /// Records how a send went: sent, to be retried at a time, or given up.
    pub async fn finish_outbox(&self, id: i64, outcome: std::result::Result<(), (String, Option<i64>)>) -> Result<()> {
        let now = now_ms();
        let q = match &outcome {
            Ok(()) => sqlx::query("UPDATE outbox SET status = 'sent', sent_at = $1, last_error = NULL WHERE id = $2")
                .bind(now)
                .bind(id),
            Err((e, Some(retry_at))) => {
                sqlx::query("UPDATE outbox SET last_error = $1, next_attempt_at = $2 WHERE id = $3")
                    .bind(e.as_str())
                    .bind(*retry_at)
                    .bind(id)
            }
            Err((e, None)) => sqlx::query("UPDATE outbox SET status = 'failed', last_error = $1 WHERE id = $2")
                .bind(e.as_str())
                .bind(id),
        };
        q.execute(&self.write).await?;
        Ok(())
    }

    /// Outbox rows by state, for the admin and tests: (to, subject, status, attempts).
    pub async fn outbox_states(&self, workspace_id: i64) -> Result<Vec<(String, String, String, i64)>> {
        Ok(
            sqlx::query_as("SELECT to_addr, subject, status, attempts FROM outbox WHERE workspace_id = $1 ORDER BY id")
                .bind(workspace_id)
                .fetch_all(&self.read)
                .await?,
        )
    }
}

pub(super) fn confirmation_text(t: &Ticket, lang: &str) -> String {
    let number = t.number.to_string();
    let name = if t.contact.name.is_empty() {
        t.contact.email.clone().unwrap_or_default()
    } else {
        t.contact.name.clone()
    };
    crate::i18n::text(
        lang,
        "mail-confirmation-body",
        &[("name", &name), ("number", &number), ("subject", &t.subject)],
    )
}

/// The language the workspace writes its mail in.
pub(super) async fn mail_language(tx: &mut Transaction<'_, Any>, workspace_id: i64) -> Result<String> {
    let raw: Option<String> = sqlx::query_scalar("SELECT mail FROM workspace_settings WHERE workspace_id = $1")
        .bind(workspace_id)
        .fetch_optional(&mut **tx)
        .await?;
    let lang = raw
        .and_then(|r| serde_json::from_str::<super::mail_settings::MailSettings>(&r).ok())
        .map(|m| m.language)
        .unwrap_or_default();
    Ok(crate::i18n::pick(Some(&lang)).to_string())
}

/// Threading, in order: the reply token in the address; In-Reply-To and
/// References against ids we know; `[#N]` in the subject, but only when
/// the sender is that ticket's customer (a number is easy to guess).
async fn find_thread(tx: &mut Transaction<'_, Any>, workspace_id: i64, m: &InboundMail) -> Result<Option<i64>> {
    if let Some(token) = m.reply_token.as_deref().filter(|t| !t.is_empty()) {
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM tickets WHERE workspace_id = $1 AND reply_token = $2")
            .bind(workspace_id)
            .bind(token.to_lowercase())
            .fetch_optional(&mut **tx)
            .await?;
        if id.is_some() {
            return Ok(id);
        }
    }
    for r in m.refs.iter().take(50) {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT ticket_id FROM mail_threads WHERE workspace_id = $1 AND header_id = $2")
                .bind(workspace_id)
                .bind(thread_key(r))
                .fetch_optional(&mut **tx)
                .await?;
        if id.is_some() {
            return Ok(id);
        }
    }
    if let Some(n) = m.ticket_number {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT t.id FROM tickets t JOIN contact_identities i ON i.contact_id = t.contact_id AND i.channel = 'email' WHERE t.workspace_id = $1 AND t.number = $2 AND i.value = $3",
        )
        .bind(workspace_id)
        .bind(n)
        .bind(m.from.as_str())
        .fetch_optional(&mut **tx)
        .await?;
        return Ok(id);
    }
    Ok(None)
}

async fn remember_id(
    tx: &mut Transaction<'_, Any>,
    workspace_id: i64,
    header_id: &str,
    ticket_id: i64,
    now: i64,
) -> Result<()> {
    sqlx::query("INSERT INTO mail_threads (workspace_id, header_id, ticket_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
        .bind(workspace_id)
        .bind(thread_key(header_id))
        .bind(ticket_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A mail to put in the outbox.
pub struct OutMail<'a> {
    pub workspace_id: i64,
    /// "reply", "confirmation", "chat_followup", "portal_login".
    pub kind: &'a str,
    pub ticket_id: Option<i64>,
    /// The message the mail carries or confirms: one mail per message and
    /// kind, however often the same event is processed.
    pub message_id: Option<i64>,
    pub to: &'a Email,
    pub subject: &'a str,
    pub body: &'a str,
    pub in_reply_to: Option<&'a str>,
}

/// The one way into the outbox: skips bounced addresses, gives a ticket's
/// mail its own Message-ID (stable across retries) and remembers it for
/// threading, and stores one mail per message and kind. Returns whether a
/// mail was queued.
pub(crate) async fn queue_in(tx: &mut Transaction<'_, Any>, m: &OutMail<'_>) -> Result<bool> {
    let now = now_ms();
    let bounced: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM email_bounces WHERE workspace_id = $1 AND address = $2")
            .bind(m.workspace_id)
            .bind(m.to.as_str())
            .fetch_one(&mut **tx)
            .await?;
    if bounced > 0 {
        return Ok(false);
    }
    let header_id = m.ticket_id.map(|t| format!("{OWN_ID_PREFIX}{t}.{}", new_reply_token()));
    let queued: Option<i64> = sqlx::query_scalar(
        "INSERT INTO outbox (workspace_id, kind, ticket_id, message_id, to_addr, subject, body, status, attempts, next_attempt_at, created_at, header_id, in_reply_to) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $8, $9, $10) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(m.workspace_id)
    .bind(m.kind)
    .bind(m.ticket_id)
    .bind(m.message_id)
    .bind(m.to.as_str())
    .bind(m.subject)
    .bind(m.body)
    .bind(now)
    .bind(header_id.as_deref())
    .bind(m.in_reply_to)
    .fetch_optional(&mut **tx)
    .await?;
    if queued.is_none() {
        return Ok(false);
    }
    if let (Some(h), Some(t)) = (&header_id, m.ticket_id) {
        remember_id(tx, m.workspace_id, h, t, now).await?;
    }
    Ok(true)
}

/// Files one inbound mail inside the caller's transaction. `lock` takes
/// row locks (PostgreSQL).
pub(super) async fn ingest_in(
    tx: &mut Transaction<'_, Any>,
    lock: bool,
    ws: &Workspace,
    m: InboundMail,
    ev: &mut Vec<NewEvent>,
) -> Result<Ingested> {
    let now = now_ms();
    let seen: Option<i64> = sqlx::query_scalar("SELECT id FROM raw_emails WHERE workspace_id = $1 AND header_id = $2")
        .bind(ws.id)
        .bind(&m.header_id)
        .fetch_optional(&mut **tx)
        .await?;
    if seen.is_some() {
        return Ok(Ingested::Duplicate);
    }
    let ticket_id = find_thread(tx, ws.id, &m).await?;
    let external_id = format!("email:{}", m.header_id);
    let (ticket, message, created) = match ticket_id {
        Some(id) => {
            let t = load_ticket(tx, ws.id, id, lock).await?;
            let new = NewMessage {
                kind: MessageKind::Reply,
                author: Author::Contact,
                body: m.text.clone(),
                html: m.html.clone(),
                external_id: Some(external_id),
                files: vec![],
            };
            let (msg, _) = add_message_in(tx, &t, new, ev).await?;
            (t, msg, false)
        }
        None => {
            let nt = NewTicket {
                subject: if m.subject.trim().is_empty() {
                    "(no subject)".into()
                } else {
                    m.subject.chars().take(crate::domain::ticket::SUBJECT_MAX).collect()
                },
                body: m.text.clone(),
                contact: TicketContact::Email(NewContact {
                    email: m.from.clone(),
                    name: m.from_name.clone(),
                }),
                channel: Channel::Email,
                priority: Priority::Normal,
                labels: m.labels.clone(),
                author: Author::Contact,
                external_id: None,
                message_external_id: Some(external_id.clone()),
                team_id: None,
                kind: None,
                feature: None,
            };
            let first = ev.len();
            let opened = create_in(tx, ws.id, nt, ev).await?;
            let t = opened.ticket;
            let mut msg = opened
                .message
                .ok_or_else(|| StoreError::Corrupt("a new ticket has no first message".into()))?;
            if let Some(h) = &m.html {
                sqlx::query("UPDATE messages SET html = $1 WHERE id = $2")
                    .bind(h)
                    .bind(msg.id)
                    .execute(&mut **tx)
                    .await?;
                msg.html = Some(h.clone());
            }
            if m.automatic {
                // Auto-replies open tickets but get no confirmation.
                for e in ev[first..]
                    .iter_mut()
                    .filter(|e| e.kind == crate::domain::event::EventType::TicketCreated)
                {
                    e.changes["automatic"] = true.into();
                }
            }
            (t, msg, true)
        }
    };
    insert_attachments(tx, ws.id, message.id, ticket.contact.id, &m.attachments).await?;
    remember_id(tx, ws.id, &m.header_id, ticket.id, now).await?;
    sqlx::query("INSERT INTO raw_emails (workspace_id, header_id, mail_from, rcpt_to, outcome, ticket_id, raw, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(ws.id)
        .bind(&m.header_id)
        .bind(&m.mail_from)
        .bind(&m.rcpt)
        .bind(if created { "created" } else { "appended" })
        .bind(ticket.id)
        .bind(m.raw.as_slice())
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(if created {
        Ingested::Created(ticket, message)
    } else {
        Ingested::Appended(ticket, message)
    })
}

/// Stores files (name, content type, bytes) sent with a message; each gets
/// its own secret, the capability that serves it.
pub(super) async fn insert_attachments(
    tx: &mut Transaction<'_, Any>,
    workspace_id: i64,
    message_id: i64,
    contact_id: i64,
    files: &[(String, String, Vec<u8>)],
) -> Result<()> {
    let now = now_ms();
    for (name, ct, data) in files {
        sqlx::query("INSERT INTO attachments (workspace_id, message_id, contact_id, name, content_type, size, secret, data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(workspace_id)
            .bind(message_id)
            .bind(contact_id)
            .bind(name)
            .bind(ct)
            .bind(data.len() as i64)
            .bind(crate::auth::new_token())
            .bind(data.as_slice())
            .bind(now)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
