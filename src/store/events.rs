//! The event log: rows written in the transaction of the change they
//! record, read back in commit order by consumers that each keep their own
//! position.
//!
//! Commit order: on SQLite one writer commits at a time, so the
//! autoincremented id is in commit order. On PostgreSQL transactions commit
//! side by side, so ids come from the one-row `event_clock`, updated by the
//! last statement of each writing transaction: its row lock is held until
//! the commit, so a transaction that takes ids after another also commits
//! after it, and a reader that has seen id N never later finds a smaller one.
//! The lock is held only from that statement to the commit.

use sqlx::{Any, Transaction};

use super::query::Sql;
use super::*;
use crate::domain::event::{Event, EventActor, EventType, NewEvent};

const EVENT_COLS: &str =
    "id, workspace_id, type, ticket_id, message_id, contact_id, article_id, actor_type, actor_id, changes, created_at";
/// Events per INSERT statement (11 values each).
const CHUNK: usize = 400;

#[derive(sqlx::FromRow)]
struct EventRow {
    id: i64,
    workspace_id: i64,
    #[sqlx(rename = "type")]
    kind: String,
    ticket_id: Option<i64>,
    message_id: Option<i64>,
    contact_id: Option<i64>,
    article_id: Option<i64>,
    actor_type: String,
    actor_id: Option<i64>,
    changes: String,
    created_at: i64,
}

impl TryFrom<EventRow> for Event {
    type Error = StoreError;
    fn try_from(r: EventRow) -> Result<Event> {
        Ok(Event {
            id: r.id,
            workspace_id: r.workspace_id,
            kind: EventType::parse("type", &r.kind).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            ticket_id: r.ticket_id,
            message_id: r.message_id,
            contact_id: r.contact_id,
            article_id: r.article_id,
            actor: EventActor::from_parts(&r.actor_type, r.actor_id)
                .ok_or_else(|| StoreError::Corrupt(format!("event {}: actor {}", r.id, r.actor_type)))?,
            changes: serde_json::from_str(&r.changes)
                .map_err(|e| StoreError::Corrupt(format!("event {}: {e}", r.id)))?,
            created_at: r.created_at,
        })
    }
}

/// Writes `events` inside the caller's transaction, as its last statement
/// (see the module comment), and returns them with their ids, in order.
pub(super) async fn append(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    events: Vec<NewEvent>,
) -> Result<Vec<Event>> {
    let now = now_ms();
    let mut out = Vec::with_capacity(events.len());
    for chunk in events.chunks(CHUNK) {
        let n = chunk.len() as i64;
        let (mut sql, select) = match backend {
            Backend::Sqlite => (Sql::new("INSERT INTO events (workspace_id, type, ticket_id, message_id, contact_id, article_id, actor_type, actor_id, changes, created_at) VALUES "), false),
            Backend::Postgres => {
                let mut sql = Sql::new("WITH c AS (UPDATE event_clock SET last_id = last_id + ");
                let p = sql.arg(n);
                sql.push(&format!("{p} WHERE id = 1 RETURNING last_id - {p}::bigint AS base) INSERT INTO events (id, workspace_id, type, ticket_id, message_id, contact_id, article_id, actor_type, actor_id, changes, created_at) SELECT c.base + v.k, v.ws, v.ty, v.t, v.m, v.c, v.a, v.at, v.ai, v.ch, v.ca FROM c, (VALUES "));
                (sql, true)
            }
        };
        let mut rows = Vec::with_capacity(chunk.len());
        for (k, e) in chunk.iter().enumerate() {
            let vals = [
                sql.arg(e.workspace_id),
                sql.arg(e.kind.as_str()),
                sql.arg(e.ticket_id),
                sql.arg(e.message_id),
                sql.arg(e.contact_id),
                sql.arg(e.article_id),
                sql.arg(e.actor.kind()),
                sql.arg(e.actor.id()),
                sql.arg(e.changes.to_string()),
                sql.arg(now),
            ];
            rows.push(if select {
                let casts = [
                    "bigint", "text", "bigint", "bigint", "bigint", "bigint", "text", "bigint", "text", "bigint",
                ];
                let typed: Vec<String> = vals.iter().zip(casts).map(|(v, c)| format!("{v}::{c}")).collect();
                format!("({}::bigint, {})", k + 1, typed.join(", "))
            } else {
                format!("({})", vals.join(", "))
            });
        }
        sql.push(&rows.join(", "));
        if select {
            sql.push(") AS v (k, ws, ty, t, m, c, a, at, ai, ch, ca)");
        }
        sql.push(" RETURNING id");
        let mut ids: Vec<i64> = sql
            .query_as::<(i64,)>()
            .fetch_all(&mut **tx)
            .await?
            .into_iter()
            .map(|(id,)| id)
            .collect();
        ids.sort_unstable();
        if ids.len() != chunk.len() {
            return Err(StoreError::Corrupt(
                "the event log took fewer rows than it was given".into(),
            ));
        }
        for (id, e) in ids.into_iter().zip(chunk) {
            out.push(Event {
                id,
                workspace_id: e.workspace_id,
                kind: e.kind,
                ticket_id: e.ticket_id,
                message_id: e.message_id,
                contact_id: e.contact_id,
                article_id: e.article_id,
                actor: e.actor,
                changes: e.changes.clone(),
                created_at: now,
            });
        }
    }
    Ok(out)
}

/// A cluster consumer's standing, as its lease row holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub position: i64,
    pub owner: Option<String>,
    pub lease_until: i64,
}

