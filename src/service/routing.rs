//! Routing: a team's queue shared out among its agents who take
//! conversations now, by round robin or to the least loaded, never over an
//! agent's capacity, the longest-waiting first; an agent who goes offline
//! gives their open chats back to the queue. Run by the routing consumer of
//! the event log on every change that may free or need an agent, and by
//! the timers (consoles on `auto` come and go without events).

use std::collections::BTreeSet;
use std::sync::Arc;

use super::Services;
use crate::domain::event::{Event, EventType};
use crate::domain::Actor;
use crate::events::Hint;
use crate::store::routing::{AgentLoad, Availability, RoutedTeam, RoutingMode};
use crate::store::Result;

/// The wait a place in a queue stands for, in minutes, with one agent.
const MINUTES_A_PLACE: i64 = 3;

/// Tickets of a queue looked at per pass.
const QUEUE_BATCH: i64 = 500;

impl Services {
    pub async fn set_availability(&self, actor: &Actor, to: Availability) -> Result<()> {
        let logged = self
            .store
            .set_availability(actor.workspace_id, actor.user_id, to)
            .await?;
        self.logged(&logged, Hint::default());
        // Visitors' widgets follow at once.
        let any_online = self.store.agents_online(actor.workspace_id).await?;
        let kind = crate::realtime::Kind::Presence {
            user_id: actor.user_id,
            status: to.as_str().to_string(),
            any_online,
        };
        self.bus
            .publish(crate::realtime::Signal::new(actor.workspace_id, kind))
            .await;
        Ok(())
    }

    /// Routes the queues of one workspace's teams (or of every workspace).
    pub async fn route(&self, workspace_id: Option<i64>) -> Result<usize> {
        let mut n = 0;
        for team in self.store.routed_teams(workspace_id).await? {
            n += self.route_team(&team).await?;
        }
        Ok(n)
    }

    async fn route_team(&self, team: &RoutedTeam) -> Result<usize> {
        let ws = team.workspace_id;
        let queue = self.store.team_queue(ws, team.id, QUEUE_BATCH).await?;
        if queue.is_empty() {
            return Ok(0);
        }
        let mut agents: Vec<AgentLoad> = self
            .store
            .agent_loads(ws, Some(team.id))
            .await?
            .into_iter()
            .filter(|a| a.online)
            .collect();
        let mut last = team.last_assigned;
        let mut routed = 0;
        // Chats left waiting: (tickets ahead of them, their visitor).
        let mut waiting: Vec<(i64, i64)> = Vec::new();
        let mut ahead = 0;
        for (ticket_id, channel, contact_id) in queue {
            let Some(pick) = pick(&agents, team.mode, channel, last) else {
                if channel == crate::domain::Channel::Chat {
                    waiting.push((ahead, contact_id));
                }
                ahead += 1;
                continue;
            };
            let user_id = agents[pick].user_id;
            match self.store.route_assign(ws, ticket_id, team.id, user_id).await? {
                Some((t, logged)) => {
                    self.logged(&logged, Hint::ticket(&t));
                    metrics::counter!("storedesk_routed_total").increment(1);
                    routed += 1;
                    last = Some(user_id);
                    let a = &mut agents[pick];
                    if channel == crate::domain::Channel::Chat {
                        a.chats += 1;
                    } else {
                        a.tickets += 1;
                    }
                }
                // Someone else changed the ticket or the agent's load
                // meanwhile: read the loads again.
                None => {
                    if channel == crate::domain::Channel::Chat {
                        waiting.push((ahead, contact_id));
                    }
                    ahead += 1;
                    agents = self
                        .store
                        .agent_loads(ws, Some(team.id))
                        .await?
                        .into_iter()
                        .filter(|a| a.online)
                        .collect();
                }
            }
        }
        self.tell_queue(ws, &waiting, agents.len() as i64).await;
        Ok(routed)
    }

