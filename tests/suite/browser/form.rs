//! The public ticket form in a real browser: headless Chromium fills
//! `/p/{slug}/new`, waits out the bot check, submits, reads the ticket
//! number and the private link, finds the same link in the confirmation
//! mail at the relay, sees the agent's answer on the private page (with the
//! customer's `<script>` shown as text, never run), answers there, and the
//! agent gets it through the API. Photographed in English and in Persian.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::webdriver::Driver;
use crate::harness::{Db, Sink, TestApp};

crate::both_backends!(public_ticket_form_in_a_real_browser);

const WAIT: Duration = Duration::from_secs(15);
/// The server refuses a form sent less than 3 s after it was rendered.
const HUMAN_DELAY: Duration = Duration::from_millis(3500);

/// What the page is, for failure messages.
const EXPLAIN: &str =
    "return { url: location.href, title: document.title, dir: document.documentElement.getAttribute('dir'),\n\
     text: document.body ? document.body.innerText.slice(0, 2000) : null };";

/// Polls `script` (a function body) until it returns something truthy.
async fn page_wait(b: &Driver, what: &str, script: &str, args: Vec<Value>) -> Value {
    b.wait_for(what, script, args, WAIT, EXPLAIN).await
}

/// Clicks the submit button after the script returns, so that the
/// navigation starts outside the WebDriver command.
async fn submit(b: &Driver, form: &str) {
    let ok = b
        .execute(
            "var f = document.querySelector(arguments[0]); if (!f) return false;\n\
             var btn = f.querySelector('button[type=submit]'); if (!btn) return false;\n\
             setTimeout(function () { btn.click(); }, 0); return true;",
            vec![json!(form)],
        )
        .await;
    assert_eq!(ok, true, "a {form} with a submit button");
}

/// The ticket with this subject among the form tickets, through the API.
async fn form_ticket(app: &TestApp, subject: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let (s, list) = app.get("/api/v1/tickets?channel=form").await;
        assert_eq!(s, StatusCode::OK, "{list}");
        if let Some(t) = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["subject"] == subject)
        {
            return t.clone();
        }
        assert!(Instant::now() < deadline, "no form ticket {subject:?} in {list}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The customer's messages of a ticket, through the API.
async fn customer_bodies(app: &TestApp, tid: i64) -> Vec<String> {
    let (s, msgs) = app.get(&format!("/api/v1/tickets/{tid}/messages")).await;
    assert_eq!(s, StatusCode::OK, "{msgs}");
    msgs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["author_type"] == "contact")
        .map(|m| m["body"].as_str().unwrap_or("").to_string())
        .collect()
}

