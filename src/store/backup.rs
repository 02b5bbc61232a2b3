//! Backup and restore in one portable format: JSON lines, a header and
//! then one line per row, table by table in foreign-key order. A backup
//! from SQLite restores into PostgreSQL and back.

use std::io::{BufRead, Write};

use futures::TryStreamExt;
use serde_json::{json, Map, Value};
use sqlx::{Column, Row};

use super::{now_ms, Backend, Result, Store, StoreError};

pub const BACKUP_FORMAT: &str = "storedesk-backup";
const BACKUP_VERSION: i64 = 1;

/// Tables in the order a restore must insert them, with the columns that
/// order their rows.
const TABLES: &[(&str, &str)] = &[
    ("workspaces", "id"),
    ("users", "id"),
    ("api_tokens", "id"),
    ("teams", "id"),
    ("team_members", "team_id, user_id"),
    ("clients", "id"),
    ("contacts", "id"),
    ("contact_identities", "id"),
    ("tickets", "id"),
    ("ticket_labels", "ticket_id, label"),
    ("messages", "id"),
    ("audit_events", "id"),
    ("chat_visitors", "id"),
    ("attachments", "id"),
    ("workspace_settings", "workspace_id"),
    ("widget_refused_origins", "workspace_id, origin"),
    ("outbox", "id"),
    ("mail_threads", "workspace_id, header_id"),
    ("raw_emails", "id"),
    ("email_bounces", "workspace_id, address"),
    ("instance_keys", "name"),
    ("kb_categories", "id"),
    ("kb_articles", "id"),
    ("kb_searches", "id"),
    ("kb_synonyms", "id"),
    ("kb_clicks", "workspace_id, query, article_id"),
    ("portal_tokens", "id"),
    ("agent_sessions", "id"),
    ("invites", "id"),
    ("canned_answers", "id"),
    ("labels", "id"),
    ("notifications", "id"),
    ("calendars", "workspace_id, team_id"),
    ("sla_policies", "id"),
    ("ticket_sla", "ticket_id"),
    ("rules", "id"),
    ("rule_runs", "rule_id, ticket_id, anchor"),
    ("macros", "id"),
    ("csat_responses", "ticket_id"),
    ("nps_surveys", "id"),
    ("contact_email_proofs", "id"),
    ("agent_online", "workspace_id, user_id, day"),
    ("webhooks", "id"),
    ("time_entries", "id"),
    ("time_timers", "ticket_id, user_id"),
    ("client_usage_warnings", "client_id, month"),
    ("webhook_deliveries", "id"),
    ("messenger_connections", "id"),
    ("messenger_deliveries", "id"),
    ("campaigns", "id"),
    ("campaign_exposures", "id"),
    ("visitor_events", "id"),
    ("monitors", "id"),
    ("monitor_checks", "id"),
    ("monitor_status_pages", "workspace_id"),
    ("events", "id"),
    ("plans", "id"),
    ("operators", "id"),
    ("operator_tokens", "id"),
];

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct BackupStats {
    pub tables: Vec<(String, u64)>,
}

impl BackupStats {
    pub fn rows(&self, table: &str) -> u64 {
        self.tables
            .iter()
            .find(|(t, _)| t == table)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    }
}

impl Store {
    /// Writes every row of every table, read from one consistent snapshot.
    pub async fn backup(&self, out: &mut impl Write) -> Result<BackupStats> {
        self.backup_of(out, None).await
    }

    /// The backup format restricted to one workspace's rows: its
    /// `workspaces` row and every row whose `workspace_id` is its id.
    /// Installation-wide tables (keys, plans, operators) are left out.
    pub async fn backup_workspace(&self, out: &mut impl Write, workspace_id: i64) -> Result<BackupStats> {
        self.workspace(workspace_id).await?;
        self.backup_of(out, Some(workspace_id)).await
    }

    async fn backup_of(&self, out: &mut impl Write, only: Option<i64>) -> Result<BackupStats> {
        let io = |e: std::io::Error| StoreError::Backup(e.to_string());
        let mut tx = self.read.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        let mut header = json!({ "format": BACKUP_FORMAT, "version": BACKUP_VERSION, "backend": self.backend.name(), "created_at": now_ms() });
        if let Some(ws) = only {
            header["workspace_id"] = json!(ws);
        }
        writeln!(out, "{header}").map_err(io)?;
        let mut stats = BackupStats::default();
        for (table, order) in TABLES {
            let filter = match (only, *table) {
                (None, _) => String::new(),
                (Some(_), "workspaces") => "WHERE id = $1".to_string(),
                (Some(_), "instance_keys" | "plans" | "operators" | "operator_tokens") => continue,
                // Rows without a workspace column of their own, through their parent.
                (Some(_), "client_usage_warnings") => {
                    "WHERE client_id IN (SELECT id FROM clients WHERE workspace_id = $1)".to_string()
                }
                (Some(_), _) => "WHERE workspace_id = $1".to_string(),
            };
            let sql = format!("SELECT * FROM {table} {filter} ORDER BY {order}");
            let mut q = sqlx::query(&sql);
            if let Some(ws) = only {
                q = q.bind(ws);
            }
            let mut rows = q.fetch(&mut *tx);
            let mut n = 0;
            while let Some(row) = rows.try_next().await? {
                let mut obj = Map::new();
                for (i, col) in row.columns().iter().enumerate() {
                    obj.insert(col.name().to_string(), cell(&row, i)?);
                }
                writeln!(out, "{}", json!({ "t": table, "r": obj })).map_err(io)?;
                n += 1;
            }
            stats.tables.push((table.to_string(), n));
        }
        out.flush().map_err(io)?;
        Ok(stats)
    }

