//! The outbox as people see it: what became of each mail to a customer
//! (queued, sent, retrying, failed and why), per message for the ticket
//! page and the API, and as a list for the admin.

use std::collections::HashMap;

use super::query::Sql;
use super::*;

/// One outgoing mail's state.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Delivery {
    pub id: i64,
    pub message_id: Option<i64>,
    pub ticket_id: Option<i64>,
    /// The ticket's number, for links people follow.
    pub ticket_number: Option<i64>,
    pub kind: String,
    pub to: String,
    pub subject: String,
    /// `queued`, `sent`, `retrying` (failed before, tried again at
    /// `next_attempt_at`), `failed` (given up), `waiting` (no relay).
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    #[serde(serialize_with = "crate::domain::time::ser_opt")]
    pub next_attempt_at: Option<i64>,
    #[serde(serialize_with = "crate::domain::time::ser_opt")]
    pub sent_at: Option<i64>,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub created_at: i64,
}

const SELECT: &str = "SELECT o.id, o.message_id, o.ticket_id, t.number AS ticket_number, o.kind, o.to_addr AS \"to\", \
     o.subject, o.status, o.attempts, o.last_error, o.next_attempt_at, o.sent_at, o.created_at \
     FROM outbox o LEFT JOIN tickets t ON t.id = o.ticket_id WHERE o.workspace_id = ";

/// Why a mail waits when its workspace has no relay and the server none.
pub const NO_RELAY: &str =
    "no mail relay is set up: add one under Admin → Mail (or start the server with --smtp-relay)";

impl Delivery {
    /// Names the stored state for people: a pending mail with a reason has
    /// failed before and is retrying, or (never tried) waits for a relay.
    fn named(mut self) -> Self {
        self.status = match (self.status.as_str(), &self.last_error) {
            ("pending", Some(_)) if self.attempts == 0 => "waiting",
            ("pending", Some(_)) => "retrying",
            ("pending", None) => "queued",
            (other, _) => other,
        }
        .to_string();
        if !matches!(self.status.as_str(), "retrying" | "queued") {
            self.next_attempt_at = None;
        }
        self
    }

    pub fn is_trouble(&self) -> bool {
        matches!(self.status.as_str(), "failed" | "retrying" | "waiting")
    }
}

/// Mails in trouble: given up, or pending with a reason.
const TROUBLE: &str = "(o.status = 'failed' OR (o.status = 'pending' AND o.last_error IS NOT NULL))";

/// Filters for the admin's list.
#[derive(Debug, Clone, Default)]
pub struct OutboxFilter {
    /// Only failed, retrying and waiting mails.
    pub trouble_only: bool,
    pub before: Option<i64>,
    pub limit: i64,
}

impl Store {
    /// The mails sent for these messages, by message id.
    pub async fn deliveries_of(&self, workspace_id: i64, message_ids: &[i64]) -> Result<HashMap<i64, Delivery>> {
        if message_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut sql = Sql::new(SELECT);
        let ws = sql.arg(workspace_id);
        sql.push(&ws).push(" AND o.message_id IN (");
        let l = sql.list(message_ids.iter().copied());
        sql.push(&l).push(")");
        let rows: Vec<Delivery> = sql.query_as().fetch_all(&self.read).await?;
        Ok(rows
            .into_iter()
            .filter_map(|d| Some((d.message_id?, d.named())))
            .collect())
    }

    /// The workspace's outbox, newest first.
    pub async fn outbox_list(&self, workspace_id: i64, f: &OutboxFilter) -> Result<Vec<Delivery>> {
        let mut sql = Sql::new(SELECT);
        let ws = sql.arg(workspace_id);
        sql.push(&ws);
        if f.trouble_only {
            sql.push(" AND ").push(TROUBLE);
        }
        if let Some(b) = f.before {
            let b = sql.arg(b);
            sql.push(" AND o.id < ").push(&b);
        }
        let limit = sql.arg(f.limit.clamp(1, 200));
        sql.push(" ORDER BY o.id DESC LIMIT ").push(&limit);
        let rows: Vec<Delivery> = sql.query_as().fetch_all(&self.read).await?;
        Ok(rows.into_iter().map(Delivery::named).collect())
    }

    /// How many mails of the workspace are in trouble (for the inbox's warning).
    pub async fn outbox_trouble(&self, workspace_id: i64) -> Result<i64> {
        Ok(sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM outbox o WHERE o.workspace_id = $1 AND {TROUBLE}"
        ))
        .bind(workspace_id)
        .fetch_one(&self.read)
        .await?)
    }

    /// Gives a reason to mails that cannot go because neither their
    /// workspace nor this server has a relay (run by a sender without one).
    pub async fn mark_waiting_for_relay(&self) -> Result<u64> {
        Ok(sqlx::query(
            "UPDATE outbox SET last_error = $1 WHERE status = 'pending' AND attempts = 0 AND last_error IS NULL \
             AND NOT EXISTS (SELECT 1 FROM workspace_settings s WHERE s.workspace_id = outbox.workspace_id \
             AND s.mail LIKE '%\"relay\":\"smtp%')",
        )
        .bind(NO_RELAY)
        .execute(&self.write)
        .await?
        .rows_affected())
    }

    /// Sends a failed or retrying mail again at once.
    pub async fn retry_delivery(&self, workspace_id: i64, id: i64) -> Result<()> {
        let done = sqlx::query("UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $3, last_error = NULL WHERE workspace_id = $1 AND id = $2 AND status IN ('failed', 'pending')")
            .bind(workspace_id)
            .bind(id)
            .bind(now_ms())
            .execute(&self.write)
            .await?
            .rows_affected();
        if done == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
