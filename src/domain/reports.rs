//! What reports count, kept as running totals rather than computed from
//! tickets on each request.
//!
//! Each ticket's share of the totals is a pure function of what the
//! rollups know of it ([`TicketFacts`]): when something happens, the
//! consumer takes the old share away and adds the new one. So a label set
//! a week after the ticket was resolved moves the ticket's whole history
//! (created, first response, resolution, CSAT) under that label, and a
//! score changed by the customer replaces the old one.
//!
//! Attribution: created, resolved, reopened, resolution time and CSAT go
//! to the ticket's current assignee, team, channel, labels and kind; first
//! and next response times and reply counts go to the agent who replied.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::calendar::LocalDays;
use super::digest::Digest;
use super::ticket::string_enum;
use super::Invalid;

string_enum!(
    /// The store's line of business, for the benchmark drawn on the charts.
    Industry { Ecommerce => "ecommerce", BusinessServices => "business_services", Technology => "technology" }
);

impl Industry {
    /// Live Chat Benchmark Report figures the seeds quote: first response
    /// in seconds, satisfaction in percent.
    pub fn benchmark(self) -> (i64, f64) {
        match self {
            Industry::Ecommerce => (113, 86.06),
            Industry::BusinessServices => (84, 89.47),
            Industry::Technology => (96, 90.13),
        }
    }
}

/// How a workspace asks its customers and what it compares itself with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub industry: Industry,
    /// Ask for a rating (1–5) once per ticket when it is resolved.
    pub csat: bool,
    /// Send an NPS survey (0–10) after a resolved ticket ...
    pub nps: bool,
    /// ... at most once per this many days per contact ...
    pub nps_every_days: i64,
    /// ... this many hours after the resolution.
    pub nps_delay_hours: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            industry: Industry::Ecommerce,
            csat: true,
            nps: false,
            nps_every_days: 90,
            nps_delay_hours: 24,
        }
    }
}

impl Settings {
    pub fn validate(&self) -> Result<(), Invalid> {
        if !(1..=3650).contains(&self.nps_every_days) {
            return Err(Invalid::new("nps_every_days", "must be between 1 and 3650"));
        }
        if !(0..=720).contains(&self.nps_delay_hours) {
            return Err(Invalid::new("nps_delay_hours", "must be between 0 and 720"));
        }
        Ok(())
    }
}

string_enum!(
    /// What a row of running totals is about: `all` is the whole workspace
    /// (stored as ''), `hour` the weekday × hour heatmap.
    Dim { All => "all", Agent => "agent", Team => "team", Channel => "channel", Label => "label", Kind => "kind", Hour => "hour" }
);

impl Dim {
    /// As the `dim` column stores it.
    pub fn column(self) -> &'static str {
        match self {
            Dim::All => "",
            d => d.as_str(),
        }
    }
}

/// The running totals of one day and key, or a change to them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub created: i64,
    pub resolved: i64,
    pub reopened: i64,
    pub replies: i64,
    pub csat_count: i64,
    pub csat_sum: i64,
    pub csat_good: i64,
    pub nps_count: i64,
    pub nps_promoters: i64,
    pub nps_detractors: i64,
    pub first_response: Digest,
    pub first_response_bh: Digest,
    pub next_response: Digest,
    pub next_response_bh: Digest,
    pub resolution: Digest,
    pub resolution_bh: Digest,
}

impl Totals {
    /// Adds `o` (`sign` 1) or takes it away (`sign` -1).
    pub fn merge(&mut self, o: &Totals, sign: i64) {
        self.created += sign * o.created;
        self.resolved += sign * o.resolved;
        self.reopened += sign * o.reopened;
        self.replies += sign * o.replies;
        self.csat_count += sign * o.csat_count;
        self.csat_sum += sign * o.csat_sum;
        self.csat_good += sign * o.csat_good;
        self.nps_count += sign * o.nps_count;
        self.nps_promoters += sign * o.nps_promoters;
        self.nps_detractors += sign * o.nps_detractors;
        self.first_response.merge(&o.first_response, sign);
        self.first_response_bh.merge(&o.first_response_bh, sign);
        self.next_response.merge(&o.next_response, sign);
        self.next_response_bh.merge(&o.next_response_bh, sign);
        self.resolution.merge(&o.resolution, sign);
        self.resolution_bh.merge(&o.resolution_bh, sign);
    }

    pub fn is_zero(&self) -> bool {
        *self == Totals::default()
    }

