//! Site monitors against local servers only: an HTTP server (axum) that goes
//! down and comes back (one incident ticket, one resolution with a note),
//! text that does not match, a local HTTPS server whose certificate expires
//! in two days, an RDAP stub, a date entered by hand, two nodes running each
//! check once, the SSRF guard at creation and at check time, validation,
//! uptime from the history, and that another workspace sees none of it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode as AxStatus;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{Db, TestApp};

crate::both_backends!(
    monitors_open_and_resolve_one_incident,
    monitors_text_mismatch_is_down,
    monitors_tls_certificate_expiring,
    monitors_domain_and_date_expiring,
    monitors_run_once_across_two_nodes,
    monitors_ssrf_guard,
    monitors_refuse_bad_input,
    monitors_are_the_workspaces_own,
    monitors_status_page,
);

/// A site that answers 200 with `text`, or 503 while down; counts requests.
#[derive(Default)]
struct Site {
    down: AtomicBool,
    text: std::sync::Mutex<String>,
    requests: AtomicUsize,
}

async fn site() -> (Arc<Site>, String) {
    let st = Arc::new(Site {
        text: std::sync::Mutex::new("all healthy".into()),
        ..Default::default()
    });
    let app = axum::Router::new()
        .route(
            "/health",
            axum::routing::get(|State(s): State<Arc<Site>>| async move {
                s.requests.fetch_add(1, Ordering::SeqCst);
                if s.down.load(Ordering::SeqCst) {
                    (AxStatus::SERVICE_UNAVAILABLE, "down".to_string())
                } else {
                    (AxStatus::OK, s.text.lock().unwrap().clone())
                }
            }),
        )
        .route(
            "/moved",
            axum::routing::get(|| async { axum::response::Redirect::temporary("http://10.0.0.1/") }),
        )
        .with_state(st.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    (st, base)
}

/// Fast monitors that may probe loopback (tests only).
fn fast(s: &storedesk::monitors::Settings) {
    s.set_allow(vec!["127.0.0.0/8".parse().unwrap()]);
    s.set_min_interval_s(1);
    s.set_retry_ms(100);
    s.set_poll_ms(50);
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

async fn create(app: &TestApp, body: Value) -> i64 {
    let (s, m) = app.post("/api/v1/monitors", body).await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    m["id"].as_i64().unwrap()
}

async fn incidents(app: &TestApp, token: &str) -> Vec<Value> {
    let (s, v) = app
        .call(Method::GET, "/api/v1/tickets?channel=monitor&status=all", token, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["items"].as_array().unwrap().clone()
}

async fn event_types(app: &TestApp) -> Vec<String> {
    let (s, v) = app.get("/api/v1/events?limit=500").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

fn checks(m: &Value) -> usize {
    m["history"].as_array().unwrap().len()
}

async fn monitors_open_and_resolve_one_incident(db: Db) {
    let app = TestApp::spawn(db).await;
    fast(&app.svc.monitors);
    let (site, base) = site().await;
    let id = create(
        &app,
        json!({"kind": "http", "name": "Shop", "url": format!("{base}/health"), "interval_s": 1, "expect_text": "healthy", "timeout_ms": 900}),
    )
    .await;
    wait_for(&app, id, "up", |m| m["state"] == "up").await;
    site.down.store(true, Ordering::SeqCst);
    let m = wait_for(&app, id, "down", |m| m["state"] == "down").await;
    let ticket = m["incident_ticket_id"].as_i64().expect("an incident ticket");
    // It stays down for a few more checks: still one incident.
    let seen = checks(&m);
    wait_for(&app, id, "more checks", |m| checks(m) >= seen + 3).await;
    let open = incidents(&app, &app.token).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["id"].as_i64(), Some(ticket));
    assert_eq!(open[0]["channel"], "monitor");
    site.down.store(false, Ordering::SeqCst);
    let m = wait_for(&app, id, "up again", |m| m["state"] == "up").await;
    assert!(m["incident_ticket_id"].is_null(), "{m}");
    let all = incidents(&app, &app.token).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["status"], "resolved");
    let (s, msgs) = app.get(&format!("/api/v1/tickets/{ticket}/messages")).await;
    assert_eq!(s, StatusCode::OK, "{msgs}");
    let bodies: Vec<String> = msgs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["body"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(bodies.iter().any(|b| b.contains("is down")), "{bodies:?}");
    assert_eq!(
        bodies.iter().filter(|b| b.contains("is up again")).count(),
        1,
        "{bodies:?}"
    );
    let types = event_types(&app).await;
    assert_eq!(types.iter().filter(|t| *t == "monitor.down").count(), 1, "{types:?}");
    assert_eq!(types.iter().filter(|t| *t == "monitor.up").count(), 1, "{types:?}");
    // Uptime is the history's share of good checks (stopped first, so the
    // history holds still).
    let (s, _) = app
        .patch(&format!("/api/v1/monitors/{id}"), json!({"active": false}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, m) = app.get(&format!("/api/v1/monitors/{id}?limit=1000")).await;
    let history = m["history"].as_array().unwrap();
    let up = history.iter().filter(|c| c["ok"] == true).count() as f64;
    let expected = (up / history.len() as f64 * 10_000.0).round() / 100.0;
    assert_eq!(m["uptime"]["percent"].as_f64(), Some(expected), "{}", m["uptime"]);
    assert!(expected > 0.0 && expected < 100.0);
    assert!(
        history.iter().any(|c| c["ok"] == false && c["status"] == 503),
        "{history:?}"
    );
    assert!(history.iter().any(|c| c["ok"] == true && c["response_ms"].is_i64()));
}

async fn monitors_text_mismatch_is_down(db: Db) {
    let app = TestApp::spawn(db).await;
    fast(&app.svc.monitors);
    let (site, base) = site().await;
    *site.text.lock().unwrap() = "under maintenance".into();
    let id = create(
        &app,
        json!({"kind": "http", "url": format!("{base}/health"), "interval_s": 1, "expect_text": "healthy"}),
    )
    .await;
    let m = wait_for(&app, id, "down", |m| m["state"] == "down").await;
    assert!(m["last_error"].as_str().unwrap().contains("expected text"), "{m}");
    assert_eq!(incidents(&app, &app.token).await.len(), 1);
}

async fn monitors_tls_certificate_expiring(db: Db) {
    let app = TestApp::spawn(db).await;
    fast(&app.svc.monitors);
    // A certificate that expires in two days, served over TLS on loopback.
    let mut params = rcgen::CertificateParams::new(vec!["shop.test".to_string()]).unwrap();
    let now = std::time::SystemTime::now();
    params.not_before = (now - Duration::from_secs(86_400)).into();
    params.not_after = (now + Duration::from_secs(2 * 86_400)).into();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = l.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    let _ = tokio::io::AsyncWriteExt::shutdown(&mut tls).await;
                }
            });
        }
    });
    let id = create(
        &app,
        json!({"kind": "tls", "host": "127.0.0.1", "port": port, "warn_days": 14, "interval_s": 1}),
    )
    .await;
    let m = wait_for(&app, id, "expiring", |m| m["state"] == "expiring").await;
    let expires = chrono::DateTime::parse_from_rfc3339(m["expires_at"].as_str().unwrap()).unwrap();
    let left = expires.timestamp() - chrono::Utc::now().timestamp();
    assert!((86_400..3 * 86_400).contains(&left), "{m}");
    let open = incidents(&app, &app.token).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert!(event_types(&app).await.contains(&"monitor.expiring".to_string()));
}

