//! Proactive campaigns over HTTP: the admin API (validation, access,
//! another workspace's campaigns and visitors out of reach), page views
//! answered with eligible campaigns, caps, the holdout, store events with
//! their bounds, and results that count shown, opened, replied, converted.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{Db, TestApp};

crate::both_backends!(
    campaigns_api_validation_and_isolation,
    campaigns_flow_counts_results_and_caps,
    campaigns_holdout_and_audience,
    campaigns_events_are_bounded_and_scoped,
);

const SLUG: &str = "acme-shop";

fn campaign(name: &str) -> Value {
    json!({
        "name": name, "active": true,
        "trigger": { "type": "time_on_page", "seconds": 2 },
        "variants": [
            { "name": "A", "message": { "en": "Free shipping over 50 EUR today!", "de": "Heute versandkostenfrei!" } },
            { "name": "B", "message": { "en": "Need help choosing?" } }
        ],
        "goal_event": "order_completed", "goal_hours": 24, "cap_days": 7
    })
}

async fn create(app: &TestApp, body: Value) -> i64 {
    let (s, c) = app.post("/api/v1/campaigns", body).await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    c["id"].as_i64().unwrap()
}

/// A public call as the widget makes it: JSON in a text/plain body.
async fn public(app: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
    let r = app
        .client
        .post(format!("{}{path}", app.base))
        .header("content-type", "text/plain")
        .header("accept-language", "de-AT,de;q=0.9")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let s = r.status();
    assert_ne!(s, StatusCode::INTERNAL_SERVER_ERROR);
    (s, r.json().await.unwrap_or(Value::Null))
}

