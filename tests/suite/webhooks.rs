//! Outbound webhooks against a local receiver (axum) that checks every
//! signature: events arrive signed, once each and in order per ticket,
//! also through failures and retries; a slow receiver holds up only its
//! own subscription; replay, automatic disabling after persistent failure
//! (with its event and the admins' mail), rules' webhook action, what bad
//! input gets, and that another workspace sees none of it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxStatus};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use storedesk::domain::signature::verify;

use crate::harness::{Db, TestApp};

crate::both_backends!(
    webhooks_deliver_signed_events_once,
    webhooks_retry_in_order_per_ticket,
    webhooks_slow_receiver_holds_up_only_its_own,
    webhooks_refuse_bad_input,
    webhooks_replay_a_delivery,
    webhooks_disable_after_persistent_failure,
    webhooks_rule_action_delivers,
    webhooks_are_the_workspaces_own,
    webhooks_console_page,
    webhooks_two_nodes_send_each_delivery_once,
    webhooks_check_the_address_again_before_sending,
);

/// One delivery the receiver accepted.
#[derive(Debug, Clone)]
struct Got {
    delivery: i64,
    event_id: i64,
    kind: String,
    ticket: Option<i64>,
    body: Value,
}

#[derive(Default)]
struct Rx {
    secret: Mutex<String>,
    /// Answer 500 to this many requests first.
    fail_left: AtomicUsize,
    /// Answer 500 to every request.
    always_fail: std::sync::atomic::AtomicBool,
    /// Never answer (until the test ends).
    hang: std::sync::atomic::AtomicBool,
    requests: AtomicUsize,
    bad_signatures: AtomicUsize,
    got: Mutex<Vec<Got>>,
}

impl Rx {
    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }
}

async fn receive(State(rx): State<Arc<Rx>>, headers: HeaderMap, body: Bytes) -> (AxStatus, String) {
    rx.requests.fetch_add(1, Ordering::SeqCst);
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let secret = rx.secret.lock().unwrap().clone();
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let headers_agree = h("x-storedesk-event") == v["type"].as_str().unwrap_or("?")
        && h("x-storedesk-delivery").parse::<i64>().ok() == v["id"].as_i64()
        && h("x-storedesk-timestamp").parse::<i64>().ok() == v["timestamp"].as_i64()
        && h("user-agent").starts_with("storedesk-webhooks/")
        && h("content-type") == "application/json";
    if !verify(secret.as_bytes(), &body, &h("x-storedesk-signature")) || !headers_agree {
        rx.bad_signatures.fetch_add(1, Ordering::SeqCst);
        return (AxStatus::BAD_REQUEST, "bad signature".into());
    }
    if rx.hang.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    if rx.always_fail.load(Ordering::SeqCst)
        || rx
            .fail_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    {
        return (AxStatus::INTERNAL_SERVER_ERROR, "receiver down for maintenance".into());
    }
    rx.got.lock().unwrap().push(Got {
        delivery: v["id"].as_i64().unwrap(),
        event_id: v["event"]["id"].as_i64().unwrap(),
        kind: v["type"].as_str().unwrap().to_string(),
        ticket: v["event"]["ticket_id"].as_i64(),
        body: v,
    });
    (AxStatus::OK, "thanks".into())
}

