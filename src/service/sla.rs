//! SLA policies and calendars, the clocks the SLA consumer moves from the
//! event log, and the timers: SLA warnings and breaches, and time-based
//! rules. The timers read the clock (`store::now_ms`) and the database
//! only, so they survive restarts, and what they do is recorded once
//! (versions, `rule_runs`) however many nodes run them.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::Services;
use crate::domain::calendar::{Calendar, Schedule};
use crate::domain::event::{Event, EventActor, EventType};
use crate::domain::rules::Trigger;
use crate::domain::sla::{select, target, Clocks, Counting, Happened, Policy, PolicyConditions};
use crate::domain::{required_text, Actor, Invalid, MessageKind, Status};
use crate::events::Hint;
use crate::store::sla::StoredClocks;
use crate::store::{now_ms, Result, StoreError};

/// How long an assignment or mention may wait unseen before it is mailed.
pub const UNSEEN_MAIL_AFTER: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// Tickets a timer pass looks at per rule, and clocks it checks.
const TIMER_BATCH: i64 = 500;

const POLICY_KEYS: &[&str] = &[
    "name",
    "conditions",
    "first_response_minutes",
    "next_response_minutes",
    "resolution_minutes",
    "business_hours",
    "position",
];

impl Services {
    /// Creates (`id` None) or changes an SLA policy from its JSON.
    pub async fn save_sla_policy(&self, actor: &Actor, id: Option<i64>, body: &Value) -> Result<Policy> {
        let o = body
            .as_object()
            .ok_or_else(|| Invalid::new("body", "must be a JSON object"))?;
        if let Some(k) = o.keys().find(|k| !POLICY_KEYS.contains(&k.as_str())) {
            return Err(Invalid::new(
                "body",
                format!(
                    "unknown field '{}'; a policy has {}",
                    k.chars().take(40).collect::<String>(),
                    POLICY_KEYS.join(", ")
                ),
            )
            .into());
        }
        let base = match id {
            Some(id) => Some(self.store.sla_policy(actor.workspace_id, id).await?),
            None => None,
        };
        let minutes = |key: &'static str, current: Option<i64>| -> std::result::Result<Option<i64>, Invalid> {
            match o.get(key) {
                None => Ok(current),
                Some(Value::Null) => Ok(None),
                Some(v) => target(
                    key,
                    Some(v.as_i64().ok_or_else(|| Invalid::new(key, "must be whole minutes"))?),
                ),
            }
        };
        let name = match (o.get("name"), &base) {
            (Some(n), _) => required_text(
                "name",
                n.as_str().ok_or_else(|| Invalid::new("name", "must be a string"))?,
                200,
            )?,
            (None, Some(b)) => b.name.clone(),
            (None, None) => return Err(Invalid::new("name", "is required").into()),
        };
        let conditions = match (o.get("conditions"), &base) {
            (Some(c), _) => PolicyConditions::parse(c)?,
            (None, Some(b)) => b.conditions.clone(),
            (None, None) => PolicyConditions::default(),
        };
        if let Some(t) = conditions.team_id {
            if !self
                .store
                .list_teams(actor.workspace_id)
                .await?
                .iter()
                .any(|x| x.id == t)
            {
                return Err(Invalid::new("team_id", format!("no team {t} in this workspace")).into());
            }
        }
        let p = Policy {
            id: id.unwrap_or(0),
            name,
            position: match o.get("position") {
                Some(v) => v
                    .as_i64()
                    .filter(|p| *p >= 1)
                    .ok_or_else(|| Invalid::new("position", "must be a whole number from 1"))?,
                None => base.as_ref().map_or(0, |b| b.position),
            },
            conditions,
            first_response_minutes: minutes(
                "first_response_minutes",
                base.as_ref().and_then(|b| b.first_response_minutes),
            )?,
            next_response_minutes: minutes(
                "next_response_minutes",
                base.as_ref().and_then(|b| b.next_response_minutes),
            )?,
            resolution_minutes: minutes("resolution_minutes", base.as_ref().and_then(|b| b.resolution_minutes))?,
            business_hours: match o.get("business_hours") {
                Some(v) => v
                    .as_bool()
                    .ok_or_else(|| Invalid::new("business_hours", "must be true or false"))?,
                None => base.as_ref().is_none_or(|b| b.business_hours),
            },
        };
        if p.first_response_minutes.is_none() && p.next_response_minutes.is_none() && p.resolution_minutes.is_none() {
            return Err(Invalid::new("first_response_minutes", "a policy needs at least one target").into());
        }
        self.store.save_sla_policy(actor.workspace_id, &p).await
    }

    pub async fn save_calendar(&self, actor: &Actor, team_id: Option<i64>, cal: &Calendar) -> Result<()> {
        cal.validate()?;
        let before = self.store.calendar(actor.workspace_id, None).await?;
        self.store.save_calendar(actor.workspace_id, team_id, cal).await?;
        // Report totals count by the workspace's days and business hours:
        // new ones mean counting again.
        if team_id.is_none() && before != *cal {
            self.store.request_report_rebuild(actor.workspace_id).await?;
        }
        Ok(())
    }

    /// Moves the clocks of the tickets a page of events is about; returns
    /// those that changed, for the SLA consumer to save with its position.
    pub async fn move_clocks(&self, events: &[Arc<Event>]) -> Result<Vec<StoredClocks>> {
        let mut state: HashMap<i64, (StoredClocks, bool)> = HashMap::new();
        let mut order: Vec<i64> = Vec::new();
        let mut policies: HashMap<i64, Arc<Vec<Policy>>> = HashMap::new();
        let mut schedules: HashMap<(i64, Option<i64>), Arc<Schedule>> = HashMap::new();
        for e in events {
            let Some(ticket_id) = e.ticket_id else { continue };
            let mut what: Vec<Happened> = Vec::new();
            match e.kind {
                EventType::TicketCreated => what.push(Happened::Created {
                    answered: matches!(e.actor, EventActor::Agent(_)),
                }),
                EventType::MessageCreated => {
                    if e.changes.get("kind").and_then(|k| k.as_str()) != Some(MessageKind::Reply.as_str()) {
                        continue;
                    }
                    match e.actor {
                        EventActor::Agent(_) => what.push(Happened::AgentReplied),
                        EventActor::Contact(_) => what.push(Happened::CustomerWrote),
                        _ => continue,
                    }
                }
                EventType::TicketUpdated => {
                    let status = |k: &str| {
                        e.changes
                            .get("status")
                            .and_then(|c| c.get(k))
                            .and_then(|s| s.as_str())
                            .and_then(|s| Status::parse("status", s).ok())
                    };
                    if let (Some(from), Some(to)) = (status("from"), status("to")) {
                        what.push(Happened::Status { from, to });
                    }
                    if ["priority", "team_id", "channel"]
                        .iter()
                        .any(|k| e.changes.get(*k).is_some())
                    {
                        what.push(Happened::Reclassified {
                            answered: false,
                            resolved: false,
                        });
                    }
                }
                _ => continue,
            }
            if what.is_empty() {
                continue;
            }
            let ws_policies = match policies.get(&e.workspace_id) {
                Some(p) => p.clone(),
                None => {
                    let p = Arc::new(self.store.list_sla_policies(e.workspace_id).await?);
                    policies.insert(e.workspace_id, p.clone());
                    p
                }
            };
            // Without policies only the pending pause is kept (time-based
            // rules on "pending for N hours" read it).
            let pending = what.iter().any(
                |w| matches!(w, Happened::Status { from, to } if *from == Status::Pending || *to == Status::Pending),
            );
            if ws_policies.is_empty() && !pending && !state.contains_key(&ticket_id) {
                continue;
            }
            let t = match self.store.ticket_unchecked(e.workspace_id, ticket_id).await {
                Ok(t) => t,
                Err(StoreError::NotFound) => continue,
                Err(err) => return Err(err),
            };
            let policy = select(&ws_policies, t.priority, t.channel, t.team_id);
            let key = (e.workspace_id, t.team_id);
            let schedule = match schedules.get(&key) {
                Some(s) => s.clone(),
                None => {
                    let s = Arc::new(self.store.calendar(e.workspace_id, t.team_id).await?.schedule());
                    schedules.insert(key, s.clone());
                    s
                }
            };
            let count = Counting {
                schedule: &schedule,
                business_hours: policy.is_none_or(|p| p.business_hours),
            };
            let stored = match state.entry(ticket_id) {
                std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    let stored = self.store.clocks(ticket_id).await?.unwrap_or(StoredClocks {
                        ticket_id,
                        workspace_id: e.workspace_id,
                        clocks: Clocks::default(),
                        version: 0,
                    });
                    order.push(ticket_id);
                    v.insert((stored, false))
                }
            };
            let (stored, changed) = (&mut stored.0, &mut stored.1);
            let before = stored.clocks.clone();
            for w in what {
                let w = match w {
                    Happened::Reclassified { .. } => Happened::Reclassified {
                        answered: t.first_response_at.is_some(),
                        resolved: matches!(t.status, Status::Resolved | Status::Closed),
                    },
                    other => other,
                };
                // A new ticket's clocks start when it came, not when its
                // event was appended a moment later.
                let at = if matches!(w, Happened::Created { .. }) {
                    t.created_at
                } else {
                    e.created_at
                };
                stored.clocks.on(w, policy, &count, at, t.created_at);
            }
            *changed |= stored.clocks != before;
        }
        Ok(order
            .into_iter()
            .filter_map(|id| state.remove(&id).filter(|(_, changed)| *changed).map(|(s, _)| s))
            .collect())
    }

    /// One pass of the timers at the clock's `now`: SLA warnings and
    /// breaches, then time-based rules. Returns how many things it did.
    pub async fn run_timers(&self) -> Result<usize> {
        let now = now_ms();
        let mut done = 0;
        for mut s in self.store.clocks_to_check(now, TIMER_BATCH).await? {
            let found = s.clocks.check(now);
            let logged = self.store.record_sla(&s, &found).await?;
            if !logged.is_empty() {
                done += logged.len();
                self.logged(&logged, Hint::default());
            }
        }
        done += self.mail_unseen(UNSEEN_MAIL_AFTER).await?;
        let mut open: HashMap<(i64, Option<i64>), Arc<Calendar>> = HashMap::new();
        for rule in self.store.timer_rules().await? {
            for (ticket_id, anchor) in self.store.timer_candidates(&rule, now, TIMER_BATCH).await? {
                let t = match self.store.ticket_unchecked(rule.workspace_id, ticket_id).await {
                    Ok(t) => t,
                    Err(StoreError::NotFound) => continue,
                    Err(e) => return Err(e),
                };
                let key = (rule.workspace_id, t.team_id);
                let cal = match open.get(&key) {
                    Some(c) => c.clone(),
                    None => {
                        let c = Arc::new(self.store.calendar(rule.workspace_id, t.team_id).await?);
                        open.insert(key, c.clone());
                        c
                    }
                };
                let minutes = rule.def.minutes.unwrap_or(0);
                if rule.def.business_hours
                    && rule.def.event != Trigger::SlaDue
                    && cal.business_between(anchor, now) < minutes * 60_000
                {
                    continue;
                }
                let mut facts = self.facts(&t, None, cal.is_open(now)).await?;
                facts.author = Some(crate::domain::AuthorType::Contact);
                if rule.def.conditions.matches(&facts) {
                    if self.apply_rule(&rule, &t, anchor).await?.is_some() {
                        done += 1;
                    }
                } else {
                    self.store.pass_timer(&rule, ticket_id, anchor).await?;
                }
            }
        }
        Ok(done)
    }
}
