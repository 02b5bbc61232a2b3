//! The chat widget in a real browser: headless Chromium, driven over
//! WebDriver, opens the demo store page (served from another origin than
//! the app), chats with an agent who answers through the API, survives a
//! reload, and is photographed in English and in Persian (right to left).

mod campaign_console;
mod campaigns;
mod console;
mod contacts;
mod first_hour;
mod form;
mod kinds;
mod monitors;
mod reports;
mod rules;
mod sla;
mod surveys;
mod time;
mod webdriver;

use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{Db, Socket, TestApp};
use webdriver::Driver;

crate::both_backends!(widget_chat_in_a_real_browser, widget_resends_after_the_connection_drops);

const PAGE: &str = include_str!("../../../static/demo-store.html");
const WAIT: Duration = Duration::from_secs(15);

/// The store: any path answers with the demo page, `?lang=xx` picks `<html lang>`.
struct StoreSite {
    base: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StoreSite {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn store_site(app_base: &str, slug: &str) -> StoreSite {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let page = PAGE.replace("{{HOST}}", app_base).replace("{{SLUG}}", slug);
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let page = page.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 2048];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf);
                let target = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                let (status, ctype, body) = if target.starts_with("/favicon") {
                    ("404 Not Found", "text/plain", "not found".to_string())
                } else {
                    let lang = target
                        .split_once("lang=")
                        .map(|(_, l)| l.chars().take_while(|c| c.is_ascii_alphabetic()).collect::<String>())
                        .unwrap_or_else(|| "en".into());
                    ("200 OK", "text/html; charset=utf-8", page.replace("{{LANG}}", &lang))
                };
                let res = format!("HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}", body.len());
                let _ = sock.write_all(res.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    StoreSite { base, task }
}

/// Prefix for scripts: `q`/`qa` query inside the widget's shadow root.
fn js(body: &str) -> String {
    format!(
        "var host = document.getElementById('storedesk-widget'); var root = host && host.shadowRoot;\n\
         var q = function (s) {{ return root ? root.querySelector(s) : null; }};\n\
         var qa = function (s) {{ return root ? Array.prototype.slice.call(root.querySelectorAll(s)) : []; }};\n{body}"
    )
}

/// What the widget shows, for failure messages.
fn explain() -> String {
    js("if (!root) return 'no shadow root; widget host: ' + !!host;\n\
        return { panel_hidden: q('[data-sd=panel]') && q('[data-sd=panel]').hidden, status: q('[data-sd=status]') && q('[data-sd=status]').textContent,\n\
                 messages: qa('[data-sd=message]').map(function (m) { return [m.getAttribute('data-from'), m.getAttribute('data-id'), m.className, m.textContent]; }),\n\
                 notice: q('.notice') && !q('.notice').hidden, error: q('[data-sd=error]') && q('[data-sd=error]').textContent,\n\
                 storage: Object.keys(localStorage).map(function (k) { return k + '=' + localStorage.getItem(k).slice(0, 200); }) };")
}

impl Driver {
    async fn wait(&self, what: &str, script: &str, args: Vec<Value>) -> Value {
        self.wait_for(what, &js(script), args, WAIT, &explain()).await
    }

    async fn run(&self, script: &str, args: Vec<Value>) -> Value {
        self.execute(&js(script), args).await
    }

    /// Loads the store page and opens the chat panel.
    async fn open_store(&self, url: &str) {
        self.goto(url).await;
        self.wait(
            "the launcher in the shadow root",
            "return !!q('[data-sd=launcher]');",
            vec![],
        )
        .await;
        self.run(
            "var p = q('[data-sd=panel]'); if (p.hidden) q('[data-sd=launcher]').click(); return true;",
            vec![],
        )
        .await;
        self.wait(
            "the open panel",
            "var p = q('[data-sd=panel]'); return !p.hidden && p.getBoundingClientRect().height > 100;",
            vec![],
        )
        .await;
        self.accessibility("the store page with the chat open").await;
    }

