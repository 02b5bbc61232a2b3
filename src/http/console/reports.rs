//! Reports (`/app/reports`), for admins: a range and one filter from a GET
//! form (so the address can be shared), the headline figures against the
//! previous period, charts, breakdown tables with CSV downloads, and the
//! report settings. Figures come from the same service calls as
//! `/api/v1/reports/...`, and the CSV files from the same table functions,
//! served here because the console's session does not sign API requests.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::admin::admin_only;
use super::report_charts;
use super::report_view::{self as view, Words};
use super::{page, Agent, PageResult, Posted, Say};
use crate::app::AppState;
use crate::domain::reports::{Dim, Industry, Settings};
use crate::domain::{Channel, Invalid, RequestKind};
use crate::http::api::reports as api;
use crate::service::reports::{iso, ReportParams, ReportQuery};
use crate::store::console::Session;
use crate::store::StoreError;

const PAGE: &str = "/app/reports";

/// The page's query as typed: empty fields are "any".
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct PageQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    team: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    channel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    compare: Option<String>,
    #[serde(skip_serializing)]
    ok: Option<String>,
    #[serde(skip_serializing)]
    err: Option<String>,
}

impl PageQuery {
    fn params(&self) -> ReportParams {
        let f = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        ReportParams {
            from: f(&self.from),
            to: f(&self.to),
            team: f(&self.team),
            agent: f(&self.agent),
            channel: f(&self.channel),
            label: f(&self.label),
            kind: f(&self.kind),
            compare: f(&self.compare),
            ..Default::default()
        }
    }

    /// The form's fields: the query's when it parsed, else as typed.
    fn form(&self, q: Option<&ReportQuery>) -> PageQuery {
        let Some(q) = q else { return self.clone() };
        let key = |d: Dim| q.filter.as_ref().filter(|f| f.0 == d).map(|f| f.1.clone());
        PageQuery {
            from: Some(iso(q.from)),
            to: Some(iso(q.to)),
            team: key(Dim::Team),
            agent: key(Dim::Agent),
            channel: key(Dim::Channel),
            label: key(Dim::Label),
            kind: key(Dim::Kind),
            compare: q.compare.then(|| "1".into()),
            ..Default::default()
        }
    }
}

/// A report's query string, as links carry it; breakdowns and the heatmap
/// cover the whole workspace, so their links leave the filter out.
fn query_string(q: &ReportQuery, with_filter: bool) -> String {
    let mut s = format!("from={}&to={}", iso(q.from), iso(q.to));
    if let Some((d, k)) = q.filter.as_ref().filter(|_| with_filter) {
        s.push_str(&format!("&{}={}", d.as_str(), super::urlencode(k)));
    }
    if q.compare {
        s.push_str("&compare=1");
    }
    s
}

/// The report settings form as typed (or as stored).
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct SettingsForm {
    #[serde(default)]
    industry: String,
    #[serde(default)]
    csat: Option<String>,
    #[serde(default)]
    nps: Option<String>,
    #[serde(default)]
    nps_every_days: String,
    #[serde(default)]
    nps_delay_hours: String,
    /// The report's query, to return to it.
    #[serde(default)]
    back: String,
}

impl SettingsForm {
    fn of(s: &Settings) -> Self {
        Self {
            industry: s.industry.as_str().into(),
            csat: s.csat.then(|| "on".into()),
            nps: s.nps.then(|| "on".into()),
            nps_every_days: s.nps_every_days.to_string(),
            nps_delay_hours: s.nps_delay_hours.to_string(),
            back: String::new(),
        }
    }

    fn settings(&self) -> Result<Settings, Invalid> {
        let whole = |field, raw: &str| {
            raw.trim()
                .parse::<i64>()
                .map_err(|_| Invalid::new(field, "must be a whole number"))
        };
        Ok(Settings {
            industry: Industry::parse("industry", self.industry.trim())?,
            csat: self.csat.is_some(),
            nps: self.nps.is_some(),
            nps_every_days: whole("nps_every_days", &self.nps_every_days)?,
            nps_delay_hours: whole("nps_delay_hours", &self.nps_delay_hours)?,
        })
    }
}

