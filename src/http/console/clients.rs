//! Admin → Clients: the studio's clients with this month's use of their
//! subscription (the warning share shown plainly), a client's terms
//! (created and edited from plain forms, checked as the API checks them,
//! refused next to the form with what was typed), and which contacts
//! belong to the client.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::admin::admin_only;
use super::rules::{id_of, missing, text};
use super::time::{client_line, hm};
use super::{back, page, Agent, Nothing, Notice, OrBack, PageError, PageResult, Posted, Say};
use crate::app::AppState;
use crate::domain::worklog::{Month, WorkType, WARN_PERCENT};
use crate::domain::{Email, Invalid};
use crate::http::api::clients::{fields, ClientBody};
use crate::store::clients::Client;
use crate::store::console::Session;
use crate::store::now_ms;

const LIST: &str = "/app/admin/clients";

/// The client form as typed.
#[derive(Debug, Default, Clone, Deserialize, serde::Serialize)]
pub struct ClientForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    work_type: String,
    /// Hours a month: "10", "7.5" or "7:30".
    #[serde(default)]
    included: String,
    /// Per hour in the currency: "60" or "60.50".
    #[serde(default)]
    hourly_rate: String,
    #[serde(default)]
    urgent_rate: String,
    #[serde(default)]
    currency: String,
}

impl ClientForm {
    fn of(c: &Client) -> Self {
        Self {
            name: c.name.clone(),
            work_type: c.work_type.as_str().into(),
            included: hm(c.included_minutes),
            hourly_rate: crate::domain::worklog::money(c.hourly_rate),
            urgent_rate: crate::domain::worklog::money(c.urgent_rate),
            currency: c.currency.clone(),
        }
    }

    fn blank() -> Self {
        Self {
            work_type: WorkType::OneOff.as_str().into(),
            included: "0".into(),
            hourly_rate: "0".into(),
            urgent_rate: "0".into(),
            currency: "EUR".into(),
            ..Default::default()
        }
    }

    /// The API's body for the form (then checked as the API checks it).
    fn body(&self) -> Result<ClientBody, Invalid> {
        Ok(ClientBody {
            name: Some(self.name.clone()),
            work_type: Some(self.work_type.trim().to_string()),
            included_minutes: Some(hours("included_minutes", &self.included)?),
            hourly_rate: Some(minor("hourly_rate", &self.hourly_rate)?),
            urgent_rate: Some(minor("urgent_rate", &self.urgent_rate)?),
            currency: Some(self.currency.clone()),
        })
    }
}

/// Hours as typed ("10", "7.5", "7:30", empty for none) in minutes.
pub fn hours(field: &'static str, raw: &str) -> Result<i64, Invalid> {
    let raw = raw.trim().replace(',', ".");
    let bad = || Invalid::new(field, "type hours: 10, 7.5 or 7:30");
    if raw.is_empty() {
        return Ok(0);
    }
    if raw.len() > 12 {
        return Err(bad());
    }
    let digits = |v: &str| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit());
    if let Some((h, m)) = raw.split_once(':') {
        if !digits(h) || !digits(m) {
            return Err(bad());
        }
        let (h, m): (i64, i64) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if m >= 60 {
            return Err(bad());
        }
        return Ok(h * 60 + m);
    }
    let (whole, frac) = raw.split_once('.').unwrap_or((&raw, ""));
    if !digits(whole) || !(frac.is_empty() || digits(frac)) || frac.len() > 2 {
        return Err(bad());
    }
    let h: i64 = whole.parse().map_err(|_| bad())?;
    let hundredths: i64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    Ok(h * 60 + (hundredths * 60 + 50) / 100)
}

/// An amount as typed ("60", "60.5", "60,50") in minor units.
pub fn minor(field: &'static str, raw: &str) -> Result<i64, Invalid> {
    let raw = raw.trim().replace(',', ".");
    let bad = || Invalid::new(field, "type an amount such as 60 or 60.50");
    if raw.is_empty() {
        return Ok(0);
    }
    if raw.len() > 15 {
        return Err(bad());
    }
    let (whole, frac) = raw.split_once('.').unwrap_or((&raw, ""));
    let digits = |v: &str| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit());
    if !digits(whole) || !(frac.is_empty() || digits(frac)) || frac.len() > 2 {
        return Err(bad());
    }
    let w: i64 = whole.parse().map_err(|_| bad())?;
    let f: i64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    w.checked_mul(100).and_then(|w| w.checked_add(f)).ok_or_else(bad)
}

fn work_types() -> Vec<&'static str> {
    WorkType::ALL.iter().map(|w| w.as_str()).collect()
}

