//! The rows of the rule and macro editors: read from a posted form into the
//! JSON the rules service checks (so its messages reach the admin), and
//! back from a stored rule or macro into rows to edit. Plain form rows, so
//! the editors work without script: a few empty rows follow the filled
//! ones, and empty rows are ignored.

use serde::Serialize;
use serde_json::{json, Value};

use crate::domain::rules::{Action, Condition, Conditions, Field, NotifyWho, Op, RuleDef, Trigger};
use crate::domain::{Priority, RequestKind, Status};
use crate::store::Store;

/// Empty rows offered beyond the filled ones (a script may add more).
pub const BLANK_ROWS: usize = 3;
/// Row numbers read from a form: more than the domain allows, so the
/// domain's limit is the one the admin is told about.
const ROWS_READ: usize = 64;

/// A posted form's fields in order: a multiple select sends one name
/// several times.
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn checked(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }
}

/// The workspace's teams, agents and canned answers: for the selects, and
/// to show names where a rule stores ids. Feature names asked for before
/// are offered for `set_kind`.
pub struct Directory {
    pub teams: Vec<(i64, String)>,
    pub agents: Vec<(i64, String)>,
    pub canned: Vec<(i64, String)>,
    pub features: Vec<String>,
    /// Webhook subscriptions, by URL, for the `webhook` action.
    pub webhooks: Vec<(i64, String)>,
}

impl Directory {
    pub async fn load(store: &Store, ws: i64) -> crate::store::Result<Directory> {
        let (teams, users, canned, features, webhooks) = tokio::try_join!(
            store.list_teams(ws),
            store.list_users(ws),
            store.canned_answers(ws),
            store.feature_names(ws, "", 50),
            store.list_webhooks(ws)
        )?;
        Ok(Directory {
            teams: teams.into_iter().map(|t| (t.id, t.name)).collect(),
            agents: users.into_iter().map(|u| (u.id, u.name)).collect(),
            canned: canned.into_iter().map(|c| (c.id, format!("/{}", c.shortcut))).collect(),
            features,
            webhooks: webhooks.into_iter().map(|h| (h.id, h.url)).collect(),
        })
    }

    /// Options for the editors' selects and the labels of every choice.
    pub fn choices(&self) -> minijinja::Value {
        let named = |items: &[(i64, String)]| -> Vec<minijinja::Value> {
            items
                .iter()
                .map(|(id, name)| minijinja::context! { id => id.to_string(), name })
                .collect()
        };
        minijinja::context! {
            events => Trigger::ALL.iter().map(|e| minijinja::context! { value => e.as_str(), key => key("rule-event", e.as_str()), timer => e.is_timer() }).collect::<Vec<_>>(),
            fields => Field::ALL.iter().map(|f| minijinja::context! {
                value => f.as_str(), key => key("rule-field", f.as_str()),
                ops => f.ops().iter().map(|o| o.as_str()).collect::<Vec<_>>().join(","),
            }).collect::<Vec<_>>(),
            ops => Op::ALL.iter().map(|o| minijinja::context! { value => o.as_str(), key => key("rule-op", o.as_str()) }).collect::<Vec<_>>(),
            kinds => ACTION_KINDS.iter().map(|k| minijinja::context! { value => k, key => key("rule-action", k) }).collect::<Vec<_>>(),
            whom => NotifyWho::ALL.iter().map(|w| minijinja::context! { value => w.as_str(), key => key("rule-notify", w.as_str()) }).collect::<Vec<_>>(),
            statuses => Status::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            priorities => Priority::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
            request_kinds => RequestKind::ALL.iter().map(|k| minijinja::context! { value => k.as_str(), key => key("kind", k.as_str()) }).collect::<Vec<_>>(),
            features => &self.features,
            teams => named(&self.teams),
            agents => named(&self.agents),
            canned => named(&self.canned),
            webhooks => named(&self.webhooks),
        }
    }

    fn name(items: &[(i64, String)], id: i64) -> String {
        items
            .iter()
            .find(|(i, _)| *i == id)
            // A name with a comma would not survive the comma-separated
            // value field; its id does.
            .filter(|(_, n)| !n.contains(','))
            .map_or_else(|| id.to_string(), |(_, n)| n.clone())
    }

