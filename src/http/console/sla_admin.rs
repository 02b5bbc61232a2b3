//! Admin → SLA: the workspace's SLA policies in the order they are tried
//! (created, edited, moved and deleted from plain forms), and the
//! business-hours calendar their clocks count in. Everything is saved
//! through the SLA service, so the console refuses what the API refuses,
//! with the same message, next to the form and with what was typed.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::admin::admin_only;
use super::rule_form::Fields;
use super::rules::{id_of, missing, text};
use super::sla::span;
use super::{back, page, Agent, Nothing, Notice, PageError, PageResult, Posted, Say};
use crate::app::AppState;
use crate::domain::calendar::Calendar;
use crate::domain::sla::Policy;
use crate::domain::{Channel, Priority};
use crate::store::console::Session;
use crate::store::{StoreError, Team};

const LIST: &str = "/app/admin/sla";

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Zones offered while typing; any IANA name or `UTC+02:00` is taken.
const ZONES: &[&str] = &[
    "UTC",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Amsterdam",
    "Europe/Stockholm",
    "Europe/Warsaw",
    "Europe/Prague",
    "Europe/Vienna",
    "Europe/Kyiv",
    "Europe/Helsinki",
    "Europe/Athens",
    "Europe/Bucharest",
    "Europe/Istanbul",
    "Europe/Moscow",
    "Asia/Tbilisi",
    "Asia/Yerevan",
    "Asia/Baku",
    "Asia/Tehran",
    "Asia/Dubai",
    "Asia/Karachi",
    "Asia/Tashkent",
    "Asia/Almaty",
    "Asia/Kolkata",
    "Asia/Bangkok",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Africa/Cairo",
    "Africa/Lagos",
    "Africa/Johannesburg",
    "America/Sao_Paulo",
    "America/New_York",
    "America/Toronto",
    "America/Chicago",
    "America/Mexico_City",
    "America/Denver",
    "America/Los_Angeles",
];

/// The console's name for a field the service names in its message, so
/// the agent finds the input at fault.
fn field_label(session: &Session, field: &str) -> Option<String> {
    let id = match field {
        "name" => "name",
        "conditions" => "sla-conditions",
        "priority" => "priority",
        "channel" => "channel",
        "team_id" => "team",
        "first_response_minutes" => "sla-target-first-response",
        "next_response_minutes" => "sla-target-next-response",
        "resolution_minutes" => "sla-target-resolution",
        "business_hours" => "sla-hours",
        "time_zone" => "sla-time-zone",
        "week" => "sla-opening-hours",
        "holidays" => "sla-holidays",
        _ => return None,
    };
    Some(text(session, id))
}

/// Why a save was refused, for the page: the field's label and the
/// service's message, and the field (to mark its input).
fn fault(session: &Session, e: StoreError) -> (String, Option<&'static str>) {
    match e {
        StoreError::Invalid(i) => match field_label(session, i.field) {
            Some(label) => (format!("{label}: {}", i.message), Some(i.field)),
            None => (i.to_string(), None),
        },
        e => (e.say(), None),
    }
}

