//! Admin → Monitors: the workspace's site monitors with their state,
//! uptime and next expiry, a form per kind (made through the same use case
//! as the API, so a refusal, the SSRF guard's too, comes back next to the
//! form with what was typed), pause, resume and delete, the public status
//! page's switch; and a monitor's own page: its incidents, its history,
//! uptime per day and month and a response-time chart drawn on the server.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Datelike;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::admin::admin_only;
use super::charts::{self, Chart, Scale, Series, UptimeDay};
use super::rules::{id_of, missing, text};
use super::{back, page, Agent, Nothing, Notice, OrBack, PageResult, Posted, Say};
use crate::app::AppState;
use crate::domain::monitor::{uptime, DayCount, MonitorKind};
use crate::store::console::Session;
use crate::store::monitors::Monitor;
use crate::store::StoreError;

const PAGE: &str = "/app/admin/monitors";
const DAY_MS: i64 = 86_400_000;
/// Checks drawn in the chart and listed in the history.
const HISTORY: i64 = 100;

fn lang(s: &Session) -> &'static str {
    crate::i18n::pick(Some(&s.lang))
}

use super::console_text as t;

/// An uptime for people ("99.5%", "—" without checks).
pub(crate) fn pct(lang: &str, p: Option<f64>) -> String {
    match p {
        Some(p) => {
            let r = (p * 100.0).round() / 100.0;
            let v = if r.fract() == 0.0 {
                format!("{}", r as i64)
            } else {
                format!("{r}")
            };
            t(lang, "monitors-percent", &[("value", &v)])
        }
        None => "—".into(),
    }
}

/// The form as typed: every kind's fields (only the posted kind's are
/// filled), so a refused one comes back as it was.
#[derive(Deserialize, Default, Debug, Clone, serde::Serialize)]
pub struct MonitorForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    interval_s: String,
    #[serde(default)]
    expect_status: String,
    #[serde(default)]
    expect_text: String,
    #[serde(default)]
    timeout_ms: String,
    #[serde(default)]
    host_port: String,
    #[serde(default)]
    warn_days: String,
    #[serde(default)]
    domain: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    date: String,
}

/// A number as typed: a number when it is one, else the text (the service
/// then says what it must be); nothing when empty.
fn number(raw: &str) -> Option<Value> {
    let v = raw.trim();
    if v.is_empty() {
        return None;
    }
    Some(v.parse::<i64>().map_or_else(|_| json!(v), |n| json!(n)))
}

/// `host:port` (or `[v6]:port`, or a host alone) split.
fn host_port(raw: &str) -> (String, Option<String>) {
    let v = raw.trim();
    if let Some(rest) = v.strip_prefix('[') {
        if let Some((h, p)) = rest.split_once("]:") {
            return (h.to_string(), Some(p.to_string()));
        }
        return (rest.trim_end_matches(']').to_string(), None);
    }
    match v.split_once(':') {
        Some((h, p)) if !p.contains(':') => (h.to_string(), Some(p.to_string())),
        _ => (v.to_string(), None),
    }
}

impl MonitorForm {
    /// The API's body for the posted kind.
    fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("kind".into(), json!(self.kind.trim()));
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                o.insert(k.into(), v);
            }
        };
        let text = |s: &str| (!s.trim().is_empty()).then(|| json!(s.trim()));
        put("name", text(&self.name));
        match self.kind.as_str() {
            "http" => {
                put("url", text(&self.url));
                put("interval_s", number(&self.interval_s));
                put("expect_status", number(&self.expect_status));
                put("expect_text", text(&self.expect_text));
                put("timeout_ms", number(&self.timeout_ms));
            }
            "tls" => {
                let (h, p) = host_port(&self.host_port);
                put("host", text(&h));
                put("port", p.as_deref().and_then(number));
                put("warn_days", number(&self.warn_days));
            }
            "domain" => {
                put("domain", text(&self.domain));
                put("warn_days", number(&self.warn_days));
            }
            _ => {
                put("label", text(&self.label));
                put("date", text(&self.date));
                put("warn_days", number(&self.warn_days));
            }
        }
        Value::Object(o)
    }
}

/// The form's input a service field is typed in.
fn input_of(field: &str) -> Option<&'static str> {
    Some(match field {
        "name" => "name",
        "url" => "url",
        "interval_s" => "interval_s",
        "expect_status" => "expect_status",
        "expect_text" => "expect_text",
        "timeout_ms" => "timeout_ms",
        "host" | "port" => "host_port",
        "warn_days" => "warn_days",
        "domain" => "domain",
        "label" => "label",
        "date" => "date",
        _ => return None,
    })
}