    /// An id typed as a name (any case) or as a number.
    fn id(items: &[(i64, String)], what: &str, raw: &str) -> Result<Value, String> {
        if let Some((id, _)) = items.iter().find(|(_, n)| n.trim().eq_ignore_ascii_case(raw)) {
            return Ok(json!(id));
        }
        raw.parse::<i64>().map(|i| json!(i)).map_err(|_| {
            format!(
                "value: there is no {what} called '{}'",
                raw.chars().take(60).collect::<String>()
            )
        })
    }
}

/// The action types, in the order the editor offers them.
const ACTION_KINDS: [&str; 14] = [
    "add_label",
    "remove_label",
    "set_team",
    "assign",
    "unassign",
    "set_status",
    "set_priority",
    "set_kind",
    "add_note",
    "send_reply",
    "send_email",
    "notify",
    "webhook",
    "close",
];

/// The translation key of a choice: `rule-op` and `is_not` → `rule-op-is-not`.
fn key(prefix: &str, value: &str) -> String {
    format!("{prefix}-{}", value.replace(['.', '_'], "-"))
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CondRow {
    pub field: String,
    pub op: String,
    pub key: String,
    pub value: String,
    /// "all" or "any" when the rule has both kinds of conditions; else the
    /// rule's one choice applies.
    pub group: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ActRow {
    pub kind: String,
    pub agent: String,
    pub team: String,
    pub status: String,
    pub priority: String,
    /// A request kind, for `set_kind`; `feature` goes with a missing one.
    pub request_kind: String,
    pub feature: String,
    pub label: String,
    pub body: String,
    pub to: String,
    pub subject: String,
    pub canned: String,
    pub notify: String,
    pub users: Vec<String>,
    /// A webhook subscription's id, for `webhook`.
    pub webhook: String,
}

/// A rule as its editor shows it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RuleForm {
    pub name: String,
    pub event: String,
    pub minutes: String,
    pub business_hours: bool,
    /// "all" or "any".
    pub matching: String,
    pub stop: bool,
    pub enabled: bool,
    pub conditions: Vec<CondRow>,
    pub actions: Vec<ActRow>,
}

impl RuleForm {
    pub fn blank() -> RuleForm {
        RuleForm {
            event: Trigger::TicketCreated.as_str().into(),
            matching: "all".into(),
            enabled: true,
            ..Default::default()
        }
    }

    pub fn from_def(d: &RuleDef, dir: &Directory) -> RuleForm {
        let mixed = !d.conditions.all.is_empty() && !d.conditions.any.is_empty();
        let rows = |list: &[Condition], group: &str| -> Vec<CondRow> {
            list.iter()
                .map(|c| CondRow {
                    group: if mixed { group.into() } else { String::new() },
                    ..condition_row(c, dir)
                })
                .collect()
        };
        let mut conditions = rows(&d.conditions.all, "all");
        conditions.extend(rows(&d.conditions.any, "any"));
        RuleForm {
            name: d.name.clone(),
            event: d.event.as_str().into(),
            minutes: d.minutes.map(|m| m.to_string()).unwrap_or_default(),
            business_hours: d.business_hours,
            matching: if d.conditions.all.is_empty() && !d.conditions.any.is_empty() {
                "any".into()
            } else {
                "all".into()
            },
            stop: d.stop,
            enabled: d.enabled,
            conditions,
            actions: rows_of(&d.actions),
        }
    }

    /// The form as posted; empty rows dropped.
    pub fn read(f: &Fields) -> RuleForm {
        RuleForm {
            name: f.get("name").to_string(),
            event: f.get("event").to_string(),
            minutes: f.get("minutes").trim().to_string(),
            business_hours: f.checked("business_hours"),
            matching: if f.get("match") == "any" { "any" } else { "all" }.into(),
            stop: f.checked("stop"),
            enabled: f.checked("enabled"),
            conditions: (0..ROWS_READ)
                .map(|i| {
                    let g = |k: &str| f.get(&format!("c{i}_{k}")).trim().to_string();
                    CondRow {
                        field: g("field"),
                        op: g("op"),
                        key: g("key"),
                        value: g("value"),
                        group: Some(g("group"))
                            .filter(|g| g == "all" || g == "any")
                            .unwrap_or_default(),
                    }
                })
                .filter(|c| !(c.field.is_empty() && c.key.is_empty() && c.value.is_empty()))
                .collect(),
            actions: read_actions(f),
        }
    }

    pub fn mixed(&self) -> bool {
        self.conditions.iter().any(|c| !c.group.is_empty())
    }

    /// The JSON `create_rule` and `update_rule` take. Minutes go only with
    /// a time-based event, so a value left in the hidden field is not an
    /// error.
    pub fn to_json(&self, dir: &Directory) -> Result<Value, String> {
        let timer = Trigger::parse("event", &self.event).is_ok_and(|t| t.is_timer());
        let minutes = match (timer, self.minutes.as_str()) {
            (false, _) | (true, "") => Value::Null,
            (true, m) => m
                .parse::<i64>()
                .map(|m| json!(m))
                .map_err(|_| "minutes: must be a whole number".to_string())?,
        };
        let (mut all, mut any) = (vec![], vec![]);
        for c in &self.conditions {
            let group = if c.group.is_empty() {
                self.matching.as_str()
            } else {
                c.group.as_str()
            };
            let list = if group == "any" { &mut any } else { &mut all };
            // Said as the domain says it, so `locate` finds the row.
            let v = condition_json(c, dir).map_err(|e| format!("conditions: {group}[{}]: {e}", list.len()))?;
            list.push(v);
        }
        let mut body = json!({
            "name": self.name, "event": self.event, "business_hours": self.business_hours && timer,
            "conditions": { "all": all, "any": any },
            "actions": actions_json(&self.actions), "stop": self.stop, "enabled": self.enabled,
        });
        if timer {
            body["minutes"] = minutes;
        }
        Ok(body)
    }

    /// The domain's message with the row it names counted as the editor
    /// shows it: "conditions: all[0]: …" becomes "Condition 2: …" when the
    /// first condition that must hold is the form's second row.
    pub fn locate(&self, msg: &str, lang: &str) -> String {
        let word = |k: &str| crate::i18n::text(lang, &format!("console-{k}"), &[]);
        for group in ["all", "any"] {
            if let Some((i, rest)) = indexed(msg, &format!("conditions: {group}[")) {
                let row = self
                    .conditions
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| {
                        let g = if c.group.is_empty() {
                            self.matching.as_str()
                        } else {
                            c.group.as_str()
                        };
                        g == group
                    })
                    .nth(i)
                    .map(|(n, _)| n + 1);
                if let Some(n) = row {
                    return format!("{} {n}: {rest}", word("rule-condition"));
                }
            }
        }
        locate_action(msg, lang)
    }
}

