//! Service-level targets and the clocks that measure them. A policy says
//! which tickets it covers (priority, channel, team) and how long the
//! first response, each next response and the resolution may take,
//! counted in the calendar's open hours or around the clock. A ticket's
//! clocks move with what happens to it: an agent's reply stops the
//! response clocks, a customer's message starts the next-response clock,
//! pending (waiting on the customer) pauses them all and the time paused
//! is given back when the ticket is open again; resolving stops them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::calendar::{Schedule, NEVER};
use super::ticket::{Channel, Priority, Status};
use super::Invalid;

/// The longest target: a year.
pub const MINUTES_MAX: i64 = 366 * 24 * 60;
/// A warning comes when this share of a target's time has passed.
const WARN_SHARE: f64 = 0.8;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConditions {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub priority: Vec<Priority>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channel: Vec<Channel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Policy {
    pub id: i64,
    pub name: String,
    pub position: i64,
    pub conditions: PolicyConditions,
    pub first_response_minutes: Option<i64>,
    pub next_response_minutes: Option<i64>,
    pub resolution_minutes: Option<i64>,
    pub business_hours: bool,
}

impl PolicyConditions {
    /// `{"priority": "high"}` or `{"priority": ["high", "urgent"], "channel": "email", "team_id": 3}`.
    pub fn parse(v: &Value) -> Result<PolicyConditions, Invalid> {
        let o = v
            .as_object()
            .ok_or_else(|| Invalid::new("conditions", "must be an object"))?;
        let mut c = PolicyConditions::default();
        for (k, v) in o {
            let items: Vec<&str> = match v {
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) if a.len() <= 10 => a
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .ok_or_else(|| Invalid::new("conditions", format!("{k} takes names")))
                    })
                    .collect::<Result<_, _>>()?,
                Value::Number(n) if k == "team_id" => {
                    c.team_id = Some(
                        n.as_i64()
                            .filter(|i| *i > 0)
                            .ok_or_else(|| Invalid::new("team_id", "must be an id"))?,
                    );
                    continue;
                }
                _ => {
                    return Err(Invalid::new(
                        "conditions",
                        format!("{k} takes a name or a list of up to 10"),
                    ))
                }
            };
            match k.as_str() {
                "priority" => {
                    c.priority = items
                        .iter()
                        .map(|i| Priority::parse("priority", i))
                        .collect::<Result<_, _>>()?
                }
                "channel" => {
                    c.channel = items
                        .iter()
                        .map(|i| Channel::parse("channel", i))
                        .collect::<Result<_, _>>()?
                }
                other => {
                    return Err(Invalid::new(
                        "conditions",
                        format!(
                            "unknown condition '{}'; use priority, channel, team_id",
                            other.chars().take(40).collect::<String>()
                        ),
                    ))
                }
            }
        }
        Ok(c)
    }

    pub fn covers(&self, priority: Priority, channel: Channel, team_id: Option<i64>) -> bool {
        (self.priority.is_empty() || self.priority.contains(&priority))
            && (self.channel.is_empty() || self.channel.contains(&channel))
            && self.team_id.is_none_or(|t| Some(t) == team_id)
    }
}

/// Checks a target in minutes (absent: no target).
pub fn target(field: &'static str, v: Option<i64>) -> Result<Option<i64>, Invalid> {
    match v {
        Some(m) if !(1..=MINUTES_MAX).contains(&m) => {
            Err(Invalid::new(field, format!("must be between 1 and {MINUTES_MAX}")))
        }
        other => Ok(other),
    }
}

/// The first policy, in order, that covers the ticket.
pub fn select(policies: &[Policy], priority: Priority, channel: Channel, team_id: Option<i64>) -> Option<&Policy> {
    policies
        .iter()
        .find(|p| p.conditions.covers(priority, channel, team_id))
}

/// The targets a ticket's clocks measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    FirstResponse,
    NextResponse,
    Resolution,
}

