//! The ticket page: the conversation across channels, the reply and note
//! box with canned answers and mentions, the ticket's controls and the
//! customer sidebar.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use super::super::pages::not_found;
use super::{page, Agent, OrBack, PageError, PageResult, Posted};
use crate::app::AppState;
use crate::domain::ids::TicketId;
use crate::domain::ticket::PostKind;
use crate::domain::ticket::{normalize_feature, normalize_labels, BODY_MAX};
use crate::domain::{required_text, Actor, AuthorType, MessageKind, Priority, RequestKind, Status};
use crate::error::AppError;
use crate::store::console::Session;
use crate::store::{Ticket, TicketFilter, TicketPatch, TicketSort, User};

pub(super) async fn open(s: &AppState, actor: &Actor, number: &str) -> Result<Ticket, PageError> {
    let n = number
        .trim_start_matches('#')
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(not_found)?;
    s.store.ticket_by_number(actor, n).await.map_err(|e| match e {
        crate::store::StoreError::NotFound => not_found().into(),
        e => e.into(),
    })
}

/// Fills a canned answer's placeholders for this ticket.
pub fn expand(body: &str, t: &Ticket, agent: &str) -> String {
    let first = t.contact.name.split_whitespace().next().unwrap_or("");
    [
        ("{{contact.name}}", t.contact.name.as_str()),
        ("{{contact.first_name}}", first),
        ("{{contact.email}}", t.contact.email.as_deref().unwrap_or("")),
        ("{{ticket.number}}", &t.number.to_string()),
        ("{{ticket.subject}}", &t.subject),
        ("{{agent.name}}", agent),
    ]
    .iter()
    .fold(body.to_string(), |acc, (k, v)| acc.replace(k, v))
}

async fn conversation_ctx(
    s: &AppState,
    session: &Session,
    t: &Ticket,
    users: &[User],
) -> Result<minijinja::Value, AppError> {
    let ws = session.actor.workspace_id;
    let messages = s.store.list_messages(&session.actor, t.id, 0, 500).await?;
    let ids: Vec<i64> = messages.iter().map(|m| m.id).collect();
    let (mut files, seen_up_to, mut sent) = tokio::try_join!(
        s.store.attachments_of(&ids),
        s.store.visitor_read_up_to(t.id),
        s.store.deliveries_of(ws, &ids)
    )?;
    let trouble = sent.values().any(|d| d.is_trouble());
    let names: HashMap<i64, &str> = users.iter().map(|u| (u.id, u.name.as_str())).collect();
    let slug = s.store.workspace(ws).await?.slug;
    let items: Vec<_> = messages
        .iter()
        .map(|m| {
            let author = match m.author_type {
                AuthorType::Agent => m.author_id.and_then(|a| names.get(&a).map(|n| n.to_string())).unwrap_or_default(),
                AuthorType::Contact => if t.contact.name.is_empty() { t.contact.email.clone().unwrap_or_default() } else { t.contact.name.clone() },
                AuthorType::System => String::new(),
            };
            let files: Vec<_> = files.remove(&m.id).unwrap_or_default().into_iter().map(|f| minijinja::context! { name => f.name, size => f.size, url => format!("/p/{slug}/files/{}/{}", f.id, f.secret) }).collect();
            let delivery = sent.remove(&m.id).map(|d| minijinja::context! {
                status => d.status, to => d.to, reason => d.last_error,
                sent => d.sent_at.map(super::when), next => d.next_attempt_at.map(super::when),
            });
            minijinja::context! {
                id => m.id,
                kind => m.kind.as_str(),
                from => m.author_type.as_str(),
                author,
                body => m.body,
                when => super::when(m.created_at),
                files,
                delivery,
                seen => t.channel == crate::domain::Channel::Chat && m.author_type == AuthorType::Agent && m.kind == MessageKind::Reply && m.id <= seen_up_to,
            }
        })
        .collect();
    Ok(
        // Listed in time order, so a merged-in older message may have the
        // highest id: the live view continues after the highest.
        minijinja::context! { messages => items, last_id => ids.iter().max().copied().unwrap_or(0), truncated => messages.len() >= 500, trouble, number => t.number },
    )
}

