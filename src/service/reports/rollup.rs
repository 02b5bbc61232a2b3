//! Keeping the running totals: what a page of events does to them, and
//! building a workspace's totals again from the tables.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value;

use crate::domain::calendar::{LocalDays, Schedule};
use crate::domain::event::{Event, EventActor, EventType};
use crate::domain::reports::{move_share, Dim, Fact, Rating, Slot, TicketFacts, Totals};
use crate::domain::{MessageKind, Status};
use crate::service::Services;
use crate::store::reports::FromTables;
use crate::store::Result;

/// What a page (or a chunk of a rebuild) changes: tickets' facts and the totals.
#[derive(Default)]
pub struct Change {
    pub facts: Vec<(i64, i64, TicketFacts)>,
    pub totals: BTreeMap<(i64, Slot), Totals>,
}

impl Change {
    pub fn is_empty(&self) -> bool {
        self.facts.is_empty() && self.totals.values().all(Totals::is_zero)
    }
}

/// A workspace's clock: its days and its business hours.
#[derive(Clone)]
pub struct WorkspaceClock {
    pub days: LocalDays,
    pub schedule: Arc<Schedule>,
}

impl WorkspaceClock {
    fn business(&self) -> impl Fn(i64, i64) -> i64 + Sync + '_ {
        |a, b| self.schedule.business_between(a, b)
    }
}

fn to_i64(v: Option<&Value>) -> Option<i64> {
    v.and_then(Value::as_i64)
}

fn changed<'a>(e: &'a Event, field: &str) -> Option<&'a Value> {
    e.changes.get(field).map(|c| c.get("to").unwrap_or(&Value::Null))
}

fn is_done(s: Option<&Value>) -> Option<bool> {
    let s = Status::parse("status", s?.as_str()?).ok()?;
    Some(matches!(s, Status::Resolved | Status::Closed))
}

/// What an event says happened to its ticket.
fn facts_of(e: &Event) -> Vec<Fact> {
    let at = e.created_at;
    match e.kind {
        EventType::TicketCreated => {
            let labels = (e.changes.get("labels").and_then(Value::as_array))
                .map(|l| l.iter().filter_map(|v| v.as_str().map(String::from)).collect())
                .unwrap_or_default();
            let mut out = vec![Fact::Created {
                at,
                channel: e
                    .changes
                    .get("channel")
                    .and_then(Value::as_str)
                    .unwrap_or("api")
                    .to_string(),
                team: to_i64(e.changes.get("team_id")),
                labels,
            }];
            if let Some(k) = e.changes.get("kind").and_then(Value::as_str) {
                out.push(Fact::Kind(Some(k.to_string())));
            }
            out
        }
        EventType::MessageCreated => {
            if e.changes.get("kind").and_then(Value::as_str) != Some(MessageKind::Reply.as_str()) {
                return vec![];
            }
            let message = e.message_id.unwrap_or(0);
            match e.actor {
                EventActor::Agent(by) => vec![Fact::AgentReplied { at, by, message }],
                EventActor::Contact(_) => vec![Fact::CustomerWrote { at, message }],
                _ => vec![],
            }
        }
        EventType::TicketUpdated => {
            let mut out = vec![];
            // A merge closes the other ticket: not a resolution.
            if e.changes.get("merged_into").is_some_and(|v| !v.is_null()) {
                out.push(Fact::Merged);
            } else if let Some(c) = e.changes.get("status") {
                if let (Some(from), Some(to)) = (is_done(c.get("from")), is_done(c.get("to"))) {
                    if from != to {
                        out.push(Fact::Done { at, done: to });
                    }
                }
            }
            if let Some(v) = changed(e, "assignee_id") {
                out.push(Fact::Assignee(v.as_i64()));
            }
            if let Some(v) = changed(e, "team_id") {
                out.push(Fact::Team(v.as_i64()));
            }
            if let Some(v) = changed(e, "labels") {
                let labels = v
                    .as_array()
                    .map(|l| l.iter().filter_map(|x| x.as_str().map(String::from)).collect());
                out.push(Fact::Labels(labels.unwrap_or_default()));
            }
            if let Some(v) = changed(e, "kind") {
                out.push(Fact::Kind(v.as_str().map(String::from)));
            }
            out
        }
        EventType::CsatAnswered => match to_i64(e.changes.get("score")) {
            Some(score @ 1..=5) => vec![Fact::Csat(Rating {
                at,
                score,
                agent: to_i64(e.changes.get("agent_id")),
            })],
            _ => vec![],
        },
        _ => vec![],
    }
}

impl Services {
    /// The clock of each workspace, read once per page.
    pub async fn workspace_clock(
        &self,
        cache: &mut HashMap<i64, WorkspaceClock>,
        workspace_id: i64,
    ) -> Result<WorkspaceClock> {
        if let Some(c) = cache.get(&workspace_id) {
            return Ok(c.clone());
        }
        let cal = self.store.calendar(workspace_id, None).await?;
        let c = WorkspaceClock {
            days: LocalDays::new(&cal.time_zone),
            schedule: Arc::new(cal.schedule()),
        };
        cache.insert(workspace_id, c.clone());
        Ok(c)
    }

