//! Time and client reports: work types, estimates and their approval, the
//! bounds on what an agent logs, calendar months, and what a month of work
//! costs a client (rates, the subscription's included minutes).

use chrono::{Datelike, NaiveDate, TimeZone, Utc};
use serde::Serialize;

use super::ticket::string_enum;
use super::Invalid;

string_enum!(
    /// How a client pays: per job, a monthly subscription with minutes
    /// included, or urgent work at its own rate.
    WorkType { OneOff => "one_off", Subscription => "subscription", Urgent => "urgent" }
);
string_enum!(
    /// Where a ticket's estimate stands with the client.
    EstimateState { Proposed => "proposed", Approved => "approved", Questioned => "questioned" }
);

/// The most one entry may log: a day.
pub const ENTRY_MAX_MINUTES: i64 = 24 * 60;
/// The largest estimate: a thousand hours.
pub const ESTIMATE_MAX_MINUTES: i64 = 1000 * 60;
/// The longest note on an entry.
pub const NOTE_MAX: usize = 2000;
/// The largest rate (minor units per hour) and monthly minutes a client may have.
pub const RATE_MAX: i64 = 100_000_000;
pub const INCLUDED_MAX_MINUTES: i64 = 31 * 24 * 60;
/// The share of a subscription's minutes at which the team is warned (percent).
pub const WARN_PERCENT: i64 = 80;

/// Minutes from an optional `hours` and `minutes`, within `1..=max`
/// (or `0..=max` when `zero` is allowed).
pub fn duration(hours: Option<i64>, minutes: Option<i64>, max: i64, zero: bool) -> Result<i64, Invalid> {
    if hours.is_none() && minutes.is_none() {
        return Err(Invalid::new("minutes", "give minutes (and/or hours)"));
    }
    let h = hours.unwrap_or(0);
    let m = minutes.unwrap_or(0);
    if h < 0 || m < 0 {
        return Err(Invalid::new("minutes", "must not be negative"));
    }
    let total = h
        .checked_mul(60)
        .and_then(|h| h.checked_add(m))
        .filter(|t| *t <= max)
        .ok_or_else(|| Invalid::new("minutes", format!("must be at most {max} minutes")))?;
    if total == 0 && !zero {
        return Err(Invalid::new("minutes", "must be at least one minute"));
    }
    Ok(total)
}

/// A calendar month in UTC, "2026-11".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, Invalid> {
        let bad = || Invalid::new(field, "must be a month like 2026-11");
        let (y, m) = raw.trim().split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        if !(1970..=9998).contains(&year) || !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Month { year, month })
    }

    /// The month `ms` falls in (UTC).
    pub fn of(ms: i64) -> Self {
        let d = chrono::DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
        Month {
            year: d.year(),
            month: d.month(),
        }
    }

    /// Its first millisecond and the first of the next month.
    pub fn range(self) -> (i64, i64) {
        let start = |y: i32, m: u32| {
            Utc.from_utc_datetime(
                &NaiveDate::from_ymd_opt(y, m, 1)
                    .unwrap_or_default()
                    .and_hms_opt(0, 0, 0)
                    .unwrap_or_default(),
            )
            .timestamp_millis()
        };
        let (ny, nm) = if self.month == 12 {
            (self.year + 1, 1)
        } else {
            (self.year, self.month + 1)
        };
        (start(self.year, self.month), start(ny, nm))
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// What a client is charged for.
#[derive(Debug, Clone, Copy)]
pub struct Terms {
    pub work_type: WorkType,
    pub included_minutes: i64,
    pub hourly_rate: i64,
    pub urgent_rate: i64,
}

/// A month's billable minutes, split by rate.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub regular_minutes: i64,
    pub urgent_minutes: i64,
}

/// What a month costs, in minor units, and what is left of a subscription.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Bill {
    /// Regular minutes the subscription covered.
    pub included_used_minutes: i64,
    /// Regular minutes charged at the hourly rate.
    pub regular_charged_minutes: i64,
    pub urgent_minutes: i64,
    pub regular_amount: i64,
    pub urgent_amount: i64,
    pub total_amount: i64,
    /// Subscription minutes left this month (None for other work types).
    pub balance_minutes: Option<i64>,
}

/// `minutes` at `rate` per hour, rounded to the nearest minor unit.
pub fn amount(minutes: i64, rate: i64) -> i64 {
    ((minutes as i128 * rate as i128 + 30) / 60) as i64
}

