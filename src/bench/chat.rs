//! `storedesk bench chat`: idle visitor sockets held, and the time from a
//! visitor's message to its arrival on an agent's stream at a set rate.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::{backends, cores, pct, Scratch};

pub struct Plan {
    pub idle: usize,
    pub active: usize,
    pub rate: u32,
    pub seconds: u64,
}

pub(super) type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

pub async fn run(plan: Plan, backend: &str, pg_admin_url: &str) -> anyhow::Result<()> {
    let fds = raise_fd_limit();
    // Both ends of every socket live in this process: two descriptors each.
    let fit = (fds.saturating_sub(1000) / 2) as usize;
    let plan = if plan.idle + plan.active > fit {
        println!("the open-file limit ({fds}) fits {fit} socket pairs in one process; holding that many idle sockets");
        Plan {
            idle: fit.saturating_sub(plan.active),
            ..plan
        }
    } else {
        plan
    };
    println!(
        "storedesk bench chat: {} idle + {} active visitor sockets, 1 agent stream, {} msg/s for {} s, {} cores, fd limit {fds}",
        plan.idle, plan.active, plan.rate, plan.seconds, cores()
    );
    println!(
        "{:<10} {:>8} {:>10} {:>9} {:>10} {:>9} {:>9} {:>9} {:>10}",
        "backend", "held", "connect/s", "RSS MB", "KB/socket", "msg/s", "p50 ms", "p99 ms", "max ms"
    );
    for b in backends(backend) {
        let scratch = Scratch::start(b, pg_admin_url, true).await?;
        let r = once(&scratch, &plan).await;
        scratch.finish().await?;
        let r = r?;
        println!(
            "{:<10} {:>8} {:>10.0} {:>9.0} {:>10.1} {:>9.0} {:>9.2} {:>9.2} {:>10.2}",
            b,
            r.held,
            r.connect_rate,
            r.rss_mb,
            r.kb_per_socket,
            r.msg_rate,
            pct(&r.latencies, 0.5),
            pct(&r.latencies, 0.99),
            pct(&r.latencies, 1.0)
        );
    }
    println!("(RSS is of the whole process: the server and the load's own sockets; KB/socket is its growth per idle visitor socket, both ends counted.)");
    Ok(())
}

struct Row {
    held: usize,
    connect_rate: f64,
    rss_mb: f64,
    kb_per_socket: f64,
    msg_rate: f64,
    latencies: Vec<Duration>,
}

/// Opens a socket from one of many loopback source addresses, so tens of
/// thousands of sockets do not run out of ports on one.
pub(super) async fn connect(server: SocketAddr, n: usize, path: &str) -> anyhow::Result<Ws> {
    let src = Ipv4Addr::new(127, 0, 1 + (n / 20_000) as u8, 1 + (n % 200) as u8);
    let sock = tokio::net::TcpSocket::new_v4()?;
    sock.bind(SocketAddr::new(src.into(), 0))?;
    let tcp = sock.connect(server).await?;
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(4096);
    let (ws, _) =
        tokio_tungstenite::client_async_with_config(format!("ws://{server}{path}"), tcp, Some(config)).await?;
    Ok(ws)
}

pub(super) async fn hello(ws: &mut Ws) -> anyhow::Result<()> {
    ws.send(Message::Text(
        json!({ "type": "hello", "token": null, "last_id": 0, "lang": "en" })
            .to_string()
            .into(),
    ))
    .await?;
    while let Some(m) = ws.next().await {
        if let Message::Text(t) = m? {
            if t.contains("\"welcome\"") {
                return Ok(());
            }
        }
    }
    anyhow::bail!("closed before welcome")
}

