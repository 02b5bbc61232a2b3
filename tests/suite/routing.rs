//! Routing and availability: agents set themselves online/away/offline
//! (the widget's "online" follows it), teams share their queue by round
//! robin or to the least loaded, never over capacity and never twice under
//! 1,000 concurrent arrivals (on PostgreSQL with a second node routing at
//! the same time), and an agent going offline gives their chats back.

use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{Db, TestApp};

crate::both_backends!(
    availability_drives_the_widget_and_is_validated,
    round_robin_and_least_loaded,
    a_thousand_arrivals_never_over_capacity,
    going_offline_gives_chats_back,
    unseen_assignments_are_mailed_once,
    a_waiting_visitor_learns_their_place,
);

async fn team_with(app: &TestApp, name: &str, members: &[i64], routing: &str) -> i64 {
    let (s, t) = app.post("/api/v1/teams", json!({ "name": name })).await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let id = t["id"].as_i64().unwrap();
    for m in members {
        let (s, r) = app
            .post(&format!("/api/v1/teams/{id}/members"), json!({ "user_id": m }))
            .await;
        assert!(s.is_success(), "{r}");
    }
    let (s, r) = app
        .call(
            Method::PUT,
            &format!("/api/v1/teams/{id}/routing"),
            &app.token,
            Some(json!({ "routing": routing })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    id
}

async fn agents(app: &TestApp, n: usize, capacity: i64) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    for i in 0..n {
        let (id, token) = app.agent(&format!("agent{i}@acme.test"), false).await;
        let (s, r) = app
            .call(
                Method::PUT,
                &format!("/api/v1/users/{id}/capacity"),
                &app.token,
                Some(json!({"chat_capacity": capacity, "ticket_capacity": capacity})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        let (s, r) = app
            .call(
                Method::PUT,
                "/api/v1/me/availability",
                &token,
                Some(json!({"status":"online"})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        out.push((id, token));
    }
    out
}

/// Tickets that arrive get the team by a rule, as a store would set it up.
async fn into_team(app: &TestApp, team: i64) {
    let (s, r) = app
        .post(
            "/api/v1/rules",
            json!({"name":"To the team","event":"ticket.created","actions":[{"type":"set_team","team_id":team}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
}

async fn settle(app: &TestApp) {
    for _ in 0..3 {
        app.consumed("rules").await;
        app.consumed("routing").await;
    }
}

async fn assignees(app: &TestApp) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/tickets?limit=200&cursor={}", enc(c)),
            None => "/api/v1/tickets?limit=200".to_string(),
        };
        let (_, page) = app.get(&path).await;
        out.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["assignee_id"].clone()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn count(of: &[Value], id: i64) -> usize {
    of.iter().filter(|a| a.as_i64() == Some(id)).count()
}

async fn availability_drives_the_widget_and_is_validated(db: Db) {
    let app = TestApp::spawn(db).await;
    let (_, token) = app.agent("kim@acme.test", false).await;
    let slug = app.store.workspace(app.workspace_id).await.unwrap().slug;
    let config = || async {
        let r = app
            .client
            .get(format!("{}/p/{slug}/chat/config", app.base))
            .send()
            .await
            .unwrap();
        r.json::<Value>().await.unwrap()["online"].clone()
    };
    assert_eq!(config().await, json!(false), "nobody has a console open nor is online");
    let (s, _) = app
        .call(
            Method::PUT,
            "/api/v1/me/availability",
            &token,
            Some(json!({"status":"online"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(config().await, json!(true), "online without any console open");
    let (_, list) = app.get("/api/v1/availability").await;
    let kim = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "kim@acme.test")
        .cloned()
        .unwrap();
    assert_eq!(
        (kim["availability"].as_str(), kim["online"].as_bool()),
        (Some("online"), Some(true)),
        "{kim}"
    );
    app.call(
        Method::PUT,
        "/api/v1/me/availability",
        &token,
        Some(json!({"status":"away"})),
    )
    .await;
    assert_eq!(config().await, json!(false));
    for bad in [
        json!({"status":"busy"}),
        json!({"status":1}),
        json!({}),
        json!({"status":"online","x":1}),
    ] {
        let (s, e) = app
            .call(Method::PUT, "/api/v1/me/availability", &token, Some(bad.clone()))
            .await;
        assert!(s.is_client_error(), "{bad}: {s} {e}");
    }
    // Capacity and routing are the admin's, within the workspace.
    let (s, _) = app
        .call(
            Method::PUT,
            "/api/v1/users/1/capacity",
            &token,
            Some(json!({"chat_capacity": 3})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, e) = app
        .call(
            Method::PUT,
            &format!("/api/v1/users/{}/capacity", app.admin_id),
            &app.token,
            Some(json!({"chat_capacity": -1})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (_, _, other) = app.workspace("Other").await;
    let (s, _) = app
        .call(
            Method::PUT,
            &format!("/api/v1/users/{}/capacity", app.admin_id),
            &other,
            Some(json!({"chat_capacity": 3})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let team = team_with(&app, "Sales", &[], "manual").await;
    let (s, _) = app
        .call(
            Method::PUT,
            &format!("/api/v1/teams/{team}/routing"),
            &other,
            Some(json!({"routing":"round_robin"})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, e) = app
        .call(
            Method::PUT,
            &format!("/api/v1/teams/{team}/routing"),
            &app.token,
            Some(json!({"routing":"random"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
}

async fn round_robin_and_least_loaded(db: Db) {
    let app = TestApp::spawn(db).await;
    let team_agents = agents(&app, 3, 10).await;
    let ids: Vec<i64> = team_agents.iter().map(|(i, _)| *i).collect();
    let team = team_with(&app, "Support", &ids, "round_robin").await;
    into_team(&app, team).await;
    for i in 0..6 {
        app.ticket(&format!("Question {i}"), &format!("c{i}@example.com")).await;
        settle(&app).await;
    }
    let a = assignees(&app).await;
    for id in &ids {
        assert_eq!(count(&a, *id), 2, "round robin shares evenly: {a:?}");
    }
    // Least loaded: the first agent gets 3 more by hand; new arrivals go to the others.
    let (s, _) = app
        .call(
            Method::PUT,
            &format!("/api/v1/teams/{team}/routing"),
            &app.token,
            Some(json!({"routing":"least_loaded"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    for i in 0..3 {
        let t = app.ticket(&format!("Manual {i}"), "m@example.com").await;
        settle(&app).await;
        app.patch(&format!("/api/v1/tickets/{}", t["id"]), json!({"assignee_id": ids[0]}))
            .await;
    }
    let before = assignees(&app).await;
    for i in 0..4 {
        app.ticket(&format!("New {i}"), &format!("n{i}@example.com")).await;
        settle(&app).await;
    }
    let after = assignees(&app).await;
    assert_eq!(
        count(&after, ids[0]),
        count(&before, ids[0]),
        "the busiest got none: {after:?}"
    );
    assert_eq!(after.iter().filter(|a| a.is_null()).count(), 0, "{after:?}");
    // Routing lines say so in the conversation.
    let (_, page) = app.get("/api/v1/tickets?limit=1").await;
    let (_, m) = app
        .get(&format!("/api/v1/tickets/{}/messages", page["items"][0]["id"]))
        .await;
    assert!(
        m["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["body"].as_str().unwrap_or("").starts_with("Routing: Assigned to")),
        "{m}"
    );
}

async fn a_thousand_arrivals_never_over_capacity(db: Db) {
    let app = TestApp::spawn(db).await;
    let team_agents = agents(&app, 10, 5).await;
    let ids: Vec<i64> = team_agents.iter().map(|(i, _)| *i).collect();
    let team = team_with(&app, "Rush", &ids, "least_loaded").await;
    into_team(&app, team).await;
    // On PostgreSQL a second node routes at the same time.
    let other = match db {
        Db::Postgres => {
            let store = storedesk::store::Store::connect(&app.db.url).await.unwrap();
            Some(storedesk::app::AppState::start(store, &app.db.url).await.unwrap())
        }
        Db::Sqlite => None,
    };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let racer = other.as_ref().map(|o| {
        let (svc, stop) = (o.svc.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                svc.route(None).await.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        })
    });
    let arrivals = (0..1000).map(|i| {
        let (client, base, token) = (app.client.clone(), app.base.clone(), app.token.clone());
        async move {
            let r = client
                .post(format!("{base}/api/v1/tickets"))
                .bearer_auth(token)
                .json(&json!({"subject": format!("Rush {i}"), "message": "Help", "contact": {"email": format!("r{i}@example.com")}}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
        }
    });
    futures::stream::iter(arrivals)
        .buffer_unordered(64)
        .collect::<Vec<()>>()
        .await;
    settle(&app).await;
    let a = assignees(&app).await;
    assert_eq!(a.len(), 1000);
    for id in &ids {
        assert_eq!(
            count(&a, *id),
            5,
            "full, never over: {:?}",
            ids.iter().map(|i| count(&a, *i)).collect::<Vec<_>>()
        );
    }
    // Resolving frees room: the oldest waiting come next, still within capacity.
    let first = &team_agents[0];
    let (_, mine) = app
        .call(
            Method::GET,
            &format!("/api/v1/tickets?assignee={}", first.0),
            &first.1,
            None,
        )
        .await;
    for t in mine["items"].as_array().unwrap().iter().take(3) {
        let (s, _) = app
            .call(
                Method::PATCH,
                &format!("/api/v1/tickets/{}", t["id"]),
                &first.1,
                Some(json!({"status":"resolved"})),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
    }
    settle(&app).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Some(r) = racer {
        r.await.unwrap();
    }
    let a = assignees(&app).await;
    assert_eq!(count(&a, first.0), 8, "5 open again plus the 3 resolved");
    let (_, open) = app
        .get(&format!("/api/v1/tickets?assignee={}&status=open", first.0))
        .await;
    assert_eq!(open["items"].as_array().unwrap().len(), 5);
    // Never twice: each ticket was given out by routing at most once.
    let mut given = std::collections::HashMap::new();
    let mut after = String::new();
    loop {
        let (_, feed) = app.get(&format!("/api/v1/events?limit=500&after={after}")).await;
        let events = feed["events"].as_array().unwrap();
        for e in events {
            if e["type"] == "ticket.updated"
                && e["actor"]["type"] == "system"
                && e["changes"]["assignee_id"]["to"].is_i64()
            {
                *given.entry(e["ticket_id"].as_i64().unwrap()).or_insert(0) += 1;
            }
        }
        if events.is_empty() {
            break;
        }
        after = feed["next_cursor"].as_str().unwrap().to_string();
    }
    assert_eq!(given.len(), 53);
    assert!(given.values().all(|n| *n == 1), "{given:?}");
    drop(other);
}

async fn going_offline_gives_chats_back(db: Db) {
    let app = TestApp::spawn(db).await;
    let team_agents = agents(&app, 2, 1).await;
    let ids: Vec<i64> = team_agents.iter().map(|(i, _)| *i).collect();
    let team = team_with(&app, "Chat", &ids, "round_robin").await;
    into_team(&app, team).await;
    let mut chats = Vec::new();
    for i in 0..3 {
        let (s, t) = app
            .post("/api/v1/tickets", json!({"subject": format!("Chat {i}"), "message": "Hi", "channel": "chat", "contact": {"email": format!("v{i}@example.com")}}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{t}");
        chats.push(t["id"].as_i64().unwrap());
        settle(&app).await;
    }
    let a = assignees(&app).await;
    assert_eq!((count(&a, ids[0]), count(&a, ids[1])), (1, 1), "capacity 1 each: {a:?}");
    let (_, q) = app.get(&format!("/api/v1/tickets/{}/queue", chats[2])).await;
    assert_eq!(
        (
            q["waiting"].as_bool(),
            q["position"].as_i64(),
            q["agents_online"].as_i64()
        ),
        (Some(true), Some(1), Some(2)),
        "{q}"
    );
    // The first agent goes offline: their chat waits again and goes to... nobody with room.
    let (s, _) = app
        .call(
            Method::PUT,
            "/api/v1/me/availability",
            &team_agents[0].1,
            Some(json!({"status":"offline"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    settle(&app).await;
    let a = assignees(&app).await;
    assert_eq!(count(&a, ids[0]), 0, "{a:?}");
    assert_eq!(count(&a, ids[1]), 1);
    // More room for the second: the longest-waiting chats come to them.
    app.call(
        Method::PUT,
        &format!("/api/v1/users/{}/capacity", ids[1]),
        &app.token,
        Some(json!({"chat_capacity": 3})),
    )
    .await;
    settle(&app).await;
    let a = assignees(&app).await;
    assert_eq!(count(&a, ids[1]), 3, "{a:?}");
    let (_, q) = app.get(&format!("/api/v1/tickets/{}/queue", chats[2])).await;
    assert_eq!(q["waiting"], false);
}

async fn unseen_assignments_are_mailed_once(db: Db) {
    let app = TestApp::spawn(db).await;
    let (kim, kim_token) = app.agent("kim@acme.test", false).await;
    let (lea, lea_token) = app.agent("lea@acme.test", false).await;
    let (s, _) = app
        .call(
            Method::PUT,
            "/api/v1/me/notifications",
            &lea_token,
            Some(json!({"mail": false})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app
        .call(
            Method::PUT,
            "/api/v1/me/notifications",
            &kim_token,
            Some(json!({"mail": "yes"})),
        )
        .await;
    assert!(s.is_client_error());
    let a = app.ticket("Refund", "a@example.com").await["id"].as_i64().unwrap();
    let b = app.ticket("Return", "b@example.com").await["id"].as_i64().unwrap();
    app.patch(&format!("/api/v1/tickets/{a}"), json!({"assignee_id": kim}))
        .await;
    app.patch(&format!("/api/v1/tickets/{b}"), json!({"assignee_id": lea}))
        .await;
    // Taking a ticket yourself tells nobody.
    let c = app.ticket("Mine", "c@example.com").await["id"].as_i64().unwrap();
    app.call(
        Method::PATCH,
        &format!("/api/v1/tickets/{c}"),
        &kim_token,
        Some(json!({"assignee_id": kim})),
    )
    .await;
    app.svc.run_timers().await.unwrap();
    let mailed = |app: &TestApp| {
        let (client, base, token) = (app.client.clone(), app.base.clone(), app.token.clone());
        async move {
            let r = client
                .get(format!("{base}/api/v1/outbox"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let v: Value = r.json().await.unwrap();
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["to"].as_str().is_some_and(|t| t.ends_with("@acme.test")))
                .count()
        }
    };
    assert_eq!(mailed(&app).await, 0, "not before ten minutes");
    storedesk::store::advance_clock(11 * 60_000);
    app.svc.run_timers().await.unwrap();
    app.svc.run_timers().await.unwrap();
    assert_eq!(mailed(&app).await, 1, "kim only (lea turned it off), once");
}

async fn a_waiting_visitor_learns_their_place(db: Db) {
    let app = TestApp::spawn(db).await;
    let (kim, kim_token) = app.agent("kim@acme.test", false).await;
    let team = team_with(&app, "Chat", &[kim], "least_loaded").await;
    into_team(&app, team).await;
    let (mut v, welcome) = app.visitor("acme-shop", None, 0).await;
    assert_eq!(welcome["online"], false, "nobody online yet");
    v.send(json!({ "type": "message", "client_id": "c1", "body": "Is the blue one in stock?" }))
        .await;
    v.until("ack").await;
    let q = v.until("queue").await;
    assert_eq!(q["position"], 1, "{q}");
    assert_eq!(
        q["text"], "You are number 1 in the queue.",
        "no estimate with nobody online: {q}"
    );
    // Kim comes online: the widget hears it, and the chat is hers.
    let (s, _) = app
        .call(
            Method::PUT,
            "/api/v1/me/availability",
            &kim_token,
            Some(json!({"status":"online"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let p = v.until("presence").await;
    assert_eq!(p["online"], true, "{p}");
    settle(&app).await;
    let (_, list) = app.get("/api/v1/tickets?channel=chat").await;
    assert_eq!(list["items"][0]["assignee_id"], kim, "{list}");
}
