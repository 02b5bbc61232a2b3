//! Automation rules: when something happens to a ticket (or a timer runs
//! out) and the conditions hold, the actions run as the rule. Parsed from
//! the JSON an admin writes with errors that point at the part at fault;
//! evaluated against plain facts, so the same code serves the live
//! consumer, the timers and the preview.

use std::cell::OnceCell;

use serde::Serialize;
use serde_json::{json, Value};

use super::ticket::{
    kind_and_feature, normalize_feature, normalize_labels, string_enum, Channel, Priority, RequestKind, Status,
    BODY_MAX, NAME_MAX,
};
use super::{AuthorType, Invalid};

pub const CONDITIONS_MAX: usize = 30;
pub const ACTIONS_MAX: usize = 20;
pub const VALUE_MAX: usize = 500;
/// Rules a workspace may have: each event is checked against all of them.
pub const RULES_MAX: usize = 500;
/// Runs of rules on one ticket within an hour beyond which rules leave it
/// alone: two rules that undo each other through an agent's help stop here.
pub const RUNS_PER_TICKET_HOUR: i64 = 20;
/// The longest delay a time-based rule may wait (a year).
pub const MINUTES_MAX: i64 = 366 * 24 * 60;

string_enum!(
    /// What starts a rule: a change from the log, or a timer.
    Trigger {
        TicketCreated => "ticket.created",
        MessageCreated => "message.created",
        TicketUpdated => "ticket.updated",
        Unanswered => "time.unanswered",
        Pending => "time.pending",
        SlaDue => "time.sla_due",
    }
);

impl Trigger {
    pub fn is_timer(self) -> bool {
        matches!(self, Trigger::Unanswered | Trigger::Pending | Trigger::SlaDue)
    }
}

string_enum!(
    Field {
        Channel => "channel",
        Status => "status",
        Priority => "priority",
        TeamId => "team_id",
        AssigneeId => "assignee_id",
        Labels => "labels",
        Subject => "subject",
        Body => "body",
        Text => "text",
        ContactEmailDomain => "contact_email_domain",
        ContactAttribute => "contact_attribute",
        Language => "language",
        BusinessHours => "business_hours",
        PageUrl => "page_url",
        CartValue => "cart_value",
        Author => "author",
        Changed => "changed",
        Kind => "kind",
    }
);

string_enum!(
    Op {
        Is => "is",
        IsNot => "is_not",
        In => "in",
        NotIn => "not_in",
        IsSet => "is_set",
        NotSet => "not_set",
        Has => "has",
        HasNot => "has_not",
        Contains => "contains",
        NotContains => "not_contains",
        MatchesWord => "matches_word",
        StartsWith => "starts_with",
        Gt => "gt",
        Gte => "gte",
        Lt => "lt",
        Lte => "lte",
    }
);

impl Field {
    /// The operators that make sense for the field (the console's editor
    /// offers only these).
    pub fn ops(self) -> &'static [Op] {
        use Op::*;
        match self {
            Field::Channel | Field::Status | Field::Priority | Field::Language | Field::ContactEmailDomain => {
                &[Is, IsNot, In, NotIn]
            }
            Field::TeamId | Field::AssigneeId | Field::Kind => &[Is, IsNot, In, NotIn, IsSet, NotSet],
            Field::Labels | Field::Changed => &[Has, HasNot],
            Field::Subject | Field::Body | Field::Text => &[Contains, NotContains, MatchesWord, StartsWith],
            Field::ContactAttribute => &[Is, IsNot, Contains, IsSet, NotSet, Gt, Gte, Lt, Lte],
            Field::BusinessHours | Field::Author => &[Is],
            Field::PageUrl => &[Is, Contains, NotContains, StartsWith],
            Field::CartValue => &[Gt, Gte, Lt, Lte, Is],
        }
    }
}

/// One condition, its value already checked against the field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Condition {
    pub field: Field,
    pub op: Op,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub value: Value,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Conditions {
    pub all: Vec<Condition>,
    pub any: Vec<Condition>,
}

