//! Signed identities from the store (`storedesk('identify', ...)`): a
//! visitor becomes the customer the store vouches for only with the right
//! `user_hash`; a wrong one, another workspace's secret or an old secret
//! changes nothing; two customers sharing a browser are never merged.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use storedesk::domain::identity::user_hash;

use crate::harness::{Db, TestApp};

crate::both_backends!(
    identify_needs_the_stores_signature,
    identify_input_is_bounded_and_scoped
);

const SLUG: &str = "acme-shop";

async fn public(app: &TestApp, slug: &str, path: &str, body: String) -> (StatusCode, Value) {
    let r = app
        .client
        .post(format!("{}/api/widget/{slug}{path}", app.base))
        .header("content-type", "text/plain")
        .body(body)
        .send()
        .await
        .unwrap();
    let s = r.status();
    assert_ne!(s, StatusCode::INTERNAL_SERVER_ERROR);
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn visitor(app: &TestApp, slug: &str) -> String {
    let (s, v) = public(
        app,
        slug,
        "/page",
        json!({ "url": "https://shop.test/", "title": "Shop" }).to_string(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["visitor_token"].as_str().unwrap().to_string()
}

async fn identify(app: &TestApp, slug: &str, body: Value) -> (StatusCode, Value) {
    public(app, slug, "/identify", body.to_string()).await
}

async fn secret(app: &TestApp, token: &str) -> String {
    let (s, v) = app.call(Method::POST, "/api/v1/widget/identity", token, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["secret"].as_str().unwrap().to_string()
}

/// Contacts (not merged away) whose name or address has `q`.
async fn contacts(app: &TestApp, q: &str) -> Vec<Value> {
    let (s, v) = app.get(&format!("/api/v1/contacts?q={q}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["items"].as_array().unwrap().clone()
}

async fn contact(app: &TestApp, id: &Value) -> Value {
    let (s, v) = app.get(&format!("/api/v1/contacts/{id}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

async fn identify_needs_the_stores_signature(db: Db) {
    let app = TestApp::spawn(db).await;
    let ann = app.ticket("Where is my order?", "ann@example.com").await;
    let v1 = visitor(&app, SLUG).await;

    // Not set up: refused, and the admin sees it off.
    let claim = json!({ "token": v1, "id": "42", "email": "ann@example.com", "user_hash": "00" });
    let (s, e) = identify(&app, SLUG, claim).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("identity_not_set_up")),
        "{e}"
    );
    let (_, v) = app.get("/api/v1/widget/identity").await;
    assert_eq!(v["enabled"], false, "{v}");
    let key = secret(&app, &app.token).await;
    assert_eq!(key.len(), 64);
    let (_, agent) = app.agent("mia@acme.test", false).await;
    let (s, _) = app.call(Method::POST, "/api/v1/widget/identity", &agent, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "an agent made a secret");
    let (s, _) = app.call(Method::GET, "/api/v1/widget/identity", &agent, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "an agent read the secret");

    // A visitor claiming Ann's address without the store's hash gets nothing.
    for bad in [
        user_hash("guess", "42", "ann@example.com"),
        user_hash(&key, "42", "bob@example.com"),
        user_hash(&key, "43", "ann@example.com"),
        "zz".repeat(32),
    ] {
        let (s, e) = identify(
            &app,
            SLUG,
            json!({ "token": v1, "id": "42", "email": "ann@example.com", "user_hash": bad }),
        )
        .await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("bad_signature")),
            "{e}"
        );
    }
    let found = contacts(&app, "ann@example.com").await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["id"], ann["contact"]["id"], "{ann}");
    let c = contact(&app, &found[0]["id"]).await;
    assert!(
        !c["identities"].to_string().contains("visitor-"),
        "a visitor joined Ann unsigned: {c}"
    );

    // The store's hash: the visitor becomes Ann, with the store's id and attributes.
    let (s, r) = identify(
        &app,
        SLUG,
        json!({ "token": v1, "id": "42", "email": "ann@example.com", "name": "Ann Lee",
                "attributes": { "plan": "gold", "orders": 7 }, "user_hash": user_hash(&key, "42", "ann@example.com") }),
    )
    .await;
    assert_eq!((s, &r["identified"]), (StatusCode::OK, &json!(true)), "{r}");
    let c = contact(&app, &ann["contact"]["id"]).await;
    let ids = c["identities"].to_string();
    assert!(
        ids.contains("\"store\"") && ids.contains("\"42\"") && ids.contains("visitor-"),
        "{c}"
    );
    assert_eq!(
        (c["name"].as_str(), &c["attributes"]["plan"]),
        (Some("Ann Lee"), &json!("gold")),
        "{c}"
    );

    // Another browser, by the store's id alone: the same customer.
    let v2 = visitor(&app, SLUG).await;
    let (s, r) = identify(
        &app,
        SLUG,
        json!({ "token": v2, "id": "42", "user_hash": user_hash(&key, "42", "") }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let c = contact(&app, &ann["contact"]["id"]).await;
    assert_eq!(c["identities"].to_string().matches("visitor-").count(), 2, "{c}");

    // Ann signs out and Bob signs in at the same browser (the store did
    // not call logout): Bob gets his own contact, Ann's stays hers.
    let (s, r) = identify(
        &app,
        SLUG,
        json!({ "token": v1, "id": "77", "email": "bob@example.com", "user_hash": user_hash(&key, "77", "bob@example.com") }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let bob = contacts(&app, "bob@example.com").await;
    assert_eq!(bob.len(), 1, "{bob:?}");
    assert_ne!(bob[0]["id"], ann["contact"]["id"]);
    let c = contact(&app, &ann["contact"]["id"]).await;
    assert_eq!(c["email"], "ann@example.com", "{c}");
    assert_eq!(c["identities"].to_string().matches("visitor-").count(), 1, "{c}");

    // A new secret: hashes made with the old one are refused.
    let newer = secret(&app, &app.token).await;
    assert_ne!(newer, key);
    let (s, _) = identify(
        &app,
        SLUG,
        json!({ "token": v2, "id": "42", "user_hash": user_hash(&key, "42", "") }),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .call(Method::DELETE, "/api/v1/widget/identity", &app.token, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, e) = identify(
        &app,
        SLUG,
        json!({ "token": v2, "id": "42", "user_hash": user_hash(&newer, "42", "") }),
    )
    .await;
    assert_eq!(e["error"]["code"], "identity_not_set_up", "{s} {e}");
}

async fn identify_input_is_bounded_and_scoped(db: Db) {
    let app = TestApp::spawn(db).await;
    let key = secret(&app, &app.token).await;
    let v = visitor(&app, SLUG).await;
    let hash = user_hash(&key, "1", "");
    let cases = [
        (json!({ "token": v, "id": "1" }), "user_hash"),
        (json!({ "token": v, "user_hash": hash }), "id"),
        (
            json!({ "token": v, "id": "1", "user_hash": hash, "attributes": { "a": { "b": 1 } } }),
            "attributes",
        ),
        (
            json!({ "token": v, "id": "1", "user_hash": hash, "attributes": [1, 2] }),
            "attributes",
        ),
        (
            json!({ "token": v, "id": "1", "user_hash": hash, "attributes": { "bad name": 1 } }),
            "attributes",
        ),
        (
            json!({ "token": v, "id": "1", "email": "not an address", "user_hash": hash }),
            "email",
        ),
        (json!({ "token": v, "id": "x".repeat(129), "user_hash": hash }), "id"),
    ];
    for (body, field) in cases {
        let (s, e) = identify(&app, SLUG, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {e}");
        assert!(e["error"]["message"].as_str().unwrap().contains(field), "{body}: {e}");
    }
    let (s, _) = identify(
        &app,
        SLUG,
        json!({ "token": v, "id": "1", "user_hash": hash, "admin": true }),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "an unknown field was taken");
    let (s, _) = public(&app, SLUG, "/identify", "{not json".into()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = public(
        &app,
        SLUG,
        "/identify",
        format!("{{\"pad\":\"{}\"}}", "x".repeat(70_000)),
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    let (s, _) = identify(
        &app,
        SLUG,
        json!({ "token": "svt_nobody", "id": "1", "user_hash": hash }),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Another workspace: its own secret; ours signs nothing there, and our
    // visitor token is no visitor of theirs.
    let (_, _, other_token) = app.workspace("Other Shop").await;
    let theirs = secret(&app, &other_token).await;
    let w = visitor(&app, "other-shop").await;
    let (s, e) = identify(&app, "other-shop", json!({ "token": w, "id": "1", "user_hash": hash })).await;
    assert_eq!(e["error"]["code"], "bad_signature", "{s} {e}");
    let (s, _) = identify(
        &app,
        "other-shop",
        json!({ "token": v, "id": "1", "user_hash": user_hash(&theirs, "1", "") }),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "our visitor identified in another workspace"
    );
    let (s, _) = identify(
        &app,
        "other-shop",
        json!({ "token": w, "id": "1", "user_hash": user_hash(&theirs, "1", "") }),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, mine) = app.get("/api/v1/contacts?q=1").await;
    assert!(!mine.to_string().contains("\"store\""), "{mine}");
}
