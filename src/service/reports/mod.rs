//! Reports: read from the running totals only, never from tickets, so they
//! answer as fast at a million tickets as at a hundred.

mod rollup;

pub use rollup::{Change, WorkspaceClock};

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{json, Value};

use super::Services;
use crate::domain::calendar::{date_of_day, day_of_date, LocalDays};
use crate::domain::digest::Digest;
use crate::domain::reports::{Dim, Settings, Totals};
use crate::domain::{Actor, Channel, Invalid, RequestKind};
use crate::store::reports::Digests;
use crate::store::Result;

/// The longest range a report covers, in days.
pub const RANGE_MAX_DAYS: i64 = 3660;
/// How often agents' online time is sampled.
const ONLINE_SAMPLE_MS: i64 = 60_000;
/// The range when none is given, in days ending today.
pub const RANGE_DEFAULT_DAYS: i64 = 30;

/// What a report is asked for: local days `from..=to`, at most one filter.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportQuery {
    pub from: i64,
    pub to: i64,
    pub filter: Option<(Dim, String)>,
    pub compare: bool,
}

/// The raw parameters, as the API and the console take them.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    pub from: Option<String>,
    pub to: Option<String>,
    pub team: Option<String>,
    pub agent: Option<String>,
    pub channel: Option<String>,
    pub label: Option<String>,
    pub kind: Option<String>,
    pub compare: Option<String>,
    pub by: Option<String>,
    pub format: Option<String>,
}

fn date(field: &'static str, raw: &str) -> std::result::Result<i64, Invalid> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map(day_of_date)
        .map_err(|_| Invalid::new(field, "must be a date like 2026-11-30"))
}

fn id_text(field: &'static str, raw: &str) -> std::result::Result<String, Invalid> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|i| *i > 0)
        .map(|i| i.to_string())
        .ok_or_else(|| Invalid::new(field, "must be a positive id"))
}

impl ReportParams {
    /// Checks the parameters; `today` is the workspace's local day.
    pub fn query(&self, today: i64) -> std::result::Result<ReportQuery, Invalid> {
        let to = match &self.to {
            Some(t) => date("to", t)?,
            None => today,
        };
        let from = match &self.from {
            Some(f) => date("from", f)?,
            None => to - (RANGE_DEFAULT_DAYS - 1),
        };
        if from > to {
            return Err(Invalid::new("from", "must not be after to"));
        }
        if to - from >= RANGE_MAX_DAYS {
            return Err(Invalid::new(
                "from",
                format!("a report covers at most {RANGE_MAX_DAYS} days"),
            ));
        }
        let mut filters = vec![];
        if let Some(t) = &self.team {
            filters.push((Dim::Team, id_text("team", t)?));
        }
        if let Some(a) = &self.agent {
            filters.push((Dim::Agent, id_text("agent", a)?));
        }
        if let Some(c) = &self.channel {
            filters.push((Dim::Channel, Channel::parse("channel", c.trim())?.as_str().to_string()));
        }
        if let Some(l) = &self.label {
            let l = crate::domain::required_text("label", l, crate::domain::ticket::LABEL_MAX)?;
            filters.push((Dim::Label, l));
        }
        if let Some(k) = &self.kind {
            filters.push((Dim::Kind, RequestKind::parse("kind", k.trim())?.as_str().to_string()));
        }
        if filters.len() > 1 {
            return Err(Invalid::new(
                "filter",
                "reports take one filter at a time (team, agent, channel, label or kind)",
            ));
        }
        let compare = match self.compare.as_deref() {
            None | Some("" | "false" | "0") => false,
            Some("true" | "1" | "on") => true,
            Some(_) => return Err(Invalid::new("compare", "must be true or false")),
        };
        Ok(ReportQuery {
            from,
            to,
            filter: filters.pop(),
            compare,
        })
    }
}

impl ReportQuery {
    /// The same number of days just before.
    pub fn previous(&self) -> ReportQuery {
        let len = self.to - self.from + 1;
        ReportQuery {
            from: self.from - len,
            to: self.from - 1,
            compare: false,
            ..self.clone()
        }
    }

    fn dim_key(&self) -> (Dim, &str) {
        match &self.filter {
            Some((d, k)) => (*d, k.as_str()),
            None => (Dim::All, ""),
        }
    }
}

/// Median, p90 and mean of a digest, in seconds.
#[derive(Debug, Serialize, PartialEq)]
pub struct Spread {
    pub count: i64,
    pub median_s: Option<i64>,
    pub p90_s: Option<i64>,
    pub avg_s: Option<i64>,
}

impl Spread {
    pub fn of(d: &Digest) -> Spread {
        Spread {
            count: d.count(),
            median_s: d.quantile(0.5),
            p90_s: d.quantile(0.9),
            avg_s: d.mean().map(|m| m.round() as i64),
        }
    }
}

