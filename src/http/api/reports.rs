//! `/api/v1/reports/...`: the figures the console's reports page shows,
//! as JSON or (`?format=csv`) as a table to download. Admins only.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::admin_only;
use crate::app::AppState;
use crate::domain::reports::{Dim, Settings};
use crate::domain::{Actor, Invalid};
use crate::error::{ApiResult, AppError};
use crate::http::csv::Csv;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::service::reports::{ReportParams, ReportQuery};

const WHAT: &str = "see reports";

async fn query(s: &AppState, actor: &Actor, p: &ReportParams) -> ApiResult<(ReportQuery, String)> {
    admin_only(actor, WHAT)?;
    let (_, zone, today) = s.svc.report_days(actor.workspace_id).await?;
    Ok((p.query(today).map_err(AppError::from)?, zone))
}

fn csv_asked(p: &ReportParams) -> ApiResult<bool> {
    match p.format.as_deref() {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(_) => Err(Invalid::new("format", "must be json or csv").into()),
    }
}

fn num(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        v => v.to_string().trim_matches('"').to_string(),
    }
}

pub async fn summary(
    State(s): State<AppState>,
    actor: Actor,
    ApiQuery(p): ApiQuery<ReportParams>,
) -> ApiResult<Response> {
    let (q, _) = query(&s, &actor, &p).await?;
    let v = s.svc.report_summary(&actor, &q).await?;
    if !csv_asked(&p)? {
        return Ok(Json(v).into_response());
    }
    Ok(summary_csv(&v).download("summary"))
}

/// The summary as a table: one measure a row, the previous period's
/// value beside it when it was asked for.
pub fn summary_csv(v: &Value) -> Csv {
    let mut csv = Csv::new(&["measure", "value", "previous"]);
    let prev = v.get("previous").cloned().unwrap_or(Value::Null);
    for path in [
        "created",
        "resolved",
        "reopened",
        "replies",
        "backlog/start",
        "backlog/end",
        "first_response/median_s",
        "first_response/p90_s",
        "first_response/avg_s",
        "first_response/business/median_s",
        "first_response/business/p90_s",
        "next_response/median_s",
        "next_response/p90_s",
        "resolution/median_s",
        "resolution/p90_s",
        "resolution/business/median_s",
        "resolution/business/p90_s",
        "csat/responses",
        "csat/score_pct",
        "nps/responses",
        "nps/score",
    ] {
        let ptr = format!("/{path}");
        let at = |v: &Value| v.pointer(&ptr).map(num).unwrap_or_default();
        csv.row([path.replace('/', "."), at(v), at(&prev)]);
    }
    csv
}

pub async fn series(
    State(s): State<AppState>,
    actor: Actor,
    ApiQuery(p): ApiQuery<ReportParams>,
) -> ApiResult<Response> {
    let (q, _) = query(&s, &actor, &p).await?;
    let v = s.svc.report_series(&actor, &q).await?;
    if !csv_asked(&p)? {
        return Ok(Json(v).into_response());
    }
    Ok(series_csv(&v).download("daily"))
}

/// One row a day.
pub fn series_csv(v: &Value) -> Csv {
    let cols = [
        "date",
        "created",
        "resolved",
        "reopened",
        "replies",
        "backlog",
        "first_response_median_s",
        "resolution_median_s",
        "csat_pct",
        "csat_responses",
    ];
    let mut csv = Csv::new(&cols);
    for d in v["days"].as_array().into_iter().flatten() {
        csv.row(cols.iter().map(|c| num(&d[*c])));
    }
    csv
}

pub async fn breakdown(
    State(s): State<AppState>,
    actor: Actor,
    ApiQuery(p): ApiQuery<ReportParams>,
) -> ApiResult<Response> {
    let by = match p.by.as_deref() {
        None => Dim::Agent,
        Some(b) => match Dim::parse("by", b)? {
            d @ (Dim::Agent | Dim::Team | Dim::Channel | Dim::Label | Dim::Kind) => d,
            _ => return Err(Invalid::new("by", "must be one of: agent, team, channel, label, kind").into()),
        },
    };
    breakdown_by(s, actor, p, by).await
}

pub async fn agents(
    State(s): State<AppState>,
    actor: Actor,
    ApiQuery(p): ApiQuery<ReportParams>,
) -> ApiResult<Response> {
    if p.by.is_some() {
        return Err(Invalid::new("by", "this report is by agent; use /reports/breakdown?by=...").into());
    }
    breakdown_by(s, actor, p, Dim::Agent).await
}

