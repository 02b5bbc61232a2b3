//! The e-mail channel over real SMTP on loopback: mail in through the
//! built-in listener, mail out through the outbox to a sink server.

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{smtp_send, Db, Sink, TestApp, MAIL_DOMAIN};

crate::both_backends!(mail_opens_a_ticket_and_the_conversation_goes_on_by_mail, loops_bounces_and_unknown_recipients, outbox_retries_when_the_relay_is_down);

fn mail(from: &str, to: &str, subject: &str, id: &str, extra: &str, body: &str) -> String {
    let extra = if extra.is_empty() { String::new() } else { format!("{extra}\n") };
    format!("From: Ann Lee <{from}>\nTo: {to}\nSubject: {subject}\nMessage-ID: <{id}>\nDate: Sat, 28 Nov 2026 10:00:00 +0000\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n{extra}\n{body}\n")
}

async fn mail_opens_a_ticket_and_the_conversation_goes_on_by_mail(db: Db) {
    let app = TestApp::spawn(db).await;
    let (sink, relay) = Sink::start().await;
    let smtp = app.mail(Some(relay)).await;
    let support = format!("acme-shop@{MAIL_DOMAIN}");
    smtp_send(smtp, "ann@shop.test", &support, &mail("ann@shop.test", &support, "=?UTF-8?B?0JPQtNC1INC80L7QuSDQt9Cw0LrQsNC3Pw==?=", "first@shop.test", "", "I paid but there is no order.")).await.unwrap();

    let (_, list) = app.get("/api/v1/tickets?channel=email").await;
    let t = &list["items"][0];
    assert_eq!(t["subject"], "Где мой заказ?", "encoded Cyrillic subject decoded");
    assert_eq!(t["contact"]["email"], "ann@shop.test");
    assert_eq!(t["contact"]["name"], "Ann Lee");
    let tid = t["id"].as_i64().unwrap();

    // The confirmation arrives at the customer's side with the number.
    let got = sink.wait(1).await;
    assert!(got[0].contains("#1"), "{}", got[0]);
    assert!(got[0].contains("In-Reply-To: <first@shop.test>"), "{}", got[0]);
    assert!(got[0].contains("Auto-Submitted: auto-generated"));

    // An agent's reply goes out threaded, with the ticket's reply address.
    let (s, _) = app.post(&format!("/api/v1/tickets/{tid}/messages"), json!({ "body": "Found it: your order is #1042." })).await;
    assert_eq!(s, StatusCode::CREATED);
    let got = sink.wait(2).await;
    let reply = &got[1];
    assert!(reply.contains("Subject: Re: "), "{reply}");
    assert!(reply.contains("[#1]"));
    assert!(reply.contains("your order is #1042"));
    let reply_to = reply.lines().find(|l| l.starts_with("Reply-To:")).unwrap().to_string();
    assert!(reply_to.contains("acme-shop+") && reply_to.contains(MAIL_DOMAIN), "{reply_to}");
    let our_id = reply.lines().find(|l| l.to_ascii_lowercase().starts_with("message-id:")).unwrap().split_once(':').unwrap().1.trim().trim_matches(['<', '>']).to_string();
    let token_addr = reply_to.split('<').nth(1).map(|s| s.trim_end_matches('>').to_string()).unwrap_or_else(|| reply_to[9..].trim().to_string());

    // The customer answers to the reply address: the same ticket goes on.
    let answer = mail("ann@shop.test", &token_addr, "Re: Где мой заказ? [#1]", "second@shop.test", &format!("In-Reply-To: <{our_id}>\nReferences: <first@shop.test> <{our_id}>"), "Thank you!\n\nOn Sat, Support wrote:\n> Found it: your order is #1042.");
    smtp_send(smtp, "ann@shop.test", &token_addr, &answer).await.unwrap();
    // Delivered twice (a retrying server): stored once.
    smtp_send(smtp, "ann@shop.test", &token_addr, &answer).await.unwrap();
    let (_, msgs) = app.get(&format!("/api/v1/tickets/{tid}/messages")).await;
    let from_customer: Vec<_> = msgs["items"].as_array().unwrap().iter().filter(|m| m["author_type"] == "contact").collect();
    assert_eq!(from_customer.len(), 2);
    assert_eq!(from_customer[1]["body"].as_str().unwrap().trim(), "Thank you!", "quoted history is not shown");
    let (_, all) = app.get("/api/v1/tickets").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 1);

    // Threading by In-Reply-To alone, to the plain support address.
    let third = mail("ann@shop.test", &support, "one more", "third@shop.test", &format!("In-Reply-To: <{our_id}>"), "And the receipt?");
    smtp_send(smtp, "ann@shop.test", &support, &third).await.unwrap();
    // [#1] in the subject from someone else opens a new ticket instead.
    let other = mail("mallory@evil.test", &support, "Re: [#1]", "evil@evil.test", "", "let me in");
    smtp_send(smtp, "mallory@evil.test", &support, &other).await.unwrap();
    let (_, all) = app.get("/api/v1/tickets").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let (_, msgs) = app.get(&format!("/api/v1/tickets/{tid}/messages")).await;
    assert_eq!(msgs["items"].as_array().unwrap().iter().filter(|m| m["author_type"] == "contact").count(), 3);
}

