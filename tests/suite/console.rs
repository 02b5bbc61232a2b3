//! The agent console over HTTP, as a browser would use it: sign-in with a
//! session cookie, CSRF on every form, the inbox's views, filters and
//! paging, the ticket page's actions, mentions, invitations, and the
//! access checks that must hold when someone edits a URL.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Db, TestApp};

crate::both_backends!(
    sign_in_cookie_and_csrf,
    inbox_views_filters_counts_and_paging,
    ticket_page_reply_note_mention_and_controls,
    restricted_agent_cannot_reach_other_teams_tickets_by_url,
    invitation_link_makes_an_agent_once,
    admin_pages_save_settings,
);

pub const PASSWORD: &str = "correct horse battery";

/// A browser: one session cookie, the CSRF token of the last page seen.
pub struct Console {
    pub base: String,
    client: reqwest::Client,
    pub cookie: String,
    pub csrf: String,
}

/// Undoes the template's HTML escaping (minijinja escapes `/` too).
pub fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

pub fn field(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_string())
}

impl Console {
    pub fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// Signs in through the login form; panics unless it works.
    pub async fn login(base: &str, email: &str, password: &str) -> Console {
        Self::try_login(base, email, password)
            .await
            .unwrap_or_else(|s| panic!("sign-in of {email} failed with {s}"))
    }

    pub async fn try_login(base: &str, email: &str, password: &str) -> Result<Console, StatusCode> {
        let client = Self::client();
        let page = client.get(format!("{base}/login")).send().await.unwrap();
        let pre = page
            .headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let html = page.text().await.unwrap();
        let token = field(&html, "_csrf").expect("a CSRF field on the login form");
        let r = client
            .post(format!("{base}/login"))
            .header("cookie", &pre)
            .form(&[
                ("_csrf", token.as_str()),
                ("email", email),
                ("password", password),
                ("next", "/app"),
            ])
            .send()
            .await
            .unwrap();
        if r.status() != StatusCode::SEE_OTHER {
            return Err(r.status());
        }
        let set = r.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
        for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(set.contains(flag), "the session cookie has {flag}: {set}");
        }
        // Secure exactly when the public URL is https: over plain http a
        // browser would drop a Secure cookie and sign-in would never work.
        assert_eq!(set.contains("Secure"), base.starts_with("https://"), "{set}");
        let cookie = set.split(';').next().unwrap().to_string();
        let mut c = Console {
            base: base.to_string(),
            client,
            cookie,
            csrf: String::new(),
        };
        let (s, _) = c.get("/app").await;
        assert_eq!(s, StatusCode::OK);
        Ok(c)
    }

    /// GETs a page; remembers its CSRF token.
    pub async fn get(&mut self, path: &str) -> (StatusCode, String) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        let s = r.status();
        let body = unescape(&r.text().await.unwrap());
        assert_ne!(s, StatusCode::INTERNAL_SERVER_ERROR, "500 from {path}: {body}");
        if let Some(t) = field(&body, "_csrf") {
            self.csrf = t;
        }
        (s, body)
    }

    /// Posts a multipart form (fields and files) with the session's CSRF
    /// token; returns status and where it redirects.
    pub async fn post_files(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, Vec<u8>)],
    ) -> (StatusCode, String) {
        let mut form = reqwest::multipart::Form::new().text("_csrf", self.csrf.clone());
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        for (name, ct, data) in files {
            let part = reqwest::multipart::Part::bytes(data.clone())
                .file_name(name.to_string())
                .mime_str(ct)
                .unwrap();
            form = form.part("files", part);
        }
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let s = r.status();
        let loc = r.headers().get("location").map(|l| l.to_str().unwrap().to_string());
        let body = r.text().await.unwrap();
        assert_ne!(s, StatusCode::INTERNAL_SERVER_ERROR, "500 from {path}: {body}");
        (s, loc.unwrap_or(body))
    }

    /// Posts a form with the session's CSRF token; returns status and
    /// where it redirects (or the body).
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let mut pairs: Vec<(&str, &str)> = vec![("_csrf", &self.csrf)];
        pairs.extend_from_slice(form);
        self.raw_post(path, &pairs, None).await
    }

    pub async fn raw_post(&self, path: &str, form: &[(&str, &str)], origin: Option<&str>) -> (StatusCode, String) {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .form(form);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let r = req.send().await.unwrap();
        let s = r.status();
        let loc = r.headers().get("location").map(|l| l.to_str().unwrap().to_string());
        let body = unescape(&r.text().await.unwrap());
        assert_ne!(s, StatusCode::INTERNAL_SERVER_ERROR, "500 from {path}: {body}");
        (s, loc.unwrap_or(body))
    }
}