async fn public_ticket_form_in_a_real_browser(db: Db) {
    let app = TestApp::spawn(db).await;
    let slug = storedesk::domain::slugify("Acme Shop");
    assert_eq!(slug, "acme-shop");
    let (sink, relay) = Sink::start().await;
    app.mail(Some(relay)).await;
    let b = Driver::start().await;
    let (st, art) = app.post("/api/v1/kb/articles", json!({ "title": "Paid, but the order is not shown", "body": "If the money was taken but no order appeared, send us the payment number.", "language": "en", "status": "published" })).await;
    assert_eq!(st, reqwest::StatusCode::CREATED, "{art}");

    // The form, in English.
    b.goto(&format!("{}/p/{slug}/new?lang=en", app.base)).await;
    let rendered = Instant::now();
    let shape = page_wait(
        &b,
        "the ticket form",
        "var f = document.querySelector('form[method=post]'); if (!f) return null;\n\
         var el = function (n) { return f.querySelector('[name=' + n + ']'); };\n\
         var w = el('website'), r = w ? w.getBoundingClientRect() : null, cs = w ? getComputedStyle(w) : null;\n\
         var hidden = !!w && (w.offsetParent === null || r.width <= 1 || r.height <= 1 || r.right <= 0 || r.bottom <= 0\n\
             || r.left >= innerWidth || r.top >= document.documentElement.scrollHeight || cs.visibility === 'hidden' || cs.opacity === '0');\n\
         return { enctype: f.getAttribute('enctype'), name: !!el('name'), email: !!el('email'), subject: !!el('subject'),\n\
                  message: el('message') ? el('message').tagName : null, order: !!el('order'), topic: el('topic') ? el('topic').tagName : null,\n\
                  website: !!w, website_value: w ? w.value : null, website_hidden: hidden,\n\
                  started: el('started') ? el('started').type : null, started_value: el('started') ? el('started').value : null,\n\
                  files: el('files') ? el('files').type : null, submit: !!f.querySelector('button[type=submit]'),\n\
                  dir: document.documentElement.getAttribute('dir') || 'ltr' };",
        vec![],
    )
    .await;
    b.accessibility("the ticket form").await;
    assert_eq!(shape["enctype"], "multipart/form-data", "{shape}");
    for field in ["name", "email", "subject", "order", "website", "submit"] {
        assert_eq!(shape[field], true, "the form has {field}: {shape}");
    }
    assert_eq!(shape["message"], "TEXTAREA", "{shape}");
    // A select of topics; with no topics configured it may be left out.
    assert!(shape["topic"].is_null() || shape["topic"] == "SELECT", "{shape}");
    assert_eq!(shape["website_value"], "", "the honeypot starts empty: {shape}");
    assert_eq!(shape["website_hidden"], true, "the honeypot is not visible: {shape}");
    assert_eq!(shape["started"], "hidden", "{shape}");
    assert!(
        shape["started_value"].as_str().is_some_and(|v| !v.is_empty()),
        "{shape}"
    );
    assert!(shape["files"].is_null() || shape["files"] == "file", "{shape}");
    assert_eq!(shape["dir"], "ltr", "{shape}");

    let subject = "Paid but no order";
    let message = "I paid for a white T-shirt yesterday but there is no order. <script>alert(1)</script>";
    let filled = b
        .execute(
            "var f = document.querySelector('form[method=post]');\n\
             var set = function (n, v) { var e = f.querySelector('[name=' + n + ']'); e.focus(); e.value = v;\n\
                 e.dispatchEvent(new Event('input', { bubbles: true })); e.dispatchEvent(new Event('change', { bubbles: true })); };\n\
             set('name', arguments[0]); set('email', arguments[1]); set('subject', arguments[2]); set('message', arguments[3]);\n\
             document.activeElement && document.activeElement.blur();\n\
             return { valid: f.checkValidity(), website: f.querySelector('[name=website]').value,\n\
                      invalid: Array.prototype.slice.call(f.querySelectorAll(':invalid')).map(function (e) { return e.name + ': ' + e.validationMessage; }) };",
            vec![json!("Ann Lee"), json!("ann@shop.test"), json!(subject), json!(message)],
        )
        .await;
    assert_eq!(filled["valid"], true, "the filled form is valid: {filled}");
    assert_eq!(filled["website"], "", "{filled}");
    // While the subject is typed, the help centre suggests an answer.
    let suggested = page_wait(
        &b,
        "an article suggestion",
        "var a = document.querySelector('#kb-suggest [data-sd=suggestion]'); return a ? a.textContent : null;",
        vec![],
    )
    .await;
    assert_eq!(suggested, art["title"], "{suggested}");
    b.save_screenshot("form-en.png").await;

    // A person takes a few seconds; then the form goes.
    tokio::time::sleep(HUMAN_DELAY.saturating_sub(rendered.elapsed())).await;
    submit(&b, "form[method=post]").await;
    let done = page_wait(
        &b,
        "the ticket number and the private link on the done page",
        "var n = document.querySelector('[data-sd=ticket-number]'), a = document.querySelector('a[data-sd=private-link]');\n\
         return n && a && a.getAttribute('href') ? { number: n.textContent.trim(), href: a.href, raw: a.getAttribute('href') } : null;",
        vec![],
    )
    .await;
    let number_text = done["number"].as_str().unwrap().to_string();
    let number: i64 = number_text
        .strip_prefix('#')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a ticket number like #1, got {number_text:?}: {done}"));
    let link = done["href"].as_str().unwrap().to_string();
    assert!(
        link.starts_with(&format!("{}/p/{slug}/t/", app.base)),
        "the private link {link} is on this app: {done}"
    );
    b.execute(
        "document.activeElement && document.activeElement.blur(); return true;",
        vec![],
    )
    .await;
    b.save_screenshot("form-done-en.png").await;

    // The confirmation mail reached the relay, with the same link.
    let got = sink.wait(1).await;
    let parsed = storedesk::channels::email::parse::parse(got[0].as_bytes())
        .unwrap_or_else(|| panic!("a parsable mail: {}", got[0]));
    assert!(
        parsed.to.iter().any(|t| t.contains("ann@shop.test")),
        "to the customer: {:?}\n{}",
        parsed.to,
        got[0]
    );
    let mailed: Vec<String> = parsed
        .text
        .split_whitespace()
        .filter(|w| w.contains(&format!("/p/{slug}/t/")))
        .map(|w| {
            w.trim_matches(|c: char| matches!(c, '<' | '>' | '(' | ')' | '[' | ']' | '"' | '\'' | ',' | ';'))
                .trim_end_matches('.')
                .to_string()
        })
        .collect();
    assert!(
        mailed.contains(&link),
        "the mail has the page's link {link}; links in it: {mailed:?}\n{}",
        parsed.text
    );

    // The agents' side: a form ticket with this number, contact and message.
    let ticket = form_ticket(&app, subject).await;
    let tid = ticket["id"].as_i64().unwrap();
    assert_eq!(ticket["channel"], "form", "{ticket}");
    assert_eq!(ticket["number"], number, "the page's number is the ticket's: {ticket}");
    assert_eq!(ticket["contact"]["email"], "ann@shop.test", "{ticket}");
    assert_eq!(ticket["contact"]["name"], "Ann Lee", "{ticket}");
    let bodies = customer_bodies(&app, tid).await;
    assert!(
        bodies.first().is_some_and(|b| b.contains(message)),
        "the message, stored as typed: {bodies:?}"
    );

    // The agent answers through the API.
    let answer = "We found your payment: the order is #1042 and ships today.";
    let (s, reply) = app
        .post(&format!("/api/v1/tickets/{tid}/messages"), json!({ "body": answer }))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{reply}");

    // The private link shows both, the customer's markup as plain text.
    b.goto(&link).await;
    let seen = page_wait(
        &b,
        "the agent's answer on the private page",
        "var text = function (sel) { return Array.prototype.slice.call(document.querySelectorAll(sel)).map(function (e) { return e.textContent; }); };\n\
         var want = arguments[0], agent = text('li.agent'); if (!agent.some(function (t) { return t.indexOf(want) >= 0; })) return null;\n\
         return { agent: agent, customer: text('li.customer'), h1: document.querySelector('h1') && document.querySelector('h1').textContent,\n\
                  scripts: Array.prototype.slice.call(document.querySelectorAll('script')).map(function (s) { return s.outerHTML.slice(0, 200); }),\n\
                  textarea: !!document.querySelector('form[method=post] textarea#body[name=body]') };",
        vec![json!(answer)],
    )
    .await;
    b.accessibility("the private ticket page").await;
    assert!(
        seen["h1"]
            .as_str()
            .is_some_and(|h| h.contains(subject) && h.contains(&number_text)),
        "{seen}"
    );
    assert!(
        seen["customer"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().contains(message)),
        "the customer's message shows literally: {seen}"
    );
    assert!(
        seen["scripts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| !s.as_str().unwrap().contains("alert")),
        "no script from the message in the page: {seen}"
    );
    assert_eq!(
        seen["scripts"],
        json!([]),
        "the private page has no script at all: {seen}"
    );
    assert_eq!(seen["textarea"], true, "{seen}");

    // The customer answers on the page; the agent sees it through the API.
    let follow_up = "Thank you! Could you send the tracking number?";
    let typed = b
        .execute(
            "var t = document.querySelector('form[method=post] textarea#body'); t.focus(); t.value = arguments[0];\n\
             t.dispatchEvent(new Event('input', { bubbles: true })); return t.value;",
            vec![json!(follow_up)],
        )
        .await;
    assert_eq!(typed, follow_up);
    submit(&b, "form[method=post]").await;
    page_wait(
        &b,
        "the customer's answer on the private page",
        "var want = arguments[0];\n\
         return Array.prototype.slice.call(document.querySelectorAll('li.customer')).some(function (e) { return e.textContent.indexOf(want) >= 0; });",
        vec![json!(follow_up)],
    )
    .await;
    let deadline = Instant::now() + WAIT;
    loop {
        let bodies = customer_bodies(&app, tid).await;
        if bodies.iter().any(|b| b.trim() == follow_up) {
            assert_eq!(
                bodies.len(),
                2,
                "the first message and the answer, once each: {bodies:?}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "the agent never saw the answer: {bodies:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Persian: right to left.
    b.goto(&format!("{}/p/{slug}/new?lang=fa", app.base)).await;
    let fa = page_wait(
        &b,
        "the Persian form",
        "var f = document.querySelector('form[method=post]'); if (!f) return null;\n\
         return { dir: document.documentElement.getAttribute('dir'), computed: getComputedStyle(document.body).direction,\n\
                  lang: document.documentElement.getAttribute('lang'), message: !!f.querySelector('[name=message]') };",
        vec![],
    )
    .await;
    b.accessibility("the Persian ticket form").await;
    assert_eq!(fa["dir"], "rtl", "{fa}");
    assert_eq!(fa["computed"], "rtl", "{fa}");
    assert_eq!(fa["message"], true, "{fa}");
    b.execute(
        "document.activeElement && document.activeElement.blur(); return true;",
        vec![],
    )
    .await;
    b.save_screenshot("form-fa.png").await;

    // The help centre and the portal's sign-in page, as shoppers see them.
    for (path, what) in [
        ("kb?lang=en", "the help centre"),
        ("kb?lang=fa", "the help centre in Persian"),
        ("portal?lang=en", "the portal"),
    ] {
        b.goto(&format!("{}/p/{slug}/{path}", app.base)).await;
        page_wait(
            &b,
            what,
            "return document.readyState === 'complete' && !!document.querySelector('main, form');",
            vec![],
        )
        .await;
        b.accessibility(what).await;
    }
    b.quit().await;
}
