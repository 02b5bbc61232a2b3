//! Every node runs due checks: it claims as many due monitors as it has
//! free permits (the claim moves their next check, so no other node takes
//! them) and checks them at once, at most `PARALLEL` at a time.

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::PARALLEL;
use crate::service::monitors::Probes;
use crate::service::Services;
use crate::store::now_ms;

pub async fn run(svc: Services) {
    let permits = Arc::new(Semaphore::new(PARALLEL));
    let probes = Arc::new(Probes {
        http: super::http::client(&svc.monitors),
        rdap: super::rdap::client(),
    });
    loop {
        let free = permits.available_permits();
        if free > 0 {
            // Held past the longest check: the record sets the real next time.
            let hold = crate::domain::monitor::TIMEOUT_MAX_MS + 30_000;
            match svc.store.claim_due_monitors(now_ms(), free as i64, hold).await {
                Ok(due) => {
                    for m in due {
                        let Ok(permit) = permits.clone().acquire_owned().await else {
                            return;
                        };
                        let (svc, probes) = (svc.clone(), probes.clone());
                        tokio::spawn(async move {
                            if let Err(e) = svc.run_monitor_check(&m, &probes).await {
                                tracing::warn!(monitor = m.id, error = %e, "monitor check not recorded");
                            }
                            drop(permit);
                        });
                    }
                }
                Err(e) => tracing::debug!(error = %e, "due monitors not claimed"),
            }
        }
        tokio::time::sleep(svc.monitors.poll()).await;
    }
}
