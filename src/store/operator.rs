//! Operators (above workspaces), their tokens, and what they do to
//! workspaces: suspend, resume, move to a plan, delete, measure.

use super::{conflict_on_unique, now_ms, Result, Store, StoreError};

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Operator {
    pub id: i64,
    pub email: String,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub created_at: i64,
}

/// A workspace as an operator sees it.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct HostedWorkspace {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub plan_id: Option<i64>,
    #[serde(serialize_with = "crate::domain::time::ser_opt")]
    pub suspended_at: Option<i64>,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub created_at: i64,
}

const WS_COLS: &str = "id, slug, name, plan_id, suspended_at, created_at";

impl Store {
    /// Creates an operator with a password hash (argon2). Only the CLI does.
    pub async fn create_operator(&self, email: &str, password_hash: &str) -> Result<Operator> {
        sqlx::query_as("INSERT INTO operators (email, password_hash, created_at) VALUES ($1, $2, $3) RETURNING id, email, created_at")
            .bind(email)
            .bind(password_hash)
            .bind(now_ms())
            .fetch_one(&self.write)
            .await
            .map_err(|e| conflict_on_unique(e, "an operator with this e-mail exists"))
    }

    pub async fn operator_by_email(&self, email: &str) -> Result<Operator> {
        let row: Option<Operator> = sqlx::query_as("SELECT id, email, created_at FROM operators WHERE email = $1")
            .bind(email)
            .fetch_optional(&self.read)
            .await?;
        row.ok_or(StoreError::NotFound)
    }

    pub async fn create_operator_token(&self, operator_id: i64, name: &str, token_hash: &str) -> Result<()> {
        sqlx::query("INSERT INTO operator_tokens (operator_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4)")
            .bind(operator_id)
            .bind(name)
            .bind(token_hash)
            .bind(now_ms())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// The operator behind a token's hash.
    pub async fn operator_by_token_hash(&self, token_hash: &str) -> Result<Option<Operator>> {
        let row: Option<(i64, Option<i64>, i64, String, i64)> = sqlx::query_as(
            "SELECT t.id, t.last_used_at, o.id, o.email, o.created_at FROM operator_tokens t JOIN operators o ON o.id = t.operator_id WHERE t.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.read)
        .await?;
        let Some((token_id, last_used, id, email, created_at)) = row else {
            return Ok(None);
        };
        let now = now_ms();
        if last_used.is_none_or(|t| now - t > 60_000) {
            sqlx::query("UPDATE operator_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(token_id)
                .execute(&self.write)
                .await?;
        }
        Ok(Some(Operator { id, email, created_at }))
    }

    pub async fn hosted_workspaces(&self) -> Result<Vec<HostedWorkspace>> {
        Ok(
            sqlx::query_as(&format!("SELECT {WS_COLS} FROM workspaces ORDER BY id LIMIT 10000"))
                .fetch_all(&self.read)
                .await?,
        )
    }

    pub async fn hosted_workspace(&self, id: i64) -> Result<HostedWorkspace> {
        let row: Option<HostedWorkspace> = sqlx::query_as(&format!("SELECT {WS_COLS} FROM workspaces WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.ok_or(StoreError::NotFound)
    }

    /// Suspends (`Some(time)`) or resumes (`None`) a workspace, with an
    /// event for its integrations.
    pub async fn set_suspended(&self, id: i64, at: Option<i64>) -> Result<HostedWorkspace> {
        let mut tx = self.write.begin().await?;
        let row: Option<HostedWorkspace> = sqlx::query_as(&format!(
            "UPDATE workspaces SET suspended_at = $1 WHERE id = $2 RETURNING {WS_COLS}"
        ))
        .bind(at)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let ws = row.ok_or(StoreError::NotFound)?;
        let action = if at.is_some() {
            "workspace.suspended"
        } else {
            "workspace.resumed"
        };
        super::people::audit(&mut tx, id, None, action, "workspace", Some(id), "{}", now_ms()).await?;
        tx.commit().await?;
        Ok(ws)
    }

    /// Moves a workspace to a plan (`None`: every feature, no limit).
    pub async fn set_workspace_plan(&self, id: i64, plan_id: Option<i64>) -> Result<HostedWorkspace> {
        let mut tx = self.write.begin().await?;
        if let Some(p) = plan_id {
            let found: Option<i64> = sqlx::query_scalar("SELECT id FROM plans WHERE id = $1")
                .bind(p)
                .fetch_optional(&mut *tx)
                .await?;
            if found.is_none() {
                return Err(StoreError::Invalid(crate::domain::Invalid::new(
                    "plan_id",
                    "no such plan",
                )));
            }
        }
        let row: Option<HostedWorkspace> = sqlx::query_as(&format!(
            "UPDATE workspaces SET plan_id = $1 WHERE id = $2 RETURNING {WS_COLS}"
        ))
        .bind(plan_id)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let ws = row.ok_or(StoreError::NotFound)?;
        let data = serde_json::json!({ "plan_id": plan_id }).to_string();
        super::people::audit(
            &mut tx,
            id,
            None,
            "workspace.plan_changed",
            "workspace",
            Some(id),
            &data,
            now_ms(),
        )
        .await?;
        tx.commit().await?;
        Ok(ws)
    }

    /// Deletes a workspace and everything in it.
    pub async fn delete_workspace(&self, id: i64) -> Result<()> {
        let n = sqlx::query("DELETE FROM workspaces WHERE id = $1")
            .bind(id)
            .execute(&self.write)
            .await?;
        if n.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Tickets (conversations) created in a workspace since `since`.
    pub async fn conversations_since(&self, workspace_id: i64, since: i64) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM tickets WHERE workspace_id = $1 AND created_at >= $2")
                .bind(workspace_id)
                .bind(since)
                .fetch_one(&self.read)
                .await?,
        )
    }
}