impl Store {
    /// Commits `tx` with `events` appended as its last statement. The
    /// caller wakes the consumers (`Bus::logged`); they also look by
    /// themselves every second, so a write without a wake is only late.
    pub(crate) async fn commit_with(&self, mut tx: Transaction<'_, Any>, events: Vec<NewEvent>) -> Result<Vec<Event>> {
        let logged = if events.is_empty() {
            vec![]
        } else {
            append(&mut tx, self.backend, events).await?
        };
        tx.commit().await?;
        Ok(logged)
    }

    /// Events of every workspace after `after`, oldest first: for consumers.
    pub async fn events_after(&self, after: i64, limit: i64) -> Result<Vec<Event>> {
        let rows: Vec<EventRow> = sqlx::query_as(&format!(
            "SELECT {EVENT_COLS} FROM events WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after)
        .bind(limit.clamp(1, 10_000))
        .fetch_all(&self.read)
        .await?;
        rows.into_iter().map(Event::try_from).collect()
    }

    /// One workspace's events after `after`, oldest first: the feed.
    pub async fn workspace_events(&self, workspace_id: i64, after: i64, limit: i64) -> Result<Vec<Event>> {
        let rows: Vec<EventRow> = sqlx::query_as(&format!(
            "SELECT {EVENT_COLS} FROM events WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(workspace_id)
        .bind(after)
        .bind(limit.clamp(1, 1000))
        .fetch_all(&self.read)
        .await?;
        rows.into_iter().map(Event::try_from).collect()
    }

    /// The newest event's id (0 for an empty log).
    pub async fn event_head(&self) -> Result<i64> {
        Ok(sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(id) FROM events")
            .fetch_one(&self.read)
            .await?
            .unwrap_or(0))
    }

    /// The oldest event still kept (None for an empty log).
    pub async fn event_tail(&self) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar::<_, Option<i64>>("SELECT MIN(id) FROM events")
            .fetch_one(&self.read)
            .await?)
    }

    /// When event `id` was written, if the log holds it: tells whether a
    /// position kept elsewhere (a search index) belongs to this database.
    pub async fn event_created_at(&self, id: i64) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT created_at FROM events WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?)
    }

    /// Takes or renews the lease of consumer `name` for `owner` until
    /// `until`; a new consumer starts at `start`. Returns the lease when
    /// `owner` holds it now, None when another node does.
    pub async fn acquire_lease(&self, name: &str, owner: &str, until: i64, start: i64) -> Result<Option<Lease>> {
        let now = now_ms();
        sqlx::query("INSERT INTO event_consumers (name, position, owner, lease_until, updated_at) VALUES ($1, $2, NULL, 0, $3) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(start)
            .bind(now)
            .execute(&self.write)
            .await?;
        let row: Option<(i64, Option<String>, i64)> = sqlx::query_as(
            "UPDATE event_consumers SET owner = $1, lease_until = $2, updated_at = $3 WHERE name = $4 AND (owner = $1 OR owner IS NULL OR lease_until < $3) RETURNING position, owner, lease_until",
        )
        .bind(owner)
        .bind(until)
        .bind(now)
        .bind(name)
        .fetch_optional(&self.write)
        .await?;
        Ok(row.map(|(position, owner, lease_until)| Lease {
            position,
            owner,
            lease_until,
        }))
    }

    /// Gives a lease up (on shutdown), so another node need not wait it out.
    pub async fn release_lease(&self, name: &str, owner: &str) -> Result<()> {
        sqlx::query("UPDATE event_consumers SET owner = NULL, lease_until = 0 WHERE name = $1 AND owner = $2")
            .bind(name)
            .bind(owner)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// A consumer's position (None when it never ran).
    pub async fn consumer_position(&self, name: &str) -> Result<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT position FROM event_consumers WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    /// Deletes events older than `before` (ms) in batches of `batch`, never
    /// one that a cluster consumer has not passed. (A node's own consumers
    /// that fall behind the log's tail start over: the search index is
    /// rebuilt, the realtime fan-out starts from the head.)
    /// Returns how many went.
    pub async fn prune_events(&self, before: i64, batch: i64) -> Result<u64> {
        let floor: Option<i64> = sqlx::query_scalar("SELECT MIN(position) FROM event_consumers")
            .fetch_one(&self.read)
            .await?;
        let floor = floor.unwrap_or(i64::MAX);
        let mut total = 0;
        loop {
            let n = sqlx::query("DELETE FROM events WHERE id IN (SELECT id FROM events WHERE created_at < $1 AND id <= $2 ORDER BY id LIMIT $3)")
                .bind(before)
                .bind(floor)
                .bind(batch)
                .execute(&self.write)
                .await?
                .rows_affected();
            total += n;
            if n < batch as u64 {
                return Ok(total);
            }
        }
    }
}

/// Moves a cluster consumer's position inside the transaction of its
/// effects, only while `owner` still holds the lease: a node that lost it
/// (paused past its lease) cannot also commit what the new holder does.
pub(crate) async fn advance_in(tx: &mut Transaction<'_, Any>, name: &str, owner: &str, position: i64) -> Result<bool> {
    let n = sqlx::query("UPDATE event_consumers SET position = $1, updated_at = $2 WHERE name = $3 AND owner = $4 AND lease_until >= $2 AND position <= $1")
        .bind(position)
        .bind(now_ms())
        .bind(name)
        .bind(owner)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(n == 1)
}
