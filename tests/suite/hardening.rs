//! What an attacker on the open internet tried, each as a test: hostile
//! mail over real SMTP, label floods on /metrics, forged headers, frames
//! sent to agents who may not see them.

use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Digest;

use crate::harness::{smtp_raw, Db, Sink, Socket, TestApp, MAIL_DOMAIN};

crate::both_backends!(
    only_crlf_dot_crlf_ends_data,
    deeply_nested_html_is_cheap_and_kept,
    one_address_cannot_hold_every_smtp_session,
    unreadable_mail_is_kept_and_filed,
    metrics_labels_come_from_a_closed_set,
    links_never_follow_request_headers,
    visitors_are_shown_only_to_agents_who_may_see_them,
    errors_are_always_json
);

async fn subjects(app: &TestApp) -> Vec<String> {
    let (_, list) = app.get("/api/v1/tickets?limit=100").await;
    let mut s: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["subject"].as_str().unwrap().to_string())
        .collect();
    s.sort();
    s
}

async fn only_crlf_dot_crlf_ends_data(db: Db) {
    let app = TestApp::spawn(db).await;
    let smtp = app.mail(None).await;
    let support = format!("acme-shop@{MAIL_DOMAIN}");
    for (i, end) in ["\n.\n", "\r\n.\n", "\n.\r\n"].iter().enumerate() {
        let data = format!(
            "From: ann@shop.test\r\nTo: {support}\r\nSubject: first {i}\r\nMessage-ID: <s{i}@shop.test>\r\n\r\nhello{end}\
             MAIL FROM:<ceo@shop.test>\r\nRCPT TO:<{support}>\r\nDATA\r\n\
             From: ceo@shop.test\r\nTo: {support}\r\nSubject: forged {i}\r\nMessage-ID: <f{i}@shop.test>\r\n\r\nwire the money\r\n.\r\n"
        );
        let replies = smtp_raw(smtp, "ann@shop.test", &support, data.as_bytes()).await;
        assert_eq!(replies.matches("250 2.0.0 stored").count(), 1, "{replies}");
    }
    assert_eq!(subjects(&app).await, ["first 0", "first 1", "first 2"]);
    // The smuggled lines stayed in the first mail's text.
    let (_, list) = app.get("/api/v1/tickets?limit=100").await;
    let id = list["items"][0]["id"].as_i64().unwrap();
    let (_, msgs) = app.get(&format!("/api/v1/tickets/{id}/messages")).await;
    assert!(msgs.to_string().contains("wire the money"), "{msgs}");
}

