//! Contacts: the list and a contact's page, their changes, blocking,
//! merging two into one, and the proof a chat visitor gives for an address
//! that belongs to another contact.

use serde::Serialize;
use serde_json::{Map, Value};
use sqlx::{Any, Transaction};

use super::query::{like_pattern, Sql};
use super::*;
use crate::domain::event::{change, Event, EventActor, EventType, NewEvent};
use crate::domain::Actor;

/// How long an address proof link may be opened.
pub const PROOF_TTL_MS: i64 = 24 * 3_600_000;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ContactItem {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    #[serde(serialize_with = "crate::domain::time::ser_opt")]
    pub blocked_at: Option<i64>,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Identity {
    pub channel: String,
    pub value: String,
}

/// A contact with everything its page shows but its tickets.
#[derive(Debug, Clone, Serialize)]
pub struct Contact {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub attributes: Value,
    pub notes: String,
    #[serde(serialize_with = "crate::domain::time::ser_opt")]
    pub blocked_at: Option<i64>,
    /// Set on a contact merged into another: where it lives on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<i64>,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub created_at: i64,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub updated_at: i64,
    pub identities: Vec<Identity>,
}

/// What an agent may change on a contact (validated by the caller).
#[derive(Debug, Clone, Default)]
pub struct ContactPatch {
    pub name: Option<String>,
    pub attributes: Option<Map<String, Value>>,
    pub notes: Option<String>,
}

#[derive(sqlx::FromRow)]
struct ContactRow {
    id: i64,
    name: String,
    email: Option<String>,
    attributes: String,
    notes: String,
    blocked_at: Option<i64>,
    merged_into: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

const CONTACT_COLS: &str = "id, name, email, attributes, notes, blocked_at, merged_into, created_at, updated_at";

fn attrs(raw: &str) -> Map<String, Value> {
    match serde_json::from_str(raw) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

async fn load(tx: &mut sqlx::AnyConnection, ws: i64, id: i64, lock: bool) -> Result<ContactRow> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    sqlx::query_as(&format!(
        "SELECT {CONTACT_COLS} FROM contacts WHERE workspace_id = $1 AND id = $2{lock}"
    ))
    .bind(ws)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(StoreError::NotFound)
}

async fn identities(conn: &mut sqlx::AnyConnection, ws: i64, id: i64) -> Result<Vec<Identity>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT channel, value FROM contact_identities WHERE workspace_id = $1 AND contact_id = $2 ORDER BY id",
    )
    .bind(ws)
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(channel, value)| Identity { channel, value })
        .collect())
}

async fn full(conn: &mut sqlx::AnyConnection, ws: i64, id: i64) -> Result<Contact> {
    let r = load(conn, ws, id, false).await?;
    Ok(Contact {
        id: r.id,
        name: r.name,
        email: r.email,
        attributes: Value::Object(attrs(&r.attributes)),
        notes: r.notes,
        blocked_at: r.blocked_at,
        merged_into: r.merged_into,
        created_at: r.created_at,
        updated_at: r.updated_at,
        identities: identities(conn, ws, id).await?,
    })
}

impl Store {
    /// Contacts (not merged away) matching `q` in name, e-mail or any
    /// identity, newest first, `limit` after the id `before`; and the
    /// cursor of the next page.
    pub async fn list_contacts(
        &self,
        ws: i64,
        q: Option<&str>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<(Vec<ContactItem>, Option<i64>)> {
        let mut sql =
            Sql::new("SELECT id, name, email, blocked_at, created_at FROM contacts c WHERE c.workspace_id = ");
        let w = sql.arg(ws);
        sql.push(&w).push(" AND c.merged_into IS NULL");
        if let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) {
            let like = sql.arg(like_pattern(q));
            sql.push(&format!(
                " AND (LOWER(c.name) LIKE {like} ESCAPE '\\' OR LOWER(c.email) LIKE {like} ESCAPE '\\' \
                 OR EXISTS (SELECT 1 FROM contact_identities i WHERE i.contact_id = c.id AND LOWER(i.value) LIKE {like} ESCAPE '\\'))"
            ));
        }
        if let Some(b) = before {
            let p = sql.arg(b);
            sql.push(&format!(" AND c.id < {p}"));
        }
        let limit = limit.clamp(1, 200);
        let l = sql.arg(limit + 1);
        sql.push(&format!(" ORDER BY c.id DESC LIMIT {l}"));
        let mut rows: Vec<ContactItem> = sql.query_as().fetch_all(&self.read).await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next = if more { rows.last().map(|r| r.id) } else { None };
        Ok((rows, next))
    }

