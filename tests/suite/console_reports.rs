//! The console's reports page over HTTP, as a browser without script uses
//! it: admins only; the figures, charts and tables of the workspace's
//! tickets, a friendly page before there are any; the period, a filter and
//! the comparison from the GET form, and a bad query explained rather than
//! failed; report settings saved and refused with the reason; CSV links
//! that download the same tables as the API.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::console::{admin, agent, Console};
use crate::harness::{Db, TestApp};

crate::both_backends!(
    the_reports_page_shows_figures_charts_and_tables,
    reports_are_for_admins_only,
    report_settings_are_saved_and_refused,
    csv_links_download_the_apis_tables,
);

/// The value a headline card shows.
fn card(html: &str, key: &str) -> String {
    let at = html
        .find(&format!("rp-card rp-card-{key}\""))
        .unwrap_or_else(|| panic!("no {key} card in {html}"));
    let rest = &html[at..];
    let v = rest.split("<p class=\"rp-value\">").nth(1).unwrap();
    v[..v.find("</p>").unwrap()].to_string()
}

/// The text of a card, for its details and comparison.
fn card_text(html: &str, key: &str) -> String {
    let at = html.find(&format!("rp-card rp-card-{key}\"")).unwrap();
    let rest = &html[at..];
    rest[..rest.find("</li>").unwrap()].to_string()
}

/// The section of a breakdown table (up to the next section).
fn table<'a>(html: &'a str, key: &str) -> &'a str {
    let at = html
        .find(&format!("rp-table rp-table-{key}\""))
        .unwrap_or_else(|| panic!("no {key} table"));
    let rest = &html[at..];
    &rest[..rest.find("</section>").unwrap()]
}

fn csv_links(html: &str) -> Vec<String> {
    html.match_indices("class=\"rp-csv\" href=\"")
        .map(|(i, m)| html[i + m.len()..].split('"').next().unwrap().to_string())
        .collect()
}

