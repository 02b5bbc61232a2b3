//! Campaigns' rows: the campaigns themselves, one exposure row per visitor
//! a campaign reached (shown or held out; opened, replied, converted are
//! stamped on it), and the events store pages report per visitor.

use serde_json::{json, Map, Value};

use super::*;
use crate::domain::campaign::{Facts, Spec};
use crate::domain::event::{Event, EventActor, EventType, NewEvent};
use crate::domain::Actor;

/// A campaign as admins see it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Campaign {
    pub id: i64,
    pub name: String,
    pub active: bool,
    pub priority: i64,
    #[serde(flatten)]
    pub spec: Spec,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub created_at: i64,
    #[serde(serialize_with = "crate::domain::time::ser")]
    pub updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    name: String,
    active: i64,
    priority: i64,
    spec: String,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<Row> for Campaign {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Campaign> {
        let spec: Spec =
            serde_json::from_str(&r.spec).map_err(|e| StoreError::Corrupt(format!("campaign {}: {e}", r.id)))?;
        Ok(Campaign {
            id: r.id,
            name: r.name,
            active: r.active != 0,
            priority: r.priority,
            spec,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

const COLS: &str = "id, name, active, priority, spec, created_at, updated_at";

/// What may change in a campaign (`None`: kept).
#[derive(Debug, Default)]
pub struct CampaignPatch {
    pub name: Option<String>,
    pub active: Option<bool>,
    pub priority: Option<i64>,
    pub spec: Option<Spec>,
}

/// One group's counts in a campaign's results.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct GroupCounts {
    pub variant: String,
    pub shown: i64,
    pub opened: i64,
    pub replied: i64,
    pub converted: i64,
}

/// A visitor event as the store page sent it, already checked.
#[derive(Debug, Clone)]
pub struct VisitorEvent {
    pub name: String,
    pub url: String,
    pub props: Value,
}

/// What a visitor did with a message shown to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Opened,
    Replied,
}

fn unique(e: StoreError) -> StoreError {
    match e {
        StoreError::Database(sqlx::Error::Database(d)) if d.is_unique_violation() => {
            StoreError::Invalid(crate::domain::Invalid::new("name", "another campaign has this name"))
        }
        e => e,
    }
}

impl Store {
    pub async fn create_campaign(
        &self,
        actor: &Actor,
        name: &str,
        active: bool,
        priority: i64,
        spec: &Spec,
    ) -> Result<(Campaign, Vec<Event>)> {
        let ws = actor.workspace_id;
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let row: Row = sqlx::query_as(&format!(
            "INSERT INTO campaigns (workspace_id, name, active, priority, spec, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {COLS}"
        ))
        .bind(ws)
        .bind(name)
        .bind(i64::from(active))
        .bind(priority)
        .bind(serde_json::to_string(spec).unwrap_or_default())
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| unique(e.into()))?;
        let c = Campaign::try_from(row)?;
        let ev = NewEvent::new(ws, EventType::CampaignCreated, EventActor::Agent(actor.user_id))
            .changes(json!({ "campaign_id": c.id, "name": c.name, "active": c.active }));
        let logged = self.commit_with(tx, vec![ev]).await?;
        Ok((c, logged))
    }

    pub async fn list_campaigns(&self, ws: i64) -> Result<Vec<Campaign>> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLS} FROM campaigns WHERE workspace_id = $1 ORDER BY priority DESC, id"
        ))
        .bind(ws)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter().map(Campaign::try_from).collect()
    }

    /// The running campaigns, highest priority first.
    pub async fn active_campaigns(&self, ws: i64) -> Result<Vec<Campaign>> {
        Ok(self
            .list_campaigns(ws)
            .await?
            .into_iter()
            .filter(|c| c.active)
            .collect())
    }

    /// Workspace `ws`'s campaign `id` (another's is not found).
    pub async fn campaign(&self, ws: i64, id: i64) -> Result<Campaign> {
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {COLS} FROM campaigns WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(ws)
        .bind(id)
        .fetch_optional(&self.write)
        .await?;
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    pub async fn update_campaign(&self, actor: &Actor, id: i64, p: CampaignPatch) -> Result<(Campaign, Vec<Event>)> {
        let ws = actor.workspace_id;
        let before = self.campaign(ws, id).await?;
        let mut tx = self.write.begin().await?;
        let spec = p.spec.as_ref().map(|s| serde_json::to_string(s).unwrap_or_default());
        let row: Option<Row> = sqlx::query_as(&format!(
            "UPDATE campaigns SET name = COALESCE($3, name), active = COALESCE($4, active), \
             priority = COALESCE($5, priority), spec = COALESCE($6, spec), updated_at = $7 \
             WHERE workspace_id = $1 AND id = $2 RETURNING {COLS}"
        ))
        .bind(ws)
        .bind(id)
        .bind(p.name.as_deref())
        .bind(p.active.map(i64::from))
        .bind(p.priority)
        .bind(spec)
        .bind(now_ms())
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| unique(e.into()))?;
        let after = Campaign::try_from(row.ok_or(StoreError::NotFound)?)?;
        let mut changes = Map::new();
        changes.insert("campaign_id".into(), json!(id));
        if before.name != after.name {
            changes.insert("name".into(), json!({ "from": before.name, "to": after.name }));
        }
        if before.active != after.active {
            changes.insert("active".into(), json!({ "from": before.active, "to": after.active }));
        }
        if before.priority != after.priority {
            changes.insert(
                "priority".into(),
                json!({ "from": before.priority, "to": after.priority }),
            );
        }
        if before.spec != after.spec {
            changes.insert("rules".into(), Value::Bool(true));
        }
        let ev =
            NewEvent::new(ws, EventType::CampaignUpdated, EventActor::Agent(actor.user_id)).changes(changes.into());
        let logged = self.commit_with(tx, vec![ev]).await?;
        Ok((after, logged))
    }

    pub async fn delete_campaign(&self, actor: &Actor, id: i64) -> Result<Vec<Event>> {
        let ws = actor.workspace_id;
        let mut tx = self.write.begin().await?;
        let name: Option<String> =
            sqlx::query_scalar("DELETE FROM campaigns WHERE workspace_id = $1 AND id = $2 RETURNING name")
                .bind(ws)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let name = name.ok_or(StoreError::NotFound)?;
        let ev = NewEvent::new(ws, EventType::CampaignDeleted, EventActor::Agent(actor.user_id))
            .changes(json!({ "campaign_id": id, "name": name }));
        self.commit_with(tx, vec![ev]).await
    }

    /// What is known of chat visitor `visitor_id` (contact `contact_id`)
    /// for audience rules, from their events since `since`.
    pub async fn visitor_facts(&self, ws: i64, visitor_id: i64, contact_id: i64, since: i64) -> Result<Facts> {
        let first_seen: i64 =
            sqlx::query_scalar("SELECT created_at FROM chat_visitors WHERE workspace_id = $1 AND id = $2")
                .bind(ws)
                .bind(visitor_id)
                .fetch_optional(&self.read)
                .await?
                .ok_or(StoreError::NotFound)?;
        let (name, email, attrs): (String, Option<String>, String) =
            sqlx::query_as("SELECT name, email, attributes FROM contacts WHERE workspace_id = $1 AND id = $2")
                .bind(ws)
                .bind(contact_id)
                .fetch_optional(&self.read)
                .await?
                .ok_or(StoreError::NotFound)?;
        let recent: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT name, MAX(created_at), COUNT(*) FROM visitor_events \
             WHERE workspace_id = $1 AND contact_id = $2 AND created_at >= $3 GROUP BY name LIMIT 200",
        )
        .bind(ws)
        .bind(contact_id)
        .bind(since)
        .fetch_all(&self.read)
        .await?;
        let cart: Option<String> = sqlx::query_scalar(
            "SELECT props FROM visitor_events WHERE workspace_id = $1 AND contact_id = $2 AND name = 'cart_updated' \
             ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .bind(ws)
        .bind(contact_id)
        .fetch_optional(&self.read)
        .await?;
        let cart_value = cart
            .and_then(|p| serde_json::from_str::<Value>(&p).ok())
            .and_then(|p| p.get("value").and_then(Value::as_f64));
        Ok(Facts {
            page_views: recent.iter().find(|r| r.0 == "page_view").map_or(0, |r| r.2),
            first_seen,
            cart_value,
            recent: recent.into_iter().map(|(n, at, _)| (n, at)).collect(),
            attributes: serde_json::from_str(&attrs).unwrap_or_default(),
            identified: !name.is_empty() || email.is_some(),
            ..Default::default()
        })
    }

    /// When visitor `contact_id` last reached campaign `campaign_id` (shown
    /// or held out) at or after `since`.
    pub async fn last_exposure(&self, contact_id: i64, campaign_id: i64, since: i64) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT MAX(shown_at) FROM campaign_exposures WHERE contact_id = $1 AND campaign_id = $2 AND shown_at >= $3",
        )
        .bind(contact_id)
        .bind(campaign_id)
        .bind(since)
        .fetch_one(&self.read)
        .await?)
    }

    /// Records that `variant` (or the holdout) reached the visitor, unless
    /// it already did at or after `since` (the cap); true when recorded.
    pub async fn record_exposure(
        &self,
        ws: i64,
        campaign_id: i64,
        contact_id: i64,
        variant: &str,
        since: i64,
    ) -> Result<bool> {
        let n = sqlx::query(
            "INSERT INTO campaign_exposures (workspace_id, campaign_id, contact_id, variant, shown_at) \
             SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM campaign_exposures \
             WHERE contact_id = $3 AND campaign_id = $2 AND shown_at >= $6)",
        )
        .bind(ws)
        .bind(campaign_id)
        .bind(contact_id)
        .bind(variant)
        .bind(now_ms())
        .bind(since)
        .execute(&self.write)
        .await?
        .rows_affected();
        Ok(n > 0)
    }

    /// Stamps the visitor's latest exposure to the campaign as opened or
    /// replied; a reply also labels their chat `label` and records it.
    pub async fn record_step(
        &self,
        ws: i64,
        campaign_id: i64,
        contact_id: i64,
        step: Step,
        ticket: Option<(i64, &str)>,
    ) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM campaign_exposures WHERE workspace_id = $1 AND campaign_id = $2 AND contact_id = $3 \
             AND variant <> 'holdout' ORDER BY shown_at DESC, id DESC LIMIT 1",
        )
        .bind(ws)
        .bind(campaign_id)
        .bind(contact_id)
        .fetch_optional(&mut *tx)
        .await?;
        let id = id.ok_or(StoreError::NotFound)?;
        let now = now_ms();
        // Replying implies having opened.
        let (replied, ticket_id) = match step {
            Step::Opened => (None, None),
            Step::Replied => (Some(now), ticket.map(|t| t.0)),
        };
        sqlx::query(
            "UPDATE campaign_exposures SET opened_at = COALESCE(opened_at, $2), \
             replied_at = COALESCE(replied_at, $3), ticket_id = COALESCE(ticket_id, $4) WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .bind(replied)
        .bind(ticket_id)
        .execute(&mut *tx)
        .await?;
        if let (Step::Replied, Some((ticket_id, label))) = (step, ticket) {
            sqlx::query(
                "INSERT INTO ticket_labels (workspace_id, ticket_id, label) SELECT $1, $2, $3 \
                 WHERE NOT EXISTS (SELECT 1 FROM ticket_labels WHERE ticket_id = $2 AND label = $3)",
            )
            .bind(ws)
            .bind(ticket_id)
            .bind(label)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Stores a visitor's events and, for each that is a running or
    /// stopped campaign's goal, counts a conversion on the visitor's
    /// exposures to it within its window (holdout included). Returns the
    /// number of conversions counted.
    pub async fn add_visitor_events(&self, ws: i64, contact_id: i64, events: &[VisitorEvent]) -> Result<u64> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        for e in events {
            sqlx::query(
                "INSERT INTO visitor_events (workspace_id, contact_id, name, url, props, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(ws)
            .bind(contact_id)
            .bind(&e.name)
            .bind(&e.url)
            .bind(e.props.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let mut converted = 0;
        let open: Vec<(i64, i64, String)> = sqlx::query_as(
            "SELECT x.id, x.shown_at, c.spec FROM campaign_exposures x JOIN campaigns c ON c.id = x.campaign_id \
             WHERE x.workspace_id = $1 AND x.contact_id = $2 AND x.converted_at IS NULL",
        )
        .bind(ws)
        .bind(contact_id)
        .fetch_all(&mut *tx)
        .await?;
        for (id, shown_at, spec) in open {
            let Ok(spec) = serde_json::from_str::<Spec>(&spec) else {
                continue;
            };
            let hit = spec
                .goal_event
                .as_ref()
                .is_some_and(|g| events.iter().any(|e| &e.name == g));
            if hit && now - shown_at <= spec.goal_hours * 3_600_000 {
                converted += sqlx::query("UPDATE campaign_exposures SET converted_at = $2 WHERE id = $1")
                    .bind(id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            }
        }
        tx.commit().await?;
        Ok(converted)
    }

    /// Per group (each variant and the holdout): how many it reached and
    /// what they did.
    pub async fn campaign_results(&self, ws: i64, id: i64) -> Result<Vec<GroupCounts>> {
        Ok(sqlx::query_as(
            "SELECT variant, COUNT(*) AS shown, COUNT(opened_at) AS opened, COUNT(replied_at) AS replied, \
             COUNT(converted_at) AS converted FROM campaign_exposures WHERE workspace_id = $1 AND campaign_id = $2 \
             GROUP BY variant ORDER BY variant",
        )
        .bind(ws)
        .bind(id)
        .fetch_all(&self.read)
        .await?)
    }

    /// Every campaign's reach in a workspace, without the holdout:
    /// (campaign id, shown, replied, converted), for the console's list.
    pub async fn campaign_totals(&self, ws: i64) -> Result<Vec<(i64, i64, i64, i64)>> {
        Ok(sqlx::query_as(
            "SELECT e.campaign_id, COUNT(*), COUNT(e.replied_at), COUNT(e.converted_at) \
             FROM campaign_exposures e JOIN campaigns c ON c.id = e.campaign_id \
             WHERE c.workspace_id = $1 AND e.workspace_id = $1 AND e.variant <> $2 \
             GROUP BY e.campaign_id",
        )
        .bind(ws)
        .bind(crate::domain::campaign::HOLDOUT)
        .fetch_all(&self.read)
        .await?)
    }

    /// A workspace's visitor events, newest first (for the console and tests).
    pub async fn visitor_events(&self, ws: i64, contact_id: i64, limit: i64) -> Result<Vec<(String, String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT name, props, created_at FROM visitor_events WHERE workspace_id = $1 AND contact_id = $2 \
             ORDER BY id DESC LIMIT $3",
        )
        .bind(ws)
        .bind(contact_id)
        .bind(limit)
        .fetch_all(&self.read)
        .await?)
    }

    /// Drops visitor events older than `before`; returns how many.
    pub async fn prune_visitor_events(&self, before: i64) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM visitor_events WHERE created_at < $1")
            .bind(before)
            .execute(&self.write)
            .await?
            .rows_affected())
    }
}
