//! SLA policies and calendars through the API; tickets' clocks kept by the
//! SLA consumer of the event log (due times, the pending pause); the timers
//! with a moved clock: warnings, breaches, time-based rules (unanswered,
//! pending, before the SLA due time, in business hours); and two nodes
//! running the timers at once doing each thing once.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{Db, TestApp};

crate::both_backends!(
    policies_and_calendars_are_validated_and_scoped,
    tickets_show_their_due_times,
    pending_pauses_the_clock,
    warnings_and_breaches_come_once,
    time_based_rules_fire_once_when_their_time_comes,
    business_hours_hold_time_based_rules_back,
    two_nodes_run_the_timers_once,
    out_of_hours_answers_say_when_the_team_is_back,
);

const MIN: i64 = 60_000;

fn ms(v: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}")))
        .unwrap()
        .timestamp_millis()
}

async fn urgent_policy(app: &TestApp) -> Value {
    let (s, p) = app
        .post(
            "/api/v1/sla-policies",
            json!({"name":"Urgent","conditions":{"priority":"high"},"first_response_minutes":60,"next_response_minutes":120,"resolution_minutes":1440,"business_hours":false}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    p
}

async fn high(app: &TestApp, subject: &str) -> i64 {
    let (s, t) = app
        .post("/api/v1/tickets", json!({"subject": subject, "message": "Help!", "priority": "high", "contact": {"email": "shopper@example.com"}}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    t["id"].as_i64().unwrap()
}

async fn sla(app: &TestApp, id: i64) -> Value {
    app.consumed("sla").await;
    let (s, t) = app.get(&format!("/api/v1/tickets/{id}")).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    t["sla"].clone()
}

async fn messages(app: &TestApp, id: i64) -> Vec<String> {
    let (_, m) = app.get(&format!("/api/v1/tickets/{id}/messages")).await;
    m["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_string())
        .collect()
}

async fn events_of(app: &TestApp, kind: &str) -> Vec<Value> {
    let (_, feed) = app.get("/api/v1/events?limit=500").await;
    feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == kind)
        .cloned()
        .collect()
}

async fn policies_and_calendars_are_validated_and_scoped(db: Db) {
    let app = TestApp::spawn(db).await;
    let p = urgent_policy(&app).await;
    assert_eq!(p["conditions"], json!({"priority": ["high"]}));
    assert_eq!(p["first_response_minutes"], 60);
    let id = p["id"].as_i64().unwrap();
    for (body, says) in [
        (
            json!({"name":"x","conditions":{"priority":"hot"},"first_response_minutes":5}),
            "hot",
        ),
        (
            json!({"name":"x","conditions":{"colour":"red"},"first_response_minutes":5}),
            "colour",
        ),
        (json!({"name":"x","first_response_minutes":0}), "between 1"),
        (json!({"name":"x"}), "at least one target"),
        (json!({"name":"x","first_response_minutes":"soon"}), "whole minutes"),
        (
            json!({"name":"x","conditions":{"team_id":999999},"first_response_minutes":5}),
            "no team",
        ),
        (
            json!({"name":"x","first_response_minutes":5,"colour":1}),
            "unknown field",
        ),
    ] {
        let (s, e) = app.post("/api/v1/sla-policies", body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {e}");
        assert!(e["error"]["message"].as_str().unwrap().contains(says), "{body}: {e}");
    }
    let (s, _) = app
        .post(
            "/api/v1/sla-policies",
            json!({"name":"Urgent","first_response_minutes":5}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, changed) = app
        .patch(
            &format!("/api/v1/sla-policies/{id}"),
            json!({"resolution_minutes": null}),
        )
        .await;
    assert_eq!(
        (s, changed["resolution_minutes"].clone()),
        (StatusCode::OK, Value::Null),
        "{changed}"
    );
    assert_eq!(
        changed["first_response_minutes"], 60,
        "what the patch did not name stays"
    );

    // Calendars: an IANA zone with DST, several periods, holidays.
    let cal = json!({"time_zone":"Europe/Kyiv","week":{"mon":["09:00-13:00","14:00-18:00"],"sat":["10:00-14:00"]},"holidays":["2026-12-25"]});
    let (s, c) = app
        .call(Method::PUT, "/api/v1/calendar", &app.token, Some(cal.clone()))
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    let (_, c) = app.get("/api/v1/calendar").await;
    assert_eq!(c, cal);
    for (bad, says) in [
        (json!({"time_zone":"Mars/Olympus"}), "time_zone"),
        (json!({"week":{"mon":["18:00-09:00"]}}), "week"),
        (json!({"week":{"mon":["09:00-12:00","11:00-13:00"]}}), "week"),
        (json!({"holidays":["christmas"]}), "holidays"),
    ] {
        let (s, e) = app
            .call(Method::PUT, "/api/v1/calendar", &app.token, Some(bad.clone()))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {e}");
        assert!(e["error"]["message"].as_str().unwrap().contains(says), "{bad}: {e}");
    }
    let (s, _) = app
        .call(
            Method::PUT,
            "/api/v1/calendar",
            &app.token,
            Some(json!({"timezone":"UTC"})),
        )
        .await;
    assert!(s.is_client_error(), "unknown fields are refused");

    // Other workspaces and agents.
    let (_, _, other) = app.workspace("Other").await;
    let (s, _) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/sla-policies/{id}"),
            &other,
            Some(json!({"name":"Mine"})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .call(Method::DELETE, &format!("/api/v1/sla-policies/{id}"), &other, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, l) = app.call(Method::GET, "/api/v1/sla-policies", &other, None).await;
    assert_eq!(l["items"].as_array().unwrap().len(), 0);
    let (s, t) = app.post("/api/v1/teams", json!({"name":"Night"})).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = app
        .call(
            Method::PUT,
            &format!("/api/v1/teams/{}/calendar", t["id"]),
            &other,
            Some(json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another workspace's team");
    let (s, _) = app
        .call(
            Method::PUT,
            &format!("/api/v1/teams/{}/calendar", t["id"]),
            &app.token,
            Some(json!({"time_zone":"America/New_York"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, tc) = app.get(&format!("/api/v1/teams/{}/calendar", t["id"])).await;
    assert_eq!(tc["time_zone"], "America/New_York");
    let (_, agent) = app.agent("agent@acme.test", false).await;
    let (s, _) = app
        .call(
            Method::POST,
            "/api/v1/sla-policies",
            &agent,
            Some(json!({"name":"y","first_response_minutes":5})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .call(Method::DELETE, &format!("/api/v1/sla-policies/{id}"), &app.token, None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

async fn tickets_show_their_due_times(db: Db) {
    let app = TestApp::spawn(db).await;
    urgent_policy(&app).await;
    let id = high(&app, "Payment failed").await;
    let normal = app.ticket("Question", "q@example.com").await["id"].as_i64().unwrap();
    let s = sla(&app, id).await;
    assert_eq!(s["policy"], "Urgent", "{s}");
    let (_, t) = app.get(&format!("/api/v1/tickets/{id}")).await;
    let created = ms(&t["created_at"]);
    assert_eq!(ms(&s["first_response_due_at"]), created + 60 * MIN);
    assert_eq!(ms(&s["resolution_due_at"]), created + 1440 * MIN);
    assert_eq!(s["due_at"], s["first_response_due_at"]);
    assert_eq!(sla(&app, normal).await, Value::Null, "no policy covers a normal ticket");
    // The inbox order "SLA due first" lists only tickets with running clocks.
    let (_, list) = app.get("/api/v1/tickets?sort=sla").await;
    let ids: Vec<i64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![id]);
    assert_eq!(list["items"][0]["sla"]["policy"], "Urgent");
    // An agent's reply stops the first-response clock; the customer's next
    // message starts the next-response one.
    let (st, _) = app
        .post(&format!("/api/v1/tickets/{id}/messages"), json!({"body":"Looking"}))
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let s = sla(&app, id).await;
    assert_eq!(
        (s["first_response_due_at"].clone(), s["next_response_due_at"].clone()),
        (Value::Null, Value::Null),
        "{s}"
    );
    let ws = storedesk::domain::ids::WorkspaceId(app.workspace_id);
    app.svc
        .post_as(
            ws,
            storedesk::service::Writer::Contact,
            storedesk::domain::ids::TicketId(id),
            "Still broken".into(),
        )
        .await
        .unwrap();
    let s = sla(&app, id).await;
    assert!(s["next_response_due_at"].is_string(), "{s}");
    // A normal ticket raised to high comes under the policy, counted from its arrival.
    let (st, _) = app
        .patch(&format!("/api/v1/tickets/{normal}"), json!({"priority":"high"}))
        .await;
    assert_eq!(st, StatusCode::OK);
    let s = sla(&app, normal).await;
    let (_, t) = app.get(&format!("/api/v1/tickets/{normal}")).await;
    assert_eq!(ms(&s["first_response_due_at"]), ms(&t["created_at"]) + 60 * MIN, "{s}");
    // Resolving stops them all.
    app.patch(&format!("/api/v1/tickets/{id}"), json!({"status":"resolved"}))
        .await;
    let s = sla(&app, id).await;
    assert_eq!(s["due_at"], Value::Null, "{s}");
}

async fn pending_pauses_the_clock(db: Db) {
    let app = TestApp::spawn(db).await;
    urgent_policy(&app).await;
    let id = high(&app, "Where is it").await;
    let due = ms(&sla(&app, id).await["first_response_due_at"]);
    app.patch(&format!("/api/v1/tickets/{id}"), json!({"status":"pending"}))
        .await;
    let s = sla(&app, id).await;
    assert_eq!(
        (s["paused"].clone(), s["due_at"].clone()),
        (json!(true), Value::Null),
        "{s}"
    );
    storedesk::store::advance_clock(3 * 60 * MIN);
    app.svc.run_timers().await.unwrap();
    assert!(
        events_of(&app, "sla.breached").await.is_empty(),
        "no breach while paused"
    );
    app.patch(&format!("/api/v1/tickets/{id}"), json!({"status":"open"}))
        .await;
    let s = sla(&app, id).await;
    let moved = ms(&s["first_response_due_at"]) - due;
    assert!(
        (3 * 60 * MIN..3 * 60 * MIN + MIN).contains(&moved),
        "the 3 hours paused are given back: {moved} ms"
    );
}

async fn warnings_and_breaches_come_once(db: Db) {
    let app = TestApp::spawn(db).await;
    urgent_policy(&app).await;
    let id = high(&app, "Card charged twice").await;
    sla(&app, id).await;
    storedesk::store::advance_clock(50 * MIN);
    app.svc.run_timers().await.unwrap();
    let warnings = events_of(&app, "sla.warning").await;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0]["changes"]["target"], "first_response");
    assert!(events_of(&app, "sla.breached").await.is_empty());
    storedesk::store::advance_clock(15 * MIN);
    app.svc.run_timers().await.unwrap();
    app.svc.run_timers().await.unwrap();
    let breaches = events_of(&app, "sla.breached").await;
    assert_eq!(breaches.len(), 1, "{breaches:?}");
    assert_eq!(events_of(&app, "sla.warning").await.len(), 1);
    let s = sla(&app, id).await;
    assert_eq!(s["breached"], json!(["first_response"]), "{s}");
    let lines = messages(&app, id).await;
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("First response SLA breached"))
            .count(),
        1,
        "{lines:?}"
    );
    // A breach is also a trigger for rules (a rule on the SLA due time).
}

async fn rule(app: &TestApp, body: Value) {
    let (s, r) = app.post("/api/v1/rules", body).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
}

async fn time_based_rules_fire_once_when_their_time_comes(db: Db) {
    let app = TestApp::spawn(db).await;
    urgent_policy(&app).await;
    rule(
        &app,
        json!({"name":"Late","event":"time.unanswered","minutes":60,"actions":[{"type":"add_label","value":"late"}]}),
    )
    .await;
    rule(
        &app,
        json!({"name":"Gone quiet","event":"time.pending","minutes":120,"actions":[{"type":"close"}]}),
    )
    .await;
    rule(&app, json!({"name":"Heads up","event":"time.sla_due","minutes":-30,"conditions":{"all":[{"field":"priority","op":"is","value":"high"}]},"actions":[{"type":"add_note","body":"Due in 30 minutes"}]})).await;
    let waiting = app.ticket("Waiting", "w@example.com").await["id"].as_i64().unwrap();
    let urgent = high(&app, "Urgent").await;
    let quiet = app.ticket("Quiet", "q@example.com").await["id"].as_i64().unwrap();
    app.patch(&format!("/api/v1/tickets/{quiet}"), json!({"status":"pending"}))
        .await;
    app.consumed("sla").await;

    storedesk::store::advance_clock(31 * MIN);
    app.svc.run_timers().await.unwrap();
    assert!(messages(&app, urgent).await.contains(&"Due in 30 minutes".to_string()));
    let (_, t) = app.get(&format!("/api/v1/tickets/{waiting}")).await;
    assert_eq!(t["labels"], json!([]), "not an hour yet");

    storedesk::store::advance_clock(30 * MIN);
    app.svc.run_timers().await.unwrap();
    let (_, t) = app.get(&format!("/api/v1/tickets/{waiting}")).await;
    assert_eq!(t["labels"], json!(["late"]), "{t}");
    let (_, t) = app.get(&format!("/api/v1/tickets/{quiet}")).await;
    assert_eq!(t["status"], "pending", "pending for an hour only");

    storedesk::store::advance_clock(60 * MIN);
    app.svc.run_timers().await.unwrap();
    app.svc.run_timers().await.unwrap();
    let (_, t) = app.get(&format!("/api/v1/tickets/{quiet}")).await;
    assert_eq!(t["status"], "closed", "{t}");
    let m = messages(&app, waiting).await;
    assert_eq!(
        m.iter().filter(|l| l.starts_with("Rule \"Late\"")).count(),
        1,
        "once: {m:?}"
    );
    let m = messages(&app, urgent).await;
    assert_eq!(m.iter().filter(|l| *l == "Due in 30 minutes").count(), 1, "once: {m:?}");
    // An answer ends the wait; a new customer message starts a new one.
    app.post(&format!("/api/v1/tickets/{waiting}/messages"), json!({"body":"Here"}))
        .await;
    let ws = storedesk::domain::ids::WorkspaceId(app.workspace_id);
    app.svc
        .post_as(
            ws,
            storedesk::service::Writer::Contact,
            storedesk::domain::ids::TicketId(waiting),
            "And now?".into(),
        )
        .await
        .unwrap();
    app.patch(&format!("/api/v1/tickets/{waiting}"), json!({"labels": []}))
        .await;
    storedesk::store::advance_clock(61 * MIN);
    app.svc.run_timers().await.unwrap();
    let m = messages(&app, waiting).await;
    assert_eq!(
        m.iter().filter(|l| l.starts_with("Rule \"Late\"")).count(),
        2,
        "a second wait, a second run: {m:?}"
    );
}

async fn business_hours_hold_time_based_rules_back(db: Db) {
    let app = TestApp::spawn(db).await;
    // Closed for the next days: an hour of open time cannot pass.
    let today = chrono::Utc::now().date_naive();
    let holidays: Vec<String> = (0..4).map(|d| (today + chrono::Days::new(d)).to_string()).collect();
    let (s, e) = app
        .call(
            Method::PUT,
            "/api/v1/calendar",
            &app.token,
            Some(json!({"time_zone":"UTC","week":{},"holidays":holidays})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    rule(&app, json!({"name":"Late in hours","event":"time.unanswered","minutes":60,"business_hours":true,"actions":[{"type":"add_label","value":"late"}]})).await;
    rule(&app, json!({"name":"Late anyway","event":"time.unanswered","minutes":60,"actions":[{"type":"add_label","value":"late-any"}]})).await;
    rule(&app, json!({"name":"Out of hours","event":"ticket.created","conditions":{"all":[{"field":"business_hours","op":"is","value":"closed"}]},"actions":[{"type":"add_label","value":"closed"}]})).await;
    let id = app.ticket("Weekend", "we@example.com").await["id"].as_i64().unwrap();
    app.consumed("rules").await;
    storedesk::store::advance_clock(3 * 60 * MIN);
    app.svc.run_timers().await.unwrap();
    let (_, t) = app.get(&format!("/api/v1/tickets/{id}")).await;
    assert_eq!(t["labels"], json!(["closed", "late-any"]), "{t}");
}

async fn two_nodes_run_the_timers_once(db: Db) {
    let app = TestApp::spawn(db).await;
    rule(
        &app,
        json!({"name":"Nudge","event":"time.unanswered","minutes":1,"actions":[{"type":"add_note","body":"nudge"}]}),
    )
    .await;
    urgent_policy(&app).await;
    let ids = [
        app.ticket("One", "one@example.com").await["id"].as_i64().unwrap(),
        high(&app, "Two").await,
    ];
    app.consumed("sla").await;
    // On PostgreSQL a second node with its own pool; SQLite serves one
    // node (one writer), so there the second runner shares its store.
    let store = match db {
        Db::Postgres => storedesk::store::Store::connect(&app.db.url).await.unwrap(),
        Db::Sqlite => app.store.clone(),
    };
    let other = storedesk::app::AppState::start(store, &app.db.url).await.unwrap();
    storedesk::store::advance_clock(2 * 60 * MIN);
    let (a, b) = (app.svc.clone(), other.svc.clone());
    let runs: Vec<_> = (0..4)
        .flat_map(|_| {
            let (a, b) = (a.clone(), b.clone());
            [
                tokio::spawn(async move { a.run_timers().await.unwrap() }),
                tokio::spawn(async move { b.run_timers().await.unwrap() }),
            ]
        })
        .collect();
    for r in runs {
        r.await.unwrap();
    }
    // And the nodes' own timers, which run every few seconds.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    for id in ids {
        let m = messages(&app, id).await;
        assert_eq!(m.iter().filter(|l| *l == "nudge").count(), 1, "{m:?}");
    }
    assert_eq!(
        events_of(&app, "sla.breached").await.len(),
        1,
        "one breach, recorded once"
    );
    drop(other);
}

async fn out_of_hours_answers_say_when_the_team_is_back(db: Db) {
    use crate::harness::{smtp_send, Sink, MAIL_DOMAIN};
    let app = TestApp::spawn(db).await;
    // Closed today and tomorrow (in Kyiv); open around the clock after.
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Europe::Kyiv).date_naive();
    let holidays: Vec<String> = (0..2).map(|d| (today + chrono::Days::new(d)).to_string()).collect();
    let (s, e) = app
        .call(
            Method::PUT,
            "/api/v1/calendar",
            &app.token,
            Some(json!({"time_zone":"Europe/Kyiv","holidays":holidays})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let (sink, relay) = Sink::start().await;
    let smtp = app.mail(Some(relay)).await;
    let support = format!("acme-shop@{MAIL_DOMAIN}");
    let raw = crate::email::mail(
        "ann@shop.test",
        &support,
        "Order",
        "late@shop.test",
        "",
        "Where is my order?",
    );
    smtp_send(smtp, "ann@shop.test", &support, &raw).await.unwrap();
    let got = sink.wait(1).await;
    let back = (today + chrono::Days::new(2)).to_string();
    assert!(
        got[0].contains(&format!("answer from {back} 00:00 (Europe/Kyiv)")),
        "{}",
        got[0]
    );
    // The chat's away answer says it too, in the visitor's own zone when
    // their browser gave one (and the store's when it gave nonsense).
    for (zone, expect) in [
        (
            json!("America/New_York"),
            format!(
                "We are back on {} 17:00 (America/New_York)",
                today + chrono::Days::new(1)
            ),
        ),
        (json!("Mars/Base"), format!("We are back on {back} 00:00 (Europe/Kyiv)")),
    ] {
        let url = format!("{}/ws?workspace=acme-shop", app.ws_url());
        let mut v = crate::harness::Socket::connect(&url, Some("http://shop.test"))
            .await
            .unwrap();
        v.send(json!({ "type": "hello", "lang": "en", "time_zone": zone }))
            .await;
        v.until("welcome").await;
        v.send(json!({ "type": "message", "client_id": "c1", "body": "Hello?" }))
            .await;
        loop {
            let f = v.until("message").await;
            if f["message"]["from"] == "system" {
                let body = f["message"]["body"].as_str().unwrap();
                assert!(body.contains(&expect), "{body} does not say {expect}");
                break;
            }
        }
    }
}
