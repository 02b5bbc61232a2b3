//! SLA on the inbox and the ticket page: how long a ticket's running clock
//! has left ("1 h 20 min left", "overdue 15 min", "paused"), written here
//! for pages without script and kept ticking by static/console.js from the
//! due time in `data-due`; the ticket's policy and each target's due time.

use std::sync::{Mutex, OnceLock};

use crate::domain::calendar::NEVER;
use crate::domain::sla::Target;
use crate::store::sla::SlaView;

const MIN_MS: i64 = 60_000;

use super::console_text as text;

/// Minutes for people: "15 min", "2 h 5 min", "1 d 4 h" (console.js writes
/// them the same way).
pub(super) fn span(lang: &str, minutes: i64) -> String {
    let unit = |id: &str, n: i64| text(lang, &format!("sla-{id}"), &[("n", &n.to_string())]);
    let both = |a: String, b: Option<String>| b.map_or_else(|| a.clone(), |b| format!("{a} {b}"));
    let m = minutes.max(0);
    if m < 60 {
        unit("min", m)
    } else if m < 1440 {
        both(unit("h", m / 60), (m % 60 > 0).then(|| unit("min", m % 60)))
    } else {
        both(unit("d", m / 1440), (m % 1440 >= 60).then(|| unit("h", m % 1440 / 60)))
    }
}

/// What a ticket's clock shows at `now`: the time left until the earliest
/// running target, how long it is overdue, or that it is paused; None when
/// no clock runs.
pub(super) fn clock(view: Option<&SlaView>, now: i64, lang: &str) -> Option<minijinja::Value> {
    let v = view?;
    if v.paused {
        return v
            .policy_id
            .map(|_| minijinja::context! { state => "paused", text => text(lang, "sla-paused", &[]) });
    }
    let due = v.due_at?;
    let (state, id, minutes) = if due > now {
        // Rounded up: "1 min left" until it is due, never "0 min left".
        ("left", "sla-left", (due - now + MIN_MS - 1) / MIN_MS)
    } else {
        ("over", "sla-overdue", ((now - due) / MIN_MS).max(1))
    };
    let time = span(lang, minutes);
    Some(minijinja::context! { state, due, text => text(lang, id, &[("time", &time)]) })
}

/// A time in the agent's zone (Settings), or in UTC when they left it to
/// the browser; console.js shows it in the same zone either way.
pub(super) fn local_time(ms: i64, tz: &str) -> String {
    let zone = tz.parse::<chrono_tz::Tz>().ok().filter(|_| !tz.is_empty());
    match (chrono::DateTime::from_timestamp_millis(ms), zone) {
        (Some(t), Some(z)) => format!("{} {tz}", t.with_timezone(&z).format("%Y-%m-%d %H:%M")),
        _ => super::when(ms),
    }
}

/// The ticket page's SLA card: the policy, the clock and each target with
/// its due time and whether it was breached.
pub(super) fn details(view: Option<&SlaView>, now: i64, lang: &str, tz: &str) -> Option<minijinja::Value> {
    let v = view?;
    let dues = [v.first_response_due_at, v.next_response_due_at, v.resolution_due_at];
    let targets: Vec<_> = Target::ALL
        .iter()
        .zip(dues)
        .filter_map(|(t, due)| {
            let breached = v.breached.contains(&t.as_str());
            if due.is_none() && !breached {
                return None;
            }
            // A calendar that never opens has no due time to show.
            let at = due.filter(|d| *d != NEVER).map(|d| {
                minijinja::context! { iso => crate::domain::time::rfc3339(d), text => local_time(d, tz) }
            });
            Some(minijinja::context! { key => t.as_str().replace('_', "-"), at, running => due.is_some(), breached })
        })
        .collect();
    if v.policy_id.is_none() && targets.is_empty() {
        return None;
    }
    Some(minijinja::context! {
        policy => v.policy, has_policy => v.policy_id.is_some(), targets, clock => clock(Some(v), now, lang),
    })
}