/// An agent with a password; returns (user id, signed-in console).
pub async fn agent(app: &TestApp, email: &str, name: &str, teams_only: bool) -> (i64, Console) {
    let (s, u) = app
        .post(
            "/api/v1/users",
            json!({ "email": email, "name": name, "password": PASSWORD, "teams_only": teams_only }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    let c = Console::login(&app.base, email, PASSWORD).await;
    (u["id"].as_i64().unwrap(), c)
}

/// The admin of the first workspace, with a password.
pub async fn admin(app: &TestApp) -> Console {
    let (s, u) = app
        .post(
            "/api/v1/users",
            json!({ "email": "boss@acme.test", "name": "Boss Admin", "password": PASSWORD, "role": "admin" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    Console::login(&app.base, "boss@acme.test", PASSWORD).await
}

fn numbers(html: &str) -> Vec<i64> {
    html.match_indices("data-number=\"")
        .map(|(i, m)| html[i + m.len()..].split('"').next().unwrap().parse().unwrap())
        .collect()
}

async fn sign_in_cookie_and_csrf(db: Db) {
    let app = TestApp::spawn(db).await;
    let t = app.ticket("Parcel lost", "p@shop.test").await;

    // Without a session a page asks to sign in and keeps where to go back.
    let bare = Console::client();
    let r = bare.get(format!("{}/app/t/1", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login?next=/app/t/1");
    // A bad password, an unknown address: the same answer.
    assert_eq!(
        Console::try_login(&app.base, "nobody@acme.test", PASSWORD).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    let (_, _) = app
        .post(
            "/api/v1/users",
            json!({ "email": "ann@acme.test", "name": "Ann Agent", "password": PASSWORD }),
        )
        .await;
    assert_eq!(
        Console::try_login(&app.base, "ann@acme.test", "wrong password!")
            .await
            .err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    // A login form posted without its double-submit cookie is refused.
    let r = bare
        .post(format!("{}/login", app.base))
        .form(&[("_csrf", "x"), ("email", "ann@acme.test"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    let mut c = Console::login(&app.base, "ann@acme.test", PASSWORD).await;
    let (s, html) = c.get("/app").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("Parcel lost"), "{html}");
    let r = bare
        .get(format!("{}/app", app.base))
        .header("cookie", &c.cookie)
        .send()
        .await
        .unwrap();
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );

    // Every form post needs the session's token and our own origin.
    let path = format!("/app/t/{}", t["number"]);
    let (s, body) = c.raw_post(&path, &[("status", "resolved")], None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("csrf_failed"), "{body}");
    let (s, _) = c
        .raw_post(&path, &[("_csrf", "0000"), ("status", "resolved")], None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = c
        .raw_post(
            &path,
            &[("_csrf", &c.csrf), ("status", "resolved")],
            Some("https://evil.example"),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let other = Console::login(&app.base, "ann@acme.test", PASSWORD).await;
    let (s, _) = c
        .raw_post(&path, &[("_csrf", &other.csrf), ("status", "resolved")], None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "another session's token does not count");
    let (_, t1) = app.get(&format!("/api/v1/tickets/{}", t["id"])).await;
    assert_eq!(t1["status"], "open", "nothing changed without a valid token");
    let (s, _) = c.post(&path, &[("status", "resolved")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, t1) = app.get(&format!("/api/v1/tickets/{}", t["id"])).await;
    assert_eq!(t1["status"], "resolved");

    // Changing the password signs out the other sessions, not this one.
    c.get("/app/settings").await;
    let (s, loc) = c
        .post(
            "/app/settings/password",
            &[
                ("current", "not it at all"),
                ("password", "another long one"),
                ("password2", "another long one"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(loc.contains("err="), "{loc}");
    let (_, loc) = c
        .post(
            "/app/settings/password",
            &[
                ("current", PASSWORD),
                ("password", "another long one"),
                ("password2", "another long one"),
            ],
        )
        .await;
    assert!(loc.contains("ok="), "{loc}");
    let mut other = other;
    let (s, _) = other.get("/app").await;
    assert_eq!(s, StatusCode::SEE_OTHER, "the other session has ended");
    assert_eq!(c.get("/app").await.0, StatusCode::OK);
    Console::login(&app.base, "ann@acme.test", "another long one").await;

    // The language is the agent's own choice; Persian is right to left.
    let (_, _) = c.post("/app/settings/language", &[("lang", "fa")]).await;
    let (_, html) = c.get("/app").await;
    assert!(
        html.contains("dir=\"rtl\"") && html.contains("lang=\"fa\""),
        "{}",
        &html[..300]
    );
    let (s, _) = c.post("/app/settings/language", &[("lang", "xx")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);

    // Signing out ends the session on the server, not only in the browser.
    let (s, loc) = c.post("/logout", &[]).await;
    assert_eq!((s, loc.as_str()), (StatusCode::SEE_OTHER, "/login"));
    assert_eq!(c.get("/app").await.0, StatusCode::SEE_OTHER);
    let (s, loc) = c.post(&path, &[("status", "open")]).await;
    assert_eq!(
        (s, loc.as_str()),
        (StatusCode::SEE_OTHER, "/login"),
        "a form posted after sign-out leads to sign-in"
    );
    let (_, t1) = app.get(&format!("/api/v1/tickets/{}", t["id"])).await;
    assert_eq!(t1["status"], "resolved", "and changes nothing");

    // Guessing passwords is slowed down per address.
    let mut limited = false;
    for _ in 0..15 {
        if Console::try_login(&app.base, "ann@acme.test", "guess guess guess")
            .await
            .err()
            == Some(StatusCode::TOO_MANY_REQUESTS)
        {
            limited = true;
            break;
        }
    }
    assert!(limited, "sign-in attempts are rate limited");
}

async fn inbox_views_filters_counts_and_paging(db: Db) {
    let app = TestApp::spawn(db).await;
    let (ann, mut c) = agent(&app, "ann@acme.test", "Ann Agent", false).await;
    let mut ids = vec![];
    for i in 0..55 {
        let t = app.ticket(&format!("Question {i}"), &format!("c{i}@shop.test")).await;
        ids.push(t["id"].as_i64().unwrap());
    }
    app.patch(&format!("/api/v1/tickets/{}", ids[0]), json!({ "assignee_id": ann }))
        .await;
    app.patch(&format!("/api/v1/tickets/{}", ids[1]), json!({ "status": "pending" }))
        .await;
    app.patch(
        &format!("/api/v1/tickets/{}", ids[2]),
        json!({ "status": "resolved", "priority": "urgent", "labels": ["refund"] }),
    )
    .await;
    app.patch(
        &format!("/api/v1/tickets/{}", ids[3]),
        json!({ "priority": "urgent", "labels": ["refund"] }),
    )
    .await;

    let (_, html) = c.get("/app").await;
    assert!(
        html.contains(r#"data-view="open" aria-current="page">All open <span class="count">53</span>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"data-view="mine">Mine <span class="count">1</span>"#),
        "{html}"
    );
    assert!(html.contains(r#"data-view="unassigned">Unassigned <span class="count">52</span>"#));
    assert!(html.contains(r#"data-view="pending">Pending <span class="count">1</span>"#));
    assert!(html.contains(r#"data-view="resolved">Resolved <span class="count">1</span>"#));
    // 50 a page, most recent activity first, then the next page by cursor.
    let first = numbers(&html);
    assert_eq!(first.len(), 50);
    assert_eq!(first[0], 55);
    let next = html
        .split("rel=\"next\"")
        .next()
        .unwrap()
        .rsplit("href=\"")
        .next()
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let (_, html2) = c.get(&next).await;
    let second = numbers(&html2);
    assert_eq!(second, vec![5, 4, 1], "no ticket twice, none lost: {second:?}");

    let (_, mine) = c.get("/app?view=mine").await;
    assert_eq!(numbers(&mine), vec![1]);
    let (_, urgent) = c.get("/app?view=open&priority=urgent&label=refund").await;
    assert_eq!(numbers(&urgent), vec![4]);
    let (_, resolved) = c.get("/app?view=resolved").await;
    assert_eq!(numbers(&resolved), vec![3]);
    let (_, waiting) = c.get("/app?view=open&sort=waiting").await;
    assert_eq!(numbers(&waiting)[..3], [1, 4, 5], "longest waiting first");
    // The search index follows the database within moments.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, found) = c.get("/app?q=c17%40shop.test").await;
        if numbers(&found).contains(&18) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{:?}", numbers(&found));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (_, by_number) = c.get("/app?q=%233").await;
    assert!(numbers(&by_number).contains(&3), "a search finds resolved tickets too");
    // Nonsense in the URL is ignored, never a 500.
    let (s, _) = c.get("/app?view=zzz&priority=nope&team=x&cursor=%%%&sort=1").await;
    assert_eq!(s, StatusCode::OK);
    // The live refresh gets the same list.
    let (s, frag) = c.get("/app/list?view=mine").await;
    assert_eq!(s, StatusCode::OK);
    assert!(frag.starts_with("<section id=\"inbox-list\""), "{}", &frag[..80]);
    assert_eq!(numbers(&frag), vec![1]);
}

async fn ticket_page_reply_note_mention_and_controls(db: Db) {
    let app = TestApp::spawn(db).await;
    let (ann, mut c) = agent(&app, "ann@acme.test", "Ann Agent", false).await;
    let (bob, mut bob_c) = agent(&app, "bob.stone@acme.test", "Bob Stone", false).await;
    let (s, team) = app.post("/api/v1/teams", json!({ "name": "Returns" })).await;
    assert_eq!(s, StatusCode::CREATED);
    let t = app.ticket("Wrong size", "olga@shop.test").await;
    let n = t["number"].as_i64().unwrap();
    let path = format!("/app/t/{n}");
    let mut admin = admin(&app).await;
    admin.get("/app/admin/canned").await;
    let (s, _) = admin
        .post(
            "/app/admin/canned",
            &[
                ("shortcut", "/size"),
                (
                    "body",
                    "Hi {{contact.name}}, about ticket #{{ticket.number}}: we will swap the size.",
                ),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);

    let (s, html) = c.get(&path).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("Wrong size") && html.contains("olga@shop.test"));
    assert!(
        html.contains("Hi Shopper, about ticket #1: we will swap the size."),
        "the canned answer comes with its placeholders filled"
    );

    // Bob listens on his stream; Ann mentions him in a note.
    assert!(
        crate::harness::Socket::connect(&format!("{}/api/v1/stream", app.ws_url()), None)
            .await
            .is_err(),
        "no stream without a session or token"
    );
    let (_, bob_token) = app
        .call(Method::POST, &format!("/api/v1/users/{bob}/tokens"), &app.token, None)
        .await;
    let mut stream = app.agent_stream(bob_token["token"].as_str().unwrap()).await;
    let (s, loc) = c
        .post(
            &format!("{path}/messages"),
            &[
                ("kind", "note"),
                ("body", "@bob.stone can you check the stock? cc ann@acme.test"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{loc}");
    let f = stream.until("mention").await;
    assert_eq!(f["number"], n);
    let (_, notes) = bob_c.get("/app/notifications").await;
    assert!(
        notes.contains("can you check the stock?") && notes.contains("class=\"unread\""),
        "{notes}"
    );
    bob_c.get(&path).await;
    let (_, notes) = bob_c.get("/app/notifications").await;
    assert!(
        !notes.contains("class=\"unread\""),
        "opening the ticket reads its mentions"
    );

    // A reply goes to the customer's channel (e-mail here: the outbox).
    let (s, _) = c
        .post(
            &format!("{path}/messages"),
            &[("kind", "reply"), ("body", "We will swap it today.")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    app.delivered().await;
    let out = app.store.outbox(app.workspace_id).await.unwrap();
    assert!(
        out.iter()
            .any(|(to, _, body)| to == "olga@shop.test" && body.contains("We will swap it today.")),
        "{out:?}"
    );
    let (s, loc) = c
        .post(&format!("{path}/messages"), &[("kind", "reply"), ("body", "   ")])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(loc.contains("err="), "an empty reply is refused: {loc}");

    // Assign, team, priority, labels, status, snooze.
    let team_id = team["id"].to_string();
    for form in [
        vec![("assignee", "me")],
        vec![("team", team_id.as_str())],
        vec![("priority", "high")],
        vec![("labels", "Exchange, size")],
    ] {
        let (s, loc) = c.post(&path, &form).await;
        assert_eq!((s, loc.as_str()), (StatusCode::SEE_OTHER, path.as_str()), "{form:?}");
    }
    let (_, api) = app.get(&format!("/api/v1/tickets/{}", t["id"])).await;
    assert_eq!(api["assignee_id"], ann);
    assert_eq!(api["team_id"], team["id"]);
    assert_eq!(api["priority"], "high");
    assert_eq!(api["labels"], json!(["exchange", "size"]));
    let (_, loc) = c.post(&path, &[("snooze", "1d")]).await;
    assert_eq!(loc, path);
    let (_, api) = app.get(&format!("/api/v1/tickets/{}", t["id"])).await;
    assert_eq!(api["status"], "pending");
    assert!(api["snoozed_until"].is_string(), "{api}");
    let (_, html) = c.get(&path).await;
    assert!(html.contains("Snoozed until"), "the page shows the snooze");
    let (_, loc) = c
        .post(
            &path,
            &[("snooze", "at"), ("snooze_at", "2001-01-01T10:00"), ("tz_offset", "0")],
        )
        .await;
    assert!(loc.contains("err="), "a snooze in the past is refused: {loc}");
    let (_, _) = c.post(&path, &[("status", "resolved")]).await;
    let (_, api) = app.get(&format!("/api/v1/tickets/{}", t["id"])).await;
    assert_eq!(api["status"], "resolved");
    assert!(api["snoozed_until"].is_null(), "a status change ends the snooze: {api}");
    let (_, loc) = c.post(&path, &[("priority", "sky-high")]).await;
    assert!(loc.contains("err="), "{loc}");

    // The conversation shows every kind, in order.
    let (_, conv) = c.get(&format!("{path}/conversation")).await;
    let order: Vec<usize> = [
        "About: Wrong size",
        "can you check the stock?",
        "We will swap it today.",
        "Assigned to Ann Agent",
        "Status changed from pending to resolved",
    ]
    .iter()
    .map(|s| conv.find(s).unwrap_or_else(|| panic!("{s} in {conv}")))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    assert!(conv.contains("class=\"msg note from-agent\""));
}

async fn restricted_agent_cannot_reach_other_teams_tickets_by_url(db: Db) {
    let app = TestApp::spawn(db).await;
    let (s, returns) = app.post("/api/v1/teams", json!({ "name": "Returns" })).await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, billing) = app.post("/api/v1/teams", json!({ "name": "Billing" })).await;
    let (kim, mut kim_c) = agent(&app, "kim@acme.test", "Kim Returns", true).await;
    app.post(
        &format!("/api/v1/teams/{}/members", returns["id"]),
        json!({ "user_id": kim }),
    )
    .await;
    let mine = app.ticket("Parcel: return a coat", "a@shop.test").await;
    let theirs = app.ticket("Parcel: card charged twice", "b@shop.test").await;
    app.patch(
        &format!("/api/v1/tickets/{}", mine["id"]),
        json!({ "team_id": returns["id"] }),
    )
    .await;
    app.patch(
        &format!("/api/v1/tickets/{}", theirs["id"]),
        json!({ "team_id": billing["id"] }),
    )
    .await;
    // The session's reach is read on every request, so joining a team
    // after signing in counts at once.

    let (_, inbox) = kim_c.get("/app").await;
    assert_eq!(numbers(&inbox), vec![mine["number"].as_i64().unwrap()]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, found) = kim_c.get("/app?q=parcel").await;
        let found = numbers(&found);
        assert!(
            !found.contains(&theirs["number"].as_i64().unwrap()),
            "search does not reveal other teams' tickets"
        );
        if found.contains(&mine["number"].as_i64().unwrap()) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{found:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let other = format!("/app/t/{}", theirs["number"]);
    let (s, body) = kim_c.get(&other).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(!body.contains("card charged twice"));
    assert_eq!(
        kim_c.get(&format!("{other}/conversation")).await.0,
        StatusCode::NOT_FOUND
    );
    kim_c.get("/app").await;
    let (s, _) = kim_c.post(&format!("{other}/messages"), &[("body", "sneaky")]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = kim_c.post(&other, &[("assignee", "me")]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, t) = app.get(&format!("/api/v1/tickets/{}", theirs["id"])).await;
    assert!(t["assignee_id"].is_null());
    // Moving a ticket to a team she is not in is refused.
    let (_, loc) = kim_c
        .post(
            &format!("/app/t/{}", mine["number"]),
            &[("team", &billing["id"].to_string())],
        )
        .await;
    assert!(loc.contains("err="), "{loc}");
    // Admin pages are for admins.
    for p in [
        "/app/admin/agents",
        "/app/admin/teams",
        "/app/admin/canned",
        "/app/admin/labels",
        "/app/admin/hours",
        "/app/admin/widget",
    ] {
        assert_eq!(kim_c.get(p).await.0, StatusCode::FORBIDDEN, "{p}");
    }
    let (s, _) = kim_c
        .post("/app/admin/agents", &[("email", "x@acme.test"), ("role", "admin")])
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = kim_c
        .post(
            &format!("/app/admin/agents/{kim}"),
            &[("role", "admin"), ("active", "1")],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "no promoting oneself");

    // Another workspace's ticket numbers name that workspace's tickets only.
    let (ws2, _, token2) = app.workspace("Other Shop").await;
    let (s, _) = app
        .call(
            Method::POST,
            "/api/v1/tickets",
            &token2,
            Some(json!({ "subject": "Secret of shop two", "message": "x", "contact": { "email": "z@z.test" } })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, admin_page) = admin(&app).await.get("/app/t/1").await;
    assert!(
        !admin_page.contains("Secret of shop two"),
        "workspace {ws2}'s ticket #1 stays there"
    );
}

async fn invitation_link_makes_an_agent_once(db: Db) {
    let app = TestApp::spawn(db).await;
    let mut boss = admin(&app).await;
    boss.get("/app/admin/agents").await;
    let (s, page) = boss
        .post(
            "/app/admin/agents",
            &[("email", "new.hire@acme.test"), ("role", "agent"), ("teams_only", "1")],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let link = page
        .split("id=\"invite-link\" readonly value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let path = link
        .split_once("/invite/")
        .map(|(_, s)| format!("/invite/{s}"))
        .unwrap();
    assert!(page.contains("new.hire@acme.test"), "the open invitation is listed");
    let (_, again) = boss.get("/app/admin/agents").await;
    assert!(!again.contains(&path), "the link is shown once");

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client.get(format!("{}{path}", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let pre = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let html = unescape(&r.text().await.unwrap());
    assert!(html.contains("new.hire@acme.test"));
    let token = field(&html, "_csrf").unwrap();
    let post = |form: Vec<(&'static str, String)>| {
        let client = client.clone();
        let url = format!("{}{path}", app.base);
        let pre = pre.clone();
        async move { client.post(url).header("cookie", pre).form(&form).send().await.unwrap() }
    };
    let r = post(vec![
        ("_csrf", token.clone()),
        ("name", "New Hire".into()),
        ("password", "short".into()),
        ("password2", "short".into()),
    ])
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = post(vec![
        ("_csrf", token.clone()),
        ("name", "New Hire".into()),
        ("password", PASSWORD.into()),
        ("password2", PASSWORD.into()),
    ])
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(r.headers()["set-cookie"].to_str().unwrap().starts_with("sd_session="));
    let r = post(vec![
        ("_csrf", token),
        ("name", "Twice".into()),
        ("password", PASSWORD.into()),
        ("password2", PASSWORD.into()),
    ])
    .await;
    assert_eq!(r.status(), StatusCode::GONE, "an invitation works once");

    let (_, users) = app.get("/api/v1/users").await;
    let hire = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "new.hire@acme.test")
        .expect("the new agent")
        .clone();
    assert_eq!(hire["role"], "agent");
    assert_eq!(hire["ticket_scope"], "teams");
    Console::login(&app.base, "new.hire@acme.test", PASSWORD).await;

    // An admin can deactivate them, which signs them out.
    boss.get("/app/admin/agents").await;
    let (s, _) = boss
        .post(&format!("/app/admin/agents/{}", hire["id"]), &[("role", "agent")])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(
        Console::try_login(&app.base, "new.hire@acme.test", PASSWORD)
            .await
            .err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    let r = client
        .get(format!("{}/invite/0123456789abcdef", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::GONE);
}

async fn admin_pages_save_settings(db: Db) {
    let app = TestApp::spawn(db).await;
    let mut boss = admin(&app).await;
    for p in [
        "/app/admin/agents",
        "/app/admin/teams",
        "/app/admin/canned",
        "/app/admin/labels",
        "/app/admin/hours",
        "/app/admin/widget",
        "/app/notifications",
        "/app/settings",
    ] {
        assert_eq!(boss.get(p).await.0, StatusCode::OK, "{p}");
    }
    let (s, _) = boss.post("/app/admin/teams", &[("name", "Delivery")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, teams) = app.get("/api/v1/teams").await;
    let team = teams["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Delivery")
        .unwrap()
        .clone();
    let (_, users) = app.get("/api/v1/users").await;
    let boss_id = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "boss@acme.test")
        .unwrap()["id"]
        .to_string();
    boss.post(
        &format!("/app/admin/teams/{}/members", team["id"]),
        &[("user_id", &boss_id), ("action", "add")],
    )
    .await;
    let (_, teams) = app.get("/api/v1/teams").await;
    assert_eq!(
        teams["items"][0]["member_ids"],
        json!([boss_id.parse::<i64>().unwrap()])
    );

    let (_, loc) = boss
        .post("/app/admin/labels", &[("name", "VIP"), ("color", "#ff0000")])
        .await;
    assert_eq!(loc, "/app/admin/labels");
    let (_, loc) = boss
        .post("/app/admin/labels", &[("name", "vip"), ("color", "#ff0000")])
        .await;
    assert!(loc.contains("err="), "labels are unique: {loc}");
    let (_, html) = boss.get("/app/admin/labels").await;
    assert!(html.contains(">vip<"));

    let (_, loc) = boss
        .post("/app/admin/canned", &[("shortcut", "two words"), ("body", "x")])
        .await;
    assert!(loc.contains("err="), "{loc}");

    let (_, loc) = boss
        .post(
            "/app/admin/hours",
            &[("offset", "120"), ("mon", "09:00-18:00"), ("sat", "10:00-14:00")],
        )
        .await;
    assert!(loc.contains("ok="), "{loc}");
    let (_, loc) = boss
        .post("/app/admin/hours", &[("offset", "120"), ("mon", "18:00-09:00")])
        .await;
    assert!(loc.contains("err="), "{loc}");
    let (_, w) = app.get("/api/v1/widget").await;
    assert_eq!(
        w["settings"]["hours"],
        json!({ "utc_offset_minutes": 120, "week": { "mon": "09:00-18:00", "sat": "10:00-14:00" } })
    );

    let (_, loc) = boss
        .post(
            "/app/admin/widget",
            &[
                ("greeting", "Hello there"),
                ("color", "#112233"),
                ("prechat_name", "required"),
                ("prechat_email", "off"),
                ("origins", "https://shop.example\nhttps://www.shop.example"),
                ("offline", "Later!"),
            ],
        )
        .await;
    assert!(loc.contains("ok="), "{loc}");
    let (_, w) = app.get("/api/v1/widget").await;
    assert_eq!(w["settings"]["greeting"], "Hello there");
    assert_eq!(
        w["settings"]["allowed_origins"],
        json!(["https://shop.example", "https://www.shop.example"])
    );
    let (_, loc) = boss
        .post(
            "/app/admin/widget",
            &[("color", "red"), ("prechat_name", "off"), ("prechat_email", "off")],
        )
        .await;
    assert!(loc.contains("err="), "{loc}");
    let (_, html) = boss.get("/app/admin/widget").await;
    assert!(
        html.contains("/widget.js\" data-workspace=\"acme-shop\""),
        "the embed snippet"
    );

    // Knowledge base: write an article, publish it, find it in the help centre.
    boss.get("/app/admin/kb/new").await;
    let (_, loc) = boss
        .post(
            "/app/admin/kb/new",
            &[
                ("title", "How to return an item"),
                ("body", "Send it back **within 30 days**."),
                ("language", "en"),
                ("status", "draft"),
                ("tags", "returns"),
            ],
        )
        .await;
    assert!(loc.contains("ok=saved"), "{loc}");
    let edit = loc.split('?').next().unwrap().to_string();
    let (_, html) = boss.get(&edit).await;
    assert!(html.contains("within 30 days"), "the editor shows the Markdown");
    let (_, loc) = boss
        .post(
            &edit,
            &[
                ("title", "How to return an item"),
                ("body", "Send it back **within 30 days**."),
                ("status", "published"),
            ],
        )
        .await;
    assert!(loc.contains("ok=saved"), "{loc}");
    let (_, found) = app.get("/p/acme-shop/kb/search?q=return&lang=en").await;
    assert_eq!(found["hits"][0]["title"], "How to return an item", "{found}");
    let (_, list) = boss.get("/app/admin/kb").await;
    assert!(list.contains("How to return an item") && list.contains("Published"));
    let (_, loc) = boss
        .post(
            "/app/admin/kb/new",
            &[("title", ""), ("body", "x"), ("language", "en"), ("status", "draft")],
        )
        .await;
    assert!(loc.contains("err="), "{loc}");
    let (_, loc) = boss
        .post("/app/admin/kb/categories", &[("name", "Returns"), ("language", "en")])
        .await;
    assert_eq!(loc, "/app/admin/kb");
    let id = edit.rsplit('/').next().unwrap();
    boss.post(&format!("/app/admin/kb/{id}/delete"), &[]).await;
    let (_, found) = app.get("/p/acme-shop/kb/search?q=return&lang=en").await;
    assert_eq!(found["hits"], json!([]), "deleted articles leave the index: {found}");

    // The last admin cannot step down.
    let (_, users) = app.get("/api/v1/users").await;
    for u in users["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["email"] != "boss@acme.test")
    {
        boss.post(
            &format!("/app/admin/agents/{}", u["id"]),
            &[("role", "agent"), ("active", "1")],
        )
        .await;
    }
    let (_, loc) = boss
        .post(
            &format!("/app/admin/agents/{boss_id}"),
            &[("role", "agent"), ("active", "1")],
        )
        .await;
    assert!(loc.contains("err="), "{loc}");
}
