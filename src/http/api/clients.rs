//! Clients (admins manage them, agents read them), a contact's client, and
//! the monthly time reports per client (JSON, CSV) and per agent. Another
//! workspace's client is "not found".

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::admin_only;
use crate::app::AppState;
use crate::domain::worklog::{hm, money, Month, WorkType, INCLUDED_MAX_MINUTES, RATE_MAX};
use crate::domain::{required_text, Actor, Invalid};
use crate::error::{ApiResult, AppError};
use crate::http::csv::Csv;
use crate::http::extract::{nullable, parse_id, ApiJson, ApiQuery};
use crate::service::worklog::ClientReport;
use crate::store::clients::ClientFields;
use crate::store::{now_ms, StoreError};

const MANAGE: &str = "manage clients";
const NAME_MAX: usize = 200;

fn not_found(what: &'static str) -> impl Fn(StoreError) -> AppError {
    move |e| match e {
        StoreError::NotFound => AppError::not_found(what),
        e => e.into(),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ClientBody {
    pub name: Option<String>,
    pub work_type: Option<String>,
    pub included_minutes: Option<i64>,
    pub hourly_rate: Option<i64>,
    pub urgent_rate: Option<i64>,
    pub currency: Option<String>,
}

fn bounded(field: &'static str, v: Option<i64>, max: i64) -> Result<Option<i64>, Invalid> {
    match v {
        Some(n) if !(0..=max).contains(&n) => Err(Invalid::new(field, format!("must be between 0 and {max}"))),
        v => Ok(v),
    }
}

/// A client's fields, checked (the console's form is checked the same way).
pub fn fields(b: ClientBody) -> Result<ClientFields, Invalid> {
    let currency = match b.currency {
        Some(c) => {
            let c = c.trim().to_ascii_uppercase();
            if c.len() != 3 || !c.chars().all(|ch| ch.is_ascii_uppercase()) {
                return Err(Invalid::new("currency", "must be a three-letter code like EUR"));
            }
            Some(c)
        }
        None => None,
    };
    Ok(ClientFields {
        name: b.name.map(|n| required_text("name", &n, NAME_MAX)).transpose()?,
        work_type: b.work_type.map(|w| WorkType::parse("work_type", &w)).transpose()?,
        included_minutes: bounded("included_minutes", b.included_minutes, INCLUDED_MAX_MINUTES)?,
        hourly_rate: bounded("hourly_rate", b.hourly_rate, RATE_MAX)?,
        urgent_rate: bounded("urgent_rate", b.urgent_rate, RATE_MAX)?,
        currency,
    })
}

pub async fn list(State(s): State<AppState>, actor: Actor) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "items": s.store.list_clients(actor.workspace_id).await? }),
    ))
}

pub async fn create(
    State(s): State<AppState>,
    actor: Actor,
    ApiJson(b): ApiJson<ClientBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    admin_only(&actor, MANAGE)?;
    if b.name.is_none() {
        return Err(Invalid::new("name", "is required").into());
    }
    let c = s.store.create_client(actor.workspace_id, &fields(b)?).await?;
    Ok((StatusCode::CREATED, Json(json!(c))))
}

pub async fn show(State(s): State<AppState>, actor: Actor, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "client")?;
    let c = s
        .store
        .client(actor.workspace_id, id)
        .await
        .map_err(not_found("client"))?;
    let mut v = json!(c);
    v["contacts"] = json!(s.store.client_contacts(actor.workspace_id, id).await?);
    Ok(Json(v))
}

pub async fn update(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ClientBody>,
) -> ApiResult<Json<Value>> {
    admin_only(&actor, MANAGE)?;
    let id = parse_id(&id, "client")?;
    let f = fields(b)?;
    let c = s
        .store
        .update_client(actor.workspace_id, id, &f)
        .await
        .map_err(not_found("client"))?;
    Ok(Json(json!(c)))
}