/// "actions: [1]: …" → "Action 2: …".
pub fn locate_action(msg: &str, lang: &str) -> String {
    match indexed(msg, "actions: [") {
        Some((i, rest)) => format!(
            "{} {}: {rest}",
            crate::i18n::text(lang, "console-rule-action", &[]),
            i + 1
        ),
        None => msg.to_string(),
    }
}

/// The index and the rest of `msg` after `prefix` + `N]: `.
fn indexed<'a>(msg: &'a str, prefix: &str) -> Option<(usize, &'a str)> {
    let rest = msg.strip_prefix(prefix)?;
    let (n, rest) = rest.split_once(']')?;
    Some((n.parse().ok()?, rest.strip_prefix(": ").unwrap_or(rest)))
}

/// The filled rows and `BLANK_ROWS` empty ones.
pub fn with_blanks<T: Clone + Default>(rows: &[T]) -> Vec<T> {
    let mut out = rows.to_vec();
    out.extend(std::iter::repeat_n(T::default(), BLANK_ROWS));
    out
}

pub fn read_actions(f: &Fields) -> Vec<ActRow> {
    (0..ROWS_READ)
        .map(|i| {
            let g = |k: &str| f.get(&format!("a{i}_{k}")).to_string();
            ActRow {
                kind: g("type").trim().into(),
                agent: g("agent"),
                team: g("team"),
                status: g("status"),
                priority: g("priority"),
                request_kind: g("kind"),
                feature: g("feature").trim().into(),
                label: g("label").trim().into(),
                body: g("body").trim_end().into(),
                to: g("to").trim().into(),
                subject: g("subject").trim().into(),
                canned: g("canned"),
                notify: g("notify"),
                users: f.all(&format!("a{i}_users")),
                webhook: g("webhook").trim().into(),
            }
        })
        .filter(|a| !a.kind.is_empty())
        .collect()
}

