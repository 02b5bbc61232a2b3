//! Plans and each workspace's standing (plan and suspension).

use super::{conflict_on_unique, now_ms, Result, Store, StoreError};
use crate::domain::plan::{Feature, Plan, Standing};

#[derive(sqlx::FromRow)]
struct PlanRow {
    id: i64,
    name: String,
    features: String,
    max_agents: Option<i64>,
    storage_bytes: Option<i64>,
    is_default: i64,
}

const PLAN_COLS: &str = "id, name, features, max_agents, storage_bytes, is_default";

impl TryFrom<PlanRow> for Plan {
    type Error = StoreError;
    fn try_from(r: PlanRow) -> Result<Plan> {
        let names: Vec<String> =
            serde_json::from_str(&r.features).map_err(|e| StoreError::Corrupt(format!("plan features: {e}")))?;
        // A feature this version does not know is skipped, not fatal: a
        // newer node may have written it.
        let features = names
            .iter()
            .filter_map(|n| Feature::parse("features", n).ok())
            .collect();
        Ok(Plan {
            id: r.id,
            name: r.name,
            features,
            max_agents: r.max_agents,
            storage_bytes: r.storage_bytes,
            is_default: r.is_default != 0,
        })
    }
}

/// A plan as an operator writes it.
#[derive(Debug, Clone)]
pub struct PlanInput {
    pub name: String,
    pub features: Vec<Feature>,
    pub max_agents: Option<i64>,
    pub storage_bytes: Option<i64>,
    pub is_default: bool,
}

fn features_json(fs: &[Feature]) -> String {
    serde_json::to_string(&fs.iter().map(|f| f.as_str()).collect::<Vec<_>>()).expect("strings serialize")
}

impl Store {
    pub async fn plans(&self) -> Result<Vec<Plan>> {
        let rows: Vec<PlanRow> = sqlx::query_as(&format!("SELECT {PLAN_COLS} FROM plans ORDER BY id"))
            .fetch_all(&self.read)
            .await?;
        rows.into_iter().map(Plan::try_from).collect()
    }

    pub async fn plan(&self, id: i64) -> Result<Plan> {
        let row: Option<PlanRow> = sqlx::query_as(&format!("SELECT {PLAN_COLS} FROM plans WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    pub async fn default_plan(&self) -> Result<Option<Plan>> {
        let row: Option<PlanRow> = sqlx::query_as(&format!(
            "SELECT {PLAN_COLS} FROM plans WHERE is_default = 1 ORDER BY id LIMIT 1"
        ))
        .fetch_optional(&self.read)
        .await?;
        row.map(Plan::try_from).transpose()
    }

    /// Creates (`id` None) or replaces a plan. Only one plan is the default.
    pub async fn save_plan(&self, id: Option<i64>, p: &PlanInput) -> Result<Plan> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        if p.is_default {
            sqlx::query("UPDATE plans SET is_default = 0 WHERE is_default = 1")
                .execute(&mut *tx)
                .await?;
        }
        let sql = match id {
            None => format!("INSERT INTO plans (name, features, max_agents, storage_bytes, is_default, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {PLAN_COLS}"),
            Some(_) => format!("UPDATE plans SET name = $1, features = $2, max_agents = $3, storage_bytes = $4, is_default = $5, updated_at = $6 WHERE id = $7 RETURNING {PLAN_COLS}"),
        };
        let mut q = sqlx::query_as(&sql)
            .bind(&p.name)
            .bind(features_json(&p.features))
            .bind(p.max_agents)
            .bind(p.storage_bytes)
            .bind(p.is_default as i64)
            .bind(now);
        if let Some(id) = id {
            q = q.bind(id);
        }
        let row: Option<PlanRow> = q
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| conflict_on_unique(e, "a plan with this name exists"))?;
        let plan = row.ok_or(StoreError::NotFound)?.try_into()?;
        tx.commit().await?;
        Ok(plan)
    }

    /// Deletes a plan no workspace is on.
    pub async fn delete_plan(&self, id: i64) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let used: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM workspaces WHERE plan_id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        if used > 0 {
            return Err(StoreError::Conflict(format!(
                "{used} workspace(s) are on this plan; move them first"
            )));
        }
        let n = sqlx::query("DELETE FROM plans WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if n.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }

    /// A workspace's plan and suspension. `NotFound` for no such workspace.
    pub async fn standing(&self, workspace_id: i64) -> Result<Standing> {
        let row: Option<(Option<i64>, Option<i64>)> =
            sqlx::query_as("SELECT plan_id, suspended_at FROM workspaces WHERE id = $1")
                .bind(workspace_id)
                .fetch_optional(&self.read)
                .await?;
        let (plan_id, suspended_at) = row.ok_or(StoreError::NotFound)?;
        let plan = match plan_id {
            Some(id) => match self.plan(id).await {
                Ok(p) => Some(p),
                Err(StoreError::NotFound) => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        Ok(Standing {
            suspended: suspended_at.is_some(),
            plan,
        })
    }

    /// Active agents (admins included) of a workspace.
    pub async fn active_agents(&self, workspace_id: i64) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE workspace_id = $1 AND active = 1")
                .bind(workspace_id)
                .fetch_one(&self.read)
                .await?,
        )
    }

    /// Bytes a workspace stores: message bodies and attachments.
    pub async fn storage_bytes(&self, workspace_id: i64) -> Result<i64> {
        let bytes = match self.backend {
            super::Backend::Sqlite => "LENGTH(CAST(body AS BLOB)) + COALESCE(LENGTH(CAST(html AS BLOB)), 0)",
            super::Backend::Postgres => "OCTET_LENGTH(body) + COALESCE(OCTET_LENGTH(html), 0)",
        };
        let messages: Option<i64> = sqlx::query_scalar(&format!(
            "SELECT CAST(SUM({bytes}) AS BIGINT) FROM messages WHERE workspace_id = $1"
        ))
        .bind(workspace_id)
        .fetch_one(&self.read)
        .await?;
        let files: Option<i64> =
            sqlx::query_scalar("SELECT CAST(SUM(size) AS BIGINT) FROM attachments WHERE workspace_id = $1")
                .bind(workspace_id)
                .fetch_one(&self.read)
                .await?;
        Ok(messages.unwrap_or(0) + files.unwrap_or(0))
    }
}
