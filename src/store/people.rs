//! Workspaces, the people who work in them, their teams and API tokens.

use sqlx::Row;

use super::{conflict_on_unique, now_ms, NewUser, Result, Store, StoreError, Team, User, Workspace};
use crate::domain::{Actor, Role, TicketScope};

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    workspace_id: i64,
    email: String,
    name: String,
    role: String,
    ticket_scope: String,
    active: i64,
    created_at: i64,
}

const USER_COLS: &str = "id, workspace_id, email, name, role, ticket_scope, active, created_at";

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<User> {
        Ok(User {
            id: r.id,
            workspace_id: r.workspace_id,
            email: r.email,
            name: r.name,
            role: Role::parse("role", &r.role).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            ticket_scope: r.ticket_scope,
            active: r.active != 0,
            created_at: r.created_at,
        })
    }
}

impl Store {
    /// Creates a workspace with its first admin. The slug is made unique by
    /// a numeric suffix when the name is taken.
    #[tracing::instrument(skip_all, fields(name = %name))]
    pub async fn create_workspace(&self, name: &str, slug_base: &str, admin: NewUser) -> Result<(Workspace, User)> {
        self.create_workspace_on(name, slug_base, admin, None).await
    }

    /// As `create_workspace`, on a plan (`None`: every feature, no limit).
    pub async fn create_workspace_on(
        &self,
        name: &str,
        slug_base: &str,
        admin: NewUser,
        plan_id: Option<i64>,
    ) -> Result<(Workspace, User)> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let taken: Vec<String> = sqlx::query_scalar("SELECT slug FROM workspaces WHERE slug = $1 OR slug LIKE $2")
            .bind(slug_base)
            .bind(format!("{slug_base}-%"))
            .fetch_all(&mut *tx)
            .await?;
        let slug = (1..)
            .map(|n| {
                if n == 1 {
                    slug_base.to_string()
                } else {
                    format!("{slug_base}-{n}")
                }
            })
            .find(|s| !taken.contains(s))
            .expect("an unused suffix exists");
        let ws: Workspace = sqlx::query_as("INSERT INTO workspaces (slug, name, next_ticket_number, created_at, plan_id) VALUES ($1, $2, 1, $3, $4) RETURNING id, slug, name, created_at")
            .bind(&slug)
            .bind(name)
            .bind(now)
            .bind(plan_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| conflict_on_unique(e, "a workspace with this slug exists"))?;
        let user = insert_user(&mut tx, ws.id, &admin, now).await?;
        audit(
            &mut tx,
            ws.id,
            Some(user.id),
            "workspace.created",
            "workspace",
            Some(ws.id),
            "{}",
            now,
        )
        .await?;
        tx.commit().await?;
        Ok((ws, user))
    }

    pub async fn workspace_by_slug(&self, slug: &str) -> Result<Workspace> {
        sqlx::query_as("SELECT id, slug, name, created_at FROM workspaces WHERE slug = $1")
            .bind(slug)
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)
    }

    pub async fn workspace(&self, id: i64) -> Result<Workspace> {
        sqlx::query_as("SELECT id, slug, name, created_at FROM workspaces WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Every user with this e-mail in any workspace, with the workspace's slug.
    pub async fn users_by_email(&self, email: &str) -> Result<Vec<(User, String)>> {
        let rows = sqlx::query(&format!("SELECT u.{}, w.slug AS ws_slug FROM users u JOIN workspaces w ON w.id = u.workspace_id WHERE u.email = $1 ORDER BY u.id", USER_COLS.replace(", ", ", u.")))
            .bind(email)
            .fetch_all(&self.read)
            .await?;
        rows.into_iter()
            .map(|r| {
                let slug: String = r.try_get("ws_slug")?;
                let u: UserRow = sqlx::FromRow::from_row(&r)?;
                Ok((User::try_from(u)?, slug))
            })
            .collect()
    }

    /// The password hash of an active user, for sign-in.
    pub async fn password_hash(&self, workspace_id: i64, email: &str) -> Result<Option<(i64, String)>> {
        let row: Option<(i64, Option<String>)> =
            sqlx::query_as("SELECT id, password_hash FROM users WHERE workspace_id = $1 AND email = $2 AND active = 1")
                .bind(workspace_id)
                .bind(email)
                .fetch_optional(&self.read)
                .await?;
        Ok(row.and_then(|(id, h)| h.map(|h| (id, h))))
    }

    #[tracing::instrument(skip_all, fields(workspace_id))]
    pub async fn create_user(&self, workspace_id: i64, new: NewUser, by: i64) -> Result<User> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let user = insert_user(&mut tx, workspace_id, &new, now).await?;
        audit(
            &mut tx,
            workspace_id,
            Some(by),
            "user.created",
            "user",
            Some(user.id),
            "{}",
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    pub async fn user(&self, workspace_id: i64, id: i64) -> Result<User> {
        let r: UserRow = sqlx::query_as(&format!(
            "SELECT {USER_COLS} FROM users WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(workspace_id)
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        .ok_or(StoreError::NotFound)?;
        r.try_into()
    }

    pub async fn list_users(&self, workspace_id: i64) -> Result<Vec<User>> {
        let rows: Vec<UserRow> = sqlx::query_as(&format!(
            "SELECT {USER_COLS} FROM users WHERE workspace_id = $1 ORDER BY id"
        ))
        .bind(workspace_id)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter().map(User::try_from).collect()
    }

    #[tracing::instrument(skip_all, fields(workspace_id))]
    pub async fn create_team(&self, workspace_id: i64, name: &str, by: i64) -> Result<Team> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let id: i64 =
            sqlx::query_scalar("INSERT INTO teams (workspace_id, name, created_at) VALUES ($1, $2, $3) RETURNING id")
                .bind(workspace_id)
                .bind(name)
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| conflict_on_unique(e, "a team with this name exists"))?;
        audit(
            &mut tx,
            workspace_id,
            Some(by),
            "team.created",
            "team",
            Some(id),
            "{}",
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Team {
            id,
            name: name.to_string(),
            member_ids: vec![],
            created_at: now,
        })
    }

    pub async fn list_teams(&self, workspace_id: i64) -> Result<Vec<Team>> {
        let teams: Vec<(i64, String, i64)> =
            sqlx::query_as("SELECT id, name, created_at FROM teams WHERE workspace_id = $1 ORDER BY id")
                .bind(workspace_id)
                .fetch_all(&self.read)
                .await?;
        let members: Vec<(i64, i64)> =
            sqlx::query_as("SELECT team_id, user_id FROM team_members WHERE workspace_id = $1 ORDER BY user_id")
                .bind(workspace_id)
                .fetch_all(&self.read)
                .await?;
        Ok(teams
            .into_iter()
            .map(|(id, name, created_at)| Team {
                id,
                name,
                created_at,
                member_ids: members.iter().filter(|(t, _)| *t == id).map(|(_, u)| *u).collect(),
            })
            .collect())
    }

    /// Puts a user in a team. Both must belong to the workspace, or the
    /// answer is "not found", as if they did not exist.
    pub async fn add_team_member(&self, workspace_id: i64, team_id: i64, user_id: i64, by: i64) -> Result<()> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let found: i64 = sqlx::query_scalar("SELECT (SELECT COUNT(*) FROM teams WHERE id = $1 AND workspace_id = $3) + (SELECT COUNT(*) FROM users WHERE id = $2 AND workspace_id = $3)")
            .bind(team_id)
            .bind(user_id)
            .bind(workspace_id)
            .fetch_one(&mut *tx)
            .await?;
        if found != 2 {
            return Err(StoreError::NotFound);
        }
        sqlx::query(
            "INSERT INTO team_members (workspace_id, team_id, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(workspace_id)
        .bind(team_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        audit(
            &mut tx,
            workspace_id,
            Some(by),
            "team.member_added",
            "team",
            Some(team_id),
            &serde_json::json!({ "user_id": user_id }).to_string(),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores the hash of a new API token (the token itself is never kept).
    pub async fn create_api_token(&self, workspace_id: i64, user_id: i64, name: &str, token_hash: &str) -> Result<i64> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let id: i64 = sqlx::query_scalar("INSERT INTO api_tokens (workspace_id, user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id")
            .bind(workspace_id)
            .bind(user_id)
            .bind(name)
            .bind(token_hash)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        audit(
            &mut tx,
            workspace_id,
            Some(user_id),
            "token.created",
            "api_token",
            Some(id),
            "{}",
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The user a token hash belongs to, if the user is active.
    pub async fn actor_by_token_hash(&self, token_hash: &str) -> Result<Option<Actor>> {
        let row: Option<(i64, i64, i64, String, String, Option<i64>)> = sqlx::query_as(
            "SELECT t.id, u.id, u.workspace_id, u.role, u.ticket_scope, t.last_used_at FROM api_tokens t JOIN users u ON u.id = t.user_id AND u.workspace_id = t.workspace_id WHERE t.token_hash = $1 AND u.active = 1",
        )
        .bind(token_hash)
        .fetch_optional(&self.read)
        .await?;
        let Some((token_id, user_id, workspace_id, role, scope, last_used)) = row else {
            return Ok(None);
        };
        let now = now_ms();
        // Recording every use would put a write on every request; once a
        // minute is enough to tell which tokens are alive.
        if last_used.is_none_or(|t| now - t > 60_000) {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(token_id)
                .execute(&self.write)
                .await?;
        }
        self.actor_of(user_id, workspace_id, &role, &scope).await.map(Some)
    }

    pub(super) async fn actor_of(&self, user_id: i64, workspace_id: i64, role: &str, scope: &str) -> Result<Actor> {
        let role = Role::parse("role", role).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let scope = if scope == "teams" {
            let teams: Vec<i64> =
                sqlx::query_scalar("SELECT team_id FROM team_members WHERE user_id = $1 AND workspace_id = $2")
                    .bind(user_id)
                    .bind(workspace_id)
                    .fetch_all(&self.read)
                    .await?;
            TicketScope::Teams(teams)
        } else {
            TicketScope::All
        };
        Ok(Actor {
            user_id,
            workspace_id,
            role,
            scope,
        })
    }
}

pub(super) async fn insert_user(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    workspace_id: i64,
    u: &NewUser,
    now: i64,
) -> Result<User> {
    // The workspace row is locked first (a no-op update: a row lock on
    // PostgreSQL; SQLite has one writer), so the plan's agent limit holds
    // against concurrent invites and creations.
    sqlx::query("UPDATE workspaces SET plan_id = plan_id WHERE id = $1")
        .bind(workspace_id)
        .execute(&mut **tx)
        .await?;
    let (max, active): (Option<i64>, i64) = sqlx::query_as(
        "SELECT (SELECT p.max_agents FROM workspaces w JOIN plans p ON p.id = w.plan_id WHERE w.id = $1), \
         (SELECT COUNT(*) FROM users WHERE workspace_id = $1 AND active = 1)",
    )
    .bind(workspace_id)
    .fetch_one(&mut **tx)
    .await?;
    if max.is_some_and(|max| active >= max) {
        return Err(StoreError::PlanLimit("agents"));
    }
    let r: UserRow = sqlx::query_as(&format!(
        "INSERT INTO users (workspace_id, email, name, role, ticket_scope, password_hash, active, created_at) VALUES ($1, $2, $3, $4, $5, $6, 1, $7) RETURNING {USER_COLS}"
    ))
    .bind(workspace_id)
    .bind(u.email.as_str())
    .bind(&u.name)
    .bind(u.role.as_str())
    .bind(if u.teams_only { "teams" } else { "all" })
    .bind(u.password_hash.as_deref())
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| conflict_on_unique(e, "a user with this e-mail exists in the workspace"))?;
    r.try_into()
}

/// Appends to the audit trail inside the caller's transaction, so the trail
/// and the change it records commit together.
#[allow(clippy::too_many_arguments)]
pub(super) async fn audit(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    workspace_id: i64,
    actor_id: Option<i64>,
    action: &str,
    target_type: &str,
    target_id: Option<i64>,
    data: &str,
    now: i64,
) -> Result<()> {
    sqlx::query("INSERT INTO audit_events (workspace_id, actor_type, actor_id, action, target_type, target_id, data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(workspace_id)
        .bind(if actor_id.is_some() { "user" } else { "system" })
        .bind(actor_id)
        .bind(action)
        .bind(target_type)
        .bind(target_id)
        .bind(data)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
