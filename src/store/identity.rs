//! Visitors the store vouches for (`domain::identity`): the workspace's
//! identity secret, and linking a chat visitor to the customer it names.

use serde_json::{Map, Value};
use sqlx::{Any, Transaction};

use super::chat::Visitor;
use super::contacts::merge_contacts_in;
use super::*;
use crate::domain::event::{Event, EventActor, EventType, NewEvent};
use crate::domain::identity::Claim;

/// The identity channel a store's own customer id is kept under.
const STORE_ID: &str = "store";
/// Most attributes a contact keeps from identify calls and earlier ones.
const ATTRIBUTES_KEPT: usize = 200;

impl Store {
    /// The secret stores sign identities with, if the admin made one.
    pub async fn identity_secret(&self, ws: i64) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT identity_secret FROM workspace_settings WHERE workspace_id = $1")
                .bind(ws)
                .fetch_optional(&self.read)
                .await?
                .flatten(),
        )
    }

    /// Sets (or, with `None`, removes) the identity secret.
    pub async fn set_identity_secret(&self, ws: i64, secret: Option<&str>) -> Result<()> {
        sqlx::query(
            "INSERT INTO workspace_settings (workspace_id, updated_at, identity_secret) VALUES ($1, $2, $3) \
             ON CONFLICT (workspace_id) DO UPDATE SET identity_secret = excluded.identity_secret, updated_at = excluded.updated_at",
        )
        .bind(ws)
        .bind(now_ms())
        .bind(secret)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Links visitor `v` to the customer a verified `claim` names, in one
    /// transaction. An anonymous visitor's contact is merged into the
    /// customer's (their chat so far goes with them); a visitor already
    /// known as someone else is moved to the customer's contact without
    /// merging, so two customers sharing a browser are never joined.
    /// Returns the customer's contact id.
    pub async fn identify_visitor(&self, v: &Visitor, claim: &Claim) -> Result<(i64, Vec<Event>)> {
        let ws = v.workspace_id;
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let current: i64 =
            sqlx::query_scalar("SELECT contact_id FROM chat_visitors WHERE workspace_id = $1 AND id = $2")
                .bind(ws)
                .bind(v.id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
        let mut owner = None;
        if let Some(id) = &claim.id {
            owner = identity_owner(&mut tx, ws, STORE_ID, id).await?;
        }
        if let (None, Some(e)) = (owner, &claim.email) {
            owner = identity_owner(&mut tx, ws, "email", e.as_str()).await?;
        }
        let known = known_as(&mut tx, current).await?;
        let names_current = known.is_empty()
            || claim
                .id
                .as_ref()
                .is_some_and(|id| known.contains(&(STORE_ID.into(), id.clone())))
            || claim
                .email
                .as_ref()
                .is_some_and(|e| known.contains(&("email".into(), e.as_str().into())));
        let mut events = Vec::new();
        let target = match owner {
            Some(o) if o == current => current,
            Some(o) if known.is_empty() => {
                let lock = self.backend == Backend::Postgres;
                events.push(merge_contacts_in(&mut tx, ws, o, current, EventActor::Contact(current), lock).await?);
                o
            }
            Some(o) => {
                move_visitor(&mut tx, ws, v.id, o).await?;
                o
            }
            None if names_current => current,
            None => {
                let c: i64 = sqlx::query_scalar(
                    "INSERT INTO contacts (workspace_id, name, email, attributes, created_at, updated_at) VALUES ($1, '', NULL, '{}', $2, $2) RETURNING id",
                )
                .bind(ws)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                events.push(
                    NewEvent::new(ws, EventType::ContactCreated, EventActor::Contact(current))
                        .contact(c)
                        .changes(serde_json::json!({ "source": "identify" })),
                );
                move_visitor(&mut tx, ws, v.id, c).await?;
                c
            }
        };
        let changes = describe(&mut tx, ws, target, claim, now).await?;
        if !changes.is_empty() {
            events.push(
                NewEvent::new(ws, EventType::ContactUpdated, EventActor::Contact(target))
                    .contact(target)
                    .changes(Value::Object(changes)),
            );
        }
        let logged = self.commit_with(tx, events).await?;
        Ok((target, logged))
    }
}

async fn identity_owner(tx: &mut Transaction<'_, Any>, ws: i64, channel: &str, value: &str) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT contact_id FROM contact_identities WHERE workspace_id = $1 AND channel = $2 AND value = $3",
    )
    .bind(ws)
    .bind(channel)
    .bind(value)
    .fetch_optional(&mut **tx)
    .await?)
}

