//! The inbox: views (mine, unassigned, all open, pending, resolved), per
//! team and channel, filters, two orders, counts and cursor paging.

use std::collections::HashMap;

use axum::extract::{Query, State};
use serde::Deserialize;

use super::{page, Agent, OrBack, PageError, PageResult};
use crate::app::AppState;
use crate::domain::ids::TicketId;
use crate::domain::{Channel, Priority, RequestKind, Status};
use crate::error::AppError;
use crate::store::console::{Session, COUNT_CAP};
use crate::store::{AssigneeFilter, Cursor, Team, TicketFilter, TicketPatch, TicketSort, User};

pub const VIEWS: [&str; 5] = ["mine", "unassigned", "open", "pending", "resolved"];
/// Blocked contacts' tickets in every status: a view of its own, uncounted.
pub const SPAM: &str = "spam";

#[derive(Deserialize, Default, Clone)]
pub struct InboxQuery {
    #[serde(default)]
    view: Option<String>,
    #[serde(default)]
    team: Option<String>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    priority: Option<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    assignee: Option<String>,
    #[serde(default)]
    sort: Option<String>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    before: Option<String>,
}

fn some(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl InboxQuery {
    fn view(&self) -> &'static str {
        some(&self.view)
            .and_then(|v| VIEWS.iter().chain([SPAM].iter()).find(|x| **x == v).copied())
            .unwrap_or("open")
    }

    /// The filter this query asks for; unknown values are ignored rather
    /// than failing a page an agent typed by hand.
    fn filter(&self, s: &Session) -> TicketFilter {
        let view = self.view();
        let q = some(&self.q).map(|q| q.chars().take(200).collect::<String>());
        let (statuses, mut assignee) = match view {
            "mine" => (vec![Status::Open], Some(AssigneeFilter::User(s.actor.user_id))),
            "unassigned" => (vec![Status::Open], Some(AssigneeFilter::Nobody)),
            "pending" => (vec![Status::Pending], None),
            "resolved" => (vec![Status::Resolved], None),
            SPAM => (vec![], None),
            _ => (vec![Status::Open], None),
        };
        match some(&self.assignee) {
            Some("none") => assignee = Some(AssigneeFilter::Nobody),
            Some(id) => {
                if let Ok(id) = id.parse() {
                    assignee = Some(AssigneeFilter::User(id))
                }
            }
            None => {}
        }
        TicketFilter {
            // A search looks through every status.
            statuses: if q.is_some() { vec![] } else { statuses },
            assignee,
            team_id: some(&self.team).and_then(|t| t.parse().ok()),
            priority: some(&self.priority).and_then(|p| Priority::parse("priority", p).ok()),
            channel: some(&self.channel).and_then(|c| Channel::parse("channel", c).ok()),
            label: some(&self.label).map(str::to_lowercase),
            kind: None,
            contact_id: None,
            q,
            sort: match some(&self.sort) {
                Some("waiting") => TicketSort::Waiting,
                Some("created") => TicketSort::Created,
                Some("sla") => TicketSort::SlaDue,
                _ => TicketSort::Activity,
            },
            cursor: some(&self.cursor).and_then(Cursor::decode),
            before: some(&self.before).and_then(Cursor::decode),
            limit: 50,
            spam: view == "spam",
        }
    }

    /// This query as a URL with some parameters replaced.
    fn url(&self, base: &str, changes: &[(&str, Option<&str>)]) -> String {
        let mut pairs: Vec<(&str, String)> = vec![];
        let fields = [
            ("view", &self.view),
            ("team", &self.team),
            ("channel", &self.channel),
            ("priority", &self.priority),
            ("label", &self.label),
            ("assignee", &self.assignee),
            ("sort", &self.sort),
            ("q", &self.q),
        ];
        for (k, v) in fields {
            match changes.iter().find(|(c, _)| *c == k) {
                Some((_, Some(new))) => pairs.push((k, new.to_string())),
                Some((_, None)) => {}
                None => {
                    if let Some(v) = some(v) {
                        pairs.push((k, v.to_string()))
                    }
                }
            }
        }
        for key in ["cursor", "before"] {
            if let Some((_, Some(c))) = changes.iter().find(|(k, _)| *k == key) {
                pairs.push((key, c.to_string()));
            }
        }
        if pairs.is_empty() {
            return base.to_string();
        }
        format!("{base}?{}", serde_urlencoded::to_string(&pairs).unwrap_or_default())
    }
}

