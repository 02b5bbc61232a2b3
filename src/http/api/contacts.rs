//! Contacts (list, page, changes, block, merge) and merging or splitting tickets.

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::app::AppState;
use crate::domain::ticket::NAME_MAX;
use crate::domain::{optional_text, required_text, Actor, Invalid, TicketScope};
use crate::error::{ApiResult, AppError};
use crate::http::extract::{parse_id, ApiJson, ApiQuery};
use crate::store::contacts::ContactPatch;
use crate::store::{StoreError, TicketFilter, TicketSort};

/// Bounds on a contact's attributes: they are shown on every ticket page.
const ATTRIBUTES_BYTES: usize = 16 * 1024;
const ATTRIBUTES_DEPTH: usize = 4;
const ATTRIBUTE_KEY_MAX: usize = 100;
pub(crate) const NOTES_MAX: usize = 20_000;
/// How many of a contact's tickets its page lists.
const TICKETS_SHOWN: i64 = 200;

fn not_found(what: &'static str) -> impl Fn(StoreError) -> AppError {
    move |e| match e {
        StoreError::NotFound => AppError::not_found(what),
        e => e.into(),
    }
}

/// Blocking and merging change what every agent sees of a contact, so an
/// agent limited to their teams' tickets may not.
pub(crate) fn unrestricted(actor: &Actor) -> ApiResult<()> {
    if actor.is_admin() || actor.scope == TicketScope::All {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "agents limited to their teams' tickets may not do this",
        ))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    q: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

pub async fn list(
    State(s): State<AppState>,
    actor: Actor,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<Value>> {
    let q = p.q.map(|q| optional_text("q", &q, 200)).transpose()?;
    let before = match p.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(
            c.parse::<i64>()
                .ok()
                .filter(|c| *c > 0)
                .ok_or_else(|| Invalid::new("cursor", "not a cursor this list gave"))?,
        ),
        None => None,
    };
    let limit = p.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Invalid::new("limit", "must be between 1 and 200").into());
    }
    let (items, next) = s
        .store
        .list_contacts(actor.workspace_id, q.as_deref(), before, limit)
        .await?;
    Ok(Json(
        json!({ "items": items, "next_cursor": next.map(|n| n.to_string()) }),
    ))
}

/// A contact with its identities and the tickets (on every channel, spam
/// included, newest first) that the actor may see.
pub async fn show(State(s): State<AppState>, actor: Actor, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "contact")?;
    let c = s
        .store
        .contact(actor.workspace_id, id)
        .await
        .map_err(not_found("contact"))?;
    let mut tickets = Vec::new();
    for spam in [false, true] {
        let f = TicketFilter {
            contact_id: Some(id),
            sort: TicketSort::Created,
            limit: TICKETS_SHOWN,
            spam,
            ..Default::default()
        };
        tickets.extend(s.store.list_tickets(&actor, &f).await?.items);
    }
    tickets.sort_by_key(|t| std::cmp::Reverse((t.created_at, t.id)));
    tickets.truncate(TICKETS_SHOWN as usize);
    let mut out = json!(c);
    out["tickets"] = json!(tickets);
    Ok(Json(out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateContact {
    name: Option<String>,
    attributes: Option<Value>,
    notes: Option<String>,
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// A JSON object of bounded size and depth with short, non-empty keys.
pub(crate) fn attributes(v: Value) -> Result<Map<String, Value>, Invalid> {
    let Value::Object(m) = v else {
        return Err(Invalid::new("attributes", "must be a JSON object"));
    };
    if m.keys()
        .any(|k| k.trim().is_empty() || k.chars().count() > ATTRIBUTE_KEY_MAX)
    {
        return Err(Invalid::new(
            "attributes",
            format!("keys must be 1 to {ATTRIBUTE_KEY_MAX} characters"),
        ));
    }
    let v = Value::Object(m);
    if v.to_string().len() > ATTRIBUTES_BYTES {
        return Err(Invalid::new(
            "attributes",
            format!("must be at most {ATTRIBUTES_BYTES} bytes as JSON"),
        ));
    }
    if depth(&v) > ATTRIBUTES_DEPTH {
        return Err(Invalid::new(
            "attributes",
            format!("must nest at most {ATTRIBUTES_DEPTH} levels"),
        ));
    }
    let Value::Object(m) = v else { unreachable!() };
    Ok(m)
}

pub async fn update(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<UpdateContact>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "contact")?;
    let patch = ContactPatch {
        name: b.name.map(|n| required_text("name", &n, NAME_MAX)).transpose()?,
        attributes: b.attributes.map(attributes).transpose()?,
        notes: b.notes.map(|n| optional_text("notes", &n, NOTES_MAX)).transpose()?,
    };
    let c = s
        .svc
        .update_contact(&actor, id, patch)
        .await
        .map_err(not_found("contact"))?;
    Ok(Json(json!(c)))
}

async fn set_blocked(s: &AppState, actor: &Actor, id: &str, blocked: bool) -> ApiResult<Json<Value>> {
    let id = parse_id(id, "contact")?;
    unrestricted(actor)?;
    let c = s
        .svc
        .block_contact(actor, id, blocked)
        .await
        .map_err(not_found("contact"))?;
    Ok(Json(json!(c)))
}

pub async fn block(State(s): State<AppState>, actor: Actor, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    set_blocked(&s, &actor, &id, true).await
}

pub async fn unblock(State(s): State<AppState>, actor: Actor, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    set_blocked(&s, &actor, &id, false).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    from: i64,
}

fn positive(field: &'static str, id: i64) -> Result<i64, Invalid> {
    if id > 0 {
        Ok(id)
    } else {
        Err(Invalid::new(field, "must be a positive id"))
    }
}

pub async fn merge(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<MergeBody>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "contact")?;
    let from = positive("from", b.from)?;
    unrestricted(&actor)?;
    let c = s
        .svc
        .merge_contacts(&actor, id, from)
        .await
        .map_err(not_found("contact"))?;
    Ok(Json(json!(c)))
}

pub async fn merge_tickets(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<MergeBody>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "ticket")?;
    let from = positive("from", b.from)?;
    let m = s
        .svc
        .merge_tickets(&actor, id, from)
        .await
        .map_err(not_found("ticket"))?;
    Ok(Json(
        json!({ "ticket": m.into, "merged": m.from, "moved_messages": m.moved }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitBody {
    message_id: i64,
}

pub async fn split(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<SplitBody>,
) -> ApiResult<(axum::http::StatusCode, Json<Value>)> {
    let id = parse_id(&id, "ticket")?;
    let message_id = positive("message_id", b.message_id)?;
    let t = s
        .svc
        .split_ticket(&actor, id, message_id)
        .await
        .map_err(not_found("ticket"))?;
    Ok((axum::http::StatusCode::CREATED, Json(json!(t))))
}
