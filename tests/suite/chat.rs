//! The live chat protocol over real WebSockets: ack after commit,
//! idempotent resend, resume after reconnect, agent stream, bad input.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message as Ws;

use crate::harness::{Db, Socket, TestApp};

crate::both_backends!(
    visitor_and_agent_talk_in_realtime,
    resend_is_idempotent_and_reconnect_resumes,
    bad_input_is_refused_and_server_unharmed,
    offline_chat_gets_autoreply_and_followup_mail
);

async fn visitor_and_agent_talk_in_realtime(db: Db) {
    let app = TestApp::spawn(db).await;
    let mut agent = app.agent_stream(&app.token).await;
    let (mut v, welcome) = app.visitor("acme-shop", None, 0).await;
    let token = welcome["visitor_token"].as_str().unwrap().to_string();
    assert!(token.starts_with("svt_"));
    let visitor = agent.until("visitor").await;
    assert_eq!(visitor["online"], true);
    assert_eq!(welcome["online"], true, "an agent stream is open");
    assert_eq!(welcome["messages"], json!([]));

    v.send(json!({ "type": "message", "client_id": "c1", "body": "Is this T-shirt available in white?" }))
        .await;
    let ack = v.until("ack").await;
    assert_eq!(ack["client_id"], "c1");
    let id = ack["id"].as_i64().unwrap();
    // Acknowledged means committed: the API sees it now.
    let (_, list) = app.get("/api/v1/tickets?channel=chat").await;
    let ticket = &list["items"][0];
    assert_eq!(ticket["channel"], "chat");
    assert_eq!(ticket["subject"], "Is this T-shirt available in white?");
    let tid = ticket["id"].as_i64().unwrap();
    let (_, msgs) = app.get(&format!("/api/v1/tickets/{tid}/messages")).await;
    assert_eq!(msgs["items"][0]["id"], id);

    let created = agent.until("ticket_created").await;
    assert_eq!(created["ticket"]["id"], tid);
    let m = agent.until("message").await;
    assert_eq!(m["message"]["id"], id);

    // Typing both ways, read marks, then the agent's reply reaches the widget.
    v.send(json!({ "type": "typing", "on": true })).await;
    let t = agent.until("typing").await;
    assert_eq!(
        (t["from"].as_str(), t["ticket_id"].as_i64()),
        (Some("visitor"), Some(tid))
    );
    agent
        .send(json!({ "type": "typing", "ticket_id": tid, "on": true }))
        .await;
    let t = v.until("typing").await;
    assert_eq!(t["on"], true);
    agent
        .send(json!({ "type": "read", "ticket_id": tid, "up_to": id }))
        .await;
    assert_eq!(v.until("read").await["up_to"], id);

    let (s, reply) = app
        .post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({ "body": "Yes, size M in white is in stock." }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let got = v.until("message").await;
    assert_eq!(got["message"]["id"], reply["id"]);
    assert_eq!(got["message"]["from"], "agent");
    assert_eq!(got["message"]["body"], "Yes, size M in white is in stock.");
    // A note never reaches the visitor.
    app.post(
        &format!("/api/v1/tickets/{tid}/messages"),
        json!({ "body": "internal: check stock", "kind": "note" }),
    )
    .await;
    v.send(json!({ "type": "read", "up_to": reply["id"] })).await;
    let r = agent.until("visitor_read").await;
    assert_eq!(r["up_to"], reply["id"]);
    v.send(json!({ "type": "ping" })).await;
    let f = v.next().await.unwrap();
    assert_eq!(f["type"], "pong", "the note was not sent to the visitor: {f}");

    // The page context reaches the agent side.
    let (_, ctx) = app.get(&format!("/api/v1/tickets/{tid}")).await;
    assert_eq!(ctx["channel"], "chat");
    let state = app
        .store
        .visitor_state(app.workspace_id, ticket["contact"]["id"].as_i64().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state["context"]["product"]["sku"], "TS-1");
    assert_eq!(state["page"]["title"], "T-shirt");
}

async fn resend_is_idempotent_and_reconnect_resumes(db: Db) {
    let app = TestApp::spawn(db).await;
    let (mut v, welcome) = app.visitor("acme-shop", None, 0).await;
    let token = welcome["visitor_token"].as_str().unwrap().to_string();
    v.send(json!({ "type": "message", "client_id": "same", "body": "Payment taken, no order" }))
        .await;
    let first = v.until("ack").await["id"].as_i64().unwrap();
    drop(v);
    // The client did not see the ack (say) and resends after reconnecting.
    let (mut v, welcome) = app.visitor("acme-shop", Some(&token), 0).await;
    assert_eq!(welcome["visitor_token"], token.as_str(), "same visitor");
    let mine: Vec<_> = welcome["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["from"] == "visitor")
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["client_id"], "same");
    v.send(json!({ "type": "message", "client_id": "same", "body": "Payment taken, no order" }))
        .await;
    assert_eq!(v.until("ack").await["id"].as_i64().unwrap(), first);
    drop(v);
    let (_, list) = app.get("/api/v1/tickets?channel=chat").await;
    let tid = list["items"][0]["id"].as_i64().unwrap();
    let (_, msgs) = app.get(&format!("/api/v1/tickets/{tid}/messages")).await;
    assert_eq!(
        msgs["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["author_type"] == "contact")
            .count(),
        1,
        "stored once"
    );

    // While the visitor is away, two replies; on return, exactly those, in order.
    let mut ids = vec![];
    for body in ["We see the payment.", "Your order is #1042."] {
        ids.push(
            app.post(&format!("/api/v1/tickets/{tid}/messages"), json!({ "body": body }))
                .await
                .1["id"]
                .clone(),
        );
    }
    let (_, welcome) = app.visitor("acme-shop", Some(&token), first).await;
    // (Nobody was online, so the away auto-reply came first.)
    let got: Vec<_> = welcome["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["from"] == "agent")
        .map(|m| m["id"].clone())
        .collect();
    assert_eq!(got, ids);
    assert_eq!(welcome["messages"][0]["from"], "system");
    // A wrong token is a new visitor who sees nothing of the other's.
    let (_, stranger) = app.visitor("acme-shop", Some("svt_guessed"), 0).await;
    assert_ne!(stranger["visitor_token"], token.as_str());
    assert_eq!(stranger["messages"], json!([]));
}

async fn bad_input_is_refused_and_server_unharmed(db: Db) {
    let app = TestApp::spawn(db).await;
    let url = app.ws_url();
    let refused = |r: Result<Socket, tokio_tungstenite::tungstenite::Error>| match r {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => 101,
    };
    assert_eq!(
        refused(Socket::connect(&format!("{url}/ws?workspace=no-such-shop"), None).await),
        404
    );
    assert_eq!(refused(Socket::connect(&format!("{url}/ws"), None).await), 400);
    let (s, _) = app
        .call(
            Method::PUT,
            "/api/v1/widget",
            &app.token,
            Some(json!({ "allowed_origins": ["https://acme.test"] })),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        refused(Socket::connect(&format!("{url}/ws?workspace=acme-shop"), Some("https://evil.test")).await),
        403
    );
    assert_eq!(
        refused(Socket::connect(&format!("{url}/ws?workspace=acme-shop"), Some("https://acme.test")).await),
        101
    );
    let (s, v) = app
        .call(
            Method::PUT,
            "/api/v1/widget",
            &app.token,
            Some(json!({ "allowed_origins": ["acme.test/"] })),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_field"))
    );
    app.call(Method::PUT, "/api/v1/widget", &app.token, Some(json!({})))
        .await;

    // The first frame must be hello.
    let mut s = Socket::connect(&format!("{url}/ws?workspace=acme-shop"), None)
        .await
        .unwrap();
    s.send(json!({ "type": "message", "client_id": "x", "body": "hi" }))
        .await;
    assert_eq!(s.next().await.unwrap()["code"], "hello_required");
    assert!(s.next().await.is_none(), "closed after");

    // Malformed frames get an error and the socket stays.
    let (mut s, _) = app.visitor("acme-shop", None, 0).await;
    s.send_raw(Ws::Text("{not json".into())).await.unwrap();
    assert_eq!(s.next().await.unwrap()["code"], "bad_frame");
    s.send(json!({ "type": "message", "client_id": "", "body": "x" })).await;
    assert_eq!(s.next().await.unwrap()["code"], "invalid_field");
    s.send(json!({ "type": "message", "client_id": "big", "body": "x".repeat(20_000) }))
        .await;
    assert_eq!(s.next().await.unwrap()["code"], "invalid_field");
    s.send(json!({ "type": "contact", "email": "not-an-email" })).await;
    assert_eq!(s.next().await.unwrap()["code"], "invalid_field");
    s.send(json!({ "type": "ping" })).await;
    assert_eq!(s.next().await.unwrap()["type"], "pong");
    // An oversize frame closes the socket.
    let _ = s.send_raw(Ws::Text("y".repeat(200_000).into())).await;
    assert!(s.next().await.is_none());

    // A flood is cut off.
    let (mut s, _) = app.visitor("acme-shop", None, 0).await;
    let mut limited = false;
    for i in 0..200 {
        if s.send_raw(Ws::Text(json!({ "type": "ping", "n": i }).to_string().into()))
            .await
            .is_err()
        {
            break;
        }
    }
    while let Some(f) = s.next().await {
        if f["code"] == "rate_limited" {
            limited = true;
        }
    }
    assert!(limited, "a flood of frames is refused");
    let r = app.client.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Unknown workspace on the public config is a clear 404.
    let r = app
        .client
        .get(format!("{}/p/nope/chat/config", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "unknown_workspace");
}

async fn offline_chat_gets_autoreply_and_followup_mail(db: Db) {
    let app = TestApp::spawn(db).await;
    let (s, _) = app
        .call(
            Method::PUT,
            "/api/v1/widget",
            &app.token,
            Some(json!({ "offline_message": "We are closed; we answer by e-mail.", "prechat_email": "required" })),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let cfg: serde_json::Value = app
        .client
        .get(format!("{}/p/acme-shop/chat/config?lang=fa", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            cfg["online"].as_bool(),
            cfg["dir"].as_str(),
            cfg["prechat"]["email"].as_str()
        ),
        (Some(false), Some("rtl"), Some("required"))
    );
    assert!(cfg["texts"]["title"].is_string());

    let (mut v, _) = app.visitor("acme-shop", None, 0).await;
    v.send(json!({ "type": "contact", "name": "Olga", "email": "olga@shop.test" }))
        .await;
    v.until("contact_saved").await;
    v.send(json!({ "type": "message", "client_id": "n1", "body": "Question at 9 pm" }))
        .await;
    v.until("ack").await;
    let auto = v.until("message").await;
    let auto = if auto["message"]["from"] == "visitor" {
        v.until("message").await
    } else {
        auto
    };
    assert_eq!(auto["message"]["from"], "system");
    assert_eq!(auto["message"]["body"], "We are closed; we answer by e-mail.");
    drop(v);
    // The visitor is gone; the agent's reply is queued as an e-mail.
    let (_, list) = app.get("/api/v1/tickets?channel=chat").await;
    let t = &list["items"][0];
    assert_eq!(t["contact"]["email"], "olga@shop.test");
    assert!(t["first_response_at"].is_null(), "an auto-reply is not a response");
    let tid = t["id"].as_i64().unwrap();
    let mut queued = vec![];
    for _ in 0..50 {
        // The socket's close is recorded as it ends; wait for it.
        app.post(
            &format!("/api/v1/tickets/{tid}/messages"),
            json!({ "body": "Good morning! Here is the answer." }),
        )
        .await;
        queued = app.store.outbox(app.workspace_id).await.unwrap();
        if !queued.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(queued[0].0, "olga@shop.test");
    assert!(queued[0].1.contains(&format!("[#{}]", t["number"])));
    assert!(queued[0].2.contains("Here is the answer"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_postgres_see_each_other() {
    let app = TestApp::spawn(Db::Postgres).await;
    let (node_b, _stop) = app.second_node().await;
    // The agent watches node B; the visitor talks to node A.
    let mut agent = Socket::connect(
        &format!(
            "{}/api/v1/stream?token={}",
            node_b.replace("http://", "ws://"),
            app.token
        ),
        None,
    )
    .await
    .unwrap();
    agent.until("hello").await;
    let (mut v, welcome) = app.visitor("acme-shop", None, 0).await;
    assert_eq!(welcome["online"], true, "presence is shared through the database");
    v.send(json!({ "type": "message", "client_id": "x1", "body": "Hello from node A" }))
        .await;
    let id = v.until("ack").await["id"].clone();
    let m = agent.until("message").await;
    assert_eq!(m["message"]["id"], id);
    let tid = m["ticket_id"].as_i64().unwrap();
    // The reply goes in through node B's API and out through node A's socket.
    let r = app
        .client
        .post(format!("{node_b}/api/v1/tickets/{tid}/messages"))
        .bearer_auth(&app.token)
        .json(&json!({ "body": "Hello from node B" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let got = v.until("message").await;
    let got = if got["message"]["from"] == "visitor" {
        v.until("message").await
    } else {
        got
    };
    assert_eq!(got["message"]["body"], "Hello from node B");
    agent
        .send(json!({ "type": "typing", "ticket_id": tid, "on": true }))
        .await;
    assert_eq!(v.until("typing").await["on"], true);
}

crate::both_backends!(attachments_are_limited_and_served_as_downloads);

async fn attachments_are_limited_and_served_as_downloads(db: Db) {
    let app = TestApp::spawn(db).await;
    let mut agent = app.agent_stream(&app.token).await;
    let (mut v, welcome) = app.visitor("acme-shop", None, 0).await;
    let token = welcome["visitor_token"].as_str().unwrap().to_string();
    let png = b"\x89PNG\r\n\x1a\n fake image bytes".to_vec();
    let up = |ct: &str, body: Vec<u8>, tok: &str| {
        app.client
            .post(format!("{}/p/acme-shop/chat/attachments?name=photo.png", app.base))
            .bearer_auth(tok)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    assert_eq!(
        up("image/png", png.clone(), "svt_wrong").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        up("text/html", b"<script>alert(1)</script>".to_vec(), &token)
            .await
            .unwrap()
            .status(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    let big = up("image/png", vec![0u8; 10 * 1024 * 1024 + 1], &token).await;
    assert!(
        big.map(|r| r.status() == StatusCode::PAYLOAD_TOO_LARGE).unwrap_or(true),
        "over 10 MiB is refused"
    );
    let r = up("image/png", png.clone(), &token).await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let a: serde_json::Value = r.json().await.unwrap();
    v.send(json!({ "type": "message", "client_id": "att", "body": "", "attachment_ids": [a["id"]] }))
        .await;
    let ack = v.until("ack").await;
    let m = v.until("message").await;
    assert_eq!(m["message"]["id"], ack["id"]);
    assert_eq!(m["message"]["attachments"][0]["name"], "photo.png");
    agent.until("message").await;
    // Downloads are attachments, never pages; the secret is required.
    let url = format!("{}{}", app.base, a["url"].as_str().unwrap());
    let r = app.client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.bytes().await.unwrap().to_vec(), png);
    let wrong = url.rsplit_once('/').unwrap().0.to_string() + "/sdk_guess";
    assert_eq!(
        app.client.get(&wrong).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    // Another visitor cannot send someone else's upload.
    let (mut other, _) = app.visitor("acme-shop", None, 0).await;
    other
        .send(json!({ "type": "message", "client_id": "steal", "body": "", "attachment_ids": [a["id"]] }))
        .await;
    assert_eq!(other.until("error").await["code"], "invalid_field");
}
