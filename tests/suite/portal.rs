//! "My requests": sign-in by a one-time link, every ticket of the address
//! across channels, sessions, and no way to probe addresses.

use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{Db, TestApp};

crate::both_backends!(magic_link_signs_in_once_and_lists_all_requests);

async fn magic_link_signs_in_once_and_lists_all_requests(db: Db) {
    let app = TestApp::spawn(db).await;
    app.ticket("Paid but no order", "ann@shop.test").await;
    app.ticket("White instead of black", "ann@shop.test").await;
    app.ticket("Someone else's", "bob@shop.test").await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let portal = format!("{}/p/acme-shop/portal", app.base);

    // Known and unknown addresses get the same page; only the known one gets mail.
    let a = client
        .post(&portal)
        .form(&[("email", "ann@shop.test")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let b = client
        .post(&portal)
        .form(&[("email", "nobody@shop.test")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(a.contains("data-sd=\"portal-sent\"") && b.contains("data-sd=\"portal-sent\""));
    let mails: Vec<_> = app.store.outbox(app.workspace_id).await.unwrap();
    let login: Vec<_> = mails.iter().filter(|m| m.2.contains("/portal/login/")).collect();
    assert_eq!(login.len(), 1, "{mails:?}");
    assert_eq!(login[0].0, "ann@shop.test");
    let url = login[0]
        .2
        .split_whitespace()
        .find(|w| w.contains("/portal/login/"))
        .unwrap()
        .to_string();

    // Signed in by the link: a session cookie, then the list.
    let r = client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    // Secure only when the public URL is https (the test server's is http).
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && !cookie.contains("Secure"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_string();
    let html = client
        .get(&portal)
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(html.matches("data-sd=\"portal-ticket\"").count(), 2, "{html}");
    assert!(html.contains("Paid but no order") && !html.contains("Someone else"));
    // Each opens its private page.
    let html = html.replace("&#x2f;", "/");
    let link = html
        .split("href=\"")
        .find(|s| s.starts_with("/p/acme-shop/t/"))
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        app.client
            .get(format!("{}{link}", app.base))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    // The link works once; a guessed one never.
    assert_eq!(client.get(&url).send().await.unwrap().status(), StatusCode::GONE);
    assert_eq!(
        client
            .get(format!("{portal}/login/guessed"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::GONE
    );
    // A forged cookie shows the sign-in form, not tickets.
    let html = client
        .get(&portal)
        .header("cookie", "sd_portal=forged")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(html.matches("portal-ticket").count(), 0);
    // Signing out ends the session.
    client
        .post(format!("{portal}/logout"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    let html = client
        .get(&portal)
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(html.matches("portal-ticket").count(), 0);

    // An expired link does not work.
    let ws = app.store.workspace(app.workspace_id).await.unwrap();
    let email = storedesk::domain::Email::parse("e", "ann@shop.test").unwrap();
    assert!(app.store.portal_request(&ws, &email, &app.base, -1).await.unwrap());
    let mails = app.store.outbox(app.workspace_id).await.unwrap();
    let expired = mails
        .iter()
        .rev()
        .find(|m| m.2.contains("/portal/login/"))
        .unwrap()
        .2
        .split_whitespace()
        .find(|w| w.contains("/portal/login/"))
        .unwrap()
        .to_string();
    assert_eq!(client.get(&expired).send().await.unwrap().status(), StatusCode::GONE);
    let _ = json!({});
}
