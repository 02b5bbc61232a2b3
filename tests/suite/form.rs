//! The public ticket form and call-back request over HTTP: spam defences,
//! validation, routing by topic, the done page, per-address and burst limits.

use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{Db, TestApp};

crate::both_backends!(
    form_opens_a_ticket_with_a_private_link,
    form_refuses_robots_and_bad_input,
    callback_request_becomes_a_phone_ticket
);

async fn started(app: &TestApp, ago_ms: i64) -> String {
    app.store
        .signed("form", &(storedesk::store::now_ms() - ago_ms).to_string())
        .await
        .unwrap()
}

fn form(started: &str, fields: &[(&str, &str)]) -> Form {
    let mut f = Form::new().text("started", started.to_string()).text("website", "");
    for (k, v) in fields {
        f = f.text(k.to_string(), v.to_string());
    }
    f
}

async fn post(app: &TestApp, path: &str, f: Form) -> (StatusCode, String) {
    let r = app
        .client
        .post(format!("{}{path}", app.base))
        .multipart(f)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn form_opens_a_ticket_with_a_private_link(db: Db) {
    let app = TestApp::spawn(db).await;
    let (_, team) = app.post("/api/v1/teams", json!({ "name": "Billing" })).await;
    let (s, _) = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/widget",
            &app.token,
            Some(json!({ "topics": [{ "name": "Delivery" }, { "name": "Payment", "team_id": team["id"] }] })),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let page = app
        .client
        .get(format!("{}/p/acme-shop/new?lang=ru", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("name=\"website\"") && page.contains("Payment") && page.contains("Напишите нам"));
    assert!(
        !page.contains("@storedesk.test") && !page.contains("acme-shop@"),
        "no store address on the public side"
    );

    let st = started(&app, 5_000).await;
    let pdf = Part::bytes(b"%PDF-1.4 receipt".to_vec())
        .file_name("receipt.pdf")
        .mime_str("application/pdf")
        .unwrap();
    let f = form(
        &st,
        &[
            ("name", "Ann"),
            ("email", "ann@shop.test"),
            ("subject", "Paid but no order"),
            ("message", "The power went out <b>after</b> I paid."),
            ("order", "1042"),
            ("topic", "1"),
        ],
    )
    .part("files", pdf);
    let (s, html) = post(&app, "/p/acme-shop/new", f).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("data-sd=\"ticket-number\">#1<"), "{html}");
    let link = html
        .split("data-sd=\"private-link\" href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&#x2f;", "/");
    let (_, list) = app.get("/api/v1/tickets?channel=form").await;
    let t = &list["items"][0];
    assert_eq!(t["subject"], "Paid but no order");
    assert_eq!(t["team_id"], team["id"], "the topic routed it to its team");
    let (_, msgs) = app.get(&format!("/api/v1/tickets/{}/messages", t["id"])).await;
    let body = msgs["items"][0]["body"].as_str().unwrap();
    assert!(body.contains("Order: 1042") && body.contains("Topic: Payment"));
    // The private page opens; the confirmation is queued with the ticket.
    assert!(link.starts_with(&app.base), "a whole address to keep: {link}");
    let r = app.client.get(&link).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("&lt;b&gt;after&lt;"), "inert HTML");
    app.delivered().await;
    let outbox = app.store.outbox_states(app.workspace_id).await.unwrap();
    assert_eq!(outbox[0].0, "ann@shop.test");
    assert!(outbox[0].1.contains("[#1]"));
}

