//! Request kinds: what a ticket is about (question, order problem, bug,
//! missing or unclear feature) and, for a missing feature, which one. Set
//! and cleared through the API with a line in the conversation and a
//! `ticket.updated` change, validated, filtered on, kept within the
//! workspace and the agent's teams, set by rules, and set from the
//! console's ticket page, inbox and rule editor.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::console::{admin, agent};
use crate::harness::{Db, TestApp};

crate::both_backends!(
    kinds_and_features_are_set_validated_and_cleared,
    tickets_are_created_and_listed_by_kind,
    other_workspaces_and_teams_cannot_set_the_kind,
    rules_set_the_kind_and_look_at_it,
    the_console_sets_the_kind,
);

const KINDS: &str = "question, order_problem, bug, missing_feature, unclear_feature";

async fn patch(app: &TestApp, id: i64, body: Value) -> (StatusCode, Value) {
    app.patch(&format!("/api/v1/tickets/{id}"), body).await
}

async fn ticket(app: &TestApp, id: i64) -> Value {
    let (s, t) = app.get(&format!("/api/v1/tickets/{id}")).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    t
}

async fn lines(app: &TestApp, id: i64) -> Vec<String> {
    let (_, m) = app.get(&format!("/api/v1/tickets/{id}/messages")).await;
    m["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "event")
        .map(|m| m["body"].as_str().unwrap().to_string())
        .collect()
}

/// The `ticket.updated` changes of ticket `id`, oldest first.
async fn updates(app: &TestApp, id: i64) -> Vec<Value> {
    let (_, feed) = app.get("/api/v1/events?limit=500").await;
    feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "ticket.updated" && e["ticket_id"] == id)
        .cloned()
        .collect()
}

fn error(v: &Value) -> &str {
    v["error"]["message"].as_str().unwrap_or_default()
}