async fn monitors_domain_and_date_expiring(db: Db) {
    let app = TestApp::spawn(db).await;
    fast(&app.svc.monitors);
    let soon = (chrono::Utc::now() + chrono::Duration::days(5)).to_rfc3339();
    let asked = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let rdap = axum::Router::new()
        .route(
            "/domain/{name}",
            axum::routing::get(
                |State((asked, soon)): State<(Arc<std::sync::Mutex<Vec<String>>>, String)>,
                 axum::extract::Path(name): axum::extract::Path<String>| async move {
                    asked.lock().unwrap().push(name.clone());
                    axum::Json(json!({
                        "objectClassName": "domain", "ldhName": name,
                        "events": [
                            {"eventAction": "registration", "eventDate": "2015-03-01T00:00:00Z"},
                            {"eventAction": "expiration", "eventDate": soon},
                        ]
                    }))
                },
            ),
        )
        .with_state((asked.clone(), soon));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    app.svc
        .monitors
        .set_rdap_url(&format!("http://{}/", l.local_addr().unwrap()));
    tokio::spawn(async move { axum::serve(l, rdap).await });
    let domain = create(
        &app,
        json!({"kind": "domain", "domain": "shop.example", "warn_days": 30, "interval_s": 1}),
    )
    .await;
    let m = wait_for(&app, domain, "expiring", |m| m["state"] == "expiring").await;
    assert!(m["expires_at"].is_string(), "{m}");
    assert_eq!(asked.lock().unwrap()[0], "shop.example");
    // A date entered by hand: due in three days, warned two weeks ahead.
    let date = (chrono::Utc::now() + chrono::Duration::days(3))
        .format("%Y-%m-%d")
        .to_string();
    let hosting = create(
        &app,
        json!({"kind": "date", "label": "Hosting renewal", "date": date, "warn_days": 14, "interval_s": 1}),
    )
    .await;
    wait_for(&app, hosting, "expiring", |m| m["state"] == "expiring").await;
    let open = incidents(&app, &app.token).await;
    assert_eq!(open.len(), 2, "{open:?}");
    assert!(open
        .iter()
        .any(|t| t["subject"].as_str().unwrap().contains("Hosting renewal")));
    // Renewed: the incident is resolved.
    let later = (chrono::Utc::now() + chrono::Duration::days(300))
        .format("%Y-%m-%d")
        .to_string();
    let (s, m) = app
        .patch(
            &format!("/api/v1/monitors/{hosting}"),
            json!({"date": later, "interval_s": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{m}");
    wait_for(&app, hosting, "up", |m| m["state"] == "up").await;
    let resolved = incidents(&app, &app.token)
        .await
        .into_iter()
        .filter(|t| t["status"] == "resolved")
        .count();
    assert_eq!(resolved, 1);
}

async fn monitors_run_once_across_two_nodes(db: Db) {
    let app = TestApp::spawn(db).await;
    fast(&app.svc.monitors);
    // A second node on the same database, with its own runner.
    app.serve_variant(|state| fast(&state.svc.monitors)).await;
    let (site, base) = site().await;
    let id = create(
        &app,
        json!({"kind": "http", "url": format!("{base}/health"), "interval_s": 1}),
    )
    .await;
    let m = wait_for(&app, id, "eight checks", |m| checks(m) >= 8).await;
    let recorded = checks(&m);
    let requests = site.requests.load(Ordering::SeqCst);
    // Each request is a recorded check (one may be in flight): a check run
    // by both nodes would double the requests.
    assert!(requests <= recorded + 2, "{requests} requests for {recorded} checks");
    let times: Vec<i64> = m["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            chrono::DateTime::parse_from_rfc3339(c["checked_at"].as_str().unwrap())
                .unwrap()
                .timestamp_millis()
        })
        .collect();
    let mut distinct = times.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), times.len());
}

