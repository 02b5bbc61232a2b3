//! The public ticket form (`/p/{workspace}/new`) and the call-back request
//! (`/p/{workspace}/callback`): no account, no store address shown, spam
//! kept out by a honeypot, a minimum fill time and rate limits.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::app::AppState;
use crate::domain::ids::WorkspaceId;
use crate::domain::{optional_text, required_text, Channel, Email, Priority};
use crate::error::AppError;
use crate::store::{Author, NewContact, NewTicket, TicketContact, Workspace};

/// Faster than this from showing the form to sending it is a robot.
const MIN_FILL_MS: i64 = 3_000;
const FORM_MAX_AGE_MS: i64 = 24 * 3600 * 1000;
/// Tickets one address may open by form in an hour.
const PER_ADDRESS_HOURLY: i64 = 5;

pub const UPLOAD_MAX: usize = 10 * 1024 * 1024;
const TYPES: [&str; 5] = ["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"];

#[derive(Deserialize, Default)]
pub struct LangQuery {
    lang: Option<String>,
}

fn texts(lang: &str) -> HashMap<&'static str, String> {
    [
        "name",
        "email",
        "email-optional",
        "phone",
        "when",
        "topic",
        "subject",
        "order",
        "message",
        "files",
        "send",
        "done",
        "link-intro",
        "suggest",
    ]
    .iter()
    .map(|k| (*k, crate::i18n::text(lang, &format!("form-{k}"), &[])))
    .collect()
}

struct Page<'a> {
    ws: &'a Workspace,
    lang: &'a str,
    callback: bool,
    values: HashMap<String, String>,
    error: Option<String>,
    done: Option<(i64, String)>,
}

async fn render(s: &AppState, p: Page<'_>) -> Response {
    let topics = s
        .store
        .widget_settings(p.ws.id)
        .await
        .map(|w| w.topics)
        .unwrap_or_default();
    let started = s
        .store
        .signed("form", &crate::store::now_ms().to_string())
        .await
        .unwrap_or_default();
    let t: HashMap<String, String> = texts(p.lang)
        .into_iter()
        .map(|(k, v)| (k.replace('-', "_"), v))
        .collect();
    let heading = crate::i18n::text(
        p.lang,
        if p.callback {
            "form-callback-heading"
        } else {
            "form-heading"
        },
        &[],
    );
    let (number, link) = p.done.clone().unwrap_or_default();
    let status = if p.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut r = super::pages::render(
        "form.html",
        minijinja::context! {
            lang => p.lang, dir => crate::i18n::dir(p.lang), workspace => p.ws.name, heading, t, v => p.values, error => p.error,
            callback => p.callback, topics => minijinja::Value::from_serialize(&topics), started, done => p.done.is_some(), number, link,
            kb_search => format!("/p/{}/kb/search", p.ws.slug),
        },
    );
    *r.status_mut() = status;
    r
}

pub async fn show(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let ws = match super::pages::open_workspace(&s, addr, &slug).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let lang = super::pages::lang_of(q.lang.as_deref(), &headers);
    render(
        &s,
        Page {
            ws: &ws,
            lang,
            callback: false,
            values: HashMap::new(),
            error: None,
            done: None,
        },
    )
    .await
}

pub async fn show_callback(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let ws = match super::pages::open_workspace(&s, addr, &slug).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let lang = super::pages::lang_of(q.lang.as_deref(), &headers);
    render(
        &s,
        Page {
            ws: &ws,
            lang,
            callback: true,
            values: HashMap::new(),
            error: None,
            done: None,
        },
    )
    .await
}

pub async fn submit(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    m: Multipart,
) -> Response {
    handle(s, addr, slug, q, headers, m, false).await
}

pub async fn submit_callback(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    m: Multipart,
) -> Response {
    handle(s, addr, slug, q, headers, m, true).await
}

/// How a submission ended.
enum Outcome {
    Done {
        number: i64,
        link: String,
    },
    /// Refused with a message for the person; the form is shown again.
    Refused {
        values: HashMap<String, String>,
        message: String,
    },
    /// Answered before the form was read (rate limit, unknown workspace, failure).
    Other(Response),
}

