//! The agent console in a real browser: an agent signs in, a visitor's
//! chat arrives in the inbox live, the agent opens it by keyboard, answers
//! with a canned answer (the visitor gets it), writes a note mentioning a
//! colleague (who is told), assigns and resolves it with the keyboard, and
//! switches the console to Persian, which lays out right to left.
//! Photographs the inbox and the ticket page in English and Persian.

use std::time::Duration;

use serde_json::{json, Value};

use super::webdriver::Driver;
use crate::console::{admin, agent, PASSWORD};
use crate::harness::{Db, TestApp};

crate::both_backends!(agent_console_in_a_real_browser);

const WAIT: Duration = Duration::from_secs(15);
const EXPLAIN: &str = "return { url: location.href, dir: document.documentElement.getAttribute('dir'), active: document.activeElement && (document.activeElement.id || document.activeElement.tagName),\n\
     live: document.getElementById('live') && document.getElementById('live').textContent, text: document.body ? document.body.innerText.slice(0, 1500) : null };";

async fn wait(b: &Driver, what: &str, script: &str, args: Vec<Value>) -> Value {
    b.wait_for(what, script, args, WAIT, EXPLAIN).await
}

/// Clicks after the script returns, so navigation starts outside the command.
async fn click(b: &Driver, selector: &str) {
    let ok = b.execute("var e = document.querySelector(arguments[0]); if (!e) return false; setTimeout(function () { e.click(); }, 0); return true;", vec![json!(selector)]).await;
    assert_eq!(ok, true, "{selector} to click");
}

/// Picks an option in a select the way a person does: focus, choose, and
/// the change event (which submits the form).
async fn choose(b: &Driver, selector: &str, value: &str) {
    let ok = b
        .execute(
            "var s = document.querySelector(arguments[0]); if (!s) return false; s.value = arguments[1];\n\
             setTimeout(function () { s.dispatchEvent(new Event('change', { bubbles: true })); }, 0); return s.value === arguments[1];",
            vec![json!(selector), json!(value)],
        )
        .await;
    assert_eq!(ok, true, "{value} in {selector}");
}

async fn shoot(b: &Driver, name: &str) {
    b.execute(
        "document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); return true;",
        vec![],
    )
    .await;
    let png = b.screenshot().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshots dir");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, &png).expect("write screenshot");
    std::fs::rename(&tmp, dir.join(name)).expect("rename screenshot");
}

