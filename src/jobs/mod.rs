//! Every background task of a node, started from one place and stopped
//! together: the once-per-cluster event consumers, timers, pruning. (The
//! per-node consumers start with what they serve: the realtime fan-out
//! with the bus, the ticket indexer with its index.)

use std::time::Duration;

use tokio::sync::watch;

use crate::service::Services;

/// Tells the node's tasks to stop; they finish what they hold and end.
#[derive(Clone)]
pub struct Shutdown {
    tx: std::sync::Arc<watch::Sender<bool>>,
    tasks: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self { tx: std::sync::Arc::new(watch::channel(false).0), tasks: Default::default() }
    }
}

impl Shutdown {
    pub fn signal(&self) {
        self.tx.send_replace(true);
    }

    /// Signals and waits (up to `grace`) for the tasks started by `start`
    /// to end: a cluster consumer gives its lease up, so another node takes
    /// over at once instead of when the lease runs out.
    pub async fn stop(&self, grace: Duration) {
        self.signal();
        let tasks: Vec<_> = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        let _ = tokio::time::timeout(grace, futures::future::join_all(tasks)).await;
    }

    fn keep(&self, task: tokio::task::JoinHandle<()>) {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner()).push(task);
    }

    pub fn is_set(&self) -> bool {
        *self.tx.borrow()
    }

    pub fn watch(&self) -> watch::Receiver<bool> {
        self.tx.subscribe()
    }
}

/// Settings of the background tasks.
#[derive(Debug, Clone)]
pub struct Options {
    /// Events older than this are pruned (once every cluster consumer has
    /// passed them).
    pub event_retention: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self { event_retention: Duration::from_secs(30 * 86_400) }
    }
}

/// Starts the node's background tasks; they end when `shutdown` is signalled.
pub fn start(svc: &Services, shutdown: &Shutdown, options: Options) {
    let owner = svc.bus.node.clone();
    shutdown.keep(tokio::spawn(crate::events::cluster::run(svc.store.clone(), svc.bus.head.clone(), crate::events::outbox::NAME, owner, crate::events::outbox::Feeder, shutdown.watch())));
    shutdown.keep(tokio::spawn(every(Duration::from_secs(20), shutdown.watch(), {
        let svc = svc.clone();
        move || {
            let svc = svc.clone();
            async move {
                if let Err(e) = svc.wake_snoozed().await {
                    tracing::warn!(error = %e, "snoozed tickets not checked");
                }
            }
        }
    })));
    shutdown.keep(tokio::spawn(every(Duration::from_secs(3600), shutdown.watch(), {
        let store = svc.store.clone();
        move || {
            let store = store.clone();
            let retention = options.event_retention;
            async move {
                let before = crate::store::now_ms() - retention.as_millis() as i64;
                match store.prune_events(before, 5_000).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(events = n, "old events pruned"),
                    Err(e) => tracing::warn!(error = %e, "events not pruned"),
                }
            }
        }
    })));
}

/// Runs `task` every `period` (the first time after one period) until stopped.
async fn every<F, Fut>(period: Duration, mut stop: watch::Receiver<bool>, task: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        tokio::select! {
            _ = tick.tick() => task().await,
            _ = stop.changed() => {
                if *stop.borrow() {
                    return;
                }
            }
        }
    }
}
