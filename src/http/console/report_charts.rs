//! The reports page's charts, from the reports service's JSON: the daily
//! series (as days, or weeks and months for a long range) drawn by
//! `charts`, the weekday × hour heatmap, and the numbers behind them for
//! the tables under each chart.

use serde::Serialize;
use serde_json::Value;

use super::charts::{self, Chart, Scale, Series};
use super::report_view::Words;

/// One day of the daily series.
#[derive(Serialize)]
pub(super) struct Day {
    date: String,
    created: i64,
    resolved: i64,
    reopened: i64,
    backlog: i64,
    frt: String,
    csat: String,
    #[serde(skip)]
    frt_s: Option<i64>,
    #[serde(skip)]
    csat_pct: Option<f64>,
    #[serde(skip)]
    csat_n: i64,
}

pub(super) fn days(w: &Words, series: &Value) -> Vec<Day> {
    series["days"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let csat_pct = d["csat_pct"].as_f64();
            let csat_n = d["csat_responses"].as_i64().unwrap_or(0);
            Day {
                date: d["date"].as_str().unwrap_or("").to_string(),
                created: d["created"].as_i64().unwrap_or(0),
                resolved: d["resolved"].as_i64().unwrap_or(0),
                reopened: d["reopened"].as_i64().unwrap_or(0),
                backlog: d["backlog"].as_i64().unwrap_or(0),
                frt: w.opt_secs(&d["first_response_median_s"]),
                csat: csat_pct.map_or_else(|| "—".into(), |p| format!("{} ({csat_n})", w.pct(p))),
                frt_s: d["first_response_median_s"].as_i64(),
                csat_pct,
                csat_n,
            }
        })
        .collect()
}

/// Days taken together for the bars, so a long range stays readable: a
/// day each up to three months, then weeks, then 30 days.
struct Bucket {
    label: String,
    created: i64,
    resolved: i64,
    backlog: i64,
    csat_good: f64,
    csat_n: i64,
}

fn buckets(days: &[Day]) -> (usize, Vec<Bucket>) {
    let size = match days.len() {
        0..=92 => 1,
        93..=644 => 7,
        _ => 30,
    };
    let short = |d: &str| {
        if days.len() <= 366 {
            d.get(5..).unwrap_or(d)
        } else {
            d.get(..7).unwrap_or(d)
        }
        .to_string()
    };
    let out = days
        .chunks(size)
        .map(|c| Bucket {
            label: short(&c[0].date),
            created: c.iter().map(|d| d.created).sum(),
            resolved: c.iter().map(|d| d.resolved).sum(),
            backlog: c.last().map_or(0, |d| d.backlog),
            csat_good: c
                .iter()
                .map(|d| d.csat_pct.unwrap_or(0.0) * d.csat_n as f64 / 100.0)
                .sum(),
            csat_n: c.iter().map(|d| d.csat_n).sum(),
        })
        .collect();
    (size, out)
}

#[derive(Serialize)]
pub(super) struct Charts {
    /// "day", "week" or "30-days": what one bar stands for.
    per: &'static str,
    frt_benchmark: String,
    csat_benchmark: String,
    volume: Option<minijinja::Value>,
    frt: Option<minijinja::Value>,
    csat: Option<minijinja::Value>,
}

