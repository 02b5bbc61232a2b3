//! Storage: one interface over SQLite (the embedded default) and
//! PostgreSQL (the scale backend). Queries are written once with `$N`
//! placeholders and run through sqlx's `Any` driver; the few places where
//! the backends differ ask [`Backend`]. Each public method is one
//! transaction sized to one use case.

pub mod backup;
mod batch;
pub mod campaigns;
pub mod chat;
pub mod clients;
pub mod console;
pub mod contacts;
mod deliveries;
pub mod events;
pub mod identity;
pub mod kb;
pub mod kb_learning;
mod links;
pub mod mail;
pub mod mail_settings;
pub mod merge;
pub mod messengers;
pub mod monitors;
pub mod operator;
pub mod outbox;
mod people;
pub mod plans;
pub mod portal;
pub mod privacy;
mod query;
pub mod reports;
pub mod routing;
pub mod rules;
pub mod scratch;
pub mod search;
pub mod seed;
pub mod sla;
pub mod surveys;
mod tickets;
pub mod time_reports;
mod types;
pub mod webhooks;
pub mod widget;
pub mod worklog;

pub use backup::BACKUP_FORMAT;
pub use types::*;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Config(format!(
                "unsupported database URL (use sqlite://PATH or postgres://...): {}",
                redact_url(url)
            )))
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    /// The workspace's plan allows no more of this (checked inside the
    /// writing transaction, so two concurrent requests cannot both pass).
    #[error("the workspace's plan allows no more {0}")]
    PlanLimit(&'static str),
    #[error("{0}")]
    Invalid(#[from] crate::domain::Invalid),
    #[error("configuration: {0}")]
    Config(String),
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("backup file: {0}")]
    Backup(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The storage handle. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    /// Reads. On SQLite several connections read in parallel under WAL.
    read: AnyPool,
    /// Writes. SQLite allows one writer at a time, so writers queue on one
    /// connection instead of spinning on SQLITE_BUSY; on PostgreSQL this is
    /// the same pool as `read`.
    write: AnyPool,
    writer: batch::Writer,
    link_key: std::sync::Arc<std::sync::OnceLock<Vec<u8>>>,
    /// This node's ticket search index once the app attached it (see `search`).
    ticket_index: std::sync::Arc<std::sync::RwLock<Option<crate::search::WeakTicketIndex>>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("backend", &self.backend).finish()
    }
}

/// Hides the password in a database URL before it reaches a log line.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl Store {
    /// Opens the database at `url`, creating a SQLite file when missing, and
    /// brings its schema up to date.
    pub async fn connect(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let store = match backend {
            Backend::Sqlite => {
                let url = if url.contains('?') {
                    url.to_string()
                } else {
                    format!("{url}?mode=rwc")
                };
                let opts = AnyConnectOptions::from_str(&url)?;
                let sync = sqlite_synchronous()?;
                let pool = |max: u32| {
                    AnyPoolOptions::new()
                        .max_connections(max)
                        .min_connections(1)
                        .acquire_timeout(Duration::from_secs(30))
                        .after_connect(move |conn, _| {
                            Box::pin(async move {
                                // WAL lets readers run beside the writer. With
                                // FULL every commit is synced to disk before
                                // it is acknowledged.
                                conn.execute(format!("PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;").as_str()).await?;
                                Ok(())
                            })
                        })
                };
                let write = pool(1).connect_with(opts.clone()).await?;
                let read = pool(4).connect_with(opts).await?;
                Store {
                    backend,
                    read,
                    writer: batch::Writer::spawn(write.clone(), false, 1),
                    write,
                    link_key: Default::default(),
                    ticket_index: Default::default(),
                }
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect(url)
                    .await?;
                Store {
                    backend,
                    read: pool.clone(),
                    writer: batch::Writer::spawn(pool.clone(), true, 4),
                    write: pool,
                    link_key: Default::default(),
                    ticket_index: Default::default(),
                }
            }
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite").run(&self.write).await?,
            Backend::Postgres => sqlx::migrate!("migrations/postgres").run(&self.write).await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Answers whether the database takes queries, for health checks.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    /// Sends PostgreSQL NOTIFYs, in order, in one statement (used by the
    /// realtime bridge).
    pub async fn notify_many(&self, channel: &str, payloads: &[String]) -> Result<()> {
        let mut sql = query::Sql::new("SELECT ");
        let c = sql.arg(channel);
        let calls: Vec<String> = payloads
            .iter()
            .map(|p| format!("pg_notify({c}, {})", sql.arg(p.as_str())))
            .collect();
        sql.push(&calls.join(", "));
        sql.query().execute(&self.write).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

/// `STOREDESK_SQLITE_SYNCHRONOUS`: `full` (default) syncs the WAL on every
/// commit, so an acknowledged write survives a power cut; `normal` syncs
/// at checkpoints only: still safe when the process is killed, not when
/// the machine loses power.
fn sqlite_synchronous() -> Result<&'static str> {
    match std::env::var("STOREDESK_SQLITE_SYNCHRONOUS").as_deref() {
        Err(_) | Ok("full") | Ok("FULL") => Ok("FULL"),
        Ok("normal") | Ok("NORMAL") => Ok("NORMAL"),
        Ok(other) => Err(StoreError::Config(format!(
            "STOREDESK_SQLITE_SYNCHRONOUS must be full or normal, not '{other}'"
        ))),
    }
}

/// How far this process's clock was moved ahead (see [`advance_clock`]).
static CLOCK_AHEAD_MS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// The time every rule, timer and stored timestamp goes by.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis() + CLOCK_AHEAD_MS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Moves this process's clock ahead, for tests of what happens hours or
/// days later (timers, SLA due times, business hours). The server itself
/// never calls it; each test runs in its own process.
pub fn advance_clock(ms: i64) {
    CLOCK_AHEAD_MS.fetch_add(ms, std::sync::atomic::Ordering::Relaxed);
}

impl Store {
    /// Deletes row `id` of one of a workspace's own tables (rules, macros,
    /// SLA policies); another workspace's id is "not found".
    pub(crate) async fn delete_owned(&self, table: &'static str, workspace_id: i64, id: i64) -> Result<()> {
        let n = sqlx::query(&format!("DELETE FROM {table} WHERE id = $1 AND workspace_id = $2"))
            .bind(id)
            .bind(workspace_id)
            .execute(&self.write)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

/// Moves row `id` of a workspace's ordered table (rules, SLA policies) to
/// place `to` (1 = first), numbering them all 1, 2, 3… again.
pub(crate) async fn move_in_order(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    table: &'static str,
    workspace_id: i64,
    id: i64,
    to: i64,
) -> Result<()> {
    let mut ids: Vec<i64> = sqlx::query_scalar(&format!(
        "SELECT id FROM {table} WHERE workspace_id = $1 ORDER BY position, id"
    ))
    .bind(workspace_id)
    .fetch_all(&mut **tx)
    .await?;
    if !ids.contains(&id) {
        return Err(StoreError::NotFound);
    }
    ids.retain(|x| *x != id);
    ids.insert((to.max(1) as usize - 1).min(ids.len()), id);
    for (i, rid) in ids.iter().enumerate() {
        sqlx::query(&format!("UPDATE {table} SET position = $1 WHERE id = $2"))
            .bind(i as i64 + 1)
            .bind(rid)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Maps a unique-constraint violation to a conflict the caller can act on.
pub(crate) fn conflict_on_unique(e: sqlx::Error, message: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(message.to_string()),
        _ => StoreError::Database(e),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(
            super::redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(super::redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(super::redact_url("sqlite://x.db"), "sqlite://x.db");
    }
}
