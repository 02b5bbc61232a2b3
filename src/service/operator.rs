//! What an operator does to workspaces and plans. Every change clears the
//! plan cache of this node, so the next request sees it.

use chrono::{Datelike, TimeZone, Utc};

use super::Services;
use crate::domain::plan::{validate, Plan};
use crate::domain::{required_text, slugify, Email, Role};
use crate::error::AppError;
use crate::store::operator::HostedWorkspace;
use crate::store::plans::PlanInput;
use crate::store::{now_ms, NewUser, Workspace};

/// A workspace's usage as an operator bills it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Usage {
    pub workspace_id: i64,
    pub agents: i64,
    /// Tickets created since the start of this month (UTC).
    pub conversations_this_month: i64,
    /// Message bodies plus attachments.
    pub storage_bytes: i64,
}

/// A new workspace and, once, its first admin's password.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Created {
    pub workspace: Workspace,
    pub admin_email: String,
    /// Generated when none was given; shown only in this answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_password: Option<String>,
}

/// A plan as an operator sends it.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanBody {
    pub name: String,
    #[serde(default)]
    pub features: Vec<String>,
    #[serde(default)]
    pub max_agents: Option<i64>,
    #[serde(default)]
    pub storage_bytes: Option<i64>,
    #[serde(default)]
    pub is_default: bool,
}

/// A random password a person can type (20 letters and digits).
pub fn generated_password() -> String {
    use rand::Rng;
    rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(20)
        .map(char::from)
        .collect()
}

impl Services {
    /// Creates a workspace with its first admin on `plan_id`, or on the
    /// default plan when there is one, else on none (every feature).
    pub async fn create_hosted_workspace(
        &self,
        name: &str,
        admin_email: &str,
        admin_password: Option<String>,
        plan_id: Option<i64>,
    ) -> Result<Created, AppError> {
        let name = required_text("name", name, 200)?;
        let email = Email::parse("admin_email", admin_email)?;
        let generated = admin_password.is_none();
        let password = admin_password.unwrap_or_else(generated_password);
        crate::auth::check_password_policy(&password)?;
        let plan_id = match plan_id {
            Some(id) => Some(
                self.store
                    .plan(id)
                    .await
                    .map_err(|_| crate::domain::Invalid::new("plan_id", "no such plan"))?
                    .id,
            ),
            None => self.store.default_plan().await?.map(|p| p.id),
        };
        let hash = {
            let p = password.clone();
            tokio::task::spawn_blocking(move || crate::auth::hash_password(&p))
                .await
                .map_err(AppError::internal)?
        };
        let admin = NewUser {
            name: email.as_str().split('@').next().unwrap_or("admin").to_string(),
            email: email.clone(),
            role: Role::Admin,
            teams_only: false,
            password_hash: Some(hash),
        };
        let (ws, _) = self
            .store
            .create_workspace_on(&name, &slugify(&name), admin, plan_id)
            .await?;
        Ok(Created {
            workspace: ws,
            admin_email: email.as_str().to_string(),
            admin_password: generated.then_some(password),
        })
    }

    pub async fn suspend_workspace(&self, id: i64, suspended: bool) -> Result<HostedWorkspace, AppError> {
        let ws = self.store.set_suspended(id, suspended.then(now_ms)).await?;
        self.plans.invalidate(id);
        Ok(ws)
    }

    pub async fn set_workspace_plan(&self, id: i64, plan_id: Option<i64>) -> Result<HostedWorkspace, AppError> {
        let ws = self.store.set_workspace_plan(id, plan_id).await?;
        self.plans.invalidate(id);
        Ok(ws)
    }

    pub async fn delete_workspace(&self, id: i64) -> Result<(), AppError> {
        self.store.delete_workspace(id).await?;
        self.plans.invalidate(id);
        Ok(())
    }

    pub async fn usage(&self, workspace_id: i64) -> Result<Usage, AppError> {
        let now = Utc::now();
        let month = Utc
            .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
            .single()
            .map(|t| t.timestamp_millis())
            .unwrap_or(0);
        Ok(Usage {
            workspace_id,
            agents: self.store.active_agents(workspace_id).await?,
            conversations_this_month: self.store.conversations_since(workspace_id, month).await?,
            storage_bytes: self.store.storage_bytes(workspace_id).await?,
        })
    }

    pub async fn save_plan(&self, id: Option<i64>, body: PlanBody) -> Result<Plan, AppError> {
        let (name, features) = validate(&body.name, &body.features, body.max_agents, body.storage_bytes)?;
        let plan = self
            .store
            .save_plan(
                id,
                &PlanInput {
                    name,
                    features,
                    max_agents: body.max_agents,
                    storage_bytes: body.storage_bytes,
                    is_default: body.is_default,
                },
            )
            .await?;
        self.plans.clear();
        Ok(plan)
    }

    pub async fn delete_plan(&self, id: i64) -> Result<(), AppError> {
        self.store.delete_plan(id).await?;
        self.plans.clear();
        Ok(())
    }
}
