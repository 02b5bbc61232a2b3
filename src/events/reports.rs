//! The report rollups: the once-per-cluster reader of the log that keeps
//! the running totals reports answer from (see `domain::reports`). Its
//! changes are saved with its position in one transaction, so each event
//! counts once. A workspace asked to be rebuilt (by `storedesk reports
//! rebuild`, a new time zone, or the migration that brought the totals) is
//! read again from the tables first, a chunk per transaction, renewing
//! the lease as it goes.

use std::sync::Arc;

use super::cluster::{Handled, Handler, LEASE};
use crate::domain::event::{Event, EventType};
use crate::service::Services;
use crate::store::{now_ms, Store};

pub const NAME: &str = "reports";

pub struct Rollups {
    svc: Services,
    checked: std::sync::atomic::AtomicBool,
}

impl Rollups {
    pub fn new(svc: Services) -> Self {
        Self {
            svc,
            checked: Default::default(),
        }
    }

    async fn renew(&self, store: &Store, name: &str, owner: &str) -> crate::store::Result<bool> {
        let until = now_ms() + LEASE.as_millis() as i64;
        Ok(store
            .acquire_lease(name, owner, until, 0)
            .await?
            .is_some_and(|l| l.owner.as_deref() == Some(owner)))
    }

    /// Builds one workspace's totals again; false when the lease was lost.
    async fn rebuild(
        &self,
        store: &Store,
        ws: i64,
        name: &str,
        owner: &str,
        position: i64,
    ) -> crate::store::Result<bool> {
        let started = now_ms();
        tracing::info!(workspace = ws, "building the report totals from the tables");
        store.clear_reports(ws).await?;
        let (mut after, mut tickets) = (0, 0usize);
        loop {
            if !self.renew(store, name, owner).await? {
                return Ok(false);
            }
            let (change, last) = self.svc.rebuild_chunk(ws, after).await?;
            tickets += change.facts.len();
            if !store
                .save_rollups(Some((name, owner, position)), &change.facts, &change.totals)
                .await?
            {
                return Ok(false);
            }
            match last {
                Some(l) => after = l,
                None => break,
            }
        }
        store.finish_rebuild(ws, started).await?;
        tracing::info!(workspace = ws, tickets, ms = now_ms() - started, "report totals built");
        Ok(true)
    }
}

impl Handler for Rollups {
    async fn handle(
        &self,
        store: &Store,
        name: &str,
        owner: &str,
        events: &[Arc<Event>],
        save: bool,
    ) -> crate::store::Result<Handled> {
        let Some(first) = events.first() else {
            return Ok(Handled::Done { saved: false });
        };
        let asked = events.iter().any(|e| e.kind == EventType::ReportsReset);
        if asked || !self.checked.swap(true, std::sync::atomic::Ordering::Relaxed) {
            for ws in store.pending_rebuilds().await? {
                if !self.rebuild(store, ws, name, owner, first.id - 1).await? {
                    return Ok(Handled::LeaseLost);
                }
            }
        }
        // A bulk import reads thousands of tickets from the tables: each
        // one is committed on its own, so a page of them stays bounded.
        let mut rest = events;
        let mut saved = false;
        while !rest.is_empty() {
            let cut = match rest.iter().position(|e| e.kind == EventType::TicketsImported) {
                Some(i) => i + 1,
                None => rest.len(),
            };
            let (part, tail) = rest.split_at(cut);
            rest = tail;
            let change = self.svc.roll_up(part).await?;
            let last = part.last().map_or(0, |e| e.id);
            if change.is_empty() && !(save && rest.is_empty()) {
                continue;
            }
            if !tail.is_empty() && !self.renew(store, name, owner).await? {
                return Ok(Handled::LeaseLost);
            }
            if !store
                .save_rollups(Some((name, owner, last)), &change.facts, &change.totals)
                .await?
            {
                return Ok(Handled::LeaseLost);
            }
            saved = rest.is_empty();
        }
        Ok(Handled::Done { saved })
    }
}