/// How long ago, as a number and a unit the template translates.
fn age(now: i64, ms: i64) -> (i64, &'static str) {
    let m = (now - ms).max(0) / 60_000;
    match m {
        0 => (0, "now"),
        1..=59 => (m, "m"),
        60..=1439 => (m / 60, "h"),
        _ => (m / 1440, "d"),
    }
}

fn shown(n: i64) -> String {
    if n >= COUNT_CAP {
        format!("{}+", COUNT_CAP - 1)
    } else {
        n.to_string()
    }
}

/// Everything the list part of the inbox shows.
async fn list_ctx(
    s: &AppState,
    session: &Session,
    q: &InboxQuery,
    users: &[User],
    teams: &[Team],
) -> Result<minijinja::Value, AppError> {
    let filter = q.filter(session);
    let (page, counts, macros) = tokio::try_join!(
        s.store.list_tickets(&session.actor, &filter),
        s.store.view_counts(&session.actor),
        s.store.list_macros(session.actor.workspace_id)
    )?;
    // The clocks of the tickets on the page, in one query.
    let ids: Vec<i64> = page.items.iter().map(|t| t.id).collect();
    let slas = s.store.sla_views(session.actor.workspace_id, &ids).await?;
    let lang = crate::i18n::pick(Some(&session.lang));
    let names: HashMap<i64, String> = users.iter().map(|u| (u.id, u.name.clone())).collect();
    let team_names: HashMap<i64, String> = teams.iter().map(|t| (t.id, t.name.clone())).collect();
    let now = crate::store::now_ms();
    let rows: Vec<_> = page
        .items
        .iter()
        .map(|t| {
            minijinja::context! {
                id => t.id,
                number => t.number,
                subject => t.subject,
                contact => if t.contact.name.is_empty() { t.contact.email.clone().unwrap_or_default() } else { t.contact.name.clone() },
                channel => t.channel.as_str(),
                status => t.status.as_str(),
                priority => t.priority.as_str(),
                assignee => t.assignee_id.and_then(|a| names.get(&a).cloned()),
                assignee_id => t.assignee_id,
                sla => super::sla::clock(slas.get(&t.id), now, lang),
                team => t.team_id.and_then(|a| team_names.get(&a).cloned()),
                labels => t.labels,
                age => age(now, t.last_message_at),
                waiting => t.waiting_since.map(|w| age(now, w)),
                snoozed => t.snoozed_until.map(super::when),
            }
        })
        .collect();
    let view = q.view();
    let counts: Vec<_> = VIEWS.iter().zip(counts).map(|(v, n)| minijinja::context! { key => v, count => shown(n), url => q.url("/app", &[("view", Some(v)), ("q", None)]), current => *v == view }).collect();
    Ok(minijinja::context! {
        rows,
        counts,
        view,
        next => page.next_cursor.as_deref().map(|c| q.url("/app", &[("cursor", Some(c))])),
        prev => page.prev_cursor.as_deref().map(|c| q.url("/app", &[("before", Some(c))])),
        first => (filter.cursor.is_some() || filter.before.is_some()).then(|| q.url("/app", &[])),
        list_url => q.url("/app/list", &[]),
        here => q.url("/app", &[]),
        searching => filter.q.is_some(),
        macros => macros.iter().map(|m| minijinja::context! { id => m.id, name => m.name }).collect::<Vec<_>>(),
    })
}

