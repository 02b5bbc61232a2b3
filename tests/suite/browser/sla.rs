//! SLA in a real browser: an admin writes a policy on Admin → SLA (and
//! sees a bad calendar refused next to its form), a ticket it covers shows
//! its time left in the inbox sorted by SLA and on its page, the script
//! keeps the clock ticking, a breach arrives over the stream as a notice
//! (and an alert, once per tab set), and Settings offers the notifications.
//! axe-core checks every page on the way.

use std::time::Duration;

use serde_json::{json, Value};

use super::webdriver::Driver;
use crate::console::{admin, PASSWORD};
use crate::harness::{Db, TestApp};

crate::both_backends!(sla_in_a_real_browser);

const MIN: i64 = 60_000;

const EXPLAIN: &str =
    "return { url: location.href, text: document.body ? document.body.innerText.slice(0, 1500) : null };";

async fn wait(b: &Driver, what: &str, script: &str, args: Vec<Value>) -> Value {
    b.wait_for(what, script, args, Duration::from_secs(15), EXPLAIN).await
}

/// Clicks after the script returns, so navigation starts outside the command.
async fn click(b: &Driver, selector: &str) {
    let ok = b.execute("var e = document.querySelector(arguments[0]); if (!e) return false; setTimeout(function () { e.click(); }, 0); return true;", vec![json!(selector)]).await;
    assert_eq!(ok, true, "{selector} to click");
}

/// Sets a field the way typing does, with its events.
async fn set(b: &Driver, selector: &str, value: &str) {
    let ok = b
        .execute(
            "var e = document.querySelector(arguments[0]); if (!e) return false; e.value = arguments[1];\n\
             e.dispatchEvent(new Event('input', { bubbles: true })); e.dispatchEvent(new Event('change', { bubbles: true })); return e.value === arguments[1];",
            vec![json!(selector), json!(value)],
        )
        .await;
    assert_eq!(ok, true, "{value} in {selector}");
}

async fn tick(b: &Driver, selector: &str, on: bool) {
    let ok = b
        .execute(
            "var e = document.querySelector(arguments[0]); if (!e) return false; e.checked = arguments[1]; e.dispatchEvent(new Event('change', { bubbles: true })); return true;",
            vec![json!(selector), json!(on)],
        )
        .await;
    assert_eq!(ok, true, "{selector}");
}

async fn page(b: &Driver, what: &str, path: &str) {
    wait(
        b,
        what,
        "return location.pathname === arguments[0] && document.readyState === 'complete';",
        vec![json!(path)],
    )
    .await;
}

