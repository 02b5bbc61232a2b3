//! Sites the widget was refused on: counted per workspace so the admin sees
//! a store that forgot to allow its own site (its shoppers see no chat).

use super::*;

/// Origins kept per workspace; past it only known ones are counted, so a
/// stream of made-up origins cannot grow the table.
pub const REFUSED_ORIGINS_MAX: i64 = 50;

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct RefusedOrigin {
    pub origin: String,
    pub refused: i64,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub first_at: i64,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub last_at: i64,
}

impl Store {
    /// Adds `times` refusals of `origin`.
    pub async fn record_refused_origin(&self, workspace_id: i64, origin: &str, times: i64) -> Result<()> {
        let now = now_ms();
        let known = sqlx::query("UPDATE widget_refused_origins SET refused = refused + $3, last_at = $4 WHERE workspace_id = $1 AND origin = $2")
            .bind(workspace_id)
            .bind(origin)
            .bind(times)
            .bind(now)
            .execute(&self.write)
            .await?
            .rows_affected();
        if known == 0 {
            sqlx::query("INSERT INTO widget_refused_origins (workspace_id, origin, refused, first_at, last_at) SELECT $1, $2, $3, $4, $4 WHERE (SELECT COUNT(*) FROM widget_refused_origins WHERE workspace_id = $1) < $5 ON CONFLICT (workspace_id, origin) DO UPDATE SET refused = widget_refused_origins.refused + excluded.refused, last_at = excluded.last_at")
                .bind(workspace_id)
                .bind(origin)
                .bind(times)
                .bind(now)
                .bind(REFUSED_ORIGINS_MAX)
                .execute(&self.write)
                .await?;
        }
        Ok(())
    }

    /// Most recently refused first.
    pub async fn refused_origins(&self, workspace_id: i64) -> Result<Vec<RefusedOrigin>> {
        Ok(sqlx::query_as("SELECT origin, refused, first_at, last_at FROM widget_refused_origins WHERE workspace_id = $1 ORDER BY last_at DESC, origin")
            .bind(workspace_id)
            .fetch_all(&self.read)
            .await?)
    }
}
