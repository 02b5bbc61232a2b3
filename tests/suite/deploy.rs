//! Running on a real host: behind a reverse proxy, with the limits a busy
//! store meets.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Db, Sink, Socket, TestApp};

crate::both_backends!(
    limits_key_on_the_client_behind_a_trusted_proxy,
    cookies_are_secure_exactly_over_https,
    a_refused_site_sees_no_widget_and_the_admin_sees_the_site,
    a_reply_without_a_relay_says_so_everywhere,
    a_reply_the_relay_refused_is_retried_and_can_go_again,
    mail_is_set_up_from_the_console_with_a_test_mail,
    a_new_agent_meets_pages_not_json,
    scripts_are_compressed_versioned_and_revalidated,
    an_agent_reply_carries_files_by_mail_and_chat,
    the_inbox_pages_both_ways,
    the_widget_greets_in_the_visitors_language,
    tickets_change_together_from_the_inbox
);

/// Requests to a public page until one is refused; how many got through
/// and the refusal.
async fn until_limited(
    app: &TestApp,
    base: &str,
    forwarded_for: &dyn Fn(usize) -> String,
) -> (usize, reqwest::Response) {
    for i in 0..500 {
        let r = app
            .client
            .get(format!("{base}/p/acme-shop/chat/config"))
            .header("x-forwarded-for", forwarded_for(i))
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            return (i, r);
        }
        assert_eq!(r.status(), StatusCode::OK);
    }
    panic!("never limited");
}

async fn limits_key_on_the_client_behind_a_trusted_proxy(db: Db) {
    let app = TestApp::spawn(db).await;
    let proxied = app
        .serve_variant(|s| {
            let mut site = (*s.site).clone();
            site.trusted_proxies = "127.0.0.1/32, ::1".parse().unwrap();
            s.site = std::sync::Arc::new(site);
        })
        .await;
    // Through the proxy, 200 shoppers each get their own allowance...
    for i in 0..200 {
        let r = app
            .client
            .get(format!("{proxied}/p/acme-shop/chat/config"))
            .header("x-forwarded-for", format!("198.51.100.{}", i % 250))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "shopper {i}");
    }
    // ... one shopper is still limited, and told when to come back; a
    // forged address before the proxy's own entry does not help.
    let (n, r) = until_limited(&app, &proxied, &|i| format!("6.6.6.{}, 203.0.113.9", i % 250)).await;
    assert!((50..=80).contains(&n), "{n}");
    assert_eq!(r.headers()["retry-after"], "1");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");

    // Without --trusted-proxies the header is the client's to forge and is ignored.
    let (n, _) = until_limited(&app, &app.base, &|i| format!("198.51.100.{}", i % 250)).await;
    assert!((50..=80).contains(&n), "{n}");
}