string_enum!(
    /// Whom a `notify` action tells.
    NotifyWho { Assignee => "assignee", Team => "team", Admins => "admins", Users => "users" }
);

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    Assign {
        user_id: i64,
    },
    Unassign,
    SetTeam {
        team_id: i64,
    },
    SetStatus {
        value: Status,
    },
    SetPriority {
        value: Priority,
    },
    /// Named `kind` as in the ticket; a missing feature may name the feature.
    SetKind {
        kind: RequestKind,
        #[serde(skip_serializing_if = "Option::is_none")]
        feature: Option<String>,
    },
    AddLabel {
        value: String,
    },
    RemoveLabel {
        value: String,
    },
    AddNote {
        body: String,
    },
    SendReply {
        #[serde(skip_serializing_if = "Option::is_none")]
        body: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        canned_id: Option<i64>,
    },
    SendEmail {
        to: String,
        subject: String,
        body: String,
    },
    /// Sends the event that triggered the rule to the workspace's webhook
    /// subscription `webhook_id` (signed, retried and logged as its own deliveries).
    Webhook {
        webhook_id: i64,
    },
    Notify {
        to: NotifyWho,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        user_ids: Vec<i64>,
    },
    Close,
}

/// A rule's definition as the admin wrote it, checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleDef {
    pub name: String,
    #[serde(serialize_with = "trigger_name")]
    pub event: Trigger,
    /// Time-based rules: how long after (or, negative, before the SLA due
    /// time) they fire.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minutes: Option<i64>,
    /// Time-based rules count open hours of the workspace's calendar.
    pub business_hours: bool,
    pub conditions: Conditions,
    pub actions: Vec<Action>,
    pub enabled: bool,
    /// Later rules do not run on the same event once this one matched.
    pub stop: bool,
}

fn trigger_name<S: serde::Serializer>(t: &Trigger, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(t.as_str())
}

fn bad(field: &'static str, msg: impl Into<String>) -> Invalid {
    Invalid::new(field, msg)
}

fn short(s: &str) -> String {
    s.chars().take(60).collect()
}

const RULE_KEYS: &[&str] = &[
    "name",
    "event",
    "minutes",
    "business_hours",
    "conditions",
    "actions",
    "enabled",
    "stop",
];

