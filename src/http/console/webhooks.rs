//! The webhooks admin page: subscriptions (add, switch on and off,
//! delete), a subscription's delivery log with what each receiver
//! answered, and replaying a delivery. A new subscription's secret is
//! shown once, on the page the form answers with (never in a URL).

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use serde_json::json;

use super::admin::admin_only;
use super::rules::id_of;
use super::{back, page, Agent, Nothing, OrBack, PageResult, Posted};
use crate::app::AppState;
use crate::store::console::Session;

const PAGE: &str = "/app/admin/webhooks";

#[derive(Deserialize, Default)]
pub struct WebhooksQuery {
    /// The subscription whose deliveries are shown.
    show: Option<i64>,
    ok: Option<String>,
    err: Option<String>,
}

async fn render(s: &AppState, session: &Session, q: &WebhooksQuery, secret: Option<String>) -> PageResult {
    let ws = session.actor.workspace_id;
    let hooks = s.store.list_webhooks(ws).await?;
    let shown = q.show.and_then(|id| hooks.iter().find(|h| h.id == id)).map(|h| h.id);
    let deliveries = match shown {
        Some(id) => s.store.webhook_deliveries(ws, id, None, 100).await?,
        None => vec![],
    };
    let hooks: Vec<_> = hooks
        .iter()
        .map(|h| {
            minijinja::context! {
                id => h.id, url => h.url, events => h.events.join(", "), active => h.active,
                reason => h.disabled_reason, created => super::when(h.created_at), shown => Some(h.id) == shown,
            }
        })
        .collect();
    let deliveries: Vec<_> = deliveries
        .iter()
        .map(|d| {
            minijinja::context! {
                id => d.id, event_type => d.event_type, event_id => d.event_id, ticket_id => d.ticket_id,
                origin => d.origin, state => d.state, attempts => d.attempts, status => d.response_status,
                answer => d.last_error.clone().or_else(|| d.response_excerpt.clone()),
                created => super::when(d.created_at), last => d.last_attempt_at.map(super::when),
                next => d.next_attempt_at.map(super::when),
            }
        })
        .collect();
    let types: Vec<&str> = crate::domain::event::EventType::ALL
        .iter()
        .map(|t| t.as_str())
        .collect();
    let ctx = minijinja::context! {
        tab => "webhooks", ok => q.ok, err => q.err, hooks, deliveries, shown, secret,
        types => types.join(", "),
    };
    Ok(page(session, "console_admin_webhooks.html", "admin", ctx))
}

pub async fn list(State(s): State<AppState>, Agent(session): Agent, Query(q): Query<WebhooksQuery>) -> PageResult {
    admin_only(&session)?;
    render(&s, &session, &q, None).await
}

/// `/app/webhooks`: the page lives with the other admin pages.
pub async fn short() -> Redirect {
    Redirect::to(PAGE)
}

#[derive(Deserialize)]
pub struct NewWebhook {
    #[serde(default)]
    url: String,
    #[serde(default)]
    events: String,
    #[serde(default)]
    secret: String,
}

/// Events typed as a list separated by commas or spaces; empty is all.
fn events_of(raw: &str) -> serde_json::Value {
    let names: Vec<&str> = raw
        .split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    if names.is_empty() {
        json!(["*"])
    } else {
        json!(names)
    }
}

pub async fn create(State(s): State<AppState>, Posted(session, f): Posted<NewWebhook>) -> PageResult {
    admin_only(&session)?;
    let mut body = json!({ "url": f.url, "events": events_of(&f.events) });
    if !f.secret.trim().is_empty() {
        body["secret"] = json!(f.secret.trim());
    }
    let (hook, secret) = s.svc.create_webhook(&session.actor, &body).await.or_back(PAGE)?;
    let q = WebhooksQuery {
        show: Some(hook.id),
        ..Default::default()
    };
    render(&s, &session, &q, Some(secret)).await
}

#[derive(Deserialize)]
pub struct Switch {
    #[serde(default)]
    on: String,
}

pub async fn set_active(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Posted(session, f): Posted<Switch>,
) -> PageResult {
    admin_only(&session)?;
    let id = id_of(&id)?;
    s.svc
        .update_webhook(&session.actor, id, &json!({ "active": f.on == "1" }))
        .await
        .or_back(PAGE)?;
    Ok(Redirect::to(PAGE).into_response())
}

pub async fn delete(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Posted(session, _): Posted<Nothing>,
) -> PageResult {
    admin_only(&session)?;
    let id = id_of(&id)?;
    s.store
        .delete_webhook(session.actor.workspace_id, id)
        .await
        .or_back(PAGE)?;
    Ok(Redirect::to(PAGE).into_response())
}

pub async fn replay(
    State(s): State<AppState>,
    Path((id, delivery)): Path<(String, String)>,
    Posted(session, _): Posted<Nothing>,
) -> PageResult {
    admin_only(&session)?;
    let (id, delivery) = (id_of(&id)?, id_of(&delivery)?);
    let to = format!("{PAGE}?show={id}");
    s.store
        .replay_webhook_delivery(session.actor.workspace_id, id, delivery)
        .await
        .or_back(&to)?;
    s.svc.webhooks.wake.notify_one();
    Ok(back(&to, "ok", "queued again"))
}