/// A receiver on a local port; returns it and its URL.
async fn receiver() -> (Arc<Rx>, String) {
    let rx = Arc::new(Rx::default());
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .route(
            "/moved",
            axum::routing::post(|| async { (AxStatus::TEMPORARY_REDIRECT, [("location", "/hook")], "") }),
        )
        .with_state(rx.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    (rx, url)
}

/// An app whose webhooks may reach the local receiver and retry within
/// milliseconds.
async fn app(db: Db) -> TestApp {
    let app = TestApp::spawn(db).await;
    let w = &app.svc.webhooks;
    w.set_allow_private(true);
    w.set_windows(
        Duration::from_millis(20),
        Duration::from_millis(200),
        Duration::from_secs(86_400),
    );
    w.set_poll(Duration::from_millis(50));
    app
}

/// Subscribes `rx` at `url` to `events` with a fixed secret.
async fn subscribe(app: &TestApp, rx: &Rx, url: &str, events: Value) -> i64 {
    let secret = format!("s3cret-{:x}-webhook", rand::random::<u64>());
    let (s, h) = app
        .post(
            "/api/v1/webhooks",
            json!({ "url": url, "events": events, "secret": secret }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{h}");
    assert_eq!(h["secret"], secret.as_str());
    *rx.secret.lock().unwrap() = secret;
    h["id"].as_i64().unwrap()
}

/// Waits (up to ~20 s) until `done` holds.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..400 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not within 20 s: {what}");
}

async fn reply(app: &TestApp, ticket: i64, body: &str) {
    let (s, m) = app
        .post(&format!("/api/v1/tickets/{ticket}/messages"), json!({ "body": body }))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
}

/// The first workspace's event feed, by event id.
async fn feed(app: &TestApp) -> std::collections::HashMap<i64, Value> {
    let (s, v) = app.get("/api/v1/events?limit=500").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["id"].as_i64().unwrap(), e.clone()))
        .collect()
}

async fn deliveries(app: &TestApp, hook: i64) -> Vec<Value> {
    let (s, v) = app.get(&format!("/api/v1/webhooks/{hook}/deliveries")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["items"].as_array().unwrap().clone()
}

/// Each event once; per ticket in event order.
fn once_and_in_order(got: &[Got]) {
    let mut ids: Vec<i64> = got.iter().map(|g| g.event_id).collect();
    ids.sort_unstable();
    let n = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), n, "an event arrived twice: {got:?}");
    let mut tickets: Vec<i64> = got.iter().filter_map(|g| g.ticket).collect();
    tickets.sort_unstable();
    tickets.dedup();
    for t in tickets {
        let seq: Vec<i64> = got.iter().filter(|g| g.ticket == Some(t)).map(|g| g.event_id).collect();
        assert!(seq.windows(2).all(|w| w[0] < w[1]), "ticket {t} out of order: {seq:?}");
    }
}

