//! SLA policies, business-hours calendars and tickets' clocks. The clocks
//! are written by the SLA consumer of the event log (with its position, in
//! one transaction) and by the timers (warnings and breaches, guarded by
//! the row's version so two writers never both record one).

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use super::events::advance_in;
use super::*;
use crate::domain::calendar::Calendar;
use crate::domain::event::{Event, EventActor, EventType, NewEvent};
use crate::domain::sla::{targets_from_text, targets_to_text, Clocks, Due, Policy, PolicyConditions, Target};

/// A ticket's SLA as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SlaView {
    pub policy: Option<String>,
    pub policy_id: Option<i64>,
    #[serde(serialize_with = "crate::domain::time::ser_opt")]
    pub first_response_due_at: Option<i64>,
    #[serde(serialize_with = "crate::domain::time::ser_opt")]
    pub next_response_due_at: Option<i64>,
    #[serde(serialize_with = "crate::domain::time::ser_opt")]
    pub resolution_due_at: Option<i64>,
    /// The earliest of them, while the clocks run.
    #[serde(serialize_with = "crate::domain::time::ser_opt")]
    pub due_at: Option<i64>,
    pub paused: bool,
    pub breached: Vec<&'static str>,
}

/// A ticket's clocks as stored, with the version that guards its writers.
#[derive(Debug, Clone)]
pub struct StoredClocks {
    pub ticket_id: i64,
    pub workspace_id: i64,
    pub clocks: Clocks,
    pub version: i64,
}

#[derive(sqlx::FromRow)]
struct ClockRow {
    ticket_id: i64,
    workspace_id: i64,
    policy_id: Option<i64>,
    first_response_due_at: Option<i64>,
    first_response_started_at: Option<i64>,
    next_response_due_at: Option<i64>,
    next_response_started_at: Option<i64>,
    resolution_due_at: Option<i64>,
    resolution_started_at: Option<i64>,
    paused_at: Option<i64>,
    breached: String,
    warned: String,
    version: i64,
}

const CLOCK_COLS: &str = "ticket_id, workspace_id, policy_id, first_response_due_at, first_response_started_at, next_response_due_at, next_response_started_at, resolution_due_at, resolution_started_at, paused_at, breached, warned, version";

fn due(at: Option<i64>, start: Option<i64>) -> Option<Due> {
    at.map(|at| Due {
        start: start.unwrap_or(at),
        at,
    })
}

impl From<ClockRow> for StoredClocks {
    fn from(r: ClockRow) -> Self {
        StoredClocks {
            ticket_id: r.ticket_id,
            workspace_id: r.workspace_id,
            clocks: Clocks {
                policy_id: r.policy_id,
                first_response: due(r.first_response_due_at, r.first_response_started_at),
                next_response: due(r.next_response_due_at, r.next_response_started_at),
                resolution: due(r.resolution_due_at, r.resolution_started_at),
                paused_at: r.paused_at,
                breached: targets_from_text(&r.breached),
                warned: targets_from_text(&r.warned),
            },
            version: r.version,
        }
    }
}

#[derive(sqlx::FromRow)]
struct PolicyRow {
    id: i64,
    name: String,
    position: i64,
    conditions: String,
    first_response_minutes: Option<i64>,
    next_response_minutes: Option<i64>,
    resolution_minutes: Option<i64>,
    business_hours: i64,
}

const POLICY_COLS: &str =
    "id, name, position, conditions, first_response_minutes, next_response_minutes, resolution_minutes, business_hours";

impl PolicyRow {
    fn into_policy(self) -> Result<Policy> {
        let v: Value = serde_json::from_str(&self.conditions).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(Policy {
            id: self.id,
            name: self.name,
            position: self.position,
            conditions: PolicyConditions::parse(&v).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            first_response_minutes: self.first_response_minutes,
            next_response_minutes: self.next_response_minutes,
            resolution_minutes: self.resolution_minutes,
            business_hours: self.business_hours != 0,
        })
    }
}