async fn kinds_and_features_are_set_validated_and_cleared(db: Db) {
    let app = TestApp::spawn(db).await;
    let t = app.ticket("Can you wrap it as a gift?", "gift@shop.test").await;
    let id = t["id"].as_i64().unwrap();
    assert_eq!((&t["kind"], &t["feature"]), (&Value::Null, &Value::Null), "{t}");

    let (s, after) = patch(
        &app,
        id,
        json!({"kind": "missing_feature", "feature": "  Gift wrapping "}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{after}");
    assert_eq!(
        (&after["kind"], &after["feature"]),
        (&json!("missing_feature"), &json!("Gift wrapping"))
    );
    assert_eq!(ticket(&app, id).await["feature"], "Gift wrapping");
    assert_eq!(
        lines(&app, id).await,
        ["Kind set to Missing feature", "Feature: Gift wrapping"]
    );
    let ev = updates(&app, id).await;
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["changes"]["kind"], json!({"from": null, "to": "missing_feature"}));
    assert_eq!(
        ev[0]["changes"]["feature"],
        json!({"from": null, "to": "Gift wrapping"})
    );
    assert_eq!(ev[0]["actor"]["type"], "agent", "{}", ev[0]);

    // Refused with the field named; the ticket stays as it was.
    let refused = [
        (json!({"kind": "complaint"}), KINDS),
        (
            json!({"kind": "bug", "feature": "Gift wrapping"}),
            "only a missing_feature ticket",
        ),
        (json!({"feature": "x".repeat(101)}), "the limit is 100"),
        (json!({"feature": "Gift\u{7}wrapping"}), "control characters"),
        (json!({"feature": "Gift\nwrapping"}), "control characters"),
        (json!({"feature": "   "}), "feature: must not be empty"),
    ];
    for (body, says) in refused {
        let (s, e) = patch(&app, id, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {e}");
        assert!(error(&e).contains(says), "{body}: {e}");
    }
    let (s, e) = patch(&app, id, json!({"kind": 5})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(error(&e).starts_with("kind:"), "{e}");
    let (s, _) = patch(&app, id, json!({"feature": "x".repeat(100)})).await;
    assert_eq!(s, StatusCode::OK, "a hundred characters is the most");
    let (s, _) = patch(&app, id, json!({"feature": "Gift wrapping"})).await;
    assert_eq!(s, StatusCode::OK);
    // The same again changes nothing and says nothing.
    let (s, _) = patch(&app, id, json!({"kind": "missing_feature", "feature": "Gift wrapping"})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(updates(&app, id).await.len(), 3);

    // Another kind takes the feature away.
    let (s, after) = patch(&app, id, json!({"kind": "bug"})).await;
    assert_eq!(s, StatusCode::OK, "{after}");
    assert_eq!((&after["kind"], &after["feature"]), (&json!("bug"), &Value::Null));
    let ev = updates(&app, id).await;
    let last = &ev.last().unwrap()["changes"];
    assert_eq!(last["kind"], json!({"from": "missing_feature", "to": "bug"}), "{last}");
    assert_eq!(last["feature"], json!({"from": "Gift wrapping", "to": null}), "{last}");
    assert!(lines(&app, id)
        .await
        .ends_with(&["Kind set to Bug".into(), "Feature cleared".into()]));
    // A bug names no feature, even alone; clearing one it has not is fine.
    let (s, e) = patch(&app, id, json!({"feature": "Gift wrapping"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(error(&e).contains("set kind to missing_feature"), "{e}");
    let (s, _) = patch(&app, id, json!({"feature": null})).await;
    assert_eq!(s, StatusCode::OK);

    let (s, after) = patch(&app, id, json!({"kind": null})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(after["kind"], Value::Null);
    assert_eq!(lines(&app, id).await.last().unwrap(), "Kind cleared");
    assert_eq!(
        updates(&app, id).await.last().unwrap()["changes"],
        json!({"kind": {"from": "bug", "to": null}})
    );
    // Kind and other fields together: one event with both.
    let (s, _) = patch(&app, id, json!({"kind": "question", "priority": "high"})).await;
    assert_eq!(s, StatusCode::OK);
    let last = updates(&app, id).await.last().unwrap()["changes"].clone();
    assert_eq!(
        (&last["kind"]["to"], &last["priority"]["to"]),
        (&json!("question"), &json!("high"))
    );
}

async fn tickets_are_created_and_listed_by_kind(db: Db) {
    let app = TestApp::spawn(db).await;
    let open = |subject: &str, email: &str, extra: Value| {
        let mut body = json!({"subject": subject, "message": "Hello", "contact": {"email": email}});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let (s, bug) = app
        .post(
            "/api/v1/tickets",
            open("The cart forgets items", "a@shop.test", json!({"kind": "bug"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{bug}");
    assert_eq!((&bug["kind"], &bug["feature"]), (&json!("bug"), &Value::Null));
    let bug = bug["id"].as_i64().unwrap();
    let mut wrap = vec![];
    for email in ["a@shop.test", "b@shop.test", "b@shop.test"] {
        let (s, t) = app
            .post(
                "/api/v1/tickets",
                open(
                    "Gift wrap?",
                    email,
                    json!({"kind": "missing_feature", "feature": "Gift wrapping"}),
                ),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{t}");
        assert_eq!(t["feature"], "Gift wrapping");
        wrap.push(t["id"].as_i64().unwrap());
    }
    let (s, gift_cards) = app
        .post(
            "/api/v1/tickets",
            open(
                "Gift cards?",
                "c@shop.test",
                json!({"kind": "missing_feature", "feature": "Gift cards"}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{gift_cards}");
    let plain = app.ticket("Where is my parcel?", "d@shop.test").await["id"]
        .as_i64()
        .unwrap();
    for (extra, says) in [
        (json!({"kind": "rant"}), KINDS),
        (json!({"feature": "Gift wrapping"}), "only a missing_feature ticket"),
        (
            json!({"kind": "question", "feature": "Gift wrapping"}),
            "only a missing_feature ticket",
        ),
        (
            json!({"kind": "missing_feature", "feature": "y".repeat(101)}),
            "the limit is 100",
        ),
    ] {
        let (s, e) = app
            .post("/api/v1/tickets", open("No", "e@shop.test", extra.clone()))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{extra}: {e}");
        assert!(error(&e).contains(says), "{extra}: {e}");
    }
    // The creation event says what the ticket started as.
    let (_, feed) = app.get("/api/v1/events?limit=500").await;
    let created: Vec<&Value> = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "ticket.created")
        .collect();
    let of = |id: i64| created.iter().find(|e| e["ticket_id"] == id).unwrap()["changes"].clone();
    assert_eq!((&of(bug)["kind"], &of(bug)["feature"]), (&json!("bug"), &Value::Null));
    assert_eq!(of(wrap[0])["feature"], "Gift wrapping");
    assert_eq!(of(plain)["kind"], Value::Null);

    let ids = |v: &Value| -> Vec<i64> {
        v["items"]
            .as_array()
            .unwrap_or_else(|| panic!("{v}"))
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect()
    };
    let (s, l) = app.get("/api/v1/tickets?kind=bug").await;
    assert_eq!(s, StatusCode::OK, "{l}");
    assert_eq!(ids(&l), [bug]);
    let (_, l) = app.get("/api/v1/tickets?kind=missing_feature&sort=created").await;
    assert_eq!(ids(&l).len(), 4);
    assert!(l["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["kind"] == "missing_feature"));
    let (_, l) = app.get("/api/v1/tickets?kind=question").await;
    assert!(ids(&l).is_empty(), "{l}");
    patch(&app, plain, json!({"kind": "question", "status": "pending"})).await;
    let (_, l) = app.get("/api/v1/tickets?kind=question&status=open").await;
    assert!(ids(&l).is_empty(), "the kind filter goes with the others: {l}");
    let (_, l) = app.get("/api/v1/tickets?kind=question&status=pending").await;
    assert_eq!(ids(&l), [plain]);
    let (s, e) = app.get("/api/v1/tickets?kind=bugs").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(error(&e).contains(KINDS), "{e}");

    // Names used before, the most asked first, by the start of the name.
    let names = |prefix: &'static str| app.store.feature_names(app.workspace_id, prefix, 50);
    assert_eq!(names("").await.unwrap(), ["Gift wrapping", "Gift cards"]);
    assert_eq!(names("gift w").await.unwrap(), ["Gift wrapping"]);
    assert!(names("wrapping").await.unwrap().is_empty());
    assert!(names("%").await.unwrap().is_empty(), "LIKE wildcards are literal");
    // Only missing-feature tickets count; another workspace's are its own.
    patch(&app, wrap[0], json!({"kind": "bug"})).await;
    patch(&app, wrap[1], json!({"kind": "bug"})).await;
    assert_eq!(names("").await.unwrap(), ["Gift cards", "Gift wrapping"]);
    let (other_ws, _, _) = app.workspace("Other Shop").await;
    assert!(app.store.feature_names(other_ws, "", 50).await.unwrap().is_empty());
}

async fn other_workspaces_and_teams_cannot_set_the_kind(db: Db) {
    let app = TestApp::spawn(db).await;
    let id = app.ticket("Broken checkout", "a@shop.test").await["id"]
        .as_i64()
        .unwrap();
    let (_, _, other) = app.workspace("Other Shop").await;
    let (s, e) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/tickets/{id}"),
            &other,
            Some(json!({"kind": "bug"})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
    let (_, l) = app.call(Method::GET, "/api/v1/tickets?kind=bug", &other, None).await;
    assert!(l["items"].as_array().unwrap().is_empty(), "{l}");
    // An agent limited to teams they are not in: the ticket is not there.
    let (limited_id, limited) = app.agent("limited@acme.test", true).await;
    let (s, e) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/tickets/{id}"),
            &limited,
            Some(json!({"kind": "bug"})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
    let t = ticket(&app, id).await;
    assert_eq!(t["kind"], Value::Null, "{t}");
    assert!(updates(&app, id).await.is_empty());
    // Assigned to them, it is theirs to sort.
    patch(&app, id, json!({"assignee_id": limited_id})).await;
    let (s, t) = app
        .call(
            Method::PATCH,
            &format!("/api/v1/tickets/{id}"),
            &limited,
            Some(json!({"kind": "bug"})),
        )
        .await;
    assert_eq!((s, &t["kind"]), (StatusCode::OK, &json!("bug")), "{t}");
}

async fn rule(app: &TestApp, body: Value) -> Value {
    let (s, r) = app.post("/api/v1/rules", body).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    r
}

async fn rules_set_the_kind_and_look_at_it(db: Db) {
    let app = TestApp::spawn(db).await;
    let (s, e) = app
        .post(
            "/api/v1/rules",
            json!({"name":"x","event":"ticket.created","actions":[{"type":"set_kind","kind":"rant"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(error(&e).contains(KINDS), "{e}");
    let (s, e) = app
        .post("/api/v1/rules", json!({"name":"x","event":"ticket.created","conditions":{"all":[{"field":"kind","op":"is","value":"rant"}]},"actions":[{"type":"close"}]}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");

    let wrap = rule(
        &app,
        json!({"name":"Gift wrap requests","event":"ticket.created",
        "conditions":{"all":[{"field":"text","op":"contains","value":"wrap"},{"field":"kind","op":"not_set"}]},
        "actions":[{"type":"set_kind","kind":"missing_feature","feature":"Gift wrapping"}]}),
    )
    .await;
    assert_eq!(
        wrap["actions"][0],
        json!({"type":"set_kind","kind":"missing_feature","feature":"Gift wrapping"})
    );
    // A later rule on the same event sees the kind the first one set.
    rule(
        &app,
        json!({"name":"Label features","event":"ticket.created",
        "conditions":{"all":[{"field":"kind","op":"is","value":"missing_feature"}]},
        "actions":[{"type":"add_label","value":"feature"}]}),
    )
    .await;
    // When an agent calls it a bug, it matters more.
    rule(
        &app,
        json!({"name":"Bugs go up","event":"ticket.updated",
        "conditions":{"all":[{"field":"changed","op":"has","value":"kind"},{"field":"kind","op":"in","value":["bug"]}]},
        "actions":[{"type":"set_priority","value":"high"}]}),
    )
    .await;

    let t = app.ticket("Could you gift wrap my order?", "gift@shop.test").await;
    let id = t["id"].as_i64().unwrap();
    let other = app.ticket("The page crashes", "crash@shop.test").await["id"]
        .as_i64()
        .unwrap();
    app.consumed("rules").await;
    let t = ticket(&app, id).await;
    assert_eq!(
        (&t["kind"], &t["feature"]),
        (&json!("missing_feature"), &json!("Gift wrapping")),
        "{t}"
    );
    assert_eq!(t["labels"], json!(["feature"]));
    let said = lines(&app, id).await;
    assert!(
        said.contains(&"Rule \"Gift wrap requests\": Kind set to Missing feature".to_string())
            && said.contains(&"Rule \"Gift wrap requests\": Feature: Gift wrapping".to_string()),
        "{said:?}"
    );
    let ev = updates(&app, id).await;
    let by_rule = ev
        .iter()
        .find(|e| e["changes"].get("kind").is_some())
        .expect("the rule's change");
    assert_eq!(by_rule["changes"]["kind"]["to"], "missing_feature");
    assert_eq!(by_rule["actor"], json!({"type": "rule", "id": wrap["id"]}), "{by_rule}");
    assert_eq!(
        ticket(&app, other).await["kind"],
        Value::Null,
        "the conditions held back"
    );

    let (s, _) = patch(&app, other, json!({"kind": "bug"})).await;
    assert_eq!(s, StatusCode::OK);
    app.consumed("rules").await;
    assert_eq!(ticket(&app, other).await["priority"], "high");
    // Any other change leaves the kind rule be.
    let (s, _) = patch(&app, other, json!({"priority": "low"})).await;
    assert_eq!(s, StatusCode::OK);
    app.consumed("rules").await;
    assert_eq!(ticket(&app, other).await["priority"], "low");
}

async fn the_console_sets_the_kind(db: Db) {
    let app = TestApp::spawn(db).await;
    let t = app.ticket("Gift wrapping, please", "gift@shop.test").await;
    let id = t["id"].as_i64().unwrap();
    let page = format!("/app/t/{}", t["number"]);
    let mut boss = admin(&app).await;
    let (s, html) = boss.get(&page).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("<label for=\"ctl-kind\">Kind</label>"), "{html}");
    assert!(html.contains("<label for=\"ctl-feature\">"), "{html}");
    assert!(
        html.contains("<option value=\"order_problem\">Order problem</option>"),
        "{html}"
    );

    let (s, loc) = boss
        .post(&page, &[("kind", "missing_feature"), ("feature", " Gift wrapping ")])
        .await;
    assert_eq!((s, loc.as_str()), (StatusCode::SEE_OTHER, page.as_str()));
    let after = ticket(&app, id).await;
    assert_eq!(
        (&after["kind"], &after["feature"]),
        (&json!("missing_feature"), &json!("Gift wrapping"))
    );
    let ev = updates(&app, id).await;
    assert_eq!(ev[0]["changes"]["kind"]["to"], "missing_feature");
    let (_, html) = boss.get(&page).await;
    assert!(html.contains("<option value=\"missing_feature\" selected>"), "{html}");
    assert!(html.contains("name=\"feature\" value=\"Gift wrapping\""), "{html}");
    assert!(
        html.contains("<datalist id=\"feature-list\"><option value=\"Gift wrapping\">"),
        "{html}"
    );

    // The feature field stays in the form, hidden, when another kind is
    // chosen: what it holds is not an error, and the feature goes.
    let (s, loc) = boss.post(&page, &[("kind", "bug"), ("feature", "Gift wrapping")]).await;
    assert_eq!((s, loc.as_str()), (StatusCode::SEE_OTHER, page.as_str()));
    let after = ticket(&app, id).await;
    assert_eq!((&after["kind"], &after["feature"]), (&json!("bug"), &Value::Null));
    let (s, loc) = boss
        .post(&page, &[("kind", "missing_feature"), ("feature", &"z".repeat(101))])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(loc.contains("err="), "{loc}");
    let (_, loc) = boss.post(&page, &[("kind", "rant")]).await;
    assert!(loc.contains("err="), "{loc}");
    assert_eq!(ticket(&app, id).await["kind"], "bug");
    let (_, _) = boss.post(&page, &[("kind", "none"), ("feature", "")]).await;
    assert_eq!(ticket(&app, id).await["kind"], Value::Null);

    // From the inbox, for the ticked tickets the agent may see.
    let second = app.ticket("Which size?", "size@shop.test").await["id"]
        .as_i64()
        .unwrap();
    let (_, inbox) = boss.get("/app").await;
    assert!(
        inbox.contains("<option value=\"kind:unclear_feature\">Unclear feature</option>"),
        "{inbox}"
    );
    let (t1, t2) = (format!("t{id}"), format!("t{second}"));
    let (s, loc) = boss
        .post(
            "/app/bulk",
            &[("action", "kind:question"), (&t1, "on"), (&t2, "on"), ("back", "/app")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(loc.contains("ok=2%20of%202"), "{loc}");
    assert_eq!(ticket(&app, second).await["kind"], "question");
    let (_, loc) = boss.post("/app/bulk", &[("action", "kind:rant"), (&t1, "on")]).await;
    assert!(loc.contains("err="), "{loc}");

    // A restricted agent's form on a ticket outside their teams: not found.
    let (_, mut limited) = agent(&app, "limited@acme.test", "Lim Ited", true).await;
    let (s, _) = limited.get(&page).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = limited.post(&page, &[("kind", "bug")]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(ticket(&app, id).await["kind"], "question");

    // The rule editor offers the action and keeps a posted one.
    let (s, html) = boss.get("/app/admin/rules/new").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("<option value=\"set_kind\">Set the kind</option>"),
        "{html}"
    );
    assert!(html.contains("<option value=\"kind\""), "the kind condition: {html}");
    let (s, loc) = boss
        .post(
            "/app/admin/rules/new",
            &[
                ("name", "Wrapping"),
                ("event", "ticket.created"),
                ("c0_field", "kind"),
                ("c0_op", "not_set"),
                ("a0_type", "set_kind"),
                ("a0_kind", "missing_feature"),
                ("a0_feature", "Gift wrapping"),
                ("enabled", "1"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{loc}");
    let (_, rules) = app.get("/api/v1/rules").await;
    let saved = &rules["items"][0];
    assert_eq!(
        saved["actions"],
        json!([{"type":"set_kind","kind":"missing_feature","feature":"Gift wrapping"}])
    );
    assert_eq!(saved["conditions"]["all"], json!([{"field":"kind","op":"not_set"}]));
    let (_, html) = boss.get(&format!("/app/admin/rules/{}", saved["id"])).await;
    assert!(html.contains("name=\"a0_feature\" value=\"Gift wrapping\""), "{html}");
    let (_, html) = boss.get("/app/admin/rules").await;
    assert!(html.contains("Set the kind: <bdi>Gift wrapping</bdi>"), "{html}");
}