async fn breakdown_by(s: AppState, actor: Actor, p: ReportParams, by: Dim) -> ApiResult<Response> {
    let (q, _) = query(&s, &actor, &p).await?;
    if q.filter.is_some() {
        return Err(Invalid::new(
            "filter",
            "a breakdown covers the whole workspace; filters apply to the summary, daily and heatmap reports",
        )
        .into());
    }
    let v = s.svc.report_breakdown(&actor, &q, by).await?;
    if !csv_asked(&p)? {
        return Ok(Json(v).into_response());
    }
    Ok(breakdown_csv(by, &v).download(&format!("by-{}", by.as_str())))
}

/// One row per agent, team, channel, label or kind (agents with their
/// time online).
pub fn breakdown_csv(by: Dim, v: &Value) -> Csv {
    let mut head = vec![
        by.as_str(),
        "name",
        "created",
        "resolved",
        "reopened",
        "replies",
        "first_response_median_s",
        "first_response_p90_s",
        "next_response_median_s",
        "resolution_median_s",
        "resolution_p90_s",
        "csat_responses",
        "csat_pct",
    ];
    if by == Dim::Agent {
        head.push("online_s");
    }
    let mut csv = Csv::new(&head);
    for i in v["items"].as_array().into_iter().flatten() {
        let mut row = vec![
            num(&i["key"]),
            num(&i["name"]),
            num(&i["created"]),
            num(&i["resolved"]),
            num(&i["reopened"]),
            num(&i["replies"]),
            num(&i["first_response"]["median_s"]),
            num(&i["first_response"]["p90_s"]),
            num(&i["next_response"]["median_s"]),
            num(&i["resolution"]["median_s"]),
            num(&i["resolution"]["p90_s"]),
            num(&i["csat"]["responses"]),
            num(&i["csat"]["score_pct"]),
        ];
        if by == Dim::Agent {
            row.push(num(&i["online_s"]));
        }
        csv.row(row);
    }
    csv
}

pub async fn heatmap(
    State(s): State<AppState>,
    actor: Actor,
    ApiQuery(p): ApiQuery<ReportParams>,
) -> ApiResult<Response> {
    let (q, zone) = query(&s, &actor, &p).await?;
    if q.filter.is_some() {
        return Err(Invalid::new("filter", "the heatmap covers the whole workspace").into());
    }
    let v = s.svc.report_heatmap(&actor, &q, &zone).await?;
    if !csv_asked(&p)? {
        return Ok(Json(v).into_response());
    }
    Ok(heatmap_csv(&v).download("heatmap"))
}

/// A row per weekday (Monday first), a column per local hour.
pub fn heatmap_csv(v: &Value) -> Csv {
    let hours: Vec<String> = (0..24).map(|h| format!("{h:02}")).collect();
    let mut head = vec!["weekday"];
    head.extend(hours.iter().map(String::as_str));
    let mut csv = Csv::new(&head);
    for (day, row) in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .zip(v["cells"].as_array().into_iter().flatten())
    {
        let mut cells = vec![day.to_string()];
        cells.extend(row.as_array().into_iter().flatten().map(num));
        csv.row(cells);
    }
    csv
}

pub async fn features(
    State(s): State<AppState>,
    actor: Actor,
    ApiQuery(p): ApiQuery<ReportParams>,
) -> ApiResult<Response> {
    admin_only(&actor, WHAT)?;
    let v = s.svc.report_features(&actor).await?;
    if !csv_asked(&p)? {
        return Ok(Json(v).into_response());
    }
    Ok(features_csv(&v).download("features"))
}

pub fn features_csv(v: &Value) -> Csv {
    let mut csv = Csv::new(&["feature", "customers", "tickets"]);
    for i in v["items"].as_array().into_iter().flatten() {
        csv.row([num(&i["feature"]), num(&i["customers"]), num(&i["tickets"])]);
    }
    csv
}

pub async fn get_settings(State(s): State<AppState>, actor: Actor) -> ApiResult<Json<Value>> {
    admin_only(&actor, WHAT)?;
    Ok(Json(json!(s.store.report_settings(actor.workspace_id).await?)))
}

pub async fn put_settings(
    State(s): State<AppState>,
    actor: Actor,
    ApiJson(body): ApiJson<Settings>,
) -> ApiResult<Json<Value>> {
    admin_only(&actor, "change report and survey settings")?;
    s.svc.save_report_settings(&actor, &body).await?;
    Ok(Json(json!(body)))
}

/// Builds the workspace's totals again from the tables (after an import
/// made outside storedesk, or to check them).
pub async fn rebuild(State(s): State<AppState>, actor: Actor) -> ApiResult<(axum::http::StatusCode, Json<Value>)> {
    admin_only(&actor, "rebuild reports")?;
    s.store.request_report_rebuild(actor.workspace_id).await?;
    Ok((
        axum::http::StatusCode::ACCEPTED,
        Json(json!({ "status": "rebuilding" })),
    ))
}