/// The texts console.js needs, as JSON for the page's `data-texts`: the
/// clock's words with `{time}` / `{n}` where the numbers go, and the
/// browser notifications' titles with `{number}` for the ticket.
pub(super) fn script_texts(lang: &str) -> String {
    static CACHE: OnceLock<Mutex<std::collections::HashMap<String, String>>> = OnceLock::new();
    let mut m = CACHE.get_or_init(Default::default).lock().expect("script texts lock");
    m.entry(lang.to_string())
        .or_insert_with(|| {
            let t = |id: &str, args: &[(&str, &str)]| text(lang, id, args);
            let alert = |id: &str| t(&format!("alert-{id}"), &[("number", "{number}")]);
            serde_json::json!({
                "left": t("sla-left", &[("time", "{time}")]),
                "overdue": t("sla-overdue", &[("time", "{time}")]),
                "d": t("sla-d", &[("n", "{n}")]),
                "h": t("sla-h", &[("n", "{n}")]),
                "min": t("sla-min", &[("n", "{n}")]),
                "alerts": {
                    "sla_warning": alert("sla-warning"),
                    "sla_breach": alert("sla-breach"),
                    "mention": alert("mention"),
                    "chat": alert("chat"),
                    "assigned": alert("assigned"),
                    "test": t("alert-test", &[]),
                },
                "targets": {
                    "first_response": t("sla-target-first-response", &[]),
                    "next_response": t("sla-target-next-response", &[]),
                    "resolution": t("sla-target-resolution", &[]),
                },
                "permission": {
                    "granted": t("alerts-on", &[]),
                    "denied": t("alerts-blocked", &[]),
                    "default": t("alerts-off", &[]),
                    "unsupported": t("alerts-unsupported", &[]),
                },
            })
            .to_string()
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(due: Option<i64>, paused: bool) -> SlaView {
        SlaView {
            policy: Some("Urgent".into()),
            policy_id: Some(1),
            first_response_due_at: due,
            next_response_due_at: None,
            resolution_due_at: None,
            due_at: due,
            paused,
            breached: vec![],
        }
    }

    fn shown(due: Option<i64>, paused: bool, now: i64) -> (String, String) {
        let c = clock(Some(&view(due, paused)), now, "en").expect("a clock");
        (
            c.get_attr("state").unwrap().to_string(),
            c.get_attr("text").unwrap().to_string(),
        )
    }

    #[test]
    fn spans_read_in_the_largest_units() {
        let cases = [
            (0, "0 min"),
            (15, "15 min"),
            (60, "1 h"),
            (80, "1 h 20 min"),
            (1440, "1 d"),
            (1500, "1 d 1 h"),
            (3 * 1440 + 59, "3 d"),
        ];
        for (m, want) in cases {
            assert_eq!(span("en", m), want, "{m}");
        }
        assert_eq!(span("ru", 80), "1 ч 20 мин");
    }

    #[test]
    fn clocks_show_left_overdue_and_paused() {
        let now = 1_800_000_000_000;
        assert_eq!(
            shown(Some(now + 80 * MIN_MS), false, now),
            ("left".into(), "1 h 20 min left".into())
        );
        assert_eq!(shown(Some(now + 1), false, now), ("left".into(), "1 min left".into()));
        assert_eq!(shown(Some(now), false, now), ("over".into(), "overdue 1 min".into()));
        assert_eq!(
            shown(Some(now - 15 * MIN_MS - 5), false, now),
            ("over".into(), "overdue 15 min".into())
        );
        assert_eq!(shown(None, true, now), ("paused".into(), "paused".into()));
        assert!(
            clock(Some(&view(None, false)), now, "en").is_none(),
            "stopped clocks show nothing"
        );
        let mut bare = view(None, true);
        bare.policy_id = None;
        assert!(
            clock(Some(&bare), now, "en").is_none(),
            "a pause without a policy is no SLA"
        );
    }

    #[test]
    fn times_in_the_agents_zone() {
        // 2026-01-15 08:00 UTC is 10:00 in Kyiv.
        let at = 1_768_464_000_000;
        assert_eq!(local_time(at, "Europe/Kyiv"), "2026-01-15 10:00 Europe/Kyiv");
        assert_eq!(local_time(at, ""), "2026-01-15 08:00 UTC");
        assert_eq!(local_time(at, "Mars/Olympus"), "2026-01-15 08:00 UTC");
    }

    #[test]
    fn script_texts_have_their_placeholders() {
        for lang in crate::i18n::LANGS {
            let v: serde_json::Value = serde_json::from_str(&script_texts(lang)).unwrap();
            assert!(v["left"].as_str().unwrap().contains("{time}"), "{lang}: {v}");
            assert!(v["min"].as_str().unwrap().contains("{n}"), "{lang}: {v}");
            assert!(
                v["alerts"]["sla_breach"].as_str().unwrap().contains("{number}"),
                "{lang}: {v}"
            );
        }
    }
}
