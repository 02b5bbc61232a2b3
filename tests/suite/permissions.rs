//! Admins versus agents, and agents restricted to their teams.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Db, TestApp};

crate::both_backends!(
    team_restricted_agent_sees_only_their_teams,
    agents_cannot_manage_the_workspace
);

async fn team_restricted_agent_sees_only_their_teams(db: Db) {
    let app = TestApp::spawn(db).await;
    let (_, billing) = app.post("/api/v1/teams", json!({ "name": "Billing" })).await;
    let (_, delivery) = app.post("/api/v1/teams", json!({ "name": "Delivery" })).await;
    let (billing, delivery) = (billing["id"].as_i64().unwrap(), delivery["id"].as_i64().unwrap());
    let (kate, kate_token) = app.agent("kate@acme.test", true).await;
    assert_eq!(
        app.post(&format!("/api/v1/teams/{billing}/members"), json!({ "user_id": kate }))
            .await
            .0,
        StatusCode::NO_CONTENT
    );

    let mine = app.ticket("Refund", "a@shop.test").await["id"].as_i64().unwrap();
    let theirs = app.ticket("Courier late", "b@shop.test").await["id"].as_i64().unwrap();
    let nobody = app.ticket("Untriaged", "c@shop.test").await["id"].as_i64().unwrap();
    let assigned = app.ticket("Personal", "d@shop.test").await["id"].as_i64().unwrap();
    app.patch(&format!("/api/v1/tickets/{mine}"), json!({ "team_id": billing }))
        .await;
    app.patch(&format!("/api/v1/tickets/{theirs}"), json!({ "team_id": delivery }))
        .await;
    app.patch(
        &format!("/api/v1/tickets/{assigned}"),
        json!({ "team_id": delivery, "assignee_id": kate }),
    )
    .await;

    let (_, list) = app.call(Method::GET, "/api/v1/tickets", &kate_token, None).await;
    let mut seen: Vec<i64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    seen.sort();
    assert_eq!(seen, vec![mine, assigned]);
    for hidden in [theirs, nobody] {
        for (method, path, body) in [
            (Method::GET, format!("/api/v1/tickets/{hidden}"), None),
            (
                Method::PATCH,
                format!("/api/v1/tickets/{hidden}"),
                Some(json!({ "status": "resolved" })),
            ),
            (
                Method::POST,
                format!("/api/v1/tickets/{hidden}/messages"),
                Some(json!({ "body": "hi" })),
            ),
            (Method::GET, format!("/api/v1/tickets/{hidden}/messages"), None),
        ] {
            let (s, v) = app.call(method.clone(), &path, &kate_token, body).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{method} {path}: {v}");
        }
    }
    let (s, _) = app
        .call(
            Method::POST,
            &format!("/api/v1/tickets/{mine}/messages"),
            &kate_token,
            Some(json!({ "body": "On it" })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    // She may not hand a ticket to a team she is not in.
    let (s, v) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/tickets/{mine}"),
            &kate_token,
            Some(json!({ "team_id": delivery })),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (_, t) = app.get(&format!("/api/v1/tickets/{mine}")).await;
    assert_eq!(t["team_id"], billing);
    // An unrestricted agent sees all.
    let (_, all_token) = app.agent("max@acme.test", false).await;
    let (_, list) = app.call(Method::GET, "/api/v1/tickets", &all_token, None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 4);
}

async fn agents_cannot_manage_the_workspace(db: Db) {
    let app = TestApp::spawn(db).await;
    let (other, _) = app.agent("other@acme.test", false).await;
    let (me, token) = app.agent("kate@acme.test", false).await;
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/users".to_string(),
            Some(json!({ "email": "x@acme.test", "name": "X", "role": "admin" })),
        ),
        (
            Method::POST,
            "/api/v1/teams".to_string(),
            Some(json!({ "name": "Mine" })),
        ),
        (Method::POST, format!("/api/v1/users/{other}/tokens"), None),
    ] {
        let (s, v) = app.call(method.clone(), &path, &token, body).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("forbidden")),
            "{method} {path}"
        );
    }
    let (s, v) = app
        .call(Method::POST, &format!("/api/v1/users/{me}/tokens"), &token, None)
        .await;
    assert_eq!(s, StatusCode::CREATED, "an agent makes tokens for themselves: {v}");
    let (s, me_v) = app.call(Method::GET, "/api/v1/me", &token, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me_v["user"]["role"], "agent");
    assert_eq!(me_v["workspace"]["slug"], "acme-shop");
}
