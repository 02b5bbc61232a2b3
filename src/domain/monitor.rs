//! Site monitors' rules: what a monitor is (validated from the API's JSON),
//! what a check's outcome does to its state (a failure counts once a second
//! check confirms it; an expiry within the warning opens an incident;
//! recovery resolves it), uptime from the history, and reading an RDAP
//! answer's expiration. No I/O.

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::ticket::string_enum;
use super::Invalid;

string_enum!(
    /// What a monitor checks: an HTTP(S) answer, a TLS certificate's
    /// expiry, a domain's expiry (RDAP), or a date entered by hand.
    MonitorKind { Http => "http", Tls => "tls", Domain => "domain", Date => "date" }
);
string_enum!(
    /// Where a monitor stands: not checked yet, up, down (confirmed) or
    /// expiring (within its warning).
    MonitorState { Unknown => "unknown", Up => "up", Down => "down", Expiring => "expiring" }
);

pub const NAME_MAX: usize = 100;
pub const EXPECT_TEXT_MAX: usize = 1000;
pub const HOST_MAX: usize = 253;
pub const INTERVAL_MAX_S: i64 = 7 * 86_400;
pub const TIMEOUT_MIN_MS: i64 = 100;
pub const TIMEOUT_MAX_MS: i64 = 30_000;
pub const WARN_DAYS_MAX: i64 = 365;
const DAY_MS: i64 = 86_400_000;

/// A monitor as validated: its kind, name, interval and what the kind needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spec {
    pub kind: MonitorKind,
    pub name: String,
    pub interval_s: i64,
    pub active: bool,
    /// The kind's own fields (url, expect_status, expect_text, timeout_ms;
    /// host, port; domain; label, date; warn_days), as stored.
    pub fields: Map<String, Value>,
}

impl Spec {
    pub fn str(&self, k: &str) -> Option<&str> {
        self.fields.get(k).and_then(Value::as_str)
    }
    pub fn int(&self, k: &str) -> Option<i64> {
        self.fields.get(k).and_then(Value::as_i64)
    }
    /// What it points at, for its name and the status page's "target".
    pub fn target(&self) -> String {
        match self.kind {
            MonitorKind::Http => self.str("url").unwrap_or("").to_string(),
            MonitorKind::Tls => format!("{}:{}", self.str("host").unwrap_or(""), self.int("port").unwrap_or(443)),
            MonitorKind::Domain => self.str("domain").unwrap_or("").to_string(),
            MonitorKind::Date => self.str("label").unwrap_or("").to_string(),
        }
    }
    pub fn warn_ms(&self) -> i64 {
        self.int("warn_days").unwrap_or(14) * DAY_MS
    }
    pub fn timeout_ms(&self) -> i64 {
        self.int("timeout_ms").unwrap_or(10_000)
    }
}

fn kind_fields(kind: MonitorKind) -> &'static [&'static str] {
    match kind {
        MonitorKind::Http => &["url", "expect_status", "expect_text", "timeout_ms"],
        MonitorKind::Tls => &["host", "port", "warn_days", "timeout_ms"],
        MonitorKind::Domain => &["domain", "warn_days"],
        MonitorKind::Date => &["label", "date", "warn_days"],
    }
}

fn int_in(o: &Map<String, Value>, k: &'static str, lo: i64, hi: i64, default: i64) -> Result<i64, Invalid> {
    match o.get(k) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v
            .as_i64()
            .filter(|n| (lo..=hi).contains(n))
            .ok_or_else(|| Invalid::new(k, format!("must be a whole number from {lo} to {hi}"))),
    }
}

fn text(o: &Map<String, Value>, k: &'static str, max: usize) -> Result<Option<String>, Invalid> {
    match o.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= max => Ok(Some(s.trim().to_string())),
        Some(Value::String(_)) => Err(Invalid::new(k, format!("must be at most {max} characters"))),
        Some(_) => Err(Invalid::new(k, "must be a string")),
    }
}

fn required(o: &Map<String, Value>, k: &'static str, max: usize) -> Result<String, Invalid> {
    text(o, k, max)?.ok_or_else(|| Invalid::new(k, "is required"))
}

