//! The knowledge base through the API and the public help centre: the
//! search contract, languages, drafts, pages, votes, analytics, bad input.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{Db, TestApp};

crate::both_backends!(
    articles_are_searchable_in_their_language,
    help_centre_pages_and_votes,
    search_analytics_report,
    bad_input_and_isolation
);

async fn article(app: &TestApp, title: &str, body: &str, lang: &str, status: &str) -> Value {
    let (s, a) = app
        .post(
            "/api/v1/kb/articles",
            json!({ "title": title, "body": body, "language": lang, "status": status }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    assert!(a["id"].is_i64());
    a
}

async fn search(app: &TestApp, q: &str, lang: &str) -> Value {
    let r = app
        .client
        .get(format!("{}/p/acme-shop/kb/search", app.base))
        .query(&[("q", q), ("lang", lang), ("session", "s1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

async fn articles_are_searchable_in_their_language(db: Db) {
    let app = TestApp::spawn(db).await;
    let refund = article(
        &app,
        "When will I get my refund?",
        "Refunds reach your card within **5 business days** after we receive the parcel.",
        "en",
        "published",
    )
    .await;
    article(
        &app,
        "Delivery times",
        "We deliver in 2-4 days across the country.",
        "en",
        "published",
    )
    .await;
    let ru = article(
        &app,
        "Деньги списали, а заказа нет",
        "Если оплата прошла, а заказ не появился, напишите нам номер платежа.",
        "ru",
        "published",
    )
    .await;
    let fa = article(
        &app,
        "پیگیری سفارش",
        "وضعیت سفارش‌ها را در حساب کاربری ببینید.",
        "fa",
        "published",
    )
    .await;
    let draft = article(&app, "Secret refund policy draft", "Not yet.", "en", "draft").await;

    let r = search(&app, "refund", "en").await;
    let hit = &r["hits"][0];
    assert_eq!(hit["id"], refund["id"]);
    assert!(hit["url"].as_str().unwrap().starts_with("/p/acme-shop/kb/en/"));
    assert!(hit["snippet"].as_str().unwrap().contains("<mark>"), "{hit}");
    assert!(hit["score"].as_f64().unwrap() > 0.0);
    assert!(
        r["hits"].as_array().unwrap().iter().all(|h| h["id"] != draft["id"]),
        "drafts are not found"
    );
    assert_eq!(
        search(&app, "refnd", "en").await["hits"][0]["id"],
        refund["id"],
        "a typo still finds it"
    );
    assert_eq!(
        search(&app, "списали деньги заказ", "ru").await["hits"][0]["id"],
        ru["id"]
    );
    assert_eq!(
        search(&app, "سفارشها", "fa").await["hits"][0]["id"],
        fa["id"],
        "plural without ZWNJ"
    );

    // Publishing a draft makes it findable; deleting removes it.
    let (s, _) = app
        .patch(
            &format!("/api/v1/kb/articles/{}", draft["id"]),
            json!({ "status": "published" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(search(&app, "secret policy", "en").await["hits"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["id"] == draft["id"]));
    let (s, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/kb/articles/{}", draft["id"]),
            &app.token,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(search(&app, "secret policy", "en").await["hits"]
        .as_array()
        .unwrap()
        .iter()
        .all(|h| h["id"] != draft["id"]));
}

async fn help_centre_pages_and_votes(db: Db) {
    let app = TestApp::spawn(db).await;
    let (_, cat) = app
        .post("/api/v1/kb/categories", json!({ "name": "Returns", "language": "en" }))
        .await;
    let (s, en) = app.post("/api/v1/kb/articles", json!({ "title": "How to return an item", "body": "# Steps\n\n1. Pack it\n2. Send it <script>alert(1)</script>", "language": "en", "status": "published", "category_id": cat["id"] })).await;
    assert_eq!(s, StatusCode::CREATED, "{en}");
    let (_, uk) = app.post("/api/v1/kb/articles", json!({ "title": "Як повернути товар", "body": "Запакуйте та надішліть.", "language": "uk", "status": "published", "translation_of": en["id"] })).await;
    let page = app
        .client
        .get(format!("{}/p/acme-shop/kb?lang=en", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Returns") && html.contains("How to return an item"),
        "{html}"
    );
    assert!(html.contains("rel=\"canonical\""));
    let url = format!("{}/p/acme-shop/kb/en/{}", app.base, en["slug"].as_str().unwrap());
    let html = app.client.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(
        html.contains("<h1>Steps</h1>") && !html.contains("<script>alert"),
        "rendered and sanitised"
    );
    // (minijinja escapes '/' in attributes as &#x2f;, which browsers read back.)
    assert!(
        html.replace("&#x2f;", "/")
            .contains(&format!("/p/acme-shop/kb/uk/{}", uk["slug"].as_str().unwrap())),
        "links its translation"
    );
    let html = app
        .client
        .get(format!("{}/p/acme-shop/kb?lang=fa", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("dir=\"rtl\""));
    let html = app
        .client
        .get(format!("{}/p/acme-shop/kb?q=%3Cscript%3Ex", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("<script>x"), "the query is escaped");

    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirect
        .post(format!("{url}/vote"))
        .form(&[("helpful", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    no_redirect
        .post(format!("{url}/vote"))
        .form(&[("helpful", "no")])
        .send()
        .await
        .unwrap();
    let (_, a) = app.get(&format!("/api/v1/kb/articles/{}", en["id"])).await;
    assert_eq!(
        (a["helpful_yes"].as_i64(), a["helpful_no"].as_i64()),
        (Some(1), Some(1))
    );
    assert!(a["views"].as_i64().unwrap() >= 1);

    // The category has its own page, linked from the index and the sitemap.
    let cat_url = format!("/p/acme-shop/kb/c/en/{}", cat["slug"].as_str().unwrap());
    let r = app.client.get(format!("{}{cat_url}", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap().replace("&#x2f;", "/");
    assert!(
        html.contains("<title>Returns ·")
            && html.contains("How to return an item")
            && html.contains(&format!("{cat_url}\">")),
        "{html}"
    );
    let r = app
        .client
        .get(format!("{}/p/acme-shop/kb/c/en/no-such-category", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let xml = app
        .client
        .get(format!("{}/p/acme-shop/kb/sitemap.xml", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(xml.contains("<urlset") && xml.contains(&format!("/p/acme-shop/kb/en/{}", en["slug"].as_str().unwrap())));
    assert!(xml.contains(&cat_url), "{xml}");
    let r = app
        .client
        .get(format!("{}/p/acme-shop/kb/en/no-such-article", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

async fn search_analytics_report(db: Db) {
    let app = TestApp::spawn(db).await;
    let a = article(
        &app,
        "Promo code does not work",
        "Check the expiry date and the minimum order.",
        "en",
        "published",
    )
    .await;
    let miss = search(&app, "bitcoin payment", "en").await;
    assert_eq!(miss["hits"], json!([]));
    let found = search(&app, "promo code", "en").await;
    // The visitor opens the result (the URL carries the search id).
    let url = found["hits"][0]["url"].as_str().unwrap().to_string();
    assert!(url.contains("?sid="));
    app.client.get(format!("{}{url}", app.base)).send().await.unwrap();
    let (_, r) = app.get("/api/v1/kb/reports/search").await;
    assert_eq!(r["searches"], 2);
    assert_eq!(r["no_results"][0][0], "bitcoin payment");
    assert_eq!(r["next"][0], json!(["bitcoin payment", "promo code", 1]), "{r}");
    assert!(
        r["deflection_rate"].as_f64().unwrap() > 0.99,
        "opened and did not write: {r}"
    );
    let _ = a;
    // Writing to the team after searching is not a deflection.
    let r = app
        .client
        .post(format!("{}/p/acme-shop/kb/contacted", app.base))
        .json(&json!({ "session": "s1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, r) = app.get("/api/v1/kb/reports/search").await;
    assert_eq!(r["deflection_rate"].as_f64().unwrap(), 0.0);
    let csv = app
        .client
        .get(format!("{}/api/v1/kb/reports/search?format=csv", app.base))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = csv.text().await.unwrap();
    assert!(
        csv.starts_with("kind,query,next_query,count") && csv.contains("no_results,bitcoin payment,,1"),
        "{csv}"
    );
    let (_, agent) = app.agent("kate@acme.test", false).await;
    let (s, _) = app.call(Method::GET, "/api/v1/kb/reports/search", &agent, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

async fn bad_input_and_isolation(db: Db) {
    let app = TestApp::spawn(db).await;
    let mine = article(&app, "Warranty", "Two years on all goods.", "en", "published").await;
    for q in ["", "   ", "\"AND OR ( ) * ~ ^ : [ ] { }", "warranty!!!"] {
        let r = search(&app, q, "en").await;
        assert!(r["hits"].is_array(), "{q}: {r}");
    }
    assert!(
        search(&app, "warranty", "xx").await["hits"].is_array(),
        "unknown language"
    );
    let r = app
        .client
        .get(format!("{}/p/acme-shop/kb/search", app.base))
        .query(&[("q", "a".repeat(10_000))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "query_too_long");
    let r = app
        .client
        .get(format!("{}/p/no-such-shop/kb/search?q=x", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    for (body, field) in [
        (json!({ "title": "x", "body": "y" }), "language"),
        (json!({ "title": "x", "body": "y", "language": "de" }), "language"),
        (json!({ "title": "", "body": "y", "language": "en" }), "title"),
        (
            json!({ "title": "x", "body": "y", "language": "en", "status": "live" }),
            "status",
        ),
        (
            json!({ "title": "x", "body": "y", "language": "en", "category_id": 999999 }),
            "category_id",
        ),
    ] {
        let (s, v) = app.post("/api/v1/kb/articles", body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(v["error"]["message"].as_str().unwrap().contains(field), "{v}");
    }
    // Another workspace neither finds nor touches this one's articles.
    let (_, _, other) = app.workspace("Other Shop").await;
    let (s, _) = app
        .call(
            Method::POST,
            "/api/v1/kb/articles",
            &other,
            Some(
                json!({ "title": "Warranty elsewhere", "body": "One year.", "language": "en", "status": "published" }),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let hits = search(&app, "warranty", "en").await;
    assert_eq!(hits["hits"].as_array().unwrap().len(), 1, "{hits}");
    assert_eq!(hits["hits"][0]["id"], mine["id"]);
    for (m, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({ "title": "pwned" }))),
        (Method::DELETE, None),
    ] {
        let (s, _) = app
            .call(m, &format!("/api/v1/kb/articles/{}", mine["id"]), &other, body)
            .await;
        assert!(s == StatusCode::NOT_FOUND, "{s}");
    }
}

/// An article published through one node is found through another: the
/// change reaches every node's index through PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_article_published_on_one_node_is_found_on_another() {
    let app = TestApp::spawn(Db::Postgres).await;
    let (node_b, _stop) = app.second_node().await;
    let a = article(&app, "Gift cards", "Gift cards never expire.", "en", "published").await;
    let mut found = false;
    for _ in 0..100 {
        let r: Value = app
            .client
            .get(format!("{node_b}/p/acme-shop/kb/search?q=gift&lang=en"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if r["hits"].as_array().unwrap().iter().any(|h| h["id"] == a["id"]) {
            found = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(found, "node B's index got the article");
    let (s, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v1/kb/articles/{}", a["id"]),
            &app.token,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let mut gone = false;
    for _ in 0..100 {
        let r: Value = app
            .client
            .get(format!("{node_b}/p/acme-shop/kb/search?q=gift&lang=en"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if r["hits"].as_array().unwrap().is_empty() {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(gone, "and lost it when it was deleted");
}