/// The list: every client with this month's figures.
async fn list_page(
    s: &AppState,
    session: &Session,
    n: &Notice,
    form: &ClientForm,
    fault: Option<String>,
) -> PageResult {
    let month = Month::of(now_ms());
    let o = s.svc.month_overview(session.actor.workspace_id, None, month).await?;
    let clients: Vec<_> = o.clients.iter().map(client_line).collect();
    let mut r = page(
        session,
        "console_admin_clients.html",
        "admin",
        minijinja::context! {
            tab => "clients", ok => n.ok, err => n.err, clients, month => month.to_string(),
            warn_percent => WARN_PERCENT, form, fault, work_types => work_types(),
        },
    );
    if fault.is_some() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

pub async fn list(State(s): State<AppState>, Agent(session): Agent, Query(n): Query<Notice>) -> PageResult {
    admin_only(&session)?;
    list_page(&s, &session, &n, &ClientForm::blank(), None).await
}

pub async fn create(State(s): State<AppState>, Posted(session, f): Posted<ClientForm>) -> PageResult {
    admin_only(&session)?;
    let checked = f.body().and_then(fields);
    let saved = match checked {
        Ok(fields) => s
            .store
            .create_client(session.actor.workspace_id, &fields)
            .await
            .map_err(Say::say),
        Err(e) => Err(e.say()),
    };
    match saved {
        Ok(c) => Ok(back(&format!("{LIST}/{}", c.id), "ok", &text(&session, "client-saved"))),
        Err(why) => list_page(&s, &session, &Notice::default(), &f, Some(why)).await,
    }
}

async fn edit_page(
    s: &AppState,
    session: &Session,
    c: &Client,
    n: &Notice,
    form: &ClientForm,
    fault: Option<String>,
) -> PageResult {
    let ws = session.actor.workspace_id;
    let month = Month::of(now_ms());
    let (contacts, report) = tokio::try_join!(s.store.client_contacts(ws, c.id), s.svc.client_report(ws, c.id, month))?;
    let mut r = page(
        session,
        "console_admin_client_edit.html",
        "admin",
        minijinja::context! {
            tab => "clients", ok => n.ok, err => n.err, client_id => c.id, client_name => c.name,
            form, fault, work_types => work_types(), contacts, line => client_line(&report),
            month => month.to_string(), warn_percent => WARN_PERCENT,
        },
    );
    if fault.is_some() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

async fn client(s: &AppState, session: &Session, id: &str) -> Result<Client, PageError> {
    let id = id_of(id)?;
    s.store.client(session.actor.workspace_id, id).await.map_err(missing)
}

pub async fn show(
    State(s): State<AppState>,
    Agent(session): Agent,
    Path(id): Path<String>,
    Query(n): Query<Notice>,
) -> PageResult {
    admin_only(&session)?;
    let c = client(&s, &session, &id).await?;
    edit_page(&s, &session, &c, &n, &ClientForm::of(&c), None).await
}

pub async fn update(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Posted(session, f): Posted<ClientForm>,
) -> PageResult {
    admin_only(&session)?;
    let c = client(&s, &session, &id).await?;
    let saved = match f.body().and_then(fields) {
        Ok(fields) => s
            .store
            .update_client(session.actor.workspace_id, c.id, &fields)
            .await
            .map_err(Say::say),
        Err(e) => Err(e.say()),
    };
    match saved {
        Ok(c) => Ok(back(&format!("{LIST}/{}", c.id), "ok", &text(&session, "client-saved"))),
        Err(why) => edit_page(&s, &session, &c, &Notice::default(), &f, Some(why)).await,
    }
}

pub async fn delete(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Posted(session, _): Posted<Nothing>,
) -> PageResult {
    admin_only(&session)?;
    let c = client(&s, &session, &id).await?;
    s.store
        .delete_client(session.actor.workspace_id, c.id)
        .await
        .map_err(missing)?;
    Ok(back(LIST, "ok", &text(&session, "client-deleted")))
}

#[derive(Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    email: String,
}

/// Links the contact that owns an address to the client.
pub async fn link(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Posted(session, f): Posted<LinkForm>,
) -> PageResult {
    admin_only(&session)?;
    let c = client(&s, &session, &id).await?;
    let url = format!("{LIST}/{}", c.id);
    let ws = session.actor.workspace_id;
    let email = Email::parse("email", &f.email).or_back(&url)?;
    let contact = s
        .store
        .contact_by_email(ws, email.as_str())
        .await?
        .ok_or_else(|| PageError::back(&url, &text(&session, "client-no-contact")))?;
    s.store
        .set_contact_client(ws, contact, Some(c.id))
        .await
        .or_back(&url)?;
    Ok(back(&url, "ok", &text(&session, "client-linked")))
}

pub async fn unlink(
    State(s): State<AppState>,
    Path((id, contact)): Path<(String, String)>,
    Posted(session, _): Posted<Nothing>,
) -> PageResult {
    admin_only(&session)?;
    let c = client(&s, &session, &id).await?;
    let contact = id_of(&contact)?;
    let ws = session.actor.workspace_id;
    // Only a contact of this client is unlinked from it.
    let theirs = s.store.client_contacts(ws, c.id).await?;
    if !theirs.iter().any(|k| k.id == contact) {
        return Err(crate::http::pages::not_found().into());
    }
    s.store.set_contact_client(ws, contact, None).await.map_err(missing)?;
    Ok(back(
        &format!("{LIST}/{}", c.id),
        "ok",
        &text(&session, "client-unlinked"),
    ))
}

/// `/app/clients`: the page lives with the other admin pages.
pub async fn short() -> Response {
    Redirect::to(LIST).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_and_amounts_as_typed() {
        assert_eq!(hours("h", "10").unwrap(), 600);
        assert_eq!(hours("h", "7.5").unwrap(), 450);
        assert_eq!(hours("h", "7,25").unwrap(), 435);
        assert_eq!(hours("h", "7:30").unwrap(), 450);
        assert_eq!(hours("h", "").unwrap(), 0);
        for bad in ["-1", "x", "1:60", "1.234", "1e3", "99999999999999"] {
            assert!(hours("h", bad).is_err(), "{bad}");
        }
        assert_eq!(minor("r", "60").unwrap(), 6000);
        assert_eq!(minor("r", "60.5").unwrap(), 6050);
        assert_eq!(minor("r", "60,05").unwrap(), 6005);
        for bad in ["-1", "1.234", "abc", "9999999999999999"] {
            assert!(minor("r", bad).is_err(), "{bad}");
        }
    }
}
