//! Contacts, tickets and their messages.

use std::collections::HashMap;

use sqlx::{Any, Transaction};

use super::people::audit;
use super::query::{like_pattern, Sql};
use super::*;
use crate::domain::event::{change, Event, EventActor, EventType, NewEvent};
use crate::domain::ticket::{kind_and_feature, status_after_contact_message, Clock};
use crate::domain::{Actor, AuthorType, Channel, MessageKind, Priority, RequestKind, Status, TicketScope};

const TICKET_COLS: &str = "t.id, t.workspace_id, t.number, t.subject, t.status, t.priority, t.channel, t.contact_id, c.name AS contact_name, c.email AS contact_email, t.assignee_id, t.team_id, t.created_at, t.updated_at, t.last_message_at, t.first_response_at, t.resolved_at, t.snoozed_until, t.waiting_since, t.kind, t.feature, t.spam, t.merged_into";
const TICKET_FROM: &str = "FROM tickets t JOIN contacts c ON c.id = t.contact_id";
const MESSAGE_COLS: &str = "id, ticket_id, kind, author_type, author_id, body, html, external_id, created_at";

#[derive(sqlx::FromRow)]
struct TicketRow {
    id: i64,
    workspace_id: i64,
    number: i64,
    subject: String,
    status: String,
    priority: String,
    channel: String,
    contact_id: i64,
    contact_name: String,
    contact_email: Option<String>,
    assignee_id: Option<i64>,
    team_id: Option<i64>,
    created_at: i64,
    updated_at: i64,
    last_message_at: i64,
    first_response_at: Option<i64>,
    resolved_at: Option<i64>,
    snoozed_until: Option<i64>,
    waiting_since: Option<i64>,
    kind: Option<String>,
    feature: Option<String>,
    spam: i64,
    merged_into: Option<i64>,
    /// Only lists sorted by SLA select it.
    #[sqlx(default)]
    sla_due_at: Option<i64>,
}

/// A ticket's earliest running SLA due time, as a column of a list.
const SLA_DUE: &str = "(SELECT s.due_at FROM ticket_sla s WHERE s.ticket_id = t.id)";

fn corrupt(e: crate::domain::Invalid) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

impl TicketRow {
    fn into_ticket(self, labels: Vec<String>) -> Result<Ticket> {
        Ok(Ticket {
            id: self.id,
            workspace_id: self.workspace_id,
            number: self.number,
            subject: self.subject,
            status: Status::parse("status", &self.status).map_err(corrupt)?,
            priority: Priority::parse("priority", &self.priority).map_err(corrupt)?,
            channel: Channel::parse("channel", &self.channel).map_err(corrupt)?,
            contact: ContactSummary {
                id: self.contact_id,
                name: self.contact_name,
                email: self.contact_email,
            },
            assignee_id: self.assignee_id,
            team_id: self.team_id,
            labels,
            kind: self
                .kind
                .map(|k| RequestKind::parse("kind", &k))
                .transpose()
                .map_err(corrupt)?,
            feature: self.feature,
            created_at: self.created_at,
            updated_at: self.updated_at,
            last_message_at: self.last_message_at,
            first_response_at: self.first_response_at,
            resolved_at: self.resolved_at,
            snoozed_until: self.snoozed_until,
            waiting_since: self.waiting_since,
            spam: self.spam != 0,
            merged_into: self.merged_into,
        })
    }
}

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: i64,
    ticket_id: i64,
    kind: String,
    author_type: String,
    author_id: Option<i64>,
    body: String,
    html: Option<String>,
    external_id: Option<String>,
    created_at: i64,
}

impl TryFrom<MessageRow> for Message {
    type Error = StoreError;
    fn try_from(r: MessageRow) -> Result<Message> {
        Ok(Message {
            id: r.id,
            ticket_id: r.ticket_id,
            kind: MessageKind::parse("kind", &r.kind).map_err(corrupt)?,
            author_type: AuthorType::parse("author_type", &r.author_type).map_err(corrupt)?,
            author_id: r.author_id,
            body: r.body,
            html: r.html,
            external_id: r.external_id,
            created_at: r.created_at,
        })
    }
}

impl Store {
    /// Opens a ticket with its first message, finding or creating the
    /// contact by e-mail. With an `external_id` already used in the
    /// workspace it returns that ticket and `false` instead. Creates from
    /// concurrent requests are committed together (see `batch`).
    #[tracing::instrument(skip_all, fields(workspace_id))]
    pub async fn create_ticket(&self, workspace_id: i64, new: NewTicket) -> Result<(Opened, Vec<Event>)> {
        self.writer.create_ticket(workspace_id, new).await
    }

    /// A ticket the actor may see; any other (missing, another workspace's,
    /// another team's) is "not found" so ids reveal nothing.
    pub async fn ticket(&self, actor: &Actor, id: i64) -> Result<Ticket> {
        let mut conn = self.read.acquire().await?;
        let row: TicketRow = sqlx::query_as(&format!(
            "SELECT {TICKET_COLS} {TICKET_FROM} WHERE t.workspace_id = $1 AND t.id = $2"
        ))
        .bind(actor.workspace_id)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
        let labels = labels_of(&mut conn, &[row.id])
            .await?
            .remove(&row.id)
            .unwrap_or_default();
        let t = row.into_ticket(labels)?;
        if !actor.can_see(t.access()) {
            return Err(StoreError::NotFound);
        }
        Ok(t)
    }

