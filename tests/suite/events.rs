//! The event log and its feed (GET /api/v1/events): every channel records
//! exactly one ticket.created and one message.created per message, with
//! the right actor and channel; notes never reach the customer; mentions
//! through the API; the feed is scoped to its workspace, paged and checked.

use std::time::Duration;

use reqwest::multipart::Form;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::console;
use crate::harness::{smtp_send, Db, Socket, TestApp, MAIL_DOMAIN};
use crate::imap::Dovecot;

crate::both_backends!(
    events_via_api,
    events_via_console,
    events_via_chat,
    events_via_form,
    events_via_callback,
    events_via_private_page,
    events_via_smtp,
    events_via_imap,
    a_note_never_reaches_the_customer,
    mentions_work_through_the_api,
    feed_is_scoped_paged_and_validated,
);

const TYPES: [&str; 9] = [
    "ticket.created",
    "ticket.updated",
    "message.created",
    "contact.created",
    "contact.updated",
    "mention.created",
    "article.created",
    "article.updated",
    "article.deleted",
];

/// Percent-encodes a query value (cursors are opaque strings).
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn events_path(after: Option<&str>, limit: Option<i64>) -> String {
    let mut q = vec![];
    if let Some(a) = after {
        q.push(format!("after={}", enc(a)));
    }
    if let Some(l) = limit {
        q.push(format!("limit={l}"));
    }
    if q.is_empty() {
        "/api/v1/events".into()
    } else {
        format!("/api/v1/events?{}", q.join("&"))
    }
}

/// One page of the feed: (events, next_cursor); checks the page's shape.
async fn page(app: &TestApp, token: &str, after: Option<&str>, limit: Option<i64>) -> (Vec<Value>, String) {
    let path = events_path(after, limit);
    let (s, v) = app.call(Method::GET, &path, token, None).await;
    assert_eq!(s, StatusCode::OK, "GET {path}: {v}");
    let events = v["events"]
        .as_array()
        .unwrap_or_else(|| panic!("GET {path}: no events array: {v}"))
        .clone();
    let next = v["next_cursor"]
        .as_str()
        .unwrap_or_else(|| panic!("GET {path}: next_cursor is always a string: {v}"))
        .to_string();
    for e in &events {
        shape(e);
    }
    (events, next)
}

