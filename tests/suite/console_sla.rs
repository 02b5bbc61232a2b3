//! SLA in the console over HTTP, as a browser without script uses it:
//! Admin → SLA only for admins and only with the session's CSRF token, a
//! policy or calendar the service refuses comes back on its form with the
//! reason and what was typed, a good one is listed; and a ticket under a
//! policy shows its time left in the inbox and on its page, then "overdue"
//! once the clock has moved past its due time and the timers have run.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::console::{admin, agent};
use crate::harness::{Db, TestApp};

crate::both_backends!(
    sla_pages_are_for_admins_with_the_sessions_token,
    the_sla_editor_saves_orders_and_refuses,
    the_calendar_editor_saves_and_refuses,
    tickets_show_time_left_then_overdue,
);

const MIN: i64 = 60_000;

async fn policies(app: &TestApp) -> Vec<Value> {
    let (s, l) = app.get("/api/v1/sla-policies").await;
    assert_eq!(s, StatusCode::OK, "{l}");
    l["items"].as_array().unwrap().clone()
}

async fn urgent_policy(app: &TestApp) -> i64 {
    let (s, p) = app
        .post(
            "/api/v1/sla-policies",
            json!({"name":"Urgent","conditions":{"priority":"high"},"first_response_minutes":60,"resolution_minutes":1440,"business_hours":false}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    p["id"].as_i64().unwrap()
}

/// Where a form post redirects with `?ok=`; panics on anything else.
fn saved(r: (StatusCode, String), what: &str) {
    assert_eq!(r.0, StatusCode::SEE_OTHER, "{what}: {}", r.1);
    assert!(r.1.contains("ok="), "{what}: {}", r.1);
}

async fn sla_pages_are_for_admins_with_the_sessions_token(db: Db) {
    let app = TestApp::spawn(db).await;
    let ours = urgent_policy(&app).await;

    // An agent who is not an admin is refused every page and every form.
    let (_, mut ann) = agent(&app, "ann@acme.test", "Ann Agent", false).await;
    for p in [
        "/app/admin/sla".to_string(),
        "/app/admin/sla/new".into(),
        format!("/app/admin/sla/{ours}"),
    ] {
        let (s, html) = ann.get(&p).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{p}");
        assert!(html.contains("For admins only"), "{p}: {html}");
    }
    let (_, html) = ann.get("/app").await;
    assert!(!html.contains("/app/admin/sla"), "no admin links for agents");
    for (p, form) in [
        (
            "/app/admin/sla/new".to_string(),
            vec![("name", "Sneaky"), ("first_response_minutes", "5")],
        ),
        (
            format!("/app/admin/sla/{ours}"),
            vec![("name", "Mine"), ("first_response_minutes", "5")],
        ),
        (format!("/app/admin/sla/{ours}/move"), vec![("to", "1")]),
        (format!("/app/admin/sla/{ours}/delete"), vec![]),
        (
            "/app/admin/sla/calendar".to_string(),
            vec![("time_zone", "Europe/Kyiv")],
        ),
    ] {
        let (s, _) = ann.post(&p, &form).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{p}");
    }
    let list = policies(&app).await;
    assert_eq!((list.len(), &list[0]["name"]), (1, &json!("Urgent")), "{list:?}");

    // The admin reaches it from the admin navigation; the forms need the
    // session's token and our own origin.
    let mut boss = admin(&app).await;
    let (_, html) = boss.get("/app/admin/agents").await;
    assert!(
        html.contains("href=\"/app/admin/sla\""),
        "the admin navigation links SLA"
    );
    let (s, html) = boss.get("/app/admin/sla").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("href=\"/app/admin/sla\" aria-current=\"page\""), "{html}");
    let token = boss.csrf.clone();
    for (path, fields) in [
        (
            "/app/admin/sla/new".to_string(),
            vec![("name", "Posted elsewhere"), ("first_response_minutes", "5")],
        ),
        (format!("/app/admin/sla/{ours}/delete"), vec![]),
        (
            "/app/admin/sla/calendar".to_string(),
            vec![("time_zone", "Europe/Kyiv")],
        ),
    ] {
        for (csrf, origin) in [
            (None, None),
            (Some("0000"), None),
            (Some(token.as_str()), Some("https://evil.example")),
        ] {
            let mut form = fields.clone();
            if let Some(c) = csrf {
                form.push(("_csrf", c));
            }
            let (s, body) = boss.raw_post(&path, &form, origin).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{path} {csrf:?} {origin:?}: {body}");
            assert!(body.contains("csrf_failed"), "{body}");
        }
    }
    assert_eq!(policies(&app).await.len(), 1, "nothing was created or deleted");
    let (_, cal) = app.get("/api/v1/calendar").await;
    assert_eq!(cal["time_zone"], "UTC", "the calendar is unchanged: {cal}");

    // Another workspace's policy is not found, whatever the form.
    let (_, _, other) = app.workspace("Other Shop").await;
    let (s, theirs) = app
        .call(
            Method::POST,
            "/api/v1/sla-policies",
            &other,
            Some(json!({"name":"Theirs","first_response_minutes":30})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{theirs}");
    let theirs = theirs["id"].as_i64().unwrap();
    for p in [
        format!("/app/admin/sla/{theirs}"),
        "/app/admin/sla/x1".into(),
        "/app/admin/sla/-3".into(),
    ] {
        assert_eq!(boss.get(&p).await.0, StatusCode::NOT_FOUND, "{p}");
    }
    boss.get("/app/admin/sla").await;
    for (p, form) in [
        (
            format!("/app/admin/sla/{theirs}"),
            vec![("name", "Mine now"), ("first_response_minutes", "5")],
        ),
        (format!("/app/admin/sla/{theirs}/move"), vec![("to", "1")]),
        (format!("/app/admin/sla/{theirs}/delete"), vec![]),
    ] {
        let (s, _) = boss.post(&p, &form).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{p}");
    }
    let (_, l) = app.call(Method::GET, "/api/v1/sla-policies", &other, None).await;
    assert_eq!(l["items"][0]["name"], "Theirs", "{l}");
}

async fn the_sla_editor_saves_orders_and_refuses(db: Db) {
    let app = TestApp::spawn(db).await;
    let (_, team) = app.post("/api/v1/teams", json!({ "name": "Payments" })).await;
    let payments = team["id"].as_i64().unwrap().to_string();
    let mut boss = admin(&app).await;
    let (s, html) = boss.get("/app/admin/sla").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("No SLA policies yet."), "{html}");
    let (s, html) = boss.get("/app/admin/sla/new").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains(">Payments</option>"), "the team select lists the teams");
    assert!(
        html.contains("name=\"business_hours\" value=\"1\" checked"),
        "business hours by default"
    );

    // Refused: the reason next to the form, with what was typed.
    let refused = [
        (vec![], "First response: a policy needs at least one target"),
        (
            vec![("first_response_minutes", "0")],
            "First response: must be between 1 and",
        ),
        (
            vec![("resolution_minutes", "soon")],
            "Resolution: must be whole minutes",
        ),
        (vec![("name", " ")], "Name: must not be empty"),
    ];
    for (extra, says) in refused {
        let mut form = vec![
            ("name", "VIP <gold>"),
            ("priority", "high"),
            ("priority", "urgent"),
            ("channel", "chat"),
            ("team", payments.as_str()),
            ("next_response_minutes", ""),
        ];
        for (k, v) in extra.iter().copied() {
            form.retain(|(f, _)| *f != k);
            form.push((k, v));
        }
        let (s, html) = boss.post("/app/admin/sla/new", &form).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{extra:?}: {html}");
        assert!(html.contains(says), "{says}: {html}");
        assert!(html.contains("role=\"alert\" id=\"fault\""), "{html}");
        if extra.iter().all(|(k, _)| *k != "name") {
            assert!(
                html.contains("name=\"name\" value=\"VIP <gold>\""),
                "the name is kept: {html}"
            );
        }
        for ticked in [
            "value=\"high\" checked",
            "value=\"urgent\" checked",
            "value=\"chat\" checked",
        ] {
            assert!(html.contains(ticked), "{ticked} is kept: {html}");
        }
        assert!(!html.contains("value=\"low\" checked"), "{html}");
        assert!(
            html.contains(&format!("<option value=\"{payments}\" selected>Payments</option>")),
            "the team is kept"
        );
        assert!(html.contains("name=\"_csrf\""), "the form can be sent again");
        assert!(
            !html.contains("name=\"business_hours\" value=\"1\" checked"),
            "unticked stays unticked"
        );
    }
    assert!(policies(&app).await.is_empty(), "nothing was saved");

    // A good one.
    let (s, loc) = boss
        .post(
            "/app/admin/sla/new",
            &[
                ("name", "VIP"),
                ("priority", "high"),
                ("priority", "urgent"),
                ("channel", "chat"),
                ("channel", "email"),
                ("team", &payments),
                ("first_response_minutes", "30"),
                ("next_response_minutes", ""),
                ("resolution_minutes", "1500"),
                ("business_hours", "1"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{loc}");
    assert!(loc.starts_with("/app/admin/sla?ok="), "{loc}");
    let list = policies(&app).await;
    let p = &list[0];
    assert_eq!(
        (
            &p["name"],
            &p["conditions"],
            &p["first_response_minutes"],
            &p["next_response_minutes"],
            &p["resolution_minutes"],
            &p["business_hours"]
        ),
        (
            &json!("VIP"),
            &json!({"priority":["high","urgent"],"channel":["chat","email"],"team_id":payments.parse::<i64>().unwrap()}),
            &json!(30),
            &Value::Null,
            &json!(1500),
            &json!(true)
        ),
        "{p}"
    );
    let vip = p["id"].as_i64().unwrap();

    // Listed with what it covers and its targets, in words.
    let (_, html) = boss.get(&loc).await;
    for part in [
        "Policy saved.",
        "VIP",
        "Priority: High, Urgent",
        "Channel: Chat, E-mail",
        "Team: <bdi>Payments</bdi>",
        "First response: 30 min",
        "Resolution: 1 d 1 h",
        "Business hours",
    ] {
        assert!(html.contains(part), "{part}: {html}");
    }
    assert!(!html.contains("Next response:"), "no next-response target: {html}");

    // The editor shows it as saved; a second one that covers every ticket
    // around the clock goes after it.
    let (_, html) = boss.get(&format!("/app/admin/sla/{vip}")).await;
    assert!(html.contains("name=\"first_response_minutes\" value=\"30\""), "{html}");
    assert!(html.contains("value=\"email\" checked"), "{html}");
    saved(
        boss.post(
            "/app/admin/sla/new",
            &[("name", "Everyone"), ("resolution_minutes", "2880")],
        )
        .await,
        "second",
    );
    let (_, html) = boss.get("/app/admin/sla").await;
    assert!(
        html.contains("Every ticket") && html.contains("Around the clock"),
        "{html}"
    );
    assert!(html.find("VIP").unwrap() < html.find("Everyone").unwrap(), "in order");
    let everyone = policies(&app).await[1]["id"].as_i64().unwrap();

    // A name taken is refused on the form too.
    let (s, html) = boss
        .post(
            &format!("/app/admin/sla/{everyone}"),
            &[("name", "VIP"), ("resolution_minutes", "2880")],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("an SLA policy with this name exists"), "{html}");

    // Edited, moved first, deleted.
    saved(
        boss.post(
            &format!("/app/admin/sla/{everyone}"),
            &[
                ("name", "Everyone else"),
                ("resolution_minutes", "2880"),
                ("next_response_minutes", "240"),
            ],
        )
        .await,
        "edit",
    );
    saved(
        boss.post(&format!("/app/admin/sla/{everyone}/move"), &[("to", "1")])
            .await,
        "move",
    );
    let names: Vec<Value> = policies(&app).await.iter().map(|p| p["name"].clone()).collect();
    assert_eq!(names, [json!("Everyone else"), json!("VIP")]);
    assert_eq!(policies(&app).await[0]["next_response_minutes"], 240);
    saved(
        boss.post(&format!("/app/admin/sla/{everyone}/delete"), &[]).await,
        "delete",
    );
    assert_eq!(policies(&app).await.len(), 1);
    assert_eq!(
        boss.get(&format!("/app/admin/sla/{everyone}")).await.0,
        StatusCode::NOT_FOUND
    );
}

async fn the_calendar_editor_saves_and_refuses(db: Db) {
    let app = TestApp::spawn(db).await;
    let mut boss = admin(&app).await;
    let (_, html) = boss.get("/app/admin/sla").await;
    assert!(html.contains("<datalist id=\"zones\">"), "{html}");
    assert!(html.contains("<option value=\"Europe/Kyiv\">"), "{html}");
    assert!(
        html.contains("PUT /api/v1/teams/ID/calendar"),
        "team calendars are left to the API"
    );

    let good = [
        ("time_zone", "Europe/Kyiv"),
        ("mon", "09:00-13:00, 14:00-18:00"),
        ("tue", "09:00-18:00"),
        ("wed", ""),
        ("sat", "10:00-14:00"),
        ("holidays", "2026-12-25\n2027-01-01"),
    ];
    let refused: [(&str, &str, &str); 4] = [
        (
            "time_zone",
            "Mars/Olympus",
            "Time zone: \"Mars/Olympus\" is not a time zone",
        ),
        ("mon", "9-18", "Opening hours: \"9-18\" for mon is not like 09:00-18:00"),
        (
            "tue",
            "09:00-12:00, 11:00-13:00",
            "Opening hours: tue: 09:00-12:00 overlaps 11:00-13:00",
        ),
        (
            "holidays",
            "christmas",
            "Holidays: \"christmas\" is not a date like 2026-12-31",
        ),
    ];
    for (field, bad, says) in refused {
        let mut form: Vec<(&str, &str)> = good.iter().copied().filter(|(k, _)| *k != field).collect();
        form.push((field, bad));
        let (s, html) = boss.post("/app/admin/sla/calendar", &form).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {html}");
        assert!(html.contains(says), "{says}: {html}");
        assert!(html.contains("role=\"alert\" id=\"fault\""), "{html}");
        assert!(html.contains(&format!("name=\"{field}\"")), "{html}");
        assert!(html.contains("aria-invalid=\"true\""), "the field at fault is marked");
        // What was typed stays, the bad part too.
        if field != "holidays" {
            assert!(html.contains(&format!("value=\"{bad}\"")), "{bad} kept: {html}");
            assert!(html.contains("2026-12-25\n2027-01-01</textarea>"), "{html}");
        } else {
            assert!(html.contains(">christmas</textarea>"), "{html}");
        }
        if field != "mon" {
            assert!(html.contains("value=\"09:00-13:00, 14:00-18:00\""), "{html}");
        }
    }
    let (_, cal) = app.get("/api/v1/calendar").await;
    assert_eq!(cal["time_zone"], "UTC", "nothing was saved: {cal}");

    let (s, loc) = boss.post("/app/admin/sla/calendar", &good).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{loc}");
    assert!(
        loc.starts_with("/app/admin/sla?ok=") && loc.ends_with("#calendar"),
        "{loc}"
    );
    let (_, cal) = app.get("/api/v1/calendar").await;
    assert_eq!(
        cal,
        json!({"time_zone":"Europe/Kyiv","week":{"mon":["09:00-13:00","14:00-18:00"],"sat":["10:00-14:00"],"tue":["09:00-18:00"]},"holidays":["2026-12-25","2027-01-01"]})
    );
    let (_, html) = boss.get(&loc).await;
    assert!(html.contains("Calendar saved."), "{html}");
    for kept in [
        "name=\"time_zone\" value=\"Europe/Kyiv\"",
        "name=\"mon\" value=\"09:00-13:00, 14:00-18:00\"",
        "name=\"wed\" value=\"\"",
        ">2026-12-25\n2027-01-01</textarea>",
    ] {
        assert!(html.contains(kept), "{kept}: {html}");
    }
}

async fn tickets_show_time_left_then_overdue(db: Db) {
    let app = TestApp::spawn(db).await;
    urgent_policy(&app).await;
    let (s, t) = app
        .post(
            "/api/v1/tickets",
            json!({"subject": "Payment failed", "message": "Help!", "priority": "high", "contact": {"email": "shopper@example.com"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let (id, number) = (t["id"].as_i64().unwrap(), t["number"].as_i64().unwrap());
    let plain = app.ticket("Just a question", "q@example.com").await;
    app.consumed("sla").await;

    let (_, mut ann) = agent(&app, "ann@acme.test", "Ann Agent", false).await;
    ann.post("/app/settings/time-zone", &[("tz", "Europe/Kyiv")]).await;
    let row = |html: &str, n: i64| -> String {
        let at = html
            .find(&format!("data-number=\"{n}\""))
            .unwrap_or_else(|| panic!("#{n} in {html}"));
        html[at..].split("</li>").next().unwrap().to_string()
    };

    // The inbox: time left until the first response is due, with the due
    // time for the script to tick on; nothing on a ticket no policy covers.
    let (_, html) = ann.get("/app").await;
    let r = row(&html, number);
    assert!(r.contains("class=\"sla sla-left\" data-due=\""), "{r}");
    assert!(r.contains("<span class=\"sla-t\">1 h left</span>"), "{r}");
    assert!(
        !row(&html, plain["number"].as_i64().unwrap()).contains("class=\"sla "),
        "{html}"
    );

    // "SLA due first" lists only tickets whose clocks run, and is chosen.
    let (_, html) = ann.get("/app?sort=sla").await;
    assert!(
        html.contains("<option value=\"sla\" selected>SLA due first</option>"),
        "{html}"
    );
    let listed: Vec<i64> = html
        .match_indices("data-number=\"")
        .map(|(i, m)| html[i + m.len()..].split('"').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(listed, [number], "{html}");

    // The ticket page: the policy and each target's due time, in the agent's zone.
    let (_, html) = ann.get(&format!("/app/t/{number}")).await;
    assert!(html.contains("<strong><bdi>Urgent</bdi></strong>"), "{html}");
    assert!(
        html.contains("<dt>First response</dt>") && html.contains("<dt>Resolution</dt>"),
        "{html}"
    );
    assert!(!html.contains("<dt>Next response</dt>"), "{html}");
    assert!(html.contains(" Europe/Kyiv</time>"), "{html}");
    assert!(html.contains("<span class=\"sla-t\">1 h left</span>"), "{html}");
    assert!(!html.contains("sla-breached"), "{html}");

    // Past the due time, once the timers have run: overdue, and breached.
    storedesk::store::advance_clock(75 * MIN);
    app.svc.run_timers().await.unwrap();
    app.consumed("sla").await;
    let (_, html) = ann.get("/app?sort=sla").await;
    let r = row(&html, number);
    assert!(r.contains("class=\"sla sla-over\""), "{r}");
    assert!(r.contains("<span class=\"sla-t\">overdue 15 min</span>"), "{r}");
    let (_, html) = ann.get(&format!("/app/t/{number}")).await;
    assert!(html.contains("overdue 15 min"), "{html}");
    assert!(
        html.contains("<span class=\"chip sla-breached\">breached</span>"),
        "{html}"
    );
    // The list fragment the page refreshes itself with says the same.
    let (_, frag) = ann.get("/app/list?sort=sla").await;
    assert!(frag.contains("overdue 15 min"), "{frag}");

    // Waiting on the customer: paused.
    let (s, _) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/tickets/{id}"),
            &app.token,
            Some(json!({"status":"pending"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    app.consumed("sla").await;
    let (_, html) = ann.get("/app?view=pending").await;
    let r = row(&html, number);
    assert!(
        r.contains("class=\"sla sla-paused\"><span class=\"sr\">SLA: </span><span class=\"sla-t\">paused</span>"),
        "{r}"
    );

    // In Russian.
    ann.post("/app/settings/language", &[("lang", "ru")]).await;
    let (_, html) = ann.get(&format!("/app/t/{number}")).await;
    assert!(html.contains("на паузе"), "{html}");
    assert!(html.contains("Первый ответ"), "{html}");
}