impl RuleDef {
    /// Parses a whole rule (`POST`), or, with `base`, a change to one
    /// (`PATCH`: the fields given replace the base's).
    pub fn parse(v: &Value, base: Option<&RuleDef>) -> Result<RuleDef, Invalid> {
        let o = v.as_object().ok_or_else(|| bad("body", "must be a JSON object"))?;
        if let Some(k) = o.keys().find(|k| !RULE_KEYS.contains(&k.as_str())) {
            return Err(bad(
                "body",
                format!("unknown field '{}'; a rule has {}", short(k), RULE_KEYS.join(", ")),
            ));
        }
        let name = match (o.get("name"), base) {
            (Some(n), _) => super::required_text(
                "name",
                n.as_str().ok_or_else(|| bad("name", "must be a string"))?,
                NAME_MAX,
            )?,
            (None, Some(b)) => b.name.clone(),
            (None, None) => return Err(bad("name", "is required")),
        };
        let event = match (o.get("event"), base) {
            (Some(e), _) => Trigger::parse("event", e.as_str().ok_or_else(|| bad("event", "must be a string"))?)?,
            (None, Some(b)) => b.event,
            (None, None) => return Err(bad("event", "is required")),
        };
        let minutes = match o.get("minutes") {
            Some(Value::Null) => None,
            Some(m) => Some(m.as_i64().ok_or_else(|| bad("minutes", "must be a whole number"))?),
            None => base.filter(|b| b.event == event).and_then(|b| b.minutes),
        };
        match (event.is_timer(), minutes) {
            (true, None) => return Err(bad("minutes", format!("is required for a {event} rule"))),
            (false, Some(_)) => {
                return Err(bad(
                    "minutes",
                    format!("only time-based rules take minutes, not {event}"),
                ))
            }
            (true, Some(m)) if event != Trigger::SlaDue && !(1..=MINUTES_MAX).contains(&m) => {
                return Err(bad("minutes", format!("must be between 1 and {MINUTES_MAX}")))
            }
            (true, Some(m)) if m.unsigned_abs() > MINUTES_MAX as u64 => {
                return Err(bad(
                    "minutes",
                    format!("must be between -{MINUTES_MAX} and {MINUTES_MAX}"),
                ))
            }
            _ => {}
        }
        let flag = |key: &'static str, default: bool| -> Result<bool, Invalid> {
            match o.get(key) {
                None => Ok(default),
                Some(v) => v.as_bool().ok_or_else(|| bad(key, "must be true or false")),
            }
        };
        let conditions = match (o.get("conditions"), base) {
            (Some(c), _) => Conditions::parse(c)?,
            (None, Some(b)) => b.conditions.clone(),
            (None, None) => Conditions::default(),
        };
        let actions = match (o.get("actions"), base) {
            (Some(a), _) => parse_actions(a)?,
            (None, Some(b)) => b.actions.clone(),
            (None, None) => return Err(bad("actions", "is required: at least one action")),
        };
        if event.is_timer() && actions.iter().any(|a| matches!(a, Action::Webhook { .. })) {
            return Err(bad(
                "actions",
                "a webhook action sends the event that triggered the rule; time-based rules have none",
            ));
        }
        Ok(RuleDef {
            name,
            event,
            minutes,
            business_hours: flag("business_hours", base.is_some_and(|b| b.business_hours))?,
            conditions,
            actions,
            enabled: flag("enabled", base.is_none_or(|b| b.enabled))?,
            stop: flag("stop", base.is_some_and(|b| b.stop))?,
        })
    }

    /// Teams and agents the rule names, for the caller to check they are
    /// of the workspace.
    pub fn referenced(&self) -> (Vec<i64>, Vec<i64>) {
        let (mut teams, mut users) = (Vec::new(), Vec::new());
        for c in self.conditions.all.iter().chain(&self.conditions.any) {
            let ids = c.value.as_array().cloned().unwrap_or_else(|| vec![c.value.clone()]);
            let ids = ids.iter().filter_map(Value::as_i64);
            match c.field {
                Field::TeamId => teams.extend(ids),
                Field::AssigneeId => users.extend(ids),
                _ => {}
            }
        }
        for a in &self.actions {
            match a {
                Action::SetTeam { team_id } => teams.push(*team_id),
                Action::Assign { user_id } => users.push(*user_id),
                Action::Notify { user_ids, .. } => users.extend(user_ids),
                _ => {}
            }
        }
        (teams, users)
    }
}

impl Conditions {
    pub fn parse(v: &Value) -> Result<Conditions, Invalid> {
        let o = v
            .as_object()
            .ok_or_else(|| bad("conditions", "must be an object like {\"all\": [...], \"any\": [...]}"))?;
        if let Some(k) = o.keys().find(|k| *k != "all" && *k != "any") {
            return Err(bad(
                "conditions",
                format!("unknown key '{}'; use all and any", short(k)),
            ));
        }
        let list = |key: &str| -> Result<Vec<Condition>, Invalid> {
            let Some(items) = o.get(key) else { return Ok(vec![]) };
            let items = items
                .as_array()
                .ok_or_else(|| bad("conditions", format!("{key} must be a list")))?;
            items
                .iter()
                .enumerate()
                .map(|(i, c)| Condition::parse(c).map_err(|e| bad("conditions", format!("{key}[{i}]: {}", e.message))))
                .collect()
        };
        let c = Conditions {
            all: list("all")?,
            any: list("any")?,
        };
        if c.all.len() + c.any.len() > CONDITIONS_MAX {
            return Err(bad("conditions", format!("at most {CONDITIONS_MAX} conditions")));
        }
        Ok(c)
    }