async fn deeply_nested_html_is_cheap_and_kept(db: Db) {
    let app = TestApp::spawn(db).await;
    let smtp = app.mail(None).await;
    let support = format!("acme-shop@{MAIL_DOMAIN}");
    let n = 200_000;
    let deep = |i: usize| {
        format!(
            "From: a@cust.test\r\nTo: {support}\r\nSubject: deep {i}\r\nMessage-ID: <d{i}@cust.test>\r\nContent-Type: text/html\r\n\r\n{}x{i}{}\r\n.\r\n",
            "<div>".repeat(n),
            "</div>".repeat(n)
        )
    };
    // Two at once, while the web server must stay responsive.
    let sends: Vec<_> = (0..2)
        .map(|i| {
            let support = support.clone();
            let data = deep(i);
            tokio::spawn(async move { smtp_raw(smtp, "a@cust.test", &support, data.as_bytes()).await })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // A hang detector, not a timing figure (that is in `bench mail`): before
    // the fix this took 25 s.
    let health = tokio::time::timeout(std::time::Duration::from_secs(10), app.get("/healthz")).await;
    assert!(health.is_ok(), "/healthz stalled while mail was parsed");
    for s in sends {
        let replies = s.await.unwrap();
        assert!(replies.contains("250 2.0.0 stored"), "{replies}");
    }
    assert_eq!(subjects(&app).await, ["deep 0", "deep 1"]);
    let (_, list) = app.get("/api/v1/tickets?limit=100").await;
    for t in list["items"].as_array().unwrap() {
        let (_, msgs) = app.get(&format!("/api/v1/tickets/{}/messages", t["id"])).await;
        let first = &msgs["items"][0];
        // The text is readable; the HTML was not rendered, and the raw mail is kept.
        assert!(first["body"].as_str().unwrap().contains('x'), "{first}");
        assert_eq!(first["html"], Value::Null, "{first}");
    }
}

async fn one_address_cannot_hold_every_smtp_session(db: Db) {
    use tokio::io::AsyncReadExt;
    let app = TestApp::spawn(db).await;
    let smtp = app.mail(None).await;
    let mut held = Vec::new();
    for _ in 0..20 {
        let mut c = tokio::net::TcpStream::connect(smtp).await.unwrap();
        let mut greeting = [0u8; 3];
        c.read_exact(&mut greeting).await.unwrap();
        assert_eq!(&greeting, b"220");
        held.push(c);
    }
    let mut extra = tokio::net::TcpStream::connect(smtp).await.unwrap();
    let mut answer = String::new();
    extra.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("421 "), "{answer}");
    // A slot frees when a session ends.
    drop(held.pop());
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let mut again = tokio::net::TcpStream::connect(smtp).await.unwrap();
    let mut greeting = [0u8; 3];
    again.read_exact(&mut greeting).await.unwrap();
    assert_eq!(&greeting, b"220");
}

async fn unreadable_mail_is_kept_and_filed(db: Db) {
    let app = TestApp::spawn(db).await;
    let smtp = app.mail(None).await;
    let support = format!("acme-shop@{MAIL_DOMAIN}");
    // A display name that breaks the From header; a mis-parsed address that
    // must not become a contact; no headers at all; nothing at all.
    let broken_from = format!("From: \u{2039}Shop Friend> <ann@cust.test\r\nTo: {support}\r\nSubject: broken from\r\nMessage-ID: <b1@cust.test>\r\n\r\nWhere is my order?\r\n.\r\n");
    let script_from = format!("From: javascript:window.__xss=18mail18@cust.test\r\nTo: {support}\r\nSubject: script from\r\nMessage-ID: <b2@cust.test>\r\n\r\nHello\r\n.\r\n");
    for (from, data) in [
        ("ann@cust.test", broken_from),
        ("bob@cust.test", script_from),
        ("cat@cust.test", "just some words, no headers\r\n.\r\n".to_string()),
        ("", ".\r\n".to_string()),
    ] {
        let replies = smtp_raw(smtp, from, &support, data.as_bytes()).await;
        assert!(replies.contains("250 2.0.0 stored"), "{replies}");
    }
    let (_, list) = app.get("/api/v1/tickets?limit=100").await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 4, "{list}");
    let by_subject = |s: &str| {
        items
            .iter()
            .find(|t| t["subject"] == s)
            .unwrap_or_else(|| panic!("{s}: {list}"))
    };
    assert_eq!(by_subject("broken from")["contact"]["email"], "ann@cust.test");
    // `javascript:` reads as a group name; what is left is a plain address.
    let script = by_subject("script from")["contact"]["email"].as_str().unwrap();
    assert!(!script.contains("javascript") && !script.contains(':'), "{script}");
    let unread: Vec<_> = items
        .iter()
        .filter(|t| t["subject"] == "(a mail that could not be read)")
        .collect();
    assert_eq!(unread.len(), 2, "{list}");
    for t in &unread {
        assert_eq!(t["labels"], json!(["needs-review"]), "{t}");
    }
    assert!(unread.iter().any(|t| t["contact"]["email"] == "cat@cust.test"));
    assert!(unread
        .iter()
        .any(|t| t["contact"]["email"] == "unknown-sender@sender.invalid"));
    for t in items {
        let raw = app
            .store
            .raw_mails(app.workspace_id, t["id"].as_i64().unwrap())
            .await
            .unwrap();
        assert_eq!(raw.len(), 1, "the raw mail of {t} is kept");
    }
    // Nothing was answered to addresses nobody could read.
    app.delivered().await;
    let states = app.store.outbox_states(app.workspace_id).await.unwrap();
    assert!(
        states
            .iter()
            .all(|s| !s.0.contains("invalid") && s.0 != "cat@cust.test"),
        "{states:?}"
    );
}

