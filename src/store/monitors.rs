//! Site monitors' rows: the monitors, claimed by a node when due (one
//! UPDATE that moves `next_check_at`, so two nodes never run one check),
//! and one row per check; recording a check writes its incident ticket,
//! note and resolution and the `monitor.*` event in the same transaction.

use serde_json::{json, Map, Value};
use sqlx::{Any, Transaction};

use super::tickets::{add_message_in, create_in, load_ticket, update_in, Changer};
use super::*;
use crate::domain::event::{Event, EventActor, EventType, NewEvent};
use crate::domain::monitor::{Action, DayCount, Decision, MonitorKind, MonitorState, Spec};
use crate::domain::{Channel, Email, MessageKind, Priority, Status};

/// A monitor as the API shows it: its spec's fields laid flat beside its state.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Monitor {
    pub id: i64,
    #[serde(skip)]
    pub workspace_id: i64,
    pub name: String,
    pub kind: MonitorKind,
    #[serde(flatten)]
    pub fields: Map<String, Value>,
    pub interval_s: i64,
    pub active: bool,
    pub state: MonitorState,
    #[serde(skip)]
    pub failures: i64,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub next_check_at: i64,
    #[serde(serialize_with = "crate::domain::time::ser_opt")]
    pub last_checked_at: Option<i64>,
    pub last_error: Option<String>,
    #[serde(serialize_with = "crate::domain::time::ser_opt")]
    pub expires_at: Option<i64>,
    pub incident_ticket_id: Option<i64>,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub created_at: i64,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub updated_at: i64,
}

impl Monitor {
    pub fn spec(&self) -> Spec {
        Spec {
            kind: self.kind,
            name: self.name.clone(),
            interval_s: self.interval_s,
            active: self.active,
            fields: self.fields.clone(),
        }
    }
}

