//! Time worked on tickets: agents' entries, their running timers (one per
//! agent per ticket), a ticket's estimate with the client's answer and its
//! urgency, the subscription warning (once per client per month), and the
//! monthly sums the reports are made of.

use sqlx::{Any, Transaction};

use super::mail::{queue_in, OutMail};
use super::tickets::{add_message_in, insert_message, load_ticket};
use super::*;
use crate::domain::event::{change, Event, EventActor, EventType, NewEvent};
use crate::domain::worklog::{hm, past_warning, EstimateState, Month, WorkType, ENTRY_MAX_MINUTES};
use crate::domain::{Email, MessageKind};

/// One entry: who, when, how long, billable or not, a note.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct TimeEntry {
    pub id: i64,
    pub ticket_id: i64,
    pub user_id: i64,
    pub user_name: String,
    pub minutes: i64,
    #[serde(serialize_with = "ser_bool")]
    pub billable: i64,
    pub note: String,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub created_at: i64,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub updated_at: i64,
}

fn ser_bool<S: serde::Serializer>(v: &i64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_bool(*v != 0)
}

const ENTRY_COLS: &str = "e.id, e.ticket_id, e.user_id, u.name AS user_name, e.minutes, e.billable, e.note, \
                          e.created_at, e.updated_at";
const ENTRY_FROM: &str = "FROM time_entries e JOIN users u ON u.id = e.user_id";

/// A ticket's work: its estimate, the client's answer, urgency and entries.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TicketWork {
    pub entries: Vec<TimeEntry>,
    pub total_minutes: i64,
    pub billable_minutes: i64,
    pub estimate_minutes: Option<i64>,
    pub estimate_state: Option<EstimateState>,
    pub urgent: bool,
    /// When the asking agent's timer on this ticket started, if it runs.
    #[serde(serialize_with = "crate::domain::time::ser_opt")]
    pub timer_started_at: Option<i64>,
}

/// A ticket's estimate and urgency as the client sees them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Estimate {
    pub estimate_minutes: Option<i64>,
    pub estimate_state: Option<EstimateState>,
    pub urgent: bool,
    pub total_minutes: i64,
}

/// What an entry is made of (validated by the caller).
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub minutes: i64,
    pub billable: bool,
    pub note: String,
}

/// A change to an entry (validated by the caller); None keeps a field.
#[derive(Debug, Clone, Default)]
pub struct EntryPatch {
    pub minutes: Option<i64>,
    pub billable: Option<bool>,
    pub note: Option<String>,
}

/// One ticket's time in a month, for the reports.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct TicketMonth {
    pub ticket_id: i64,
    pub number: i64,
    pub subject: String,
    #[serde(serialize_with = "ser_bool")]
    pub urgent: i64,
    pub user_id: i64,
    pub user_name: String,
    pub minutes: i64,
    pub billable_minutes: i64,
    /// The client of the ticket's contact, if any (the reports group by it).
    #[serde(skip)]
    pub client_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct WorkRow {
    estimate_minutes: Option<i64>,
    estimate_state: Option<String>,
    urgent: i64,
}

fn state(raw: Option<String>) -> Result<Option<EstimateState>> {
    Ok(raw.map(|s| EstimateState::parse("estimate_state", &s)).transpose()?)
}

async fn work_row(tx: &mut sqlx::AnyConnection, ws: i64, ticket_id: i64) -> Result<WorkRow> {
    sqlx::query_as("SELECT estimate_minutes, estimate_state, urgent FROM tickets WHERE workspace_id = $1 AND id = $2")
        .bind(ws)
        .bind(ticket_id)
        .fetch_optional(tx)
        .await?
        .ok_or(StoreError::NotFound)
}

async fn entry_in(tx: &mut sqlx::AnyConnection, ws: i64, ticket_id: i64, id: i64) -> Result<TimeEntry> {
    sqlx::query_as(&format!(
        "SELECT {ENTRY_COLS} {ENTRY_FROM} WHERE e.workspace_id = $1 AND e.ticket_id = $2 AND e.id = $3"
    ))
    .bind(ws)
    .bind(ticket_id)
    .bind(id)
    .fetch_optional(tx)
    .await?
    .ok_or(StoreError::NotFound)
}

async fn total_minutes(tx: &mut sqlx::AnyConnection, ws: i64, ticket_id: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(minutes), 0) AS BIGINT) FROM time_entries WHERE workspace_id = $1 AND ticket_id = $2",
    )
    .bind(ws)
    .bind(ticket_id)
    .fetch_one(tx)
    .await?)
}