    #[tracing::instrument(skip_all, fields(workspace_id = actor.workspace_id))]
    pub async fn list_tickets(&self, actor: &Actor, f: &TicketFilter) -> Result<Page<Ticket>> {
        let extra = if f.sort == TicketSort::SlaDue {
            format!(", {SLA_DUE} AS sla_due_at")
        } else {
            String::new()
        };
        let mut sql = Sql::new(&format!(
            "SELECT {TICKET_COLS}{extra} {TICKET_FROM} WHERE t.workspace_id = "
        ));
        let ws = sql.arg(actor.workspace_id);
        sql.push(&ws);
        if !actor.is_admin() {
            if let TicketScope::Teams(teams) = &actor.scope {
                let me = sql.arg(actor.user_id);
                if teams.is_empty() {
                    sql.push(&format!(" AND t.assignee_id = {me}"));
                } else {
                    let l = sql.list(teams.iter().copied());
                    sql.push(&format!(" AND (t.assignee_id = {me} OR t.team_id IN ({l}))"));
                }
            }
        }
        sql.push(if f.spam { " AND t.spam = 1" } else { " AND t.spam = 0" });
        if !f.statuses.is_empty() {
            let l = sql.list(f.statuses.iter().map(|s| s.as_str()));
            sql.push(&format!(" AND t.status IN ({l})"));
        }
        match f.assignee {
            Some(AssigneeFilter::Nobody) => {
                sql.push(" AND t.assignee_id IS NULL");
            }
            Some(AssigneeFilter::User(u)) => {
                let p = sql.arg(u);
                sql.push(&format!(" AND t.assignee_id = {p}"));
            }
            None => {}
        }
        if let Some(team) = f.team_id {
            let p = sql.arg(team);
            sql.push(&format!(" AND t.team_id = {p}"));
        }
        if let Some(p) = f.priority {
            let p = sql.arg(p.as_str());
            sql.push(&format!(" AND t.priority = {p}"));
        }
        if let Some(c) = f.channel {
            let p = sql.arg(c.as_str());
            sql.push(&format!(" AND t.channel = {p}"));
        }
        if let Some(k) = f.kind {
            let p = sql.arg(k.as_str());
            sql.push(&format!(" AND t.kind = {p}"));
        }
        if let Some(c) = f.contact_id {
            let p = sql.arg(c);
            sql.push(&format!(" AND t.contact_id = {p}"));
        }
        if let Some(label) = &f.label {
            let p = sql.arg(label.to_lowercase());
            sql.push(&format!(
                " AND EXISTS (SELECT 1 FROM ticket_labels l WHERE l.ticket_id = t.id AND l.label = {p})"
            ));
        }
        if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let number = q.strip_prefix('#').unwrap_or(q).parse::<i64>().ok();
            let cond = match self.search_tickets(actor.workspace_id, q).await {
                // The index only proposes tickets: access and every other
                // filter stay in this query. The number joins the id list
                // (rather than `OR t.number = N`) so the query stays a
                // lookup by id instead of a scan of the workspace.
                Some(ids) => {
                    let mut set = Vec::new();
                    if let Some(n) = number {
                        let p = sql.arg(n);
                        set.push(format!(
                            "(SELECT n.id FROM tickets n WHERE n.workspace_id = {ws} AND n.number = {p})"
                        ));
                    }
                    if !ids.is_empty() {
                        set.push(sql.list(ids));
                    }
                    if set.is_empty() {
                        "1 = 0".to_string()
                    } else {
                        format!("t.id IN ({})", set.join(", "))
                    }
                }
                // A store used without an app (the CLI, tests) has no index.
                None => {
                    let like = sql.arg(like_pattern(q));
                    let mut cond = format!(
                        "LOWER(t.subject) LIKE {like} ESCAPE '\\' OR LOWER(c.name) LIKE {like} ESCAPE '\\' OR LOWER(c.email) LIKE {like} ESCAPE '\\' \
                         OR EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = t.id AND m.kind <> 'event' AND LOWER(m.body) LIKE {like} ESCAPE '\\')"
                    );
                    if let Some(n) = number {
                        let p = sql.arg(n);
                        cond = format!("t.number = {p} OR {cond}");
                    }
                    cond
                }
            };
            sql.push(&format!(" AND ({cond})"));
        }
        let (key_col, dir, cmp) = match f.sort {
            TicketSort::Created => ("t.id", "DESC", "<"),
            TicketSort::Activity => ("t.last_message_at", "DESC", "<"),
            TicketSort::Waiting => ("t.waiting_since", "ASC", ">"),
            TicketSort::SlaDue => (SLA_DUE, "ASC", ">"),
        };
        if f.sort == TicketSort::Waiting {
            sql.push(" AND t.waiting_since IS NOT NULL");
        }
        if f.sort == TicketSort::SlaDue {
            sql.push(&format!(" AND {SLA_DUE} IS NOT NULL"));
        }
        // Back from a page: the same index range read the other way, then
        // put in the list's order.
        let backward = f.before.is_some();
        let (dir, cmp) = match (backward, dir) {
            (false, d) => (d, cmp),
            (true, "DESC") => ("ASC", ">"),
            (true, _) => ("DESC", "<"),
        };
        if let Some(c) = f.before.or(f.cursor) {
            // A row value keeps the comparison one index range on both
            // backends, so page 1000 costs what page 1 does.
            let k = sql.arg(c.key);
            let i = sql.arg(c.id);
            sql.push(&format!(" AND ({key_col}, t.id) {cmp} ({k}, {i})"));
        }
        let limit = f.limit.clamp(1, 200);
        let l = sql.arg(limit + 1);
        sql.push(&format!(" ORDER BY {key_col} {dir}, t.id {dir} LIMIT {l}"));

