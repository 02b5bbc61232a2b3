//! Automation rules and macros: their definitions, and applying a list of
//! actions to one ticket in one transaction, as a rule (once per trigger,
//! within the per-ticket cap) or as an agent (a macro).

use serde::Serialize;
use serde_json::Value;
use sqlx::{Any, Transaction};

use super::mail::{queue_in, OutMail};
use super::tickets::{add_message_in, load_ticket, update_in, Changer};
use super::*;
use crate::domain::event::{Event, EventActor, EventType, NewEvent};
use crate::domain::rules::{parse_actions, Action, NotifyWho, RuleDef, Trigger, RULES_MAX, RUNS_PER_TICKET_HOUR};
use crate::domain::{Actor, Email, MessageKind, Status};

/// A rule as stored: its place in the workspace's order and its definition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    pub id: i64,
    #[serde(skip)]
    pub workspace_id: i64,
    pub position: i64,
    #[serde(flatten)]
    pub def: RuleDef,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub created_at: i64,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Macro {
    pub id: i64,
    pub name: String,
    pub actions: Vec<Action>,
}

/// See [`Store::rule_inputs`].
#[derive(Debug, Clone, Default)]
pub struct RuleInputs {
    pub body: String,
    pub attributes: Value,
    pub page_url: String,
    pub context: Value,
    pub lang: String,
}

#[derive(sqlx::FromRow)]
struct RuleRow {
    id: i64,
    workspace_id: i64,
    position: i64,
    name: String,
    event: String,
    minutes: Option<i64>,
    business_hours: i64,
    conditions: String,
    actions: String,
    enabled: i64,
    stop: i64,
    created_at: i64,
    updated_at: i64,
}

const RULE_COLS: &str =
    "id, workspace_id, position, name, event, minutes, business_hours, conditions, actions, enabled, stop, created_at, updated_at";

