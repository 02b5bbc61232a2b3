//! Admin → Campaigns over HTTP, as a browser without script uses it: only
//! admins of a workspace whose plan has proactive campaigns reach it,
//! every form needs the session's CSRF token, another workspace's campaign
//! is not found, the editor writes a campaign from plain fields (through
//! the same service as the API) and keeps what was typed when the domain
//! refuses it, campaigns start, stop and go, and the results page shows
//! the numbers the API counts.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::console::{admin, agent};
use crate::harness::{Db, TestApp};

crate::both_backends!(
    campaign_pages_are_for_admins_of_the_workspace,
    the_campaign_editor_creates_refuses_and_edits,
    campaign_results_show_the_numbers,
);

const SLUG: &str = "acme-shop";

fn campaign(name: &str) -> Value {
    json!({
        "name": name, "active": true,
        "trigger": { "type": "time_on_page", "seconds": 5 },
        "variants": [
            { "name": "A", "message": { "en": "Free shipping today!", "fa": "ارسال رایگان امروز!" } },
            { "name": "B", "message": { "en": "Need help choosing?" } }
        ],
        "goal_event": "order_completed", "goal_hours": 24, "cap_days": 7
    })
}

async fn create(app: &TestApp, token: &str, body: Value) -> i64 {
    let (s, c) = app.call(Method::POST, "/api/v1/campaigns", token, Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    c["id"].as_i64().unwrap()
}

async fn api_campaign(app: &TestApp, id: i64) -> (StatusCode, Value) {
    app.get(&format!("/api/v1/campaigns/{id}")).await
}

/// Where a form post redirects with `?ok=`; panics on anything else.
fn saved(r: &(StatusCode, String), what: &str) -> String {
    assert_eq!(r.0, StatusCode::SEE_OTHER, "{what}: {}", r.1);
    assert!(r.1.contains("ok="), "{what}: {}", r.1);
    r.1.clone()
}

/// The full editor form of a good campaign, with `changes` over it.
fn form<'a>(changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("name", "Cart rescue"),
        ("priority", "5"),
        ("url", "https://shop.test/cart*"),
        ("min_page_views", "2"),
        ("min_seconds", ""),
        ("visitor", "returning"),
        ("languages", "en, fa"),
        ("countries", ""),
        ("min_cart", "50"),
        ("event", "checkout_error"),
        ("event_minutes", "10"),
        ("identified", "no"),
        ("trigger", "scroll"),
        ("seconds", "10"),
        ("percent", "60"),
        ("trigger_event", ""),
        ("v0_name", ""),
        ("v0_weight", "2"),
        ("v0_msg_en", "Need a hand with checkout?"),
        ("v0_msg_ru", ""),
        ("v0_msg_uk", ""),
        ("v0_msg_fa", "برای پرداخت کمک می‌خواهید؟"),
        ("v1_name", "Short"),
        ("v1_weight", "1"),
        ("v1_msg_en", "Questions? We are here."),
        ("v1_msg_ru", ""),
        ("v1_msg_uk", ""),
        ("v1_msg_fa", ""),
        ("v2_name", ""),
        ("v2_weight", "1"),
        ("v2_msg_en", ""),
        ("holdout", "20"),
        ("cap_days", "7"),
        ("goal_event", "order_completed"),
        ("goal_hours", "24"),
        ("only_open_hours", "1"),
        ("from", ""),
    ];
    for (k, v) in changes {
        match f.iter_mut().find(|(fk, _)| fk == k) {
            Some(slot) => slot.1 = v,
            None => f.push((k, v)),
        }
    }
    f
}

