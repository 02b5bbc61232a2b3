//! Macros: Admin → Macros lists, writes and deletes them (the same action
//! rows as the rule editor); any agent applies one to a ticket they can
//! see from the ticket page (the inbox's bulk form applies one to many).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::admin::admin_only;
use super::rule_form::{
    action_summary, actions_json, locate_action, read_actions, with_blanks, ActRow, Directory, Fields,
};
use super::rules::{id_of, missing, text};
use super::{back, page, Agent, Nothing, Notice, OrBack, PageError, PageResult, Posted, Say};
use crate::app::AppState;
use crate::store::console::Session;

const LIST: &str = "/app/admin/macros";

pub async fn list(State(s): State<AppState>, Agent(session): Agent, Query(n): Query<Notice>) -> PageResult {
    admin_only(&session)?;
    let ws = session.actor.workspace_id;
    let (macros, dir) = tokio::try_join!(s.store.list_macros(ws), Directory::load(&s.store, ws))?;
    let macros: Vec<_> = macros
        .iter()
        .map(|m| minijinja::context! { id => m.id, name => m.name, actions => action_summary(&m.actions, &dir) })
        .collect();
    Ok(page(
        &session,
        "console_admin_macros.html",
        "admin",
        minijinja::context! { tab => "macros", ok => n.ok, err => n.err, macros },
    ))
}

fn editor(
    session: &Session,
    dir: &Directory,
    id: Option<i64>,
    name: &str,
    rows: &[ActRow],
    fault: Option<String>,
) -> Response {
    let action = id.map_or_else(|| format!("{LIST}/new"), |id| format!("{LIST}/{id}"));
    let mut r = page(
        session,
        "console_admin_macro_edit.html",
        "admin",
        minijinja::context! { tab => "macros", macro_id => id, action, fault, name, actions => with_blanks(rows), ..dir.choices() },
    );
    if fault.is_some() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

pub async fn new_page(State(s): State<AppState>, Agent(session): Agent) -> PageResult {
    admin_only(&session)?;
    let dir = Directory::load(&s.store, session.actor.workspace_id).await?;
    Ok(editor(&session, &dir, None, "", &[], None))
}

pub async fn edit_page(State(s): State<AppState>, Agent(session): Agent, Path(id): Path<String>) -> PageResult {
    admin_only(&session)?;
    let id = id_of(&id)?;
    let ws = session.actor.workspace_id;
    let m = s.store.macro_by_id(ws, id).await.map_err(missing)?;
    let dir = Directory::load(&s.store, ws).await?;
    let rows = super::rule_form::rows_of(&m.actions);
    Ok(editor(&session, &dir, Some(id), &m.name, &rows, None))
}

pub async fn create(State(s): State<AppState>, Posted(session, f): Posted<Vec<(String, String)>>) -> PageResult {
    admin_only(&session)?;
    save(&s, &session, None, Fields(f)).await
}

pub async fn update(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Posted(session, f): Posted<Vec<(String, String)>>,
) -> PageResult {
    admin_only(&session)?;
    let id = id_of(&id)?;
    s.store
        .macro_by_id(session.actor.workspace_id, id)
        .await
        .map_err(missing)?;
    save(&s, &session, Some(id), Fields(f)).await
}

async fn save(s: &AppState, session: &Session, id: Option<i64>, f: Fields) -> PageResult {
    let rows = read_actions(&f);
    let name = f.get("name");
    match s.svc.save_macro(&session.actor, id, name, &actions_json(&rows)).await {
        Ok(_) => Ok(back(LIST, "ok", &text(session, "macro-saved"))),
        Err(e) => {
            let dir = Directory::load(&s.store, session.actor.workspace_id).await?;
            let fault = locate_action(&e.say(), crate::i18n::pick(Some(&session.lang)));
            Ok(editor(session, &dir, id, name, &rows, Some(fault)))
        }
    }
}

pub async fn delete(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Posted(session, _): Posted<Nothing>,
) -> PageResult {
    admin_only(&session)?;
    let id = id_of(&id)?;
    s.store
        .delete_macro(session.actor.workspace_id, id)
        .await
        .map_err(missing)?;
    Ok(back(LIST, "ok", &text(&session, "macro-deleted")))
}

#[derive(Deserialize)]
pub struct ApplyForm {
    #[serde(default, rename = "macro")]
    id: String,
}

/// Applies a macro to the ticket on screen, as the agent.
pub async fn apply(
    State(s): State<AppState>,
    Path(number): Path<String>,
    Posted(session, f): Posted<ApplyForm>,
) -> PageResult {
    let t = super::ticket::open(&s, &session.actor, &number).await?;
    let url = format!("/app/t/{}", t.number);
    let id: i64 =
        f.id.parse()
            .map_err(|_| PageError::back(&url, &text(&session, "macro-choose")))?;
    let done = s.svc.apply_macro(&session.actor, id, &[t.id]).await.or_back(&url)?;
    // A macro that hands the ticket to another team may take it out of
    // this agent's reach.
    match done.first() {
        Some(after) if session.actor.can_see(after.access()) => Ok(back(&url, "ok", &text(&session, "macro-applied"))),
        Some(_) => Ok(Redirect::to("/app").into_response()),
        None => Err(PageError::back(&url, &text(&session, "macro-not-applied"))),
    }
}