pub async fn show(
    State(s): State<AppState>,
    Agent(session): Agent,
    Path(number): Path<String>,
    Query(n): Query<super::Notice>,
) -> PageResult {
    let t = open(&s, &session.actor, &number).await?;
    render(&s, &session, &t, &n).await
}

async fn render(s: &AppState, session: &Session, t: &Ticket, n: &super::Notice) -> PageResult {
    let ws = session.actor.workspace_id;
    let earlier = TicketFilter {
        contact_id: Some(t.contact.id),
        sort: TicketSort::Created,
        limit: 20,
        ..Default::default()
    };
    let this = [t.id];
    let (users, teams, labels, canned, contact, history, visitor, macros, mut slas, features) = tokio::try_join!(
        s.store.list_users(ws),
        s.store.list_teams(ws),
        s.store.labels(ws),
        s.store.canned_answers(ws),
        s.store.contact_details(ws, t.contact.id),
        s.store.list_tickets(&session.actor, &earlier),
        s.store.visitor_state(ws, t.contact.id),
        s.store.list_macros(ws),
        s.store.sla_views(ws, &this),
        s.store.feature_names(ws, "", 50),
    )?;
    let conversation = conversation_ctx(s, session, t, &users).await?;
    let time = super::time::panel(s, session, t).await?;
    let csat = s.store.csat(ws, t.id).await?.map(|c| {
        minijinja::context! {
            score => c.score, comment => c.comment, asked => super::when(c.asked_at),
            answered => c.answered_at.map(super::when), via => c.answered_via.unwrap_or(c.asked_via),
        }
    });
    let lang = crate::i18n::pick(Some(&session.lang));
    let sla = super::sla::details(
        slas.remove(&t.id).as_ref(),
        crate::store::now_ms(),
        lang,
        &session.time_zone,
    );
    let _ = s.store.read_notifications(&session.actor, Some(t.id)).await;
    let canned: Vec<_> = canned
        .into_iter()
        .map(|c| serde_json::json!({ "shortcut": c.shortcut, "body": expand(&c.body, t, &session.name) }))
        .collect();
    let agents: Vec<_> = users
        .iter()
        .filter(|u| u.active)
        .map(|u| minijinja::context! { id => u.id, name => u.name, handle => u.email.split('@').next().unwrap_or("") })
        .collect();
    let history: Vec<_> = history
        .items
        .iter()
        .filter(|h| h.id != t.id)
        .map(|h| minijinja::context! { number => h.number, subject => h.subject, status => h.status.as_str(), channel => h.channel.as_str(), when => super::when(h.created_at) })
        .collect();
    let attributes: Vec<(String, String)> = contact
        .attributes
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let context = visitor
        .as_ref()
        .and_then(|v| v.get("context"))
        .map(super::display::context_fields)
        .unwrap_or_default();
    let ctx = minijinja::context! {
        ticket => minijinja::context! {
            id => t.id, number => t.number, subject => t.subject, status => t.status.as_str(), priority => t.priority.as_str(), channel => t.channel.as_str(),
            assignee_id => t.assignee_id, team_id => t.team_id, labels => t.labels.join(", "), label_list => t.labels,
            snoozed => t.snoozed_until.map(super::when), created => super::when(t.created_at),
            kind => t.kind.map(RequestKind::as_str), feature => t.feature,
        },
        conversation,
        sla,
        csat,
        time,
        contact => minijinja::context! { id => contact.id, name => contact.name, email => contact.email, identities => contact.identities, attributes },
        visitor => visitor.as_ref().map(|v| minijinja::context! {
            online => v["online"].as_bool().unwrap_or(false), url => v["page"]["url"].as_str().and_then(crate::sanitize::web_link), title => v["page"]["title"].as_str(),
            user_agent => v["user_agent"].as_str().map(super::display::browser), user_agent_raw => v["user_agent"].as_str(), lang => v["lang"].as_str(), seen => v["last_seen_at"].as_str(), context,
        }),
        history,
        agents,
        teams => teams.iter().map(|t| minijinja::context! { id => t.id, name => t.name }).collect::<Vec<_>>(),
        labels,
        canned => serde_json::to_string(&canned).unwrap_or_default(),
        statuses => Status::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        priorities => Priority::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        kinds => RequestKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
        features,
        macros => macros.iter().map(|m| minijinja::context! { id => m.id, name => m.name }).collect::<Vec<_>>(),
        ok => n.ok, err => n.err,
    };
    Ok(page(session, "console_ticket.html", "ticket", ctx))
}

