//! `storedesk bench api`: tickets per second and latency of
//! `POST /api/v1/tickets` with concurrent HTTP clients.

use std::time::{Duration, Instant};

use super::{backends, cores, pct, Scratch};

pub async fn run(tickets: usize, concurrency: usize, backend: &str, pg_admin_url: &str) -> anyhow::Result<()> {
    println!(
        "storedesk bench api: {tickets} tickets, {concurrency} concurrent clients, {} cores",
        cores()
    );
    println!(
        "{:<10} {:>10} {:>10} {:>10} {:>10} {:>8}",
        "backend", "tickets/s", "p50 ms", "p99 ms", "max ms", "errors"
    );
    for b in backends(backend) {
        let scratch = Scratch::start(b, pg_admin_url, false).await?;
        let r = once(&scratch, tickets, concurrency).await;
        scratch.finish().await?;
        let (per_sec, lat, errors) = r?;
        println!(
            "{:<10} {:>10.0} {:>10.2} {:>10.2} {:>10.2} {:>8}",
            b,
            per_sec,
            pct(&lat, 0.5),
            pct(&lat, 0.99),
            pct(&lat, 1.0),
            errors
        );
    }
    Ok(())
}

async fn once(s: &Scratch, tickets: usize, concurrency: usize) -> anyhow::Result<(f64, Vec<Duration>, usize)> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let endpoint = format!("http://{}/api/v1/tickets", s.addr);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|w| {
            let (client, endpoint, token, next) = (client.clone(), endpoint.clone(), s.token.clone(), next.clone());
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
    Ok((latencies.len() as f64 / elapsed.as_secs_f64(), latencies, errors))
}