async fn handle(
    s: AppState,
    addr: SocketAddr,
    slug: String,
    q: LangQuery,
    headers: HeaderMap,
    m: Multipart,
    callback: bool,
) -> Response {
    // The widget sends the same form from the store's pages and wants JSON.
    let json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let lang = super::pages::lang_of(q.lang.as_deref(), &headers);
    let outcome = handle_form(&s, addr, &slug, lang, m, callback).await;
    let cors = [(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")];
    match (outcome, json) {
        (Outcome::Other(r), _) => r,
        (Outcome::Done { number, link }, true) => {
            (cors, axum::Json(serde_json::json!({ "number": number, "link": link }))).into_response()
        }
        (Outcome::Refused { message, .. }, true) => (
            cors,
            AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "refused", message),
        )
            .into_response(),
        (outcome, false) => {
            let Ok(ws) = s.store.workspace_by_slug(&slug).await else {
                return super::pages::not_found();
            };
            match outcome {
                Outcome::Done { number, link } => {
                    render(
                        &s,
                        Page {
                            ws: &ws,
                            lang,
                            callback,
                            values: HashMap::new(),
                            error: None,
                            done: Some((number, link)),
                        },
                    )
                    .await
                }
                Outcome::Refused { values, message } => {
                    render(
                        &s,
                        Page {
                            ws: &ws,
                            lang,
                            callback,
                            values,
                            error: Some(message),
                            done: None,
                        },
                    )
                    .await
                }
                Outcome::Other(r) => r,
            }
        }
    }
}

async fn handle_form(s: &AppState, addr: SocketAddr, slug: &str, lang: &str, m: Multipart, callback: bool) -> Outcome {
    let ws = match super::pages::open_workspace(s, addr, slug).await {
        Ok(w) => w,
        Err(r) => return Outcome::Other(r),
    };
    let refuse = |values: HashMap<String, String>, key: &str| Outcome::Refused {
        values,
        message: crate::i18n::text(lang, &format!("form-{key}"), &[]),
    };
    let rules = super::upload::Rules {
        total_max: UPLOAD_MAX,
        files_max: 10,
        types: Some(&TYPES),
    };
    let (mut values, files) = match super::upload::read(m, &rules).await {
        Ok(v) => v,
        Err(super::upload::Refused::Type) => return refuse(HashMap::new(), "err-type"),
        Err(_) => return refuse(HashMap::new(), "err-big"),
    };
    let bytes: usize = files.iter().map(|f| f.2.len()).sum();
    if bytes > 0 && s.svc.require_storage(ws.id, bytes as i64).await.is_err() {
        return refuse(values, "err-big");
    }
    // A robot fills every field it sees, and fast.
    let started = match s
        .store
        .verified("form", values.get("started").map(String::as_str).unwrap_or(""))
        .await
    {
        Ok(Some(v)) => v.parse::<i64>().unwrap_or(0),
        _ => 0,
    };
    let age = crate::store::now_ms() - started;
    let hp = values.get("website").is_some_and(|v| !v.is_empty());
    values.remove("started");
    if hp || started == 0 || age > FORM_MAX_AGE_MS {
        metrics::counter!("storedesk_form_refused_total", "why" => "bot").increment(1);
        return refuse(values, "err-bot");
    }
    if age < MIN_FILL_MS {
        metrics::counter!("storedesk_form_refused_total", "why" => "fast").increment(1);
        return refuse(values, "err-fast");
    }
    let get = |k: &str| values.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let topics = s
        .store
        .widget_settings(ws.id)
        .await
        .map(|w| w.topics)
        .unwrap_or_default();
    let parsed = (|| -> Result<(NewTicket, Option<String>), crate::domain::Invalid> {
        let name = optional_text("name", &get("name"), 200)?;
        let email = get("email");
        let email = if email.is_empty() && callback {
            None
        } else {
            Some(Email::parse("email", &email)?)
        };
        let topic = get("topic").parse::<usize>().ok().and_then(|i| topics.get(i).cloned());
        let (subject, body, phone) = if callback {
            let phone = required_text("phone", &get("phone"), 40)?;
            if !phone.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c))
                || phone.chars().filter(char::is_ascii_digit).count() < 5
            {
                return Err(crate::domain::Invalid::new("phone", "is not a phone number"));
            }
            let when = optional_text("when", &get("when"), 100)?;
            let about = optional_text("subject", &get("subject"), 300)?;
            let label = crate::i18n::text(lang, "form-callback-subject", &[]);
            let subject = if about.is_empty() {
                format!("{label}: {phone}")
            } else {
                format!("{label}: {about}")
            };
            let note = optional_text("message", &get("message"), 10_000)?;
            (
                subject,
                format!(
                    "☎ {phone}\n🕑 {}\n{}\n\n{note}",
                    if when.is_empty() { "—" } else { &when },
                    topic.as_ref().map(|t| t.name.as_str()).unwrap_or("")
                )
                .trim()
                .to_string(),
                Some(phone),
            )
        } else {
            let subject = required_text("subject", &get("subject"), 300)?;
            let mut body = required_text("message", &get("message"), 10_000)?;
            let order = optional_text("order", &get("order"), 100)?;
            if !order.is_empty() {
                body.push_str(&format!("\n\nOrder: {order}"));
            }
            if let Some(t) = &topic {
                body.push_str(&format!("\nTopic: {}", t.name));
            }
            (subject, body, None)
        };
        let contact = match email {
            Some(e) => TicketContact::Email(NewContact {
                email: e,
                name: (!name.is_empty()).then_some(name.clone()),
            }),
            None => TicketContact::Known(crate::store::ContactSummary {
                id: 0,
                name: name.clone(),
                email: None,
            }),
        };
        Ok((
            NewTicket {
                subject,
                body,
                contact,
                channel: if callback { Channel::Phone } else { Channel::Form },
                priority: Priority::Normal,
                labels: vec![],
                author: Author::Contact,
                external_id: None,
                message_external_id: None,
                team_id: topic.and_then(|t| t.team_id),
                kind: None,
                feature: None,
            },
            phone,
        ))
    })();
    let (mut new, phone) = match parsed {
        Ok(v) => v,
        Err(e) => {
            return Outcome::Refused {
                message: format!("{} ({e})", crate::i18n::text(lang, "form-err-fields", &[])),
                values,
            }
        }
    };
    if let TicketContact::Email(c) = &new.contact {
        if s.store
            .tickets_from(ws.id, c.email.as_str(), crate::store::now_ms() - 3_600_000)
            .await
            .unwrap_or(0)
            >= PER_ADDRESS_HOURLY
        {
            metrics::counter!("storedesk_form_refused_total", "why" => "address_rate").increment(1);
            return refuse(values, "err-many");
        }
    }
    if let (TicketContact::Known(c), Some(phone)) = (&new.contact, &phone) {
        match s.svc.contact_by_phone(WorkspaceId(ws.id), phone, &c.name).await {
            Ok(found) => new.contact = TicketContact::Known(found),
            Err(e) => return Outcome::Other(AppError::from(e).into_response()),
        }
    }
    let (ticket, first) = match s.svc.open_ticket(WorkspaceId(ws.id), new).await {
        Ok(o) => (o.ticket, o.message),
        Err(e) => return Outcome::Other(AppError::from(e).into_response()),
    };
    if let (false, Some(m)) = (files.is_empty(), first) {
        if let Err(e) = s.store.attach_to_message(&ticket, m.id, &files).await {
            tracing::warn!(error = %e, ticket_id = ticket.id, "ticket filed, but its files were not");
        }
    }
    match s.store.ticket_link(ticket.id).await {
        Ok(l) => Outcome::Done {
            number: ticket.number,
            link: format!("{}/p/{slug}/t/{l}", s.site.public_url),
        },
        Err(e) => Outcome::Other(AppError::from(e).into_response()),
    }
}
