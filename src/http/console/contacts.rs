//! Contacts in the console: the searchable list, a contact's page (their
//! identities, tickets on every channel, attributes and notes), blocking
//! and merging; and the ticket page's "Merge into…" and "Split off". All
//! writes go through the same services as the API, refused the same way.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use serde_json::Value;

use super::super::pages::not_found;
use super::rules::id_of;
use super::ticket::open;
use super::{back, page, Agent, Nothing, OrBack, PageError, PageResult, Posted, Say};
use crate::app::AppState;
use crate::domain::{optional_text, required_text, TicketScope};
use crate::store::contacts::ContactPatch;
use crate::store::{StoreError, TicketFilter, TicketSort};

/// Blocking and merging: not for agents limited to their teams' tickets.
fn may_manage(a: &crate::domain::Actor) -> bool {
    a.is_admin() || a.scope == TicketScope::All
}

fn found<T>(r: Result<T, StoreError>) -> Result<T, PageError> {
    r.map_err(|e| match e {
        StoreError::NotFound => not_found().into(),
        e => e.into(),
    })
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    ok: Option<String>,
    #[serde(default)]
    err: Option<String>,
}

pub async fn list(State(s): State<AppState>, Agent(session): Agent, Query(q): Query<ListQuery>) -> PageResult {
    let query: Option<String> =
        q.q.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| v.chars().take(200).collect());
    let before = q.cursor.as_deref().and_then(|c| c.parse::<i64>().ok());
    let (items, next) = s
        .store
        .list_contacts(session.actor.workspace_id, query.as_deref(), before, 50)
        .await?;
    let next_url = next.map(|n| match &query {
        Some(v) => format!("/app/contacts?cursor={n}&q={}", super::urlencode(v)),
        None => format!("/app/contacts?cursor={n}"),
    });
    Ok(page(
        &session,
        "console_contacts.html",
        "contacts",
        minijinja::context! { items, next_url, q => query.unwrap_or_default(), ok => q.ok, err => q.err },
    ))
}

pub async fn show(
    State(s): State<AppState>,
    Agent(session): Agent,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let id = id_of(&id)?;
    let ws = session.actor.workspace_id;
    let c = found(s.store.contact(ws, id).await)?;
    let mut tickets = Vec::new();
    for spam in [false, true] {
        let f = TicketFilter {
            contact_id: Some(id),
            sort: TicketSort::Created,
            limit: 200,
            spam,
            ..Default::default()
        };
        tickets.extend(s.store.list_tickets(&session.actor, &f).await?.items);
    }
    tickets.sort_by_key(|t| std::cmp::Reverse((t.created_at, t.id)));
    // Others to merge with, found by the search box on this page.
    let query = q.q.as_deref().map(str::trim).filter(|v| !v.is_empty());
    let candidates = match query {
        Some(v) => {
            let (items, _) = s.store.list_contacts(ws, Some(v), None, 20).await?;
            items.into_iter().filter(|o| o.id != id).collect()
        }
        None => vec![],
    };
    let attributes = if c.attributes.as_object().is_some_and(|m| m.is_empty()) {
        String::new()
    } else {
        serde_json::to_string_pretty(&c.attributes).unwrap_or_default()
    };
    let may_manage = may_manage(&session.actor);
    Ok(page(
        &session,
        "console_contact.html",
        "contacts",
        minijinja::context! {
            contact => c, tickets, attributes, candidates, q => query.unwrap_or(""), may_manage,
            ok => q.ok, err => q.err,
        },
    ))
}

#[derive(Deserialize)]
pub struct ContactForm {
    name: String,
    #[serde(default)]
    attributes: String,
    #[serde(default)]
    notes: String,
}

