//! `storedesk bench events`: store pages' page views and events from many
//! visitors a minute over HTTP (from many loopback source addresses, since
//! the public endpoints are limited per address and stay limited here),
//! while one chat measures its round trip (message → ack).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use super::{backends, chat, cores, pct, Scratch};

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Visitors arriving per minute (each: a page view, then one batch).
    pub per_minute: usize,
    pub seconds: u64,
    /// Loopback source addresses the visitors come from.
    pub addresses: usize,
}

/// The figures of one backend's run.
#[derive(Debug, Clone)]
pub struct Figures {
    pub visitors: usize,
    pub errors: usize,
    pub rate_limited: usize,
    pub page: Vec<Duration>,
    pub events: Vec<Duration>,
    pub chat: Vec<Duration>,
}

pub async fn run(plan: Plan, backend: &str, pg_admin_url: &str) -> anyhow::Result<()> {
    println!(
        "storedesk bench events: {} visitors/min for {} s from {} addresses, {} cores",
        plan.per_minute,
        plan.seconds,
        plan.addresses,
        cores()
    );
    println!(
        "{:<10} {:>9} {:>8} {:>6} {:>11} {:>11} {:>11} {:>11} {:>11}",
        "backend", "visitors", "errors", "429s", "page p50", "page p99", "events p99", "chat p50", "chat p99"
    );
    for b in backends(backend) {
        let scratch = Scratch::start(b, pg_admin_url, false).await?;
        let r = once(&scratch, plan).await;
        scratch.finish().await?;
        let f = r?;
        println!(
            "{:<10} {:>9} {:>8} {:>6} {:>9.1}ms {:>9.1}ms {:>9.1}ms {:>9.1}ms {:>9.1}ms",
            b,
            f.visitors,
            f.errors,
            f.rate_limited,
            pct(&f.page, 0.5),
            pct(&f.page, 0.99),
            pct(&f.events, 0.99),
            pct(&f.chat, 0.5),
            pct(&f.chat, 0.99)
        );
    }
    Ok(())
}

fn source(n: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 2 + (n / 250) as u8, 1 + (n % 250) as u8))
}

/// One run against a server.
async fn once(s: &Scratch, plan: Plan) -> anyhow::Result<Figures> {
    let total = (plan.per_minute as u64 * plan.seconds / 60).max(1) as usize;
    let gap = Duration::from_secs_f64(60.0 / plan.per_minute.max(1) as f64);
    let clients: Vec<reqwest::Client> = (0..plan.addresses.clamp(1, 2000))
        .map(|n| reqwest::Client::builder().local_address(source(n)).build())
        .collect::<Result<_, _>>()?;
    let base = format!("http://{}/api/widget/{}", s.addr, s.slug);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let chatter = tokio::spawn(chat_round_trips(s.addr, s.slug.clone(), stop.clone()));
    let next = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let workers: Vec<_> = (0..64)
        .map(|_| {
            let (clients, base, next) = (clients.clone(), base.clone(), next.clone());
            tokio::spawn(async move {
                let (mut page, mut events, mut errors, mut limited) = (vec![], vec![], 0, 0);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    tokio::time::sleep_until((t0 + gap.mul_f64(i as f64)).into()).await;
                    let c = &clients[i % clients.len()];
                    let t = Instant::now();
                    let r = c
                        .post(format!("{base}/page"))
                        .body(
                            json!({ "url": format!("https://shop.test/p/{}", i % 500), "title": "Product" })
                                .to_string(),
                        )
                        .send()
                        .await;
                    let token = match r {
                        Ok(r) if r.status().is_success() => {
                            page.push(t.elapsed());
                            r.json::<serde_json::Value>()
                                .await
                                .ok()
                                .and_then(|v| v["visitor_token"].as_str().map(String::from))
                        }
                        Ok(r) if r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS => {
                            limited += 1;
                            None
                        }
                        _ => None,
                    };
                    let Some(token) = token else {
                        errors += 1;
                        continue;
                    };
                    let batch = json!({ "token": token, "events": [
                        { "name": "cart_updated", "props": { "value": 79.8, "currency": "EUR", "items": 2 } },
                        { "name": "checkout_started", "props": {} }
                    ] });
                    let t = Instant::now();
                    match c.post(format!("{base}/events")).body(batch.to_string()).send().await {
                        Ok(r) if r.status().is_success() => events.push(t.elapsed()),
                        Ok(r) if r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS => limited += 1,
                        _ => errors += 1,
                    }
                }
                (page, events, errors, limited)
            })
        })
        .collect();
    let mut f = Figures {
        visitors: total,
        errors: 0,
        rate_limited: 0,
        page: vec![],
        events: vec![],
        chat: vec![],
    };
    for w in workers {
        let (p, e, err, lim) = w.await?;
        f.page.extend(p);
        f.events.extend(e);
        f.errors += err;
        f.rate_limited += lim;
    }
    // The chat runs the whole time asked for, so a run with one visitor a
    // minute is the baseline to compare the chat's figures with.
    tokio::time::sleep_until((t0 + Duration::from_secs(plan.seconds)).into()).await;
    stop.store(true, Ordering::Relaxed);
    f.chat = chatter.await??;
    f.page.sort();
    f.events.sort();
    f.chat.sort();
    Ok(f)
}

/// A visitor who chats once every 300 ms until told to stop; the time
/// from each message to its ack.
async fn chat_round_trips(
    addr: std::net::SocketAddr,
    slug: String,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> anyhow::Result<Vec<Duration>> {
    let mut ws = chat::connect(addr, 60_000, &format!("/ws?workspace={slug}")).await?;
    chat::hello(&mut ws).await?;
    let mut out = vec![];
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let id = format!("b{n}");
        let t = Instant::now();
        let frame = json!({ "type": "message", "client_id": id, "body": format!("Where is my order? ({n})") });
        ws.send(Message::Text(frame.to_string().into())).await?;
        while let Some(m) = ws.next().await {
            if let Message::Text(t2) = m? {
                if t2.contains("\"ack\"") && t2.contains(&format!("\"{id}\"")) {
                    out.push(t.elapsed());
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    Ok(out)
}