/// A month's bill: a subscription's included minutes cover regular work
/// first; urgent work (an urgent ticket, or a client whose work is all
/// urgent) is always charged at the urgent rate.
pub fn bill(t: Terms, u: Usage) -> Bill {
    let (regular, urgent) = match t.work_type {
        WorkType::Urgent => (0, u.regular_minutes + u.urgent_minutes),
        _ => (u.regular_minutes, u.urgent_minutes),
    };
    let (covered, balance) = match t.work_type {
        WorkType::Subscription => {
            let covered = regular.min(t.included_minutes);
            (covered, Some((t.included_minutes - regular).max(0)))
        }
        _ => (0, None),
    };
    let charged = regular - covered;
    let regular_amount = amount(charged, t.hourly_rate);
    let urgent_amount = amount(urgent, t.urgent_rate);
    Bill {
        included_used_minutes: covered,
        regular_charged_minutes: charged,
        urgent_minutes: urgent,
        regular_amount,
        urgent_amount,
        total_amount: regular_amount + urgent_amount,
        balance_minutes: balance,
    }
}

/// Whether `used` minutes of `included` reach the warning share.
pub fn past_warning(used: i64, included: i64) -> bool {
    included > 0 && used * 100 >= included * WARN_PERCENT
}

/// Minutes as "1 h 30 min".
pub fn hm(minutes: i64) -> String {
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// Minor units as "12.50".
pub fn money(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, (minor % 100).abs())
}

/// What a resolved ticket's time report says.
pub struct ReportFacts<'a> {
    pub number: i64,
    pub subject: &'a str,
    pub total_minutes: i64,
    pub billable_minutes: i64,
    pub estimate_minutes: Option<i64>,
}

/// The time report a client gets when their ticket is resolved.
pub fn time_report(f: &ReportFacts) -> String {
    let mut out = format!(
        "Time report for #{} {}\n\nTime spent: {}\n",
        f.number,
        f.subject,
        hm(f.total_minutes)
    );
    if f.billable_minutes != f.total_minutes {
        out.push_str(&format!("Billable: {}\n", hm(f.billable_minutes)));
    }
    if let Some(e) = f.estimate_minutes {
        out.push_str(&format!("Estimate: {}\n", hm(e)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_bounded() {
        assert_eq!(duration(Some(1), Some(30), ENTRY_MAX_MINUTES, false).unwrap(), 90);
        assert!(duration(None, Some(-5), ENTRY_MAX_MINUTES, false).is_err());
        assert!(duration(None, Some(0), ENTRY_MAX_MINUTES, false).is_err());
        assert_eq!(duration(None, Some(0), ESTIMATE_MAX_MINUTES, true).unwrap(), 0);
        assert!(duration(None, Some(ENTRY_MAX_MINUTES + 1), ENTRY_MAX_MINUTES, false).is_err());
        assert!(duration(Some(i64::MAX), Some(1), ENTRY_MAX_MINUTES, false).is_err());
        assert!(duration(None, None, ENTRY_MAX_MINUTES, false).is_err());
    }

    #[test]
    fn months_parse_and_span() {
        let m = Month::parse("month", "2026-11").unwrap();
        assert_eq!(m.to_string(), "2026-11");
        let (a, b) = m.range();
        assert_eq!(Month::of(a), m);
        assert_eq!(Month::of(b - 1), m);
        assert_eq!(Month::of(b).to_string(), "2026-12");
        assert_eq!(
            Month::parse("m", "2026-12").unwrap().range().1,
            Month::parse("m", "2027-01").unwrap().range().0
        );
        for bad in ["2026-13", "2026-1", "26-11", "x", "2026-00", ""] {
            assert!(Month::parse("month", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn subscriptions_cover_regular_work_first() {
        let t = Terms {
            work_type: WorkType::Subscription,
            included_minutes: 600,
            hourly_rate: 6000,
            urgent_rate: 12000,
        };
        let b = bill(
            t,
            Usage {
                regular_minutes: 660,
                urgent_minutes: 30,
            },
        );
        assert_eq!(b.included_used_minutes, 600);
        assert_eq!(b.regular_charged_minutes, 60);
        assert_eq!(b.regular_amount, 6000);
        assert_eq!(b.urgent_amount, 6000);
        assert_eq!(b.total_amount, 12000);
        assert_eq!(b.balance_minutes, Some(0));
        let one_off = bill(
            Terms {
                work_type: WorkType::OneOff,
                ..t
            },
            Usage {
                regular_minutes: 90,
                urgent_minutes: 0,
            },
        );
        assert_eq!((one_off.regular_amount, one_off.balance_minutes), (9000, None));
        let urgent = bill(
            Terms {
                work_type: WorkType::Urgent,
                ..t
            },
            Usage {
                regular_minutes: 30,
                urgent_minutes: 0,
            },
        );
        assert_eq!((urgent.urgent_minutes, urgent.total_amount), (30, 6000));
        assert!(past_warning(480, 600) && !past_warning(479, 600) && !past_warning(10, 0));
        assert_eq!((hm(90), money(1250)), ("1 h 30 min".to_string(), "12.50".to_string()));
    }
}
