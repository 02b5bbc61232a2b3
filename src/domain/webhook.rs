//! Outbound webhooks as rules without I/O: what a subscription may name
//! (URL, event types, secret), which addresses a delivery may reach, how
//! long a failing delivery waits before it is tried again, and the body a
//! receiver gets.

use std::net::IpAddr;

use serde_json::{json, Value};

use super::event::EventType;
use super::Invalid;

pub const URL_MAX: usize = 2000;
pub const SECRET_MIN: usize = 16;
pub const SECRET_MAX: usize = 200;
pub const EVENTS_MAX: usize = 50;
/// How much of a receiver's answer the delivery log keeps.
pub const EXCERPT_MAX: usize = 500;

/// A subscription's URL: http or https, with a host, without credentials
/// or a fragment. Where it points is checked separately (`refused_address`).
pub fn parse_url(raw: &str) -> Result<url::Url, Invalid> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > URL_MAX {
        return Err(Invalid::new("url", format!("must be 1 to {URL_MAX} characters")));
    }
    let u = url::Url::parse(raw).map_err(|e| Invalid::new("url", format!("is not a URL ({e})")))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(Invalid::new("url", "must be http:// or https://"));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(Invalid::new("url", "must name a host"));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(Invalid::new(
            "url",
            "must not carry a user or password (the signature authenticates us)",
        ));
    }
    if u.fragment().is_some() {
        return Err(Invalid::new("url", "must not have a #fragment"));
    }
    Ok(u)
}

/// The event types a subscription takes: a non-empty list of known names,
/// or `["*"]` for all. Unknown names are refused, all of them named.
pub fn parse_events(v: &Value) -> Result<Vec<String>, Invalid> {
    let items = v
        .as_array()
        .filter(|a| !a.is_empty() && a.len() <= EVENTS_MAX)
        .ok_or_else(|| {
            Invalid::new(
                "events",
                format!("must be a list of 1 to {EVENTS_MAX} event types, or [\"*\"]"),
            )
        })?;
    let mut out: Vec<String> = Vec::new();
    let mut unknown = Vec::new();
    for item in items {
        let name = item
            .as_str()
            .ok_or_else(|| Invalid::new("events", "must be strings"))?
            .trim();
        if name != "*" && EventType::parse("events", name).is_err() {
            unknown.push(name.chars().take(60).collect::<String>());
        } else if !out.iter().any(|o| o == name) {
            out.push(name.to_string());
        }
    }
    if !unknown.is_empty() {
        return Err(Invalid::new(
            "events",
            format!("unknown event type(s): {}", unknown.join(", ")),
        ));
    }
    if out.iter().any(|o| o == "*") {
        return Ok(vec!["*".into()]);
    }
    Ok(out)
}

/// Whether a subscription to `events` takes an event of type `kind`.
pub fn wants(events: &[String], kind: EventType) -> bool {
    events.iter().any(|e| e == "*" || e == kind.as_str())
}

/// A secret given by the admin: 16 to 200 printable characters.
pub fn check_secret(s: &str) -> Result<String, Invalid> {
    let n = s.chars().count();
    if !(SECRET_MIN..=SECRET_MAX).contains(&n) || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Invalid::new(
            "secret",
            format!("must be {SECRET_MIN} to {SECRET_MAX} characters without spaces"),
        ));
    }
    Ok(s.to_string())
}

/// A new random secret (32 bytes, hex): shown once, when it is made.
pub fn new_secret() -> String {
    format!("whsec_{}", hex::encode(rand::random::<[u8; 32]>()))
}

