//! The e-mail channel over real SMTP on loopback: mail in through the
//! built-in listener, mail out through the outbox to a sink server.

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{smtp_send, Db, Sink, TestApp, MAIL_DOMAIN};

crate::both_backends!(
    mail_opens_a_ticket_and_the_conversation_goes_on_by_mail,
    loops_bounces_and_unknown_recipients,
    outbox_retries_when_the_relay_is_down
);

pub fn mail(from: &str, to: &str, subject: &str, id: &str, extra: &str, body: &str) -> String {
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!("{extra}\n")
    };
    format!("From: Ann Lee <{from}>\nTo: {to}\nSubject: {subject}\nMessage-ID: <{id}>\nDate: Sat, 28 Nov 2026 10:00:00 +0000\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n{extra}\n{body}\n")
}

async fn mail_opens_a_ticket_and_the_conversation_goes_on_by_mail(db: Db) {
    let app = TestApp::spawn(db).await;
    let (sink, relay) = Sink::start().await;
    let smtp = app.mail(Some(relay)).await;
    let support = format!("acme-shop@{MAIL_DOMAIN}");
    smtp_send(
        smtp,
        "ann@shop.test",
        &support,
        &mail(
            "ann@shop.test",
            &support,
            "=?UTF-8?B?0JPQtNC1INC80L7QuSDQt9Cw0LrQsNC3Pw==?=",
            "first@shop.test",
            "",
            "I paid but there is no order.",
        ),
    )
    .await
    .unwrap();

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
    let (s, _) = app
        .post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({ "body": "Found it: your order is #1042." }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let got = sink.wait(2).await;
    let reply = &got[1];
    assert!(reply.contains("Subject: Re: "), "{reply}");
    assert!(reply.contains("[#1]"));
    assert!(reply.contains("your order is #1042"));
    let reply_to = reply.lines().find(|l| l.starts_with("Reply-To:")).unwrap().to_string();
    assert!(
        reply_to.contains("acme-shop+") && reply_to.contains(MAIL_DOMAIN),
        "{reply_to}"
    );
    let our_id = reply
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
        .unwrap()
        .split_once(':')
        .unwrap()
        .1
        .trim()
        .trim_matches(['<', '>'])
        .to_string();
    let token_addr = reply_to
        .split('<')
        .nth(1)
        .map(|s| s.trim_end_matches('>').to_string())
        .unwrap_or_else(|| reply_to[9..].trim().to_string());

    // The customer answers to the reply address: the same ticket goes on.
    let answer = mail(
        "ann@shop.test",
        &token_addr,
        "Re: Где мой заказ? [#1]",
        "second@shop.test",
        &format!("In-Reply-To: <{our_id}>\nReferences: <first@shop.test> <{our_id}>"),
        "Thank you!\n\nOn Sat, Support wrote:\n> Found it: your order is #1042.",
    );
    smtp_send(smtp, "ann@shop.test", &token_addr, &answer).await.unwrap();
    // Delivered twice (a retrying server): stored once.
    smtp_send(smtp, "ann@shop.test", &token_addr, &answer).await.unwrap();
    let (_, msgs) = app.get(&format!("/api/v1/tickets/{tid}/messages")).await;
    let from_customer: Vec<_> = msgs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["author_type"] == "contact")
        .collect();
    assert_eq!(from_customer.len(), 2);
    assert_eq!(
        from_customer[1]["body"].as_str().unwrap().trim(),
        "Thank you!",
        "quoted history is not shown"
    );
    let (_, all) = app.get("/api/v1/tickets").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 1);

    // Threading by In-Reply-To alone, to the plain support address.
    let third = mail(
        "ann@shop.test",
        &support,
        "one more",
        "third@shop.test",
        &format!("In-Reply-To: <{our_id}>"),
        "And the receipt?",
    );
    smtp_send(smtp, "ann@shop.test", &support, &third).await.unwrap();
    // [#1] in the subject from someone else opens a new ticket instead.
    let other = mail(
        "mallory@evil.test",
        &support,
        "Re: [#1]",
        "evil@evil.test",
        "",
        "let me in",
    );
    smtp_send(smtp, "mallory@evil.test", &support, &other).await.unwrap();
    let (_, all) = app.get("/api/v1/tickets").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let (_, msgs) = app.get(&format!("/api/v1/tickets/{tid}/messages")).await;
    assert_eq!(
        msgs["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["author_type"] == "contact")
            .count(),
        3
    );
}

