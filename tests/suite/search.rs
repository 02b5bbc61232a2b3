//! Agents' search over tickets and messages (`GET /api/v1/tickets?q=`),
//! answered by each node's search index. The index follows writes in the
//! background (well under a second), so tests ask until the answer comes.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{Db, TestApp};

crate::both_backends!(
    search_finds_word_forms_contacts_subjects_and_changes,
    search_never_shows_other_teams_tickets
);

/// Ticket ids `token` gets for `q`.
pub async fn ids(app: &TestApp, token: &str, q: &str) -> Vec<i64> {
    let path = format!("/api/v1/tickets?q={}", urlencode(q));
    let (s, r) = app.call(Method::GET, &path, token, None).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect()
}

/// Asks until the answer to `q` is `want` (in the list's order: newest
/// first), for up to 10 s; then fails showing the last answer.
pub async fn search_until(app: &TestApp, token: &str, q: &str, want: &[i64]) {
    let mut got = vec![];
    for _ in 0..200 {
        got = ids(app, token, q).await;
        if got == want {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("search for {q:?}: wanted {want:?}, got {got:?}");
}

fn urlencode(q: &str) -> String {
    q.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn open(app: &TestApp, subject: &str, message: &str, email: &str, name: &str) -> Value {
    let (s, t) = app
        .post(
            "/api/v1/tickets",
            json!({ "subject": subject, "message": message, "contact": { "email": email, "name": name } }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    t
}

async fn search_finds_word_forms_contacts_subjects_and_changes(db: Db) {
    let app = TestApp::spawn(db).await;
    let t = &app.token;
    let refund = open(
        &app,
        "Payment question",
        "I paid twice and want a refund for order 1042.",
        "ann.lee@shop.test",
        "Ann Lee",
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let parcel = open(
        &app,
        "Parcel never arrived",
        "Still waiting since Monday.",
        "bob@mail.test",
        "Bob",
    )
    .await;
    let (parcel, parcel_number) = (parcel["id"].as_i64().unwrap(), parcel["number"].as_i64().unwrap());
    let russian = open(
        &app,
        "Возврат денег",
        "Верните деньги за заказы, пожалуйста.",
        "olga@shop.test",
        "Ольга",
    )
    .await["id"]
        .as_i64()
        .unwrap();

    search_until(&app, t, "refunds", &[refund]).await; // another form of a word in the message
    search_until(&app, t, "ann.lee@shop.test", &[refund]).await; // the contact's address
    search_until(&app, t, "Ann", &[refund]).await; // and name
    search_until(&app, t, "parcel", &[parcel]).await; // the subject
    search_until(&app, t, "заказ", &[russian]).await;
    search_until(&app, t, "ольга возврат", &[russian]).await; // words from the contact and the subject
    search_until(&app, t, "1042", &[refund]).await; // a number in a message
    assert_eq!(
        ids(&app, t, &format!("#{parcel_number}")).await,
        [parcel],
        "a ticket by its number"
    );
    assert_eq!(
        ids(&app, t, "refund parcel").await,
        Vec::<i64>::new(),
        "every word must match"
    );
    assert_eq!(
        ids(&app, t, "the").await,
        Vec::<i64>::new(),
        "stop words alone find nothing"
    );

    // Later messages, notes and a new subject are found too, and the old
    // subject no longer is.
    let (s, _) = app
        .post(
            &format!("/api/v1/tickets/{parcel}/messages"),
            json!({ "body": "The courier says the box was damaged." }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = app
        .post(
            &format!("/api/v1/tickets/{refund}/messages"),
            json!({ "body": "VIP customer, be quick", "kind": "note" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    search_until(&app, t, "couriers", &[parcel]).await;
    search_until(&app, t, "vip", &[refund]).await;
    let (s, _) = app
        .patch(
            &format!("/api/v1/tickets/{parcel}"),
            json!({ "subject": "Insurance claim" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    search_until(&app, t, "arrived", &[]).await;
    search_until(&app, t, "insurance claims", &[parcel]).await;
    // The conversation's system events ("Subject changed to ...") are not searched.
    search_until(&app, t, "changed", &[]).await;

    // Another workspace finds none of this.
    let (_, _, other) = app.workspace("Other Store").await;
    assert_eq!(ids(&app, &other, "refund").await, Vec::<i64>::new());
    assert_eq!(ids(&app, &other, "#1").await, Vec::<i64>::new());
}

async fn search_never_shows_other_teams_tickets(db: Db) {
    let app = TestApp::spawn(db).await;
    let (_, billing) = app.post("/api/v1/teams", json!({ "name": "Billing" })).await;
    let (_, delivery) = app.post("/api/v1/teams", json!({ "name": "Delivery" })).await;
    let (billing, delivery) = (billing["id"].as_i64().unwrap(), delivery["id"].as_i64().unwrap());
    let (kate, kate_token) = app.agent("kate@acme.test", true).await;
    assert_eq!(
        app.post(&format!("/api/v1/teams/{billing}/members"), json!({ "user_id": kate }))
            .await
            .0,
        StatusCode::NO_CONTENT
    );

    let mine = open(
        &app,
        "Broken zipper",
        "The zipper broke on day one.",
        "ann@shop.test",
        "Ann",
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let theirs = open(
        &app,
        "Broken zipper again",
        "Second jacket, same zipper.",
        "zoe@private.test",
        "Zoe",
    )
    .await;
    let (theirs, theirs_number) = (theirs["id"].as_i64().unwrap(), theirs["number"].as_i64().unwrap());
    app.patch(&format!("/api/v1/tickets/{mine}"), json!({ "team_id": billing }))
        .await;
    app.patch(&format!("/api/v1/tickets/{theirs}"), json!({ "team_id": delivery }))
        .await;

    search_until(&app, &app.token, "zipper", &[theirs, mine]).await;
    search_until(&app, &app.token, "zoe@private.test", &[theirs]).await;
    // Kate sees her team's ticket, and nothing of the other: not by a word,
    // the other customer's address or name, or the number.
    assert_eq!(ids(&app, &kate_token, "zipper").await, [mine]);
    assert_eq!(ids(&app, &kate_token, "broken zippers").await, [mine]);
    for q in ["zoe@private.test", "Zoe", "jacket", &format!("#{theirs_number}")] {
        assert_eq!(ids(&app, &kate_token, q).await, Vec::<i64>::new(), "{q}");
    }
}

/// A ticket opened through one node is found through another: the other
/// node's index reads it from the database when the event arrives through
/// PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_a_ticket_written_on_one_node_is_found_on_another() {
    let app = TestApp::spawn(Db::Postgres).await;
    let (node_b, _stop) = app.second_node().await;
    let t = open(
        &app,
        "Gift card",
        "The gift card code is refused at checkout.",
        "gift@shop.test",
        "Gil",
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let on_b = |q: &'static str| {
        let (client, base, token) = (app.client.clone(), node_b.clone(), app.token.clone());
        async move {
            let r: Value = client
                .get(format!("{base}/api/v1/tickets?q={q}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            r["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_i64().unwrap())
                .collect::<Vec<i64>>()
        }
    };
    let mut found = vec![];
    for _ in 0..200 {
        found = on_b("refused").await;
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(found, [t], "node B's index got the ticket");
    let (s, _) = app
        .patch(&format!("/api/v1/tickets/{t}"), json!({ "subject": "Voucher" }))
        .await;
    assert_eq!(s, StatusCode::OK);
    for _ in 0..200 {
        found = on_b("voucher").await;
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(found, [t], "and the new subject");
}
