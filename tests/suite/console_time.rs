//! Time in the console and the portal, as a browser uses them: the ticket
//! page's time panel (logging time with the session's CSRF token, the
//! server-side timer across reloads, the estimate), Admin → Clients
//! (create and edit with the form's refusals, linking contacts, the
//! warning at 80% of a subscription), the monthly report with its CSV
//! files, and the client's report in the portal, which no other client
//! and no other workspace can reach.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::console::{admin, agent, Console, PASSWORD};
use crate::harness::{Db, TestApp};

crate::both_backends!(
    console_time_panel_logs_time_runs_the_timer_and_sets_the_estimate,
    console_time_clients_page_saves_refuses_and_warns,
    console_time_monthly_report_and_csv,
    console_time_portal_report_is_the_clients_own,
    console_time_is_only_on_plans_with_time_tracking,
);

fn month_now() -> String {
    let d = chrono::Utc::now();
    format!("{}", d.format("%Y-%m"))
}

/// The admin of another workspace, signed in to the console.
async fn other_admin(app: &TestApp) -> Console {
    let (_, _, token) = app.workspace("Other Studio").await;
    let (s, u) = app
        .call(
            Method::POST,
            "/api/v1/users",
            &token,
            Some(json!({ "email": "boss@other.test", "name": "Other Boss", "password": PASSWORD, "role": "admin" })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    Console::login(&app.base, "boss@other.test", PASSWORD).await
}

async fn work(app: &TestApp, ticket: i64) -> Value {
    let (s, w) = app.get(&format!("/api/v1/tickets/{ticket}/time")).await;
    assert_eq!(s, StatusCode::OK, "{w}");
    w
}

fn ok(r: &(StatusCode, String), what: &str) {
    assert_eq!(r.0, StatusCode::SEE_OTHER, "{what}: {}", r.1);
    assert!(r.1.contains("ok="), "{what}: {}", r.1);
}

fn refused(r: &(StatusCode, String), what: &str) {
    assert_eq!(r.0, StatusCode::SEE_OTHER, "{what}: {}", r.1);
    assert!(r.1.contains("err="), "{what}: {}", r.1);
}

async fn console_time_panel_logs_time_runs_the_timer_and_sets_the_estimate(db: Db) {
    let app = TestApp::spawn(db).await;
    let t = app.ticket("Theme header broken", "ann@shop.test").await;
    let (id, n) = (t["id"].as_i64().unwrap(), t["number"].as_i64().unwrap());
    let page = format!("/app/t/{n}");
    let mut c = admin(&app).await;
    let (s, html) = c.get(&page).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("id=\"time\"") && html.contains("id=\"time-form\""),
        "{html}"
    );
    assert!(html.contains("id=\"timer-start\""));

    // Without the session's token nothing is logged.
    let (s, _) = c
        .raw_post(&format!("{page}/time"), &[("_csrf", "forged"), ("time", "30")], None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = c.raw_post(&format!("{page}/time"), &[("time", "30")], None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(work(&app, id).await["total_minutes"], 0);

    // Hours and minutes, billable, with a note; then minutes, not billable.
    let r = c
        .post(
            &format!("{page}/time"),
            &[("time", "1:30"), ("billable", "1"), ("note", "Found the CSS")],
        )
        .await;
    ok(&r, "log 1:30");
    assert!(r.1.starts_with(&page) && r.1.ends_with("#time"), "{}", r.1);
    ok(&c.post(&format!("{page}/time"), &[("time", "45")]).await, "log 45");
    let w = work(&app, id).await;
    assert_eq!(
        (w["total_minutes"].as_i64(), w["billable_minutes"].as_i64()),
        (Some(135), Some(90))
    );
    assert_eq!(w["entries"][0]["note"], "Found the CSS");
    assert_eq!(w["entries"][0]["user_name"], "Boss Admin");
    // What the form refuses is said, and nothing is logged.
    for bad in ["", "abc", "0", "1:75", "-5", "25:00", "1.5"] {
        refused(&c.post(&format!("{page}/time"), &[("time", bad)]).await, bad);
    }
    let long = "n".repeat(2001);
    refused(
        &c.post(&format!("{page}/time"), &[("time", "5"), ("note", &long)]).await,
        "long note",
    );
    assert_eq!(work(&app, id).await["total_minutes"], 135);
    let (_, html) = c.get(&page).await;
    assert!(html.contains("data-sd=\"time-total\" dir=\"ltr\">2:15<"), "{html}");
    assert!(html.contains("data-sd=\"time-billable\" dir=\"ltr\">1:30<"));
    assert_eq!(html.matches("data-sd=\"time-entry\"").count(), 2);

    // The timer is kept on the server: a reload still shows it running.
    // (The timer is the signed-in agent's own: the API's token, another
    // agent's, sees none.)
    ok(&c.post(&format!("{page}/timer"), &[]).await, "start");
    assert_eq!(work(&app, id).await["timer_started_at"], Value::Null);
    let started_at = |html: &str| {
        html.split("data-started=\"")
            .nth(1)
            .map(|r| r.split('"').next().unwrap().to_string())
    };
    let mut started = None;
    for _ in 0..2 {
        let (_, html) = c.get(&page).await;
        assert!(html.contains("data-sd=\"timer-running\"") && html.contains("id=\"timer-stop\""));
        assert!(!html.contains("id=\"timer-start\""));
        assert!(started_at(&html).is_some());
        started = started_at(&html);
    }
    // Starting again keeps its start.
    ok(&c.post(&format!("{page}/timer"), &[]).await, "start again");
    assert_eq!(started_at(&c.get(&page).await.1), started);
    ok(
        &c.post(&format!("{page}/timer/stop"), &[("billable", "1"), ("note", "Timer")])
            .await,
        "stop",
    );
    let w = work(&app, id).await;
    assert_eq!(w["entries"].as_array().unwrap().len(), 3);
    assert_eq!(w["entries"][2]["note"], "Timer");
    assert_eq!(w["entries"][2]["user_name"], "Boss Admin");
    let (_, html) = c.get(&page).await;
    assert!(!html.contains("data-sd=\"timer-running\"") && html.contains("id=\"timer-start\""));
    assert!(w["entries"][2]["minutes"].as_i64().unwrap() >= 1);
    refused(&c.post(&format!("{page}/timer/stop"), &[]).await, "no timer");

    // The estimate: set, shown waiting for the client; urgency.
    ok(
        &c.post(&format!("{page}/estimate"), &[("estimate", "2:00"), ("urgent", "1")])
            .await,
        "estimate",
    );
    let w = work(&app, id).await;
    assert_eq!(
        (
            w["estimate_minutes"].as_i64(),
            w["estimate_state"].as_str(),
            w["urgent"].as_bool()
        ),
        (Some(120), Some("proposed"), Some(true))
    );
    let (_, html) = c.get(&page).await;
    assert!(
        html.contains("est-proposed") && html.contains("data-sd=\"time-against\""),
        "{html}"
    );
    refused(
        &c.post(&format!("{page}/estimate"), &[("estimate", "100000")]).await,
        "huge estimate",
    );
    ok(
        &c.post(&format!("{page}/estimate"), &[("estimate", "0")]).await,
        "remove",
    );
    let w = work(&app, id).await;
    assert_eq!(
        (w["estimate_minutes"].clone(), w["urgent"].as_bool()),
        (Value::Null, Some(false))
    );

    // Another agent may not delete the admin's entry; the admin may.
    let (_, mut bob) = agent(&app, "bob@acme.test", "Bob Agent", false).await;
    bob.get(&page).await;
    let entry = w["entries"][0]["id"].as_i64().unwrap();
    refused(
        &bob.post(&format!("{page}/time/{entry}/delete"), &[]).await,
        "not bob's",
    );
    assert_eq!(work(&app, id).await["entries"].as_array().unwrap().len(), 3);
    c.get(&page).await;
    ok(&c.post(&format!("{page}/time/{entry}/delete"), &[]).await, "delete");
    assert_eq!(work(&app, id).await["entries"].as_array().unwrap().len(), 2);
    // An entry of another ticket is not found by this one.
    let other_ticket = app.ticket("Another", "zed@shop.test").await["number"].as_i64().unwrap();
    let keep = work(&app, id).await["entries"][0]["id"].as_i64().unwrap();
    let (s, _) = c.post(&format!("/app/t/{other_ticket}/time/{keep}/delete"), &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Another workspace reaches none of it.
    let mut o = other_admin(&app).await;
    o.get("/app").await;
    for path in [
        format!("{page}/time"),
        format!("{page}/timer"),
        format!("{page}/timer/stop"),
        format!("{page}/estimate"),
        format!("{page}/time/{keep}/delete"),
    ] {
        let (s, _) = o.post(&path, &[("time", "5"), ("estimate", "10")]).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
    }
    let (s, _) = o.get(&page).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(work(&app, id).await["entries"].as_array().unwrap().len(), 2);
}

/// Creates a client from the console's form; returns its id.
async fn create_client(c: &Console, form: &[(&str, &str)]) -> i64 {
    let (s, to) = c.post("/app/admin/clients", form).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    to.trim_start_matches("/app/admin/clients/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("{to}"))
}

async fn console_time_clients_page_saves_refuses_and_warns(db: Db) {
    let app = TestApp::spawn(db).await;
    let mut c = admin(&app).await;
    let (s, html) = c.get("/app/admin/clients").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("action=\"/app/admin/clients\""));

    // Refused with the reason and what was typed.
    let good = [
        ("name", "Bloom Florist"),
        ("work_type", "subscription"),
        ("included", "10"),
        ("hourly_rate", "60"),
        ("urgent_rate", "90.50"),
        ("currency", "eur"),
    ];
    for (field, bad) in [
        ("name", ""),
        ("work_type", "forever"),
        ("included", "ten"),
        ("included", "745:00"),
        ("hourly_rate", "-5"),
        ("urgent_rate", "1.234"),
        ("currency", "EURO"),
    ] {
        let form: Vec<(&str, &str)> = good
            .iter()
            .map(|(k, v)| if *k == field { (*k, bad) } else { (*k, *v) })
            .collect();
        let (s, html) = c.post("/app/admin/clients", &form).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{field}={bad}: {html}");
        assert!(html.contains("data-sd=\"client-fault\""), "{field}");
        let kept = if field == "name" {
            "value=\"60\""
        } else {
            "value=\"Bloom Florist\""
        };
        assert!(html.contains(kept), "typed values kept: {field}");
    }
    let (_, list) = app.get("/api/v1/clients").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);

    let id = create_client(&c, &good).await;
    let (_, k) = app.get(&format!("/api/v1/clients/{id}")).await;
    assert_eq!(
        (
            k["work_type"].as_str(),
            k["included_minutes"].as_i64(),
            k["hourly_rate"].as_i64(),
            k["urgent_rate"].as_i64(),
            k["currency"].as_str()
        ),
        (Some("subscription"), Some(600), Some(6000), Some(9050), Some("EUR"))
    );
    // Edit: good and bad.
    let (s, html) = c.get(&format!("/app/admin/clients/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("value=\"Bloom Florist\""));
    let mut edit = good.to_vec();
    edit[2] = ("included", "12:30");
    ok(&c.post(&format!("/app/admin/clients/{id}"), &edit).await, "edit");
    assert_eq!(
        app.get(&format!("/api/v1/clients/{id}")).await.1["included_minutes"],
        750
    );
    edit[5] = ("currency", "12");
    let (s, html) = c.post(&format!("/app/admin/clients/{id}"), &edit).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("data-sd=\"client-fault\"") && html.contains("currency"));
    edit[2] = ("included", "10");
    edit[5] = ("currency", "EUR");
    ok(
        &c.post(&format!("/app/admin/clients/{id}"), &edit).await,
        "back to 10 h",
    );

    // Link the contact that owns an address; an unknown one is refused.
    let t = app.ticket("New bouquet page", "ann@shop.test").await;
    let n = t["number"].as_i64().unwrap();
    ok(
        &c.post(
            &format!("/app/admin/clients/{id}/contacts"),
            &[("email", "ann@shop.test")],
        )
        .await,
        "link",
    );
    refused(
        &c.post(
            &format!("/app/admin/clients/{id}/contacts"),
            &[("email", "nobody@shop.test")],
        )
        .await,
        "unknown address",
    );
    let (_, k) = app.get(&format!("/api/v1/clients/{id}")).await;
    assert_eq!(k["contacts"].as_array().unwrap().len(), 1, "{k}");
    let (_, html) = c.get(&format!("/app/admin/clients/{id}")).await;
    assert_eq!(html.matches("data-sd=\"client-contact\"").count(), 1);

    // Under 80% of the month: no warning; at 80%, shown plainly.
    let page = format!("/app/t/{n}");
    c.get(&page).await;
    ok(
        &c.post(&format!("{page}/time"), &[("time", "7:00"), ("billable", "1")])
            .await,
        "7 h",
    );
    let (_, html) = c.get("/app/admin/clients").await;
    assert_eq!(html.matches("data-sd=\"client-row\"").count(), 1);
    assert!(!html.contains("data-sd=\"balance-warn\""), "{html}");
    assert!(html.contains("3:00"), "balance 3:00: {html}");
    c.get(&page).await;
    ok(
        &c.post(&format!("{page}/time"), &[("time", "60"), ("billable", "1")])
            .await,
        "8 h",
    );
    let (_, html) = c.get("/app/admin/clients").await;
    assert!(html.contains("data-sd=\"balance-warn\""), "{html}");
    assert!(html.contains("(80%)"), "{html}");
    let (_, html) = c.get(&format!("/app/admin/clients/{id}")).await;
    assert!(html.contains("data-sd=\"balance-warn\""));

    // Unlink.
    let contact = k["contacts"][0]["id"].as_i64().unwrap();
    ok(
        &c.post(&format!("/app/admin/clients/{id}/contacts/{contact}/unlink"), &[])
            .await,
        "unlink",
    );
    let (_, k) = app.get(&format!("/api/v1/clients/{id}")).await;
    assert_eq!(k["contacts"].as_array().unwrap().len(), 0);

    // Agents and other workspaces: not here.
    let (_, mut bob) = agent(&app, "bob@acme.test", "Bob Agent", false).await;
    let (s, _) = bob.get("/app/admin/clients").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = bob.post("/app/admin/clients", &good).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let mut o = other_admin(&app).await;
    let (s, _) = o.get(&format!("/app/admin/clients/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    o.get("/app/admin/clients").await;
    let (s, _) = o.post(&format!("/app/admin/clients/{id}"), &edit).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = o.post(&format!("/app/admin/clients/{id}/delete"), &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = o
        .post(
            &format!("/app/admin/clients/{id}/contacts"),
            &[("email", "ann@shop.test")],
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, html) = o.get("/app/admin/clients").await;
    assert_eq!(s, StatusCode::OK);
    assert!(!html.contains("Bloom Florist"));

    // Delete.
    c.get(&format!("/app/admin/clients/{id}")).await;
    ok(&c.post(&format!("/app/admin/clients/{id}/delete"), &[]).await, "delete");
    let (s, _) = app.get(&format!("/api/v1/clients/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// Logs billable time on ticket `number` from its page's form.
async fn log_on(c: &mut Console, number: i64, time: &str) {
    let page = format!("/app/t/{number}");
    c.get(&page).await;
    ok(
        &c.post(&format!("{page}/time"), &[("time", time), ("billable", "1")])
            .await,
        time,
    );
}

/// A download with the session cookie: status and body.
async fn download(c: &Console, path: &str) -> (StatusCode, String, String) {
    let r = Console::client()
        .get(format!("{}{path}", c.base))
        .header("cookie", &c.cookie)
        .send()
        .await
        .unwrap();
    let s = r.status();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (s, ct, r.text().await.unwrap())
}

async fn console_time_monthly_report_and_csv(db: Db) {
    let app = TestApp::spawn(db).await;
    let (s, k) = app
        .post(
            "/api/v1/clients",
            json!({"name": "Bloom Florist", "work_type": "subscription", "included_minutes": 600, "hourly_rate": 6000, "urgent_rate": 9000, "currency": "EUR"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{k}");
    let client = k["id"].as_i64().unwrap();
    let t = app.ticket("Checkout page", "ann@shop.test").await;
    let contact = t["contact"]["id"]
        .as_i64()
        .unwrap_or_else(|| t["contact_id"].as_i64().unwrap());
    let (s, _) = app
        .call(
            Method::PUT,
            &format!("/api/v1/contacts/{contact}/client"),
            &app.token,
            Some(json!({"client_id": client})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let loose = app.ticket("No client here", "zed@shop.test").await;
    let (bob, mut bob_c) = agent(&app, "bob@acme.test", "Bob Agent", false).await;
    let mut c = admin(&app).await;
    log_on(&mut c, t["number"].as_i64().unwrap(), "2:00").await;
    log_on(&mut bob_c, t["number"].as_i64().unwrap(), "30").await;
    log_on(&mut bob_c, loose["number"].as_i64().unwrap(), "15").await;
    let month = month_now();
    let (s, html) = c.get(&format!("/app/reports/time?month={month}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(html.matches("data-sd=\"report-client\"").count(), 1, "{html}");
    assert_eq!(html.matches("data-sd=\"report-agent\"").count(), 2);
    assert!(html.contains("Bloom Florist") && html.contains("2:30"), "{html}");
    // Bob's 30 minutes are worth 30.00 EUR at the client's rate.
    assert!(html.contains("30.00 EUR"), "{html}");
    // Subscription: 150 of 600 used, no charge yet.
    assert!(html.contains("0.00 EUR") && html.contains("7:30"), "{html}");

    // An agent sees their own time only.
    let (s, html) = bob_c.get(&format!("/app/reports/time?month={month}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(html.matches("data-sd=\"report-agent\"").count(), 1);
    assert!(html.contains("Bob Agent") && !html.contains("Boss Admin"), "{html}");

    // A month that is not one is refused on the page.
    let (s, _) = c.get("/app/reports/time?month=2026-13").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _, _) = download(&c, "/app/reports/time/clients.csv?month=nope").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // CSV files: the clients', the agents', and one client's (the API's).
    let (s, ct, csv) = download(&c, &format!("/app/reports/time/clients.csv?month={month}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(ct.starts_with("text/csv"), "{ct}");
    assert!(csv
        .lines()
        .next()
        .unwrap()
        .starts_with("month,client,work_type,minutes"));
    assert!(
        csv.contains("Bloom Florist,subscription,150,150,600,150,0,0,0.00,EUR,450"),
        "{csv}"
    );
    let (_, _, csv) = download(&c, &format!("/app/reports/time/agents.csv?month={month}")).await;
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(csv.contains("Bob Agent") && csv.contains("No client here"));
    let (_, _, mine) = download(&bob_c, &format!("/app/reports/time/agents.csv?month={month}")).await;
    assert!(!mine.contains("Boss Admin") && mine.lines().count() == 3, "{mine}");
    let (s, _, one) = download(&c, &format!("/app/reports/time/client-{client}.csv?month={month}")).await;
    assert_eq!(s, StatusCode::OK);
    let r = app
        .client
        .get(format!("{}/api/v1/clients/{client}/report.csv?month={month}", app.base))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(one, r.text().await.unwrap());
    let (s, _, _) = download(&c, &format!("/app/reports/time/other.csv?month={month}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Another workspace: none of this client, and its own report empty.
    let o = other_admin(&app).await;
    let (s, _, _) = download(&o, &format!("/app/reports/time/client-{client}.csv?month={month}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, _, csv) = download(&o, &format!("/app/reports/time/clients.csv?month={month}")).await;
    assert!(!csv.contains("Bloom"), "{csv}");
    let mut o = o;
    let (s, html) = o.get(&format!("/app/reports/time?month={month}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!html.contains("Bloom") && !html.contains("Bob Agent"));
    let _ = bob;
}

/// Signs `email` in to the portal of `slug`; returns the session cookie.
async fn portal_cookie(app: &TestApp, ws: i64, slug: &str, email: &str) -> String {
    let client = Console::client();
    let portal = format!("{}/p/{slug}/portal", app.base);
    client.post(&portal).form(&[("email", email)]).send().await.unwrap();
    let mails = app.store.outbox(ws).await.unwrap();
    let url = mails
        .iter()
        .rev()
        .filter(|m| m.0 == email)
        .find_map(|m| {
            m.2.split_whitespace()
                .find(|w| w.contains("/portal/login/"))
                .map(str::to_string)
        })
        .unwrap_or_else(|| panic!("a sign-in link for {email}: {mails:?}"));
    let r = client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

async fn portal_get(app: &TestApp, path: &str, cookie: &str) -> (StatusCode, String) {
    let r = Console::client()
        .get(format!("{}{path}", app.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, crate::console::unescape(&r.text().await.unwrap()))
}

async fn link(app: &TestApp, ticket: &Value, client: i64) {
    let contact = ticket["contact"]["id"]
        .as_i64()
        .unwrap_or_else(|| ticket["contact_id"].as_i64().unwrap());
    let (s, v) = app
        .call(
            Method::PUT,
            &format!("/api/v1/contacts/{contact}/client"),
            &app.token,
            Some(json!({"client_id": client})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

async fn console_time_portal_report_is_the_clients_own(db: Db) {
    let app = TestApp::spawn(db).await;
    let mk = |name: &str, kind: &str| json!({"name": name, "work_type": kind, "included_minutes": 600, "hourly_rate": 6000, "urgent_rate": 9000, "currency": "EUR"});
    let bloom = app.post("/api/v1/clients", mk("Bloom Florist", "subscription")).await.1["id"]
        .as_i64()
        .unwrap();
    let tea = app.post("/api/v1/clients", mk("Tea House", "one_off")).await.1["id"]
        .as_i64()
        .unwrap();
    let a = app.ticket("Bloom secret redesign", "ann@bloom.test").await;
    let b = app.ticket("Tea private checkout", "tom@tea.test").await;
    let loose = app.ticket("Nobody's", "cat@shop.test").await;
    link(&app, &a, bloom).await;
    link(&app, &b, tea).await;
    for (t, m) in [(&a, 90), (&b, 30), (&loose, 10)] {
        let (s, _) = app
            .post(
                &format!("/api/v1/tickets/{}/time", t["id"]),
                json!({"minutes": m, "billable": true}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let slug = app.store.workspace(app.workspace_id).await.unwrap().slug;
    let month = month_now();
    let ann = portal_cookie(&app, app.workspace_id, &slug, "ann@bloom.test").await;
    let (s, html) = portal_get(&app, &format!("/p/{slug}/portal"), &ann).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("data-sd=\"portal-report-link\""), "{html}");
    let path = format!("/p/{slug}/portal/report?month={month}");
    let (s, html) = portal_get(&app, &path, &ann).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert_eq!(html.matches("data-sd=\"portal-report\"").count(), 1);
    assert!(
        html.contains("Bloom secret redesign") && html.contains("1:30"),
        "{html}"
    );
    assert!(html.contains("data-sd=\"portal-report-balance\">8:30<"), "{html}");
    assert!(!html.contains("Tea") && !html.contains("Nobody"), "{html}");
    // In Persian, right to left.
    let (_, html) = portal_get(&app, &format!("{path}&lang=fa"), &ann).await;
    assert!(html.contains("dir=\"rtl\"") && html.contains("Bloom secret redesign"));
    // A month with nothing logged, and one that is not a month.
    let (s, html) = portal_get(&app, &format!("/p/{slug}/portal/report?month=2020-01"), &ann).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!html.contains("Bloom secret redesign"));
    let (s, _) = portal_get(&app, &format!("/p/{slug}/portal/report?month=2020-1x"), &ann).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // The other client's contact sees their own client's month only.
    let tom = portal_cookie(&app, app.workspace_id, &slug, "tom@tea.test").await;
    let (s, html) = portal_get(&app, &path, &tom).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("Tea private checkout") && !html.contains("Bloom"),
        "{html}"
    );
    // A customer of no client has no report.
    let cat = portal_cookie(&app, app.workspace_id, &slug, "cat@shop.test").await;
    let (s, html) = portal_get(&app, &path, &cat).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(!html.contains("Bloom") && !html.contains("Tea"));
    let (_, html) = portal_get(&app, &format!("/p/{slug}/portal"), &cat).await;
    assert!(!html.contains("portal-report-link"));
    // Not signed in, or signed in elsewhere: nothing.
    let (s, html) = portal_get(&app, &path, "sd_portal=forged").await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(!html.contains("Bloom"));
    app.workspace("Other Studio").await;
    let other = app.store.workspace_by_slug("other-studio").await.unwrap().slug;
    let (s, html) = portal_get(&app, &format!("/p/{other}/portal/report?month={month}"), &ann).await;
    assert_ne!(s, StatusCode::OK);
    assert!(!html.contains("Bloom"));
    // Unlinked, the report is gone.
    let contact = a["contact"]["id"]
        .as_i64()
        .unwrap_or_else(|| a["contact_id"].as_i64().unwrap());
    app.call(
        Method::PUT,
        &format!("/api/v1/contacts/{contact}/client"),
        &app.token,
        Some(json!({"client_id": null})),
    )
    .await;
    let (s, _) = portal_get(&app, &path, &ann).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn console_time_is_only_on_plans_with_time_tracking(db: Db) {
    let app = TestApp::spawn(db).await;
    let t = app.ticket("Plain help desk", "ann@shop.test").await;
    let n = t["number"].as_i64().unwrap();
    let mut c = admin(&app).await;
    let (_, html) = c.get(&format!("/app/t/{n}")).await;
    assert!(html.contains("id=\"time\""));
    let token = crate::operator::operator(&app).await;
    let (s, p) = app
        .call(
            Method::POST,
            "/api/operator/v1/plans",
            &token,
            Some(json!({ "name": "basic", "features": ["chat", "email", "reports"] })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let (s, w) = app
        .call(
            Method::PUT,
            &format!("/api/operator/v1/workspaces/{}/plan", app.workspace_id),
            &token,
            Some(json!({ "plan_id": p["id"] })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{w}");
    let (s, html) = c.get(&format!("/app/t/{n}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!html.contains("id=\"time\"") && !html.contains("time-form"));
    let (s, _) = c.post(&format!("/app/t/{n}/time"), &[("time", "30")]).await;
    assert_eq!(s, StatusCode::PAYMENT_REQUIRED);
    let (s, _) = c.post(&format!("/app/t/{n}/timer"), &[]).await;
    assert_eq!(s, StatusCode::PAYMENT_REQUIRED);
    for page in ["/app/admin/clients", "/app/reports/time"] {
        let (s, _) = c.get(page).await;
        assert_eq!(s, StatusCode::PAYMENT_REQUIRED, "{page}");
    }
    let slug = app.store.workspace(app.workspace_id).await.unwrap().slug;
    let r = Console::client()
        .get(format!("{}/p/{slug}/portal/report", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