async fn webhooks_deliver_signed_events_once(db: Db) {
    let app = app(db).await;
    let (rx, url) = receiver().await;
    let hook = subscribe(&app, &rx, &url, json!(["ticket.created", "message.created"])).await;
    let mut tickets = Vec::new();
    for i in 0..3 {
        let t = app
            .ticket(&format!("Order {i} late"), &format!("shopper{i}@example.com"))
            .await;
        let id = t["id"].as_i64().unwrap();
        reply(&app, id, "On its way").await;
        tickets.push(id);
    }
    // An event type it did not ask for: a status change.
    let (s, _) = app
        .patch(
            &format!("/api/v1/tickets/{}", tickets[0]),
            json!({ "status": "pending" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    app.consumed("webhooks").await;
    let feed = feed(&app).await;
    let wanted: Vec<i64> = feed
        .values()
        .filter(|e| matches!(e["type"].as_str(), Some("ticket.created" | "message.created")))
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert!(wanted.len() >= 6, "{feed:?}");
    until("every event delivered", || rx.got().len() >= wanted.len()).await;
    let got = rx.got();
    assert_eq!(rx.bad_signatures.load(Ordering::SeqCst), 0);
    assert_eq!(got.len(), wanted.len(), "{got:?}");
    once_and_in_order(&got);
    for g in &got {
        // The event as the feed shows it, in an envelope with a timestamp.
        assert_eq!(g.body["event"], feed[&g.event_id], "{}", g.body);
        assert_eq!(g.kind, feed[&g.event_id]["type"]);
        assert!(g.body["created_at"].is_string() && g.body["timestamp"].as_i64().unwrap() > 1_600_000_000);
    }
    assert!(!got.iter().any(|g| g.kind == "ticket.updated"));
    // The log: delivered, HTTP 200, the answer's start.
    let log = deliveries(&app, hook).await;
    assert_eq!(log.len(), got.len());
    for d in &log {
        assert_eq!(d["state"], "delivered", "{d}");
        assert_eq!(d["response_status"], 200);
        assert_eq!(d["response_excerpt"], "thanks");
        assert_eq!(d["attempts"], 1);
        assert!(got.iter().any(|g| g.delivery == d["id"].as_i64().unwrap()));
    }
    // The secret is never shown back.
    let (_, list) = app.get("/api/v1/webhooks").await;
    let (_, one) = app.get(&format!("/api/v1/webhooks/{hook}")).await;
    let secret = rx.secret.lock().unwrap().clone();
    for v in [&list, &one] {
        assert!(!v.to_string().contains(&secret), "{v}");
    }
    assert_eq!(one["url"], url.as_str());
    assert_eq!(one["events"], json!(["ticket.created", "message.created"]));
    assert_eq!(one["active"], true);
    // A subscription made without a secret gets one, shown this once.
    let (s, h) = app
        .post("/api/v1/webhooks", json!({ "url": url, "events": ["*"] }))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{h}");
    let made = h["secret"].as_str().unwrap();
    assert!(made.len() >= 32);
    let (_, again) = app.get(&format!("/api/v1/webhooks/{}", h["id"])).await;
    assert!(again.get("secret").is_none() && !again.to_string().contains(made));
}

async fn webhooks_retry_in_order_per_ticket(db: Db) {
    let app = app(db).await;
    let (rx, url) = receiver().await;
    rx.fail_left.store(3, Ordering::SeqCst);
    let hook = subscribe(&app, &rx, &url, json!(["*"])).await;
    let a = app.ticket("Wrong size", "ann@example.com").await["id"]
        .as_i64()
        .unwrap();
    let b = app.ticket("Refund", "bob@example.com").await["id"].as_i64().unwrap();
    for i in 0..3 {
        reply(&app, a, &format!("a{i}")).await;
        reply(&app, b, &format!("b{i}")).await;
    }
    app.consumed("webhooks").await;
    let log = deliveries(&app, hook).await;
    let n = log.len();
    assert!(n >= 8, "{log:?}");
    until("every event delivered after the failures", || rx.got().len() >= n).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = rx.got();
    assert_eq!(got.len(), n, "{got:?}");
    assert_eq!(rx.bad_signatures.load(Ordering::SeqCst), 0);
    assert_eq!(rx.requests.load(Ordering::SeqCst), n + 3);
    once_and_in_order(&got);
    let log = deliveries(&app, hook).await;
    assert!(log.iter().all(|d| d["state"] == "delivered"), "{log:?}");
    let tries: i64 = log.iter().map(|d| d["attempts"].as_i64().unwrap()).sum();
    assert_eq!(tries as usize, n + 3);
    assert!(log.iter().any(|d| d["attempts"].as_i64().unwrap() > 1));
}

async fn webhooks_slow_receiver_holds_up_only_its_own(db: Db) {
    let app = app(db).await;
    let (slow, slow_url) = receiver().await;
    slow.hang.store(true, Ordering::SeqCst);
    let (fast, fast_url) = receiver().await;
    subscribe(&app, &slow, &slow_url, json!(["ticket.created"])).await;
    // Both receivers check signatures with their own secret.
    let (s, h) = app
        .post(
            "/api/v1/webhooks",
            json!({ "url": fast_url, "events": ["ticket.created"], "secret": "fast-receiver-secret-1" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{h}");
    *fast.secret.lock().unwrap() = "fast-receiver-secret-1".into();
    for i in 0..6 {
        app.ticket(&format!("Question {i}"), &format!("q{i}@example.com")).await;
    }
    until("the fast receiver has every ticket", || fast.got().len() == 6).await;
    assert!(slow.got().is_empty());
    assert!(slow.requests.load(Ordering::SeqCst) >= 1);
    assert_eq!(fast.bad_signatures.load(Ordering::SeqCst), 0);
}

async fn webhooks_refuse_bad_input(db: Db) {
    let app = TestApp::spawn(db).await;
    let post = |body: Value| app.post("/api/v1/webhooks", body);
    let msg = |v: &Value| v["error"]["message"].as_str().unwrap_or("").to_string();
    // Private and loopback receivers, by address or by name, unless allowed.
    for url in [
        "http://127.0.0.1:9/x",
        "http://localhost:9/x",
        "http://10.0.0.1/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x",
    ] {
        let (s, v) = post(json!({ "url": url, "events": ["ticket.created"] })).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {v}");
        assert!(msg(&v).contains("public addresses only"), "{url}: {v}");
    }
    for (body, says) in [
        (
            json!({ "url": "ftp://example.com/x", "events": ["ticket.created"] }),
            "http",
        ),
        (json!({ "url": "not a url", "events": ["ticket.created"] }), "not a URL"),
        (
            json!({ "url": "https://u:p@example.com/", "events": ["ticket.created"] }),
            "password",
        ),
        (json!({ "events": ["ticket.created"] }), "url"),
        (
            json!({ "url": "https://example.com/", "events": ["ticket.created", "ticket.exploded", "nope"] }),
            "unknown event type(s): ticket.exploded, nope",
        ),
        (json!({ "url": "https://example.com/", "events": [] }), "events"),
        (
            json!({ "url": "https://example.com/", "events": "ticket.created" }),
            "events",
        ),
        (
            json!({ "url": "https://example.com/", "events": ["*"], "secret": "short" }),
            "16",
        ),
        (
            json!({ "url": "https://example.com/", "events": ["*"], "colour": "red" }),
            "colour",
        ),
    ] {
        let (s, v) = post(body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert!(msg(&v).contains(says), "{body}: {v}");
    }
    // Allowed for this node: made.
    app.svc.webhooks.set_allow_private(true);
    let (s, h) = post(json!({ "url": "http://127.0.0.1:9/x", "events": ["ticket.created"] })).await;
    assert_eq!(s, StatusCode::CREATED, "{h}");
    let id = h["id"].as_i64().unwrap();
    // A change is checked too; the secret cannot be changed or read.
    let path = format!("/api/v1/webhooks/{id}");
    let (s, v) = app.patch(&path, json!({ "events": ["ticket.nope"] })).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(msg(&v).contains("ticket.nope"));
    let (s, v) = app.patch(&path, json!({ "secret": "0123456789abcdefgh" })).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = app.patch(&path, json!({ "active": "yes" })).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = app
        .patch(&path, json!({ "active": false, "events": ["message.created"] }))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["active"], false);
    assert_eq!(v["events"], json!(["message.created"]));
    for bad in ["/api/v1/webhooks/abc", "/api/v1/webhooks/0", "/api/v1/webhooks/99999"] {
        assert_eq!(app.get(bad).await.0, StatusCode::NOT_FOUND, "{bad}");
    }
    let (s, _) = app.get(&format!("{path}/deliveries?limit=0")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // Agents may not.
    let (_, agent) = app.agent("agent@acme.test", false).await;
    for (m, p) in [
        (Method::GET, "/api/v1/webhooks".to_string()),
        (Method::GET, path.clone()),
        (Method::DELETE, path.clone()),
        (Method::GET, format!("{path}/deliveries")),
    ] {
        let (s, v) = app.call(m, &p, &agent, None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{p}: {v}");
    }
    let (s, _) = app
        .call(
            Method::POST,
            "/api/v1/webhooks",
            &agent,
            Some(json!({ "url": "https://example.com/", "events": ["*"] })),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        app.call(Method::DELETE, &path, &app.token, None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.get(&path).await.0, StatusCode::NOT_FOUND);
}

async fn webhooks_replay_a_delivery(db: Db) {
    let app = app(db).await;
    let (rx, url) = receiver().await;
    let hook = subscribe(&app, &rx, &url, json!(["ticket.created"])).await;
    app.ticket("Broken zip", "zip@example.com").await;
    until("delivered", || rx.got().len() == 1).await;
    let first = rx.got()[0].clone();
    let (s, d) = app
        .post(
            &format!("/api/v1/webhooks/{hook}/deliveries/{}/replay", first.delivery),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{d}");
    assert_eq!(d["origin"], "replay");
    assert_eq!(d["state"], "pending");
    until("replayed", || rx.got().len() == 2).await;
    let again = rx.got()[1].clone();
    assert_eq!(again.event_id, first.event_id);
    assert_eq!(again.body["event"], first.body["event"]);
    assert_eq!(again.delivery, d["id"].as_i64().unwrap());
    assert_ne!(again.delivery, first.delivery);
    let (s, _) = app
        .post(&format!("/api/v1/webhooks/{hook}/deliveries/99999/replay"), json!({}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn webhooks_disable_after_persistent_failure(db: Db) {
    let app = app(db).await;
    let (rx, url) = receiver().await;
    rx.always_fail.store(true, Ordering::SeqCst);
    // Windows of milliseconds stand in for the day of retries.
    app.svc.webhooks.set_windows(
        Duration::from_millis(10),
        Duration::from_millis(50),
        Duration::from_millis(400),
    );
    app.svc.webhooks.set_disable(Duration::from_millis(300), 1000);
    let hook = subscribe(&app, &rx, &url, json!(["ticket.created"])).await;
    app.ticket("Never arrives", "lost@example.com").await;
    let path = format!("/api/v1/webhooks/{hook}");
    let mut off = Value::Null;
    for _ in 0..400 {
        let (_, h) = app.get(&path).await;
        if h["active"] == false {
            off = h;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(off["active"], false, "not switched off");
    assert!(off["disabled_reason"].as_str().unwrap().contains("failed"), "{off}");
    let log = deliveries(&app, hook).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["state"], "failed");
    assert_eq!(log[0]["response_status"], 500);
    assert_eq!(log[0]["response_excerpt"], "receiver down for maintenance");
    assert!(log[0]["attempts"].as_i64().unwrap() >= 2, "{log:?}");
    // The event, and a mail to the admins through the outbox.
    let feed = feed(&app).await;
    let disabled: Vec<&Value> = feed.values().filter(|e| e["type"] == "webhook.disabled").collect();
    assert_eq!(disabled.len(), 1, "{feed:?}");
    assert_eq!(disabled[0]["changes"]["webhook_id"], hook);
    let (_, outbox) = app.get("/api/v1/outbox").await;
    let mails: Vec<&Value> = outbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "webhook_disabled")
        .collect();
    assert_eq!(mails.len(), 1, "{outbox}");
    assert!(mails[0]["subject"].as_str().unwrap().contains("switched off"));
    // Off: new events are not queued. On again (after the receiver is fixed): they are.
    rx.always_fail.store(false, Ordering::SeqCst);
    app.ticket("While off", "off@example.com").await;
    app.consumed("webhooks").await;
    assert_eq!(deliveries(&app, hook).await.len(), 1);
    let (s, h) = app.patch(&path, json!({ "active": true })).await;
    assert_eq!(s, StatusCode::OK, "{h}");
    assert!(h["disabled_reason"].is_null() && h["failing_since"].is_null());
    app.ticket("After", "after@example.com").await;
    until("delivered once on again", || rx.got().len() == 1).await;
}

async fn webhooks_rule_action_delivers(db: Db) {
    let app = app(db).await;
    let (rx, url) = receiver().await;
    // The subscription takes no events of its own: only the rule sends.
    let hook = subscribe(&app, &rx, &url, json!(["webhook.disabled"])).await;
    let (s, r) = app
        .post(
            "/api/v1/rules",
            json!({
                "name": "VIP to the CRM",
                "event": "ticket.created",
                "conditions": { "all": [{ "field": "subject", "op": "contains", "value": "VIP" }] },
                "actions": [{ "type": "webhook", "webhook_id": hook }],
            }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    app.ticket("Regular question", "reg@example.com").await;
    let vip = app.ticket("VIP order", "vip@example.com").await["id"].as_i64().unwrap();
    until("the rule's delivery", || !rx.got().is_empty()).await;
    app.consumed("rules").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = rx.got();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].kind, "ticket.created");
    assert_eq!(got[0].ticket, Some(vip));
    let log = deliveries(&app, hook).await;
    assert_eq!(log[0]["origin"], "rule");
    // A rule may only name a webhook of its own workspace.
    for bad in [
        json!({ "type": "webhook", "webhook_id": 99999 }),
        json!({ "type": "webhook" }),
    ] {
        let (s, v) = app
            .post(
                "/api/v1/rules",
                json!({ "name": "bad", "event": "ticket.created", "conditions": { "all": [] }, "actions": [bad] }),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(v["error"]["message"].as_str().unwrap().contains("webhook"), "{v}");
    }
    let (_, _, other) = app.workspace("Other Shop").await;
    let (s, v) = app
        .call(
            Method::POST,
            "/api/v1/rules",
            &other,
            Some(
                json!({ "name": "theirs", "event": "ticket.created", "conditions": { "all": [] },
                         "actions": [{ "type": "webhook", "webhook_id": hook }] }),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
}

async fn webhooks_are_the_workspaces_own(db: Db) {
    let app = app(db).await;
    let (rx, url) = receiver().await;
    let hook = subscribe(&app, &rx, &url, json!(["*"])).await;
    app.ticket("Ours", "ours@example.com").await;
    until("delivered", || !rx.got().is_empty()).await;
    let delivery = rx.got()[0].delivery;
    let (other_ws, _, other) = app.workspace("Other Shop").await;
    let path = format!("/api/v1/webhooks/{hook}");
    let tries = [
        (Method::GET, path.clone(), None),
        (Method::PATCH, path.clone(), Some(json!({ "active": false }))),
        (Method::DELETE, path.clone(), None),
        (Method::GET, format!("{path}/deliveries"), None),
        (
            Method::POST,
            format!("{path}/deliveries/{delivery}/replay"),
            Some(json!({})),
        ),
    ];
    for (m, p, body) in tries {
        let (s, v) = app.call(m.clone(), &p, &other, body).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{m} {p}: {v}");
    }
    let (s, list) = app.call(Method::GET, "/api/v1/webhooks", &other, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["items"], json!([]));
    // Their events never reach our subscription.
    let (s, t) = app
        .call(
            Method::POST,
            "/api/v1/tickets",
            &other,
            Some(json!({ "subject": "Theirs", "message": "x", "contact": { "email": "t@example.com" } })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    app.ticket("Ours again", "ours2@example.com").await;
    app.consumed("webhooks").await;
    until("ours delivered", || {
        rx.got().iter().filter(|g| g.kind == "ticket.created").count() == 2
    })
    .await;
    let theirs = t["id"].as_i64().unwrap();
    assert!(rx.got().iter().all(|g| g.ticket != Some(theirs)), "{other_ws}");
    let (_, one) = app.get(&path).await;
    assert_eq!(one["active"], true);
}

async fn webhooks_console_page(db: Db) {
    let app = app(db).await;
    let (rx, url) = receiver().await;
    let mut admin = crate::console::admin(&app).await;
    let (s, _) = admin.get("/app/webhooks").await;
    assert_eq!(s, StatusCode::SEE_OTHER, "the short address leads to the admin page");
    let (s, page) = admin.get("/app/admin/webhooks").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("No webhooks yet."), "{page}");
    assert!(
        page.contains("href=\"/app/admin/webhooks\""),
        "linked from the admin navigation"
    );
    // Made from the form: its secret is on the answer, once.
    let secret = "console-made-secret-0123";
    let (s, made) = admin
        .post(
            "/app/admin/webhooks",
            &[("url", url.as_str()), ("events", "ticket.created"), ("secret", secret)],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{made}");
    assert!(made.contains(secret) && made.contains("not shown again"), "{made}");
    *rx.secret.lock().unwrap() = secret.into();
    let (_, list) = app.get("/api/v1/webhooks").await;
    let hook = list["items"][0]["id"].as_i64().unwrap();
    let (_, page) = admin.get("/app/admin/webhooks").await;
    assert!(page.contains(&url) && !page.contains(secret), "{page}");
    // A bad one goes back with the reason.
    let (s, back) = admin
        .post(
            "/app/admin/webhooks",
            &[("url", "http://x.test/"), ("events", "ticket.nope")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{back}");
    assert!(back.contains("err="), "{back}");
    // Deliveries with the receiver's answer, and a replay.
    app.ticket("From the console", "console@example.com").await;
    until("delivered", || rx.got().len() == 1).await;
    let (_, log) = admin.get(&format!("/app/admin/webhooks?show={hook}")).await;
    assert!(
        log.contains("ticket.created") && log.contains("HTTP 200") && log.contains("Delivered"),
        "{log}"
    );
    let delivery = rx.got()[0].delivery;
    let (s, _) = admin
        .post(&format!("/app/admin/webhooks/{hook}/deliveries/{delivery}/replay"), &[])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    until("replayed", || rx.got().len() == 2).await;
    // The rule editor offers it as an action.
    let (_, editor) = admin.get("/app/admin/rules/new").await;
    assert!(
        editor.contains("Send the event to a webhook") && editor.contains(&url),
        "{editor}"
    );
    // Switched off and deleted from the page.
    let (s, _) = admin
        .post(&format!("/app/admin/webhooks/{hook}/active"), &[("on", "0")])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(app.get(&format!("/api/v1/webhooks/{hook}")).await.1["active"], false);
    let (s, _) = admin.post(&format!("/app/admin/webhooks/{hook}/delete"), &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get(&format!("/api/v1/webhooks/{hook}")).await.0,
        StatusCode::NOT_FOUND
    );
    // Not for agents.
    let (_, mut agent) = crate::console::agent(&app, "kate@acme.test", "Kate", false).await;
    let (s, _) = agent.get("/app/admin/webhooks").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

async fn webhooks_two_nodes_send_each_delivery_once(db: Db) {
    let app = app(db).await;
    // A second node on the same database, with its own sender.
    app.serve_variant(|state| {
        let w = &state.svc.webhooks;
        w.set_allow_private(true);
        w.set_windows(
            Duration::from_millis(20),
            Duration::from_millis(200),
            Duration::from_secs(86_400),
        );
        w.set_poll(Duration::from_millis(20));
    })
    .await;
    let (rx, url) = receiver().await;
    rx.fail_left.store(2, Ordering::SeqCst);
    let hook = subscribe(&app, &rx, &url, json!(["ticket.created", "message.created"])).await;
    let mut tickets = Vec::new();
    for i in 0..8 {
        let id = app.ticket(&format!("Parcel {i}"), &format!("p{i}@example.com")).await["id"]
            .as_i64()
            .unwrap();
        tickets.push(id);
    }
    for t in &tickets {
        reply(&app, *t, "Looking into it").await;
    }
    app.consumed("webhooks").await;
    let n = deliveries(&app, hook).await.len();
    assert!(n >= 24, "{n}");
    until("every delivery made by one of the nodes", || rx.got().len() >= n).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = rx.got();
    assert_eq!(got.len(), n);
    assert_eq!(rx.requests.load(Ordering::SeqCst), n + 2);
    assert_eq!(rx.bad_signatures.load(Ordering::SeqCst), 0);
    once_and_in_order(&got);
}

async fn webhooks_check_the_address_again_before_sending(db: Db) {
    let app = app(db).await;
    let (rx, url) = receiver().await;
    let hook = subscribe(&app, &rx, &url, json!(["ticket.created"])).await;
    // The node stops allowing private receivers: what was saved before is
    // refused at delivery, not sent.
    app.svc.webhooks.set_allow_private(false);
    app.ticket("Sneaky", "sneaky@example.com").await;
    let mut log = Vec::new();
    for _ in 0..400 {
        log = deliveries(&app, hook).await;
        if log.first().is_some_and(|d| d["attempts"].as_i64().unwrap_or(0) >= 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let error = log[0]["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("public addresses only"), "{log:?}");
    assert_eq!(log[0]["state"], "pending", "tried again later: {log:?}");
    assert_eq!(rx.requests.load(Ordering::SeqCst), 0);
    // Redirects are not followed: a receiver that moved says so in the log.
    let (s, _) = app
        .call(Method::DELETE, &format!("/api/v1/webhooks/{hook}"), &app.token, None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    app.svc.webhooks.set_allow_private(true);
    let (rx, url) = receiver().await;
    let moved = url.replace("/hook", "/moved");
    let hook = subscribe(&app, &rx, &moved, json!(["ticket.created"])).await;
    app.ticket("Moved", "moved@example.com").await;
    let mut log = Vec::new();
    for _ in 0..400 {
        log = deliveries(&app, hook).await;
        if log.first().is_some_and(|d| d["attempts"].as_i64().unwrap_or(0) >= 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(log[0]["response_status"], 307, "{log:?}");
    assert!(log[0]["last_error"]
        .as_str()
        .unwrap()
        .contains("redirects are not followed"));
    assert_eq!(rx.requests.load(Ordering::SeqCst), 0);
}
