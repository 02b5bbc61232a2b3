//! Long polling: for each bot in polling mode, one node (the holder of the
//! bot's lease) asks getUpdates from the saved offset, files each update,
//! and saves the offset past it. A crash between filing and saving reads
//! the update again, and its update_id (the message's external id) files
//! it once; nothing is lost, since the offset only moves past filed updates.

use std::collections::HashSet;
use std::time::Duration;

use tokio::task::JoinSet;

use crate::service::messengers::bot_of;
use crate::service::Services;
use crate::store::{now_ms, StoreError};

/// Longer than a long poll, so a live poller keeps its bot; another node
/// takes a dead one's bot over after it.
const LEASE_MS: i64 = 90_000;

fn lease_name(id: i64) -> String {
    format!("telegram-poll:{id}")
}

/// Starts a poller for each polling bot this node may hold, until the node
/// stops (dropping this drops the pollers with it).
pub async fn run(svc: Services) {
    let mut pollers: JoinSet<i64> = JoinSet::new();
    let mut running: HashSet<i64> = HashSet::new();
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tick.tick().await;
        while let Some(done) = pollers.try_join_next() {
            if let Ok(id) = done {
                running.remove(&id);
            }
        }
        let bots = match svc.store.polling_bots().await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "polling bots not read");
                continue;
            }
        };
        for b in bots {
            if running.insert(b.id) {
                pollers.spawn(poll(svc.clone(), b.id));
            }
        }
    }
}

/// Polls one bot while this node holds its lease; returns its id when it
/// stops (lease elsewhere, bot gone or switched to webhook mode).
async fn poll(svc: Services, id: i64) -> i64 {
    let lease = lease_name(id);
    loop {
        // Gone (or switched to webhook mode): stop, without making its
        // lease row again (a release only updates one that is there).
        let polling = |c: &Option<crate::store::messengers::Connection>| {
            c.as_ref().is_some_and(|c| c.mode.as_deref() == Some("polling"))
        };
        match svc.store.connection_by_id(id).await {
            Ok(c) if polling(&c) => {}
            Ok(_) => {
                let _ = svc.store.release_lease(&lease, &svc.bus.node, i64::MAX).await;
                return id;
            }
            Err(e) => {
                tracing::warn!(error = %e, "bot not read");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        }
        match svc
            .store
            .acquire_lease(&lease, &svc.bus.node, now_ms() + LEASE_MS, i64::MAX)
            .await
        {
            Ok(Some(_)) => {}
            Ok(None) => return id,
            Err(e) => {
                tracing::debug!(error = %e, "poll lease not taken");
                return id;
            }
        }
        // Read again under the lease: the offset another holder saved.
        let c = match svc.store.connection_by_id(id).await {
            Ok(Some(c)) if c.mode.as_deref() == Some("polling") => c,
            Ok(_) => return id,
            Err(e) => {
                tracing::warn!(error = %e, "bot not read");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        let updates = match bot_of(&c).get_updates(c.poll_offset).await {
            Ok(u) => u,
            Err(e) => {
                tracing::info!(connection = id, error = %e, "getUpdates failed");
                let _ = svc.store.set_connection_error(id, Some(&e.to_string())).await;
                let wait = match &e {
                    crate::channels::telegram::api::TgError::Refused {
                        retry_after: Some(s), ..
                    } => (*s).clamp(1, 300),
                    _ => 5,
                };
                tokio::time::sleep(Duration::from_secs(wait)).await;
                continue;
            }
        };
        if c.state != "active" {
            let _ = svc.store.set_connection_error(id, None).await;
        }
        for u in updates {
            let Some(update_id) = u["update_id"].as_i64() else {
                continue;
            };
            if update_id < c.poll_offset {
                continue;
            }
            match svc.file_telegram_update(&c, &u).await {
                Ok(_) => {}
                // What can never be filed is skipped, not retried forever.
                Err(e @ (StoreError::Invalid(_) | StoreError::Conflict(_) | StoreError::NotFound)) => {
                    tracing::warn!(connection = id, update_id, error = %e, "a Telegram update was skipped");
                }
                Err(e) => {
                    tracing::warn!(connection = id, error = %e, "a Telegram update was not filed; trying again");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    break;
                }
            }
            if let Err(e) = svc.store.save_poll_offset(id, update_id + 1).await {
                tracing::warn!(connection = id, error = %e, "poll offset not saved");
                break;
            }
        }
    }
}
