//! What the reports page shows, built from the reports service's JSON, in
//! the agent's language: the headline cards with the previous period's
//! figures and how they moved, and the breakdown tables (the charts are
//! in `report_charts`).

use serde::Serialize;
use serde_json::Value;

use super::charts;

pub(super) struct Words<'a> {
    pub lang: &'a str,
}

impl Words<'_> {
    pub fn t(&self, id: &str, args: &[(&str, &str)]) -> String {
        crate::i18n::text(self.lang, &format!("console-{id}"), args)
    }

    /// A duration for people: "113 s" below two minutes (benchmarks are
    /// quoted so), "2 min 56 s" below ten, else minutes, hours and days as
    /// the SLA clocks write them.
    pub fn secs(&self, s: i64) -> String {
        let s = s.max(0);
        let sec = |n: i64| self.t("reports-s", &[("n", &n.to_string())]);
        match s {
            0..120 => sec(s),
            120..600 if s % 60 > 0 => format!("{} {}", super::sla::span(self.lang, s / 60), sec(s % 60)),
            _ => super::sla::span(self.lang, (s + 30) / 60),
        }
    }

    /// A tick on a time axis: whole hours, minutes or seconds.
    pub fn axis_secs(&self, s: f64) -> String {
        let s = s.round() as i64;
        match s {
            0 => "0".into(),
            s if s % 3600 == 0 => self.t("sla-h", &[("n", &(s / 3600).to_string())]),
            s if s % 60 == 0 => self.t("sla-min", &[("n", &(s / 60).to_string())]),
            s => self.t("reports-s", &[("n", &s.to_string())]),
        }
    }

    /// Text for inside a chart, which stays left to right: a right-to-left
    /// language's text is isolated so its words and numbers keep their order.
    pub fn in_chart(&self, s: String) -> String {
        if crate::i18n::dir(self.lang) == "rtl" {
            format!("\u{2067}{s}\u{2069}")
        } else {
            s
        }
    }

    pub fn pct(&self, p: f64) -> String {
        format!("{}%", charts::plain(p))
    }

    pub fn opt_secs(&self, v: &Value) -> String {
        v.as_i64().map_or_else(|| "—".into(), |s| self.secs(s))
    }

    pub fn csat(&self, c: &Value) -> String {
        match c["score_pct"].as_f64() {
            Some(p) => format!("{} ({})", self.pct(p), c["responses"].as_i64().unwrap_or(0)),
            None => "—".into(),
        }
    }
}

/// Whether a rise is good news.
#[derive(Clone, Copy, PartialEq)]
enum Better {
    Higher,
    Lower,
    Neither,
}

#[derive(Serialize)]
pub(super) struct Delta {
    /// "up", "down" or "same".
    way: &'static str,
    text: String,
    /// "better", "worse" or "neutral": the colour.
    class: &'static str,
}

#[derive(Serialize)]
pub(super) struct Card {
    key: &'static str,
    title: String,
    value: String,
    details: Vec<String>,
    previous: Option<String>,
    delta: Option<Delta>,
}

/// How `now` moved from `before`: in percent of it, or (`points`) in
/// points, as CSAT and NPS are compared.
fn delta(w: &Words, now: Option<f64>, before: Option<f64>, better: Better, points: bool) -> Option<Delta> {
    let (now, before) = (now?, before?);
    let diff = now - before;
    if diff.abs() < 1e-9 {
        return Some(Delta {
            way: "same",
            text: w.t("reports-no-change", &[]),
            class: "neutral",
        });
    }
    let size = if points {
        w.t("reports-points", &[("n", &charts::plain(diff.abs()))])
    } else if before == 0.0 {
        charts::plain(diff.abs())
    } else {
        let p = (diff / before * 100.0).abs();
        format!("{}%", if p >= 10.0 { format!("{p:.0}") } else { charts::plain(p) })
    };
    let up = diff > 0.0;
    let class = match better {
        Better::Neither => "neutral",
        Better::Higher if up => "better",
        Better::Lower if !up => "better",
        _ => "worse",
    };
    Some(Delta {
        way: if up { "up" } else { "down" },
        text: size,
        class,
    })
}

