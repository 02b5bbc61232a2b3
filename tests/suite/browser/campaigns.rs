//! Proactive campaigns in a real browser, on the plain demo store page: a
//! time-on-page message comes after its time and not before, and not again
//! after a reload (the cap); opening it and answering opens a chat tagged
//! with the campaign; a goal event counts a conversion; exit intent and a
//! store event (`checkout_error`) bring their own campaigns; a signed
//! identify is taken and one with a bad signature refused.

use std::time::Duration;

use serde_json::{json, Value};

use super::{store_site, Driver, WAIT};
use crate::harness::{Db, TestApp};

crate::both_backends!(campaigns_in_a_real_browser);

async fn campaign(app: &TestApp, name: &str, url: &str, trigger: Value, text: &str) -> i64 {
    let (s, c) = app
        .post(
            "/api/v1/campaigns",
            json!({
                "name": name, "active": true, "audience": { "url": url }, "trigger": trigger,
                "variants": [{ "name": "A", "message": { "en": text } }],
                "goal_event": "order_completed", "cap_days": 7
            }),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::CREATED, "{c}");
    c["id"].as_i64().unwrap()
}

/// Polls the API until `check` holds for what `path` answers.
async fn api_until(app: &TestApp, what: &str, path: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let (_, v) = app.get(path).await;
        if check(&v) {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "{what}: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const NUDGE: &str = "var n = q('[data-sd=campaign]'); return n ? n.textContent : null;";

async fn campaigns_in_a_real_browser(db: Db) {
    let app = TestApp::spawn(db).await;
    let slug = storedesk::domain::slugify("Acme Shop");
    let site = store_site(&app.base, &slug).await;
    let timer = campaign(
        &app,
        "Timer",
        "*/timer*",
        json!({ "type": "time_on_page", "seconds": 2 }),
        "Free delivery from $50 today!",
    )
    .await;
    campaign(
        &app,
        "Leaving",
        "*/exit*",
        json!({ "type": "exit_intent" }),
        "Wait, 10% off?",
    )
    .await;
    campaign(
        &app,
        "Rescue",
        "*/checkout*",
        json!({ "type": "event", "name": "checkout_error" }),
        "Trouble paying? We can help.",
    )
    .await;
    let b = Driver::start().await;

    // Time on page: absent at first, present after the time.
    b.goto(&format!("{}/timer?lang=en", site.base)).await;
    let early = b
        .wait(
            "the launcher",
            "return q('[data-sd=launcher]') ? { nudge: !!q('[data-sd=campaign]'), at: performance.now() } : null;",
            vec![],
        )
        .await;
    // Only a look taken well inside the 2 s says anything about "before".
    if early["at"].as_f64().unwrap() < 1500.0 {
        assert_eq!(early["nudge"], false, "shown before its time: {early}");
    }
    let text = b.wait("the time-on-page message", NUDGE, vec![]).await;
    assert!(text.as_str().unwrap().contains("Free delivery"), "{text}");
    api_until(
        &app,
        "shown counted",
        &format!("/api/v1/campaigns/{timer}/results"),
        |r| r["variants"][0]["shown"] == 1,
    )
    .await;

    // The cap holds across a reload: well past the time, nothing shows.
    b.goto(&format!("{}/timer?lang=en", site.base)).await;
    b.wait(
        "3 s on the reloaded page",
        "return !!q('[data-sd=launcher]') && performance.now() > 3500;",
        vec![],
    )
    .await;
    assert_eq!(b.run(NUDGE, vec![]).await, Value::Null, "shown again despite the cap");

    // Exit intent: the pointer leaves through the top of the window.
    b.goto(&format!("{}/exit?lang=en", site.base)).await;
    let text = b
        .wait(
            "the exit-intent message",
            "document.dispatchEvent(new MouseEvent('mouseout', { clientY: -1, relatedTarget: null, bubbles: true }));\n\
             var n = q('[data-sd=campaign]'); return n ? n.textContent : null;",
            vec![],
        )
        .await;
    assert!(text.as_str().unwrap().contains("10% off"), "{text}");

    // A store event: a failed checkout.
    b.goto(&format!("{}/checkout?lang=en", site.base)).await;
    b.wait("the launcher", "return !!q('[data-sd=launcher]');", vec![])
        .await;
    b.run(
        "storedesk('event', 'checkout_error', { code: 'card_declined' }); return true;",
        vec![],
    )
    .await;
    let text = b.wait("the checkout-error message", NUDGE, vec![]).await;
    assert!(text.as_str().unwrap().contains("Trouble paying"), "{text}");

    // Opening it shows the message in the panel; the answer opens a chat
    // tagged with the campaign.
    b.run("q('[data-sd=campaign] .nudge-text').click(); return true;", vec![])
        .await;
    b.wait(
        "the open panel with the campaign's message",
        "var p = q('[data-sd=panel]'); return !p.hidden && !!q('[data-sd=campaign-message]');",
        vec![],
    )
    .await;
    b.send_message("My card was declined twice", "Ann", "ann@shop.test")
        .await;
    let tickets = api_until(
        &app,
        "a chat tagged campaign:Rescue",
        "/api/v1/tickets?channel=chat",
        |l| {
            l["items"].as_array().is_some_and(|i| {
                i.iter().any(|t| {
                    t["labels"]
                        .as_array()
                        .is_some_and(|l| l.contains(&json!("campaign:Rescue")))
                })
            })
        },
    )
    .await;
    assert_eq!(tickets["items"].as_array().unwrap().len(), 1, "{tickets}");

    // The order completes: one conversion for each campaign shown to this
    // visitor within its window.
    b.run(
        "storedesk('event', 'order_completed', { value: 24, currency: 'USD' }); return true;",
        vec![],
    )
    .await;
    api_until(
        &app,
        "the conversion",
        &format!("/api/v1/campaigns/{timer}/results"),
        |r| r["variants"][0]["converted"] == 1,
    )
    .await;

    // The store vouches for its customer: a wrong user_hash is refused
    // (the widget says so in the console) and changes nothing; the right
    // one makes this visitor the store's customer.
    let (_, k) = app.post("/api/v1/widget/identity", json!({})).await;
    let key = k["secret"].as_str().unwrap();
    b.run(
        "window.__warned = []; var w = console.warn; console.warn = function (m) { __warned.push(String(m)); w.apply(console, arguments); };\n\
         storedesk('identify', { id: 'c-7', email: 'vip@shop.test', name: 'Vera', user_hash: 'bad' }); return true;",
        vec![],
    )
    .await;
    b.wait(
        "the widget's word that identify was refused",
        "return window.__warned.some(function (m) { return m.indexOf('identify') >= 0; }) || null;",
        vec![],
    )
    .await;
    let (_, none) = app.get("/api/v1/contacts?q=vip@shop.test").await;
    assert_eq!(
        none["items"].as_array().unwrap().len(),
        0,
        "a bad signature identified: {none}"
    );
    let good = storedesk::domain::identity::user_hash(key, "c-7", "vip@shop.test");
    b.run(
        "storedesk('identify', { id: 'c-7', email: 'vip@shop.test', name: 'Vera', user_hash: arguments[0] }); return true;",
        vec![json!(good)],
    )
    .await;
    api_until(
        &app,
        "the identified customer",
        "/api/v1/contacts?q=vip@shop.test",
        |l| l["items"].as_array().is_some_and(|i| i.len() == 1),
    )
    .await;
    b.quit().await;
}
