//! Time and client reports over HTTP: time entries and their totals, who
//! may change them, bounds, the server-side timer, clients with their
//! contacts, subscription balances and the warning (once a month), the
//! client's answer to an estimate on the private page, the monthly reports
//! (JSON and CSV), and time moving with a merged ticket.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{Db, TestApp};

crate::both_backends!(
    timework_entries_totals_permissions_and_bounds,
    timework_timer_survives_a_reload,
    timework_subscription_balance_and_warning_once,
    timework_client_answers_the_estimate_on_the_private_page,
    timework_reports_csv_and_merge,
    timework_resolved_ticket_sends_the_time_report,
);

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap()
}

async fn log(app: &TestApp, token: &str, ticket: i64, body: Value) -> (StatusCode, Value) {
    app.call(
        Method::POST,
        &format!("/api/v1/tickets/{ticket}/time"),
        token,
        Some(body),
    )
    .await
}

async fn event_types(app: &TestApp) -> Vec<String> {
    let (s, e) = app.get("/api/v1/events?limit=500").await;
    assert_eq!(s, StatusCode::OK, "{e}");
    e["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

async fn timework_entries_totals_permissions_and_bounds(db: Db) {
    let app = TestApp::spawn(db).await;
    let t = id(&app.ticket("Theme header broken", "ann@shop.test").await);
    let (bob, bob_token) = app.agent("bob@acme.test", false).await;
    let admin = app.token.clone();

    let (s, a) = log(
        &app,
        &admin,
        t,
        json!({"minutes": 30, "billable": true, "note": "Found the CSS"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    assert_eq!((a["minutes"].as_i64(), a["billable"].as_bool()), (Some(30), Some(true)));
    assert_eq!(a["user_id"], app.admin_id);
    let (s, b) = log(
        &app,
        &bob_token,
        t,
        json!({"hours": 1, "minutes": 15, "billable": false}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["minutes"], 75);

    let (s, w) = app.get(&format!("/api/v1/tickets/{t}/time")).await;
    assert_eq!(s, StatusCode::OK, "{w}");
    assert_eq!(w["entries"].as_array().unwrap().len(), 2);
    assert_eq!(
        (w["total_minutes"].as_i64(), w["billable_minutes"].as_i64()),
        (Some(105), Some(30))
    );
    assert_eq!(w["estimate_minutes"], Value::Null);
    assert_eq!(w["entries"][1]["user_name"], "bob@acme.test");

    // Bob may not change or delete the admin's entry; he may change his own.
    let path_a = format!("/api/v1/tickets/{t}/time/{}", id(&a));
    let path_b = format!("/api/v1/tickets/{t}/time/{}", id(&b));
    let (s, _) = app.call(Method::DELETE, &path_a, &bob_token, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .call(Method::PATCH, &path_a, &bob_token, Some(json!({"minutes": 1})))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, e) = app
        .call(
            Method::PATCH,
            &path_b,
            &bob_token,
            Some(json!({"minutes": 45, "billable": true, "note": "Fixed"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    assert_eq!(
        (e["minutes"].as_i64(), e["billable"].as_bool(), e["note"].as_str()),
        (Some(45), Some(true), Some("Fixed"))
    );
    assert_eq!(e["user_id"], bob);
    // The admin may delete anyone's.
    let (s, _) = app.call(Method::DELETE, &path_b, &admin, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app.call(Method::DELETE, &path_b, &admin, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, w) = app.get(&format!("/api/v1/tickets/{t}/time")).await;
    assert_eq!(w["total_minutes"], 30);

    // Bounds.
    for bad in [
        json!({"minutes": -5}),
        json!({"minutes": 0}),
        json!({"minutes": 24 * 60 + 1}),
        json!({"hours": 9_223_372_036_854_775_807i64, "minutes": 1}),
        json!({"hours": -1, "minutes": 90}),
        json!({}),
        json!({"minutes": 10, "note": "x".repeat(2001)}),
        json!({"minutes": "ten"}),
        json!({"minutes": 10, "extra": 1}),
    ] {
        let (s, e) = log(&app, &admin, t, bad.clone()).await;
        assert!(
            s == StatusCode::UNPROCESSABLE_ENTITY || s == StatusCode::BAD_REQUEST,
            "{bad}: {s} {e}"
        );
    }
    let (s, _) = app
        .call(Method::PATCH, &path_a, &admin, Some(json!({"minutes": -1})))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    for missing in [99_999_999, 0] {
        let (s, _) = log(&app, &admin, missing, json!({"minutes": 5})).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    let (s, _) = log(&app, &admin, t, json!({"minutes": 10, "note": "é".repeat(2000)})).await;
    assert_eq!(s, StatusCode::CREATED);

    // Another workspace can neither see nor add nor change entries.
    let (_, _, other) = app.workspace("Other Studio").await;
    let (s, _) = app
        .call(Method::GET, &format!("/api/v1/tickets/{t}/time"), &other, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = log(&app, &other, t, json!({"minutes": 5})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app.call(Method::DELETE, &path_a, &other, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .call(Method::POST, &format!("/api/v1/tickets/{t}/timer"), &other, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .call(
            Method::PUT,
            &format!("/api/v1/tickets/{t}/estimate"),
            &other,
            Some(json!({"hours": 1})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, w) = app.get(&format!("/api/v1/tickets/{t}/time")).await;
    assert_eq!(w["total_minutes"], 40);

    let types = event_types(&app).await;
    for kind in ["time.logged", "time.updated", "time.deleted"] {
        assert!(types.iter().any(|t| t == kind), "{kind} in {types:?}");
    }
}

async fn timework_timer_survives_a_reload(db: Db) {
    let app = TestApp::spawn(db).await;
    let t = id(&app.ticket("Slow checkout", "cat@shop.test").await);
    let (_, bob_token) = app.agent("bob@acme.test", false).await;
    let path = format!("/api/v1/tickets/{t}/timer");

    let (s, started) = app.post(&path, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{started}");
    // A reload (a new request, another node even) sees the same timer; starting again keeps it.
    let (_, w) = app.get(&format!("/api/v1/tickets/{t}/time")).await;
    assert_eq!(w["timer_started_at"], started["started_at"]);
    let (_, again) = app.post(&path, json!({})).await;
    assert_eq!(again["started_at"], started["started_at"]);
    // Bob's timer is his own.
    let (s, w) = app
        .call(Method::GET, &format!("/api/v1/tickets/{t}/time"), &bob_token, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(w["timer_started_at"], Value::Null);
    let stop = format!("{path}/stop");
    let (s, _) = app.call(Method::POST, &stop, &bob_token, Some(json!({}))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (s, e) = app
        .call(
            Method::POST,
            &stop,
            &app.token,
            Some(json!({"note": "Profiling", "billable": false})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    assert!(e["minutes"].as_i64().unwrap() >= 1);
    assert_eq!(
        (e["note"].as_str(), e["billable"].as_bool()),
        (Some("Profiling"), Some(false))
    );
    let (_, w) = app.get(&format!("/api/v1/tickets/{t}/time")).await;
    assert_eq!(w["timer_started_at"], Value::Null);
    assert_eq!(w["entries"].as_array().unwrap().len(), 1);
    let (s, _) = app.call(Method::POST, &stop, &app.token, Some(json!({}))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn client(app: &TestApp, body: Value) -> Value {
    let (s, c) = app.post("/api/v1/clients", body).await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    c
}

async fn link_contact(app: &TestApp, ticket: &Value, client: i64) {
    let contact = ticket["contact"]["id"].as_i64().unwrap();
    let (s, r) = app
        .call(
            Method::PUT,
            &format!("/api/v1/contacts/{contact}/client"),
            &app.token,
            Some(json!({"client_id": client})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
}

async fn notes(app: &TestApp, ticket: i64) -> Vec<String> {
    let (_, m) = app.get(&format!("/api/v1/tickets/{ticket}/messages")).await;
    m["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "note")
        .map(|m| m["body"].as_str().unwrap().to_string())
        .collect()
}

async fn timework_subscription_balance_and_warning_once(db: Db) {
    let app = TestApp::spawn(db).await;
    // Clients: validation, listing, another workspace.
    for bad in [
        json!({"work_type": "subscription"}),
        json!({"name": "X", "work_type": "weekly"}),
        json!({"name": "X", "included_minutes": -1}),
        json!({"name": "X", "hourly_rate": 1_000_000_000_000i64}),
        json!({"name": "X", "currency": "euro"}),
        json!({"name": " "}),
        json!({"name": "x".repeat(201)}),
    ] {
        let (s, e) = app.post("/api/v1/clients", bad.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {e}");
    }
    let c = client(
        &app,
        json!({"name": "Bloom Florist", "work_type": "subscription", "included_minutes": 100, "hourly_rate": 6000, "urgent_rate": 9000, "currency": "eur"}),
    )
    .await;
    let cid = id(&c);
    assert_eq!(
        (c["currency"].as_str(), c["work_type"].as_str()),
        (Some("EUR"), Some("subscription"))
    );
    let t = app.ticket("Update the banner", "flo@bloom.test").await;
    let tid = id(&t);
    link_contact(&app, &t, cid).await;
    let (_, shown) = app.get(&format!("/api/v1/clients/{cid}")).await;
    assert_eq!(shown["contacts"][0]["email"], "flo@bloom.test");
    let (_, list) = app.get("/api/v1/clients").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (_, _, other) = app.workspace("Other Studio").await;
    for (m, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"name": "Mine"}))),
        (Method::DELETE, None),
    ] {
        let (s, _) = app.call(m, &format!("/api/v1/clients/{cid}"), &other, body).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    let (s, _) = app
        .call(Method::GET, &format!("/api/v1/clients/{cid}/report"), &other, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, theirs) = app.call(Method::GET, "/api/v1/clients", &other, None).await;
    assert_eq!(theirs["items"].as_array().unwrap().len(), 0);
    // Their contact cannot join our client, nor ours theirs.
    let (s, their_client) = app
        .call(Method::POST, "/api/v1/clients", &other, Some(json!({"name": "Theirs"})))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let contact = t["contact"]["id"].as_i64().unwrap();
    let (s, _) = app
        .call(
            Method::PUT,
            &format!("/api/v1/contacts/{contact}/client"),
            &app.token,
            Some(json!({"client_id": id(&their_client)})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = app
        .call(
            Method::PUT,
            &format!("/api/v1/contacts/{contact}/client"),
            &other,
            Some(json!({"client_id": id(&their_client)})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // An agent reads clients but does not manage them.
    let (_, bob) = app.agent("bob@acme.test", false).await;
    let (s, _) = app.call(Method::GET, "/api/v1/clients", &bob, None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app
        .call(Method::POST, "/api/v1/clients", &bob, Some(json!({"name": "Y"})))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // 50 of 100 minutes: no warning; non-billable time does not count.
    log(&app, &app.token, tid, json!({"minutes": 50})).await;
    log(&app, &app.token, tid, json!({"minutes": 200, "billable": false})).await;
    assert!(notes(&app, tid).await.is_empty());
    let (_, r) = app.get(&format!("/api/v1/clients/{cid}/report")).await;
    assert_eq!(r["bill"]["balance_minutes"], 50, "{r}");
    // 80: the team is warned once (a note on the ticket, a mail to the admins, an event).
    log(&app, &app.token, tid, json!({"minutes": 30})).await;
    let n = notes(&app, tid).await;
    assert_eq!(n.len(), 1, "{n:?}");
    assert!(n[0].contains("Bloom Florist") && n[0].contains("1 h 20 min"), "{n:?}");
    log(&app, &app.token, tid, json!({"minutes": 30})).await;
    assert_eq!(notes(&app, tid).await.len(), 1);
    let (_, outbox) = app.get("/api/v1/outbox").await;
    let mails: Vec<&Value> = outbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "client_balance")
        .collect();
    assert_eq!(mails.len(), 1, "{outbox}");
    let types = event_types(&app).await;
    assert_eq!(types.iter().filter(|t| *t == "client.balance_low").count(), 1);
    // 110 of 100: nothing left, 10 minutes charged at the hourly rate.
    let (_, r) = app.get(&format!("/api/v1/clients/{cid}/report")).await;
    assert_eq!(r["bill"]["balance_minutes"], 0, "{r}");
    assert_eq!(r["bill"]["included_used_minutes"], 100);
    assert_eq!(r["bill"]["regular_amount"], 1000);
    assert_eq!(
        (r["total_minutes"].as_i64(), r["billable_minutes"].as_i64()),
        (Some(310), Some(110))
    );
}

async fn timework_client_answers_the_estimate_on_the_private_page(db: Db) {
    let app = TestApp::spawn(db).await;
    let t = app.ticket("New product page", "flo@bloom.test").await;
    let tid = id(&t);
    let other_t = app.ticket("Another client's page", "max@else.test").await;
    let link = app.store.ticket_link(tid).await.unwrap();
    let page = format!("{}/p/acme-shop/t/{link}", app.base);
    let answer = format!("{page}/estimate");
    let http = reqwest::Client::new();
    // No estimate yet: nothing to show or answer.
    assert!(!app
        .html(&format!("/p/acme-shop/t/{link}"))
        .await
        .contains("Approve the estimate"));
    let r = http.post(&answer).form(&[("action", "approve")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);

    for bad in [json!({"minutes": -1}), json!({"hours": 1001}), json!({})] {
        let (s, _) = app
            .call(
                Method::PUT,
                &format!("/api/v1/tickets/{tid}/estimate"),
                &app.token,
                Some(bad),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (s, e) = app
        .call(
            Method::PUT,
            &format!("/api/v1/tickets/{tid}/estimate"),
            &app.token,
            Some(json!({"hours": 2, "minutes": 30})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    assert_eq!(
        (e["estimate_minutes"].as_i64(), e["estimate_state"].as_str()),
        (Some(150), Some("proposed"))
    );
    log(&app, &app.token, tid, json!({"minutes": 20})).await;
    let html = app.html(&format!("/p/acme-shop/t/{link}")).await;
    assert!(
        html.contains("2 h 30 min") && html.contains("20 min") && html.contains("Approve the estimate"),
        "{html}"
    );

    // A question is posted on the ticket as the client's message.
    let r = http
        .post(&answer)
        .form(&[("action", "question"), ("question", "Why so long for one page?")])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    let (_, w) = app.get(&format!("/api/v1/tickets/{tid}/time")).await;
    assert_eq!(w["estimate_state"], "questioned");
    let (_, m) = app.get(&format!("/api/v1/tickets/{tid}/messages")).await;
    assert!(
        m["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["kind"] == "reply" && m["body"].as_str().unwrap().contains("Why so long for one page?")),
        "{m}"
    );
    let r = http
        .post(&answer)
        .form(&[("action", "question"), ("question", "")])
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("must not be empty"));

    // Another client (their own ticket's contact), a wrong link, another workspace: refused.
    let other_contact = other_t["contact"]["id"].as_i64().unwrap();
    assert!(app
        .svc
        .answer_estimate(app.workspace_id, other_contact, tid, None)
        .await
        .is_err());
    let r = http
        .post(format!("{}/p/acme-shop/t/{link}x/estimate", app.base))
        .form(&[("action", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    app.workspace("Other Studio").await;
    let r = http
        .post(format!("{}/p/other-studio/t/{link}/estimate", app.base))
        .form(&[("action", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let (_, w) = app.get(&format!("/api/v1/tickets/{tid}/time")).await;
    assert_eq!(w["estimate_state"], "questioned");

    // Approved; then there is nothing left to answer until a new estimate.
    let r = http.post(&answer).form(&[("action", "approve")]).send().await.unwrap();
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    let (_, w) = app.get(&format!("/api/v1/tickets/{tid}/time")).await;
    assert_eq!(w["estimate_state"], "approved");
    assert!(!app
        .html(&format!("/p/acme-shop/t/{link}"))
        .await
        .contains("Approve the estimate"));
    let r = http.post(&answer).form(&[("action", "approve")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let types = event_types(&app).await;
    for kind in ["estimate.set", "estimate.questioned", "estimate.approved"] {
        assert!(types.iter().any(|t| t == kind), "{kind} in {types:?}");
    }
}

async fn timework_reports_csv_and_merge(db: Db) {
    let app = TestApp::spawn(db).await;
    let c = client(
        &app,
        json!({"name": "Oak Shoes", "work_type": "one_off", "hourly_rate": 6000, "urgent_rate": 12000, "currency": "USD"}),
    )
    .await;
    let cid = id(&c);
    let a = app.ticket("=HYPERLINK(\"x\")", "oak@shoes.test").await;
    let b = app.ticket("Checkout down", "oak@shoes.test").await;
    let stray = app.ticket("Not a client", "walk@in.test").await;
    link_contact(&app, &a, cid).await;
    let (aid, bid) = (id(&a), id(&b));
    let (s, _) = app
        .call(
            Method::PUT,
            &format!("/api/v1/tickets/{bid}/estimate"),
            &app.token,
            Some(json!({"urgent": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (bob, bob_token) = app.agent("bob@acme.test", false).await;
    log(&app, &app.token, aid, json!({"minutes": 90})).await;
    log(&app, &bob_token, aid, json!({"minutes": 15, "billable": false})).await;
    log(&app, &bob_token, bid, json!({"minutes": 30})).await;
    log(&app, &bob_token, id(&stray), json!({"minutes": 45})).await;

    let (s, r) = app.get(&format!("/api/v1/clients/{cid}/report")).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let month = r["month"].as_str().unwrap().to_string();
    assert_eq!(r["tickets"].as_array().unwrap().len(), 2, "{r}");
    assert_eq!(
        (r["total_minutes"].as_i64(), r["billable_minutes"].as_i64()),
        (Some(135), Some(120))
    );
    assert_eq!(r["bill"]["regular_amount"], 9000);
    assert_eq!(r["bill"]["urgent_amount"], 6000);
    assert_eq!(r["bill"]["total_amount"], 15000);
    assert_eq!(r["bill"]["balance_minutes"], Value::Null);
    let (s, _) = app.get(&format!("/api/v1/clients/{cid}/report?month=2026-13")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, empty) = app.get(&format!("/api/v1/clients/{cid}/report?month=2001-01")).await;
    assert_eq!(empty["tickets"].as_array().unwrap().len(), 0);

    let csv = reqwest::Client::new()
        .get(format!("{}/api/v1/clients/{cid}/report.csv?month={month}", app.base))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "month,ticket,subject,urgent,minutes,billable_minutes,time");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("\"'=HYPERLINK(\"\"x\"\")\"") && l.contains(",105,90,")),
        "{text}"
    );
    assert!(lines.iter().any(|l| l.contains("Checkout down,true,30,30,")), "{text}");
    assert!(lines.iter().any(|l| l.ends_with("amount,,,,,150.00 USD")), "{text}");
    assert!(!text.contains("Not a client"));

    // Per agent: Bob sees his own, not the admin's; the admin sees anyone's.
    let (s, mine) = app.call(Method::GET, "/api/v1/reports/time", &bob_token, None).await;
    assert_eq!(s, StatusCode::OK, "{mine}");
    assert_eq!(
        (mine["agent_id"].as_i64(), mine["total_minutes"].as_i64()),
        (Some(bob), Some(90))
    );
    let (s, _) = app
        .call(
            Method::GET,
            &format!("/api/v1/reports/time?agent_id={}", app.admin_id),
            &bob_token,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, all) = app.get(&format!("/api/v1/reports/time?month={month}")).await;
    assert_eq!(all["total_minutes"], 180);
    let (_, his) = app.get(&format!("/api/v1/reports/time?agent_id={bob}")).await;
    assert_eq!(his["items"].as_array().unwrap().len(), 3);

    // A merge moves the time with the messages.
    let (s, m) = app
        .post(&format!("/api/v1/tickets/{aid}/merge"), json!({"from": bid}))
        .await;
    assert_eq!(s, StatusCode::OK, "{m}");
    let (_, w) = app.get(&format!("/api/v1/tickets/{aid}/time")).await;
    assert_eq!(w["total_minutes"], 135);
    let (_, w) = app.get(&format!("/api/v1/tickets/{bid}/time")).await;
    assert_eq!(w["total_minutes"], 0);
}

async fn timework_resolved_ticket_sends_the_time_report(db: Db) {
    let app = TestApp::spawn(db).await;
    let worked = id(&app.ticket("Shipping rates", "flo@bloom.test").await);
    let idle = id(&app.ticket("Just a question", "max@else.test").await);
    app.call(
        Method::PUT,
        &format!("/api/v1/tickets/{worked}/estimate"),
        &app.token,
        Some(json!({"hours": 2})),
    )
    .await;
    log(&app, &app.token, worked, json!({"minutes": 90})).await;
    log(&app, &app.token, worked, json!({"minutes": 15, "billable": false})).await;
    for t in [worked, idle] {
        let (s, r) = app
            .patch(&format!("/api/v1/tickets/{t}"), json!({"status": "resolved"}))
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
    }
    app.consumed("time_reports").await;
    let (_, m) = app.get(&format!("/api/v1/tickets/{worked}/messages")).await;
    let reports: Vec<&Value> = m["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["body"].as_str().unwrap_or("").starts_with("Time report"))
        .collect();
    assert_eq!(reports.len(), 1, "{m}");
    let body = reports[0]["body"].as_str().unwrap();
    assert_eq!(reports[0]["kind"], "reply");
    assert!(
        body.contains("Time spent: 1 h 45 min")
            && body.contains("Billable: 1 h 30 min")
            && body.contains("Estimate: 2 h"),
        "{body}"
    );
    let (_, m) = app.get(&format!("/api/v1/tickets/{idle}/messages")).await;
    assert!(!m.to_string().contains("Time report"));
    // The client sees it on the private page; a mail goes to them.
    let link = app.store.ticket_link(worked).await.unwrap();
    assert!(app
        .html(&format!("/p/acme-shop/t/{link}"))
        .await
        .contains("Time spent: 1 h 45 min"));
    let (_, outbox) = app.get("/api/v1/outbox").await;
    let mails: Vec<&Value> = outbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "time_report")
        .collect();
    assert_eq!(mails.len(), 1, "{outbox}");
    assert!(mails[0]["subject"].as_str().unwrap().contains("time report"));
}