async fn campaign_pages_are_for_admins_of_the_workspace(db: Db) {
    let app = TestApp::spawn(db).await;
    let ours = create(&app, &app.token, campaign("Ours")).await;

    // An agent who is not an admin is refused every page and every form.
    let (_, mut ann) = agent(&app, "ann@acme.test", "Ann Agent", false).await;
    for p in [
        "/app/admin/campaigns".to_string(),
        "/app/admin/campaigns/new".into(),
        format!("/app/admin/campaigns/{ours}"),
        format!("/app/admin/campaigns/{ours}/results"),
        format!("/app/admin/campaigns/{ours}/results.csv"),
    ] {
        let (s, html) = ann.get(&p).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{p}");
        assert!(html.contains("For admins only"), "{p}: {html}");
    }
    for (p, f) in [
        (format!("/app/admin/campaigns/{ours}/active"), vec![("on", "0")]),
        (format!("/app/admin/campaigns/{ours}/delete"), vec![]),
        (format!("/app/admin/campaigns/{ours}"), form(&[])),
        ("/app/admin/campaigns/new".to_string(), form(&[("name", "Sneaky")])),
    ] {
        let (s, _) = ann.post(&p, &f).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{p}");
    }
    let (s, c) = api_campaign(&app, ours).await;
    assert_eq!(
        (s, &c["name"], &c["active"]),
        (StatusCode::OK, &json!("Ours"), &json!(true))
    );

    // The admin navigation links the page; forms need the session's token
    // and our own origin.
    let mut boss = admin(&app).await;
    let (s, html) = boss.get("/app/admin/campaigns").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("href=\"/app/admin/campaigns\" aria-current=\"page\""),
        "{html}"
    );
    let (_, html) = boss.get("/app/admin/agents").await;
    assert!(
        html.contains("href=\"/app/admin/campaigns\""),
        "the navigation links campaigns"
    );
    let toggle = format!("/app/admin/campaigns/{ours}/active");
    for (f, origin) in [
        (vec![("on", "0")], None),
        (vec![("_csrf", "0000"), ("on", "0")], None),
        (
            vec![("_csrf", boss.csrf.as_str()), ("on", "0")],
            Some("https://evil.example"),
        ),
    ] {
        let (s, body) = boss.raw_post(&toggle, &f, origin).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{f:?} {origin:?}: {body}");
        assert!(body.contains("csrf_failed"), "{body}");
    }
    let (s, _) = boss
        .raw_post("/app/admin/campaigns/new", &form(&[("name", "No token")]), None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = boss
        .raw_post(&format!("/app/admin/campaigns/{ours}/delete"), &[], None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, list) = app.get("/api/v1/campaigns").await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "nothing was created: {list}"
    );
    let (_, c) = api_campaign(&app, ours).await;
    assert_eq!(c["active"], true, "nothing changed");

    // Another workspace's campaign is not found, whatever the form.
    let (_, _, other) = app.workspace("Other Shop").await;
    let theirs = create(&app, &other, campaign("Theirs")).await;
    for p in [
        format!("/app/admin/campaigns/{theirs}"),
        format!("/app/admin/campaigns/{theirs}/results"),
        format!("/app/admin/campaigns/{theirs}/results.csv"),
        "/app/admin/campaigns/x1".into(),
        "/app/admin/campaigns/-3".into(),
        "/app/admin/campaigns/99999999".into(),
    ] {
        assert_eq!(boss.get(&p).await.0, StatusCode::NOT_FOUND, "{p}");
    }
    let (_, html) = boss.get("/app/admin/campaigns").await;
    assert!(!html.contains("Theirs"), "{html}");
    for (p, f) in [
        (format!("/app/admin/campaigns/{theirs}"), form(&[("name", "Mine now")])),
        (format!("/app/admin/campaigns/{theirs}/active"), vec![("on", "0")]),
        (format!("/app/admin/campaigns/{theirs}/delete"), vec![]),
    ] {
        let (s, _) = boss.post(&p, &f).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{p}");
    }
    let (s, t) = app
        .call(Method::GET, &format!("/api/v1/campaigns/{theirs}"), &other, None)
        .await;
    assert_eq!(
        (s, &t["name"], &t["active"]),
        (StatusCode::OK, &json!("Theirs"), &json!(true)),
        "{t}"
    );

    // A plan without proactive campaigns: the pages say so, as every
    // gated console page does, and the forms do nothing.
    let op = crate::operator::operator(&app).await;
    let (s, plan) = app
        .call(
            Method::POST,
            "/api/operator/v1/plans",
            &op,
            Some(json!({ "name": "no campaigns", "features": ["chat", "email"] })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{plan}");
    let (s, w) = app
        .call(
            Method::PUT,
            &format!("/api/operator/v1/workspaces/{}/plan", app.workspace_id),
            &op,
            Some(json!({ "plan_id": plan["id"] })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{w}");
    for p in [
        "/app/admin/campaigns".to_string(),
        "/app/admin/campaigns/new".into(),
        format!("/app/admin/campaigns/{ours}"),
        format!("/app/admin/campaigns/{ours}/results"),
    ] {
        let (s, body) = boss.get(&p).await;
        assert_eq!(s, StatusCode::PAYMENT_REQUIRED, "{p}: {body}");
        assert!(
            body.contains("plan_feature_missing") && body.contains("proactive"),
            "{p}: {body}"
        );
    }
    let (s, _) = boss.post(&toggle, &[("on", "0")]).await;
    assert_eq!(s, StatusCode::PAYMENT_REQUIRED);
    let (_, html) = boss.get("/app/admin/agents").await;
    assert!(html.contains("Agents"), "other admin pages still work");
}

async fn boss_id(app: &TestApp) -> i64 {
    let (_, users) = app.get("/api/v1/users").await;
    users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "boss@acme.test")
        .unwrap()["id"]
        .as_i64()
        .unwrap()
}

async fn the_campaign_editor_creates_refuses_and_edits(db: Db) {
    let app = TestApp::spawn(db).await;
    let mut boss = admin(&app).await;
    let me = boss_id(&app).await.to_string();

    // The empty list leads to a form with two variant rows in every
    // language, and the workspace's agents to send from.
    let (s, html) = boss.get("/app/admin/campaigns").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("No campaigns yet"), "{html}");
    assert!(html.contains("href=\"/app/admin/campaigns/new\""));
    let (s, html) = boss.get("/app/admin/campaigns/new").await;
    assert_eq!(s, StatusCode::OK);
    for name in [
        "v0_msg_en",
        "v0_msg_fa",
        "v1_msg_ru",
        "v1_msg_uk",
        "v1_weight",
        "holdout",
        "only_agents_online",
    ] {
        assert!(html.contains(&format!("name=\"{name}\"")), "{name}");
    }
    assert!(!html.contains("name=\"v2_name\""), "two rows to start with");
    assert!(
        html.contains(&format!("<option value=\"{me}\">Boss Admin</option>")),
        "{html}"
    );

    // Created through the form, as the API would take it.
    let r = boss
        .post("/app/admin/campaigns/new", &form(&[("from", me.as_str())]))
        .await;
    let to = saved(&r, "create");
    let (_, list) = app.get("/api/v1/campaigns").await;
    let c = &list["items"][0];
    let id = c["id"].as_i64().unwrap();
    assert!(to.starts_with(&format!("/app/admin/campaigns/{id}?ok=")), "{to}");
    assert_eq!(
        (&c["name"], &c["priority"], &c["active"]),
        (&json!("Cart rescue"), &json!(5), &json!(false)),
        "{c}"
    );
    assert_eq!(
        c["audience"],
        json!({
            "url": "https://shop.test/cart*", "min_page_views": 2, "visitor": "returning",
            "languages": ["en", "fa"], "min_cart_value": 50.0,
            "event": { "name": "checkout_error", "within_minutes": 10 }, "identified": false
        })
    );
    assert_eq!(c["trigger"], json!({ "type": "scroll", "percent": 60 }));
    assert_eq!(
        c["variants"],
        json!([
            { "name": "A", "weight": 2, "message": { "en": "Need a hand with checkout?", "fa": "برای پرداخت کمک می‌خواهید؟" } },
            { "name": "Short", "weight": 1, "message": { "en": "Questions? We are here." } }
        ]),
        "blank messages and the blank third row are ignored"
    );
    assert_eq!(
        (
            &c["holdout_percent"],
            &c["cap_days"],
            &c["goal_event"],
            &c["goal_hours"]
        ),
        (&json!(20), &json!(7), &json!("order_completed"), &json!(24))
    );
    assert_eq!(
        (&c["only_open_hours"], &c["only_agents_online"], &c["from_user_id"]),
        (&json!(true), &json!(false), &json!(me.parse::<i64>().unwrap()))
    );
    let (_, feed) = app.get("/api/v1/events?limit=50").await;
    assert!(
        feed.to_string().contains("campaign.created"),
        "logged as the API logs it"
    );

    // Refusals come back on the editor with the domain's reason, next to
    // the field, and everything typed kept.
    for (changes, reason, field) in [
        (
            vec![("name", "Too much"), ("holdout", "80")],
            "must be between 0 and 50",
            "holdout",
        ),
        (
            vec![("name", "Too much"), ("cap_days", "ten")],
            "must be a whole number",
            "cap_days",
        ),
        (vec![("name", "Cart rescue")], "another campaign has this name", "name"),
        (
            vec![
                ("name", "Too much"),
                ("trigger", "event"),
                ("trigger_event", "Bad Name"),
            ],
            "must be 1 to 64 characters",
            "trigger_event",
        ),
        (
            vec![
                ("name", "Too much"),
                ("v0_msg_en", ""),
                ("v0_msg_fa", ""),
                ("v1_msg_en", ""),
                ("v1_name", ""),
            ],
            "give 1 to 4 variants",
            "variants",
        ),
        (vec![("name", "Too much"), ("from", "99999")], "no agent 99999", "from"),
    ] {
        let (s, html) = boss.post("/app/admin/campaigns/new", &form(&changes)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{changes:?}: {html}");
        assert!(html.contains(reason), "{changes:?}: {html}");
        assert!(html.contains("The campaign was not saved"), "{html}");
        assert!(html.contains(&format!("id=\"fault-{field}\"")), "{field}: {html}");
        assert!(
            html.matches(&format!("fault-{field}\"")).count() >= 2,
            "{field} is described by its fault: {html}"
        );
        let name = changes[0].1;
        assert!(html.contains(&format!("name=\"name\" value=\"{name}\"")), "{html}");
        assert!(html.contains("value=\"https://shop.test/cart*\""), "the URL is kept");
        if field != "variants" {
            assert!(
                html.contains(">برای پرداخت کمک می‌خواهید؟</textarea>"),
                "the message is kept"
            );
        }
    }
    let (_, list) = app.get("/api/v1/campaigns").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");

    // The editor shows what is saved, with the preview of the bubble.
    let (s, html) = boss.get(&format!("/app/admin/campaigns/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("name=\"name\" value=\"Cart rescue\""), "{html}");
    assert!(html.contains("<option value=\"scroll\" selected>"), "{html}");
    assert!(html.contains(&format!("<option value=\"{me}\" selected>")), "{html}");
    assert!(html.contains("name=\"v2_name\""), "an empty row after the two filled");
    assert!(!html.contains("name=\"v3_name\""));
    let preview = |html: &str| {
        let at = html.find("data-preview=\"bubble\"").expect("the preview bubble");
        html[at..at + html[at..].find("</div>").unwrap()].to_string()
    };
    let p = preview(&html);
    assert!(
        p.contains("Need a hand with checkout?") && p.contains("Boss Admin"),
        "{p}"
    );
    let (_, html) = boss.get(&format!("/app/admin/campaigns/{id}?lang=fa&variant=A")).await;
    assert!(preview(&html).contains("برای پرداخت کمک می‌خواهید؟"), "{html}");
    assert!(html.contains("class=\"nudge-stage\" dir=\"rtl\""), "{html}");
    let (_, html) = boss
        .get(&format!("/app/admin/campaigns/{id}?lang=ru&variant=Short"))
        .await;
    assert!(
        preview(&html).contains("Questions? We are here."),
        "the English text for Russian"
    );
    assert!(html.contains("has no text in that language"), "{html}");
    let (s, _) = boss
        .get(&format!("/app/admin/campaigns/{id}?lang=<script>&variant=nope"))
        .await;
    assert_eq!(s, StatusCode::OK, "an odd preview choice falls back");

    // Conditions only the API writes (contact attributes) survive an edit.
    let (s, c) = app
        .patch(
            &format!("/api/v1/campaigns/{id}"),
            json!({ "audience": { "url": "https://shop.test/cart*", "attributes": { "tier": "gold" } } }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    let r = boss
        .post(
            &format!("/app/admin/campaigns/{id}"),
            &form(&[
                ("name", "Cart rescue 2"),
                ("trigger", "exit_intent"),
                ("v1_msg_uk", "Питання? Ми тут."),
            ]),
        )
        .await;
    saved(&r, "update");
    let (_, c) = api_campaign(&app, id).await;
    assert_eq!(c["name"], "Cart rescue 2");
    assert_eq!(c["trigger"], json!({ "type": "exit_intent" }));
    assert_eq!(c["audience"]["attributes"], json!({ "tier": "gold" }), "{c}");
    assert_eq!(c["variants"][1]["message"]["uk"], "Питання? Ми тут.");
    assert_eq!(c["active"], false, "an edit does not start it");
    // A refused edit keeps what was typed, and changes nothing.
    let (s, html) = boss
        .post(
            &format!("/app/admin/campaigns/{id}"),
            &form(&[("name", "Cart rescue 3"), ("goal_hours", "9999")]),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains(
            "name=\"goal_hours\" type=\"number\" step=\"1\" min=\"1\" max=\"720\" value=\"9999\" aria-invalid=\"true\""
        ),
        "{html}"
    );
    assert!(html.contains("value=\"Cart rescue 3\""));
    let (_, c) = api_campaign(&app, id).await;
    assert_eq!((&c["name"], &c["goal_hours"]), (&json!("Cart rescue 2"), &json!(24)));

    // Start and stop from the list.
    let r = boss
        .post(&format!("/app/admin/campaigns/{id}/active"), &[("on", "1")])
        .await;
    saved(&r, "start");
    let (_, c) = api_campaign(&app, id).await;
    assert_eq!(c["active"], true);
    let (_, html) = boss.get("/app/admin/campaigns").await;
    assert!(
        html.contains("Running") && html.contains("When the visitor is about to leave"),
        "{html}"
    );
    assert!(html.contains(">Stop<span class=\"sr\">"), "{html}");
    let r = boss
        .post(&format!("/app/admin/campaigns/{id}/active"), &[("on", "0")])
        .await;
    saved(&r, "stop");
    let (_, c) = api_campaign(&app, id).await;
    assert_eq!(c["active"], false);

    // Deleted, after the confirmation the list asks for.
    let (_, html) = boss.get("/app/admin/campaigns").await;
    assert!(html.contains("Yes, delete the campaign"), "{html}");
    let r = boss.post(&format!("/app/admin/campaigns/{id}/delete"), &[]).await;
    saved(&r, "delete");
    assert_eq!(api_campaign(&app, id).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        boss.get(&format!("/app/admin/campaigns/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
    let (s, _) = boss.post(&format!("/app/admin/campaigns/{id}/delete"), &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "twice");
    let (_, feed) = app.get("/api/v1/events?limit=100").await;
    assert!(feed.to_string().contains("campaign.deleted"));
}

/// A public call as the widget makes it: JSON in a text/plain body.
async fn public(app: &TestApp, path: &str, body: Value) -> (StatusCode, Value) {
    let r = app
        .client
        .post(format!("{}{path}", app.base))
        .header("content-type", "text/plain")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// The text of the cell `key` in the results row of `group`.
fn cell(html: &str, group: &str, key: &str) -> String {
    let row = &html[html
        .find(&format!("data-group=\"{group}\""))
        .unwrap_or_else(|| panic!("row {group}: {html}"))..];
    let row = &row[..row.find("</tr>").unwrap()];
    let at = row.find(&format!("data-k=\"{key}\">")).unwrap() + key.len() + 10;
    let text = &row[at..at + row[at..].find("</td>").unwrap()];
    // Without markup.
    let mut out = String::new();
    let mut tag = false;
    for ch in text.chars() {
        match ch {
            '<' => tag = true,
            '>' => tag = false,
            c if !tag => out.push(c),
            _ => {}
        }
    }
    out.trim().to_string()
}

async fn campaign_results_show_the_numbers(db: Db) {
    let app = TestApp::spawn(db).await;
    let mut boss = admin(&app).await;
    let mut body = campaign("Half held out");
    body["holdout_percent"] = json!(50);
    let id = create(&app, &app.token, body).await;
    let (s, html) = boss.get(&format!("/app/admin/campaigns/{id}/results")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(cell(&html, "A", "shown"), "0");
    assert_eq!(cell(&html, "holdout", "rate"), "—");
    assert!(html.contains("No holdout visitors yet"), "{html}");

    // Visitors: some held out, some shown (and opening it); a few buy.
    let (mut held, mut shown) = (0, 0);
    for i in 0..16 {
        let (s, v) = public(
            &app,
            &format!("/api/widget/{SLUG}/page"),
            json!({ "url": "https://shop.test/cart", "title": "Shop" }),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let token = v["visitor_token"].as_str().unwrap().to_string();
        let path = |step: &str| format!("/api/widget/{SLUG}/campaigns/{id}/{step}");
        if v["campaigns"].as_array().unwrap().is_empty() {
            held += 1;
        } else {
            shown += 1;
            assert_eq!(
                public(&app, &path("shown"), json!({ "token": token })).await.0,
                StatusCode::OK
            );
            assert_eq!(
                public(&app, &path("opened"), json!({ "token": token })).await.0,
                StatusCode::OK
            );
        }
        if i % 3 == 0 {
            let (s, _) = public(
                &app,
                &format!("/api/widget/{SLUG}/events"),
                json!({ "token": token, "events": [{ "name": "order_completed", "props": {} }] }),
            )
            .await;
            assert_eq!(s, StatusCode::ACCEPTED);
        }
    }
    assert!(held > 0 && shown > 0, "held {held}, shown {shown}");

    let (_, r) = app.get(&format!("/api/v1/campaigns/{id}/results")).await;
    let (s, html) = boss.get(&format!("/app/admin/campaigns/{id}/results")).await;
    assert_eq!(s, StatusCode::OK);
    let h = &r["holdout"];
    assert_eq!(cell(&html, "holdout", "shown"), h["shown"].to_string(), "{r}");
    assert_eq!(cell(&html, "holdout", "converted"), h["converted"].to_string());
    let h_rate = h["converted"].as_f64().unwrap() / h["shown"].as_f64().unwrap();
    for g in r["variants"].as_array().unwrap() {
        let name = g["variant"].as_str().unwrap();
        for k in ["shown", "opened", "replied", "converted"] {
            assert_eq!(cell(&html, name, k), g[k].to_string(), "{name} {k}: {r}");
        }
        let n = g["shown"].as_f64().unwrap();
        if n > 0.0 {
            let rate = g["converted"].as_f64().unwrap() / n;
            assert_eq!(cell(&html, name, "rate"), format!("{:.1} %", rate * 100.0));
            assert_eq!(cell(&html, name, "lift"), format!("{:+.1} pp", (rate - h_rate) * 100.0));
        }
    }
    let total: i64 = r["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["shown"].as_i64().unwrap())
        .sum();
    assert_eq!(total, shown);
    assert!(html.contains("Not significant yet (too few visitors)"), "{html}");
    assert!(html.contains("order_completed"));

    // The list counts what was shown, without the holdout.
    let (_, list) = boss.get("/app/admin/campaigns").await;
    assert!(list.contains(&format!("data-k=\"shown\">{shown}</td>")), "{list}");

    // The same numbers as CSV.
    let (s, csv) = boss.get(&format!("/app/admin/campaigns/{id}/results.csv")).await;
    assert_eq!(s, StatusCode::OK);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "group,shown,opened,replied,converted,conversion_rate,lift_vs_holdout"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("holdout,{},0,0,{},", h["shown"], h["converted"]))),
        "{csv}"
    );
    assert_eq!(lines.len(), 4, "A, B and the holdout: {csv}");

    // In Persian the page reads right to left, the numbers left to right.
    let (s, _) = boss.post("/app/settings/language", &[("lang", "fa")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, html) = boss.get(&format!("/app/admin/campaigns/{id}/results")).await;
    assert!(html.contains("dir=\"rtl\"") && html.contains("نرخ تبدیل"), "{html}");
}