    /// Adds one NPS answer.
    pub fn nps(&mut self, score: i64) {
        self.nps_count += 1;
        self.nps_promoters += (score >= 9) as i64;
        self.nps_detractors += (score <= 6) as i64;
    }
}

/// Where a share goes: dimension, key, day.
pub type Slot = (Dim, String, i64);

/// A wait that ended: when, how long in calendar and business seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub at: i64,
    pub s: i64,
    pub bh: i64,
}

/// An agent's public reply; `wait` when it answered a waiting customer
/// after the first response (a next response).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub at: i64,
    pub by: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<(i64, i64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    pub at: i64,
    pub score: i64,
    pub agent: Option<i64>,
}

/// The most replies, resolutions and reopens kept per ticket; later ones
/// are not counted (a runaway conversation must not grow its row forever).
pub const KEPT_MAX: usize = 500;

/// What the rollups know of a ticket. Short field names: one row per ticket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TicketFacts {
    /// When it was created (None: its start was not seen, so it adds no
    /// "created", e.g. a state built for an event of an unknown ticket).
    #[serde(rename = "c", skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    #[serde(rename = "ch")]
    pub channel: String,
    #[serde(rename = "t", skip_serializing_if = "Option::is_none")]
    pub team: Option<i64>,
    #[serde(rename = "a", skip_serializing_if = "Option::is_none")]
    pub assignee: Option<i64>,
    #[serde(rename = "l", skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    #[serde(rename = "k", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The first response: when, how long after the customer's first word, by whom.
    #[serde(rename = "f", skip_serializing_if = "Option::is_none")]
    pub first: Option<(Span, i64)>,
    #[serde(rename = "r", skip_serializing_if = "Vec::is_empty")]
    pub replies: Vec<Reply>,
    /// Since when the customer waits for an answer.
    #[serde(rename = "w", skip_serializing_if = "Option::is_none")]
    pub waiting: Option<i64>,
    #[serde(rename = "d")]
    pub done: bool,
    #[serde(rename = "res", skip_serializing_if = "Vec::is_empty")]
    pub resolutions: Vec<Span>,
    #[serde(rename = "ro", skip_serializing_if = "Vec::is_empty")]
    pub reopens: Vec<i64>,
    #[serde(rename = "s", skip_serializing_if = "Option::is_none")]
    pub csat: Option<Rating>,
    /// The newest message counted: a message event at or below it was
    /// already counted when the ticket was read from the tables.
    #[serde(rename = "m")]
    pub last_message: i64,
    /// Merged into another ticket: not a conversation of its own, so it
    /// adds no "created", resolution, reopen or rating (its agents' replies
    /// were still work, and count).
    #[serde(rename = "mg", skip_serializing_if = "std::ops::Not::not")]
    pub merged: bool,
}

/// Something that happened to a ticket, as the rollups see it.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    Created {
        at: i64,
        channel: String,
        team: Option<i64>,
        labels: Vec<String>,
    },
    CustomerWrote {
        at: i64,
        message: i64,
    },
    AgentReplied {
        at: i64,
        by: i64,
        message: i64,
    },
    /// Resolved or closed (`done`), or reopened.
    Done {
        at: i64,
        done: bool,
    },
    Assignee(Option<i64>),
    Team(Option<i64>),
    Labels(Vec<String>),
    Kind(Option<String>),
    Csat(Rating),
    /// Closed by being merged into another ticket.
    Merged,
}

