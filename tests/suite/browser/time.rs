//! Time in a real browser: the ticket page's time panel with a running
//! timer (its clock ticking in the page), Admin → Clients with a
//! subscription past the warning share, and the monthly time report; each
//! page checked by axe-core in English and in Persian (right to left).

use std::time::Duration;

use serde_json::{json, Value};

use super::webdriver::Driver;
use crate::console::{admin, PASSWORD};
use crate::harness::{Db, TestApp};

crate::both_backends!(time_pages_in_a_real_browser);

const EXPLAIN: &str =
    "return { url: location.href, text: document.body ? document.body.innerText.slice(0, 1500) : null };";

async fn wait(b: &Driver, what: &str, script: &str, args: Vec<Value>) -> Value {
    b.wait_for(what, script, args, Duration::from_secs(15), EXPLAIN).await
}

async fn click(b: &Driver, selector: &str) {
    let ok = b.execute("var e = document.querySelector(arguments[0]); if (!e) return false; setTimeout(function () { e.click(); }, 0); return true;", vec![json!(selector)]).await;
    assert_eq!(ok, true, "{selector} to click");
}

async fn open(b: &Driver, base: &str, path: &str, ready: &str) -> Value {
    b.goto(&format!("{base}{path}")).await;
    wait(
        b,
        path,
        &format!("return document.readyState === 'complete' && ({ready});"),
        vec![],
    )
    .await
}

async fn time_pages_in_a_real_browser(db: Db) {
    let app = TestApp::spawn(db).await;
    let _boss = admin(&app).await;
    let (s, k) = app
        .post(
            "/api/v1/clients",
            json!({"name": "Bloom Florist", "work_type": "subscription", "included_minutes": 600, "hourly_rate": 6000, "urgent_rate": 9000, "currency": "EUR"}),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::CREATED, "{k}");
    let t = app.ticket("New bouquet page", "ann@bloom.test").await;
    let (id, n) = (t["id"].as_i64().unwrap(), t["number"].as_i64().unwrap());
    let contact = t["contact"]["id"].as_i64().unwrap();
    let (s, _) = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/contacts/{contact}/client"),
            &app.token,
            Some(json!({"client_id": k["id"]})),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::OK);
    for (m, note) in [(300, "Layout"), (200, "Photos")] {
        let (s, _) = app
            .post(
                &format!("/api/v1/tickets/{id}/time"),
                json!({"minutes": m, "billable": true, "note": note}),
            )
            .await;
        assert_eq!(s, reqwest::StatusCode::CREATED);
    }
    let (s, _) = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/tickets/{id}/estimate"),
            &app.token,
            Some(json!({"hours": 10})),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::OK);

    let b = Driver::start().await;
    b.goto(&format!("{}/login", app.base)).await;
    b.execute("document.getElementById('email').value = 'boss@acme.test'; document.getElementById('password').value = arguments[0]; return true;", vec![json!(PASSWORD)]).await;
    click(&b, "form button[type=submit]").await;
    wait(
        &b,
        "the inbox",
        "return location.pathname === '/app' && document.readyState === 'complete';",
        vec![],
    )
    .await;

    for lang in ["en", "fa"] {
        if lang == "fa" {
            b.goto(&format!("{}/app/settings", app.base)).await;
            b.execute("document.getElementById('lang').value = 'fa'; return true;", vec![])
                .await;
            click(&b, "form[action='/app/settings/language'] button").await;
            wait(
                &b,
                "Persian",
                "return document.documentElement.getAttribute('dir') === 'rtl';",
                vec![],
            )
            .await;
        }
        // The ticket page: start the timer through its form; it runs on.
        let page = format!("/app/t/{n}");
        open(&b, &app.base, &page, "!!document.getElementById('time')").await;
        if lang == "en" {
            click(&b, "#timer-start").await;
            wait(
                &b,
                "the timer running",
                "return document.readyState === 'complete' && !!document.querySelector('[data-sd=timer-running]');",
                vec![],
            )
            .await;
        }
        // A reload keeps it.
        let shown = open(&b, &app.base, &page, "!!document.querySelector('.timer-elapsed')").await;
        assert_eq!(shown, json!(true));
        let entries = b
            .execute(
                "return document.querySelectorAll('[data-sd=time-entry]').length;",
                vec![],
            )
            .await;
        assert_eq!(entries, json!(2));
        let dir = b.execute("return document.documentElement.dir;", vec![]).await;
        assert_eq!(dir, json!(if lang == "fa" { "rtl" } else { "ltr" }));
        b.execute(
            "document.querySelectorAll('#time details').forEach(function (d) { d.open = true; }); return true;",
            vec![],
        )
        .await;
        b.accessibility(&format!("the ticket's time panel ({lang})")).await;

        // Clients: 500 of 600 minutes used, the warning shown.
        let warned = open(
            &b,
            &app.base,
            "/app/admin/clients",
            "document.querySelectorAll('[data-sd=client-row]').length",
        )
        .await;
        assert_eq!(warned, json!(1));
        let warn = b
            .execute("return !!document.querySelector('[data-sd=balance-warn]');", vec![])
            .await;
        assert_eq!(warn, json!(true));
        b.accessibility(&format!("the clients page ({lang})")).await;
        open(
            &b,
            &app.base,
            &format!("/app/admin/clients/{}", k["id"]),
            "!!document.getElementById('cl-name')",
        )
        .await;
        b.accessibility(&format!("a client's page ({lang})")).await;

        // The monthly report.
        let rows = open(
            &b,
            &app.base,
            "/app/reports/time",
            "document.querySelectorAll('[data-sd=report-client]').length",
        )
        .await;
        assert_eq!(rows, json!(1));
        b.accessibility(&format!("the time report ({lang})")).await;
    }
    let log = b.console().await;
    assert!(
        !log.contains("Uncaught") && !log.contains("Refused"),
        "no script errors, nothing the CSP refused: {log}"
    );
    b.quit().await;
}
