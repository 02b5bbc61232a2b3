//! Satisfaction surveys: CSAT asked once per resolved ticket, by mail with
//! one-click links (a GET only shows the score, a POST records it) or in
//! the chat widget; NPS planned under a per-contact cap and sent by the
//! timers; the answers on the ticket and in the event log; and what
//! hostile or mistaken input gets.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use storedesk::domain::reports::Settings;

use crate::email::mail;
use crate::harness::{smtp_send, Db, Sink, TestApp, MAIL_DOMAIN};

crate::both_backends!(
    surveys_csat_by_mail_once_per_ticket,
    surveys_csat_in_the_chat_widget,
    surveys_nps_once_per_contact_and_one_score,
    surveys_refuse_bad_tokens_and_scores,
);

const CSAT_SUBJECT: &str = "How did we do?";
const NPS_SUBJECT: &str = "How likely are you to recommend";

fn no_redirect() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn set_status(app: &TestApp, id: i64, status: &str) {
    let (s, t) = app
        .patch(&format!("/api/v1/tickets/{id}"), json!({ "status": status }))
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");
}

/// Every event of the first workspace of one type.
async fn events(app: &TestApp, kind: &str) -> Vec<Value> {
    let (mut out, mut after) = (Vec::new(), "0".to_string());
    loop {
        let (s, page) = app.get(&format!("/api/v1/events?after={after}&limit=500")).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        let items = page["events"].as_array().unwrap().clone();
        if items.is_empty() {
            return out;
        }
        out.extend(items.into_iter().filter(|e| e["type"] == kind));
        after = page["next_cursor"].as_str().unwrap().to_string();
    }
}

/// Queued mails (any state) whose subject holds `part`, with their bodies.
async fn queued(app: &TestApp, part: &str) -> Vec<(String, String)> {
    let all = app.store.outbox_states(app.workspace_id).await.unwrap();
    let bodies = app.store.outbox(app.workspace_id).await.unwrap();
    all.into_iter()
        .filter(|(_, subject, _, _)| subject.contains(part))
        .map(|(to, subject, _, _)| {
            let body = bodies
                .iter()
                .find(|b| b.1 == subject)
                .map(|b| b.2.clone())
                .unwrap_or_default();
            (to, body)
        })
        .collect()
}

/// The one-click links in a mail's text.
fn links(text: &str, part: &str) -> Vec<String> {
    text.split_whitespace()
        .filter(|w| w.contains(part))
        .map(str::to_string)
        .collect()
}