/// Just the conversation, for the live refresh.
pub async fn conversation_fragment(
    State(s): State<AppState>,
    Agent(session): Agent,
    Path(number): Path<String>,
) -> PageResult {
    let t = open(&s, &session.actor, &number).await?;
    let users = s.store.list_users(session.actor.workspace_id).await?;
    let conversation = conversation_ctx(&s, &session, &t, &users).await?;
    Ok(super::super::pages::render(
        "console_conversation.html",
        minijinja::context! { conversation, ..super::frame(&session, "ticket") },
    ))
}

#[derive(Deserialize)]
pub struct MessageForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    kind: String,
}

/// The composer's post: a reply or a note, with files when the agent
/// attached some (multipart), or a plain form.
pub async fn post_message(
    State(s): State<AppState>,
    Path(number): Path<String>,
    req: axum::extract::Request,
) -> PageResult {
    use axum::extract::FromRequest;
    let multipart = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let (session, f, files) = if multipart {
        let super::Upload(session, mut fields, files) = super::Upload::from_request(req, &s).await?;
        let f = MessageForm {
            body: fields.remove("body").unwrap_or_default(),
            kind: fields.remove("kind").unwrap_or_default(),
        };
        (session, f, files)
    } else {
        let Posted(session, f) = Posted::<MessageForm>::from_request(req, &s).await?;
        (session, f, vec![])
    };
    let t = open(&s, &session.actor, &number).await?;
    let url = format!("/app/t/{}", t.number);
    // Fails closed: a kind the form does not offer is refused, never sent.
    let kind = PostKind::parse("kind", &f.kind).or_back(&url)?;
    // A file alone is a message too.
    let body = if f.body.trim().is_empty() && !files.is_empty() {
        String::new()
    } else {
        required_text("body", f.body.trim_end(), BODY_MAX).or_back(&url)?
    };
    let added = s
        .svc
        .post_as_agent(&session.actor, TicketId(t.id), kind, body, None, files)
        .await
        .or_back(&url)?;
    Ok(Redirect::to(&format!("{url}#m{}", added.message.id)).into_response())
}

#[derive(Deserialize)]
pub struct UpdateForm {
    status: Option<String>,
    priority: Option<String>,
    /// "me", "none" or an agent's id.
    assignee: Option<String>,
    /// "none" or a team's id.
    team: Option<String>,
    /// Comma-separated.
    labels: Option<String>,
    /// "1h", "4h", "1d", "3d", "7d", "at" (with `snooze_at` and the
    /// browser's `tz_offset` in minutes) or "clear".
    snooze: Option<String>,
    snooze_at: Option<String>,
    tz_offset: Option<i64>,
    /// A kind or "none".
    kind: Option<String>,
    /// Read only with kind missing_feature (the field stays in the form,
    /// hidden, when another kind is chosen); empty clears it.
    feature: Option<String>,
}

