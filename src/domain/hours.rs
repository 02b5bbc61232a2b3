//! Business hours: when the team answers. A week of opening times in the
//! store's fixed UTC offset; an empty week means always open.

use chrono::{Datelike, Timelike};
use serde::{Deserialize, Serialize};

use super::Invalid;

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    /// Minutes east of UTC, e.g. 120 for Kyiv in winter.
    #[serde(default)]
    pub utc_offset_minutes: i32,
    /// Day (`mon`..`sun`) → `"09:00-18:00"`; a missing day is closed.
    #[serde(default)]
    pub week: std::collections::BTreeMap<String, String>,
}

fn parse_hm(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
}

fn parse_range(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once('-')?;
    let (a, b) = (parse_hm(a)?, parse_hm(b)?);
    (a < b).then_some((a, b))
}

impl BusinessHours {
    pub fn validate(&self) -> Result<(), Invalid> {
        if !(-14 * 60..=14 * 60).contains(&self.utc_offset_minutes) {
            return Err(Invalid::new("hours.utc_offset_minutes", "must be between -840 and 840"));
        }
        for (day, range) in &self.week {
            if !DAYS.contains(&day.as_str()) {
                return Err(Invalid::new(
                    "hours.week",
                    format!("'{day}' is not one of mon, tue, wed, thu, fri, sat, sun"),
                ));
            }
            if parse_range(range).is_none() {
                return Err(Invalid::new(
                    "hours.week",
                    format!("'{range}' for {day} is not like 09:00-18:00"),
                ));
            }
        }
        Ok(())
    }

    /// Whether the team works at `now_ms` (Unix milliseconds).
    pub fn is_open(&self, now_ms: i64) -> bool {
        if self.week.is_empty() {
            return true;
        }
        let local =
            chrono::DateTime::<chrono::Utc>::from_timestamp_millis(now_ms + self.utc_offset_minutes as i64 * 60_000)
                .unwrap_or_default();
        let day = DAYS[local.weekday().num_days_from_monday() as usize];
        let minute = local.hour() * 60 + local.minute();
        self.week
            .get(day)
            .and_then(|r| parse_range(r))
            .is_some_and(|(a, b)| minute >= a && minute < b)
    }

    /// A short summary such as "Mon–Fri 09:00–18:00, Sat 10:00–14:00 (UTC+02:00)":
    /// runs of days with the same hours are joined.
    pub fn summary(&self) -> String {
        if self.week.is_empty() {
            return String::new();
        }
        const NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        let mut parts: Vec<String> = Vec::new();
        let mut i = 0;
        while i < 7 {
            let Some(range) = self.week.get(DAYS[i]) else {
                i += 1;
                continue;
            };
            let mut j = i;
            while j + 1 < 7 && self.week.get(DAYS[j + 1]) == Some(range) {
                j += 1;
            }
            let days = if i == j {
                NAMES[i].to_string()
            } else {
                format!("{}–{}", NAMES[i], NAMES[j])
            };
            parts.push(format!("{days} {}", range.replace('-', "–")));
            i = j + 1;
        }
        let o = self.utc_offset_minutes;
        format!(
            "{} (UTC{}{:02}:{:02})",
            parts.join(", "),
            if o < 0 { '-' } else { '+' },
            o.abs() / 60,
            o.abs() % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours() -> BusinessHours {
        let mut week = std::collections::BTreeMap::new();
        week.insert("mon".into(), "09:00-18:00".into());
        BusinessHours {
            utc_offset_minutes: 120,
            week,
        }
    }

    #[test]
    fn open_only_in_hours_in_local_time() {
        // 2026-11-30 is a Monday.
        let at = |h: i64, m: i64| {
            chrono::NaiveDate::from_ymd_opt(2026, 11, 30)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc()
                .timestamp_millis()
                + (h * 60 + m) * 60_000
        };
        let h = hours();
        assert!(!h.is_open(at(6, 59)), "08:59 local");
        assert!(h.is_open(at(7, 0)), "09:00 local");
        assert!(h.is_open(at(15, 59)));
        assert!(!h.is_open(at(16, 0)), "18:00 local");
        assert!(!h.is_open(at(24 + 8, 0)), "tuesday is closed");
        assert!(BusinessHours::default().is_open(at(3, 0)));
        assert_eq!(h.summary(), "Mon 09:00–18:00 (UTC+02:00)");
        let mut week = h.week.clone();
        for d in ["tue", "wed", "thu", "fri"] {
            week.insert(d.into(), "09:00-18:00".into());
        }
        week.insert("sat".into(), "10:00-14:00".into());
        assert_eq!(
            BusinessHours {
                utc_offset_minutes: -300,
                week
            }
            .summary(),
            "Mon–Fri 09:00–18:00, Sat 10:00–14:00 (UTC-05:00)"
        );
    }

    #[test]
    fn rejects_bad_hours() {
        let mut h = hours();
        h.week.insert("mon".into(), "18:00-09:00".into());
        assert!(h.validate().is_err());
        let mut h = hours();
        h.week.insert("funday".into(), "09:00-10:00".into());
        assert!(h.validate().is_err());
        assert!(hours().validate().is_ok());
    }
}