impl RuleRow {
    fn into_rule(self) -> Result<Rule> {
        let json = serde_json::json!({
            "name": self.name, "event": self.event, "minutes": self.minutes,
            "business_hours": self.business_hours != 0, "enabled": self.enabled != 0, "stop": self.stop != 0,
            "conditions": serde_json::from_str::<Value>(&self.conditions).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            "actions": serde_json::from_str::<Value>(&self.actions).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        });
        Ok(Rule {
            id: self.id,
            workspace_id: self.workspace_id,
            position: self.position,
            def: RuleDef::parse(&json, None).map_err(|e| StoreError::Corrupt(format!("rule {}: {e}", self.id)))?,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

fn json_of<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Who applies actions to a ticket.
#[derive(Debug, Clone, Copy)]
pub enum Doer<'a> {
    /// A rule, for one trigger: the event's id, or a timer's starting moment.
    Rule { rule: &'a Rule, anchor: i64 },
    /// An agent applying a macro, within what they may see.
    Agent { actor: &'a Actor, name: &'a str },
}

impl Store {
    /// The workspace's rules in the order they run.
    pub async fn list_rules(&self, workspace_id: i64) -> Result<Vec<Rule>> {
        let rows: Vec<RuleRow> = sqlx::query_as(&format!(
            "SELECT {RULE_COLS} FROM rules WHERE workspace_id = $1 ORDER BY position, id"
        ))
        .bind(workspace_id)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter().map(RuleRow::into_rule).collect()
    }

    pub async fn rule(&self, workspace_id: i64, id: i64) -> Result<Rule> {
        let row: RuleRow = sqlx::query_as(&format!(
            "SELECT {RULE_COLS} FROM rules WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(workspace_id)
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        .ok_or(StoreError::NotFound)?;
        row.into_rule()
    }

    /// Adds a rule at the end of the order.
    pub async fn create_rule(&self, workspace_id: i64, def: &RuleDef) -> Result<Rule> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let (count, last): (i64, Option<i64>) =
            sqlx::query_as("SELECT COUNT(*), MAX(position) FROM rules WHERE workspace_id = $1")
                .bind(workspace_id)
                .fetch_one(&mut *tx)
                .await?;
        if count as usize >= RULES_MAX {
            return Err(StoreError::Conflict(format!(
                "a workspace has at most {RULES_MAX} rules"
            )));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO rules (workspace_id, name, position, event, minutes, business_hours, conditions, actions, enabled, stop, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id",
        )
        .bind(workspace_id)
        .bind(&def.name)
        .bind(last.unwrap_or(0) + 1)
        .bind(def.event.as_str())
        .bind(def.minutes)
        .bind(def.business_hours as i64)
        .bind(json_of(&def.conditions))
        .bind(json_of(&def.actions))
        .bind(def.enabled as i64)
        .bind(def.stop as i64)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        self.rule(workspace_id, id).await
    }

    /// Replaces a rule's definition and, with `position`, moves it there
    /// (the others shift to make room).
    pub async fn update_rule(&self, workspace_id: i64, id: i64, def: &RuleDef, position: Option<i64>) -> Result<Rule> {
        let mut tx = self.write.begin().await?;
        let n = sqlx::query(
            "UPDATE rules SET name = $1, event = $2, minutes = $3, business_hours = $4, conditions = $5, actions = $6, enabled = $7, stop = $8, updated_at = $9 WHERE id = $10 AND workspace_id = $11",
        )
        .bind(&def.name)
        .bind(def.event.as_str())
        .bind(def.minutes)
        .bind(def.business_hours as i64)
        .bind(json_of(&def.conditions))
        .bind(json_of(&def.actions))
        .bind(def.enabled as i64)
        .bind(def.stop as i64)
        .bind(now_ms())
        .bind(id)
        .bind(workspace_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        if let Some(to) = position {
            super::move_in_order(&mut tx, "rules", workspace_id, id, to).await?;
        }
        tx.commit().await?;
        self.rule(workspace_id, id).await
    }

    pub async fn delete_rule(&self, workspace_id: i64, id: i64) -> Result<()> {
        self.delete_owned("rules", workspace_id, id).await
    }

    /// Enabled time-based rules of every workspace, for the timers.
    pub async fn timer_rules(&self) -> Result<Vec<Rule>> {
        let rows: Vec<RuleRow> = sqlx::query_as(&format!(
            "SELECT {RULE_COLS} FROM rules WHERE enabled = 1 AND event IN ('time.unanswered', 'time.pending', 'time.sla_due') ORDER BY workspace_id, position, id"
        ))
        .fetch_all(&self.read)
        .await?;
        rows.into_iter().map(RuleRow::into_rule).collect()
    }

    /// Tickets whose time has come for a time-based rule at `now`, with the
    /// moment their wait started (the rule's anchor), oldest first, those
    /// the rule already looked at for that start left out. Calendar time
    /// only: open hours are counted by the caller.
    pub async fn timer_candidates(&self, rule: &Rule, now: i64, limit: i64) -> Result<Vec<(i64, i64)>> {
        let minutes = rule.def.minutes.unwrap_or(0);
        let sql = match rule.def.event {
            Trigger::Unanswered => "SELECT t.id, t.waiting_since FROM tickets t WHERE t.workspace_id = $1 AND t.status = 'open' AND t.waiting_since IS NOT NULL AND t.waiting_since <= $2 \
                AND NOT EXISTS (SELECT 1 FROM rule_runs r WHERE r.rule_id = $3 AND r.ticket_id = t.id AND r.anchor = t.waiting_since) ORDER BY t.waiting_since, t.id LIMIT $4",
            Trigger::Pending => "SELECT s.ticket_id, s.paused_at FROM ticket_sla s JOIN tickets t ON t.id = s.ticket_id WHERE s.workspace_id = $1 AND s.paused_at IS NOT NULL AND s.paused_at <= $2 AND t.status = 'pending' \
                AND NOT EXISTS (SELECT 1 FROM rule_runs r WHERE r.rule_id = $3 AND r.ticket_id = s.ticket_id AND r.anchor = s.paused_at) ORDER BY s.paused_at, s.ticket_id LIMIT $4",
            Trigger::SlaDue => "SELECT s.ticket_id, s.due_at FROM ticket_sla s WHERE s.workspace_id = $1 AND s.due_at IS NOT NULL AND s.due_at <= $2 \
                AND NOT EXISTS (SELECT 1 FROM rule_runs r WHERE r.rule_id = $3 AND r.ticket_id = s.ticket_id AND r.anchor = s.due_at) ORDER BY s.due_at, s.ticket_id LIMIT $4",
            _ => return Ok(vec![]),
        };
        Ok(sqlx::query_as(sql)
            .bind(rule.workspace_id)
            .bind(now.saturating_sub(minutes.saturating_mul(60_000)))
            .bind(rule.id)
            .bind(limit)
            .fetch_all(&self.read)
            .await?)
    }

    /// Records that a time-based rule's conditions did not hold when its
    /// time came, so that start is not looked at again.
    pub async fn pass_timer(&self, rule: &Rule, ticket_id: i64, anchor: i64) -> Result<()> {
        sqlx::query("INSERT INTO rule_runs (workspace_id, rule_id, ticket_id, anchor, created_at, matched) VALUES ($1, $2, $3, $4, $5, 0) ON CONFLICT DO NOTHING")
            .bind(rule.workspace_id)
            .bind(rule.id)
            .bind(ticket_id)
            .bind(anchor)
            .bind(now_ms())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// What a rule's conditions read of a ticket besides the ticket itself:
    /// the body of `message_id` (else the first message), the contact's
    /// attributes, and the page, context and language the visitor's widget
    /// last reported.
    pub async fn rule_inputs(&self, ticket: &Ticket, message_id: Option<i64>) -> Result<RuleInputs> {
        let body: Option<String> = match message_id {
            Some(m) => {
                sqlx::query_scalar("SELECT body FROM messages WHERE id = $1 AND workspace_id = $2")
                    .bind(m)
                    .bind(ticket.workspace_id)
                    .fetch_optional(&self.read)
                    .await?
            }
            None => {
                sqlx::query_scalar(
                    "SELECT body FROM messages WHERE ticket_id = $1 AND kind = 'reply' ORDER BY id LIMIT 1",
                )
                .bind(ticket.id)
                .fetch_optional(&self.read)
                .await?
            }
        };
        let attributes: Option<String> = sqlx::query_scalar("SELECT attributes FROM contacts WHERE id = $1")
            .bind(ticket.contact.id)
            .fetch_optional(&self.read)
            .await?;
        let visitor: Option<(String, String, String)> = if ticket.channel == crate::domain::Channel::Chat {
            sqlx::query_as("SELECT page_url, context, lang FROM chat_visitors WHERE workspace_id = $1 AND contact_id = $2 ORDER BY last_seen_at DESC LIMIT 1")
                .bind(ticket.workspace_id)
                .bind(ticket.contact.id)
                .fetch_optional(&self.read)
                .await?
        } else {
            None
        };
        let (page_url, context, lang) = visitor.unwrap_or_default();
        Ok(RuleInputs {
            body: body.unwrap_or_default(),
            attributes: attributes
                .and_then(|a| serde_json::from_str(&a).ok())
                .unwrap_or(Value::Null),
            page_url,
            context: serde_json::from_str(&context).unwrap_or(Value::Null),
            lang,
        })
    }

    /// The newest tickets of a workspace (for a rule's preview).
    pub async fn recent_ticket_ids(&self, workspace_id: i64, limit: i64) -> Result<Vec<i64>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM tickets WHERE workspace_id = $1 ORDER BY id DESC LIMIT $2")
                .bind(workspace_id)
                .bind(limit)
                .fetch_all(&self.read)
                .await?,
        )
    }

    pub async fn list_macros(&self, workspace_id: i64) -> Result<Vec<Macro>> {
        let rows: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT id, name, actions FROM macros WHERE workspace_id = $1 ORDER BY name")
                .bind(workspace_id)
                .fetch_all(&self.read)
                .await?;
        rows.into_iter().map(macro_of).collect()
    }

    pub async fn macro_by_id(&self, workspace_id: i64, id: i64) -> Result<Macro> {
        let row: (i64, String, String) =
            sqlx::query_as("SELECT id, name, actions FROM macros WHERE workspace_id = $1 AND id = $2")
                .bind(workspace_id)
                .bind(id)
                .fetch_optional(&self.read)
                .await?
                .ok_or(StoreError::NotFound)?;
        macro_of(row)
    }

    /// Creates a macro (`id` None) or replaces one.
    pub async fn save_macro(
        &self,
        workspace_id: i64,
        id: Option<i64>,
        name: &str,
        actions: &[Action],
    ) -> Result<Macro> {
        let now = now_ms();
        let id = match id {
            None => sqlx::query_scalar(
                "INSERT INTO macros (workspace_id, name, actions, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id",
            )
            .bind(workspace_id)
            .bind(name)
            .bind(json_of(&actions))
            .bind(now)
            .fetch_one(&self.write)
            .await
            .map_err(|e| conflict_on_unique(e, "a macro with this name exists"))?,
            Some(id) => {
                let n = sqlx::query("UPDATE macros SET name = $1, actions = $2, updated_at = $3 WHERE id = $4 AND workspace_id = $5")
                    .bind(name)
                    .bind(json_of(&actions))
                    .bind(now)
                    .bind(id)
                    .bind(workspace_id)
                    .execute(&self.write)
                    .await
                    .map_err(|e| conflict_on_unique(e, "a macro with this name exists"))?
                    .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                id
            }
        };
        self.macro_by_id(workspace_id, id).await
    }

    pub async fn delete_macro(&self, workspace_id: i64, id: i64) -> Result<()> {
        self.delete_owned("macros", workspace_id, id).await
    }

    /// Applies `actions` to a ticket in one transaction, with an event line
    /// in the conversation for each. A rule acts once per trigger (a second
    /// application of the same anchor does nothing) and not beyond its
    /// hourly cap per ticket: both answer `None`.
    pub async fn apply_actions(
        &self,
        workspace_id: i64,
        ticket_id: i64,
        doer: Doer<'_>,
        actions: &[Action],
    ) -> Result<Option<(Ticket, Vec<Event>)>> {
        let mut tx = self.write.begin().await?;
        let mut ev = Vec::new();
        if !self
            .apply_in(&mut tx, workspace_id, ticket_id, doer, actions, &mut ev)
            .await?
        {
            return Ok(None);
        }
        let after = load_ticket(&mut tx, workspace_id, ticket_id, false).await?;
        let logged = self.commit_with(tx, ev).await?;
        Ok(Some((after, logged)))
    }

    /// Applies the rules that matched one event (`runs`: each rule with its
    /// anchor, in order) in one transaction. A rule that cannot act (a team
    /// deleted since) is rolled back alone and logged; the others stand.
    /// Answers the ticket after, what was logged and how many acted.
    pub async fn apply_rules(
        &self,
        workspace_id: i64,
        ticket_id: i64,
        runs: &[(&Rule, i64)],
    ) -> Result<Option<(Ticket, Vec<Event>, usize)>> {
        let mut tx = self.write.begin().await?;
        let mut ev = Vec::new();
        let mut acted = 0;
        for (rule, anchor) in runs {
            let mut one = Vec::new();
            let mut sp = sqlx::Acquire::begin(&mut tx).await?;
            let doer = Doer::Rule { rule, anchor: *anchor };
            match self
                .apply_in(&mut sp, workspace_id, ticket_id, doer, &rule.def.actions, &mut one)
                .await
            {
                Ok(true) => {
                    sp.commit().await?;
                    ev.extend(one);
                    acted += 1;
                }
                Ok(false) => sp.rollback().await?,
                Err(StoreError::Invalid(i)) => {
                    tracing::warn!(rule = rule.id, ticket_id, error = %i, "rule could not act");
                    sp.rollback().await?;
                }
                Err(e) => return Err(e),
            }
        }
        if acted == 0 {
            tx.rollback().await?;
            return Ok(None);
        }
        let after = load_ticket(&mut tx, workspace_id, ticket_id, false).await?;
        let logged = self.commit_with(tx, ev).await?;
        Ok(Some((after, logged, acted)))
    }

    /// The work of [`Store::apply_actions`] inside the caller's transaction;
    /// false when a rule is not to act (already did for this anchor, or
    /// capped).
    async fn apply_in(
        &self,
        tx: &mut Transaction<'_, Any>,
        workspace_id: i64,
        ticket_id: i64,
        doer: Doer<'_>,
        actions: &[Action],
        out: &mut Vec<NewEvent>,
    ) -> Result<bool> {
        let now = now_ms();
        let before = load_ticket(tx, workspace_id, ticket_id, self.backend == Backend::Postgres).await?;
        let (changer, author, prefix) = match doer {
            Doer::Agent { actor, name } => {
                if !actor.can_see(before.access()) {
                    return Err(StoreError::NotFound);
                }
                (
                    Changer::Agent(actor),
                    Author::Agent(actor.user_id),
                    format!("Macro \"{name}\": "),
                )
            }
            Doer::Rule { rule, anchor } => {
                let recent: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM rule_runs WHERE ticket_id = $1 AND created_at > $2 AND matched = 1",
                )
                .bind(ticket_id)
                .bind(now - 3_600_000)
                .fetch_one(&mut **tx)
                .await?;
                if recent >= RUNS_PER_TICKET_HOUR {
                    tracing::warn!(
                        rule = rule.id,
                        ticket_id,
                        "rule skipped: the ticket reached the hourly cap of rule runs"
                    );
                    metrics::counter!("storedesk_rule_runs_capped_total").increment(1);
                    return Ok(false);
                }
                let ran = sqlx::query(
                    "INSERT INTO rule_runs (workspace_id, rule_id, ticket_id, anchor, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                )
                .bind(workspace_id)
                .bind(rule.id)
                .bind(ticket_id)
                .bind(anchor)
                .bind(now)
                .execute(&mut **tx)
                .await?
                .rows_affected();
                if ran == 0 {
                    return Ok(false);
                }
                let name = rule.def.name.as_str();
                (
                    Changer::Rule { id: rule.id, name },
                    Author::System,
                    format!("Rule \"{name}\": "),
                )
            }
        };
        let actor = match doer {
            Doer::Agent { actor, .. } => EventActor::Agent(actor.user_id),
            Doer::Rule { rule, .. } => EventActor::Rule(rule.id),
        };
        let mut ev: Vec<NewEvent> = Vec::new();
        if let Some((e, _)) = update_in(tx, changer, &before, patch_of(&before, actions)).await? {
            ev.push(e);
        }
        let mut lines: Vec<String> = Vec::new();
        for a in actions {
            // Only what writes into the conversation needs the ticket as it is now.
            let writes = matches!(
                a,
                Action::AddNote { .. }
                    | Action::SendReply { .. }
                    | Action::SendEmail { .. }
                    | Action::Notify { .. }
                    | Action::Webhook { .. }
            );
            if !writes {
                continue;
            }
            let t = load_ticket(tx, workspace_id, ticket_id, false).await?;
            match a {
                Action::AddNote { body } | Action::SendReply { body: Some(body), .. } => {
                    let kind = if matches!(a, Action::AddNote { .. }) {
                        MessageKind::Note
                    } else {
                        MessageKind::Reply
                    };
                    let new = NewMessage {
                        kind,
                        author,
                        body: body.clone(),
                        html: None,
                        external_id: None,
                        files: vec![],
                    };
                    add_message_in(tx, &t, new, &mut ev).await?;
                }
                Action::SendReply {
                    canned_id: Some(id), ..
                } => {
                    let body: String =
                        sqlx::query_scalar("SELECT body FROM canned_answers WHERE id = $1 AND workspace_id = $2")
                            .bind(id)
                            .bind(workspace_id)
                            .fetch_optional(&mut **tx)
                            .await?
                            .ok_or_else(|| {
                                crate::domain::Invalid::new("canned_id", format!("no canned answer {id}"))
                            })?;
                    let new = NewMessage {
                        kind: MessageKind::Reply,
                        author,
                        body,
                        html: None,
                        external_id: None,
                        files: vec![],
                    };
                    add_message_in(tx, &t, new, &mut ev).await?;
                }
                Action::SendEmail { to, subject, body } => {
                    let to = Email::parse("to", to)?;
                    let subject = format!("{subject} [#{}]", t.number);
                    queue_in(
                        tx,
                        &OutMail {
                            workspace_id,
                            kind: "rule",
                            ticket_id: Some(t.id),
                            message_id: None,
                            to: &to,
                            subject: &subject,
                            body,
                            in_reply_to: None,
                        },
                    )
                    .await?;
                }
                Action::Webhook { webhook_id } => {
                    let Doer::Rule { anchor, .. } = &doer else { continue };
                    if !super::webhooks::queue_rule_delivery_in(tx, workspace_id, *webhook_id, *anchor).await? {
                        continue;
                    }
                }
                Action::Notify { to, user_ids } => {
                    let n = self.notify_agents_in(tx, &t, *to, user_ids, &doer, &mut ev).await?;
                    lines.push(format!("{prefix}notified {n} agent(s)"));
                    continue;
                }
                _ => continue,
            }
            lines.push(format!("{prefix}{}", a.describe()));
        }
        if let Doer::Agent { name, .. } = doer {
            if lines.is_empty() && ev.is_empty() {
                return Ok(true);
            }
            lines.insert(0, format!("Macro \"{name}\" applied"));
        }
        for line in &lines {
            let new = NewMessage {
                kind: MessageKind::Event,
                author,
                body: line.clone(),
                html: None,
                external_id: None,
                files: vec![],
            };
            super::tickets::insert_message(tx, workspace_id, ticket_id, &new, now).await?;
        }
        for e in &mut ev {
            e.actor = actor;
        }
        out.extend(ev);
        Ok(true)
    }

    /// Tells agents about a ticket (a rule's or macro's `notify`): those of
    /// the workspace, active, who may see it.
    async fn notify_agents_in(
        &self,
        tx: &mut Transaction<'_, Any>,
        t: &Ticket,
        to: NotifyWho,
        user_ids: &[i64],
        doer: &Doer<'_>,
        ev: &mut Vec<NewEvent>,
    ) -> Result<usize> {
        let ws = t.workspace_id;
        let mut ids: Vec<i64> = match to {
            NotifyWho::Assignee => t.assignee_id.into_iter().collect(),
            NotifyWho::Users => user_ids.to_vec(),
            NotifyWho::Team => match t.team_id {
                Some(team) => {
                    sqlx::query_scalar("SELECT user_id FROM team_members WHERE team_id = $1 AND workspace_id = $2")
                        .bind(team)
                        .bind(ws)
                        .fetch_all(&mut **tx)
                        .await?
                }
                None => vec![],
            },
            NotifyWho::Admins => {
                sqlx::query_scalar("SELECT id FROM users WHERE workspace_id = $1 AND role = 'admin'")
                    .bind(ws)
                    .fetch_all(&mut **tx)
                    .await?
            }
        };
        ids.sort();
        ids.dedup();
        let (by, rule) = match doer {
            Doer::Agent { actor, .. } => (Some(actor.user_id), None),
            Doer::Rule { rule, .. } => (None, Some(rule.def.name.as_str())),
        };
        let mut told = 0;
        for uid in ids.into_iter().filter(|u| Some(*u) != by).take(200) {
            if !self.notify_in(tx, t, uid, None, by, now_ms()).await? {
                continue;
            }
            ev.push(
                NewEvent::new(ws, EventType::MentionCreated, EventActor::System)
                    .ticket(t.id)
                    .changes(serde_json::json!({ "user_id": uid, "number": t.number, "rule": rule })),
            );
            told += 1;
        }
        Ok(told)
    }
}

fn macro_of((id, name, actions): (i64, String, String)) -> Result<Macro> {
    let v: Value = serde_json::from_str(&actions).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Macro {
        id,
        name,
        actions: parse_actions(&v).map_err(|e| StoreError::Corrupt(format!("macro {id}: {e}")))?,
    })
}

/// The field changes a list of actions makes, applied in order to what the
/// ticket holds (so "add label" keeps the labels it has).
fn patch_of(t: &Ticket, actions: &[Action]) -> TicketPatch {
    let mut p = TicketPatch::default();
    let mut labels = t.labels.clone();
    let mut labels_changed = false;
    for a in actions {
        match a {
            Action::Assign { user_id } => p.assignee_id = Some(Some(*user_id)),
            Action::Unassign => p.assignee_id = Some(None),
            Action::SetTeam { team_id } => p.team_id = Some(Some(*team_id)),
            Action::SetStatus { value } => p.status = Some(*value),
            Action::Close => p.status = Some(Status::Closed),
            Action::SetPriority { value } => p.priority = Some(*value),
            // A later set_kind replaces an earlier one's feature too.
            Action::SetKind { kind, feature } => {
                p.kind = Some(Some(*kind));
                p.feature = feature.clone().map(Some);
            }
            Action::AddLabel { value } if !labels.contains(value) => {
                labels.push(value.clone());
                labels_changed = true;
            }
            Action::RemoveLabel { value } if labels.contains(value) => {
                labels.retain(|l| l != value);
                labels_changed = true;
            }
            _ => {}
        }
    }
    if labels_changed {
        labels.sort();
        labels.truncate(crate::domain::ticket::LABELS_MAX);
        p.labels = Some(labels);
    }
    p
}