async fn agent_console_in_a_real_browser(db: Db) {
    let app = TestApp::spawn(db).await;
    let slug = storedesk::domain::slugify("Acme Shop");
    let (bob, _) = agent(&app, "bob.stone@acme.test", "Bob Stone", false).await;
    let mut boss = admin(&app).await;
    boss.get("/app/admin/canned").await;
    boss.post(
        "/app/admin/canned",
        &[
            ("shortcut", "red"),
            (
                "body",
                "Hi {{contact.name}}! Yes, red is in stock in every size (ticket #{{ticket.number}}).",
            ),
        ],
    )
    .await;
    boss.post("/app/admin/labels", &[("name", "stock"), ("color", "#0ea5e9")])
        .await;
    let (s, _) = app
        .post(
            "/api/v1/users",
            json!({ "email": "ann@acme.test", "name": "Ann Agent", "password": PASSWORD }),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::CREATED);
    let mut ids = vec![];
    for (subject, email) in [
        ("Where is my parcel?", "p.kowalski@shop.test"),
        ("Refund for order 1042", "m.silva@shop.test"),
        ("Promo code does not work", "lee@shop.test"),
    ] {
        ids.push(app.ticket(subject, email).await["id"].clone());
    }
    app.patch(
        &format!("/api/v1/tickets/{}", ids[0]),
        json!({ "assignee_id": bob, "labels": ["delivery"] }),
    )
    .await;
    app.patch(
        &format!("/api/v1/tickets/{}", ids[1]),
        json!({ "priority": "urgent", "labels": ["refund", "vip"] }),
    )
    .await;

    let b = Driver::start().await;
    b.goto(&format!("{}/app", app.base)).await;
    wait(
        &b,
        "the sign-in form",
        "return location.pathname === '/login' && !!document.getElementById('password');",
        vec![],
    )
    .await;
    b.accessibility("sign-in").await;
    b.execute("document.getElementById('email').value = 'ann@acme.test'; document.getElementById('password').value = arguments[0]; return true;", vec![json!(PASSWORD)]).await;
    click(&b, "form button[type=submit]").await;
    wait(&b, "the inbox", "return !!document.getElementById('inbox-list') && document.querySelectorAll('#inbox-list a.open').length === 3;", vec![]).await;
    wait(
        &b,
        "the live stream",
        "return document.body.dataset.section === 'inbox';",
        vec![],
    )
    .await;
    // Give the page's socket a moment to register before the chat starts.
    tokio::time::sleep(Duration::from_millis(500)).await;

    // A visitor writes in the chat: the inbox shows it without a reload.
    b.execute("window.__marker = 1; return true;", vec![]).await;
    let (mut v, _) = app.visitor(&slug, None, 0).await;
    v.send(json!({ "type": "contact", "name": "Rosa", "email": "rosa@shop.test" }))
        .await;
    v.send(json!({ "type": "message", "client_id": "c1", "body": "Hi! Do you have the linen dress in red?" }))
        .await;
    wait(&b, "the chat in the inbox, live", "return window.__marker === 1 && document.querySelector('#inbox-list').innerText.indexOf('linen dress in red') >= 0;", vec![]).await;

    // Keyboard: j selects the first (newest) row, Enter opens it.
    b.keys("j").await;
    let first = wait(
        &b,
        "a selected row",
        "var r = document.querySelector('#inbox-list li.selected a.open'); return r && r.innerText;",
        vec![],
    )
    .await;
    assert!(first.as_str().unwrap().contains("linen dress"), "{first}");
    b.keys("jk").await;
    b.keys("\u{E007}").await;
    wait(&b, "the chat's ticket page", "return !!document.querySelector('.ticket') && document.getElementById('conversation').innerText.indexOf('linen dress in red') >= 0;", vec![]).await;
    let side = b
        .execute("return document.querySelector('.details').innerText;", vec![])
        .await;
    let side = side.as_str().unwrap();
    assert!(
        side.contains("TS-1") && side.contains("T-shirt"),
        "the sidebar shows the store's context and page: {side}"
    );
    // Times read in the agent's zone and language, recent ones as "ago".
    let times = b
        .execute("return Array.prototype.map.call(document.querySelectorAll('#conversation time'), function (t) { return t.textContent + '|' + t.title; }).join('\\n');", vec![])
        .await;
    let times = times.as_str().unwrap();
    assert!(
        !times.is_empty() && !times.contains("UTC") && (times.contains("ago") || times.contains("now")),
        "{times}"
    );
    wait(
        &b,
        "the visitor shown online",
        "var s = document.getElementById('visitor-status'); return s && s.classList.contains('on');",
        vec![],
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    v.send(json!({ "type": "typing", "on": true })).await;
    wait(
        &b,
        "the customer's typing indicator",
        "return document.getElementById('typing').textContent.length > 0;",
        vec![],
    )
    .await;

    // r, then a canned answer by its shortcut, sent with Ctrl+Enter.
    b.keys("r").await;
    wait(
        &b,
        "the reply box focused",
        "return document.activeElement && document.activeElement.id === 'body';",
        vec![],
    )
    .await;
    b.keys("/re").await;
    wait(
        &b,
        "the canned answers menu",
        "var m = document.getElementById('canned-menu'); return !m.hidden && m.innerText.indexOf('/red') >= 0;",
        vec![],
    )
    .await;
    b.keys("\u{E007}").await;
    let text = wait(
        &b,
        "the canned answer in the box",
        "var v = document.getElementById('body').value; return v.indexOf('red is in stock') >= 0 && v;",
        vec![],
    )
    .await;
    assert!(text.as_str().unwrap().starts_with("Hi "), "placeholders filled: {text}");
    assert!(!text.as_str().unwrap().contains("{{"), "{text}");
    b.keys("\u{E009}\u{E007}").await;
    wait(
        &b,
        "the reply in the conversation",
        "var c = document.getElementById('conversation'); return c && c.innerText.indexOf('red is in stock') >= 0;",
        vec![],
    )
    .await;
    loop {
        let got = v.until("message").await;
        if got["message"]["from"] == "agent" {
            assert!(
                got["message"]["body"].as_str().unwrap().contains("red is in stock"),
                "the visitor got the reply: {got}"
            );
            break;
        }
    }

    // n: an internal note that mentions Bob, who is told.
    b.keys("n").await;
    wait(&b, "the note mode", "return document.getElementById('composer').classList.contains('is-note') && document.activeElement.id === 'body';", vec![]).await;
    b.keys("@bob.stone could you check the red dress stock?").await;
    b.keys("\u{E009}\u{E007}").await;
    wait(&b, "the note in the conversation", "var n = document.querySelector('#conversation li.note'); return n && n.innerText.indexOf('red dress stock') >= 0;", vec![]).await;
    let mut bob_console = crate::console::Console::login(&app.base, "bob.stone@acme.test", PASSWORD).await;
    let (_, notes) = bob_console.get("/app/notifications").await;
    assert!(notes.contains("red dress stock"), "Bob was told of the mention");

    // a: assign to self; s: resolve. Both by keyboard focus, then a choice.
    b.keys("a").await;
    wait(
        &b,
        "the assignee control focused",
        "return document.activeElement.id === 'ctl-assignee';",
        vec![],
    )
    .await;
    let me = b.execute("return document.body.dataset.me;", vec![]).await;
    choose(&b, "#ctl-assignee", me.as_str().unwrap()).await;
    wait(&b, "the assignment event", "return document.getElementById('conversation') && document.getElementById('conversation').innerText.indexOf('Assigned to Ann Agent') >= 0;", vec![]).await;
    b.keys("?").await;
    wait(
        &b,
        "the shortcuts dialog",
        "return document.getElementById('help').open;",
        vec![],
    )
    .await;
    b.keys("\u{E00C}").await;
    shoot(&b, "console-ticket-en.png").await;
    b.accessibility("console-ticket-en").await;
    b.keys("s").await;
    wait(
        &b,
        "the status control focused",
        "return document.activeElement.id === 'ctl-status';",
        vec![],
    )
    .await;
    choose(&b, "#ctl-status", "resolved").await;
    wait(
        &b,
        "the resolved status",
        "var c = document.getElementById('status-chip'); return c && c.classList.contains('st-resolved');",
        vec![],
    )
    .await;
    let (_, list) = app.get("/api/v1/tickets?channel=chat&status=resolved").await;
    assert!(list["items"][0]["assignee_id"].as_i64().is_some(), "{list}");

    // The inbox with a mix of tickets, then the same in Persian.
    b.goto(&format!("{}/app?view=open", app.base)).await;
    wait(
        &b,
        "the inbox",
        "return !!document.getElementById('inbox-list');",
        vec![],
    )
    .await;
    b.keys("j").await;
    shoot(&b, "console-inbox-en.png").await;
    b.accessibility("console-inbox-en").await;
    b.goto(&format!("{}/app/settings", app.base)).await;
    b.accessibility("console-settings").await;
    choose(&b, "#lang", "fa").await;
    click(&b, "form[action='/app/settings/language'] button").await;
    wait(
        &b,
        "the console in Persian",
        "return document.documentElement.getAttribute('dir') === 'rtl' && document.documentElement.lang === 'fa';",
        vec![],
    )
    .await;
    b.goto(&format!("{}/app?view=open", app.base)).await;
    let layout = wait(
        &b,
        "a right-to-left inbox",
        "var list = document.querySelector('.list').getBoundingClientRect(), side = document.querySelector('.side').getBoundingClientRect();\n\
         return getComputedStyle(document.body).direction === 'rtl' && { side_right: side.right, list_right: list.right, views: document.querySelector('.views').innerText };",
        vec![],
    )
    .await;
    assert!(
        layout["side_right"].as_f64().unwrap() > layout["list_right"].as_f64().unwrap(),
        "the filters are on the right in Persian: {layout}"
    );
    assert!(
        !layout["views"].as_str().unwrap().contains("All open"),
        "the views are translated: {layout}"
    );
    b.keys("j").await;
    shoot(&b, "console-inbox-fa.png").await;
    b.accessibility("console-inbox-fa").await;
    let n = b
        .execute(
            "return document.querySelector('#inbox-list a.open').dataset.number;",
            vec![],
        )
        .await;
    b.goto(&format!("{}/app/t/{}", app.base, n.as_str().unwrap())).await;
    wait(
        &b,
        "the ticket page in Persian",
        "return !!document.querySelector('.ticket') && getComputedStyle(document.body).direction === 'rtl';",
        vec![],
    )
    .await;
    shoot(&b, "console-ticket-fa.png").await;
    b.accessibility("console-ticket-fa").await;

    b.quit().await;
}