async fn sla_in_a_real_browser(db: Db) {
    let app = TestApp::spawn(db).await;
    let _boss = admin(&app).await;

    let b = Driver::start().await;
    b.goto(&format!("{}/login", app.base)).await;
    b.execute("document.getElementById('email').value = 'boss@acme.test'; document.getElementById('password').value = arguments[0]; return true;", vec![json!(PASSWORD)]).await;
    click(&b, "form button[type=submit]").await;
    page(&b, "the inbox", "/app").await;

    // Admin → SLA, from the admin navigation; no policies yet.
    b.goto(&format!("{}/app/admin", app.base)).await;
    click(&b, ".tabs-nav a[href='/app/admin/sla']").await;
    page(&b, "the SLA page", "/app/admin/sla").await;
    b.accessibility("the empty SLA page").await;

    // A calendar the service refuses: the reason next to its form, the
    // field marked, what was typed kept.
    set(&b, "#cal-zone", "Mars/Olympus").await;
    set(&b, "#cal-mon", "09:00-13:00, 14:00-18:00").await;
    click(&b, "form.calendar-form button[type=submit]").await;
    let refused = wait(
        &b,
        "the calendar refused",
        "var f = document.getElementById('fault'); return f && { fault: f.textContent, invalid: document.getElementById('cal-zone').getAttribute('aria-invalid'), mon: document.getElementById('cal-mon').value };",
        vec![],
    )
    .await;
    assert!(
        refused["fault"]
            .as_str()
            .unwrap()
            .contains("Time zone: \"Mars/Olympus\""),
        "{refused}"
    );
    assert_eq!(
        (&refused["invalid"], &refused["mon"]),
        (&json!("true"), &json!("09:00-13:00, 14:00-18:00"))
    );
    b.accessibility("the SLA page with a refused calendar").await;
    set(&b, "#cal-zone", "Europe/Kyiv").await;
    set(&b, "#cal-mon", "").await;
    click(&b, "form.calendar-form button[type=submit]").await;
    wait(
        &b,
        "the calendar saved",
        "var n = document.querySelector('.notice.ok'); return !!n && n.textContent === 'Calendar saved.';",
        vec![],
    )
    .await;
    let (_, cal) = app.get("/api/v1/calendar").await;
    assert_eq!(cal["time_zone"], "Europe/Kyiv", "{cal}");

    // A policy through the form.
    click(&b, "a[href='/app/admin/sla/new']").await;
    page(&b, "the policy editor", "/app/admin/sla/new").await;
    b.accessibility("the new policy editor").await;
    set(&b, "#sla-name", "Urgent").await;
    tick(&b, "input[name=priority][value=high]", true).await;
    tick(&b, "input[name=priority][value=urgent]", true).await;
    set(&b, "input[name=first_response_minutes]", "60").await;
    set(&b, "input[name=resolution_minutes]", "1440").await;
    tick(&b, "input[name=business_hours]", false).await;
    click(&b, "form.sla-form button[type=submit]").await;
    page(&b, "the SLA list", "/app/admin/sla").await;
    let listed = wait(
        &b,
        "the saved policy in the list",
        "var n = document.querySelector('.notice.ok'), t = document.querySelector('table.sla-policies');\n\
         return n && t && { notice: n.textContent, row: t.tBodies[0].rows[0].innerText };",
        vec![],
    )
    .await;
    assert_eq!(listed["notice"], "Policy saved.", "{listed}");
    let row = listed["row"].as_str().unwrap();
    for part in [
        "Urgent",
        "Priority: High, Urgent",
        "First response: 1 h",
        "Resolution: 1 d",
        "Around the clock",
    ] {
        assert!(row.contains(part), "{part} in {row}");
    }
    b.accessibility("the SLA list").await;

    // A ticket it covers: time left in the inbox sorted by SLA.
    let (s, t) = app
        .post(
            "/api/v1/tickets",
            json!({"subject": "Payment failed", "message": "Help!", "priority": "high", "contact": {"email": "shopper@example.com"}}),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::CREATED, "{t}");
    let (id, number) = (t["id"].as_i64().unwrap(), t["number"].as_i64().unwrap());
    app.ticket("Just a question", "q@example.com").await;
    app.consumed("sla").await;
    b.goto(&format!("{}/app", app.base)).await;
    page(&b, "the inbox", "/app").await;
    set(&b, "select[name=sort]", "sla").await;
    click(&b, "form.filters button[type=submit]").await;
    let shown = wait(
        &b,
        "the inbox sorted by SLA",
        "if (location.search.indexOf('sort=sla') < 0) return null;\n\
         var rows = Array.prototype.map.call(document.querySelectorAll('#inbox-list li.row'), function (r) { var c = r.querySelector('.sla'); return [r.querySelector('a.open').dataset.number, c ? c.className : null, c ? c.querySelector('.sla-t').textContent : null]; });\n\
         return rows.length ? rows : null;",
        vec![],
    )
    .await;
    assert_eq!(
        shown,
        json!([[number.to_string(), "sla sla-left", "1 h left"]]),
        "{shown}"
    );
    b.accessibility("the inbox sorted by SLA").await;

    // The script keeps the clock going from its due time: moved back 15
    // minutes past due, the next tick says overdue.
    let ticked = b
        .execute(
            "var c = document.querySelector('#inbox-list .sla[data-due]'); c.dataset.due = String(Number(document.body.dataset.now) - 15 * 60000 - 1000);\n\
             window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true }));\n\
             return [c.className, c.querySelector('.sla-t').textContent, c.getBoundingClientRect().height > 0];",
            vec![],
        )
        .await;
    assert_eq!(ticked, json!(["sla sla-over", "overdue 15 min", true]), "{ticked}");

    // The ticket page: the policy, each target's due time.
    b.goto(&format!("{}/app/t/{number}", app.base)).await;
    let card = wait(
        &b,
        "the SLA card",
        "var c = document.getElementById('sla'); return c && document.readyState === 'complete' && c.innerText;",
        vec![],
    )
    .await;
    let card = card.as_str().unwrap();
    for part in ["Urgent", "First response", "Resolution"] {
        assert!(card.contains(part), "{part} in {card}");
    }
    b.accessibility("the ticket page with its SLA").await;

    // A breach comes over the stream: the inbox says so and turns red.
    b.goto(&format!("{}/app?sort=sla", app.base)).await;
    page(&b, "the inbox again", "/app").await;
    wait(
        &b,
        "the stream to connect",
        "return document.body.dataset.me && document.querySelector('#inbox-list .sla') !== null;",
        vec![],
    )
    .await;
    // The socket is open once the page has loaded; give it a moment.
    tokio::time::sleep(Duration::from_millis(800)).await;
    storedesk::store::advance_clock(75 * MIN);
    app.svc.run_timers().await.unwrap();
    let said = wait(
        &b,
        "the breach notice",
        "var l = document.getElementById('live'); return l && l.textContent.indexOf('SLA breached on #' + arguments[0]) >= 0 ? l.innerHTML : null;",
        vec![json!(number)],
    )
    .await;
    assert!(said.as_str().unwrap().contains(&format!("/app/t/{number}")), "{said}");
    let alerted = wait(
        &b,
        "the alert, recorded once for every tab",
        "var a = JSON.parse(localStorage.getItem('storedesk:alerted') || '{}'); return Object.keys(a).join(',');",
        vec![],
    )
    .await;
    assert_eq!(alerted, json!(format!("sla_breach:{id}:first_response")), "{alerted}");
    wait(
        &b,
        "the list refreshed with the ticket overdue",
        "var c = document.querySelector('#inbox-list .sla'); return !!c && c.classList.contains('sla-over') && c.textContent.indexOf('overdue') >= 0;",
        vec![],
    )
    .await;
    b.accessibility("the inbox with an overdue ticket").await;

    // Settings: notifications are asked for only by the button; each kind
    // is switched here and kept in this browser.
    b.goto(&format!("{}/app/settings", app.base)).await;
    let alerts = wait(
        &b,
        "the notification settings",
        "var s = document.getElementById('alerts'); return s && !s.hidden && { boxes: s.querySelectorAll('input[data-alert]').length, checked: s.querySelectorAll('input[data-alert]:checked').length, state: document.getElementById('alerts-state').textContent };",
        vec![],
    )
    .await;
    assert_eq!(
        (&alerts["boxes"], &alerts["checked"]),
        (&json!(10), &json!(10)),
        "{alerts}"
    );
    assert!(!alerts["state"].as_str().unwrap().is_empty(), "{alerts}");
    b.accessibility("the settings page").await;
    // "Try it" plays the sound (made with WebAudio) without an error.
    click(&b, "#alerts-test").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = b.console().await;
    assert!(!log.contains("Uncaught") && !log.contains("Error:"), "{log}");
    tick(&b, "input[data-alert=chat][data-part=sound]", false).await;
    let kept = b
        .execute(
            "return JSON.parse(localStorage.getItem('storedesk:alerts:' + document.body.dataset.me)).chat;",
            vec![],
        )
        .await;
    assert_eq!(kept, json!({"show": true, "sound": false}), "{kept}");
    b.goto(&format!("{}/app/settings", app.base)).await;
    let after = wait(
        &b,
        "the choice kept after a reload",
        "var e = document.querySelector('input[data-alert=chat][data-part=sound]'); return e && !document.getElementById('alerts').hidden && { sound: e.checked };",
        vec![],
    )
    .await;
    assert_eq!(after, json!({"sound": false}));

    b.quit().await;
}
