//! Knowledge-base search that learns, through the API and the public help
//! centre: question words ignored, the shipped and the workspace's own
//! synonyms, "other ways to ask this" phrasings, clicks that lift an
//! article for a query and fade with time, suggestions from the search log,
//! bad input, and that none of it crosses workspaces.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{Db, TestApp};

crate::both_backends!(
    kb_stop_words_and_synonyms,
    kb_phrasings_and_suggestions,
    kb_learning_console,
    kb_clicks_lift_an_article_and_fade,
    kb_learning_bad_input_and_isolation
);

async fn article(app: &TestApp, token: &str, title: &str, body: &str) -> i64 {
    let (s, a) = app
        .call(
            Method::POST,
            "/api/v1/kb/articles",
            token,
            Some(json!({ "title": title, "body": body, "language": "en", "status": "published" })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    a["id"].as_i64().unwrap()
}

async fn search_in(app: &TestApp, slug: &str, q: &str, session: &str) -> Value {
    let r = app
        .client
        .get(format!("{}/p/{slug}/kb/search", app.base))
        .query(&[("q", q), ("lang", "en"), ("session", session)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

async fn ids(app: &TestApp, q: &str) -> Vec<i64> {
    search_in(app, "acme-shop", q, "s1").await["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_i64().unwrap())
        .collect()
}

/// Searches as `session` and opens the hit `id` through its link, as a
/// visitor does.
async fn search_and_open(app: &TestApp, q: &str, session: &str, id: i64) {
    let r = search_in(app, "acme-shop", q, session).await;
    let hit = r["hits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == id)
        .unwrap_or_else(|| panic!("{id} not found for {q}: {r}"))
        .clone();
    let page = app
        .client
        .get(format!("{}{}", app.base, hit["url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
}

async fn pool(app: &TestApp) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::AnyPool::connect(&app.db.url).await.unwrap()
}

async fn kb_stop_words_and_synonyms(db: Db) {
    let app = TestApp::spawn(db).await;
    let t = app.token.clone();
    let sofa = article(
        &app,
        &t,
        "Returning a sofa",
        "Large furniture is collected by our courier.",
    )
    .await;
    let ball = article(&app, &t, "Hamster balls", "Our hamster balls are made of safe plastic.").await;
    article(&app, &t, "Delivery times", "We deliver within two to four days.").await;

    // Question words alone find nothing; around real words they do not matter.
    assert_eq!(ids(&app, "how do I").await, Vec::<i64>::new());
    assert_eq!(ids(&app, "how can I return my sofa?").await[0], sofa);
    // The shipped store-domain synonyms: a couch is a sofa.
    assert_eq!(ids(&app, "couch").await.first(), Some(&sofa));

    // The workspace's own group, applied at once, and gone when deleted.
    assert!(ids(&app, "zorb").await.is_empty());
    let (s, g) = app
        .post(
            "/api/v1/kb/synonyms",
            json!({ "language": "en", "words": ["Zorb", "hamster ball", "zorb"] }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    assert_eq!(g["words"], json!(["zorb", "hamster ball"]));
    assert_eq!(ids(&app, "zorb").await, vec![ball]);
    let (_, list) = app.get("/api/v1/kb/synonyms").await;
    assert_eq!(list["synonyms"].as_array().unwrap().len(), 1, "{list}");
    let (s, _) = app
        .call(Method::DELETE, &format!("/api/v1/kb/synonyms/{}", g["id"]), &t, None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(ids(&app, "zorb").await.is_empty());
}

async fn kb_phrasings_and_suggestions(db: Db) {
    let app = TestApp::spawn(db).await;
    let t = app.token.clone();
    let wrap = article(&app, &t, "Gift wrapping", "We wrap presents in paper for free.").await;
    article(&app, &t, "Delivery times", "We deliver within two to four days.").await;

    // A shopper's wording the article does not use finds nothing; then
    // the same visitor finds the article another way and opens it.
    assert!(ids(&app, "birthday surprise packaging").await.is_empty());
    search_and_open(&app, "wrap", "s1", wrap).await;
    let (_, r) = app.get("/api/v1/kb/reports/search").await;
    let suggested = &r["suggested_phrasings"];
    assert_eq!(suggested[0]["query"], "birthday surprise packaging", "{r}");
    assert_eq!(suggested[0]["article_id"], wrap);
    assert_eq!(suggested[0]["article_title"], "Gift wrapping");
    let (_, queries) = app.get(&format!("/api/v1/kb/articles/{wrap}/queries")).await;
    assert_eq!(
        queries["queries"],
        json!([{ "query": "wrap", "count": 1 }]),
        "{queries}"
    );

    // One click in the report adds it as a phrasing: now it is found.
    let (s, a) = app
        .post(
            &format!("/api/v1/kb/articles/{wrap}/phrasings"),
            json!({ "text": "Birthday surprise   packaging" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert_eq!(a["phrasings"], json!(["Birthday surprise packaging"]));
    assert_eq!(ids(&app, "birthday surprise packaging").await, vec![wrap]);
    // Added once, and no longer suggested.
    app.post(
        &format!("/api/v1/kb/articles/{wrap}/phrasings"),
        json!({ "text": "birthday surprise packaging" }),
    )
    .await;
    let (_, a) = app.get(&format!("/api/v1/kb/articles/{wrap}")).await;
    assert_eq!(a["phrasings"].as_array().unwrap().len(), 1, "{a}");
    let (_, r) = app.get("/api/v1/kb/reports/search").await;
    assert_eq!(r["suggested_phrasings"], json!([]), "{r}");

    // The whole list is edited with the article; an empty list removes them.
    let (s, a) = app
        .patch(
            &format!("/api/v1/kb/articles/{wrap}"),
            json!({ "phrasings": ["can you wrap it as a present"] }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert!(ids(&app, "birthday surprise packaging").await.is_empty());
    assert_eq!(ids(&app, "present").await, vec![wrap]);
    let csv = app
        .client
        .get(format!("{}/api/v1/kb/reports/search?format=csv", app.base))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.contains("suggested_phrasing,birthday surprise packaging,Gift wrapping,1"),
        "{csv}"
    );
}

async fn kb_clicks_lift_an_article_and_fade(db: Db) {
    let app = TestApp::spawn(db).await;
    let t = app.token.clone();
    let a = article(&app, &t, "Parcel delivery times", "A parcel takes two to four days.").await;
    let b = article(&app, &t, "Parcel lockers", "Pick a parcel up from a locker near you.").await;
    let first = ids(&app, "parcel").await;
    assert_eq!(first.len(), 2);
    let (top, other) = (first[0], first[1]);
    assert!([a, b].contains(&top) && [a, b].contains(&other));

    // Shoppers who search "parcel" open the other one: it comes first for
    // that query, and only for that query.
    for i in 0..3 {
        search_and_open(&app, "parcel", &format!("v{i}"), other).await;
    }
    assert_eq!(ids(&app, "parcel").await[0], other);
    assert_eq!(ids(&app, "parcel days").await[0], a, "another query is not lifted");
    // Opening the same search's result again counts once.
    let (_, before): (StatusCode, Value) = app.get("/api/v1/kb/reports/search").await;
    assert!(before["searches"].as_i64().unwrap() >= 4);

    // A year later the clicks have faded to nothing: text decides again.
    let pool = pool(&app).await;
    let year = 365 * 86_400_000_i64;
    let n = sqlx::query("UPDATE kb_clicks SET updated_at = updated_at - $1")
        .bind(year)
        .execute(&pool)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(n, 1);
    assert_eq!(ids(&app, "parcel").await[0], top);

    // Clicks on a deleted article go with it.
    let (s, _) = app
        .call(Method::DELETE, &format!("/api/v1/kb/articles/{other}"), &t, None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM kb_clicks")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

async fn kb_learning_bad_input_and_isolation(db: Db) {
    let app = TestApp::spawn(db).await;
    let t = app.token.clone();
    let mine = article(&app, &t, "Hamster balls", "Our hamster balls are made of safe plastic.").await;
    for body in [
        json!({ "language": "en", "words": ["zorb"] }),
        json!({ "language": "en", "words": ["zorb", "ZORB "] }),
        json!({ "language": "de", "words": ["a", "b"] }),
        json!({ "language": "en", "words": ["a,b", "c"] }),
        json!({ "language": "en", "words": ["x".repeat(61), "c"] }),
        json!({ "language": "en", "words": (0..21).map(|i| format!("w{i}")).collect::<Vec<_>>() }),
        json!({ "language": "en", "words": (0..5000).map(|i| format!("w{i}")).collect::<Vec<_>>() }),
    ] {
        let (s, v) = app.post("/api/v1/kb/synonyms", body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(v["error"]["code"].is_string(), "{v}");
    }
    let (s, _) = app
        .post(
            "/api/v1/kb/synonyms",
            json!({ "language": "en", "words": ["a", "b"], "x": 1 }),
        )
        .await;
    assert!(s.is_client_error(), "{s}");
    for body in [
        json!({ "phrasings": ["x".repeat(201)] }),
        json!({ "phrasings": ["  "] }),
        json!({ "phrasings": (0..51).map(|i| format!("question {i}")).collect::<Vec<_>>() }),
    ] {
        let (s, v) = app.patch(&format!("/api/v1/kb/articles/{mine}"), body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(v["error"]["message"].as_str().unwrap().contains("phrasings"), "{v}");
    }
    let (s, _) = app
        .post("/api/v1/kb/articles/999999/phrasings", json!({ "text": "hello" }))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = app
        .post(&format!("/api/v1/kb/articles/{mine}/phrasings"), json!({ "text": "" }))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    // An agent who is not an admin changes none of it.
    let (_, agent) = app.agent("kate@acme.test", false).await;
    for (m, path, body) in [
        (Method::GET, "/api/v1/kb/synonyms".to_string(), None),
        (
            Method::POST,
            "/api/v1/kb/synonyms".to_string(),
            Some(json!({ "language": "en", "words": ["a", "b"] })),
        ),
        (
            Method::POST,
            format!("/api/v1/kb/articles/{mine}/phrasings"),
            Some(json!({ "text": "hello" })),
        ),
    ] {
        let (s, _) = app.call(m, &path, &agent, body).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}");
    }

    // Another workspace: cannot see or touch this one's groups, phrasings or
    // search log, and this one's synonyms do not change its search.
    let (s, g) = app
        .post(
            "/api/v1/kb/synonyms",
            json!({ "language": "en", "words": ["zorb", "hamster ball"] }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, _, other) = app.workspace("Other Shop").await;
    let theirs = article(&app, &other, "Hamster balls", "Hamster balls for every hamster.").await;
    let (_, list) = app.call(Method::GET, "/api/v1/kb/synonyms", &other, None).await;
    assert_eq!(list["synonyms"], json!([]));
    let (s, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/kb/synonyms/{}", g["id"]),
            &other,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    for (m, path, body) in [
        (
            Method::POST,
            format!("/api/v1/kb/articles/{mine}/phrasings"),
            Some(json!({ "text": "pwned" })),
        ),
        (Method::GET, format!("/api/v1/kb/articles/{mine}/queries"), None),
    ] {
        let (s, _) = app.call(m, &path, &other, body).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(ids(&app, "zorb").await, vec![mine]);
    let slug = storedesk::domain::slugify("Other Shop");
    let r = search_in(&app, &slug, "zorb", "s2").await;
    assert_eq!(r["hits"], json!([]), "{r}");
    let r = search_in(&app, &slug, "hamster", "s2").await;
    assert_eq!(r["hits"][0]["id"], theirs);
    // A search id of this workspace opened through the other's help centre
    // teaches neither.
    let sid = search_in(&app, "acme-shop", "hamster", "s3").await["search_id"].clone();
    let url = format!("{}/p/{slug}/kb/en/hamster-balls?sid={sid}", app.base);
    app.client.get(url).send().await.unwrap();
    let pool = pool(&app).await;
    let clicks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM kb_clicks")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(clicks, 0);
}

/// The admin's side in the console: the suggestion with its one-click
/// "add as phrasing" and "create an article", the phrasings on the article
/// page with the searches that led there, and synonyms added and removed.
async fn kb_learning_console(db: Db) {
    let app = TestApp::spawn(db).await;
    let t = app.token.clone();
    let wrap = article(&app, &t, "Gift wrapping", "We wrap presents in paper for free.").await;
    assert!(ids(&app, "birthday surprise packaging").await.is_empty());
    search_and_open(&app, "wrap", "s1", wrap).await;

    let mut boss = crate::console::admin(&app).await;
    let (s, html) = boss.get("/app/admin/kb").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("birthday surprise packaging"), "the suggestion is listed");
    assert!(
        html.contains("/app/admin/kb/new?title=birthday%20surprise%20packaging"),
        "with a link to write an article for it"
    );
    let (_, loc) = boss
        .post(
            &format!("/app/admin/kb/{wrap}/phrasings"),
            &[("text", "birthday surprise packaging")],
        )
        .await;
    assert!(loc.contains("ok=saved"), "{loc}");
    assert_eq!(ids(&app, "birthday surprise packaging").await, vec![wrap]);
    let (_, html) = boss.get(&format!("/app/admin/kb/{wrap}")).await;
    assert!(
        html.contains("birthday surprise packaging</textarea>"),
        "the phrasing is on the article's page"
    );
    assert!(html.contains("<li>wrap (1)</li>"), "and the search that led there");
    let (_, html) = boss.get("/app/admin/kb/new?title=birthday%20surprise").await;
    assert!(html.contains("value=\"birthday surprise\""), "the title is prefilled");

    let (_, loc) = boss
        .post(
            "/app/admin/kb/synonyms",
            &[("language", "en"), ("words", "zorb, hamster ball")],
        )
        .await;
    assert!(loc.contains("ok=saved"), "{loc}");
    let (_, loc) = boss
        .post("/app/admin/kb/synonyms", &[("language", "en"), ("words", "zorb")])
        .await;
    assert!(loc.contains("err="), "one word is no group: {loc}");
    let (_, list) = app.get("/api/v1/kb/synonyms").await;
    let id = list["synonyms"][0]["id"].as_i64().unwrap();
    let (_, html) = boss.get("/app/admin/kb").await;
    assert!(html.contains("zorb, hamster ball"), "the group is listed");
    boss.post(&format!("/app/admin/kb/synonyms/{id}/delete"), &[]).await;
    let (_, list) = app.get("/api/v1/kb/synonyms").await;
    assert_eq!(list["synonyms"], json!([]));
}