    pub fn matches(&self, f: &Facts) -> bool {
        self.all.iter().all(|c| c.matches(f)) && (self.any.is_empty() || self.any.iter().any(|c| c.matches(f)))
    }
}

impl Condition {
    fn parse(v: &Value) -> Result<Condition, Invalid> {
        let o = v.as_object().ok_or_else(|| bad("condition", "must be an object"))?;
        if let Some(k) = o
            .keys()
            .find(|k| !["field", "op", "value", "key"].contains(&k.as_str()))
        {
            return Err(bad("condition", format!("unknown key '{}'", short(k))));
        }
        let text = |k: &'static str| o.get(k).and_then(Value::as_str).ok_or_else(|| bad(k, "is required"));
        let field = Field::parse("field", text("field").map_err(|e| bad("field", e.to_string()))?)
            .map_err(|e| bad("field", e.to_string()))?;
        let op =
            Op::parse("op", text("op").map_err(|e| bad("op", e.to_string()))?).map_err(|e| bad("op", e.to_string()))?;
        if !field.ops().contains(&op) {
            let names: Vec<&str> = field.ops().iter().map(|o| o.as_str()).collect();
            return Err(bad(
                "op",
                format!("'{op}' does not apply to {field}; use {}", names.join(", ")),
            ));
        }
        let key = match (field, o.get("key")) {
            (Field::ContactAttribute, Some(Value::String(k))) if !k.is_empty() && k.len() <= 100 => Some(k.clone()),
            (Field::ContactAttribute, _) => {
                return Err(bad("key", "contact_attribute needs a key (the attribute's name)"))
            }
            (_, Some(_)) => return Err(bad("key", format!("only contact_attribute takes a key, not {field}"))),
            (_, None) => None,
        };
        let raw = o.get("value").cloned().unwrap_or(Value::Null);
        let value = check_value(field, op, raw)?;
        Ok(Condition { field, op, key, value })
    }

    fn matches(&self, f: &Facts) -> bool {
        let v = &self.value;
        match self.field {
            Field::Channel => self.one_of(f.channel.as_str()),
            Field::Status => self.one_of(f.status.as_str()),
            Field::Priority => self.one_of(f.priority.as_str()),
            Field::Kind => match self.op {
                Op::IsSet => f.kind.is_some(),
                Op::NotSet => f.kind.is_none(),
                _ => self.one_of(f.kind.map_or("", RequestKind::as_str)),
            },
            Field::Language => self.one_of(&f.language),
            Field::ContactEmailDomain => self.one_of(f.email_domain.as_deref().unwrap_or("")),
            Field::TeamId => self.id_is(f.team_id),
            Field::AssigneeId => self.id_is(f.assignee_id),
            Field::Labels => self.has(&f.labels),
            Field::Changed => self.has(&f.changed),
            Field::Subject => self.text(&f.subject, f),
            Field::Body => self.text(&f.body, f),
            Field::Text => self.text(&f.subject, f) || (self.op != Op::NotContains && self.text(&f.body, f)),
            Field::BusinessHours => (v.as_str() == Some("open")) == f.open,
            Field::Author => f.author.is_some_and(|a| Some(a.as_str()) == v.as_str()),
            Field::PageUrl => {
                let (url, want) = (f.page_url.to_lowercase(), v.as_str().unwrap_or("").to_lowercase());
                match self.op {
                    Op::Is => url == want,
                    Op::Contains => url.contains(&want),
                    Op::NotContains => !url.contains(&want),
                    _ => url.starts_with(&want),
                }
            }
            Field::CartValue => f
                .cart_value
                .is_some_and(|x| compare(self.op, x, v.as_f64().unwrap_or(0.0))),
            Field::ContactAttribute => {
                let got = self
                    .key
                    .as_deref()
                    .and_then(|k| f.attributes.get(k))
                    .filter(|x| !x.is_null());
                match (self.op, got) {
                    (Op::IsSet, g) => g.is_some(),
                    (Op::NotSet, g) => g.is_none(),
                    (_, None) => self.op == Op::IsNot,
                    (Op::Is, Some(g)) => loose_eq(g, v),
                    (Op::IsNot, Some(g)) => !loose_eq(g, v),
                    (Op::Contains, Some(g)) => scalar_text(g).to_lowercase().contains(&scalar_text(v).to_lowercase()),
                    (op, Some(g)) => number(g).zip(number(v)).is_some_and(|(a, b)| compare(op, a, b)),
                }
            }
        }
    }

