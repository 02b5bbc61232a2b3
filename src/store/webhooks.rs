//! Outbound webhooks' rows: subscriptions, and the deliveries the consumer
//! makes of events (with its position, in one transaction), that a sender
//! claims with a lease, tries and logs.

use sqlx::{Any, Transaction};

use super::events::advance_in;
use super::mail::{queue_in, OutMail};
use super::*;
use crate::domain::event::{Event, EventActor, EventType, NewEvent};
use crate::domain::webhook::wants;
use crate::domain::Email;

/// A subscription as admins see it (never its secret).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    pub events: Vec<String>,
    pub active: bool,
    /// Why it was switched off by itself (persistent failure).
    pub disabled_reason: Option<String>,
    #[serde(serialize_with = "crate::domain::time::ser_opt")]
    pub failing_since: Option<i64>,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub created_at: i64,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct WebhookRow {
    id: i64,
    url: String,
    events: String,
    active: i64,
    disabled_reason: Option<String>,
    failing_since: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl From<WebhookRow> for Webhook {
    fn from(r: WebhookRow) -> Self {
        Webhook {
            id: r.id,
            url: r.url,
            events: serde_json::from_str(&r.events).unwrap_or_default(),
            active: r.active != 0,
            disabled_reason: r.disabled_reason,
            failing_since: r.failing_since,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

const WEBHOOK_COLS: &str = "id, url, events, active, disabled_reason, failing_since, created_at, updated_at";

/// One delivery as the log shows it.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct WebhookDelivery {
    pub id: i64,
    pub webhook_id: i64,
    pub event_id: i64,
    pub event_type: String,
    pub ticket_id: Option<i64>,
    /// `event`, `rule` or `replay`.
    pub origin: String,
    /// `pending`, `delivered` or `failed` (given up).
    pub state: String,
    pub attempts: i64,
    pub response_status: Option<i64>,
    pub response_excerpt: Option<String>,
    pub last_error: Option<String>,
    #[serde(serialize_with = "crate::domain::time::ser_opt")]
    pub next_attempt_at: Option<i64>,
    #[serde(serialize_with = "crate::domain::time::ser_opt")]
    pub last_attempt_at: Option<i64>,
    #[serde(serialize_with = "crate::domain::time::ser_opt")]
    pub delivered_at: Option<i64>,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub created_at: i64,
}

const DELIVERY_COLS: &str =
    "id, webhook_id, event_id, event_type, ticket_id, origin, state, attempts, response_status, \
     response_excerpt, last_error, CASE WHEN state = 'pending' THEN next_attempt_at END AS next_attempt_at, \
     last_attempt_at, delivered_at, created_at";

/// A delivery a sender claimed, with what it needs to send it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub id: i64,
    pub workspace_id: i64,
    pub webhook_id: i64,
    pub event_type: String,
    pub event: String,
    pub attempts: i64,
    pub created_at: i64,
    pub url: String,
    pub secret: String,
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub status: Option<i64>,
    pub excerpt: Option<String>,
    pub error: Option<String>,
    pub ok: bool,
}

/// When a failing delivery is given up and its subscription switched off.
#[derive(Debug, Clone, Copy)]
pub struct FailurePolicy {
    /// When a failed attempt is tried again (ms), unless given up.
    pub retry_at: i64,
    /// Given up once it is this old (ms).
    pub give_up_after: i64,
    /// Off when every attempt failed for this long (ms)…
    pub disable_after: i64,
    /// …or this many deliveries were given up in a row.
    pub disable_streak: i64,
}

impl Store {
    pub async fn create_webhook(&self, ws: i64, url: &str, events: &[String], secret: &str) -> Result<Webhook> {
        let now = now_ms();
        let row: WebhookRow = sqlx::query_as(&format!(
            "INSERT INTO webhooks (workspace_id, url, events, secret, active, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 1, $5, $5) RETURNING {WEBHOOK_COLS}"
        ))
        .bind(ws)
        .bind(url)
        .bind(serde_json::to_string(events).unwrap_or_default())
        .bind(secret)
        .bind(now)
        .fetch_one(&self.write)
        .await?;
        Ok(row.into())
    }

    pub async fn list_webhooks(&self, ws: i64) -> Result<Vec<Webhook>> {
        let rows: Vec<WebhookRow> = sqlx::query_as(&format!(
            "SELECT {WEBHOOK_COLS} FROM webhooks WHERE workspace_id = $1 ORDER BY id"
        ))
        .bind(ws)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(Webhook::from).collect())
    }

    /// Workspace `ws`'s subscription `id` (another's is not found).
    pub async fn webhook(&self, ws: i64, id: i64) -> Result<Webhook> {
        let row: Option<WebhookRow> = sqlx::query_as(&format!(
            "SELECT {WEBHOOK_COLS} FROM webhooks WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(ws)
        .bind(id)
        .fetch_optional(&self.write)
        .await?;
        row.map(Webhook::from).ok_or(StoreError::NotFound)
    }

    /// Changes what is given. Switching it on again starts its failure
    /// count afresh.
    pub async fn update_webhook(
        &self,
        ws: i64,
        id: i64,
        url: Option<&str>,
        events: Option<&[String]>,
        active: Option<bool>,
    ) -> Result<Webhook> {
        let current = self.webhook(ws, id).await?;
        let events = events.map(|e| serde_json::to_string(e).unwrap_or_default());
        let reactivate = active == Some(true) && !current.active;
        let row: Option<WebhookRow> = sqlx::query_as(&format!(
            "UPDATE webhooks SET url = COALESCE($3, url), events = COALESCE($4, events), \
             active = COALESCE($5, active), updated_at = $6, \
             disabled_reason = CASE WHEN $7 = 1 THEN NULL ELSE disabled_reason END, \
             failing_since = CASE WHEN $7 = 1 THEN NULL ELSE failing_since END, \
             given_up_streak = CASE WHEN $7 = 1 THEN 0 ELSE given_up_streak END \
             WHERE workspace_id = $1 AND id = $2 RETURNING {WEBHOOK_COLS}"
        ))
        .bind(ws)
        .bind(id)
        .bind(url)
        .bind(events)
        .bind(active.map(i64::from))
        .bind(now_ms())
        .bind(i64::from(reactivate))
        .fetch_optional(&self.write)
        .await?;
        row.map(Webhook::from).ok_or(StoreError::NotFound)
    }

    pub async fn delete_webhook(&self, ws: i64, id: i64) -> Result<()> {
        self.delete_owned("webhooks", ws, id).await
    }

    /// A subscription's deliveries, newest first, before id `before`.
    pub async fn webhook_deliveries(
        &self,
        ws: i64,
        webhook_id: i64,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<WebhookDelivery>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {DELIVERY_COLS} FROM webhook_deliveries WHERE workspace_id = $1 AND webhook_id = $2 AND id < $3 \
             ORDER BY id DESC LIMIT $4"
        ))
        .bind(ws)
        .bind(webhook_id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&self.read)
        .await?)
    }

    /// Sends delivery `id` of subscription `webhook_id` again, as a new
    /// delivery (the old one's log stays as it was).
    pub async fn replay_webhook_delivery(&self, ws: i64, webhook_id: i64, id: i64) -> Result<WebhookDelivery> {
        let now = now_ms();
        let new_id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO webhook_deliveries (workspace_id, webhook_id, event_id, event_type, ticket_id, event, origin, \
             state, attempts, next_attempt_at, created_at) \
             SELECT workspace_id, webhook_id, event_id, event_type, ticket_id, event, 'replay', 'pending', 0, $4, $4 \
             FROM webhook_deliveries WHERE workspace_id = $1 AND webhook_id = $2 AND id = $3 RETURNING id",
        )
        .bind(ws)
        .bind(webhook_id)
        .bind(id)
        .bind(now)
        .fetch_optional(&self.write)
        .await?;
        let new_id = new_id.ok_or(StoreError::NotFound)?;
        Ok(
            sqlx::query_as(&format!("SELECT {DELIVERY_COLS} FROM webhook_deliveries WHERE id = $1"))
                .bind(new_id)
                .fetch_one(&self.write)
                .await?,
        )
    }

    /// Whether any active subscription takes one of `events`: a page none
    /// does has nothing to write.
    pub async fn webhooks_want(&self, events: &[std::sync::Arc<Event>]) -> Result<bool> {
        let subs = active_subscriptions(&self.read, events).await?;
        Ok(events.iter().any(|e| subs.iter().any(|s| s.takes(e))))
    }

    /// Makes the deliveries `events` call for and moves consumer `name`
    /// past them, only while `owner` holds its lease (false: nothing written).
    pub async fn queue_webhook_events(
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
        let subs = active_subscriptions(&mut *tx, events).await?;
        for e in events {
            for s in subs.iter().filter(|s| s.takes(e)) {
                queue_delivery_in(&mut tx, s.id, e, "event").await?;
            }
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Deliveries due now, oldest first, at most `limit`: each the first
    /// pending one of its ticket for its subscription (order per ticket),
    /// not claimed by a sender, of an active subscription with fewer than
    /// `per_hook` deliveries in flight (a slow receiver holds only its own).
    pub async fn due_webhook_deliveries(&self, limit: i64, per_hook: i64) -> Result<Vec<i64>> {
        let now = now_ms();
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT d.id, d.webhook_id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
             WHERE d.state = 'pending' AND d.next_attempt_at <= $1 AND d.claimed_until < $1 AND w.active = 1 \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.webhook_id = d.webhook_id \
               AND p.ticket_id = d.ticket_id AND p.state = 'pending' AND p.id < d.id) \
             ORDER BY d.next_attempt_at, d.id LIMIT $2",
        )
        .bind(now)
        .bind(limit * 4)
        .fetch_all(&self.read)
        .await?;
        let busy: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT webhook_id, COUNT(*) FROM webhook_deliveries WHERE state = 'pending' AND claimed_until >= $1 \
             GROUP BY webhook_id",
        )
        .bind(now)
        .fetch_all(&self.read)
        .await?;
        let mut load: std::collections::HashMap<i64, i64> = busy.into_iter().collect();
        let mut out = Vec::new();
        for (id, hook) in rows {
            let n = load.entry(hook).or_insert(0);
            if *n < per_hook && (out.len() as i64) < limit {
                *n += 1;
                out.push(id);
            }
        }
        Ok(out)
    }

    /// Claims delivery `id` until `until` (ms) when no sender holds it:
    /// the update is the lock, so of two nodes one gets it.
    pub async fn claim_webhook_delivery(&self, id: i64, until: i64) -> Result<Option<Claimed>> {
        let now = now_ms();
        // On PostgreSQL a row another node is claiming right now is skipped
        // rather than waited for; SQLite has one writer at a time anyway.
        let sql = match self.backend {
            Backend::Postgres => {
                "UPDATE webhook_deliveries SET claimed_until = $2 WHERE id = (SELECT id FROM webhook_deliveries \
                 WHERE id = $1 AND state = 'pending' AND claimed_until < $3 FOR UPDATE SKIP LOCKED)"
            }
            Backend::Sqlite => {
                "UPDATE webhook_deliveries SET claimed_until = $2 WHERE id = $1 AND state = 'pending' AND claimed_until < $3"
            }
        };
        let n = sqlx::query(sql)
            .bind(id)
            .bind(until)
            .bind(now)
            .execute(&self.write)
            .await?
            .rows_affected();
        if n != 1 {
            return Ok(None);
        }
        Ok(sqlx::query_as(
            "SELECT d.id, d.workspace_id, d.webhook_id, d.event_type, d.event, d.attempts, d.created_at, w.url, w.secret \
             FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.write)
        .await?)
    }

    /// Records an attempt of claimed delivery `d`: delivered; or tried
    /// again later; or given up, which may switch its subscription off (a
    /// `webhook.disabled` event and a mail to the workspace's admins, in
    /// the same transaction). Returns the events written.
    pub async fn record_webhook_attempt(&self, d: &Claimed, a: &Attempt, policy: FailurePolicy) -> Result<Vec<Event>> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let state = if a.ok {
            "delivered"
        } else if now - d.created_at >= policy.give_up_after {
            "failed"
        } else {
            "pending"
        };
        sqlx::query(
            "UPDATE webhook_deliveries SET state = $2, attempts = attempts + 1, claimed_until = 0, \
             response_status = $3, response_excerpt = $4, last_error = $5, last_attempt_at = $6, \
             next_attempt_at = $7, delivered_at = CASE WHEN $2 = 'delivered' THEN $6 END \
             WHERE id = $1 AND state = 'pending'",
        )
        .bind(d.id)
        .bind(state)
        .bind(a.status)
        .bind(a.excerpt.as_deref())
        .bind(a.error.as_deref())
        .bind(now)
        .bind(policy.retry_at)
        .execute(&mut *tx)
        .await?;
        let mut events = Vec::new();
        match state {
            "delivered" => {
                sqlx::query("UPDATE webhooks SET failing_since = NULL, given_up_streak = 0 WHERE id = $1")
                    .bind(d.webhook_id)
                    .execute(&mut *tx)
                    .await?;
            }
            _ => {
                let given_up = i64::from(state == "failed");
                let row: Option<(Option<i64>, i64, i64, String)> = sqlx::query_as(
                    "UPDATE webhooks SET failing_since = COALESCE(failing_since, $2), \
                     given_up_streak = given_up_streak + $3 WHERE id = $1 \
                     RETURNING failing_since, given_up_streak, active, url",
                )
                .bind(d.webhook_id)
                .bind(now)
                .bind(given_up)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some((since, streak, active, url)) = row {
                    let long = since.is_some_and(|s| now - s >= policy.disable_after);
                    if given_up == 1 && active != 0 && (long || streak >= policy.disable_streak) {
                        let reason = if long {
                            format!(
                                "every delivery failed for {} hours",
                                (policy.disable_after / 3_600_000).max(1)
                            )
                        } else {
                            format!("{streak} deliveries in a row were given up")
                        };
                        events.push(disable_in(&mut tx, d, &url, &reason, a).await?);
                    }
                }
            }
        }
        self.commit_with(tx, events).await
    }

    /// Deletes finished deliveries (delivered or given up) made before
    /// `before` (ms); returns how many went. Pending ones stay.
    pub async fn prune_webhook_deliveries(&self, before: i64) -> Result<u64> {
        Ok(
            sqlx::query("DELETE FROM webhook_deliveries WHERE state <> 'pending' AND created_at < $1")
                .bind(before)
                .execute(&self.write)
                .await?
                .rows_affected(),
        )
    }
}