/// A refusal for the page: the field's label with the service's message,
/// and the input to mark.
fn fault(lang: &str, e: StoreError) -> (String, Option<&'static str>) {
    match e {
        StoreError::Invalid(i) => match input_of(i.field) {
            Some(input) => (
                format!("{}: {}", t(lang, &format!("monitors-field-{input}"), &[]), i.message),
                Some(input),
            ),
            None => (i.to_string(), None),
        },
        e => (e.say(), None),
    }
}

/// Days since the epoch of the first of the last `n` days (today included).
fn first_day(n: i64) -> i64 {
    crate::store::now_ms() / DAY_MS - n + 1
}

fn date_of(day: i64) -> String {
    crate::domain::time::rfc3339(day * DAY_MS)[..10].to_string()
}

/// The last 30 days, one bar each (a day without checks has none).
pub(crate) fn month_bars(lang: &str, counts: &[DayCount]) -> Vec<UptimeDay> {
    let first = first_day(30);
    (first..first + 30)
        .map(|day| {
            let p = counts
                .iter()
                .find(|c| c.day == day)
                .and_then(|c| uptime(c.checks, c.up));
            UptimeDay {
                percent: p,
                title: format!("{}: {}", date_of(day), pct(lang, p)),
            }
        })
        .collect()
}

pub(crate) fn bars_svg(lang: &str, whole: Option<f64>, counts: &[DayCount]) -> minijinja::Value {
    let label = t(lang, "monitors-bars-label", &[("percent", &pct(lang, whole))]);
    minijinja::Value::from_safe_string(charts::uptime_bars(&label, &month_bars(lang, counts)))
}

fn state_of(m: &Monitor) -> &'static str {
    if !m.active {
        "paused"
    } else {
        m.state.as_str()
    }
}

