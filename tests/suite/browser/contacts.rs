//! Contacts in a real browser: the list, a contact's page with merge
//! candidates, blocking from its button, the ticket page with "Merge
//! into…" and "Split off", and the public address-proof page. axe-core
//! checks each.

use std::time::Duration;

use serde_json::{json, Value};

use super::webdriver::Driver;
use crate::console::{admin, PASSWORD};
use crate::harness::{Db, TestApp};

crate::both_backends!(contacts_in_a_real_browser);

const EXPLAIN: &str =
    "return { url: location.href, text: document.body ? document.body.innerText.slice(0, 1500) : null };";

async fn wait(b: &Driver, what: &str, script: &str, args: Vec<Value>) -> Value {
    b.wait_for(what, script, args, Duration::from_secs(15), EXPLAIN).await
}

async fn loaded(b: &Driver, path: &str) {
    wait(
        b,
        path,
        "return location.pathname === arguments[0] && document.readyState === 'complete';",
        vec![json!(path)],
    )
    .await;
}

async fn contacts_in_a_real_browser(db: Db) {
    let app = TestApp::spawn(db).await;
    let _boss = admin(&app).await;
    let a = app.ticket("Lost parcel", "ann@shop.test").await;
    let b = app.ticket("Parcel again", "ann.lee@home.test").await;
    let ann = a["contact"]["id"].as_i64().unwrap();

    let d = Driver::start().await;
    d.goto(&format!("{}/login", app.base)).await;
    d.execute("document.getElementById('email').value = 'boss@acme.test'; document.getElementById('password').value = arguments[0]; return true;", vec![json!(PASSWORD)]).await;
    d.execute(
        "setTimeout(function () { document.querySelector('form button[type=submit]').click(); }, 0); return true;",
        vec![],
    )
    .await;
    loaded(&d, "/app").await;

    d.goto(&format!("{}/app/contacts", app.base)).await;
    loaded(&d, "/app/contacts").await;
    d.accessibility("the contacts list").await;

    let page = format!("/app/contacts/{ann}");
    d.goto(&format!("{}{page}?q=home.test", app.base)).await;
    loaded(&d, &page).await;
    let found = d
        .execute("return document.querySelectorAll('input[name=from]').length;", vec![])
        .await;
    assert_eq!(found, json!(1), "one merge candidate");
    d.accessibility("a contact's page with merge candidates").await;

    // Block from the button: the page comes back marked.
    d.execute(
        "setTimeout(function () { document.querySelector('[data-sd=block]').click(); }, 0); return true;",
        vec![],
    )
    .await;
    wait(
        &d,
        "the unblock button",
        "return !!document.querySelector('[data-sd=unblock]');",
        vec![],
    )
    .await;
    let (_, c) = app.get(&format!("/api/v1/contacts/{ann}")).await;
    assert!(c["blocked_at"].is_string(), "{c}");
    d.accessibility("a blocked contact's page").await;

    let t = format!("/app/t/{}", b["number"]);
    d.goto(&format!("{}{t}", app.base)).await;
    loaded(&d, &t).await;
    assert_eq!(
        d.execute(
            "return !!document.getElementById('ctl-merge') && document.querySelectorAll('form.split').length > 0;",
            vec![]
        )
        .await,
        json!(true)
    );
    d.accessibility("the ticket page with merge and split").await;

    d.goto(&format!("{}/app?view=spam", app.base)).await;
    loaded(&d, "/app").await;
    d.accessibility("the Spam view").await;

    // The public page a proof link opens, when spent or unknown.
    d.goto(&format!("{}/p/acme-shop/verify/unknown-token", app.base)).await;
    wait(
        &d,
        "the proof page",
        "return !!document.querySelector('[data-sd=verify-gone]');",
        vec![],
    )
    .await;
    d.accessibility("the address-proof page").await;
    d.quit().await;
}