#[derive(sqlx::FromRow)]
struct MonitorRow {
    id: i64,
    workspace_id: i64,
    name: String,
    kind: String,
    spec: String,
    interval_s: i64,
    active: i64,
    state: String,
    failures: i64,
    next_check_at: i64,
    last_checked_at: Option<i64>,
    last_error: Option<String>,
    expires_at: Option<i64>,
    incident_ticket_id: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<MonitorRow> for Monitor {
    type Error = StoreError;
    fn try_from(r: MonitorRow) -> Result<Self> {
        let corrupt = |e: crate::domain::Invalid| StoreError::Corrupt(e.to_string());
        Ok(Monitor {
            id: r.id,
            workspace_id: r.workspace_id,
            name: r.name,
            kind: MonitorKind::parse("kind", &r.kind).map_err(corrupt)?,
            fields: serde_json::from_str(&r.spec).unwrap_or_default(),
            interval_s: r.interval_s,
            active: r.active != 0,
            state: MonitorState::parse("state", &r.state).map_err(corrupt)?,
            failures: r.failures,
            next_check_at: r.next_check_at,
            last_checked_at: r.last_checked_at,
            last_error: r.last_error,
            expires_at: r.expires_at,
            incident_ticket_id: r.incident_ticket_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

const COLS: &str = "id, workspace_id, name, kind, spec, interval_s, active, state, failures, next_check_at, \
     last_checked_at, last_error, expires_at, incident_ticket_id, created_at, updated_at";

fn rows(rows: Vec<MonitorRow>) -> Result<Vec<Monitor>> {
    rows.into_iter().map(Monitor::try_from).collect()
}

/// One check as the history shows it.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Check {
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub checked_at: i64,
    #[serde(serialize_with = "ser_bool")]
    pub ok: i64,
    pub response_ms: Option<i64>,
    pub status: Option<i64>,
    pub error: Option<String>,
    #[serde(serialize_with = "crate::domain::time::ser_opt")]
    pub expires_at: Option<i64>,
}

fn ser_bool<S: serde::Serializer>(v: &i64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_bool(*v != 0)
}

/// What a check found and when, to be recorded.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub checked_at: i64,
    pub response_ms: Option<i64>,
    pub status: Option<i64>,
    pub error: Option<String>,
    pub expires_at: Option<i64>,
}

/// The contact incident tickets are filed under.
pub const MONITOR_CONTACT: &str = "monitor@storedesk.invalid";

impl Store {
    pub async fn create_monitor(&self, ws: i64, spec: &Spec, first_check_at: i64) -> Result<Monitor> {
        let now = now_ms();
        let row: MonitorRow = sqlx::query_as(&format!(
            "INSERT INTO monitors (workspace_id, name, kind, spec, interval_s, active, next_check_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {COLS}"
        ))
        .bind(ws)
        .bind(&spec.name)
        .bind(spec.kind.as_str())
        .bind(Value::Object(spec.fields.clone()).to_string())
        .bind(spec.interval_s)
        .bind(i64::from(spec.active))
        .bind(first_check_at)
        .bind(now)
        .fetch_one(&self.write)
        .await?;
        row.try_into()
    }

    pub async fn list_monitors(&self, ws: i64) -> Result<Vec<Monitor>> {
        rows(
            sqlx::query_as(&format!(
                "SELECT {COLS} FROM monitors WHERE workspace_id = $1 ORDER BY id"
            ))
            .bind(ws)
            .fetch_all(&self.read)
            .await?,
        )
    }

    /// Workspace `ws`'s monitor `id` (another's is not found).
    pub async fn monitor(&self, ws: i64, id: i64) -> Result<Monitor> {
        let row: Option<MonitorRow> = sqlx::query_as(&format!(
            "SELECT {COLS} FROM monitors WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(ws)
        .bind(id)
        .fetch_optional(&self.write)
        .await?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// Replaces a monitor's spec; the next check comes no later than one
    /// (new) interval from now, and a pending first failure is forgotten.
    pub async fn update_monitor(&self, ws: i64, id: i64, spec: &Spec) -> Result<Monitor> {
        let now = now_ms();
        let row: Option<MonitorRow> = sqlx::query_as(&format!(
            "UPDATE monitors SET name = $3, spec = $4, interval_s = $5, active = $6, failures = 0, \
             next_check_at = CASE WHEN next_check_at > $7 THEN $7 ELSE next_check_at END, updated_at = $8 \
             WHERE workspace_id = $1 AND id = $2 RETURNING {COLS}"
        ))
        .bind(ws)
        .bind(id)
        .bind(&spec.name)
        .bind(Value::Object(spec.fields.clone()).to_string())
        .bind(spec.interval_s)
        .bind(i64::from(spec.active))
        .bind(now + spec.interval_s * 1000)
        .bind(now)
        .fetch_optional(&self.write)
        .await?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    pub async fn delete_monitor(&self, ws: i64, id: i64) -> Result<()> {
        self.delete_owned("monitors", ws, id).await
    }

    /// Claims up to `limit` active monitors due at `now`: their
    /// `next_check_at` moves past the check's own time (`hold_ms`), in the
    /// same statement that finds them, so another node's claim (which
    /// re-reads the row on PostgreSQL) no longer sees them due.
    pub async fn claim_due_monitors(&self, now: i64, limit: i64, hold_ms: i64) -> Result<Vec<Monitor>> {
        rows(
            sqlx::query_as(&format!(
                "UPDATE monitors SET next_check_at = $1 + interval_s * 1000 + $3 \
                 WHERE active = 1 AND next_check_at <= $1 AND id IN \
                 (SELECT id FROM monitors WHERE active = 1 AND next_check_at <= $1 ORDER BY next_check_at LIMIT $2) \
                 RETURNING {COLS}"
            ))
            .bind(now)
            .bind(limit)
            .bind(hold_ms)
            .fetch_all(&self.write)
            .await?,
        )
    }

    /// Records a check of `m` (as claimed) and what it leads to, in one
    /// transaction: the history row, the monitor's new state, and for an
    /// incident its ticket (opened, or noted when one is still open), for a
    /// recovery a note and the resolution, with their events. A monitor
    /// changed or deleted since the claim records nothing.
    pub async fn record_monitor_check(&self, m: &Monitor, c: &CheckResult, d: &Decision) -> Result<Vec<Event>> {
        let mut tx = self.write.begin().await?;
        // Takes the monitor's row (on PostgreSQL its lock, until commit), so a
        // change made meanwhile either waited for this or makes it void.
        let still = sqlx::query("UPDATE monitors SET last_checked_at = $3 WHERE id = $1 AND updated_at = $2")
            .bind(m.id)
            .bind(m.updated_at)
            .bind(c.checked_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if still == 0 {
            tx.rollback().await?;
            return Ok(vec![]);
        }
        sqlx::query(
            "INSERT INTO monitor_checks (workspace_id, monitor_id, checked_at, ok, response_ms, status, error, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(m.workspace_id)
        .bind(m.id)
        .bind(c.checked_at)
        .bind(i64::from(d.ok))
        .bind(c.response_ms)
        .bind(c.status)
        .bind(c.error.as_deref())
        .bind(c.expires_at)
        .execute(&mut *tx)
        .await?;
        let pg = self.backend == Backend::Postgres;
        let mut ev = Vec::new();
        let mut incident = m.incident_ticket_id;
        let about = |kind: EventType| {
            NewEvent::new(m.workspace_id, kind, EventActor::System).changes(json!({
                "monitor_id": m.id, "name": &m.name, "kind": m.kind, "error": &c.error,
                "expires_at": c.expires_at.map(crate::domain::time::rfc3339),
            }))
        };
        match &d.action {
            Action::None => {}
            Action::Open(state) => {
                let (kind, text) = incident_text(m, *state, c);
                let open = open_incident(&mut tx, m.workspace_id, incident, pg).await?;
                let ticket_id = match open {
                    Some(t) => {
                        add_message_in(&mut tx, &t, note(text), &mut ev).await?;
                        t.id
                    }
                    None => {
                        let new = NewTicket {
                            subject: format!(
                                "{}: {}",
                                m.name,
                                if kind == EventType::MonitorDown {
                                    "down"
                                } else {
                                    "expiring"
                                }
                            ),
                            body: text,
                            contact: TicketContact::Email(NewContact {
                                email: Email::parse("email", MONITOR_CONTACT).map_err(StoreError::from)?,
                                name: Some("Site monitor".into()),
                            }),
                            channel: Channel::Monitor,
                            priority: if kind == EventType::MonitorDown {
                                Priority::High
                            } else {
                                Priority::Normal
                            },
                            labels: vec![],
                            author: Author::System,
                            external_id: None,
                            message_external_id: None,
                            team_id: None,
                            kind: None,
                            feature: None,
                        };
                        create_in(&mut tx, m.workspace_id, new, &mut ev).await?.ticket.id
                    }
                };
                incident = Some(ticket_id);
                let e = about(kind).ticket(ticket_id);
                ev.push(e);
            }
            Action::Recover => {
                let mut e = about(EventType::MonitorUp);
                if let Some(t) = open_incident(&mut tx, m.workspace_id, incident, pg).await? {
                    add_message_in(&mut tx, &t, note(format!("{} is up again.", m.name)), &mut ev).await?;
                    let t = load_ticket(&mut tx, m.workspace_id, t.id, false).await?;
                    let patch = TicketPatch {
                        status: Some(Status::Resolved),
                        ..Default::default()
                    };
                    if let Some((u, _)) = update_in(&mut tx, Changer::Monitor, &t, patch).await? {
                        ev.push(u);
                    }
                    e = e.ticket(t.id);
                }
                incident = None;
                ev.push(e);
            }
        }
        sqlx::query(
            "UPDATE monitors SET state = $2, failures = $3, next_check_at = $4, last_checked_at = $5, \
             last_error = $6, expires_at = COALESCE($7, expires_at), incident_ticket_id = $8 WHERE id = $1",
        )
        .bind(m.id)
        .bind(d.state.as_str())
        .bind(d.failures)
        .bind(c.checked_at + d.next_in_ms)
        .bind(c.checked_at)
        .bind(c.error.as_deref())
        .bind(c.expires_at)
        .bind(incident)
        .execute(&mut *tx)
        .await?;
        self.commit_with(tx, ev).await
    }

    /// The latest checks of a monitor, newest first.
    pub async fn monitor_checks(&self, ws: i64, id: i64, limit: i64) -> Result<Vec<Check>> {
        Ok(sqlx::query_as(
            "SELECT checked_at, ok, response_ms, status, error, expires_at FROM monitor_checks \
             WHERE workspace_id = $1 AND monitor_id = $2 ORDER BY checked_at DESC, id DESC LIMIT $3",
        )
        .bind(ws)
        .bind(id)
        .bind(limit)
        .fetch_all(&self.read)
        .await?)
    }

    /// Checks and good checks per UTC day since `since`, oldest first.
    pub async fn monitor_days(&self, ws: i64, id: i64, since: i64) -> Result<Vec<DayCount>> {
        let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT checked_at / 86400000 AS day, COUNT(*) AS checks, CAST(SUM(ok) AS BIGINT) AS up FROM monitor_checks \
             WHERE workspace_id = $1 AND monitor_id = $2 AND checked_at >= $3 GROUP BY checked_at / 86400000 ORDER BY day",
        )
        .bind(ws)
        .bind(id)
        .bind(since)
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(day, checks, up)| DayCount { day, checks, up })
            .collect())
    }

    /// Deletes checks older than `before`.
    pub async fn prune_monitor_checks(&self, before: i64) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM monitor_checks WHERE checked_at < $1")
            .bind(before)
            .execute(&self.write)
            .await?
            .rows_affected())
    }
}

/// The incident ticket, if it is still open or pending.
async fn open_incident(tx: &mut Transaction<'_, Any>, ws: i64, id: Option<i64>, lock: bool) -> Result<Option<Ticket>> {
    let Some(id) = id else { return Ok(None) };
    match load_ticket(tx, ws, id, lock).await {
        Ok(t) if matches!(t.status, Status::Open | Status::Pending) => Ok(Some(t)),
        Ok(_) | Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

fn note(body: String) -> NewMessage {
    NewMessage {
        kind: MessageKind::Note,
        author: Author::System,
        body,
        html: None,
        external_id: None,
        files: vec![],
    }
}

fn incident_text(m: &Monitor, state: MonitorState, c: &CheckResult) -> (EventType, String) {
    let target = m.spec().target();
    match state {
        MonitorState::Expiring => {
            let at = c
                .expires_at
                .map(|t| crate::domain::time::rfc3339(t)[..10].to_string())
                .unwrap_or_default();
            let what = match m.kind {
                MonitorKind::Tls => "The TLS certificate of",
                MonitorKind::Domain => "The registration of the domain",
                _ => "The date",
            };
            (
                EventType::MonitorExpiring,
                format!("{what} {target} ({}) expires on {at}.", m.name),
            )
        }
        _ => (
            EventType::MonitorDown,
            format!(
                "{} ({target}) is down, confirmed by a second check: {}",
                m.name,
                c.error.as_deref().unwrap_or("no answer")
            ),
        ),
    }
}

/// Whether a workspace's public status page is on, and whether it shows
/// what each monitor points at.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
pub struct StatusPage {
    pub enabled: bool,
    pub show_targets: bool,
}

impl Store {
    pub async fn status_page(&self, ws: i64) -> Result<StatusPage> {
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT enabled, show_targets FROM monitor_status_pages WHERE workspace_id = $1")
                .bind(ws)
                .fetch_optional(&self.read)
                .await?;
        Ok(row
            .map(|(e, t)| StatusPage {
                enabled: e != 0,
                show_targets: t != 0,
            })
            .unwrap_or_default())
    }

    pub async fn set_status_page(&self, ws: i64, p: StatusPage) -> Result<StatusPage> {
        sqlx::query(
            "INSERT INTO monitor_status_pages (workspace_id, enabled, show_targets, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (workspace_id) DO UPDATE SET enabled = $2, show_targets = $3, updated_at = $4",
        )
        .bind(ws)
        .bind(i64::from(p.enabled))
        .bind(i64::from(p.show_targets))
        .bind(now_ms())
        .execute(&self.write)
        .await?;
        Ok(p)
    }

    /// Checks and good checks since `since`, per monitor of the workspace.
    pub async fn monitor_uptimes(&self, ws: i64, since: i64) -> Result<std::collections::HashMap<i64, (i64, i64)>> {
        let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT monitor_id, COUNT(*) AS checks, CAST(SUM(ok) AS BIGINT) AS up FROM monitor_checks \
             WHERE workspace_id = $1 AND checked_at >= $2 GROUP BY monitor_id",
        )
        .bind(ws)
        .bind(since)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(|(id, c, u)| (id, (c, u))).collect())
    }
}

/// An incident ticket of a monitor, as its page links it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Incident {
    pub ticket_id: i64,
    pub number: i64,
    pub subject: String,
    pub status: String,
    pub created_at: i64,
}

impl Store {
    /// Checks and good checks per monitor and UTC day since `since`
    /// (oldest first): the status page's bars.
    pub async fn monitor_days_all(&self, ws: i64, since: i64) -> Result<std::collections::HashMap<i64, Vec<DayCount>>> {
        let rows: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT monitor_id, checked_at / 86400000 AS day, COUNT(*) AS checks, CAST(SUM(ok) AS BIGINT) AS up \
             FROM monitor_checks WHERE workspace_id = $1 AND checked_at >= $2 \
             GROUP BY monitor_id, checked_at / 86400000 ORDER BY monitor_id, day",
        )
        .bind(ws)
        .bind(since)
        .fetch_all(&self.read)
        .await?;
        let mut out: std::collections::HashMap<i64, Vec<DayCount>> = std::collections::HashMap::new();
        for (id, day, checks, up) in rows {
            out.entry(id).or_default().push(DayCount { day, checks, up });
        }
        Ok(out)
    }

    /// The tickets monitor `id` opened, newest first (from the log's
    /// `monitor.down` / `monitor.expiring` events, so as far back as the
    /// log is kept), at most `limit`.
    pub async fn monitor_incidents(&self, ws: i64, id: i64, limit: usize) -> Result<Vec<Incident>> {
        let rows: Vec<(i64, String, i64, String, String, i64)> = sqlx::query_as(
            "SELECT t.id, e.changes, t.number, t.subject, t.status, t.created_at FROM events e \
             JOIN tickets t ON t.id = e.ticket_id AND t.workspace_id = e.workspace_id \
             WHERE e.workspace_id = $1 AND e.type IN ('monitor.down', 'monitor.expiring') \
             ORDER BY e.id DESC LIMIT 2000",
        )
        .bind(ws)
        .fetch_all(&self.read)
        .await?;
        let mut out: Vec<Incident> = Vec::new();
        for (ticket_id, changes, number, subject, status, created_at) in rows {
            let of = serde_json::from_str::<Value>(&changes)
                .ok()
                .and_then(|c| c["monitor_id"].as_i64());
            if of != Some(id) || out.iter().any(|i| i.ticket_id == ticket_id) {
                continue;
            }
            out.push(Incident {
                ticket_id,
                number,
                subject,
                status,
                created_at,
            });
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }
}