impl Store {
    /// Ticket `ticket_id`'s work, with `user_id`'s running timer.
    pub async fn ticket_work(&self, ws: i64, ticket_id: i64, user_id: i64) -> Result<TicketWork> {
        let mut conn = self.read.acquire().await?;
        let w = work_row(&mut conn, ws, ticket_id).await?;
        let entries: Vec<TimeEntry> = sqlx::query_as(&format!(
            "SELECT {ENTRY_COLS} {ENTRY_FROM} WHERE e.workspace_id = $1 AND e.ticket_id = $2 ORDER BY e.id"
        ))
        .bind(ws)
        .bind(ticket_id)
        .fetch_all(&mut *conn)
        .await?;
        let timer: Option<i64> = sqlx::query_scalar(
            "SELECT started_at FROM time_timers WHERE workspace_id = $1 AND ticket_id = $2 AND user_id = $3",
        )
        .bind(ws)
        .bind(ticket_id)
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
        Ok(TicketWork {
            total_minutes: entries.iter().map(|e| e.minutes).sum(),
            billable_minutes: entries.iter().filter(|e| e.billable != 0).map(|e| e.minutes).sum(),
            entries,
            estimate_minutes: w.estimate_minutes,
            estimate_state: state(w.estimate_state)?,
            urgent: w.urgent != 0,
            timer_started_at: timer,
        })
    }

    /// A ticket's estimate as its client sees it.
    pub async fn ticket_estimate(&self, ws: i64, ticket_id: i64) -> Result<Estimate> {
        let mut conn = self.read.acquire().await?;
        let w = work_row(&mut conn, ws, ticket_id).await?;
        Ok(Estimate {
            estimate_minutes: w.estimate_minutes,
            estimate_state: state(w.estimate_state)?,
            urgent: w.urgent != 0,
            total_minutes: total_minutes(&mut conn, ws, ticket_id).await?,
        })
    }

    pub async fn time_entry(&self, ws: i64, ticket_id: i64, id: i64) -> Result<TimeEntry> {
        let mut conn = self.read.acquire().await?;
        entry_in(&mut conn, ws, ticket_id, id).await
    }

    /// Logs an entry by agent `user_id` (and warns the team when a
    /// subscription client reaches its share of the month's minutes).
    pub async fn log_time(
        &self,
        ws: i64,
        user_id: i64,
        ticket_id: i64,
        e: &NewEntry,
    ) -> Result<(TimeEntry, Vec<Event>)> {
        let mut tx = self.write.begin().await?;
        load_ticket(&mut tx, ws, ticket_id, self.backend == Backend::Postgres).await?;
        let (entry, ev) = log_in(&mut tx, ws, user_id, ticket_id, e).await?;
        let logged = self.commit_with(tx, ev).await?;
        Ok((entry, logged))
    }

