//! Admin → Rules and Macros over HTTP, as a browser without script uses
//! them: only admins reach them, every form needs the session's CSRF token,
//! another workspace's rule or macro is not found, and a rule the domain
//! refuses comes back on the editor with the reason and what was typed.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::console::{admin, agent};
use crate::harness::{Db, TestApp};

crate::both_backends!(
    rules_pages_are_for_admins_of_the_workspace,
    the_rule_editor_saves_orders_previews_and_refuses,
    macros_are_written_and_applied_from_the_console,
);

async fn rules(app: &TestApp) -> Vec<Value> {
    let (s, l) = app.get("/api/v1/rules").await;
    assert_eq!(s, StatusCode::OK, "{l}");
    l["items"].as_array().unwrap().clone()
}

/// Where a form post redirects with `?ok=`; panics on anything else.
fn saved(r: (StatusCode, String), what: &str) {
    assert_eq!(r.0, StatusCode::SEE_OTHER, "{what}: {}", r.1);
    assert!(r.1.contains("ok="), "{what}: {}", r.1);
}

async fn rules_pages_are_for_admins_of_the_workspace(db: Db) {
    let app = TestApp::spawn(db).await;
    let (s, ours) = app
        .post(
            "/api/v1/rules",
            json!({"name":"Ours","event":"ticket.created","actions":[{"type":"close"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{ours}");
    let ours = ours["id"].as_i64().unwrap();

    // An agent who is not an admin is refused every page and every form.
    let (_, mut ann) = agent(&app, "ann@acme.test", "Ann Agent", false).await;
    for p in [
        "/app/admin/rules".to_string(),
        "/app/admin/rules/new".into(),
        format!("/app/admin/rules/{ours}"),
        format!("/app/admin/rules/{ours}/preview"),
        "/app/admin/macros".into(),
        "/app/admin/macros/new".into(),
    ] {
        let (s, html) = ann.get(&p).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{p}");
        assert!(html.contains("For admins only"), "{p}: {html}");
    }
    let (_, html) = ann.get("/app").await;
    assert!(!html.contains("/app/admin/rules"), "no admin links for agents");
    for (p, form) in [
        (format!("/app/admin/rules/{ours}/enabled"), vec![("on", "0")]),
        (format!("/app/admin/rules/{ours}/delete"), vec![]),
        (
            "/app/admin/rules/new".to_string(),
            vec![("name", "Sneaky"), ("event", "ticket.created"), ("a0_type", "close")],
        ),
        (
            "/app/admin/macros/new".to_string(),
            vec![("name", "Sneaky"), ("a0_type", "close")],
        ),
    ] {
        let (s, _) = ann.post(&p, &form).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{p}");
    }
    let list = rules(&app).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["enabled"], true);
    let (_, macros) = app.get("/api/v1/macros").await;
    assert_eq!(macros["items"], json!([]));

    // The admin's forms need the session's token and our own origin.
    let mut boss = admin(&app).await;
    let (s, html) = boss.get("/app/admin/rules").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("href=\"/app/admin/rules\" aria-current=\"page\""),
        "{html}"
    );
    assert!(
        html.contains("href=\"/app/admin/macros\""),
        "the admin navigation links the macros"
    );
    let toggle = format!("/app/admin/rules/{ours}/enabled");
    let create = [
        ("name", "Posted elsewhere"),
        ("event", "ticket.created"),
        ("a0_type", "close"),
    ];
    for (form, origin) in [
        (vec![("on", "0")], None),
        (vec![("_csrf", "0000"), ("on", "0")], None),
        (
            vec![("_csrf", boss.csrf.as_str()), ("on", "0")],
            Some("https://evil.example"),
        ),
    ] {
        let (s, body) = boss.raw_post(&toggle, &form, origin).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{form:?} {origin:?}: {body}");
        assert!(body.contains("csrf_failed"), "{body}");
    }
    let (s, _) = boss.raw_post("/app/admin/rules/new", &create, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = boss
        .raw_post(&format!("/app/admin/rules/{ours}/delete"), &[], None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let list = rules(&app).await;
    assert_eq!((list.len(), &list[0]["enabled"]), (1, &json!(true)), "nothing changed");

    // Another workspace's rule and macro are not found, whatever the form.
    let (_, _, other) = app.workspace("Other Shop").await;
    let (s, theirs) = app
        .call(
            Method::POST,
            "/api/v1/rules",
            &other,
            Some(json!({"name":"Theirs","event":"ticket.created","actions":[{"type":"close"}]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{theirs}");
    let theirs = theirs["id"].as_i64().unwrap();
    let (s, their_macro) = app
        .call(
            Method::POST,
            "/api/v1/macros",
            &other,
            Some(json!({"name":"Theirs","actions":[{"type":"close"}]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{their_macro}");
    let their_macro = their_macro["id"].as_i64().unwrap();
    for p in [
        format!("/app/admin/rules/{theirs}"),
        format!("/app/admin/rules/{theirs}/preview"),
        format!("/app/admin/macros/{their_macro}"),
        "/app/admin/rules/x1".into(),
        "/app/admin/rules/-3".into(),
    ] {
        assert_eq!(boss.get(&p).await.0, StatusCode::NOT_FOUND, "{p}");
    }
    boss.get("/app/admin/rules").await;
    for (p, form) in [
        (
            format!("/app/admin/rules/{theirs}"),
            vec![("name", "Mine now"), ("event", "ticket.created"), ("a0_type", "close")],
        ),
        (format!("/app/admin/rules/{theirs}/enabled"), vec![("on", "0")]),
        (format!("/app/admin/rules/{theirs}/move"), vec![("to", "1")]),
        (format!("/app/admin/rules/{theirs}/delete"), vec![]),
        (
            format!("/app/admin/macros/{their_macro}"),
            vec![("name", "Mine now"), ("a0_type", "close")],
        ),
        (format!("/app/admin/macros/{their_macro}/delete"), vec![]),
    ] {
        let (s, _) = boss.post(&p, &form).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{p}");
    }
    // Nor can their macro be applied to our ticket.
    let t = app.ticket("Parcel lost", "p@shop.test").await;
    let (s, loc) = boss
        .post(
            &format!("/app/t/{}/macro", t["number"]),
            &[("macro", &their_macro.to_string())],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(loc.contains("err="), "{loc}");
    // (Our own rule "Ours" may close it meanwhile: what must not be there
    // is their macro's doing.)
    let (_, msgs) = app.get(&format!("/api/v1/tickets/{}/messages", t["id"])).await;
    assert!(!msgs.to_string().contains("Macro \"Theirs\""), "{msgs}");
    let (_, theirs_now) = app
        .call(Method::GET, &format!("/api/v1/rules/{theirs}"), &other, None)
        .await;
    assert_eq!(
        (&theirs_now["name"], &theirs_now["enabled"]),
        (&json!("Theirs"), &json!(true)),
        "{theirs_now}"
    );
}

async fn the_rule_editor_saves_orders_previews_and_refuses(db: Db) {
    let app = TestApp::spawn(db).await;
    let (_, team) = app.post("/api/v1/teams", json!({ "name": "Payments" })).await;
    let payments = team["id"].as_i64().unwrap().to_string();
    let before = app.ticket("Refund for order 1042", "m@shop.test").await;
    app.ticket("Where is my parcel?", "p@shop.test").await;
    let mut boss = admin(&app).await;
    let (s, html) = boss.get("/app/admin/rules/new").await;
    assert_eq!(s, StatusCode::OK);
    // Without script: three empty rows of each, every event offered.
    for name in ["c2_field", "a2_type"] {
        assert!(html.contains(&format!("name=\"{name}\"")), "{name}");
    }
    assert!(!html.contains("name=\"c3_field\""));
    assert!(html.contains("value=\"time.sla_due\""), "{html}");
    assert!(html.contains(">Payments</option>"), "the team select lists the teams");

    // A refused rule: the reason, on the editor, with what was typed.
    let refused = [
        (
            vec![("c0_field", "status"), ("c0_op", "gt"), ("c0_value", "open")],
            "Condition 1: 'gt' does not apply to status",
        ),
        (
            vec![("c0_field", "team_id"), ("c0_op", "is"), ("c0_value", "Logistics")],
            "Condition 1: value: there is no team called 'Logistics'",
        ),
        (vec![("a1_type", "assign")], "Action 2: user_id: is required"),
        (
            vec![("event", "time.unanswered")],
            "minutes: is required for a time.unanswered rule",
        ),
    ];
    for (extra, says) in refused {
        let mut form = vec![
            ("name", "Refunds <to> Payments"),
            ("event", "ticket.created"),
            ("a0_type", "add_label"),
            ("a0_label", "refund"),
            ("enabled", "1"),
        ];
        for (k, v) in extra.iter().copied() {
            form.retain(|(f, _)| *f != k);
            form.push((k, v));
        }
        let (s, html) = boss.post("/app/admin/rules/new", &form).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{extra:?}: {html}");
        assert!(html.contains(says), "{says}: {html}");
        assert!(html.contains("role=\"alert\" id=\"fault\""), "{html}");
        assert!(
            html.contains("name=\"name\" value=\"Refunds <to> Payments\""),
            "the name is kept: {html}"
        );
        assert!(html.contains("name=\"a0_label\" value=\"refund\""), "the rows are kept");
        assert!(html.contains("name=\"_csrf\""), "the form can be sent again");
    }
    assert!(rules(&app).await.is_empty(), "nothing was saved");

    // A good one, with an empty row between the filled ones.
    let (s, loc) = boss
        .post(
            "/app/admin/rules/new",
            &[
                ("name", "Refunds to Payments"),
                ("event", "ticket.created"),
                ("minutes", "30"),
                ("match", "all"),
                ("c0_field", "subject"),
                ("c0_op", "contains"),
                ("c0_value", "refund"),
                ("c1_field", ""),
                ("c1_op", "is"),
                ("c2_field", "channel"),
                ("c2_op", "in"),
                ("c2_value", "api, email"),
                ("a0_type", "set_team"),
                ("a0_team", &payments),
                ("a1_type", ""),
                ("a2_type", "add_label"),
                ("a2_label", "refund"),
                ("enabled", "1"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{loc}");
    assert!(loc.starts_with("/app/admin/rules?ok="), "{loc}");
    let list = rules(&app).await;
    let r = &list[0];
    assert_eq!(
        (&r["conditions"], &r["actions"], &r["enabled"], &r["stop"]),
        (
            &json!({"all":[{"field":"subject","op":"contains","value":"refund"},{"field":"channel","op":"in","value":["api","email"]}],"any":[]}),
            &json!([{"type":"set_team","team_id":payments.parse::<i64>().unwrap()},{"type":"add_label","value":"refund"}]),
            &json!(true),
            &json!(false)
        ),
        "minutes typed for an event rule are ignored: {r}"
    );
    assert!(r.get("minutes").is_none_or(Value::is_null), "{r}");
    let id = r["id"].as_i64().unwrap();

    // Listed with its summary; the editor shows it as saved.
    let (_, html) = boss.get("/app/admin/rules").await;
    for part in [
        "Refunds to Payments",
        "A ticket is created",
        "Subject",
        "contains",
        "refund",
        "Set the team: <bdi>Payments</bdi>",
        "api, email",
    ] {
        assert!(html.contains(part), "{part}: {html}");
    }
    let (_, html) = boss.get(&format!("/app/admin/rules/{id}")).await;
    assert!(html.contains("name=\"c0_value\" value=\"refund\""), "{html}");
    assert!(html.contains("name=\"c1_value\" value=\"api, email\""), "{html}");
    assert!(
        html.contains(&format!("<option value=\"{payments}\" selected>Payments</option>")),
        "{html}"
    );
    assert!(
        html.contains("name=\"c4_field\"") && !html.contains("name=\"c5_field\""),
        "two rows and three empty ones"
    );

    // Saved again unchanged but renamed, through the same form.
    let (s, _) = boss
        .post(
            &format!("/app/admin/rules/{id}"),
            &[
                ("name", "Refunds"),
                ("event", "ticket.created"),
                ("c0_field", "subject"),
                ("c0_op", "contains"),
                ("c0_value", "refund"),
                ("a0_type", "add_label"),
                ("a0_label", "refund"),
                ("enabled", "1"),
                ("stop", "1"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let r = &rules(&app).await[0];
    assert_eq!((&r["name"], &r["stop"]), (&json!("Refunds"), &json!(true)), "{r}");

    // Preview: which of the recent tickets match now, by link.
    let (s, html) = boss.get(&format!("/app/admin/rules/{id}/preview")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains(&format!("<a href=\"/app/t/{}\">", before["number"])),
        "{html}"
    );
    assert!(html.contains("<dd id=\"preview-matched\">1</dd>"), "{html}");

    // Off and on, then moved below a second rule.
    saved(
        boss.post(&format!("/app/admin/rules/{id}/enabled"), &[("on", "0")])
            .await,
        "disable",
    );
    assert_eq!(rules(&app).await[0]["enabled"], false);
    let (_, html) = boss.get("/app/admin/rules").await;
    assert!(html.contains(">Enable<span class=\"sr\">"), "{html}");
    saved(
        boss.post(
            "/app/admin/rules/new",
            &[("name", "Second"), ("event", "message.created"), ("a0_type", "close")],
        )
        .await,
        "second",
    );
    assert_eq!(rules(&app).await[1]["enabled"], false, "an unticked box is off");
    saved(
        boss.post(&format!("/app/admin/rules/{id}/move"), &[("to", "2")]).await,
        "move",
    );
    let names: Vec<Value> = rules(&app).await.iter().map(|r| r["name"].clone()).collect();
    assert_eq!(names, [json!("Second"), json!("Refunds")]);

    // Deleted.
    saved(boss.post(&format!("/app/admin/rules/{id}/delete"), &[]).await, "delete");
    assert_eq!(rules(&app).await.len(), 1);
    assert_eq!(
        boss.get(&format!("/app/admin/rules/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
}

async fn macros_are_written_and_applied_from_the_console(db: Db) {
    let app = TestApp::spawn(db).await;
    let mut boss = admin(&app).await;
    boss.get("/app/admin/macros/new").await;
    let (s, html) = boss.post("/app/admin/macros/new", &[("name", "Nothing to do")]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("1 to 20 actions"), "{html}");
    let (s, loc) = boss
        .post(
            "/app/admin/macros/new",
            &[
                ("name", "Refund done"),
                ("a0_type", "add_label"),
                ("a0_label", "refunded"),
                ("a1_type", "set_status"),
                ("a1_status", "pending"),
                ("a2_type", "add_note"),
                ("a2_body", "Refund sent to the bank."),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{loc}");
    let (_, list) = app.get("/api/v1/macros").await;
    let id = list["items"][0]["id"].as_i64().unwrap();
    let (_, html) = boss.get("/app/admin/macros").await;
    assert!(
        html.contains("Add a label: <bdi>refunded</bdi>") && html.contains("Set the status: Pending"),
        "{html}"
    );

    // On the ticket page: a select of the macros and Apply.
    let t = app.ticket("Refund for order 1042", "m@shop.test").await;
    let (_, ann) = agent(&app, "ann@acme.test", "Ann Agent", false).await;
    let mut ann = ann;
    let (_, html) = ann.get(&format!("/app/t/{}", t["number"])).await;
    assert!(
        html.contains(&format!("<option value=\"{id}\">Refund done</option>")),
        "{html}"
    );
    let (s, loc) = ann
        .post(&format!("/app/t/{}/macro", t["number"]), &[("macro", &id.to_string())])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(loc.contains("ok="), "{loc}");
    let (_, html) = ann.get(&loc).await;
    assert!(html.contains("Macro applied."), "the notice is shown");
    let (_, after) = app.get(&format!("/api/v1/tickets/{}", t["id"])).await;
    assert_eq!(
        (&after["labels"], &after["status"]),
        (&json!(["refunded"]), &json!("pending")),
        "{after}"
    );

    // In the inbox, to the ticked tickets.
    let a = app.ticket("Refund for order 7", "a@shop.test").await;
    let b = app.ticket("Refund for order 8", "b@shop.test").await;
    let (_, html) = ann.get("/app").await;
    assert!(
        html.contains(&format!("<option value=\"macro:{id}\">Refund done</option>")),
        "{html}"
    );
    let (ta, tb) = (format!("t{}", a["id"]), format!("t{}", b["id"]));
    let (s, loc) = ann
        .post(
            "/app/bulk",
            &[
                ("action", &format!("macro:{id}")),
                (&ta, "on"),
                (&tb, "on"),
                ("back", "/app"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(loc.contains("2%20of%202"), "{loc}");
    for t in [&a, &b] {
        let (_, after) = app.get(&format!("/api/v1/tickets/{}", t["id"])).await;
        assert_eq!(after["labels"], json!(["refunded"]), "{after}");
    }

    // Edited (the rows come back as saved), then deleted.
    let (_, html) = boss.get(&format!("/app/admin/macros/{id}")).await;
    assert!(html.contains("name=\"a0_label\" value=\"refunded\""), "{html}");
    assert!(html.contains("<option value=\"pending\" selected>"), "{html}");
    let (s, _) = boss
        .post(
            &format!("/app/admin/macros/{id}"),
            &[("name", "Refund done"), ("a0_type", "close")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, m) = app.get("/api/v1/macros").await;
    assert_eq!(m["items"][0]["actions"], json!([{"type":"close"}]));
    saved(
        boss.post(&format!("/app/admin/macros/{id}/delete"), &[]).await,
        "delete",
    );
    let (_, m) = app.get("/api/v1/macros").await;
    assert_eq!(m["items"], json!([]));
}
