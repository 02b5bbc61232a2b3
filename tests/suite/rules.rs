//! Automation rules and macros through the API: validation that names the
//! fault, each kind of action run by the rules consumer of the event log,
//! the loop guard and hourly cap, "stop after this rule", exactly once on
//! a re-read, preview, and macros applied by agents within what they see.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{Db, TestApp};

crate::both_backends!(
    rules_are_validated_and_scoped,
    a_rule_acts_on_new_tickets,
    every_action_kind,
    contact_messages_and_words_in_any_language,
    rules_never_trigger_themselves_and_are_capped,
    stop_after_a_rule_and_exactly_once,
    preview_lists_matching_tickets,
    macros_apply_within_what_the_agent_sees,
);

async fn team(app: &TestApp, name: &str) -> i64 {
    let (s, t) = app.post("/api/v1/teams", json!({ "name": name })).await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    t["id"].as_i64().unwrap()
}

async fn rule(app: &TestApp, body: Value) -> Value {
    let (s, r) = app.post("/api/v1/rules", body).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    r
}

async fn messages(app: &TestApp, id: i64) -> Vec<Value> {
    let (s, m) = app.get(&format!("/api/v1/tickets/{id}/messages")).await;
    assert_eq!(s, StatusCode::OK, "{m}");
    m["items"].as_array().unwrap().clone()
}

async fn ticket(app: &TestApp, id: i64) -> Value {
    let (s, t) = app.get(&format!("/api/v1/tickets/{id}")).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    t
}

fn lines(ms: &[Value], needle: &str) -> usize {
    ms.iter()
        .filter(|m| m["body"].as_str().unwrap_or("").contains(needle))
        .count()
}