/// What a card shows of a summary (its own, or the previous period's).
#[derive(Clone, Copy)]
enum Shown {
    Count(&'static str),
    Backlog,
    Time(&'static str),
    /// CSAT (in percent) or NPS, with the number of responses.
    Score(&'static str, bool),
}

impl Shown {
    /// The figure compared with the previous period's.
    fn ptr(self) -> String {
        match self {
            Shown::Count(k) => format!("/{k}"),
            Shown::Backlog => "/backlog/end".into(),
            Shown::Time(k) => format!("/{k}/median_s"),
            Shown::Score("csat", _) => "/csat/score_pct".into(),
            Shown::Score(k, _) => format!("/{k}/score"),
        }
    }

    fn value(self, w: &Words, v: &Value) -> String {
        let at = v.pointer(&self.ptr()).cloned().unwrap_or(Value::Null);
        match self {
            Shown::Count(_) => at.as_i64().unwrap_or(0).to_string(),
            Shown::Backlog => format!("{} → {}", v["backlog"]["start"], v["backlog"]["end"]),
            Shown::Time(_) => w.opt_secs(&at),
            Shown::Score(_, pct) => match at.as_f64() {
                Some(s) if pct => w.pct(s),
                Some(s) => charts::plain(s),
                None => "—".into(),
            },
        }
    }
}

fn responses(w: &Words, v: &Value, key: &str) -> String {
    let n = v[key]["responses"].as_i64().unwrap_or(0).to_string();
    w.t("reports-responses", &[("n", &n)])
}

/// The headline cards of a summary (with `previous` when compared).
pub(super) fn cards(w: &Words, v: &Value, csat_on: bool, nps_on: bool) -> Vec<Card> {
    let prev = v.get("previous");
    let card = |key: &'static str, shown: Shown, better: Better| {
        let ptr = shown.ptr();
        let at = |v: &Value| v.pointer(&ptr).and_then(Value::as_f64);
        let (details, previous) = match shown {
            Shown::Time(k) => {
                let mut d = vec![w.t("reports-p90-is", &[("time", &w.opt_secs(&v[k]["p90_s"]))])];
                if k != "next_response" {
                    let b = &v[k]["business"];
                    let (median, p90) = (w.opt_secs(&b["median_s"]), w.opt_secs(&b["p90_s"]));
                    d.push(w.t("reports-business-is", &[("median", &median), ("p90", &p90)]));
                }
                (d, prev.map(|p| shown.value(w, p)))
            }
            Shown::Score(k, _) => {
                let on = if k == "csat" { csat_on } else { nps_on };
                let mut d = vec![responses(w, v, k)];
                if !on {
                    d.push(w.t("reports-survey-off", &[]));
                }
                let previous = prev.map(|p| format!("{} · {}", shown.value(w, p), responses(w, p, k)));
                (d, previous)
            }
            _ => (vec![], prev.map(|p| shown.value(w, p))),
        };
        Card {
            key,
            title: w.t(&format!("reports-{key}"), &[]),
            value: shown.value(w, v),
            details,
            previous: previous.map(|p| w.t("reports-previous", &[("value", &p)])),
            delta: prev.and_then(|p| delta(w, at(v), at(p), better, matches!(shown, Shown::Score(..)))),
        }
    };
    vec![
        card("created", Shown::Count("created"), Better::Neither),
        card("resolved", Shown::Count("resolved"), Better::Higher),
        card("reopened", Shown::Count("reopened"), Better::Lower),
        card("backlog", Shown::Backlog, Better::Lower),
        card("first-response", Shown::Time("first_response"), Better::Lower),
        card("next-response", Shown::Time("next_response"), Better::Lower),
        card("resolution", Shown::Time("resolution"), Better::Lower),
        card("csat", Shown::Score("csat", true), Better::Higher),
        card("nps", Shown::Score("nps", false), Better::Higher),
    ]
}

/// A row of a breakdown table.
#[derive(Serialize)]
pub(super) struct Row {
    name: String,
    created: i64,
    resolved: i64,
    reopened: i64,
    replies: i64,
    frt: String,
    resolution: String,
    csat: String,
    online: String,
}

/// The rows of a breakdown; `name` turns a key into what people read
/// (a channel's or kind's name in their language).
pub(super) fn rows(w: &Words, v: &Value, name: &dyn Fn(&str, &str) -> String) -> Vec<Row> {
    v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            let online = i["online_s"].as_i64().unwrap_or(0);
            Row {
                name: name(i["key"].as_str().unwrap_or(""), i["name"].as_str().unwrap_or("")),
                created: i["created"].as_i64().unwrap_or(0),
                resolved: i["resolved"].as_i64().unwrap_or(0),
                reopened: i["reopened"].as_i64().unwrap_or(0),
                replies: i["replies"].as_i64().unwrap_or(0),
                frt: w.opt_secs(&i["first_response"]["median_s"]),
                resolution: w.opt_secs(&i["resolution"]["median_s"]),
                csat: w.csat(&i["csat"]),
                online: format!("{}:{:02}", online / 3600, online % 3600 / 60),
            }
        })
        .collect()
}