    fn one_of(&self, got: &str) -> bool {
        let hit = match &self.value {
            Value::Array(items) => items
                .iter()
                .any(|i| i.as_str().is_some_and(|s| s.eq_ignore_ascii_case(got))),
            Value::String(s) => s.eq_ignore_ascii_case(got),
            _ => false,
        };
        match self.op {
            Op::Is | Op::In => hit,
            _ => !hit,
        }
    }

    fn id_is(&self, got: Option<i64>) -> bool {
        let hit = match &self.value {
            Value::Array(items) => items.iter().any(|i| i.as_i64() == got && got.is_some()),
            v => v.as_i64() == got && got.is_some(),
        };
        match self.op {
            Op::IsSet => got.is_some(),
            Op::NotSet => got.is_none(),
            Op::Is | Op::In => hit,
            _ => !hit,
        }
    }

    fn has(&self, got: &[String]) -> bool {
        let want = self.value.as_str().unwrap_or("");
        let hit = got.iter().any(|g| g.eq_ignore_ascii_case(want));
        (self.op == Op::Has) == hit
    }

    fn text(&self, text: &str, f: &Facts) -> bool {
        let want = self.value.as_str().unwrap_or("");
        match self.op {
            Op::MatchesWord => {
                let stems = f.stems.get_or_init(|| stems(&format!("{}\n{}", f.subject, f.body)));
                let wanted = stems_of(want);
                !wanted.is_empty() && wanted.iter().all(|w| stems.binary_search(w).is_ok())
            }
            Op::StartsWith => text.trim_start().to_lowercase().starts_with(&want.to_lowercase()),
            Op::NotContains => !text.to_lowercase().contains(&want.to_lowercase()),
            _ => text.to_lowercase().contains(&want.to_lowercase()),
        }
    }
}

fn compare(op: Op, a: f64, b: f64) -> bool {
    match op {
        Op::Gt => a > b,
        Op::Gte => a >= b,
        Op::Lt => a < b,
        Op::Lte => a <= b,
        _ => (a - b).abs() < 1e-9,
    }
}