    /// Tells visitors whose chats wait where they stand and about how long
    /// (three minutes a place, shared among the team's agents online), in
    /// their language. Places count every ticket ahead in the queue.
    async fn tell_queue(&self, ws: i64, waiting: &[(i64, i64)], online: i64) {
        for (ahead, contact_id) in waiting.iter().take(50) {
            let position = ahead + 1;
            let minutes = (online > 0).then(|| (position * MINUTES_A_PLACE + online - 1) / online);
            let lang = self
                .store
                .visitor_lang(ws, *contact_id)
                .await
                .unwrap_or_else(|_| "en".into());
            let mut text = crate::i18n::text(&lang, "widget-queue", &[("position", &position.to_string())]);
            if let Some(m) = minutes {
                let more = crate::i18n::text(&lang, "widget-queue-minutes", &[("minutes", &m.to_string())]);
                text = format!("{text} {more}");
            }
            let kind = crate::realtime::Kind::Queue {
                contact_id: *contact_id,
                position,
                minutes,
                text,
            };
            self.bus.publish(crate::realtime::Signal::new(ws, kind)).await;
        }
    }

    /// Gives an agent's open chats back to their teams' queues.
    pub async fn requeue_agent(&self, workspace_id: i64, user_id: i64) -> Result<usize> {
        let mut n = 0;
        for id in self.store.open_chats_of(workspace_id, user_id).await? {
            if let Some((t, logged)) = self.store.requeue(workspace_id, id, user_id).await? {
                self.logged(&logged, Hint::ticket(&t));
                n += 1;
            }
        }
        Ok(n)
    }

    /// Mails agents the assignments and mentions they have not seen within
    /// `after` (once each; reading them in the console first stops it).
    pub async fn mail_unseen(&self, after: std::time::Duration) -> Result<usize> {
        let before = crate::store::now_ms() - after.as_millis() as i64;
        let mut n = 0;
        for u in self.store.unseen_notifications(before, 200).await? {
            let what = if u.kind == "assignment" {
                "was assigned to you"
            } else {
                "mentions you"
            };
            let subject = format!("[#{}] {}", u.number, u.subject);
            let body = format!(
                "Ticket #{} \"{}\" {what}, and you have not opened it yet.\n\n--\nstoredesk: turn these mails off in the console's settings.",
                u.number, u.subject
            );
            if self.store.mail_notification(&u, &subject, &body).await? {
                n += 1;
            }
        }
        Ok(n)
    }

    /// What the routing consumer does with a page of events.
    pub async fn run_routing(&self, events: &[Arc<Event>]) -> Result<()> {
        let mut workspaces = BTreeSet::new();
        for e in events {
            match e.kind {
                EventType::TicketCreated | EventType::TicketUpdated => {
                    workspaces.insert(e.workspace_id);
                }
                EventType::AgentUpdated => {
                    let to = e
                        .changes
                        .get("availability")
                        .and_then(|a| a.get("to"))
                        .and_then(|t| t.as_str());
                    let user = e.changes.get("user_id").and_then(|u| u.as_i64());
                    if let (Some("offline"), Some(user)) = (to, user) {
                        self.requeue_agent(e.workspace_id, user).await?;
                    }
                    workspaces.insert(e.workspace_id);
                }
                _ => {}
            }
        }
        for ws in workspaces {
            self.route(Some(ws)).await?;
        }
        Ok(())
    }
}

/// The agent to give a conversation of `channel` to, among those online
/// with room: the next after `last` (round robin), or the least loaded
/// (ties in round-robin order).
fn pick(agents: &[AgentLoad], mode: RoutingMode, channel: crate::domain::Channel, last: Option<i64>) -> Option<usize> {
    let after = last.unwrap_or(i64::MIN);
    // Round-robin order: those after the last one, then from the start.
    let mut order: Vec<usize> = (0..agents.len()).filter(|i| agents[*i].has_room(channel)).collect();
    order.sort_by_key(|i| (agents[*i].user_id <= after, agents[*i].user_id));
    match mode {
        RoutingMode::Manual => None,
        RoutingMode::RoundRobin => order.first().copied(),
        RoutingMode::LeastLoaded => order
            .into_iter()
            .enumerate()
            .min_by_key(|(rank, i)| {
                let a = &agents[*i];
                let load = if channel == crate::domain::Channel::Chat {
                    a.chats
                } else {
                    a.tickets
                };
                (load, *rank)
            })
            .map(|(_, i)| i),
    }
}