/// A macro's (or rule's) actions as editor rows.
pub fn rows_of(actions: &[Action]) -> Vec<ActRow> {
    actions.iter().map(action_row).collect()
}

pub fn actions_json(rows: &[ActRow]) -> Value {
    Value::Array(rows.iter().map(action_json).collect())
}

fn condition_row(c: &Condition, dir: &Directory) -> CondRow {
    let shown = |v: &Value| -> String {
        match (c.field, v) {
            (Field::TeamId, Value::Number(n)) => n.as_i64().map_or(n.to_string(), |i| Directory::name(&dir.teams, i)),
            (Field::AssigneeId, Value::Number(n)) => {
                n.as_i64().map_or(n.to_string(), |i| Directory::name(&dir.agents, i))
            }
            (_, Value::String(s)) => s.clone(),
            (_, Value::Null) => String::new(),
            (_, other) => other.to_string(),
        }
    };
    CondRow {
        field: c.field.as_str().into(),
        op: c.op.as_str().into(),
        key: c.key.clone().unwrap_or_default(),
        value: match &c.value {
            Value::Array(items) => items.iter().map(shown).collect::<Vec<_>>().join(", "),
            v => shown(v),
        },
        group: String::new(),
    }
}

/// One condition row as the domain reads it. Teams and agents may be
/// typed by name; a list operator takes comma-separated values.
fn condition_json(c: &CondRow, dir: &Directory) -> Result<Value, String> {
    let mut o = serde_json::Map::new();
    if !c.field.is_empty() {
        o.insert("field".into(), json!(c.field));
    }
    if !c.op.is_empty() {
        o.insert("op".into(), json!(c.op));
    }
    let field = Field::parse("field", &c.field).ok();
    if field == Some(Field::ContactAttribute) {
        o.insert("key".into(), json!(c.key));
    }
    let scalar = |raw: &str| -> Result<Value, String> {
        match field {
            Some(Field::TeamId) => Directory::id(&dir.teams, "team", raw),
            Some(Field::AssigneeId) => Directory::id(&dir.agents, "agent", raw),
            Some(Field::CartValue) => Ok(raw.parse::<f64>().map_or_else(|_| json!(raw), |n| json!(n))),
            _ => Ok(json!(raw)),
        }
    };
    match c.op.as_str() {
        "is_set" | "not_set" => {}
        _ if c.value.is_empty() => {}
        "in" | "not_in" => {
            let items = c
                .value
                .split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(scalar)
                .collect::<Result<Vec<_>, _>>()?;
            o.insert("value".into(), Value::Array(items));
        }
        _ => {
            o.insert("value".into(), scalar(&c.value)?);
        }
    }
    Ok(Value::Object(o))
}

fn action_row(a: &Action) -> ActRow {
    let kind = json!(a)["type"].as_str().unwrap_or("").to_string();
    let mut r = ActRow {
        kind,
        ..Default::default()
    };
    match a {
        Action::Assign { user_id } => r.agent = user_id.to_string(),
        Action::SetTeam { team_id } => r.team = team_id.to_string(),
        Action::SetStatus { value } => r.status = value.as_str().into(),
        Action::SetPriority { value } => r.priority = value.as_str().into(),
        Action::SetKind { kind, feature } => {
            r.request_kind = kind.as_str().into();
            r.feature = feature.clone().unwrap_or_default();
        }
        Action::AddLabel { value } | Action::RemoveLabel { value } => r.label = value.clone(),
        Action::AddNote { body } => r.body = body.clone(),
        Action::SendReply { body, canned_id } => {
            r.body = body.clone().unwrap_or_default();
            r.canned = canned_id.map(|c| c.to_string()).unwrap_or_default();
        }
        Action::SendEmail { to, subject, body } => {
            r.to = to.clone();
            r.subject = subject.clone();
            r.body = body.clone();
        }
        Action::Notify { to, user_ids } => {
            r.notify = to.as_str().into();
            r.users = user_ids.iter().map(i64::to_string).collect();
        }
        Action::Webhook { webhook_id } => r.webhook = webhook_id.to_string(),
        Action::Unassign | Action::Close => {}
    }
    r
}