fn number(v: &Value) -> Option<f64> {
    v.as_f64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn loose_eq(a: &Value, b: &Value) -> bool {
    match (number(a), number(b)) {
        (Some(x), Some(y)) => (x - y).abs() < 1e-9,
        _ => scalar_text(a).eq_ignore_ascii_case(&scalar_text(b)),
    }
}

/// Checks a condition's value against its field, returning it in the
/// shape the evaluation expects.
fn check_value(field: Field, op: Op, v: Value) -> Result<Value, Invalid> {
    let list = matches!(op, Op::In | Op::NotIn);
    if matches!(op, Op::IsSet | Op::NotSet) {
        return Ok(Value::Null);
    }
    let items: Vec<Value> = match (&v, list) {
        (Value::Array(a), true) if !a.is_empty() && a.len() <= 100 => a.clone(),
        (_, true) => return Err(bad("value", format!("'{op}' takes a list of 1 to 100 values"))),
        (Value::Array(_), false) => return Err(bad("value", format!("'{op}' takes one value; use 'in' for a list"))),
        (Value::Null, false) => return Err(bad("value", "is required")),
        _ => vec![v.clone()],
    };
    for item in &items {
        let text = item.as_str();
        match field {
            Field::Channel => drop(Channel::parse("value", text.unwrap_or(""))?),
            Field::Status => drop(Status::parse("value", text.unwrap_or(""))?),
            Field::Priority => drop(Priority::parse("value", text.unwrap_or(""))?),
            Field::Kind => drop(RequestKind::parse("value", text.unwrap_or(""))?),
            Field::TeamId | Field::AssigneeId if item.as_i64().is_none_or(|i| i <= 0) => {
                return Err(bad("value", format!("{field} takes ids (positive whole numbers)")))
            }
            Field::BusinessHours if !matches!(text, Some("open" | "closed")) => {
                return Err(bad("value", "business_hours is 'open' or 'closed'"))
            }
            Field::Author if !matches!(text, Some("contact" | "agent" | "system")) => {
                return Err(bad("value", "author is 'contact', 'agent' or 'system'"))
            }
            Field::CartValue if !item.is_number() => return Err(bad("value", "cart_value compares with a number")),
            Field::ContactAttribute if !(item.is_string() || item.is_number() || item.is_boolean()) => {
                return Err(bad(
                    "value",
                    "a contact attribute compares with a string, number or boolean",
                ))
            }
            Field::ContactAttribute if matches!(op, Op::Gt | Op::Gte | Op::Lt | Op::Lte) && number(item).is_none() => {
                return Err(bad("value", format!("'{op}' compares with a number")))
            }
            Field::TeamId | Field::AssigneeId | Field::CartValue | Field::ContactAttribute => {}
            _ => {
                let s = text.ok_or_else(|| bad("value", format!("{field} compares with text")))?;
                if s.trim().is_empty() || s.chars().count() > VALUE_MAX {
                    return Err(bad("value", format!("must be 1 to {VALUE_MAX} characters")));
                }
                if op == Op::MatchesWord && stems_of(s).is_empty() {
                    return Err(bad(
                        "value",
                        format!("'{}' has no word to match (only stop words?)", short(s)),
                    ));
                }
            }
        }
    }
    Ok(if list { Value::Array(items) } else { v })
}

pub fn parse_actions(v: &Value) -> Result<Vec<Action>, Invalid> {
    let items = v.as_array().ok_or_else(|| bad("actions", "must be a list"))?;
    if items.is_empty() || items.len() > ACTIONS_MAX {
        return Err(bad("actions", format!("a rule has 1 to {ACTIONS_MAX} actions")));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, a)| parse_action(a).map_err(|e| bad("actions", format!("[{i}]: {}", e))))
        .collect()
}

const ACTION_TYPES: &str =
    "assign, unassign, set_team, set_status, set_priority, set_kind, add_label, remove_label, add_note, send_reply, send_email, notify, webhook, close";