/// A host name (or address) as a TLS check connects to it.
fn host(raw: &str, field: &'static str) -> Result<String, Invalid> {
    let h = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    let ok = !h.is_empty()
        && h.len() <= HOST_MAX
        && (h.parse::<std::net::IpAddr>().is_ok()
            || h.split('.')
                .all(|l| !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')));
    if ok {
        Ok(h)
    } else {
        Err(Invalid::new(field, "must be a host name such as shop.example.com"))
    }
}

/// A `YYYY-MM-DD` date as the Unix milliseconds of its midnight UTC.
pub fn parse_date(raw: &str) -> Result<i64, Invalid> {
    chrono::NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc().timestamp_millis())
        .ok_or_else(|| Invalid::new("date", "must be a date as YYYY-MM-DD"))
}

/// Validates a whole monitor from `body` (a POST, or a PATCH laid over the
/// stored monitor). `min_interval_s` is the operator's shortest interval.
pub fn parse_spec(body: &Value, min_interval_s: i64) -> Result<Spec, Invalid> {
    let o = body
        .as_object()
        .ok_or_else(|| Invalid::new("body", "must be a JSON object"))?;
    let kind = match o.get("kind") {
        Some(Value::String(k)) => MonitorKind::parse("kind", k)?,
        Some(_) => return Err(Invalid::new("kind", "must be a string")),
        None => return Err(Invalid::new("kind", "is required")),
    };
    let own = kind_fields(kind);
    if let Some(k) = o
        .keys()
        .find(|k| !["kind", "name", "interval_s", "active"].contains(&k.as_str()) && !own.contains(&k.as_str()))
    {
        return Err(Invalid::new(
            "body",
            format!(
                "unknown field '{}' for a {kind} monitor",
                k.chars().take(40).collect::<String>()
            ),
        ));
    }
    let default_interval = if matches!(kind, MonitorKind::Http) { 60 } else { 3600 };
    let interval_s = int_in(
        o,
        "interval_s",
        min_interval_s,
        INTERVAL_MAX_S,
        default_interval.max(min_interval_s),
    )?;
    let active = match o.get("active") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(Invalid::new("active", "must be true or false")),
    };
    let mut f = Map::new();
    match kind {
        MonitorKind::Http => {
            let url = required(o, "url", super::webhook::URL_MAX)?;
            let u = super::webhook::parse_url(&url)?;
            f.insert("url".into(), json!(u.to_string()));
            f.insert(
                "expect_status".into(),
                json!(int_in(o, "expect_status", 100, 599, 200)?),
            );
            if let Some(t) = text(o, "expect_text", EXPECT_TEXT_MAX)? {
                f.insert("expect_text".into(), json!(t));
            }
            let max = TIMEOUT_MAX_MS.min(interval_s * 1000);
            f.insert(
                "timeout_ms".into(),
                json!(int_in(o, "timeout_ms", TIMEOUT_MIN_MS, max, 10_000.min(max))?),
            );
        }
        MonitorKind::Tls => {
            f.insert("host".into(), json!(host(&required(o, "host", HOST_MAX)?, "host")?));
            f.insert("port".into(), json!(int_in(o, "port", 1, 65_535, 443)?));
            f.insert("warn_days".into(), json!(int_in(o, "warn_days", 1, WARN_DAYS_MAX, 14)?));
            let max = TIMEOUT_MAX_MS.min(interval_s * 1000);
            f.insert(
                "timeout_ms".into(),
                json!(int_in(o, "timeout_ms", TIMEOUT_MIN_MS, max, 10_000.min(max))?),
            );
        }
        MonitorKind::Domain => {
            let d = host(&required(o, "domain", HOST_MAX)?, "domain")?;
            if d.parse::<std::net::IpAddr>().is_ok() || !d.contains('.') {
                return Err(Invalid::new(
                    "domain",
                    "must be a registered domain such as example.com",
                ));
            }
            f.insert("domain".into(), json!(d));
            f.insert("warn_days".into(), json!(int_in(o, "warn_days", 1, WARN_DAYS_MAX, 30)?));
        }
        MonitorKind::Date => {
            f.insert("label".into(), json!(required(o, "label", NAME_MAX)?));
            let raw = required(o, "date", 10)?;
            parse_date(&raw)?;
            f.insert("date".into(), json!(raw));
            f.insert("warn_days".into(), json!(int_in(o, "warn_days", 1, WARN_DAYS_MAX, 14)?));
        }
    }
    let mut spec = Spec {
        kind,
        name: String::new(),
        interval_s,
        active,
        fields: f,
    };
    spec.name = match text(o, "name", NAME_MAX)? {
        Some(n) => n,
        None => spec.target().chars().take(NAME_MAX).collect(),
    };
    Ok(spec)
}

/// What one check found.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Answered as expected; for expiry kinds, when it expires.
    Ok { expires_at: Option<i64> },
    /// Did not answer as expected (the reason).
    Failed(String),
}

/// What a check's outcome leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    None,
    /// A failure confirmed (`down`) or an expiry within the warning
    /// (`expiring`): an incident is opened or added to.
    Open(MonitorState),
    /// Back up after being down or expiring: the incident is resolved.
    Recover,
}

/// The state after a check, and when to look next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub state: MonitorState,
    pub failures: i64,
    pub action: Action,
    /// Milliseconds until the next check.
    pub next_in_ms: i64,
    /// The check counts as up in the history.
    pub ok: bool,
}

