//! Admin → Rules and Macros in a real browser: an admin writes a rule in
//! the editor (the inputs follow the chosen field and action, a script adds
//! a row), sees it listed, previews it on the recent tickets and switches
//! it off; then writes a macro and applies it from a ticket's page. axe-core
//! checks every page on the way.

use std::time::Duration;

use serde_json::{json, Value};

use super::webdriver::Driver;
use crate::console::{admin, PASSWORD};
use crate::harness::{Db, TestApp};

crate::both_backends!(rules_and_macros_in_a_real_browser);

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

/// Whether the field named `name` is on screen (not hidden by its row's choice).
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

async fn rules_and_macros_in_a_real_browser(db: Db) {
    let app = TestApp::spawn(db).await;
    let _boss = admin(&app).await;
    let refund = app.ticket("Refund for order 1042", "m.silva@shop.test").await;
    app.ticket("Where is my parcel?", "p.kowalski@shop.test").await;

    let b = Driver::start().await;
    b.goto(&format!("{}/login", app.base)).await;
    b.execute("document.getElementById('email').value = 'boss@acme.test'; document.getElementById('password').value = arguments[0]; return true;", vec![json!(PASSWORD)]).await;
    click(&b, "form button[type=submit]").await;
    page(&b, "the inbox", "/app").await;

    // The admin navigation leads to the rules; none yet.
    b.goto(&format!("{}/app/admin", app.base)).await;
    click(&b, ".tabs-nav a[href='/app/admin/rules']").await;
    page(&b, "the rules page", "/app/admin/rules").await;
    b.accessibility("the empty rules page").await;
    click(&b, "a[href='/app/admin/rules/new']").await;
    page(&b, "the rule editor", "/app/admin/rules/new").await;
    b.accessibility("the new rule editor").await;

    // The inputs follow the choices: minutes only for time-based events,
    // the label input only for a label action, comparisons that fit.
    assert!(!shown(&b, "minutes").await, "an event rule has no minutes");
    set(&b, "event", "time.unanswered").await;
    assert!(shown(&b, "minutes").await, "a time-based rule asks for minutes");
    set(&b, "event", "ticket.created").await;
    set(&b, "name", "Refunds get a label").await;
    set(&b, "c0_field", "subject").await;
    let ops = b
        .execute(
            "return Array.prototype.filter.call(document.querySelector('[name=c0_op]').options, function (o) { return !o.disabled; }).map(function (o) { return o.value; }).join(',');",
            vec![],
        )
        .await;
    assert_eq!(ops, "contains,not_contains,matches_word,starts_with", "{ops}");
    set(&b, "c0_op", "contains").await;
    set(&b, "c0_value", "refund").await;
    assert!(!shown(&b, "a0_label").await && !shown(&b, "a0_agent").await);
    set(&b, "a0_type", "add_label").await;
    assert!(shown(&b, "a0_label").await, "the label input shows for add label");
    assert!(!shown(&b, "a0_agent").await && !shown(&b, "a0_body").await);
    set(&b, "a0_label", "refund").await;
    // A row more, by script.
    click(&b, "button[data-add-row=cond-rows]").await;
    wait(
        &b,
        "a fourth condition row",
        "var f = document.querySelector('[name=c3_field]'); return !!f && f.value === '' && document.activeElement === f;",
        vec![],
    )
    .await;
    b.accessibility("the filled rule editor").await;
    click(&b, "form.rule-form button[type=submit]").await;
    page(&b, "the rules list", "/app/admin/rules").await;

    let listed = wait(
        &b,
        "the saved rule in the list",
        "var n = document.querySelector('.notice.ok'), t = document.querySelector('table.rules');\n\
         return n && t && { notice: n.textContent, row: t.tBodies[0].rows[0].innerText };",
        vec![],
    )
    .await;
    assert_eq!(listed["notice"], "Rule saved.", "{listed}");
    let row = listed["row"].as_str().unwrap();
    for part in [
        "Refunds get a label",
        "A ticket is created",
        "Subject contains",
        "refund",
        "Add a label: refund",
        "On",
    ] {
        assert!(row.contains(part), "{part} in {row}");
    }
    b.accessibility("the rules list").await;
    let (_, rules) = app.get("/api/v1/rules").await;
    let rule = &rules["items"][0];
    assert_eq!(
        (&rule["conditions"]["all"], &rule["actions"]),
        (
            &json!([{"field":"subject","op":"contains","value":"refund"}]),
            &json!([{"type":"add_label","value":"refund"}])
        ),
        "{rule}"
    );

    // Preview: the refund ticket, by link, and not the other.
    click(&b, "td.acts a[href$='/preview#preview']").await;
    let found = wait(
        &b,
        "the preview",
        "var p = document.getElementById('preview-tickets'); return p && { text: p.innerText, links: Array.prototype.map.call(p.querySelectorAll('a'), function (a) { return a.getAttribute('href'); }) };",
        vec![],
    )
    .await;
    assert_eq!(
        found["links"],
        json!([format!("/app/t/{}", refund["number"])]),
        "{found}"
    );
    assert!(!found["text"].as_str().unwrap().contains("parcel"), "{found}");
    b.accessibility("the rule's preview").await;

    // Switched off.
    click(&b, "form[action$='/enabled'] button").await;
    wait(
        &b,
        "the rule shown off",
        "var r = document.querySelector('table.rules tbody tr'); return !!r && r.classList.contains('off') && r.innerText.indexOf('Enable') >= 0;",
        vec![],
    )
    .await;
    let (_, rules) = app.get("/api/v1/rules").await;
    assert_eq!(rules["items"][0]["enabled"], false);

    // A macro, written in the same rows.
    click(&b, ".tabs-nav a[href='/app/admin/macros']").await;
    page(&b, "the macros page", "/app/admin/macros").await;
    b.accessibility("the empty macros page").await;
    click(&b, "a[href='/app/admin/macros/new']").await;
    page(&b, "the macro editor", "/app/admin/macros/new").await;
    set(&b, "name", "Refund done").await;
    set(&b, "a0_type", "add_label").await;
    set(&b, "a0_label", "refunded").await;
    set(&b, "a1_type", "set_status").await;
    assert!(shown(&b, "a1_status").await && !shown(&b, "a1_label").await);
    set(&b, "a1_status", "pending").await;
    b.accessibility("the macro editor").await;
    click(&b, "form.editor button[type=submit]").await;
    page(&b, "the macros list", "/app/admin/macros").await;
    let row = wait(
        &b,
        "the saved macro",
        "var t = document.querySelector('table.macros'); return t && t.tBodies[0].rows[0].innerText;",
        vec![],
    )
    .await;
    assert!(row.as_str().unwrap().contains("Set the status: Pending"), "{row}");
    b.accessibility("the macros list").await;

    // Applied from the ticket page.
    b.goto(&format!("{}/app/t/{}", app.base, refund["number"])).await;
    wait(
        &b,
        "the ticket page with the macros",
        "var s = document.getElementById('ctl-macro'); return !!s && s.options[0].text === 'Refund done';",
        vec![],
    )
    .await;
    click(&b, "form[action$='/macro'] button[type=submit]").await;
    wait(
        &b,
        "the macro's changes on the page",
        "var n = document.querySelector('.notice.ok'), c = document.getElementById('status-chip');\n\
         return !!n && n.textContent === 'Macro applied.' && c.classList.contains('st-pending') && document.querySelector('.ticket-head').innerText.indexOf('refunded') >= 0;",
        vec![],
    )
    .await;
    b.accessibility("the ticket page after a macro").await;
    let (_, t) = app.get(&format!("/api/v1/tickets/{}", refund["id"])).await;
    assert_eq!(t["status"], "pending", "{t}");
    assert!(t["labels"].as_array().unwrap().contains(&json!("refunded")), "{t}");

    b.quit().await;
}
