//! Outbound webhooks: subscriptions (checked: a known event type, a
//! public http(s) address, a long enough secret) and what an attempt at a
//! delivery comes to, including switching a failing subscription off.

use serde_json::Value;

use super::Services;
use crate::domain::webhook::{check_secret, new_secret, parse_events, parse_url};
use crate::domain::{Actor, Invalid};
use crate::events::Hint;
use crate::store::webhooks::{Attempt, Claimed, Webhook};
use crate::store::{now_ms, Result};

/// `{"url", "events", "secret"?}`; `partial` for a change (PATCH also takes `active`).
struct Fields {
    url: Option<String>,
    events: Option<Vec<String>>,
    secret: Option<String>,
    active: Option<bool>,
}

fn fields(body: &Value, partial: bool) -> Result<Fields> {
    let o = body
        .as_object()
        .ok_or_else(|| Invalid::new("body", "must be a JSON object"))?;
    let allowed: &[&str] = if partial {
        &["url", "events", "active"]
    } else {
        &["url", "events", "secret"]
    };
    if let Some(k) = o.keys().find(|k| !allowed.contains(&k.as_str())) {
        let hint = if k == "secret" {
            " (a secret is set when the webhook is made; make a new webhook to change it)"
        } else {
            ""
        };
        return Err(Invalid::new(
            "body",
            format!("unknown field '{}'{hint}", k.chars().take(40).collect::<String>()),
        )
        .into());
    }
    let url = match o.get("url") {
        None if partial => None,
        None => return Err(Invalid::new("url", "is required").into()),
        Some(Value::String(u)) => Some(parse_url(u)?.to_string()),
        Some(_) => return Err(Invalid::new("url", "must be a string").into()),
    };
    let events = match o.get("events") {
        None if partial => None,
        None => return Err(Invalid::new("events", "is required").into()),
        Some(v) => Some(parse_events(v)?),
    };
    let secret = match o.get("secret") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(check_secret(s)?),
        Some(_) => return Err(Invalid::new("secret", "must be a string").into()),
    };
    let active = match o.get("active") {
        None => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err(Invalid::new("active", "must be true or false").into()),
    };
    Ok(Fields {
        url,
        events,
        secret,
        active,
    })
}

impl Services {
    /// Refuses a URL whose host is (or resolves to) a private address.
    async fn check_destination(&self, url: &str) -> Result<()> {
        let u = parse_url(url)?;
        crate::webhooks::client::check_destination(&u, self.webhooks.allow_private())
            .await
            .map_err(|e| Invalid::new("url", e).into())
    }

    /// Makes a subscription; returns it with its secret (shown this once).
    pub async fn create_webhook(&self, actor: &Actor, body: &Value) -> Result<(Webhook, String)> {
        let f = fields(body, false)?;
        let (url, events) = (f.url.unwrap_or_default(), f.events.unwrap_or_default());
        self.check_destination(&url).await?;
        let secret = f.secret.unwrap_or_else(new_secret);
        let hook = self
            .store
            .create_webhook(actor.workspace_id, &url, &events, &secret)
            .await?;
        Ok((hook, secret))
    }

    pub async fn update_webhook(&self, actor: &Actor, id: i64, body: &Value) -> Result<Webhook> {
        let f = fields(body, true)?;
        self.store.webhook(actor.workspace_id, id).await?;
        if let Some(u) = &f.url {
            self.check_destination(u).await?;
        }
        self.store
            .update_webhook(actor.workspace_id, id, f.url.as_deref(), f.events.as_deref(), f.active)
            .await
    }

    /// Records an attempt at claimed delivery `c` (see
    /// `Store::record_webhook_attempt`) and wakes the consumers of the
    /// `webhook.disabled` it may have logged.
    pub async fn record_webhook_attempt(&self, c: &Claimed, a: &Attempt) -> Result<()> {
        let policy = self.webhooks.policy(c.attempts + 1, now_ms());
        let logged = self.store.record_webhook_attempt(c, a, policy).await?;
        if !logged.is_empty() {
            tracing::warn!(webhook = c.webhook_id, "webhook switched off after persistent failure");
            self.logged(&logged, Hint::default());
        }
        Ok(())
    }
}