        let mut conn = self.read.acquire().await?;
        let mut rows: Vec<TicketRow> = sql.query_as().fetch_all(&mut *conn).await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        if backward {
            rows.reverse();
        }
        let cursor_of = |r: &TicketRow| {
            let key = match f.sort {
                TicketSort::Created => r.id,
                TicketSort::Activity => r.last_message_at,
                TicketSort::Waiting => r.waiting_since.unwrap_or_default(),
                TicketSort::SlaDue => r.sla_due_at.unwrap_or_default(),
            };
            Cursor { key, id: r.id }.encode()
        };
        // Going forward there is a later page when more rows came back;
        // coming back, there always is (the page we came from).
        let next_cursor = if more || backward {
            rows.last().map(cursor_of)
        } else {
            None
        };
        let prev_cursor = if (backward && more) || (!backward && f.cursor.is_some()) {
            rows.first().map(cursor_of)
        } else {
            None
        };
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut labels = labels_of(&mut conn, &ids).await?;
        let items = rows.into_iter().map(|r| {
            let l = labels.remove(&r.id).unwrap_or_default();
            r.into_ticket(l)
        });
        Ok(Page {
            items: items.collect::<Result<_>>()?,
            next_cursor,
            prev_cursor,
        })
    }

    /// Applies a change and writes a system event into the conversation for
    /// each thing that changed, all in one transaction.
    #[tracing::instrument(skip_all, fields(workspace_id = actor.workspace_id, ticket_id = id))]
    pub async fn update_ticket(&self, actor: &Actor, id: i64, patch: TicketPatch) -> Result<(Ticket, Vec<Event>)> {
        let mut tx = self.write.begin().await?;
        let before = load_ticket(&mut tx, actor.workspace_id, id, self.backend == Backend::Postgres).await?;
        if !actor.can_see(before.access()) {
            return Err(StoreError::NotFound);
        }
        let Some((ev, lines)) = update_in(&mut tx, Changer::Agent(actor), &before, patch).await? else {
            tx.rollback().await?;
            return Ok((before, vec![]));
        };
        audit(
            &mut tx,
            actor.workspace_id,
            Some(actor.user_id),
            "ticket.updated",
            "ticket",
            Some(id),
            &serde_json::json!({ "changes": lines }).to_string(),
            now_ms(),
        )
        .await?;
        let after = load_ticket(&mut tx, actor.workspace_id, id, false).await?;
        let logged = self.commit_with(tx, vec![ev]).await?;
        Ok((after, logged))
    }

    /// Adds a message to a ticket. An agent's message needs access to the
    /// ticket; a contact's message reopens a waiting or resolved ticket. A
    /// repeated `external_id` returns the stored message and `false`.
    #[tracing::instrument(skip_all, fields(workspace_id, ticket_id))]
    /// Agents named in a note (`mentions`) who may see the ticket are
    /// notified, in the same transaction.
    pub async fn add_message(
        &self,
        workspace_id: i64,
        actor: Option<&Actor>,
        ticket_id: i64,
        new: NewMessage,
        mentions: &[i64],
    ) -> Result<(Added, Vec<Event>)> {
        let mut tx = self.write.begin().await?;
        let t = load_ticket(&mut tx, workspace_id, ticket_id, self.backend == Backend::Postgres).await?;
        if actor.is_some_and(|a| !a.can_see(t.access())) {
            return Err(StoreError::NotFound);
        }
        let mut ev = Vec::new();
        let (message, created) = add_message_in(&mut tx, &t, new, &mut ev).await?;
        let mut mentioned = Vec::new();
        if created && message.kind == MessageKind::Note {
            if let Some(a) = actor {
                mentioned = self.mention_in(&mut tx, a, &t, message.id, mentions, &mut ev).await?;
            }
        }
        let after = if created {
            load_ticket(&mut tx, workspace_id, ticket_id, false).await?
        } else {
            t
        };
        let logged = self.commit_with(tx, ev).await?;
        Ok((
            Added {
                message,
                created,
                ticket: after,
                mentioned,
            },
            logged,
        ))
    }

    /// One message by id within a workspace, for event delivery.
    pub async fn message(&self, workspace_id: i64, id: i64) -> Result<Option<Message>> {
        let row: Option<MessageRow> = sqlx::query_as(&format!(
            "SELECT {MESSAGE_COLS} FROM messages WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(workspace_id)
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        row.map(Message::try_from).transpose()
    }

    /// Messages of a ticket the actor may see, oldest first, after `after_id`.
    pub async fn list_messages(
        &self,
        actor: &Actor,
        ticket_id: i64,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<Message>> {
        self.ticket(actor, ticket_id).await?;
        let rows: Vec<MessageRow> = sqlx::query_as(&format!("SELECT {MESSAGE_COLS} FROM messages WHERE workspace_id = $1 AND ticket_id = $2 AND id > $3 ORDER BY created_at, id LIMIT $4"))
            .bind(actor.workspace_id)
            .bind(ticket_id)
            .bind(after_id)
            .bind(limit.clamp(1, 500))
            .fetch_all(&self.read)
            .await?;
        rows.into_iter().map(Message::try_from).collect()
    }

    /// Names of missing features asked for in the workspace that start with
    /// `prefix` (any case), the most asked first: offered when an agent
    /// names one, so the same feature is counted under one name.
    pub async fn feature_names(&self, workspace_id: i64, prefix: &str, limit: i64) -> Result<Vec<String>> {
        // like_pattern matches anywhere; a prefix drops its leading `%`.
        let pattern = like_pattern(prefix.trim());
        Ok(sqlx::query_scalar(
            "SELECT feature FROM tickets WHERE workspace_id = $1 AND feature IS NOT NULL AND kind = 'missing_feature' \
             AND LOWER(feature) LIKE $2 ESCAPE '\\' GROUP BY feature ORDER BY COUNT(*) DESC, feature LIMIT $3",
        )
        .bind(workspace_id)
        .bind(&pattern[1..])
        .bind(limit.clamp(1, 50))
        .fetch_all(&self.read)
        .await?)
    }
}

async fn labels_of(conn: &mut sqlx::AnyConnection, ids: &[i64]) -> Result<HashMap<i64, Vec<String>>> {
    let mut out: HashMap<i64, Vec<String>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let mut sql = Sql::new("SELECT ticket_id, label FROM ticket_labels WHERE ticket_id IN (");
    let l = sql.list(ids.iter().copied());
    sql.push(&l).push(") ORDER BY label");
    let rows: Vec<(i64, String)> = sql.query_as().fetch_all(&mut *conn).await?;
    for (id, label) in rows {
        out.entry(id).or_default().push(label);
    }
    Ok(out)
}

async fn set_labels(tx: &mut Transaction<'_, Any>, workspace_id: i64, ticket_id: i64, labels: &[String]) -> Result<()> {
    for l in labels {
        sqlx::query("INSERT INTO ticket_labels (workspace_id, ticket_id, label) VALUES ($1, $2, $3)")
            .bind(workspace_id)
            .bind(ticket_id)
            .bind(l)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The name of a user of this workspace, or an error naming the bad id.
async fn ensure_user(tx: &mut Transaction<'_, Any>, workspace_id: i64, user_id: i64) -> Result<String> {
    let name: Option<String> =
        sqlx::query_scalar("SELECT name FROM users WHERE id = $1 AND workspace_id = $2 AND active = 1")
            .bind(user_id)
            .bind(workspace_id)
            .fetch_optional(&mut **tx)
            .await?;
    name.ok_or_else(|| {
        crate::domain::Invalid::new("assignee_id", format!("no active agent {user_id} in this workspace")).into()
    })
}

async fn find_or_create_contact(
    tx: &mut Transaction<'_, Any>,
    workspace_id: i64,
    c: &NewContact,
    now: i64,
    ev: &mut Vec<NewEvent>,
) -> Result<(ContactSummary, bool)> {
    if let Some(found) = contact_by_email(tx, workspace_id, c, now, ev).await? {
        return Ok(found);
    }
    let name = c.name.clone().unwrap_or_default();
    let id: i64 = sqlx::query_scalar("INSERT INTO contacts (workspace_id, name, email, attributes, created_at, updated_at) VALUES ($1, $2, $3, '{}', $4, $4) RETURNING id")
        .bind(workspace_id)
        .bind(&name)
        .bind(c.email.as_str())
        .bind(now)
        .fetch_one(&mut **tx)
        .await?;
    let claimed: Option<i64> = sqlx::query_scalar("INSERT INTO contact_identities (workspace_id, contact_id, channel, value, created_at) VALUES ($1, $2, 'email', $3, $4) ON CONFLICT DO NOTHING RETURNING contact_id")
        .bind(workspace_id)
        .bind(id)
        .bind(c.email.as_str())
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?;
    if claimed.is_some() {
        ev.push(
            NewEvent::new(workspace_id, EventType::ContactCreated, EventActor::Contact(id))
                .contact(id)
                .changes(serde_json::json!({ "name": &name, "email": c.email.as_str() })),
        );
        return Ok((
            ContactSummary {
                id,
                name,
                email: Some(c.email.to_string()),
            },
            false,
        ));
    }
    // A concurrent request (PostgreSQL) created this customer first: use
    // theirs and drop the duplicate made a moment ago.
    sqlx::query("DELETE FROM contacts WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    contact_by_email(tx, workspace_id, c, now, ev)
        .await?
        .ok_or_else(|| StoreError::Conflict("the contact changed during the request; retry".into()))
}

async fn contact_by_email(
    tx: &mut Transaction<'_, Any>,
    workspace_id: i64,
    c: &NewContact,
    now: i64,
    ev: &mut Vec<NewEvent>,
) -> Result<Option<(ContactSummary, bool)>> {
    let found: Option<(i64, String, Option<String>, Option<i64>)> = sqlx::query_as(
        "SELECT c.id, c.name, c.email, c.blocked_at FROM contact_identities i JOIN contacts c ON c.id = i.contact_id WHERE i.workspace_id = $1 AND i.channel = 'email' AND i.value = $2",
    )
    .bind(workspace_id)
    .bind(c.email.as_str())
    .fetch_optional(&mut **tx)
    .await?;
    let Some((id, mut name, email, blocked_at)) = found else {
        return Ok(None);
    };
    if name.is_empty() {
        if let Some(n) = c.name.as_deref().filter(|n| !n.is_empty()) {
            sqlx::query("UPDATE contacts SET name = $1, updated_at = $2 WHERE id = $3")
                .bind(n)
                .bind(now)
                .bind(id)
                .execute(&mut **tx)
                .await?;
            ev.push(
                NewEvent::new(workspace_id, EventType::ContactUpdated, EventActor::Contact(id))
                    .contact(id)
                    .changes(serde_json::json!({ "name": change("", n) })),
            );
            name = n.to_string();
        }
    }
    Ok(Some((ContactSummary { id, name, email }, blocked_at.is_some())))
}

pub(super) async fn insert_message(
    tx: &mut Transaction<'_, Any>,
    workspace_id: i64,
    ticket_id: i64,
    m: &NewMessage,
    now: i64,
) -> Result<Message> {
    let author_id = match m.author {
        Author::Agent(id) => Some(id),
        _ => None,
    };
    let row: MessageRow = sqlx::query_as(&format!(
        "INSERT INTO messages (workspace_id, ticket_id, kind, author_type, author_id, body, html, external_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {MESSAGE_COLS}"
    ))
    .bind(workspace_id)
    .bind(ticket_id)
    .bind(m.kind.as_str())
    .bind(m.author.kind().as_str())
    .bind(author_id)
    .bind(&m.body)
    .bind(m.html.as_deref())
    .bind(m.external_id.as_deref())
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| conflict_on_unique(e, "a message with this external_id exists"))?;
    row.try_into()
}

/// Writes one new ticket inside the caller's transaction.
pub(super) async fn create_in(
    tx: &mut Transaction<'_, Any>,
    workspace_id: i64,
    new: NewTicket,
    ev: &mut Vec<NewEvent>,
) -> Result<Opened> {
    let now = now_ms();
    if let Some(ext) = &new.external_id {
        let existing: Option<i64> =
            sqlx::query_scalar("SELECT id FROM tickets WHERE workspace_id = $1 AND external_id = $2")
                .bind(workspace_id)
                .bind(ext)
                .fetch_optional(&mut **tx)
                .await?;
        if let Some(id) = existing {
            let t = load_ticket(tx, workspace_id, id, false).await?;
            return Ok(Opened {
                ticket: t,
                created: false,
                message: None,
            });
        }
    }
    let (contact, blocked) = resolve_contact(tx, workspace_id, &new.contact, ev).await?;
    let contact_id = contact.id;
    if let Author::Agent(id) = new.author {
        ensure_user(tx, workspace_id, id).await?;
    }
    let spam = match blocked {
        Some(b) => new.author == Author::Contact && b,
        None => files_as_spam(tx, new.author, contact_id).await?,
    };
    // The counter row is locked from here to commit on PostgreSQL, so it
    // is taken as late as possible (after every read above).
    let number: i64 = sqlx::query_scalar("UPDATE workspaces SET next_ticket_number = next_ticket_number + 1 WHERE id = $1 RETURNING next_ticket_number - 1")
        .bind(workspace_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)?;
    let clock = Clock::default().on_message(MessageKind::Reply, new.author.kind(), now);
    let waiting_since = (new.author == Author::Contact && !spam).then_some(now);
    let (kind, feature) = kind_and_feature((None, None), Some(new.kind), Some(new.feature))?;
    let (id, team_id): (i64, Option<i64>) = sqlx::query_as(
        "INSERT INTO tickets (workspace_id, number, subject, status, priority, channel, contact_id, external_id, created_at, updated_at, last_message_at, first_response_at, reply_token, team_id, waiting_since, kind, feature, spam) \
         VALUES ($1, $2, $3, 'open', $4, $5, $6, $7, $8, $8, $8, $9, $10, (SELECT id FROM teams WHERE id = $11 AND workspace_id = $1), $12, $13, $14, $15) RETURNING id, team_id",
    )
    .bind(workspace_id)
    .bind(number)
    .bind(&new.subject)
    .bind(new.priority.as_str())
    .bind(new.channel.as_str())
    .bind(contact_id)
    .bind(new.external_id.as_deref())
    .bind(now)
    .bind(clock.first_response_at)
    .bind(super::mail::new_reply_token())
    .bind(new.team_id)
    .bind(waiting_since)
    .bind(kind.map(RequestKind::as_str))
    .bind(feature.as_deref())
    .bind(spam as i64)
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| conflict_on_unique(e, "a ticket with this external id exists"))?;
    let first = insert_message(
        tx,
        workspace_id,
        id,
        &NewMessage {
            kind: MessageKind::Reply,
            author: new.author,
            body: new.body,
            html: None,
            external_id: new.message_external_id,
            files: vec![],
        },
        now,
    )
    .await?;
    set_labels(tx, workspace_id, id, &new.labels).await?;
    let actor = event_actor(new.author, contact_id);
    if spam {
        ev.push(spam_event(workspace_id, new.channel, contact_id, &first));
    } else {
        ev.push(NewEvent::new(workspace_id, EventType::TicketCreated, actor).ticket(id).message(first.id).contact(contact_id).changes(serde_json::json!({
        "channel": new.channel, "subject": &new.subject, "status": Status::Open, "priority": new.priority, "team_id": team_id, "labels": &new.labels,
        "kind": kind, "feature": &feature,
    })));
        ev.push(message_event(workspace_id, new.channel, contact_id, &first));
    }
    // Built from what was written rather than read back: on SQLite every
    // statement on the single writer costs all writers time. The ticket
    // row itself records its creation, so no audit row is needed.
    let t = Ticket {
        id,
        workspace_id,
        number,
        subject: new.subject,
        status: Status::Open,
        priority: new.priority,
        channel: new.channel,
        contact,
        assignee_id: None,
        team_id,
        labels: new.labels,
        kind,
        feature,
        created_at: now,
        updated_at: now,
        last_message_at: now,
        first_response_at: clock.first_response_at,
        resolved_at: None,
        snoozed_until: None,
        waiting_since,
        spam,
        merged_into: None,
    };
    Ok(Opened {
        ticket: t,
        created: true,
        message: Some(first),
    })
}

/// Who changes a ticket's fields: an agent (within what they may do) or an
/// automation rule (whatever its actions say, named in each event line).
#[derive(Clone, Copy)]
pub(super) enum Changer<'a> {
    Agent(&'a Actor),
    Rule {
        id: i64,
        name: &'a str,
    },
    /// The router sharing a team's queue out (or taking a chat back).
    Routing,
    /// A site monitor resolving its incident on recovery.
    Monitor,
}

/// Changes a loaded (on PostgreSQL locked) ticket inside the caller's
/// transaction, writing an event line for each change. Returns the
/// `ticket.updated` event and the lines, or nothing when nothing changed.
pub(super) async fn update_in(
    tx: &mut Transaction<'_, Any>,
    by: Changer<'_>,
    before: &Ticket,
    patch: TicketPatch,
) -> Result<Option<(NewEvent, Vec<String>)>> {
    let now = now_ms();
    let (ws, id) = (before.workspace_id, before.id);
    let mut events: Vec<String> = Vec::new();
    let mut changes = serde_json::Map::new();
    // Checked first: a feature refused for its kind changes nothing.
    let (kind, feature) = kind_and_feature((before.kind, before.feature.as_deref()), patch.kind, patch.feature)?;
    let mut sets = Sql::new("UPDATE tickets SET updated_at = ");
    let p = sets.arg(now);
    sets.push(&p);
    if let Some(subject) = patch.subject.filter(|s| *s != before.subject) {
        events.push(format!("Subject changed to \"{subject}\""));
        changes.insert("subject".into(), change(&before.subject, &subject));
        let p = sets.arg(subject);
        sets.push(&format!(", subject = {p}"));
    }
    if let Some(status) = patch.status.filter(|s| *s != before.status) {
        events.push(format!("Status changed from {} to {}", before.status, status));
        changes.insert("status".into(), change(before.status, status));
        let clock = Clock {
            first_response_at: before.first_response_at,
            resolved_at: before.resolved_at,
        }
        .on_status(before.status, status, now);
        let p = sets.arg(status.as_str());
        sets.push(&format!(", status = {p}, resolved_at = "));
        match clock.resolved_at {
            Some(r) => {
                let p = sets.arg(r);
                sets.push(&p);
            }
            None => {
                sets.push("NULL");
            }
        }
    }
    if let Some(priority) = patch.priority.filter(|p| *p != before.priority) {
        events.push(format!("Priority changed from {} to {}", before.priority, priority));
        changes.insert("priority".into(), change(before.priority, priority));
        let p = sets.arg(priority.as_str());
        sets.push(&format!(", priority = {p}"));
    }
    if let Some(assignee) = patch.assignee_id.filter(|a| *a != before.assignee_id) {
        changes.insert("assignee_id".into(), change(before.assignee_id, assignee));
        match assignee {
            Some(uid) => {
                let name = ensure_user(tx, ws, uid).await?;
                events.push(format!("Assigned to {name}"));
                // Told in the console, and by mail if not seen soon.
                if !matches!(by, Changer::Agent(a) if a.user_id == uid) {
                    let author = match by {
                        Changer::Agent(a) => Some(a.user_id),
                        _ => None,
                    };
                    sqlx::query("INSERT INTO notifications (workspace_id, user_id, ticket_id, message_id, author_id, created_at, kind) VALUES ($1, $2, $3, NULL, $4, $5, 'assignment')")
                        .bind(ws)
                        .bind(uid)
                        .bind(id)
                        .bind(author)
                        .bind(now)
                        .execute(&mut **tx)
                        .await?;
                }
                let p = sets.arg(uid);
                sets.push(&format!(", assignee_id = {p}"));
            }
            None => {
                events.push("Unassigned".to_string());
                sets.push(", assignee_id = NULL");
            }
        }
    }
    if let Some(team) = patch.team_id.filter(|t| *t != before.team_id) {
        if matches!(by, Changer::Agent(a) if !a.can_move_to_team(team)) {
            return Err(StoreError::Invalid(crate::domain::Invalid::new(
                "team_id",
                "you can only move a ticket to one of your own teams",
            )));
        }
        changes.insert("team_id".into(), change(before.team_id, team));
        match team {
            Some(tid) => {
                let name: String = sqlx::query_scalar("SELECT name FROM teams WHERE id = $1 AND workspace_id = $2")
                    .bind(tid)
                    .bind(ws)
                    .fetch_optional(&mut **tx)
                    .await?
                    .ok_or_else(|| {
                        crate::domain::Invalid::new("team_id", format!("no team {tid} in this workspace"))
                    })?;
                events.push(format!("Moved to team {name}"));
                let p = sets.arg(tid);
                sets.push(&format!(", team_id = {p}"));
            }
            None => {
                events.push("Removed from team".to_string());
                sets.push(", team_id = NULL");
            }
        }
    }
    if let Some(labels) = patch.labels.filter(|l| *l != before.labels) {
        changes.insert("labels".into(), change(&before.labels, &labels));
        events.push(if labels.is_empty() {
            "Labels cleared".to_string()
        } else {
            format!("Labels set to {}", labels.join(", "))
        });
        sqlx::query("DELETE FROM ticket_labels WHERE ticket_id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        set_labels(tx, ws, id, &labels).await?;
    }
    if kind != before.kind {
        events.push(match kind {
            Some(k) => format!("Kind set to {}", k.label()),
            None => "Kind cleared".to_string(),
        });
        changes.insert("kind".into(), change(before.kind, kind));
        match kind {
            Some(k) => {
                let p = sets.arg(k.as_str());
                sets.push(&format!(", kind = {p}"));
            }
            None => {
                sets.push(", kind = NULL");
            }
        }
    }
    if feature != before.feature {
        events.push(match &feature {
            Some(f) => format!("Feature: {f}"),
            None => "Feature cleared".to_string(),
        });
        changes.insert("feature".into(), change(&before.feature, &feature));
        match feature {
            Some(f) => {
                let p = sets.arg(f);
                sets.push(&format!(", feature = {p}"));
            }
            None => {
                sets.push(", feature = NULL");
            }
        }
    }
    match patch.snoozed_until {
        Some(Some(until)) if until > now => {
            // Read by people: the console shows it in the agent's zone.
            let at = crate::domain::time::rfc3339(until);
            events.push(format!("Snoozed until {} {} UTC", &at[..10], &at[11..16]));
            changes.insert(
                "snoozed_until".into(),
                change(
                    before.snoozed_until.map(crate::domain::time::rfc3339),
                    crate::domain::time::rfc3339(until),
                ),
            );
            let p = sets.arg(until);
            sets.push(&format!(", snoozed_until = {p}"));
            if patch.status.is_none() && before.status != Status::Pending {
                events.push(format!("Status changed from {} to {}", before.status, Status::Pending));
                changes.insert("status".into(), change(before.status, Status::Pending));
                sets.push(", status = 'pending', resolved_at = NULL");
            }
        }
        Some(Some(_)) => {
            return Err(StoreError::Invalid(crate::domain::Invalid::new(
                "snoozed_until",
                "must be in the future",
            )))
        }
        Some(None) if before.snoozed_until.is_some() => {
            events.push("Snooze cleared".to_string());
            changes.insert(
                "snoozed_until".into(),
                change(before.snoozed_until.map(crate::domain::time::rfc3339), None::<String>),
            );
            sets.push(", snoozed_until = NULL");
        }
        _ if patch.status.is_some_and(|s| s != before.status) && before.snoozed_until.is_some() => {
            sets.push(", snoozed_until = NULL");
        }
        _ => {}
    }
    if events.is_empty() {
        return Ok(None);
    }
    let p = sets.arg(id);
    sets.push(&format!(" WHERE id = {p}"));
    sets.query().execute(&mut **tx).await?;
    let (author, actor, prefix) = match by {
        Changer::Agent(a) => (Author::Agent(a.user_id), EventActor::Agent(a.user_id), String::new()),
        Changer::Rule { id, name } => (Author::System, EventActor::Rule(id), format!("Rule \"{name}\": ")),
        Changer::Routing => (Author::System, EventActor::System, "Routing: ".to_string()),
        Changer::Monitor => (Author::System, EventActor::System, "Monitor: ".to_string()),
    };
    for e in &events {
        insert_message(
            tx,
            ws,
            id,
            &NewMessage {
                kind: MessageKind::Event,
                author,
                body: format!("{prefix}{e}"),
                html: None,
                external_id: None,
                files: vec![],
            },
            now,
        )
        .await?;
    }
    let ev = NewEvent::new(ws, EventType::TicketUpdated, actor)
        .ticket(id)
        .contact(before.contact.id)
        .changes(changes.into());
    Ok(Some((ev, events)))
}

/// The customer of a new ticket, found or made by e-mail, and whether
/// they are blocked when that was read on the way (None: not read).
pub(super) async fn resolve_contact(
    tx: &mut Transaction<'_, Any>,
    workspace_id: i64,
    contact: &TicketContact,
    ev: &mut Vec<NewEvent>,
) -> Result<(ContactSummary, Option<bool>)> {
    match contact {
        TicketContact::Email(c) => find_or_create_contact(tx, workspace_id, c, now_ms(), ev)
            .await
            .map(|(c, blocked)| (c, Some(blocked))),
        TicketContact::Known(c) => Ok((c.clone(), None)),
        TicketContact::Checked(c, blocked) => Ok((c.clone(), Some(*blocked))),
    }
}

/// Who an event names for a message's author on a ticket of `contact_id`.
fn event_actor(author: Author, contact_id: i64) -> EventActor {
    match author {
        Author::Agent(id) => EventActor::Agent(id),
        Author::Contact => EventActor::Contact(contact_id),
        Author::System => EventActor::System,
    }
}

pub(super) fn message_event(workspace_id: i64, channel: Channel, contact_id: i64, m: &Message) -> NewEvent {
    let actor = match m.author_id {
        Some(id) => EventActor::Agent(id),
        None if m.author_type == crate::domain::AuthorType::Contact => EventActor::Contact(contact_id),
        None => EventActor::System,
    };
    NewEvent::new(workspace_id, EventType::MessageCreated, actor)
        .ticket(m.ticket_id)
        .message(m.id)
        .contact(contact_id)
        .changes(serde_json::json!({ "kind": m.kind, "channel": channel }))
}

/// The one check every channel passes: mail, chat, forms, the private page,
/// the portal and any messenger record a contact's words through
/// `create_in` or `add_message_in`, and both ask here whether the writer
/// is a blocked contact, whose message is then filed as spam.
async fn files_as_spam(tx: &mut Transaction<'_, Any>, author: Author, contact_id: i64) -> Result<bool> {
    if author != Author::Contact {
        return Ok(false);
    }
    let blocked: Option<Option<i64>> = sqlx::query_scalar("SELECT blocked_at FROM contacts WHERE id = $1")
        .bind(contact_id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(blocked.flatten().is_some())
}

/// Instead of `ticket.created`/`message.created` (which route, answer,
/// notify and count), a blocked contact's message logs only this.
fn spam_event(workspace_id: i64, channel: Channel, contact_id: i64, m: &Message) -> NewEvent {
    NewEvent::new(workspace_id, EventType::MessageSpam, EventActor::Contact(contact_id))
        .ticket(m.ticket_id)
        .message(m.id)
        .contact(contact_id)
        .changes(serde_json::json!({ "channel": channel }))
}

/// Reads a ticket inside a transaction; `lock` (PostgreSQL only: SQLite has
/// one writer at a time and no FOR UPDATE) takes its row lock.
pub(super) async fn load_ticket(
    tx: &mut Transaction<'_, Any>,
    workspace_id: i64,
    id: i64,
    lock: bool,
) -> Result<Ticket> {
    let lock = if lock { " FOR UPDATE OF t" } else { "" };
    let row: TicketRow = sqlx::query_as(&format!(
        "SELECT {TICKET_COLS} {TICKET_FROM} WHERE t.workspace_id = $1 AND t.id = $2{lock}"
    ))
    .bind(workspace_id)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(StoreError::NotFound)?;
    let labels = labels_of(tx, &[id]).await?.remove(&id).unwrap_or_default();
    row.into_ticket(labels)
}

/// Adds a message to a loaded (and, on PostgreSQL, locked) ticket inside the
/// caller's transaction and keeps the ticket's clocks and status in step.
pub(super) async fn add_message_in(
    tx: &mut Transaction<'_, Any>,
    t: &Ticket,
    new: NewMessage,
    ev: &mut Vec<NewEvent>,
) -> Result<(Message, bool)> {
    let now = now_ms();
    if let Some(ext) = &new.external_id {
        let existing: Option<MessageRow> = sqlx::query_as(&format!(
            "SELECT {MESSAGE_COLS} FROM messages WHERE workspace_id = $1 AND external_id = $2"
        ))
        .bind(t.workspace_id)
        .bind(ext)
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(m) = existing {
            if m.ticket_id != t.id {
                return Err(StoreError::Conflict(
                    "this external_id belongs to a message of another ticket".into(),
                ));
            }
            return Ok((m.try_into()?, false));
        }
    }
    let msg = insert_message(tx, t.workspace_id, t.id, &new, now).await?;
    super::mail::insert_attachments(tx, t.workspace_id, msg.id, t.contact.id, &new.files).await?;
    if files_as_spam(tx, new.author, t.contact.id).await? {
        // Kept, but the conversation leaves the inbox; its status, clocks
        // and wait stay as they were and no consumer hears of it.
        sqlx::query("UPDATE tickets SET spam = 1, updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(t.id)
            .execute(&mut **tx)
            .await?;
        ev.push(spam_event(t.workspace_id, t.channel, t.contact.id, &msg));
        return Ok((msg, true));
    }
    let clock = Clock {
        first_response_at: t.first_response_at,
        resolved_at: t.resolved_at,
    }
    .on_message(new.kind, new.author.kind(), now);
    let status = if new.author == Author::Contact {
        status_after_contact_message(t.status)
    } else {
        t.status
    };
    let clock = clock.on_status(t.status, status, now);
    let public = new.kind == MessageKind::Reply;
    // A customer's word starts (or continues) their wait and wakes a
    // snoozed ticket; an agent's reply ends the wait.
    let (waiting_since, snoozed_until) = match (public, new.author) {
        (true, Author::Contact) => (t.waiting_since.or(Some(now)), None),
        (true, Author::Agent(_)) => (None, t.snoozed_until),
        _ => (t.waiting_since, t.snoozed_until),
    };
    sqlx::query(
        "UPDATE tickets SET updated_at = $1, last_message_at = CASE WHEN $2 = 1 THEN $1 ELSE last_message_at END, first_response_at = $3, status = $4, resolved_at = $5, waiting_since = $6, snoozed_until = $7 WHERE id = $8",
    )
    .bind(now)
    .bind(public as i64)
    .bind(clock.first_response_at)
    .bind(status.as_str())
    .bind(clock.resolved_at)
    .bind(waiting_since)
    .bind(snoozed_until)
    .bind(t.id)
    .execute(&mut **tx)
    .await?;
    if new.kind != MessageKind::Event {
        ev.push(message_event(t.workspace_id, t.channel, t.contact.id, &msg));
    }
    if status != t.status {
        insert_message(
            tx,
            t.workspace_id,
            t.id,
            &NewMessage {
                kind: MessageKind::Event,
                author: Author::System,
                body: format!("Reopened by the customer ({} → {})", t.status, status),
                html: None,
                external_id: None,
                files: vec![],
            },
            now,
        )
        .await?;
        ev.push(
            NewEvent::new(
                t.workspace_id,
                EventType::TicketUpdated,
                event_actor(new.author, t.contact.id),
            )
            .ticket(t.id)
            .contact(t.contact.id)
            .changes(serde_json::json!({ "status": change(t.status, status) })),
        );
    }
    Ok((msg, true))
}