async fn patch(app: &TestApp, id: i64, body: Value) {
    let (s, v) = app.patch(&format!("/api/v1/tickets/{id}"), body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

/// Five tickets: three answered, two resolved, two labelled vip, one
/// order problem and one missing feature.
async fn some_tickets(app: &TestApp) -> Vec<i64> {
    let mut ids = vec![];
    for i in 0..5 {
        let t = app.ticket(&format!("Order {i}"), &format!("c{i}@shop.test")).await;
        ids.push(t["id"].as_i64().unwrap());
    }
    for (n, id) in ids.iter().enumerate().take(3) {
        storedesk::store::advance_clock(40_000 * (n as i64 + 1));
        let (s, m) = app
            .post(&format!("/api/v1/tickets/{id}/messages"), json!({"body": "On its way"}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{m}");
    }
    patch(
        app,
        ids[0],
        json!({"status": "resolved", "kind": "order_problem", "labels": ["vip"]}),
    )
    .await;
    patch(app, ids[1], json!({"status": "resolved", "labels": ["vip"]})).await;
    patch(
        app,
        ids[2],
        json!({"kind": "missing_feature", "feature": "Gift wrapping"}),
    )
    .await;
    app.consumed("reports").await;
    ids
}

async fn the_reports_page_shows_figures_charts_and_tables(db: Db) {
    let app = TestApp::spawn(db).await;
    let mut boss = admin(&app).await;

    // Before the first ticket: a friendly page, no empty charts.
    let (s, html) = boss.get("/app/reports").await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("No conversations in this period yet."), "{html}");
    assert!(!html.contains("<svg"), "{html}");
    assert_eq!(card(&html, "created"), "0");
    assert!(
        html.contains("href=\"/app/reports\" aria-current=\"page\""),
        "the navigation links it"
    );

    some_tickets(&app).await;
    let (s, html) = boss.get("/app/reports").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(card(&html, "created"), "5");
    assert_eq!(card(&html, "resolved"), "2");
    assert_eq!(card(&html, "backlog"), "0 → 3");
    assert!(
        card(&html, "first-response").ends_with(" s"),
        "{}",
        card(&html, "first-response")
    );
    assert!(card_text(&html, "first-response").contains("Business hours:"));
    assert_eq!(card(&html, "csat"), "—");
    assert!(!html.contains("Previous period"), "no comparison unless asked");
    assert!(html.contains("Days and hours in the workspace's time zone, UTC."));

    // The charts: labelled images with their numbers beside them, the
    // benchmark on the first response chart; no ratings yet.
    let svgs = html.matches("<svg").count();
    assert_eq!(svgs, 3, "created/resolved, first response, heatmap: {html}");
    assert_eq!(html.matches(r#"role="img" aria-label=""#).count(), svgs);
    assert!(
        html.contains("aria-label=\"Conversations created and resolved, "),
        "{html}"
    );
    assert!(html.contains(": 5 created, 2 resolved; the backlog went from 0 to 3."));
    assert!(html.contains(">E-commerce benchmark 113 s</text>"), "{html}");
    assert!(html.contains("No ratings in this period."));
    assert_eq!(html.matches("<rect class=\"hm").count(), 7 * 24);
    assert!(html.contains("the busiest hour is "), "{html}");
    assert_eq!(html.matches("<details class=\"rp-numbers\">").count(), 3);

    // The tables: every agent, the labels, all five kinds by name, the
    // missing feature by customers.
    assert!(table(&html, "agent").contains("Boss Admin"));
    assert!(table(&html, "label").contains("vip"));
    let kinds = table(&html, "kind");
    for k in ["Question", "Order problem", "Bug", "Missing feature", "Unclear feature"] {
        assert!(kinds.contains(&format!("<bdi>{k}</bdi>")), "{k} in {kinds}");
    }
    assert!(table(&html, "features").contains("<bdi>Gift wrapping</bdi>"));
    assert!(
        table(&html, "channel").contains("<bdi>API</bdi>"),
        "{}",
        table(&html, "channel")
    );

    // Compared with the previous 30 days (which had nothing).
    let (s, html) = boss.get("/app/reports?compare=1").await;
    assert_eq!(s, StatusCode::OK);
    let created = card_text(&html, "created");
    assert!(created.contains("Previous period: 0"), "{created}");
    assert!(
        created.contains("rp-delta rp-neutral") && created.contains("▲"),
        "{created}"
    );
    let resolved = card_text(&html, "resolved");
    assert!(resolved.contains("rp-delta rp-better"), "{resolved}");
    assert!(html.contains("name=\"compare\" value=\"1\" checked"));

    // One filter: the figures follow it, the tables stay whole.
    let (s, html) = boss
        .get("/app/reports?from=&to=&team=&agent=&channel=&label=vip&kind=")
        .await;
    assert_eq!(s, StatusCode::OK, "empty fields are 'any': {html}");
    assert_eq!(card(&html, "created"), "2");
    assert_eq!(card(&html, "backlog"), "0 → 0");
    assert!(html.contains("<option value=\"vip\" selected>"));
    assert!(html.contains("the heatmap and the tables below cover the whole workspace"));
    assert!(table(&html, "agent").contains("Boss Admin"));
    assert!(html.contains("&label=vip\">Last 7 days</a>"), "presets keep the filter");

    // Wrong queries are explained on the page, with the form to fix them.
    for (q, why) in [
        ("label=vip&channel=email", "Filter: reports take one filter at a time"),
        ("from=2026-02-30", "From: must be a date like 2026-11-30"),
        ("from=2026-05-02&to=2026-05-01", "From: must not be after to"),
        ("channel=pigeon", "Channel: 'pigeon' is not one of"),
        ("team=abc", "Team: must be a positive id"),
    ] {
        let (s, html) = boss.get(&format!("/app/reports?{q}")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}");
        assert!(
            html.contains("The report cannot be shown.</strong> ") && html.contains(why),
            "{q}: {html}"
        );
        assert!(!html.contains("rp-card"), "{q}: no figures");
        assert!(html.contains("id=\"rp-from\""), "{q}: the form is there");
    }
}

async fn reports_are_for_admins_only(db: Db) {
    let app = TestApp::spawn(db).await;
    let (_, mut ann) = agent(&app, "ann@acme.test", "Ann Agent", false).await;
    for p in [
        "/app/reports",
        "/app/reports?compare=1",
        "/app/reports/summary.csv",
        "/app/reports/by-agent.csv",
    ] {
        let (s, html) = ann.get(p).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{p}");
        assert!(html.contains("For admins only"), "{p}: {html}");
    }
    let (_, html) = ann.get("/app").await;
    assert!(!html.contains("/app/reports"), "no Reports link for agents");
    let (s, _) = ann
        .post(
            "/app/reports/settings",
            &[
                ("industry", "technology"),
                ("nps_every_days", "9"),
                ("nps_delay_hours", "1"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // The admin's form needs the session's token.
    let mut boss = admin(&app).await;
    boss.get("/app/reports").await;
    let form = [
        ("industry", "technology"),
        ("nps_every_days", "9"),
        ("nps_delay_hours", "1"),
    ];
    let (s, body) = boss.raw_post("/app/reports/settings", &form, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("csrf_failed"));
    let (_, v) = app.get("/api/v1/reports/settings").await;
    assert_eq!(v["industry"], "ecommerce", "unchanged: {v}");
}

async fn report_settings_are_saved_and_refused(db: Db) {
    let app = TestApp::spawn(db).await;
    let mut boss = admin(&app).await;
    let (_, html) = boss.get("/app/reports?label=vip").await;
    assert!(
        html.contains("<option value=\"ecommerce\" selected>"),
        "the stored settings"
    );
    assert!(html.contains("name=\"csat\" value=\"on\" checked"));
    assert!(html.contains("name=\"back\" value=\""), "{html}");

    // Saved: back to the same report, with a notice.
    let (s, to) = boss
        .post(
            "/app/reports/settings",
            &[
                ("industry", "technology"),
                ("nps", "on"),
                ("nps_every_days", "30"),
                ("nps_delay_hours", "2"),
                ("back", "from=2026-01-01&to=2026-01-31&label=vip"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    assert!(
        to.starts_with("/app/reports?from=2026-01-01&to=2026-01-31&label=vip&ok=Report%20settings%20saved.")
            && to.ends_with("#report-settings"),
        "{to}"
    );
    let (_, v) = app.get("/api/v1/reports/settings").await;
    assert_eq!(
        v,
        json!({"industry": "technology", "csat": false, "nps": true, "nps_every_days": 30, "nps_delay_hours": 2})
    );
    let (_, html) = boss.get(&to).await;
    assert!(html.contains("Report settings saved."));
    assert!(html.contains("<option value=\"technology\" selected>"));
    assert!(html.contains("name=\"nps\" value=\"on\" checked") && !html.contains("name=\"csat\" value=\"on\" checked"));
    assert!(html.contains("name=\"nps_every_days\" min=\"1\" max=\"3650\" value=\"30\""));
    assert!(
        html.contains("Satisfaction surveys are off") || html.contains("No conversations"),
        "{html}"
    );

    // Refused: the reason and what was typed, nothing saved.
    for (form, why) in [
        (
            [
                ("industry", "ecommerce"),
                ("nps_every_days", "0"),
                ("nps_delay_hours", "2"),
            ],
            "NPS: at most once per customer every (days): must be between 1 and 3650",
        ),
        (
            [
                ("industry", "retail"),
                ("nps_every_days", "30"),
                ("nps_delay_hours", "2"),
            ],
            "Industry: 'retail' is not one of",
        ),
        (
            [
                ("industry", "ecommerce"),
                ("nps_every_days", "30"),
                ("nps_delay_hours", "soon"),
            ],
            "NPS: hours after the resolution: must be a whole number",
        ),
    ] {
        let (s, html) = boss.post("/app/reports/settings", &form).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{form:?}: {html}");
        assert!(
            html.contains("Not saved.</strong> ") && html.contains(why),
            "{why}: {html}"
        );
        assert!(html.contains(&format!("value=\"{}\"", form[1].1)), "typed value kept");
    }
    let (_, after) = app.get("/api/v1/reports/settings").await;
    assert_eq!(after, v, "nothing saved");
}

/// A download with the session cookie: status, content type, body.
async fn download(c: &Console, path: &str) -> (StatusCode, String, String, String) {
    let r = Console::client()
        .get(format!("{}{path}", c.base))
        .header("cookie", &c.cookie)
        .send()
        .await
        .unwrap();
    let h = |n: &str| {
        r.headers()
            .get(n)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let (s, ct, cd) = (r.status(), h("content-type"), h("content-disposition"));
    (s, ct, cd, r.text().await.unwrap())
}

async fn api_csv(app: &TestApp, path: &str) -> String {
    let r = app
        .client
        .get(format!("{}{path}", app.base))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.text().await.unwrap()
}

async fn csv_links_download_the_apis_tables(db: Db) {
    let app = TestApp::spawn(db).await;
    let mut boss = admin(&app).await;
    some_tickets(&app).await;
    let (_, html) = boss.get("/app/reports?label=vip&compare=1").await;
    let links = csv_links(&html);
    let names: Vec<&str> = links
        .iter()
        .map(|l| l.trim_start_matches("/app/reports/").split('?').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "summary.csv",
            "daily.csv",
            "heatmap.csv",
            "by-agent.csv",
            "by-team.csv",
            "by-channel.csv",
            "by-label.csv",
            "by-kind.csv",
            "features.csv"
        ]
    );
    for link in &links {
        let (s, ct, cd, body) = download(&boss, link).await;
        assert_eq!(s, StatusCode::OK, "{link}: {body}");
        assert_eq!(ct, "text/csv; charset=utf-8", "{link}");
        let name = link.trim_start_matches("/app/reports/").split('?').next().unwrap();
        assert_eq!(cd, format!("attachment; filename=\"{name}\""), "{link}");
        // The figures follow the filter; breakdowns and the heatmap cover
        // the whole workspace, as on the page.
        let stem = name.trim_end_matches(".csv");
        assert_eq!(
            link.contains("label=vip"),
            ["summary", "daily"].contains(&stem),
            "{link}"
        );
        let qs = link.split_once('?').unwrap().1;
        let path = match stem {
            "daily" => format!("/api/v1/reports/series?format=csv&{qs}"),
            "summary" | "heatmap" | "features" => format!("/api/v1/reports/{stem}?format=csv&{qs}"),
            by => format!(
                "/api/v1/reports/breakdown?by={}&format=csv&{qs}",
                by.trim_start_matches("by-")
            ),
        };
        assert_eq!(body, api_csv(&app, &path).await, "{link} and {path}");
    }
    let (_, _, _, summary) = download(&boss, &links[0]).await;
    assert!(
        summary.starts_with("measure,value,previous\r\ncreated,2,0\r\n"),
        "{summary}"
    );
    let (_, _, _, agents) = download(&boss, &links[3]).await;
    assert!(agents.lines().next().unwrap().ends_with(",online_s"), "{agents}");
    assert!(agents.contains(",Boss Admin,"), "{agents}");

    for bad in [
        "/app/reports/nope.csv",
        "/app/reports/by-hour.csv",
        "/app/reports/summary",
    ] {
        let (s, ..) = download(&boss, bad).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{bad}");
    }
    let (s, _, _, body) = download(&boss, "/app/reports/summary.csv?from=2026-02-30").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}