/// An active subscription as the consumer matches events with it.
struct Subscription {
    id: i64,
    workspace_id: i64,
    events: Vec<String>,
    created_at: i64,
}

impl Subscription {
    /// Its workspace's events of its types, from when it was made.
    fn takes(&self, e: &Event) -> bool {
        e.workspace_id == self.workspace_id && e.created_at >= self.created_at && wants(&self.events, e.kind)
    }
}

/// Active subscriptions of the workspaces `events` are from.
async fn active_subscriptions<'e, E: sqlx::Executor<'e, Database = Any>>(
    ex: E,
    events: &[std::sync::Arc<Event>],
) -> Result<Vec<Subscription>> {
    let mut ws: Vec<i64> = events.iter().map(|e| e.workspace_id).collect();
    ws.sort_unstable();
    ws.dedup();
    if ws.is_empty() {
        return Ok(vec![]);
    }
    let mut sql = super::query::Sql::new(
        "SELECT id, workspace_id, events, created_at FROM webhooks WHERE active = 1 AND workspace_id IN (",
    );
    let args: Vec<String> = ws.iter().map(|w| sql.arg(*w)).collect();
    sql.push(&args.join(", "));
    sql.push(") ORDER BY id");
    let rows: Vec<(i64, i64, String, i64)> = sql.query_as().fetch_all(ex).await?;
    Ok(rows
        .into_iter()
        .map(|(id, workspace_id, ev, created_at)| Subscription {
            id,
            workspace_id,
            events: serde_json::from_str(&ev).unwrap_or_default(),
            created_at,
        })
        .collect())
}