impl TicketFacts {
    /// Applies what happened; `business` gives the business seconds between
    /// two instants by the workspace's calendar.
    pub fn apply(&mut self, fact: Fact, business: &dyn Fn(i64, i64) -> i64) {
        match fact {
            Fact::Created {
                at,
                channel,
                team,
                labels,
            } => {
                self.created_at = Some(at);
                self.channel = channel;
                self.team = team;
                self.labels = labels;
            }
            Fact::CustomerWrote { at, message } => {
                if message > self.last_message {
                    self.last_message = message;
                    self.waiting.get_or_insert(at);
                }
            }
            Fact::AgentReplied { at, by, message } => {
                if message <= self.last_message {
                    return;
                }
                self.last_message = message;
                let waited = self.waiting.take().map(|since| {
                    let s = (at - since).max(0) / 1000;
                    let bh = business(since, at).max(0) / 1000;
                    (s, bh)
                });
                let wait = match (waited, &self.first) {
                    (Some((s, bh)), None) => {
                        self.first = Some((Span { at, s, bh }, by));
                        None
                    }
                    (w, _) => w,
                };
                if self.replies.len() < KEPT_MAX {
                    self.replies.push(Reply { at, by, wait });
                }
            }
            Fact::Done { at, done } => {
                if done == self.done {
                    return;
                }
                self.done = done;
                if done {
                    if self.resolutions.len() < KEPT_MAX {
                        let from = self.created_at.unwrap_or(at).min(at);
                        self.resolutions.push(Span {
                            at,
                            s: (at - from) / 1000,
                            bh: business(from, at).max(0) / 1000,
                        });
                    }
                } else if self.reopens.len() < KEPT_MAX {
                    self.reopens.push(at);
                }
            }
            Fact::Assignee(a) => self.assignee = a,
            Fact::Team(t) => self.team = t,
            Fact::Labels(l) => self.labels = l,
            Fact::Kind(k) => self.kind = k,
            Fact::Csat(r) => self.csat = Some(r),
            Fact::Merged => {
                self.merged = true;
                self.done = true;
                self.waiting = None;
            }
        }
    }

    /// The ticket's share of the running totals, by slot.
    pub fn shares(&self, days: &LocalDays) -> BTreeMap<Slot, Totals> {
        let mut out: BTreeMap<Slot, Totals> = BTreeMap::new();
        let mut keys: Vec<(Dim, String)> = vec![(Dim::All, String::new()), (Dim::Channel, self.channel.clone())];
        keys.extend(self.team.map(|t| (Dim::Team, t.to_string())));
        keys.extend(self.labels.iter().map(|l| (Dim::Label, l.clone())));
        keys.extend(self.kind.clone().map(|k| (Dim::Kind, k)));
        let assignee = self.assignee.map(|a| (Dim::Agent, a.to_string()));
        let mut put = |at: i64, agent: Option<(Dim, String)>, f: &dyn Fn(&mut Totals)| {
            let day = days.day(at);
            for (dim, key) in keys.iter().cloned().chain(agent) {
                f(out.entry((dim, key, day)).or_default());
            }
        };
        let created_at = self.created_at.filter(|_| !self.merged);
        if let Some(at) = created_at {
            put(at, assignee.clone(), &|t| t.created += 1);
        }
        if let Some((span, by)) = &self.first {
            put(span.at, Some((Dim::Agent, by.to_string())), &|t| {
                t.first_response.add(span.s);
                t.first_response_bh.add(span.bh);
            });
        }
        for r in &self.replies {
            put(r.at, Some((Dim::Agent, r.by.to_string())), &|t| {
                t.replies += 1;
                if let Some((s, bh)) = r.wait {
                    t.next_response.add(s);
                    t.next_response_bh.add(bh);
                }
            });
        }
        let (resolutions, reopens, csat) = match self.merged {
            true => (&[][..], &[][..], None),
            false => (&self.resolutions[..], &self.reopens[..], self.csat.as_ref()),
        };
        for r in resolutions {
            put(r.at, assignee.clone(), &|t| {
                t.resolved += 1;
                t.resolution.add(r.s);
                t.resolution_bh.add(r.bh);
            });
        }
        for at in reopens {
            put(*at, assignee.clone(), &|t| t.reopened += 1);
        }
        if let Some(c) = csat {
            let agent = c.agent.or(self.assignee).map(|a| (Dim::Agent, a.to_string()));
            put(c.at, agent, &|t| {
                t.csat_count += 1;
                t.csat_sum += c.score;
                t.csat_good += (c.score >= 4) as i64;
            });
        }
        if let Some(at) = created_at {
            let (w, h) = days.weekday_hour(at);
            let slot = (Dim::Hour, (w as u32 * 24 + h as u32).to_string(), days.day(at));
            out.entry(slot).or_default().created += 1;
        }
        out.retain(|_, t| !t.is_zero());
        out
    }
}

/// Adds `new` and takes away `old` in `into`: what a change of a ticket's
/// facts does to the totals.
pub fn move_share(into: &mut BTreeMap<Slot, Totals>, old: &BTreeMap<Slot, Totals>, new: &BTreeMap<Slot, Totals>) {
    for (slot, t) in old {
        into.entry(slot.clone()).or_default().merge(t, -1);
    }
    for (slot, t) in new {
        into.entry(slot.clone()).or_default().merge(t, 1);
    }
}

#[cfg(test)]
#[path = "reports_tests.rs"]
mod tests;
