//! What the store takes and gives back. Values are already validated by
//! the domain; the store only checks what needs the database (does this
//! agent belong to this workspace?).

use serde::Serialize;

use crate::domain::{AuthorType, Channel, Email, MessageKind, Priority, RequestKind, Role, Status};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Workspace {
    pub id: i64,
    pub slug: String,
    pub name: String,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: i64,
    #[serde(skip)]
    pub workspace_id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// "all" or "teams": a team-restricted agent sees only their teams' tickets.
    pub ticket_scope: String,
    pub active: bool,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: Email,
    pub name: String,
    pub role: Role,
    pub teams_only: bool,
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Team {
    pub id: i64,
    pub name: String,
    pub member_ids: Vec<i64>,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ContactSummary {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Ticket {
    pub id: i64,
    #[serde(skip)]
    pub workspace_id: i64,
    pub number: i64,
    pub subject: String,
    pub status: Status,
    pub priority: Priority,
    pub channel: Channel,
    pub contact: ContactSummary,
    pub assignee_id: Option<i64>,
    pub team_id: Option<i64>,
    pub labels: Vec<String>,
    pub kind: Option<RequestKind>,
    /// Named only on a missing-feature ticket.
    pub feature: Option<String>,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub created_at: i64,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub updated_at: i64,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub last_message_at: i64,
    #[serde(serialize_with = "crate::domain::time::ser_opt")]
    pub first_response_at: Option<i64>,
    #[serde(serialize_with = "crate::domain::time::ser_opt")]
    pub resolved_at: Option<i64>,
    /// While set (and in the future) the ticket waits as pending.
    #[serde(serialize_with = "crate::domain::time::ser_opt")]
    pub snoozed_until: Option<i64>,
    /// Since when the customer has waited for an answer.
    #[serde(serialize_with = "crate::domain::time::ser_opt")]
    pub waiting_since: Option<i64>,
    /// Filed as spam (its contact is blocked): kept, but out of the inbox.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub spam: bool,
    /// The ticket this one was merged into.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<i64>,
}

impl Ticket {
    pub fn access(&self) -> crate::domain::access::TicketAccess {
        crate::domain::access::TicketAccess {
            team_id: self.team_id,
            assignee_id: self.assignee_id,
            status: self.status,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub id: i64,
    pub ticket_id: i64,
    pub kind: MessageKind,
    pub author_type: AuthorType,
    pub author_id: Option<i64>,
    pub body: String,
    pub html: Option<String>,
    pub external_id: Option<String>,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub created_at: i64,
}

/// Who writes a message: an agent of the workspace, the ticket's contact,
/// or the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author {
    Agent(i64),
    Contact,
    System,
}

impl Author {
    pub fn kind(self) -> AuthorType {
        match self {
            Author::Agent(_) => AuthorType::Agent,
            Author::Contact => AuthorType::Contact,
            Author::System => AuthorType::System,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewContact {
    pub email: Email,
    pub name: Option<String>,
}

/// The customer of a new ticket: found or made by e-mail, or already known
/// (a chat visitor, a messenger user).
#[derive(Debug, Clone)]
pub enum TicketContact {
    Email(NewContact),
    Known(ContactSummary),
    /// Found in the same transaction, with whether they are blocked (so
    /// the ticket need not read the contact again).
    Checked(ContactSummary, bool),
}

#[derive(Debug, Clone)]
pub struct NewTicket {
    pub subject: String,
    pub body: String,
    pub contact: TicketContact,
    pub channel: Channel,
    pub priority: Priority,
    pub labels: Vec<String>,
    /// Written by the contact (a customer's request) or by an agent (an
    /// outbound ticket).
    pub author: Author,
    /// A caller's key that makes a retried create return the first ticket.
    pub external_id: Option<String>,
    /// The first message's own idempotency key (a chat client id).
    pub message_external_id: Option<String>,
    /// The team the ticket starts with (a form's help topic routes it).
    pub team_id: Option<i64>,
    pub kind: Option<RequestKind>,
    /// Only with `kind` missing_feature (see `domain::ticket::kind_and_feature`).
    pub feature: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewMessage {
    pub kind: MessageKind,
    pub author: Author,
    pub body: String,
    pub html: Option<String>,
    /// Makes a resend idempotent: a second message with the same id in the
    /// workspace returns the first one.
    pub external_id: Option<String>,
    /// Files written with the message, in its transaction: (name, content
    /// type, bytes). A mail or chat it sends carries them.
    pub files: Vec<(String, String, Vec<u8>)>,
}

/// A change to a ticket; `None` leaves a field as it is. For the nullable
/// fields the inner `None` clears them.
#[derive(Debug, Clone, Default)]
pub struct TicketPatch {
    pub subject: Option<String>,
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    pub assignee_id: Option<Option<i64>>,
    pub team_id: Option<Option<i64>>,
    pub labels: Option<Vec<String>>,
    /// Snooze until a time (the ticket turns pending), or wake it now.
    pub snoozed_until: Option<Option<i64>>,
    pub kind: Option<Option<RequestKind>>,
    /// Checked against the kind the ticket ends up with.
    pub feature: Option<Option<String>>,
}

impl TicketPatch {
    pub fn is_empty(&self) -> bool {
        self.subject.is_none()
            && self.status.is_none()
            && self.priority.is_none()
            && self.assignee_id.is_none()
            && self.team_id.is_none()
            && self.labels.is_none()
            && self.snoozed_until.is_none()
            && self.kind.is_none()
            && self.feature.is_none()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssigneeFilter {
    Nobody,
    User(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TicketSort {
    /// Newest ticket first.
    #[default]
    Created,
    /// Most recent message first.
    Activity,
    /// Longest-waiting customer first; only tickets that await an answer.
    Waiting,
    /// The SLA due soonest (overdue first); only tickets whose clocks run.
    SlaDue,
}

#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub statuses: Vec<Status>,
    pub assignee: Option<AssigneeFilter>,
    pub team_id: Option<i64>,
    pub priority: Option<Priority>,
    pub channel: Option<Channel>,
    pub label: Option<String>,
    pub kind: Option<RequestKind>,
    pub contact_id: Option<i64>,
    /// Matches the number (`42` or `#42`), the subject, the contact's name
    /// or e-mail, and message text.
    pub q: Option<String>,
    pub sort: TicketSort,
    pub cursor: Option<Cursor>,
    /// The page before this cursor (a `prev_cursor`), for paging back.
    pub before: Option<Cursor>,
    pub limit: i64,
    /// Only tickets filed as spam (else only those that are not).
    pub spam: bool,
}

/// Where the previous page ended: the sort key and id of its last ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub key: i64,
    pub id: i64,
}

impl Cursor {
    pub fn encode(self) -> String {
        format!("{}.{}", self.key, self.id)
    }

    pub fn decode(raw: &str) -> Option<Self> {
        let (k, i) = raw.split_once('.')?;
        Some(Cursor {
            key: k.parse().ok()?,
            id: i.parse().ok()?,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
    /// Pass as `before` for the page before this one; None on the first.
    pub prev_cursor: Option<String>,
}

/// A ticket opened (or, for a repeated external id, found).
#[derive(Debug, Clone)]
pub struct Opened {
    pub ticket: Ticket,
    /// False when the external id was used before: nothing new stored.
    pub created: bool,
    /// The first message, when the ticket is new.
    pub message: Option<Message>,
}

/// A message added to a ticket.
#[derive(Debug, Clone)]
pub struct Added {
    pub message: Message,
    /// False when the external id was used before: nothing new stored.
    pub created: bool,
    /// The ticket after the message (status and clocks moved).
    pub ticket: Ticket,
    /// Agents named in a note and told about it.
    pub mentioned: Vec<i64>,
}