    /// What a page of events does to the totals.
    pub async fn roll_up(&self, events: &[Arc<Event>]) -> Result<Change> {
        let mut clocks: HashMap<i64, WorkspaceClock> = HashMap::new();
        let mut change = Change::default();
        // Tickets this page touches: their facts before, and now.
        let ids: Vec<i64> = events
            .iter()
            .filter(|e| !facts_of(e).is_empty())
            .filter_map(|e| e.ticket_id)
            .collect();
        let known = self.store.report_facts(&ids).await?;
        let mut touched: BTreeMap<i64, (i64, BTreeMap<Slot, Totals>, TicketFacts)> = BTreeMap::new();
        // Tickets the rollups never saw start (older than the log): read
        // from the tables once, then this page's events apply on top (those
        // already in the tables change nothing: see TicketFacts::apply).
        let created: std::collections::HashSet<i64> = (events.iter())
            .filter(|e| e.kind == EventType::TicketCreated)
            .filter_map(|e| e.ticket_id)
            .collect();
        let mut unknown: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for e in events {
            if let Some(t) = e.ticket_id {
                if !known.contains_key(&t) && !created.contains(&t) && !facts_of(e).is_empty() {
                    unknown.entry(e.workspace_id).or_default().push(t);
                }
            }
        }
        let mut read: HashMap<i64, TicketFacts> = HashMap::new();
        for (ws, mut list) in unknown {
            list.sort_unstable();
            list.dedup();
            let clock = self.workspace_clock(&mut clocks, ws).await?;
            for chunk in list.chunks(1000) {
                let got = self
                    .store
                    .facts_from_tables(ws, FromTables::Ids(chunk), &clock.business())
                    .await?;
                read.extend(got);
            }
        }
        for e in events {
            match e.kind {
                EventType::NpsAnswered => {
                    if let Some(score @ 0..=10) = to_i64(e.changes.get("score")) {
                        let clock = self.workspace_clock(&mut clocks, e.workspace_id).await?;
                        let slot = (Dim::All, String::new(), clock.days.day(e.created_at));
                        change.totals.entry((e.workspace_id, slot)).or_default().nps(score);
                    }
                    continue;
                }
                EventType::TicketsImported => {
                    let first = to_i64(e.changes.get("first_number")).unwrap_or(0);
                    let count = to_i64(e.changes.get("tickets")).unwrap_or(0);
                    let clock = self.workspace_clock(&mut clocks, e.workspace_id).await?;
                    let got = self
                        .store
                        .facts_from_tables(e.workspace_id, FromTables::Numbers(first, count), &clock.business())
                        .await?;
                    for (id, f) in got {
                        match touched.get_mut(&id) {
                            Some(t) => t.2 = f,
                            None => {
                                let before = known.get(&id).map(|k| k.shares(&clock.days)).unwrap_or_default();
                                touched.insert(id, (e.workspace_id, before, f));
                            }
                        }
                    }
                    // NPS answers belong to no ticket's facts: those that came
                    // with the import are counted here, once.
                    let answers = self
                        .store
                        .nps_answers_of_numbers(e.workspace_id, first, count, e.created_at)
                        .await?;
                    for (at, score) in answers.into_iter().filter(|(_, s)| (0..=10).contains(s)) {
                        let slot = (Dim::All, String::new(), clock.days.day(at));
                        change.totals.entry((e.workspace_id, slot)).or_default().nps(score);
                    }
                    continue;
                }
                _ => {}
            }
            let facts = facts_of(e);
            let Some(ticket) = e.ticket_id.filter(|_| !facts.is_empty()) else {
                continue;
            };
            let clock = self.workspace_clock(&mut clocks, e.workspace_id).await?;
            let entry = touched.entry(ticket).or_insert_with(|| match known.get(&ticket) {
                Some(k) => (e.workspace_id, k.shares(&clock.days), k.clone()),
                None => (
                    e.workspace_id,
                    BTreeMap::new(),
                    read.remove(&ticket).unwrap_or_default(),
                ),
            });
            for f in facts {
                entry.2.apply(f, &clock.business());
            }
        }
        for (id, (ws, before, facts)) in touched {
            let clock = self.workspace_clock(&mut clocks, ws).await?;
            let after = facts.shares(&clock.days);
            add_moved(&mut change.totals, ws, &before, &after);
            change.facts.push((ws, id, facts));
        }
        Ok(change)
    }

    /// Reads the next chunk of a workspace's tickets for a rebuild: their
    /// facts and the totals they add. Empty when there are no more.
    pub async fn rebuild_chunk(&self, workspace_id: i64, after: i64) -> Result<(Change, Option<i64>)> {
        let mut clocks = HashMap::new();
        let clock = self.workspace_clock(&mut clocks, workspace_id).await?;
        let got = self
            .store
            .facts_from_tables(workspace_id, FromTables::After(after), &clock.business())
            .await?;
        let last = got.last().map(|(id, _)| *id);
        let mut change = Change::default();
        for (id, f) in got {
            add_moved(
                &mut change.totals,
                workspace_id,
                &BTreeMap::new(),
                &f.shares(&clock.days),
            );
            change.facts.push((workspace_id, id, f));
        }
        if last.is_none() {
            // The NPS answers, which belong to no ticket's facts.
            for (at, score) in self.store.nps_answers(workspace_id).await? {
                let slot = (Dim::All, String::new(), clock.days.day(at));
                change.totals.entry((workspace_id, slot)).or_default().nps(score);
            }
        }
        Ok((change, last))
    }
}

fn add_moved(
    into: &mut BTreeMap<(i64, Slot), Totals>,
    ws: i64,
    before: &BTreeMap<Slot, Totals>,
    after: &BTreeMap<Slot, Totals>,
) {
    let mut moved = BTreeMap::new();
    move_share(&mut moved, before, after);
    for (slot, t) in moved {
        if !t.is_zero() {
            into.entry((ws, slot)).or_default().merge(&t, 1);
        }
    }
}
