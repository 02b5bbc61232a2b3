//! Reports in a real browser: a fortnight of a small shop's conversations
//! (answered, resolved, rated), then the admin opens Reports from the
//! navigation, asks for a comparison with the previous period through the
//! form, and reads the numbers behind the charts; axe-core checks each
//! state. Photographs the page in English and in Persian (right to left).

use std::time::Duration;

use serde_json::{json, Value};
use storedesk::store::surveys::Answer;

use super::webdriver::Driver;
use crate::console::{admin, PASSWORD};
use crate::harness::{Db, TestApp};

crate::both_backends!(reports_in_a_real_browser);

const S: i64 = 1000;
const H: i64 = 3600 * S;

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

async fn page(b: &Driver, what: &str, path: &str) {
    wait(
        b,
        what,
        "return location.pathname === arguments[0] && document.readyState === 'complete';",
        vec![json!(path)],
    )
    .await;
}

/// Two weeks of conversations at different hours: most answered within a
/// few minutes, most resolved and rated, a few about a missing feature.
async fn a_fortnight(app: &TestApp) {
    let (kate, kate_token) = app.agent("kate@acme.test", false).await;
    let per_day = [2, 4, 3, 1, 5, 3, 2, 4, 3, 5, 2, 3, 4, 3];
    let kinds = [
        "question",
        "order_problem",
        "question",
        "bug",
        "order_problem",
        "unclear_feature",
    ];
    let mut n = 0i64;
    for (day, count) in per_day.iter().enumerate() {
        for _ in 0..*count {
            n += 1;
            let t = app
                .ticket(&format!("Order #{}", 1000 + n), &format!("shopper{}@shop.test", n % 9))
                .await;
            let id = t["id"].as_i64().unwrap();
            let path = format!("/api/v1/tickets/{id}");
            storedesk::store::advance_clock((40 + (n * 53) % 200 + day as i64 * 6) * S);
            let token = if n % 2 == 0 { &app.token } else { &kate_token };
            let (s, m) = app
                .call(
                    reqwest::Method::POST,
                    &format!("{path}/messages"),
                    token,
                    Some(json!({"body": "Thanks, looking into it."})),
                )
                .await;
            assert_eq!(s, reqwest::StatusCode::CREATED, "{m}");
            let mut change = json!({"kind": kinds[n as usize % kinds.len()], "assignee_id": if n % 2 == 0 { app.admin_id } else { kate }});
            if n % 7 == 0 {
                change = json!({"kind": "missing_feature", "feature": if n % 14 == 0 { "Gift wrapping" } else { "Pay in instalments" }});
            }
            if n % 4 == 1 {
                change["labels"] = json!(["refund"]);
            }
            let (s, v) = app.patch(&path, change).await;
            assert_eq!(s, reqwest::StatusCode::OK, "{v}");
            if n % 6 != 0 {
                storedesk::store::advance_clock((15 + n % 40) * 60 * S);
                let (s, v) = app.patch(&path, json!({"status": "resolved"})).await;
                assert_eq!(s, reqwest::StatusCode::OK, "{v}");
                app.consumed("surveys").await;
                let score = [5, 4, 5, 5, 3, 4, 5, 2][n as usize % 8];
                let answer = Answer {
                    score: Some(score),
                    comment: None,
                };
                app.svc
                    .answer_csat(app.workspace_id, id, &answer, "mail")
                    .await
                    .unwrap_or_else(|e| panic!("a rating of #{id}: {e}"));
            }
            storedesk::store::advance_clock((1 + n % 3) * H + (n * 7 % 50) * 60 * S);
        }
        storedesk::store::advance_clock((24 - 2 * *count as i64).max(8) * H);
    }
    app.consumed("reports").await;
}