/// Why an address may not be called: loopback, private, link-local and
/// the like reach the server's own network, not a receiver on the
/// internet (SSRF). None when it is a public address.
pub fn refused_address(ip: IpAddr) -> Option<&'static str> {
    let ip = match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    };
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            if a.is_loopback() {
                Some("loopback")
            } else if a.is_private() || (o[0] == 100 && (64..128).contains(&o[1])) {
                Some("private")
            } else if a.is_link_local() {
                Some("link-local")
            } else if a.is_unspecified() || a.is_broadcast() || a.is_multicast() || o[0] == 0 || o[0] >= 240 {
                Some("reserved")
            } else {
                None
            }
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            if a.is_loopback() {
                Some("loopback")
            } else if (s[0] & 0xfe00) == 0xfc00 {
                Some("private")
            } else if (s[0] & 0xffc0) == 0xfe80 {
                Some("link-local")
            } else if a.is_unspecified() || a.is_multicast() {
                Some("reserved")
            } else {
                None
            }
        }
    }
}

/// How long after its `attempts`-th failure a delivery is tried again:
/// `base` doubled per failure up to `max`, then between half and all of
/// that (jitter, so receivers coming back are not hit by every sender at
/// once). `unit` in [0, 1) picks the point.
pub fn backoff_ms(attempts: i64, base_ms: i64, max_ms: i64, unit: f64) -> i64 {
    let exp = attempts.clamp(1, 40) - 1;
    let full = base_ms.saturating_mul(1i64 << exp.min(30)).min(max_ms).max(1);
    let half = full / 2;
    half + ((full - half) as f64 * unit.clamp(0.0, 1.0)) as i64
}

/// The body a receiver gets: the delivery's id (the same on every retry,
/// so a receiver can drop duplicates), the event's type, when the delivery
/// was made, when this attempt was (`timestamp`, Unix seconds, covered by
/// the signature) and the event as the feed shows it.
pub fn payload(delivery_id: i64, kind: &str, created_at: i64, timestamp_s: i64, event: &Value) -> Value {
    json!({
        "id": delivery_id,
        "type": kind,
        "created_at": super::time::rfc3339(created_at),
        "timestamp": timestamp_s,
        "event": event,
    })
}

/// At most `EXCERPT_MAX` characters of a receiver's answer or an error.
pub fn excerpt(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(EXCERPT_MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_http_with_a_host_and_no_credentials() {
        assert!(parse_url("https://hooks.example.com/x?y=1").is_ok());
        assert!(parse_url("http://1.2.3.4:8080/").is_ok());
        for bad in [
            "",
            "ftp://x.test/",
            "https://",
            "https://u:p@x.test/",
            "https://x.test/#f",
            "nope",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn events_are_known_names_or_star() {
        assert_eq!(
            parse_events(&json!(["ticket.created", "ticket.created"])).unwrap(),
            vec!["ticket.created"]
        );
        assert_eq!(parse_events(&json!(["ticket.created", "*"])).unwrap(), vec!["*"]);
        let e = parse_events(&json!(["ticket.made", "x.y", "message.created"])).unwrap_err();
        assert!(e.message.contains("ticket.made") && e.message.contains("x.y"), "{e}");
        assert!(parse_events(&json!([])).is_err());
        assert!(parse_events(&json!("ticket.created")).is_err());
        assert!(wants(&["*".into()], EventType::TicketUpdated));
        assert!(!wants(&["ticket.created".into()], EventType::TicketUpdated));
    }

    #[test]
    fn private_addresses_are_refused() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(refused_address(a.parse().unwrap()).is_some(), "{a}");
        }
        for a in ["93.184.216.34", "2606:4700::1111", "8.8.8.8"] {
            assert!(refused_address(a.parse().unwrap()).is_none(), "{a}");
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        assert_eq!(backoff_ms(1, 1000, 60_000, 0.999_999), 999);
        assert_eq!(backoff_ms(1, 1000, 60_000, 0.0), 500);
        assert_eq!(backoff_ms(3, 1000, 60_000, 0.0), 2000);
        assert_eq!(backoff_ms(30, 1000, 60_000, 0.0), 30_000);
        assert!(backoff_ms(1000, 1000, 3_600_000, 0.5) <= 3_600_000);
    }

    #[test]
    fn secrets_are_long_enough() {
        assert!(check_secret("short").is_err());
        assert!(check_secret("0123456789abcdef").is_ok());
        assert!(check_secret("0123456789 abcdef").is_err());
        assert!(new_secret().len() > 40);
    }
}
