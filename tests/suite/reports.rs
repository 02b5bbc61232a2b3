//! Reports from the running totals, checked against an exact count over
//! the same tickets (and again after the totals are rebuilt from the
//! tables); days in the workspace's time zone; validation, admins only,
//! one workspace never sees another's figures; CSV downloads.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use storedesk::domain::ids::{TicketId, WorkspaceId};
use storedesk::service::Writer;

use crate::harness::{Db, TestApp};

crate::both_backends!(
    reports_agree_with_an_exact_count,
    days_follow_the_workspace_time_zone,
    reports_are_validated_and_kept_to_their_workspace,
    time_online_is_counted_per_agent,
    ratings_count_under_the_agent_who_had_the_ticket,
    a_merged_ticket_counts_once,
);

const S: i64 = 1000;

fn ms(v: &Value) -> Option<i64> {
    Some(
        chrono::DateTime::parse_from_rfc3339(v.as_str()?)
            .ok()?
            .timestamp_millis(),
    )
}

fn today() -> chrono::NaiveDate {
    chrono::DateTime::from_timestamp_millis(storedesk::store::now_ms())
        .unwrap()
        .date_naive()
}

/// Nearest-rank quantile, as the reports define it.
fn quantile(mut v: Vec<i64>, q: f64) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    Some(v[rank - 1])
}

/// Within the digest's stated error (2%), and a second for the
/// milliseconds between a change and its event.
fn close(got: &Value, want: Option<i64>, what: &str) {
    match (got.as_i64(), want) {
        (None, None) => {}
        (Some(g), Some(w)) => assert!(
            (g - w).abs() as f64 <= w as f64 * 0.02 + 1.0,
            "{what}: report says {g}, exact {w}"
        ),
        (g, w) => panic!("{what}: report says {g:?}, exact {w:?}"),
    }
}