async fn loops_bounces_and_unknown_recipients(db: Db) {
    let app = TestApp::spawn(db).await;
    let smtp = app.mail(None).await;
    let support = format!("acme-shop@{MAIL_DOMAIN}");
    // Unknown mailbox: refused at RCPT.
    let err = smtp_send(
        smtp,
        "a@shop.test",
        &format!("nobody@{MAIL_DOMAIN}"),
        &mail("a@shop.test", "x", "s", "u1@x", "", "b"),
    )
    .await
    .unwrap_err();
    assert!(err.is_permanent(), "{err}");
    let err = smtp_send(
        smtp,
        "a@shop.test",
        "acme-shop@other.test",
        &mail("a@shop.test", "x", "s", "u2@x", "", "b"),
    )
    .await
    .unwrap_err();
    assert!(err.is_permanent(), "{err}");

    // An out-of-office reply opens a ticket but gets no confirmation.
    smtp_send(
        smtp,
        "ooo@shop.test",
        &support,
        &mail(
            "ooo@shop.test",
            &support,
            "Out of office",
            "ooo1@shop.test",
            "Auto-Submitted: auto-replied",
            "I am away.",
        ),
    )
    .await
    .unwrap();
    let (_, list) = app.get("/api/v1/tickets").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    app.delivered().await;
    assert!(
        app.store.outbox_states(app.workspace_id).await.unwrap().is_empty(),
        "never answer an auto-reply"
    );

    // Our own address as sender: a loop, dropped.
    smtp_send(
        smtp,
        &support,
        &support,
        &mail(&support, &support, "loop", "loop1@x", "", "echo"),
    )
    .await
    .unwrap();
    let (_, list) = app.get("/api/v1/tickets").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    // A bounce marks the address; later mail to it is not queued.
    let dsn = format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.shop.test>\nTo: {support}\nSubject: Undelivered Mail Returned to Sender\nMessage-ID: <dsn1@mx.shop.test>\nMIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain\n\nDelivery failed.\n--b1\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.shop.test\n\nFinal-Recipient: rfc822; gone@shop.test\nAction: failed\nStatus: 5.1.1\n--b1--\n"
    );
    smtp_send(smtp, "", &support, &dsn).await.unwrap();
    assert!(app.store.is_bounced(app.workspace_id, "gone@shop.test").await.unwrap());
    let t = app.ticket("For a gone address", "gone@shop.test").await;
    app.post(
        &format!("/api/v1/tickets/{}/messages", t["id"]),
        json!({ "body": "Hello?" }),
    )
    .await;
    app.delivered().await;
    let states = app.store.outbox_states(app.workspace_id).await.unwrap();
    assert!(states.iter().all(|s| s.0 != "gone@shop.test"), "{states:?}");
}

async fn outbox_retries_when_the_relay_is_down(db: Db) {
    let app = TestApp::spawn(db).await;
    // A relay address where nothing listens.
    let dead = crate::harness::dead_address();
    app.mail(Some(dead)).await;
    let t = app.ticket("Will it arrive?", "ann@shop.test").await;
    app.post(
        &format!("/api/v1/tickets/{}/messages", t["id"]),
        json!({ "body": "Here is the answer." }),
    )
    .await;
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

crate::both_backends!(workspace_mail_settings_address_language_and_relay);

async fn workspace_mail_settings_address_language_and_relay(db: Db) {
    let app = TestApp::spawn(db).await;
    let (own_sink, own_relay) = Sink::start().await;
    let smtp = app.mail(None).await; // no global relay
    let secret = json!({ "relay": "smtp://robot:s3cret@relay.acme.test:587", "imap": { "host": "imap.acme.test", "port": 993, "tls": "tls", "user": "help", "password": "imap-s3cret" } });
    let (s, v) = app
        .call(reqwest::Method::PUT, "/api/v1/mail", &app.token, Some(secret))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, shown) = app.get("/api/v1/mail").await;
    assert!(
        !shown.to_string().contains("s3cret"),
        "passwords are not shown: {shown}"
    );
    let body =
        json!({ "address": "help@acme.test", "language": "ru", "relay": format!("smtp://{own_relay}?tls=none") });
    let (s, v) = app
        .call(reqwest::Method::PUT, "/api/v1/mail", &app.token, Some(body))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/mail",
            &app.token,
            Some(json!({ "language": "de" })),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_field"))
    );
    let (_, agent) = app.agent("kate@acme.test", false).await;
    let (s, _) = app.call(reqwest::Method::GET, "/api/v1/mail", &agent, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let support = format!("acme-shop@{MAIL_DOMAIN}");
    smtp_send(
        smtp,
        "olga@shop.test",
        &support,
        &mail(
            "olga@shop.test",
            &support,
            "Где заказ?",
            "ru1@shop.test",
            "",
            "Здравствуйте!",
        ),
    )
    .await
    .unwrap();
    let got = own_sink.wait(1).await;
    let m = &got[0];
    assert!(
        m.contains("From: \"Acme Shop\" <help@acme.test>") || m.contains("From: Acme Shop <help@acme.test>"),
        "{m}"
    );
    assert!(m.contains("Reply-To:") && m.contains("<help@acme.test>"), "{m}");
    // The body is quoted-printable or base64; the subject line carries the number.
    assert!(m.contains("Subject:"), "{m}");
    let parsed = storedesk::channels::email::parse::parse(m.as_bytes()).unwrap();
    assert!(parsed.text.contains("Мы получили ваше обращение"), "{}", parsed.text);
    assert!(parsed.subject.starts_with("[#1]"), "{}", parsed.subject);
}