/// A page view; returns the visitor token and the offered campaigns' ids.
async fn view(app: &TestApp, token: Option<&str>, url: &str) -> (String, Vec<Value>) {
    let (s, v) = public(
        app,
        &format!("/api/widget/{SLUG}/page"),
        json!({ "token": token, "url": url, "title": "Shop" }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    (
        v["visitor_token"].as_str().unwrap().to_string(),
        v["campaigns"].as_array().unwrap().clone(),
    )
}

async fn step(app: &TestApp, token: &str, id: i64, step: &str) -> StatusCode {
    public(
        app,
        &format!("/api/widget/{SLUG}/campaigns/{id}/{step}"),
        json!({ "token": token }),
    )
    .await
    .0
}

async fn event(app: &TestApp, token: &str, name: &str, props: Value) -> (StatusCode, Value) {
    public(
        app,
        &format!("/api/widget/{SLUG}/events"),
        json!({ "token": token, "events": [{ "name": name, "props": props }] }),
    )
    .await
}

async fn results(app: &TestApp, id: i64) -> Value {
    let (s, r) = app.get(&format!("/api/v1/campaigns/{id}/results")).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    r
}

fn group<'a>(r: &'a Value, variant: &str) -> &'a Value {
    if variant == "holdout" {
        return &r["holdout"];
    }
    r["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["variant"] == variant)
        .unwrap()
}

async fn campaigns_api_validation_and_isolation(db: Db) {
    let app = TestApp::spawn(db).await;
    for bad in [
        json!([]),
        json!({ "trigger": { "type": "exit_intent" }, "variants": [{ "name": "A", "message": { "en": "x" } }] }),
        json!({ "name": "x", "trigger": { "type": "nope" }, "variants": [{ "name": "A", "message": { "en": "x" } }] }),
        json!({ "name": "x", "trigger": { "type": "exit_intent" }, "variants": [] }),
        json!({ "name": "x", "priority": 5000, "trigger": { "type": "exit_intent" }, "variants": [{ "name": "A", "message": { "en": "x" } }] }),
        json!({ "name": "x", "holdout_percent": 80, "trigger": { "type": "exit_intent" }, "variants": [{ "name": "A", "message": { "en": "x" } }] }),
        json!({ "name": "x", "from_user_id": 999999, "trigger": { "type": "exit_intent" }, "variants": [{ "name": "A", "message": { "en": "x" } }] }),
        json!({ "name": "x", "audience": { "event": { "name": "Bad Name", "within_minutes": 5 } }, "trigger": { "type": "exit_intent" }, "variants": [{ "name": "A", "message": { "en": "x" } }] }),
    ] {
        let (s, e) = app.post("/api/v1/campaigns", bad.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad} -> {e}");
        assert!(e["error"]["code"].is_string(), "{e}");
    }
    let id = create(&app, campaign("Cart nudge")).await;
    let (s, e) = app.post("/api/v1/campaigns", campaign("Cart nudge")).await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a second campaign of the same name: {e}"
    );
    let (s, c) = app.get(&format!("/api/v1/campaigns/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(c["trigger"]["seconds"], 2);
    assert_eq!(c["variants"].as_array().unwrap().len(), 2);

    // A change merges rules over the current ones.
    let (s, c) = app
        .patch(
            &format!("/api/v1/campaigns/{id}"),
            json!({ "active": false, "trigger": { "type": "exit_intent" } }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["active"], false);
    assert_eq!(c["trigger"]["type"], "exit_intent");
    assert_eq!(c["goal_event"], "order_completed");
    let (s, _) = app
        .patch(&format!("/api/v1/campaigns/{id}"), json!({ "cap_days": -1 }))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = app.get("/api/v1/campaigns/abc").await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Another workspace's admin reaches nothing of it.
    let (_, _, other) = app.workspace("Other Shop").await;
    for (m, path, body) in [
        (Method::GET, format!("/api/v1/campaigns/{id}"), None),
        (
            Method::PATCH,
            format!("/api/v1/campaigns/{id}"),
            Some(json!({ "active": true })),
        ),
        (Method::DELETE, format!("/api/v1/campaigns/{id}"), None),
        (Method::GET, format!("/api/v1/campaigns/{id}/results"), None),
    ] {
        let (s, e) = app.call(m, &path, &other, body).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {e}");
    }
    let (s, l) = app.call(Method::GET, "/api/v1/campaigns", &other, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(l["items"], json!([]));
    // An agent who is not an admin may not manage campaigns.
    let (_, agent) = app.agent("sam@acme.test", false).await;
    let (s, _) = app.call(Method::GET, "/api/v1/campaigns", &agent, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let (s, _) = app
        .call(Method::DELETE, &format!("/api/v1/campaigns/{id}"), &app.token, None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app.get(&format!("/api/v1/campaigns/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, feed) = app.get("/api/v1/events?limit=500").await;
    let kinds: Vec<&str> = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .filter(|t| t.starts_with("campaign."))
        .collect();
    assert_eq!(
        kinds,
        ["campaign.created", "campaign.updated", "campaign.deleted"],
        "{feed}"
    );
}

async fn campaigns_flow_counts_results_and_caps(db: Db) {
    let app = TestApp::spawn(db).await;
    let id = create(&app, campaign("Cart nudge")).await;
    let (token, offers) = view(&app, None, "https://shop.test/cart").await;
    assert_eq!(offers.len(), 1, "{offers:?}");
    let offer = &offers[0];
    assert_eq!(offer["campaign_id"], id);
    assert_eq!(offer["trigger"], json!({ "type": "time_on_page", "seconds": 2 }));
    let variant = offer["variant"].as_str().unwrap().to_string();
    assert!(offer["text"].as_str().unwrap().len() > 3);

    // Before it is shown it is offered again; once shown, the cap holds.
    let (_, again) = view(&app, Some(&token), "https://shop.test/cart").await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0]["variant"], variant.as_str(), "the split is stable per visitor");
    assert_eq!(step(&app, &token, id, "shown").await, StatusCode::OK);
    assert_eq!(step(&app, &token, id, "shown").await, StatusCode::OK);
    let (_, capped) = view(&app, Some(&token), "https://shop.test/cart").await;
    assert!(capped.is_empty(), "{capped:?}");

    assert_eq!(step(&app, &token, id, "opened").await, StatusCode::OK);
    assert_eq!(
        step(&app, &token, id, "wiggled").await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(step(&app, "svt_nobody", id, "opened").await, StatusCode::UNAUTHORIZED);

    // The visitor answers in the chat: the conversation carries the campaign.
    let (mut sock, _) = app.visitor(SLUG, Some(&token), 0).await;
    sock.send(json!({ "type": "message", "client_id": "c1", "body": "Yes, is shipping free to Austria?" }))
        .await;
    sock.until("ack").await;
    assert_eq!(step(&app, &token, id, "replied").await, StatusCode::OK);
    let (_, tickets) = app.get("/api/v1/tickets").await;
    let t = &tickets["items"][0];
    assert!(
        t["labels"].as_array().unwrap().contains(&json!("campaign:Cart nudge")),
        "{t}"
    );

    // A goal event counts one conversion, once.
    let (s, r) = event(
        &app,
        &token,
        "order_completed",
        json!({ "value": 79.8, "currency": "EUR" }),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{r}");
    assert_eq!(r["converted"], 1);
    let (_, r) = event(&app, &token, "order_completed", json!({})).await;
    assert_eq!(r["converted"], 0);

    let r = results(&app, id).await;
    let g = group(&r, &variant);
    assert_eq!(
        (&g["shown"], &g["opened"], &g["replied"], &g["converted"]),
        (&json!(1), &json!(1), &json!(1), &json!(1)),
        "{r}"
    );
    assert_eq!(r["holdout"]["shown"], 0);
    let stmt = r["significance"]["between_variants"]["statement"].as_str().unwrap();
    assert!(stmt.starts_with("not significant yet"), "{r}");

    // A stopped campaign is offered to nobody and cannot be shown.
    app.patch(&format!("/api/v1/campaigns/{id}"), json!({ "active": false }))
        .await;
    let (fresh, none) = view(&app, None, "https://shop.test/cart").await;
    assert!(none.is_empty());
    assert_eq!(step(&app, &fresh, id, "shown").await, StatusCode::CONFLICT);
}

async fn campaigns_holdout_and_audience(db: Db) {
    let app = TestApp::spawn(db).await;
    let mut body = campaign("Half held out");
    body["holdout_percent"] = json!(50);
    body["audience"] = json!({ "url": "https://shop.test/cart*" });
    let id = create(&app, body).await;
    let (mut held, mut shown) = (vec![], vec![]);
    for _ in 0..16 {
        let (token, offers) = view(&app, None, "https://shop.test/cart?step=1").await;
        if offers.is_empty() {
            held.push(token);
        } else {
            assert_eq!(step(&app, &token, id, "shown").await, StatusCode::OK);
            shown.push(token);
        }
    }
    assert!(
        !held.is_empty() && !shown.is_empty(),
        "held {} shown {}",
        held.len(),
        shown.len()
    );
    // The holdout is recorded once per visitor, however often they look.
    let (_, again) = view(&app, Some(&held[0]), "https://shop.test/cart").await;
    assert!(again.is_empty());
    assert_eq!(step(&app, &held[0], id, "shown").await, StatusCode::CONFLICT);
    // Not on the audience's pages: not offered, not held out.
    let (other, offers) = view(&app, None, "https://shop.test/about").await;
    assert!(offers.is_empty());
    event(&app, &other, "order_completed", json!({})).await;
    for t in held.iter().take(2).chain(shown.iter().take(1)) {
        let (s, _) = event(&app, t, "order_completed", json!({ "value": 10 })).await;
        assert_eq!(s, StatusCode::ACCEPTED);
    }
    let r = results(&app, id).await;
    assert_eq!(r["holdout"]["shown"], held.len() as i64, "{r}");
    assert_eq!(r["holdout"]["converted"], held.len().min(2) as i64, "{r}");
    let total: i64 = r["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["shown"].as_i64().unwrap())
        .sum();
    assert_eq!(total, shown.len() as i64);
    let conv: i64 = r["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["converted"].as_i64().unwrap())
        .sum();
    assert_eq!(conv, 1);
    assert!(r["significance"]["against_holdout"]["statement"]
        .as_str()
        .unwrap()
        .contains("too few"));

    // An event-triggered campaign for visitors who just hit a checkout error.
    let eid = create(
        &app,
        json!({
            "name": "Checkout rescue", "active": true, "priority": 10,
            "audience": { "event": { "name": "checkout_error", "within_minutes": 10 }, "min_cart_value": 50 },
            "trigger": { "type": "event", "name": "checkout_error" },
            "variants": [{ "name": "A", "message": { "en": "Trouble paying? We can help." } }]
        }),
    )
    .await;
    let (t, offers) = view(&app, None, "https://shop.test/checkout").await;
    assert!(offers.iter().all(|o| o["campaign_id"] != eid));
    event(
        &app,
        &t,
        "cart_updated",
        json!({ "value": 79.8, "currency": "EUR", "items": 2 }),
    )
    .await;
    event(&app, &t, "checkout_error", json!({ "code": "card_declined" })).await;
    let (_, offers) = view(&app, Some(&t), "https://shop.test/checkout").await;
    assert_eq!(
        offers[0]["campaign_id"], eid,
        "the higher priority comes first: {offers:?}"
    );
    assert_eq!(
        offers[0]["trigger"],
        json!({ "type": "event", "name": "checkout_error" })
    );

    // The same events over an open chat socket count the same; a bad
    // batch is refused there too, and the socket stays open.
    let (t2, _) = view(&app, None, "https://shop.test/checkout").await;
    let (mut sock, _) = app.visitor(SLUG, Some(&t2), 0).await;
    let too_many: Vec<Value> = (0..21).map(|_| json!({ "name": "x" })).collect();
    sock.send(json!({ "type": "events", "events": too_many })).await;
    let e = sock.until("error").await;
    assert_eq!(e["code"], "invalid_field", "{e}");
    sock.send(json!({ "type": "events", "events": [{ "name": "Bad Name!" }] }))
        .await;
    sock.until("error").await;
    sock.send(json!({ "type": "events", "events": [
        { "name": "cart_updated", "props": { "value": 120, "currency": "EUR" } },
        { "name": "checkout_error", "props": { "code": "3ds_failed" } }
    ] }))
    .await;
    sock.send(json!({ "type": "ping" })).await;
    sock.until("pong").await;
    let (_, offers) = view(&app, Some(&t2), "https://shop.test/checkout").await;
    assert_eq!(
        offers[0]["campaign_id"], eid,
        "events over the socket were not seen: {offers:?}"
    );
}

async fn campaigns_events_are_bounded_and_scoped(db: Db) {
    let app = TestApp::spawn(db).await;
    let (token, _) = view(&app, None, "https://shop.test/").await;
    let path = format!("/api/widget/{SLUG}/events");
    let deep = json!({ "a": { "b": { "c": { "d": 1 } } } });
    let many: Vec<Value> = (0..21).map(|_| json!({ "name": "x" })).collect();
    for bad in [
        json!({ "token": token, "events": [] }),
        json!({ "token": token, "events": many }),
        json!({ "token": token, "events": [{ "name": "Bad Name" }] }),
        json!({ "token": token, "events": [{ "name": "x".repeat(65) }] }),
        json!({ "token": token, "events": [{ "name": "ok", "props": deep }] }),
        json!({ "token": token, "events": [{ "name": "ok", "props": { "big": "y".repeat(3000) } }] }),
        json!({ "token": token, "events": [{ "name": "ok", "props": [1, 2] }] }),
    ] {
        let (s, e) = public(&app, &path, bad).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    }
    let (s, _) = public(&app, &path, json!({ "token": token, "events": "nope" })).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = public(&app, &path, json!({ "events": [{ "name": "ok" }] })).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, r) = event(
        &app,
        &token,
        "cart_updated",
        json!({ "value": 79.8, "currency": "EUR", "items": 2 }),
    )
    .await;
    assert_eq!((s, &r["stored"]), (StatusCode::ACCEPTED, &json!(1)), "{r}");
    let (s, _) = public(
        &app,
        "/api/widget/no-such-shop/events",
        json!({ "token": token, "events": [{ "name": "ok" }] }),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // A visitor of one workspace is nobody in another.
    let (other_ws, _, _) = app.workspace("Other Shop").await;
    let (s, _) = public(
        &app,
        "/api/widget/other-shop/events",
        json!({ "token": token, "events": [{ "name": "ok" }] }),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, v) = public(
        &app,
        "/api/widget/other-shop/page",
        json!({ "token": token, "url": "https://x.test/" }),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_ne!(
        v["visitor_token"],
        token.as_str(),
        "a new visitor of the other workspace"
    );
    let mine = app
        .store
        .visitor_by_token(app.workspace_id, &storedesk::auth::token_hash(&token))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        app.store
            .visitor_events(other_ws, mine.contact_id, 10)
            .await
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        app.store
            .visitor_events(app.workspace_id, mine.contact_id, 10)
            .await
            .unwrap()
            .len(),
        2
    );
}