    /// Fills the pre-chat fields the widget asks for, types `text` and presses Enter.
    async fn send_message(&self, text: &str, name: &str, email: &str) {
        self.run(
            "var n = q('[data-sd=prechat-name]'), e = q('[data-sd=prechat-email]');\n\
             if (n && !n.hidden) n.value = arguments[1];\n\
             if (e && !e.hidden) e.value = arguments[2];\n\
             var i = q('[data-sd=input]'); i.focus(); i.value = arguments[0];\n\
             i.dispatchEvent(new Event('input', { bubbles: true }));\n\
             i.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true }));\n\
             return true;",
            vec![json!(text), json!(name), json!(email)],
        )
        .await;
    }

    /// Waits for a message bubble with this sender and text that has its
    /// stored id; returns the id.
    async fn message_id(&self, from: &str, text: &str) -> i64 {
        let v = self
            .wait(
                &format!("the {from} message {text:?} with its id"),
                "var text = arguments[1];\n\
                 var m = qa('[data-sd=message][data-from=' + arguments[0] + ']').filter(function (m) { return m.querySelector('.bubble').textContent === text; });\n\
                 return m.length === 1 && m[0].getAttribute('data-id') ? m[0].getAttribute('data-id') : null;",
                vec![json!(from), json!(text)],
            )
            .await;
        v.as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("a numeric data-id, got {v}"))
    }

    async fn save_screenshot(&self, name: &str) {
        let png = self.screenshot().await;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
        std::fs::create_dir_all(&dir).expect("screenshots dir");
        // Both backends' runs write the same files: write aside, then rename.
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        std::fs::write(&tmp, &png).expect("write screenshot");
        std::fs::rename(&tmp, dir.join(name)).expect("rename screenshot");
    }
}