/// The state machine: a first failure is retried after `retry_ms` (at
/// most the interval) and changes nothing; the second in a row confirms
/// it. An expiry within `warn_ms` of `now` is "expiring"; anything else
/// that answered is "up", and leaving down or expiring recovers.
pub fn decide(
    prev: MonitorState,
    failures: i64,
    outcome: &Outcome,
    now: i64,
    warn_ms: i64,
    interval_ms: i64,
    retry_ms: i64,
) -> Decision {
    match outcome {
        Outcome::Failed(_) => {
            let failures = failures + 1;
            if prev == MonitorState::Down {
                Decision {
                    state: prev,
                    failures,
                    action: Action::None,
                    next_in_ms: interval_ms,
                    ok: false,
                }
            } else if failures >= 2 {
                Decision {
                    state: MonitorState::Down,
                    failures,
                    action: Action::Open(MonitorState::Down),
                    next_in_ms: interval_ms,
                    ok: false,
                }
            } else {
                Decision {
                    state: prev,
                    failures,
                    action: Action::None,
                    next_in_ms: retry_ms.min(interval_ms),
                    ok: false,
                }
            }
        }
        Outcome::Ok { expires_at } => {
            let expiring = expires_at.is_some_and(|e| e - now <= warn_ms);
            let (state, action) = match (expiring, prev) {
                (true, MonitorState::Expiring) => (MonitorState::Expiring, Action::None),
                (true, _) => (MonitorState::Expiring, Action::Open(MonitorState::Expiring)),
                (false, MonitorState::Down | MonitorState::Expiring) => (MonitorState::Up, Action::Recover),
                (false, _) => (MonitorState::Up, Action::None),
            };
            Decision {
                state,
                failures: 0,
                action,
                next_in_ms: interval_ms,
                ok: true,
            }
        }
    }
}

/// When a new monitor is first checked: spread over its first interval
/// (at most a minute) by `spread` in [0, 1), so monitors made together
/// do not all run at once.
pub fn first_offset_ms(interval_s: i64, spread: f64) -> i64 {
    ((interval_s.min(60) * 1000) as f64 * spread.clamp(0.0, 1.0)) as i64
}

/// One day's checks.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DayCount {
    /// Days since the Unix epoch (UTC).
    pub day: i64,
    pub checks: i64,
    pub up: i64,
}

/// Uptime in percent (two decimals) of some checks; `None` without any.
pub fn uptime(checks: i64, up: i64) -> Option<f64> {
    (checks > 0).then(|| ((up as f64 / checks as f64) * 10_000.0).round() / 100.0)
}

/// Per day and per month (`YYYY-MM`), with the whole span's uptime.
pub fn uptime_report(days: &[DayCount]) -> Value {
    let mut months: Vec<(String, i64, i64)> = Vec::new();
    for d in days {
        let date = chrono::DateTime::from_timestamp_millis(d.day * DAY_MS)
            .map(|t| t.format("%Y-%m").to_string())
            .unwrap_or_default();
        match months.last_mut() {
            Some(m) if m.0 == date => {
                m.1 += d.checks;
                m.2 += d.up;
            }
            _ => months.push((date, d.checks, d.up)),
        }
    }
    let (all, up) = days.iter().fold((0, 0), |a, d| (a.0 + d.checks, a.1 + d.up));
    json!({
        "percent": uptime(all, up),
        "days": days.iter().map(|d| json!({
            "date": chrono::DateTime::from_timestamp_millis(d.day * DAY_MS).map(|t| t.format("%Y-%m-%d").to_string()),
            "checks": d.checks, "up": d.up, "percent": uptime(d.checks, d.up),
        })).collect::<Vec<_>>(),
        "months": months.iter().map(|(m, c, u)| json!({ "month": m, "checks": c, "up": u, "percent": uptime(*c, *u) })).collect::<Vec<_>>(),
    })
}

/// The "expiration" event's date of an RDAP domain answer (RFC 9083 §4.5).
pub fn rdap_expiration(answer: &Value) -> Result<i64, String> {
    let events = answer
        .get("events")
        .and_then(Value::as_array)
        .ok_or("the RDAP answer has no events")?;
    let date = events
        .iter()
        .find(|e| e.get("eventAction").and_then(Value::as_str) == Some("expiration"))
        .and_then(|e| e.get("eventDate"))
        .and_then(Value::as_str)
        .ok_or("the RDAP answer has no expiration event")?;
    chrono::DateTime::parse_from_rfc3339(date)
        .map(|d| d.timestamp_millis())
        .map_err(|_| {
            format!(
                "the RDAP expiration date '{}' is not RFC 3339",
                date.chars().take(40).collect::<String>()
            )
        })
}

/// A check's error as kept (one line, bounded).
pub fn short_error(e: &str) -> String {
    let line = e.split_whitespace().collect::<Vec<_>>().join(" ");
    line.chars().take(300).collect()
}

#[cfg(test)]
#[path = "monitor_tests.rs"]
mod tests;