/// One action row as the domain reads it; only the inputs its type uses.
/// A missing choice is left out, so the domain names what is required.
fn action_json(a: &ActRow) -> Value {
    let id = |raw: &str| raw.parse::<i64>().ok().map(|i| json!(i));
    let mut o = serde_json::Map::new();
    o.insert("type".into(), json!(a.kind));
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            o.insert(k.into(), v);
        }
    };
    match a.kind.as_str() {
        "assign" => put("user_id", id(&a.agent)),
        "set_team" => put("team_id", id(&a.team)),
        "set_status" => put("value", Some(json!(a.status))),
        "set_priority" => put("value", Some(json!(a.priority))),
        "set_kind" => {
            put("kind", Some(json!(a.request_kind)));
            // The feature field stays in the row, hidden, when another
            // kind is chosen: only a missing feature sends it.
            if a.request_kind == RequestKind::MissingFeature.as_str() && !a.feature.is_empty() {
                put("feature", Some(json!(a.feature)));
            }
        }
        "add_label" | "remove_label" => put("value", Some(json!(a.label))),
        "add_note" => put("body", Some(json!(a.body))),
        "webhook" => put("webhook_id", id(&a.webhook)),
        "send_reply" if !a.canned.is_empty() => put("canned_id", id(&a.canned)),
        "send_reply" => put("body", Some(json!(a.body))),
        "send_email" => {
            put("to", Some(json!(a.to)));
            put("subject", Some(json!(a.subject)));
            put("body", Some(json!(a.body)));
        }
        "notify" => {
            put("to", Some(json!(a.notify)));
            if a.notify == "users" {
                put("user_ids", Some(a.users.iter().filter_map(|u| id(u)).collect()));
            }
        }
        _ => {}
    }
    Value::Object(o)
}

/// A rule's conditions for the list: each with its field and comparison
/// (keys the template translates) and its value as a person reads it.
pub fn condition_summary(c: &Conditions, dir: &Directory) -> minijinja::Value {
    let items = |list: &[Condition]| -> Vec<minijinja::Value> {
        list.iter()
            .map(|x| {
                let r = condition_row(x, dir);
                minijinja::context! { field => key("rule-field", &r.field), op => key("rule-op", &r.op), key => r.key, value => r.value }
            })
            .collect()
    };
    minijinja::context! { all => items(&c.all), any => items(&c.any) }
}

/// Actions for the lists: the type's key and what it acts with, either a
/// key to translate (a status) or plain text (a name, a label).
pub fn action_summary(actions: &[Action], dir: &Directory) -> Vec<minijinja::Value> {
    actions
        .iter()
        .map(|a| {
            let r = action_row(a);
            let (text_key, text) = match a {
                Action::Assign { user_id } => (None, Directory::name(&dir.agents, *user_id)),
                Action::SetTeam { team_id } => (None, Directory::name(&dir.teams, *team_id)),
                Action::SetStatus { value } => (Some(format!("status-{value}")), String::new()),
                Action::SetPriority { value } => (Some(format!("priority-{value}")), String::new()),
                Action::SetKind { feature: Some(f), .. } => (None, f.clone()),
                Action::SetKind { kind, .. } => (Some(key("kind", kind.as_str())), String::new()),
                Action::Notify { to, .. } => (Some(key("rule-notify", to.as_str())), String::new()),
                Action::SendReply { canned_id: Some(c), .. } => (None, Directory::name(&dir.canned, *c)),
                Action::SendEmail { to, .. } => (None, to.clone()),
                Action::Webhook { webhook_id } => (None, Directory::name(&dir.webhooks, *webhook_id)),
                Action::AddLabel { value } | Action::RemoveLabel { value } => (None, value.clone()),
                _ => (None, short(&r.body)),
            };
            minijinja::context! { kind => key("rule-action", &r.kind), text_key, text }
        })
        .collect()
}

