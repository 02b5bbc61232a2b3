//! Proactive campaigns: admins' changes (logged as `campaign.*` events),
//! which campaigns a visitor's page view makes eligible (caps, hours,
//! holdout and the variant split decided here, never in the browser), the
//! visitor's events with the conversions they count, and results.

use serde_json::{json, Map, Value};

use super::Services;
use crate::domain::campaign::{self, check_event_name, Spec, Trigger, HOLDOUT};
use crate::domain::{Actor, Invalid};
use crate::events::Hint;
use crate::store::campaigns::{Campaign, CampaignPatch, GroupCounts, Step, VisitorEvent};
use crate::store::chat::Visitor;
use crate::store::{now_ms, Result, StoreError};

/// A batch holds at most this many events…
pub const BATCH_MAX: usize = 20;
/// …each with props of at most this many bytes (as JSON) and this depth.
pub const PROPS_MAX: usize = 2048;
pub const PROPS_DEPTH: usize = 3;
/// How far back events count for audiences, and how long they are kept.
pub const EVENT_RETENTION_MS: i64 = 30 * 24 * 3_600_000;
const RECENT_MS: i64 = EVENT_RETENTION_MS;
const DAY_MS: i64 = 24 * 3_600_000;
const TOP_LEVEL: [&str; 3] = ["name", "active", "priority"];

/// A campaign the widget may show on this page view, with its trigger.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Offer {
    pub campaign_id: i64,
    pub variant: String,
    pub trigger: Trigger,
    pub text: String,
    /// The agent's name, or none for the team.
    pub from: Option<String>,
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Checks one event from a store page: its name, and its props' size and depth.
pub fn visitor_event(name: &str, url: &str, props: Value) -> std::result::Result<VisitorEvent, Invalid> {
    check_event_name("name", name)?;
    let props = match props {
        Value::Null => Value::Object(Map::new()),
        p @ Value::Object(_) => p,
        _ => return Err(Invalid::new("props", "must be an object")),
    };
    if depth(&props) > PROPS_DEPTH {
        return Err(Invalid::new("props", format!("may nest at most {PROPS_DEPTH} levels")));
    }
    if props.to_string().len() > PROPS_MAX {
        return Err(Invalid::new(
            "props",
            format!("must be at most {PROPS_MAX} bytes as JSON"),
        ));
    }
    let url = crate::sanitize::web_link(url)
        .map(|u| u.chars().take(2000).collect())
        .unwrap_or_default();
    Ok(VisitorEvent {
        name: name.to_string(),
        url,
        props,
    })
}

fn header_fields(o: &Map<String, Value>) -> Result<(Option<String>, Option<bool>, Option<i64>)> {
    let name = match o.get("name") {
        None => None,
        Some(Value::String(n)) => Some(crate::domain::required_text("name", n, 100)?),
        Some(_) => return Err(Invalid::new("name", "must be a string").into()),
    };
    let active = match o.get("active") {
        None => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err(Invalid::new("active", "must be true or false").into()),
    };
    let priority = match o.get("priority") {
        None => None,
        Some(v) => match v.as_i64().filter(|p| (-1000..=1000).contains(p)) {
            Some(p) => Some(p),
            None => return Err(Invalid::new("priority", "must be a whole number between -1000 and 1000").into()),
        },
    };
    Ok((name, active, priority))
}

fn object(body: &Value) -> Result<&Map<String, Value>> {
    Ok(body
        .as_object()
        .ok_or_else(|| Invalid::new("body", "must be a JSON object"))?)
}

