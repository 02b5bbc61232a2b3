//! CPU-heavy work on input from outside (a customer's mail, a page of
//! Markdown) runs here: off the async workers, so one hostile input cannot
//! stall every connection, a few at a time, and within a time budget.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overrun {
    /// Every worker stayed busy for the whole budget.
    Busy,
    /// The work itself took longer than the budget. It goes on in the
    /// background, holding its worker, so runaway inputs cannot pile up.
    Slow,
}

fn pool() -> Arc<Semaphore> {
    static POOL: OnceLock<Arc<Semaphore>> = OnceLock::new();
    POOL.get_or_init(|| {
        let n = std::thread::available_parallelism().map_or(2, |n| n.get());
        Arc::new(Semaphore::new(n.max(2)))
    })
    .clone()
}

/// Runs `f` on a blocking thread once one of the pool's workers is free.
pub fn run<T, F>(budget: Duration, f: F) -> impl Future<Output = Result<T, Overrun>>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let start = Instant::now();
    async move {
        let permit = tokio::time::timeout(budget, pool().acquire_owned())
            .await
            .map_err(|_| Overrun::Busy)?
            .expect("the pool is never closed");
        let job = tokio::task::spawn_blocking(move || {
            let _held = permit;
            f()
        });
        match tokio::time::timeout(budget.saturating_sub(start.elapsed()), job).await {
            Ok(Ok(v)) => Ok(v),
            // A panic in parsing code: as good as no answer in time.
            Ok(Err(_)) => Err(Overrun::Slow),
            Err(_) => {
                metrics::counter!("storedesk_cpu_overruns_total").increment(1);
                Err(Overrun::Slow)
            }
        }
    }
}
