//! Tickets and their messages.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::domain::ids::{TicketId, WorkspaceId};
use crate::domain::ticket::{
    kind_and_feature, normalize_feature, normalize_labels, PostKind, BODY_MAX, NAME_MAX, SUBJECT_MAX,
};
use crate::domain::{optional_text, required_text, Actor, Channel, Email, Invalid, Priority, RequestKind, Status};
use crate::error::{ApiResult, AppError};
use crate::http::extract::{nullable, parse_id, ApiJson, ApiQuery};
use crate::store::{
    AssigneeFilter, Cursor, NewContact, NewTicket, Opened, TicketContact, TicketFilter, TicketPatch, TicketSort,
};

const EXTERNAL_ID_MAX: usize = 200;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTicket {
    subject: String,
    message: String,
    contact: ContactIn,
    #[serde(default)]
    priority: Option<String>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    labels: Vec<String>,
    /// "contact" (default: the customer wrote it) or "agent" (outbound).
    #[serde(default)]
    author: Option<String>,
    #[serde(default)]
    external_id: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    /// Only with kind missing_feature.
    #[serde(default)]
    feature: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactIn {
    email: String,
    #[serde(default)]
    name: Option<String>,
}

fn external_id(raw: Option<String>) -> Result<Option<String>, Invalid> {
    raw.map(|e| required_text("external_id", &e, EXTERNAL_ID_MAX))
        .transpose()
}

pub async fn create(
    State(s): State<AppState>,
    actor: Actor,
    headers: axum::http::HeaderMap,
    ApiJson(b): ApiJson<CreateTicket>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    // An Idempotency-Key header works like external_id: a retry returns the
    // ticket the first attempt made.
    let key = headers
        .get("idempotency-key")
        .map(|v| {
            v.to_str()
                .map(str::to_string)
                .map_err(|_| Invalid::new("Idempotency-Key", "must be visible ASCII"))
        })
        .transpose()?;
    let (kind, feature) = kind_and_feature(
        (None, None),
        Some(b.kind.map(|k| RequestKind::parse("kind", &k)).transpose()?),
        Some(b.feature.map(|f| normalize_feature(&f)).transpose()?),
    )?;
    let new = NewTicket {
        subject: required_text("subject", &b.subject, SUBJECT_MAX)?,
        body: required_text("message", &b.message, BODY_MAX)?,
        contact: TicketContact::Email(NewContact {
            email: Email::parse("contact.email", &b.contact.email)?,
            name: b
                .contact
                .name
                .map(|n| optional_text("contact.name", n.trim(), NAME_MAX))
                .transpose()?,
        }),
        channel: b
            .channel
            .map(|c| Channel::parse("channel", &c))
            .transpose()?
            .unwrap_or(Channel::Api),
        priority: b
            .priority
            .map(|p| Priority::parse("priority", &p))
            .transpose()?
            .unwrap_or(Priority::Normal),
        labels: normalize_labels(&b.labels)?,
        author: match b.author.as_deref() {
            None | Some("contact") => crate::store::Author::Contact,
            Some("agent") => crate::store::Author::Agent(actor.user_id),
            Some(other) => {
                return Err(Invalid::new(
                    "author",
                    format!(
                        "'{}' is not one of: contact, agent",
                        other.chars().take(40).collect::<String>()
                    ),
                )
                .into())
            }
        },
        external_id: external_id(b.external_id.or(key))?,
        message_external_id: None,
        team_id: None,
        kind,
        feature,
    };
    let Opened { ticket, created, .. } = s.svc.open_ticket(WorkspaceId(actor.workspace_id), new).await?;
    let code = if created { StatusCode::CREATED } else { StatusCode::OK };
    if !actor.can_see(ticket.access()) {
        // A restricted agent may open a ticket they then cannot see; the
        // ticket exists, but its details stay with the teams that own it.
        return Ok((
            code,
            Json(json!({ "id": ticket.id, "number": ticket.number, "status": ticket.status })),
        ));
    }
    Ok((code, Json(json!(ticket))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    status: Option<String>,
    assignee: Option<String>,
    team: Option<i64>,
    priority: Option<String>,
    channel: Option<String>,
    label: Option<String>,
    kind: Option<String>,
    contact: Option<i64>,
    q: Option<String>,
    sort: Option<String>,
    cursor: Option<String>,
    before: Option<String>,
    limit: Option<i64>,
    /// `true`: the tickets filed as spam instead of the inbox.
    spam: Option<bool>,
}

pub async fn list(
    State(s): State<AppState>,
    actor: Actor,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<Value>> {
    let statuses = match p.status.as_deref() {
        None | Some("") | Some("all") => vec![],
        Some(list) => list
            .split(',')
            .map(|v| Status::parse("status", v.trim()))
            .collect::<Result<_, _>>()?,
    };
    let assignee = match p.assignee.as_deref() {
        None | Some("") | Some("any") => None,
        Some("me") => Some(AssigneeFilter::User(actor.user_id)),
        Some("none") => Some(AssigneeFilter::Nobody),
        Some(id) => {
            Some(AssigneeFilter::User(id.parse().map_err(|_| {
                Invalid::new("assignee", "use an agent id, 'me', 'none' or 'any'")
            })?))
        }
    };
    let sort = match p.sort.as_deref() {
        None | Some("created") => TicketSort::Created,
        Some("activity") => TicketSort::Activity,
        Some("waiting") => TicketSort::Waiting,
        Some("sla") => TicketSort::SlaDue,
        Some(_) => return Err(Invalid::new("sort", "use 'created', 'activity', 'waiting' or 'sla'").into()),
    };
    let limit = p.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Invalid::new("limit", "must be between 1 and 200").into());
    }
    let filter = TicketFilter {
        statuses,
        assignee,
        team_id: p.team,
        priority: p.priority.map(|v| Priority::parse("priority", &v)).transpose()?,
        channel: p.channel.map(|v| Channel::parse("channel", &v)).transpose()?,
        label: p.label,
        kind: p.kind.map(|v| RequestKind::parse("kind", &v)).transpose()?,
        contact_id: p.contact,
        q: p.q.map(|q| optional_text("q", &q, 200)).transpose()?,
        sort,
        cursor: p.cursor.as_deref().map(cursor).transpose()?,
        before: p.before.as_deref().map(cursor).transpose()?,
        limit,
        spam: p.spam.unwrap_or(false),
    };
    let page = s.store.list_tickets(&actor, &filter).await?;
    let mut out = json!(page);
    let ids: Vec<i64> = page.items.iter().map(|t| t.id).collect();
    let mut slas = s.store.sla_views(actor.workspace_id, &ids).await?;
    if let Some(items) = out["items"].as_array_mut() {
        for (item, t) in items.iter_mut().zip(&page.items) {
            if let Some(sla) = slas.remove(&t.id) {
                item["sla"] = json!(sla);
            }
        }
    }
    Ok(Json(out))
}

pub async fn show(State(s): State<AppState>, actor: Actor, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "ticket")?;
    let t = s.store.ticket(&actor, id).await.map_err(not_found("ticket"))?;
    let mut out = json!(t);
    // Present once the SLA consumer has seen the ticket under a policy, or pending.
    if let Some(sla) = s.store.sla_views(actor.workspace_id, &[t.id]).await?.remove(&t.id) {
        out["sla"] = json!(sla);
    }
    // Present once the customer was asked to rate the help.
    if let Some(csat) = s.store.csat(actor.workspace_id, t.id).await? {
        out["csat"] = json!(csat);
    }
    Ok(Json(out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateTicket {
    subject: Option<String>,
    status: Option<String>,
    priority: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    assignee_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    team_id: Option<Option<i64>>,
    labels: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    snoozed_until: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    kind: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    feature: Option<Option<String>>,
}

pub async fn update(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<UpdateTicket>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "ticket")?;
    let patch = TicketPatch {
        subject: b
            .subject
            .map(|v| required_text("subject", &v, SUBJECT_MAX))
            .transpose()?,
        status: b.status.map(|v| Status::parse("status", &v)).transpose()?,
        priority: b.priority.map(|v| Priority::parse("priority", &v)).transpose()?,
        assignee_id: b.assignee_id,
        team_id: b.team_id,
        labels: b.labels.map(|l| normalize_labels(&l)).transpose()?,
        snoozed_until: b
            .snoozed_until
            .map(|v| v.map(|t| crate::domain::time::parse("snoozed_until", &t)).transpose())
            .transpose()?,
        kind: b
            .kind
            .map(|v| v.map(|k| RequestKind::parse("kind", &k)).transpose())
            .transpose()?,
        feature: b
            .feature
            .map(|v| v.map(|f| normalize_feature(&f)).transpose())
            .transpose()?,
    };
    if patch.is_empty() {
        return Err(AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", "nothing to change: send at least one of subject, status, priority, assignee_id, team_id, labels, snoozed_until, kind, feature"));
    }
    let t = s
        .svc
        .update_ticket(&actor, TicketId(id), patch)
        .await
        .map_err(not_found("ticket"))?;
    Ok(Json(json!(t)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddMessage {
    body: String,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    external_id: Option<String>,
}

pub async fn add_message(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<AddMessage>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let id = parse_id(&id, "ticket")?;
    // Fails closed: anything but "reply" or "note" is refused, never sent.
    let kind = b
        .kind
        .as_deref()
        .map(|k| PostKind::parse("kind", k))
        .transpose()?
        .unwrap_or(PostKind::Reply);
    let body = required_text("body", &b.body, BODY_MAX)?;
    let added = s
        .svc
        .post_as_agent(&actor, TicketId(id), kind, body, external_id(b.external_id)?, vec![])
        .await
        .map_err(not_found("ticket"))?;
    Ok((
        if added.created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(json!(added.message)),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageParams {
    after: Option<i64>,
    limit: Option<i64>,
}

pub async fn messages(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<MessageParams>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "ticket")?;
    let limit = p.limit.unwrap_or(200);
    if !(1..=500).contains(&limit) {
        return Err(Invalid::new("limit", "must be between 1 and 500").into());
    }
    let items = s
        .store
        .list_messages(&actor, id, p.after.unwrap_or(0), limit)
        .await
        .map_err(not_found("ticket"))?;
    // What became of the mail each reply sent (queued, sent, retrying, failed).
    let ids: Vec<i64> = items.iter().map(|m| m.id).collect();
    let mut sent = s.store.deliveries_of(actor.workspace_id, &ids).await?;
    let items: Vec<Value> = items
        .into_iter()
        .map(|m| {
            let delivery = sent.remove(&m.id);
            let mut v = json!(m);
            if let Some(d) = delivery {
                v["delivery"] = json!(d);
            }
            v
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}

fn cursor(c: &str) -> ApiResult<Cursor> {
    Cursor::decode(c).ok_or_else(|| AppError::bad_request("invalid_cursor", "the cursor is not one this API gave out"))
}

/// Names the missing thing in a store's "not found".
fn not_found(what: &'static str) -> impl Fn(crate::store::StoreError) -> AppError {
    move |e| match e {
        crate::store::StoreError::NotFound => AppError::not_found(what),
        e => e.into(),
    }
}
