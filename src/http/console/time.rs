//! Time in the console: the ticket page's time panel (the estimate and
//! the client's answer to it, the entries, the totals, a form to log time
//! and the agent's timer, kept on the server so a reload keeps it) and the
//! monthly time report per client and per agent with its CSV files. Every
//! write goes through the same use cases as `/api/v1/tickets/{id}/time`.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::rules::{id_of, text};
use super::ticket::open;
use super::{page, Agent, Nothing, OrBack, PageError, PageResult, Posted, Say};
use crate::app::AppState;
use crate::domain::plan::Feature;
use crate::domain::worklog::{duration, money, past_warning, Month, ENTRY_MAX_MINUTES, ESTIMATE_MAX_MINUTES, NOTE_MAX};
use crate::domain::{optional_text, Invalid};
use crate::http::csv::Csv;
use crate::service::worklog::{ClientReport, MonthOverview};
use crate::store::console::Session;
use crate::store::{now_ms, Ticket};

/// Whether the workspace's plan includes time tracking (the panel shows
/// only then).
pub(super) async fn tracked(s: &AppState, ws: i64) -> Result<bool, PageError> {
    Ok(s.svc.plans.standing(&s.store, ws).await?.allows(Feature::TimeTracking))
}

/// Refuses a post when the plan leaves time tracking out.
async fn require(s: &AppState, ws: i64) -> Result<(), PageError> {
    Ok(s.svc.require(ws, Feature::TimeTracking).await?)
}

/// Minutes as "1:05" (hours and minutes), the same in every language.
pub fn hm(minutes: i64) -> String {
    let sign = if minutes < 0 { "-" } else { "" };
    let m = minutes.abs();
    format!("{sign}{}:{:02}", m / 60, m % 60)
}

/// A duration as typed: whole minutes ("90") or hours and minutes ("1:30").
pub fn parse_duration(field: &'static str, raw: &str, max: i64, zero: bool) -> Result<i64, Invalid> {
    let raw = raw.trim();
    let bad = || Invalid::new(field, "type minutes (90) or hours and minutes (1:30)");
    if raw.is_empty() || raw.len() > 12 {
        return Err(bad());
    }
    let num = |v: &str| -> Result<i64, Invalid> {
        if v.is_empty() || !v.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        v.parse::<i64>().map_err(|_| bad())
    };
    let (h, m) = match raw.split_once(':') {
        Some((h, m)) => {
            let m = num(m)?;
            if m >= 60 {
                return Err(Invalid::new(field, "minutes after ':' must be below 60"));
            }
            (Some(num(h)?), Some(m))
        }
        None => (None, Some(num(raw)?)),
    };
    duration(h, m, max, zero).map_err(|e| Invalid::new(field, e.to_string()))
}

/// The ticket page's time panel; None when the plan has no time tracking.
pub(super) async fn panel(s: &AppState, session: &Session, t: &Ticket) -> Result<Option<minijinja::Value>, PageError> {
    if !tracked(s, session.actor.workspace_id).await? {
        return Ok(None);
    }
    let w = s.svc.ticket_work(&session.actor, t.id).await?;
    let me = session.actor.user_id;
    let admin = session.actor.is_admin();
    let entries: Vec<_> = w
        .entries
        .iter()
        .rev()
        .map(|e| {
            minijinja::context! {
                id => e.id, who => e.user_name, when => super::when(e.created_at), minutes => e.minutes,
                time => hm(e.minutes), billable => e.billable != 0, note => e.note,
                mine => e.user_id == me || admin,
            }
        })
        .collect();
    let against = w.estimate_minutes.map(|est| {
        let percent = if est > 0 { w.total_minutes * 100 / est } else { 0 };
        minijinja::context! {
            estimate => hm(est), percent, over => w.total_minutes > est,
            left => hm((est - w.total_minutes).max(0)), beyond => hm((w.total_minutes - est).max(0)),
        }
    });
    Ok(Some(minijinja::context! {
        entries,
        total => hm(w.total_minutes),
        billable => hm(w.billable_minutes),
        estimate => w.estimate_minutes.map(hm),
        estimate_raw => w.estimate_minutes.map(hm).unwrap_or_default(),
        estimate_state => w.estimate_state.map(|e| e.as_str()),
        urgent => w.urgent,
        against,
        timer => w.timer_started_at.map(|at| minijinja::context! {
            since => super::when(at), started_ms => at, elapsed => hm((now_ms() - at).max(0) / 60_000),
        }),
        month => Month::of(now_ms()).to_string(),
    }))
}

