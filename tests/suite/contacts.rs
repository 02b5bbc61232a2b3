//! Contacts and merging over HTTP: merging and splitting tickets (every
//! message kept, in time order, in the event feed), blocking a contact on
//! every channel, the contacts API with merging, and who may do what.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{smtp_send, Db, Sink, TestApp, MAIL_DOMAIN};

crate::both_backends!(
    contacts_merge_tickets_keeps_every_message_in_order,
    contacts_split_moves_one_message_into_a_new_ticket,
    contacts_blocked_contact_reaches_no_agent,
    contacts_api_merge_and_access,
    contacts_chat_visitor_proves_an_address_by_mail,
    contacts_console_pages_block_merge_and_split,
);

async fn messages(app: &TestApp, ticket: i64) -> Vec<Value> {
    let (s, m) = app.get(&format!("/api/v1/tickets/{ticket}/messages")).await;
    assert_eq!(s, StatusCode::OK, "{m}");
    m["items"].as_array().unwrap().clone()
}

fn bodies(ms: &[Value], kind: &str) -> Vec<String> {
    ms.iter()
        .filter(|m| m["kind"] == kind)
        .map(|m| m["body"].as_str().unwrap().to_string())
        .collect()
}

async fn reply(app: &TestApp, ticket: i64, body: &str) -> i64 {
    let (s, m) = app
        .post(
            &format!("/api/v1/tickets/{ticket}/messages"),
            json!({ "body": body, "kind": "reply" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    m["id"].as_i64().unwrap()
}

async fn event_kinds(app: &TestApp) -> Vec<Value> {
    let (s, e) = app.get("/api/v1/events?limit=500").await;
    assert_eq!(s, StatusCode::OK, "{e}");
    e["events"].as_array().unwrap().clone()
}

async fn contacts_merge_tickets_keeps_every_message_in_order(db: Db) {
    let app = TestApp::spawn(db).await;
    let a = app.ticket("Where is my order", "ann@shop.test").await;
    let b = app.ticket("Order 1042 again", "ann@shop.test").await;
    let (a_id, b_id) = (a["id"].as_i64().unwrap(), b["id"].as_i64().unwrap());
    // Wait past the millisecond so the later reply sorts after b's message.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    reply(&app, a_id, "Looking into it").await;
    let before_a = bodies(&messages(&app, a_id).await, "reply");
    let before_b = bodies(&messages(&app, b_id).await, "reply");

    // Refused: itself, bad ids, another workspace's ticket, a restricted agent.
    let (s, e) = app
        .post(&format!("/api/v1/tickets/{a_id}/merge"), json!({ "from": a_id }))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (s, _) = app.post("/api/v1/tickets/abc/merge", json!({ "from": b_id })).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .post(&format!("/api/v1/tickets/{a_id}/merge"), json!({ "from": "x" }))
        .await;
    assert!(s.is_client_error());
    let (s, _) = app
        .post(&format!("/api/v1/tickets/{a_id}/merge"), json!({ "from": 0 }))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, _, other) = app.workspace("Other Shop").await;
    let (s, _) = app
        .call(
            Method::POST,
            &format!("/api/v1/tickets/{a_id}/merge"),
            &other,
            Some(json!({ "from": b_id })),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, theirs) = app
        .call(
            Method::POST,
            "/api/v1/tickets",
            &other,
            Some(json!({ "subject": "Theirs", "message": "x", "contact": { "email": "zed@other.test" } })),
        )
        .await;
    let theirs = theirs["id"].as_i64().unwrap();
    let (s, _) = app
        .post(&format!("/api/v1/tickets/{a_id}/merge"), json!({ "from": theirs }))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another workspace's ticket is not found");
    let (_, restricted) = app.agent("teamless@acme.test", true).await;
    let (s, _) = app
        .call(
            Method::POST,
            &format!("/api/v1/tickets/{a_id}/merge"),
            &restricted,
            Some(json!({ "from": b_id })),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "an agent who cannot see the tickets");

    let (s, m) = app
        .post(&format!("/api/v1/tickets/{a_id}/merge"), json!({ "from": b_id }))
        .await;
    assert_eq!(s, StatusCode::OK, "{m}");
    assert_eq!(m["moved_messages"], 1);
    assert_eq!(m["merged"]["status"], "closed");
    assert_eq!(m["merged"]["merged_into"], a_id);

    // Every message survives, in time order: b's first message sits
    // between a's first message and the later reply.
    let after = messages(&app, a_id).await;
    let replies = bodies(&after, "reply");
    assert_eq!(replies.len(), before_a.len() + before_b.len());
    assert_eq!(
        replies,
        vec![before_a[0].clone(), before_b[0].clone(), before_a[1].clone()]
    );
    assert!(bodies(&after, "event").contains(&format!("Ticket #{} merged into this one", b["number"])));
    let rest = messages(&app, b_id).await;
    assert!(bodies(&rest, "reply").is_empty());
    let number_a = a["number"].as_i64().unwrap();
    assert!(bodies(&rest, "event").contains(&format!("Merged into #{number_a}")));

    // Once only; the feed shows the merge and the close.
    let (s, _) = app
        .post(&format!("/api/v1/tickets/{a_id}/merge"), json!({ "from": b_id }))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let events = event_kinds(&app).await;
    let merged = events
        .iter()
        .find(|e| e["type"] == "ticket.merged")
        .expect("ticket.merged in the feed");
    assert_eq!(merged["ticket_id"], a_id);
    assert_eq!(merged["changes"]["from"], b_id);
    assert!(events
        .iter()
        .any(|e| e["type"] == "ticket.updated" && e["ticket_id"] == b_id && e["changes"]["merged_into"] == a_id));

    // The search index follows the moved message to its new ticket.
    let mut found = false;
    for _ in 0..200 {
        let (_, l) = app.get("/api/v1/tickets?q=again").await;
        let ids: Vec<i64> = l["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| t["id"].as_i64())
            .collect();
        if ids.contains(&a_id) {
            found = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(found, "the moved message is found on the ticket it moved to");
}

async fn contacts_split_moves_one_message_into_a_new_ticket(db: Db) {
    let app = TestApp::spawn(db).await;
    let t = app.ticket("Two questions", "ann@shop.test").await;
    let id = t["id"].as_i64().unwrap();
    let second = reply(&app, id, "Also: can I change the address?").await;
    let first = messages(&app, id).await[0]["id"].as_i64().unwrap();

    // Refused: a message of no such ticket, the only message, another workspace.
    let solo = app.ticket("Alone", "bob@shop.test").await;
    let solo_id = solo["id"].as_i64().unwrap();
    let solo_msg = messages(&app, solo_id).await[0]["id"].as_i64().unwrap();
    let (s, e) = app
        .post(
            &format!("/api/v1/tickets/{id}/split"),
            json!({ "message_id": solo_msg }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (s, e) = app
        .post(
            &format!("/api/v1/tickets/{solo_id}/split"),
            json!({ "message_id": solo_msg }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (s, _) = app
        .post(&format!("/api/v1/tickets/{id}/split"), json!({ "message_id": -1 }))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, _, other) = app.workspace("Other Shop").await;
    let (s, _) = app
        .call(
            Method::POST,
            &format!("/api/v1/tickets/{id}/split"),
            &other,
            Some(json!({ "message_id": second })),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (s, new) = app
        .post(&format!("/api/v1/tickets/{id}/split"), json!({ "message_id": second }))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{new}");
    let new_id = new["id"].as_i64().unwrap();
    assert_eq!(new["contact"]["id"], t["contact"]["id"]);
    assert_eq!(new["channel"], t["channel"]);
    let moved = messages(&app, new_id).await;
    assert_eq!(moved[0]["id"], second, "the same message, not a copy");
    assert!(bodies(&moved, "event").contains(&format!("Split off from #{}", t["number"])));
    let left = messages(&app, id).await;
    assert_eq!(left.iter().filter(|m| m["kind"] != "event").count(), 1);
    assert_eq!(left[0]["id"], first);
    assert!(bodies(&left, "event").contains(&format!("A message was split off into #{}", new["number"])));
    // A system line cannot be split off.
    let line = left.iter().find(|m| m["kind"] == "event").unwrap()["id"]
        .as_i64()
        .unwrap();
    let (s, _) = app
        .post(&format!("/api/v1/tickets/{id}/split"), json!({ "message_id": line }))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    let events = event_kinds(&app).await;
    let split = events
        .iter()
        .find(|e| e["type"] == "ticket.split")
        .expect("ticket.split");
    assert_eq!(split["ticket_id"], id);
    assert_eq!(split["changes"]["into"], new_id);
    assert!(events
        .iter()
        .any(|e| e["type"] == "ticket.created" && e["ticket_id"] == new_id));
}

async fn contact_of_email(app: &TestApp, email: &str) -> i64 {
    let (s, l) = app.get(&format!("/api/v1/contacts?q={email}")).await;
    assert_eq!(s, StatusCode::OK, "{l}");
    l["items"][0]["id"].as_i64().unwrap()
}

async fn form_started(app: &TestApp) -> String {
    app.store
        .signed("form", &(storedesk::store::now_ms() - 60_000).to_string())
        .await
        .unwrap()
}

async fn contacts_blocked_contact_reaches_no_agent(db: Db) {
    let app = TestApp::spawn(db).await;
    let (_sink, relay) = Sink::start().await;
    let smtp = app.mail(Some(relay)).await;
    // A rule that would label every new ticket and one on every message.
    for event in ["ticket.created", "message.created"] {
        let (s, r) = app
            .post(
                "/api/v1/rules",
                json!({ "name": format!("tag {event}"), "event": event, "conditions": { "all": [] },
                        "actions": [{ "type": "add_label", "value": "ruled" }], "enabled": true }),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
    }
    // Spam's contact, known by an earlier ticket.
    let earlier = app.ticket("Earlier", "spam@junk.test").await;
    let spammer = earlier["contact"]["id"].as_i64().unwrap();
    app.consumed("rules").await;
    let (s, c) = app.post(&format!("/api/v1/contacts/{spammer}/block"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert!(c["blocked_at"].is_string());
    let mut agent = app.agent_stream(&app.token).await;

    // Mail through the SMTP listener.
    let support = format!("acme-shop@{MAIL_DOMAIN}");
    let raw = crate::email::mail(
        "spam@junk.test",
        &support,
        "Cheap pills",
        "pills@junk.test",
        "",
        "Buy now",
    );
    smtp_send(smtp, "spam@junk.test", &support, &raw).await.unwrap();
    // The form.
    let f = reqwest::multipart::Form::new()
        .text("started", form_started(&app).await)
        .text("website", "")
        .text("name", "Spammer")
        .text("email", "spam@junk.test")
        .text("subject", "Cheap watches")
        .text("message", "Buy watches");
    let r = app
        .client
        .post(format!("{}/p/acme-shop/new", app.base))
        .multipart(f)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // The chat: a visitor whose contact is blocked.
    let (mut v, _) = app.visitor("acme-shop", None, 0).await;
    let visitor_contact = {
        // The only contact without an address is the visitor's.
        let (_, l) = app.get("/api/v1/contacts").await;
        l["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["email"].is_null())
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (s, _) = app
        .post(&format!("/api/v1/contacts/{visitor_contact}/block"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    v.send(json!({ "type": "message", "client_id": "s1", "body": "Buy crypto" }))
        .await;
    let ack = v.until("ack").await;
    let chat_msg = ack["id"].as_i64().unwrap();
    // Typing and read marks on the spam chat reach no agent either.
    v.send(json!({ "type": "typing", "on": true })).await;
    v.send(json!({ "type": "read", "up_to": chat_msg })).await;

    // Everything stored, all of it in the Spam view and none in the inbox.
    let mut spam = vec![];
    for _ in 0..200 {
        let (_, l) = app.get("/api/v1/tickets?spam=true").await;
        spam = l["items"].as_array().unwrap().clone();
        if spam.len() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let subjects: Vec<&str> = spam.iter().map(|t| t["subject"].as_str().unwrap()).collect();
    assert_eq!(spam.len(), 3, "{subjects:?}");
    for want in ["Cheap pills", "Cheap watches", "Buy crypto"] {
        assert!(subjects.contains(&want), "{subjects:?}");
    }
    let chat = spam.iter().find(|t| t["channel"] == "chat").unwrap();
    assert_eq!(messages(&app, chat["id"].as_i64().unwrap()).await[0]["id"], chat_msg);
    let (_, inbox) = app.get("/api/v1/tickets").await;
    let inbox_ids: Vec<i64> = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    for t in &spam {
        assert!(t["spam"] == true);
        assert!(t["assignee_id"].is_null());
        assert!(t["labels"].as_array().unwrap().is_empty(), "no rule ran: {t}");
        assert!(!inbox_ids.contains(&t["id"].as_i64().unwrap()));
    }
    let events = event_kinds(&app).await;
    assert_eq!(events.iter().filter(|e| e["type"] == "message.spam").count(), 3);

    // A customer who is not blocked still reaches agents: the first frames
    // the agent stream gets are about them, none about the spam.
    let ok = app.ticket("Real question", "ann@shop.test").await;
    let ok_id = ok["id"].as_i64().unwrap();
    loop {
        let f = agent.next().await.expect("a frame");
        let about_tickets = [
            "ticket_created",
            "ticket_updated",
            "message",
            "typing",
            "visitor_read",
            "visitor",
        ]
        .contains(&f["type"].as_str().unwrap_or(""));
        if !about_tickets {
            continue;
        }
        if let Some(tid) = f["ticket"]["id"].as_i64().or(f["ticket_id"].as_i64()) {
            assert!(
                !spam.iter().any(|t| t["id"] == tid),
                "a frame about spam reached an agent: {f}"
            );
            if tid == ok_id {
                break;
            }
        }
    }
    app.consumed("rules").await;
    let (_, ok) = app.get(&format!("/api/v1/tickets/{ok_id}")).await;
    assert_eq!(ok["labels"], json!(["ruled"]), "the rules do run for others");
    for t in &spam {
        let (_, t) = app.get(&format!("/api/v1/tickets/{}", t["id"])).await;
        assert!(t["labels"].as_array().unwrap().is_empty());
    }
    // No auto-reply or confirmation went to the blocked address.
    app.delivered().await;
    let (_, outbox) = app.get("/api/v1/outbox").await;
    assert!(
        !outbox.to_string().contains("spam@junk.test"),
        "nothing is sent to a blocked contact: {outbox}"
    );

    // Unblocked, their next mail is a ticket like any other.
    let (s, c) = app
        .post(&format!("/api/v1/contacts/{spammer}/unblock"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(c["blocked_at"].is_null());
    let raw = crate::email::mail("spam@junk.test", &support, "Sorry", "sorry@junk.test", "", "Real now");
    smtp_send(smtp, "spam@junk.test", &support, &raw).await.unwrap();
    let (_, inbox) = app.get("/api/v1/tickets").await;
    assert!(inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["subject"] == "Sorry"));
}

async fn contacts_api_merge_and_access(db: Db) {
    let app = TestApp::spawn(db).await;
    let a = app.ticket("First", "ann@shop.test").await;
    let b = app.ticket("Second", "ann.lee@home.test").await;
    let (ann, ann2) = (
        a["contact"]["id"].as_i64().unwrap(),
        b["contact"]["id"].as_i64().unwrap(),
    );

    // List, search and page.
    let (s, l) = app.get("/api/v1/contacts?limit=1").await;
    assert_eq!(s, StatusCode::OK, "{l}");
    assert_eq!(l["items"].as_array().unwrap().len(), 1);
    let cursor = l["next_cursor"].as_str().unwrap().to_string();
    let (_, l2) = app.get(&format!("/api/v1/contacts?limit=1&cursor={cursor}")).await;
    assert_ne!(l2["items"][0]["id"], l["items"][0]["id"]);
    assert_eq!(contact_of_email(&app, "home.test").await, ann2);
    let (s, _) = app.get("/api/v1/contacts?cursor=zz").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // Attributes: an object, bounded; notes.
    let (s, c) = app
        .patch(
            &format!("/api/v1/contacts/{ann}"),
            json!({ "name": "Ann Lee", "attributes": { "plan": "gold", "city": "Oslo" }, "notes": "Prefers mail" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["attributes"]["plan"], "gold");
    for bad in [
        json!({ "attributes": [1, 2] }),
        json!({ "attributes": { "a": { "b": { "c": { "d": { "e": 1 } } } } } }),
        json!({ "attributes": { "big": "x".repeat(20_000) } }),
        json!({ "name": "" }),
        json!({ "colour": "red" }),
    ] {
        let (s, e) = app.patch(&format!("/api/v1/contacts/{ann}"), bad.clone()).await;
        assert!(
            s == StatusCode::UNPROCESSABLE_ENTITY || s == StatusCode::BAD_REQUEST,
            "{bad} → {s} {e}"
        );
    }
    let (_, _) = app
        .patch(
            &format!("/api/v1/contacts/{ann2}"),
            json!({ "attributes": { "plan": "free", "phone": "+47 1" }, "notes": "Second address" }),
        )
        .await;

    // Another workspace sees and changes none of it.
    let (_, _, other) = app.workspace("Other Shop").await;
    for (m, path, body) in [
        (Method::GET, format!("/api/v1/contacts/{ann}"), None),
        (
            Method::PATCH,
            format!("/api/v1/contacts/{ann}"),
            Some(json!({ "notes": "x" })),
        ),
        (Method::POST, format!("/api/v1/contacts/{ann}/block"), Some(json!({}))),
        (
            Method::POST,
            format!("/api/v1/contacts/{ann}/merge"),
            Some(json!({ "from": ann2 })),
        ),
    ] {
        let (s, _) = app.call(m, &path, &other, body).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
    }
    let (_, theirs) = app.call(Method::GET, "/api/v1/contacts", &other, None).await;
    assert_eq!(theirs["items"], json!([]));
    // A restricted agent sees the contact but none of its tickets, and may
    // not merge or block.
    let (_, restricted) = app.agent("teamless@acme.test", true).await;
    let (s, c) = app
        .call(Method::GET, &format!("/api/v1/contacts/{ann}"), &restricted, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(c["tickets"], json!([]));
    let (s, _) = app
        .call(
            Method::POST,
            &format!("/api/v1/contacts/{ann}/merge"),
            &restricted,
            Some(json!({ "from": ann2 })),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .call(
            Method::POST,
            &format!("/api/v1/contacts/{ann}/block"),
            &restricted,
            Some(json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .post(&format!("/api/v1/contacts/{ann}/merge"), json!({ "from": ann }))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = app.post("/api/v1/contacts/999999/merge", json!({ "from": ann })).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The merge: identities, tickets, attributes (the survivor's win), notes.
    let (s, c) = app
        .post(&format!("/api/v1/contacts/{ann}/merge"), json!({ "from": ann2 }))
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    let values: Vec<&str> = c["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["value"].as_str().unwrap())
        .collect();
    assert!(
        values.contains(&"ann@shop.test") && values.contains(&"ann.lee@home.test"),
        "{values:?}"
    );
    assert_eq!(
        c["attributes"],
        json!({ "plan": "gold", "city": "Oslo", "phone": "+47 1" })
    );
    assert_eq!(c["notes"], "Prefers mail\n\nSecond address");
    let (_, page) = app.get(&format!("/api/v1/contacts/{ann}")).await;
    let ids: Vec<i64> = page["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![b["id"].as_i64().unwrap(), a["id"].as_i64().unwrap()]);
    for t in [&a, &b] {
        assert_eq!(
            messages(&app, t["id"].as_i64().unwrap()).await.len(),
            1,
            "every message kept"
        );
    }
    let (_, gone) = app.get(&format!("/api/v1/contacts/{ann2}")).await;
    assert_eq!(gone["merged_into"], ann);
    let (s, _) = app
        .post(&format!("/api/v1/contacts/{ann}/merge"), json!({ "from": ann2 }))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    // Mail from the merged-away address now lands on the survivor.
    let (_, t) = app
        .post(
            "/api/v1/tickets",
            json!({ "subject": "Third", "message": "x", "contact": { "email": "ann.lee@home.test" } }),
        )
        .await;
    assert_eq!(t["contact"]["id"], ann);
    let merged = event_kinds(&app).await;
    let e = merged
        .iter()
        .find(|e| e["type"] == "contact.merged")
        .expect("contact.merged");
    assert_eq!(e["contact_id"], ann);
    assert_eq!(e["changes"]["from"], ann2);
}

async fn contacts_chat_visitor_proves_an_address_by_mail(db: Db) {
    let app = TestApp::spawn(db).await;
    let t = app.ticket("Earlier order", "ann@shop.test").await;
    let ann = t["contact"]["id"].as_i64().unwrap();
    let (mut v, _) = app.visitor("acme-shop", None, 0).await;
    v.send(json!({ "type": "message", "client_id": "c1", "body": "Hi, it is Ann" }))
        .await;
    v.until("ack").await;

    // The visitor claims Ann's address: not linked on their word.
    v.send(json!({ "type": "contact", "name": "Ann", "email": "ann@shop.test" }))
        .await;
    let saved = v.until("contact_saved").await;
    assert_eq!(saved["verify"], "email");
    let (_, chats) = app.get("/api/v1/tickets?channel=chat").await;
    let chat = &chats["items"][0];
    let visitor = chat["contact"]["id"].as_i64().unwrap();
    assert_ne!(visitor, ann);
    assert!(chat["contact"]["email"].is_null(), "{chat}");
    let (_, c) = app.get(&format!("/api/v1/contacts/{visitor}")).await;
    assert!(
        c["identities"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["channel"] != "email"),
        "{c}"
    );

    // A link went to the address (through the outbox).
    let queued = app.store.outbox(app.workspace_id).await.unwrap();
    let (to, _, body) = queued
        .iter()
        .find(|(to, _, _)| to == "ann@shop.test")
        .expect("a proof mail");
    assert_eq!(to, "ann@shop.test");
    let url = body
        .split_whitespace()
        .find(|w| w.contains("/verify/"))
        .expect("a link in the mail")
        .to_string();
    let path = &url[url.find("/p/").unwrap()..];
    let token = path.rsplit('/').next().unwrap();
    assert!(token.len() >= 20);

    // Opening it only shows a button; nothing is linked yet.
    let r = app.client.get(format!("{}{path}", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("data-sd=\"verify-confirm\""), "{html}");
    let (_, c) = app.get(&format!("/api/v1/contacts/{visitor}")).await;
    assert!(c["merged_into"].is_null());
    // A wrong token, or another workspace's slug, finds nothing.
    let r = app
        .client
        .get(format!("{}/p/acme-shop/verify/nope", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    app.workspace("Other Shop").await;
    let r = app
        .client
        .post(format!("{}/p/other-shop/verify/{token}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // Confirmed: the visitor's chat joins Ann's tickets; once only.
    let r = app.client.post(format!("{}{path}", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("data-sd=\"verify-done\""));
    let (_, c) = app.get(&format!("/api/v1/contacts/{visitor}")).await;
    assert_eq!(c["merged_into"], ann);
    let (_, page) = app.get(&format!("/api/v1/contacts/{ann}")).await;
    let channels: Vec<&str> = page["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["channel"].as_str().unwrap())
        .collect();
    assert!(channels.contains(&"chat") && channels.contains(&"api"), "{channels:?}");
    let r = app.client.post(format!("{}{path}", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "single use");
    // The open socket goes on in the same chat, now Ann's.
    v.send(json!({ "type": "message", "client_id": "c2", "body": "Thanks" }))
        .await;
    let ack = v.until("ack").await;
    let (_, m) = app.get(&format!("/api/v1/tickets/{}", chat["id"])).await;
    assert_eq!(m["contact"]["id"], ann);
    let in_chat = messages(&app, chat["id"].as_i64().unwrap()).await;
    assert!(in_chat.iter().any(|m| m["id"] == ack["id"]), "the same chat ticket");
    let events = event_kinds(&app).await;
    assert!(events
        .iter()
        .any(|e| e["type"] == "contact.merged" && e["contact_id"] == ann));

    // At rest only the token's hash is kept; an expired link finds nothing.
    sqlx::any::install_default_drivers();
    let db = sqlx::AnyPool::connect(&app.db.url).await.unwrap();
    let hashes: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM contact_email_proofs")
        .fetch_all(&db)
        .await
        .unwrap();
    assert_eq!(hashes, vec![storedesk::auth::token_hash(token)]);
    let (mut x, _) = app.visitor("acme-shop", None, 0).await;
    x.send(json!({ "type": "contact", "email": "ann@shop.test" })).await;
    x.until("contact_saved").await;
    let queued = app.store.outbox(app.workspace_id).await.unwrap();
    let later = queued
        .iter()
        .filter_map(|(_, _, b)| b.split_whitespace().find(|w| w.contains("/verify/")))
        .find(|u| !u.ends_with(token))
        .expect("a second link")
        .to_string();
    sqlx::query("UPDATE contact_email_proofs SET expires_at = 1 WHERE used_at IS NULL")
        .execute(&db)
        .await
        .unwrap();
    let r = app.client.get(&later).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "expired");

    // An address nobody has is taken at once.
    let (mut w, _) = app.visitor("acme-shop", None, 0).await;
    w.send(json!({ "type": "contact", "name": "Bea", "email": "bea@new.test" }))
        .await;
    let saved = w.until("contact_saved").await;
    assert!(saved["verify"].is_null());
}

async fn contacts_console_pages_block_merge_and_split(db: Db) {
    let app = TestApp::spawn(db).await;
    let a = app.ticket("Lost parcel", "ann@shop.test").await;
    let b = app.ticket("Parcel again", "ann.lee@home.test").await;
    reply(&app, a["id"].as_i64().unwrap(), "We are on it").await;
    let (ann, ann2) = (
        a["contact"]["id"].as_i64().unwrap(),
        b["contact"]["id"].as_i64().unwrap(),
    );
    let mut c = crate::console::admin(&app).await;

    // The list, searched; the contact's page with tickets and identities.
    let (s, html) = c.get("/app/contacts?q=home.test").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains(&format!("/app/contacts/{ann2}")) && !html.contains(&format!("/app/contacts/{ann}\"")),
        "{html}"
    );
    let (s, html) = c.get(&format!("/app/contacts/{ann}?q=home.test")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("Lost parcel") && html.contains("ann@shop.test"));
    assert!(
        html.contains(&format!("name=\"from\" value=\"{ann2}\"")),
        "a merge candidate: {html}"
    );

    // Notes and details saved; bad JSON refused with a message.
    let (_, to) = c
        .post(
            &format!("/app/contacts/{ann}"),
            &[
                ("name", "Ann Lee"),
                ("attributes", "{\"plan\":\"gold\"}"),
                ("notes", "VIP"),
            ],
        )
        .await;
    assert!(to.contains("ok="), "{to}");
    let (_, to) = c
        .post(
            &format!("/app/contacts/{ann}"),
            &[("name", "Ann Lee"), ("attributes", "[1]"), ("notes", "")],
        )
        .await;
    assert!(to.contains("err="), "{to}");
    let (_, contact) = app.get(&format!("/api/v1/contacts/{ann}")).await;
    assert_eq!(
        (contact["notes"].as_str(), contact["attributes"]["plan"].as_str()),
        (Some("VIP"), Some("gold"))
    );

    // Merge the other in, block, unblock.
    c.get(&format!("/app/contacts/{ann}")).await;
    let (_, to) = c
        .post(&format!("/app/contacts/{ann}/merge"), &[("from", &ann2.to_string())])
        .await;
    assert!(to.contains("ok="), "{to}");
    let (_, contact) = app.get(&format!("/api/v1/contacts/{ann2}")).await;
    assert_eq!(contact["merged_into"], ann);
    c.post(&format!("/app/contacts/{ann}/block"), &[]).await;
    let (_, contact) = app.get(&format!("/api/v1/contacts/{ann}")).await;
    assert!(contact["blocked_at"].is_string());
    let (_, html) = c.get("/app?view=spam").await;
    assert!(html.contains("data-view=\"spam\" aria-current=\"page\""), "{html}");
    c.post(&format!("/app/contacts/{ann}/unblock"), &[]).await;
    let (_, contact) = app.get(&format!("/api/v1/contacts/{ann}")).await;
    assert!(contact["blocked_at"].is_null());

    // The ticket page: split the reply off, then merge that ticket back.
    let number_a = a["number"].as_i64().unwrap();
    let (_, html) = c.get(&format!("/app/t/{number_a}")).await;
    assert!(html.contains(&format!("/app/t/{number_a}/split")));
    let msgs = messages(&app, a["id"].as_i64().unwrap()).await;
    let second = msgs.iter().filter(|m| m["kind"] == "reply").nth(1).unwrap()["id"]
        .as_i64()
        .unwrap();
    let (s, to) = c
        .post(
            &format!("/app/t/{number_a}/split"),
            &[("message_id", &second.to_string())],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    let new_number: i64 = to.rsplit('/').next().unwrap().parse().unwrap();
    assert_ne!(new_number, number_a);
    c.get(&format!("/app/t/{new_number}")).await;
    let (_, to) = c
        .post(
            &format!("/app/t/{new_number}/merge"),
            &[("into", &format!("#{number_a}"))],
        )
        .await;
    assert_eq!(to, format!("/app/t/{number_a}"));
    let replies = bodies(&messages(&app, a["id"].as_i64().unwrap()).await, "reply");
    assert_eq!(
        replies,
        vec!["About: Lost parcel".to_string(), "We are on it".to_string()]
    );
    let (_, to) = c.post(&format!("/app/t/{number_a}/merge"), &[("into", "#9999")]).await;
    assert!(to.contains("err="), "{to}");

    // Another workspace's contact is not found.
    let (_, _, other) = app.workspace("Other Shop").await;
    let (_, theirs) = app
        .call(
            Method::POST,
            "/api/v1/tickets",
            &other,
            Some(json!({ "subject": "x", "message": "x", "contact": { "email": "z@o.test" } })),
        )
        .await;
    let (s, _) = c.get(&format!("/app/contacts/{}", theirs["contact"]["id"])).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
