//! Automation rules and macros: writing them (checked against the
//! workspace), running them on events from the log and on timers, and
//! previewing them on recent tickets.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::Services;
use crate::domain::event::{Event, EventActor, EventType};
use crate::domain::rules::{guess_language, Action, Facts, RuleDef, Trigger};
use crate::domain::{Actor, AuthorType, Invalid};
use crate::events::Hint;
use crate::store::rules::{Doer, Macro, Rule};
use crate::store::{now_ms, Result, StoreError, Ticket};

/// How many recent tickets a preview looks at.
pub const PREVIEW_TICKETS: i64 = 500;

impl Services {
    pub async fn create_rule(&self, actor: &Actor, body: &Value) -> Result<Rule> {
        let def = RuleDef::parse(body, None)?;
        self.check_references(actor.workspace_id, &def.referenced(), &def.actions)
            .await?;
        self.store.create_rule(actor.workspace_id, &def).await
    }

    /// Changes the fields `body` names; `position` (1 = first) moves the rule.
    pub async fn update_rule(&self, actor: &Actor, id: i64, body: &Value) -> Result<Rule> {
        let current = self.store.rule(actor.workspace_id, id).await?;
        let mut body = body.clone();
        let position = match body.as_object_mut().and_then(|o| o.remove("position")) {
            None => None,
            Some(p) => Some(
                p.as_i64()
                    .filter(|p| *p >= 1)
                    .ok_or_else(|| Invalid::new("position", "must be a whole number from 1"))?,
            ),
        };
        let def = RuleDef::parse(&body, Some(&current.def))?;
        self.check_references(actor.workspace_id, &def.referenced(), &def.actions)
            .await?;
        self.store.update_rule(actor.workspace_id, id, &def, position).await
    }

    /// Teams, agents and canned answers a rule or macro names must be the
    /// workspace's own: another workspace's id is refused by name.
    async fn check_references(&self, ws: i64, (teams, users): &(Vec<i64>, Vec<i64>), actions: &[Action]) -> Result<()> {
        let hooks: Vec<i64> = actions
            .iter()
            .filter_map(|a| match a {
                Action::Webhook { webhook_id } => Some(*webhook_id),
                _ => None,
            })
            .collect();
        if !hooks.is_empty() {
            let ours: Vec<i64> = self.store.list_webhooks(ws).await?.into_iter().map(|h| h.id).collect();
            if let Some(h) = hooks.iter().find(|h| !ours.contains(h)) {
                return Err(Invalid::new("webhook_id", format!("no webhook {h} in this workspace")).into());
            }
        }
        if !teams.is_empty() {
            let ours: Vec<i64> = self.store.list_teams(ws).await?.into_iter().map(|t| t.id).collect();
            if let Some(t) = teams.iter().find(|t| !ours.contains(t)) {
                return Err(Invalid::new("team_id", format!("no team {t} in this workspace")).into());
            }
        }
        if !users.is_empty() {
            let ours: Vec<i64> = self.store.list_users(ws).await?.into_iter().map(|u| u.id).collect();
            if let Some(u) = users.iter().find(|u| !ours.contains(u)) {
                return Err(Invalid::new("user_id", format!("no agent {u} in this workspace")).into());
            }
        }
        let canned: Vec<i64> = actions
            .iter()
            .filter_map(|a| match a {
                Action::SendReply { canned_id: Some(c), .. } => Some(*c),
                _ => None,
            })
            .collect();
        if !canned.is_empty() {
            let ours: Vec<i64> = self.store.canned_answers(ws).await?.into_iter().map(|c| c.id).collect();
            if let Some(c) = canned.iter().find(|c| !ours.contains(c)) {
                return Err(Invalid::new("canned_id", format!("no canned answer {c} in this workspace")).into());
            }
        }
        Ok(())
    }

    /// Which of the workspace's newest tickets the rule's conditions match
    /// now (an event rule as if its event happened to each).
    pub async fn preview_rule(&self, ws: i64, id: i64) -> Result<(usize, Vec<Ticket>)> {
        let rule = self.store.rule(ws, id).await?;
        let ids = self.store.recent_ticket_ids(ws, PREVIEW_TICKETS).await?;
        let open = self.is_open(ws).await?;
        let mut hits = Vec::new();
        for tid in &ids {
            let t = self.store.ticket_unchecked(ws, *tid).await?;
            let mut f = self.facts(&t, None, open).await?;
            f.author = Some(AuthorType::Contact);
            if rule.def.conditions.matches(&f) {
                hits.push(t);
            }
        }
        Ok((ids.len(), hits))
    }

    async fn is_open(&self, ws: i64) -> Result<bool> {
        Ok(self.store.calendar(ws, None).await?.is_open(now_ms()))
    }

    /// The facts a rule's conditions read for a ticket and (optionally) the
    /// message an event is about.
    pub(super) async fn facts(&self, t: &Ticket, message_id: Option<i64>, open: bool) -> Result<Facts> {
        let inputs = self.store.rule_inputs(t, message_id).await?;
        let mut f = Facts::new(t.channel, t.status, t.priority, t.subject.clone(), inputs.body);
        f.team_id = t.team_id;
        f.assignee_id = t.assignee_id;
        f.labels = t.labels.clone();
        f.kind = t.kind;
        f.email_domain = t
            .contact
            .email
            .as_deref()
            .and_then(|e| e.rsplit_once('@'))
            .map(|(_, d)| d.to_lowercase());
        f.attributes = inputs.attributes;
        f.language = if inputs.lang.is_empty() {
            guess_language(&format!("{} {}", t.subject, f.body)).to_string()
        } else {
            inputs.lang
        };
        f.open = open;
        f.page_url = inputs.page_url;
        f.cart_value = Facts::cart_from_context(&inputs.context);
        Ok(f)
    }