/// The chat ticket whose subject is `text`, through the API.
async fn chat_ticket(app: &TestApp, text: &str) -> Value {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let (s, list) = app.get("/api/v1/tickets?channel=chat").await;
        assert_eq!(s, reqwest::StatusCode::OK, "{list}");
        if let Some(t) = list["items"].as_array().unwrap().iter().find(|t| t["subject"] == text) {
            return t.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no chat ticket {text:?} in {list}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A conversation in the widget, answered by the agent; returns (ticket id,
/// visitor message id, reply id).
async fn converse(
    app: &TestApp,
    agent: &mut Socket,
    b: &Driver,
    question: &str,
    answer: &str,
    name: &str,
    email: &str,
) -> (i64, i64, i64) {
    b.send_message(question, name, email).await;
    let asked = b.message_id("visitor", question).await;

    // The API sees the chat as a ticket with the question as its first message.
    let ticket = chat_ticket(app, question).await;
    let tid = ticket["id"].as_i64().unwrap();
    assert_eq!(ticket["channel"], "chat");
    assert_eq!(
        ticket["contact"]["email"], email,
        "the pre-chat e-mail reached the contact: {ticket}"
    );
    let (_, msgs) = app.get(&format!("/api/v1/tickets/{tid}/messages")).await;
    assert_eq!(msgs["items"][0]["body"], question, "{msgs}");
    assert_eq!(msgs["items"][0]["id"], asked);

    // The agent types, reads, then answers through the REST API.
    agent
        .send(json!({ "type": "typing", "ticket_id": tid, "on": true }))
        .await;
    b.wait(
        "the agent typing indicator",
        "var t = q('[data-sd=typing]'); return t && !t.hidden;",
        vec![],
    )
    .await;
    agent
        .send(json!({ "type": "read", "ticket_id": tid, "up_to": asked }))
        .await;
    b.wait(
        "the Seen mark under the visitor's message",
        "var s = q('[data-sd=seen]'); return !!s && s.parentNode.getAttribute('data-id') === String(arguments[0]);",
        vec![json!(asked)],
    )
    .await;
    let (s, reply) = app
        .post(&format!("/api/v1/tickets/{tid}/messages"), json!({ "body": answer }))
        .await;
    assert_eq!(s, reqwest::StatusCode::CREATED, "{reply}");
    let replied = b.message_id("agent", answer).await;
    assert_eq!(replied, reply["id"].as_i64().unwrap());
    b.wait(
        "the typing indicator to go",
        "return q('[data-sd=typing]').hidden;",
        vec![],
    )
    .await;
    // The open panel tells the agent the reply was read.
    loop {
        let f = agent.until("visitor_read").await;
        if f["ticket_id"] == tid && f["up_to"] == replied {
            break;
        }
    }
    (tid, asked, replied)
}

async fn widget_chat_in_a_real_browser(db: Db) {
    let app = TestApp::spawn(db).await;
    let slug = storedesk::domain::slugify("Acme Shop");
    // An agent is connected, so the chat is online.
    let mut agent = app.agent_stream(&app.token).await;
    let site = store_site(&app.base, &slug).await;
    assert_ne!(site.base, app.base);
    let b = Driver::start().await;

    // English.
    let url = format!("{}/tshirt?lang=en", site.base);
    b.open_store(&url).await;
    let s = b.run("return { status: q('[data-sd=status]').textContent, online: q('[data-sd=status]').getAttribute('data-online'), dir: getComputedStyle(q('[data-sd=panel]')).direction, role: q('[data-sd=panel]').getAttribute('role'), live: q('[data-sd=messages]').getAttribute('aria-live'), launcher: q('[data-sd=launcher]').getAttribute('aria-label'), font: getComputedStyle(q('[data-sd=send]')).textTransform };", vec![]).await;
    assert_eq!(s["status"], "Online", "{s}");
    assert_eq!(s["online"], "true");
    assert_eq!(s["dir"], "ltr");
    assert_eq!(s["role"], "dialog");
    assert_eq!(s["live"], "polite");
    assert!(s["launcher"].as_str().is_some_and(|l| !l.is_empty()), "{s}");
    assert_eq!(
        s["font"], "none",
        "the store's `button {{ text-transform: uppercase }}` does not reach into the widget"
    );

    let question = "Is this T-shirt available in white?";
    let answer = "Yes! Size M in white is in stock.";
    let (tid, asked, replied) = converse(&app, &mut agent, &b, question, answer, "Ann", "ann@shop.test").await;

    // The page context reached the agent side.
    let (_, t) = app.get(&format!("/api/v1/tickets/{tid}")).await;
    let contact = t["contact"]["id"].as_i64().unwrap();
    let state = app
        .store
        .visitor_state(app.workspace_id, contact)
        .await
        .unwrap()
        .expect("visitor state");
    assert_eq!(state["context"]["product"]["sku"], "TSHIRT-BLK-M", "{state}");
    assert_eq!(state["page"]["title"], "Classic T-shirt — Acme Shop");

    // After a reload both messages are still there, once each.
    b.open_store(&url).await;
    b.wait(
        "both messages after a reload",
        "var ids = qa('[data-sd=message]').map(function (m) { return m.getAttribute('data-from') + ':' + m.getAttribute('data-id'); });\n\
         return ids.join(',') === 'visitor:' + arguments[0] + ',agent:' + arguments[1];",
        vec![json!(asked), json!(replied)],
    )
    .await;
    b.wait(
        "the online status",
        "return q('[data-sd=status]').getAttribute('data-online') === 'true';",
        vec![],
    )
    .await;
    b.run(
        "document.activeElement && document.activeElement.blur(); return true;",
        vec![],
    )
    .await;
    b.save_screenshot("widget-en.png").await;

    // Persian, a new visitor (fresh storage): right to left, launcher on the left.
    b.run("localStorage.clear(); return true;", vec![]).await;
    b.open_store(&format!("{}/tshirt?lang=fa", site.base)).await;
    let s = b.run("var p = q('[data-sd=panel]'); return { dir: getComputedStyle(p).direction, attr: p.getAttribute('dir'), lang: p.getAttribute('lang'), status: q('[data-sd=status]').textContent, left: q('[data-sd=launcher]').getBoundingClientRect().left, placeholder: q('[data-sd=input]').placeholder, messages: qa('[data-sd=message]').length };", vec![]).await;
    assert_eq!(s["dir"], "rtl", "{s}");
    assert_eq!(s["attr"], "rtl");
    assert_eq!(s["lang"], "fa");
    assert_eq!(s["status"], "آنلاین");
    assert!(
        s["left"].as_f64().unwrap() < 640.0,
        "the launcher is bottom-left in rtl: {s}"
    );
    assert_eq!(s["messages"], 0, "a new visitor sees no one else's chat: {s}");
    converse(
        &app,
        &mut agent,
        &b,
        "سلام، این تی‌شرت رنگ سفید هم دارد؟",
        "بله، سایز M سفید موجود است.",
        "سارا",
        "sara@shop.test",
    )
    .await;
    b.run(
        "document.activeElement && document.activeElement.blur(); return true;",
        vec![],
    )
    .await;
    b.save_screenshot("widget-fa.png").await;

    b.quit().await;
    drop(site);
}

/// A TCP proxy in front of the app whose connections can be cut (and new
/// ones refused) to see the widget lose its socket and come back.
struct Proxy {
    base: String,
    up: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(target: &str) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let target = target.trim_start_matches("http://").to_string();
        let (up, rx) = tokio::sync::watch::channel(true);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                let mut rx = rx.clone();
                if !*rx.borrow_and_update() {
                    continue; // refused: dropped at once
                }
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = rx.changed() => {}
                    }
                });
            }
        });
        Proxy { base, up, task }
    }

    fn set(&self, up: bool) {
        self.up.send_replace(up);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn widget_resends_after_the_connection_drops(db: Db) {
    let app = TestApp::spawn(db).await;
    let slug = storedesk::domain::slugify("Acme Shop");
    let agent = app.agent_stream(&app.token).await;
    let proxy = Proxy::start(&app.base).await;
    let site = store_site(&proxy.base, &slug).await;
    let b = Driver::start().await;
    b.open_store(&format!("{}/tshirt?lang=en", site.base)).await;
    b.send_message("Do you ship to Norway?", "Ole", "ole@shop.test").await;
    let first = b.message_id("visitor", "Do you ship to Norway?").await;
    let tid = chat_ticket(&app, "Do you ship to Norway?").await["id"]
        .as_i64()
        .unwrap();

    // The network goes away: the widget says so and keeps what is typed.
    proxy.set(false);
    b.wait(
        "the reconnecting notice",
        "var n = q('.notice'); return n && !n.hidden;",
        vec![],
    )
    .await;
    b.send_message("And to Iceland?", "", "").await;
    let pending = b
        .wait(
            "the unsent message kept in localStorage",
            "var m = qa('[data-sd=message].pending'); var o = JSON.parse(localStorage.getItem('storedesk:' + arguments[0] + ':outbox') || '[]');\n\
             return m.length === 1 && !m[0].getAttribute('data-id') && o.length === 1 ? o[0].body : null;",
            vec![json!(slug)],
        )
        .await;
    assert_eq!(pending, "And to Iceland?");
    // Meanwhile the agent answers.
    let (s, reply) = app
        .post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({ "body": "Yes, we ship to Norway." }),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::CREATED, "{reply}");

    // Back online: the widget reconnects by itself, resumes (the reply
    // arrives) and resends the kept message, which is stored once.
    proxy.set(true);
    let replied = b.message_id("agent", "Yes, we ship to Norway.").await;
    let second = b.message_id("visitor", "And to Iceland?").await;
    assert_eq!(replied, reply["id"].as_i64().unwrap());
    assert!(first < replied && replied < second, "{first} {replied} {second}");
    b.wait("the notice to go", "return q('.notice').hidden;", vec![]).await;
    b.wait(
        "messages in id order, each once, and an empty outbox",
        "var ids = qa('[data-sd=message]').map(function (m) { return m.getAttribute('data-id'); });\n\
         return ids.join(',') === arguments[0] && !localStorage.getItem('storedesk:' + arguments[1] + ':outbox');",
        vec![json!(format!("{first},{replied},{second}")), json!(slug)],
    )
    .await;
    let (_, msgs) = app.get(&format!("/api/v1/tickets/{tid}/messages")).await;
    let bodies: Vec<&str> = msgs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "reply")
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        ["Do you ship to Norway?", "Yes, we ship to Norway.", "And to Iceland?"]
    );
    b.quit().await;
    drop(agent);
}

