//! Business-hours calendars for SLA clocks: a week of opening periods in an
//! IANA time zone (so DST moves the UTC hours with the wall clock), plus
//! closed days. Replaces [`BusinessHours`] (one period a day, fixed offset).
//!
//! All instants are Unix milliseconds (UTC). Periods are local wall-clock
//! times: one that starts in a DST gap starts at the first instant after the
//! gap; an ambiguous local time (clocks going back) is its earlier instant.

use std::collections::BTreeMap;
use std::ops::ControlFlow::{self, Break, Continue};

use chrono::{DateTime, Datelike, FixedOffset, LocalResult, NaiveDate, NaiveTime, Offset, TimeDelta, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::hours::BusinessHours;
use super::Invalid;

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MAX_PERIODS: usize = 8;
const MAX_HOLIDAYS: usize = 400;
/// How many calendar days a search looks ahead (about three years) before
/// it gives up, so a calendar that never opens cannot hang an SLA consumer.
const HORIZON_DAYS: u32 = 1100;
/// Instants are clamped to years 1..=9999 so date arithmetic cannot overflow.
const MIN_MS: i64 = -62_135_596_800_000;
const MAX_MS: i64 = 253_402_300_799_999;
const DAY_MS: i64 = 86_400_000;
/// `NaiveDate::num_days_from_ce` of 1970-01-01.
const EPOCH_DAYS_CE: i64 = 719_163;

/// What [`Calendar::add_business`] returns when the time does not run out
/// within about three years: "never due".
pub const NEVER: i64 = i64::MAX;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calendar {
    /// IANA time zone such as "Europe/Kyiv", or a fixed offset such as
    /// "UTC+02:00" (what converted [`BusinessHours`] use).
    #[serde(default = "utc_name")]
    pub time_zone: String,
    /// Day (`mon`..`sun`) → periods like `["09:00-13:00", "14:00-18:00"]`;
    /// a missing day, or one with no periods, is closed. An empty week is
    /// open around the clock (holidays still close it).
    #[serde(default)]
    pub week: BTreeMap<String, Vec<String>>,
    /// Closed days, `YYYY-MM-DD` in the calendar's zone.
    #[serde(default)]
    pub holidays: Vec<String>,
}

fn utc_name() -> String {
    "UTC".into()
}

impl Default for Calendar {
    fn default() -> Self {
        Self::always()
    }
}

impl Calendar {
    /// Open around the clock, in UTC.
    pub fn always() -> Self {
        Self {
            time_zone: utc_name(),
            week: BTreeMap::new(),
            holidays: Vec::new(),
        }
    }

    /// The same hours as the older fixed-offset [`BusinessHours`].
    pub fn from_hours(hours: &BusinessHours) -> Self {
        let m = hours.utc_offset_minutes;
        let time_zone = if m == 0 {
            utc_name()
        } else {
            let sign = if m < 0 { '-' } else { '+' };
            format!("UTC{sign}{:02}:{:02}", m.unsigned_abs() / 60, m.unsigned_abs() % 60)
        };
        // Written back in the canonical form; what does not parse is kept for validate to name.
        let week = (hours.week.iter())
            .map(|(day, range)| {
                let range = parse_period(range).map_or_else(|_| range.clone(), |(a, b)| format!("{}-{}", hm(a), hm(b)));
                (day.clone(), vec![range])
            })
            .collect();
        Self {
            time_zone,
            week,
            ..Self::always()
        }
    }

    /// Checks every field; the cost is bounded by the limits, not the input.
    pub fn validate(&self) -> Result<(), Invalid> {
        let bad = |field, message: String| Err(Invalid::new(field, message));
        if Zone::parse(&self.time_zone).is_none() {
            let zone = quote(&self.time_zone);
            return bad(
                "time_zone",
                format!("{zone} is not a time zone like Europe/Kyiv or UTC+02:00"),
            );
        }
        for (day, periods) in &self.week {
            if day_index(day).is_none() {
                return bad(
                    "week",
                    format!("{} is not one of mon, tue, wed, thu, fri, sat, sun", quote(day)),
                );
            }
            if periods.len() > MAX_PERIODS {
                return bad(
                    "week",
                    format!("{day} has {} periods; the limit is {MAX_PERIODS}", periods.len()),
                );
            }
            let mut parsed = [(0u16, 0u16); MAX_PERIODS];
            for (slot, p) in parsed.iter_mut().zip(periods) {
                *slot = parse_period(p).map_err(|why| Invalid::new("week", format!("{} for {day} {why}", quote(p))))?;
            }
            let parsed = &mut parsed[..periods.len()];
            parsed.sort_unstable();
            if let Some(&[(a, b), (c, d)]) = parsed.windows(2).find(|w| w[1].0 < w[0].1) {
                return bad(
                    "week",
                    format!("{day}: {}-{} overlaps {}-{}", hm(a), hm(b), hm(c), hm(d)),
                );
            }
        }
        if self.holidays.len() > MAX_HOLIDAYS {
            return bad(
                "holidays",
                format!("has {} days; the limit is {MAX_HOLIDAYS}", self.holidays.len()),
            );
        }
        match self.holidays.iter().find(|h| parse_date(h).is_none()) {
            Some(h) => bad("holidays", format!("{} is not a date like 2026-12-31", quote(h))),
            None => Ok(()),
        }
    }

    /// Parses the calendar once, for callers that compute many instants with
    /// it. Parts that do not validate are skipped (an unknown zone is UTC).
    pub fn schedule(&self) -> Schedule {
        Schedule::new(self)
    }

    /// Whether the calendar is open at `at_ms`.
    pub fn is_open(&self, at_ms: i64) -> bool {
        self.schedule().is_open(at_ms)
    }

    /// See [`Schedule::add_business`].
    pub fn add_business(&self, start_ms: i64, duration_ms: i64) -> i64 {
        self.schedule().add_business(start_ms, duration_ms)
    }

    /// See [`Schedule::business_between`].
    pub fn business_between(&self, from_ms: i64, to_ms: i64) -> i64 {
        self.schedule().business_between(from_ms, to_ms)
    }

    /// See [`Schedule::next_opening`].
    pub fn next_opening(&self, at_ms: i64) -> Option<i64> {
        self.schedule().next_opening(at_ms)
    }
}

/// A parsed [`Calendar`]: fixed-size arrays, no allocation, about 2 KB.
#[derive(Debug, Clone)]
pub struct Schedule {
    zone: Zone,
    /// Local minutes of the day, per weekday (Monday first), sorted by start.
    periods: [[(u16, u16); MAX_PERIODS]; 7],
    counts: [u8; 7],
    /// Closed days as `num_days_from_ce`, sorted.
    holidays: [i32; MAX_HOLIDAYS],
    holiday_count: usize,
    /// Open at every instant: plain arithmetic, no walking.
    always: bool,
}

impl Schedule {
    fn new(cal: &Calendar) -> Self {
        let mut s = Schedule {
            zone: Zone::parse(&cal.time_zone).unwrap_or(Zone::Iana(Tz::UTC)),
            periods: [[(0, 0); MAX_PERIODS]; 7],
            counts: [0; 7],
            holidays: [0; MAX_HOLIDAYS],
            holiday_count: 0,
            always: false,
        };
        if cal.week.is_empty() {
            s.periods = [[(0, 1440); MAX_PERIODS]; 7];
            s.counts = [1; 7];
        }
        for (day, periods) in &cal.week {
            let Some(d) = day_index(day) else { continue };
            let p = &mut s.periods[d];
            let mut n = 0;
            for r in periods.iter().filter_map(|r| parse_period(r).ok()).take(MAX_PERIODS) {
                p[n] = r;
                n += 1;
            }
            // Sorted; `walk` never counts time twice even if an unvalidated day overlaps.
            p[..n].sort_unstable();
            s.counts[d] = n as u8;
        }
        for date in cal.holidays.iter().filter_map(|h| parse_date(h)).take(MAX_HOLIDAYS) {
            s.holidays[s.holiday_count] = date.num_days_from_ce();
            s.holiday_count += 1;
        }
        s.holidays[..s.holiday_count].sort_unstable();
        s.always = cal.week.is_empty() && s.holiday_count == 0;
        s
    }

    pub fn is_open(&self, at_ms: i64) -> bool {
        // The day before, the day and the day after cover every DST oddity.
        self.always || self.walk(at_ms, 3, |lo, _| Break(lo == at_ms)) == Some(true)
    }

    /// The earliest instant `t >= start_ms` with `business_between(start_ms, t)
    /// >= duration_ms`: counting starts at the next opening, and a zero or
    /// negative duration gives `start_ms`. [`NEVER`] if the time does not run
    /// out within about three years of `start_ms`.
    pub fn add_business(&self, start_ms: i64, duration_ms: i64) -> i64 {
        if duration_ms <= 0 {
            return start_ms;
        }
        if self.always {
            return start_ms.saturating_add(duration_ms);
        }
        let mut left = duration_ms;
        let found = self.walk(start_ms, HORIZON_DAYS, |lo, hi| {
            if hi - lo >= left {
                return Break(lo + left);
            }
            left -= hi - lo;
            Continue(())
        });
        found.unwrap_or(NEVER)
    }

    /// Open milliseconds in `[from_ms, to_ms)`; 0 if `to_ms <= from_ms`. Only
    /// about three years after `from_ms` are counted (O(days)).
    pub fn business_between(&self, from_ms: i64, to_ms: i64) -> i64 {
        if to_ms <= from_ms {
            return 0;
        }
        if self.always {
            return to_ms.saturating_sub(from_ms);
        }
        let mut sum = 0;
        self.walk(from_ms, HORIZON_DAYS, |lo, hi| {
            if lo >= to_ms {
                return Break(());
            }
            sum += hi.min(to_ms) - lo;
            Continue(())
        });
        sum
    }

    /// `at_ms` if open, else the start of the next open period; `None` if
    /// there is none within about three years.
    pub fn next_opening(&self, at_ms: i64) -> Option<i64> {
        if self.always {
            return Some(at_ms);
        }
        self.walk(at_ms, HORIZON_DAYS, |lo, _| Break(lo))
    }

    fn is_holiday(&self, day: NaiveDate) -> bool {
        self.holidays[..self.holiday_count]
            .binary_search(&day.num_days_from_ce())
            .is_ok()
    }

    /// Calls `f(lo, hi)` with each open interval after `from` in order, cut to
    /// start at `from`, for `days` local days from the day before `from`'s.
    fn walk<T>(&self, from: i64, days: u32, mut f: impl FnMut(i64, i64) -> ControlFlow<T>) -> Option<T> {
        let mut cursor = from.clamp(MIN_MS, MAX_MS);
        let mut day = self.zone.local_date(cursor).pred_opt()?;
        for _ in 0..days {
            let wd = day.weekday().num_days_from_monday() as usize;
            let n = self.counts[wd] as usize;
            if n > 0 && !self.is_holiday(day) {
                for &(a, b) in &self.periods[wd][..n] {
                    let end = self.zone.to_utc(day, b);
                    if end <= cursor {
                        continue;
                    }
                    let start = self.zone.to_utc(day, a).max(cursor);
                    if start >= end {
                        continue; // the whole period fell in a DST gap
                    }
                    if let Break(x) = f(start, end) {
                        return Some(x);
                    }
                    cursor = end;
                }
            }
            day = day.succ_opt()?;
        }
        None
    }
}

/// Days and hours as the wall clock of a zone reads them: reports count
/// by the workspace's own days, so a ticket at 23:30 local time belongs to
/// that day wherever the server is.
#[derive(Debug, Clone, Copy)]
pub struct LocalDays(Zone);

impl LocalDays {
    /// The zone of a calendar (UTC when it does not parse).
    pub fn new(time_zone: &str) -> Self {
        Self(Zone::parse(time_zone).unwrap_or(Zone::Iana(Tz::UTC)))
    }

    /// Days since 1970-01-01 of the local date at `ms`.
    pub fn day(&self, ms: i64) -> i64 {
        self.0.local_date(ms.clamp(MIN_MS, MAX_MS)).num_days_from_ce() as i64 - EPOCH_DAYS_CE
    }

    /// Weekday (Monday 0) and hour of the local time at `ms`.
    pub fn weekday_hour(&self, ms: i64) -> (u8, u8) {
        let ms = ms.clamp(MIN_MS, MAX_MS);
        let local = DateTime::from_timestamp_millis(ms + self.0.offset_ms(ms)).unwrap_or_default();
        (
            local.weekday().num_days_from_monday() as u8,
            chrono::Timelike::hour(&local) as u8,
        )
    }

    /// When local day `day` starts.
    pub fn start(&self, day: i64) -> i64 {
        self.0.to_utc(date_of_day(day), 0)
    }
}

/// The date of a day number (days since 1970-01-01).
pub fn date_of_day(day: i64) -> NaiveDate {
    let ce = (day + EPOCH_DAYS_CE).clamp(1, 3_000_000) as i32;
    NaiveDate::from_num_days_from_ce_opt(ce).unwrap_or_default()
}

/// The day number of a date.
pub fn day_of_date(date: NaiveDate) -> i64 {
    date.num_days_from_ce() as i64 - EPOCH_DAYS_CE
}

#[derive(Debug, Clone, Copy)]
enum Zone {
    Iana(Tz),
    Fixed(FixedOffset),
}

impl Zone {
    /// An IANA name, "UTC", or "UTC+HH:MM" / "UTC-HH:MM" up to 14 hours.
    fn parse(s: &str) -> Option<Zone> {
        if s.len() > 64 {
            return None; // no zone name is this long; keeps hashing bounded
        }
        if let Some(rest) = s.strip_prefix("UTC").filter(|r| r.starts_with(['+', '-'])) {
            let minutes = parse_hm(&rest[1..]).filter(|&m| m <= 14 * 60)? as i32;
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            return FixedOffset::east_opt(sign * minutes * 60).map(Zone::Fixed);
        }
        s.parse::<Tz>().ok().map(Zone::Iana)
    }

    /// Local minus UTC at the instant `ms`, in milliseconds.
    fn offset_ms(self, ms: i64) -> i64 {
        let secs = match self {
            Zone::Fixed(o) => o.local_minus_utc(),
            Zone::Iana(tz) => {
                let utc = DateTime::from_timestamp_millis(ms).unwrap_or_default().naive_utc();
                tz.offset_from_utc_datetime(&utc).fix().local_minus_utc()
            }
        };
        secs as i64 * 1000
    }

    fn local_date(self, ms: i64) -> NaiveDate {
        let local = ms + self.offset_ms(ms);
        DateTime::from_timestamp_millis(local).unwrap_or_default().date_naive()
    }

    /// The first instant at which the wall clock reads `minute` (0..=1440)
    /// of `date` or later.
    fn to_utc(self, date: NaiveDate, minute: u16) -> i64 {
        let wall = (date.num_days_from_ce() as i64 - EPOCH_DAYS_CE) * DAY_MS + minute as i64 * 60_000;
        let tz = match self {
            Zone::Fixed(o) => return wall - o.local_minus_utc() as i64 * 1000,
            Zone::Iana(tz) => tz,
        };
        let naive = date.and_time(NaiveTime::MIN) + TimeDelta::minutes(minute as i64);
        match tz.from_local_datetime(&naive) {
            LocalResult::Single(t) => t.timestamp_millis(),
            LocalResult::Ambiguous(a, b) => a.timestamp_millis().min(b.timestamp_millis()),
            LocalResult::None => {
                // In a gap: search for the transition, where the clock jumps past `wall`.
                // Offsets lie within ±14 h, so the clock reads less than `wall`
                // 26 h before and more 26 h after.
                let (mut lo, mut hi) = (wall - 26 * 3_600_000, wall + 26 * 3_600_000);
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2;
                    if mid + self.offset_ms(mid) >= wall {
                        hi = mid;
                    } else {
                        lo = mid;
                    }
                }
                hi
            }
        }
    }
}