    /// Runs the workspace's rules on a page of events from the log. Changes
    /// made by rules are skipped (a rule never triggers rules again); each
    /// rule acts once per event however often the page is read.
    pub async fn run_rules(&self, events: &[Arc<Event>]) -> Result<usize> {
        let mut rules: HashMap<i64, Arc<Vec<Rule>>> = HashMap::new();
        let mut open: HashMap<i64, bool> = HashMap::new();
        let mut applied = 0;
        for e in events {
            let trigger = match e.kind {
                EventType::TicketCreated => Trigger::TicketCreated,
                EventType::MessageCreated => Trigger::MessageCreated,
                EventType::TicketUpdated => Trigger::TicketUpdated,
                _ => continue,
            };
            if matches!(e.actor, EventActor::Rule(_)) {
                continue;
            }
            let Some(ticket_id) = e.ticket_id else { continue };
            let ws_rules = match rules.get(&e.workspace_id) {
                Some(r) => r.clone(),
                None => {
                    let r = Arc::new(self.store.list_rules(e.workspace_id).await?);
                    rules.insert(e.workspace_id, r.clone());
                    r
                }
            };
            let todo: Vec<usize> = (0..ws_rules.len())
                .filter(|i| ws_rules[*i].def.enabled && ws_rules[*i].def.event == trigger)
                .collect();
            if todo.is_empty() {
                continue;
            }
            // A message the customer cannot see (a note) or a system line
            // is still a message: rules say by `author` whose they want.
            let t = match self.store.ticket_unchecked(e.workspace_id, ticket_id).await {
                Ok(t) => t,
                Err(StoreError::NotFound) => continue,
                Err(err) => return Err(err),
            };
            let is_open = match open.get(&e.workspace_id) {
                Some(o) => *o,
                None => {
                    let o = self.is_open(e.workspace_id).await?;
                    open.insert(e.workspace_id, o);
                    o
                }
            };
            let message_id = e.message_id.filter(|_| trigger != Trigger::TicketUpdated);
            let mut facts = self.facts(&t, message_id, is_open).await?;
            facts.author = Some(match e.actor {
                EventActor::Agent(_) => AuthorType::Agent,
                EventActor::Contact(_) => AuthorType::Contact,
                _ => AuthorType::System,
            });
            facts.changed = e
                .changes
                .as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default();
            // Later rules see what earlier ones did; all that matched act
            // in one transaction.
            let mut runs: Vec<(&Rule, i64)> = Vec::new();
            for i in todo {
                let rule = &ws_rules[i];
                if !rule.def.conditions.matches(&facts) {
                    continue;
                }
                facts.apply(&rule.def.actions);
                runs.push((rule, e.id));
                if rule.def.stop {
                    break;
                }
            }
            if runs.is_empty() {
                continue;
            }
            match self.store.apply_rules(t.workspace_id, t.id, &runs).await {
                Ok(Some((after, logged, acted))) => {
                    metrics::counter!("storedesk_rule_runs_total").increment(acted as u64);
                    applied += acted;
                    self.logged(&logged, Hint::ticket(&after));
                }
                Ok(None) | Err(StoreError::NotFound) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(applied)
    }

    /// Applies one rule to a ticket for one trigger. A rule that can no
    /// longer act (its team was deleted) is logged and passed over.
    pub(crate) async fn apply_rule(&self, rule: &Rule, t: &Ticket, anchor: i64) -> Result<Option<Ticket>> {
        match self
            .store
            .apply_actions(t.workspace_id, t.id, Doer::Rule { rule, anchor }, &rule.def.actions)
            .await
        {
            Ok(Some((after, logged))) => {
                metrics::counter!("storedesk_rule_runs_total").increment(1);
                self.logged(&logged, Hint::ticket(&after));
                Ok(Some(after))
            }
            Ok(None) => Ok(None),
            Err(StoreError::Invalid(i)) => {
                tracing::warn!(rule = rule.id, ticket_id = t.id, error = %i, "rule could not act");
                Ok(None)
            }
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn save_macro(&self, actor: &Actor, id: Option<i64>, name: &str, actions: &Value) -> Result<Macro> {
        let name = crate::domain::required_text("name", name, crate::domain::ticket::NAME_MAX)?;
        let actions = crate::domain::rules::parse_actions(actions)?;
        if actions.iter().any(|a| matches!(a, Action::Webhook { .. })) {
            return Err(Invalid::new(
                "actions",
                "a webhook action sends the event that triggered a rule; macros have none",
            )
            .into());
        }
        let probe = RuleDef {
            name: name.clone(),
            event: Trigger::TicketCreated,
            minutes: None,
            business_hours: false,
            conditions: Default::default(),
            actions: actions.clone(),
            enabled: true,
            stop: false,
        };
        self.check_references(actor.workspace_id, &probe.referenced(), &actions)
            .await?;
        self.store.save_macro(actor.workspace_id, id, &name, &actions).await
    }

    /// Applies a macro to tickets the agent may see; answers the tickets
    /// as they are after it (those the agent may not see are left out).
    pub async fn apply_macro(&self, actor: &Actor, id: i64, ticket_ids: &[i64]) -> Result<Vec<Ticket>> {
        let m = self.store.macro_by_id(actor.workspace_id, id).await?;
        let mut out = Vec::new();
        for tid in ticket_ids {
            let doer = Doer::Agent { actor, name: &m.name };
            match self
                .store
                .apply_actions(actor.workspace_id, *tid, doer, &m.actions)
                .await
            {
                Ok(Some((after, logged))) => {
                    self.logged(&logged, Hint::ticket(&after));
                    out.push(after);
                }
                Ok(None) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}
