//! Site monitors in the console, as a browser without script uses them:
//! Admin → Monitors makes every kind through its form (with the session's
//! CSRF token, through the API's use case), a refusal (the SSRF guard's
//! too) comes back next to the form with what was typed, pause, resume and
//! delete; a monitor's page shows its history, incidents, uptime and the
//! response-time chart drawn on the server; only the workspace's admins
//! get any of it; and the public status page answers HTML to browsers and
//! JSON to the rest, only while it is switched on. Local servers only.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode as AxStatus;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::console::{admin, agent, Console, PASSWORD};
use crate::harness::{Db, TestApp};

crate::both_backends!(
    console_monitors_forms_make_every_kind,
    console_monitors_refusals_keep_what_was_typed,
    console_monitor_page_shows_history_and_chart,
    console_monitors_are_for_the_workspaces_admins,
    console_monitors_status_page_html_and_json,
);

/// A site that answers 200 "all healthy", or 503 while down.
async fn site() -> (Arc<AtomicBool>, String) {
    let down = Arc::new(AtomicBool::new(false));
    let app = axum::Router::new()
        .route(
            "/health",
            axum::routing::get(|State(d): State<Arc<AtomicBool>>| async move {
                if d.load(Ordering::SeqCst) {
                    (AxStatus::SERVICE_UNAVAILABLE, "down")
                } else {
                    (AxStatus::OK, "all healthy")
                }
            }),
        )
        .with_state(down.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    (down, base)
}

/// Fast monitors that may probe loopback, and an RDAP server that is not
/// there (no request leaves the machine).
fn fast(app: &TestApp) {
    let s = &app.svc.monitors;
    s.set_allow(vec!["127.0.0.0/8".parse().unwrap()]);
    s.set_min_interval_s(1);
    s.set_retry_ms(100);
    s.set_poll_ms(50);
    s.set_rdap_url(&format!("http://{}", crate::harness::dead_address()));
}

async fn monitors(app: &TestApp) -> Vec<Value> {
    let (s, v) = app.get("/api/v1/monitors").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["items"].as_array().unwrap().clone()
}

async fn wait_for(app: &TestApp, id: i64, what: &str, cond: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..600 {
        let (s, m) = app.get(&format!("/api/v1/monitors/{id}?limit=1000")).await;
        assert_eq!(s, StatusCode::OK, "{m}");
        if cond(&m) {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("monitor {id}: {what} did not happen within 30 s");
}

/// The monitor id a successful form post redirects to.
fn made(r: (StatusCode, String), what: &str) -> i64 {
    assert_eq!(r.0, StatusCode::SEE_OTHER, "{what}: {}", r.1);
    assert!(r.1.contains("ok="), "{what}: {}", r.1);
    r.1.trim_start_matches("/app/admin/monitors/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("{what}: {}", r.1))
}

async fn console_monitors_forms_make_every_kind(db: Db) {
    let app = TestApp::spawn(db).await;
    fast(&app);
    let (_, base) = site().await;
    let mut boss = admin(&app).await;
    let (s, html) = boss.get("/app/admin/monitors").await;
    assert_eq!(s, StatusCode::OK);
    for f in ["form-http", "form-tls", "form-domain", "form-date"] {
        assert!(html.contains(&format!("id=\"{f}\"")), "{f}");
    }
    assert!(html.contains("href=\"/app/admin/monitors\" aria-current=\"page\""));

    let url = format!("{base}/health");
    let http = made(
        boss.post(
            "/app/admin/monitors",
            &[
                ("kind", "http"),
                ("name", "Storefront"),
                ("url", &url),
                ("interval_s", "1"),
                ("expect_status", "200"),
                ("expect_text", "healthy"),
                ("timeout_ms", "900"),
            ],
        )
        .await,
        "http",
    );
    let tls = made(
        boss.post(
            "/app/admin/monitors",
            &[("kind", "tls"), ("host_port", "127.0.0.1:8443"), ("warn_days", "21")],
        )
        .await,
        "tls",
    );
    let domain = made(
        boss.post(
            "/app/admin/monitors",
            &[("kind", "domain"), ("domain", "example.com"), ("warn_days", "40")],
        )
        .await,
        "domain",
    );
    let date = made(
        boss.post(
            "/app/admin/monitors",
            &[
                ("kind", "date"),
                ("label", "Hosting renewal"),
                ("date", "2031-03-01"),
                ("warn_days", "10"),
            ],
        )
        .await,
        "date",
    );
    let all = monitors(&app).await;
    let by = |id: i64| all.iter().find(|m| m["id"] == id).unwrap().clone();
    let m = by(http);
    assert_eq!(
        (
            &m["kind"],
            &m["name"],
            &m["url"],
            &m["interval_s"],
            &m["expect_text"],
            &m["timeout_ms"]
        ),
        (
            &json!("http"),
            &json!("Storefront"),
            &json!(url),
            &json!(1),
            &json!("healthy"),
            &json!(900)
        ),
        "{m}"
    );
    let m = by(tls);
    assert_eq!(
        (&m["host"], &m["port"], &m["warn_days"]),
        (&json!("127.0.0.1"), &json!(8443), &json!(21)),
        "{m}"
    );
    let m = by(domain);
    assert_eq!(
        (&m["domain"], &m["warn_days"]),
        (&json!("example.com"), &json!(40)),
        "{m}"
    );
    let m = by(date);
    assert_eq!(
        (&m["label"], &m["date"], &m["warn_days"]),
        (&json!("Hosting renewal"), &json!("2031-03-01"), &json!(10)),
        "{m}"
    );
    // Listed with state and expiry (a date checked every second, made
    // through the API, so its first check comes soon).
    let (s, v) = app
        .post(
            "/api/v1/monitors",
            json!({"kind": "date", "label": "Card renewal", "date": "2032-04-01", "interval_s": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let card = v["id"].as_i64().unwrap();
    wait_for(&app, http, "up", |m| m["state"] == "up").await;
    wait_for(&app, card, "checked", |m| m["state"] == "up").await;
    let (_, html) = boss.get("/app/admin/monitors").await;
    assert!(
        html.contains("Storefront") && html.contains("Hosting renewal"),
        "{html}"
    );
    assert!(
        html.contains("<span dir=\"ltr\">2032-04-01</span>"),
        "the date's expiry: {html}"
    );
    assert!(html.contains("<strong class=\"mon-state\">Up</strong>"), "{html}");

    // Pause, resume, delete.
    let (s, to) = boss
        .post(&format!("/app/admin/monitors/{http}/active"), &[("on", "0")])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    let (_, m) = app.get(&format!("/api/v1/monitors/{http}")).await;
    assert_eq!(m["active"], false, "{m}");
    let (_, html) = boss.get("/app/admin/monitors").await;
    assert!(html.contains("Paused"), "{html}");
    boss.post(&format!("/app/admin/monitors/{http}/active"), &[("on", "1")])
        .await;
    let (_, m) = app.get(&format!("/api/v1/monitors/{http}")).await;
    assert_eq!(m["active"], true, "{m}");
    let (s, _) = boss.post(&format!("/app/admin/monitors/{domain}/delete"), &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, _) = app.get(&format!("/api/v1/monitors/{domain}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Without the session's token, or from another site, nothing is made.
    let (s, _) = boss
        .raw_post(
            "/app/admin/monitors",
            &[("kind", "date"), ("label", "x"), ("date", "2030-01-01")],
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = boss
        .raw_post(
            "/app/admin/monitors",
            &[
                ("_csrf", &boss.csrf),
                ("kind", "date"),
                ("label", "x"),
                ("date", "2030-01-01"),
            ],
            Some("https://evil.example"),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(monitors(&app).await.len(), 4);
}

async fn console_monitors_refusals_keep_what_was_typed(db: Db) {
    let app = TestApp::spawn(db).await;
    app.svc.monitors.set_min_interval_s(1);
    let (_, base) = site().await;
    let mut boss = admin(&app).await;
    boss.get("/app/admin/monitors").await;
    let url = format!("{base}/health");

    // The SSRF guard: loopback is not allowed here.
    let (s, html) = boss
        .post(
            "/app/admin/monitors",
            &[
                ("kind", "http"),
                ("name", "Local shop"),
                ("url", &url),
                ("expect_text", "healthy"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("id=\"fault\""), "{html}");
    assert!(html.contains("public addresses only"), "{html}");
    assert!(html.contains("Address (URL):"), "the field's label: {html}");
    assert!(html.contains(&format!("value=\"{url}\"")), "the URL kept: {html}");
    assert!(
        html.contains("value=\"Local shop\"") && html.contains("value=\"healthy\""),
        "{html}"
    );
    assert!(html.contains("id=\"http-url\" name=\"url\""));
    let at = html.find("id=\"http-url\"").unwrap();
    assert!(html[at..at + 400].contains("aria-invalid=\"true\""), "the URL marked");
    // A TLS host that is loopback, too.
    let (s, html) = boss
        .post(
            "/app/admin/monitors",
            &[("kind", "tls"), ("host_port", "127.0.0.1:443")],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("public addresses only"), "{html}");
    assert!(html.contains("value=\"127.0.0.1:443\""), "{html}");

    // Validation: a number that is not one, a bad date, warn days too many.
    for (form, kept, says) in [
        (
            vec![
                ("kind", "http"),
                ("url", "https://shop.example.com/"),
                ("interval_s", "often"),
            ],
            "value=\"often\"",
            "Every (seconds): must be a whole number",
        ),
        (
            vec![("kind", "date"), ("label", "Renewal"), ("date", "2030-02-31")],
            "value=\"Renewal\"",
            "Date: must be a date",
        ),
        (
            vec![("kind", "domain"), ("domain", "example.com"), ("warn_days", "999")],
            "value=\"999\"",
            "Warn days before: must be a whole number from 1 to 365",
        ),
        (
            vec![("kind", "tls"), ("host_port", "shop.example.com:99999")],
            "value=\"shop.example.com:99999\"",
            "Host and port: must be a whole number",
        ),
    ] {
        let (s, html) = boss.post("/app/admin/monitors", &form).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{form:?}: {html}");
        assert!(html.contains(kept), "{form:?} kept: {html}");
        assert!(html.contains(says), "{form:?} says {says}: {html}");
    }
    // A kind that is not one, and junk, are refused without a 500.
    let (s, html) = boss.post("/app/admin/monitors", &[("kind", "ftp")]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    let long = "x".repeat(5000);
    let (s, _) = boss
        .post(
            "/app/admin/monitors",
            &[("kind", "http"), ("url", &long), ("expect_text", &long)],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(monitors(&app).await.is_empty());
}

async fn console_monitor_page_shows_history_and_chart(db: Db) {
    let app = TestApp::spawn(db).await;
    fast(&app);
    let (down, base) = site().await;
    let mut boss = admin(&app).await;
    boss.get("/app/admin/monitors").await;
    let id = made(
        boss.post(
            "/app/admin/monitors",
            &[
                ("kind", "http"),
                ("name", "Storefront"),
                ("url", &format!("{base}/health")),
                ("interval_s", "1"),
            ],
        )
        .await,
        "http",
    );
    wait_for(&app, id, "three checks", |m| {
        m["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["ok"] == true)
            .count()
            >= 3
    })
    .await;
    down.store(true, Ordering::SeqCst);
    let m = wait_for(&app, id, "down", |m| m["state"] == "down").await;
    let ticket = m["incident_ticket_id"].as_i64().unwrap();
    let (_, t) = app.get(&format!("/api/v1/tickets/{ticket}")).await;
    let number = t["number"].as_i64().unwrap();
    down.store(false, Ordering::SeqCst);
    wait_for(&app, id, "up again", |m| m["state"] == "up").await;
    // Stopped, so the page holds still.
    boss.post(&format!("/app/admin/monitors/{id}/active"), &[("on", "0")])
        .await;
    let (_, m) = app.get(&format!("/api/v1/monitors/{id}?limit=1000")).await;
    let checks = m["history"].as_array().unwrap().len();

    let (s, html) = boss.get(&format!("/app/admin/monitors/{id}")).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("<h1><bdi>Storefront</bdi></h1>"), "{html}");
    // The incident, linked.
    assert!(html.contains(&format!("href=\"/app/t/{number}\"")), "{html}");
    assert!(html.contains("Storefront: down"), "{html}");
    // The chart: an SVG with its accessible summary and a line.
    let svg_at = html.find("<svg class=\"ch\"").expect("the response-time chart");
    let svg = &html[svg_at..svg_at + html[svg_at..].find("</svg>").unwrap()];
    assert!(svg.contains("role=\"img\""), "{svg}");
    assert!(svg.contains("aria-label=\"Response time of the last"), "{svg}");
    assert!(svg.contains("class=\"ch-line ch-frt\""), "{svg}");
    assert!(!svg.contains("<script"), "{svg}");
    // The history: a row per check (up to 100), good and failed ones.
    let rows = html.matches("<tr class=\"chk-").count();
    assert_eq!(rows, checks.min(100), "{html}");
    assert!(html.contains("chk-fail") && html.contains("HTTP 503"), "{html}");
    assert!(html.contains("chk-ok") && html.contains(" ms</td>"), "{html}");
    // Uptime: 30 bars, today's in the table; this month in the months.
    assert_eq!(html.matches("<rect class=\"up-").count(), 30, "{html}");
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert!(html.contains(&format!("<td dir=\"ltr\">{today}</td>")), "{html}");
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    assert!(html.contains(&format!("<td dir=\"ltr\">{month}</td>")), "{html}");
    let percent = m["uptime"]["percent"].as_f64().unwrap();
    assert!(percent > 0.0 && percent < 100.0, "{}", m["uptime"]);
    // A monitor that does not exist, or an id that is not one.
    for p in [
        "/app/admin/monitors/999999",
        "/app/admin/monitors/abc",
        "/app/admin/monitors/-1",
    ] {
        let (s, _) = boss.get(p).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{p}");
    }
}

async fn console_monitors_are_for_the_workspaces_admins(db: Db) {
    let app = TestApp::spawn(db).await;
    fast(&app);
    let (s, m) = app
        .post(
            "/api/v1/monitors",
            json!({"kind": "date", "label": "Secret renewal", "date": "2031-01-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    let id = m["id"].as_i64().unwrap();

    // An agent who is not an admin: refused every page and form.
    let (_, mut ann) = agent(&app, "ann@acme.test", "Ann Agent", false).await;
    for p in ["/app/admin/monitors".to_string(), format!("/app/admin/monitors/{id}")] {
        let (s, html) = ann.get(&p).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{p}");
        assert!(!html.contains("Secret renewal"), "{p}");
    }
    ann.get("/app").await;
    for (p, form) in [
        (
            "/app/admin/monitors".to_string(),
            vec![("kind", "date"), ("label", "x"), ("date", "2030-01-01")],
        ),
        (format!("/app/admin/monitors/{id}/active"), vec![("on", "0")]),
        (format!("/app/admin/monitors/{id}/delete"), vec![]),
        ("/app/admin/monitors/status-page".to_string(), vec![("enabled", "1")]),
    ] {
        let (s, _) = ann.post(&p, &form).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{p}");
    }

    // Another workspace's admin: our monitor is not found, not listed,
    // and cannot be paused or deleted.
    let (_, _, other) = app.workspace("Other Shop").await;
    let (s, u) = app
        .call(
            Method::POST,
            "/api/v1/users",
            &other,
            Some(json!({"email": "owner@other.test", "name": "Other Owner", "password": PASSWORD, "role": "admin"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    let mut them = Console::login(&app.base, "owner@other.test", PASSWORD).await;
    let (s, html) = them.get("/app/admin/monitors").await;
    assert_eq!(s, StatusCode::OK);
    assert!(!html.contains("Secret renewal"), "{html}");
    let (s, html) = them.get(&format!("/app/admin/monitors/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{html}");
    assert!(!html.contains("Secret renewal"));
    for (p, form) in [
        (format!("/app/admin/monitors/{id}/active"), vec![("on", "0")]),
        (format!("/app/admin/monitors/{id}/delete"), vec![]),
    ] {
        let (s, _) = them.post(&p, &form).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{p}");
    }
    let (s, m) = app.get(&format!("/api/v1/monitors/{id}")).await;
    assert_eq!((s, &m["active"]), (StatusCode::OK, &json!(true)), "{m}");
}

async fn console_monitors_status_page_html_and_json(db: Db) {
    let app = TestApp::spawn(db).await;
    fast(&app);
    let (_, base) = site().await;
    let mut boss = admin(&app).await;
    boss.get("/app/admin/monitors").await;
    let id = made(
        boss.post(
            "/app/admin/monitors",
            &[
                ("kind", "http"),
                ("name", "Storefront"),
                ("url", &format!("{base}/health")),
                ("interval_s", "1"),
            ],
        )
        .await,
        "http",
    );
    wait_for(&app, id, "up", |m| m["state"] == "up").await;
    let (_, me) = app.get("/api/v1/me").await;
    let slug = me["workspace"]["slug"].as_str().unwrap().to_string();
    let page = format!("{}/p/{slug}/status", app.base);
    let get = |accept: &'static str, lang: &'static str| {
        let c = app.client.clone();
        let page = page.clone();
        async move {
            let r = c
                .get(&page)
                .header("accept", accept)
                .header("accept-language", lang)
                .send()
                .await
                .unwrap();
            let s = r.status();
            let ct = r
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default();
            (s, ct, crate::console::unescape(&r.text().await.unwrap()))
        }
    };
    const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

    // Off: not found, to browsers and to clients alike.
    let (s, ct, _) = get(BROWSER, "en").await;
    assert_eq!((s, ct.starts_with("text/html")), (StatusCode::NOT_FOUND, true));
    let (s, ct, body) = get("application/json", "en").await;
    assert_eq!(
        (s, ct.starts_with("application/json")),
        (StatusCode::NOT_FOUND, true),
        "{body}"
    );

    // Switched on from the monitors page.
    let (s, _) = boss.post("/app/admin/monitors/status-page", &[("enabled", "1")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, sp) = app.get("/api/v1/monitor-status-page").await;
    assert_eq!(
        (&sp["enabled"], &sp["show_targets"]),
        (&json!(true), &json!(false)),
        "{sp}"
    );
    let (_, html) = boss.get("/app/admin/monitors").await;
    assert!(html.contains(&format!("href=\"/p/{slug}/status\"")), "{html}");

    let (s, ct, html) = get(BROWSER, "en-GB,en;q=0.9").await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(ct.starts_with("text/html"), "{ct}");
    assert!(html.contains("<html lang=\"en\" dir=\"ltr\">"), "{html}");
    assert!(
        html.contains("Storefront") && html.contains("All systems are working."),
        "{html}"
    );
    assert_eq!(html.matches("<rect class=\"up-").count(), 30, "{html}");
    assert!(
        html.contains("aria-label=\"Uptime per day over the last 30 days"),
        "{html}"
    );
    assert!(!html.contains(&base), "no address unless allowed: {html}");
    assert!(
        !html.contains("acme.test") && !html.contains("owner"),
        "no personal data: {html}"
    );

    let (s, _, html) = get(BROWSER, "fa-IR,fa;q=0.9").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("<html lang=\"fa\" dir=\"rtl\">"), "{html}");
    assert!(html.contains("همهٔ سامانه‌ها کار می‌کنند."), "{html}");
    let html = app
        .client
        .get(format!("{page}?lang=ru"))
        .header("accept", "text/html")
        .header("accept-language", "fa")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Все системы работают."), "{html}");

    // JSON as before, to whoever does not ask for HTML.
    for accept in ["application/json", "*/*"] {
        let (s, ct, body) = get(accept, "fa").await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert!(ct.starts_with("application/json"), "{accept}: {ct}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["monitors"][0]["name"], "Storefront", "{v}");
        assert_eq!(v["all_up"], true, "{v}");
    }

    // Addresses when allowed; off again, gone.
    boss.post(
        "/app/admin/monitors/status-page",
        &[("enabled", "1"), ("show_targets", "1")],
    )
    .await;
    let (_, _, html) = get(BROWSER, "en").await;
    assert!(html.contains(&format!("{base}/health")), "{html}");
    boss.post("/app/admin/monitors/status-page", &[]).await;
    let (s, _, _) = get(BROWSER, "en").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = get("application/json", "en").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