async fn metrics_text(app: &TestApp, base: &str, token: Option<&str>) -> (StatusCode, String) {
    let mut req = app.client.get(format!("{base}/metrics"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn metrics_labels_come_from_a_closed_set(db: Db) {
    let app = TestApp::spawn(db).await;
    let long = "X".repeat(4001);
    for m in ["FOOBAR", "PROPFIND", long.as_str()] {
        let method = reqwest::Method::from_bytes(m.as_bytes()).unwrap();
        let _ = app
            .client
            .request(method, format!("{}/healthz", app.base))
            .send()
            .await
            .unwrap();
    }
    let (status, text) = metrics_text(&app, &app.base, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("method=\"other\""), "{text}");
    assert!(!text.contains("FOOBAR") && !text.contains("PROPFIND") && !text.contains("XXXX"));

    // With a token, /metrics wants it; on its own listener, the main one has none.
    let hash: [u8; 32] = sha2::Sha256::digest(b"a-long-metrics-token").into();
    let with = |access: storedesk::app::MetricsAccess| {
        move |s: &mut storedesk::app::AppState| {
            let mut site = (*s.site).clone();
            site.metrics = access;
            s.site = std::sync::Arc::new(site);
        }
    };
    let guarded = app
        .serve_variant(with(storedesk::app::MetricsAccess::Token(hash)))
        .await;
    let (status, body) = metrics_text(&app, &guarded, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"]["code"],
        "unauthorized"
    );
    assert_eq!(
        metrics_text(&app, &guarded, Some("wrong-token-wrong-token")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        metrics_text(&app, &guarded, Some("a-long-metrics-token")).await.0,
        StatusCode::OK
    );

    let main = app.serve_variant(with(storedesk::app::MetricsAccess::Elsewhere)).await;
    assert_eq!(metrics_text(&app, &main, None).await.0, StatusCode::NOT_FOUND);
    let state = storedesk::app::AppState::start(app.store.clone(), &app.db.url)
        .await
        .unwrap();
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let side = format!("http://{}", l.local_addr().unwrap());
    let router = storedesk::http::metrics_router(state, storedesk::app::Site::new(&app.base));
    tokio::spawn(async move { axum::serve(l, router).await });
    assert_eq!(metrics_text(&app, &side, None).await.0, StatusCode::OK);
    assert_eq!(
        app.client.get(format!("{side}/healthz")).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

async fn links_never_follow_request_headers(db: Db) {
    let app = TestApp::spawn(db).await;
    let (s, _) = app
        .post("/api/v1/kb/articles", json!({ "title": "Returns", "body": "Send it back within 14 days.", "language": "en", "status": "published" }))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let forged = |path: &str| {
        app.client
            .get(format!("{}{path}", app.base))
            .header("host", "evil.test")
            .header("x-forwarded-proto", "javascript:alert(1)//")
            .header("x-forwarded-host", "evil.test")
            .send()
    };
    for path in [
        "/p/acme-shop/kb",
        "/p/acme-shop/kb/sitemap.xml",
        "/p/acme-shop/kb/en/returns",
    ] {
        let r = forged(path).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let body = crate::console::unescape(&r.text().await.unwrap());
        assert!(
            !body.contains("evil.test") && !body.contains("javascript:"),
            "{path}: {body}"
        );
        assert!(body.contains(&app.base), "{path} links to the public URL: {body}");
    }
    // The widget snippet and a portal sign-in mail too.
    let (_, w) = app.get("/api/v1/widget").await;
    assert!(
        w["snippet"]
            .as_str()
            .unwrap()
            .contains(&format!("{}/widget.js", app.base)),
        "{w}"
    );
    let (sink, relay) = Sink::start().await;
    let _smtp = app.mail(Some(relay)).await;
    let t = app.ticket("Order 5", "ann@cust.test").await;
    assert!(t["id"].is_i64());
    let r = app
        .client
        .post(format!("{}/p/acme-shop/portal", app.base))
        .header("host", "evil.test")
        .form(&[("email", "ann@cust.test"), ("website", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let mails = sink.wait(1).await;
    let login = mails
        .iter()
        .find(|m| m.contains("/portal/login/"))
        .expect("a sign-in mail");
    assert!(login.contains(&app.base) && !login.contains("evil.test"), "{login}");
}

async fn visitors_are_shown_only_to_agents_who_may_see_them(db: Db) {
    let app = TestApp::spawn(db).await;
    let (_, limited) = app.agent("team.only@acme.test", true).await;
    let mut admin = app.agent_stream(&app.token).await;
    let mut restricted = app.agent_stream(&limited).await;
    // A hostile page URL is dropped, not kept as a link.
    let mut v = Socket::connect(
        &format!("{}/ws?workspace=acme-shop", app.ws_url()),
        Some("http://shop.test"),
    )
    .await
    .unwrap();
    v.send(json!({ "type": "hello", "lang": "en", "page": { "url": "javascript:alert(1)", "title": "Cart" } }))
        .await;
    v.until("welcome").await;
    let seen = admin.until("visitor").await;
    assert_eq!(seen["state"]["page"]["url"], "", "{seen}");
    // An agent stream opening is announced to every agent: the restricted
    // agent gets that, and no visitor frame before it.
    let (_, third) = app.agent("third@acme.test", false).await;
    let _third = app.agent_stream(&third).await;
    loop {
        let f = restricted.next().await.expect("frames");
        assert_ne!(f["type"], "visitor", "{f}");
        if f["type"] == "presence" {
            break;
        }
    }
}

async fn errors_are_always_json(db: Db) {
    let app = TestApp::spawn(db).await;
    let json_error = |r: reqwest::Response| async move {
        let status = r.status();
        let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
        let body: Value = r
            .json()
            .await
            .unwrap_or_else(|e| panic!("{status} {ct:?} is not JSON: {e}"));
        assert!(
            body["error"]["code"].is_string() && body["error"]["message"].is_string(),
            "{body}"
        );
        (status, body)
    };
    // An upload over the limit: refused from its Content-Length, before the
    // body is sent (a client sending it all may see the connection close
    // before it reads the answer).
    let (_, welcome) = app.visitor("acme-shop", None, 0).await;
    let token = welcome["visitor_token"].as_str().unwrap();
    let answer = raw_http(
        &app.base,
        &format!("POST /p/acme-shop/chat/attachments?name=big.png HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: image/png\r\nContent-Length: {}\r\n\r\n", 11 * 1024 * 1024),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    let body: Value =
        serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap_or("")).unwrap_or_else(|_| panic!("{answer}"));
    assert_eq!(body["error"]["code"], "too_large", "{body}");
    // A path that is not UTF-8, and a socket request without its upgrade.
    let r = app
        .client
        .get(format!("{}/p/%FF%FE/kb", app.base))
        .send()
        .await
        .unwrap();
    let (status, body) = json_error(r).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let r = app
        .client
        .get(format!("{}/ws?workspace=acme-shop", app.base))
        .send()
        .await
        .unwrap();
    assert!(json_error(r).await.0.is_client_error());
    // A frame over the limit closes the socket with 1009.
    let mut s = Socket::connect(
        &format!("{}/ws?workspace=acme-shop", app.ws_url()),
        Some("http://shop.test"),
    )
    .await
    .unwrap();
    let big = || tokio_tungstenite::tungstenite::Message::Text("x".repeat(200 * 1024).into());
    let _ = s.send_raw(big()).await;
    assert_eq!(s.close_code().await, Some(1009), "as the first frame");
    let (mut s, _) = app.visitor("acme-shop", None, 0).await;
    let _ = s.send_raw(big()).await;
    assert_eq!(s.close_code().await, Some(1009), "after hello");
    let mut agent = app.agent_stream(&app.token).await;
    let _ = agent.send_raw(big()).await;
    assert_eq!(agent.close_code().await, Some(1009), "on the agents' stream");
}

/// Sends `head` (a request without its body) and reads the answer until the
/// server has sent a whole response.
async fn raw_http(base: &str, head: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut c = tokio::net::TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .unwrap();
    c.write_all(head.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(std::time::Duration::from_secs(10), c.read(&mut buf))
            .await
            .expect("an answer within 10 s")
            .unwrap_or(0);
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).to_string();
        let complete = text.split_once("\r\n\r\n").is_some_and(|(h, b)| {
            h.lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .is_some_and(|len| b.len() >= len)
        });
        if n == 0 || complete {
            return text;
        }
    }
}