/// The fields every event has, with their types.
fn shape(e: &Value) {
    assert!(e["id"].is_i64(), "id is an integer: {e}");
    assert!(TYPES.contains(&e["type"].as_str().unwrap_or("")), "a known type: {e}");
    for k in ["ticket_id", "message_id", "contact_id"] {
        assert!(
            e.get(k).is_some_and(|v| v.is_null() || v.is_i64()),
            "{k} is an integer or null: {e}"
        );
    }
    assert!(
        matches!(e["actor"]["type"].as_str(), Some("agent" | "contact" | "system")),
        "actor: {e}"
    );
    if e["actor"]["type"] != "system" {
        assert!(e["actor"]["id"].is_i64(), "an agent or contact actor has an id: {e}");
    }
    assert!(e["changes"].is_object(), "changes is an object: {e}");
    assert!(
        e["created_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z') && t.contains('T')),
        "created_at is RFC 3339 UTC: {e}"
    );
}

/// Every event the token's workspace sees, walked page by page with
/// next_cursor; ids strictly increase and no event comes twice.
async fn feed(app: &TestApp, token: &str) -> Vec<Value> {
    feed_paged(app, token, 100).await
}

async fn feed_paged(app: &TestApp, token: &str, limit: i64) -> Vec<Value> {
    let mut all: Vec<Value> = vec![];
    let mut after: Option<String> = None;
    for _ in 0..10_000 {
        let (events, next) = page(app, token, after.as_deref(), Some(limit)).await;
        assert!(events.len() as i64 <= limit, "at most limit={limit} events: {events:?}");
        if events.is_empty() {
            if let Some(a) = &after {
                assert_eq!(&next, a, "an empty page gives back the cursor it was given");
            } else {
                assert_eq!(next, "0", "an empty feed from the start gives \"0\"");
            }
            let ids: Vec<i64> = all.iter().map(|e| e["id"].as_i64().unwrap()).collect();
            assert!(
                ids.windows(2).all(|w| w[0] < w[1]),
                "event ids strictly increase across pages: {ids:?}"
            );
            return all;
        }
        all.extend(events);
        after = Some(next);
    }
    panic!("the feed never ended");
}

/// Polls the feed (up to 10 s) until `ready` holds, then returns it.
async fn feed_until(app: &TestApp, token: &str, what: &str, ready: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let mut all = vec![];
    for _ in 0..100 {
        all = feed(app, token).await;
        if ready(&all) {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the feed never showed {what}: {all:#?}");
}

fn of<'a>(events: &'a [Value], ticket_id: i64, kind: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["ticket_id"] == ticket_id && e["type"] == kind)
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Contact,
    Agent(i64),
    System,
}

fn is_actor(actor: &Value, who: Who, contact_id: i64) -> bool {
    match who {
        Who::Contact => actor["type"] == "contact" && actor["id"] == contact_id,
        Who::Agent(id) => actor["type"] == "agent" && actor["id"] == id,
        Who::System => actor["type"] == "system",
    }
}

/// Checks a ticket's conversation is `expected` (kind and author of each
/// reply and note, in order) and that the feed has for it exactly one
/// ticket.created (by its contact, with its channel) and exactly one
/// message.created per reply and note (none for system lines), each with
/// its author as actor and the ticket's channel. Returns the whole feed.
async fn check_ticket(app: &TestApp, tid: i64, expected: &[(&str, Who)]) -> Vec<Value> {
    let (s, t) = app.get(&format!("/api/v1/tickets/{tid}")).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let channel = t["channel"].as_str().unwrap().to_string();
    let contact = t["contact"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("the ticket's contact: {t}"));
    let (s, msgs) = app.get(&format!("/api/v1/tickets/{tid}/messages?limit=500")).await;
    assert_eq!(s, StatusCode::OK, "{msgs}");
    let said: Vec<Value> = msgs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] != "event")
        .cloned()
        .collect();
    let got: Vec<(String, Who)> = said
        .iter()
        .map(|m| {
            let who = match m["author_type"].as_str() {
                Some("contact") => Who::Contact,
                Some("agent") => Who::Agent(m["author_id"].as_i64().unwrap()),
                _ => Who::System,
            };
            (m["kind"].as_str().unwrap().to_string(), who)
        })
        .collect();
    let want: Vec<(String, Who)> = expected.iter().map(|(k, w)| (k.to_string(), *w)).collect();
    assert_eq!(got, want, "ticket {tid}'s conversation: {msgs:#}");

    let n = said.len();
    let all = feed_until(app, &app.token, &format!("ticket {tid}'s {n} messages"), |all| {
        !of(all, tid, "ticket.created").is_empty() && of(all, tid, "message.created").len() >= n
    })
    .await;
    let ctx = || {
        format!(
            "ticket {tid} ({channel}); its events: {:#?}",
            all.iter().filter(|e| e["ticket_id"] == tid).collect::<Vec<_>>()
        )
    };

    let created = of(&all, tid, "ticket.created");
    assert_eq!(created.len(), 1, "exactly one ticket.created; {}", ctx());
    let c = created[0];
    assert!(
        is_actor(&c["actor"], Who::Contact, contact),
        "ticket.created is by the contact {contact}; {}",
        ctx()
    );
    assert_eq!(
        c["changes"]["channel"],
        channel.as_str(),
        "ticket.created changes.channel; {}",
        ctx()
    );
    assert_eq!(c["changes"]["status"], "open", "{}", ctx());
    assert_eq!(c["changes"]["subject"], t["subject"], "{}", ctx());

    let created_msgs = of(&all, tid, "message.created");
    assert_eq!(
        created_msgs.len(),
        n,
        "one message.created per reply and note, none for system lines; {}",
        ctx()
    );
    for (i, m) in said.iter().enumerate() {
        let evs: Vec<&&Value> = created_msgs.iter().filter(|e| e["message_id"] == m["id"]).collect();
        assert_eq!(
            evs.len(),
            1,
            "exactly one message.created for message {}; {}",
            m["id"],
            ctx()
        );
        let e = evs[0];
        assert!(
            is_actor(&e["actor"], expected[i].1, contact),
            "message {} by {:?} (contact {contact}); {}",
            m["id"],
            expected[i].1,
            ctx()
        );
        assert_eq!(
            e["changes"]["channel"],
            channel.as_str(),
            "message {} changes.channel; {}",
            m["id"],
            ctx()
        );
        if i > 0 {
            assert_eq!(
                e["changes"]["kind"],
                m["kind"],
                "message {} changes.kind; {}",
                m["id"],
                ctx()
            );
        }
    }
    all
}

async fn ticket_id_on(app: &TestApp, channel: &str) -> i64 {
    let (s, list) = app.get(&format!("/api/v1/tickets?channel={channel}")).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "one {channel} ticket: {list}");
    items[0]["id"].as_i64().unwrap()
}

fn mail(from: &str, to: &str, subject: &str, id: &str, extra: &str, body: &str) -> String {
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!("{extra}\n")
    };
    format!("From: Ann Lee <{from}>\nTo: {to}\nSubject: {subject}\nMessage-ID: <{id}>\nDate: Sat, 28 Nov 2026 10:00:00 +0000\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n{extra}\n{body}\n")
}