crate::both_backends!(private_link_in_mail_opens_the_ticket_page);

async fn private_link_in_mail_opens_the_ticket_page(db: Db) {
    let app = TestApp::spawn(db).await;
    let (sink, relay) = Sink::start().await;
    let smtp = app.mail(Some(relay)).await;
    let support = format!("acme-shop@{MAIL_DOMAIN}");
    smtp_send(
        smtp,
        "ann@shop.test",
        &support,
        &mail(
            "ann@shop.test",
            &support,
            "White instead of black",
            "p1@shop.test",
            "",
            "Can I change the colour?",
        ),
    )
    .await
    .unwrap();
    let got = sink.wait(1).await;
    let parsed = storedesk::channels::email::parse::parse(got[0].as_bytes()).unwrap();
    let url = parsed
        .text
        .split_whitespace()
        .find(|w| w.contains("/p/acme-shop/t/"))
        .unwrap_or_else(|| panic!("no link in {}", parsed.text))
        .to_string();
    assert!(url.starts_with(&app.base));
    let (_, list) = app.get("/api/v1/tickets").await;
    let tid = list["items"][0]["id"].as_i64().unwrap();
    app.post(
        &format!("/api/v1/tickets/{tid}/messages"),
        json!({ "body": "internal: check the warehouse", "kind": "note" }),
    )
    .await;
    app.post(
        &format!("/api/v1/tickets/{tid}/messages"),
        json!({ "body": "Yes, we can <b>change</b> it." }),
    )
    .await;

    let r = app.client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-robots-tag"], "noindex, nofollow");
    assert!(r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    let html = r.text().await.unwrap();
    assert!(html.contains("White instead of black") && html.contains("Can I change the colour?"));
    assert!(
        html.contains("Yes, we can &lt;b&gt;change&lt;") && !html.contains("<b>change"),
        "escaped: {html}"
    );
    assert!(!html.contains("internal: check"), "notes never show on the public side");

    // The customer answers on the page; the agents' side gets it.
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirect
        .post(&url)
        .form(&[("body", "Thank you! <script>alert(1)</script>")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, msgs) = app.get(&format!("/api/v1/tickets/{tid}/messages")).await;
    let last = msgs["items"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m["author_type"] == "contact")
        .unwrap()
        .clone();
    assert!(last["body"].as_str().unwrap().starts_with("Thank you!"));
    let html = app.client.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains("<script>alert"), "rendered inert");
    let r = no_redirect.post(&url).form(&[("body", "   ")]).send().await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "an empty answer shows the page with a message"
    );

    // Guessed, tampered and cross-workspace links are all just "not found".
    let (prefix, sig) = url.rsplit_once('-').unwrap();
    let flipped = format!("{prefix}-{}{}", if sig.starts_with('0') { '1' } else { '0' }, &sig[1..]);
    for bad in [
        flipped,
        format!("{}/p/acme-shop/t/{tid}", app.base),
        format!("{}/p/acme-shop/t/{}-{sig}", app.base, tid + 1),
        url.replace("/p/acme-shop/", "/p/other-shop/"),
    ] {
        let r = app.client.get(&bad).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{bad}");
    }
}

/// STARTTLS on the listener with a certificate made for the test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listener_offers_starttls_with_a_certificate() {
    use lettre::transport::smtp::client::{Tls, TlsParameters};
    use lettre::AsyncTransport;
    let app = TestApp::spawn(Db::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let ok = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let limits = storedesk::mail::smtp_server::Limits {
        tls: Some(storedesk::mail::smtp_server::tls_acceptor(&cert, &key).unwrap()),
        ..Default::default()
    };
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let state = storedesk::app::AppState::start(app.store.clone(), &app.db.url)
        .await
        .unwrap();
    let handler = std::sync::Arc::new(storedesk::mail::inbound::Inbound {
        svc: state.svc.clone(),
        domain: MAIL_DOMAIN.into(),
    });
    tokio::spawn(storedesk::mail::smtp_server::serve(
        l,
        MAIL_DOMAIN.into(),
        limits,
        handler,
    ));

    let tls = TlsParameters::builder("localhost".into())
        .dangerous_accept_invalid_certs(true)
        .build()
        .unwrap();
    let t = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(addr.port())
        .tls(Tls::Required(tls))
        .build();
    let support = format!("acme-shop@{MAIL_DOMAIN}");
    let env =
        lettre::address::Envelope::new(Some("ann@shop.test".parse().unwrap()), vec![support.parse().unwrap()]).unwrap();
    t.send_raw(
        &env,
        mail(
            "ann@shop.test",
            &support,
            "Over TLS",
            "tls1@shop.test",
            "",
            "Secret order details",
        )
        .replace('\n', "\r\n")
        .as_bytes(),
    )
    .await
    .unwrap();
    let (_, list) = app.get("/api/v1/tickets?channel=email").await;
    assert_eq!(list["items"][0]["subject"], "Over TLS");
}