fn status(mut r: Response, fault: bool) -> Response {
    if fault {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

/// The calendar form as typed (or as stored).
#[derive(Debug, Clone, Default, serde::Serialize)]
struct CalendarForm {
    time_zone: String,
    /// (day, "09:00-13:00, 14:00-18:00")
    days: Vec<(String, String)>,
    holidays: String,
}

impl CalendarForm {
    fn of(c: &Calendar) -> Self {
        Self {
            time_zone: c.time_zone.clone(),
            days: DAYS
                .iter()
                .map(|d| (d.to_string(), c.week.get(*d).map(|p| p.join(", ")).unwrap_or_default()))
                .collect(),
            holidays: c.holidays.join("\n"),
        }
    }

    fn read(f: &HashMap<String, String>) -> Self {
        let get = |k: &str| f.get(k).cloned().unwrap_or_default();
        Self {
            time_zone: get("time_zone"),
            days: DAYS.iter().map(|d| (d.to_string(), get(d))).collect(),
            holidays: get("holidays"),
        }
    }

    /// The calendar the form describes; `validate` judges it. A day left
    /// empty is closed; a week left empty is open around the clock.
    fn calendar(&self) -> Calendar {
        let periods = |raw: &str| -> Vec<String> {
            raw.replace(['–', '—'], "-")
                .split([',', ';', '\n'])
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect()
        };
        let week: BTreeMap<String, Vec<String>> = self
            .days
            .iter()
            .map(|(d, raw)| (d.clone(), periods(raw)))
            .filter(|(_, p)| !p.is_empty())
            .collect();
        let zone = self.time_zone.trim();
        Calendar {
            time_zone: if zone.is_empty() {
                "UTC".into()
            } else {
                zone.to_string()
            },
            week,
            holidays: self
                .holidays
                .split(['\n', ',', ' ', '\t', '\r'])
                .map(str::trim)
                .filter(|h| !h.is_empty())
                .map(str::to_string)
                .collect(),
        }
    }
}

/// The list of policies and the calendar editor (with the fault of the
/// last attempt to save it, and what was typed).
async fn list_page(
    s: &AppState,
    session: &Session,
    n: &Notice,
    cal: Option<CalendarForm>,
    cal_fault: Option<(String, Option<&'static str>)>,
) -> PageResult {
    let ws = session.actor.workspace_id;
    let (policies, teams) = tokio::try_join!(s.store.list_sla_policies(ws), s.store.list_teams(ws))?;
    let cal = match cal {
        Some(c) => c,
        None => CalendarForm::of(&s.store.calendar(ws, None).await?),
    };
    let lang = crate::i18n::pick(Some(&session.lang));
    let policies: Vec<_> = policies.iter().map(|p| summary(p, &teams, lang)).collect();
    let (fault, fault_field) = cal_fault.unzip();
    let r = page(
        session,
        "console_admin_sla.html",
        "admin",
        minijinja::context! {
            tab => "sla", ok => n.ok, err => n.err, policies, cal, zones => ZONES,
            fault, fault_field => fault_field.flatten(),
        },
    );
    Ok(status(r, fault.is_some()))
}

fn summary(p: &Policy, teams: &[Team], lang: &str) -> minijinja::Value {
    let c = &p.conditions;
    let team = c.team_id.map(|id| {
        teams
            .iter()
            .find(|t| t.id == id)
            .map_or_else(|| format!("#{id}"), |t| t.name.clone())
    });
    let targets: Vec<_> = [
        ("first-response", p.first_response_minutes),
        ("next-response", p.next_response_minutes),
        ("resolution", p.resolution_minutes),
    ]
    .into_iter()
    .filter_map(|(key, m)| m.map(|m| minijinja::context! { key, time => span(lang, m) }))
    .collect();
    minijinja::context! {
        id => p.id, name => p.name, business_hours => p.business_hours, targets, team,
        priority => c.priority.iter().map(|x| x.as_str()).collect::<Vec<_>>(),
        channel => c.channel.iter().map(|x| x.as_str()).collect::<Vec<_>>(),
        every => c.priority.is_empty() && c.channel.is_empty() && c.team_id.is_none(),
    }
}

pub async fn list(State(s): State<AppState>, Agent(session): Agent, Query(n): Query<Notice>) -> PageResult {
    admin_only(&session)?;
    list_page(&s, &session, &n, None, None).await
}

/// The policy editor's fields as typed (or as stored).
#[derive(Debug, Clone, Default, serde::Serialize)]
struct PolicyForm {
    name: String,
    priority: Vec<String>,
    channel: Vec<String>,
    team: String,
    first_response: String,
    next_response: String,
    resolution: String,
    business_hours: bool,
}

impl PolicyForm {
    fn blank() -> Self {
        Self {
            business_hours: true,
            ..Default::default()
        }
    }

    fn of(p: &Policy) -> Self {
        let minutes = |m: Option<i64>| m.map(|m| m.to_string()).unwrap_or_default();
        Self {
            name: p.name.clone(),
            priority: p.conditions.priority.iter().map(|x| x.as_str().to_string()).collect(),
            channel: p.conditions.channel.iter().map(|x| x.as_str().to_string()).collect(),
            team: p.conditions.team_id.map(|t| t.to_string()).unwrap_or_default(),
            first_response: minutes(p.first_response_minutes),
            next_response: minutes(p.next_response_minutes),
            resolution: minutes(p.resolution_minutes),
            business_hours: p.business_hours,
        }
    }

    fn read(f: &Fields) -> Self {
        let all = |k: &str| -> Vec<String> {
            f.0.iter()
                .filter(|(n, v)| n == k && !v.trim().is_empty())
                .map(|(_, v)| v.trim().to_string())
                .collect()
        };
        Self {
            name: f.get("name").to_string(),
            priority: all("priority"),
            channel: all("channel"),
            team: f.get("team").trim().to_string(),
            first_response: f.get("first_response_minutes").trim().to_string(),
            next_response: f.get("next_response_minutes").trim().to_string(),
            resolution: f.get("resolution_minutes").trim().to_string(),
            business_hours: f.get("business_hours") == "1",
        }
    }

    /// The policy as the API takes it. Whatever does not parse goes as
    /// typed, for the service to name.
    fn to_json(&self) -> Value {
        let number = |v: &str| -> Value {
            match v.trim() {
                "" => Value::Null,
                v => v.parse::<i64>().map_or_else(|_| json!(v), |n| json!(n)),
            }
        };
        let mut conditions = Map::new();
        if !self.priority.is_empty() {
            conditions.insert("priority".into(), json!(self.priority));
        }
        if !self.channel.is_empty() {
            conditions.insert("channel".into(), json!(self.channel));
        }
        if !self.team.is_empty() {
            conditions.insert("team_id".into(), number(&self.team));
        }
        json!({
            "name": self.name,
            "conditions": conditions,
            "first_response_minutes": number(&self.first_response),
            "next_response_minutes": number(&self.next_response),
            "resolution_minutes": number(&self.resolution),
            "business_hours": self.business_hours,
        })
    }
}

/// The editor, with the fault of the last attempt when there is one.
async fn editor(
    s: &AppState,
    session: &Session,
    id: Option<i64>,
    form: &PolicyForm,
    fault: Option<(String, Option<&'static str>)>,
) -> PageResult {
    let teams = s.store.list_teams(session.actor.workspace_id).await?;
    let action = id.map_or_else(|| format!("{LIST}/new"), |id| format!("{LIST}/{id}"));
    let (fault, fault_field) = fault.unzip();
    let r = page(
        session,
        "console_admin_sla_edit.html",
        "admin",
        minijinja::context! {
            tab => "sla", policy_id => id, action, form, fault, fault_field => fault_field.flatten(),
            priorities => Priority::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
            channels => Channel::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
            teams => teams.iter().map(|t| minijinja::context! { id => t.id.to_string(), name => t.name }).collect::<Vec<_>>(),
        },
    );
    Ok(status(r, fault.is_some()))
}

pub async fn new_page(State(s): State<AppState>, Agent(session): Agent) -> PageResult {
    admin_only(&session)?;
    editor(&s, &session, None, &PolicyForm::blank(), None).await
}

pub async fn edit_page(State(s): State<AppState>, Agent(session): Agent, Path(id): Path<String>) -> PageResult {
    admin_only(&session)?;
    let id = id_of(&id)?;
    let p = s
        .store
        .sla_policy(session.actor.workspace_id, id)
        .await
        .map_err(missing)?;
    editor(&s, &session, Some(id), &PolicyForm::of(&p), None).await
}

pub async fn create(State(s): State<AppState>, Posted(session, f): Posted<Vec<(String, String)>>) -> PageResult {
    admin_only(&session)?;
    save(&s, &session, None, &Fields(f)).await
}

pub async fn update(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Posted(session, f): Posted<Vec<(String, String)>>,
) -> PageResult {
    admin_only(&session)?;
    let id = id_of(&id)?;
    s.store
        .sla_policy(session.actor.workspace_id, id)
        .await
        .map_err(missing)?;
    save(&s, &session, Some(id), &Fields(f)).await
}

/// Saves the posted policy, or shows the editor again with what was typed
/// and why it was refused.
async fn save(s: &AppState, session: &Session, id: Option<i64>, f: &Fields) -> PageResult {
    let form = PolicyForm::read(f);
    match s.svc.save_sla_policy(&session.actor, id, &form.to_json()).await {
        Ok(_) => Ok(back(LIST, "ok", &text(session, "sla-saved"))),
        Err(StoreError::NotFound) => Err(missing(StoreError::NotFound)),
        Err(e) => editor(s, session, id, &form, Some(fault(session, e))).await,
    }
}

#[derive(Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    to: i64,
}

/// Moves a policy to a place in the order (1 = tried first), numbering
/// them all 1, 2, 3… again.
pub async fn move_to(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Posted(session, f): Posted<MoveForm>,
) -> PageResult {
    admin_only(&session)?;
    let id = id_of(&id)?;
    s.store
        .sla_policy(session.actor.workspace_id, id)
        .await
        .map_err(missing)?;
    s.svc
        .save_sla_policy(&session.actor, Some(id), &json!({ "position": f.to.max(1) }))
        .await
        .map_err(|e| PageError::back(LIST, &e.say()))?;
    Ok(back(LIST, "ok", &text(&session, "rule-moved")))
}

pub async fn delete(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Posted(session, _): Posted<Nothing>,
) -> PageResult {
    admin_only(&session)?;
    let id = id_of(&id)?;
    s.store
        .delete_sla_policy(session.actor.workspace_id, id)
        .await
        .map_err(missing)?;
    Ok(back(LIST, "ok", &text(&session, "sla-deleted")))
}

/// Saves the workspace's calendar, or shows the page again with what was
/// typed and why it was refused.
pub async fn save_calendar(
    State(s): State<AppState>,
    Posted(session, f): Posted<HashMap<String, String>>,
) -> PageResult {
    admin_only(&session)?;
    let form = CalendarForm::read(&f);
    match s.svc.save_calendar(&session.actor, None, &form.calendar()).await {
        Ok(()) => {
            let done = super::urlencode(&text(&session, "sla-calendar-saved"));
            Ok(Redirect::to(&format!("{LIST}?ok={done}#calendar")).into_response())
        }
        Err(e) => {
            let fault = fault(&session, e);
            list_page(&s, &session, &Notice::default(), Some(form), Some(fault)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_calendar_form_reads_periods_and_holidays() {
        let f: HashMap<String, String> = [
            ("time_zone", " Europe/Kyiv "),
            ("mon", "09:00-13:00, 14:00–18:00"),
            ("tue", " "),
            ("sat", "10:00-14:00;"),
            ("holidays", "2026-12-25\r\n\r\n2027-01-01"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let c = CalendarForm::read(&f).calendar();
        assert_eq!(c.time_zone, "Europe/Kyiv");
        assert_eq!(c.week["mon"], ["09:00-13:00", "14:00-18:00"]);
        assert_eq!(c.week["sat"], ["10:00-14:00"]);
        assert!(!c.week.contains_key("tue"), "an empty day is closed: {c:?}");
        assert_eq!(c.holidays, ["2026-12-25", "2027-01-01"]);
        c.validate().unwrap();
        let back = CalendarForm::of(&c);
        assert_eq!(back.days[0].1, "09:00-13:00, 14:00-18:00");
        assert_eq!(back.holidays, "2026-12-25\n2027-01-01");
        assert_eq!(CalendarForm::default().calendar(), Calendar::always());
    }

    #[test]
    fn the_policy_form_becomes_the_apis_json() {
        let f = Fields(
            [
                ("name", "Urgent"),
                ("priority", "high"),
                ("priority", "urgent"),
                ("channel", ""),
                ("team", "7"),
                ("first_response_minutes", "60"),
                ("next_response_minutes", ""),
                ("resolution_minutes", "soon"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        );
        let j = PolicyForm::read(&f).to_json();
        assert_eq!(
            j,
            json!({"name":"Urgent","conditions":{"priority":["high","urgent"],"team_id":7},"first_response_minutes":60,"next_response_minutes":null,"resolution_minutes":"soon","business_hours":false})
        );
    }
}