/// The ticket's page (its time panel is `#time`).
fn to_panel(t: &Ticket) -> String {
    format!("/app/t/{}", t.number)
}

/// Back to the ticket's time panel with a notice shown once.
fn done(t: &Ticket, session: &Session, key: &str) -> Response {
    let to = format!("{}?ok={}#time", to_panel(t), super::urlencode(&text(session, key)));
    Redirect::to(&to).into_response()
}

#[derive(Deserialize)]
pub struct LogForm {
    #[serde(default)]
    time: String,
    #[serde(default)]
    billable: Option<String>,
    #[serde(default)]
    note: String,
}

pub async fn log(
    State(s): State<AppState>,
    Path(number): Path<String>,
    Posted(session, f): Posted<LogForm>,
) -> PageResult {
    require(&s, session.actor.workspace_id).await?;
    let t = open(&s, &session.actor, &number).await?;
    let url = to_panel(&t);
    let minutes = parse_duration("time", &f.time, ENTRY_MAX_MINUTES, false).or_back(&url)?;
    let note = optional_text("note", f.note.trim(), NOTE_MAX).or_back(&url)?;
    let e = crate::store::worklog::NewEntry {
        minutes,
        billable: f.billable.is_some(),
        note,
    };
    s.svc.log_time(&session.actor, t.id, e).await.or_back(&url)?;
    Ok(done(&t, &session, "time-logged"))
}

pub async fn delete_entry(
    State(s): State<AppState>,
    Path((number, entry)): Path<(String, String)>,
    Posted(session, _): Posted<Nothing>,
) -> PageResult {
    require(&s, session.actor.workspace_id).await?;
    let t = open(&s, &session.actor, &number).await?;
    let url = to_panel(&t);
    let entry = id_of(&entry)?;
    let e = s
        .store
        .time_entry(session.actor.workspace_id, t.id, entry)
        .await
        .map_err(super::rules::missing)?;
    if e.user_id != session.actor.user_id && !session.actor.is_admin() {
        return Err(PageError::back(&url, &text(&session, "time-not-yours")));
    }
    s.svc
        .delete_time_entry(&session.actor, t.id, entry)
        .await
        .or_back(&url)?;
    Ok(done(&t, &session, "time-deleted"))
}

pub async fn start_timer(
    State(s): State<AppState>,
    Path(number): Path<String>,
    Posted(session, _): Posted<Nothing>,
) -> PageResult {
    require(&s, session.actor.workspace_id).await?;
    let t = open(&s, &session.actor, &number).await?;
    s.svc.start_timer(&session.actor, t.id).await.or_back(&to_panel(&t))?;
    Ok(done(&t, &session, "timer-started"))
}

#[derive(Deserialize)]
pub struct StopForm {
    #[serde(default)]
    billable: Option<String>,
    #[serde(default)]
    note: String,
}

pub async fn stop_timer(
    State(s): State<AppState>,
    Path(number): Path<String>,
    Posted(session, f): Posted<StopForm>,
) -> PageResult {
    require(&s, session.actor.workspace_id).await?;
    let t = open(&s, &session.actor, &number).await?;
    let url = to_panel(&t);
    let note = optional_text("note", f.note.trim(), NOTE_MAX).or_back(&url)?;
    match s.svc.stop_timer(&session.actor, t.id, f.billable.is_some(), note).await {
        Ok(_) => Ok(done(&t, &session, "timer-stopped")),
        Err(crate::store::StoreError::NotFound) => Err(PageError::back(&url, &text(&session, "timer-none"))),
        Err(e) => Err(PageError::back(&url, &e.say())),
    }
}

#[derive(Deserialize)]
pub struct EstimateForm {
    #[serde(default)]
    estimate: String,
    #[serde(default)]
    urgent: Option<String>,
}

