//! Telegram: a bot connected by its token, customers' messages filed as
//! tickets (by long polling and by webhook), agents' replies sent back, and
//! Telegram's error answers honoured. Telegram is stood in for by a local
//! server that speaks the Bot API's HTTP protocol.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{Db, TestApp};

pub const TOKEN: &str = "123456:FAKE-token_abc";

/// What the fake Bot API was asked to do, and what it holds.
#[derive(Default)]
pub struct Fake {
    /// Updates waiting for getUpdates (kept until the offset passes them).
    pub updates: Vec<Value>,
    /// Successful calls: (method, parameters; a file part as its size and name).
    pub calls: Vec<(String, Value)>,
    /// Every send attempt, failed or not.
    pub attempts: usize,
    /// Errors the next send calls answer with, in order.
    pub fail_sends: VecDeque<Value>,
    /// Files by file_id: (file_path, bytes).
    pub files: HashMap<String, (String, Vec<u8>)>,
    /// Bytes of files agents sent.
    pub sent_files: Vec<(String, Vec<u8>)>,
    /// getUpdates calls open now, and the most ever open at once.
    pub polling: usize,
    pub most_polling: usize,
}

/// Counts an open getUpdates while it lives.
struct Polling(Shared);

impl Polling {
    fn start(f: &Shared) -> Self {
        let mut g = f.lock().unwrap();
        g.polling += 1;
        g.most_polling = g.most_polling.max(g.polling);
        Polling(f.clone())
    }
}

impl Drop for Polling {
    fn drop(&mut self) {
        self.0.lock().unwrap().polling -= 1;
    }
}

pub type Shared = Arc<Mutex<Fake>>;

fn ok(result: Value) -> Json<Value> {
    Json(json!({ "ok": true, "result": result }))
}

fn refused(code: i64, description: &str) -> Json<Value> {
    Json(json!({ "ok": false, "error_code": code, "description": description }))
}

