//! What happened, as the event log records it. An event names its kind
//! (`noun.verb`), what it is about, who did it and what changed; consumers
//! (realtime fan-out, search, the outbox, later rules and webhooks) act on
//! these and nothing else.

use serde::Serialize;
use serde_json::Value;

use super::ticket::string_enum;

string_enum!(
    /// The kinds of events. Names are `noun.verb`, as the feed shows them.
    EventType {
        TicketCreated => "ticket.created",
        TicketUpdated => "ticket.updated",
        MessageCreated => "message.created",
        ContactCreated => "contact.created",
        ContactUpdated => "contact.updated",
        MentionCreated => "mention.created",
        ArticleCreated => "article.created",
        ArticleUpdated => "article.updated",
        ArticleDeleted => "article.deleted",
        TicketsImported => "tickets.imported",
        SlaWarning => "sla.warning",
        SlaBreached => "sla.breached",
        AgentUpdated => "agent.updated",
        CsatAnswered => "csat.answered",
        NpsAnswered => "nps.answered",
        ReportsReset => "reports.reset",
        ContactMerged => "contact.merged",
        TicketMerged => "ticket.merged",
        TicketSplit => "ticket.split",
        WebhookDisabled => "webhook.disabled",
        CampaignCreated => "campaign.created",
        CampaignUpdated => "campaign.updated",
        CampaignDeleted => "campaign.deleted",
        // A site monitor's confirmed failure, recovery, or an expiry within its warning.
        MonitorDown => "monitor.down",
        MonitorUp => "monitor.up",
        MonitorExpiring => "monitor.expiring",
        // A blocked contact's message, stored and filed as spam: no
        // consumer routes, answers or announces it.
        MessageSpam => "message.spam",
        TimeLogged => "time.logged",
        TimeUpdated => "time.updated",
        TimeDeleted => "time.deleted",
        EstimateSet => "estimate.set",
        EstimateApproved => "estimate.approved",
        EstimateQuestioned => "estimate.questioned",
        // A subscription client used the warning share of a month's minutes.
        ClientBalanceLow => "client.balance_low",
        // A contact's personal data was erased; the event holds none.
        ContactErased => "contact.erased",
    }
);

/// Who made a change: an agent, a customer (by contact), the system itself
/// (timers, the mail intake's own decisions) or an automation rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum EventActor {
    Agent(i64),
    Contact(i64),
    System,
    Rule(i64),
}

impl EventActor {
    pub fn kind(self) -> &'static str {
        match self {
            EventActor::Agent(_) => "agent",
            EventActor::Contact(_) => "contact",
            EventActor::System => "system",
            EventActor::Rule(_) => "rule",
        }
    }

    pub fn id(self) -> Option<i64> {
        match self {
            EventActor::Agent(id) | EventActor::Contact(id) | EventActor::Rule(id) => Some(id),
            EventActor::System => None,
        }
    }

    pub fn from_parts(kind: &str, id: Option<i64>) -> Option<Self> {
        Some(match (kind, id) {
            ("agent", Some(id)) => EventActor::Agent(id),
            ("contact", Some(id)) => EventActor::Contact(id),
            ("rule", Some(id)) => EventActor::Rule(id),
            ("system", _) => EventActor::System,
            _ => return None,
        })
    }
}

/// An event about to be written, in the transaction of its change.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub workspace_id: i64,
    pub kind: EventType,
    pub actor: EventActor,
    pub ticket_id: Option<i64>,
    pub message_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub article_id: Option<i64>,
    /// What changed: a JSON object; for updates `{"field": {"from", "to"}}`.
    pub changes: Value,
}

impl NewEvent {
    pub fn new(workspace_id: i64, kind: EventType, actor: EventActor) -> Self {
        Self {
            workspace_id,
            kind,
            actor,
            ticket_id: None,
            message_id: None,
            contact_id: None,
            article_id: None,
            changes: Value::Object(Default::default()),
        }
    }

    pub fn ticket(mut self, id: i64) -> Self {
        self.ticket_id = Some(id);
        self
    }

    pub fn message(mut self, id: i64) -> Self {
        self.message_id = Some(id);
        self
    }

    pub fn contact(mut self, id: i64) -> Self {
        self.contact_id = Some(id);
        self
    }

    pub fn article(mut self, id: i64) -> Self {
        self.article_id = Some(id);
        self
    }

    pub fn changes(mut self, changes: Value) -> Self {
        self.changes = changes;
        self
    }
}

/// An event as the log holds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub id: i64,
    #[serde(skip)]
    pub workspace_id: i64,
    #[serde(rename = "type", serialize_with = "type_name")]
    pub kind: EventType,
    pub ticket_id: Option<i64>,
    pub message_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub article_id: Option<i64>,
    pub actor: EventActor,
    pub changes: Value,
    #[serde(serialize_with = "super::time::ser")]
    pub created_at: i64,
}

fn type_name<S: serde::Serializer>(t: &EventType, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(t.as_str())
}

/// `{"from": a, "to": b}`, the shape of one changed field.
pub fn change(from: impl Serialize, to: impl Serialize) -> Value {
    serde_json::json!({ "from": from, "to": to })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_serialise_with_their_kind() {
        assert_eq!(
            serde_json::to_value(EventActor::Agent(3)).unwrap(),
            serde_json::json!({"type": "agent", "id": 3})
        );
        assert_eq!(
            serde_json::to_value(EventActor::System).unwrap(),
            serde_json::json!({"type": "system"})
        );
        assert_eq!(EventActor::from_parts("contact", Some(9)), Some(EventActor::Contact(9)));
        assert_eq!(EventActor::from_parts("agent", None), None);
    }

    #[test]
    fn events_serialise_their_type_as_noun_verb() {
        let e = Event {
            id: 1,
            workspace_id: 1,
            kind: EventType::TicketCreated,
            ticket_id: Some(2),
            message_id: None,
            contact_id: None,
            article_id: None,
            actor: EventActor::System,
            changes: serde_json::json!({}),
            created_at: 0,
        };
        assert_eq!(serde_json::to_value(&e).unwrap()["type"], "ticket.created");
    }

    #[test]
    fn types_are_noun_verb() {
        for t in EventType::ALL {
            let (noun, verb) = t.as_str().split_once('.').unwrap();
            assert!(!noun.is_empty() && !verb.is_empty());
            assert_eq!(EventType::parse("type", t.as_str()).unwrap(), *t);
        }
    }
}