pub async fn save(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Posted(session, f): Posted<ContactForm>,
) -> PageResult {
    let id = id_of(&id)?;
    let url = format!("/app/contacts/{id}");
    let attributes = if f.attributes.trim().is_empty() {
        serde_json::Map::new()
    } else {
        let v: Value =
            serde_json::from_str(&f.attributes).map_err(|e| PageError::back(&url, &format!("attributes: {e}")))?;
        crate::http::api::contacts::attributes(v).or_back(&url)?
    };
    let patch = ContactPatch {
        name: Some(required_text("name", &f.name, crate::domain::ticket::NAME_MAX).or_back(&url)?),
        attributes: Some(attributes),
        notes: Some(optional_text("notes", &f.notes, crate::http::api::contacts::NOTES_MAX).or_back(&url)?),
    };
    found(s.svc.update_contact(&session.actor, id, patch).await)?;
    Ok(back(&url, "ok", &super::rules::text(&session, "saved")))
}

async fn set_blocked(s: &AppState, session: &crate::store::console::Session, id: &str, blocked: bool) -> PageResult {
    let id = id_of(id)?;
    let url = format!("/app/contacts/{id}");
    if !may_manage(&session.actor) {
        // The buttons are not shown to them either.
        return Err(not_found().into());
    }
    match s.svc.block_contact(&session.actor, id, blocked).await {
        Ok(_) => Ok(Redirect::to(&url).into_response()),
        Err(StoreError::NotFound) => Err(not_found().into()),
        Err(e) => Ok(back(&url, "err", &e.say())),
    }
}

pub async fn block(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Posted(session, _): Posted<Nothing>,
) -> PageResult {
    set_blocked(&s, &session, &id, true).await
}

pub async fn unblock(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Posted(session, _): Posted<Nothing>,
) -> PageResult {
    set_blocked(&s, &session, &id, false).await
}

#[derive(Deserialize)]
pub struct MergeForm {
    from: String,
}

/// Merges the contact picked on the page into this one.
pub async fn merge(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Posted(session, f): Posted<MergeForm>,
) -> PageResult {
    let id = id_of(&id)?;
    let url = format!("/app/contacts/{id}");
    if !may_manage(&session.actor) {
        // The buttons are not shown to them either.
        return Err(not_found().into());
    }
    let from = f.from.trim().parse::<i64>().unwrap_or(0);
    s.svc.merge_contacts(&session.actor, id, from).await.or_back(&url)?;
    Ok(back(&url, "ok", &super::rules::text(&session, "contact-merged")))
}

#[derive(Deserialize)]
pub struct MergeTicketForm {
    into: String,
}

/// "Merge into…": this ticket's messages move into the one numbered.
pub async fn merge_ticket(
    State(s): State<AppState>,
    Path(number): Path<String>,
    Posted(session, f): Posted<MergeTicketForm>,
) -> PageResult {
    let t = open(&s, &session.actor, &number).await?;
    let url = format!("/app/t/{}", t.number);
    let into = match open(&s, &session.actor, f.into.trim()).await {
        Ok(into) => into,
        Err(_) => return Ok(back(&url, "err", &super::rules::text(&session, "merge-no-ticket"))),
    };
    let m = s.svc.merge_tickets(&session.actor, into.id, t.id).await.or_back(&url)?;
    Ok(Redirect::to(&format!("/app/t/{}", m.into.number)).into_response())
}

#[derive(Deserialize)]
pub struct SplitForm {
    message_id: String,
}

/// "Split off": one message becomes a new ticket.
pub async fn split(
    State(s): State<AppState>,
    Path(number): Path<String>,
    Posted(session, f): Posted<SplitForm>,
) -> PageResult {
    let t = open(&s, &session.actor, &number).await?;
    let url = format!("/app/t/{}", t.number);
    let message = f.message_id.trim().parse::<i64>().unwrap_or(0);
    let new = s.svc.split_ticket(&session.actor, t.id, message).await.or_back(&url)?;
    Ok(Redirect::to(&format!("/app/t/{}", new.number)).into_response())
}
