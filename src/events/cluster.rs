//! Consumers that must run once per cluster (the outbox feeder; later
//! rules, webhooks, rollups). Each node tries to take the consumer's lease;
//! the holder renews it while it works, and when it dies (or stops) another
//! node takes over once the lease runs out. Effects are committed together
//! with the consumer's new position, and only while the lease is still
//! held, so a page is never delivered twice.
//!
//! A page with nothing to do writes nothing: its position is saved with
//! the next page that has effects, or within a second. Until then a new
//! holder would read those events again, which costs a read and changes
//! nothing (effects are idempotent), where a write per page would cost a
//! commit, and a sync to disk, for every batch the node writes.

use std::future::Future;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::{record_position, wait_past, LogHead, PAGE};
use crate::domain::event::Event;
use crate::store::{now_ms, Store, StoreError};

/// How long a lease lasts without renewal: how soon another node takes
/// over from one that died.
pub const LEASE: Duration = Duration::from_secs(5);
/// How often the holder renews it.
pub const RENEW: Duration = Duration::from_millis(1500);
/// How long a consumer waits after a page to let the next one gather: mail
/// may go a moment later; the node is not woken for every commit.
pub const GATHER: Duration = Duration::from_millis(100);
/// How long a position moved by pages without effects may stay unsaved.
pub const SAVE: Duration = Duration::from_secs(1);

/// What became of a page.
pub enum Handled {
    /// Effects (if any) and, when `saved`, the position are committed.
    Done { saved: bool },
    /// The lease was lost: nothing was written.
    LeaseLost,
}

/// What a cluster consumer does with a page of events. When the page has
/// effects, or `save` is asked, it commits them with `name`'s new position
/// only while `owner` holds the lease.
pub trait Handler: Send + Sync + 'static {
    fn handle(
        &self,
        store: &Store,
        name: &str,
        owner: &str,
        events: &[std::sync::Arc<Event>],
        save: bool,
    ) -> impl Future<Output = crate::store::Result<Handled>> + Send;
}

/// For consumers whose effects commit by themselves (each once, by its own
/// guard): saves the position after a page when `save` is asked.
pub async fn saved_after(
    store: &Store,
    name: &str,
    owner: &str,
    events: &[std::sync::Arc<Event>],
    save: bool,
) -> crate::store::Result<Handled> {
    if !save {
        return Ok(Handled::Done { saved: false });
    }
    let last = events.last().map_or(0, |e| e.id);
    Ok(if store.save_leased_position(name, owner, last).await? {
        Handled::Done { saved: true }
    } else {
        Handled::LeaseLost
    })
}

/// Runs consumer `name` on this node whenever it holds the lease, until
/// `stop` is set; then saves its position and gives the lease up.
pub async fn run<H: Handler>(
    store: Store,
    head: LogHead,
    name: &'static str,
    owner: String,
    handler: H,
    mut stop: watch::Receiver<bool>,
) {
    let mut rx = head.subscribe();
    // Where this node stands while it holds the lease, and what of it is saved.
    let mut held: Option<(i64, i64)> = None;
    let mut saved_at = Instant::now();
    loop {
        if crate::jobs::stopping(&stop) {
            break;
        }
        let until = now_ms() + LEASE.as_millis() as i64;
        match store.acquire_lease(name, &owner, until, 0).await {
            Ok(Some(lease)) => {
                let (mut position, mut saved) = match held {
                    Some(h) => h,
                    None => {
                        tracing::info!(
                            consumer = name,
                            position = lease.position,
                            "took the lease of a cluster consumer"
                        );
                        (lease.position, lease.position)
                    }
                };
                metrics::gauge!("storedesk_event_consumer_leader", "consumer" => name).set(1.0);
                record_position(name, position);
                let renew_at = Instant::now() + RENEW;
                let mut lost = false;
                while Instant::now() < renew_at && !lost {
                    let page = match head.read_after(&store, position, PAGE).await {
                        Ok(p) => p,
                        Err(e) => {
                            tracing::warn!(consumer = name, error = %e, "event log not readable");
                            break;
                        }
                    };
                    if page.is_empty() {
                        if position > saved {
                            // Caught up: save now rather than at the deadline.
                            match store.save_leased_position(name, &owner, position).await {
                                Ok(true) => (saved, saved_at) = (position, Instant::now()),
                                Ok(false) => lost = true,
                                Err(e) => tracing::warn!(consumer = name, error = %e, "position not saved"),
                            }
                            continue;
                        }
                        let left = renew_at.saturating_duration_since(Instant::now());
                        let wait = tokio::time::timeout(left, wait_past(&store, &head, &mut rx, position, &mut stop));
                        if let Ok(false) = wait.await {
                            break;
                        }
                        continue;
                    }
                    let save = saved_at.elapsed() >= SAVE;
                    match handler.handle(&store, name, &owner, &page, save).await {
                        Ok(Handled::Done { saved: now_saved }) => {
                            position = page.last().map_or(position, |e| e.id);
                            if now_saved {
                                (saved, saved_at) = (position, Instant::now());
                            }
                            record_position(name, position);
                            if page.len() < PAGE as usize {
                                // Let a busy log gather a page rather than
                                // wake this consumer for every commit.
                                tokio::time::sleep(GATHER).await;
                            }
                        }
                        Ok(Handled::LeaseLost) => lost = true,
                        Err(e) => {
                            tracing::warn!(consumer = name, error = %e, "events not processed; retrying");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            break;
                        }
                    }
                }
                if lost {
                    tracing::warn!(consumer = name, "lost the lease while working; another node goes on");
                    held = None;
                } else {
                    held = Some((position, saved));
                }
            }
            Ok(None) => {
                if held.take().is_some() {
                    tracing::info!(consumer = name, "another node holds the lease now");
                }
                metrics::gauge!("storedesk_event_consumer_leader", "consumer" => name).set(0.0);
                tokio::select! {
                    _ = tokio::time::sleep(RENEW) => {}
                    _ = crate::jobs::stopped(&mut stop) => {}
                }
            }
            Err(e) => {
                if matches!(e, StoreError::Database(sqlx::Error::PoolClosed)) {
                    return;
                }
                tracing::warn!(consumer = name, error = %e, "lease not renewed");
                tokio::time::sleep(RENEW).await;
            }
        }
    }
    if let Some((position, _)) = held {
        metrics::gauge!("storedesk_event_consumer_leader", "consumer" => name).set(0.0);
        if let Err(e) = store.release_lease(name, &owner, position).await {
            tracing::debug!(consumer = name, error = %e, "lease not released; it runs out by itself");
        }
    }
}