pub async fn show(State(s): State<AppState>, Agent(session): Agent, Query(q): Query<InboxQuery>) -> PageResult {
    let ws = session.actor.workspace_id;
    let (users, teams, labels, unread, undelivered) = tokio::try_join!(
        s.store.list_users(ws),
        s.store.list_teams(ws),
        s.store.labels(ws),
        s.store.unread_notifications(&session.actor),
        s.store.outbox_trouble(ws)
    )?;
    let list = list_ctx(&s, &session, &q, &users, &teams).await?;
    let users: Vec<_> = users
        .into_iter()
        .filter(|u| u.active)
        .map(|u| minijinja::context! { id => u.id, name => u.name })
        .collect();
    let teams: Vec<_> = teams.into_iter().map(|t| minijinja::context! { id => t.id, name => t.name, url => q.url("/app", &[("team", Some(&t.id.to_string()))]) }).collect();
    let channels: Vec<&str> = Channel::ALL.iter().map(|c| c.as_str()).collect();
    let ctx = minijinja::context! {
        list,
        users,
        teams,
        labels,
        channels,
        unread,
        undelivered,
        priorities => Priority::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        f => minijinja::context! { view => q.view(), team => q.team, channel => q.channel, priority => q.priority, label => q.label, assignee => q.assignee, sort => some(&q.sort).unwrap_or("activity"), q => q.q },
    };
    Ok(page(&session, "console_inbox.html", "inbox", ctx))
}

/// Just the list and counts, for the live refresh.
pub async fn list_fragment(
    State(s): State<AppState>,
    Agent(session): Agent,
    Query(q): Query<InboxQuery>,
) -> PageResult {
    let ws = session.actor.workspace_id;
    let (users, teams) = tokio::try_join!(s.store.list_users(ws), s.store.list_teams(ws))?;
    let list = list_ctx(&s, &session, &q, &users, &teams).await?;
    Ok(super::super::pages::render(
        "console_inbox_list.html",
        minijinja::context! { list, ..super::frame(&session, "inbox") },
    ))
}

/// Tickets changed together from the inbox: assigned to the agent, to
/// nobody, or given a status or a kind. Each goes through the same use
/// case as the ticket page, so access and the event log are the same.
pub async fn bulk(
    State(s): State<AppState>,
    super::Posted(session, f): super::Posted<HashMap<String, String>>,
) -> PageResult {
    let back_to = f
        .get("back")
        .filter(|b| b.starts_with("/app") && !b.starts_with("//"))
        .cloned()
        .unwrap_or_else(|| "/app".into());
    let ids: Vec<i64> = f
        .iter()
        .filter(|(_, v)| v.as_str() == "on")
        .filter_map(|(k, _)| k.strip_prefix('t')?.parse().ok())
        .take(BULK_MAX)
        .collect();
    if ids.is_empty() {
        return Err(PageError::back(&back_to, "select the tickets first"));
    }
    let action = f.get("action").map(String::as_str).unwrap_or("");
    if let Some(id) = action.strip_prefix("macro:") {
        let id: i64 = id
            .parse()
            .map_err(|_| PageError::back(&back_to, "choose what to do with them"))?;
        // Tickets the agent may not see are left out, as with the API.
        let done = s.svc.apply_macro(&session.actor, id, &ids).await.or_back(&back_to)?;
        return Ok(super::back(
            &back_to,
            "ok",
            &format!("{} of {} tickets changed", done.len(), ids.len()),
        ));
    }
    let mut patch = TicketPatch::default();
    match action {
        "mine" => patch.assignee_id = Some(Some(session.actor.user_id)),
        "nobody" => patch.assignee_id = Some(None),
        other => match (other.strip_prefix("kind:"), Status::parse("status", other)) {
            (Some(k), _) => {
                let k = RequestKind::parse("kind", k)
                    .map_err(|_| PageError::back(&back_to, "choose what to do with them"))?;
                patch.kind = Some(Some(k));
            }
            (None, Ok(st)) => patch.status = Some(st),
            (None, Err(_)) => return Err(PageError::back(&back_to, "choose what to do with them")),
        },
    }
    let mut done = 0;
    for id in &ids {
        // One the agent may not see fails alone, as "not found".
        if s.svc
            .update_ticket(&session.actor, TicketId(*id), patch.clone())
            .await
            .is_ok()
        {
            done += 1;
        }
    }
    Ok(super::back(
        &back_to,
        "ok",
        &format!("{done} of {} tickets changed", ids.len()),
    ))
}

/// Tickets one bulk change may touch.
const BULK_MAX: usize = 200;