async fn loops_bounces_and_unknown_recipients(db: Db) {
    let app = TestApp::spawn(db).await;
    let smtp = app.mail(None).await;
    let support = format!("acme-shop@{MAIL_DOMAIN}");
    // Unknown mailbox: refused at RCPT.
    let err = smtp_send(smtp, "a@shop.test", &format!("nobody@{MAIL_DOMAIN}"), &mail("a@shop.test", "x", "s", "u1@x", "", "b")).await.unwrap_err();
    assert!(err.is_permanent(), "{err}");
    let err = smtp_send(smtp, "a@shop.test", "acme-shop@other.test", &mail("a@shop.test", "x", "s", "u2@x", "", "b")).await.unwrap_err();
    assert!(err.is_permanent(), "{err}");

    // An out-of-office reply opens a ticket but gets no confirmation.
    smtp_send(smtp, "ooo@shop.test", &support, &mail("ooo@shop.test", &support, "Out of office", "ooo1@shop.test", "Auto-Submitted: auto-replied", "I am away.")).await.unwrap();
    let (_, list) = app.get("/api/v1/tickets").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(app.store.outbox_states(app.workspace_id).await.unwrap().is_empty(), "never answer an auto-reply");

    // Our own address as sender: a loop, dropped.
    smtp_send(smtp, &support, &support, &mail(&support, &support, "loop", "loop1@x", "", "echo")).await.unwrap();
    let (_, list) = app.get("/api/v1/tickets").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    // A bounce marks the address; later mail to it is not queued.
    let dsn = format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.shop.test>\nTo: {support}\nSubject: Undelivered Mail Returned to Sender\nMessage-ID: <dsn1@mx.shop.test>\nMIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain\n\nDelivery failed.\n--b1\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.shop.test\n\nFinal-Recipient: rfc822; gone@shop.test\nAction: failed\nStatus: 5.1.1\n--b1--\n"
    );
    smtp_send(smtp, "", &support, &dsn).await.unwrap();
    assert!(app.store.is_bounced(app.workspace_id, "gone@shop.test").await.unwrap());
    let t = app.ticket("For a gone address", "gone@shop.test").await;
    app.post(&format!("/api/v1/tickets/{}/messages", t["id"]), json!({ "body": "Hello?" })).await;
    let states = app.store.outbox_states(app.workspace_id).await.unwrap();
    assert!(states.iter().all(|s| s.0 != "gone@shop.test"), "{states:?}");
}

async fn outbox_retries_when_the_relay_is_down(db: Db) {
    let app = TestApp::spawn(db).await;
    // A relay address where nothing listens.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    app.mail(Some(dead)).await;
    let t = app.ticket("Will it arrive?", "ann@shop.test").await;
    app.post(&format!("/api/v1/tickets/{}/messages", t["id"]), json!({ "body": "Here is the answer." })).await;
    let mut states = vec![];
    for _ in 0..100 {
        states = app.store.outbox_states(app.workspace_id).await.unwrap();
        if states.first().is_some_and(|s| s.3 >= 1) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(states[0].0, "ann@shop.test");
    assert_eq!(states[0].2, "pending", "kept for a retry: {states:?}");
    assert!(states[0].3 >= 1, "one attempt made: {states:?}");
}
