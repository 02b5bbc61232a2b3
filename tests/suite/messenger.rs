//! The generic messenger channel: a gateway posts customers' messages
//! signed with HMAC-SHA256 over "{timestamp}.{body}", and receives agents'
//! replies signed the same way, retried with backoff until it takes them.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as S};
use axum::routing::post;
use axum::Router;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use storedesk::domain::signature;

use crate::harness::{Db, TestApp};
use crate::telegram::until;

/// A gateway's receiver: checks every signature, fails the first `fail`
/// posts, and keeps what it took.
#[derive(Default)]
struct Receiver {
    secret: String,
    fail: usize,
    posts: usize,
    bad_signatures: usize,
    taken: Vec<Value>,
}

type Shared = Arc<Mutex<Receiver>>;

async fn receive(State(r): State<Shared>, headers: HeaderMap, body: axum::body::Bytes) -> S {
    let mut g = r.lock().unwrap();
    g.posts += 1;
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now().timestamp();
    if signature::verify_timestamped(
        g.secret.as_bytes(),
        &body,
        h("x-storedesk-timestamp"),
        h("x-storedesk-signature"),
        now,
    )
    .is_err()
    {
        g.bad_signatures += 1;
        return S::UNAUTHORIZED;
    }
    if g.fail > 0 {
        g.fail -= 1;
        return S::SERVICE_UNAVAILABLE;
    }
    g.taken.push(serde_json::from_slice(&body).unwrap());
    S::OK
}