async fn bot_api(
    State(f): State<Shared>,
    Path((bot, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> (axum::http::StatusCode, Json<Value>) {
    use axum::http::StatusCode as S;
    if bot != format!("bot{TOKEN}") {
        return (S::UNAUTHORIZED, refused(401, "Unauthorized"));
    }
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut params: Value = if ct.starts_with("application/json") {
        serde_json::from_slice(&body).unwrap_or(json!({}))
    } else {
        json!({})
    };
    if ct.starts_with("multipart/form-data") {
        let req = axum::http::Request::builder()
            .header("content-type", ct)
            .body(axum::body::Body::from(body))
            .unwrap();
        let mut mp = <Multipart as axum::extract::FromRequest<()>>::from_request(req, &())
            .await
            .unwrap();
        while let Some(field) = mp.next_field().await.unwrap() {
            let name = field.name().unwrap_or("").to_string();
            let file_name = field.file_name().map(str::to_string);
            let data = field.bytes().await.unwrap().to_vec();
            match file_name {
                Some(n) => {
                    params[&name] = json!({ "file_name": n, "size": data.len() });
                    f.lock().unwrap().sent_files.push((n, data));
                }
                None => params[&name] = json!(String::from_utf8_lossy(&data)),
            }
        }
    }
    match method.as_str() {
        "getMe" => (
            S::OK,
            ok(json!({ "id": 123456, "is_bot": true, "first_name": "Acme help", "username": "acme_help_bot" })),
        ),
        "getUpdates" => {
            let _open = Polling::start(&f);
            let offset = params["offset"].as_i64().unwrap_or(0);
            // A short long poll: answers when updates come, or after a moment.
            for _ in 0..10 {
                let list: Vec<Value> = f
                    .lock()
                    .unwrap()
                    .updates
                    .iter()
                    .filter(|u| u["update_id"].as_i64().unwrap() >= offset)
                    .cloned()
                    .collect();
                if !list.is_empty() {
                    return (S::OK, ok(json!(list)));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (S::OK, ok(json!([])))
        }
        "getFile" => {
            let id = params["file_id"].as_str().unwrap_or("");
            match f.lock().unwrap().files.get(id) {
                Some((path, data)) => (
                    S::OK,
                    ok(json!({ "file_id": id, "file_size": data.len(), "file_path": path })),
                ),
                None => (S::BAD_REQUEST, refused(400, "Bad Request: invalid file_id")),
            }
        }
        "sendMessage" | "sendPhoto" | "sendDocument" => {
            let mut g = f.lock().unwrap();
            g.attempts += 1;
            if let Some(e) = g.fail_sends.pop_front() {
                let code = e["error_code"].as_u64().unwrap_or(400) as u16;
                return (S::from_u16(code).unwrap(), Json(e));
            }
            g.calls.push((method.clone(), params.clone()));
            (S::OK, ok(json!({ "message_id": g.calls.len() })))
        }
        "setWebhook" | "deleteWebhook" => {
            f.lock().unwrap().calls.push((method.clone(), params));
            (S::OK, ok(json!(true)))
        }
        _ => (S::NOT_FOUND, refused(404, "Not Found")),
    }
}

async fn file(State(f): State<Shared>, Path((bot, path)): Path<(String, String)>) -> (axum::http::StatusCode, Vec<u8>) {
    if bot != format!("bot{TOKEN}") {
        return (axum::http::StatusCode::UNAUTHORIZED, vec![]);
    }
    let g = f.lock().unwrap();
    match g.files.values().find(|(p, _)| *p == path) {
        Some((_, data)) => (axum::http::StatusCode::OK, data.clone()),
        None => (axum::http::StatusCode::NOT_FOUND, vec![]),
    }
}

/// Starts the fake Bot API; returns its base URL and its state.
pub async fn fake_telegram() -> (String, Shared) {
    let f: Shared = Default::default();
    let app = Router::new()
        .route("/file/{bot}/{*path}", get(file))
        .route("/{bot}/{method}", post(bot_api))
        .route("/unused", get(|_: Query<Value>| async { "" }))
        .with_state(f.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    (base, f)
}

/// A server of `app`'s database whose Bot API is the fake one.
pub async fn with_fake(app: &TestApp, api: &str) -> String {
    let api = api.to_string();
    app.serve_variant(move |s| {
        let mut site = (*s.site).clone();
        site.telegram_api_url = api;
        s.site = Arc::new(site);
    })
    .await
}

pub async fn call(
    app: &TestApp,
    base: &str,
    m: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = app.client.request(m, format!("{base}{path}")).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let s = r.status();
    let t = r.text().await.unwrap();
    (s, serde_json::from_str(&t).unwrap_or(Value::Null))
}

pub fn text_update(id: i64, chat: i64, text: &str) -> Value {
    json!({ "update_id": id, "message": { "message_id": id, "date": 1, "text": text,
        "chat": { "id": chat, "type": "private", "first_name": "Ann" },
        "from": { "id": chat, "is_bot": false, "first_name": "Ann", "last_name": "Lee", "username": "ann_lee" } } })
}

/// Waits (bounded) until `f` gives a value.
pub async fn until<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..300 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("waited 15 s in vain for {what}");
}

async fn telegram_tickets(app: &TestApp) -> Vec<Value> {
    let (s, v) = app.get("/api/v1/tickets?limit=100").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["items"]
        .as_array()
        .or(v["tickets"].as_array())
        .unwrap()
        .iter()
        .filter(|t| t["channel"] == "telegram")
        .cloned()
        .collect()
}

async fn messages(app: &TestApp, ticket: i64) -> Vec<Value> {
    let (s, v) = app.get(&format!("/api/v1/tickets/{ticket}/messages")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["items"].as_array().or(v["messages"].as_array()).unwrap().clone()
}

fn sent(f: &Shared, method: &str) -> Vec<Value> {
    f.lock()
        .unwrap()
        .calls
        .iter()
        .filter(|(m, _)| m == method)
        .map(|(_, p)| p.clone())
        .collect()
}

async fn telegram_polling_files_messages_and_sends_replies(db: Db) {
    let (api, fake) = fake_telegram().await;
    let app = TestApp::spawn(db).await;
    let base = with_fake(&app, &api).await;
    let (s, v) = call(
        &app,
        &base,
        Method::POST,
        "/api/v1/channels/telegram",
        &app.token,
        Some(json!({ "bot_token": TOKEN, "mode": "polling" })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["telegram"]["bot_username"], "acme_help_bot");
    assert!(!v.to_string().contains("FAKE-token"), "{v}");

    fake.lock()
        .unwrap()
        .updates
        .push(text_update(100, 555, "Where is my order 42?"));
    let t = until("a Telegram ticket", || async {
        telegram_tickets(&app).await.into_iter().next()
    })
    .await;
    assert_eq!(t["contact"]["name"], "Ann Lee");
    let id = t["id"].as_i64().unwrap();
    // The same chat writes again: the same contact, the same open ticket.
    fake.lock()
        .unwrap()
        .updates
        .push(text_update(101, 555, "It was due Monday"));
    until("the second message", || async {
        (messages(&app, id).await.len() >= 2).then_some(())
    })
    .await;
    assert_eq!(telegram_tickets(&app).await.len(), 1);
    let ms = messages(&app, id).await;
    assert_eq!(ms[1]["body"], "It was due Monday");
    assert_eq!(ms[1]["author_type"], "contact");
    // Name and username are kept on the contact, for the sidebar.
    let attrs: String = sqlx_attrs(&app, t["contact"]["id"].as_i64().unwrap()).await;
    assert!(attrs.contains("ann_lee") && attrs.contains("555"), "{attrs}");

    // The offset is saved: a restart of the poll reads neither again.
    until("the offset saved", || async {
        let c = app.store.connections(app.workspace_id, "telegram").await.unwrap();
        (c[0].poll_offset == 102).then_some(())
    })
    .await;

    // A poller that died after filing and before saving its offset: the
    // updates are read again, and each update_id is still filed once.
    set_offset(&app, 100).await;
    until("the updates read again", || async {
        let c = app.store.connections(app.workspace_id, "telegram").await.unwrap();
        (c[0].poll_offset == 102).then_some(())
    })
    .await;
    assert_eq!(messages(&app, id).await.len(), 2);
    assert_eq!(telegram_tickets(&app).await.len(), 1);

    let (s, v) = app
        .post(
            &format!("/api/v1/tickets/{id}/messages"),
            json!({ "body": "It ships today.", "kind": "reply" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let m = until("the reply at Telegram", || async {
        sent(&fake, "sendMessage").into_iter().next()
    })
    .await;
    assert_eq!(m["chat_id"], "555");
    assert_eq!(m["text"], "It ships today.");
    // A note stays inside.
    app.post(
        &format!("/api/v1/tickets/{id}/messages"),
        json!({ "body": "internal", "kind": "note" }),
    )
    .await;
    app.consumed("messengers").await;

    let (s, v) = app.get("/api/v1/channels/telegram").await;
    assert_eq!(s, StatusCode::OK);
    assert!(!v.to_string().contains("FAKE-token"), "{v}");
    assert_eq!(v["telegram"]["mode"], "polling");
    until("the delivery marked sent", || async {
        let (_, v) = app.get("/api/v1/channels/telegram").await;
        (v["deliveries"][0]["status"] == "sent").then_some(())
    })
    .await;
    assert_eq!(sent(&fake, "sendMessage").len(), 1);
    // Two nodes serve this database (the test's and the one with the fake
    // API): the bot's lease lets one of them poll at a time.
    assert_eq!(fake.lock().unwrap().most_polling, 1);
}

async fn set_offset(app: &TestApp, offset: i64) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.db.url).await.unwrap();
    sqlx::query("UPDATE messenger_connections SET poll_offset = $1")
        .bind(offset)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

async fn sqlx_attrs(app: &TestApp, contact: i64) -> String {
    let c = app.store.contact_details(app.workspace_id, contact).await.unwrap();
    format!("{:?}", c.attributes)
}

async fn telegram_photos_go_both_ways(db: Db) {
    let (api, fake) = fake_telegram().await;
    let app = TestApp::spawn(db).await;
    let base = with_fake(&app, &api).await;
    let (s, v) = call(
        &app,
        &base,
        Method::POST,
        "/api/v1/channels/telegram",
        &app.token,
        Some(json!({ "bot_token": TOKEN, "mode": "polling" })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let jpeg = b"\xff\xd8\xff\xe0fake-jpeg-bytes".to_vec();
    fake.lock()
        .unwrap()
        .files
        .insert("big-photo".into(), ("photos/file_1.jpg".into(), jpeg.clone()));
    fake.lock()
        .unwrap()
        .updates
        .push(json!({ "update_id": 5, "message": { "message_id": 5,
        "chat": { "id": 777, "type": "private" }, "from": { "id": 777, "first_name": "Bo" },
        "caption": "the box arrived broken",
        "photo": [ { "file_id": "small-photo", "width": 90 }, { "file_id": "big-photo", "width": 800 } ] } }));
    let t = until("a ticket with the photo", || async {
        telegram_tickets(&app).await.into_iter().next()
    })
    .await;
    let id = t["id"].as_i64().unwrap();
    let first = until("its first message", || async {
        messages(&app, id).await.into_iter().next()
    })
    .await;
    assert_eq!(first["body"], "the box arrived broken");
    let mid = first["id"].as_i64().unwrap();
    let atts = until("the photo stored", || async {
        let a = app.store.attachments_of(&[mid]).await.unwrap();
        a.get(&mid).cloned()
    })
    .await;
    assert_eq!(atts.len(), 1);
    assert_eq!(atts[0].content_type, "image/jpeg");
    let (_, data) = app
        .store
        .attachment(app.workspace_id, atts[0].id, &atts[0].secret)
        .await
        .unwrap();
    assert_eq!(data, jpeg);
    // A document continues the ticket, with its own name and type.
    let pdf_in = b"%PDF-1.7 the invoice".to_vec();
    fake.lock()
        .unwrap()
        .files
        .insert("doc-1".into(), ("documents/file_2.pdf".into(), pdf_in.clone()));
    fake.lock()
        .unwrap()
        .updates
        .push(json!({ "update_id": 6, "message": { "message_id": 6,
        "chat": { "id": 777, "type": "private" }, "from": { "id": 777, "first_name": "Bo" },
        "document": { "file_id": "doc-1", "file_name": "invoice.pdf", "mime_type": "application/pdf" } } }));
    let second = until("the document's message", || async {
        messages(&app, id).await.into_iter().nth(1)
    })
    .await;
    let sid = second["id"].as_i64().unwrap();
    let doc = app.store.attachments_of(&[sid]).await.unwrap().remove(&sid).unwrap();
    assert_eq!(
        (doc[0].name.as_str(), doc[0].content_type.as_str()),
        ("invoice.pdf", "application/pdf")
    );
    let (_, data) = app
        .store
        .attachment(app.workspace_id, doc[0].id, &doc[0].secret)
        .await
        .unwrap();
    assert_eq!(data, pdf_in);
    assert_eq!(telegram_tickets(&app).await.len(), 1);

    // An agent answers with a picture and a PDF: sendPhoto and sendDocument.
    let actor = storedesk::domain::Actor {
        user_id: app.admin_id,
        workspace_id: app.workspace_id,
        role: storedesk::domain::Role::Admin,
        scope: storedesk::domain::TicketScope::All,
    };
    let png = b"\x89PNG\r\n\x1a\nfake".to_vec();
    let pdf = b"%PDF-1.4 fake".to_vec();
    app.svc
        .post_as_agent(
            &actor,
            storedesk::domain::ids::TicketId(id),
            storedesk::domain::ticket::PostKind::Reply,
            "Sorry! Here is the label.".into(),
            None,
            vec![
                ("box.png".into(), "image/png".into(), png.clone()),
                ("label.pdf".into(), "application/pdf".into(), pdf.clone()),
            ],
        )
        .await
        .unwrap();
    until("the document sent", || async {
        sent(&fake, "sendDocument").into_iter().next()
    })
    .await;
    let photo = sent(&fake, "sendPhoto");
    assert_eq!(photo.len(), 1);
    assert_eq!(photo[0]["chat_id"], "777");
    assert_eq!(sent(&fake, "sendMessage")[0]["text"], "Sorry! Here is the label.");
    let files = fake.lock().unwrap().sent_files.clone();
    assert_eq!(
        files,
        vec![("box.png".to_string(), png), ("label.pdf".to_string(), pdf)]
    );
}

async fn telegram_webhook_checks_the_secret_and_files_once(db: Db) {
    let (api, fake) = fake_telegram().await;
    let app = TestApp::spawn(db).await;
    let base = with_fake(&app, &api).await;
    let (s, v) = call(
        &app,
        &base,
        Method::POST,
        "/api/v1/channels/telegram",
        &app.token,
        Some(json!({ "bot_token": TOKEN, "mode": "webhook" })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let cid = v["telegram"]["id"].as_i64().unwrap();
    let hook = sent(&fake, "setWebhook");
    assert_eq!(hook.len(), 1);
    assert_eq!(hook[0]["url"], format!("{}/hooks/telegram/{cid}", app.base));
    let secret = hook[0]["secret_token"].as_str().unwrap().to_string();
    assert!(secret.len() >= 32);

    let url = format!("{}/hooks/telegram/{cid}", app.base);
    let update = text_update(9000, 31337, "Hi from a webhook");
    let r = app.client.post(&url).json(&update).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .client
        .post(&url)
        .header("X-Telegram-Bot-Api-Secret-Token", "wrong")
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(telegram_tickets(&app).await.is_empty());
    for _ in 0..2 {
        // Telegram may post an update again: it is filed once.
        let r = app
            .client
            .post(&url)
            .header("X-Telegram-Bot-Api-Secret-Token", &secret)
            .json(&update)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let ts = telegram_tickets(&app).await;
    assert_eq!(ts.len(), 1);
    assert_eq!(messages(&app, ts[0]["id"].as_i64().unwrap()).await.len(), 1);
    // Too large a body is refused before it is read.
    let big = "x".repeat(300 * 1024);
    let r = app
        .client
        .post(&url)
        .header("X-Telegram-Bot-Api-Secret-Token", &secret)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let (s, _) = call(
        &app,
        &base,
        Method::DELETE,
        "/api/v1/channels/telegram",
        &app.token,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(sent(&fake, "deleteWebhook").len(), 1);
    let (_, v) = app.get("/api/v1/channels/telegram").await;
    assert!(v["telegram"].is_null(), "{v}");
    let r = app
        .client
        .post(&url)
        .header("X-Telegram-Bot-Api-Secret-Token", &secret)
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

async fn telegram_honours_retry_after_and_blocked_bots(db: Db) {
    let (api, fake) = fake_telegram().await;
    let app = TestApp::spawn(db).await;
    let base = with_fake(&app, &api).await;
    call(
        &app,
        &base,
        Method::POST,
        "/api/v1/channels/telegram",
        &app.token,
        Some(json!({ "bot_token": TOKEN, "mode": "polling" })),
    )
    .await;
    fake.lock().unwrap().updates.push(text_update(1, 42, "hello"));
    let t = until("a ticket", || async { telegram_tickets(&app).await.into_iter().next() }).await;
    let id = t["id"].as_i64().unwrap();

    fake.lock()
        .unwrap()
        .fail_sends
        .push_back(json!({ "ok": false, "error_code": 429,
        "description": "Too Many Requests: retry after 1", "parameters": { "retry_after": 1 } }));
    app.post(
        &format!("/api/v1/tickets/{id}/messages"),
        json!({ "body": "first answer", "kind": "reply" }),
    )
    .await;
    until("the reply after the wait", || async {
        sent(&fake, "sendMessage").into_iter().next()
    })
    .await;
    assert_eq!(fake.lock().unwrap().attempts, 2);
    until("the delivery sent", || async {
        let (_, v) = app.get("/api/v1/channels/telegram").await;
        (v["deliveries"][0]["status"] == "sent").then_some(())
    })
    .await;

    fake.lock()
        .unwrap()
        .fail_sends
        .push_back(json!({ "ok": false, "error_code": 403,
        "description": "Forbidden: bot was blocked by the user" }));
    app.post(
        &format!("/api/v1/tickets/{id}/messages"),
        json!({ "body": "second answer", "kind": "reply" }),
    )
    .await;
    let d = until("the delivery failed", || async {
        let (_, v) = app.get("/api/v1/channels/telegram").await;
        (v["deliveries"][0]["status"] == "failed").then(|| v["deliveries"][0].clone())
    })
    .await;
    assert!(d["last_error"].as_str().unwrap().contains("blocked"), "{d}");
    let line = until("a line on the ticket", || async {
        messages(&app, id)
            .await
            .into_iter()
            .find(|m| m["kind"] == "event" && m["body"].as_str().unwrap_or("").contains("blocked the bot"))
    })
    .await;
    assert_eq!(line["author_type"], "system");
    // Not tried again.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(fake.lock().unwrap().attempts, 3);
    assert_eq!(sent(&fake, "sendMessage").len(), 1);
}

async fn telegram_refuses_bad_tokens_and_other_workspaces(db: Db) {
    let (api, _fake) = fake_telegram().await;
    let app = TestApp::spawn(db).await;
    let base = with_fake(&app, &api).await;
    let (s, v) = call(
        &app,
        &base,
        Method::POST,
        "/api/v1/channels/telegram",
        &app.token,
        Some(json!({ "bot_token": "999:WRONG", "mode": "polling" })),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("Telegram refused"),
        "{v}"
    );
    let (s, _) = call(
        &app,
        &base,
        Method::POST,
        "/api/v1/channels/telegram",
        &app.token,
        Some(json!({ "bot_token": "not a token", "mode": "polling" })),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = call(
        &app,
        &base,
        Method::POST,
        "/api/v1/channels/telegram",
        &app.token,
        Some(json!({ "bot_token": TOKEN, "mode": "carrier-pigeon" })),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, agent) = app.agent("agent@acme.test", false).await;
    let (s, _) = call(
        &app,
        &base,
        Method::POST,
        "/api/v1/channels/telegram",
        &agent,
        Some(json!({ "bot_token": TOKEN, "mode": "polling" })),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = call(
        &app,
        &base,
        Method::POST,
        "/api/v1/channels/telegram",
        &app.token,
        Some(json!({ "bot_token": TOKEN, "mode": "polling" })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, _) = call(
        &app,
        &base,
        Method::POST,
        "/api/v1/channels/telegram",
        &app.token,
        Some(json!({ "bot_token": TOKEN, "mode": "polling" })),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = app.call(Method::GET, "/api/v1/channels/telegram", &agent, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Another workspace sees no bot and cannot remove this one.
    let (_, _, other) = app.workspace("Other Shop").await;
    let (s, v) = app.call(Method::GET, "/api/v1/channels/telegram", &other, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["telegram"].is_null(), "{v}");
    let (s, _) = app
        .call(Method::DELETE, "/api/v1/channels/telegram", &other, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, v) = app.get("/api/v1/channels/telegram").await;
    assert_eq!(v["telegram"]["bot_username"], "acme_help_bot");
}

async fn telegram_console_page_connects_bots_and_gateways(db: Db) {
    use crate::console::{admin, agent, Console, PASSWORD};
    let (api, _fake) = fake_telegram().await;
    let app = TestApp::spawn(db).await;
    let base = with_fake(&app, &api).await;
    drop(admin(&app).await);
    let mut boss = Console::login(&base, "boss@acme.test", PASSWORD).await;
    let (s, html) = boss.get("/app/admin/messengers").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("bot_token"), "{html:.300}");
    let (s, loc) = boss
        .post(
            "/app/admin/messengers/telegram",
            &[("bot_token", TOKEN), ("mode", "polling")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{loc}");
    let (_, html) = boss.get("/app/admin/messengers").await;
    assert!(html.contains("acme_help_bot"));
    assert!(!html.contains("FAKE-token"));
    let (s, html) = boss
        .post(
            "/app/admin/messengers/gateways",
            &[("name", "Viber via Y"), ("outbound_url", "https://93.184.215.14/in")],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = app.get("/api/v1/channels/messenger").await;
    let id = v["connections"][0]["id"].as_i64().unwrap();
    let secret = app.store.connection_by_id(id).await.unwrap().unwrap().secret;
    assert!(html.contains(&secret), "the secret is shown once");
    let (_, html) = boss.get("/app/admin/messengers").await;
    assert!(html.contains("Viber via Y") && !html.contains(&secret));
    let (s, loc) = boss.post("/app/admin/messengers/telegram/delete", &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{loc}");
    let (_, v) = app.get("/api/v1/channels/telegram").await;
    assert!(v["telegram"].is_null());
    let (_, mut kim) = agent(&app, "kim@acme.test", "Kim", false).await;
    assert_eq!(kim.get("/app/admin/messengers").await.0, StatusCode::FORBIDDEN);
}

/// A blocked contact's Telegram messages are kept but reach no agent: in
/// the Spam view only, no frame on an agent's stream, nothing sent back.
async fn telegram_blocked_contact_reaches_no_agent(db: Db) {
    let (api, fake) = fake_telegram().await;
    let app = TestApp::spawn(db).await;
    let base = with_fake(&app, &api).await;
    let (s, v) = call(
        &app,
        &base,
        Method::POST,
        "/api/v1/channels/telegram",
        &app.token,
        Some(json!({ "bot_token": TOKEN, "mode": "polling" })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    fake.lock().unwrap().updates.push(text_update(200, 900, "Hello"));
    let first = until("the first ticket", || async {
        telegram_tickets(&app).await.into_iter().next()
    })
    .await;
    let (first_id, contact) = (first["id"].as_i64().unwrap(), first["contact"]["id"].as_i64().unwrap());
    let (s, v) = app
        .patch(&format!("/api/v1/tickets/{first_id}"), json!({ "status": "closed" }))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app.post(&format!("/api/v1/contacts/{contact}/block"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut agent = app.agent_stream(&app.token).await;

    fake.lock()
        .unwrap()
        .updates
        .push(text_update(201, 900, "Buy crypto now"));
    let spam = until("the spam ticket", || async {
        let (_, l) = app.get("/api/v1/tickets?spam=true").await;
        l["items"].as_array().unwrap().first().cloned()
    })
    .await;
    let spam_id = spam["id"].as_i64().unwrap();
    assert_eq!(spam["channel"], "telegram");
    assert_eq!(spam["contact"]["id"], contact);
    assert_eq!(messages(&app, spam_id).await[0]["body"], "Buy crypto now");
    assert!(
        telegram_tickets(&app).await.iter().all(|t| t["id"] != spam_id),
        "not in the inbox"
    );
    let (_, feed) = app.get("/api/v1/events?limit=500").await;
    let spam_events = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "message.spam")
        .count();
    assert_eq!(spam_events, 1);

    // The first frame about a ticket an agent gets is the next real one.
    let ok = app.ticket("Real question", "ann@shop.test").await;
    let ok_id = ok["id"].as_i64().unwrap();
    loop {
        let f = agent.next().await.expect("a frame");
        if let Some(tid) = f["ticket"]["id"].as_i64().or(f["ticket_id"].as_i64()) {
            assert_ne!(tid, spam_id, "a frame about spam reached an agent: {f}");
            if tid == ok_id {
                break;
            }
        }
    }
    // Nothing answered the blocked chat.
    app.consumed("rules").await;
    assert!(sent(&fake, "sendMessage").is_empty());
}

crate::both_backends!(
    telegram_blocked_contact_reaches_no_agent,
    telegram_console_page_connects_bots_and_gateways,
    telegram_polling_files_messages_and_sends_replies,
    telegram_photos_go_both_ways,
    telegram_webhook_checks_the_secret_and_files_once,
    telegram_honours_retry_after_and_blocked_bots,
    telegram_refuses_bad_tokens_and_other_workspaces,
);