async fn render(
    s: &AppState,
    session: &Session,
    n: &Notice,
    form: &MonitorForm,
    fault: Option<(String, Option<&'static str>)>,
) -> PageResult {
    let ws = session.actor.workspace_id;
    let now = crate::store::now_ms();
    let lang = lang(session);
    let (monitors, day, month, status_page) = tokio::try_join!(
        s.store.list_monitors(ws),
        s.store.monitor_uptimes(ws, now - DAY_MS),
        s.store.monitor_uptimes(ws, now - 30 * DAY_MS),
        s.store.status_page(ws),
    )?;
    let rows: Vec<_> = monitors
        .iter()
        .map(|m| {
            let u = |c: &std::collections::HashMap<i64, (i64, i64)>| {
                let (c, u) = c.get(&m.id).copied().unwrap_or((0, 0));
                pct(lang, uptime(c, u))
            };
            let expiry = matches!(m.kind, MonitorKind::Tls | MonitorKind::Domain | MonitorKind::Date)
                .then(|| m.expires_at.map(|e| date_of(e / DAY_MS)))
                .flatten();
            minijinja::context! {
                id => m.id, name => m.name, kind => m.kind.as_str(), target => m.spec().target(),
                state => state_of(m), active => m.active, error => m.last_error,
                last => m.last_checked_at.map(super::when), day => u(&day), month => u(&month), expiry,
                incident => m.incident_ticket_id,
            }
        })
        .collect();
    let (fault, fault_field) = fault.unzip();
    let mut r = page(
        session,
        "console_admin_monitors.html",
        "admin",
        minijinja::context! {
            tab => "monitors", ok => n.ok, err => n.err, monitors => rows, form, fault,
            fault_field => fault_field.flatten(), status_page, min_interval => s.svc.monitors.min_interval_s(),
            slug => s.store.workspace(ws).await.map(|w| w.slug).unwrap_or_default(),
        },
    );
    if fault.is_some() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

pub async fn list(State(s): State<AppState>, Agent(session): Agent, Query(n): Query<Notice>) -> PageResult {
    admin_only(&session)?;
    render(&s, &session, &n, &MonitorForm::default(), None).await
}

/// Makes a monitor through the API's use case; a refusal shows the form
/// again, as typed, with the reason.
pub async fn create(State(s): State<AppState>, Posted(session, f): Posted<MonitorForm>) -> PageResult {
    admin_only(&session)?;
    match s.svc.create_monitor(&session.actor, &f.to_json()).await {
        Ok(m) => Ok(back(
            &format!("{PAGE}/{}", m.id),
            "ok",
            &text(&session, "monitors-created"),
        )),
        Err(e) => {
            let why = fault(lang(&session), e);
            render(&s, &session, &Notice::default(), &f, Some(why)).await
        }
    }
}

/// The workspace's monitor `id` (another's is the plain "not found").
async fn owned(s: &AppState, session: &Session, id: &str) -> Result<Monitor, super::PageError> {
    let id = id_of(id)?;
    s.store.monitor(session.actor.workspace_id, id).await.map_err(missing)
}

#[derive(Deserialize)]
pub struct Switch {
    #[serde(default)]
    on: String,
}

/// Pauses or resumes a monitor.
pub async fn set_active(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Posted(session, f): Posted<Switch>,
) -> PageResult {
    admin_only(&session)?;
    let m = owned(&s, &session, &id).await?;
    let on = f.on == "1";
    s.svc
        .update_monitor(&session.actor, m.id, &json!({ "active": on }))
        .await
        .or_back(PAGE)?;
    let done = if on { "monitors-resumed" } else { "monitors-paused" };
    Ok(back(PAGE, "ok", &text(&session, done)))
}

pub async fn delete(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Posted(session, _): Posted<Nothing>,
) -> PageResult {
    admin_only(&session)?;
    let m = owned(&s, &session, &id).await?;
    s.store
        .delete_monitor(session.actor.workspace_id, m.id)
        .await
        .or_back(PAGE)?;
    Ok(back(PAGE, "ok", &text(&session, "monitors-deleted")))
}

#[derive(Deserialize)]
pub struct StatusPageForm {
    #[serde(default)]
    enabled: Option<String>,
    #[serde(default)]
    show_targets: Option<String>,
}

/// Switches the public status page on or off.
pub async fn status_page(State(s): State<AppState>, Posted(session, f): Posted<StatusPageForm>) -> PageResult {
    admin_only(&session)?;
    let p = crate::store::monitors::StatusPage {
        enabled: f.enabled.is_some(),
        show_targets: f.show_targets.is_some(),
    };
    s.store
        .set_status_page(session.actor.workspace_id, p)
        .await
        .or_back(PAGE)?;
    Ok(back(PAGE, "ok", &text(&session, "monitors-status-saved")))
}

/// `/app/monitors`: the pages live with the other admin pages.
pub async fn short() -> Redirect {
    Redirect::to(PAGE)
}

/// The response-time chart of `history` (newest first), or None when no
/// check has a time.
fn response_chart(lang: &str, history: &[crate::store::monitors::Check]) -> Option<minijinja::Value> {
    let checks: Vec<_> = history.iter().rev().collect();
    let times: Vec<i64> = checks.iter().filter_map(|c| c.response_ms).collect();
    if times.is_empty() {
        return None;
    }
    let mut sorted = times.clone();
    sorted.sort_unstable();
    let median = sorted[sorted.len() / 2];
    let max = *sorted.last().unwrap_or(&0);
    let x: Vec<String> = checks
        .iter()
        .map(|c| crate::domain::time::rfc3339(c.checked_at)[11..16].to_string())
        .collect();
    let from = super::when(checks.first().map_or(0, |c| c.checked_at));
    let to = super::when(checks.last().map_or(0, |c| c.checked_at));
    let label = t(
        lang,
        "monitors-chart-label",
        &[
            ("n", &checks.len().to_string()),
            ("from", &from),
            ("to", &to),
            ("median", &median.to_string()),
            ("max", &max.to_string()),
        ],
    );
    let ms = |v: f64| t(lang, "monitors-ms", &[("value", &charts::plain(v))]);
    let svg = charts::chart(&Chart {
        label: &label,
        x: &x,
        bars: vec![],
        lines: vec![Series {
            name: t(lang, "monitors-response", &[]),
            class: "ch-frt",
            values: checks.iter().map(|c| c.response_ms.map(|v| v as f64)).collect(),
        }],
        right: None,
        scale: Scale::Count,
        benchmark: None,
        fmt: &ms,
    });
    Some(minijinja::Value::from_safe_string(svg))
}

/// A monitor's page.
pub async fn show(
    State(s): State<AppState>,
    Agent(session): Agent,
    Path(id): Path<String>,
    Query(n): Query<Notice>,
) -> Result<Response, super::PageError> {
    admin_only(&session)?;
    let m = owned(&s, &session, &id).await?;
    let ws = session.actor.workspace_id;
    let lang = lang(&session);
    // Months from the first of the month 11 months back (at most a year).
    let since_month = {
        let d = chrono::Utc::now().date_naive();
        let back = chrono::Months::new(11);
        d.checked_sub_months(back)
            .and_then(|d| d.with_day0(0))
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map_or(0, |t| t.and_utc().timestamp_millis())
    };
    let (history, year, incidents) = tokio::try_join!(
        s.store.monitor_checks(ws, m.id, HISTORY),
        s.store.monitor_days(ws, m.id, since_month.min(first_day(30) * DAY_MS)),
        s.store.monitor_incidents(ws, m.id, 50),
    )?;
    let first = first_day(30);
    let month: Vec<DayCount> = year.iter().filter(|d| d.day >= first).copied().collect();
    let report = crate::domain::monitor::uptime_report(&year);
    let (all, up) = month.iter().fold((0, 0), |a, d| (a.0 + d.checks, a.1 + d.up));
    let whole = uptime(all, up);
    let days: Vec<_> = (first..first + 30)
        .rev()
        .map(|day| {
            let c = month.iter().find(|c| c.day == day);
            minijinja::context! {
                date => date_of(day), checks => c.map_or(0, |c| c.checks), up => c.map_or(0, |c| c.up),
                percent => pct(lang, c.and_then(|c| uptime(c.checks, c.up))),
                class => charts::uptime_class(c.and_then(|c| uptime(c.checks, c.up))),
            }
        })
        .collect();
    let months: Vec<_> = report["months"]
        .as_array()
        .into_iter()
        .flatten()
        .rev()
        .map(|m| {
            minijinja::context! {
                month => m["month"].as_str().unwrap_or(""), checks => m["checks"].as_i64().unwrap_or(0),
                up => m["up"].as_i64().unwrap_or(0), percent => pct(lang, m["percent"].as_f64()),
            }
        })
        .collect();
    let checks: Vec<_> = history
        .iter()
        .map(|c| {
            minijinja::context! {
                at => super::when(c.checked_at), ok => c.ok != 0, ms => c.response_ms, status => c.status,
                error => c.error, expires => c.expires_at.map(|e| date_of(e / DAY_MS)),
            }
        })
        .collect();
    let incidents: Vec<_> = incidents
        .iter()
        .map(|i| {
            minijinja::context! {
                number => i.number, subject => i.subject, status => i.status, opened => super::when(i.created_at),
            }
        })
        .collect();
    let spec = m.spec();
    let ctx = minijinja::context! {
        tab => "monitors", ok => n.ok, err => n.err,
        m => minijinja::context! {
            id => m.id, name => m.name, kind => m.kind.as_str(), target => spec.target(), state => state_of(&m),
            active => m.active, error => m.last_error, interval => m.interval_s,
            last => m.last_checked_at.map(super::when), next => m.active.then(|| super::when(m.next_check_at)),
            expiry => m.expires_at.map(|e| date_of(e / DAY_MS)), warn_days => spec.int("warn_days"),
            expect_status => spec.int("expect_status"), expect_text => spec.str("expect_text"),
        },
        whole => pct(lang, whole), bars => bars_svg(lang, whole, &month), days, months, checks, incidents,
        chart => response_chart(lang, &history),
    };
    Ok(page(&session, "console_admin_monitor.html", "admin", ctx).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_becomes_the_apis_body() {
        let f = MonitorForm {
            kind: "tls".into(),
            host_port: "shop.example.com:8443".into(),
            warn_days: "x".into(),
            ..Default::default()
        };
        assert_eq!(
            f.to_json(),
            json!({"kind": "tls", "host": "shop.example.com", "port": 8443, "warn_days": "x"})
        );
        assert_eq!(host_port("[::1]:443"), ("::1".to_string(), Some("443".to_string())));
        assert_eq!(host_port("example.com"), ("example.com".to_string(), None));
        let f = MonitorForm {
            kind: "http".into(),
            url: " https://a.example/ ".into(),
            interval_s: "60".into(),
            expect_text: "".into(),
            ..Default::default()
        };
        assert_eq!(
            f.to_json(),
            json!({"kind": "http", "url": "https://a.example/", "interval_s": 60})
        );
    }
}