async fn once(s: &Scratch, plan: &Plan) -> anyhow::Result<Row> {
    let path = format!("/ws?workspace={}", s.slug);
    let mut agent = connect(s.addr, 0, &format!("/api/v1/stream?token={}", s.token)).await?;
    let rss0 = rss_mb();

    let started = Instant::now();
    let mut held: Vec<Ws> = Vec::with_capacity(plan.idle);
    let mut next = 0;
    while next < plan.idle {
        let batch: Vec<_> = (next..(next + 500).min(plan.idle))
            .map(|n| {
                let path = path.clone();
                let addr = s.addr;
                tokio::spawn(async move {
                    let mut ws = connect(addr, n + 1, &path).await?;
                    hello(&mut ws).await?;
                    anyhow::Ok(ws)
                })
            })
            .collect();
        next += batch.len();
        for h in batch {
            match h.await? {
                Ok(ws) => held.push(ws),
                Err(e) => tracing::warn!(error = %e, "an idle socket failed"),
            }
        }
    }
    let connect_rate = held.len() as f64 / started.elapsed().as_secs_f64();
    let rss1 = rss_mb();

    let t0 = Instant::now();
    let acked = Arc::new(AtomicU64::new(0));
    let deadline = t0 + Duration::from_secs(plan.seconds);
    let active = plan.active.max(1);
    let per_sender = Duration::from_secs_f64(plan.active.max(1) as f64 / plan.rate.max(1) as f64);
    let senders: Vec<_> = (0..plan.active)
        .map(|i| {
            let (path, addr, acked) = (path.clone(), s.addr, acked.clone());
            tokio::spawn(async move {
                let mut ws = connect(addr, plan_offset(i), &path).await?;
                hello(&mut ws).await?;
                // Spread the senders over one period so the load is even.
                tokio::time::sleep(per_sender.mul_f64(i as f64 / active as f64)).await;
                let mut tick = tokio::time::interval(per_sender);
                let mut n = 0u64;
                loop {
                    tokio::select! {
                        _ = tick.tick() => {
                            if Instant::now() >= deadline {
                                break;
                            }
                            n += 1;
                            let body = format!("bench {}", t0.elapsed().as_nanos());
                            ws.send(Message::Text(json!({ "type": "message", "client_id": format!("b{i}-{n}"), "body": body }).to_string().into())).await?;
                        }
                        m = ws.next() => match m {
                            Some(Ok(Message::Text(t))) if t.contains("\"ack\"") => { acked.fetch_add(1, Ordering::Relaxed); }
                            Some(Ok(_)) => {}
                            _ => break,
                        }
                    }
                }
                // Collect the last acks.
                let _ = tokio::time::timeout(Duration::from_secs(2), async {
                    while let Some(Ok(m)) = ws.next().await {
                        if let Message::Text(t) = m {
                            if t.contains("\"ack\"") {
                                acked.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                })
                .await;
                anyhow::Ok(())
            })
        })
        .collect();

    let mut latencies = Vec::new();
    let listen_until = deadline + Duration::from_secs(3);
    while let Ok(Some(m)) = tokio::time::timeout_at(listen_until.into(), agent.next()).await {
        if let Ok(Message::Text(t)) = m {
            let v: Value = serde_json::from_str(&t).unwrap_or_default();
            if v["type"] == "message" {
                if let Some(sent) = v["message"]["body"]
                    .as_str()
                    .and_then(|b| b.strip_prefix("bench "))
                    .and_then(|n| n.parse::<u128>().ok())
                {
                    latencies.push(Duration::from_nanos(
                        (t0.elapsed().as_nanos().saturating_sub(sent)) as u64,
                    ));
                }
            }
        }
    }
    for h in senders {
        let _ = h.await?;
    }
    latencies.sort();
    let held_n = held.len();
    let rss_mb_now = rss1.max(rss_mb());
    drop(held);
    drop(agent);
    // Let the server see the sockets close before its database goes away.
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(Row {
        held: held_n,
        connect_rate,
        rss_mb: rss_mb_now,
        kb_per_socket: if held_n > 0 {
            (rss1 - rss0) * 1024.0 / held_n as f64
        } else {
            0.0
        },
        msg_rate: acked.load(Ordering::Relaxed) as f64 / plan_seconds(deadline, t0),
        latencies,
    })
}

fn plan_offset(i: usize) -> usize {
    // Active senders use their own source addresses, after the idle ones.
    1_000_000 + i
}

fn plan_seconds(deadline: Instant, t0: Instant) -> f64 {
    deadline.duration_since(t0).as_secs_f64().max(0.001)
}

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// Raises the open-file limit to the hard limit; returns the new soft limit.
fn raise_fd_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 {
            // Root may raise the hard limit too; others get the hard limit.
            let big = libc::rlimit {
                rlim_cur: 1 << 20,
                rlim_max: (1 << 20).max(r.rlim_max),
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &big) != 0 {
                r.rlim_cur = r.rlim_max;
                let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &r);
            }
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut r);
            return r.rlim_cur;
        }
    }
    0
}
