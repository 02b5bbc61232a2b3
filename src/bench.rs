//! `storedesk bench api`: tickets per second and latency of
//! `POST /api/v1/tickets` with concurrent HTTP clients, against a real
//! server on a scratch database. Prints figures; asserts nothing.

use std::time::{Duration, Instant};

use anyhow::Context;

use crate::app::{serve, AppState};
use crate::config::BenchCommand;
use crate::domain::{Email, Role};
use crate::store::{scratch, NewUser, Store};

pub async fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    let BenchCommand::Api { tickets, concurrency, backend, pg_admin_url } = cmd;
    println!("storedesk bench api: {tickets} tickets, {concurrency} concurrent clients, {} cores", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    println!("{:<10} {:>10} {:>10} {:>10} {:>10} {:>8}", "backend", "tickets/s", "p50 ms", "p99 ms", "max ms", "errors");
    if backend == "sqlite" || backend == "both" {
        let dir = tempfile_dir()?;
        let url = format!("sqlite://{}", dir.join("bench.db").display());
        let r = api_once(&url, tickets, concurrency).await;
        let _ = std::fs::remove_dir_all(&dir);
        print_row("sqlite", r?);
    }
    if backend == "postgres" || backend == "both" {
        let (url, name) = scratch::create(&pg_admin_url, "storedesk_bench").await.context("creating a scratch PostgreSQL database")?;
        let r = api_once(&url, tickets, concurrency).await;
        scratch::drop(&pg_admin_url, &name).await?;
        print_row("postgres", r?);
    }
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let d = std::env::temp_dir().join(format!("storedesk-bench-{:x}", rand::random::<u64>()));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}

struct Figures {
    per_sec: f64,
    latencies: Vec<Duration>,
    errors: usize,
}

fn print_row(name: &str, f: Figures) {
    let pct = |p: f64| f.latencies.get(((f.latencies.len() as f64 - 1.0) * p).round() as usize).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0);
    println!("{:<10} {:>10.0} {:>10.2} {:>10.2} {:>10.2} {:>8}", name, f.per_sec, pct(0.50), pct(0.99), pct(1.0), f.errors);
}

async fn api_once(url: &str, tickets: usize, concurrency: usize) -> anyhow::Result<Figures> {
    let store = Store::connect(url).await?;
    let admin = NewUser { email: Email::parse("email", "bench@storedesk.test")?, name: "Bench".into(), role: Role::Admin, teams_only: false, password_hash: None };
    let (ws, user) = store.create_workspace("Bench", "bench", admin).await?;
    let token = crate::auth::new_token();
    store.create_api_token(ws.id, user.id, "bench", &crate::auth::token_hash(&token)).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, AppState::start(store.clone(), url).await?, async move {
        let _ = stop_rx.await;
    }));

    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let endpoint = format!("http://{addr}/api/v1/tickets");
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|w| {
            let (client, endpoint, token, next) = (client.clone(), endpoint.clone(), token.clone(), next.clone());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut errors = 0;
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= tickets {
                        break;
                    }
                    let body = serde_json::json!({
                        "subject": format!("Order {i} paid but not shown"),
                        "message": "I paid for my order an hour ago, the money is gone but the order is not in my account. Please help.",
                        "contact": { "email": format!("shopper{}@bench.test", i % 1000), "name": format!("Shopper {w}") }
                    });
                    let t = Instant::now();
                    match client.post(&endpoint).bearer_auth(&token).json(&body).send().await {
                        Ok(r) if r.status() == reqwest::StatusCode::CREATED => lat.push(t.elapsed()),
                        _ => errors += 1,
                    }
                }
                (lat, errors)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(tickets);
    let mut errors = 0;
    for w in workers {
        let (l, e) = w.await?;
        latencies.extend(l);
        errors += e;
    }
    let elapsed = start.elapsed();
    latencies.sort();
    let _ = stop_tx.send(());
    let _ = server.await;
    store.close().await;
    Ok(Figures { per_sec: latencies.len() as f64 / elapsed.as_secs_f64(), latencies, errors })
}