impl Target {
    pub const ALL: [Target; 3] = [Target::FirstResponse, Target::NextResponse, Target::Resolution];

    pub fn as_str(self) -> &'static str {
        match self {
            Target::FirstResponse => "first_response",
            Target::NextResponse => "next_response",
            Target::Resolution => "resolution",
        }
    }

    pub fn parse(s: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Target::FirstResponse => "First response",
            Target::NextResponse => "Next response",
            Target::Resolution => "Resolution",
        }
    }
}

/// One target's clock: when it is due and when it started (for the
/// warning at 80% of its time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Due {
    pub start: i64,
    pub at: i64,
}

/// A ticket's clocks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Clocks {
    pub policy_id: Option<i64>,
    pub first_response: Option<Due>,
    pub next_response: Option<Due>,
    pub resolution: Option<Due>,
    /// Since when the ticket waits on the customer (the clocks stand still).
    pub paused_at: Option<i64>,
    pub breached: Vec<Target>,
    pub warned: Vec<Target>,
}

/// What happened to a ticket, as the clocks see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Happened {
    /// A new ticket; `answered` when an agent opened it (nothing to answer).
    Created {
        answered: bool,
    },
    AgentReplied,
    CustomerWrote,
    Status {
        from: Status,
        to: Status,
    },
    /// Priority, channel or team changed: the policy may be another now.
    /// `answered`: an agent has replied; `resolved`: it is resolved or closed.
    Reclassified {
        answered: bool,
        resolved: bool,
    },
}

/// How the clocks count time: the calendar's open hours, or all of it.
pub struct Counting<'a> {
    pub schedule: &'a Schedule,
    pub business_hours: bool,
}

impl Counting<'_> {
    fn add(&self, start: i64, minutes: i64) -> i64 {
        let ms = minutes * 60_000;
        if self.business_hours {
            self.schedule.add_business(start, ms)
        } else {
            start.saturating_add(ms)
        }
    }

    fn between(&self, from: i64, to: i64) -> i64 {
        if self.business_hours {
            self.schedule.business_between(from, to)
        } else {
            (to - from).max(0)
        }
    }

    fn extend(&self, due: i64, ms: i64) -> i64 {
        if due == NEVER {
            return NEVER;
        }
        if self.business_hours {
            self.schedule.add_business(due, ms)
        } else {
            due.saturating_add(ms)
        }
    }
}

impl Clocks {
    fn slot(&mut self, t: Target) -> &mut Option<Due> {
        match t {
            Target::FirstResponse => &mut self.first_response,
            Target::NextResponse => &mut self.next_response,
            Target::Resolution => &mut self.resolution,
        }
    }

    pub fn get(&self, t: Target) -> Option<Due> {
        match t {
            Target::FirstResponse => self.first_response,
            Target::NextResponse => self.next_response,
            Target::Resolution => self.resolution,
        }
    }

    fn start(&mut self, t: Target, policy: Option<&Policy>, count: &Counting, at: i64) {
        let minutes = policy.and_then(|p| match t {
            Target::FirstResponse => p.first_response_minutes,
            Target::NextResponse => p.next_response_minutes,
            Target::Resolution => p.resolution_minutes,
        });
        *self.slot(t) = minutes.map(|m| Due {
            start: at,
            at: count.add(at, m),
        });
        self.warned.retain(|w| *w != t);
        self.breached.retain(|w| *w != t);
    }