pub async fn delete(State(s): State<AppState>, actor: Actor, Path(id): Path<String>) -> ApiResult<StatusCode> {
    admin_only(&actor, MANAGE)?;
    let id = parse_id(&id, "client")?;
    s.store
        .delete_client(actor.workspace_id, id)
        .await
        .map_err(not_found("client"))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactClient {
    #[serde(default, deserialize_with = "nullable")]
    client_id: Option<Option<i64>>,
}

/// Links a contact to a client (`{"client_id": null}` unlinks it).
pub async fn set_contact_client(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ContactClient>,
) -> ApiResult<Json<Value>> {
    super::contacts::unrestricted(&actor)?;
    let id = parse_id(&id, "contact")?;
    let client = b
        .client_id
        .ok_or_else(|| Invalid::new("client_id", "is required (null unlinks)"))?;
    s.store
        .set_contact_client(actor.workspace_id, id, client)
        .await
        .map_err(not_found("contact"))?;
    Ok(Json(json!({ "contact_id": id, "client_id": client })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonthParams {
    month: Option<String>,
    agent_id: Option<i64>,
}

fn month_of(p: &MonthParams) -> Result<Month, Invalid> {
    match p.month.as_deref() {
        Some(m) => Month::parse("month", m),
        None => Ok(Month::of(now_ms())),
    }
}

async fn client_report(s: &AppState, actor: &Actor, id: &str, p: &MonthParams) -> ApiResult<ClientReport> {
    if p.agent_id.is_some() {
        return Err(Invalid::new("agent_id", "is for /reports/time").into());
    }
    let id = parse_id(id, "client")?;
    let month = month_of(p)?;
    s.svc
        .client_report(actor.workspace_id, id, month)
        .await
        .map_err(not_found("client"))
}

pub async fn report(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<MonthParams>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!(client_report(&s, &actor, &id, &p).await?)))
}

/// A client's month as a CSV: one row per ticket, then the totals.
pub fn report_csv(r: &ClientReport) -> Csv {
    let mut c = Csv::new(&[
        "month",
        "ticket",
        "subject",
        "urgent",
        "minutes",
        "billable_minutes",
        "time",
    ]);
    for t in &r.tickets {
        c.row([
            r.month.clone(),
            t.number.to_string(),
            t.subject.clone(),
            t.urgent.to_string(),
            t.minutes.to_string(),
            t.billable_minutes.to_string(),
            hm(t.minutes),
        ]);
    }
    let b = &r.bill;
    let amount = |minor: i64| format!("{} {}", money(minor), r.client.currency);
    let mut total = |what: &str, urgent: &str, minutes: String, billable: String, shown: String| {
        c.row([
            r.month.as_str(),
            what,
            "",
            urgent,
            minutes.as_str(),
            billable.as_str(),
            shown.as_str(),
        ]);
    };
    total(
        "total",
        "",
        r.total_minutes.to_string(),
        r.billable_minutes.to_string(),
        hm(r.total_minutes),
    );
    total(
        "included",
        "",
        b.included_used_minutes.to_string(),
        String::new(),
        String::new(),
    );
    total(
        "regular",
        "false",
        b.regular_charged_minutes.to_string(),
        String::new(),
        amount(b.regular_amount),
    );
    total(
        "urgent",
        "true",
        b.urgent_minutes.to_string(),
        String::new(),
        amount(b.urgent_amount),
    );
    total("amount", "", String::new(), String::new(), amount(b.total_amount));
    if let Some(left) = b.balance_minutes {
        total("balance", "", left.to_string(), String::new(), hm(left));
    }
    c
}

pub async fn report_csv_download(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<MonthParams>,
) -> ApiResult<Response> {
    let r = client_report(&s, &actor, &id, &p).await?;
    let name = format!("time-client-{}-{}", r.client.id, r.month);
    Ok(report_csv(&r).download(&name))
}

/// Time per ticket and agent in a month. An agent sees their own; an admin
/// anyone's (all agents when `agent_id` is left out).
pub async fn agents(
    State(s): State<AppState>,
    actor: Actor,
    ApiQuery(p): ApiQuery<MonthParams>,
) -> ApiResult<Json<Value>> {
    let month = month_of(&p)?;
    let agent = match p.agent_id {
        Some(a) if a != actor.user_id => {
            admin_only(&actor, "see another agent's time")?;
            Some(a)
        }
        Some(a) => Some(a),
        None if actor.is_admin() => None,
        None => Some(actor.user_id),
    };
    let rows = s.svc.agent_report(actor.workspace_id, agent, month).await?;
    let total: i64 = rows.iter().map(|r| r.minutes).sum();
    let billable: i64 = rows.iter().map(|r| r.billable_minutes).sum();
    Ok(Json(json!({
        "month": month.to_string(), "agent_id": agent, "items": rows,
        "total_minutes": total, "billable_minutes": billable,
    })))
}
