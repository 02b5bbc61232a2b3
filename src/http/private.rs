//! The private ticket page, `/p/{workspace}/t/{link}`: the customer's view
//! of their request (public replies only, never notes) with a reply box.
//! The link is the key: no account, nothing to guess.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use crate::app::AppState;
use crate::domain::ids::{TicketId, WorkspaceId};
use crate::domain::required_text;
use crate::error::AppError;
use crate::service::Writer;
use crate::store::{Ticket, Workspace};

#[derive(Deserialize, Default)]
pub struct PageQuery {
    sent: Option<String>,
    lang: Option<String>,
}

#[derive(Deserialize)]
pub struct ReplyForm {
    body: String,
}

#[derive(Deserialize)]
pub struct EstimateForm {
    /// `approve` or `question`.
    action: String,
    #[serde(default)]
    question: String,
}

async fn open(s: &AppState, addr: SocketAddr, slug: &str, link: &str) -> Result<(Workspace, Ticket), Response> {
    let ws = super::pages::open_workspace(s, addr, slug).await?;
    let t = s
        .store
        .ticket_by_link(ws.id, link)
        .await
        .map_err(|_| super::pages::not_found())?;
    Ok((ws, t))
}

/// As other public pages, but a workspace's own mail language comes before English.
pub(super) fn language(s: Option<&str>, headers: &HeaderMap, fallback: &str) -> &'static str {
    let chosen = super::pages::lang_of(s, headers);
    if s.is_none() && headers.get(header::ACCEPT_LANGUAGE).is_none() {
        crate::i18n::pick(Some(fallback))
    } else {
        chosen
    }
}

async fn page(s: &AppState, ws: &Workspace, t: &Ticket, lang: &str, sent: bool, error: Option<String>) -> Response {
    let messages = match s.store.public_messages(ws.id, t.id).await {
        Ok(m) => m,
        Err(e) => return AppError::from(e).into_response(),
    };
    let estimate = match s.store.ticket_estimate(ws.id, t.id).await {
        Ok(e) => e,
        Err(e) => return AppError::from(e).into_response(),
    };
    let tx = |k: &str| crate::i18n::text(lang, &format!("portal-{k}"), &[]);
    let items: Vec<minijinja::Value> = messages
        .iter()
        .map(|m| {
            let who = match m.from {
                "visitor" => tx("you"),
                _ if m.author_name.is_empty() => tx("team"),
                _ => m.author_name.clone(),
            };
            let at = crate::domain::time::rfc3339(m.created_at);
            minijinja::context! { from => if m.from == "visitor" { "customer" } else { "agent" }, who, body => m.body, at_text => at.replace('T', " ")[..16].to_string(), at }
        })
        .collect();
    let t_texts = minijinja::context! { reply => tx("reply"), send => tx("send"), sent => tx("sent"), conversation => tx("conversation") };
    let work = super::estimate::view(lang, &estimate);
    let estimate_url = match work {
        Some(_) => format!(
            "/p/{}/t/{}/estimate",
            ws.slug,
            s.store.ticket_link(t.id).await.unwrap_or_default()
        ),
        None => String::new(),
    };
    super::pages::render(
        "ticket.html",
        minijinja::context! {
            lang, dir => crate::i18n::dir(lang), workspace => ws.name, ticket => minijinja::Value::from_serialize(t),
            status_text => tx(&format!("status-{}", t.status)), messages => items, sent, error, t => t_texts, work, estimate_url,
        },
    )
}

pub async fn show(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path((slug, link)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let (ws, t) = match open(&s, addr, &slug, &link).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let fallback = s
        .store
        .mail_settings(ws.id)
        .await
        .map(|m| m.language)
        .unwrap_or_default();
    let lang = language(q.lang.as_deref(), &headers, &fallback);
    page(&s, &ws, &t, lang, q.sent.is_some(), None).await
}

pub async fn reply(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path((slug, link)): Path<(String, String)>,
    headers: HeaderMap,
    Form(f): Form<ReplyForm>,
) -> Response {
    let (ws, t) = match open(&s, addr, &slug, &link).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let body = match required_text("body", &f.body, 10_000) {
        Ok(b) => b,
        Err(e) => {
            let lang = language(None, &headers, "en");
            let msg = if f.body.trim().is_empty() {
                crate::i18n::text(lang, "portal-error-empty", &[])
            } else {
                e.to_string()
            };
            return page(&s, &ws, &t, lang, false, Some(msg)).await;
        }
    };
    match s
        .svc
        .post_as(WorkspaceId(ws.id), Writer::Contact, TicketId(t.id), body)
        .await
    {
        Ok(_) => Redirect::to(&format!("/p/{slug}/t/{link}?sent=1")).into_response(),
        Err(e) => AppError::from(e).into_response(),
    }
}

/// The client approves the estimate, or questions it (the question is
/// posted on the ticket as their message).
pub async fn answer_estimate(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path((slug, link)): Path<(String, String)>,
    headers: HeaderMap,
    Form(f): Form<EstimateForm>,
) -> Response {
    let (ws, t) = match open(&s, addr, &slug, &link).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let question = match super::estimate::answer(&f.action, &f.question) {
        Ok(q) => q,
        Err(e) => return page(&s, &ws, &t, language(None, &headers, "en"), false, Some(e)).await,
    };
    match s.svc.answer_estimate(ws.id, t.contact.id, t.id, question).await {
        Ok(_) => Redirect::to(&format!("/p/{slug}/t/{link}?sent=1")).into_response(),
        Err(e) => AppError::from(e).into_response(),
    }
}
