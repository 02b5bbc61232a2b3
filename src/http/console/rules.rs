//! Admin → Rules: the workspace's automation rules in the order they run,
//! switched on and off, moved, deleted and previewed on recent tickets,
//! and the editor that writes one from plain form rows. Every change goes
//! through the rules service, so the console refuses what the API refuses,
//! with the same message.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::admin::admin_only;
use super::rule_form::{action_summary, condition_summary, with_blanks, Directory, Fields, RuleForm};
use super::{back, page, Agent, Nothing, Notice, PageError, PageResult, Posted, Say};
use crate::app::AppState;
use crate::store::console::Session;
use crate::store::StoreError;

const LIST: &str = "/app/admin/rules";

/// Tickets a preview lists by link; the count covers them all.
const PREVIEW_SHOWN: usize = 100;

/// A rule id from the address; anything else, like another workspace's
/// rule, is "not found".
pub(super) fn id_of(raw: &str) -> Result<i64, PageError> {
    raw.parse()
        .ok()
        .filter(|i| *i > 0)
        .ok_or_else(|| crate::http::pages::not_found().into())
}

/// Not found as the plain page; other failures as they are.
pub(super) fn missing(e: StoreError) -> PageError {
    match e {
        StoreError::NotFound => crate::http::pages::not_found().into(),
        e => e.into(),
    }
}

pub(super) fn text(s: &Session, id: &str) -> String {
    super::console_text(crate::i18n::pick(Some(&s.lang)), id, &[])
}

pub async fn list(State(s): State<AppState>, Agent(session): Agent, Query(n): Query<Notice>) -> PageResult {
    admin_only(&session)?;
    list_page(&s, &session, &n, None).await
}

/// The list, with the preview of one rule above it when asked.
async fn list_page(s: &AppState, session: &Session, n: &Notice, preview: Option<minijinja::Value>) -> PageResult {
    let ws = session.actor.workspace_id;
    let (rules, dir) = tokio::try_join!(s.store.list_rules(ws), Directory::load(&s.store, ws))?;
    let rules: Vec<_> = rules
        .iter()
        .map(|r| {
            let d = &r.def;
            minijinja::context! {
                id => r.id, name => d.name, event => d.event.as_str().replace(['.', '_'], "-"),
                minutes => d.minutes, business_hours => d.business_hours, enabled => d.enabled, stop => d.stop,
                conditions => condition_summary(&d.conditions, &dir), actions => action_summary(&d.actions, &dir),
            }
        })
        .collect();
    Ok(page(
        session,
        "console_admin_rules.html",
        "admin",
        minijinja::context! { tab => "rules", ok => n.ok, err => n.err, rules, preview },
    ))
}

/// Which of the newest tickets the rule's conditions match now.
pub async fn preview(State(s): State<AppState>, Agent(session): Agent, Path(id): Path<String>) -> PageResult {
    admin_only(&session)?;
    let id = id_of(&id)?;
    let ws = session.actor.workspace_id;
    let rule = s.store.rule(ws, id).await.map_err(missing)?;
    let (checked, hits) = s.svc.preview_rule(ws, id).await.map_err(missing)?;
    let tickets: Vec<_> = hits
        .iter()
        .take(PREVIEW_SHOWN)
        .map(|t| minijinja::context! { number => t.number, subject => t.subject, status => t.status.as_str() })
        .collect();
    let preview = minijinja::context! { id, name => rule.def.name, checked, matched => hits.len(), tickets, more => hits.len() > PREVIEW_SHOWN };
    list_page(&s, &session, &Notice::default(), Some(preview)).await
}

/// The editor, with the fault of the last attempt when there is one.
fn editor(
    session: &Session,
    dir: &Directory,
    rule_id: Option<i64>,
    form: &RuleForm,
    fault: Option<String>,
) -> Response {
    let action = rule_id.map_or_else(|| format!("{LIST}/new"), |id| format!("{LIST}/{id}"));
    let mut r = page(
        session,
        "console_admin_rule_edit.html",
        "admin",
        minijinja::context! {
            tab => "rules", rule_id, action, fault, form, mixed => form.mixed(),
            conditions => with_blanks(&form.conditions), actions => with_blanks(&form.actions),
            ..dir.choices()
        },
    );
    if fault.is_some() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

pub async fn new_page(State(s): State<AppState>, Agent(session): Agent) -> PageResult {
    admin_only(&session)?;
    let dir = Directory::load(&s.store, session.actor.workspace_id).await?;
    Ok(editor(&session, &dir, None, &RuleForm::blank(), None))
}

pub async fn edit_page(State(s): State<AppState>, Agent(session): Agent, Path(id): Path<String>) -> PageResult {
    admin_only(&session)?;
    let id = id_of(&id)?;
    let ws = session.actor.workspace_id;
    let (rule, dir) = tokio::try_join!(async { s.store.rule(ws, id).await.map_err(missing) }, async {
        Directory::load(&s.store, ws).await.map_err(PageError::from)
    })?;
    Ok(editor(
        &session,
        &dir,
        Some(id),
        &RuleForm::from_def(&rule.def, &dir),
        None,
    ))
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
    s.store.rule(session.actor.workspace_id, id).await.map_err(missing)?;
    save(&s, &session, Some(id), Fields(f)).await
}

/// Saves the posted rule, or shows the editor again with what was typed
/// and why it was refused.
async fn save(s: &AppState, session: &Session, id: Option<i64>, f: Fields) -> PageResult {
    let dir = Directory::load(&s.store, session.actor.workspace_id).await?;
    let form = RuleForm::read(&f);
    let saved = match form.to_json(&dir) {
        Err(fault) => Err(fault),
        Ok(body) => match id {
            None => s.svc.create_rule(&session.actor, &body).await,
            Some(id) => s.svc.update_rule(&session.actor, id, &body).await,
        }
        .map_err(Say::say),
    };
    match saved {
        Ok(_) => Ok(back(LIST, "ok", &text(session, "rule-saved"))),
        Err(fault) => {
            let lang = crate::i18n::pick(Some(&session.lang));
            Ok(editor(session, &dir, id, &form, Some(form.locate(&fault, lang))))
        }
    }
}

#[derive(Deserialize)]
pub struct EnabledForm {
    #[serde(default)]
    on: String,
}

pub async fn set_enabled(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Posted(session, f): Posted<EnabledForm>,
) -> PageResult {
    admin_only(&session)?;
    change(&s, &session, &id, json!({ "enabled": f.on == "1" }), "rule-saved").await
}

#[derive(Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    to: i64,
}

/// Moves a rule to a place in the order (1 = runs first).
pub async fn move_to(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Posted(session, f): Posted<MoveForm>,
) -> PageResult {
    admin_only(&session)?;
    change(&s, &session, &id, json!({ "position": f.to.max(1) }), "rule-moved").await
}

async fn change(s: &AppState, session: &Session, id: &str, patch: serde_json::Value, done: &str) -> PageResult {
    let id = id_of(id)?;
    match s.svc.update_rule(&session.actor, id, &patch).await {
        Ok(_) => Ok(back(LIST, "ok", &text(session, done))),
        Err(StoreError::NotFound) => Err(missing(StoreError::NotFound)),
        Err(e) => Err(PageError::back(LIST, &e.say())),
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
        .delete_rule(session.actor.workspace_id, id)
        .await
        .map_err(missing)?;
    Ok(back(LIST, "ok", &text(&session, "rule-deleted")))
}