async fn receiver() -> (String, Shared) {
    let r: Shared = Default::default();
    let app = Router::new().route("/out", post(receive)).with_state(r.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/out", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    (url, r)
}

/// Posts `body` to a connection's hook signed with `secret` at `ts`.
async fn post_signed(app: &TestApp, id: i64, secret: &str, ts: i64, body: &Value) -> (StatusCode, Value) {
    let raw = body.to_string();
    let sig = signature::sign(secret.as_bytes(), &signature::signed_bytes(ts, raw.as_bytes()));
    let r = app
        .client
        .post(format!("{}/hooks/messenger/{id}", app.base))
        .header("content-type", "application/json")
        .header("X-Storedesk-Timestamp", ts.to_string())
        .header("X-Storedesk-Signature", sig)
        .body(raw)
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn gateway_tickets(app: &TestApp) -> Vec<Value> {
    let (_, v) = app.get("/api/v1/tickets?limit=100").await;
    v["items"]
        .as_array()
        .or(v["tickets"].as_array())
        .unwrap()
        .iter()
        .filter(|t| t["channel"] == "messenger")
        .cloned()
        .collect()
}

async fn messages(app: &TestApp, ticket: i64) -> Vec<Value> {
    let (_, v) = app.get(&format!("/api/v1/tickets/{ticket}/messages")).await;
    v["items"].as_array().or(v["messages"].as_array()).unwrap().clone()
}

async fn messenger_gateway_round_trip(db: Db) {
    let app = TestApp::spawn(db).await;
    // The receiver is on loopback, which gateways may reach only when the
    // node allows private addresses (as webhooks).
    app.svc.webhooks.set_allow_private(true);
    let (url, rx) = receiver().await;
    let (s, v) = app
        .post(
            "/api/v1/channels/messenger",
            json!({ "name": "WhatsApp via X", "outbound_url": url }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["connection"]["id"].as_i64().unwrap();
    let secret = v["secret"].as_str().unwrap().to_string();
    assert_eq!(v["inbound_url"], format!("{}/hooks/messenger/{id}", app.base));
    rx.lock().unwrap().secret = secret.clone();
    rx.lock().unwrap().fail = 2;
    // The secret is shown once only.
    let (_, list) = app.get("/api/v1/channels/messenger").await;
    assert!(!list.to_string().contains(&secret));
    assert_eq!(list["connections"][0]["name"], "WhatsApp via X");

    let now = chrono::Utc::now().timestamp();
    let msg = json!({ "id": "wamid-1", "from": { "id": "+4915100000", "name": "Jo" }, "text": "Is it in stock?",
        "attachments": [ { "url": "https://cdn.example/x.jpg", "name": "x.jpg", "content_type": "image/jpeg" } ] });
    // Unsigned, wrongly signed, and stale posts are refused.
    let r = app
        .client
        .post(format!("{}/hooks/messenger/{id}", app.base))
        .json(&msg)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (s, _) = post_signed(&app, id, "not-the-secret", now, &msg).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, v) = post_signed(&app, id, &secret, now - 3600, &msg).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(v["error"]["message"].as_str().unwrap().contains("5 minutes"), "{v}");
    assert!(gateway_tickets(&app).await.is_empty());

    let (s, v) = post_signed(&app, id, &secret, now, &msg).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // The provider sends it again: one message.
    let (s, v) = post_signed(&app, id, &secret, now, &msg).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["duplicate"], true);
    let (s, _) = post_signed(
        &app,
        id,
        &secret,
        now,
        &json!({ "id": "wamid-2", "from": { "id": "+4915100000" }, "text": "Hello?" }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let ts = gateway_tickets(&app).await;
    assert_eq!(ts.len(), 1);
    assert_eq!(ts[0]["contact"]["name"], "Jo");
    let tid = ts[0]["id"].as_i64().unwrap();
    let ms = messages(&app, tid).await;
    assert_eq!(ms.len(), 2);
    assert!(ms[0]["body"].as_str().unwrap().contains("https://cdn.example/x.jpg"));
    // Malformed messages are refused with the field at fault.
    let (s, _) = post_signed(
        &app,
        id,
        &secret,
        now,
        &json!({ "id": "", "from": { "id": "+1" }, "text": "x" }),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // Two replies; the receiver fails twice, then takes each once, in order.
    for body in ["Yes, in stock.", "Shall I reserve one?"] {
        let (s, v) = app
            .post(
                &format!("/api/v1/tickets/{tid}/messages"),
                json!({ "body": body, "kind": "reply" }),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    until("both replies taken", || async {
        (rx.lock().unwrap().taken.len() >= 2).then_some(())
    })
    .await;
    let d = until("both deliveries sent", || async {
        let (_, v) = app.get(&format!("/api/v1/channels/messenger/{id}/deliveries")).await;
        let all = v["deliveries"].as_array().unwrap().clone();
        (all.len() == 2 && all.iter().all(|d| d["status"] == "sent")).then_some(all)
    })
    .await;
    let g = rx.lock().unwrap();
    assert_eq!(g.bad_signatures, 0);
    assert_eq!(g.posts, 4);
    assert_eq!(g.taken.len(), 2);
    assert_eq!(g.taken[0]["text"], "Yes, in stock.");
    assert_eq!(g.taken[1]["text"], "Shall I reserve one?");
    assert_eq!(g.taken[0]["to"]["id"], "+4915100000");
    assert_eq!(g.taken[0]["ticket"], ts[0]["number"]);
    // Newest first: the first reply took three tries.
    assert_eq!(d[1]["attempts"], 3);
}

async fn messenger_connections_are_the_workspaces_own(db: Db) {
    let app = TestApp::spawn(db).await;
    let (s, v) = app
        .post(
            "/api/v1/channels/messenger",
            json!({ "name": "Viber", "outbound_url": "ftp://example.com/x" }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, _) = app
        .post(
            "/api/v1/channels/messenger",
            json!({ "name": "", "outbound_url": "https://93.184.215.14/x" }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // Not into the server's own network (SSRF), as for webhooks.
    for url in [
        "http://127.0.0.1:8080/x",
        "http://10.0.0.7/x",
        "http://[::1]/x",
        "http://169.254.169.254/latest",
    ] {
        let (s, v) = app
            .post(
                "/api/v1/channels/messenger",
                json!({ "name": "Viber", "outbound_url": url }),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {v}");
        assert!(v["error"]["message"].as_str().unwrap().contains("outbound_url"), "{v}");
    }
    let (s, v) = app
        .post(
            "/api/v1/channels/messenger",
            json!({ "name": "Viber", "outbound_url": "https://93.184.215.14/x" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["connection"]["id"].as_i64().unwrap();
    let (_, agent) = app.agent("agent@acme.test", false).await;
    let (s, _) = app.call(Method::GET, "/api/v1/channels/messenger", &agent, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/channels/messenger/{id}"),
            &agent,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let (_, _, other) = app.workspace("Other Shop").await;
    let (_, v) = app.call(Method::GET, "/api/v1/channels/messenger", &other, None).await;
    assert_eq!(v["connections"].as_array().unwrap().len(), 0);
    let (s, _) = app
        .call(
            Method::GET,
            &format!("/api/v1/channels/messenger/{id}/deliveries"),
            &other,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/channels/messenger/{id}"),
            &other,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/channels/messenger/{id}"),
            &app.token,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = post_signed(&app, id, "x", chrono::Utc::now().timestamp(), &json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

crate::both_backends!(
    messenger_gateway_round_trip,
    messenger_connections_are_the_workspaces_own
);
