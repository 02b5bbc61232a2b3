//! Clients a studio works for: their terms (work type, included monthly
//! minutes, rates, currency) and which contacts belong to them.

use super::*;
use crate::domain::worklog::{Terms, WorkType};

/// A client as agents see it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Client {
    pub id: i64,
    pub name: String,
    pub work_type: WorkType,
    pub included_minutes: i64,
    /// Minor units (cents) per hour.
    pub hourly_rate: i64,
    pub urgent_rate: i64,
    pub currency: String,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub created_at: i64,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub updated_at: i64,
}

impl Client {
    pub fn terms(&self) -> Terms {
        Terms {
            work_type: self.work_type,
            included_minutes: self.included_minutes,
            hourly_rate: self.hourly_rate,
            urgent_rate: self.urgent_rate,
        }
    }
}

#[derive(sqlx::FromRow)]
struct ClientRow {
    id: i64,
    name: String,
    work_type: String,
    included_minutes: i64,
    hourly_rate: i64,
    urgent_rate: i64,
    currency: String,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<ClientRow> for Client {
    type Error = StoreError;
    fn try_from(r: ClientRow) -> Result<Self> {
        Ok(Client {
            id: r.id,
            name: r.name,
            work_type: WorkType::parse("work_type", &r.work_type)?,
            included_minutes: r.included_minutes,
            hourly_rate: r.hourly_rate,
            urgent_rate: r.urgent_rate,
            currency: r.currency,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

pub(crate) const CLIENT_COLS: &str =
    "id, name, work_type, included_minutes, hourly_rate, urgent_rate, currency, created_at, updated_at";

/// A client's fields, validated by the caller; on a change, None keeps one.
#[derive(Debug, Clone, Default)]
pub struct ClientFields {
    pub name: Option<String>,
    pub work_type: Option<WorkType>,
    pub included_minutes: Option<i64>,
    pub hourly_rate: Option<i64>,
    pub urgent_rate: Option<i64>,
    pub currency: Option<String>,
}

/// The most clients a workspace lists at once.
pub const CLIENTS_MAX: i64 = 1000;

impl Store {
    pub async fn create_client(&self, ws: i64, f: &ClientFields) -> Result<Client> {
        let now = now_ms();
        let row: ClientRow = sqlx::query_as(&format!(
            "INSERT INTO clients (workspace_id, name, work_type, included_minutes, hourly_rate, urgent_rate, \
             currency, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {CLIENT_COLS}"
        ))
        .bind(ws)
        .bind(f.name.as_deref().unwrap_or_default())
        .bind(f.work_type.unwrap_or(WorkType::OneOff).as_str())
        .bind(f.included_minutes.unwrap_or(0))
        .bind(f.hourly_rate.unwrap_or(0))
        .bind(f.urgent_rate.unwrap_or(0))
        .bind(f.currency.as_deref().unwrap_or("EUR"))
        .bind(now)
        .fetch_one(&self.write)
        .await?;
        row.try_into()
    }

    pub async fn list_clients(&self, ws: i64) -> Result<Vec<Client>> {
        let rows: Vec<ClientRow> = sqlx::query_as(&format!(
            "SELECT {CLIENT_COLS} FROM clients WHERE workspace_id = $1 ORDER BY name, id LIMIT $2"
        ))
        .bind(ws)
        .bind(CLIENTS_MAX)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter().map(Client::try_from).collect()
    }

    /// Workspace `ws`'s client `id` (another's is not found).
    pub async fn client(&self, ws: i64, id: i64) -> Result<Client> {
        let row: Option<ClientRow> = sqlx::query_as(&format!(
            "SELECT {CLIENT_COLS} FROM clients WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(ws)
        .bind(id)
        .fetch_optional(&self.write)
        .await?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    pub async fn update_client(&self, ws: i64, id: i64, f: &ClientFields) -> Result<Client> {
        let row: Option<ClientRow> = sqlx::query_as(&format!(
            "UPDATE clients SET name = COALESCE($3, name), work_type = COALESCE($4, work_type), \
             included_minutes = COALESCE($5, included_minutes), hourly_rate = COALESCE($6, hourly_rate), \
             urgent_rate = COALESCE($7, urgent_rate), currency = COALESCE($8, currency), updated_at = $9 \
             WHERE workspace_id = $1 AND id = $2 RETURNING {CLIENT_COLS}"
        ))
        .bind(ws)
        .bind(id)
        .bind(f.name.as_deref())
        .bind(f.work_type.map(|w| w.as_str()))
        .bind(f.included_minutes)
        .bind(f.hourly_rate)
        .bind(f.urgent_rate)
        .bind(f.currency.as_deref())
        .bind(now_ms())
        .fetch_optional(&self.write)
        .await?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// Deletes a client; its contacts stay, belonging to no client.
    pub async fn delete_client(&self, ws: i64, id: i64) -> Result<()> {
        self.delete_owned("clients", ws, id).await
    }

    /// Links contact `contact_id` to client `client_id` (None: to none).
    /// Both must be workspace `ws`'s.
    pub async fn set_contact_client(&self, ws: i64, contact_id: i64, client_id: Option<i64>) -> Result<()> {
        let mut tx = self.write.begin().await?;
        if let Some(c) = client_id {
            let found: Option<i64> = sqlx::query_scalar("SELECT id FROM clients WHERE workspace_id = $1 AND id = $2")
                .bind(ws)
                .bind(c)
                .fetch_optional(&mut *tx)
                .await?;
            if found.is_none() {
                return Err(crate::domain::Invalid::new("client_id", "no such client").into());
            }
        }
        let n = sqlx::query("UPDATE contacts SET client_id = $1, updated_at = $2 WHERE workspace_id = $3 AND id = $4")
            .bind(client_id)
            .bind(now_ms())
            .bind(ws)
            .bind(contact_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }

    /// The client of contact `contact_id`, if any.
    pub async fn client_of_contact(&self, ws: i64, contact_id: i64) -> Result<Option<Client>> {
        let row: Option<ClientRow> = sqlx::query_as(&format!(
            "SELECT {} FROM clients c JOIN contacts k ON k.client_id = c.id \
             WHERE k.workspace_id = $1 AND k.id = $2",
            CLIENT_COLS
                .split(", ")
                .map(|c| format!("c.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .bind(ws)
        .bind(contact_id)
        .fetch_optional(&self.read)
        .await?;
        row.map(Client::try_from).transpose()
    }
}

/// A contact of a client, as its page lists them.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct ClientContact {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
}

impl Store {
    pub async fn client_contacts(&self, ws: i64, client_id: i64) -> Result<Vec<ClientContact>> {
        Ok(sqlx::query_as(
            "SELECT id, name, email FROM contacts WHERE workspace_id = $1 AND client_id = $2 ORDER BY name, id LIMIT $3",
        )
        .bind(ws)
        .bind(client_id)
        .bind(CLIENTS_MAX)
        .fetch_all(&self.read)
        .await?)
    }
}

impl Store {
    /// The clients of the contacts that own address `email` (the portal's
    /// customer); usually one.
    pub async fn clients_of_email(&self, ws: i64, email: &str) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT c.client_id FROM contacts c JOIN contact_identities i ON i.contact_id = c.id \
             WHERE c.workspace_id = $1 AND i.workspace_id = $1 AND i.channel = 'email' AND i.value = $2 \
             AND c.client_id IS NOT NULL AND c.merged_into IS NULL ORDER BY c.client_id LIMIT 10",
        )
        .bind(ws)
        .bind(email)
        .fetch_all(&self.read)
        .await?)
    }

    /// The contact (not merged away) that owns address `email`, if any.
    pub async fn contact_by_email(&self, ws: i64, email: &str) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT c.id FROM contacts c JOIN contact_identities i ON i.contact_id = c.id \
             WHERE c.workspace_id = $1 AND i.workspace_id = $1 AND i.channel = 'email' AND i.value = $2 \
             AND c.merged_into IS NULL ORDER BY c.id LIMIT 1",
        )
        .bind(ws)
        .bind(email)
        .fetch_optional(&self.read)
        .await?)
    }
}
