//! `storedesk bench ...`: load against a real server on a scratch
//! database, printing figures to compare. Nothing here asserts.

mod api;
mod chat;
pub mod console;
mod events;
mod mail;
mod relevance;
mod reports;
mod rules;
mod search;
mod ticket_search;

use std::time::Duration;

use anyhow::Context;

use crate::app::{serve, AppState};
use crate::config::BenchCommand;
use crate::domain::{Email, Role};
use crate::store::{scratch, NewUser, Store};

pub async fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Api {
            tickets,
            concurrency,
            backend,
            pg_admin_url,
        } => api::run(tickets, concurrency, &backend, &pg_admin_url).await,
        BenchCommand::Chat {
            idle,
            active,
            rate,
            seconds,
            backend,
            pg_admin_url,
        } => {
            chat::run(
                chat::Plan {
                    idle,
                    active,
                    rate,
                    seconds,
                },
                &backend,
                &pg_admin_url,
            )
            .await
        }
        BenchCommand::Events {
            per_minute,
            seconds,
            addresses,
            backend,
            pg_admin_url,
        } => {
            events::run(
                events::Plan {
                    per_minute,
                    seconds,
                    addresses,
                },
                &backend,
                &pg_admin_url,
            )
            .await
        }
        BenchCommand::Search { articles, messages } => {
            if articles > 0 {
                let report = tokio::task::spawn_blocking(move || search::bench(articles)).await??;
                println!("{report}");
            }
            if messages > 0 {
                let report = tokio::task::spawn_blocking(move || ticket_search::bench(messages)).await??;
                println!("{report}");
            }
            Ok(())
        }
        BenchCommand::Relevance { fixtures, misses } => {
            let table = tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
                let mut out = relevance::report(&fixtures)?;
                if misses {
                    out.push_str(&relevance::dev_misses(&fixtures)?);
                }
                Ok(out)
            })
            .await??;
            println!("{table}");
            Ok(())
        }
        BenchCommand::Console { .. } => unreachable!("run by cli with the database arguments"),
        BenchCommand::Mail {
            messages,
            concurrency,
            backend,
            pg_admin_url,
        } => mail::run(messages, concurrency, &backend, &pg_admin_url).await,
        BenchCommand::Reports {
            sizes,
            requests,
            backend,
            pg_admin_url,
        } => reports::run(reports::Plan { sizes, requests }, &backend, &pg_admin_url).await,
        BenchCommand::Rules {
            rules,
            events,
            tickets,
            concurrency,
            backend,
            pg_admin_url,
        } => {
            rules::run(
                rules::Plan {
                    rules: rules.into(),
                    events,
                    tickets,
                    concurrency,
                },
                &backend,
                &pg_admin_url,
            )
            .await
        }
    }
}

/// The backends a `--backend` value names.
fn backends(which: &str) -> Vec<&'static str> {
    ["sqlite", "postgres"]
        .into_iter()
        .filter(|b| which == "both" || which == *b)
        .collect()
}

/// A server in this process on a scratch database with one workspace, its
/// admin and an API token.
struct Scratch {
    store: Store,
    addr: std::net::SocketAddr,
    token: String,
    slug: String,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    cleanup: Cleanup,
}

enum Cleanup {
    Dir(std::path::PathBuf),
    Pg { admin: String, name: String },
}

impl Scratch {
    async fn start(backend: &str, pg_admin_url: &str, unlimited: bool) -> anyhow::Result<Scratch> {
        let (url, cleanup) = if backend == "postgres" {
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
        let admin = NewUser {
            email: Email::parse("email", "bench@storedesk.test")?,
            name: "Bench".into(),
            role: Role::Admin,
            teams_only: false,
            password_hash: None,
        };
        let (ws, user) = store.create_workspace("Bench", "bench", admin).await?;
        let token = crate::auth::new_token();
        store
            .create_api_token(ws.id, user.id, "bench", &crate::auth::token_hash(&token))
            .await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let mut state = AppState::start(store.clone(), &url).await?;
        if unlimited {
            // Every client comes from one address here; the per-address
            // limits would measure themselves.
            state.limits = std::sync::Arc::new(crate::http::limit::Limits::unlimited());
        }
        let server = tokio::spawn(serve(listener, state, async move {
            let _ = stop_rx.await;
        }));
        Ok(Scratch {
            store,
            addr,
            token,
            slug: ws.slug,
            stop,
            server,
            cleanup,
        })
    }

    async fn finish(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.server.abort();
        self.store.close().await;
        match self.cleanup {
            Cleanup::Dir(d) => {
                let _ = std::fs::remove_dir_all(d);
            }
            Cleanup::Pg { admin, name } => scratch::drop(&admin, &name).await?,
        }
        Ok(())
    }
}

/// The `p` quantile of sorted latencies, in milliseconds.
fn pct(sorted: &[Duration], p: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 - 1.0) * p).round() as usize)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}
