//! `storedesk bench reports`: reports at scale. On a scratch database per
//! backend, the demo workspace is seeded (`Store::seed`: tickets over two
//! years with replies, next responses, resolutions, request kinds, CSAT and
//! a few NPS answers) up to each size in turn, topping up the one before.
//! After each top-up the real server starts on a random port; its "reports"
//! consumer of the event log reads the new tickets from the tables (one
//! `tickets.imported` event per 5,000) into the running totals, and the
//! time until its position reaches the log's head is the build time. Then
//! one client asks for the summary, per-agent, heatmap and daily reports
//! over HTTP with an admin's API token, one request after another.
//!
//! Nothing here asserts; the figures are for a person to compare.

use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::Value;

use super::{backends, cores, pct, Cleanup};
use crate::app::{serve, AppState};
use crate::store::{scratch, Store};

/// What to run.
pub struct Plan {
    /// Ticket counts, each topping up the one before.
    pub sizes: Vec<usize>,
    /// Timed requests per report.
    pub requests: usize,
}

/// Untimed requests per report first.
const WARM_UP: usize = 10;
/// How long to wait for the totals before giving up on a size.
const BUILD_LIMIT: Duration = Duration::from_secs(3 * 3600);

/// The reports asked for: a name and the query after `/api/v1/reports/`,
/// given the range's first and last dates.
const REPORTS: [(&str, &str, i64); 8] = [
    ("summary 30 days", "summary", 30),
    ("summary 30 days, compare", "summary?compare=true", 30),
    ("summary 365 days", "summary", 365),
    ("summary 365 days, compare", "summary?compare=true", 365),
    ("agents 30 days", "agents", 30),
    ("agents 365 days", "agents", 365),
    ("heatmap 365 days", "heatmap", 365),
    ("series 90 days", "series", 90),
];

/// One backend at one size.
struct Row {
    backend: &'static str,
    tickets: i64,
    latencies: Vec<(f64, f64, f64)>,
}