async fn form_stamp(app: &TestApp) -> String {
    app.store
        .signed("form", &(storedesk::store::now_ms() - 5_000).to_string())
        .await
        .unwrap()
}

fn form(stamp: &str, fields: &[(&str, &str)]) -> Form {
    let mut f = Form::new().text("started", stamp.to_string()).text("website", "");
    for (k, v) in fields {
        f = f.text(k.to_string(), v.to_string());
    }
    f
}

/// Opens a ticket with the public form; returns its private link.
async fn form_ticket(app: &TestApp, subject: &str) -> String {
    let st = form_stamp(app).await;
    let f = form(
        &st,
        &[
            ("name", "Ann"),
            ("email", "ann@shop.test"),
            ("subject", subject),
            ("message", "The power went out after I paid."),
        ],
    );
    let r = app
        .client
        .post(format!("{}/p/acme-shop/new", app.base))
        .multipart(f)
        .send()
        .await
        .unwrap();
    let s = r.status();
    let html = r.text().await.unwrap();
    assert_eq!(s, StatusCode::OK, "{html}");
    let link = html
        .split("data-sd=\"private-link\" href=\"")
        .nth(1)
        .unwrap_or_else(|| panic!("a private link on the done page: {html}"))
        .split('"')
        .next()
        .unwrap();
    console::unescape(link)
}

/// The console's id of a posted message, from the redirect to `#m{id}`.
fn posted_id(loc: &str) -> i64 {
    loc.rsplit_once("#m")
        .and_then(|(_, id)| id.parse().ok())
        .unwrap_or_else(|| panic!("a redirect to the new message: {loc}"))
}