fn times(cal: &Digest, bh: &Digest) -> Value {
    let mut v = json!(Spread::of(cal));
    v["business"] = json!(Spread::of(bh));
    v
}

fn pct(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 10_000.0 / whole as f64).round() / 100.0)
}

fn csat(t: &Totals) -> Value {
    json!({
        "responses": t.csat_count,
        "score_pct": pct(t.csat_good, t.csat_count),
        "average": (t.csat_count > 0).then(|| (t.csat_sum as f64 * 100.0 / t.csat_count as f64).round() / 100.0),
    })
}

fn nps(t: &Totals) -> Value {
    let score = (t.nps_count > 0)
        .then(|| ((t.nps_promoters - t.nps_detractors) as f64 * 1000.0 / t.nps_count as f64).round() / 10.0);
    json!({
        "responses": t.nps_count,
        "score": score,
        "promoters": t.nps_promoters,
        "passives": t.nps_count - t.nps_promoters - t.nps_detractors,
        "detractors": t.nps_detractors,
    })
}

/// The date of a local day, as reports print it.
pub fn iso(day: i64) -> String {
    date_of_day(day).format("%Y-%m-%d").to_string()
}

impl Services {
    /// The workspace's local days, and today among them.
    pub async fn report_days(&self, workspace_id: i64) -> Result<(LocalDays, String, i64)> {
        let cal = self.store.calendar(workspace_id, None).await?;
        let days = LocalDays::new(&cal.time_zone);
        let today = days.day(crate::store::now_ms());
        Ok((days, cal.time_zone, today))
    }

    async fn summary_of(&self, ws: i64, q: &ReportQuery) -> Result<Value> {
        let (dim, key) = q.dim_key();
        let sums = (self.store)
            .report_sums(ws, dim, Some(key), q.from, q.to, Digests::All)
            .await?;
        let t = sums.into_values().next().unwrap_or_default();
        let (c, r, o) = self.store.report_counts_before(ws, dim, key, q.from).await?;
        let start = c + o - r;
        let end = start + t.created + t.reopened - t.resolved;
        Ok(json!({
            "from": iso(q.from),
            "to": iso(q.to),
            "created": t.created,
            "resolved": t.resolved,
            "reopened": t.reopened,
            "replies": t.replies,
            "backlog": { "start": start, "end": end },
            "first_response": times(&t.first_response, &t.first_response_bh),
            "next_response": times(&t.next_response, &t.next_response_bh),
            "resolution": times(&t.resolution, &t.resolution_bh),
            "csat": csat(&t),
            "nps": nps(&t),
        }))
    }

    /// The headline figures of a range, with the previous range beside
    /// them when asked and the industry's benchmark.
    pub async fn report_summary(&self, actor: &Actor, q: &ReportQuery) -> Result<Value> {
        let ws = actor.workspace_id;
        let mut v = self.summary_of(ws, q).await?;
        let settings = self.store.report_settings(ws).await?;
        v["filter"] = filter_json(q);
        v["benchmark"] = benchmark(&settings);
        if q.compare {
            v["previous"] = self.summary_of(ws, &q.previous()).await?;
        }
        Ok(v)
    }

    /// Day by day: counts, the backlog at the end of each day, medians.
    pub async fn report_series(&self, actor: &Actor, q: &ReportQuery) -> Result<Value> {
        let ws = actor.workspace_id;
        let (dim, key) = q.dim_key();
        let rows = (self.store)
            .report_rows(ws, dim, Some(key), q.from, q.to, Digests::Calendar)
            .await?;
        let (c, r, o) = self.store.report_counts_before(ws, dim, key, q.from).await?;
        let mut backlog = c + o - r;
        let by_day: HashMap<i64, &Totals> = rows.iter().map(|(_, d, t)| (*d, t)).collect();
        let empty = Totals::default();
        let days: Vec<Value> = (q.from..=q.to)
            .map(|d| {
                let t = by_day.get(&d).copied().unwrap_or(&empty);
                backlog += t.created + t.reopened - t.resolved;
                json!({
                    "date": iso(d),
                    "created": t.created,
                    "resolved": t.resolved,
                    "reopened": t.reopened,
                    "replies": t.replies,
                    "backlog": backlog,
                    "first_response_median_s": t.first_response.quantile(0.5),
                    "resolution_median_s": t.resolution.quantile(0.5),
                    "csat_pct": pct(t.csat_good, t.csat_count),
                    "csat_responses": t.csat_count,
                })
            })
            .collect();
        let settings = self.store.report_settings(ws).await?;
        Ok(json!({
            "from": iso(q.from), "to": iso(q.to), "filter": filter_json(q),
            "benchmark": benchmark(&settings), "days": days,
        }))
    }