async fn monitors_ssrf_guard(db: Db) {
    let app = TestApp::spawn(db).await;
    app.svc.monitors.set_min_interval_s(1);
    app.svc.monitors.set_retry_ms(100);
    app.svc.monitors.set_poll_ms(50);
    let (site, base) = site().await;
    let port = base.rsplit(':').next().unwrap().to_string();
    for (body, field) in [
        (json!({"kind": "http", "url": format!("{base}/health")}), "url"),
        (
            json!({"kind": "http", "url": format!("http://localhost:{port}/health")}),
            "url",
        ),
        (json!({"kind": "http", "url": "http://10.1.2.3/"}), "url"),
        (json!({"kind": "http", "url": "http://192.168.0.1/"}), "url"),
        (
            json!({"kind": "http", "url": "http://169.254.169.254/latest/meta-data/"}),
            "url",
        ),
        (json!({"kind": "http", "url": "http://[::1]/"}), "url"),
        (json!({"kind": "tls", "host": "127.0.0.1"}), "host"),
        (json!({"kind": "tls", "host": "169.254.1.1", "port": 443}), "host"),
    ] {
        let (s, v) = app.post("/api/v1/monitors", body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(v["error"]["code"], "invalid_field", "{v}");
        assert!(v["error"]["message"].as_str().unwrap().contains(field), "{v}");
    }
    assert_eq!(site.requests.load(Ordering::SeqCst), 0);
    // With the operator's allowance, loopback may be probed…
    app.svc.monitors.set_allow(vec!["127.0.0.0/8".parse().unwrap()]);
    let id = create(
        &app,
        json!({"kind": "http", "url": format!("{base}/health"), "interval_s": 1}),
    )
    .await;
    wait_for(&app, id, "up", |m| m["state"] == "up").await;
    // …but a redirect to a private address is not followed.
    let moved = create(
        &app,
        json!({"kind": "http", "url": format!("{base}/moved"), "interval_s": 1}),
    )
    .await;
    let m = wait_for(&app, moved, "down", |m| m["state"] == "down").await;
    assert!(m["last_error"].as_str().unwrap().contains("10.0.0.1"), "{m}");
    // Taken back: the next checks refuse the address before connecting.
    app.svc.monitors.set_allow(vec![]);
    let m = wait_for(&app, id, "refused at check time", |m| m["state"] == "down").await;
    assert!(
        m["last_error"].as_str().unwrap().contains("public addresses only"),
        "{m}"
    );
    // Another loopback network is not the one allowed.
    app.svc.monitors.set_allow(vec!["127.0.0.2/32".parse().unwrap()]);
    let (s, v) = app
        .post(
            "/api/v1/monitors",
            json!({"kind": "http", "url": format!("{base}/health")}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
}

async fn monitors_refuse_bad_input(db: Db) {
    let app = TestApp::spawn(db).await;
    app.svc.monitors.set_min_interval_s(30);
    for (body, field) in [
        (json!({"kind": "http", "url": "not a url"}), "url"),
        (json!({"kind": "http", "url": "ftp://shop.example.com/"}), "url"),
        (
            json!({"kind": "http", "url": "https://shop.example.com/", "interval_s": 10}),
            "interval_s",
        ),
        (
            json!({"kind": "http", "url": "https://shop.example.com/", "interval_s": "60"}),
            "interval_s",
        ),
        (json!({"kind": "ping", "url": "https://shop.example.com/"}), "kind"),
        (json!({"url": "https://shop.example.com/"}), "kind"),
        (
            json!({"kind": "http", "url": "https://shop.example.com/", "expect_text": "x".repeat(100_000)}),
            "expect_text",
        ),
        (
            json!({"kind": "http", "url": "https://shop.example.com/", "expect_status": 42}),
            "expect_status",
        ),
        (
            json!({"kind": "http", "url": "https://shop.example.com/", "timeout_ms": 120_000}),
            "timeout_ms",
        ),
        (
            json!({"kind": "http", "url": "https://shop.example.com/", "secret": 1}),
            "body",
        ),
        (json!({"kind": "tls", "host": "shop example"}), "host"),
        (json!({"kind": "domain", "domain": "localhost"}), "domain"),
        (
            json!({"kind": "date", "label": "Backups verified", "date": "31/12/2026"}),
            "date",
        ),
        (json!({"kind": "date", "date": "2026-12-31"}), "label"),
        (json!([1, 2]), "body"),
    ] {
        let (s, v) = app.post("/api/v1/monitors", body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap().starts_with(field),
            "{field}: {v}"
        );
    }
    let (s, v) = app.get("/api/v1/monitors").await;
    assert_eq!((s, v["items"].as_array().unwrap().len()), (StatusCode::OK, 0));
    // Agents read monitors; only admins make them.
    let (_, agent) = app.agent("agent@acme.test", false).await;
    let (s, v) = app
        .call(
            Method::POST,
            "/api/v1/monitors",
            &agent,
            Some(json!({"kind": "date", "label": "x", "date": "2030-01-01"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let id = create(&app, json!({"kind": "date", "label": "Hosting", "date": "2030-01-01"})).await;
    let (s, _) = app
        .call(Method::GET, &format!("/api/v1/monitors/{id}"), &agent, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = app
        .patch(&format!("/api/v1/monitors/{id}"), json!({"kind": "http"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = app.get(&format!("/api/v1/monitors/{id}?limit=0")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, _) = app.get("/api/v1/monitors/abc").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn monitors_are_the_workspaces_own(db: Db) {
    let app = TestApp::spawn(db).await;
    fast(&app.svc.monitors);
    let soon = (chrono::Utc::now() + chrono::Duration::days(2))
        .format("%Y-%m-%d")
        .to_string();
    let id = create(
        &app,
        json!({"kind": "date", "label": "Domain renewal", "date": soon, "interval_s": 1}),
    )
    .await;
    let m = wait_for(&app, id, "expiring", |m| m["state"] == "expiring").await;
    let ticket = m["incident_ticket_id"].as_i64().unwrap();
    let (_, _, other) = app.workspace("Other Shop").await;
    let path = format!("/api/v1/monitors/{id}");
    let (s, v) = app.call(Method::GET, &path, &other, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, v) = app
        .call(Method::PATCH, &path, &other, Some(json!({"name": "mine"})))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, v) = app.call(Method::DELETE, &path, &other, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, v) = app.call(Method::GET, "/api/v1/monitors", &other, None).await;
    assert_eq!((s, v["items"].as_array().unwrap().len()), (StatusCode::OK, 0), "{v}");
    assert!(incidents(&app, &other).await.is_empty());
    let (s, _) = app
        .call(Method::GET, &format!("/api/v1/tickets/{ticket}"), &other, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Still there for its own workspace, and deleted by it.
    let (s, m) = app.get(&path).await;
    assert_eq!((s, m["name"].as_str()), (StatusCode::OK, Some("Domain renewal")));
    let (s, _) = app.call(Method::DELETE, &path, &app.token, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app.get(&path).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn monitors_status_page(db: Db) {
    let app = TestApp::spawn(db).await;
    fast(&app.svc.monitors);
    let (_, base) = site().await;
    create(
        &app,
        json!({"kind": "http", "name": "Storefront", "url": format!("{base}/health"), "interval_s": 1}),
    )
    .await;
    let (s, ws) = app.get("/api/v1/me").await;
    assert_eq!(s, StatusCode::OK);
    let slug = ws["workspace"]["slug"]
        .as_str()
        .expect("the workspace's slug")
        .to_string();
    let page = format!("{}/p/{slug}/status", app.base);
    // Off by default: nothing to see.
    let r = app.client.get(&page).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let (_, agent) = app.agent("agent@acme.test", false).await;
    let (s, _) = app
        .call(
            Method::PUT,
            "/api/v1/monitor-status-page",
            &agent,
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = app
        .call(
            Method::PUT,
            "/api/v1/monitor-status-page",
            &app.token,
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut seen = Value::Null;
    for _ in 0..600 {
        let v: Value = app.client.get(&page).send().await.unwrap().json().await.unwrap();
        if v["monitors"][0]["state"] == "up" {
            seen = v;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen["monitors"][0]["name"], "Storefront", "{seen}");
    assert!(seen["monitors"][0]["uptime_30d"].is_number(), "{seen}");
    assert!(!seen.to_string().contains(&base), "no URL unless allowed: {seen}");
    let (s, _) = app
        .call(
            Method::PUT,
            "/api/v1/monitor-status-page",
            &app.token,
            Some(json!({"enabled": true, "show_targets": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let v: Value = app.client.get(&page).send().await.unwrap().json().await.unwrap();
    assert!(v["monitors"][0]["target"].as_str().unwrap().starts_with(&base), "{v}");
}