    /// A contact of the workspace with its identities.
    pub async fn contact(&self, ws: i64, id: i64) -> Result<Contact> {
        let mut conn = self.read.acquire().await?;
        full(&mut conn, ws, id).await
    }

    /// Changes a contact's name, attributes (replaced whole) or notes.
    pub async fn update_contact(&self, actor: &Actor, id: i64, patch: ContactPatch) -> Result<(Contact, Vec<Event>)> {
        let ws = actor.workspace_id;
        let mut tx = self.write.begin().await?;
        let before = load(&mut tx, ws, id, self.backend == Backend::Postgres).await?;
        let mut changes = Map::new();
        let now = now_ms();
        if let Some(n) = patch.name.filter(|n| *n != before.name) {
            changes.insert("name".into(), change(&before.name, &n));
            sqlx::query("UPDATE contacts SET name = $1 WHERE id = $2")
                .bind(&n)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(a) = patch.attributes {
            let old = attrs(&before.attributes);
            if old != a {
                changes.insert("attributes".into(), change(&old, &a));
                sqlx::query("UPDATE contacts SET attributes = $1 WHERE id = $2")
                    .bind(Value::Object(a).to_string())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        if let Some(n) = patch.notes.filter(|n| *n != before.notes) {
            // Notes can be long: the event says they changed, not how.
            changes.insert("notes".into(), Value::Bool(true));
            sqlx::query("UPDATE contacts SET notes = $1 WHERE id = $2")
                .bind(&n)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        let mut ev = vec![];
        if !changes.is_empty() {
            sqlx::query("UPDATE contacts SET updated_at = $1 WHERE id = $2")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            ev.push(
                NewEvent::new(ws, EventType::ContactUpdated, EventActor::Agent(actor.user_id))
                    .contact(id)
                    .changes(changes.into()),
            );
        }
        let after = full(&mut tx, ws, id).await?;
        let logged = self.commit_with(tx, ev).await?;
        Ok((after, logged))
    }

    /// Blocks (their messages are filed as spam from now on) or unblocks a contact.
    pub async fn set_contact_blocked(&self, actor: &Actor, id: i64, blocked: bool) -> Result<(Contact, Vec<Event>)> {
        let ws = actor.workspace_id;
        let mut tx = self.write.begin().await?;
        let before = load(&mut tx, ws, id, self.backend == Backend::Postgres).await?;
        if before.merged_into.is_some() {
            return Err(StoreError::Conflict("this contact was merged into another".into()));
        }
        let mut ev = vec![];
        if before.blocked_at.is_some() != blocked {
            let now = now_ms();
            sqlx::query("UPDATE contacts SET blocked_at = $1, updated_at = $2 WHERE id = $3")
                .bind(blocked.then_some(now))
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            ev.push(
                NewEvent::new(ws, EventType::ContactUpdated, EventActor::Agent(actor.user_id))
                    .contact(id)
                    .changes(serde_json::json!({ "blocked": change(!blocked, blocked) })),
            );
            super::people::audit(
                &mut tx,
                ws,
                Some(actor.user_id),
                if blocked {
                    "contact.blocked"
                } else {
                    "contact.unblocked"
                },
                "contact",
                Some(id),
                "{}",
                now,
            )
            .await?;
        }
        let after = full(&mut tx, ws, id).await?;
        let logged = self.commit_with(tx, ev).await?;
        Ok((after, logged))
    }

    /// Merges contact `from` into `into` as `actor` (see [`merge_contacts_in`]).
    pub async fn merge_contacts(&self, actor: &Actor, into: i64, from: i64) -> Result<(Contact, Vec<Event>)> {
        let ws = actor.workspace_id;
        let mut tx = self.write.begin().await?;
        let lock = self.backend == Backend::Postgres;
        let ev = merge_contacts_in(&mut tx, ws, into, from, EventActor::Agent(actor.user_id), lock).await?;
        super::people::audit(
            &mut tx,
            ws,
            Some(actor.user_id),
            "contact.merged",
            "contact",
            Some(into),
            &serde_json::json!({ "from": from }).to_string(),
            now_ms(),
        )
        .await?;
        let after = full(&mut tx, ws, into).await?;
        let logged = self.commit_with(tx, vec![ev]).await?;
        Ok((after, logged))
    }
}

/// Moves everything of contact `from` (identities, tickets, chat visitors,
/// files, surveys) to `into`; attributes join with `into`'s winning a
/// conflict, notes are joined, a missing name or address is taken over,
/// and a block on either stays. `from` remains as a pointer to `into`.
/// Returns the `contact.merged` event for the caller's transaction.
pub(super) async fn merge_contacts_in(
    tx: &mut Transaction<'_, Any>,
    ws: i64,
    into: i64,
    from: i64,
    by: EventActor,
    lock: bool,
) -> Result<NewEvent> {
    if into == from {
        return Err(crate::domain::Invalid::new("from", "a contact cannot be merged into itself").into());
    }
    let (lo, hi) = (into.min(from), into.max(from));
    let a = load(tx, ws, lo, lock).await?;
    let b = load(tx, ws, hi, lock).await?;
    let (survivor, other) = if a.id == into { (a, b) } else { (b, a) };
    if survivor.merged_into.is_some() || other.merged_into.is_some() {
        return Err(StoreError::Conflict("one of these contacts was already merged".into()));
    }
    let now = now_ms();
    let tickets: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM tickets WHERE workspace_id = $1 AND contact_id = $2 ORDER BY id")
            .bind(ws)
            .bind(from)
            .fetch_all(&mut **tx)
            .await?;
    let moved_identities =
        sqlx::query("UPDATE contact_identities SET contact_id = $1 WHERE workspace_id = $2 AND contact_id = $3")
            .bind(into)
            .bind(ws)
            .bind(from)
            .execute(&mut **tx)
            .await?
            .rows_affected();
    for table in [
        "tickets",
        "chat_visitors",
        "attachments",
        "csat_responses",
        "nps_surveys",
        "visitor_events",
        "campaign_exposures",
    ] {
        sqlx::query(&format!(
            "UPDATE {table} SET contact_id = $1 WHERE workspace_id = $2 AND contact_id = $3"
        ))
        .bind(into)
        .bind(ws)
        .bind(from)
        .execute(&mut **tx)
        .await?;
    }
    let mut merged = attrs(&other.attributes);
    merged.extend(attrs(&survivor.attributes));
    let notes = match (survivor.notes.trim().is_empty(), other.notes.trim().is_empty()) {
        (_, true) => survivor.notes.clone(),
        (true, false) => other.notes.clone(),
        (false, false) => format!("{}\n\n{}", survivor.notes, other.notes),
    };
    let name = if survivor.name.is_empty() {
        &other.name
    } else {
        &survivor.name
    };
    let email = survivor.email.clone().or(other.email.clone());
    let blocked = survivor.blocked_at.or(other.blocked_at);
    sqlx::query("UPDATE contacts SET name = $1, email = $2, attributes = $3, notes = $4, blocked_at = $5, updated_at = $6 WHERE id = $7")
        .bind(name)
        .bind(email.as_deref())
        .bind(Value::Object(merged).to_string())
        .bind(&notes)
        .bind(blocked)
        .bind(now)
        .bind(into)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE contacts SET merged_into = $1, email = NULL, updated_at = $2 WHERE id = $3")
        .bind(into)
        .bind(now)
        .bind(from)
        .execute(&mut **tx)
        .await?;
    Ok(NewEvent::new(ws, EventType::ContactMerged, by)
        .contact(into)
        .changes(serde_json::json!({
            "from": from, "tickets": tickets, "identities": moved_identities,
        })))
}

/// An address proof link not yet used nor expired.
#[derive(Debug, Clone)]
pub struct Proof {
    pub email: String,
    pub lang: String,
}

/// Proof links a visitor may ask for in an hour (each is a mail sent).
const PROOFS_PER_HOUR: i64 = 3;

/// A visitor said `email`, which contact `owner` has: instead of linking
/// them on their word, queue a one-time link to that address (its token
/// kept hashed) whose opening merges the visitor into the owner. False
/// when the visitor asked too often and nothing was sent.
#[allow(clippy::too_many_arguments)]
pub(super) async fn send_proof_in(
    tx: &mut Transaction<'_, Any>,
    ws: i64,
    visitor_contact: i64,
    owner: i64,
    email: &crate::domain::Email,
    lang: &str,
    link_base: &str,
    now: i64,
) -> Result<bool> {
    let recent: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM contact_email_proofs WHERE workspace_id = $1 AND visitor_contact_id = $2 AND created_at > $3",
    )
    .bind(ws)
    .bind(visitor_contact)
    .bind(now - 3_600_000)
    .fetch_one(&mut **tx)
    .await?;
    if recent >= PROOFS_PER_HOUR {
        return Ok(false);
    }
    let token = crate::auth::new_token()[4..].to_string();
    sqlx::query("INSERT INTO contact_email_proofs (workspace_id, visitor_contact_id, owner_contact_id, email, token_hash, created_at, expires_at, lang) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(ws)
        .bind(visitor_contact)
        .bind(owner)
        .bind(email.as_str())
        .bind(crate::auth::token_hash(&token))
        .bind(now)
        .bind(now + PROOF_TTL_MS)
        .bind(lang)
        .execute(&mut **tx)
        .await?;
    let (slug, name): (String, String) = sqlx::query_as("SELECT slug, name FROM workspaces WHERE id = $1")
        .bind(ws)
        .fetch_one(&mut **tx)
        .await?;
    let url = format!("{}/p/{slug}/verify/{token}", link_base.trim_end_matches('/'));
    let subject = crate::i18n::text(lang, "mail-proof-subject", &[("workspace", &name)]);
    let body = crate::i18n::text(lang, "mail-proof-body", &[("url", &url), ("workspace", &name)]);
    let mail = super::mail::OutMail {
        workspace_id: ws,
        kind: "email_proof",
        ticket_id: None,
        message_id: None,
        to: email,
        subject: &subject,
        body: &body,
        in_reply_to: None,
    };
    super::mail::queue_in(tx, &mail).await?;
    Ok(true)
}

const PROOF_VALID: &str = "workspace_id = $1 AND token_hash = $2 AND used_at IS NULL AND expires_at > $3";

impl Store {
    /// The address a proof link is for, while it may still be used.
    pub async fn email_proof(&self, ws: i64, token: &str) -> Result<Proof> {
        let (email, lang): (String, String) = sqlx::query_as(&format!(
            "SELECT email, lang FROM contact_email_proofs WHERE {PROOF_VALID}"
        ))
        .bind(ws)
        .bind(crate::auth::token_hash(token))
        .bind(now_ms())
        .fetch_optional(&self.read)
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(Proof { email, lang })
    }

    /// Spends a proof link (once, before it expires): the visitor's contact
    /// is merged into the owner of the address. Returns the owner's id.
    pub async fn confirm_email_proof(&self, ws: i64, token: &str) -> Result<(i64, Vec<Event>)> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        // Spent first, so of two concurrent confirmations one finds it gone.
        let row: Option<(i64, i64)> = sqlx::query_as(&format!(
            "UPDATE contact_email_proofs SET used_at = $3 WHERE {PROOF_VALID} RETURNING visitor_contact_id, owner_contact_id"
        ))
        .bind(ws)
        .bind(crate::auth::token_hash(token))
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((visitor, owner)) = row else {
            return Err(StoreError::NotFound);
        };
        let lock = self.backend == Backend::Postgres;
        let ev = merge_contacts_in(&mut tx, ws, owner, visitor, EventActor::Contact(visitor), lock).await?;
        let logged = self.commit_with(tx, vec![ev]).await?;
        Ok((owner, logged))
    }
}