/// One action from JSON; also what a macro runs.
pub fn parse_action(v: &Value) -> Result<Action, Invalid> {
    let o = v
        .as_object()
        .ok_or_else(|| bad("action", "must be an object with a type"))?;
    let kind = o
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("type", "is required"))?;
    let allowed: &[&str] = match kind {
        "assign" => &["user_id"],
        "set_team" => &["team_id"],
        "set_status" | "set_priority" | "add_label" | "remove_label" => &["value"],
        "set_kind" => &["kind", "feature"],
        "add_note" => &["body"],
        "send_reply" => &["body", "canned_id"],
        "send_email" => &["to", "subject", "body"],
        "notify" => &["to", "user_ids"],
        "unassign" | "close" => &[],
        "webhook" => &["webhook_id"],
        other => return Err(bad("type", format!("'{}' is not one of: {ACTION_TYPES}", short(other)))),
    };
    if let Some(k) = o.keys().find(|k| *k != "type" && !allowed.contains(&k.as_str())) {
        return Err(bad("action", format!("{kind} does not take '{}'", short(k))));
    }
    let id = |k: &'static str| -> Result<i64, Invalid> {
        o.get(k)
            .and_then(Value::as_i64)
            .filter(|i| *i > 0)
            .ok_or_else(|| bad(k, "is required (an id)"))
    };
    let text = |k: &'static str, max: usize| -> Result<String, Invalid> {
        super::required_text(
            k,
            o.get(k).and_then(Value::as_str).ok_or_else(|| bad(k, "is required"))?,
            max,
        )
    };
    Ok(match kind {
        "assign" => Action::Assign {
            user_id: id("user_id")?,
        },
        "unassign" => Action::Unassign,
        "close" => Action::Close,
        "webhook" => Action::Webhook {
            webhook_id: id("webhook_id")?,
        },
        "set_team" => Action::SetTeam {
            team_id: id("team_id")?,
        },
        "set_status" => Action::SetStatus {
            value: Status::parse("value", &text("value", 20)?)?,
        },
        "set_priority" => Action::SetPriority {
            value: Priority::parse("value", &text("value", 20)?)?,
        },
        "set_kind" => {
            let kind = RequestKind::parse("kind", &text("kind", 30)?)?;
            let feature = match o.get("feature") {
                None => None,
                Some(Value::String(f)) => Some(normalize_feature(f)?),
                Some(_) => return Err(bad("feature", "must be a string")),
            };
            let (_, feature) = kind_and_feature((None, None), Some(Some(kind)), Some(feature))?;
            Action::SetKind { kind, feature }
        }
        "add_label" | "remove_label" => {
            let value = normalize_labels(&[text("value", 100)?])?.remove(0);
            if kind == "add_label" {
                Action::AddLabel { value }
            } else {
                Action::RemoveLabel { value }
            }
        }
        "add_note" => Action::AddNote {
            body: text("body", BODY_MAX)?,
        },
        "send_reply" => match (o.get("body"), o.get("canned_id")) {
            (Some(_), None) => Action::SendReply {
                body: Some(text("body", BODY_MAX)?),
                canned_id: None,
            },
            (None, Some(_)) => Action::SendReply {
                body: None,
                canned_id: Some(id("canned_id")?),
            },
            _ => return Err(bad("send_reply", "takes either a body or a canned_id")),
        },
        "send_email" => {
            let to = text("to", 254)?;
            super::Email::parse("to", &to)?;
            Action::SendEmail {
                to,
                subject: text("subject", 300)?,
                body: text("body", BODY_MAX)?,
            }
        }
        "notify" => {
            let to = NotifyWho::parse("to", o.get("to").and_then(Value::as_str).unwrap_or(""))?;
            let user_ids: Vec<i64> = match o.get("user_ids") {
                None => vec![],
                Some(Value::Array(a)) if a.len() <= 50 => a
                    .iter()
                    .map(|i| {
                        i.as_i64()
                            .filter(|i| *i > 0)
                            .ok_or_else(|| bad("user_ids", "must be ids"))
                    })
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(bad("user_ids", "must be a list of at most 50 ids")),
            };
            if (to == NotifyWho::Users) == user_ids.is_empty() {
                return Err(bad("user_ids", "are given exactly when 'to' is 'users'"));
            }
            Action::Notify { to, user_ids }
        }
        _ => unreachable!("kinds are matched above"),
    })
}

impl Action {
    /// How the conversation's event line says what the rule did.
    pub fn describe(&self) -> String {
        match self {
            Action::AddNote { .. } => "added a note".into(),
            Action::SendReply { .. } => "sent a reply".into(),
            Action::SendEmail { to, .. } => format!("e-mailed {to}"),
            Action::Notify { to, .. } => format!("notified the {to}"),
            Action::Webhook { webhook_id } => format!("sent the event to webhook {webhook_id}"),
            other => json!(other)["type"].as_str().unwrap_or("acted").replace('_', " "),
        }
    }
}

