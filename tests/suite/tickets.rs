//! The ticket life through the API: open, list, filter, page, change,
//! reply, note, idempotent retries.

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{Db, TestApp};
use crate::search::search_until;

crate::both_backends!(
    numbers_are_sequential_per_workspace,
    lifecycle_reply_note_and_clocks,
    filters_search_and_cursor_paging,
    retries_do_not_duplicate,
    contact_is_found_by_email
);

async fn numbers_are_sequential_per_workspace(db: Db) {
    let app = TestApp::spawn(db).await;
    let mut numbers = vec![];
    for i in 0..5 {
        numbers.push(
            app.ticket(&format!("Order {i}"), "ann@shop.test").await["number"]
                .as_i64()
                .unwrap(),
        );
    }
    assert_eq!(numbers, vec![1, 2, 3, 4, 5]);
    // Another workspace counts from 1 on its own.
    let (_, _, other) = app.workspace("Other Store").await;
    let (s, t) = app
        .call(
            reqwest::Method::POST,
            "/api/v1/tickets",
            &other,
            Some(json!({ "subject": "Hi", "message": "m", "contact": { "email": "bob@shop.test" } })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(t["number"], 1);
    // Concurrent creates never share a number.
    let futs: Vec<_> = (0..20)
        .map(|i| {
            app.post(
                "/api/v1/tickets",
                json!({ "subject": format!("c{i}"), "message": "m", "contact": { "email": "c@shop.test" } }),
            )
        })
        .collect();
    let mut got: Vec<i64> = futures::future::join_all(futs)
        .await
        .into_iter()
        .map(|(s, t)| {
            assert_eq!(s, StatusCode::CREATED);
            t["number"].as_i64().unwrap()
        })
        .collect();
    got.sort();
    assert_eq!(got, (6..26).collect::<Vec<_>>());
}

async fn lifecycle_reply_note_and_clocks(db: Db) {
    let app = TestApp::spawn(db).await;
    let (s, t) = app
        .post("/api/v1/tickets", json!({ "subject": "Payment taken, no order", "message": "The power went out after I paid.", "contact": { "email": "Ann@Shop.test", "name": "Ann" }, "priority": "high", "labels": ["Payment", "bug"] }))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let id = t["id"].as_i64().unwrap();
    assert_eq!(t["status"], "open");
    assert_eq!(t["priority"], "high");
    assert_eq!(t["channel"], "api");
    assert_eq!(t["labels"], json!(["bug", "payment"]));
    assert_eq!(t["contact"]["email"], "ann@shop.test");
    assert!(t["first_response_at"].is_null());

    // A note is not a response to the customer.
    let (s, n) = app
        .post(
            &format!("/api/v1/tickets/{id}/messages"),
            json!({ "body": "Check the payment gateway log", "kind": "note" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{n}");
    assert_eq!(n["kind"], "note");
    let (_, t) = app.get(&format!("/api/v1/tickets/{id}")).await;
    assert!(t["first_response_at"].is_null());

    let (s, r) = app
        .post(
            &format!("/api/v1/tickets/{id}/messages"),
            json!({ "body": "Found it: your order is #1042." }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(r["kind"], "reply");
    assert_eq!(r["author_type"], "agent");
    let (_, t) = app.get(&format!("/api/v1/tickets/{id}")).await;
    assert!(t["first_response_at"].is_string());

    let (s, t) = app
        .patch(
            &format!("/api/v1/tickets/{id}"),
            json!({ "status": "resolved", "assignee_id": app.admin_id, "priority": "low", "labels": ["payment"] }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(t["status"], "resolved");
    assert_eq!(t["assignee_id"], app.admin_id);
    assert_eq!(t["labels"], json!(["payment"]));
    assert!(t["resolved_at"].is_string());

    let (s, t) = app
        .patch(
            &format!("/api/v1/tickets/{id}"),
            json!({ "status": "open", "assignee_id": null }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(t["resolved_at"].is_null());
    assert!(t["assignee_id"].is_null());

    let (s, m) = app.get(&format!("/api/v1/tickets/{id}/messages")).await;
    assert_eq!(s, StatusCode::OK);
    let items = m["items"].as_array().unwrap();
    let kinds: Vec<&str> = items.iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(&kinds[..3], &["reply", "note", "reply"]);
    assert_eq!(items[0]["author_type"], "contact");
    let events: Vec<&str> = items
        .iter()
        .filter(|m| m["kind"] == "event")
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert!(events.contains(&"Status changed from open to resolved"), "{events:?}");
    assert!(events.contains(&"Unassigned"), "{events:?}");
    // Paging messages by id.
    let first = items[0]["id"].as_i64().unwrap();
    let (_, rest) = app
        .get(&format!("/api/v1/tickets/{id}/messages?after={first}&limit=2"))
        .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 2);
    assert_eq!(rest["items"][0]["id"], items[1]["id"]);
}

async fn filters_search_and_cursor_paging(db: Db) {
    let app = TestApp::spawn(db).await;
    let (agent, _) = app.agent("kate@acme.test", false).await;
    let mut ids = vec![];
    for i in 0..7 {
        ids.push(
            app.ticket(&format!("Question {i}"), &format!("buyer{i}@shop.test"))
                .await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    let white = app.ticket("Want white instead of black", "olga@shop.test").await["id"]
        .as_i64()
        .unwrap();
    app.patch(
        &format!("/api/v1/tickets/{white}"),
        json!({ "status": "pending", "assignee_id": agent, "labels": ["change"] }),
    )
    .await;

    let count = |v: &serde_json::Value| v["items"].as_array().unwrap().len();
    assert_eq!(count(&app.get("/api/v1/tickets?status=pending").await.1), 1);
    assert_eq!(count(&app.get("/api/v1/tickets?status=open,pending").await.1), 8);
    assert_eq!(count(&app.get(&format!("/api/v1/tickets?assignee={agent}")).await.1), 1);
    assert_eq!(count(&app.get("/api/v1/tickets?assignee=none").await.1), 7);
    assert_eq!(count(&app.get("/api/v1/tickets?assignee=me").await.1), 0);
    assert_eq!(count(&app.get("/api/v1/tickets?label=change").await.1), 1);
    // Search is indexed in the background (well under a second): ask until it is there.
    search_until(&app, &app.token, "WHITE", &[white]).await;
    search_until(&app, &app.token, "olga@shop", &[white]).await;
    let (_, r) = app.get("/api/v1/tickets?q=%238").await;
    assert_eq!(r["items"][0]["number"], 8);
    // Message text is searched.
    search_until(&app, &app.token, "About: Question 3", &[ids[3]]).await;
    let (_, r) = app.get("/api/v1/tickets?q=100%25").await;
    assert_eq!(count(&r), 0, "% is literal");

    // Walk all pages of 3, newest first, no ticket twice.
    let mut seen = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/tickets?limit=3&cursor={c}"),
            None => "/api/v1/tickets?limit=3".to_string(),
        };
        let (s, page) = app.get(&path).await;
        assert_eq!(s, StatusCode::OK);
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let mut expected = ids.clone();
    expected.push(white);
    expected.reverse();
    assert_eq!(seen, expected);

    // By activity: a new reply moves a ticket to the top.
    app.post(
        &format!("/api/v1/tickets/{}/messages", ids[0]),
        json!({ "body": "Any news?" }),
    )
    .await;
    let (_, r) = app.get("/api/v1/tickets?sort=activity&limit=2").await;
    assert_eq!(r["items"][0]["id"], ids[0]);
    let c = r["next_cursor"].as_str().unwrap().to_string();
    let (_, r2) = app
        .get(&format!("/api/v1/tickets?sort=activity&limit=20&cursor={c}"))
        .await;
    assert_eq!(count(&r2), 6);
}

async fn retries_do_not_duplicate(db: Db) {
    let app = TestApp::spawn(db).await;
    let body = json!({ "subject": "Retry me", "message": "m", "contact": { "email": "r@shop.test" } });
    let send = || {
        app.client
            .post(format!("{}/api/v1/tickets", app.base))
            .bearer_auth(&app.token)
            .header("Idempotency-Key", "order-77-form")
            .json(&body)
            .send()
    };
    let a = send().await.unwrap();
    assert_eq!(a.status(), StatusCode::CREATED);
    let a: serde_json::Value = a.json().await.unwrap();
    let b = send().await.unwrap();
    assert_eq!(b.status(), StatusCode::OK);
    let b: serde_json::Value = b.json().await.unwrap();
    assert_eq!(a["id"], b["id"]);
    let id = a["id"].as_i64().unwrap();
    let (s1, m1) = app
        .post(
            &format!("/api/v1/tickets/{id}/messages"),
            json!({ "body": "once", "external_id": "msg-1" }),
        )
        .await;
    let (s2, m2) = app
        .post(
            &format!("/api/v1/tickets/{id}/messages"),
            json!({ "body": "once", "external_id": "msg-1" }),
        )
        .await;
    assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::OK));
    assert_eq!(m1["id"], m2["id"]);
    let (_, list) = app.get(&format!("/api/v1/tickets/{id}/messages")).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    let (_, all) = app.get("/api/v1/tickets").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 1);
}

async fn contact_is_found_by_email(db: Db) {
    let app = TestApp::spawn(db).await;
    let a = app.ticket("First", "Same@Shop.test").await;
    let b = app.ticket("Second", "same@shop.test").await;
    assert_eq!(a["contact"]["id"], b["contact"]["id"]);
    let (_, r) = app
        .get(&format!("/api/v1/tickets?contact={}", a["contact"]["id"]))
        .await;
    assert_eq!(r["items"].as_array().unwrap().len(), 2);
}
