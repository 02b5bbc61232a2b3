//! Satisfaction surveys in a real browser: a CSAT link from the mail opens
//! its page, whose script saves the score at once, and the comment follows
//! with the button; an NPS page in Persian (right to left); the rating in
//! the chat widget once an agent resolves the chat. axe-core checks each.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::webdriver::Driver;
use super::{chat_ticket, js, store_site};
use crate::harness::{Db, TestApp};

crate::both_backends!(surveys_in_a_real_browser);

const WAIT: Duration = Duration::from_secs(15);

const EXPLAIN: &str = "return { url: location.href, lang: document.documentElement.lang,\n\
     text: document.body ? document.body.innerText.slice(0, 2000) : null };";

async fn page_wait(b: &Driver, what: &str, script: &str) -> Value {
    b.wait_for(what, script, vec![], WAIT, EXPLAIN).await
}

async fn csat_of(app: &TestApp, tid: i64) -> Value {
    let (s, t) = app.get(&format!("/api/v1/tickets/{tid}")).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    t["csat"].clone()
}

async fn resolve(app: &TestApp, tid: i64) {
    let (s, t) = app
        .patch(&format!("/api/v1/tickets/{tid}"), json!({ "status": "resolved" }))
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    app.consumed("surveys").await;
}

async fn surveys_in_a_real_browser(db: Db) {
    let app = TestApp::spawn(db).await;
    let settings = storedesk::domain::reports::Settings {
        nps: true,
        nps_delay_hours: 0,
        ..Default::default()
    };
    app.store
        .save_report_settings(app.workspace_id, &settings, app.admin_id)
        .await
        .unwrap();
    let tid = app.ticket("Wrong size", "eve@shop.test").await["id"].as_i64().unwrap();
    resolve(&app, tid).await;
    let b = Driver::start().await;

    // The mail's "4": the page saves it by itself, then takes a comment.
    let link = app.store.ticket_link(tid).await.unwrap();
    let csat = format!("{}/p/acme-shop/t/{link}/csat", app.base);
    b.goto(&format!("{csat}?score=4")).await;
    page_wait(
        &b,
        "the score saved by the page's script",
        "var s = document.getElementById('survey-status'); return s && !s.hidden && s.textContent;",
    )
    .await;
    assert_eq!(csat_of(&app, tid).await["score"], 4);
    b.accessibility("the CSAT page").await;
    b.execute(
        "document.getElementById('comment').value = 'The exchange was easy';\n\
         var btn = document.querySelector('form[data-survey] button[type=submit]');\n\
         setTimeout(function () { btn.click(); }, 0); return true;",
        vec![],
    )
    .await;
    page_wait(
        &b,
        "the page after sending",
        "return location.search.indexOf('saved=1') >= 0 && document.readyState === 'complete';",
    )
    .await;
    let c = csat_of(&app, tid).await;
    assert_eq!(
        (c["score"].as_i64(), c["comment"].as_str()),
        (Some(4), Some("The exchange was easy")),
        "{c}"
    );
    b.accessibility("the CSAT page after sending").await;

    // NPS in Persian: right to left, saved at once as well.
    app.svc.send_due_surveys().await.unwrap();
    let bodies = app.store.outbox(app.workspace_id).await.unwrap();
    let body = bodies
        .iter()
        .find(|m| m.1.contains("recommend"))
        .map(|m| m.2.clone())
        .expect("the NPS mail");
    let path = body
        .split_whitespace()
        .find(|w| w.contains("/nps/"))
        .and_then(|w| w.split_once("/p/"))
        .map(|(_, p)| p.split('?').next().unwrap().to_string())
        .expect("a survey link");
    let token = path.rsplit('/').next().unwrap().to_string();
    b.goto(&format!("{}/p/{path}?score=8&lang=fa", app.base)).await;
    page_wait(
        &b,
        "the NPS score saved",
        "var s = document.getElementById('survey-status'); return s && !s.hidden && s.textContent;",
    )
    .await;
    let page = b
        .execute(
            "return { lang: document.documentElement.lang, dir: getComputedStyle(document.body).direction, radios: document.querySelectorAll('input[name=score]').length };",
            vec![],
        )
        .await;
    assert_eq!(page, json!({ "lang": "fa", "dir": "rtl", "radios": 11 }));
    assert_eq!(app.store.nps(app.workspace_id, &token).await.unwrap().score, Some(8));
    b.accessibility("the NPS page in Persian").await;

    // The chat widget asks when the agent resolves the chat.
    let site = store_site(&app.base, "acme-shop").await;
    b.open_store(&format!("{}/tshirt?lang=en", site.base)).await;
    let question = "Can I return a gift?";
    b.send_message(question, "Fay", "fay@shop.test").await;
    b.message_id("visitor", question).await;
    let chat = chat_ticket(&app, question).await["id"].as_i64().unwrap();
    resolve(&app, chat).await;
    b.wait_for(
        "the rating in the widget",
        &js("var s = q('[data-sd=survey]'); return s && !s.hidden && !!q('[data-sd=csat-5]');"),
        vec![],
        WAIT,
        EXPLAIN,
    )
    .await;
    b.accessibility("the widget asking for a rating").await;
    b.execute(&js("q('[data-sd=csat-5]').click(); return true;"), vec![])
        .await;
    b.wait_for(
        "the comment box",
        &js("return !!q('[data-sd=csat-comment]');"),
        vec![],
        WAIT,
        EXPLAIN,
    )
    .await;
    b.execute(
        &js("var c = q('[data-sd=csat-comment]'); c.value = 'Thank you!'; c.dispatchEvent(new Event('input', { bubbles: true }));\n\
             q('[data-sd=csat-send]').click(); return true;"),
        vec![],
    )
    .await;
    b.wait_for(
        "the thanks",
        &js("return !!q('[data-sd=csat-thanks]');"),
        vec![],
        WAIT,
        EXPLAIN,
    )
    .await;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let c = csat_of(&app, chat).await;
        if c["comment"] == "Thank you!" {
            assert_eq!((c["score"].as_i64(), c["via"].as_str()), (Some(5), Some("chat")), "{c}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the widget's rating: {c}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.quit().await;
}