/// What the conditions look at, gathered once per ticket and event.
#[derive(Debug, Clone)]
pub struct Facts {
    pub channel: Channel,
    pub status: Status,
    pub priority: Priority,
    pub team_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub labels: Vec<String>,
    pub kind: Option<RequestKind>,
    pub subject: String,
    /// The message the event is about (for a new ticket, its first).
    pub body: String,
    pub email_domain: Option<String>,
    pub attributes: Value,
    /// The visitor's language, else the one the text is written in.
    pub language: String,
    /// Whether the workspace is within its business hours now.
    pub open: bool,
    pub page_url: String,
    pub cart_value: Option<f64>,
    pub author: Option<AuthorType>,
    /// Fields a `ticket.updated` changed.
    pub changed: Vec<String>,
    stems: OnceCell<Vec<String>>,
}

impl Facts {
    pub fn new(channel: Channel, status: Status, priority: Priority, subject: String, body: String) -> Facts {
        Facts {
            channel,
            status,
            priority,
            team_id: None,
            assignee_id: None,
            labels: vec![],
            kind: None,
            subject,
            body,
            email_domain: None,
            attributes: Value::Null,
            language: String::new(),
            open: true,
            page_url: String::new(),
            cart_value: None,
            author: None,
            changed: vec![],
            stems: OnceCell::new(),
        }
    }

    /// What a rule's actions change in the facts, so later rules on the
    /// same event see it (as the ticket will be once they are applied).
    pub fn apply(&mut self, actions: &[Action]) {
        for a in actions {
            match a {
                Action::Assign { user_id } => self.assignee_id = Some(*user_id),
                Action::Unassign => self.assignee_id = None,
                Action::SetTeam { team_id } => self.team_id = Some(*team_id),
                Action::SetStatus { value } => self.status = *value,
                Action::Close => self.status = Status::Closed,
                Action::SetPriority { value } => self.priority = *value,
                Action::SetKind { kind, .. } => self.kind = Some(*kind),
                Action::AddLabel { value } if !self.labels.contains(value) => self.labels.push(value.clone()),
                Action::RemoveLabel { value } => self.labels.retain(|l| l != value),
                _ => {}
            }
        }
    }

    /// The cart's value from the widget's page context: `cart_value`,
    /// `cart.total` or `cart.value`.
    pub fn cart_from_context(context: &Value) -> Option<f64> {
        context
            .get("cart_value")
            .or_else(|| {
                context
                    .get("cart")
                    .and_then(|c| c.get("total").or_else(|| c.get("value")))
            })
            .and_then(number)
    }
}

/// The language a text is in, by its letters (the visitor's own setting
/// wins where there is one).
pub fn guess_language(text: &str) -> &'static str {
    let (mut cyr, mut uk, mut arabic, mut latin) = (0, 0, 0, 0);
    for c in text.chars().take(2000) {
        match c {
            'і' | 'ї' | 'є' | 'ґ' | 'І' | 'Ї' | 'Є' | 'Ґ' => uk += 1,
            '\u{0400}'..='\u{04FF}' => cyr += 1,
            '\u{0600}'..='\u{06FF}' => arabic += 1,
            'a'..='z' | 'A'..='Z' => latin += 1,
            _ => {}
        }
    }
    if arabic > latin && arabic > cyr {
        "fa"
    } else if cyr + uk > latin {
        if uk > 0 {
            "uk"
        } else {
            "ru"
        }
    } else {
        "en"
    }
}

/// Sorted stems of a text, analysed like ticket search (any of our four
/// languages, by each word's alphabet). Bounded: rules look at the first
/// 64 KiB of a message.
fn stems(text: &str) -> Vec<String> {
    let mut out = stems_of(text);
    out.sort();
    out.dedup();
    out
}

fn stems_of(text: &str) -> Vec<String> {
    let end = text.char_indices().nth(65_536).map_or(text.len(), |(i, _)| i);
    crate::search::word_stems(&text[..end])
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