/// The three daily charts; None where there is nothing to draw.
pub(super) fn charts(w: &Words, summary: &Value, days: &[Day]) -> Charts {
    let (size, b) = buckets(days);
    let x: Vec<String> = b.iter().map(|b| b.label.clone()).collect();
    let (from, to) = (
        summary["from"].as_str().unwrap_or(""),
        summary["to"].as_str().unwrap_or(""),
    );
    let bench = &summary["benchmark"];
    let industry = super::reports::industry_name(w, bench["industry"].as_str().unwrap_or("ecommerce"));
    let svg = |c: Chart| minijinja::Value::from_safe_string(charts::chart(&c));
    let series = |name: &str, class: &'static str, values: Vec<Option<f64>>| Series {
        name: w.t(name, &[]),
        class,
        values,
    };

    let busy = days.iter().any(|d| d.created + d.resolved + d.reopened + d.backlog > 0);
    let volume = busy.then(|| {
        let label = w.t(
            "reports-label-volume",
            &[
                ("from", from),
                ("to", to),
                ("created", &summary["created"].to_string()),
                ("resolved", &summary["resolved"].to_string()),
                ("start", &summary["backlog"]["start"].to_string()),
                ("end", &summary["backlog"]["end"].to_string()),
            ],
        );
        svg(Chart {
            label: &label,
            x: &x,
            bars: vec![
                series(
                    "reports-legend-created",
                    "ch-created",
                    b.iter().map(|b| Some(b.created as f64)).collect(),
                ),
                series(
                    "reports-legend-resolved",
                    "ch-resolved",
                    b.iter().map(|b| Some(b.resolved as f64)).collect(),
                ),
            ],
            lines: vec![],
            right: Some(series(
                "reports-legend-backlog",
                "ch-backlog",
                b.iter().map(|b| Some(b.backlog as f64)).collect(),
            )),
            scale: Scale::Count,
            benchmark: None,
            fmt: &charts::plain,
        })
    });

    let frt_bench = bench["first_response_s"].as_i64().unwrap_or(0);
    let frt_bench_text = w.t(
        "reports-benchmark",
        &[("industry", &industry), ("value", &w.secs(frt_bench))],
    );
    let daily_x: Vec<String> = days
        .iter()
        .map(|d| d.date.get(5..).unwrap_or(&d.date).to_string())
        .collect();
    let frt = days.iter().any(|d| d.frt_s.is_some()).then(|| {
        let label = w.t(
            "reports-label-frt",
            &[
                ("from", from),
                ("to", to),
                ("median", &w.opt_secs(&summary["first_response"]["median_s"])),
                ("benchmark", &frt_bench_text),
            ],
        );
        let axis = |s: f64| w.axis_secs(s);
        svg(Chart {
            label: &label,
            x: &daily_x,
            bars: vec![],
            lines: vec![series(
                "reports-legend-frt",
                "ch-frt",
                days.iter().map(|d| d.frt_s.map(|s| s as f64)).collect(),
            )],
            right: None,
            scale: Scale::Seconds,
            benchmark: Some((frt_bench as f64, w.in_chart(frt_bench_text.clone()))),
            fmt: &axis,
        })
    });

    let csat_bench = bench["csat_pct"].as_f64().unwrap_or(0.0);
    let csat_bench_text = w.t(
        "reports-benchmark",
        &[("industry", &industry), ("value", &w.pct(csat_bench))],
    );
    let csat = b.iter().any(|b| b.csat_n > 0).then(|| {
        let label = w.t(
            "reports-label-csat",
            &[
                ("from", from),
                ("to", to),
                ("score", &w.csat(&summary["csat"])),
                ("benchmark", &csat_bench_text),
            ],
        );
        let pct = |p: f64| w.pct(p);
        svg(Chart {
            label: &label,
            x: &x,
            bars: vec![],
            lines: vec![series(
                "reports-legend-csat",
                "ch-csat",
                b.iter()
                    .map(|b| (b.csat_n > 0).then(|| (b.csat_good * 1000.0 / b.csat_n as f64).round() / 10.0))
                    .collect(),
            )],
            right: None,
            scale: Scale::Percent,
            benchmark: Some((csat_bench, w.in_chart(csat_bench_text.clone()))),
            fmt: &pct,
        })
    });
    let per = match size {
        1 => "day",
        7 => "week",
        _ => "30-days",
    };
    Charts {
        per,
        frt_benchmark: frt_bench_text,
        csat_benchmark: csat_bench_text,
        volume,
        frt,
        csat,
    }
}

/// The weekday × hour heatmap and its table; None when nothing came in.
pub(super) fn heatmap(w: &Words, v: &Value, zone: &str) -> Option<minijinja::Value> {
    let mut cells = [[0i64; 24]; 7];
    for (d, row) in v["cells"].as_array().into_iter().flatten().take(7).enumerate() {
        for (h, c) in row.as_array().into_iter().flatten().take(24).enumerate() {
            cells[d][h] = c.as_i64().unwrap_or(0);
        }
    }
    let total: i64 = cells.iter().flatten().sum();
    if total == 0 {
        return None;
    }
    let days: Vec<String> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| w.t(&format!("day-{d}"), &[]))
        .collect();
    let (mut bd, mut bh) = (0, 0);
    for (d, row) in cells.iter().enumerate() {
        for (h, c) in row.iter().enumerate() {
            if *c > cells[bd][bh] {
                (bd, bh) = (d, h);
            }
        }
    }
    let cell = |d: usize, h: usize, n: i64| {
        w.t(
            "reports-cell",
            &[
                ("day", &days[d]),
                ("hour", &format!("{h:02}:00")),
                ("next", &format!("{:02}:00", (h + 1) % 24)),
                ("n", &n.to_string()),
            ],
        )
    };
    let label = w.t(
        "reports-label-heatmap",
        &[
            ("zone", zone),
            ("total", &total.to_string()),
            ("busiest", &cell(bd, bh, cells[bd][bh])),
        ],
    );
    let svg = charts::heatmap(&label, &days, &cells, &cell);
    Some(minijinja::context! {
        svg => minijinja::Value::from_safe_string(svg),
        rows => days.iter().zip(cells.iter()).map(|(d, r)| minijinja::context! { day => d, cells => r.to_vec() }).collect::<Vec<_>>(),
        hours => (0..24).map(|h| format!("{h:02}")).collect::<Vec<_>>(),
    })
}
