//! Bad input gets a clear 4xx with a code, never a 500, and writes nothing.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{Db, TestApp};

crate::both_backends!(
    bad_bodies_are_rejected_clearly,
    bad_auth_routes_and_methods,
    oversize_and_wrong_type
);

async fn bad_bodies_are_rejected_clearly(db: Db) {
    let app = TestApp::spawn(db).await;
    let t = app.ticket("Real one", "ann@shop.test").await;
    let id = t["id"].as_i64().unwrap();
    let long = "x".repeat(301);
    let cases: Vec<(Method, String, Value, StatusCode, &str)> = vec![
        (
            Method::POST,
            "/api/v1/tickets".into(),
            json!({}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            Method::POST,
            "/api/v1/tickets".into(),
            json!({ "subject": "s", "message": "m" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            Method::POST,
            "/api/v1/tickets".into(),
            json!({ "subject": "", "message": "m", "contact": { "email": "a@b.test" } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            Method::POST,
            "/api/v1/tickets".into(),
            json!({ "subject": long, "message": "m", "contact": { "email": "a@b.test" } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            Method::POST,
            "/api/v1/tickets".into(),
            json!({ "subject": "s", "message": "m", "contact": { "email": "not-an-email" } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            Method::POST,
            "/api/v1/tickets".into(),
            json!({ "subject": "s", "message": "m", "contact": { "email": "a@b.test" }, "priority": "asap" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            Method::POST,
            "/api/v1/tickets".into(),
            json!({ "subject": "s", "message": "m", "contact": { "email": "a@b.test" }, "stauts": "open" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            Method::POST,
            "/api/v1/tickets".into(),
            json!({ "subject": "s", "message": "m\u{0}", "contact": { "email": "a@b.test" } }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            Method::POST,
            "/api/v1/tickets".into(),
            json!({ "subject": "s", "message": "m", "contact": { "email": "a@b.test" }, "labels": [""] }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            Method::POST,
            "/api/v1/tickets".into(),
            json!([1, 2]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            Method::PATCH,
            format!("/api/v1/tickets/{id}"),
            json!({}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            Method::PATCH,
            format!("/api/v1/tickets/{id}"),
            json!({ "status": "done" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            Method::PATCH,
            format!("/api/v1/tickets/{id}"),
            json!({ "assignee_id": 999999 }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            Method::PATCH,
            format!("/api/v1/tickets/{id}"),
            json!({ "team_id": 999999 }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            Method::PATCH,
            format!("/api/v1/tickets/{id}"),
            json!({ "status": "closed", "assignee_id": "me" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("/api/v1/tickets/{id}/messages"),
            json!({ "body": "" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("/api/v1/tickets/{id}/messages"),
            json!({ "body": "x", "kind": "event" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            Method::POST,
            format!("/api/v1/tickets/{id}/messages"),
            json!({ "body": "x", "kind": "shout" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            Method::GET,
            "/api/v1/tickets/99999".into(),
            Value::Null,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::GET,
            "/api/v1/tickets/abc".into(),
            Value::Null,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::GET,
            "/api/v1/tickets/-1".into(),
            Value::Null,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::GET,
            "/api/v1/tickets/99999999999999999999999".into(),
            Value::Null,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::GET,
            "/api/v1/tickets?status=nope".into(),
            Value::Null,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            Method::GET,
            "/api/v1/tickets?limit=0".into(),
            Value::Null,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            Method::GET,
            "/api/v1/tickets?limit=abc".into(),
            Value::Null,
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            Method::GET,
            "/api/v1/tickets?cursor=zzz".into(),
            Value::Null,
            StatusCode::BAD_REQUEST,
            "invalid_cursor",
        ),
        (
            Method::GET,
            "/api/v1/tickets?sort=price".into(),
            Value::Null,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            Method::GET,
            "/api/v1/tickets?bogus=1".into(),
            Value::Null,
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            Method::POST,
            "/api/v1/users".into(),
            json!({ "email": "x@acme.test", "name": "X", "role": "owner" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
        (
            Method::POST,
            "/api/v1/users".into(),
            json!({ "email": "x@acme.test", "name": "X", "password": "short" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        ),
    ];
    for (method, path, body, status, code) in cases {
        let b = if body.is_null() { None } else { Some(body.clone()) };
        let (s, v) = app.call(method.clone(), &path, &app.token, b).await;
        assert_eq!(s, status, "{method} {path} {body}: {v}");
        assert_eq!(v["error"]["code"], code, "{method} {path} {body}: {v}");
        assert!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    }
    // Nothing was written by the failures: one ticket, its one message.
    let (_, all) = app.get("/api/v1/tickets").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
    let (_, t2) = app.get(&format!("/api/v1/tickets/{id}")).await;
    assert_eq!(t2["status"], "open");
    assert!(t2["assignee_id"].is_null());
    let (_, msgs) = app.get(&format!("/api/v1/tickets/{id}/messages")).await;
    assert_eq!(msgs["items"].as_array().unwrap().len(), 1);
    // A duplicate user is a conflict.
    let body = json!({ "email": "dup@acme.test", "name": "D" });
    assert_eq!(app.post("/api/v1/users", body.clone()).await.0, StatusCode::CREATED);
    let (s, v) = app.post("/api/v1/users", body).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
}

async fn bad_auth_routes_and_methods(db: Db) {
    let app = TestApp::spawn(db).await;
    let r = app
        .client
        .get(format!("{}/api/v1/tickets", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "unauthorized");
    for bad in ["sdk_wrong", "", &"x".repeat(5000)] {
        let (s, v) = app.call(Method::GET, "/api/v1/tickets", bad, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    }
    let r = app
        .client
        .get(format!("{}/api/v1/tickets", app.base))
        .header("Authorization", format!("Basic {}", app.token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (s, v) = app.get("/api/v1/nothing-here").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (s, v) = app.call(Method::DELETE, "/api/v1/tickets", &app.token, None).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
    );
}

async fn oversize_and_wrong_type(db: Db) {
    let app = TestApp::spawn(db).await;
    let big =
        json!({ "subject": "big", "message": "x".repeat(1024 * 1024 + 1024), "contact": { "email": "a@b.test" } });
    let (s, v) = app.post("/api/v1/tickets", big).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")),
        "{v}"
    );
    let long_body = json!({ "subject": "long", "message": "я".repeat(70_000), "contact": { "email": "a@b.test" } });
    let (s, v) = app.post("/api/v1/tickets", long_body).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let r = app
        .client
        .post(format!("{}/api/v1/tickets", app.base))
        .bearer_auth(&app.token)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let r = app
        .client
        .post(format!("{}/api/v1/tickets", app.base))
        .bearer_auth(&app.token)
        .header("content-type", "application/json")
        .body("{\"subject\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "malformed_json");
    let (_, all) = app.get("/api/v1/tickets").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 0);
}
