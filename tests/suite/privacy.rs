//! Data rights: a contact's export holds what is stored about them; erasing
//! leaves no personal data in tickets, messages, files, the search index or
//! a backup made afterwards (nor in contacts merged into theirs), while
//! the counts stay for reports.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Db, TestApp};
use crate::search::search_until;

crate::both_backends!(contact_export_and_erase);

const EMAIL: &str = "jane.privacy@shopper.test";
const NAME: &str = "Jane Privacy";

async fn contact_export_and_erase(db: Db) {
    let app = TestApp::spawn(db).await;
    let (s, t) = app
        .post(
            "/api/v1/tickets",
            json!({ "subject": format!("Refund for {EMAIL}"), "message": "My card ends 4242, please refund", "contact": { "email": EMAIL, "name": NAME } }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let ticket = t["id"].as_i64().unwrap();
    let contact = t["contact_id"]
        .as_i64()
        .or_else(|| t["contact"]["id"].as_i64())
        .expect("contact id");
    let (s, _) = app
        .post(
            &format!("/api/v1/tickets/{ticket}/messages"),
            json!({ "body": format!("Hello {NAME}, we refund to {EMAIL} today") }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    search_until(&app, &app.token, "jane.privacy", &[ticket]).await;
    // An older contact of hers, merged into this one, keeps its name
    // until she is erased.
    let old = app.ticket("Earlier order", "jp.earlier@shopper.test").await;
    let (s, m) = app
        .patch(
            &format!("/api/v1/contacts/{}", old["contact"]["id"]),
            json!({ "name": "Janet Earlier-Privacy" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{m}");
    let (s, m) = app
        .post(
            &format!("/api/v1/contacts/{contact}/merge"),
            json!({ "from": old["contact"]["id"] }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{m}");
    let other = app.ticket("Someone else's order", "bob@shopper.test").await;
    let other_id = other["id"].as_i64().unwrap();

    // The export.
    let (s, x) = app.get(&format!("/api/v1/contacts/{contact}/export")).await;
    assert_eq!(s, StatusCode::OK, "{x}");
    assert_eq!(x["contact"]["email"], EMAIL);
    assert_eq!(x["tickets"].as_array().unwrap().len(), 2);
    assert!(x["messages"].to_string().contains("4242"));
    assert!(x["events"].as_array().unwrap().len() >= 2);
    assert!(!x.to_string().contains("bob@shopper.test"));

    // Only admins, only of this workspace.
    let (_, agent) = app.agent("helper@acme.test", false).await;
    let (s, _) = app
        .call(Method::POST, &format!("/api/v1/contacts/{contact}/erase"), &agent, None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, _, stranger) = app.workspace("Other Shop").await;
    for (m, p) in [(Method::GET, "export"), (Method::POST, "erase")] {
        let (s, _) = app
            .call(m, &format!("/api/v1/contacts/{contact}/{p}"), &stranger, None)
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{p}");
    }

    let (s, e) = app.post(&format!("/api/v1/contacts/{contact}/erase"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{e}");

    let (_, c) = app.get(&format!("/api/v1/contacts/{contact}")).await;
    assert_eq!(c["name"], "", "{c}");
    assert!(c["email"].is_null(), "{c}");
    let (_, t) = app.get(&format!("/api/v1/tickets/{ticket}")).await;
    assert!(!t.to_string().contains(EMAIL), "{t}");
    let (_, msgs) = app.get(&format!("/api/v1/tickets/{ticket}/messages")).await;
    let text = msgs.to_string();
    assert!(
        !text.contains(EMAIL) && !text.contains(NAME) && !text.contains("4242"),
        "{text}"
    );
    // Counts stay.
    let (_, list) = app.get("/api/v1/tickets").await;
    assert!(list.to_string().contains(&format!("\"id\":{ticket}")), "{list}");
    // The search index forgets them.
    search_until(&app, &app.token, "jane.privacy", &[]).await;
    search_until(&app, &app.token, "Privacy", &[]).await;
    search_until(&app, &app.token, "4242", &[]).await;
    search_until(&app, &app.token, "Someone", &[other_id]).await;
    // The event says what happened without who.
    let (_, events) = app.get("/api/v1/events?limit=100").await;
    let erased: Vec<_> = events["items"]
        .as_array()
        .or_else(|| events["events"].as_array())
        .into_iter()
        .flatten()
        .filter(|e| e["type"] == "contact.erased")
        .collect();
    assert_eq!(erased.len(), 1, "{events}");
    assert!(!erased[0].to_string().contains("privacy"), "{}", erased[0]);

    // A backup made now holds none of it.
    let mut out = Vec::new();
    app.store.backup(&mut out).await.unwrap();
    let backup = String::from_utf8_lossy(&out).to_lowercase();
    for needle in [EMAIL, "jane privacy", "4242", "janet earlier-privacy", "jp.earlier"] {
        assert!(!backup.contains(needle), "the backup still holds {needle}");
    }
    assert!(backup.contains("bob@shopper.test"));
}