fn day_index(day: &str) -> Option<usize> {
    DAYS.iter().position(|d| *d == day)
}

/// "HH:MM" (hour of one or two digits) → minutes of the day, up to 24:00.
fn parse_hm(s: &str) -> Option<u16> {
    let (h, m) = s.trim().split_once(':')?;
    let digits = |s: &str, n: std::ops::RangeInclusive<usize>| {
        let ok = n.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| s.parse::<u16>().ok()).flatten()
    };
    let (h, m) = (digits(h, 1..=2)?, digits(m, 2..=2)?);
    (m < 60 && h * 60 + m <= 1440).then_some(h * 60 + m)
}

fn parse_period(s: &str) -> Result<(u16, u16), &'static str> {
    let parsed = (s.len() <= 20).then(|| s.split_once('-')).flatten();
    match parsed.and_then(|(a, b)| Some((parse_hm(a)?, parse_hm(b)?))) {
        None => Err("is not like 09:00-18:00"),
        Some((a, b)) if a >= b => Err("does not start before it ends"),
        Some(r) => Ok(r),
    }
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if !(b.len() == 10 && b[4] == b'-' && b[7] == b'-') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).filter(|d| d.bytes().all(|c| c.is_ascii_digit()))?.parse().ok();
    NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)
}

fn hm(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// The value for a message: quoted, escaped, at most 60 characters.
fn quote(s: &str) -> String {
    let cut: String = s.chars().take(60).collect();
    let more = if cut.len() < s.len() { "…" } else { "" };
    format!("{cut:?}{more}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    /// "2026-11-30T08:00", read as UTC.
    fn utc(s: &str) -> i64 {
        let t = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").unwrap();
        t.and_utc().timestamp_millis()
    }

    fn show(ms: i64) -> String {
        let t = DateTime::from_timestamp_millis(ms).unwrap();
        t.format("%Y-%m-%dT%H:%M").to_string()
    }

    fn add(c: &Calendar, start: &str, ms: i64) -> String {
        show(c.add_business(utc(start), ms))
    }

    fn next(c: &Calendar, at: &str) -> String {
        c.next_opening(utc(at)).map(show).unwrap_or_default()
    }

    /// Business hours from 00:00 UTC of `day` for `days` days.
    fn hours(c: &Calendar, day: &str, days: i64) -> f64 {
        let from = utc(&format!("{day}T00:00"));
        c.business_between(from, from + days * DAY_MS) as f64 / H as f64
    }

    fn cal(zone: &str, days: &[(&str, &[&str])], holidays: &[&str]) -> Calendar {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let week = days.iter().map(|(d, p)| (d.to_string(), strings(p))).collect();
        let mut c = Calendar::always();
        (c.time_zone, c.week, c.holidays) = (zone.into(), week, strings(holidays));
        c.validate().unwrap();
        c
    }

    /// Mon–Fri 09:00–13:00 and 14:00–18:00 in Kyiv (UTC+2 in winter).
    fn kyiv(holidays: &[&str]) -> Calendar {
        let p: &[&str] = &["14:00-18:00", "09:00-13:00"];
        cal(
            "Europe/Kyiv",
            &["mon", "tue", "wed", "thu", "fri"].map(|d| (d, p)),
            holidays,
        )
    }

    trait Tap: Sized {
        fn tap(mut self, f: impl FnOnce(&mut Self)) -> Self {
            f(&mut self);
            self
        }
    }
    impl Tap for BusinessHours {}

    #[test]
    fn always_open_is_plain_arithmetic() {
        let (c, t) = (Calendar::always(), utc("2026-11-30T03:17"));
        assert_eq!(c.add_business(t, 5 * H + 7), t + 5 * H + 7);
        assert_eq!(c.business_between(t, t + 49 * H), 49 * H);
        assert_eq!(c.business_between(t, t - 1), 0);
        assert!(c.is_open(t) && c.next_opening(t) == Some(t));
        assert_eq!(c.add_business(i64::MAX - 5, 10), NEVER);
    }

    #[test]
    fn several_periods_a_day_weekends_and_holidays() {
        let c = kyiv(&[]);
        // 2026-11-30 is a Monday; 10:00 in Kyiv is 08:00Z. 10–13 and 14–16 make 5 hours.
        assert_eq!(add(&c, "2026-11-30T08:00", 5 * H), "2026-11-30T14:00");
        // Mon 17:00 + 2 h: 17–18, then Tue 09–10 local.
        assert_eq!(add(&c, "2026-11-30T15:00", 2 * H), "2026-12-01T08:00");
        // A start at lunch or at night counts from the next opening.
        assert_eq!(add(&c, "2026-11-30T11:30", H), "2026-11-30T13:00");
        assert_eq!(add(&c, "2026-11-30T22:00", H), "2026-12-01T08:00");
        // Just the time left in a period ends at its close, not at the next opening.
        assert_eq!(add(&c, "2026-11-30T07:00", 4 * H), "2026-11-30T11:00");
        // Fri 2026-12-04 17:00 + 3 h ends Mon 11:00, or Tue 11:00 when Monday is a holiday.
        assert_eq!(add(&c, "2026-12-04T15:00", 3 * H), "2026-12-07T09:00");
        let c = kyiv(&["2026-12-07"]);
        assert_eq!(add(&c, "2026-12-04T15:00", 3 * H), "2026-12-08T09:00");
        assert_eq!(hours(&c, "2026-12-07", 7), 32.0);
        assert_eq!(hours(&kyiv(&[]), "2026-11-30", 7), 40.0);
    }

    #[test]
    fn next_opening_and_is_open_across_a_holiday() {
        let c = kyiv(&["2026-12-07"]);
        // Mon 2026-12-07 10:00 local is a holiday.
        assert!(!c.is_open(utc("2026-12-07T08:00")) && kyiv(&[]).is_open(utc("2026-12-07T08:00")));
        assert_eq!(next(&c, "2026-12-07T08:00"), "2026-12-08T07:00");
        assert_eq!(next(&c, "2026-12-08T07:30"), "2026-12-08T07:30");
        assert_eq!(next(&c, "2026-12-08T11:00"), "2026-12-08T12:00");
        assert!(c.is_open(utc("2026-12-08T07:00")) && !c.is_open(utc("2026-12-08T16:00")));
    }

    #[test]
    fn kyiv_dst() {
        // Kyiv is UTC+2 in winter and UTC+3 in summer; clocks go 03:00→04:00 on Sun
        // 2026-03-29 and 04:00→03:00 on Sun 2026-10-25, both at 01:00Z.
        let p: &[&str] = &["09:00-18:00"];
        let c = cal("Europe/Kyiv", &[("sat", p), ("sun", p), ("mon", p)], &[]);
        // Sat 17:00 (+2) = 15:00Z: 1 h on Saturday, then Sun 09:00 (+3) = 06:00Z plus 1 h.
        assert_eq!(add(&c, "2026-03-28T15:00", 2 * H), "2026-03-29T07:00");
        assert_eq!(hours(&c, "2026-03-28", 2), 18.0);
        // Mondays are 9 real hours both sides of the change, at 06:00Z in summer, 07:00Z in winter.
        assert_eq!(next(&c, "2026-10-19T00:00"), "2026-10-19T06:00");
        assert_eq!(next(&c, "2026-10-26T00:00"), "2026-10-26T07:00");
        assert!(c.is_open(utc("2026-10-19T06:30")) && !c.is_open(utc("2026-10-26T06:30")));
        // A period across the change counts real hours: Sun 00:00-06:00 is 22:00Z-03:00Z
        // (5 h) in March and 21:00Z-04:00Z (7 h) in October.
        let night = cal("Europe/Kyiv", &[("sun", &["00:00-06:00"])], &[]);
        assert_eq!(hours(&night, "2026-03-28", 2), 5.0);
        assert_eq!(hours(&night, "2026-10-24", 2), 7.0);
        assert_eq!(add(&night, "2026-03-28T12:00", 4 * H), "2026-03-29T02:00");
        // 03:30 does not exist on 03-29: the period opens at 04:00 (+3) = 01:00Z, closes 05:00
        // = 02:00Z. On 10-25 03:30 comes twice, first at 00:30Z (+3); 05:00 (+2) = 03:00Z.
        let gap = cal("Europe/Kyiv", &[("sun", &["03:30-05:00"])], &[]);
        assert_eq!(next(&gap, "2026-03-28T00:00"), "2026-03-29T01:00");
        assert_eq!(next(&gap, "2026-10-24T00:00"), "2026-10-25T00:30");
        assert_eq!((hours(&gap, "2026-03-28", 2), hours(&gap, "2026-10-24", 2)), (1.0, 2.5));
        // A period wholly inside the gap does not open that day.
        let lost = cal("Europe/Kyiv", &[("sun", &["03:10-03:50"])], &[]);
        assert_eq!(hours(&lost, "2026-03-28", 2), 0.0);
        assert_eq!(next(&lost, "2026-03-28T00:00"), "2026-04-05T00:10");
    }

    #[test]
    fn new_york_dst() {
        // EST is UTC-5, EDT UTC-4; clocks go 02:00→03:00 on Sun 2026-03-08 (07:00Z) and
        // 02:00→01:00 on Sun 2026-11-01 (06:00Z).
        let p: &[&str] = &["09:00-17:00"];
        let c = cal(
            "America/New_York",
            &[("sun", &["00:00-06:00"]), ("fri", p), ("mon", p)],
            &[],
        );
        // Sun 00:00 EST = 05:00Z to 06:00 EDT = 10:00Z is 5 h; 00:00 EDT = 04:00Z to
        // 06:00 EST = 11:00Z is 7 h.
        assert_eq!((hours(&c, "2026-03-08", 1), hours(&c, "2026-11-01", 1)), (5.0, 7.0));
        // Fri 16:00 EST = 21:00Z + 3 h: 1 h on Friday, then from Sun 05:00Z 2 h, to 07:00Z.
        assert_eq!(add(&c, "2026-03-06T21:00", 3 * H), "2026-03-08T07:00");
        // Mondays open at 14:00Z in winter and 13:00Z in summer.
        assert_eq!(next(&c, "2026-03-02T10:00"), "2026-03-02T14:00");
        assert_eq!(next(&c, "2026-03-08T12:00"), "2026-03-09T13:00");
        assert_eq!(next(&c, "2026-11-01T12:00"), "2026-11-02T14:00");
    }

    #[test]
    fn business_between_inverts_add_business() {
        let new_york = cal("America/New_York", &[], &["2026-07-04"]);
        let cals = [kyiv(&["2026-12-25", "2026-03-30"]), new_york];
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..200 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let start = utc("2026-01-01T00:00") + (x % (400 * DAY_MS as u64)) as i64;
            let d = ((x >> 20) % (120 * H as u64)) as i64 + 1;
            for c in &cals {
                let end = c.add_business(start, d);
                assert_eq!(c.business_between(start, end), d, "{start} + {d}");
                assert!(
                    c.business_between(start, end - 1) < d,
                    "{start} + {d}: not the earliest"
                );
            }
        }
    }

    #[test]
    fn from_business_hours_keeps_the_fixed_offset() {
        let week = BTreeMap::from([("mon".to_string(), "9:00-18:00".to_string())]);
        let old = BusinessHours {
            week,
            ..Default::default()
        }
        .tap(|h| h.utc_offset_minutes = 120);
        let c = Calendar::from_hours(&old);
        assert_eq!(
            (c.time_zone.as_str(), c.week["mon"].join(",")),
            ("UTC+02:00", "09:00-18:00".into())
        );
        c.validate().unwrap();
        for m in (0..7 * 24 * 60).step_by(15) {
            let at = utc("2026-11-30T00:00") + m * 60_000;
            assert_eq!(c.is_open(at), old.is_open(at), "{m}");
        }
        assert_eq!(Calendar::from_hours(&BusinessHours::default()), Calendar::always());
        let west = Calendar::from_hours(&old.tap(|h| h.utc_offset_minutes = -330));
        assert_eq!(west.time_zone, "UTC-05:30");
        assert_eq!(next(&west, "2026-11-30T00:00"), "2026-11-30T14:30");
    }

    #[test]
    fn rejects_bad_input_naming_the_field() {
        let err = |f: &dyn Fn(&mut Calendar)| {
            let mut c = kyiv(&[]);
            f(&mut c);
            c.validate().unwrap_err()
        };
        let e = err(&|c| c.time_zone = "Mars/Olympus".into());
        assert!(e.field == "time_zone" && e.message.contains("\"Mars/Olympus\""), "{e}");
        assert!(err(&|c| c.time_zone = "X".repeat(100_000)).message.len() < 150);
        for tz in ["UTC+15:00", "UTC+02:60", "utc", ""] {
            assert_eq!(err(&|c| c.time_zone = tz.into()).field, "time_zone", "{tz}");
        }
        for (day, periods, needle) in [
            ("funday", vec!["09:00-10:00"], "funday"),
            ("mon", vec!["9-18"], "9-18"),
            ("mon", vec!["18:00-09:00"], "18:00-09:00"),
            ("mon", vec!["24:00-24:00"], "24:00-24:00"),
            ("mon", vec!["09:00-25:00"], "09:00-25:00"),
            ("mon", vec!["09:00-13:00", "12:00-14:00"], "overlaps"),
            ("mon", vec!["00:00-00:01"; 9], "limit is 8"),
        ] {
            let periods: Vec<String> = periods.iter().map(|s| s.to_string()).collect();
            let e = err(&|c| _ = c.week.insert(day.into(), periods.clone()));
            assert_eq!(e.field, "week");
            assert!(e.message.contains(needle) && e.message.contains(day), "{e}");
        }
        let e = err(&|c| c.holidays = vec!["2026-02-30".into()]);
        assert!(e.field == "holidays" && e.message.contains("2026-02-30"), "{e}");
        let e = err(&|c| c.holidays = vec!["2026-01-01".into(); 401]);
        assert!(e.field == "holidays" && e.message.contains("400"), "{e}");
        let ok = cal(
            "UTC-03:00",
            &[("mon", &["00:00-12:00", "12:00-24:00"])],
            &["2026-01-01"],
        );
        assert!(ok.is_open(utc("2026-11-30T03:00")) && !ok.is_open(utc("2026-11-30T02:59")));
    }

    #[test]
    fn unvalidated_overlaps_count_once() {
        let mut c = Calendar::always();
        c.week.insert(
            "mon".into(),
            vec!["09:00-13:00".into(), "10:00-11:00".into(), "12:00-14:00".into()],
        );
        assert_eq!(hours(&c, "2026-11-30", 7), 5.0);
        assert_eq!(add(&c, "2026-11-30T12:30", H), "2026-11-30T13:30");
    }

    #[test]
    fn serde_round_trip_defaults_and_unknown_fields() {
        let c = kyiv(&["2026-12-25"]);
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Calendar>(&json).unwrap(), c);
        let fixed = Calendar::from_hours(&BusinessHours::default().tap(|h| h.utc_offset_minutes = 120));
        let json = serde_json::to_string(&fixed).unwrap();
        assert!(json.contains("\"UTC+02:00\""), "{json}");
        assert_eq!(serde_json::from_str::<Calendar>(&json).unwrap(), fixed);
        assert_eq!(serde_json::from_str::<Calendar>("{}").unwrap(), Calendar::always());
        assert!(serde_json::from_str::<Calendar>(r#"{"timezone":"UTC"}"#).is_err());
    }

    #[test]
    fn a_calendar_that_never_opens_gives_up() {
        let never = cal("Europe/Kyiv", &[("mon", &[]), ("fri", &[])], &[]);
        let t = utc("2026-11-30T08:00");
        assert_eq!((never.add_business(t, H), never.next_opening(t)), (NEVER, None));
        assert!(!never.is_open(t) && never.business_between(t, i64::MAX) == 0);
        assert_eq!(kyiv(&[]).add_business(t, 10_000 * H), NEVER, "past the horizon");
        // Only Sunday, an hour: 2 h from a Monday end on the second Sunday.
        let sunday = cal("UTC", &[("sun", &["10:00-11:00"])], &[]);
        assert_eq!(add(&sunday, "2026-11-30T08:00", 2 * H), "2026-12-13T11:00");
        let all = sunday.business_between(i64::MIN, i64::MAX) / H;
        assert!((150..=160).contains(&all), "year 1 plus three years of Sundays: {all}");
    }
}