pub async fn run(plan: Plan, backend: &str, pg_admin_url: &str) -> anyhow::Result<()> {
    let mut sizes = plan.sizes.clone();
    sizes.sort_unstable();
    sizes.dedup();
    anyhow::ensure!(!sizes.is_empty(), "--sizes names no size");
    println!(
        "storedesk bench reports: {} tickets; {} requests per report after {WARM_UP} to warm up, one client",
        sizes.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", "),
        plan.requests
    );
    println!(
        "machine: {} cores, {}, {}; {}",
        cores(),
        cpu_model(),
        memory(),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    );
    let hash = tokio::task::spawn_blocking(|| crate::auth::hash_password(crate::store::seed::DEMO_PASSWORD)).await?;
    let mut rows = vec![];
    for b in backends(backend) {
        let (url, cleanup) = if b == "postgres" {
            let (url, name) = scratch::create(pg_admin_url, "storedesk_bench")
                .await
                .context("creating a scratch PostgreSQL database")?;
            (
                url,
                Cleanup::Pg {
                    admin: pg_admin_url.to_string(),
                    name,
                },
            )
        } else {
            let dir = std::env::temp_dir().join(format!("storedesk-bench-{:x}", rand::random::<u64>()));
            std::fs::create_dir_all(&dir)?;
            (
                format!("sqlite://{}", dir.join("bench.db").display()),
                Cleanup::Dir(dir),
            )
        };
        let store = Store::connect(&url).await?;
        // Table counts and sizes, on a connection of its own.
        let probe = sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await?;
        let outcome = backend_run(
            &store,
            &probe,
            b,
            &url,
            &cleanup,
            &sizes,
            plan.requests,
            &hash,
            &mut rows,
        )
        .await;
        probe.close().await;
        store.close().await;
        match cleanup {
            Cleanup::Dir(d) => {
                let _ = std::fs::remove_dir_all(d);
            }
            Cleanup::Pg { admin, name } => scratch::drop(&admin, &name).await?,
        }
        outcome?;
    }
    println!("\np50 / p99 ms:");
    let mut head = "| report |".to_string();
    let mut line = "|---|".to_string();
    for r in &rows {
        head.push_str(&format!(" {} {} |", r.backend, r.tickets));
        line.push_str("---|");
    }
    println!("{head}\n{line}");
    for (i, (name, _, _)) in REPORTS.iter().enumerate() {
        let mut l = format!("| {name} |");
        for r in &rows {
            let (p50, p99, _) = r.latencies[i];
            l.push_str(&format!(" {p50:.2} / {p99:.2} |"));
        }
        println!("{l}");
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn backend_run(
    store: &Store,
    probe: &sqlx::AnyPool,
    backend: &'static str,
    url: &str,
    cleanup: &Cleanup,
    sizes: &[usize],
    requests: usize,
    hash: &str,
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    println!("\n{backend}: {}", version(store, probe).await?);
    // The ticket search index of the first server is kept for the next
    // ones, so they do not index every message again while the totals are
    // built (it is not what this measures).
    let mut index = None;
    for &size in sizes {
        let started = Instant::now();
        let seeded = store.seed(size, hash).await?;
        let seed_s = started.elapsed().as_secs_f64();
        let head = store.event_head().await?;

        let built = Instant::now();
        let mut state = AppState::start(store.clone(), url).await?;
        state.limits = std::sync::Arc::new(crate::http::limit::Limits::unlimited());
        let shutdown = state.shutdown.clone();
        index.get_or_insert_with(|| state.tickets.clone());
        let tickets = state.tickets.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}/api/v1/reports", listener.local_addr()?);
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, state, async move {
            let _ = stop_rx.await;
        }));
        let mut shown = Instant::now();
        loop {
            let pos = store
                .consumer_position(crate::events::reports::NAME)
                .await?
                .unwrap_or(0);
            if pos >= head {
                break;
            }
            anyhow::ensure!(
                built.elapsed() < BUILD_LIMIT,
                "the report totals were not built after {} s (position {pos} of {head})",
                BUILD_LIMIT.as_secs()
            );
            if shown.elapsed() > Duration::from_secs(30) {
                eprintln!(
                    "  building the totals: position {pos} of {head}, {:.0} s",
                    built.elapsed().as_secs_f64()
                );
                shown = Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let build_s = built.elapsed().as_secs_f64();
        // Let the search index settle (the first server indexes the seed's
        // messages) before timing requests.
        let mut last = u64::MAX;
        while tickets.doc_count() != last {
            last = tickets.doc_count();
            tokio::time::sleep(Duration::from_secs(2)).await;
        }

        let (days_rows, ticket_rows): (i64, i64) =
            sqlx::query_as("SELECT (SELECT COUNT(*) FROM report_days), (SELECT COUNT(*) FROM report_tickets)")
                .fetch_one(probe)
                .await?;
        let size_mb = database_bytes(probe, cleanup).await? as f64 / 1e6;
        println!(
            "\n{backend}, {} tickets: seeded +{} in {seed_s:.1} s; totals built in {build_s:.1} s ({:.0} tickets/s); \
             report_days {days_rows} rows, report_tickets {ticket_rows} rows; database {size_mb:.0} MB",
            seeded.total,
            seeded.created,
            seeded.created as f64 / build_s.max(0.001),
        );

        let admin = store
            .users_by_email(crate::store::seed::DEMO_ADMIN)
            .await?
            .into_iter()
            .find(|(_, slug)| *slug == seeded.slug)
            .context("the demo admin")?
            .0;
        let token = crate::auth::new_token();
        store
            .create_api_token(admin.workspace_id, admin.id, "bench", &crate::auth::token_hash(&token))
            .await?;
        let client = reqwest::Client::new();
        let today = chrono::Utc::now().date_naive();
        let path = |query: &str, days: i64| {
            let from = today - chrono::Duration::days(days - 1);
            let sep = if query.contains('?') { '&' } else { '?' };
            format!("{base}/{query}{sep}from={from}&to={today}")
        };
        let year: Value = client
            .get(path("summary", 365))
            .bearer_auth(&token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        println!("  the last 365 days: {}", what_it_shows(&year));
        println!(
            "  {:<28} {:>8} {:>8} {:>8} {:>8}",
            "report", "p50 ms", "p99 ms", "max ms", "KB"
        );
        let mut latencies = vec![];
        for (name, query, days) in REPORTS {
            let url = path(query, days);
            for _ in 0..WARM_UP {
                client.get(&url).bearer_auth(&token).send().await?.bytes().await?;
            }
            let mut times = Vec::with_capacity(requests);
            let mut size = 0;
            for _ in 0..requests {
                let t = Instant::now();
                let r = client.get(&url).bearer_auth(&token).send().await?;
                let status = r.status();
                let body = r.bytes().await?;
                times.push(t.elapsed());
                anyhow::ensure!(status.is_success(), "{url}: {status}");
                size = body.len();
            }
            times.sort();
            let l = (pct(&times, 0.5), pct(&times, 0.99), pct(&times, 1.0));
            println!(
                "  {name:<28} {:>8.2} {:>8.2} {:>8.2} {:>8.1}",
                l.0,
                l.1,
                l.2,
                size as f64 / 1024.0
            );
            latencies.push(l);
        }
        rows.push(Row {
            backend,
            tickets: seeded.total,
            latencies,
        });
        let _ = stop.send(());
        let _ = server.await;
        shutdown.stop(Duration::from_secs(10)).await;
    }
    Ok(())
}

/// The headline figures of a summary, to see that the seed makes
/// something worth reporting.
fn what_it_shows(v: &Value) -> String {
    let min = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_i64)
            .map_or("-".into(), |s| format!("{:.1} min", s as f64 / 60.0))
    };
    format!(
        "created {}, resolved {}; first response median {} (business hours {}), next response median {}, \
         resolution median {}; CSAT {} answers, {}% good; NPS {} answers, score {}",
        v["created"],
        v["resolved"],
        min("/first_response/median_s"),
        min("/first_response/business/median_s"),
        min("/next_response/median_s"),
        min("/resolution/median_s"),
        v["csat"]["responses"],
        v["csat"]["score_pct"],
        v["nps"]["responses"],
        v["nps"]["score"],
    )
}

async fn version(store: &Store, probe: &sqlx::AnyPool) -> anyhow::Result<String> {
    let q = match store.backend() {
        crate::store::Backend::Postgres => "SELECT version()",
        _ => "SELECT 'SQLite ' || sqlite_version()",
    };
    Ok(sqlx::query_scalar(q).fetch_one(probe).await?)
}

/// The database's size on disk: the SQLite file and its WAL, or what
/// PostgreSQL reports for the scratch database.
async fn database_bytes(probe: &sqlx::AnyPool, cleanup: &Cleanup) -> anyhow::Result<u64> {
    Ok(match cleanup {
        Cleanup::Dir(d) => ["bench.db", "bench.db-wal"]
            .iter()
            .filter_map(|f| std::fs::metadata(d.join(f)).ok())
            .map(|m| m.len())
            .sum(),
        Cleanup::Pg { .. } => {
            let n: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
                .fetch_one(probe)
                .await?;
            n as u64
        }
    })
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "CPU unknown".into())
}

fn memory() -> String {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            let kb: u64 = s
                .lines()
                .find(|l| l.starts_with("MemTotal:"))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some(format!("{:.0} GiB", kb as f64 / 1024.0 / 1024.0))
        })
        .unwrap_or_else(|| "memory unknown".into())
}