    /// One row per agent, team, channel, label or request kind. Filters do
    /// not combine with a breakdown (the totals are kept per dimension).
    pub async fn report_breakdown(&self, actor: &Actor, q: &ReportQuery, by: Dim) -> Result<Value> {
        let ws = actor.workspace_id;
        // Business-hours times are not shown per key: their digests stay unread.
        let mut per = (self.store)
            .report_sums(ws, by, None, q.from, q.to, Digests::Calendar)
            .await?;
        let names: HashMap<String, String> = match by {
            Dim::Agent => {
                let users = self.store.list_users(ws).await?;
                for u in &users {
                    per.entry(u.id.to_string()).or_default();
                }
                users.into_iter().map(|u| (u.id.to_string(), u.name)).collect()
            }
            Dim::Team => (self.store.list_teams(ws).await?)
                .into_iter()
                .map(|t| (t.id.to_string(), t.name))
                .collect(),
            _ => HashMap::new(),
        };
        let online = match by {
            Dim::Agent => self.store.online_seconds(ws, q.from, q.to).await?,
            _ => HashMap::new(),
        };
        let mut items: Vec<Value> = per
            .iter()
            .map(|(k, t)| {
                let mut v = json!({
                    "key": k,
                    "name": names.get(k).cloned().unwrap_or_else(|| k.clone()),
                    "created": t.created,
                    "resolved": t.resolved,
                    "reopened": t.reopened,
                    "replies": t.replies,
                    "first_response": Spread::of(&t.first_response),
                    "next_response": Spread::of(&t.next_response),
                    "resolution": Spread::of(&t.resolution),
                    "csat": csat(t),
                });
                if by == Dim::Agent {
                    v["online_s"] = json!(k
                        .parse::<i64>()
                        .ok()
                        .and_then(|id| online.get(&id))
                        .copied()
                        .unwrap_or(0));
                }
                v
            })
            .collect();
        items.sort_by(|a, b| {
            (b["resolved"].as_i64(), b["created"].as_i64(), a["name"].as_str()).cmp(&(
                a["resolved"].as_i64(),
                a["created"].as_i64(),
                b["name"].as_str(),
            ))
        });
        Ok(json!({ "from": iso(q.from), "to": iso(q.to), "by": by.as_str(), "items": items }))
    }

    /// Incoming conversations by weekday (Monday first) and local hour.
    pub async fn report_heatmap(&self, actor: &Actor, q: &ReportQuery, zone: &str) -> Result<Value> {
        let rows = self
            .store
            .report_created(actor.workspace_id, Dim::Hour, q.from, q.to)
            .await?;
        let mut cells = [[0i64; 24]; 7];
        for (k, created) in rows {
            if let Ok(i) = k.parse::<usize>() {
                if i < 7 * 24 {
                    cells[i / 24][i % 24] += created;
                }
            }
        }
        let total: i64 = cells.iter().flatten().sum();
        Ok(json!({ "from": iso(q.from), "to": iso(q.to), "time_zone": zone, "total": total, "cells": cells }))
    }

    /// Missing features by the number of different customers who asked.
    pub async fn report_features(&self, actor: &Actor) -> Result<Value> {
        let rows = self.store.feature_tally(actor.workspace_id, 200).await?;
        let items: Vec<Value> = rows
            .into_iter()
            .map(|(f, customers, tickets)| json!({ "feature": f, "customers": customers, "tickets": tickets }))
            .collect();
        Ok(json!({ "items": items }))
    }

    /// Adds the time since the last sample to every available agent's
    /// online time (a gap longer than two samples, such as a restart, is
    /// not counted).
    pub async fn sample_online(&self) -> Result<()> {
        static LAST: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
        let now = crate::store::now_ms();
        let last = LAST.load(std::sync::atomic::Ordering::Relaxed);
        if now - last < ONLINE_SAMPLE_MS {
            return Ok(());
        }
        LAST.store(now, std::sync::atomic::Ordering::Relaxed);
        if last == 0 || now - last > 2 * ONLINE_SAMPLE_MS {
            return Ok(());
        }
        let seconds = (now - last) / 1000;
        let mut by_ws: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for (ws, user) in self.store.agents_available().await? {
            by_ws.entry(ws).or_default().push(user);
        }
        for (ws, users) in by_ws {
            let (_, _, today) = self.report_days(ws).await?;
            self.store.add_online(ws, &users, today, seconds).await?;
        }
        Ok(())
    }

    pub async fn save_report_settings(&self, actor: &Actor, s: &Settings) -> Result<()> {
        s.validate()?;
        self.store
            .save_report_settings(actor.workspace_id, s, actor.user_id)
            .await
    }
}

fn filter_json(q: &ReportQuery) -> Value {
    match &q.filter {
        Some((d, k)) => json!({ d.as_str(): k }),
        None => Value::Null,
    }
}

fn benchmark(s: &Settings) -> Value {
    let (frt, csat) = s.industry.benchmark();
    json!({ "industry": s.industry, "first_response_s": frt, "csat_pct": csat, "source": "Live Chat Benchmark Report" })
}