async fn events_via_api(db: Db) {
    let app = TestApp::spawn(db).await;
    let (s, t) = app.post("/api/v1/tickets", json!({ "subject": "Paid but no order", "message": "The power went out after I paid.", "contact": { "email": "ann@shop.test", "name": "Ann" }, "priority": "high" })).await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let tid = t["id"].as_i64().unwrap();
    let (s, r) = app
        .post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({ "body": "Found it: your order is #1042.", "external_id": "api-r1" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    // A retry of the same message is the same message: no second event.
    let (s, again) = app
        .post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({ "body": "Found it: your order is #1042.", "external_id": "api-r1" }),
        )
        .await;
    assert_eq!((s, &again["id"]), (StatusCode::OK, &r["id"]));
    let (s, n) = app
        .post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({ "body": "Check the gateway log", "kind": "note" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{n}");
    // A change is a ticket.updated, and its system line no message.created.
    let (s, p) = app
        .patch(&format!("/api/v1/tickets/{tid}"), json!({ "status": "resolved" }))
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let all = check_ticket(
        &app,
        tid,
        &[
            ("reply", Who::Contact),
            ("reply", Who::Agent(app.admin_id)),
            ("note", Who::Agent(app.admin_id)),
        ],
    )
    .await;
    let created = of(&all, tid, "ticket.created");
    assert_eq!(created[0]["changes"]["priority"], "high", "{created:?}");
    let updated = of(&all, tid, "ticket.updated");
    assert_eq!(updated.len(), 1, "{updated:#?}");
    assert!(
        is_actor(&updated[0]["actor"], Who::Agent(app.admin_id), 0),
        "{updated:#?}"
    );
    assert_eq!(
        updated[0]["changes"]["status"],
        json!({ "from": "open", "to": "resolved" }),
        "{updated:#?}"
    );
    assert!(
        updated[0]["changes"].get("assignee_id").is_none() && updated[0]["changes"].get("priority").is_none(),
        "only what changed: {updated:#?}"
    );
}

async fn events_via_console(db: Db) {
    let app = TestApp::spawn(db).await;
    let (ann, mut c) = console::agent(&app, "ann@acme.test", "Ann Agent", false).await;
    let t = app.ticket("Wrong size", "olga@shop.test").await;
    let tid = t["id"].as_i64().unwrap();
    let path = format!("/app/t/{}", t["number"]);
    let (s, _) = c.get(&path).await;
    assert_eq!(s, StatusCode::OK);
    let (s, loc) = c
        .post(
            &format!("{path}/messages"),
            &[("kind", "reply"), ("body", "We will swap it today.")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{loc}");
    posted_id(&loc);
    let (s, loc) = c
        .post(
            &format!("{path}/messages"),
            &[("kind", "note"), ("body", "Swap sent from the warehouse")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{loc}");
    posted_id(&loc);
    check_ticket(
        &app,
        tid,
        &[
            ("reply", Who::Contact),
            ("reply", Who::Agent(ann)),
            ("note", Who::Agent(ann)),
        ],
    )
    .await;
}

async fn events_via_chat(db: Db) {
    let app = TestApp::spawn(db).await;
    // An agent is online, so no away auto-reply joins the conversation.
    let _agent = app.agent_stream(&app.token).await;
    let (mut v, welcome) = app.visitor("acme-shop", None, 0).await;
    assert_eq!(welcome["online"], true, "{welcome}");
    v.send(json!({ "type": "message", "client_id": "c1", "body": "Is this T-shirt available in white?" }))
        .await;
    let first = v.until("ack").await["id"].as_i64().unwrap();
    v.send(json!({ "type": "message", "client_id": "c2", "body": "Size M, please." }))
        .await;
    let second = v.until("ack").await["id"].as_i64().unwrap();
    // A resend of the same client_id is the same message.
    v.send(json!({ "type": "message", "client_id": "c2", "body": "Size M, please." }))
        .await;
    assert_eq!(v.until("ack").await["id"].as_i64().unwrap(), second);
    let tid = ticket_id_on(&app, "chat").await;
    let (s, r) = app
        .post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({ "body": "Yes, size M in white is in stock." }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let all = check_ticket(
        &app,
        tid,
        &[
            ("reply", Who::Contact),
            ("reply", Who::Contact),
            ("reply", Who::Agent(app.admin_id)),
        ],
    )
    .await;
    let ids: Vec<&Value> = of(&all, tid, "message.created")
        .iter()
        .map(|e| &e["message_id"])
        .collect();
    assert!(
        ids.contains(&&json!(first)) && ids.contains(&&json!(second)) && ids.contains(&&r["id"]),
        "{ids:?}"
    );
}

async fn events_via_form(db: Db) {
    let app = TestApp::spawn(db).await;
    form_ticket(&app, "Paid but no order").await;
    let tid = ticket_id_on(&app, "form").await;
    let (s, r) = app
        .post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({ "body": "Found it: your order is #1042." }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    check_ticket(
        &app,
        tid,
        &[("reply", Who::Contact), ("reply", Who::Agent(app.admin_id))],
    )
    .await;
}

async fn events_via_callback(db: Db) {
    let app = TestApp::spawn(db).await;
    let st = form_stamp(&app).await;
    let r = app
        .client
        .post(format!("{}/p/acme-shop/callback", app.base))
        .multipart(form(
            &st,
            &[
                ("name", "Olga"),
                ("phone", "+380 44 123-45-67"),
                ("when", "after 18:00"),
                ("subject", "Wrong size"),
            ],
        ))
        .send()
        .await
        .unwrap();
    let s = r.status();
    let html = r.text().await.unwrap();
    assert_eq!(s, StatusCode::OK, "{html}");
    let tid = ticket_id_on(&app, "phone").await;
    let (s, n) = app
        .post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({ "body": "Called: exchanged for size L", "kind": "note" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{n}");
    check_ticket(
        &app,
        tid,
        &[("reply", Who::Contact), ("note", Who::Agent(app.admin_id))],
    )
    .await;
}

async fn events_via_private_page(db: Db) {
    let app = TestApp::spawn(db).await;
    let link = form_ticket(&app, "White instead of black").await;
    assert!(link.starts_with(&app.base), "{link}");
    let tid = ticket_id_on(&app, "form").await;
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirect
        .post(&link)
        .form(&[("body", "Can I change the colour?")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // Resolved, then the customer writes again: reopened by the contact.
    let (s, p) = app
        .patch(&format!("/api/v1/tickets/{tid}"), json!({ "status": "resolved" }))
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let r = no_redirect
        .post(&link)
        .form(&[("body", "One more question, please.")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, t) = app.get(&format!("/api/v1/tickets/{tid}")).await;
    assert_eq!(t["status"], "open", "the customer's answer reopened it: {t}");
    let contact = t["contact"]["id"].as_i64().unwrap();
    let all = check_ticket(
        &app,
        tid,
        &[
            ("reply", Who::Contact),
            ("reply", Who::Contact),
            ("reply", Who::Contact),
        ],
    )
    .await;
    let updated = of(&all, tid, "ticket.updated");
    assert_eq!(
        updated.len(),
        2,
        "the agent's resolve and the customer's reopen: {updated:#?}"
    );
    assert!(
        is_actor(&updated[0]["actor"], Who::Agent(app.admin_id), contact),
        "{updated:#?}"
    );
    assert_eq!(
        updated[0]["changes"]["status"],
        json!({ "from": "open", "to": "resolved" }),
        "{updated:#?}"
    );
    assert!(
        is_actor(&updated[1]["actor"], Who::Contact, contact),
        "a reopen by the customer is by the contact: {updated:#?}"
    );
    assert_eq!(updated[1]["changes"]["status"]["from"], "resolved", "{updated:#?}");
    assert_eq!(updated[1]["changes"]["status"]["to"], "open", "{updated:#?}");
}

async fn events_via_smtp(db: Db) {
    let app = TestApp::spawn(db).await;
    let smtp = app.mail(None).await;
    let support = format!("acme-shop@{MAIL_DOMAIN}");
    smtp_send(
        smtp,
        "ann@shop.test",
        &support,
        &mail(
            "ann@shop.test",
            &support,
            "Where is my order?",
            "first@shop.test",
            "",
            "I paid but there is no order.",
        ),
    )
    .await
    .unwrap();
    let tid = ticket_id_on(&app, "email").await;
    let answer = mail(
        "ann@shop.test",
        &support,
        "Re: Where is my order?",
        "second@shop.test",
        "In-Reply-To: <first@shop.test>\nReferences: <first@shop.test>",
        "Here is the receipt.",
    );
    smtp_send(smtp, "ann@shop.test", &support, &answer).await.unwrap();
    // Delivered twice by a retrying server: stored once, one event.
    smtp_send(smtp, "ann@shop.test", &support, &answer).await.unwrap();
    let (s, r) = app
        .post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({ "body": "Thanks, we are on it." }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    check_ticket(
        &app,
        tid,
        &[
            ("reply", Who::Contact),
            ("reply", Who::Contact),
            ("reply", Who::Agent(app.admin_id)),
        ],
    )
    .await;
}

async fn events_via_imap(db: Db) {
    let app = TestApp::spawn(db).await;
    let dv = Dovecot::start().await;
    let (s, v) = app
        .call(
            Method::PUT,
            "/api/v1/mail",
            &app.token,
            Some(dv.settings("s3cret-imap", "")),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut boxes = app.store.imap_mailboxes().await.unwrap();
    assert_eq!(boxes.len(), 1);
    let (ws, m) = boxes.remove(0);
    let imap = m.imap.unwrap();
    let inbound = storedesk::mail::inbound::Inbound {
        svc: app.svc.clone(),
        domain: MAIL_DOMAIN.into(),
    };
    dv.append(&mail(
        "ann@shop.test",
        "help@acme.test",
        "Broken zipper",
        "zip1@shop.test",
        "",
        "The zipper broke on day one.",
    ))
    .await;
    assert_eq!(
        storedesk::mail::imap::poll_once(&inbound, &ws, &imap).await.unwrap(),
        1,
        "{}",
        dv.log()
    );
    let tid = ticket_id_on(&app, "email").await;
    dv.append(&mail(
        "ann@shop.test",
        "help@acme.test",
        "Re: Broken zipper",
        "zip2@shop.test",
        "In-Reply-To: <zip1@shop.test>\nReferences: <zip1@shop.test>",
        "Here is a photo.",
    ))
    .await;
    assert_eq!(
        storedesk::mail::imap::poll_once(&inbound, &ws, &imap).await.unwrap(),
        1,
        "{}",
        dv.log()
    );
    assert_eq!(storedesk::mail::imap::poll_once(&inbound, &ws, &imap).await.unwrap(), 0);
    check_ticket(&app, tid, &[("reply", Who::Contact), ("reply", Who::Contact)]).await;
}

/// Polls the pending outbox (up to 10 s) until `ready` holds.
async fn outbox_until(
    app: &TestApp,
    what: &str,
    ready: impl Fn(&[(String, String, String)]) -> bool,
) -> Vec<(String, String, String)> {
    let mut out = vec![];
    for _ in 0..100 {
        out = app.store.outbox(app.workspace_id).await.unwrap();
        if ready(&out) {
            return out;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the outbox never had {what}: {out:#?}");
}

fn count_body(out: &[(String, String, String)], text: &str) -> usize {
    out.iter().filter(|(_, _, body)| body.contains(text)).count()
}

/// Message frames on the visitor's socket up to (and with) the one for
/// message `id`.
async fn frames_until(v: &mut Socket, id: i64) -> Vec<Value> {
    let mut got = vec![];
    loop {
        let f = v.until("message").await;
        let done = f["message"]["id"] == id;
        got.push(f);
        if done {
            return got;
        }
    }
}

async fn message_count(app: &TestApp, tid: i64) -> usize {
    let (s, v) = app.get(&format!("/api/v1/tickets/{tid}/messages?limit=500")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["items"].as_array().unwrap().len()
}

async fn a_note_never_reaches_the_customer(db: Db) {
    let app = TestApp::spawn(db).await;
    let (_, mut c) = console::agent(&app, "ann@acme.test", "Ann Agent", false).await;
    // No relay: what is queued stays in the outbox to be read.
    let smtp = app.mail(None).await;
    let support = format!("acme-shop@{MAIL_DOMAIN}");

    // An e-mail ticket: its confirmation, then notes (none mailed) and
    // replies (each mailed once). The outbox consumer works in event order,
    // so once a later reply is queued an earlier note would have been too.
    smtp_send(
        smtp,
        "olga@shop.test",
        &support,
        &mail(
            "olga@shop.test",
            &support,
            "Wrong size",
            "ws1@shop.test",
            "",
            "The shoes are too small.",
        ),
    )
    .await
    .unwrap();
    let tid = ticket_id_on(&app, "email").await;
    let (_, t) = app.get(&format!("/api/v1/tickets/{tid}")).await;
    let path = format!("/app/t/{}", t["number"]);
    outbox_until(&app, "the confirmation", |o| o.len() == 1).await;
    let (s, n) = app
        .post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({ "body": "internal: API note on mail", "kind": "note" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{n}");
    c.get(&path).await;
    let (s, loc) = c
        .post(
            &format!("{path}/messages"),
            &[("kind", "note"), ("body", "internal: console note on mail")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{loc}");
    posted_id(&loc);
    let (s, r) = app
        .post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({ "body": "API reply: a bigger size is on its way." }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let out = outbox_until(&app, "the API reply", |o| count_body(o, "API reply: a bigger size") > 0).await;
    assert_eq!(count_body(&out, "API reply: a bigger size"), 1, "{out:#?}");
    assert_eq!(count_body(&out, "internal:"), 0, "notes are never mailed: {out:#?}");
    let (s, loc) = c
        .post(
            &format!("{path}/messages"),
            &[("kind", "reply"), ("body", "Console reply: tracking number 42.")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{loc}");
    let out = outbox_until(&app, "the console reply", |o| {
        count_body(o, "Console reply: tracking") > 0
    })
    .await;
    assert_eq!(count_body(&out, "Console reply: tracking"), 1, "{out:#?}");
    assert_eq!(count_body(&out, "API reply: a bigger size"), 1, "{out:#?}");
    assert_eq!(count_body(&out, "internal:"), 0, "notes are never mailed: {out:#?}");
    assert!(out.iter().all(|(to, _, _)| to == "olga@shop.test"), "{out:#?}");
    app.delivered().await;
    let out = app.store.outbox(app.workspace_id).await.unwrap();
    assert_eq!(count_body(&out, "internal:"), 0, "notes are never mailed: {out:#?}");
    assert_eq!(out.len(), 3, "the confirmation and two replies, once each: {out:#?}");
    assert_eq!(app.store.outbox_states(app.workspace_id).await.unwrap().len(), 3);

    // A chat ticket with the visitor on the socket: notes never arrive
    // there, each reply arrives once.
    let _agent = app.agent_stream(&app.token).await;
    let (mut v, welcome) = app.visitor("acme-shop", None, 0).await;
    assert_eq!(welcome["online"], true, "{welcome}");
    v.send(json!({ "type": "message", "client_id": "n1", "body": "Do you have it in white?" }))
        .await;
    v.until("ack").await;
    let chat = ticket_id_on(&app, "chat").await;
    let (_, ct) = app.get(&format!("/api/v1/tickets/{chat}")).await;
    let chat_path = format!("/app/t/{}", ct["number"]);
    let (s, api_note) = app
        .post(
            &format!("/api/v1/tickets/{chat}/messages"),
            json!({ "body": "internal: API note on chat", "kind": "note" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{api_note}");
    c.get(&chat_path).await;
    let (s, loc) = c
        .post(
            &format!("{chat_path}/messages"),
            &[("kind", "note"), ("body", "internal: console note on chat")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{loc}");
    let console_note = posted_id(&loc);
    let (s, reply) = app
        .post(
            &format!("/api/v1/tickets/{chat}/messages"),
            json!({ "body": "Yes, white is in stock." }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{reply}");
    let reply_id = reply["id"].as_i64().unwrap();
    let (s, loc) = c
        .post(
            &format!("{chat_path}/messages"),
            &[("kind", "reply"), ("body", "Shall I reserve one?")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{loc}");
    let console_reply = posted_id(&loc);
    let mut frames = frames_until(&mut v, reply_id).await;
    frames.extend(frames_until(&mut v, console_reply).await);
    // Anything else already sent arrives before the answer to a ping.
    v.send(json!({ "type": "ping" })).await;
    loop {
        let f = v.next().await.expect("the socket stays open");
        if f["type"] == "pong" {
            break;
        }
        if f["type"] == "message" {
            frames.push(f);
        }
    }
    let agent_frames: Vec<i64> = frames
        .iter()
        .filter(|f| f["message"]["from"] != "visitor")
        .map(|f| f["message"]["id"].as_i64().unwrap_or(-1))
        .collect();
    assert_eq!(
        agent_frames,
        vec![reply_id, console_reply],
        "exactly the two replies, once each, and no note ({} and {console_note}): {frames:#?}",
        api_note["id"]
    );
    assert!(
        frames.iter().all(|f| !f.to_string().contains("internal:")),
        "{frames:#?}"
    );
    app.delivered().await;
    let out = app.store.outbox(app.workspace_id).await.unwrap();
    assert_eq!(count_body(&out, "internal:"), 0, "{out:#?}");

    // An unknown kind is refused and stores nothing, in the API and the console.
    let before = message_count(&app, tid).await;
    let events_before = of(&feed(&app, &app.token).await, tid, "message.created").len();
    let (s, v) = app
        .post(&format!("/api/v1/tickets/{tid}/messages"), json!({ "kind": "bogus" }))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["code"], "invalid_field", "{v}");
    let (s, v) = app
        .post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({ "body": "Sent with a made-up kind", "kind": "bogus" }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["code"], "invalid_field", "{v}");
    c.get(&path).await;
    let (s, loc) = c
        .post(
            &format!("{path}/messages"),
            &[("kind", "bogus"), ("body", "Console with a made-up kind")],
        )
        .await;
    assert!(
        s.is_client_error() || (s == StatusCode::SEE_OTHER && loc.contains("err=")),
        "the console refuses an unknown kind: {s} {loc}"
    );
    assert_eq!(message_count(&app, tid).await, before, "nothing stored");
    app.delivered().await;
    assert_eq!(
        of(&feed(&app, &app.token).await, tid, "message.created").len(),
        events_before,
        "no event"
    );
    let out = app.store.outbox(app.workspace_id).await.unwrap();
    assert_eq!(count_body(&out, "made-up kind"), 0, "{out:#?}");
}

async fn mentions_work_through_the_api(db: Db) {
    let app = TestApp::spawn(db).await;
    let (bob, bob_token) = app.agent("bob.stone@acme.test", false).await;
    let mut stream = app.agent_stream(&bob_token).await;
    let t = app.ticket("Wrong size", "olga@shop.test").await;
    let tid = t["id"].as_i64().unwrap();
    let (s, plain) = app
        .post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({ "body": "Nobody named here", "kind": "note" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{plain}");
    let (s, n) = app
        .post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({ "body": "@bob.stone can you check the stock?", "kind": "note" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{n}");
    let all = feed_until(&app, &app.token, "a mention.created", |all| {
        !of(all, tid, "mention.created").is_empty()
    })
    .await;
    let mentions = of(&all, tid, "mention.created");
    assert_eq!(
        mentions.len(),
        1,
        "one mention, for the note that names Bob: {mentions:#?}"
    );
    let m = mentions[0];
    assert_eq!(m["changes"]["user_id"], bob, "{m}");
    assert_eq!(m["message_id"], n["id"], "{m}");
    assert_eq!(m["ticket_id"], tid, "{m}");
    assert!(
        is_actor(&m["actor"], Who::Agent(app.admin_id), 0),
        "mentioned by the note's author: {m}"
    );
    let f = stream.until("mention").await;
    assert_eq!(f["number"], t["number"], "{f}");
    check_ticket(
        &app,
        tid,
        &[
            ("reply", Who::Contact),
            ("note", Who::Agent(app.admin_id)),
            ("note", Who::Agent(app.admin_id)),
        ],
    )
    .await;
}

async fn feed_is_scoped_paged_and_validated(db: Db) {
    let app = TestApp::spawn(db).await;
    let (_, _, other) = app.workspace("Other Store").await;
    let (_, _, empty) = app.workspace("Empty Store").await;
    let mut mine = vec![];
    for i in 0..2 {
        let t = app.ticket(&format!("Order {i}"), "ann@shop.test").await;
        mine.push(t["id"].as_i64().unwrap());
    }
    app.post(
        &format!("/api/v1/tickets/{}/messages", mine[0]),
        json!({ "body": "On its way." }),
    )
    .await;
    app.patch(&format!("/api/v1/tickets/{}", mine[1]), json!({ "priority": "low" }))
        .await;
    let mut theirs = vec![];
    for i in 0..2 {
        let (s, t) = app.call(Method::POST, "/api/v1/tickets", &other, Some(json!({ "subject": format!("Their order {i}"), "message": "m", "contact": { "email": "bob@shop.test" } }))).await;
        assert_eq!(s, StatusCode::CREATED, "{t}");
        theirs.push(t["id"].as_i64().unwrap());
    }
    app.call(
        Method::POST,
        &format!("/api/v1/tickets/{}/messages", theirs[0]),
        &other,
        Some(json!({ "body": "internal", "kind": "note" })),
    )
    .await;

    // Each workspace sees its own events only.
    let a = feed_until(&app, &app.token, "both tickets", |all| {
        mine.iter().all(|t| !of(all, *t, "ticket.created").is_empty())
    })
    .await;
    let b = feed_until(&app, &other, "both tickets", |all| {
        theirs.iter().all(|t| !of(all, *t, "ticket.created").is_empty())
    })
    .await;
    let ticket_ids = |evs: &[Value]| {
        evs.iter()
            .filter_map(|e| e["ticket_id"].as_i64())
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(ticket_ids(&a), mine.iter().copied().collect(), "{a:#?}");
    assert_eq!(ticket_ids(&b), theirs.iter().copied().collect(), "{b:#?}");
    let a_ids: std::collections::BTreeSet<i64> = a.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(
        b.iter().all(|e| !a_ids.contains(&e["id"].as_i64().unwrap())),
        "no event in both feeds"
    );
    assert_eq!(a_ids.len(), a.len(), "no event twice");
    // The opening message, the reply, the change: all there.
    assert_eq!(of(&a, mine[0], "message.created").len(), 2, "{a:#?}");
    assert_eq!(of(&a, mine[1], "ticket.updated").len(), 1, "{a:#?}");
    assert_eq!(of(&b, theirs[0], "message.created").len(), 2, "{b:#?}");
    let (events, next) = page(&app, &empty, None, None).await;
    assert_eq!(
        (events.len(), next.as_str()),
        (0, "0"),
        "a workspace with nothing done has no events"
    );

    // Pages of one walk every event once, in order; so does the default page.
    let one = feed_paged(&app, &app.token, 1).await;
    assert_eq!(one, a, "pages of one give the same events in the same order");
    let (all, end) = page(&app, &app.token, None, None).await;
    assert_eq!(all, a, "the default limit (100) holds them all");
    let (big, _) = page(&app, &app.token, None, Some(500)).await;
    assert_eq!(big, a);
    // Part way: after the second event come the rest.
    let (two, mid) = page(&app, &app.token, None, Some(2)).await;
    assert_eq!(two[..], a[..2]);
    let (rest, _) = page(&app, &app.token, Some(&mid), Some(500)).await;
    assert_eq!(rest[..], a[2..]);
    // At the end, the cursor stays; what happens next comes after it.
    let (none, same) = page(&app, &app.token, Some(&end), None).await;
    assert_eq!((none.len(), same.as_str()), (0, end.as_str()));
    let t = app.ticket("Later", "late@shop.test").await;
    let tid = t["id"].as_i64().unwrap();
    let mut newer = vec![];
    for _ in 0..100 {
        newer = page(&app, &app.token, Some(&end), None).await.0;
        if newer.iter().filter(|e| e["ticket_id"] == tid).count() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        newer.iter().all(|e| e["ticket_id"] == tid || e["ticket_id"].is_null()),
        "only what came after the cursor: {newer:#?}"
    );
    assert_eq!(of(&newer, tid, "ticket.created").len(), 1, "{newer:#?}");
    assert_eq!(of(&newer, tid, "message.created").len(), 1, "{newer:#?}");
    assert!(
        newer.iter().all(|e| !a_ids.contains(&e["id"].as_i64().unwrap())),
        "{newer:#?}"
    );
    assert!(
        newer
            .iter()
            .all(|e| e["id"].as_i64().unwrap() > a.last().unwrap()["id"].as_i64().unwrap()),
        "{newer:#?}"
    );

    // Validation.
    for limit in ["0", "501", "-1"] {
        let (s, v) = app.get(&format!("/api/v1/events?limit={limit}")).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_field")),
            "limit={limit}: {v}"
        );
    }
    for cursor in ["garbage", "not-a-cursor", "%25%25%25"] {
        let (s, v) = app.get(&format!("/api/v1/events?after={cursor}")).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_cursor")),
            "after={cursor}: {v}"
        );
    }
    let (_, agent) = app.agent("kate@acme.test", false).await;
    let (s, v) = app.call(Method::GET, "/api/v1/events", &agent, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "an agent's token: {v}");
    let r = app
        .client
        .get(format!("{}/api/v1/events", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "no token");
    let (s, _) = app.call(Method::GET, "/api/v1/events", "sdk_not_a_token", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "a wrong token");
}