async fn summary(app: &TestApp, query: &str) -> Value {
    let (s, v) = app.get(&format!("/api/v1/reports/summary?{query}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

async fn reports_agree_with_an_exact_count(db: Db) {
    let app = TestApp::spawn(db).await;
    let (agent, agent_token) = app.agent("kate@acme.test", false).await;
    let ws = WorkspaceId(app.workspace_id);
    let mut ids = vec![];
    for i in 0..16i64 {
        let t = app
            .ticket(&format!("Order {i}"), &format!("c{}@shop.test", i % 5))
            .await;
        let id = t["id"].as_i64().unwrap();
        ids.push(id);
        let path = format!("/api/v1/tickets/{id}");
        storedesk::store::advance_clock((30 + i * 23) * S);
        if i % 4 != 3 {
            let token = if i % 2 == 0 { &app.token } else { &agent_token };
            let (s, m) = app
                .call(
                    Method::POST,
                    &format!("{path}/messages"),
                    token,
                    Some(json!({"body": "On its way"})),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{m}");
        }
        if i % 3 == 0 {
            storedesk::store::advance_clock(600 * S);
            app.svc
                .post_as(ws, Writer::Contact, TicketId(id), "And the invoice?".into())
                .await
                .unwrap();
            storedesk::store::advance_clock((40 + i * 7) * S);
            let (s, _) = app.post(&format!("{path}/messages"), json!({"body": "Attached"})).await;
            assert_eq!(s, StatusCode::CREATED);
        }
        if i % 2 == 0 {
            storedesk::store::advance_clock(3600 * S);
            let (s, v) = app
                .patch(&path, json!({"status": "resolved", "assignee_id": agent}))
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
        }
        if i % 5 == 0 {
            let (s, v) = app.patch(&path, json!({"labels": ["refund"]})).await;
            assert_eq!(s, StatusCode::OK, "{v}");
        }
    }
    app.consumed("reports").await;

    // The exact figures, from the tickets themselves.
    let (mut frt, mut res, mut resolved, mut refund) = (vec![], vec![], 0, 0);
    for id in &ids {
        let (_, t) = app.get(&format!("/api/v1/tickets/{id}")).await;
        let created = ms(&t["created_at"]).unwrap();
        if let Some(f) = ms(&t["first_response_at"]) {
            frt.push((f - created) / S);
        }
        if let Some(r) = ms(&t["resolved_at"]) {
            res.push((r - created) / S);
            resolved += 1;
        }
        refund += t["labels"].as_array().unwrap().iter().any(|l| l == "refund") as i64;
    }
    let range = format!(
        "from={}&to={}",
        today() - chrono::Days::new(3),
        today() + chrono::Days::new(3)
    );
    let v = summary(&app, &range).await;
    assert_eq!(v["created"], 16, "{v}");
    assert_eq!(v["resolved"], resolved, "{v}");
    assert_eq!(v["backlog"]["end"], 16 - resolved, "{v}");
    assert_eq!(v["first_response"]["count"], frt.len() as i64, "{v}");
    close(
        &v["first_response"]["median_s"],
        quantile(frt.clone(), 0.5),
        "first response median",
    );
    close(
        &v["first_response"]["p90_s"],
        quantile(frt.clone(), 0.9),
        "first response p90",
    );
    close(
        &v["resolution"]["median_s"],
        quantile(res.clone(), 0.5),
        "resolution median",
    );
    close(&v["resolution"]["p90_s"], quantile(res.clone(), 0.9), "resolution p90");
    // 6 tickets had a customer follow-up answered; in 2 of them the team
    // had not answered yet, so that answer was the first response.
    assert_eq!(v["next_response"]["count"], 4, "{v}");
    assert_eq!(v["benchmark"]["first_response_s"], 113);
    assert!(v["csat"]["responses"] == 0 && v["nps"]["responses"] == 0, "{v}");

    // The same tickets under the label set after they were resolved.
    let l = summary(&app, &format!("{range}&label=refund")).await;
    assert_eq!(l["created"], refund, "{l}");
    assert_eq!(l["filter"], json!({"label": "refund"}));

    // Per agent: replies go to who wrote them, resolutions to the assignee.
    let (s, b) = app.get(&format!("/api/v1/reports/agents?{range}")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let row = |id: i64| {
        b["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == id.to_string().as_str())
            .cloned()
            .unwrap()
    };
    assert_eq!(row(agent)["resolved"], resolved, "{b}");
    assert_eq!(row(agent)["replies"], 4, "{b}");
    assert_eq!(row(agent)["name"], "kate@acme.test");
    let replies: i64 = b["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["replies"].as_i64().unwrap())
        .sum();
    assert_eq!(replies, 12 + 6);

    // Day by day and by the hour: the same sixteen.
    let (_, d) = app.get(&format!("/api/v1/reports/series?{range}")).await;
    let days = d["days"].as_array().unwrap();
    assert_eq!(days.len(), 7);
    assert_eq!(days.iter().map(|x| x["created"].as_i64().unwrap()).sum::<i64>(), 16);
    assert_eq!(days.last().unwrap()["backlog"], 16 - resolved);
    let (_, h) = app.get(&format!("/api/v1/reports/heatmap?{range}")).await;
    assert_eq!(h["total"], 16, "{h}");
    assert_eq!(h["time_zone"], "UTC");

    // Built again from the tables: the same figures.
    let (s, _) = app.post("/api/v1/reports/rebuild", json!({})).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    app.consumed("reports").await;
    for _ in 0..100 {
        if app.store.pending_rebuilds().await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let again = summary(&app, &range).await;
    for k in [
        "created",
        "resolved",
        "backlog",
        "first_response",
        "resolution",
        "next_response",
    ] {
        assert_eq!(again[k], v[k], "{k} after a rebuild: {again} vs {v}");
    }
    assert_eq!(summary(&app, &format!("{range}&label=refund")).await["created"], refund);

    // CSV of every table.
    for path in [
        "summary",
        "series",
        "agents",
        "breakdown?by=label",
        "heatmap",
        "features",
    ] {
        let sep = if path.contains('?') { '&' } else { '?' };
        let r = app
            .client
            .get(format!("{}/api/v1/reports/{path}{sep}format=csv&{range}", app.base))
            .bearer_auth(&app.token)
            .send()
            .await
            .unwrap();
        let path = path.split('?').next().unwrap();
        let r = if path == "features" {
            app.client
                .get(format!("{}/api/v1/reports/features?format=csv", app.base))
                .bearer_auth(&app.token)
                .send()
                .await
                .unwrap()
        } else {
            r
        };
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        assert!(r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment"));
        let text = r.text().await.unwrap();
        // Features: none asked for here, so the header alone.
        assert!(text.lines().count() > (path != "features") as usize, "{path}: {text}");
    }
}

async fn days_follow_the_workspace_time_zone(db: Db) {
    let app = TestApp::spawn(db).await;
    let cal = json!({"time_zone": "Asia/Tehran", "week": {}, "holidays": []});
    let (s, v) = app.call(Method::PUT, "/api/v1/calendar", &app.token, Some(cal)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // To the next 20:40 UTC: 00:10 the next day in Tehran (UTC+3:30).
    let now = storedesk::store::now_ms();
    let day = 86_400 * S;
    let mut at = now - now % day + (20 * 3600 + 40 * 60) * S;
    if at <= now {
        at += day;
    }
    storedesk::store::advance_clock(at - now);
    app.ticket("Late order", "night@shop.test").await;
    app.consumed("reports").await;
    let utc_day = chrono::DateTime::from_timestamp_millis(storedesk::store::now_ms())
        .unwrap()
        .date_naive();
    let local_day = utc_day + chrono::Days::new(1);
    assert_eq!(
        summary(&app, &format!("from={local_day}&to={local_day}")).await["created"],
        1
    );
    assert_eq!(
        summary(&app, &format!("from={utc_day}&to={utc_day}")).await["created"],
        0
    );
    let (_, h) = app
        .get(&format!("/api/v1/reports/heatmap?from={local_day}&to={local_day}"))
        .await;
    let weekday = chrono::Datelike::weekday(&local_day).num_days_from_monday() as usize;
    assert_eq!(h["cells"][weekday][0], 1, "{h}");
    assert_eq!(h["time_zone"], "Asia/Tehran");
}

async fn reports_are_validated_and_kept_to_their_workspace(db: Db) {
    let app = TestApp::spawn(db).await;
    app.ticket("Mine", "me@shop.test").await;
    app.consumed("reports").await;
    for (query, field) in [
        ("from=2026-13-01", "from"),
        ("to=yesterday", "to"),
        ("from=2026-11-30&to=2026-11-01", "from"),
        ("from=2000-01-01&to=2026-11-30", "from"),
        ("team=1&channel=chat", "filter"),
        ("channel=pigeon", "channel"),
        ("agent=-3", "agent"),
        ("kind=rant", "kind"),
        ("compare=maybe", "compare"),
        ("format=xlsx", "format"),
        ("surprise=1", ""),
    ] {
        let (s, v) = app.get(&format!("/api/v1/reports/summary?{query}")).await;
        assert!(
            s == StatusCode::BAD_REQUEST || s == StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {s} {v}"
        );
        assert!(v["error"]["message"].as_str().unwrap().contains(field), "{query}: {v}");
    }
    let (s, v) = app.get("/api/v1/reports/breakdown?by=hour").await;
    assert!(s.is_client_error(), "{v}");
    let (s, v) = app.get("/api/v1/reports/agents?team=1").await;
    assert!(s.is_client_error(), "{v}");

    // Agents do not see reports.
    let (_, agent) = app.agent("kate@acme.test", false).await;
    for path in ["summary", "agents", "heatmap", "settings", "features"] {
        let (s, _) = app
            .call(Method::GET, &format!("/api/v1/reports/{path}"), &agent, None)
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}");
    }
    let (s, _) = app
        .call(Method::POST, "/api/v1/reports/rebuild", &agent, Some(json!({})))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Another workspace's admin sees only their own (empty) figures.
    let (_, _, other) = app.workspace("Other Shop").await;
    let (s, v) = app.call(Method::GET, "/api/v1/reports/summary", &other, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["created"], 0, "{v}");
    let (_, v) = app.call(Method::GET, "/api/v1/reports/heatmap", &other, None).await;
    assert_eq!(v["total"], 0, "{v}");
    let (_, v) = app.call(Method::GET, "/api/v1/reports/summary", &app.token, None).await;
    assert_eq!(v["created"], 1, "{v}");

    // Settings: checked, and the benchmark follows the industry.
    let (s, v) = app
        .call(
            Method::PUT,
            "/api/v1/reports/settings",
            &app.token,
            Some(json!({"industry": "space"})),
        )
        .await;
    assert!(s.is_client_error(), "{v}");
    let (s, v) = app
        .call(
            Method::PUT,
            "/api/v1/reports/settings",
            &app.token,
            Some(json!({"nps_every_days": 0})),
        )
        .await;
    assert!(s.is_client_error(), "{v}");
    let (s, v) = app
        .call(
            Method::PUT,
            "/api/v1/reports/settings",
            &app.token,
            Some(json!({"industry": "technology", "nps": true, "nps_every_days": 30})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let v = summary(&app, "compare=true").await;
    assert_eq!(v["benchmark"]["first_response_s"], 96);
    assert_eq!(v["benchmark"]["csat_pct"], 90.13);
    assert_eq!(v["previous"]["created"], 0, "{v}");
    let (_, v) = app.get("/api/v1/reports/settings").await;
    assert_eq!(
        (v["nps"].as_bool(), v["csat"].as_bool()),
        (Some(true), Some(true)),
        "{v}"
    );
}

async fn time_online_is_counted_per_agent(db: Db) {
    let app = TestApp::spawn(db).await;
    let (kate, token) = app.agent("kate@acme.test", false).await;
    let (s, v) = app
        .call(
            Method::PUT,
            "/api/v1/me/availability",
            &token,
            Some(json!({"status": "online"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // The timers sample every minute; a jump of more than two is a gap
    // (a restart), not time online.
    for _ in 0..2 {
        storedesk::store::advance_clock(61 * S);
        app.svc.sample_online().await.unwrap();
    }
    let (_, b) = app.get("/api/v1/reports/agents").await;
    let online = |id: i64| {
        b["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == id.to_string().as_str())
            .unwrap()["online_s"]
            .as_i64()
            .unwrap()
    };
    assert!(online(kate) >= 60, "{b}");
    assert_eq!(online(app.admin_id), 0, "{b}");
}

async fn ratings_count_under_the_agent_who_had_the_ticket(db: Db) {
    let app = TestApp::spawn(db).await;
    let (kate, _) = app.agent("kate@acme.test", false).await;
    let ws = app.workspace_id;
    let mut ids = vec![];
    for (i, score) in [5, 4, 2].into_iter().enumerate() {
        let t = app.ticket(&format!("Parcel {i}"), &format!("r{i}@shop.test")).await;
        let id = t["id"].as_i64().unwrap();
        let (s, v) = app
            .patch(
                &format!("/api/v1/tickets/{id}"),
                json!({"status": "resolved", "assignee_id": kate}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        app.consumed("surveys").await;
        let answer = storedesk::store::surveys::Answer {
            score: Some(score),
            comment: None,
        };
        app.svc.answer_csat(ws, id, &answer, "mail").await.unwrap();
        ids.push(id);
    }
    // The customer changes their mind: the new score replaces the old.
    let answer = storedesk::store::surveys::Answer {
        score: Some(1),
        comment: Some("Still broken".into()),
    };
    app.svc.answer_csat(ws, ids[0], &answer, "mail").await.unwrap();
    app.consumed("reports").await;
    let v = summary(&app, "").await;
    assert_eq!(v["csat"]["responses"], 3, "{v}");
    assert_eq!(v["csat"]["score_pct"], 33.33, "one of three is 4 or 5: {v}");
    assert_eq!(v["csat"]["average"], 2.33, "{v}");
    let (_, b) = app.get("/api/v1/reports/agents").await;
    let row = b["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == kate.to_string().as_str())
        .unwrap()
        .clone();
    assert_eq!(row["csat"]["responses"], 3, "{b}");
    assert_eq!(row["resolved"], 3, "{b}");
}

/// Two tickets of one request merged: one conversation created, and the
/// merge's close is not a resolution, live and after a rebuild.
async fn a_merged_ticket_counts_once(db: Db) {
    let app = TestApp::spawn(db).await;
    let a = app.ticket("Where is my order?", "ann@shop.test").await;
    let b = app.ticket("Order 42 again", "ann@shop.test").await;
    let (s, v) = app
        .post(
            &format!("/api/v1/tickets/{}/merge", a["id"]),
            json!({ "from": b["id"] }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    app.consumed("reports").await;
    let day = today();
    let range = format!("from={day}&to={day}");
    let v = summary(&app, &range).await;
    assert_eq!(
        (v["created"].as_i64(), v["resolved"].as_i64()),
        (Some(1), Some(0)),
        "{v}"
    );
    let (s, _) = app.post("/api/v1/reports/rebuild", json!({})).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    app.consumed("reports").await;
    for _ in 0..100 {
        if app.store.pending_rebuilds().await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let again = summary(&app, &range).await;
    assert_eq!(
        (again["created"].as_i64(), again["resolved"].as_i64()),
        (Some(1), Some(0)),
        "{again}"
    );
}
