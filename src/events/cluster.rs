//! Consumers that must run once per cluster (the outbox feeder; later
//! rules, webhooks, rollups). Each node tries to take the consumer's lease;
//! the holder renews it while it works, and when it dies (or stops) another
//! node takes over once the lease runs out. Effects are committed together
//! with the consumer's new position, and only while the lease is still
//! held, so a page is never delivered twice.

use std::future::Future;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::{record_position, wait_past, LogHead, PAGE};
use crate::domain::event::Event;
use crate::store::{now_ms, Store};

/// How long a lease lasts without renewal: how soon another node takes
/// over from one that died.
pub const LEASE: Duration = Duration::from_secs(5);
/// How often the holder renews it.
pub const RENEW: Duration = Duration::from_millis(1500);

/// What a cluster consumer does with a page of events: commit its effects
/// and move `name`'s position past them only while `owner` holds the
/// lease; answer false when the lease was lost.
pub trait Handler: Send + Sync + 'static {
    fn handle(
        &self,
        store: &Store,
        name: &str,
        owner: &str,
        events: &[Event],
    ) -> impl Future<Output = crate::store::Result<bool>> + Send;
}

/// Runs consumer `name` on this node whenever it holds the lease, until
/// `stop` is set; then gives the lease up.
pub async fn run<H: Handler>(
    store: Store,
    head: LogHead,
    name: &'static str,
    owner: String,
    handler: H,
    mut stop: watch::Receiver<bool>,
) {
    let mut rx = head.subscribe();
    let mut leader = false;
    loop {
        if *stop.borrow() {
            break;
        }
        let until = now_ms() + LEASE.as_millis() as i64;
        match store.acquire_lease(name, &owner, until, 0).await {
            Ok(Some(lease)) => {
                if !leader {
                    tracing::info!(
                        consumer = name,
                        position = lease.position,
                        "took the lease of a cluster consumer"
                    );
                }
                leader = true;
                metrics::gauge!("storedesk_event_consumer_leader", "consumer" => name).set(1.0);
                let mut position = lease.position;
                record_position(name, position);
                let renew_at = Instant::now() + RENEW;
                while Instant::now() < renew_at {
                    let page = match store.events_after(position, PAGE).await {
                        Ok(p) => p,
                        Err(e) => {
                            tracing::warn!(consumer = name, error = %e, "event log not readable");
                            break;
                        }
                    };
                    if page.is_empty() {
                        let wait = tokio::time::timeout(
                            renew_at.saturating_duration_since(Instant::now()),
                            wait_past(&store, &head, &mut rx, position, &mut stop),
                        );
                        if let Ok(false) = wait.await {
                            break;
                        }
                        continue;
                    }
                    match handler.handle(&store, name, &owner, &page).await {
                        Ok(true) => {
                            position = page.last().map_or(position, |e| e.id);
                            record_position(name, position);
                        }
                        Ok(false) => {
                            tracing::warn!(consumer = name, "lost the lease while working; another node goes on");
                            leader = false;
                            break;
                        }
                        Err(e) => {
                            tracing::warn!(consumer = name, error = %e, "events not processed; retrying");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            break;
                        }
                    }
                }
            }
            Ok(None) => {
                if leader {
                    tracing::info!(consumer = name, "another node holds the lease now");
                }
                leader = false;
                metrics::gauge!("storedesk_event_consumer_leader", "consumer" => name).set(0.0);
                tokio::select! {
                    _ = tokio::time::sleep(RENEW) => {}
                    _ = stop.changed() => {}
                }
            }
            Err(e) => {
                if matches!(e, crate::store::StoreError::Database(sqlx::Error::PoolClosed)) {
                    return;
                }
                tracing::warn!(consumer = name, error = %e, "lease not renewed");
                tokio::time::sleep(RENEW).await;
            }
        }
    }
    if leader {
        metrics::gauge!("storedesk_event_consumer_leader", "consumer" => name).set(0.0);
        if let Err(e) = store.release_lease(name, &owner).await {
            tracing::debug!(consumer = name, error = %e, "lease not released; it runs out by itself");
        }
    }
}