pub async fn estimate(
    State(s): State<AppState>,
    Path(number): Path<String>,
    Posted(session, f): Posted<EstimateForm>,
) -> PageResult {
    require(&s, session.actor.workspace_id).await?;
    let t = open(&s, &session.actor, &number).await?;
    let url = to_panel(&t);
    let before = s.svc.ticket_work(&session.actor, t.id).await?;
    let raw = f.estimate.trim();
    let minutes = if raw.is_empty() {
        // An empty box removes an estimate there was, else leaves none.
        before.estimate_minutes.map(|_| 0)
    } else {
        Some(parse_duration("estimate", raw, ESTIMATE_MAX_MINUTES, true).or_back(&url)?)
    };
    // Unchanged, the client is not asked again.
    let had = before.estimate_minutes.unwrap_or(0);
    let minutes = minutes.filter(|m| *m != had);
    let urgent = Some(f.urgent.is_some());
    s.svc
        .set_estimate(&session.actor, t.id, minutes, urgent)
        .await
        .or_back(&url)?;
    Ok(done(&t, &session, "estimate-saved"))
}

// ---- The monthly report -------------------------------------------------

const REPORT: &str = "/app/reports/time";

#[derive(Deserialize, Default)]
pub struct MonthQuery {
    #[serde(default)]
    month: Option<String>,
}

fn month_of(q: &MonthQuery) -> Result<Month, Invalid> {
    match q.month.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => Month::parse("month", m),
        None => Ok(Month::of(now_ms())),
    }
}

fn shift(m: Month, by: i32) -> Month {
    let i = m.year * 12 + m.month as i32 - 1 + by;
    Month {
        year: i.div_euclid(12),
        month: (i.rem_euclid(12) + 1) as u32,
    }
}