crate::both_backends!(widget_request_and_call_back_forms);

/// The written request and the call-back request, from inside the widget
/// on the store's page (another origin), filed as tickets.
async fn widget_request_and_call_back_forms(db: Db) {
    let app = TestApp::spawn(db).await;
    let slug = storedesk::domain::slugify("Acme Shop");
    let site = store_site(&app.base, &slug).await;
    let b = Driver::start().await;
    b.open_store(&format!("{}/tshirt?lang=en", site.base)).await;
    // The form's time stamp refuses anything sent within 3 s of loading.
    tokio::time::sleep(Duration::from_millis(3_200)).await;
    // The request form takes the composer's place: one set of fields on screen.
    let shown = b
        .run(
            "q('[data-sd=request-open]').click();\n\
             var vis = function (e) { return !!e && e.getClientRects().length > 0; };\n\
             return { composer: vis(q('[data-sd=input]')), form: vis(q('[data-sd=request-email]')), file: vis(q('[data-sd=request-files]')) };",
            vec![],
        )
        .await;
    assert_eq!(
        shown,
        json!({ "composer": false, "form": true, "file": true }),
        "{shown}"
    );
    b.accessibility("the widget's request form").await;
    b.run(
        "var set = function (n, v) { var e = q('[data-sd=request-' + n + ']'); e.value = v; };\n\
         set('name', 'Ann'); set('email', 'ann@shop.test'); set('subject', 'Colour change'); set('message', 'White instead of black, please.'); set('order', '1042');\n\
         q('[data-sd=request-send]').click(); return true;",
        vec![],
    )
    .await;
    let link = b
        .wait(
            "the request's number and link",
            "var a = q('[data-sd=request-link]'); return a ? a.href : null;",
            vec![],
        )
        .await;
    assert!(link.as_str().unwrap().contains(&format!("/p/{slug}/t/")), "{link}");
    let (_, list) = app.get("/api/v1/tickets?channel=form").await;
    assert_eq!(list["items"][0]["subject"], "Colour change");
    // Back to the chat: the composer returns.
    let back = b
        .run(
            "q('[data-sd=request-open]').click(); var e = q('[data-sd=input]'); return !!e && e.getClientRects().length > 0;",
            vec![],
        )
        .await;
    assert_eq!(back, json!(true));
    b.run(
        "q('[data-sd=callback-open]').click();\n\
         q('[data-sd=callback-phone]').value = '+380 44 555 66 77'; q('[data-sd=callback-when]').value = 'after 18:00';\n\
         q('[data-sd=callback-send]').click(); return true;",
        vec![],
    )
    .await;
    let done = b.wait("the call-back confirmation", "var m = q('[data-sd=callback-result]'); return m && m.textContent.indexOf('#') >= 0 ? m.textContent : null;", vec![]).await;
    assert!(done.as_str().unwrap().contains("#2"), "{done}");
    let (_, list) = app.get("/api/v1/tickets?channel=phone").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}