async fn rules_are_validated_and_scoped(db: Db) {
    let app = TestApp::spawn(db).await;
    let payments = team(&app, "Payments").await;
    let body = json!({"name":"Refunds to Payments","event":"ticket.created","conditions":{"all":[{"field":"subject","op":"contains","value":"refund"}]},"actions":[{"type":"set_team","team_id":payments},{"type":"add_label","value":"refund"},{"type":"set_priority","value":"high"}],"enabled":true});
    let r = rule(&app, body.clone()).await;
    let id = r["id"].as_i64().unwrap();
    assert_eq!(r["event"], "ticket.created");
    assert_eq!(r["position"], 1);
    assert_eq!(r["actions"][0], json!({"type":"set_team","team_id":payments}));
    let (s, list) = app.get("/api/v1/rules").await;
    assert_eq!((s, list["items"].as_array().unwrap().len()), (StatusCode::OK, 1));

    // Bad rules: 422 naming the part at fault.
    let cases = [
        (
            json!({"conditions":{"all":[{"field":"colour","op":"is","value":"x"}]}}),
            "colour",
        ),
        (
            json!({"conditions":{"all":[{"field":"status","op":"gt","value":"open"}]}}),
            "does not apply",
        ),
        (json!({"actions":[{"type":"explode"}]}), "explode"),
        (json!({"event":"ticket.exploded"}), "event"),
        (
            json!({"actions":[{"type":"set_team","team_id":999_999}]}),
            "no team 999999",
        ),
        (
            json!({"actions":[{"type":"assign","user_id":999_999}]}),
            "no agent 999999",
        ),
        (json!({"minutes": 5}), "only time-based"),
        (json!({"position": 0}), "position"),
    ];
    for (patch, says) in cases {
        let (s, e) = app.patch(&format!("/api/v1/rules/{id}"), patch.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{patch}: {e}");
        assert!(e["error"]["message"].as_str().unwrap().contains(says), "{patch}: {e}");
    }
    // A team of another workspace is not ours.
    let (_, _, other_token) = app.workspace("Other Shop").await;
    let (s, t) = app
        .call(
            Method::POST,
            "/api/v1/teams",
            &other_token,
            Some(json!({"name":"Theirs"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let theirs = t["id"].as_i64().unwrap();
    let (s, e) = app
        .patch(
            &format!("/api/v1/rules/{id}"),
            json!({"actions":[{"type":"set_team","team_id":theirs}]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    // The other workspace cannot see, change, preview or delete ours.
    for (m, path) in [
        (Method::GET, format!("/api/v1/rules/{id}")),
        (Method::PATCH, format!("/api/v1/rules/{id}")),
        (Method::POST, format!("/api/v1/rules/{id}/preview")),
        (Method::DELETE, format!("/api/v1/rules/{id}")),
    ] {
        let (s, _) = app
            .call(m.clone(), &path, &other_token, Some(json!({"enabled": false})))
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{m} {path}");
    }
    let (s, l) = app.call(Method::GET, "/api/v1/rules", &other_token, None).await;
    assert_eq!((s, l["items"].as_array().unwrap().len()), (StatusCode::OK, 0));
    // Agents do not manage rules.
    let (_, agent) = app.agent("agent@acme.test", false).await;
    let (s, _) = app
        .call(Method::POST, "/api/v1/rules", &agent, Some(body.clone()))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app.call(Method::GET, "/api/v1/rules", &agent, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Order: a second rule moved to the top.
    let second = rule(
        &app,
        json!({"name":"Second","event":"ticket.created","actions":[{"type":"close"}],"enabled":false}),
    )
    .await;
    let (s, moved) = app
        .patch(&format!("/api/v1/rules/{}", second["id"]), json!({"position": 1}))
        .await;
    assert_eq!((s, moved["position"].as_i64()), (StatusCode::OK, Some(1)), "{moved}");
    let (_, list) = app.get("/api/v1/rules").await;
    assert_eq!(list["items"][0]["name"], "Second");
    assert_eq!(list["items"][1]["position"], 2);
    let (s, _) = app
        .call(Method::DELETE, &format!("/api/v1/rules/{id}"), &app.token, None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app.get(&format!("/api/v1/rules/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn a_rule_acts_on_new_tickets(db: Db) {
    let app = TestApp::spawn(db).await;
    let payments = team(&app, "Payments").await;
    rule(&app, json!({"name":"Refunds to Payments","event":"ticket.created","conditions":{"all":[{"field":"subject","op":"contains","value":"refund"}]},"actions":[{"type":"set_team","team_id":payments},{"type":"add_label","value":"refund"},{"type":"set_priority","value":"high"}]})).await;
    let hit = app.ticket("Refund for order 1234", "ann@example.com").await;
    let miss = app.ticket("Where is my parcel?", "bob@example.com").await;
    app.consumed("rules").await;
    let t = ticket(&app, hit["id"].as_i64().unwrap()).await;
    assert_eq!(t["team_id"], payments, "{t}");
    assert_eq!(t["priority"], "high");
    assert_eq!(t["labels"], json!(["refund"]));
    let ms = messages(&app, hit["id"].as_i64().unwrap()).await;
    assert_eq!(
        lines(&ms, "Rule \"Refunds to Payments\""),
        3,
        "one line per change: {ms:?}"
    );
    let t = ticket(&app, miss["id"].as_i64().unwrap()).await;
    assert_eq!(
        (t["team_id"].clone(), t["priority"].clone()),
        (Value::Null, json!("normal"))
    );
    // The rule's change is in the log, by the rule.
    let (_, feed) = app.get("/api/v1/events?limit=500").await;
    let by_rule = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "ticket.updated" && e["actor"]["type"] == "rule")
        .count();
    assert_eq!(by_rule, 1, "{feed}");
}

async fn every_action_kind(db: Db) {
    let app = TestApp::spawn(db).await;
    let (agent_id, _) = app.agent("kim@acme.test", false).await;
    let sales = team(&app, "Sales").await;
    let admin = storedesk::domain::Actor {
        user_id: app.admin_id,
        workspace_id: app.workspace_id,
        role: storedesk::domain::Role::Admin,
        scope: storedesk::domain::TicketScope::All,
    };
    app.store
        .save_canned(&admin, None, "thanks", "Thanks, we are on it.")
        .await
        .unwrap();
    let canned_id = app.store.canned_answers(app.workspace_id).await.unwrap()[0].id;
    let mut actions = vec![
        json!({"type":"assign","user_id":agent_id}),
        json!({"type":"set_team","team_id":sales}),
        json!({"type":"set_status","value":"pending"}),
        json!({"type":"add_label","value":"auto"}),
        json!({"type":"add_note","body":"Checked by the robot"}),
        json!({"type":"send_reply","body":"We got it and answer within a day."}),
        json!({"type":"send_email","to":"boss@acme.test","subject":"Big order","body":"Look at this one"}),
        json!({"type":"notify","to":"assignee"}),
    ];
    actions.push(json!({"type":"send_reply","canned_id":canned_id}));
    rule(
        &app,
        json!({"name":"Everything","event":"ticket.created","actions":actions}),
    )
    .await;
    let t = app.ticket("Big order", "cat@example.com").await;
    let id = t["id"].as_i64().unwrap();
    app.consumed("rules").await;
    app.delivered().await;
    let t = ticket(&app, id).await;
    assert_eq!(t["assignee_id"], agent_id, "{t}");
    assert_eq!(t["team_id"], sales);
    assert_eq!(t["status"], "pending");
    assert_eq!(t["labels"], json!(["auto"]));
    let ms = messages(&app, id).await;
    let note = ms.iter().find(|m| m["body"] == "Checked by the robot").expect("note");
    assert_eq!(note["kind"], "note");
    let reply = ms
        .iter()
        .find(|m| m["body"] == "We got it and answer within a day.")
        .expect("reply");
    assert!(
        ms.iter().any(|m| m["body"] == "Thanks, we are on it."),
        "the canned reply: {ms:?}"
    );
    assert_eq!(
        (reply["kind"].as_str(), reply["author_type"].as_str()),
        (Some("reply"), Some("system"))
    );
    assert_eq!(lines(&ms, "Rule \"Everything\": sent a reply"), 2);
    for l in ["added a note", "e-mailed boss@acme.test", "notified 1 agent(s)"] {
        assert_eq!(lines(&ms, &format!("Rule \"Everything\": {l}")), 1, "{l}: {ms:?}");
    }
    // The reply goes to the customer by mail, the e-mail to the boss.
    let (_, outbox) = app.get("/api/v1/outbox").await;
    let to: Vec<&str> = outbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["to"].as_str())
        .collect();
    assert!(to.contains(&"boss@acme.test"), "{outbox}");
    assert!(to.contains(&"cat@example.com"), "{outbox}");
    // The assignee was notified.
    let kim = storedesk::domain::Actor {
        user_id: agent_id,
        workspace_id: app.workspace_id,
        role: storedesk::domain::Role::Agent,
        scope: storedesk::domain::TicketScope::All,
    };
    // Once for being assigned, once for the notify action.
    assert_eq!(app.store.unread_notifications(&kim).await.unwrap(), 2);

    // unassign, remove_label, close.
    rule(&app, json!({"name":"Tidy","event":"ticket.updated","conditions":{"all":[{"field":"changed","op":"has","value":"priority"}]},"actions":[{"type":"unassign"},{"type":"remove_label","value":"auto"},{"type":"close"}]})).await;
    let (s, _) = app
        .patch(&format!("/api/v1/tickets/{id}"), json!({"priority":"low"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    app.consumed("rules").await;
    let t = ticket(&app, id).await;
    assert_eq!(
        (t["assignee_id"].clone(), t["labels"].clone(), t["status"].clone()),
        (Value::Null, json!([]), json!("closed")),
        "{t}"
    );
}

async fn contact_messages_and_words_in_any_language(db: Db) {
    let app = TestApp::spawn(db).await;
    rule(&app, json!({"name":"Money back","event":"message.created","conditions":{"all":[{"field":"author","op":"is","value":"contact"},{"field":"body","op":"matches_word","value":"деньги"}]},"actions":[{"type":"add_label","value":"refund"}]})).await;
    rule(&app, json!({"name":"Language","event":"message.created","conditions":{"all":[{"field":"language","op":"is","value":"ru"},{"field":"author","op":"is","value":"contact"}]},"actions":[{"type":"add_label","value":"ru"}]})).await;
    let (s, t) = app
        .post(
            "/api/v1/tickets",
            json!({"subject":"Заказ","message":"Здравствуйте","contact":{"email":"ivan@example.com"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let id = t["id"].as_i64().unwrap();
    let ws = storedesk::domain::ids::WorkspaceId(app.workspace_id);
    let tid = storedesk::domain::ids::TicketId(id);
    app.svc
        .post_as(
            ws,
            storedesk::service::Writer::Contact,
            tid,
            "Верните мои деньгами, пожалуйста".into(),
        )
        .await
        .unwrap();
    // An agent's words are not the customer's.
    let (s, _) = app
        .post(
            &format!("/api/v1/tickets/{id}/messages"),
            json!({"body":"Деньги вернём"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    app.consumed("rules").await;
    let t = ticket(&app, id).await;
    assert_eq!(t["labels"], json!(["refund", "ru"]), "{t}");
    let ms = messages(&app, id).await;
    assert_eq!(
        lines(&ms, "Rule \"Money back\""),
        1,
        "once, for the customer's message: {ms:?}"
    );
}

async fn rules_never_trigger_themselves_and_are_capped(db: Db) {
    let app = TestApp::spawn(db).await;
    // Each rule changes the ticket, which is a ticket.updated the rules
    // would match again: only the agent's change fires them.
    rule(&app, json!({"name":"Ping","event":"ticket.updated","actions":[{"type":"set_priority","value":"high"},{"type":"add_note","body":"ping"}]})).await;
    rule(&app, json!({"name":"Pong","event":"ticket.updated","actions":[{"type":"set_priority","value":"low"},{"type":"add_note","body":"pong"}]})).await;
    let t = app.ticket("Loop", "loop@example.com").await;
    let id = t["id"].as_i64().unwrap();
    let (s, _) = app
        .patch(&format!("/api/v1/tickets/{id}"), json!({"status":"pending"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    app.consumed("rules").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    app.consumed("rules").await;
    let ms = messages(&app, id).await;
    assert_eq!((lines(&ms, "ping"), lines(&ms, "pong")), (1, 1), "{ms:?}");

    // The hourly cap: a customer writing 30 times fires a rule at most 20 times.
    rule(&app, json!({"name":"Echo","event":"message.created","conditions":{"all":[{"field":"author","op":"is","value":"contact"}]},"actions":[{"type":"add_note","body":"echo"}]})).await;
    let t = app.ticket("Chatty", "chatty@example.com").await;
    let id = t["id"].as_i64().unwrap();
    let ws = storedesk::domain::ids::WorkspaceId(app.workspace_id);
    for i in 0..30 {
        app.svc
            .post_as(
                ws,
                storedesk::service::Writer::Contact,
                storedesk::domain::ids::TicketId(id),
                format!("hello {i}"),
            )
            .await
            .unwrap();
    }
    app.consumed("rules").await;
    let ms = messages(&app, id).await;
    assert_eq!(
        lines(&ms, "echo"),
        storedesk::domain::rules::RUNS_PER_TICKET_HOUR as usize
    );
}

async fn stop_after_a_rule_and_exactly_once(db: Db) {
    let app = TestApp::spawn(db).await;
    rule(
        &app,
        json!({"name":"First","event":"ticket.created","actions":[{"type":"add_label","value":"first"}],"stop":true}),
    )
    .await;
    rule(
        &app,
        json!({"name":"Second","event":"ticket.created","actions":[{"type":"add_label","value":"second"}]}),
    )
    .await;
    let t = app.ticket("Stop", "stop@example.com").await;
    let id = t["id"].as_i64().unwrap();
    app.consumed("rules").await;
    assert_eq!(ticket(&app, id).await["labels"], json!(["first"]));
    // Reading the whole log again (a restart, another node) does nothing twice.
    let events: Vec<Arc<storedesk::domain::event::Event>> = app
        .store
        .events_after(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(Arc::new)
        .collect();
    let applied = app.svc.run_rules(&events).await.unwrap();
    assert_eq!(applied, 0);
    let ms = messages(&app, id).await;
    assert_eq!(lines(&ms, "Rule \"First\""), 1, "{ms:?}");
}

async fn preview_lists_matching_tickets(db: Db) {
    let app = TestApp::spawn(db).await;
    for s in ["Refund please", "Where is my order", "REFUND now", "Invoice"] {
        app.ticket(s, "p@example.com").await;
    }
    let r = rule(&app, json!({"name":"Refunds","event":"ticket.created","conditions":{"any":[{"field":"subject","op":"contains","value":"refund"}]},"actions":[{"type":"add_label","value":"r"}],"enabled":false})).await;
    let (s, p) = app.post(&format!("/api/v1/rules/{}/preview", r["id"]), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(
        (p["checked"].as_i64(), p["matched"].as_i64()),
        (Some(4), Some(2)),
        "{p}"
    );
    let subjects: Vec<&str> = p["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["subject"].as_str().unwrap())
        .collect();
    assert!(
        subjects.contains(&"REFUND now") && subjects.contains(&"Refund please"),
        "{p}"
    );
    // A disabled rule acts on nothing.
    app.ticket("Refund again", "p@example.com").await;
    app.consumed("rules").await;
    let (_, list) = app.get("/api/v1/tickets?label=r").await;
    assert_eq!(list["items"].as_array().map(|a| a.len()), Some(0), "{list}");
}

async fn macros_apply_within_what_the_agent_sees(db: Db) {
    let app = TestApp::spawn(db).await;
    let vip = team(&app, "VIP").await;
    let (s, m) = app
        .post(
            "/api/v1/macros",
            json!({"name":"Close as spam","actions":[{"type":"add_label","value":"spam"},{"type":"close"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    let (s, e) = app
        .post("/api/v1/macros", json!({"name":"Bad","actions":[{"type":"fly"}]}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (s, _) = app
        .post(
            "/api/v1/macros",
            json!({"name":"Close as spam","actions":[{"type":"close"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let mid = m["id"].as_i64().unwrap();
    let a = app.ticket("Buy cheap", "spam1@example.com").await["id"]
        .as_i64()
        .unwrap();
    let b = app.ticket("Buy cheaper", "spam2@example.com").await["id"]
        .as_i64()
        .unwrap();
    let hidden = app.ticket("VIP only", "vip@example.com").await["id"].as_i64().unwrap();
    let (s, _) = app
        .patch(&format!("/api/v1/tickets/{hidden}"), json!({"team_id": vip}))
        .await;
    assert_eq!(s, StatusCode::OK);
    // An agent of no team, limited to their teams' tickets.
    let (_, agent) = app.agent("limited@acme.test", true).await;
    let (s, list) = app.call(Method::GET, "/api/v1/macros", &agent, None).await;
    assert_eq!((s, list["items"].as_array().unwrap().len()), (StatusCode::OK, 1));
    let (s, r) = app
        .call(
            Method::POST,
            &format!("/api/v1/macros/{mid}/apply"),
            &agent,
            Some(json!({"ticket_ids":[hidden]})),
        )
        .await;
    assert_eq!((s, r["applied"].as_i64()), (StatusCode::OK, Some(0)), "{r}");
    assert_eq!(ticket(&app, hidden).await["status"], "open");
    let (s, r) = app
        .post(&format!("/api/v1/macros/{mid}/apply"), json!({"ticket_ids":[a, b]}))
        .await;
    assert_eq!((s, r["applied"].as_i64()), (StatusCode::OK, Some(2)), "{r}");
    for id in [a, b] {
        let t = ticket(&app, id).await;
        assert_eq!(
            (t["status"].as_str(), t["labels"].clone()),
            (Some("closed"), json!(["spam"]))
        );
        assert_eq!(lines(&messages(&app, id).await, "Macro \"Close as spam\" applied"), 1);
    }
    let (s, _) = app
        .post(&format!("/api/v1/macros/{mid}/apply"), json!({"ticket_ids":[]}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, _, other) = app.workspace("Elsewhere").await;
    let (s, _) = app
        .call(
            Method::POST,
            &format!("/api/v1/macros/{mid}/apply"),
            &other,
            Some(json!({"ticket_ids":[a]})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
