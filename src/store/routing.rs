//! Routing's data: agents' availability and capacity, teams' routing mode,
//! queues, loads, and the one write that gives a waiting ticket to an
//! agent (checked again, under lock, inside its transaction).

use serde::Serialize;

use super::tickets::{load_ticket, update_in, Changer};
use super::*;
use crate::domain::event::{change, Event, EventActor, EventType, NewEvent};
use crate::domain::ticket::string_enum;
use crate::domain::Channel;

string_enum!(
    /// Whether an agent takes conversations. `auto` follows an open
    /// console (the behaviour before agents could choose).
    Availability { Auto => "auto", Online => "online", Away => "away", Offline => "offline" }
);

string_enum!(
    /// How a team's queue is shared out.
    RoutingMode { Manual => "manual", RoundRobin => "round_robin", LeastLoaded => "least_loaded" }
);

/// An agent as routing sees them.
#[derive(Debug, Clone, Serialize)]
pub struct AgentLoad {
    pub user_id: i64,
    pub name: String,
    pub availability: Availability,
    /// Takes conversations now (online, or `auto` with a console open).
    pub online: bool,
    pub chat_capacity: i64,
    pub ticket_capacity: Option<i64>,
    /// Open and pending chats assigned to them, and other tickets.
    pub chats: i64,
    pub tickets: i64,
}

impl AgentLoad {
    /// Whether they can take one more of this channel's conversations.
    pub fn has_room(&self, channel: Channel) -> bool {
        if channel == Channel::Chat {
            self.chats < self.chat_capacity
        } else {
            self.ticket_capacity.is_none_or(|c| self.tickets < c)
        }
    }
}

/// A team with routing on.
#[derive(Debug, Clone)]
pub struct RoutedTeam {
    pub id: i64,
    pub workspace_id: i64,
    pub mode: RoutingMode,
    pub last_assigned: Option<i64>,
}

/// A notification to mail to an agent who has not seen it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Unseen {
    pub id: i64,
    pub workspace_id: i64,
    pub ticket_id: i64,
    pub kind: String,
    pub email: String,
    pub number: i64,
    pub subject: String,
}

/// How recently a console must have been seen for `auto` to count as online.
pub(crate) const PRESENCE_MS: i64 = 45_000;