fn snooze_until(f: &UpdateForm, now: i64) -> Result<Option<Option<i64>>, String> {
    const H: i64 = 3600 * 1000;
    Ok(match f.snooze.as_deref().map(str::trim) {
        None | Some("") => None,
        Some("clear") => Some(None),
        Some("1h") => Some(Some(now + H)),
        Some("4h") => Some(Some(now + 4 * H)),
        Some("1d") => Some(Some(now + 24 * H)),
        Some("3d") => Some(Some(now + 72 * H)),
        Some("7d") => Some(Some(now + 168 * H)),
        Some("at") => {
            let raw = f.snooze_at.as_deref().unwrap_or("");
            let local = chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M")
                .map_err(|_| "snooze: pick a date and time".to_string())?;
            // getTimezoneOffset() is UTC minus local, in minutes.
            let offset = f.tz_offset.unwrap_or(0).clamp(-14 * 60, 14 * 60);
            Some(Some(local.and_utc().timestamp_millis() + offset * 60_000))
        }
        Some(_) => return Err("snooze: choose one of the offered times".into()),
    })
}

fn patch_of(f: &UpdateForm, session: &Session) -> Result<TicketPatch, String> {
    let id = |raw: &str| raw.parse::<i64>().map_err(|_| format!("'{raw}' is not an id"));
    Ok(TicketPatch {
        subject: None,
        status: f
            .status
            .as_deref()
            .filter(|v| !v.is_empty())
            .map(|v| Status::parse("status", v))
            .transpose()
            .map_err(|e| e.to_string())?,
        priority: f
            .priority
            .as_deref()
            .filter(|v| !v.is_empty())
            .map(|v| Priority::parse("priority", v))
            .transpose()
            .map_err(|e| e.to_string())?,
        assignee_id: match f.assignee.as_deref() {
            None | Some("") => None,
            Some("me") => Some(Some(session.actor.user_id)),
            Some("none") => Some(None),
            Some(v) => Some(Some(id(v)?)),
        },
        team_id: match f.team.as_deref() {
            None | Some("") => None,
            Some("none") => Some(None),
            Some(v) => Some(Some(id(v)?)),
        },
        labels: f
            .labels
            .as_deref()
            .map(|l| {
                normalize_labels(
                    &l.split(',')
                        .map(str::trim)
                        .filter(|x| !x.is_empty())
                        .map(str::to_string)
                        .collect::<Vec<_>>(),
                )
            })
            .transpose()
            .map_err(|e| e.to_string())?,
        snoozed_until: snooze_until(f, crate::store::now_ms())?,
        kind: match f.kind.as_deref().map(str::trim) {
            None | Some("") => None,
            Some("none") => Some(None),
            Some(v) => Some(Some(RequestKind::parse("kind", v).map_err(|e| e.to_string())?)),
        },
        feature: match (f.kind.as_deref().map(str::trim), f.feature.as_deref().map(str::trim)) {
            (Some("missing_feature"), Some("")) => Some(None),
            (Some("missing_feature"), Some(v)) => Some(Some(normalize_feature(v).map_err(|e| e.to_string())?)),
            _ => None,
        },
    })
}

pub async fn update(
    State(s): State<AppState>,
    Path(number): Path<String>,
    Posted(session, f): Posted<UpdateForm>,
) -> PageResult {
    let t = open(&s, &session.actor, &number).await?;
    let url = format!("/app/t/{}", t.number);
    let patch = patch_of(&f, &session).or_back(&url)?;
    if patch.is_empty() {
        return Ok(Redirect::to(&url).into_response());
    }
    let after = s
        .svc
        .update_ticket(&session.actor, TicketId(t.id), patch)
        .await
        .or_back(&url)?;
    // Handing a ticket to someone else may take it out of reach.
    let to = if session.actor.can_see(after.access()) {
        url.as_str()
    } else {
        "/app"
    };
    Ok(Redirect::to(to).into_response())
}