async fn post_json(url: &str, body: Value) -> (StatusCode, Value) {
    let r = no_redirect().post(url).json(&body).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn post_form(url: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let r = no_redirect().post(url).form(form).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn surveys_csat_by_mail_once_per_ticket(db: Db) {
    let app = TestApp::spawn(db).await;
    let (sink, relay) = Sink::start().await;
    let smtp = app.mail(Some(relay)).await;
    let support = format!("acme-shop@{MAIL_DOMAIN}");
    let raw = mail(
        "ann@shop.test",
        &support,
        "Parcel is late",
        "late1@shop.test",
        "",
        "Where is it?",
    );
    smtp_send(smtp, "ann@shop.test", &support, &raw).await.unwrap();
    sink.wait(1).await; // the confirmation
    let (_, list) = app.get("/api/v1/tickets").await;
    let tid = list["items"][0]["id"].as_i64().unwrap();
    let (s, _) = app
        .patch(
            &format!("/api/v1/tickets/{tid}"),
            json!({ "assignee_id": app.admin_id }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, t) = app.get(&format!("/api/v1/tickets/{tid}")).await;
    assert!(t.get("csat").is_none(), "not asked before it is resolved: {t}");

    set_status(&app, tid, "resolved").await;
    app.consumed("surveys").await;
    let got = sink.wait(2).await;
    let parsed: Vec<_> = got
        .iter()
        .filter_map(|m| storedesk::channels::email::parse::parse(m.as_bytes()))
        .filter(|p| p.subject.contains(CSAT_SUBJECT))
        .collect();
    assert_eq!(parsed.len(), 1, "one survey mail");
    let urls = links(&parsed[0].text, "/csat?score=");
    assert_eq!(urls.len(), 5, "{}", parsed[0].text);
    for n in 1..=5 {
        assert!(urls.iter().any(|u| u.ends_with(&format!("score={n}"))), "{urls:?}");
    }
    assert!(urls.iter().all(|u| u.starts_with(&app.base)), "{urls:?}");
    let (_, t) = app.get(&format!("/api/v1/tickets/{tid}")).await;
    assert_eq!(t["csat"]["score"], Value::Null, "{t}");
    assert_eq!(t["csat"]["asked_via"], "mail");

    // Opening link 4 shows the choice and records nothing (scanners open links).
    let four = urls.iter().find(|u| u.ends_with("score=4")).unwrap().clone();
    let r = app.client.get(&four).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("script-src 'self'"));
    let html = r.text().await.unwrap();
    assert!(html.contains("data-auto=\"4\""), "{html}");
    assert!(html.contains("lang=\"en\"") && html.contains("<label"), "{html}");
    let (_, t) = app.get(&format!("/api/v1/tickets/{tid}")).await;
    assert_eq!(t["csat"]["score"], Value::Null, "a GET records nothing: {t}");

    // The page's script posts the score; then the customer adds a comment.
    let action = four.split('?').next().unwrap().to_string();
    let (s, v) = post_json(&action, json!({ "score": 4 })).await;
    assert_eq!((s, &v["score"]), (StatusCode::OK, &json!(4)), "{v}");
    let (s, _) = post_form(&action, &[("score", "4"), ("comment", "Quick and kind, thanks")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, t) = app.get(&format!("/api/v1/tickets/{tid}")).await;
    let c = &t["csat"];
    assert_eq!(
        (c["score"].as_i64(), c["comment"].as_str(), c["via"].as_str()),
        (Some(4), Some("Quick and kind, thanks"), Some("mail")),
        "{t}"
    );
    assert!(c["asked_at"].is_string() && c["answered_at"].is_string(), "{t}");
    let answered = events(&app, "csat.answered").await;
    let last = answered.last().expect("a csat.answered event");
    assert_eq!(last["ticket_id"], tid);
    assert_eq!(last["changes"]["score"], 4);
    assert_eq!(last["changes"]["agent_id"], app.admin_id);
    assert_eq!(last["changes"]["via"], "mail");
    assert!(last["contact_id"].is_i64());
    // Sent again as it is: nothing changes, no event.
    let before = answered.len();
    post_json(&action, json!({ "score": 4 })).await;
    assert_eq!(events(&app, "csat.answered").await.len(), before);

    // The console's ticket page shows it beside the conversation.
    let mut console = crate::console::admin(&app).await;
    let number = t["number"].as_i64().unwrap();
    let (s, html) = console.get(&format!("/app/t/{number}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("data-sd=\"csat-score\"") && html.contains("Quick and kind, thanks"),
        "{html}"
    );

    // Reopened and resolved again: not asked twice.
    set_status(&app, tid, "open").await;
    set_status(&app, tid, "resolved").await;
    app.consumed("surveys").await;
    assert_eq!(queued(&app, CSAT_SUBJECT).await.len(), 1);
    let (_, t) = app.get(&format!("/api/v1/tickets/{tid}")).await;
    assert_eq!(t["csat"]["score"], 4, "the answer stays: {t}");
}

async fn surveys_csat_in_the_chat_widget(db: Db) {
    let app = TestApp::spawn(db).await;
    let (mut v, welcome) = app.visitor("acme-shop", None, 0).await;
    assert_eq!(welcome["survey"], Value::Null);
    let token = welcome["visitor_token"].as_str().unwrap().to_string();
    v.send(json!({ "type": "message", "client_id": "c1", "body": "Do you ship to Norway?" }))
        .await;
    v.until("ack").await;
    let (mut other, _) = app.visitor("acme-shop", None, 0).await;
    other
        .send(json!({ "type": "message", "client_id": "o1", "body": "Someone else's chat" }))
        .await;
    other.until("ack").await;
    let (_, list) = app.get("/api/v1/tickets?channel=chat&sort=created").await;
    let items = list["items"].as_array().unwrap();
    let mine = items.iter().find(|t| t["subject"] == "Do you ship to Norway?").unwrap();
    let theirs = items.iter().find(|t| t["subject"] == "Someone else's chat").unwrap();
    let (tid, number) = (mine["id"].as_i64().unwrap(), mine["number"].as_i64().unwrap());
    let their_number = theirs["number"].as_i64().unwrap();

    // Not asked yet: nothing to rate.
    v.send(json!({ "type": "csat", "ticket_number": number, "score": 5 }))
        .await;
    assert_eq!(v.until("error").await["code"], "not_found");

    set_status(&app, tid, "resolved").await;
    set_status(&app, theirs["id"].as_i64().unwrap(), "resolved").await;
    let asked = v.until("survey").await;
    assert_eq!(asked["survey"], json!({ "kind": "csat", "ticket_number": number }));
    app.consumed("surveys").await;

    // A visitor who comes back while it is unanswered is asked again.
    let (mut again, w) = app.visitor("acme-shop", Some(&token), 0).await;
    assert_eq!(w["survey"]["ticket_number"], number, "{w}");

    // Out of range, and someone else's chat: refused; the socket stays.
    v.send(json!({ "type": "csat", "ticket_number": number, "score": 9 }))
        .await;
    assert_eq!(v.until("error").await["code"], "invalid_field");
    v.send(json!({ "type": "csat", "ticket_number": their_number, "score": 1 }))
        .await;
    assert_eq!(v.until("error").await["code"], "not_found");
    let (_, t) = app.get(&format!("/api/v1/tickets/{}", theirs["id"])).await;
    assert_eq!(t["csat"]["score"], Value::Null, "{t}");

    v.send(json!({ "type": "csat", "ticket_number": number, "score": 5 }))
        .await;
    assert_eq!(v.until("csat_saved").await["score"], 5);
    again
        .send(json!({ "type": "csat", "ticket_number": number, "comment": "Very helpful" }))
        .await;
    assert_eq!(again.until("csat_saved").await["score"], 5);
    let (_, t) = app.get(&format!("/api/v1/tickets/{tid}")).await;
    let c = &t["csat"];
    assert_eq!(
        (c["score"].as_i64(), c["comment"].as_str(), c["via"].as_str()),
        (Some(5), Some("Very helpful"), Some("chat")),
        "{t}"
    );
    let answered = events(&app, "csat.answered").await;
    assert!(answered
        .iter()
        .all(|e| e["ticket_id"] == tid && e["changes"]["via"] == "chat"));
    assert_eq!(answered.last().unwrap()["changes"]["score"], 5);
    let (_, w) = app.visitor("acme-shop", Some(&token), 0).await;
    assert_eq!(w["survey"], Value::Null, "answered: not offered again");
    // No mail for a chat's rating.
    assert!(queued(&app, CSAT_SUBJECT).await.is_empty());
}

async fn surveys_nps_once_per_contact_and_one_score(db: Db) {
    let app = TestApp::spawn(db).await;
    let (sink, relay) = Sink::start().await;
    app.mail(Some(relay)).await;
    let settings = Settings {
        csat: false,
        nps: true,
        nps_delay_hours: 0,
        ..Settings::default()
    };
    app.store
        .save_report_settings(app.workspace_id, &settings, app.admin_id)
        .await
        .unwrap();
    let a = app.ticket("First question", "bob@shop.test").await["id"]
        .as_i64()
        .unwrap();
    let b = app.ticket("Second question", "bob@shop.test").await["id"]
        .as_i64()
        .unwrap();
    set_status(&app, a, "resolved").await;
    set_status(&app, b, "resolved").await;
    app.consumed("surveys").await;
    // The timers send due surveys every few seconds; this pass may run beside them.
    app.svc.send_due_surveys().await.unwrap();
    let nps = queued(&app, NPS_SUBJECT).await;
    assert_eq!(nps.len(), 1, "the cap: one survey for the contact: {nps:?}");
    assert_eq!(nps[0].0, "bob@shop.test");
    assert!(queued(&app, CSAT_SUBJECT).await.is_empty(), "CSAT is off");

    let got = sink.wait(1).await;
    let parsed = got
        .iter()
        .filter_map(|m| storedesk::channels::email::parse::parse(m.as_bytes()))
        .find(|p| p.subject.contains(NPS_SUBJECT))
        .expect("the survey mail");
    assert!(parsed.subject.contains("Acme Shop"), "{}", parsed.subject);
    let urls = links(&parsed.text, "/nps/");
    assert_eq!(urls.len(), 11, "{}", parsed.text);
    assert!(urls
        .iter()
        .all(|u| u.starts_with(&format!("{}/p/acme-shop/nps/", app.base))));
    let nine = urls.iter().find(|u| u.ends_with("?score=9")).unwrap();
    let action = nine.split('?').next().unwrap().to_string();
    let token = action.rsplit('/').next().unwrap();
    assert!(token.len() >= 32, "at least 128 bits: {token}");

    let html = app.client.get(nine).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("data-auto=\"9\""), "{html}");
    assert!(events(&app, "nps.answered").await.is_empty(), "a GET records nothing");
    let (s, v) = post_json(&action, json!({ "score": 9 })).await;
    assert_eq!((s, &v["score"]), (StatusCode::OK, &json!(9)), "{v}");

    // Given once: another score is refused, the comment can still come.
    let (s, v) = post_json(&action, json!({ "score": 3 })).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict")),
        "{v}"
    );
    let (s, page) = post_form(&action, &[("score", "3"), ("comment", "")]).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(page.contains("role=\"alert\""), "a page that says why: {page}");
    let html = app
        .client
        .get(format!("{action}?score=2"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !html.contains("data-auto"),
        "another score from the mail is not posted: {html}"
    );
    let (s, _) = post_form(&action, &[("score", "9"), ("comment", "Fast delivery")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, v) = post_json(&action, json!({ "comment": "Fast delivery, good prices" })).await;
    assert_eq!(
        (s, v["comment"].as_str()),
        (StatusCode::OK, Some("Fast delivery, good prices"))
    );

    let answered = events(&app, "nps.answered").await;
    assert_eq!(answered.len(), 1, "{answered:?}");
    assert_eq!(answered[0]["changes"]["score"], 9);
    assert!(answered[0]["contact_id"].is_i64() && answered[0]["ticket_id"].is_i64());
    let saved = app.store.nps(app.workspace_id, token).await.unwrap();
    assert_eq!(
        (saved.score, saved.comment.as_str()),
        (Some(9), "Fast delivery, good prices")
    );

    // A third resolution within the interval plans nothing either.
    let c = app.ticket("Third question", "bob@shop.test").await["id"]
        .as_i64()
        .unwrap();
    set_status(&app, c, "resolved").await;
    app.consumed("surveys").await;
    app.svc.send_due_surveys().await.unwrap();
    assert_eq!(queued(&app, NPS_SUBJECT).await.len(), 1);
}

async fn surveys_refuse_bad_tokens_and_scores(db: Db) {
    let app = TestApp::spawn(db).await;
    let settings = Settings {
        nps: true,
        nps_delay_hours: 0,
        ..Settings::default()
    };
    app.store
        .save_report_settings(app.workspace_id, &settings, app.admin_id)
        .await
        .unwrap();
    let asked = app.ticket("Asked", "cat@shop.test").await["id"].as_i64().unwrap();
    let never = app.ticket("Still open", "dan@shop.test").await["id"].as_i64().unwrap();
    set_status(&app, asked, "resolved").await;
    app.consumed("surveys").await;
    app.svc.send_due_surveys().await.unwrap();
    let link = app.store.ticket_link(asked).await.unwrap();
    let csat = format!("{}/p/acme-shop/t/{link}/csat", app.base);
    let body = &queued(&app, NPS_SUBJECT).await[0].1;
    let token = links(body, "/nps/")[0]
        .split("/nps/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let nps = format!("{}/p/acme-shop/nps/{token}", app.base);

    // Addresses that lead nowhere: 404, a page for a browser, JSON for the script.
    let open_link = app.store.ticket_link(never).await.unwrap();
    let (prefix, sig) = link.rsplit_once('-').unwrap();
    let flipped = format!("{prefix}-{}{}", if sig.starts_with('0') { '1' } else { '0' }, &sig[1..]);
    for bad in [
        format!("{}/p/acme-shop/t/{flipped}/csat?score=4", app.base),
        format!("{}/p/acme-shop/t/{open_link}/csat?score=4", app.base),
        format!("{}/p/other-shop/t/{link}/csat?score=4", app.base),
        format!("{}/p/acme-shop/nps/{}?score=4", app.base, "0".repeat(64)),
        format!("{}/p/acme-shop/nps/x?score=4", app.base),
    ] {
        let r = app.client.get(&bad).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{bad}");
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        let target = bad.split('?').next().unwrap();
        let (s, v) = post_json(target, json!({ "score": 4 })).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found")),
            "{bad}: {v}"
        );
    }

    // Scores off the scale or not numbers: 400, as a page or as JSON.
    for (url, score) in [
        (&csat, "9"),
        (&csat, "0"),
        (&csat, "abc"),
        (&nps, "11"),
        (&nps, "-1"),
        (&nps, "4.5"),
    ] {
        let r = app.client.get(format!("{url}?score={score}")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{url}?score={score}");
        let html = r.text().await.unwrap();
        assert!(html.contains("role=\"alert\"") && !html.contains("data-auto"), "{html}");
        let (s, page) = post_form(url, &[("score", score)]).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "form {url} {score}");
        assert!(page.contains("role=\"alert\""), "{page}");
        let (s, v) = post_json(url, json!({ "score": score })).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_field")),
            "{v}"
        );
    }
    for bad in [
        json!({ "score": [4] }),
        json!({ "score": 4, "stars": 5 }),
        json!({ "score": 4, "comment": 7 }),
        json!("4"),
        json!({}),
    ] {
        let (s, v) = post_json(&csat, bad.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {v}");
        assert!(
            v["error"]["code"].is_string() && v["error"]["message"].is_string(),
            "{v}"
        );
    }
    let r = no_redirect()
        .post(&csat)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // A comment over 2000 characters, or with a NUL, is refused; at the limit it is kept.
    let long = "я".repeat(2001);
    let (s, _) = post_json(&csat, json!({ "score": 3, "comment": long })).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = post_form(&nps, &[("score", "7"), ("comment", &long)]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = post_form(&csat, &[("score", "3"), ("comment", "a\u{0}b")]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, t) = app.get(&format!("/api/v1/tickets/{asked}")).await;
    assert_eq!(t["csat"]["score"], Value::Null, "nothing refused was recorded: {t}");
    let (s, v) = post_json(&csat, json!({ "score": "3", "comment": "я".repeat(2000) })).await;
    assert_eq!((s, v["score"].as_i64()), (StatusCode::OK, Some(3)), "{v}");

    // The API's other errors keep their shape on these addresses too.
    let (s, v) = app
        .call(Method::PUT, &format!("/p/acme-shop/nps/{token}"), "", None)
        .await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED, "{v}");
}