fn rules_of(o: &Map<String, Value>) -> Map<String, Value> {
    o.iter()
        .filter(|(k, _)| !TOP_LEVEL.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

impl Services {
    async fn check_sender(&self, ws: i64, spec: &Spec) -> Result<()> {
        if let Some(u) = spec.from_user_id {
            if self.store.user(ws, u).await.is_err() {
                return Err(Invalid::new("from_user_id", format!("no agent {u} in this workspace")).into());
            }
        }
        Ok(())
    }

    pub async fn create_campaign(&self, actor: &Actor, body: &Value) -> Result<Campaign> {
        let o = object(body)?;
        let (name, active, priority) = header_fields(o)?;
        let name = name.ok_or_else(|| Invalid::new("name", "is required"))?;
        let spec = Spec::parse(&Value::Object(rules_of(o)))?;
        self.check_sender(actor.workspace_id, &spec).await?;
        let (c, logged) = self
            .store
            .create_campaign(actor, &name, active.unwrap_or(false), priority.unwrap_or(0), &spec)
            .await?;
        self.logged(&logged, Hint::default());
        Ok(c)
    }

    /// Changes what is given; rules given are merged over the current ones.
    pub async fn update_campaign(&self, actor: &Actor, id: i64, body: &Value) -> Result<Campaign> {
        let o = object(body)?;
        let (name, active, priority) = header_fields(o)?;
        let current = self.store.campaign(actor.workspace_id, id).await?;
        let rules = rules_of(o);
        let spec = if rules.is_empty() {
            None
        } else {
            let mut merged = serde_json::to_value(&current.spec).unwrap_or_default();
            for (k, v) in rules {
                merged[k] = v;
            }
            let s = Spec::parse(&merged)?;
            self.check_sender(actor.workspace_id, &s).await?;
            Some(s)
        };
        let patch = CampaignPatch {
            name,
            active,
            priority,
            spec,
        };
        let (c, logged) = self.store.update_campaign(actor, id, patch).await?;
        self.logged(&logged, Hint::default());
        Ok(c)
    }

    pub async fn delete_campaign(&self, actor: &Actor, id: i64) -> Result<()> {
        let logged = self.store.delete_campaign(actor, id).await?;
        self.logged(&logged, Hint::default());
        Ok(())
    }

    /// A page view: stores it, then says which campaigns the widget may
    /// show on it (highest priority first). A visitor in a campaign's
    /// holdout is recorded as reached and offered nothing.
    pub async fn page_viewed(&self, v: &Visitor, page: VisitorEvent, accept_language: &str) -> Result<Vec<Offer>> {
        let url = page.url.clone();
        self.store
            .add_visitor_events(v.workspace_id, v.contact_id, &[page])
            .await?;
        let campaigns = self.store.active_campaigns(v.workspace_id).await?;
        if campaigns.is_empty() {
            return Ok(vec![]);
        }
        let now = now_ms();
        let mut facts = self
            .store
            .visitor_facts(v.workspace_id, v.id, v.contact_id, now - RECENT_MS)
            .await?;
        facts.url = url;
        facts.lang = v.lang.clone();
        facts.country = campaign::country_of(accept_language);
        let mut open: Option<bool> = None;
        let mut online: Option<bool> = None;
        let mut offers = vec![];
        for c in campaigns {
            if !c.spec.audience.matches(&facts, now) {
                continue;
            }
            if c.spec.only_open_hours {
                if open.is_none() {
                    open = Some(self.store.calendar(v.workspace_id, None).await?.is_open(now));
                }
                if open != Some(true) {
                    continue;
                }
            }
            if c.spec.only_agents_online {
                if online.is_none() {
                    online = Some(self.store.agents_online(v.workspace_id).await?);
                }
                if online != Some(true) {
                    continue;
                }
            }
            let since = now - c.spec.cap_days * DAY_MS;
            if c.spec.cap_days > 0 && self.store.last_exposure(v.contact_id, c.id, since).await?.is_some() {
                continue;
            }
            let Some(variant) = campaign::assign(&c.spec, v.id, c.id) else {
                self.store
                    .record_exposure(v.workspace_id, c.id, v.contact_id, HOLDOUT, since)
                    .await?;
                continue;
            };
            let from = match c.spec.from_user_id {
                Some(u) => self.store.user(v.workspace_id, u).await.ok().map(|u| u.name),
                None => None,
            };
            offers.push(Offer {
                campaign_id: c.id,
                variant: variant.to_string(),
                trigger: c.spec.trigger.clone(),
                text: c.spec.text(variant, &v.lang).unwrap_or_default().to_string(),
                from,
            });
        }
        Ok(offers)
    }

    /// The widget showed, or the visitor opened or answered, campaign
    /// `id`'s message. Showing is refused to a visitor the campaign does
    /// not offer anything (held out, or stopped), and counted once per cap.
    pub async fn campaign_step(&self, v: &Visitor, id: i64, step: &str) -> Result<()> {
        let c = self.store.campaign(v.workspace_id, id).await?;
        match step {
            "shown" => {
                let Some(variant) = campaign::assign(&c.spec, v.id, c.id).filter(|_| c.active) else {
                    return Err(StoreError::Conflict("this campaign offers this visitor nothing".into()));
                };
                let since = if c.spec.cap_days > 0 {
                    now_ms() - c.spec.cap_days * DAY_MS
                } else {
                    now_ms()
                };
                self.store
                    .record_exposure(v.workspace_id, c.id, v.contact_id, variant, since)
                    .await?;
                Ok(())
            }
            "opened" => {
                self.store
                    .record_step(v.workspace_id, c.id, v.contact_id, Step::Opened, None)
                    .await
            }
            "replied" => {
                let ticket = self.store.visitor_ticket(v).await?.map(|t| t.0);
                let label = format!("campaign:{}", c.name.chars().take(60).collect::<String>());
                self.store
                    .record_step(
                        v.workspace_id,
                        c.id,
                        v.contact_id,
                        Step::Replied,
                        ticket.map(|t| (t, label.as_str())),
                    )
                    .await
            }
            _ => Err(Invalid::new("step", "must be shown, opened or replied").into()),
        }
    }

    /// A store page's events; returns how many conversions they counted.
    pub async fn visitor_events(&self, v: &Visitor, events: Vec<VisitorEvent>) -> Result<u64> {
        self.store
            .add_visitor_events(v.workspace_id, v.contact_id, &events)
            .await
    }

    /// Results per variant and for the holdout, with a plain verdict.
    pub async fn campaign_results(&self, ws: i64, id: i64) -> Result<Value> {
        let c = self.store.campaign(ws, id).await?;
        let groups = self.store.campaign_results(ws, id).await?;
        let holdout = groups.iter().find(|g| g.variant == HOLDOUT).cloned();
        let mut variants: Vec<_> = c
            .spec
            .variants
            .iter()
            .map(|v| {
                groups
                    .iter()
                    .find(|g| g.variant == v.name)
                    .cloned()
                    .unwrap_or(GroupCounts {
                        variant: v.name.clone(),
                        shown: 0,
                        opened: 0,
                        replied: 0,
                        converted: 0,
                    })
            })
            .collect();
        // Groups of variants since removed still count.
        for g in &groups {
            if g.variant != HOLDOUT && !variants.iter().any(|v| v.variant == g.variant) {
                variants.push(g.clone());
            }
        }
        let rate = |x: i64, n: i64| if n == 0 { None } else { Some(x as f64 / n as f64) };
        let between = match variants.as_slice() {
            [a, b, ..] => {
                let t = campaign::compare((a.converted, a.shown), (b.converted, b.shown));
                json!({ "a": a.variant, "b": b.variant, "test": t, "statement": campaign::verdict(t.as_ref()) })
            }
            _ => Value::Null,
        };
        let shown: i64 = variants.iter().map(|v| v.shown).sum();
        let converted: i64 = variants.iter().map(|v| v.converted).sum();
        let lift = holdout.as_ref().map(|h| {
            let t = campaign::compare((converted, shown), (h.converted, h.shown));
            json!({
                "shown_rate": rate(converted, shown), "holdout_rate": rate(h.converted, h.shown),
                "test": t, "statement": campaign::verdict(t.as_ref()),
            })
        });
        Ok(json!({
            "campaign_id": id,
            "goal_event": c.spec.goal_event,
            "variants": variants,
            "holdout": holdout.unwrap_or(GroupCounts {
                variant: HOLDOUT.into(), shown: 0, opened: 0, replied: 0, converted: 0,
            }),
            "significance": { "between_variants": between, "against_holdout": lift },
        }))
    }
}
