//! Admin → Campaigns in a real browser: the admin finds the page in the
//! navigation, writes a campaign in the editor (the inputs follow the
//! chosen trigger), sees the bubble's preview in English and in Persian
//! (right to left), and reads the results; axe-core checks every page, in
//! English and in Persian.

use std::time::Duration;

use serde_json::{json, Value};

use super::webdriver::Driver;
use crate::console::{admin, PASSWORD};
use crate::harness::{Db, TestApp};

crate::both_backends!(campaign_console_in_a_real_browser);

const EXPLAIN: &str =
    "return { url: location.href, text: document.body ? document.body.innerText.slice(0, 1500) : null };";

async fn wait(b: &Driver, what: &str, script: &str, args: Vec<Value>) -> Value {
    b.wait_for(what, script, args, Duration::from_secs(15), EXPLAIN).await
}

/// Clicks after the script returns, so navigation starts outside the command.
async fn click(b: &Driver, selector: &str) {
    let ok = b.execute("var e = document.querySelector(arguments[0]); if (!e) return false; setTimeout(function () { e.click(); }, 0); return true;", vec![json!(selector)]).await;
    assert_eq!(ok, true, "{selector} to click");
}

/// Sets a field the way typing or choosing does, with its change event.
async fn set(b: &Driver, name: &str, value: &str) {
    let ok = b
        .execute(
            "var e = document.querySelector('[name=\"' + arguments[0] + '\"]'); if (!e) return false; e.value = arguments[1];\n\
             e.dispatchEvent(new Event('input', { bubbles: true })); e.dispatchEvent(new Event('change', { bubbles: true })); return e.value === arguments[1];",
            vec![json!(name), json!(value)],
        )
        .await;
    assert_eq!(ok, true, "{value} in {name}");
}

/// Whether the field named `name` is on screen.
async fn shown(b: &Driver, name: &str) -> bool {
    b.execute(
        "var e = document.querySelector('[name=\"' + arguments[0] + '\"]'); return !!e && e.getClientRects().length > 0;",
        vec![json!(name)],
    )
    .await
        == json!(true)
}

async fn page(b: &Driver, what: &str, path: &str) {
    wait(
        b,
        what,
        "return location.pathname === arguments[0] && document.readyState === 'complete';",
        vec![json!(path)],
    )
    .await;
}

/// The preview bubble: its text, its direction and whether it is on screen.
const BUBBLE: &str = "var b = document.querySelector('[data-preview=bubble]'); if (!b) return null; var r = b.getBoundingClientRect(), s = b.closest('.nudge-stage').getBoundingClientRect();\n\
     return { text: b.querySelector('.nudge-text').textContent, from: (b.querySelector('.nudge-from') || {}).textContent || null, dir: getComputedStyle(b).direction, visible: r.width > 100 && r.height > 20, end: Math.round(s.right - r.right) < Math.round(r.left - s.left) ? 'right' : 'left' };";