    /// Moves the clocks for what happened at `at` under `policy` (the one
    /// that covers the ticket now; `created_at` is when the ticket came).
    pub fn on(&mut self, what: Happened, policy: Option<&Policy>, count: &Counting, at: i64, created_at: i64) {
        match what {
            Happened::Created { answered } => {
                *self = Clocks {
                    policy_id: policy.map(|p| p.id),
                    ..Default::default()
                };
                if !answered {
                    self.start(Target::FirstResponse, policy, count, at);
                }
                self.start(Target::Resolution, policy, count, at);
            }
            Happened::AgentReplied => {
                self.first_response = None;
                self.next_response = None;
            }
            Happened::CustomerWrote => {
                if self.first_response.is_none() && self.next_response.is_none() && self.paused_at.is_none() {
                    self.start(Target::NextResponse, policy, count, at);
                }
            }
            Happened::Status { from, to } => {
                let done = |s: Status| matches!(s, Status::Resolved | Status::Closed);
                if to == Status::Pending && self.paused_at.is_none() {
                    self.paused_at = Some(at);
                } else if to != Status::Pending {
                    if let Some(p) = self.paused_at.take() {
                        let gone = count.between(p, at);
                        for t in Target::ALL {
                            if let Some(d) = self.slot(t) {
                                d.at = count.extend(d.at, gone);
                            }
                        }
                    }
                }
                if done(to) {
                    self.first_response = None;
                    self.next_response = None;
                    self.resolution = None;
                    self.paused_at = None;
                } else if done(from) {
                    self.start(Target::Resolution, policy, count, at);
                }
            }
            Happened::Reclassified { answered, resolved } => {
                let id = policy.map(|p| p.id);
                if id == self.policy_id {
                    return;
                }
                self.policy_id = id;
                // Targets are measured against the new policy from when
                // they started (the ticket's arrival when they did not run).
                if !answered {
                    let start = self.first_response.map_or(created_at, |d| d.start);
                    self.start(Target::FirstResponse, policy, count, start);
                }
                if let Some(d) = self.next_response {
                    self.start(Target::NextResponse, policy, count, d.start);
                }
                if !resolved {
                    let start = self.resolution.map_or(created_at, |d| d.start);
                    self.start(Target::Resolution, policy, count, start);
                }
            }
        }
    }

    /// The earliest due time still running (None while paused).
    pub fn due_at(&self) -> Option<i64> {
        if self.paused_at.is_some() {
            return None;
        }
        Target::ALL
            .iter()
            .filter_map(|t| self.get(*t).map(|d| d.at))
            .filter(|at| *at != NEVER)
            .min()
    }

    /// When the timers must next look: a warning or a breach to come.
    pub fn next_check(&self) -> Option<i64> {
        if self.paused_at.is_some() {
            return None;
        }
        Target::ALL
            .iter()
            .filter_map(|t| {
                let d = self.get(*t)?;
                if d.at == NEVER || self.breached.contains(t) {
                    None
                } else if self.warned.contains(t) {
                    Some(d.at)
                } else {
                    Some(warn_at(d))
                }
            })
            .min()
    }

    /// Targets that reach their warning or their due time by `now`, not
    /// yet recorded: (target, breached?). Records them.
    pub fn check(&mut self, now: i64) -> Vec<(Target, bool, i64)> {
        let mut out = Vec::new();
        if self.paused_at.is_some() {
            return out;
        }
        for t in Target::ALL {
            let Some(d) = self.get(t) else { continue };
            if d.at == NEVER {
                continue;
            }
            if d.at <= now && !self.breached.contains(&t) {
                self.breached.push(t);
                self.warned.retain(|w| *w != t);
                self.warned.push(t);
                out.push((t, true, d.at));
            } else if warn_at(d) <= now && d.at > now && !self.warned.contains(&t) {
                self.warned.push(t);
                out.push((t, false, d.at));
            }
        }
        out
    }
}

fn warn_at(d: Due) -> i64 {
    d.start + ((d.at - d.start) as f64 * WARN_SHARE) as i64
}

/// "first_response,resolution" ↔ targets.
pub fn targets_to_text(ts: &[Target]) -> String {
    ts.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(",")
}

pub fn targets_from_text(s: &str) -> Vec<Target> {
    s.split(',').filter_map(Target::parse).collect()
}

#[cfg(test)]
#[path = "sla_tests.rs"]
mod tests;