    pub async fn update_time_entry(
        &self,
        ws: i64,
        user_id: i64,
        (ticket_id, id): (i64, i64),
        p: &EntryPatch,
    ) -> Result<(TimeEntry, Vec<Event>)> {
        let mut tx = self.write.begin().await?;
        let before = entry_in(&mut tx, ws, ticket_id, id).await?;
        sqlx::query(
            "UPDATE time_entries SET minutes = COALESCE($1, minutes), billable = COALESCE($2, billable), \
             note = COALESCE($3, note), updated_at = $4 WHERE id = $5",
        )
        .bind(p.minutes)
        .bind(p.billable.map(i64::from))
        .bind(p.note.as_deref())
        .bind(now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let after = entry_in(&mut tx, ws, ticket_id, id).await?;
        let ev = NewEvent::new(ws, EventType::TimeUpdated, EventActor::Agent(user_id))
            .ticket(ticket_id)
            .changes(serde_json::json!({
                "entry_id": id,
                "minutes": change(before.minutes, after.minutes),
                "billable": change(before.billable != 0, after.billable != 0),
            }));
        let logged = self.commit_with(tx, vec![ev]).await?;
        Ok((after, logged))
    }

    pub async fn delete_time_entry(&self, ws: i64, user_id: i64, ticket_id: i64, id: i64) -> Result<Vec<Event>> {
        let mut tx = self.write.begin().await?;
        let before = entry_in(&mut tx, ws, ticket_id, id).await?;
        sqlx::query("DELETE FROM time_entries WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let ev = NewEvent::new(ws, EventType::TimeDeleted, EventActor::Agent(user_id))
            .ticket(ticket_id)
            .changes(serde_json::json!({ "entry_id": id, "minutes": before.minutes, "user_id": before.user_id }));
        self.commit_with(tx, vec![ev]).await
    }

    /// Starts agent `user_id`'s timer on a ticket (a running one keeps its start).
    pub async fn start_timer(&self, ws: i64, user_id: i64, ticket_id: i64) -> Result<i64> {
        let mut tx = self.write.begin().await?;
        load_ticket(&mut tx, ws, ticket_id, false).await?;
        sqlx::query(
            "INSERT INTO time_timers (workspace_id, ticket_id, user_id, started_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (ticket_id, user_id) DO NOTHING",
        )
        .bind(ws)
        .bind(ticket_id)
        .bind(user_id)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        let started: i64 =
            sqlx::query_scalar("SELECT started_at FROM time_timers WHERE ticket_id = $1 AND user_id = $2")
                .bind(ticket_id)
                .bind(user_id)
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(started)
    }

    /// Stops agent `user_id`'s timer on a ticket and logs its time (whole
    /// minutes, rounded up, at most a day). Not found when none runs.
    pub async fn stop_timer(
        &self,
        ws: i64,
        user_id: i64,
        ticket_id: i64,
        billable: bool,
        note: String,
    ) -> Result<(TimeEntry, Vec<Event>)> {
        let mut tx = self.write.begin().await?;
        let started: Option<i64> = sqlx::query_scalar(
            "DELETE FROM time_timers WHERE workspace_id = $1 AND ticket_id = $2 AND user_id = $3 RETURNING started_at",
        )
        .bind(ws)
        .bind(ticket_id)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        let started = started.ok_or(StoreError::NotFound)?;
        let minutes = ((now_ms() - started).max(0) + 59_999) / 60_000;
        let e = NewEntry {
            minutes: minutes.clamp(1, ENTRY_MAX_MINUTES),
            billable,
            note,
        };
        let (entry, ev) = log_in(&mut tx, ws, user_id, ticket_id, &e).await?;
        let logged = self.commit_with(tx, ev).await?;
        Ok((entry, logged))
    }

    /// Sets a ticket's estimate (the client is asked again) and, when
    /// given, whether it is urgent work.
    pub async fn set_estimate(
        &self,
        ws: i64,
        user_id: i64,
        ticket_id: i64,
        minutes: Option<i64>,
        urgent: Option<bool>,
    ) -> Result<(Estimate, Vec<Event>)> {
        let mut tx = self.write.begin().await?;
        let before = work_row(&mut tx, ws, ticket_id).await?;
        let mut ev = vec![];
        if let Some(m) = minutes {
            let st = (m > 0).then_some(EstimateState::Proposed.as_str());
            sqlx::query("UPDATE tickets SET estimate_minutes = $1, estimate_state = $2, updated_at = $3 WHERE id = $4")
                .bind((m > 0).then_some(m))
                .bind(st)
                .bind(now_ms())
                .bind(ticket_id)
                .execute(&mut *tx)
                .await?;
            ev.push(
                NewEvent::new(ws, EventType::EstimateSet, EventActor::Agent(user_id))
                    .ticket(ticket_id)
                    .changes(serde_json::json!({ "estimate_minutes": change(before.estimate_minutes, (m > 0).then_some(m)) })),
            );
        }
        if let Some(u) = urgent.filter(|u| *u != (before.urgent != 0)) {
            sqlx::query("UPDATE tickets SET urgent = $1, updated_at = $2 WHERE id = $3")
                .bind(i64::from(u))
                .bind(now_ms())
                .bind(ticket_id)
                .execute(&mut *tx)
                .await?;
            ev.push(
                NewEvent::new(ws, EventType::EstimateSet, EventActor::Agent(user_id))
                    .ticket(ticket_id)
                    .changes(serde_json::json!({ "urgent": change(!u, u) })),
            );
        }
        let w = work_row(&mut tx, ws, ticket_id).await?;
        let est = Estimate {
            estimate_minutes: w.estimate_minutes,
            estimate_state: state(w.estimate_state)?,
            urgent: w.urgent != 0,
            total_minutes: total_minutes(&mut tx, ws, ticket_id).await?,
        };
        let logged = self.commit_with(tx, ev).await?;
        Ok((est, logged))
    }

    /// The client (contact `contact_id`, who owns the ticket) approves the
    /// estimate or questions it; a question is posted on the ticket as
    /// their message. Conflict when there is no estimate to answer.
    pub async fn answer_estimate(
        &self,
        ws: i64,
        contact_id: i64,
        ticket_id: i64,
        question: Option<String>,
    ) -> Result<(Estimate, Vec<Event>)> {
        let mut tx = self.write.begin().await?;
        let t = load_ticket(&mut tx, ws, ticket_id, self.backend == Backend::Postgres).await?;
        if t.contact.id != contact_id {
            return Err(StoreError::NotFound);
        }
        let w = work_row(&mut tx, ws, ticket_id).await?;
        let current = state(w.estimate_state)?;
        if w.estimate_minutes.is_none() || current == Some(EstimateState::Approved) {
            return Err(StoreError::Conflict(
                "there is no estimate waiting for an answer".into(),
            ));
        }
        let (to, kind) = match question {
            None => (EstimateState::Approved, EventType::EstimateApproved),
            Some(_) => (EstimateState::Questioned, EventType::EstimateQuestioned),
        };
        sqlx::query("UPDATE tickets SET estimate_state = $1, updated_at = $2 WHERE id = $3")
            .bind(to.as_str())
            .bind(now_ms())
            .bind(ticket_id)
            .execute(&mut *tx)
            .await?;
        let mut ev = vec![NewEvent::new(ws, kind, EventActor::Contact(contact_id))
            .ticket(ticket_id)
            .contact(contact_id)
            .changes(serde_json::json!({ "estimate_minutes": w.estimate_minutes }))];
        if let Some(q) = question {
            let new = NewMessage {
                kind: MessageKind::Reply,
                author: Author::Contact,
                body: format!(
                    "Question about the estimate ({}): {q}",
                    hm(w.estimate_minutes.unwrap_or(0))
                ),
                html: None,
                external_id: None,
                files: vec![],
            };
            add_message_in(&mut tx, &t, new, &mut ev).await?;
        }
        let est = Estimate {
            estimate_minutes: w.estimate_minutes,
            estimate_state: Some(to),
            urgent: w.urgent != 0,
            total_minutes: total_minutes(&mut tx, ws, ticket_id).await?,
        };
        let logged = self.commit_with(tx, ev).await?;
        Ok((est, logged))
    }

    /// Time per ticket and agent in `month` on tickets whose contact
    /// belongs to client `client_id` (or, with None, every ticket), of one
    /// agent when given.
    pub async fn month_work(
        &self,
        ws: i64,
        client_id: Option<i64>,
        agent_id: Option<i64>,
        month: Month,
    ) -> Result<Vec<TicketMonth>> {
        let (from, to) = month.range();
        let rows = sqlx::query_as(
            "SELECT t.id AS ticket_id, t.number, t.subject, t.urgent, e.user_id, u.name AS user_name, \
             CAST(SUM(e.minutes) AS BIGINT) AS minutes, \
             CAST(SUM(CASE WHEN e.billable = 1 THEN e.minutes ELSE 0 END) AS BIGINT) AS billable_minutes, \
             c.client_id \
             FROM time_entries e JOIN tickets t ON t.id = e.ticket_id JOIN users u ON u.id = e.user_id \
             JOIN contacts c ON c.id = t.contact_id \
             WHERE e.workspace_id = $1 AND e.created_at >= $2 AND e.created_at < $3 \
             AND ($4 = 0 OR c.client_id = $5) AND ($6 = 0 OR e.user_id = $7) \
             GROUP BY t.id, t.number, t.subject, t.urgent, e.user_id, u.name, c.client_id ORDER BY t.number, u.name",
        )
        .bind(ws)
        .bind(from)
        .bind(to)
        .bind(i64::from(client_id.is_some()))
        .bind(client_id.unwrap_or(0))
        .bind(i64::from(agent_id.is_some()))
        .bind(agent_id.unwrap_or(0))
        .fetch_all(&self.read)
        .await?;
        Ok(rows)
    }
}

/// Writes an entry on a ticket known to exist, inside the caller's
/// transaction, with its event and any subscription warning it causes.
async fn log_in(
    tx: &mut Transaction<'_, Any>,
    ws: i64,
    user_id: i64,
    ticket_id: i64,
    e: &NewEntry,
) -> Result<(TimeEntry, Vec<NewEvent>)> {
    let now = now_ms();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO time_entries (workspace_id, ticket_id, user_id, minutes, billable, note, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
    )
    .bind(ws)
    .bind(ticket_id)
    .bind(user_id)
    .bind(e.minutes)
    .bind(i64::from(e.billable))
    .bind(&e.note)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    let entry = entry_in(tx, ws, ticket_id, id).await?;
    let mut ev = vec![NewEvent::new(ws, EventType::TimeLogged, EventActor::Agent(user_id))
        .ticket(ticket_id)
        .changes(serde_json::json!({ "entry_id": id, "minutes": e.minutes, "billable": e.billable }))];
    if e.billable {
        if let Some(w) = warn_in(tx, ws, ticket_id, now).await? {
            ev.push(w);
        }
    }
    Ok((entry, ev))
}

#[derive(sqlx::FromRow)]
struct SubscriptionRow {
    id: i64,
    name: String,
    work_type: String,
    included_minutes: i64,
}

/// Warns the team (an internal note on the ticket, a mail to the admins)
/// the first time in a month a subscription client's regular billable
/// minutes reach the warning share of those included.
async fn warn_in(tx: &mut Transaction<'_, Any>, ws: i64, ticket_id: i64, now: i64) -> Result<Option<NewEvent>> {
    let client: Option<SubscriptionRow> = sqlx::query_as(
        "SELECT k.id, k.name, k.work_type, k.included_minutes FROM tickets t JOIN contacts c ON c.id = t.contact_id \
         JOIN clients k ON k.id = c.client_id WHERE t.workspace_id = $1 AND t.id = $2 AND t.urgent = 0",
    )
    .bind(ws)
    .bind(ticket_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(k) = client.filter(|k| k.work_type == WorkType::Subscription.as_str() && k.included_minutes > 0) else {
        return Ok(None);
    };
    let month = Month::of(now);
    let (from, to) = month.range();
    let used: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(e.minutes), 0) AS BIGINT) FROM time_entries e JOIN tickets t ON t.id = e.ticket_id \
         JOIN contacts c ON c.id = t.contact_id WHERE e.workspace_id = $1 AND c.client_id = $2 AND t.urgent = 0 \
         AND e.billable = 1 AND e.created_at >= $3 AND e.created_at < $4",
    )
    .bind(ws)
    .bind(k.id)
    .bind(from)
    .bind(to)
    .fetch_one(&mut **tx)
    .await?;
    if !past_warning(used, k.included_minutes) {
        return Ok(None);
    }
    let first = sqlx::query(
        "INSERT INTO client_usage_warnings (client_id, month, warned_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(k.id)
    .bind(month.to_string())
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if first == 0 {
        return Ok(None);
    }
    let text = format!(
        "{} has used {} of the {} included this month ({month}); {} left.",
        k.name,
        hm(used),
        hm(k.included_minutes),
        hm((k.included_minutes - used).max(0))
    );
    let note = NewMessage {
        kind: MessageKind::Note,
        author: Author::System,
        body: text.clone(),
        html: None,
        external_id: None,
        files: vec![],
    };
    insert_message(tx, ws, ticket_id, &note, now).await?;
    let admins: Vec<String> =
        sqlx::query_scalar("SELECT email FROM users WHERE workspace_id = $1 AND role = 'admin' AND active = 1")
            .bind(ws)
            .fetch_all(&mut **tx)
            .await?;
    let subject = format!(
        "{}: {}% of the monthly minutes used",
        k.name,
        crate::domain::worklog::WARN_PERCENT
    );
    for to in admins.iter().filter_map(|a| Email::parse("email", a).ok()) {
        queue_in(
            tx,
            &OutMail {
                workspace_id: ws,
                kind: "client_balance",
                ticket_id: None,
                message_id: None,
                to: &to,
                subject: &subject,
                body: &text,
                in_reply_to: None,
            },
        )
        .await?;
    }
    Ok(Some(
        NewEvent::new(ws, EventType::ClientBalanceLow, EventActor::System)
            .ticket(ticket_id)
            .changes(serde_json::json!({ "client_id": k.id, "month": month.to_string(), "used_minutes": used, "included_minutes": k.included_minutes })),
    ))
}

/// Moves ticket `from`'s time to `into` (a merge): its entries, and the
/// timers of agents who have none running on `into` (an agent with both
/// keeps the one on `into`).
pub(super) async fn move_work_in(tx: &mut Transaction<'_, Any>, ws: i64, from: i64, into: i64) -> Result<()> {
    sqlx::query("UPDATE time_entries SET ticket_id = $1 WHERE workspace_id = $2 AND ticket_id = $3")
        .bind(into)
        .bind(ws)
        .bind(from)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "UPDATE time_timers SET ticket_id = $1 WHERE workspace_id = $2 AND ticket_id = $3 \
         AND user_id NOT IN (SELECT user_id FROM time_timers WHERE ticket_id = $1)",
    )
    .bind(into)
    .bind(ws)
    .bind(from)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM time_timers WHERE workspace_id = $1 AND ticket_id = $2")
        .bind(ws)
        .bind(from)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