async fn cookies_are_secure_exactly_over_https(db: Db) {
    let app = TestApp::spawn(db).await;
    let pre_cookie = |base: String| async move {
        let r = reqwest::get(format!("{base}/login")).await.unwrap();
        r.headers()["set-cookie"].to_str().unwrap().to_string()
    };
    // The test server's public URL is http://127.0.0.1:...: sign-in works
    // there (the console tests sign in through it) with no Secure flag.
    assert!(!pre_cookie(app.base.clone()).await.contains("Secure"));
    let https = app
        .serve_variant(|s| {
            let mut site = (*s.site).clone();
            site.public_url = "https://help.acme.test".into();
            s.site = std::sync::Arc::new(site);
        })
        .await;
    let set = pre_cookie(https.clone()).await;
    assert!(set.contains("Secure") && set.contains("HttpOnly"), "{set}");

    // A browser that kept no cookie (a Secure one over http) is told why.
    let r = crate::console::Console::client()
        .post(format!("{https}/login"))
        .form(&[
            ("_csrf", "x"),
            ("email", "ann@acme.test"),
            ("password", "whatever it is"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let html = crate::console::unescape(&r.text().await.unwrap());
    assert!(
        html.contains("did not send back the sign-in cookie") && html.contains("--public-url"),
        "{html}"
    );
}

async fn a_refused_site_sees_no_widget_and_the_admin_sees_the_site(db: Db) {
    let app = TestApp::spawn(db).await;
    let (s, _) = app
        .call(
            Method::PUT,
            "/api/v1/widget",
            &app.token,
            Some(json!({ "allowed_origins": ["https://acme.test"] })),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let config = |origin: Option<&'static str>| {
        let mut r = app.client.get(format!("{}/p/acme-shop/chat/config", app.base));
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        r.send()
    };
    // The widget's configuration is refused on another site, readably for
    // the widget (which stays hidden and says why in the console)...
    let r = config(Some("https://www.acme.test")).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "origin_not_allowed");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("https://www.acme.test"),
        "{e}"
    );
    // ... and served on the shop's own site (and to callers that are not pages).
    assert_eq!(
        config(Some("https://acme.test")).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(config(None).await.unwrap().status(), StatusCode::OK);
    let socket = Socket::connect(
        &format!("{}/ws?workspace=acme-shop", app.ws_url()),
        Some("http://acme.test"),
    )
    .await;
    assert!(socket.is_err());

    // The admin sees both sites with counts...
    let (_, w) = app.get("/api/v1/widget").await;
    let refused = w["refused_origins"].as_array().unwrap();
    let sites: Vec<&str> = refused.iter().map(|r| r["origin"].as_str().unwrap()).collect();
    assert!(
        sites.contains(&"https://www.acme.test") && sites.contains(&"http://acme.test"),
        "{w}"
    );
    assert!(refused.iter().all(|r| r["refused"].as_i64().unwrap() >= 1));
    // ... on the widget page, and allows one with a click.
    let mut admin = crate::console::admin(&app).await;
    let (s, html) = admin.get("/app/admin/widget").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("https://www.acme.test") && html.contains("/app/admin/widget/allow"),
        "{html}"
    );
    let (s, _) = admin
        .post("/app/admin/widget/allow", &[("origin", "https://www.acme.test")])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(
        config(Some("https://www.acme.test")).await.unwrap().status(),
        StatusCode::OK
    );
    let (_, w) = app.get("/api/v1/widget").await;
    assert_eq!(
        w["settings"]["allowed_origins"],
        json!(["https://acme.test", "https://www.acme.test"])
    );
    assert!(
        !w["refused_origins"].to_string().contains("https://www.acme.test"),
        "{w}"
    );

    // Made-up origins cannot grow the list without bound.
    for i in 0..70 {
        let o = format!("https://made-up-{i}.test");
        let r = app
            .client
            .get(format!("{}/p/acme-shop/chat/config", app.base))
            .header("origin", o)
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .send()
            .await
            .unwrap();
        assert!(r.status() == StatusCode::FORBIDDEN || r.status() == StatusCode::TOO_MANY_REQUESTS);
    }
    let (_, w) = app.get("/api/v1/widget").await;
    assert!(w["refused_origins"].as_array().unwrap().len() <= 50, "{w}");
}

/// The delivery of the first reply on a ticket, once it has the wanted state.
async fn delivery_of(app: &TestApp, ticket: i64, wanted: &str) -> serde_json::Value {
    let mut last = serde_json::Value::Null;
    for _ in 0..200 {
        let (_, msgs) = app.get(&format!("/api/v1/tickets/{ticket}/messages")).await;
        if let Some(d) = msgs["items"].as_array().unwrap().iter().find_map(|m| m.get("delivery")) {
            if d["status"] == wanted {
                return d.clone();
            }
            last = d.clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no delivery became {wanted}: {last}");
}

async fn a_reply_without_a_relay_says_so_everywhere(db: Db) {
    let app = TestApp::spawn(db).await;
    app.mail(None).await;
    let t = app.ticket("Where is my parcel?", "ann@shop.test").await;
    let id = t["id"].as_i64().unwrap();
    let (s, _) = app
        .post(
            &format!("/api/v1/tickets/{id}/messages"),
            json!({ "body": "On its way." }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    // On the message in the API...
    let d = delivery_of(&app, id, "waiting").await;
    assert_eq!(d["to"], "ann@shop.test");
    assert!(d["last_error"].as_str().unwrap().contains("relay"), "{d}");
    // ... in the outbox...
    let (_, out) = app.get("/api/v1/outbox?status=trouble").await;
    assert_eq!(out["items"][0]["status"], "waiting", "{out}");
    assert_eq!(out["items"][0]["ticket_number"], t["number"]);
    let (s, e) = app.get("/api/v1/outbox?status=lost").await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_field"))
    );
    // ... and on the console's ticket page, inbox and outbox page.
    let mut admin = crate::console::admin(&app).await;
    let (_, page) = admin.get(&format!("/app/t/{}", t["number"])).await;
    assert!(
        page.contains("has not reached the customer by mail") && page.contains("Waiting for a mail relay"),
        "{page}"
    );
    let (_, inbox) = admin.get("/app").await;
    assert!(
        inbox.contains("Some replies have not reached customers by mail.") && inbox.contains("(1)"),
        "{inbox}"
    );
    let (_, outbox) = admin.get("/app/admin/outbox?show=trouble").await;
    assert!(
        outbox.contains("ann@shop.test") && outbox.contains("no mail relay is set up"),
        "{outbox}"
    );
    // An agent who is not an admin does not get the outbox.
    let (_, agent) = app.agent("kate@acme.test", false).await;
    let (s, _) = app.call(Method::GET, "/api/v1/outbox", &agent, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

async fn a_reply_the_relay_refused_is_retried_and_can_go_again(db: Db) {
    let app = TestApp::spawn(db).await;
    let dead = crate::harness::dead_address();
    app.mail(Some(dead)).await;
    let t = app.ticket("Will it arrive?", "bob@shop.test").await;
    let id = t["id"].as_i64().unwrap();
    app.post(
        &format!("/api/v1/tickets/{id}/messages"),
        json!({ "body": "Here is the answer." }),
    )
    .await;
    let d = delivery_of(&app, id, "retrying").await;
    assert!(
        d["attempts"].as_i64().unwrap() >= 1 && d["last_error"].is_string(),
        "{d}"
    );
    assert!(d["next_attempt_at"].is_string(), "{d}");
    // An admin sends it again now; another workspace's admin cannot.
    let (_, out) = app.get("/api/v1/outbox").await;
    let mail = out["items"][0]["id"].as_i64().unwrap();
    let (_, _, other) = app.workspace("Other Shop").await;
    let (s, _) = app
        .call(Method::POST, &format!("/api/v1/outbox/{mail}/retry"), &other, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .call(Method::POST, &format!("/api/v1/outbox/{mail}/retry"), &app.token, None)
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, _) = app
        .call(Method::POST, "/api/v1/outbox/nonsense/retry", &app.token, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn mail_is_set_up_from_the_console_with_a_test_mail(db: Db) {
    let app = TestApp::spawn(db).await;
    let mut admin = crate::console::admin(&app).await;
    let (s, page) = admin.get("/app/admin/mail").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("mail to customers waits in the outbox"),
        "no relay anywhere: {page}"
    );
    // Without a relay the test mail says why it did not go.
    let (s, back) = admin.post("/app/admin/mail/test", &[("to", "owner@acme.test")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, page) = admin.get(&back).await;
    assert!(
        page.contains("the test mail did not go") && page.contains("no mail relay is set up"),
        "{page}"
    );

    // A relay with a password, set in the console; the page shows it masked
    // and saving the page unchanged keeps the password.
    let (sink, relay) = Sink::start().await;
    let url = format!("smtp://robot:s3cret-pass@{relay}?tls=none");
    let (s, _) = admin
        .post(
            "/app/admin/mail",
            &[("address", "help@acme.test"), ("relay", &url), ("language", "ru")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, page) = admin.get("/app/admin/mail").await;
    assert!(!page.contains("s3cret-pass"), "{page}");
    let shown = crate::console::field(&page, "relay").expect("the relay field");
    let (s, _) = admin
        .post(
            "/app/admin/mail",
            &[("address", "help@acme.test"), ("relay", &shown), ("language", "ru")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let stored = app.store.mail_settings(app.workspace_id).await.unwrap();
    assert_eq!(stored.relay, url, "the password is kept");
    assert_eq!(stored.language, "ru");
    // The API does the same when given back what it showed.
    let (_, got) = app.get("/api/v1/mail").await;
    let (s, _) = app
        .call(Method::PUT, "/api/v1/mail", &app.token, Some(got["settings"].clone()))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(app.store.mail_settings(app.workspace_id).await.unwrap().relay, url);

    // A relay that asks for no password (the sink speaks no AUTH): the test
    // mail goes through it, from the store's address.
    let open = format!("smtp://{relay}?tls=none");
    let (s, _) = admin
        .post(
            "/app/admin/mail",
            &[("address", "help@acme.test"), ("relay", &open), ("language", "ru")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, back) = admin.post("/app/admin/mail/test", &[("to", "owner@acme.test")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, page) = admin.get(&back).await;
    assert!(page.contains("a test mail went to owner@acme.test"), "{page}");
    let got = sink.wait(1).await;
    assert!(
        got[0].contains("help@acme.test") && got[0].contains("owner@acme.test"),
        "{}",
        got[0]
    );
    let (s, r) = app.post("/api/v1/mail/test", json!({ "to": "second@acme.test" })).await;
    assert_eq!((s, r["sent"].as_bool()), (StatusCode::OK, Some(true)), "{r}");
    let (s, r) = app.post("/api/v1/mail/test", json!({ "to": "not an address" })).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{r}");
    // IMAP: nothing set up yet, then a server that is not there.
    let (s, r) = app.post("/api/v1/mail/imap/test", json!({})).await;
    assert_eq!(
        (s, r["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_configured")),
        "{r}"
    );
    let dead = crate::harness::dead_address();
    let (s, _) = admin
        .post(
            "/app/admin/mail",
            &[
                ("relay", &open),
                ("imap_on", "1"),
                ("imap_host", "127.0.0.1"),
                ("imap_port", &dead.port().to_string()),
                ("imap_tls", "none"),
                ("imap_user", "shop"),
                ("imap_password", "pw"),
                ("imap_folder", "INBOX"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, back) = admin.post("/app/admin/mail/imap-test", &[]).await;
    let (_, page) = admin.get(&back).await;
    assert!(
        page.contains("IMAP: 127.0.0.1:") && page.contains("IMAP connect: Connection refused"),
        "{page}"
    );
}

async fn a_new_agent_meets_pages_not_json(db: Db) {
    let app = TestApp::spawn(db).await;
    // `/` leads to the console, which asks to sign in.
    let bare = crate::console::Console::client();
    let r = bare.get(format!("{}/", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/app");
    // Unknown pages are pages for a browser, JSON for the API and scripts.
    let r = bare
        .get(format!("{}/app/nowhere", app.base))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(r.text().await.unwrap().contains("There is no page at this address"));
    let r = bare
        .get(format!("{}/api/v1/nowhere", app.base))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    // An agent opening an admin page is told so on a page, in their language.
    let (_, mut kate) = crate::console::agent(&app, "kate@acme.test", "Kate Agent", false).await;
    let (s, page) = kate.get("/app/admin/mail").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(
        page.contains("Only an admin of the workspace may open this page"),
        "{page}"
    );

    // The visitor's context and browser read as fields, not raw JSON.
    let mut v = Socket::connect(
        &format!("{}/ws?workspace=acme-shop", app.ws_url()),
        Some("http://shop.test"),
    )
    .await
    .unwrap();
    v.send(json!({ "type": "hello", "lang": "en", "page": { "url": "https://shop.test/cart", "title": "Cart" },
        "context": { "cart": { "total": 79.8, "currency": "EUR", "items": [{ "name": "Linen shirt" }, { "name": "Belt" }] } },
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36" }))
        .await;
    v.until("welcome").await;
    v.send(json!({ "type": "message", "client_id": "c1", "body": "Is the belt in stock?" }))
        .await;
    v.until("ack").await;
    let (_, list) = app.get("/api/v1/tickets?channel=chat").await;
    let number = list["items"][0]["number"].as_i64().unwrap();
    let mut admin = crate::console::admin(&app).await;
    let (_, page) = admin.get(&format!("/app/t/{number}")).await;
    assert!(page.contains("Chrome 156 on Linux"), "{page}");
    assert!(
        page.contains("Cart items") && page.contains("Linen shirt, Belt") && page.contains("79.8"),
        "{page}"
    );
    assert!(
        !page.contains("{&quot;") && !page.contains("{\"total"),
        "no raw JSON: {page}"
    );

    // An empty inbox says how to start; the help centre leads to the form and the portal.
    let fresh = TestApp::spawn(Db::Sqlite).await;
    let mut boss = crate::console::admin(&fresh).await;
    let (_, inbox) = boss.get("/app").await;
    assert!(
        inbox.contains("Getting started") && inbox.contains("/app/admin/mail"),
        "{inbox}"
    );
    let hc = fresh.html("/p/acme-shop/kb").await;
    assert!(
        hc.contains("/p/acme-shop/new?lang=") && hc.contains("/p/acme-shop/portal?lang="),
        "{hc}"
    );

    // The agent's time zone, chosen in Settings, reaches every page.
    let (s, _) = admin.post("/app/settings/time-zone", &[("tz", "Europe/Kyiv")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, page) = admin.get("/app").await;
    assert!(page.contains("data-tz=\"Europe/Kyiv\""), "{page}");
    let (s, back) = admin.post("/app/settings/time-zone", &[("tz", "<script>")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(back.contains("err="), "{back}");

    // A label set through the API shows under Admin → Labels, ready to define.
    let t = app.ticket("Label me", "lee@shop.test").await;
    let (s, _) = app
        .patch(&format!("/api/v1/tickets/{}", t["id"]), json!({ "labels": ["vip"] }))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, page) = admin.get("/app/admin/labels").await;
    assert!(
        page.contains("vip") && page.contains("used on tickets, not defined here"),
        "{page}"
    );
    let (s, _) = admin
        .post("/app/admin/labels", &[("name", "vip"), ("color", "#64748b")])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, page) = admin.get("/app/admin/labels").await;
    assert!(
        page.contains("vip") && !page.contains("used on tickets, not defined here"),
        "{page}"
    );
}

async fn scripts_are_compressed_versioned_and_revalidated(db: Db) {
    let app = TestApp::spawn(db).await;
    // No automatic decompression: the test sees what goes over the wire.
    let client = reqwest::Client::builder().no_gzip().no_brotli().build().unwrap();
    let get = |path: String, enc: &'static str, etag: Option<String>| {
        let mut r = client.get(format!("{}{path}", app.base)).header("accept-encoding", enc);
        if let Some(e) = etag {
            r = r.header("if-none-match", e);
        }
        r.send()
    };
    // The snippet's address is a small loader of the versioned widget.
    let r = get("/widget.js".into(), "identity", None).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["cache-control"].to_str().unwrap().contains("max-age=300"));
    let loader = r.text().await.unwrap();
    assert!(loader.len() < 1024, "{loader}");
    let path = loader
        .split('\'')
        .find(|p| p.starts_with("/static/v/"))
        .expect("the versioned address")
        .to_string();
    // The widget itself: compressed, immutable for a year, and 304 when unchanged.
    let plain = get(path.clone(), "identity", None).await.unwrap();
    let size = plain.bytes().await.unwrap().len();
    let br = get(path.clone(), "gzip, deflate, br", None).await.unwrap();
    assert_eq!(br.headers()["content-encoding"], "br");
    assert_eq!(br.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(br.headers()["vary"], "accept-encoding");
    let etag = br.headers()["etag"].to_str().unwrap().to_string();
    let br_size = br.bytes().await.unwrap().len();
    assert!(br_size * 3 < size, "brotli {br_size} of {size}");
    let gz = get(path.clone(), "gzip", None).await.unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let again = get(path.clone(), "br", Some(etag.clone())).await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert!(again.bytes().await.unwrap().is_empty());
    // An old version's address still works, briefly cached.
    let old = get("/static/v/0000000000000000/widget.js".into(), "identity", None)
        .await
        .unwrap();
    assert_eq!(old.status(), StatusCode::OK);
    assert!(old.headers()["cache-control"].to_str().unwrap().contains("max-age=300"));
    let none = get("/static/v/0000000000000000/secrets.txt".into(), "identity", None)
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::NOT_FOUND);
    // Console pages link the versioned styles and script.
    let login = crate::console::unescape(
        &client
            .get(format!("{}/login", app.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert!(
        login.contains("/static/v/") && login.contains("/console.css"),
        "{login}"
    );
}

async fn an_agent_reply_carries_files_by_mail_and_chat(db: Db) {
    let app = TestApp::spawn(db).await;
    let (sink, relay) = Sink::start().await;
    app.mail(Some(relay)).await;
    let mut admin = crate::console::admin(&app).await;
    let pdf = b"%PDF-1.4 an invoice".to_vec();

    // By mail: the file travels with the reply.
    let t = app.ticket("Need an invoice", "ann@shop.test").await;
    let page = format!("/app/t/{}", t["number"]);
    admin.get(&page).await;
    let (s, _) = admin
        .post_files(
            &format!("{page}/messages"),
            &[("kind", "reply"), ("body", "Here it is.")],
            &[("invoice.pdf", "application/pdf", pdf.clone())],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let mails = sink.wait(1).await;
    let mail = mails
        .iter()
        .find(|m| m.contains("Here it is."))
        .expect("the reply's mail");
    assert!(
        mail.contains("filename=\"invoice.pdf\"") && mail.contains("application/pdf"),
        "{mail}"
    );
    let (_, html) = admin.get(&page).await;
    assert!(html.contains("invoice.pdf"), "the console shows the file: {html}");

    // Too many files: refused, nothing posted.
    let six: Vec<_> = (0..6)
        .map(|i| ("f.txt", "text/plain", format!("file {i}").into_bytes()))
        .collect();
    let (s, back) = admin
        .post_files(
            &format!("{page}/messages"),
            &[("kind", "reply"), ("body", "Many")],
            &six,
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(back.contains("err="), "{back}");
    let (_, msgs) = app.get(&format!("/api/v1/tickets/{}/messages", t["id"])).await;
    assert!(!msgs.to_string().contains("Many"), "{msgs}");

    // In the chat: the visitor gets the file with an address to download it from.
    let (mut v, _) = app.visitor("acme-shop", None, 0).await;
    v.send(json!({ "type": "message", "client_id": "c1", "body": "Can I see the size chart?" }))
        .await;
    v.until("ack").await;
    let (_, list) = app.get("/api/v1/tickets?channel=chat").await;
    let chat = format!("/app/t/{}", list["items"][0]["number"]);
    admin.get(&chat).await;
    let png = b"\x89PNG\r\n\x1a\n a chart".to_vec();
    let (s, _) = admin
        .post_files(
            &format!("{chat}/messages"),
            &[("kind", "reply"), ("body", "Our size chart")],
            &[("chart.png", "image/png", png.clone())],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let frame = loop {
        let f = v.until("message").await;
        if f["message"]["from"] == "agent" {
            break f;
        }
    };
    let att = &frame["message"]["attachments"][0];
    assert_eq!(att["name"], "chart.png", "{frame}");
    let r = app
        .client
        .get(format!("{}{}", app.base, att["url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    assert_eq!(r.bytes().await.unwrap().to_vec(), png);
}

async fn the_inbox_pages_both_ways(db: Db) {
    let app = TestApp::spawn(db).await;
    for i in 0..5 {
        app.ticket(&format!("Order {i}"), &format!("c{i}@shop.test")).await;
    }
    let ids = |page: &serde_json::Value| -> Vec<i64> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect()
    };
    let (_, p1) = app.get("/api/v1/tickets?sort=created&limit=2").await;
    assert!(p1["prev_cursor"].is_null(), "{p1}");
    let (_, p2) = app
        .get(&format!(
            "/api/v1/tickets?sort=created&limit=2&cursor={}",
            p1["next_cursor"].as_str().unwrap()
        ))
        .await;
    let (_, p3) = app
        .get(&format!(
            "/api/v1/tickets?sort=created&limit=2&cursor={}",
            p2["next_cursor"].as_str().unwrap()
        ))
        .await;
    assert_eq!(ids(&p3).len(), 1);
    assert!(p3["next_cursor"].is_null());
    // Back from the last page to the second, then to the first.
    let (_, back2) = app
        .get(&format!(
            "/api/v1/tickets?sort=created&limit=2&before={}",
            p3["prev_cursor"].as_str().unwrap()
        ))
        .await;
    assert_eq!(ids(&back2), ids(&p2), "{back2}");
    assert_eq!(back2["next_cursor"], p2["next_cursor"]);
    let (_, back1) = app
        .get(&format!(
            "/api/v1/tickets?sort=created&limit=2&before={}",
            back2["prev_cursor"].as_str().unwrap()
        ))
        .await;
    assert_eq!(ids(&back1), ids(&p1), "{back1}");
    assert!(
        back1["prev_cursor"].is_null(),
        "the first page has none before it: {back1}"
    );
    let (s, e) = app.get("/api/v1/tickets?before=garbage").await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_cursor"))
    );
    // The console offers "Newer" on a later page.
    let mut admin = crate::console::admin(&app).await;
    let (_, html) = admin
        .get(&format!(
            "/app?sort=created&cursor={}",
            p1["next_cursor"].as_str().unwrap()
        ))
        .await;
    assert!(html.contains("rel=\"prev\""), "{html}");
}

async fn the_widget_greets_in_the_visitors_language(db: Db) {
    let app = TestApp::spawn(db).await;
    let mut admin = crate::console::admin(&app).await;
    admin.get("/app/admin/widget").await;
    let (s, _) = admin
        .post(
            "/app/admin/widget",
            &[
                ("greeting", "Hi! How can we help?"),
                ("color", "#2563eb"),
                ("prechat_name", "optional"),
                ("prechat_email", "optional"),
                ("offline", "We are away."),
                ("greeting_ru", "Здравствуйте! Чем помочь?"),
                ("offline_fa", "ما اکنون در دسترس نیستیم."),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let config = |lang: &'static str| {
        let app = &app;
        async move {
            let r = app
                .client
                .get(format!("{}/p/acme-shop/chat/config?lang={lang}", app.base))
                .send()
                .await
                .unwrap();
            r.json::<serde_json::Value>().await.unwrap()
        }
    };
    let ru = config("ru").await;
    assert_eq!(ru["greeting"], "Здравствуйте! Чем помочь?");
    assert_eq!(ru["offline_message"], "We are away.", "an empty field falls back");
    let fa = config("fa").await;
    assert_eq!(fa["greeting"], "Hi! How can we help?");
    assert_eq!(fa["offline_message"], "ما اکنون در دسترس نیستیم.");
    assert_eq!(config("en").await["greeting"], "Hi! How can we help?");
    // Through the API too, and a language we do not speak is refused.
    let (_, w) = app.get("/api/v1/widget").await;
    assert_eq!(w["settings"]["texts"]["ru"]["greeting"], "Здравствуйте! Чем помочь?");
    let (s, e) = app
        .call(
            Method::PUT,
            "/api/v1/widget",
            &app.token,
            Some(json!({ "texts": { "de": { "greeting": "Hallo" } } })),
        )
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_field")),
        "{e}"
    );
}

async fn tickets_change_together_from_the_inbox(db: Db) {
    let app = TestApp::spawn(db).await;
    let a = app.ticket("One", "a@shop.test").await;
    let b = app.ticket("Two", "b@shop.test").await;
    let c = app.ticket("Three", "c@shop.test").await;
    let mut admin = crate::console::admin(&app).await;
    let (_, html) = admin.get("/app").await;
    assert!(
        html.contains(&format!("name=\"t{}\"", a["id"])),
        "the rows can be ticked: {html}"
    );
    let (ta, tb) = (format!("t{}", a["id"]), format!("t{}", b["id"]));
    let (s, back) = admin
        .post(
            "/app/bulk",
            &[
                (ta.as_str(), "on"),
                (tb.as_str(), "on"),
                ("action", "resolved"),
                ("back", "/app?view=open"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(
        back.starts_with("/app?view=open") && back.contains("2%20of%202"),
        "{back}"
    );
    for (t, want) in [(&a, "resolved"), (&b, "resolved"), (&c, "open")] {
        let (_, got) = app.get(&format!("/api/v1/tickets/{}", t["id"])).await;
        assert_eq!(got["status"], want, "{got}");
    }
    let (s, _) = admin
        .post("/app/bulk", &[(ta.as_str(), "on"), ("action", "mine")])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, got) = app.get(&format!("/api/v1/tickets/{}", a["id"])).await;
    assert!(got["assignee_id"].is_i64(), "{got}");
    // Nothing ticked, an unknown action, another workspace's ticket: nothing changes.
    let (_, back) = admin.post("/app/bulk", &[("action", "resolved")]).await;
    assert!(back.contains("err="), "{back}");
    let (_, back) = admin
        .post("/app/bulk", &[(ta.as_str(), "on"), ("action", "explode")])
        .await;
    assert!(back.contains("err="), "{back}");
    let (_, _, other) = app.workspace("Other Shop").await;
    let theirs = app
        .call(
            Method::POST,
            "/api/v1/tickets",
            &other,
            Some(json!({ "subject": "Theirs", "message": "hi", "contact": { "email": "x@y.test" } })),
        )
        .await
        .1;
    let tt = format!("t{}", theirs["id"]);
    let (_, back) = admin
        .post("/app/bulk", &[(tt.as_str(), "on"), ("action", "closed")])
        .await;
    assert!(back.contains("0%20of%201"), "{back}");
    let (_, got) = app
        .call(Method::GET, &format!("/api/v1/tickets/{}", theirs["id"]), &other, None)
        .await;
    assert_eq!(got["status"], "open");
}