/// "Label: message" for a field the service names, in the page's words.
fn fault(w: &Words, i: &Invalid) -> String {
    let id = match i.field {
        "from" => "reports-from",
        "to" => "reports-to",
        "filter" => "reports-filter",
        "team" => "team",
        "agent" => "reports-agent",
        "channel" => "channel",
        "label" => "label",
        "kind" => "kind",
        "compare" => "reports-compare",
        "industry" => "reports-industry",
        "nps_every_days" => "reports-nps-every",
        "nps_delay_hours" => "reports-nps-delay",
        _ => return i.to_string(),
    };
    format!("{}: {}", w.t(id, &[]), i.message)
}

fn choice(value: &str, name: String) -> minijinja::Value {
    minijinja::context! { value, name }
}

fn kind_name(w: &Words, k: &str) -> String {
    w.t(&format!("kind-{}", k.replace('_', "-")), &[])
}

pub(super) fn industry_name(w: &Words, i: &str) -> String {
    w.t(&format!("reports-industry-{}", i.replace('_', "-")), &[])
}

pub async fn show(State(s): State<AppState>, Agent(session): Agent, Query(pq): Query<PageQuery>) -> PageResult {
    admin_only(&session)?;
    render(&s, &session, &pq, None).await
}

/// The page; `settings` is a refused settings form with its reason.
async fn render(
    s: &AppState,
    session: &Session,
    pq: &PageQuery,
    settings: Option<(SettingsForm, String)>,
) -> PageResult {
    let ws = session.actor.workspace_id;
    let lang = crate::i18n::pick(Some(&session.lang));
    let w = Words { lang };
    let (_, zone, today) = s.svc.report_days(ws).await?;
    let (teams, users, labels, stored) = tokio::try_join!(
        s.store.list_teams(ws),
        s.store.list_users(ws),
        s.store.labels(ws),
        s.store.report_settings(ws)
    )?;
    let parsed = pq.params().query(today);
    let q = parsed.as_ref().ok();
    let presets: Vec<_> = [7, 30, 90]
        .into_iter()
        .map(|n| {
            let p = ReportQuery {
                from: today - (n - 1),
                to: today,
                filter: q.and_then(|q| q.filter.clone()),
                compare: q.is_some_and(|q| q.compare),
            };
            let current = q.is_some_and(|q| (q.from, q.to) == (p.from, p.to));
            let label = w.t("reports-last-days", &[("n", &n.to_string())]);
            minijinja::context! { label, current, href => format!("{PAGE}?{}", query_string(&p, true)) }
        })
        .collect();
    let report = match q {
        Some(q) => Some(report(s, session, &w, q, &zone, &stored).await?),
        None => None,
    };
    let (settings_form, settings_fault) = match settings {
        Some((f, why)) => (f, Some(why)),
        None => (SettingsForm::of(&stored), None),
    };
    let named = |id: i64, name: &str| minijinja::context! { id => id.to_string(), name };
    let ctx = minijinja::context! {
        ok => pq.ok, err => pq.err,
        fault => parsed.as_ref().err().map(|i| fault(&w, i)),
        zone_note => w.t("reports-zone", &[("zone", &zone)]), form => pq.form(q), presets, report,
        back => q.map(|q| query_string(q, true)).unwrap_or_default(),
        teams => teams.iter().map(|t| named(t.id, &t.name)).collect::<Vec<_>>(),
        agents => users.iter().map(|u| named(u.id, &u.name)).collect::<Vec<_>>(),
        labels => labels.iter().map(|l| l.name.clone()).collect::<Vec<_>>(),
        channels => Channel::ALL.iter().map(|c| choice(c.as_str(), w.t(&format!("channel-{c}"), &[]))).collect::<Vec<_>>(),
        kinds => RequestKind::ALL.iter().map(|k| choice(k.as_str(), kind_name(&w, k.as_str()))).collect::<Vec<_>>(),
        industries => Industry::ALL.iter().map(|i| choice(i.as_str(), industry_name(&w, i.as_str()))).collect::<Vec<_>>(),
        settings => settings_form, settings_fault,
    };
    let mut r = page(session, "console_reports.html", "reports", ctx);
    if parsed.is_err() {
        *r.status_mut() = StatusCode::BAD_REQUEST;
    } else if settings_fault.is_some() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

/// The figures, charts and tables of a valid query.
async fn report(
    s: &AppState,
    session: &Session,
    w: &Words<'_>,
    q: &ReportQuery,
    zone: &str,
    settings: &Settings,
) -> Result<minijinja::Value, StoreError> {
    let a = &session.actor;
    let whole = ReportQuery {
        filter: None,
        ..q.clone()
    };
    let w_all = &whole;
    let by = move |d| s.svc.report_breakdown(a, w_all, d);
    let (summary, series, heat, agents, teams, channels, labels, mut kinds, features) = tokio::try_join!(
        s.svc.report_summary(a, q),
        s.svc.report_series(a, q),
        s.svc.report_heatmap(a, &whole, zone),
        by(Dim::Agent),
        by(Dim::Team),
        by(Dim::Channel),
        by(Dim::Label),
        by(Dim::Kind),
        s.svc.report_features(a),
    )?;
    // Every kind has its row, asked about or not.
    if let Some(items) = kinds["items"].as_array_mut() {
        for k in RequestKind::ALL {
            if !items.iter().any(|i| i["key"] == k.as_str()) {
                items.push(json!({ "key": k.as_str(), "name": k.as_str() }));
            }
        }
    }
    let days = report_charts::days(w, &series);
    let all = query_string(q, true);
    let none = query_string(q, false);
    let csv = |name: &str, qs: &str| format!("{PAGE}/{name}.csv?{qs}");
    let as_is = |_: &str, name: &str| name.to_string();
    let channel = |k: &str, _: &str| w.t(&format!("channel-{k}"), &[]);
    let kind = |k: &str, _: &str| kind_name(w, k);
    let tables: Vec<_> = [
        ("agent", &agents, &as_is as &dyn Fn(&str, &str) -> String),
        ("team", &teams, &as_is),
        ("channel", &channels, &channel),
        ("label", &labels, &as_is),
        ("kind", &kinds, &kind),
    ]
    .into_iter()
    .map(|(key, v, name)| {
        minijinja::context! { key, rows => view::rows(w, v, name), csv => csv(&format!("by-{key}"), &none) }
    })
    .collect();
    let empty = summary["created"] == 0
        && summary["resolved"] == 0
        && summary["reopened"] == 0
        && summary["replies"] == 0
        && summary["backlog"]["end"] == 0;
    Ok(minijinja::context! {
        from => iso(q.from), to => iso(q.to), compare => q.compare, filtered => q.filter.is_some(), empty,
        cards => view::cards(w, &summary, settings.csat, settings.nps),
        charts => report_charts::charts(w, &summary, &days), days,
        heatmap => report_charts::heatmap(w, &heat, zone),
        heat_note => w.t("reports-heatmap-zone", &[("zone", zone)]),
        tables,
        features => features["items"].clone(),
        csat_on => settings.csat,
        csv => minijinja::context! {
            summary => csv("summary", &all), daily => csv("daily", &all),
            heatmap => csv("heatmap", &none), features => csv("features", &none),
        },
    })
}

/// A report as a CSV file, through the API's table functions.
pub async fn csv(
    State(s): State<AppState>,
    Agent(session): Agent,
    Path(file): Path<String>,
    Query(pq): Query<PageQuery>,
) -> PageResult {
    admin_only(&session)?;
    let not_found = || super::PageError::from(crate::http::pages::not_found());
    let name = file.strip_suffix(".csv").ok_or_else(not_found)?;
    let a = &session.actor;
    let (_, zone, today) = s.svc.report_days(a.workspace_id).await?;
    let q = pq.params().query(today).map_err(crate::error::AppError::from)?;
    let whole = ReportQuery {
        filter: None,
        ..q.clone()
    };
    let table = match name {
        "summary" => api::summary_csv(&s.svc.report_summary(a, &q).await?),
        "daily" => api::series_csv(&s.svc.report_series(a, &q).await?),
        "heatmap" => api::heatmap_csv(&s.svc.report_heatmap(a, &whole, &zone).await?),
        "features" => api::features_csv(&s.svc.report_features(a).await?),
        other => {
            let by = other
                .strip_prefix("by-")
                .and_then(|d| Dim::parse("by", d).ok())
                .filter(|d| matches!(d, Dim::Agent | Dim::Team | Dim::Channel | Dim::Label | Dim::Kind))
                .ok_or_else(not_found)?;
            api::breakdown_csv(by, &s.svc.report_breakdown(a, &whole, by).await?)
        }
    };
    Ok(table.download(name))
}

/// Saves the report settings and goes back to the report it was sent
/// from; a refused form comes back with the reason and what was typed.
pub async fn save_settings(State(s): State<AppState>, Posted(session, f): Posted<SettingsForm>) -> PageResult {
    admin_only(&session)?;
    let mut back: PageQuery = serde_urlencoded::from_str(&f.back).unwrap_or_default();
    (back.ok, back.err) = (None, None);
    let w = Words {
        lang: crate::i18n::pick(Some(&session.lang)),
    };
    let saved = match f.settings() {
        Ok(st) => s.svc.save_report_settings(&session.actor, &st).await,
        Err(i) => Err(StoreError::Invalid(i)),
    };
    match saved {
        Ok(()) => {
            let done = super::urlencode(&w.t("reports-settings-saved", &[]));
            let q = serde_urlencoded::to_string(&back).unwrap_or_default();
            let sep = if q.is_empty() { "" } else { "&" };
            Ok(Redirect::to(&format!("{PAGE}?{q}{sep}ok={done}#report-settings")).into_response())
        }
        Err(StoreError::Invalid(i)) => {
            let why = fault(&w, &i);
            render(&s, &session, &back, Some((f, why))).await
        }
        Err(e) => Err(super::PageError::back(PAGE, &e.say())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_fields_are_any_and_links_carry_the_query() {
        let pq: PageQuery = serde_urlencoded::from_str(
            "from=2026-11-01&to=2026-11-30&team=&agent=+&channel=email&label=&kind=&compare=on",
        )
        .unwrap();
        let q = pq.params().query(0).unwrap();
        assert_eq!(q.filter, Some((Dim::Channel, "email".into())));
        assert_eq!(
            query_string(&q, true),
            "from=2026-11-01&to=2026-11-30&channel=email&compare=1"
        );
        assert_eq!(query_string(&q, false), "from=2026-11-01&to=2026-11-30&compare=1");
        let back = serde_urlencoded::to_string(pq.form(Some(&q))).unwrap();
        assert_eq!(back, "from=2026-11-01&to=2026-11-30&channel=email&compare=1");
    }

    #[test]
    fn the_settings_form_reads_checkboxes_and_numbers() {
        let f: SettingsForm =
            serde_urlencoded::from_str("industry=technology&nps=on&nps_every_days=30&nps_delay_hours=+2").unwrap();
        let s = f.settings().unwrap();
        assert_eq!(
            (s.industry, s.csat, s.nps, s.nps_every_days, s.nps_delay_hours),
            (Industry::Technology, false, true, 30, 2)
        );
        let bad: SettingsForm = serde_urlencoded::from_str("industry=ecommerce&nps_every_days=often").unwrap();
        assert_eq!(bad.settings().unwrap_err().field, "nps_every_days");
    }
}