async fn campaign_console_in_a_real_browser(db: Db) {
    let app = TestApp::spawn(db).await;
    let _boss = admin(&app).await;
    let (_, users) = app.get("/api/v1/users").await;
    let boss_id = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "boss@acme.test")
        .unwrap()["id"]
        .clone();
    let (s, c) = app
        .post(
            "/api/v1/campaigns",
            json!({
                "name": "Checkout rescue", "active": true, "priority": 10, "from_user_id": boss_id,
                "audience": { "url": "https://shop.test/checkout*" },
                "trigger": { "type": "event", "name": "checkout_error" },
                "variants": [
                    { "name": "A", "message": { "en": "Trouble paying? We can help.", "fa": "در پرداخت مشکل دارید؟ کمکتان می‌کنیم." } },
                    { "name": "B", "message": { "en": "Need a hand with checkout?" } }
                ],
                "holdout_percent": 20, "goal_event": "order_completed"
            }),
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::CREATED, "{c}");
    let id = c["id"].as_i64().unwrap();

    let b = Driver::start().await;
    b.goto(&format!("{}/login", app.base)).await;
    b.execute("document.getElementById('email').value = 'boss@acme.test'; document.getElementById('password').value = arguments[0]; return true;", vec![json!(PASSWORD)]).await;
    click(&b, "form button[type=submit]").await;
    page(&b, "the inbox", "/app").await;

    // The admin navigation leads to the campaigns.
    b.goto(&format!("{}/app/admin", app.base)).await;
    click(&b, ".tabs-nav a[href='/app/admin/campaigns']").await;
    page(&b, "the campaigns page", "/app/admin/campaigns").await;
    let row = wait(
        &b,
        "the campaign in the list",
        "var r = document.getElementById('campaign-' + arguments[0]); return r && r.innerText;",
        vec![json!(id)],
    )
    .await;
    let row = row.as_str().unwrap();
    assert!(
        row.contains("Checkout rescue") && row.contains("Running") && row.contains("checkout_error"),
        "{row}"
    );
    b.accessibility("the campaigns list").await;
    // The delete confirmation, opened.
    b.execute(
        "document.querySelector('details.confirm').open = true; return true;",
        vec![],
    )
    .await;
    b.accessibility("the campaigns list with a delete confirmation").await;

    // A new one, in the editor: the inputs follow the trigger.
    click(&b, "a[href='/app/admin/campaigns/new']").await;
    page(&b, "the campaign editor", "/app/admin/campaigns/new").await;
    b.accessibility("the new campaign editor").await;
    assert!(shown(&b, "seconds").await && !shown(&b, "percent").await && !shown(&b, "trigger_event").await);
    set(&b, "trigger", "scroll").await;
    assert!(shown(&b, "percent").await && !shown(&b, "seconds").await);
    set(&b, "trigger", "event").await;
    assert!(shown(&b, "trigger_event").await && !shown(&b, "percent").await);
    set(&b, "trigger_event", "cart_updated").await;
    set(&b, "name", "Big carts").await;
    set(&b, "min_cart", "100").await;
    set(&b, "v0_msg_en", "Free gift wrapping for orders over 100 EUR").await;
    set(&b, "v0_msg_fa", "بسته‌بندی هدیهٔ رایگان برای سفارش‌های بالای ۱۰۰ یورو").await;
    set(&b, "v1_msg_en", "Questions about your order?").await;
    click(&b, "form.campaign-form button[type=submit]").await;
    let saved = wait(
        &b,
        "the saved campaign's editor",
        "return /^\\/app\\/admin\\/campaigns\\/\\d+$/.test(location.pathname) && document.readyState === 'complete' && !!document.querySelector('[data-preview=bubble]') && location.pathname;",
        vec![],
    )
    .await;
    let new_path = saved.as_str().unwrap().to_string();
    let bubble = b.execute(BUBBLE, vec![]).await;
    assert_eq!(bubble["text"], "Free gift wrapping for orders over 100 EUR", "{bubble}");
    assert_eq!(
        (&bubble["visible"], &bubble["from"]),
        (&json!(true), &Value::Null),
        "{bubble}"
    );
    b.accessibility("the campaign editor with its preview").await;
    let (_, list) = app.get("/api/v1/campaigns").await;
    let made = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Big carts")
        .cloned()
        .unwrap();
    assert_eq!(made["trigger"], json!({ "type": "event", "name": "cart_updated" }));
    assert_eq!(made["audience"]["min_cart_value"], json!(100.0));

    // The preview in Persian: right to left, in the other corner.
    b.goto(&format!("{}{new_path}?lang=fa", app.base)).await;
    let bubble = wait(&b, "the Persian preview", BUBBLE, vec![]).await;
    assert_eq!(
        (&bubble["text"], &bubble["dir"], &bubble["end"]),
        (
            &json!("بسته‌بندی هدیهٔ رایگان برای سفارش‌های بالای ۱۰۰ یورو"),
            &json!("rtl"),
            &json!("left")
        ),
        "{bubble}"
    );
    // The first campaign's, from an agent, through the preview's form.
    b.goto(&format!("{}/app/admin/campaigns/{id}", app.base)).await;
    page(&b, "the first campaign", &format!("/app/admin/campaigns/{id}")).await;
    let bubble = b.execute(BUBBLE, vec![]).await;
    assert_eq!(
        (&bubble["from"], &bubble["end"]),
        (&json!("Boss Admin"), &json!("right")),
        "{bubble}"
    );
    set(&b, "variant", "B").await;
    click(&b, "#preview form button[type=submit]").await;
    let bubble = wait(
        &b,
        "variant B in the preview",
        &format!("return location.search.indexOf('variant=B') >= 0 && document.readyState === 'complete' && (function () {{ {BUBBLE} }})();"),
        vec![],
    )
    .await;
    assert_eq!(bubble["text"], "Need a hand with checkout?", "{bubble}");

    // Results.
    click(&b, &format!("a[href='/app/admin/campaigns/{id}/results']")).await;
    page(&b, "the results", &format!("/app/admin/campaigns/{id}/results")).await;
    let rows = b
        .execute(
            "return Array.prototype.map.call(document.querySelectorAll('table.campaign-results tbody tr'), function (r) { return r.getAttribute('data-group'); });",
            vec![],
        )
        .await;
    assert_eq!(rows, json!(["A", "B", "holdout"]));
    b.accessibility("the campaign results").await;

    // The same pages in Persian.
    b.goto(&format!("{}/app/settings", app.base)).await;
    b.execute("document.getElementById('lang').value = 'fa'; return true;", vec![])
        .await;
    click(&b, "form[action='/app/settings/language'] button").await;
    wait(
        &b,
        "Persian",
        "return document.documentElement.getAttribute('dir') === 'rtl';",
        vec![],
    )
    .await;
    for (what, path) in [
        ("the campaigns list in Persian", "/app/admin/campaigns".to_string()),
        ("the new campaign editor in Persian", "/app/admin/campaigns/new".into()),
        (
            "the campaign editor in Persian",
            format!("/app/admin/campaigns/{id}?lang=fa"),
        ),
        (
            "the campaign results in Persian",
            format!("/app/admin/campaigns/{id}/results"),
        ),
    ] {
        b.goto(&format!("{}{path}", app.base)).await;
        page(&b, what, path.split('?').next().unwrap()).await;
        let dir = b
            .execute(
                "return [document.documentElement.lang, document.documentElement.dir];",
                vec![],
            )
            .await;
        assert_eq!(dir, json!(["fa", "rtl"]), "{what}");
        b.accessibility(what).await;
    }
    // A refused form in Persian keeps what was typed and says why.
    b.goto(&format!("{}/app/admin/campaigns/new", app.base)).await;
    page(&b, "the new campaign editor", "/app/admin/campaigns/new").await;
    set(&b, "name", "Checkout rescue").await;
    set(&b, "v0_msg_fa", "سلام").await;
    click(&b, "form.campaign-form button[type=submit]").await;
    let fault = wait(
        &b,
        "the refusal",
        "var f = document.getElementById('fault'); return f && { text: f.textContent, name: document.querySelector('[name=name]').value, invalid: document.querySelector('[name=name]').getAttribute('aria-invalid') };",
        vec![],
    )
    .await;
    assert_eq!(
        (&fault["name"], &fault["invalid"]),
        (&json!("Checkout rescue"), &json!("true")),
        "{fault}"
    );
    assert!(fault["text"].as_str().unwrap().contains("کمپین ذخیره نشد"), "{fault}");
    b.accessibility("a refused campaign in Persian").await;

    b.quit().await;
}
