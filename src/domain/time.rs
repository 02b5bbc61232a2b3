//! Times are stored as Unix milliseconds and shown as RFC 3339 in UTC.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serializer;

pub fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// An RFC 3339 time (any offset) as Unix milliseconds.
pub fn parse(field: &'static str, raw: &str) -> Result<i64, super::Invalid> {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| t.timestamp_millis())
        .map_err(|_| super::Invalid::new(field, "must be a time like 2026-01-31T09:00:00Z"))
}

/// A moment as a person in `zone` reads it ("2026-12-01 09:00"), and the
/// zone's name as shown ("Europe/Kyiv"; "UTC" for a zone not known).
pub fn local(ms: i64, zone: &str) -> (String, String) {
    let at = DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
    match zone.parse::<chrono_tz::Tz>() {
        Ok(tz) => (
            at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
            tz.name().to_string(),
        ),
        Err(_) => match zone.strip_prefix("UTC").and_then(offset_of) {
            Some(off) => (
                at.with_timezone(&off).format("%Y-%m-%d %H:%M").to_string(),
                zone.to_string(),
            ),
            None => (at.format("%Y-%m-%d %H:%M").to_string(), "UTC".to_string()),
        },
    }
}

/// "+02:00" as an offset.
fn offset_of(s: &str) -> Option<chrono::FixedOffset> {
    let sign = match s.chars().next()? {
        '+' => 1,
        '-' => -1,
        _ => return None,
    };
    let (h, m) = s[1..].split_once(':')?;
    chrono::FixedOffset::east_opt(sign * (h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60))
}

pub fn ser<S: Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*ms))
}

pub fn ser_opt<S: Serializer>(ms: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => s.serialize_str(&rfc3339(*ms)),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_utc_millis() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(super::rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }

    #[test]
    fn local_times_in_a_zone() {
        let at = 1_700_000_000_123; // 2023-11-14T22:13:20Z
        assert_eq!(
            super::local(at, "Europe/Kyiv"),
            ("2023-11-15 00:13".into(), "Europe/Kyiv".into())
        );
        assert_eq!(
            super::local(at, "UTC-05:00"),
            ("2023-11-14 17:13".into(), "UTC-05:00".into())
        );
        assert_eq!(super::local(at, "Nowhere/Else").1, "UTC");
    }
}
