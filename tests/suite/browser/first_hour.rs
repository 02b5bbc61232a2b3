//! A new store's first hour, in a real browser against the real binary:
//! set up from the command line, sign in over plain http on the machine's
//! own network address (with the explicit opt-in), put the widget on an
//! allowed and on a refused site, chat, answer with a file, answer a mail
//! without a relay (and see why it did not go), set up mail in the console
//! and send the test mail to a local sink. axe-core checks every page on
//! the way, in English and in Persian.

use std::time::{Duration, Instant};

use serde_json::json;

use super::store_site;
use super::webdriver::Driver;
use crate::cli::run;
use crate::harness::{Db, Sink, TestDb};

crate::both_backends!(a_new_stores_first_hour);

const PASSWORD: &str = "a long first-hour passphrase";

/// This machine's address on its network (not loopback), if it has one.
fn network_address() -> Option<std::net::IpAddr> {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    // No packet is sent: connecting a UDP socket only picks the route.
    s.connect("192.0.2.1:9").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

async fn wait(b: &Driver, what: &str, script: &str) -> serde_json::Value {
    b.wait_for(
        what,
        script,
        vec![],
        Duration::from_secs(20),
        "return document.body ? document.body.innerText.slice(0, 2000) : '';",
    )
    .await
}

async fn a_new_stores_first_hour(db: Db) {
    let tdb = TestDb::new(db).await;
    // The command line sets up the workspace, as the README says.
    let slug = run(
        &tdb,
        &[
            "setup",
            "--workspace",
            "Acme Shop",
            "--admin-email",
            "owner@acme.test",
            "--admin-password",
            PASSWORD,
        ],
    );
    assert_eq!(slug, "acme-shop");
    let token = run(&tdb, &["token", "create", "--email", "owner@acme.test"]);

    // Plain http on the network address: only with the explicit opt-in.
    let ip = network_address()
        .map(|i| i.to_string())
        .unwrap_or_else(|| "127.0.0.1".into());
    let port = std::net::TcpListener::bind("0.0.0.0:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://{ip}:{port}");
    let server = crate::cli::serve(
        &tdb,
        &[
            "--listen",
            &format!("0.0.0.0:{port}"),
            "--allow-insecure-http",
            "--public-url",
            &base,
        ],
        &base,
    )
    .await;
    let client = reqwest::Client::new();
    let api = |method: reqwest::Method, path: &str, body: Option<serde_json::Value>| {
        let mut r = client
            .request(method, format!("{base}/api/v1{path}"))
            .bearer_auth(&token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send()
    };

    // Sign in: `/` leads there; the empty inbox says how to start.
    let b = Driver::start().await;
    b.goto(&format!("{base}/")).await;
    wait(
        &b,
        "the sign-in page",
        "return location.pathname === '/login' && !!document.getElementById('password');",
    )
    .await;
    b.execute("document.getElementById('email').value = 'owner@acme.test'; document.getElementById('password').value = arguments[0]; document.querySelector('form button[type=submit]').click(); return true;", vec![json!(PASSWORD)]).await;
    wait(
        &b,
        "the inbox with its first-run hints",
        "return !!document.getElementById('start-h');",
    )
    .await;
    b.accessibility("the first inbox").await;

    // Admin → Widget: the snippet names the public address; allow one site.
    let allowed = store_site(&base, &slug).await;
    let refused = store_site(&base, &slug).await;
    b.goto(&format!("{base}/app/admin/widget")).await;
    let snippet = wait(
        &b,
        "the snippet",
        "var s = document.getElementById('snippet'); return s && s.value;",
    )
    .await;
    assert!(
        snippet.as_str().unwrap().contains(&format!("{base}/widget.js")),
        "{snippet}"
    );
    b.execute("document.querySelector('textarea[name=origins]').value = arguments[0]; document.querySelector('form[action=\"/app/admin/widget\"] button[type=submit]').click(); return true;", vec![json!(allowed.base)]).await;
    wait(
        &b,
        "the widget settings saved",
        "return location.search.indexOf('ok=') >= 0;",
    )
    .await;
    b.accessibility("Admin → Widget").await;

    // The allowed site chats; the refused one shows no widget and says why.
    b.open_store(&format!("{}/shop?lang=en", allowed.base)).await;
    b.send_message("Do you ship to Kyiv?", "Olena", "olena@shop.test").await;
    b.message_id("visitor", "Do you ship to Kyiv?").await;
    b.goto(&format!("{}/shop?lang=en", refused.base)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let hidden = b.execute("var h = document.getElementById('storedesk-widget'); return !h || !h.shadowRoot || !h.shadowRoot.querySelector('[data-sd=launcher]');", vec![]).await;
    assert_eq!(hidden, json!(true), "no widget on a refused site");
    let log = b.console().await;
    assert!(log.contains("not one of the workspace's allowed sites"), "{log}");
    b.goto(&format!("{base}/app/admin/widget")).await;
    let listed = wait(
        &b,
        "the refused site listed",
        "var t = document.body.innerText; return t.indexOf(arguments[0]) >= 0 ? t : null;"
            .replace("arguments[0]", &format!("'{}'", refused.base))
            .as_str(),
    )
    .await;
    assert!(listed.as_str().unwrap().contains(&refused.base));

    // The chat's ticket: the agent answers with a file; the shopper gets it.
    let list: serde_json::Value = api(reqwest::Method::GET, "/tickets?channel=chat", None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let number = list["items"][0]["number"].as_i64().unwrap();
    b.goto(&format!("{base}/app/t/{number}")).await;
    wait(&b, "the ticket page", "return !!document.getElementById('composer');").await;
    b.accessibility("the chat's ticket").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("size-chart.pdf");
    std::fs::write(&file, b"%PDF-1.4 sizes").unwrap();
    b.upload("#composer input[type=file]", &file).await;
    b.execute("document.getElementById('body').value = 'Yes, and here are our sizes.'; document.getElementById('send').click(); return true;", vec![]).await;
    wait(
        &b,
        "the reply with its file",
        "var c = document.getElementById('conversation'); return c && c.innerText.indexOf('size-chart.pdf') >= 0;",
    )
    .await;
    b.open_store(&format!("{}/shop?lang=en", allowed.base)).await;
    b.wait("the file in the chat", "return qa('[data-sd=message][data-from=agent] a').some(function (a) { return a.textContent.indexOf('size-chart.pdf') >= 0; });", vec![]).await;

    // A mail ticket answered without a relay: the reply says why it waits.
    let t: serde_json::Value = api(reqwest::Method::POST, "/tickets", Some(json!({ "subject": "Invoice please", "message": "For order 1042.", "contact": { "email": "buyer@shop.test" } })))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    b.goto(&format!("{base}/app/t/{}", t["number"])).await;
    wait(&b, "the mail ticket", "return !!document.getElementById('composer');").await;
    b.execute("document.getElementById('body').value = 'Attached to your account.'; document.getElementById('send').click(); return true;", vec![]).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let state = b.execute("return document.body.innerText;", vec![]).await;
        if state.as_str().unwrap_or("").contains("Waiting for a mail relay") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the reply never said it waits for a relay: {state}"
        );
        tokio::time::sleep(Duration::from_millis(700)).await;
        b.goto(&format!("{base}/app/t/{}", t["number"])).await;
    }

    // Admin → Mail: a relay (a local sink), then the test mail goes out.
    let (sink, relay) = Sink::start().await;
    b.goto(&format!("{base}/app/admin/mail")).await;
    wait(
        &b,
        "the mail settings",
        "return !!document.querySelector('input[name=relay]');",
    )
    .await;
    b.accessibility("Admin → Mail").await;
    b.execute("document.querySelector('input[name=relay]').value = arguments[0]; document.querySelector('form[action=\"/app/admin/mail\"] button[type=submit]').click(); return true;", vec![json!(format!("smtp://{relay}?tls=none"))]).await;
    wait(
        &b,
        "the mail settings saved",
        "return location.search.indexOf('ok=') >= 0;",
    )
    .await;
    b.execute("document.querySelector('form[action=\"/app/admin/mail/test\"] input[name=to]').value = 'owner@acme.test'; document.querySelector('form[action=\"/app/admin/mail/test\"] button').click(); return true;", vec![]).await;
    wait(
        &b,
        "the test mail sent",
        "return document.body.innerText.indexOf('a test mail went to owner@acme.test') >= 0;",
    )
    .await;
    let got = sink.wait(1).await;
    assert!(got.iter().any(|m| m.contains("owner@acme.test")), "{got:?}");
    // The waiting reply goes too, now that there is a relay (beside the
    // chat's follow-up to the shopper who left).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = sink.wait(1).await;
        if got.iter().any(|m| m.contains("Attached to your account.")) {
            break;
        }
        assert!(Instant::now() < deadline, "the waiting reply never went: {got:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    b.goto(&format!("{base}/app/admin/outbox")).await;
    wait(
        &b,
        "the outbox",
        "return document.body.innerText.indexOf('buyer@shop.test') >= 0;",
    )
    .await;
    b.accessibility("Admin → Outbox").await;

    // The same pages in Persian, right to left.
    b.goto(&format!("{base}/app/settings")).await;
    b.execute("document.getElementById('lang').value = 'fa'; document.querySelector('form[action=\"/app/settings/language\"] button').click(); return true;", vec![]).await;
    wait(
        &b,
        "the console in Persian",
        "return document.documentElement.lang === 'fa';",
    )
    .await;
    for page in [
        "/app",
        "/app/admin/widget",
        "/app/admin/mail",
        "/app/admin/outbox",
        "/app/admin/labels",
        "/app/settings",
    ] {
        b.goto(&format!("{base}{page}")).await;
        wait(&b, page, "return document.documentElement.dir === 'rtl';").await;
        b.accessibility(&format!("{page} in Persian")).await;
    }
    b.open_store(&format!("{}/shop?lang=fa", allowed.base)).await;
    b.quit().await;
    drop(server);
}