fn short(s: &str) -> String {
    let mut out: String = s.chars().take(60).collect();
    if s.chars().count() > 60 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> Directory {
        Directory {
            teams: vec![(7, "Payments".into())],
            agents: vec![(3, "Ann Agent".into())],
            canned: vec![],
            features: vec![],
            webhooks: vec![],
        }
    }

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        Fields(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn a_posted_form_becomes_a_rule_and_back() {
        let f = fields(&[
            ("name", "Refunds"),
            ("event", "ticket.created"),
            ("minutes", "15"),
            ("match", "any"),
            ("c0_field", "subject"),
            ("c0_op", "contains"),
            ("c0_value", "refund"),
            ("c1_field", ""),
            ("c1_op", "is"),
            ("c2_field", "team_id"),
            ("c2_op", "in"),
            ("c2_value", "payments, 9"),
            ("a0_type", "add_label"),
            ("a0_label", "refund"),
            ("a0_agent", "3"),
            ("a1_type", ""),
            ("a2_type", "notify"),
            ("a2_notify", "users"),
            ("a2_users", "3"),
            ("a2_users", "4"),
            ("enabled", "1"),
        ]);
        let form = RuleForm::read(&f);
        assert_eq!(form.conditions.len(), 2, "the empty row is dropped");
        let v = form.to_json(&dir()).unwrap();
        assert_eq!(v["minutes"], Value::Null, "no minutes for an event rule: {v}");
        assert!(v.get("minutes").is_none(), "{v}");
        assert_eq!(v["conditions"]["any"][1]["value"], json!([7, 9]), "{v}");
        assert_eq!(
            v["actions"],
            json!([{"type":"add_label","value":"refund"},{"type":"notify","to":"users","user_ids":[3,4]}])
        );
        let def = RuleDef::parse(&v, None).unwrap();
        let back = RuleForm::from_def(&def, &dir());
        assert_eq!(back.matching, "any");
        assert_eq!(back.conditions[1].value, "Payments, 9");
        assert_eq!(back.to_json(&dir()).unwrap(), v);
    }

    #[test]
    fn a_kind_action_sends_its_feature_only_for_a_missing_feature() {
        let f = fields(&[
            ("a0_type", "set_kind"),
            ("a0_kind", "missing_feature"),
            ("a0_feature", " Gift wrapping "),
            ("a1_type", "set_kind"),
            ("a1_kind", "bug"),
            ("a1_feature", "left in the hidden field"),
        ]);
        let rows = read_actions(&f);
        let v = actions_json(&rows);
        assert_eq!(
            v,
            json!([{"type":"set_kind","kind":"missing_feature","feature":"Gift wrapping"},{"type":"set_kind","kind":"bug"}])
        );
        let actions = crate::domain::rules::parse_actions(&v).unwrap();
        assert_eq!(actions_json(&rows_of(&actions)), v);
        let summary = action_summary(&actions, &dir());
        assert_eq!(summary[0].get_attr("text").unwrap().as_str(), Some("Gift wrapping"));
        assert_eq!(summary[1].get_attr("text_key").unwrap().as_str(), Some("kind-bug"));
    }

    #[test]
    fn faults_name_the_row_as_shown() {
        let f = fields(&[
            ("c0_field", "subject"),
            ("c1_field", "status"),
            ("c1_group", "any"),
            ("c2_field", "status"),
            ("c2_group", "any"),
        ]);
        let form = RuleForm::read(&f);
        assert!(form.mixed());
        assert_eq!(
            form.locate("conditions: any[1]: op: is required", "en"),
            "Condition 3: op: is required"
        );
        assert_eq!(
            form.locate("actions: [0]: type: is required", "en"),
            "Action 1: type: is required"
        );
        assert_eq!(form.locate("name: must not be empty", "en"), "name: must not be empty");
        let unknown = fields(&[("c0_field", "team_id"), ("c0_op", "is"), ("c0_value", "Nobody")]);
        let e = RuleForm::read(&unknown).to_json(&dir()).unwrap_err();
        assert!(e.contains("no team called 'Nobody'"), "{e}");
    }
}
