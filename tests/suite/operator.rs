//! A hosted installation: operators above workspaces, plans that switch
//! features on every path (API, console, widget, chat socket, mail
//! intake), agent limits, suspension, usage, and a workspace's export.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::console::{Console, PASSWORD};
use crate::harness::{Db, TestApp, MAIL_DOMAIN};

crate::both_backends!(
    operator_api_is_for_operators_only,
    a_plan_without_a_feature_refuses_it_everywhere,
    max_agents_is_a_limit,
    suspend_and_resume,
    usage_figures,
    workspace_export_holds_only_that_workspace,
    signup_is_off_by_default_and_rate_limited,
    operator_and_export_from_the_command_line,
);

/// An operator (as `storedesk operator create` makes one) and its token.
pub async fn operator(app: &TestApp) -> String {
    let op = app
        .store
        .create_operator("ops@host.test", &storedesk::auth::hash_password("operator password 1"))
        .await
        .unwrap();
    let token = storedesk::auth::new_token();
    app.store
        .create_operator_token(op.id, "test", &storedesk::auth::token_hash(&token))
        .await
        .unwrap();
    token
}

async fn op(app: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    app.call(method, &format!("/api/operator/v1{path}"), token, body).await
}

/// A plan with these features, and the first workspace moved onto it.
async fn on_plan(app: &TestApp, token: &str, name: &str, features: &[&str], max_agents: Option<i64>) -> i64 {
    let (s, p) = op(
        app,
        token,
        Method::POST,
        "/plans",
        Some(json!({ "name": name, "features": features, "max_agents": max_agents })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let id = p["id"].as_i64().unwrap();
    let path = format!("/workspaces/{}/plan", app.workspace_id);
    let (s, w) = op(app, token, Method::PUT, &path, Some(json!({ "plan_id": id }))).await;
    assert_eq!(s, StatusCode::OK, "{w}");
    id
}

fn slug_of(app_ws: &Value) -> String {
    app_ws["slug"].as_str().unwrap().to_string()
}

async fn first_slug(app: &TestApp, token: &str) -> String {
    let (_, w) = op(
        app,
        token,
        Method::GET,
        &format!("/workspaces/{}", app.workspace_id),
        None,
    )
    .await;
    slug_of(&w["workspace"])
}

async fn operator_api_is_for_operators_only(db: Db) {
    let app = TestApp::spawn(db).await;
    let (s, e) = app.call(Method::GET, "/api/operator/v1/workspaces", "", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{e}");
    // The workspace admin's own token opens nothing here: it cannot lift
    // its own plan, suspend or list workspaces.
    for (m, path, body) in [
        (Method::GET, "/workspaces".to_string(), None),
        (
            Method::PUT,
            format!("/workspaces/{}/plan", app.workspace_id),
            Some(json!({ "plan_id": null })),
        ),
        (Method::POST, format!("/workspaces/{}/resume", app.workspace_id), None),
        (
            Method::POST,
            "/plans".into(),
            Some(json!({ "name": "all", "features": ["reports"] })),
        ),
    ] {
        let (s, e) = op(&app, &app.token, m, &path, body).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{path}: {e}");
    }
    // No HTTP route makes an operator (only the CLI does).
    for path in ["/api/operator/v1/operators", "/api/v1/operators"] {
        let (s, _) = app
            .post(path, json!({ "email": "me@x.test", "password": "0123456789ab" }))
            .await;
        assert!(
            s == StatusCode::NOT_FOUND || s == StatusCode::METHOD_NOT_ALLOWED,
            "{path}: {s}"
        );
    }
    let token = operator(&app).await;
    let (s, list) = op(&app, &token, Method::GET, "/workspaces", None).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // An operator token is no agent token either.
    let (s, _) = app.call(Method::GET, "/api/v1/tickets", &token, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // The operator makes a workspace; a generated password is shown once
    // and signs its admin in.
    let (s, c) = op(
        &app,
        &token,
        Method::POST,
        "/workspaces",
        Some(json!({ "name": "Second Shop", "admin_email": "owner@second.test" })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let pw = c["admin_password"].as_str().unwrap();
    Console::login(&app.base, "owner@second.test", pw).await;
    let (s, e) = op(&app, &token, Method::GET, "/workspaces/99999", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
    let (s, e) = op(
        &app,
        &token,
        Method::POST,
        "/plans",
        Some(json!({ "name": "x", "features": ["teleport"] })),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
}

fn missing(s: StatusCode, e: &Value, feature: &str, what: &str) {
    assert_eq!(s, StatusCode::PAYMENT_REQUIRED, "{what}: {e}");
    assert_eq!(e["error"]["code"], "plan_feature_missing", "{what}: {e}");
    assert!(e["error"]["message"].as_str().unwrap().contains(feature), "{what}: {e}");
}

async fn a_plan_without_a_feature_refuses_it_everywhere(db: Db) {
    let app = TestApp::spawn(db).await;
    let mut console = crate::console::admin(&app).await;
    let token = operator(&app).await;
    let slug = first_slug(&app, &token).await;
    // Before any plan: everything works.
    let (s, _) = app.get("/api/v1/reports/summary").await;
    assert_eq!(s, StatusCode::OK);
    let plan = on_plan(&app, &token, "tickets only", &[], None).await;

    for (path, feature) in [
        ("/api/v1/reports/summary", "reports"),
        ("/api/v1/rules", "automation"),
        ("/api/v1/macros", "automation"),
        ("/api/v1/sla-policies", "automation"),
        ("/api/v1/kb/articles", "knowledge_base"),
        ("/api/v1/mail", "email"),
        ("/api/v1/widget", "chat"),
    ] {
        let (s, e) = app.get(path).await;
        missing(s, &e, feature, path);
    }
    let (s, e) = app.post("/api/v1/rules", json!({ "name": "r" })).await;
    missing(s, &e, "automation", "POST rules");
    // What every plan has still works.
    app.ticket("Still here", "shopper@x.test").await;
    let (s, _) = app.get("/api/v1/tickets").await;
    assert_eq!(s, StatusCode::OK);

    // The console.
    for (path, feature) in [
        ("/app/reports", "reports"),
        ("/app/admin/rules", "automation"),
        ("/app/admin/macros", "automation"),
        ("/app/admin/sla", "automation"),
        ("/app/admin/kb", "knowledge_base"),
        ("/app/admin/mail", "email"),
        ("/app/admin/widget", "chat"),
    ] {
        let (s, body) = console.get(path).await;
        assert_eq!(s, StatusCode::PAYMENT_REQUIRED, "{path}: {body}");
        assert!(
            body.contains("plan_feature_missing") && body.contains(feature),
            "{path}: {body}"
        );
    }
    let (s, _) = console.get("/app").await;
    assert_eq!(s, StatusCode::OK);

    // The widget and the help centre.
    let (s, e) = app.call(Method::GET, &format!("/p/{slug}/chat/config"), "", None).await;
    missing(s, &e, "chat", "chat config");
    let (s, e) = app
        .call(Method::GET, &format!("/p/{slug}/kb/search?q=x"), "", None)
        .await;
    missing(s, &e, "knowledge_base", "kb search");
    let page = app
        .client
        .get(format!("{}/p/{slug}/kb", app.base))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::PAYMENT_REQUIRED);
    let sock = crate::harness::Socket::connect(
        &format!("{}/ws?workspace={slug}", app.ws_url()),
        Some("http://shop.test"),
    )
    .await;
    assert!(sock.is_err(), "the chat socket opened without the chat feature");

    // Mail intake refuses for good, so the sender knows.
    let smtp = app.mail(None).await;
    let reply = crate::harness::smtp_raw(
        smtp,
        "a@x.test",
        &format!("{slug}@{MAIL_DOMAIN}"),
        b"Subject: x\r\n\r\nhi\r\n.\r\n",
    )
    .await;
    assert!(reply.contains("550 5.7.1"), "{reply}");

    // With the feature the path opens again (the cache was cleared).
    let (s, p) = op(
        &app,
        &token,
        Method::PUT,
        &format!("/plans/{plan}"),
        Some(json!({ "name": "tickets only", "features": ["reports", "chat"] })),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let (s, _) = app.get("/api/v1/reports/summary").await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app.call(Method::GET, &format!("/p/{slug}/chat/config"), "", None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, e) = app.get("/api/v1/rules").await;
    missing(s, &e, "automation", "rules after the change");
    // A plan in use is not deleted; a workspace back on no plan has all.
    let (s, _) = op(&app, &token, Method::DELETE, &format!("/plans/{plan}"), None).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let path = format!("/workspaces/{}/plan", app.workspace_id);
    let (s, _) = op(&app, &token, Method::PUT, &path, Some(json!({ "plan_id": null }))).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app.get("/api/v1/rules").await;
    assert_eq!(s, StatusCode::OK);
}

async fn max_agents_is_a_limit(db: Db) {
    let app = TestApp::spawn(db).await;
    let token = operator(&app).await;
    on_plan(&app, &token, "two seats", &["chat"], Some(2)).await;
    // The admin is one; one more fits.
    let (s, u) = app
        .post(
            "/api/v1/users",
            json!({ "email": "a1@acme.test", "name": "A1", "password": PASSWORD }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    let (s, e) = app
        .post("/api/v1/users", json!({ "email": "a2@acme.test", "name": "A2" }))
        .await;
    assert_eq!(s, StatusCode::PAYMENT_REQUIRED, "{e}");
    assert_eq!(e["error"]["code"], "plan_limit_reached");
    // Nor does an admin.
    let (s, u) = app
        .post(
            "/api/v1/users",
            json!({ "email": "boss@acme.test", "name": "B", "password": PASSWORD, "role": "admin" }),
        )
        .await;
    assert_eq!(s, StatusCode::PAYMENT_REQUIRED, "{u}");
    let (_, usage) = op(
        &app,
        &token,
        Method::GET,
        &format!("/workspaces/{}/usage", app.workspace_id),
        None,
    )
    .await;
    assert_eq!(usage["agents"], 2, "{usage}");
    let mut c = Console::login(&app.base, "a1@acme.test", PASSWORD).await;
    let (s, _) = c.get("/app").await;
    assert_eq!(s, StatusCode::OK);

    // Four more seats, eight admins racing for them: four get one.
    on_plan(&app, &token, "six seats", &["chat"], Some(6)).await;
    let racers = (0..8).map(|i| {
        let app = &app;
        async move {
            app.post(
                "/api/v1/users",
                json!({ "email": format!("race{i}@acme.test"), "name": format!("R{i}") }),
            )
            .await
            .0
        }
    });
    let answers = futures::future::join_all(racers).await;
    let made = answers.iter().filter(|s| **s == StatusCode::CREATED).count();
    let refused = answers.iter().filter(|s| **s == StatusCode::PAYMENT_REQUIRED).count();
    assert_eq!((made, refused), (4, 4), "{answers:?}");
}

async fn suspend_and_resume(db: Db) {
    let app = TestApp::spawn(db).await;
    let mut console = crate::console::admin(&app).await;
    let (_, _, other) = app.workspace("Other Shop").await;
    let token = operator(&app).await;
    let slug = first_slug(&app, &token).await;
    let ws = app.workspace_id;
    let (s, w) = op(&app, &token, Method::POST, &format!("/workspaces/{ws}/suspend"), None).await;
    assert_eq!(s, StatusCode::OK, "{w}");
    assert!(w["suspended_at"].is_string(), "{w}");
    for path in ["/api/v1/tickets", "/api/v1/me", "/api/v1/reports/summary"] {
        let (s, e) = app.get(path).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}: {e}");
        assert_eq!(e["error"]["code"], "workspace_suspended", "{path}");
    }
    let (s, body) = console.get("/app").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(body.contains("workspace_suspended"), "{body}");
    let (s, e) = app.call(Method::GET, &format!("/p/{slug}/chat/config"), "", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(e["error"]["code"], "workspace_suspended");
    let page = app
        .client
        .get(format!("{}/p/{slug}/new", app.base))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    assert!(page.text().await.unwrap().contains("paused"));
    // Mail waits at the sender's server (a temporary refusal).
    let smtp = app.mail(None).await;
    let reply = crate::harness::smtp_raw(
        smtp,
        "a@x.test",
        &format!("{slug}@{MAIL_DOMAIN}"),
        b"Subject: x\r\n\r\nhi\r\n.\r\n",
    )
    .await;
    assert!(reply.contains("450 4.7.1"), "{reply}");
    // Another workspace is untouched.
    let (s, _) = app.call(Method::GET, "/api/v1/tickets", &other, None).await;
    assert_eq!(s, StatusCode::OK);

    let (s, w) = op(&app, &token, Method::POST, &format!("/workspaces/{ws}/resume"), None).await;
    assert_eq!(s, StatusCode::OK, "{w}");
    assert!(w["suspended_at"].is_null(), "{w}");
    let (s, _) = app.get("/api/v1/tickets").await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = console.get("/app").await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app.call(Method::GET, &format!("/p/{slug}/chat/config"), "", None).await;
    assert_eq!(s, StatusCode::OK);

    // Deleting takes it away.
    let (s, _) = op(&app, &token, Method::DELETE, &format!("/workspaces/{ws}"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app.get("/api/v1/tickets").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (_, list) = op(&app, &token, Method::GET, "/workspaces", None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
}

async fn usage_figures(db: Db) {
    let app = TestApp::spawn(db).await;
    let token = operator(&app).await;
    let (_, _, other) = app.workspace("Other Shop").await;
    let path = format!("/workspaces/{}/usage", app.workspace_id);
    let (s, before) = op(&app, &token, Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::OK, "{before}");
    assert_eq!(before["agents"], 1);
    assert_eq!(before["conversations_this_month"], 0);
    assert_eq!(before["storage_bytes"], 0);
    app.ticket("One", "a@x.test").await;
    app.ticket("Two", "b@x.test").await;
    app.agent("helper@acme.test", false).await;
    // Another workspace's work counts there, not here.
    let (s, _) = app
        .call(
            Method::POST,
            "/api/v1/tickets",
            &other,
            Some(json!({ "subject": "Elsewhere", "message": "x".repeat(1000), "contact": { "email": "c@x.test" } })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, after) = op(&app, &token, Method::GET, &path, None).await;
    assert_eq!(after["agents"], 2, "{after}");
    assert_eq!(after["conversations_this_month"], 2, "{after}");
    let bytes = after["storage_bytes"].as_i64().unwrap();
    // "About: One" and "About: Two" (the bodies the helper writes).
    assert!((20..1000).contains(&bytes), "{after}");
}

async fn workspace_export_holds_only_that_workspace(db: Db) {
    let app = TestApp::spawn(db).await;
    let token = operator(&app).await;
    app.ticket("First shop's ticket", "a@first.test").await;
    let (ws2, _, other) = app.workspace("Second Shop").await;
    let (s, _) = app
        .call(
            Method::POST,
            "/api/v1/tickets",
            &other,
            Some(json!({ "subject": "Second shop's ticket", "message": "hello", "contact": { "email": "b@second.test" } })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let r = app
        .client
        .get(format!("{}/api/operator/v1/workspaces/{ws2}/export", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.unwrap();
    assert!(text.contains("Second shop's ticket"));
    assert!(!text.contains("First shop") && !text.contains("a@first.test"));
    let mut lines = text.lines();
    let header: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(header["format"], "storedesk-backup");
    assert_eq!(header["workspace_id"], ws2);
    let mut tables = std::collections::HashSet::new();
    for l in lines {
        let v: Value = serde_json::from_str(l).unwrap();
        let t = v["t"].as_str().unwrap().to_string();
        let owner = if t == "workspaces" {
            &v["r"]["id"]
        } else {
            &v["r"]["workspace_id"]
        };
        assert_eq!(owner, &json!(ws2), "{l}");
        tables.insert(t);
    }
    for t in ["workspaces", "users", "tickets", "messages", "contacts"] {
        assert!(tables.contains(t), "{t} missing from {tables:?}");
    }
    // A workspace admin cannot download it.
    let r = app
        .client
        .get(format!("{}/api/operator/v1/workspaces/{ws2}/export", app.base))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

async fn signup_is_off_by_default_and_rate_limited(db: Db) {
    let app = TestApp::spawn(db).await;
    let client = Console::client();
    let r = client.get(format!("{}/signup", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let form = [
        ("workspace", "Pop Shop"),
        ("email", "pop@shop.test"),
        ("password", PASSWORD),
    ];
    let r = client
        .post(format!("{}/signup", app.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let token = operator(&app).await;
    let (s, p) = op(
        &app,
        &token,
        Method::POST,
        "/plans",
        Some(json!({ "name": "starter", "features": ["chat"], "max_agents": 3, "is_default": true })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let base = app
        .serve_variant(|s| {
            let mut site = (*s.site).clone();
            site.signup = true;
            s.site = std::sync::Arc::new(site);
        })
        .await;
    let r = client.get(format!("{base}/signup")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("name=\"workspace\""));
    let r = client.post(format!("{base}/signup")).form(&form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    Console::login(&base, "pop@shop.test", PASSWORD).await;
    let (_, list) = op(&app, &token, Method::GET, "/workspaces", None).await;
    let new = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "Pop Shop")
        .cloned()
        .unwrap();
    assert_eq!(new["plan_id"], p["id"], "{new}");
    // On the starter plan: no reports.
    let mut c = Console::login(&base, "pop@shop.test", PASSWORD).await;
    let (s, _) = c.get("/app/reports").await;
    assert_eq!(s, StatusCode::PAYMENT_REQUIRED);
    // A bad form is answered on the page; past a few tries, 429.
    let bad = [("workspace", ""), ("email", "x@shop.test"), ("password", PASSWORD)];
    let r = client.post(format!("{base}/signup")).form(&bad).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let mut limited = false;
    for i in 0..5 {
        let f = [
            ("workspace", format!("Shop {i}")),
            ("email", format!("o{i}@shop.test")),
            ("password", PASSWORD.into()),
        ];
        let r = client.post(format!("{base}/signup")).form(&f).send().await.unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = true;
            break;
        }
    }
    assert!(limited, "sign-ups were never rate-limited");
}

async fn operator_and_export_from_the_command_line(db: Db) {
    let app = TestApp::spawn(db).await;
    let out = crate::cli::run(&app.db, &["operator", "create", "--email", "root@host.test"]);
    let password = out
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("a generated password");
    assert!(password.len() >= 10);
    let token = out
        .lines()
        .find_map(|l| l.strip_prefix("token: "))
        .expect("a token")
        .to_string();
    let (s, list) = op(&app, &token, Method::GET, "/workspaces", None).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let slug = slug_of(&list["items"][0]);
    app.ticket("Exported ticket", "x@shop.test").await;
    app.workspace("Not Exported").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ws.jsonl");
    crate::cli::run(
        &app.db,
        &["export-workspace", "--workspace", &slug, file.to_str().unwrap()],
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("Exported ticket"));
    assert!(!text.contains("Not Exported"));
    assert!(
        !text.contains("root@host.test"),
        "operators are not in a workspace's export"
    );
}