async fn shoot(b: &Driver, name: &str) {
    b.execute(
        "document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); return true;",
        vec![],
    )
    .await;
    // Tall enough for the figures, the charts and the agents (the window's frame
    // comes on top of the page's height).
    let height = b
        .execute(
            "var t = document.querySelector(arguments[0]), frame = window.outerHeight - window.innerHeight;\n\
             return frame + Math.ceil(t ? t.getBoundingClientRect().top + window.scrollY + 8 : document.documentElement.scrollHeight);",
            vec![json!(".rp-table-team")],
        )
        .await;
    b.resize(1280, height.as_u64().unwrap_or(1600).clamp(800, 6000) as u32)
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let png = b.screenshot().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshots dir");
    // Both backends' runs write the same files: write aside, then rename.
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, &png).expect("write screenshot");
    std::fs::rename(&tmp, dir.join(name)).expect("rename screenshot");
    b.resize(1280, 800).await;
}

async fn reports_in_a_real_browser(db: Db) {
    let app = TestApp::spawn(db).await;
    let _boss = admin(&app).await;
    a_fortnight(&app).await;

    let b = Driver::start().await;
    b.goto(&format!("{}/login", app.base)).await;
    b.execute("document.getElementById('email').value = 'boss@acme.test'; document.getElementById('password').value = arguments[0]; return true;", vec![json!(PASSWORD)]).await;
    click(&b, "form button[type=submit]").await;
    page(&b, "the inbox", "/app").await;

    // Reports, from the navigation: figures, four charts, the tables.
    click(&b, ".menu a[href='/app/reports']").await;
    page(&b, "the reports page", "/app/reports").await;
    let shown = wait(
        &b,
        "the charts",
        "var s = document.querySelectorAll('svg.ch'); return s.length && { charts: s.length, labelled: Array.prototype.every.call(s, function (e) { return e.getAttribute('role') === 'img' && e.getAttribute('aria-label').length > 20 && e.getBoundingClientRect().width > 300; }), cards: document.querySelectorAll('.rp-card').length, created: document.querySelector('.rp-card-created .rp-value').textContent, agents: document.querySelectorAll('.rp-table-agent tbody tr').length };",
        vec![],
    )
    .await;
    assert_eq!(
        (
            &shown["charts"],
            &shown["labelled"],
            &shown["cards"],
            &shown["created"],
            &shown["agents"]
        ),
        (&json!(4), &json!(true), &json!(9), &json!("44"), &json!(3)),
        "{shown}"
    );
    b.accessibility("the reports page").await;
    let log = b.console().await;
    assert!(
        !log.contains("Uncaught") && !log.contains("Refused"),
        "no script errors, nothing the CSP refused: {log}"
    );

    // The comparison, through the form.
    let ok = b
        .execute(
            "var c = document.querySelector('form.rp-form input[name=compare]'); c.checked = true; return c.checked;",
            vec![],
        )
        .await;
    assert_eq!(ok, true);
    click(&b, "form.rp-form button[type=submit]").await;
    let compared = wait(
        &b,
        "the comparison",
        "return location.search.indexOf('compare=1') >= 0 && document.readyState === 'complete' && document.querySelectorAll('.rp-prev').length;",
        vec![],
    )
    .await;
    assert_eq!(compared, json!(9), "every card has the previous period");
    b.accessibility("the reports page compared").await;

    // The numbers behind the charts.
    b.execute(
        "document.querySelectorAll('details.rp-numbers').forEach(function (d) { d.open = true; }); return true;",
        vec![],
    )
    .await;
    b.accessibility("the reports page with its numbers").await;
    b.execute(
        "document.querySelectorAll('details.rp-numbers').forEach(function (d) { d.open = false; }); return true;",
        vec![],
    )
    .await;
    shoot(&b, "reports.png").await;

    // Persian: right to left around the charts, which stay left to right.
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
    b.goto(&format!("{}/app/reports?compare=1", app.base)).await;
    page(&b, "the reports page in Persian", "/app/reports").await;
    let dirs = b
        .execute("return [document.documentElement.dir, getComputedStyle(document.querySelector('.ch-wrap')).direction, document.querySelectorAll('svg.ch').length];", vec![])
        .await;
    assert_eq!(dirs, json!(["rtl", "ltr", 4]));
    b.accessibility("the reports page in Persian").await;
    shoot(&b, "reports-fa.png").await;

    b.quit().await;
}
