//! Site monitors in a real browser: the monitors list (a refused form
//! too), a monitor's page with its server-drawn chart and the public status
//! page, in English and in Persian (right to left), each checked by
//! axe-core. Monitors probe a local server only.

use std::time::Duration;

use serde_json::{json, Value};

use super::webdriver::Driver;
use crate::console::{admin, PASSWORD};
use crate::harness::{Db, TestApp};

crate::both_backends!(monitors_in_a_real_browser);

const EXPLAIN: &str =
    "return { url: location.href, text: document.body ? document.body.innerText.slice(0, 1500) : null };";

async fn wait(b: &Driver, what: &str, script: &str, args: Vec<Value>) -> Value {
    b.wait_for(what, script, args, Duration::from_secs(15), EXPLAIN).await
}

async fn click(b: &Driver, selector: &str) {
    let ok = b.execute("var e = document.querySelector(arguments[0]); if (!e) return false; setTimeout(function () { e.click(); }, 0); return true;", vec![json!(selector)]).await;
    assert_eq!(ok, true, "{selector} to click");
}

async fn open(b: &Driver, url: &str, what: &str, selector: &str) {
    b.goto(url).await;
    wait(
        b,
        what,
        "return document.readyState === 'complete' && !!document.querySelector(arguments[0]);",
        vec![json!(selector)],
    )
    .await;
}

async fn site() -> String {
    let app = axum::Router::new().route("/health", axum::routing::get(|| async { "all healthy" }));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    base
}

async fn monitors_in_a_real_browser(db: Db) {
    let app = TestApp::spawn(db).await;
    let s = &app.svc.monitors;
    s.set_allow(vec!["127.0.0.0/8".parse().unwrap()]);
    s.set_min_interval_s(1);
    s.set_poll_ms(50);
    let base = site().await;
    let _boss = admin(&app).await;
    let (st, m) = app
        .post(
            "/api/v1/monitors",
            json!({"kind": "http", "name": "Storefront", "url": format!("{base}/health"), "interval_s": 1}),
        )
        .await;
    assert_eq!(st, reqwest::StatusCode::CREATED, "{m}");
    let id = m["id"].as_i64().unwrap();
    let (st, _) = app
        .post(
            "/api/v1/monitors",
            json!({"kind": "date", "label": "Hosting renewal", "date": "2031-03-01", "interval_s": 1}),
        )
        .await;
    assert_eq!(st, reqwest::StatusCode::CREATED);
    for _ in 0..600 {
        let (_, m) = app.get(&format!("/api/v1/monitors/{id}")).await;
        if m["history"].as_array().map_or(0, Vec::len) >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (st, _) = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/monitor-status-page",
            &app.token,
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(st, reqwest::StatusCode::OK);
    let (_, me) = app.get("/api/v1/me").await;
    let slug = me["workspace"]["slug"].as_str().unwrap().to_string();

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
        let list = format!("{}/app/admin/monitors", app.base);
        open(&b, &list, "the monitors list", "table.monitors").await;
        let dir = b.execute("return document.documentElement.dir;", vec![]).await;
        assert_eq!(dir, json!(if lang == "fa" { "rtl" } else { "ltr" }));
        b.accessibility(&format!("the monitors list ({lang})")).await;

        // A form the SSRF guard refuses: the reason next to it, the URL kept.
        b.execute(
            "document.getElementById('http-url').value = 'http://10.1.2.3/'; return true;",
            vec![],
        )
        .await;
        click(&b, "#form-http button[type=submit]").await;
        let refused = wait(
            &b,
            "the refusal",
            "var f = document.getElementById('fault'); return f && { fault: f.textContent, url: document.getElementById('http-url').value, invalid: document.getElementById('http-url').getAttribute('aria-invalid') };",
            vec![],
        )
        .await;
        assert!(
            refused["fault"].as_str().unwrap().contains("public addresses only"),
            "{refused}"
        );
        assert_eq!(
            (&refused["url"], &refused["invalid"]),
            (&json!("http://10.1.2.3/"), &json!("true"))
        );
        b.accessibility(&format!("the monitors list with a refusal ({lang})"))
            .await;

        open(
            &b,
            &format!("{}/app/admin/monitors/{id}", app.base),
            "the monitor's page",
            "svg.ch[role=img]",
        )
        .await;
        let dirs = b
            .execute("return [getComputedStyle(document.querySelector('.ch-wrap')).direction, document.querySelectorAll('svg.ch').length];", vec![])
            .await;
        assert_eq!(dirs, json!(["ltr", 2]));
        b.accessibility(&format!("the monitor's page ({lang})")).await;

        open(
            &b,
            &format!("{}/p/{slug}/status?lang={lang}", app.base),
            "the status page",
            "section.mon svg",
        )
        .await;
        let seen = b
            .execute("return [document.documentElement.lang, document.documentElement.dir, document.querySelectorAll('section.mon').length];", vec![])
            .await;
        assert_eq!(seen, json!([lang, if lang == "fa" { "rtl" } else { "ltr" }, 2]));
        b.accessibility(&format!("the public status page ({lang})")).await;

        if lang == "en" {
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
    }
    b.quit().await;
}