impl Store {
    /// Sets an agent's availability, recorded as `agent.updated`.
    pub async fn set_availability(&self, workspace_id: i64, user_id: i64, to: Availability) -> Result<Vec<Event>> {
        let mut tx = self.write.begin().await?;
        let from: String = sqlx::query_scalar("SELECT availability FROM users WHERE id = $1 AND workspace_id = $2")
            .bind(user_id)
            .bind(workspace_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        if from == to.as_str() {
            tx.rollback().await?;
            return Ok(vec![]);
        }
        sqlx::query("UPDATE users SET availability = $1 WHERE id = $2")
            .bind(to.as_str())
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let ev = NewEvent::new(workspace_id, EventType::AgentUpdated, EventActor::Agent(user_id))
            .changes(serde_json::json!({ "user_id": user_id, "availability": change(&from, to.as_str()) }));
        self.commit_with(tx, vec![ev]).await
    }

    pub async fn set_capacity(&self, workspace_id: i64, user_id: i64, chats: i64, tickets: Option<i64>) -> Result<()> {
        let n = sqlx::query(
            "UPDATE users SET chat_capacity = $1, ticket_capacity = $2 WHERE id = $3 AND workspace_id = $4",
        )
        .bind(chats)
        .bind(tickets)
        .bind(user_id)
        .bind(workspace_id)
        .execute(&self.write)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn set_team_routing(&self, workspace_id: i64, team_id: i64, mode: RoutingMode) -> Result<()> {
        let n = sqlx::query("UPDATE teams SET routing = $1 WHERE id = $2 AND workspace_id = $3")
            .bind(mode.as_str())
            .bind(team_id)
            .bind(workspace_id)
            .execute(&self.write)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn team_routing(&self, workspace_id: i64, team_id: i64) -> Result<RoutingMode> {
        let m: String = sqlx::query_scalar("SELECT routing FROM teams WHERE id = $1 AND workspace_id = $2")
            .bind(team_id)
            .bind(workspace_id)
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)?;
        RoutingMode::parse("routing", &m).map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    /// Teams with routing on: of one workspace, or of all.
    pub async fn routed_teams(&self, workspace_id: Option<i64>) -> Result<Vec<RoutedTeam>> {
        let rows: Vec<(i64, i64, String, Option<i64>)> = sqlx::query_as(
            "SELECT id, workspace_id, routing, last_assigned_user_id FROM teams WHERE routing <> 'manual' AND ($1 = 0 OR workspace_id = $1) ORDER BY id",
        )
        .bind(workspace_id.unwrap_or(0))
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|(id, ws, m, last)| {
                Ok(RoutedTeam {
                    id,
                    workspace_id: ws,
                    mode: RoutingMode::parse("routing", &m).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    last_assigned: last,
                })
            })
            .collect()
    }

    /// The workspace's active agents (or a team's members) with their
    /// availability, capacity and load, in id order.
    pub async fn agent_loads(&self, workspace_id: i64, team_id: Option<i64>) -> Result<Vec<AgentLoad>> {
        type Row = (i64, String, String, i64, Option<i64>, Option<i64>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT u.id, u.name, u.availability, u.chat_capacity, u.ticket_capacity, p.last_seen_at FROM users u \
             LEFT JOIN agent_presence p ON p.user_id = u.id AND p.status = 'online' \
             WHERE u.workspace_id = $1 AND u.active = 1 AND ($2 = 0 OR u.id IN (SELECT m.user_id FROM team_members m WHERE m.team_id = $2)) ORDER BY u.id",
        )
        .bind(workspace_id)
        .bind(team_id.unwrap_or(0))
        .fetch_all(&self.read)
        .await?;
        let loads: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT assignee_id, SUM(CASE WHEN channel = 'chat' THEN 1 ELSE 0 END), SUM(CASE WHEN channel = 'chat' THEN 0 ELSE 1 END) \
             FROM tickets WHERE workspace_id = $1 AND assignee_id IS NOT NULL AND status IN ('open', 'pending') GROUP BY assignee_id",
        )
        .bind(workspace_id)
        .fetch_all(&self.read)
        .await?;
        let seen_after = now_ms() - PRESENCE_MS;
        rows.into_iter()
            .map(|(id, name, availability, chat_capacity, ticket_capacity, seen)| {
                let availability = Availability::parse("availability", &availability)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let (chats, tickets) = loads
                    .iter()
                    .find(|(a, _, _)| *a == id)
                    .map_or((0, 0), |(_, c, t)| (*c, *t));
                Ok(AgentLoad {
                    user_id: id,
                    name,
                    online: match availability {
                        Availability::Online => true,
                        Availability::Auto => seen.is_some_and(|s| s > seen_after),
                        _ => false,
                    },
                    availability,
                    chat_capacity,
                    ticket_capacity,
                    chats,
                    tickets,
                })
            })
            .collect()
    }

    /// Tickets waiting in a team's queue (open, nobody assigned), the
    /// longest-waiting first.
    pub async fn team_queue(&self, workspace_id: i64, team_id: i64, limit: i64) -> Result<Vec<(i64, Channel, i64)>> {
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT id, channel, contact_id FROM tickets WHERE workspace_id = $1 AND team_id = $2 AND status = 'open' AND assignee_id IS NULL \
             ORDER BY COALESCE(waiting_since, created_at), id LIMIT $3",
        )
        .bind(workspace_id)
        .bind(team_id)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|(id, c, contact)| {
                Ok((
                    id,
                    Channel::parse("channel", &c).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    contact,
                ))
            })
            .collect()
    }

    /// The language a chat visitor's widget speaks.
    pub async fn visitor_lang(&self, workspace_id: i64, contact_id: i64) -> Result<String> {
        let lang: Option<String> = sqlx::query_scalar(
            "SELECT lang FROM chat_visitors WHERE workspace_id = $1 AND contact_id = $2 ORDER BY last_seen_at DESC LIMIT 1",
        )
        .bind(workspace_id)
        .bind(contact_id)
        .fetch_optional(&self.read)
        .await?;
        Ok(lang.unwrap_or_else(|| "en".into()))
    }

    /// An agent's open chats (to take back when they go offline).
    pub async fn open_chats_of(&self, workspace_id: i64, user_id: i64) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM tickets WHERE workspace_id = $1 AND assignee_id = $2 AND channel = 'chat' AND status = 'open' ORDER BY id",
        )
        .bind(workspace_id)
        .bind(user_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// Gives a waiting ticket to `user_id` if it still waits in `team_id`'s
    /// queue and they still have room (both checked inside the transaction,
    /// with the agent's row locked on PostgreSQL, so concurrent routers
    /// never put an agent over capacity nor a ticket to two agents).
    pub async fn route_assign(
        &self,
        workspace_id: i64,
        ticket_id: i64,
        team_id: i64,
        user_id: i64,
    ) -> Result<Option<(Ticket, Vec<Event>)>> {
        let pg = self.backend == Backend::Postgres;
        let mut tx = self.write.begin().await?;
        let lock = if pg { " FOR UPDATE" } else { "" };
        let cap: Option<(i64, Option<i64>)> = sqlx::query_as(&format!(
            "SELECT chat_capacity, ticket_capacity FROM users WHERE id = $1 AND workspace_id = $2 AND active = 1{lock}"
        ))
        .bind(user_id)
        .bind(workspace_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((chat_cap, ticket_cap)) = cap else {
            return Ok(None);
        };
        let t = load_ticket(&mut tx, workspace_id, ticket_id, pg).await?;
        if t.assignee_id.is_some() || t.team_id != Some(team_id) || t.status != crate::domain::Status::Open {
            return Ok(None);
        }
        let (chats, tickets): (i64, i64) = sqlx::query_as(
            "SELECT COALESCE(SUM(CASE WHEN channel = 'chat' THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN channel = 'chat' THEN 0 ELSE 1 END), 0) \
             FROM tickets WHERE workspace_id = $1 AND assignee_id = $2 AND status IN ('open', 'pending')",
        )
        .bind(workspace_id)
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await?;
        let room = if t.channel == Channel::Chat {
            chats < chat_cap
        } else {
            ticket_cap.is_none_or(|c| tickets < c)
        };
        if !room {
            return Ok(None);
        }
        let patch = TicketPatch {
            assignee_id: Some(Some(user_id)),
            ..Default::default()
        };
        let Some((ev, _)) = update_in(&mut tx, Changer::Routing, &t, patch).await? else {
            return Ok(None);
        };
        sqlx::query("UPDATE teams SET last_assigned_user_id = $1 WHERE id = $2")
            .bind(user_id)
            .bind(team_id)
            .execute(&mut *tx)
            .await?;
        let after = load_ticket(&mut tx, workspace_id, ticket_id, false).await?;
        let logged = self.commit_with(tx, vec![ev]).await?;
        Ok(Some((after, logged)))
    }

    /// Takes a chat back from an agent who went offline: it waits in its
    /// team's queue again.
    pub async fn requeue(
        &self,
        workspace_id: i64,
        ticket_id: i64,
        user_id: i64,
    ) -> Result<Option<(Ticket, Vec<Event>)>> {
        let pg = self.backend == Backend::Postgres;
        let mut tx = self.write.begin().await?;
        let t = load_ticket(&mut tx, workspace_id, ticket_id, pg).await?;
        if t.assignee_id != Some(user_id) {
            return Ok(None);
        }
        let patch = TicketPatch {
            assignee_id: Some(None),
            ..Default::default()
        };
        let Some((ev, _)) = update_in(&mut tx, Changer::Routing, &t, patch).await? else {
            return Ok(None);
        };
        let after = load_ticket(&mut tx, workspace_id, ticket_id, false).await?;
        let logged = self.commit_with(tx, vec![ev]).await?;
        Ok(Some((after, logged)))
    }

    /// Notifications nobody has read since before `before` and not mailed yet.
    pub async fn unseen_notifications(&self, before: i64, limit: i64) -> Result<Vec<Unseen>> {
        Ok(sqlx::query_as(
            "SELECT n.id, n.workspace_id, n.ticket_id, n.kind, u.email, t.number, t.subject FROM notifications n \
             JOIN users u ON u.id = n.user_id JOIN tickets t ON t.id = n.ticket_id \
             WHERE n.mailed_at IS NULL AND n.read_at IS NULL AND n.created_at <= $1 AND u.active = 1 AND u.notify_by_mail = 1 \
             ORDER BY n.created_at LIMIT $2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(&self.read)
        .await?)
    }

    /// Queues the mail of an unseen notification, once.
    pub async fn mail_notification(&self, n: &Unseen, subject: &str, body: &str) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let marked = sqlx::query(
            "UPDATE notifications SET mailed_at = $1 WHERE id = $2 AND mailed_at IS NULL AND read_at IS NULL",
        )
        .bind(now_ms())
        .bind(n.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if marked == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        let Ok(to) = crate::domain::Email::parse("email", &n.email) else {
            tx.commit().await?;
            return Ok(false);
        };
        let mail = super::mail::OutMail {
            workspace_id: n.workspace_id,
            kind: "agent_notice",
            ticket_id: None,
            message_id: None,
            to: &to,
            subject,
            body,
            in_reply_to: None,
        };
        super::mail::queue_in(&mut tx, &mail).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn set_notify_by_mail(&self, workspace_id: i64, user_id: i64, on: bool) -> Result<()> {
        sqlx::query("UPDATE users SET notify_by_mail = $1 WHERE id = $2 AND workspace_id = $3")
            .bind(on as i64)
            .bind(user_id)
            .bind(workspace_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Where a ticket stands in its team's queue (1 = next), and how many
    /// agents of the team take conversations now.
    pub async fn queue_position(&self, workspace_id: i64, ticket_id: i64) -> Result<Option<(i64, i64)>> {
        let row: Option<(Option<i64>, i64, Option<i64>, String)> = sqlx::query_as(
            "SELECT team_id, COALESCE(waiting_since, created_at), assignee_id, status FROM tickets WHERE id = $1 AND workspace_id = $2",
        )
        .bind(ticket_id)
        .bind(workspace_id)
        .fetch_optional(&self.read)
        .await?;
        let Some((Some(team), since, None, status)) = row else {
            return Ok(None);
        };
        if status != "open" {
            return Ok(None);
        }
        let ahead: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM tickets WHERE workspace_id = $1 AND team_id = $2 AND status = 'open' AND assignee_id IS NULL AND (COALESCE(waiting_since, created_at) < $3 OR (COALESCE(waiting_since, created_at) = $3 AND id < $4))",
        )
        .bind(workspace_id)
        .bind(team)
        .bind(since)
        .bind(ticket_id)
        .fetch_one(&self.read)
        .await?;
        let online = self
            .agent_loads(workspace_id, Some(team))
            .await?
            .iter()
            .filter(|a| a.online)
            .count() as i64;
        Ok(Some((ahead + 1, online)))
    }
}
