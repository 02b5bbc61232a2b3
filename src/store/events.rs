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

use super::*;
use crate::domain::event::{Event, EventActor, EventType, NewEvent};

const EVENT_COLS: &str =
    "id, workspace_id, type, ticket_id, message_id, contact_id, article_id, actor_type, actor_id, changes, created_at";

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
    // One statement whatever the number of events: on SQLite every round
    // trip to the single writer's thread costs all writers time, and on
    // PostgreSQL the clock is held from here to the commit. The rows travel
    // as one JSON array, in order.
    let rows: Vec<JsonRow<'_>> = events
        .iter()
        .enumerate()
        .map(|(k, e)| JsonRow {
            k: k as i64 + 1,
            ws: e.workspace_id,
            ty: e.kind.as_str(),
            t: e.ticket_id,
            m: e.message_id,
            c: e.contact_id,
            a: e.article_id,
            at: e.actor.kind(),
            ai: e.actor.id(),
            ch: &e.changes,
        })
        .collect();
    let rows = serde_json::to_string(&rows).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let q = match backend {
        Backend::Sqlite => sqlx::query_as::<_, (i64,)>(SQLITE_APPEND).bind(rows).bind(now),
        Backend::Postgres => sqlx::query_as::<_, (i64,)>(POSTGRES_APPEND)
            .bind(rows)
            .bind(now)
            .bind(events.len() as i64),
    };
    let mut ids: Vec<i64> = q.fetch_all(&mut **tx).await?.into_iter().map(|(id,)| id).collect();
    ids.sort_unstable();
    if ids.len() != events.len() {
        return Err(StoreError::Corrupt(
            "the event log took fewer rows than it was given".into(),
        ));
    }
    Ok(ids
        .into_iter()
        .zip(events)
        .map(|(id, e)| Event {
            id,
            workspace_id: e.workspace_id,
            kind: e.kind,
            ticket_id: e.ticket_id,
            message_id: e.message_id,
            contact_id: e.contact_id,
            article_id: e.article_id,
            actor: e.actor,
            changes: e.changes,
            created_at: now,
        })
        .collect())
}

/// SQLite assigns the ids itself, in the order the rows are inserted.
const SQLITE_APPEND: &str = "INSERT INTO events (workspace_id, type, ticket_id, message_id, contact_id, article_id, \
     actor_type, actor_id, changes, created_at) \
     SELECT value ->> 'ws', value ->> 'ty', value ->> 't', value ->> 'm', value ->> 'c', value ->> 'a', \
     value ->> 'at', value ->> 'ai', value -> 'ch', $2 FROM json_each($1) ORDER BY CAST(key AS INTEGER) RETURNING id";

/// One event as the append statements read it from the JSON array.
#[derive(serde::Serialize)]
struct JsonRow<'a> {
    k: i64,
    ws: i64,
    ty: &'a str,
    t: Option<i64>,
    m: Option<i64>,
    c: Option<i64>,
    a: Option<i64>,
    at: &'a str,
    ai: Option<i64>,
    ch: &'a serde_json::Value,
}

/// PostgreSQL takes the ids from the clock (see the module comment).
const POSTGRES_APPEND: &str = "WITH c AS (UPDATE event_clock SET last_id = last_id + $3 WHERE id = 1 \
     RETURNING last_id - $3::bigint AS base) \
     INSERT INTO events (id, workspace_id, type, ticket_id, message_id, contact_id, article_id, actor_type, actor_id, \
     changes, created_at) \
     SELECT c.base + u.k, u.ws, u.ty, u.t, u.m, u.c, u.a, u.at, u.ai, u.ch::text, $2::bigint \
     FROM c, jsonb_to_recordset($1::jsonb) AS u (k bigint, ws bigint, ty text, t bigint, m bigint, c bigint, \
     a bigint, at text, ai bigint, ch jsonb) RETURNING id";

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

    /// Gives a lease up (on shutdown), saving how far its holder got, so
    /// another node takes over at once.
    pub async fn release_lease(&self, name: &str, owner: &str, position: i64) -> Result<()> {
        sqlx::query(
            "UPDATE event_consumers SET owner = NULL, lease_until = 0, \
             position = CASE WHEN position < $3 THEN $3 ELSE position END WHERE name = $1 AND owner = $2",
        )
        .bind(name)
        .bind(owner)
        .bind(position)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Saves a cluster consumer's position while `owner` holds its lease;
    /// false when it does not any more.
    pub async fn save_leased_position(&self, name: &str, owner: &str, position: i64) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let held = advance_in(&mut tx, name, owner, position).await?;
        tx.commit().await?;
        Ok(held)
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
            // The oldest `batch` by id (ids follow time), those of them old
            // enough: no index on created_at to keep up on every write.
            let n = sqlx::query(
                "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id <= $2 ORDER BY id LIMIT $3) AND created_at < $1",
            )
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

/// Event `id` of workspace `ws`, read inside the caller's transaction.
pub(crate) async fn event_in(tx: &mut Transaction<'_, Any>, ws: i64, id: i64) -> Result<Option<Event>> {
    let row: Option<EventRow> = sqlx::query_as(&format!(
        "SELECT {EVENT_COLS} FROM events WHERE id = $1 AND workspace_id = $2"
    ))
    .bind(id)
    .bind(ws)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(Event::try_from).transpose()
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