    /// Loads a backup into an empty database in one transaction: either
    /// everything is restored or nothing is.
    pub async fn restore(&self, input: impl BufRead) -> Result<BackupStats> {
        let bad = |m: String| StoreError::Backup(m);
        let mut lines = input.lines();
        let header: Value = serde_json::from_str(
            &lines
                .next()
                .ok_or_else(|| bad("the file is empty".into()))?
                .map_err(|e| bad(e.to_string()))?,
        )
        .map_err(|e| bad(format!("header: {e}")))?;
        if header["format"] != BACKUP_FORMAT || header["version"] != BACKUP_VERSION {
            return Err(bad(format!("not a storedesk backup of version {BACKUP_VERSION}")));
        }
        let mut tx = self.write.begin().await?;
        let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM workspaces")
            .fetch_one(&mut *tx)
            .await?;
        if existing > 0 {
            return Err(bad(
                "the target database already holds workspaces; restore into an empty data dir or database".into(),
            ));
        }
        // The installation's keys come from the backup, so old links keep working.
        sqlx::query("DELETE FROM instance_keys").execute(&mut *tx).await?;
        let mut stats = BackupStats {
            tables: TABLES.iter().map(|(t, _)| (t.to_string(), 0)).collect(),
        };
        for (i, line) in lines.enumerate() {
            let line = line.map_err(|e| bad(e.to_string()))?;
            if line.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(&line).map_err(|e| bad(format!("line {}: {e}", i + 2)))?;
            let table = v["t"].as_str().unwrap_or_default();
            let Some(slot) = stats.tables.iter_mut().find(|(t, _)| t == table) else {
                return Err(bad(format!("line {}: unknown table '{table}'", i + 2)));
            };
            let row = v["r"]
                .as_object()
                .ok_or_else(|| bad(format!("line {}: no row", i + 2)))?;
            insert_row(&mut tx, table, row)
                .await
                .map_err(|e| bad(format!("line {}: {e}", i + 2)))?;
            slot.1 += 1;
        }
        if self.backend == Backend::Postgres {
            // Rows came with their ids; move each identity past them.
            for (table, order) in TABLES {
                if *order == "id" {
                    sqlx::query(&format!("SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)")).execute(&mut *tx).await?;
                }
            }
        }
        // The event log continues after the restored events, so an
        // integration's cursor from before the backup stays valid.
        sqlx::query("UPDATE event_clock SET last_id = (SELECT COALESCE(MAX(id), 0) FROM events)")
            .execute(&mut *tx)
            .await?;
        // Report totals are not in a backup (they are derived): the reports
        // consumer builds them from the restored tables.
        sqlx::query("INSERT INTO report_rebuilds (workspace_id, requested_at) SELECT id, 0 FROM workspaces")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(stats)
    }
}

pub(super) fn cell(row: &sqlx::any::AnyRow, i: usize) -> Result<Value> {
    if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
        return Ok(v.map(Value::from).unwrap_or(Value::Null));
    }
    if let Ok(v) = row.try_get::<Option<String>, _>(i) {
        return Ok(v.map(Value::from).unwrap_or(Value::Null));
    }
    if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
        return Ok(v.map(Value::from).unwrap_or(Value::Null));
    }
    if let Ok(v) = row.try_get::<Option<Vec<u8>>, _>(i) {
        return Ok(v.map(|b| json!({ "hex": hex::encode(b) })).unwrap_or(Value::Null));
    }
    Err(StoreError::Backup(format!(
        "column {i} has a type the backup does not know"
    )))
}

async fn insert_row(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    table: &str,
    row: &Map<String, Value>,
) -> std::result::Result<(), String> {
    let mut sql = super::query::Sql::default();
    let mut cols = Vec::new();
    let mut vals = Vec::new();
    for (col, v) in row {
        if !col.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            return Err(format!("bad column name '{col}'"));
        }
        cols.push(col.as_str());
        // NULL goes in as a literal: a typed NULL parameter would not fit
        // every column type on PostgreSQL.
        vals.push(match v {
            Value::Null => "NULL".to_string(),
            Value::Number(n) => sql.arg(n.as_i64().ok_or_else(|| format!("{col}: not an integer"))?),
            Value::String(s) => sql.arg(s.as_str()),
            Value::Object(o) if o.len() == 1 && o["hex"].is_string() => {
                sql.arg(hex::decode(o["hex"].as_str().unwrap_or_default()).map_err(|e| format!("{col}: {e}"))?)
            }
            other => return Err(format!("{col}: unexpected value {other}")),
        });
    }
    sql.push(&format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        cols.join(", "),
        vals.join(", ")
    ));
    sql.query().execute(&mut **tx).await.map_err(|e| e.to_string())?;
    Ok(())
}
