//! The one place that says whether a workspace may use a feature: every
//! adapter (API, console, widget, chat socket, forms, mail intake) asks
//! `require`. A workspace's standing (plan and suspension) is cached for a
//! few seconds; a change on this node clears it at once, other nodes see
//! it within `TTL`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;

use crate::domain::plan::{Feature, Standing};
use crate::error::AppError;
use crate::store::{Store, StoreError};

const TTL: Duration = Duration::from_secs(5);
/// Past this many cached workspaces the cache starts again (bounded memory).
const MAX_ENTRIES: usize = 10_000;

#[derive(Clone, Default)]
pub struct PlanCache {
    inner: Arc<Mutex<HashMap<i64, (Instant, Standing)>>>,
    /// Public pages name a workspace by slug; a slug never changes.
    slugs: Arc<Mutex<HashMap<String, i64>>>,
}

impl PlanCache {
    /// The id of the workspace `slug` names (`None`: no such workspace).
    pub async fn workspace_id(&self, store: &Store, slug: &str) -> Option<i64> {
        if let Some(id) = self.slugs.lock().expect("slug cache").get(slug) {
            return Some(*id);
        }
        let id = store.workspace_by_slug(slug).await.ok()?.id;
        let mut map = self.slugs.lock().expect("slug cache");
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(slug.to_string(), id);
        Some(id)
    }

    /// Forgets one workspace's standing (after a change on this node).
    pub fn invalidate(&self, workspace_id: i64) {
        self.inner.lock().expect("plan cache").remove(&workspace_id);
    }

    /// Forgets every workspace's standing (a plan itself changed).
    pub fn clear(&self) {
        self.inner.lock().expect("plan cache").clear();
    }

    pub async fn standing(&self, store: &Store, workspace_id: i64) -> Result<Standing, AppError> {
        if let Some((at, s)) = self.inner.lock().expect("plan cache").get(&workspace_id) {
            if at.elapsed() < TTL {
                return Ok(s.clone());
            }
        }
        let s = match store.standing(workspace_id).await {
            Ok(s) => s,
            // A workspace deleted under a request: nothing it may do.
            Err(StoreError::NotFound) => return Err(suspended()),
            Err(e) => return Err(e.into()),
        };
        let mut map = self.inner.lock().expect("plan cache");
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(workspace_id, (Instant::now(), s.clone()));
        Ok(s)
    }
}

/// 403 for anything done in a suspended workspace.
pub fn suspended() -> AppError {
    AppError::new(
        StatusCode::FORBIDDEN,
        "workspace_suspended",
        "this workspace is suspended; its operator can resume it",
    )
}

pub fn feature_missing(f: Feature) -> AppError {
    AppError::new(
        StatusCode::PAYMENT_REQUIRED,
        "plan_feature_missing",
        format!("the workspace's plan does not include the feature '{}'", f.as_str()),
    )
}

pub fn limit_reached(what: &str) -> AppError {
    AppError::new(
        StatusCode::PAYMENT_REQUIRED,
        "plan_limit_reached",
        format!("the workspace's plan allows no more {what}"),
    )
}

impl super::Services {
    /// Refuses a suspended workspace.
    pub async fn require_active(&self, workspace_id: i64) -> Result<Standing, AppError> {
        let s = self.plans.standing(&self.store, workspace_id).await?;
        if s.suspended {
            return Err(suspended());
        }
        Ok(s)
    }

    /// Refuses a suspended workspace, or one whose plan lacks `f`.
    pub async fn require(&self, workspace_id: i64, f: Feature) -> Result<(), AppError> {
        let s = self.require_active(workspace_id).await?;
        if !s.allows(f) {
            return Err(feature_missing(f));
        }
        Ok(())
    }

    /// Refuses one more active agent past the plan's `max_agents`.
    pub async fn require_agent_slot(&self, workspace_id: i64) -> Result<(), AppError> {
        let s = self.require_active(workspace_id).await?;
        if s.plan.as_ref().and_then(|p| p.max_agents).is_some() {
            let n = self.store.active_agents(workspace_id).await?;
            if !s.agent_fits(n) {
                return Err(limit_reached("agents"));
            }
        }
        Ok(())
    }

    /// Refuses `more` bytes past the plan's `storage_bytes`.
    pub async fn require_storage(&self, workspace_id: i64, more: i64) -> Result<(), AppError> {
        let s = self.require_active(workspace_id).await?;
        if s.plan.as_ref().and_then(|p| p.storage_bytes).is_some() {
            let used = self.store.storage_bytes(workspace_id).await?;
            if !s.storage_fits(used, more) {
                return Err(limit_reached("storage"));
            }
        }
        Ok(())
    }
}