/// Queues event `e` for subscription `webhook_id` (once per event for
/// `origin` 'event'). Returns whether a row was made.
pub(crate) async fn queue_delivery_in(
    tx: &mut Transaction<'_, Any>,
    webhook_id: i64,
    e: &Event,
    origin: &str,
) -> Result<bool> {
    let now = now_ms();
    let event = serde_json::to_string(e).map_err(|err| StoreError::Corrupt(err.to_string()))?;
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO webhook_deliveries (workspace_id, webhook_id, event_id, event_type, ticket_id, event, origin, \
         state, attempts, next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $8) \
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(e.workspace_id)
    .bind(webhook_id)
    .bind(e.id)
    .bind(e.kind.as_str())
    .bind(e.ticket_id)
    .bind(event)
    .bind(origin)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(id.is_some())
}

/// A rule's webhook action: queues event `event_id` (the rule's trigger)
/// for the workspace's subscription `webhook_id`, unless it is switched
/// off. A subscription deleted since the rule was saved makes the rule
/// unable to act (refused, as a deleted team is).
pub(crate) async fn queue_rule_delivery_in(
    tx: &mut Transaction<'_, Any>,
    ws: i64,
    webhook_id: i64,
    event_id: i64,
) -> Result<bool> {
    let active: Option<i64> = sqlx::query_scalar("SELECT active FROM webhooks WHERE id = $1 AND workspace_id = $2")
        .bind(webhook_id)
        .bind(ws)
        .fetch_optional(&mut **tx)
        .await?;
    match active {
        None => {
            Err(crate::domain::Invalid::new("webhook_id", format!("no webhook {webhook_id} in this workspace")).into())
        }
        Some(0) => Ok(false),
        Some(_) => match super::events::event_in(tx, ws, event_id).await? {
            Some(e) => queue_delivery_in(tx, webhook_id, &e, "rule").await,
            None => Ok(false),
        },
    }
}