async fn form_refuses_robots_and_bad_input(db: Db) {
    let app = TestApp::spawn(db).await;
    let ok = [
        ("name", "Bob"),
        ("email", "bob@shop.test"),
        ("subject", "Hi"),
        ("message", "Hello"),
    ];
    let st = started(&app, 5_000).await;
    // One address may open five tickets an hour by form.
    let mut codes = vec![];
    for i in 0..7 {
        let subject = format!("Question {i}");
        codes.push(
            post(
                &app,
                "/p/acme-shop/new",
                form(
                    &st,
                    &[
                        ("name", "Bob"),
                        ("email", "bob@shop.test"),
                        ("subject", &subject),
                        ("message", "m"),
                    ],
                ),
            )
            .await
            .0,
        );
    }
    assert_eq!(codes.iter().filter(|c| **c == StatusCode::OK).count(), 5, "{codes:?}");
    assert!(
        codes[5..].iter().all(|c| *c == StatusCode::UNPROCESSABLE_ENTITY),
        "{codes:?}"
    );

    // Too fast, a filled honeypot, a forged or missing time stamp.
    let (s, html) = post(&app, "/p/acme-shop/new", form(&started(&app, 500).await, &ok)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("role=\"alert\""));
    let (s, _) = post(
        &app,
        "/p/acme-shop/new",
        form(&started(&app, 5_000).await, &ok).text("website", "http://spam.test"),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let forged = format!("{}.{}", storedesk::store::now_ms() - 5_000, "0".repeat(40));
    assert_eq!(
        post(&app, "/p/acme-shop/new", form(&forged, &ok)).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // Missing fields, a bad address, oversize text and files, wrong types.
    let st = started(&app, 5_000).await;
    for fields in [
        vec![("name", "Bob"), ("email", "bob@shop.test"), ("message", "no subject")],
        vec![
            ("name", "Bob"),
            ("email", "not-an-email"),
            ("subject", "s"),
            ("message", "m"),
        ],
        vec![
            ("name", "Bob"),
            ("email", "bob@shop.test"),
            ("subject", "s"),
            ("message", ""),
        ],
    ] {
        let (s, html) = post(&app, "/p/acme-shop/new", form(&st, &fields)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        assert!(html.contains("role=\"alert\""));
    }
    let long = "x".repeat(10_001);
    assert_eq!(
        post(
            &app,
            "/p/acme-shop/new",
            form(
                &st,
                &[
                    ("name", "B"),
                    ("email", "b@shop.test"),
                    ("subject", "s"),
                    ("message", &long)
                ]
            )
        )
        .await
        .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let exe = Part::bytes(b"MZ".to_vec())
        .file_name("x.exe")
        .mime_str("application/x-msdownload")
        .unwrap();
    assert_eq!(
        post(&app, "/p/acme-shop/new", form(&st, &ok).part("files", exe))
            .await
            .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let big = Part::bytes(vec![0u8; 10 * 1024 * 1024 + 10])
        .file_name("big.png")
        .mime_str("image/png")
        .unwrap();
    let r = app
        .client
        .post(format!("{}/p/acme-shop/new", app.base))
        .multipart(form(&st, &ok).part("files", big))
        .send()
        .await;
    assert!(
        r.map(|r| r.status() != StatusCode::OK).unwrap_or(true),
        "over 10 MiB is refused"
    );
    let (_, list) = app.get("/api/v1/tickets").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 5, "nothing more was filed");
    assert_eq!(
        app.client
            .get(format!("{}/p/nope/new", app.base))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    // A burst of page loads from one address meets the limit.
    let mut limited = 0;
    for _ in 0..120 {
        if app
            .client
            .get(format!("{}/p/acme-shop/new", app.base))
            .send()
            .await
            .unwrap()
            .status()
            == StatusCode::TOO_MANY_REQUESTS
        {
            limited += 1;
        }
    }
    eprintln!("burst of 120 form loads from one address: {} refused with 429", limited);
    assert!(limited > 0);
}

async fn callback_request_becomes_a_phone_ticket(db: Db) {
    let app = TestApp::spawn(db).await;
    let page = app
        .client
        .get(format!("{}/p/acme-shop/callback?lang=fa", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("dir=\"rtl\"") && page.contains("name=\"phone\""));
    let st = started(&app, 5_000).await;
    let (s, _) = post(
        &app,
        "/p/acme-shop/callback",
        form(&st, &[("name", "Olga"), ("phone", "call me maybe")]),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, html) = post(
        &app,
        "/p/acme-shop/callback",
        form(
            &st,
            &[
                ("name", "Olga"),
                ("phone", "+380 44 123-45-67"),
                ("when", "after 18:00"),
                ("subject", "Wrong size"),
            ],
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{html}");
    let (_, list) = app.get("/api/v1/tickets?channel=phone").await;
    let t = &list["items"][0];
    assert!(t["subject"].as_str().unwrap().contains("Wrong size"));
    let (_, msgs) = app.get(&format!("/api/v1/tickets/{}/messages", t["id"])).await;
    let body = msgs["items"][0]["body"].as_str().unwrap();
    assert!(
        body.contains("+380 44 123-45-67") && body.contains("after 18:00"),
        "{body}"
    );
    // The agent logs the call and resolves it.
    app.post(
        &format!("/api/v1/tickets/{}/messages", t["id"]),
        json!({ "body": "Called: exchanged for size L", "kind": "note" }),
    )
    .await;
    let (s, t2) = app
        .patch(&format!("/api/v1/tickets/{}", t["id"]), json!({ "status": "resolved" }))
        .await;
    assert_eq!((s, t2["status"].as_str()), (StatusCode::OK, Some("resolved")));
    // The same number again is the same contact.
    let (_, _) = post(
        &app,
        "/p/acme-shop/callback",
        form(&st, &[("name", "Olga"), ("phone", "+380 44 123-45-67")]),
    )
    .await;
    let (_, list) = app.get("/api/v1/tickets?channel=phone").await;
    assert_eq!(list["items"][0]["contact"]["id"], list["items"][1]["contact"]["id"]);
}

crate::both_backends!(widget_call_back_request_gets_json);

/// The widget sends the call-back form from the store's page and reads JSON.
async fn widget_call_back_request_gets_json(db: Db) {
    let app = TestApp::spawn(db).await;
    let cfg: serde_json::Value = app
        .client
        .get(format!("{}/p/acme-shop/chat/config?lang=uk", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stamp = cfg["form_started"].as_str().unwrap().to_string();
    assert_eq!(cfg["texts"]["callback-open"], "Передзвоніть мені");
    let send = |f: Form| {
        app.client
            .post(format!("{}/p/acme-shop/callback", app.base))
            .header("accept", "application/json")
            .header("origin", "http://shop.test")
            .multipart(f)
            .send()
    };
    // Too soon after the widget loaded: refused, with the reason.
    let r = send(form(&stamp, &[("name", "Ivan"), ("phone", "+380 67 000 11 22")]))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "refused");
    tokio::time::sleep(std::time::Duration::from_millis(3_100)).await;
    let r = send(form(
        &stamp,
        &[("name", "Ivan"), ("phone", "+380 67 000 11 22"), ("when", "ранок")],
    ))
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["number"], 1);
    assert!(v["link"].as_str().unwrap().contains("/p/acme-shop/t/1-"));
    let (_, list) = app.get("/api/v1/tickets?channel=phone").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}
