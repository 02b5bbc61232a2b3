//! Tenants never see each other's data: every endpoint is tried with
//! another workspace's ids and must answer 404 and change nothing.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Db, TestApp};

crate::both_backends!(other_workspace_ids_are_not_found_anywhere);

async fn other_workspace_ids_are_not_found_anywhere(db: Db) {
    let app = TestApp::spawn(db).await;
    let t = app.ticket("Acme secret", "ann@shop.test").await;
    let id = t["id"].as_i64().unwrap();
    let (_, team) = app.post("/api/v1/teams", json!({ "name": "Billing" })).await;
    let team_id = team["id"].as_i64().unwrap();
    let (acme_agent, _) = app.agent("kate@acme.test", false).await;

    let (_, evil_admin, evil) = app.workspace("Evil Corp").await;
    let evil_ticket = {
        let (s, t) = app
            .call(
                Method::POST,
                "/api/v1/tickets",
                &evil,
                Some(json!({ "subject": "mine", "message": "m", "contact": { "email": "ann@shop.test" } })),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        t["id"].as_i64().unwrap()
    };

    let attempts: Vec<(Method, String, Option<serde_json::Value>)> = vec![
        (Method::GET, format!("/api/v1/tickets/{id}"), None),
        (
            Method::PATCH,
            format!("/api/v1/tickets/{id}"),
            Some(json!({ "status": "closed" })),
        ),
        (
            Method::PATCH,
            format!("/api/v1/tickets/{id}"),
            Some(json!({ "labels": ["pwned"] })),
        ),
        (
            Method::POST,
            format!("/api/v1/tickets/{id}/messages"),
            Some(json!({ "body": "hello from evil" })),
        ),
        (
            Method::POST,
            format!("/api/v1/tickets/{id}/messages"),
            Some(json!({ "body": "note", "kind": "note" })),
        ),
        (Method::GET, format!("/api/v1/tickets/{id}/messages"), None),
        (
            Method::POST,
            format!("/api/v1/teams/{team_id}/members"),
            Some(json!({ "user_id": evil_admin })),
        ),
        (Method::POST, format!("/api/v1/users/{acme_agent}/tokens"), None),
    ];
    for (method, path, body) in attempts {
        let (s, v) = app.call(method.clone(), &path, &evil, body).await;
        assert_eq!(
            s,
            StatusCode::NOT_FOUND,
            "{method} {path} must be 404 for another workspace: {v}"
        );
        assert_eq!(v["error"]["code"], "not_found");
    }
    // Pointing one's own ticket at another workspace's agent or team fails too.
    let (s, _) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/tickets/{evil_ticket}"),
            &evil,
            Some(json!({ "assignee_id": acme_agent })),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/tickets/{evil_ticket}"),
            &evil,
            Some(json!({ "team_id": team_id })),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = app
        .call(
            Method::POST,
            &format!("/api/v1/teams/{team_id}/members"),
            &app.token,
            Some(json!({ "user_id": evil_admin })),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "adding another workspace's user to a team");

    // Lists and searches show only one's own.
    let (_, list) = app.call(Method::GET, "/api/v1/tickets?q=secret", &evil, None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    let (_, list) = app.call(Method::GET, "/api/v1/tickets", &evil, None).await;
    assert_eq!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![evil_ticket]
    );
    let (_, users) = app.call(Method::GET, "/api/v1/users", &evil, None).await;
    assert_eq!(users["items"].as_array().unwrap().len(), 1);
    let (_, teams) = app.call(Method::GET, "/api/v1/teams", &evil, None).await;
    assert_eq!(teams["items"].as_array().unwrap().len(), 0);
    // The same e-mail is a separate contact in each workspace.
    let (_, mine) = app
        .call(Method::GET, &format!("/api/v1/tickets/{evil_ticket}"), &evil, None)
        .await;
    assert_ne!(mine["contact"]["id"], t["contact"]["id"]);
    let (_, list) = app
        .call(
            Method::GET,
            &format!("/api/v1/tickets?contact={}", t["contact"]["id"]),
            &evil,
            None,
        )
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);

    // And nothing changed.
    let (_, after) = app.get(&format!("/api/v1/tickets/{id}")).await;
    assert_eq!(after, t);
    let (_, msgs) = app.get(&format!("/api/v1/tickets/{id}/messages")).await;
    assert_eq!(msgs["items"].as_array().unwrap().len(), 1);
    let (_, teams) = app.get("/api/v1/teams").await;
    assert_eq!(teams["items"][0]["member_ids"], json!([]));
}