/// Switches subscription `d.webhook_id` off and tells the admins by mail;
/// returns the event to log.
async fn disable_in(
    tx: &mut Transaction<'_, Any>,
    d: &Claimed,
    url: &str,
    reason: &str,
    a: &Attempt,
) -> Result<NewEvent> {
    sqlx::query("UPDATE webhooks SET active = 0, disabled_reason = $2, updated_at = $3 WHERE id = $1")
        .bind(d.webhook_id)
        .bind(reason)
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
    let admins: Vec<String> =
        sqlx::query_scalar("SELECT email FROM users WHERE workspace_id = $1 AND role = 'admin' AND active = 1")
            .bind(d.workspace_id)
            .fetch_all(&mut **tx)
            .await?;
    let last = a
        .error
        .clone()
        .or_else(|| a.status.map(|s| format!("HTTP {s}")))
        .unwrap_or_default();
    let subject = format!("Webhook {} was switched off", d.webhook_id);
    let body = format!(
        "The webhook to {url} was switched off: {reason}.\nLast answer: {last}\n\n\
         Its deliveries are kept. Fix the receiver, then switch the webhook on again \
         (Admin → Webhooks, or PATCH /api/v1/webhooks/{} with {{\"active\": true}}); \
         failed deliveries can be replayed from its delivery log.",
        d.webhook_id
    );
    for to in admins.iter().filter_map(|a| Email::parse("email", a).ok()) {
        queue_in(
            tx,
            &OutMail {
                workspace_id: d.workspace_id,
                kind: "webhook_disabled",
                ticket_id: None,
                message_id: None,
                to: &to,
                subject: &subject,
                body: &body,
                in_reply_to: None,
            },
        )
        .await?;
    }
    Ok(
        NewEvent::new(d.workspace_id, EventType::WebhookDisabled, EventActor::System).changes(serde_json::json!({
            "webhook_id": d.webhook_id,
            "url": url,
            "reason": reason,
        })),
    )
}
