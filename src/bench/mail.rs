//! `storedesk bench mail`: inbound mail per second, through real SMTP
//! conversations on loopback and through the direct path (parse, thread,
//! store) that the listener calls.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lettre::AsyncTransport;

use super::{backends, cores, pct, Scratch};
use crate::mail::inbound::Inbound;

const DOMAIN: &str = "bench.test";

pub async fn run(messages: usize, concurrency: usize, backend: &str, pg_admin_url: &str) -> anyhow::Result<()> {
    println!(
        "storedesk bench mail: {messages} messages per path, {concurrency} concurrent senders, {} cores",
        cores()
    );
    println!(
        "{:<10} {:<7} {:>10} {:>10} {:>10} {:>10}",
        "backend", "path", "msgs/s", "p50 ms", "p99 ms", "max ms"
    );
    for b in backends(backend) {
        let s = Scratch::start(b, pg_admin_url, true).await?;
        let bus = crate::realtime::Bus::start(s.store.clone(), None, crate::jobs::Shutdown::default().watch()).await?;
        let inbound = Inbound {
            svc: crate::service::Services::new(s.store.clone(), bus),
            domain: DOMAIN.into(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let smtp = listener.local_addr()?;
        tokio::spawn(crate::mail::smtp_server::serve(
            listener,
            DOMAIN.into(),
            crate::mail::smtp_server::Limits {
                // Every sender comes from one address here.
                max_per_peer: usize::MAX,
                max_sessions: usize::MAX,
                ..Default::default()
            },
            Arc::new(inbound.clone()),
        ));
        let to = format!("{}@{DOMAIN}", s.slug);
        let direct = drive(messages, concurrency, "d", {
            let (inbound, to) = (inbound.clone(), to.clone());
            move |raw| {
                let (inbound, to) = (inbound.clone(), to.clone());
                async move {
                    inbound
                        .ingest("", &to, raw.as_bytes())
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                }
            }
        })
        .await;
        let transport = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(smtp.port())
            .pool_config(lettre::transport::smtp::PoolConfig::new().max_size(concurrency as u32))
            .build();
        let via_smtp = drive(messages, concurrency, "s", {
            let to = to.clone();
            move |raw| {
                let (t, to) = (transport.clone(), to.clone());
                async move {
                    let env = lettre::address::Envelope::new(
                        Some("shopper@shop.test".parse().map_err(|e| format!("{e}"))?),
                        vec![to.parse().map_err(|e| format!("{e}"))?],
                    )
                    .map_err(|e| e.to_string())?;
                    t.send_raw(&env, raw.as_bytes())
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                }
            }
        })
        .await;
        let hostile = nested_html(smtp, &to, s.addr).await;
        s.finish().await?;
        for (path, r) in [("direct", direct), ("smtp", via_smtp)] {
            let (rate, lat) = r?;
            println!(
                "{:<10} {:<7} {:>10.0} {:>10.2} {:>10.2} {:>10.2}",
                b,
                path,
                rate,
                pct(&lat, 0.5),
                pct(&lat, 0.99),
                pct(&lat, 1.0)
            );
        }
        let (answered, health) = hostile?;
        println!(
            "{b:<10} hostile: two mails of {NESTED} nested <div>s ({:.1} MB each) at once answered in {:.2} s; /healthz meanwhile p50 {:.2} ms, max {:.2} ms ({} probes)",
            nested_mail("x", "y").len() as f64 / 1e6,
            answered.as_secs_f64(),
            pct(&health, 0.5),
            pct(&health, 1.0),
            health.len()
        );
    }
    Ok(())
}

/// Nesting depth of the hostile mail (issue 12's repro: 126 s of CPU before
/// the depth budget).
const NESTED: usize = 200_000;

fn nested_mail(to: &str, id: &str) -> String {
    format!(
        "From: a@cust.test\r\nTo: {to}\r\nSubject: deep\r\nMessage-ID: <{id}@cust.test>\r\nContent-Type: text/html\r\n\r\n{}x{}\r\n",
        "<div>".repeat(NESTED),
        "</div>".repeat(NESTED)
    )
}

/// Two deeply nested HTML mails over SMTP at once, timing the answer and
/// probing `/healthz` on the web side until both are in.
async fn nested_html(
    smtp: std::net::SocketAddr,
    to: &str,
    web: std::net::SocketAddr,
) -> anyhow::Result<(Duration, Vec<Duration>)> {
    let transport = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(smtp.port())
        .build();
    let env = lettre::address::Envelope::new(Some("a@cust.test".parse()?), vec![to.parse()?])?;
    let sends: Vec<_> = (0..2)
        .map(|i| {
            let (t, env, raw) = (transport.clone(), env.clone(), nested_mail(to, &format!("deep{i}")));
            tokio::spawn(async move {
                let start = Instant::now();
                t.send_raw(&env, raw.as_bytes()).await.map(|_| start.elapsed())
            })
        })
        .collect();
    let client = reqwest::Client::new();
    let mut health = Vec::new();
    while !sends.iter().all(|s| s.is_finished()) {
        let t = Instant::now();
        client
            .get(format!("http://{web}/healthz"))
            .send()
            .await?
            .error_for_status()?;
        health.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut answered = Duration::ZERO;
    for s in sends {
        answered = answered.max(s.await??);
    }
    health.sort();
    Ok((answered, health))
}

/// A customer's mail: half open new threads, half answer earlier ones.
fn message(tag: &str, i: usize) -> String {
    let thread = if i % 2 == 1 {
        format!("In-Reply-To: <{tag}{}@shop.test>\r\n", i - 1)
    } else {
        String::new()
    };
    format!(
        "From: Shopper {i} <shopper{}@shop.test>\r\nTo: support@{DOMAIN}\r\nSubject: =?UTF-8?B?0JfQsNC60LDQtyDQvdC1INC/0YDQuNGI0ZHQuw==?= {i}\r\nMessage-ID: <{tag}{i}@shop.test>\r\n{thread}Date: Sat, 28 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nI paid for order {i} an hour ago and it is not in my account.\r\n\r\nOn Fri, Support wrote:\r\n> Hello!\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>I paid for order {i} an hour ago and it is <b>not</b> in my account.</p><script>x()</script>\r\n--b--\r\n",
        i % 500
    )
}

async fn drive<F, Fut>(
    messages: usize,
    concurrency: usize,
    tag: &'static str,
    send: F,
) -> anyhow::Result<(f64, Vec<Duration>)>
where
    F: Fn(String) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (next, send) = (next.clone(), send.clone());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= messages {
                        return Ok::<_, anyhow::Error>(lat);
                    }
                    let t = Instant::now();
                    send(message(tag, i))
                        .await
                        .map_err(|e| anyhow::anyhow!("message {i}: {e}"))?;
                    lat.push(t.elapsed());
                }
            })
        })
        .collect();
    let mut all = Vec::with_capacity(messages);
    for w in workers {
        all.extend(w.await??);
    }
    let rate = all.len() as f64 / start.elapsed().as_secs_f64();
    all.sort();
    Ok((rate, all))
}
