//! A ticket's kind in a real browser: the select saves at once, except a
//! missing feature, which first shows the feature field with the names
//! used before; and the rule editor's set-kind row shows the feature only
//! for a missing feature. axe-core checks each state.

use std::time::Duration;

use serde_json::{json, Value};

use super::webdriver::Driver;
use crate::console::{admin, PASSWORD};
use crate::harness::{Db, TestApp};

crate::both_backends!(ticket_kind_in_a_real_browser);

const EXPLAIN: &str =
    "return { url: location.href, text: document.body ? document.body.innerText.slice(0, 1500) : null };";

async fn wait(b: &Driver, what: &str, script: &str, args: Vec<Value>) -> Value {
    b.wait_for(what, script, args, Duration::from_secs(15), EXPLAIN).await
}

/// Sets a field the way choosing does, with its change event, after the
/// script returns (the change may submit the form).
async fn choose(b: &Driver, selector: &str, value: &str) {
    let ok = b
        .execute(
            "var e = document.querySelector(arguments[0]); if (!e) return false; e.value = arguments[1];\n\
             setTimeout(function () { e.dispatchEvent(new Event('change', { bubbles: true })); }, 0); return e.value === arguments[1];",
            vec![json!(selector), json!(value)],
        )
        .await;
    assert_eq!(ok, true, "{value} in {selector}");
}

async fn shown(b: &Driver, selector: &str) -> bool {
    b.execute(
        "var e = document.querySelector(arguments[0]); return !!e && e.getClientRects().length > 0;",
        vec![json!(selector)],
    )
    .await
        == json!(true)
}

async fn kind_of(app: &TestApp, id: i64) -> (Value, Value) {
    let (_, t) = app.get(&format!("/api/v1/tickets/{id}")).await;
    (t["kind"].clone(), t["feature"].clone())
}

async fn ticket_kind_in_a_real_browser(db: Db) {
    let app = TestApp::spawn(db).await;
    let _boss = admin(&app).await;
    let (_, earlier) = app
        .post(
            "/api/v1/tickets",
            json!({"subject": "Gift wrap?", "message": "Hi", "contact": {"email": "a@shop.test"}, "kind": "missing_feature", "feature": "Gift wrapping"}),
        )
        .await;
    assert!(earlier["id"].is_i64(), "{earlier}");
    let t = app.ticket("Can you wrap it?", "b@shop.test").await;
    let id = t["id"].as_i64().unwrap();

    let b = Driver::start().await;
    b.goto(&format!("{}/login", app.base)).await;
    b.execute("document.getElementById('email').value = 'boss@acme.test'; document.getElementById('password').value = arguments[0]; return true;", vec![json!(PASSWORD)]).await;
    b.execute(
        "setTimeout(function () { document.querySelector('form button[type=submit]').click(); }, 0); return true;",
        vec![],
    )
    .await;
    wait(
        &b,
        "the inbox",
        "return location.pathname === '/app' && document.readyState === 'complete';",
        vec![],
    )
    .await;

    let page = format!("/app/t/{}", t["number"]);
    b.goto(&format!("{}{page}", app.base)).await;
    wait(
        &b,
        "the ticket page",
        "return !!document.getElementById('ctl-kind');",
        vec![],
    )
    .await;
    assert!(
        !shown(&b, "#ctl-feature").await,
        "no feature field before a missing feature is chosen"
    );

    // A bug saves as it is chosen.
    b.execute("window.__marker = 1; return true;", vec![]).await;
    choose(&b, "#ctl-kind", "bug").await;
    wait(
        &b,
        "the page after saving",
        "return window.__marker !== 1 && document.readyState === 'complete' && !!document.getElementById('ctl-kind');",
        vec![],
    )
    .await;
    assert_eq!(kind_of(&app, id).await, (json!("bug"), Value::Null));

    // A missing feature waits for its name, offered from those used before.
    b.execute("window.__marker = 1; return true;", vec![]).await;
    choose(&b, "#ctl-kind", "missing_feature").await;
    wait(&b, "the feature field", "var f = document.getElementById('ctl-feature'); return !!f && f.getClientRects().length > 0 && document.activeElement === f;", vec![]).await;
    assert_eq!(
        b.execute("return window.__marker;", vec![]).await,
        json!(1),
        "the page did not submit yet"
    );
    let offered = b
        .execute("return Array.prototype.map.call(document.querySelectorAll('#feature-list option'), function (o) { return o.value; });", vec![])
        .await;
    assert_eq!(offered, json!(["Gift wrapping"]));
    b.accessibility("the ticket page with the feature field").await;
    b.execute("document.getElementById('ctl-feature').value = 'Gift wrapping'; setTimeout(function () { document.querySelector('form.kind button[type=submit]').click(); }, 0); return true;", vec![]).await;
    wait(&b, "the page after saving the feature", "return window.__marker !== 1 && document.readyState === 'complete' && !!document.getElementById('ctl-feature');", vec![]).await;
    assert_eq!(
        kind_of(&app, id).await,
        (json!("missing_feature"), json!("Gift wrapping"))
    );
    assert!(shown(&b, "#ctl-feature").await, "a missing feature shows its name");
    b.accessibility("the ticket page of a missing feature").await;

    // The rule editor: the kind for set_kind, the feature only for a missing one.
    b.goto(&format!("{}/app/admin/rules/new", app.base)).await;
    wait(
        &b,
        "the rule editor",
        "return !!document.querySelector('[name=a0_type]');",
        vec![],
    )
    .await;
    choose(&b, "[name=a0_type]", "set_kind").await;
    wait(
        &b,
        "the kind select",
        "var e = document.querySelector('[name=a0_kind]'); return e.getClientRects().length > 0;",
        vec![],
    )
    .await;
    assert!(!shown(&b, "[name=a0_feature]").await, "a question names no feature");
    choose(&b, "[name=a0_kind]", "missing_feature").await;
    wait(
        &b,
        "the feature input",
        "var e = document.querySelector('[name=a0_feature]'); return e.getClientRects().length > 0;",
        vec![],
    )
    .await;
    b.accessibility("the rule editor with set kind").await;
    b.quit().await;
}