impl Store {
    /// The calendar a team works by: its own, else the workspace's, else
    /// the opening hours set for the chat widget.
    pub async fn calendar(&self, workspace_id: i64, team_id: Option<i64>) -> Result<Calendar> {
        let raw: Option<String> = sqlx::query_scalar(
            "SELECT definition FROM calendars WHERE workspace_id = $1 AND team_id IN (0, $2) ORDER BY team_id DESC LIMIT 1",
        )
        .bind(workspace_id)
        .bind(team_id.unwrap_or(0))
        .fetch_optional(&self.read)
        .await?;
        match raw {
            Some(r) => serde_json::from_str(&r).map_err(|e| StoreError::Corrupt(format!("calendar: {e}"))),
            None => Ok(Calendar::from_hours(&self.widget_settings(workspace_id).await?.hours)),
        }
    }

    /// Sets the workspace's calendar (`team_id` None) or a team's own.
    pub async fn save_calendar(&self, workspace_id: i64, team_id: Option<i64>, cal: &Calendar) -> Result<()> {
        if let Some(t) = team_id {
            let ours: Option<i64> = sqlx::query_scalar("SELECT id FROM teams WHERE id = $1 AND workspace_id = $2")
                .bind(t)
                .bind(workspace_id)
                .fetch_optional(&self.read)
                .await?;
            ours.ok_or(StoreError::NotFound)?;
        }
        let json = serde_json::to_string(cal).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query("INSERT INTO calendars (workspace_id, team_id, definition, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (workspace_id, team_id) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at")
            .bind(workspace_id)
            .bind(team_id.unwrap_or(0))
            .bind(json)
            .bind(now_ms())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    pub async fn list_sla_policies(&self, workspace_id: i64) -> Result<Vec<Policy>> {
        let rows: Vec<PolicyRow> = sqlx::query_as(&format!(
            "SELECT {POLICY_COLS} FROM sla_policies WHERE workspace_id = $1 ORDER BY position, id"
        ))
        .bind(workspace_id)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter().map(PolicyRow::into_policy).collect()
    }

    pub async fn sla_policy(&self, workspace_id: i64, id: i64) -> Result<Policy> {
        let row: PolicyRow = sqlx::query_as(&format!(
            "SELECT {POLICY_COLS} FROM sla_policies WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(workspace_id)
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        .ok_or(StoreError::NotFound)?;
        row.into_policy()
    }

    /// Creates (`p.id` 0, at the end of the order) or replaces a policy.
    pub async fn save_sla_policy(&self, workspace_id: i64, p: &Policy) -> Result<Policy> {
        let now = now_ms();
        let conditions = serde_json::to_string(&p.conditions).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let id = if p.id == 0 {
            let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sla_policies WHERE workspace_id = $1")
                .bind(workspace_id)
                .fetch_one(&self.read)
                .await?;
            if count >= 100 {
                return Err(StoreError::Conflict("a workspace has at most 100 SLA policies".into()));
            }
            sqlx::query_scalar(
                "INSERT INTO sla_policies (workspace_id, name, position, conditions, first_response_minutes, next_response_minutes, resolution_minutes, business_hours, created_at, updated_at) \
                 VALUES ($1, $2, (SELECT COALESCE(MAX(position), 0) + 1 FROM sla_policies WHERE workspace_id = $1), $3, $4, $5, $6, $7, $8, $8) RETURNING id",
            )
            .bind(workspace_id)
            .bind(&p.name)
            .bind(&conditions)
            .bind(p.first_response_minutes)
            .bind(p.next_response_minutes)
            .bind(p.resolution_minutes)
            .bind(p.business_hours as i64)
            .bind(now)
            .fetch_one(&self.write)
            .await
            .map_err(|e| conflict_on_unique(e, "an SLA policy with this name exists"))?
        } else {
            let mut tx = self.write.begin().await?;
            let current: i64 =
                sqlx::query_scalar("SELECT position FROM sla_policies WHERE id = $1 AND workspace_id = $2")
                    .bind(p.id)
                    .bind(workspace_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound)?;
            sqlx::query("UPDATE sla_policies SET name = $1, conditions = $2, first_response_minutes = $3, next_response_minutes = $4, resolution_minutes = $5, business_hours = $6, updated_at = $7 WHERE id = $8")
                .bind(&p.name)
                .bind(&conditions)
                .bind(p.first_response_minutes)
                .bind(p.next_response_minutes)
                .bind(p.resolution_minutes)
                .bind(p.business_hours as i64)
                .bind(now)
                .bind(p.id)
                .execute(&mut *tx)
                .await
                .map_err(|e| conflict_on_unique(e, "an SLA policy with this name exists"))?;
            // A new place moves the others to make room, as for rules.
            if p.position != current {
                super::move_in_order(&mut tx, "sla_policies", workspace_id, p.id, p.position).await?;
            }
            tx.commit().await?;
            p.id
        };
        self.sla_policy(workspace_id, id).await
    }

    pub async fn delete_sla_policy(&self, workspace_id: i64, id: i64) -> Result<()> {
        self.delete_owned("sla_policies", workspace_id, id).await
    }

    pub async fn clocks(&self, ticket_id: i64) -> Result<Option<StoredClocks>> {
        let row: Option<ClockRow> =
            sqlx::query_as(&format!("SELECT {CLOCK_COLS} FROM ticket_sla WHERE ticket_id = $1"))
                .bind(ticket_id)
                .fetch_optional(&self.read)
                .await?;
        Ok(row.map(Into::into))
    }

    /// The SLA of tickets of one workspace, for showing them.
    pub async fn sla_views(&self, workspace_id: i64, ticket_ids: &[i64]) -> Result<HashMap<i64, SlaView>> {
        if ticket_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let ids = ticket_ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",");
        let rows: Vec<ClockRow> = sqlx::query_as(&format!(
            "SELECT {CLOCK_COLS} FROM ticket_sla WHERE workspace_id = $1 AND ticket_id IN ({ids})"
        ))
        .bind(workspace_id)
        .fetch_all(&self.read)
        .await?;
        let names: HashMap<i64, String> = self
            .list_sla_policies(workspace_id)
            .await?
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect();
        Ok(rows
            .into_iter()
            .map(|r| {
                let s: StoredClocks = r.into();
                let c = s.clocks;
                let view = SlaView {
                    policy: c.policy_id.and_then(|p| names.get(&p).cloned()),
                    policy_id: c.policy_id,
                    first_response_due_at: c.first_response.map(|d| d.at),
                    next_response_due_at: c.next_response.map(|d| d.at),
                    resolution_due_at: c.resolution.map(|d| d.at),
                    due_at: c.due_at(),
                    paused: c.paused_at.is_some(),
                    breached: c.breached.iter().map(|t| t.as_str()).collect(),
                };
                (s.ticket_id, view)
            })
            .collect())
    }

    /// Writes the clocks a page of events moved, with the SLA consumer's
    /// new position, while `owner` holds its lease. False: the lease is gone.
    pub async fn save_clocks(&self, name: &str, owner: &str, position: i64, clocks: &[StoredClocks]) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        if !advance_in(&mut tx, name, owner, position).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        let now = now_ms();
        for s in clocks {
            if !write_clocks(&mut tx, s, now).await? {
                // The timers recorded a warning on one of them meanwhile:
                // the page is read and applied again.
                tx.rollback().await?;
                return Err(StoreError::Conflict(format!(
                    "the clocks of ticket {} changed; retrying",
                    s.ticket_id
                )));
            }
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Tickets whose clocks reach a warning or a due time by `now`.
    pub async fn clocks_to_check(&self, now: i64, limit: i64) -> Result<Vec<StoredClocks>> {
        let rows: Vec<ClockRow> = sqlx::query_as(&format!(
            "SELECT {CLOCK_COLS} FROM ticket_sla WHERE next_check_at IS NOT NULL AND next_check_at <= $1 ORDER BY next_check_at LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Records warnings and breaches the timers found (`found`: target,
    /// breached?, due time), with their events and, for a breach, a line in
    /// the conversation. Nothing happens if the clocks changed meanwhile.
    pub async fn record_sla(&self, s: &StoredClocks, found: &[(Target, bool, i64)]) -> Result<Vec<Event>> {
        let mut tx = self.write.begin().await?;
        let now = now_ms();
        if !write_clocks(&mut tx, s, now).await? {
            tx.rollback().await?;
            return Ok(vec![]);
        }
        let t = super::tickets::load_ticket(&mut tx, s.workspace_id, s.ticket_id, false).await?;
        let mut ev = Vec::new();
        for (target, breached, due) in found {
            let kind = if *breached {
                EventType::SlaBreached
            } else {
                EventType::SlaWarning
            };
            ev.push(
                NewEvent::new(s.workspace_id, kind, EventActor::System)
                    .ticket(t.id)
                    .contact(t.contact.id)
                    .changes(serde_json::json!({
                        "target": target.as_str(), "due_at": crate::domain::time::rfc3339(*due), "policy_id": s.clocks.policy_id,
                    })),
            );
            if *breached {
                let line = NewMessage {
                    kind: crate::domain::MessageKind::Event,
                    author: Author::System,
                    body: format!(
                        "{} SLA breached (due {} UTC)",
                        target.label(),
                        &crate::domain::time::rfc3339(*due)[..16].replace('T', " ")
                    ),
                    html: None,
                    external_id: None,
                    files: vec![],
                };
                super::tickets::insert_message(&mut tx, s.workspace_id, t.id, &line, now).await?;
            }
        }
        self.commit_with(tx, ev).await
    }
}

/// Upserts a ticket's clocks when the stored version is still `s.version`
/// (0: no row yet). Returns whether it wrote.
async fn write_clocks(tx: &mut sqlx::Transaction<'_, sqlx::Any>, s: &StoredClocks, now: i64) -> Result<bool> {
    let c = &s.clocks;
    let q = if s.version == 0 {
        "INSERT INTO ticket_sla (ticket_id, workspace_id, policy_id, first_response_due_at, first_response_started_at, next_response_due_at, next_response_started_at, resolution_due_at, resolution_started_at, paused_at, breached, warned, next_check_at, due_at, version, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1, $15) ON CONFLICT (ticket_id) DO NOTHING"
    } else {
        "UPDATE ticket_sla SET workspace_id = $2, policy_id = $3, first_response_due_at = $4, first_response_started_at = $5, next_response_due_at = $6, next_response_started_at = $7, resolution_due_at = $8, resolution_started_at = $9, paused_at = $10, breached = $11, warned = $12, next_check_at = $13, due_at = $14, version = version + 1, updated_at = $15 \
         WHERE ticket_id = $1 AND version = $16"
    };
    let mut q = sqlx::query(q)
        .bind(s.ticket_id)
        .bind(s.workspace_id)
        .bind(c.policy_id)
        .bind(c.first_response.map(|d| d.at))
        .bind(c.first_response.map(|d| d.start))
        .bind(c.next_response.map(|d| d.at))
        .bind(c.next_response.map(|d| d.start))
        .bind(c.resolution.map(|d| d.at))
        .bind(c.resolution.map(|d| d.start))
        .bind(c.paused_at)
        .bind(targets_to_text(&c.breached))
        .bind(targets_to_text(&c.warned))
        .bind(c.next_check())
        .bind(c.due_at())
        .bind(now);
    if s.version != 0 {
        q = q.bind(s.version);
    }
    Ok(q.execute(&mut **tx).await?.rows_affected() == 1)
}