/// The customer identities (store id, address) contact `c` already has.
async fn known_as(tx: &mut Transaction<'_, Any>, c: i64) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT channel, value FROM contact_identities WHERE contact_id = $1 AND channel IN ('store', 'email')",
    )
    .bind(c)
    .fetch_all(&mut **tx)
    .await?)
}

async fn move_visitor(tx: &mut Transaction<'_, Any>, ws: i64, visitor: i64, to: i64) -> Result<()> {
    sqlx::query("UPDATE chat_visitors SET contact_id = $1 WHERE workspace_id = $2 AND id = $3")
        .bind(to)
        .bind(ws)
        .bind(visitor)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "UPDATE contact_identities SET contact_id = $1 WHERE workspace_id = $2 AND channel = 'chat' AND value = $3",
    )
    .bind(to)
    .bind(ws)
    .bind(format!("visitor-{visitor}"))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Writes what the claim says onto contact `c`: its identities (unless
/// another contact holds them), a name, an address where it has none, and
/// the attributes. Returns the changes made.
async fn describe(
    tx: &mut Transaction<'_, Any>,
    ws: i64,
    c: i64,
    claim: &Claim,
    now: i64,
) -> Result<Map<String, Value>> {
    let (name, email, attributes): (String, Option<String>, String) =
        sqlx::query_as("SELECT name, email, attributes FROM contacts WHERE workspace_id = $1 AND id = $2")
            .bind(ws)
            .bind(c)
            .fetch_one(&mut **tx)
            .await?;
    let mut changes = Map::new();
    let ids = [
        (STORE_ID, claim.id.as_deref()),
        ("email", claim.email.as_ref().map(|e| e.as_str())),
    ];
    for (channel, value) in ids {
        if let Some(value) = value {
            let added = sqlx::query(
                "INSERT INTO contact_identities (workspace_id, contact_id, channel, value, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(ws)
            .bind(c)
            .bind(channel)
            .bind(value)
            .bind(now)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            if added > 0 {
                changes.insert(format!("identity_{channel}"), Value::from(value));
            }
        }
    }
    let new_name = claim.name.as_deref().filter(|n| *n != name);
    let new_email = claim.email.as_ref().filter(|_| email.is_none()).map(|e| e.as_str());
    let mut attrs: Map<String, Value> = match serde_json::from_str(&attributes) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let mut attrs_changed = Vec::new();
    for (k, v) in &claim.attributes {
        if attrs.get(k) != Some(v) {
            attrs.insert(k.clone(), v.clone());
            attrs_changed.push(Value::from(k.as_str()));
        }
    }
    if attrs.len() > ATTRIBUTES_KEPT {
        return Err(crate::domain::Invalid::new(
            "attributes",
            format!("a customer keeps at most {ATTRIBUTES_KEPT} attributes"),
        )
        .into());
    }
    if new_name.is_none() && new_email.is_none() && attrs_changed.is_empty() {
        return Ok(changes);
    }
    sqlx::query(
        "UPDATE contacts SET name = COALESCE($1, name), email = COALESCE(email, $2), attributes = $3, updated_at = $4 WHERE id = $5",
    )
    .bind(new_name)
    .bind(new_email)
    .bind(Value::Object(attrs).to_string())
    .bind(now)
    .bind(c)
    .execute(&mut **tx)
    .await?;
    if let Some(n) = new_name {
        changes.insert("name".into(), crate::domain::event::change(&name, n));
    }
    if let Some(e) = new_email {
        changes.insert("email".into(), crate::domain::event::change(&email, e));
    }
    if !attrs_changed.is_empty() {
        changes.insert("attributes".into(), Value::Array(attrs_changed));
    }
    Ok(changes)
}