/// Amounts per currency as "12.50 EUR, 3.00 USD".
fn amounts(list: &[(String, i64)]) -> String {
    list.iter()
        .map(|(c, v)| format!("{} {c}", money(*v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A client's line in the report and on the clients page.
pub(super) fn client_line(r: &ClientReport) -> minijinja::Value {
    let k = &r.client;
    let b = &r.bill;
    let regular = b.included_used_minutes + b.regular_charged_minutes;
    let subscription = k.work_type == crate::domain::worklog::WorkType::Subscription;
    let used_percent = if k.included_minutes > 0 {
        regular * 100 / k.included_minutes
    } else {
        0
    };
    minijinja::context! {
        id => k.id, name => k.name, work_type => k.work_type.as_str(), currency => k.currency,
        included => hm(k.included_minutes), included_minutes => k.included_minutes,
        hourly_rate => money(k.hourly_rate), urgent_rate => money(k.urgent_rate),
        minutes => hm(r.total_minutes), billable => hm(r.billable_minutes),
        amount => format!("{} {}", money(b.total_amount), k.currency),
        balance => b.balance_minutes.map(hm),
        used => hm(regular), used_percent,
        warn => subscription && past_warning(regular, k.included_minutes),
        over => subscription && regular > k.included_minutes,
        tickets => r.tickets.len(),
    }
}

fn overview_ctx(o: &MonthOverview, admin: bool) -> minijinja::Value {
    let clients: Vec<_> = o.clients.iter().map(client_line).collect();
    let agents: Vec<_> = o
        .agents
        .iter()
        .map(|a| {
            minijinja::context! {
                id => a.user_id, name => a.user_name, minutes => hm(a.minutes), billable => hm(a.billable_minutes),
                amount => amounts(&a.amounts),
            }
        })
        .collect();
    minijinja::context! {
        clients, agents, admin,
        unlinked => hm(o.unlinked_minutes), unlinked_billable => hm(o.unlinked_billable_minutes),
        has_unlinked => o.unlinked_minutes > 0,
    }
}

pub async fn report(State(s): State<AppState>, Agent(session): Agent, Query(q): Query<MonthQuery>) -> PageResult {
    let (month, fault) = match month_of(&q) {
        Ok(m) => (m, None),
        Err(e) => (Month::of(now_ms()), Some(e.to_string())),
    };
    let admin = session.actor.is_admin();
    let agent = (!admin).then_some(session.actor.user_id);
    let o = s.svc.month_overview(session.actor.workspace_id, agent, month).await?;
    let m = month.to_string();
    let ctx = minijinja::context! {
        month => m, prev => shift(month, -1).to_string(), next => shift(month, 1).to_string(),
        csv_clients => format!("{REPORT}/clients.csv?month={m}"),
        csv_agents => format!("{REPORT}/agents.csv?month={m}"),
        err => fault,
        ..overview_ctx(&o, admin)
    };
    let mut r = page(&session, "console_time_report.html", "reports", ctx);
    if q.month.is_some() && month_of(&q).is_err() {
        *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

/// The clients' month as a CSV: one row per client.
fn clients_csv(o: &MonthOverview) -> Csv {
    let mut c = Csv::new(&[
        "month",
        "client",
        "work_type",
        "minutes",
        "billable_minutes",
        "included_minutes",
        "included_used_minutes",
        "regular_charged_minutes",
        "urgent_minutes",
        "amount",
        "currency",
        "balance_minutes",
    ]);
    for r in &o.clients {
        let b = &r.bill;
        c.row([
            o.month.clone(),
            r.client.name.clone(),
            r.client.work_type.as_str().to_string(),
            r.total_minutes.to_string(),
            r.billable_minutes.to_string(),
            r.client.included_minutes.to_string(),
            b.included_used_minutes.to_string(),
            b.regular_charged_minutes.to_string(),
            b.urgent_minutes.to_string(),
            money(b.total_amount),
            r.client.currency.clone(),
            b.balance_minutes.map(|m| m.to_string()).unwrap_or_default(),
        ]);
    }
    c
}

/// The agents' month as a CSV: one row per agent and ticket.
fn agents_csv(o: &MonthOverview) -> Csv {
    let mut c = Csv::new(&[
        "month",
        "agent",
        "ticket",
        "subject",
        "urgent",
        "minutes",
        "billable_minutes",
    ]);
    for r in &o.rows {
        c.row([
            o.month.clone(),
            r.user_name.clone(),
            r.number.to_string(),
            r.subject.clone(),
            (r.urgent != 0).to_string(),
            r.minutes.to_string(),
            r.billable_minutes.to_string(),
        ]);
    }
    c
}

/// `/app/reports/time/{clients,agents}.csv` and `client-{id}.csv` (the
/// API's CSV of one client's month).
pub async fn report_csv(
    State(s): State<AppState>,
    Agent(session): Agent,
    Path(file): Path<String>,
    Query(q): Query<MonthQuery>,
) -> PageResult {
    let month = month_of(&q).map_err(crate::error::AppError::from)?;
    let ws = session.actor.workspace_id;
    let admin = session.actor.is_admin();
    let m = month.to_string();
    let name = file.strip_suffix(".csv").ok_or_else(crate::http::pages::not_found)?;
    let out = match name {
        "clients" => clients_csv(&s.svc.month_overview(ws, None, month).await?).download(&format!("time-clients-{m}")),
        "agents" => {
            let agent = (!admin).then_some(session.actor.user_id);
            agents_csv(&s.svc.month_overview(ws, agent, month).await?).download(&format!("time-agents-{m}"))
        }
        other => {
            let id = other
                .strip_prefix("client-")
                .ok_or_else(crate::http::pages::not_found)?;
            let id = id_of(id)?;
            let r = s
                .svc
                .client_report(ws, id, month)
                .await
                .map_err(super::rules::missing)?;
            crate::http::api::clients::report_csv(&r).download(&format!("time-client-{id}-{m}"))
        }
    };
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_typed() {
        assert_eq!(parse_duration("t", "90", ENTRY_MAX_MINUTES, false).unwrap(), 90);
        assert_eq!(parse_duration("t", " 1:30 ", ENTRY_MAX_MINUTES, false).unwrap(), 90);
        assert_eq!(parse_duration("t", "0:05", ENTRY_MAX_MINUTES, false).unwrap(), 5);
        assert_eq!(parse_duration("t", "0", ESTIMATE_MAX_MINUTES, true).unwrap(), 0);
        for bad in [
            "",
            "0",
            "-5",
            "1:75",
            "abc",
            "1.5",
            "1:",
            ":30",
            "25:00",
            "99999999999999999999",
        ] {
            assert!(parse_duration("t", bad, ENTRY_MAX_MINUTES, false).is_err(), "{bad}");
        }
        assert_eq!((hm(90), hm(5), hm(0)), ("1:30".into(), "0:05".into(), "0:00".into()));
        let m = Month::parse("m", "2026-01").unwrap();
        assert_eq!(shift(m, -1).to_string(), "2025-12");
        assert_eq!(shift(m, 12).to_string(), "2027-01");
    }
}
