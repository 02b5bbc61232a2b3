use super::*;
use serde_json::json;

const MIN: i64 = 30;

#[test]
fn a_first_failure_is_retried_and_the_second_confirms() {
    let f = Outcome::Failed("timeout".into());
    let d = decide(MonitorState::Up, 0, &f, 0, 0, 60_000, 5_000);
    assert_eq!(
        (d.state, d.failures, d.action.clone(), d.next_in_ms),
        (MonitorState::Up, 1, Action::None, 5_000)
    );
    let d = decide(d.state, d.failures, &f, 0, 0, 60_000, 5_000);
    assert_eq!(
        (d.state, d.action.clone()),
        (MonitorState::Down, Action::Open(MonitorState::Down))
    );
    // Still down: no second incident.
    let d = decide(d.state, d.failures, &f, 0, 0, 60_000, 5_000);
    assert_eq!(d.action, Action::None);
    let d = decide(
        d.state,
        d.failures,
        &Outcome::Ok { expires_at: None },
        0,
        0,
        60_000,
        5_000,
    );
    assert_eq!((d.state, d.failures, d.action), (MonitorState::Up, 0, Action::Recover));
}

#[test]
fn a_retry_never_waits_longer_than_the_interval() {
    let d = decide(
        MonitorState::Unknown,
        0,
        &Outcome::Failed("x".into()),
        0,
        0,
        1_000,
        5_000,
    );
    assert_eq!(d.next_in_ms, 1_000);
}

#[test]
fn an_expiry_within_the_warning_opens_once() {
    let day = 86_400_000;
    let soon = Outcome::Ok {
        expires_at: Some(2 * day),
    };
    let d = decide(MonitorState::Unknown, 0, &soon, 0, 14 * day, 3_600_000, 1);
    assert_eq!(
        (d.state, d.action),
        (MonitorState::Expiring, Action::Open(MonitorState::Expiring))
    );
    let d = decide(MonitorState::Expiring, 0, &soon, 0, 14 * day, 3_600_000, 1);
    assert_eq!(d.action, Action::None);
    let renewed = Outcome::Ok {
        expires_at: Some(90 * day),
    };
    let d = decide(MonitorState::Expiring, 0, &renewed, 0, 14 * day, 3_600_000, 1);
    assert_eq!((d.state, d.action), (MonitorState::Up, Action::Recover));
}

#[test]
fn uptime_is_the_share_of_good_checks() {
    assert_eq!(uptime(0, 0), None);
    assert_eq!(uptime(3, 2), Some(66.67));
    let r = uptime_report(&[
        DayCount {
            day: 0,
            checks: 4,
            up: 4,
        },
        DayCount {
            day: 31,
            checks: 4,
            up: 2,
        },
    ]);
    assert_eq!(r["percent"], json!(75.0));
    assert_eq!(r["months"][0]["month"], json!("1970-01"));
    assert_eq!(r["months"][1]["percent"], json!(50.0));
    assert_eq!(r["days"][1]["date"], json!("1970-02-01"));
}

#[test]
fn specs_are_validated() {
    let ok = parse_spec(
        &json!({"kind": "http", "url": "https://shop.example.com/health", "expect_text": "ok"}),
        MIN,
    )
    .unwrap();
    assert_eq!(ok.interval_s, 60);
    assert_eq!(ok.name, "https://shop.example.com/health");
    let bad = |v: serde_json::Value| parse_spec(&v, MIN).unwrap_err().field;
    assert_eq!(bad(json!({"kind": "ping", "url": "https://a.example"})), "kind");
    assert_eq!(bad(json!({"kind": "http", "url": "ftp://a.example"})), "url");
    assert_eq!(
        bad(json!({"kind": "http", "url": "https://a.example", "interval_s": 5})),
        "interval_s"
    );
    assert_eq!(
        bad(json!({"kind": "http", "url": "https://a.example", "expect_text": "x".repeat(5000)})),
        "expect_text"
    );
    assert_eq!(
        bad(json!({"kind": "http", "url": "https://a.example", "host": "a"})),
        "body"
    );
    assert_eq!(bad(json!({"kind": "tls", "host": "bad host!"})), "host");
    assert_eq!(bad(json!({"kind": "domain", "domain": "localhost"})), "domain");
    assert_eq!(
        bad(json!({"kind": "date", "label": "Hosting", "date": "2026-13-01"})),
        "date"
    );
    let d = parse_spec(
        &json!({"kind": "date", "label": "Hosting renewal", "date": "2027-01-31"}),
        MIN,
    )
    .unwrap();
    assert_eq!(d.name, "Hosting renewal");
    assert_eq!(parse_date("1970-01-02").unwrap(), 86_400_000);
}

#[test]
fn rdap_expiration_is_read_from_the_events() {
    let a = json!({"events": [
        {"eventAction": "registration", "eventDate": "2001-01-01T00:00:00Z"},
        {"eventAction": "expiration", "eventDate": "1970-01-02T00:00:00Z"},
    ]});
    assert_eq!(rdap_expiration(&a), Ok(86_400_000));
    assert!(rdap_expiration(&json!({"events": []})).is_err());
    assert!(rdap_expiration(&json!({})).is_err());
}
