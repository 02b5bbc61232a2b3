//! `storedesk bench console`: how long the console's pages take to render
//! with a big database. Serves the app in this process on the database the
//! command names, seeds the demo workspace up to `--tickets`, signs in as
//! its admin and requests each kind of page in turn over loopback HTTP.

use std::time::{Duration, Instant};

use anyhow::Context;
use rand::Rng;

use crate::app::{serve, AppState};
use crate::config::DbArgs;
use crate::store::Store;

pub async fn run(db: &DbArgs, tickets: usize, requests: usize) -> anyhow::Result<()> {
    let url = db.url()?;
    let store = Store::connect(&url)
        .await
        .with_context(|| format!("cannot open database {}", crate::store::redact_url(&url)))?;
    let started = Instant::now();
    let hash = tokio::task::spawn_blocking(|| crate::auth::hash_password(crate::store::seed::DEMO_PASSWORD)).await?;
    let seeded = store.seed(tickets, &hash).await?;
    eprintln!(
        "{} tickets in {} ({} added in {:.1} s)",
        seeded.total,
        store.backend().name(),
        seeded.created,
        started.elapsed().as_secs_f64()
    );

    let mut state = AppState::start(store.clone(), &url).await?;
    state.limits = std::sync::Arc::new(crate::http::limit::Limits::unlimited());
    // A fresh database means the ticket search index is being built; page
    // figures taken while it eats a core would measure the indexer.
    // It commits every 2 s while building, so 6 s without a change is done.
    let (mut last, mut still) = (u64::MAX, 0);
    while still < 2 {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let now = state.tickets.doc_count();
        still = if now == last { still + 1 } else { 0 };
        last = now;
    }
    eprintln!(
        "ticket search index ready: {last} documents after {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, state, async move {
        let _ = stop_rx.await;
    }));

    let admin = store
        .users_by_email(crate::store::seed::DEMO_ADMIN)
        .await?
        .into_iter()
        .find(|(_, slug)| *slug == seeded.slug)
        .context("the demo admin")?
        .0;
    let secret = store.create_session(admin.workspace_id, admin.id).await?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let cookie = format!("{}={secret}", crate::http::console::COOKIE);
    let max = seeded.total.max(1);

    // A page 100 deep in "resolved", reached by following cursors once.
    let mut deep = "/app?view=resolved".to_string();
    for _ in 0..100 {
        let html = client
            .get(format!("{base}{deep}"))
            .header("cookie", &cookie)
            .send()
            .await?
            .text()
            .await?;
        match html
            .split("rel=\"next\"")
            .next()
            .and_then(|h| h.rsplit("href=\"").next())
            .map(|h| {
                h.split('"')
                    .next()
                    .unwrap_or("")
                    .replace("&amp;", "&")
                    .replace("&#x2f;", "/")
            }) {
            Some(next) if next.starts_with("/app") => deep = next,
            _ => break,
        }
    }

    type PathOf = Box<dyn Fn() -> String>;
    let kinds: Vec<(&str, PathOf)> = vec![
        ("inbox: all open", Box::new(|| "/app?view=open".to_string())),
        ("inbox: mine", Box::new(|| "/app?view=mine".to_string())),
        ("inbox: unassigned", Box::new(|| "/app?view=unassigned".to_string())),
        ("inbox: resolved", Box::new(|| "/app?view=resolved".to_string())),
        (
            "inbox: waiting longest",
            Box::new(|| "/app?view=open&sort=waiting".to_string()),
        ),
        (
            "inbox: team + channel",
            Box::new(|| "/app?view=open&team=2&channel=chat".to_string()),
        ),
        ("inbox: page 100", Box::new(move || deep.clone())),
        (
            "inbox: search #number",
            Box::new(move || format!("/app?q=%23{}", rand::thread_rng().gen_range(1..=max))),
        ),
        (
            "ticket page",
            Box::new(move || format!("/app/t/{}", rand::thread_rng().gen_range(1..=max))),
        ),
        ("live list refresh", Box::new(|| "/app/list?view=open".to_string())),
    ];
    println!(
        "{} tickets, {} backend, {requests} requests each, one client",
        seeded.total,
        store.backend().name()
    );
    println!(
        "{:<24} {:>9} {:>9} {:>9} {:>9}",
        "page", "p50 ms", "p99 ms", "max ms", "KB"
    );
    for (name, path) in kinds {
        let mut times = Vec::with_capacity(requests);
        let mut size = 0;
        // Warm the caches the way a working console would be warm.
        for _ in 0..10 {
            client
                .get(format!("{base}{}", path()))
                .header("cookie", &cookie)
                .send()
                .await?
                .bytes()
                .await?;
        }
        for _ in 0..requests {
            let p = path();
            let t = Instant::now();
            let r = client
                .get(format!("{base}{p}"))
                .header("cookie", &cookie)
                .send()
                .await?;
            let status = r.status();
            let body = r.bytes().await?;
            times.push(t.elapsed());
            anyhow::ensure!(
                status.is_success() || status == reqwest::StatusCode::NOT_FOUND,
                "{p}: {status}"
            );
            size = body.len();
        }
        times.sort();
        println!(
            "{:<24} {:>9.2} {:>9.2} {:>9.2} {:>9.1}",
            name,
            super::pct(&times, 0.50),
            super::pct(&times, 0.99),
            ms(*times.last().unwrap_or(&Duration::ZERO)),
            size as f64 / 1024.0
        );
    }
    let _ = stop.send(());
    let _ = server.await;
    store.close().await;
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
